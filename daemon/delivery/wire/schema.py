"""JSON Schema of each published document, as `scripts/generate-schema` writes it to
`docs/schema/<name>.schema.json`: what a subscriber in any language codes against."""

from __future__ import annotations

import json
from typing import Any, Final

from pydantic import BaseModel

from .alert import Alert
from .delivery_report import DeliveryReport
from .health import SensorHealth
from .status import StationStatus
from .telemetry import Telemetry

DRAFT: Final = "https://json-schema.org/draft/2020-12/schema"

# File name (without `.schema.json`) and model of every document the daemon publishes.
DOCUMENTS: Final[dict[str, type[BaseModel]]] = {
    "alert": Alert,
    "telemetry": Telemetry,
    "health": SensorHealth,
    "delivery": DeliveryReport,
    "status": StationStatus,
}


def json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """What a subscriber must accept (pydantic's validation schema): fields an older
    daemon leaves out are not required, and, unlike the daemon's own models, a field
    the schema does not name is allowed, so that a newer daemon that adds one does not
    break a subscriber validating with this version."""
    schema = model.model_json_schema(mode="validation", by_alias=True)
    _allow_unknown_fields(schema)
    return {"$schema": DRAFT, **schema}


def schema_text(model: type[BaseModel]) -> str:
    return json.dumps(json_schema(model), indent=2, ensure_ascii=False) + "\n"


def _allow_unknown_fields(node: Any) -> None:
    if isinstance(node, dict):
        if node.get("additionalProperties") is False:
            del node["additionalProperties"]
        for value in node.values():
            _allow_unknown_fields(value)
    elif isinstance(node, list):
        for value in node:
            _allow_unknown_fields(value)
