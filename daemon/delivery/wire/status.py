"""The station status: `<prefix>/<station>/status`, QoS 1, retained. Not JSON: the bare text."""

from __future__ import annotations

from typing import Final, Literal

from pydantic import ConfigDict, RootModel


class StationStatus(RootModel[Literal["online", "offline"]]):
    """`online` after every connect; `offline` at a clean stop, and as the last will the
    broker publishes when the connection dies. The payload is the bare UTF-8 text
    (`online`, no quotes): not a JSON document."""

    model_config = ConfigDict(strict=True, frozen=True)

    @property
    def payload(self) -> str:
        return self.root

    @classmethod
    def from_payload(cls, payload: bytes) -> StationStatus:
        """The status a payload says; `ValueError` (pydantic's `ValidationError`, or
        `UnicodeDecodeError`) if it says neither."""
        return cls.model_validate(payload.decode("utf-8"))


ONLINE: Final = StationStatus("online")
OFFLINE: Final = StationStatus("offline")
