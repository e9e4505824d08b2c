"""What every published document is made of: the base model and the field types they
share (docs/delivery.md, "The wire contract")."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Annotated, Any, Final, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, WithJsonSchema
from pydantic_core import PydanticCustomError

from ...settings.config import ID_PATTERN

# The detector's levels (`detection.levels.Level`), by their names on the wire.
LevelName = Literal["ok", "warning", "critical"]

# A station, zone or sensor id, as the configuration allows it (it appears in topics).
Identifier = Annotated[str, StringConstraints(pattern=ID_PATTERN)]

# SQLite (the outbox) and PostgreSQL (the archive) store integers in 64 signed bits.
INT64_MAX: Final = 2**63 - 1
Count = Annotated[int, Field(ge=0, le=INT64_MAX)]

# `str(uuid.uuid4())`: lower-case hex, 8-4-4-4-12.
UUID_PATTERN: Final = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
EventId = Annotated[
    str,
    StringConstraints(pattern=UUID_PATTERN),
    WithJsonSchema({"type": "string", "format": "uuid", "pattern": UUID_PATTERN}),
]

# ISO 8601 in UTC to the millisecond, `Z` for the zone: `2026-11-26T05:00:00.000Z`.
TIME_PATTERN: Final = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$"
_TIME = re.compile(TIME_PATTERN)


def _utc_milliseconds(text: str) -> str:
    try:
        if _TIME.fullmatch(text) is not None:
            datetime.fromisoformat(text)  # a real date: not month 13, not 25 o'clock
            return text
    except ValueError:
        pass
    raise PydanticCustomError(
        "utc_time", "Input should be a UTC time to the millisecond, like 2026-11-26T05:00:00.000Z"
    )


UtcTime = Annotated[
    str,
    AfterValidator(_utc_milliseconds),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": TIME_PATTERN}),
]


def utc_time(moment: datetime | None = None) -> str:
    """`moment` (default: now) as the documents write a time (`UtcTime`)."""
    moment = (moment or datetime.now(UTC)).astimezone(UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class WireDocument(BaseModel):
    """A document as this daemon publishes it. The configuration is the producer's:
    a field outside the contract is an error (`extra="forbid"`), nothing is coerced
    (`strict`: `"1"` is no number, `true` no integer), and JSON has no infinity or NaN.
    Subscribers read with `parsing.parse_document`, which ignores fields they do not know.
    """

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        frozen=True,
        allow_inf_nan=False,
        serialize_by_alias=True,
    )

    def wire_dict(self) -> dict[str, Any]:
        """The document as JSON values, keys in the order of the fields."""
        return self.model_dump(mode="json")

    def wire_json(self) -> str:
        """The payload: compact JSON, ASCII only (`json.dumps`'s escapes), keys in the
        order of the fields, numbers as Python writes them (`repr`)."""
        return json.dumps(self.wire_dict(), separators=(",", ":"))
