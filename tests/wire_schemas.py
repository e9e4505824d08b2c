"""Payloads checked against the published JSON Schema files (docs/schema/), as a subscriber
in another language would check them: `jsonschema`, not the daemon's own models."""

from __future__ import annotations

import functools
import json
from pathlib import Path

from jsonschema import Draft202012Validator

SCHEMA_DIR = Path(__file__).resolve().parents[1] / "docs" / "schema"


@functools.cache
def validator(name: str) -> Draft202012Validator:
    schema = json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text(encoding="utf-8"))
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def document_name(topic: str) -> str:
    """The schema file (without `.schema.json`) for a topic `<prefix>/<station>/...`."""
    levels = topic.split("/")
    if levels[-1] in ("status", "delivery"):
        return levels[-1]
    if levels[-3:-2] == ["zones"] and levels[-1] in ("alert", "telemetry"):
        return levels[-1]
    if levels[-3:-2] == ["sensors"] and levels[-1] == "health":
        return "health"
    raise AssertionError(f"no document of the wire contract is published on {topic}")


def check_payload(topic: str, payload: bytes | str) -> None:
    """Raises `jsonschema.ValidationError` unless `payload` is what `topic` carries. An
    empty retained message on an alert or health topic clears it: nothing to check."""
    name = document_name(topic)
    text = payload.decode("utf-8") if isinstance(payload, bytes) else payload
    if not text and name in ("alert", "health"):
        return
    # The status is bare text (`online`); every other document is JSON.
    validator(name).validate(text if name == "status" else json.loads(text))
