"""`hullwatch watch --fleet`: every station's status and open alerts, from the retained
picture on a (central) broker.

`FleetState` is pure: it takes (topic, payload) pairs and keeps, per station, its
status, each zone's latest alert and each sensor's health. The rendering is a table
refreshed in place on a terminal (rich) or, when the output is not a terminal, one
plain line per station each time its picture changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from .delivery.wire import Alert, DocumentError, SensorHealth, WireDocument, parse_document
from .watch import format_duration, printable

_ORDER = {"critical": 0, "warning": 1, "ok": 2}
D = TypeVar("D", bound=WireDocument)


@dataclass
class StationView:
    station: str
    status: str = "?"
    alerts: dict[str, Alert] = field(default_factory=dict)  # zone -> latest alert
    sensors_not_ok: dict[str, str] = field(default_factory=dict)  # sensor -> health
    last_time: str = ""

    @property
    def worst_level(self) -> str:
        levels = [a.level for a in self.alerts.values()] or ["ok"]
        return min(levels, key=lambda level: _ORDER[level])

    def open_alerts(self) -> list[tuple[str, Alert]]:
        return sorted(
            ((zone, a) for zone, a in self.alerts.items() if a.level != "ok"),
            key=lambda item: (_ORDER[item[1].level], item[0]),
        )


def describe_alert(zone: str, alert: Alert) -> str:
    """`chamber CRITICAL 139 sccm hole 0.161 mm reserve 2h02m` (no hole when not falling)."""
    parts = [f"{zone} {alert.level.upper()}", f"{alert.leak_rate_sccm:.3g} sccm"]
    if alert.hole_diameter_mm is not None:
        parts.append(f"hole {alert.hole_diameter_mm:.3f} mm")
    parts.append(f"reserve {format_duration(alert.reserve_time_s)}")
    return " ".join(parts)


class FleetState:
    def __init__(self, prefix: str) -> None:
        self._prefix = prefix
        self.stations: dict[str, StationView] = {}

    def update(self, topic: str, payload: bytes) -> StationView | None:
        """The station whose picture this message changed, or None (not ours, malformed)."""
        if not topic.startswith(self._prefix + "/"):
            return None
        levels = topic[len(self._prefix) + 1 :].split("/")
        station = levels[0]
        view = self.stations.get(station) or StationView(station)
        match levels[1:]:
            case ["status"]:
                view.status = payload.decode("utf-8", errors="replace")[:20]
            case ["zones", zone, "alert"]:
                if not payload:  # the daemon cleared a removed zone
                    view.alerts.pop(zone, None)
                else:
                    alert = _parsed(Alert, payload)
                    if alert is None:
                        return None
                    view.alerts[zone] = alert
                    view.last_time = alert.time
            case ["sensors", sensor, "health"]:
                if not payload:  # the daemon cleared a removed sensor
                    view.sensors_not_ok.pop(sensor, None)
                else:
                    health = _parsed(SensorHealth, payload)
                    if health is None:
                        return None
                    if health.health == "ok":
                        view.sensors_not_ok.pop(sensor, None)
                    else:
                        view.sensors_not_ok[sensor] = health.health
            case _:
                return None
        self.stations[station] = view
        return view

    def sorted_views(self) -> list[StationView]:
        """Stations in trouble first: critical, warning, offline, a sensor not ok, then the
        rest by name."""
        return sorted(
            self.stations.values(),
            key=lambda v: (
                _ORDER.get(v.worst_level, -1),
                v.status == "online",
                not v.sensors_not_ok,
                v.station,
            ),
        )


def _parsed(model: type[D], payload: bytes) -> D | None:
    """The document, or None when it is not one (anyone who may publish on the central
    broker controls these payloads)."""
    try:
        return parse_document(model, payload)
    except DocumentError:
        return None


def plain_line(view: StationView) -> str:
    """One line: `lab-1 online WARNING | chamber WARNING 7.43 sccm ... | sensors bmp-a degraded`."""
    alerts = "; ".join(describe_alert(zone, a) for zone, a in view.open_alerts()) or "no alert"
    sensors = ", ".join(f"{s} {h}" for s, h in sorted(view.sensors_not_ok.items()))
    text = f"{view.station} {view.status} {view.worst_level.upper()} | {alerts}"
    if sensors:
        text += f" | sensors {sensors}"
    return printable(text)


def render_table(state: FleetState) -> Any:
    """A rich Table (rich is imported here only: the `fleet` extra)."""
    from rich.table import Table
    from rich.text import Text

    styles = {"critical": "bold red", "warning": "yellow", "ok": "green"}
    online = sum(1 for v in state.stations.values() if v.status == "online")
    open_count = sum(len(v.open_alerts()) for v in state.stations.values())
    table = Table(
        title=f"hullwatch fleet: {len(state.stations)} stations, {online} online, "
        f"{open_count} open alerts",
        expand=True,
    )
    for column in ("station", "status", "level", "open alerts", "sensors not ok", "last alert"):
        table.add_column(column)
    for view in state.sorted_views():
        alerts = "\n".join(printable(describe_alert(z, a)) for z, a in view.open_alerts()) or "-"
        sensors = ", ".join(f"{s} {h}" for s, h in sorted(view.sensors_not_ok.items())) or "-"
        status_style = "green" if view.status == "online" else "bold magenta"
        table.add_row(
            Text(printable(view.station)),
            Text(printable(view.status), style=status_style),
            Text(printable(view.worst_level.upper()), style=styles.get(view.worst_level, "")),
            Text(alerts),
            Text(printable(sensors)),
            Text(printable(view.last_time)),
        )
    return table
