"""The daemon configuration a HIL scenario implies: its zones' detector settings and
its sensors, pointed at the simulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hullwatch.drivers.catalog import DRIVERS

from .scenario import Scenario

HIL_STATION = "hil"
HIL_PREFIX = "hil"


def daemon_config(
    scenario: Scenario, *, socket_path: Path, broker_port: int = 1883
) -> dict[str, Any]:
    zones = [
        {
            "id": zone.id,
            "volume_m3": zone.volume_m3,
            "ambient_pressure_pa": zone.ambient_pressure_pa,
            **zone.detector.model_dump(),
        }
        for zone in scenario.zones
    ]
    sensors: list[dict[str, Any]] = []
    for sensor in scenario.sensors:
        entry: dict[str, Any] = {
            "id": sensor.sensor_id,
            "zone": sensor.zone,
            "driver": sensor.kind,
            "bus": f"sim:{socket_path}",
            "address": sensor.address,
            "rate_hz": sensor.rate_hz,
        }
        # The driver's settings a scenario sets; the rest take the driver's defaults.
        for tunable in DRIVERS[sensor.kind].tunables:
            if getattr(sensor, tunable.key, None) is not None:
                entry[tunable.key] = getattr(sensor, tunable.key)
        sensors.append(entry)
    for index, serial in enumerate(scenario.serial_sensors):
        entry = {
            "id": f"{serial.kind.replace('_', '-')}-{index}",
            "zone": serial.zone,
            "driver": serial.kind,
            "bus": serial.link,
            "rate_hz": serial.rate_hz if serial.kind == "serial_bridge" else 2.0,
        }
        if serial.address is not None:
            entry["address"] = serial.address
        sensors.append(entry)
    return {
        "station": HIL_STATION,
        "mqtt": {
            "host": "127.0.0.1",
            "port": broker_port,
            "topic_prefix": HIL_PREFIX,
            "telemetry_interval_s": 1.0,
            "alert_update_interval_s": 2.0,
            "reconnect_min_s": 0.2,
            "reconnect_max_s": 2.0,
        },
        "logging": {"format": "json"},
        "zones": zones,
        "sensors": sensors,
    }


def to_toml(config: dict[str, Any]) -> str:
    """The configuration as TOML (tables of scalars, and arrays of such tables)."""
    lines = [f"{key} = {_value(value)}" for key, value in config.items() if _scalar(value)]
    for key, value in config.items():
        if isinstance(value, dict):
            lines.append(f"\n[{key}]")
            lines += [f"{k} = {_value(v)}" for k, v in value.items()]
        elif isinstance(value, list):
            for table in value:
                lines.append(f"\n[[{key}]]")
                lines += [f"{k} = {_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def _scalar(value: object) -> bool:
    return not isinstance(value, dict | list)


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'
