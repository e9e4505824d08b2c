"""The sensor health document: `<prefix>/<station>/sensors/<sensor>/health`, QoS 1, retained."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .fields import Count, Identifier, UtcTime, WireDocument


class SensorHealth(WireDocument):
    """A sensor's health, on every change. A sensor that is not `ok` contributes nothing to
    its zone's figures. An empty retained message on the topic clears it (the sensor was
    removed). No version field: a field is only ever added."""

    station: Identifier = Field(description="The station (`station`).")
    sensor: Identifier = Field(description="The sensor (`sensors[].id`).")
    zone: Identifier = Field(description="The zone the sensor belongs to.")
    health: Literal["ok", "degraded", "failed"] = Field(
        description="`degraded`: reads fail, the sensor is stuck or being re-initialised; "
        "`failed`: it cannot be initialised."
    )
    reason: str = Field(
        description="The driver's error, or `stuck: the same reading N times in a row`."
    )
    since: UtcTime = Field(description="When this health began (UTC).")
    time: UtcTime = Field(description="When the document was made (UTC).")
    samples_taken: Count = Field(description="Readings the sensor gave since the start.")
    samples_accepted: Count = Field(
        description="Of those, the ones passed on to the detector (the sample guard holds "
        "back spikes, stuck and out-of-range readings)."
    )
