"""Hostile input, fuzzed with hypothesis: whatever the daemon reads from outside must end in
a clear refusal, never in a crash (issue 6).

What the daemon reads, and where it is fuzzed:
- the configuration file and `HULLWATCH_*` environment overrides: here;
- MQTT messages: the daemon subscribes to nothing (`test_the_daemon_subscribes_to_nothing`
  keeps it so, or reminds whoever adds a subscription to fuzz it); `hullwatch watch`
  does subscribe, and parses alert documents: here;
- serial bytes and I2C values: tests/drivers (test_serial_bridge, test_vaisala_ptb,
  the compensation tests) and tests/hil/test_sim_wire.

Each test counts the examples hypothesis ran and prints the count (`pytest -s`); the
numbers in the docstrings are from a run on 2026-11-26.
"""

from __future__ import annotations

import io
import json
import math
import re
import string
import tomllib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from hullwatch.daemon.settings.check_config import check_config
from hullwatch.daemon.settings.config import (
    Config,
    ConfigError,
    LoggingSettings,
    MqttSettings,
    SensorSettings,
    ZoneSettings,
    load_config,
)
from hullwatch.daemon.watch import _print_alert, _print_status

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"
DAEMON_DIR = Path(__file__).resolve().parents[2] / "daemon"
SECRET = "pa55-word-nobody-may-see"


def fuzz(examples: int) -> settings:
    """Hypothesis settings for `examples` examples; no deadline (file I/O varies)."""
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )


class Tried:
    """Counts the examples one hypothesis run tried."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.count = 0

    def __call__(self) -> None:
        self.count += 1

    def report(self, minimum: int) -> None:
        print(f"[fuzz] {self.name}: {self.count} examples")
        assert self.count >= minimum


# --- TOML values and a small TOML writer ----------------------------------------------

_SCALARS = (
    st.text(max_size=40)
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.booleans()
    | st.datetimes(timezones=st.just(UTC))
    | st.sampled_from(["", "0x77", "/dev/i2c-1", "sim:relative", "a" * 5000, "\0", "..", "/"])
)
TOML_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return {math.inf: "inf", -math.inf: "-inf"}.get(value, repr(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return (
            "{" + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
        )
    return json.dumps(value)  # a TOML basic string; a lone surrogate makes it invalid TOML


def to_toml(data: dict[str, Any]) -> str:
    lines, tables = [], []
    for key, value in data.items():
        if isinstance(value, dict) or (
            isinstance(value, list) and value and all(isinstance(v, dict) for v in value)
        ):
            tables.append((key, value))
        else:
            lines.append(f"{json.dumps(key)} = {_toml_value(value)}")
    for key, value in tables:
        if isinstance(value, dict):
            sections = [(f"[{json.dumps(key)}]", value)]
        else:
            sections = [(f"[[{json.dumps(key)}]]", element) for element in value]
        for header, table in sections:
            lines.append(header)
            lines += [f"{json.dumps(k)} = {_toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def _base_config() -> dict[str, Any]:
    data = tomllib.loads((CONFIG_DIR / "demo.toml").read_text(encoding="utf-8"))
    data["mqtt"]["password"] = SECRET
    return data


def _key_paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    paths = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, inner in value.items():
            paths += _key_paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            paths += _key_paths(inner, (*prefix, index))
    return paths


@st.composite
def mutated_configs(draw: st.DrawFn) -> dict[str, Any]:
    """The demo configuration with one to three keys replaced, removed or added."""
    data = _base_config()
    for _ in range(draw(st.integers(1, 3))):
        paths = _key_paths(data)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        *parents, last = path
        container: Any = data
        for part in parents:
            container = container[part]
        action = draw(st.sampled_from(["replace", "remove", "add"]))
        if action == "replace":
            container[last] = draw(TOML_VALUES)
        elif action == "remove":
            del container[last]
        elif isinstance(container, dict):
            container[draw(st.text(min_size=1, max_size=12))] = draw(TOML_VALUES)
    return data


def _check_outcome(path: Path, environ: dict[str, str]) -> Config | ConfigError:
    """load_config's contract: a Config, or a ConfigError whose problems are all well formed."""
    try:
        return load_config(path, environ)
    except ConfigError as exc:
        refused = exc
    assert refused.problems
    for problem in refused.problems:
        assert isinstance(problem.key_path, str)
        assert isinstance(problem.source, str)
        assert isinstance(problem.message, str)
        assert problem.source
        assert problem.message
        str(problem).encode("utf-8")  # printable on a strict UTF-8 stdout (check-config)
    str(refused).encode("utf-8")
    assert SECRET not in str(refused), "a password in an error message"
    return refused


# --- the configuration ------------------------------------------------------------------


def test_config_text_of_any_kind_is_refused_cleanly(tmp_path: Path) -> None:
    """Arbitrary text and bytes as the configuration file: a Config or a ConfigError.
    1500 examples (measured)."""
    path = tmp_path / "hullwatch.toml"
    tried = Tried("config file text")

    @fuzz(1500)
    @given(st.text(max_size=300) | st.binary(max_size=300))
    def run(content: str | bytes) -> None:
        tried()
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8", errors="surrogatepass")
        else:
            path.write_bytes(content)
        _check_outcome(path, {})

    run()
    tried.report(1000)


def test_mutated_config_files_are_validated_not_crashed_on(tmp_path: Path) -> None:
    """The demo configuration with keys replaced by any TOML value (strings, huge and
    negative numbers, nan/inf, dates, arrays, tables, paths too long for the system),
    removed or added. 2000 examples (measured). Found: a table as a sensor's driver
    crashed the checks across tables with TypeError (fixed in config.py)."""
    path = tmp_path / "hullwatch.toml"
    tried = Tried("mutated config files")
    outcomes = {"valid": 0, "refused": 0}

    @fuzz(2000)
    @given(mutated_configs())
    def run(data: dict[str, Any]) -> None:
        tried()
        path.write_text(to_toml(data), encoding="utf-8", errors="surrogatepass")
        result = _check_outcome(path, {})
        outcomes["valid" if isinstance(result, Config) else "refused"] += 1

    run()
    tried.report(1500)
    print(f"[fuzz] mutated config files: {outcomes}")
    assert outcomes["refused"] > outcomes["valid"] > 0


@pytest.mark.parametrize(
    "variable",
    ["HULLWATCH_MQTT__PASSWORD_FILE", "HULLWATCH_SENSORS__\udc80__BUS", "HULLWATCH_\udc80__X"],
)
def test_non_utf8_bytes_in_the_environment_are_a_printable_problem(variable: str) -> None:
    """Found by the fuzzing below: `hullwatch check-config` crashed on these."""
    out = _strict_utf8_out()
    code = check_config(CONFIG_DIR / "demo.toml", stream=out, environ={variable: "/x/\udc80"})
    out.flush()
    assert code == 78
    assert "\\udc80" in out.buffer.getvalue().decode("utf-8")  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        pytest.param(
            lambda d: d["sensors"][0].update(driver={"": ""}),
            "sensors[0].driver",
            id="table-driver",
        ),
        pytest.param(
            lambda d: d["mqtt"].update(tls_ca_file="a" * 5000), "File name too long", id="long-path"
        ),
        pytest.param(lambda d: d.update(state_dir="b" * 5000), "File name too long", id="long-dir"),
    ],
)
def test_crashes_found_by_fuzzing_are_problems_now(
    tmp_path: Path, edit: Callable[[dict[str, Any]], None], expected: str
) -> None:
    data = _base_config()
    edit(data)
    path = tmp_path / "hullwatch.toml"
    path.write_text(to_toml(data))
    result = _check_outcome(path, {})
    assert isinstance(result, ConfigError)
    assert expected in str(result)


def _keys(model: type[BaseModel]) -> st.SearchStrategy[str]:
    return st.sampled_from(sorted(model.model_fields)).map(str.upper)


_ELEMENTS = st.sampled_from(["0", "1", "99", "CHAMBER", "BMP_A", "bmp-a", "X", "", "\udc80"])
# Names that reach the schema (every key of every table) and names that do not.
ENV_NAMES = st.one_of(
    st.sampled_from(["STATION", "STATE_DIR", "MQTT", "ZONES", "CONFIG"]),
    _keys(MqttSettings).map("MQTT__{}".format),
    _keys(LoggingSettings).map("LOGGING__{}".format),
    st.tuples(_ELEMENTS, _keys(ZoneSettings)).map("ZONES__{0[0]}__{0[1]}".format),
    st.tuples(_ELEMENTS, _keys(SensorSettings)).map("SENSORS__{0[0]}__{0[1]}".format),
    st.lists(st.text(string.ascii_letters + string.digits + "_-", max_size=10), min_size=1,
             max_size=4).map("__".join),
).map("HULLWATCH_{}".format)  # fmt: skip
# os.environ decodes bytes that are not UTF-8 as lone surrogates (PEP 383): "\udc80".
ENV_VALUES = st.text(st.characters(exclude_characters="\0"), max_size=60) | st.sampled_from(
    [
        "true",
        "0x77",
        "1e400",
        "nan",
        "-1",
        "70000",
        "/",
        "a" * 5000,
        "sim:/x",
        "3.1.1",
        "/tmp/\udc80",
        "\udcff\udcfe",
    ]
)


def test_environment_overrides_are_validated_not_crashed_on(tmp_path: Path) -> None:
    """Up to four HULLWATCH_* variables over the demo configuration: every key of every
    table (by index, by id, by ids that match nothing) and junk names; any text, numbers
    out of range, paths too long for the system, bytes that are not UTF-8 (lone
    surrogates, as os.environ decodes them). 2000 examples (measured). Found, fixed in
    config.py: a too-long path in tls_ca_file, password_file or state_dir crashed
    load_config with OSError; a non-UTF-8 byte in one crashed it in pydantic with
    UnicodeEncodeError; and problems naming such bytes could not be printed to a
    strict UTF-8 stdout (`hullwatch check-config`)."""
    path = tmp_path / "hullwatch.toml"
    path.write_text(to_toml(_base_config()))
    tried = Tried("environment overrides")

    @fuzz(2000)
    @given(st.dictionaries(ENV_NAMES, ENV_VALUES, max_size=4))
    def run(environ: dict[str, str]) -> None:
        tried()
        _check_outcome(path, environ)

    run()
    tried.report(1500)


# --- MQTT ---------------------------------------------------------------------------------


def test_the_daemon_subscribes_to_nothing() -> None:
    """The daemon takes no commands over MQTT, so it parses no MQTT payload. If this
    changes, the new subscription's messages must be schema-validated and fuzzed here."""
    subscribers = sorted(
        source.relative_to(DAEMON_DIR).as_posix()
        for source in DAEMON_DIR.rglob("*.py")
        if re.search(r"\.subscribe\(", source.read_text(encoding="utf-8"))
    )
    # mqtt_session.py offers subscribe (MqttSession.subscribe, over paho's); its only
    # callers are `hullwatch watch` and `watch --fleet`, separate commands (fuzzed here
    # and in tests/fleet/test_fleet_view.py): the publisher never subscribes.
    assert subscribers == ["delivery/mqtt_session.py", "fleet_watch.py", "watch.py"]


def _valid_alert() -> dict[str, Any]:
    return {
        "schema": 1, "event_id": "0b6f4e2c-0000-4000-8000-000000000000", "seq": 7,
        "station": "demo", "zone": "chamber", "kind": "update", "level": "warning",
        "previous_level": "ok", "time": "2026-11-26T00:00:00.000Z", "pressure_pa": 101000.5,
        "temperature_c": 21.5, "dpdt_pa_per_s": -0.5, "dpdt_stderr_pa_per_s": 0.01,
        "leak_rate_pa_m3_per_s": 0.025, "leak_rate_stderr_pa_m3_per_s": 0.001,
        "leak_rate_sccm": 14.8, "hole_diameter_mm": 0.05, "reserve_time_s": 3600.0,
        "sensors": ["bmp-a"], "reason": "falling",
    }  # fmt: skip


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


# Text rich in what a terminal interprets: newlines, ESC (ANSI sequences), C1 controls.
TERMINAL_TEXT = st.text(st.sampled_from("\n\r\t\x1b\x00\x7f\x9b[2J") | st.characters(), max_size=12)


@st.composite
def mutated_alerts(draw: st.DrawFn) -> bytes:
    alert = _valid_alert()
    for key in draw(st.lists(st.sampled_from(sorted(alert)), max_size=4)):
        if draw(st.booleans()):
            alert[key] = draw(JSON_VALUES | TERMINAL_TEXT)
        else:
            alert.pop(key, None)
    return json.dumps(alert).encode()


# Raw JSON texts that the generators above do not reach: numbers beyond float range,
# integers too long for float formatting, unpaired surrogates, deep nesting.
_NASTY_ALERT_FIELDS = st.sampled_from(
    ['"reserve_time_s": 1e400', '"reserve_time_s": -1e400', '"reserve_time_s": NaN',
     f'"pressure_pa": {10**400}', '"pressure_pa": "x"', '"station": "\\ud800"',
     '"reason": "\\udfff\\ud800"', '"seq": null', '"hole_diameter_mm": Infinity']
)  # fmt: skip


@st.composite
def nasty_alerts(draw: st.DrawFn) -> bytes:
    text = json.dumps(_valid_alert())[:-1]
    for field in draw(st.lists(_NASTY_ALERT_FIELDS, min_size=1, max_size=3)):
        text += ", " + field
    return (text + "}").encode()


PAYLOADS = (
    st.binary(max_size=200)
    | JSON_VALUES.map(lambda v: json.dumps(v).encode())
    | mutated_alerts()
    | nasty_alerts()
    | st.integers(1, 200_000).map(lambda depth: b"[" * depth + b"]" * depth)
)

# Defects this fuzzing found in `hullwatch watch` (daemon/watch.py `_print_alert`), fixed
# (docs/delivery.md, "`hullwatch watch` and hostile alerts"): RecursionError on deeply
# nested JSON, OverflowError on a 1e400 reserve time or a 400-digit pressure,
# UnicodeEncodeError on an unpaired surrogate printed to a UTF-8 terminal, and "\n" or
# ESC in a field reaching the terminal raw. Nothing is tolerated any more.
KNOWN_WATCH_CRASHES: tuple[type[BaseException], ...] = ()
KNOWN_WATCH_LINE_INJECTION = False
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _strict_utf8_out() -> io.TextIOWrapper:
    """Like a terminal's stdout: UTF-8 with errors="strict"."""
    return io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict")


def _print_one(payload: bytes, as_json: bool) -> tuple[bool, str]:
    out = _strict_utf8_out()
    shown = _print_alert("hullwatch/demo/zones/chamber/alert", payload, as_json, out)
    out.flush()
    return shown, out.buffer.getvalue().decode("utf-8")  # type: ignore[attr-defined]


def _outcome(payload: bytes, as_json: bool) -> str:
    """shown / ignored, or a known defect; anything else fails the test."""
    try:
        shown, printed = _print_one(payload, as_json)
    except KNOWN_WATCH_CRASHES:
        return "crashed (known)"
    assert isinstance(shown, bool)
    one_clean_line = printed.count("\n") == int(shown) and not _CONTROL.search(printed[:-1])
    if not one_clean_line:
        assert KNOWN_WATCH_LINE_INJECTION, f"control characters reach the terminal: {printed!r}"
        return "injected (known)"
    return "shown" if shown else "ignored"


def test_watch_survives_any_alert_payload(capsys: pytest.CaptureFixture[str]) -> None:
    """`hullwatch watch` prints one clean line for an alert, or says it ignores a malformed
    one, for any bytes, any JSON, valid alerts with fields replaced (terminal control
    characters among them) or removed, out-of-range numbers, unpaired surrogates and
    nesting up to 200000 deep. 3000 examples (measured), each printed both as a line and
    as JSON. Found, fixed in watch.py: RecursionError, OverflowError and
    UnicodeEncodeError crashes, and line injection (a "\\n" or ESC in a field started a
    forged line or moved the cursor)."""
    tried = Tried("watch alert payloads")
    outcomes = dict.fromkeys(["shown", "ignored", "crashed (known)", "injected (known)"], 0)

    @fuzz(3000)
    @given(PAYLOADS)
    def run(payload: bytes) -> None:
        tried()
        for as_json in (False, True):
            outcomes[_outcome(payload, as_json)] += 1
            note = capsys.readouterr().err  # "ignoring malformed alert ...", one clean line
            assert note.count("\n") <= 1
            assert not _CONTROL.search(note.removesuffix("\n")), note

    run()
    tried.report(2000)
    print(f"[fuzz] watch alert payloads: {outcomes}")
    assert outcomes["shown"] > 0
    assert outcomes["ignored"] > 0


def test_watch_status_survives_any_payload() -> None:
    """`hullwatch watch` status lines for any bytes. 500 examples (measured). Found, fixed
    in watch.py: line injection, as for alerts."""
    tried = Tried("watch status payloads")
    injected = [0]

    @fuzz(500)
    @given(
        st.binary(max_size=100)
        | TERMINAL_TEXT.map(lambda text: text.encode("utf-8", "surrogatepass")),
        st.booleans(),
    )
    def run(payload: bytes, as_json: bool) -> None:
        tried()
        out = _strict_utf8_out()
        _print_status("hullwatch/demo/status", payload, as_json, out)
        out.flush()
        printed = out.buffer.getvalue().decode("utf-8")  # type: ignore[attr-defined]
        if printed.count("\n") != 1 or _CONTROL.search(printed[:-1]):
            assert KNOWN_WATCH_LINE_INJECTION, f"control characters reach the terminal: {printed!r}"
            injected[0] += 1

    run()
    tried.report(400)
    print(f"[fuzz] watch status payloads: {injected[0]} injected (known)")


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(b"[" * 100_000 + b"]" * 100_000, id="deep-nesting"),
        pytest.param(json.dumps({**_valid_alert(), "reserve_time_s": math.inf}).encode(), id="inf"),
        pytest.param(
            json.dumps(_valid_alert())[:-1].encode() + b', "pressure_pa": ' + b"9" * 400 + b"}",
            id="huge-int",
        ),
        pytest.param(
            json.dumps({**_valid_alert(), "station": "\ud800"}).encode(), id="lone-surrogate"
        ),
        pytest.param(
            json.dumps(
                {**_valid_alert(), "reason": "x\n2026-11-26T00:00:00Z demo/chamber OK\x1b[2K"}
            ).encode(),
            id="line-injection",
        ),
    ],
)
def test_watch_defects_found_by_fuzzing_are_fixed(
    payload: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each payload that crashed `hullwatch watch` or injected a line: now one clean line,
    or a one-line note on stderr that it was ignored."""
    for as_json in (False, True):
        shown, printed = _print_one(payload, as_json)
        assert printed.count("\n") == int(shown)
        assert not _CONTROL.search(printed[:-1])
        note = capsys.readouterr().err
        assert note.count("\n") == int(not shown)
        assert not _CONTROL.search(note[:-1])
        if not shown:
            assert note.startswith("hullwatch watch: ignoring malformed alert on ")
