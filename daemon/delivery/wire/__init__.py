"""The wire contract: one pydantic model per document the daemon publishes over MQTT.

| topic | model | payload |
|---|---|---|
| `<prefix>/<station>/status` | `StationStatus` | `online` / `offline`, bare text |
| `<prefix>/<station>/zones/<zone>/alert` | `Alert` | JSON |
| `<prefix>/<station>/zones/<zone>/telemetry` | `Telemetry` | JSON |
| `<prefix>/<station>/sensors/<sensor>/health` | `SensorHealth` | JSON |
| `<prefix>/<station>/delivery` | `DeliveryReport` | JSON |

The producers (`alert_document`, `delivery_queue`, `publisher`) build these models and
publish `wire_json()`; a field outside the contract is an error there (`extra="forbid"`).
Subscribers read with `parse_document`, which ignores fields they do not know: a
field may be added without a new version, and fields the first daemons did not send
have defaults. Removing, renaming or retyping a field is a new version (the alert's
`schema`). `docs/schema/*.schema.json` are generated from these models
(`scripts/generate-schema`). docs/delivery.md, "The wire contract".
"""

from .alert import ALERT_SCHEMA_VERSION, Alert, AlertKind
from .delivery_report import DeliveryReport
from .fields import LevelName, WireDocument, utc_time
from .health import SensorHealth
from .parsing import DocumentError, parse_document
from .status import OFFLINE, ONLINE, StationStatus
from .telemetry import Telemetry, TemperatureLag

__all__ = [
    "ALERT_SCHEMA_VERSION",
    "OFFLINE",
    "ONLINE",
    "Alert",
    "AlertKind",
    "DeliveryReport",
    "DocumentError",
    "LevelName",
    "SensorHealth",
    "StationStatus",
    "Telemetry",
    "TemperatureLag",
    "WireDocument",
    "parse_document",
    "utc_time",
]
