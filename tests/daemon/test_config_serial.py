"""Serial sensors in the configuration: their keys, their limits, sharing a line."""

from __future__ import annotations

from pathlib import Path

import pytest

from hullwatch.daemon.settings.config import ConfigError, load_config

HEAD = """
station = "lab"
[[zones]]
id = "z"
volume_m3 = 1.0
floor_pa = 70000
warning_pa_per_s = 0.2
critical_pa_per_s = 5.0
"""


def _load(tmp_path: Path, sensors: str) -> list[tuple[str, str]]:
    path = tmp_path / "hullwatch.toml"
    path.write_text(HEAD + sensors)
    try:
        load_config(path, {})
    except ConfigError as exc:
        return [(p.key_path, p.message) for p in exc.problems]
    return []


def test_a_bridge_and_a_ptb330_with_their_line_settings(tmp_path: Path) -> None:
    assert (
        _load(
            tmp_path,
            """
[[sensors]]
id = "bridge"
zone = "z"
driver = "serial_bridge"
bus = "/dev/serial/by-id/usb-hullwatch-bridge-if00"
baudrate = 57600
rate_hz = 25
[[sensors]]
id = "ptb"
zone = "z"
driver = "PTB330"
bus = "/dev/ttyUSB1"
address = 3
baudrate = 9600
parity = "e"
bytesize = 7
stopbits = 1
rate_hz = 2
""",
        )
        == []
    )


@pytest.mark.parametrize(
    ("sensor", "key_path", "fragment"),
    [
        ('driver = "serial_bridge"\nbus = "/dev/ttyUSB0"\naddress = 1', "address", "no address"),
        ('driver = "serial_bridge"\nbus = "/dev/ttyUSB0"\nparity = "E"', "parity", "no parity"),
        ('driver = "ptb330"\nbus = "ttyUSB0"', "bus", "absolute path of a serial device"),
        ('driver = "ptb330"\nbus = "/dev/ttyUSB0"\nbaudrate = 1234', "baudrate", "4800"),
        ('driver = "ptb330"\nbus = "/dev/ttyUSB0"\naddress = 300', "address", "0..255"),
        ('driver = "bmp390"\nbus = "/dev/i2c-1"', "address", "needs its I2C address"),
        (
            'driver = "bmp390"\nbus = "/dev/i2c-1"\naddress = 0x77\nbaudrate = 9600',
            "baudrate",
            "no",
        ),
    ],
)
def test_serial_keys_are_checked_per_driver(
    tmp_path: Path, sensor: str, key_path: str, fragment: str
) -> None:
    problems = _load(tmp_path, f'[[sensors]]\nid = "s"\nzone = "z"\nrate_hz = 1\n{sensor}\n')
    assert [path for path, _ in problems] == [f"sensors[0].{key_path}"]
    assert fragment in problems[0][1]


def test_a_ptb330_is_not_polled_faster_than_it_answers(tmp_path: Path) -> None:
    problems = _load(
        tmp_path,
        '[[sensors]]\nid = "s"\nzone = "z"\ndriver = "ptb330"\nbus = "/dev/ttyS0"\nrate_hz = 10\n',
    )
    assert problems == [("sensors[0].rate_hz", "a ptb330 is polled at 4 Hz at most, not 10 Hz")]


def test_sharing_a_serial_line(tmp_path: Path) -> None:
    two_ptbs_without_addresses = """
[[sensors]]
id = "a"
zone = "z"
driver = "ptb330"
bus = "/dev/ttyUSB0"
rate_hz = 1
[[sensors]]
id = "b"
zone = "z"
driver = "ptb330"
bus = "/dev/ttyUSB0"
rate_hz = 1
"""
    problems = _load(tmp_path, two_ptbs_without_addresses)
    assert [path for path, _ in problems] == ["sensors[1].address"]
    assert "RS-485 address" in problems[0][1]
    with_addresses = two_ptbs_without_addresses.replace(
        'id = "a"', 'id = "a"\naddress = 1'
    ).replace('id = "b"', 'id = "b"\naddress = 2')
    assert _load(tmp_path, with_addresses) == []
    bridge_and_ptb = with_addresses.replace(
        'driver = "ptb330"\nbus', 'driver = "serial_bridge"\nbus', 1
    )
    bridge_and_ptb = bridge_and_ptb.replace('id = "a"\naddress = 1', 'id = "a"')
    problems = _load(tmp_path, bridge_and_ptb)
    assert problems == [("sensors[1].bus", "a serial bridge needs its port to itself")]
