"""One descriptor per driver: the facts configuration, the sensor factory and `scan` share.

A descriptor names a driver as the configuration does (`driver = "bmp390"`) and
holds what the daemon needs to know about it: its family, the chip ids it
accepts, the I2C addresses its chip answers at, the settings a configuration
may change with their allowed values and defaults, the fastest rate it can be
read at with those settings, the factory that builds it and the probe `scan`
identifies it with. Every value comes from the driver package that owns the
fact (register tables, variant tables, timing tables, settings defaults,
probes), so nothing here is a second copy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Literal, TypeVar

from .bmp3 import VARIANTS as BMP3_VARIANTS
from .bmp3 import Bmp3Sensor, Bmp3Settings
from .bmp3 import device as bmp3_device
from .bmp3 import probe as bmp3_probe
from .bmp3.registers import IIR_CODES, OSR_CODES
from .bus import I2CBus
from .ms5611 import OVERSAMPLING_RATIOS, Ms5611Sensor, Ms5611Settings
from .ms5611 import VARIANTS as MS56XX_VARIANTS
from .ms5611 import device as ms5611_device
from .ms5611 import probe as ms56xx_probe
from .ms5611.variants import Ms5611Variant
from .probe import I2CProbe, SerialProbe
from .rate_limit import RateLimit
from .sensor import PressureSensor
from .serial_bridge import SerialBridgeSensor
from .serial_bridge import probe as bridge_probe
from .serial_bridge.device import DEFAULT_BAUDRATE as BRIDGE_BAUDRATE
from .serial_bridge.protocol import MAX_FRAME_RATE_HZ as BRIDGE_MAX_RATE_HZ
from .transports.serial_port import SerialLine
from .vaisala_ptb import PtbSensor
from .vaisala_ptb import probe as ptb_probe
from .vaisala_ptb import protocol as ptb
from .vaisala_ptb.device import MAX_POLL_RATE_HZ as PTB_MAX_RATE_HZ

Family = Literal["bmp3", "ms56xx", "serial"]

# Line settings a serial instrument may be configured for (the common rates of
# USB adapters and instruments; the PTB330 manual lists its own within these).
BAUDRATES: Final = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400)


@dataclass(frozen=True, slots=True)
class Tunable:
    """A setting a sensor's configuration may change: its allowed values and default."""

    key: str
    allowed: tuple[object, ...]
    default: object


ChipSettings = Bmp3Settings | Ms5611Settings
# The factories: an I2C chip from (bus, address, its settings); a serial instrument from
# (line, its RS-485 address or None, the rate it is read at).
I2CFactory = Callable[[I2CBus, int, ChipSettings], PressureSensor]
SerialFactory = Callable[[SerialLine, "int | None", float], PressureSensor]


# The fastest rate from every tunable's value (by key, defaults filled in).
RateLimiter = Callable[[Mapping[str, object]], RateLimit]
_NOTHING_CHOSEN: Final[Mapping[str, object]] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class DriverDescriptor:
    name: str  # the configuration's `driver` value
    family: Family
    chip_ids: tuple[int, ...]  # identity register values it accepts (none: the chip has none)
    addresses: tuple[int, ...]  # I2C addresses (none: a serial instrument)
    tunables: tuple[Tunable, ...]
    rate_limit: RateLimiter
    # The tunables the fastest rate depends on, named when a rate is refused (none: a
    # fixed limit).
    rate_keys: tuple[str, ...] = ()
    open_i2c: I2CFactory | None = None
    open_serial: SerialFactory | None = None
    probe_i2c: I2CProbe | None = None  # one per family, shared by its drivers
    probe_serial: SerialProbe | None = None

    @property
    def is_serial(self) -> bool:
        return self.family == "serial"

    def tunable(self, key: str) -> Tunable | None:
        return next((t for t in self.tunables if t.key == key), None)

    def tuning(self, chosen: Mapping[str, object] = _NOTHING_CHOSEN) -> dict[str, object]:
        """Every tunable's value: the chosen one, or its default where `chosen` has none
        (or None). KeyError for a key this driver does not take."""
        unknown = set(chosen) - {t.key for t in self.tunables}
        if unknown:
            raise KeyError(f"a {self.name} has no setting {', '.join(sorted(unknown))}")
        return {
            t.key: t.default if chosen.get(t.key) is None else chosen[t.key] for t in self.tunables
        }

    def fastest_rate_hz(self, chosen: Mapping[str, object] = _NOTHING_CHOSEN) -> float:
        """The fastest this driver's sensor can be read at with these settings."""
        return self.rate_limit(self.tuning(chosen)).fastest_hz

    def check_rate(self, rate_hz: float, chosen: Mapping[str, object] = _NOTHING_CHOSEN) -> None:
        """ValueError naming the driver, the settings and the limit when `rate_hz` is above it."""
        tuning = self.tuning(chosen)
        settings = {key: tuning[key] for key in self.rate_keys}
        refusal = self.rate_limit(tuning).refusal(rate_hz, settings)
        if refusal is not None:
            raise ValueError(f"a {self.name} {refusal}")


_BMP3_TUNABLES: Final = (
    Tunable("mode", bmp3_device.MODES, bmp3_device.DEFAULT_MODE),
    Tunable("pressure_oversampling", tuple(OSR_CODES), bmp3_device.DEFAULT_PRESSURE_OVERSAMPLING),
    Tunable(
        "temperature_oversampling",
        tuple(OSR_CODES),
        bmp3_device.DEFAULT_TEMPERATURE_OVERSAMPLING,
    ),
    Tunable("iir_coefficient", tuple(IIR_CODES), bmp3_device.DEFAULT_IIR_COEFFICIENT),
)
# One oversampling ratio serves both MS56xx conversions.
_MS56XX_TUNABLES: Final = (
    Tunable("pressure_oversampling", OVERSAMPLING_RATIOS, ms5611_device.DEFAULT_OVERSAMPLING),
)
_BMP3_CHIP_IDS: Final = tuple(v.chip_id for v in BMP3_VARIANTS)  # either, by either name


def _int(value: object) -> int:
    if isinstance(value, int):
        return value
    raise TypeError(f"expected an integer setting, not {value!r}")


def _bmp3_rate_limit(tuning: Mapping[str, object]) -> RateLimit:
    return bmp3_device.rate_limit(
        str(tuning["mode"]),
        _int(tuning["pressure_oversampling"]),
        _int(tuning["temperature_oversampling"]),
    )


def _ms56xx_rate_limit(tuning: Mapping[str, object]) -> RateLimit:
    return ms5611_device.rate_limit(_int(tuning["pressure_oversampling"]))


def _fixed_rate_limit(limit_hz: float) -> RateLimiter:
    """A serial instrument: the same limit whatever its line settings."""
    return lambda _tuning: RateLimit(limit_hz, "")


_S = TypeVar("_S", Bmp3Settings, Ms5611Settings)


def _i2c_factory(
    settings_type: type[_S], build: Callable[[I2CBus, int, _S], PressureSensor]
) -> I2CFactory:
    """A factory that refuses another family's settings (a programming error)."""

    def open_chip(bus: I2CBus, address: int, settings: ChipSettings) -> PressureSensor:
        if not isinstance(settings, settings_type):
            raise TypeError(f"expected {settings_type.__name__}, not {type(settings).__name__}")
        return build(bus, address, settings)

    return open_chip


def _bmp3_factory(name: str) -> I2CFactory:
    return _i2c_factory(
        Bmp3Settings, lambda bus, address, chip: Bmp3Sensor(bus, address, chip, expected_chip=name)
    )


def _ms56xx_factory(variant: Ms5611Variant) -> I2CFactory:
    return _i2c_factory(
        Ms5611Settings, lambda bus, address, chip: Ms5611Sensor(bus, address, chip, variant=variant)
    )


def _open_bridge(line: SerialLine, _address: int | None, rate_hz: float) -> PressureSensor:
    return SerialBridgeSensor(line, expected_rate_hz=rate_hz)


def _open_ptb(line: SerialLine, address: int | None, _rate_hz: float) -> PressureSensor:
    return PtbSensor(line, address=address)


_DESCRIPTORS: Final = (
    *(
        DriverDescriptor(
            v.name.lower(),
            "bmp3",
            _BMP3_CHIP_IDS,
            v.addresses,
            _BMP3_TUNABLES,
            _bmp3_rate_limit,
            bmp3_device.RATE_SETTINGS,
            open_i2c=_bmp3_factory(v.name.lower()),
            probe_i2c=bmp3_probe.probe,
        )
        for v in BMP3_VARIANTS
    ),
    *(
        DriverDescriptor(
            v.name.lower(),
            "ms56xx",
            (),
            v.addresses,
            _MS56XX_TUNABLES,
            _ms56xx_rate_limit,
            ("pressure_oversampling",),
            open_i2c=_ms56xx_factory(v),
            probe_i2c=ms56xx_probe.probe,
        )
        for v in MS56XX_VARIANTS
    ),
    # Serial instruments in the order scan tries a port: listening for a bridge's frames
    # sends nothing, the PTB330's probe sends commands.
    # A bridge streams on its own; the protocol is 8N1 by definition, only the rate varies.
    DriverDescriptor(
        "serial_bridge",
        "serial",
        (),
        (),
        (Tunable("baudrate", BAUDRATES, BRIDGE_BAUDRATE),),
        _fixed_rate_limit(BRIDGE_MAX_RATE_HZ),
        open_serial=_open_bridge,
        probe_serial=bridge_probe.probe,
    ),
    DriverDescriptor(
        "ptb330",
        "serial",
        (),
        (),
        (
            Tunable("baudrate", BAUDRATES, ptb.DEFAULT_BAUDRATE),
            Tunable("parity", ("N", "E", "O"), ptb.DEFAULT_PARITY),
            Tunable("bytesize", (7, 8), ptb.DEFAULT_BYTESIZE),
            Tunable("stopbits", (1, 2), ptb.DEFAULT_STOPBITS),
        ),
        _fixed_rate_limit(PTB_MAX_RATE_HZ),
        open_serial=_open_ptb,
        probe_serial=ptb_probe.probe,
    ),
)

DRIVERS: Final[Mapping[str, DriverDescriptor]] = MappingProxyType({d.name: d for d in _DESCRIPTORS})


def names(family: Family) -> frozenset[str]:
    """The drivers of one family, by their configuration names."""
    return frozenset(d.name for d in _DESCRIPTORS if d.family == family)


def i2c_probes() -> tuple[I2CProbe, ...]:
    """Each I2C family's probe once, in catalog order: the order `scan` tries them."""
    found: list[I2CProbe] = []
    for d in _DESCRIPTORS:
        if d.probe_i2c is not None and d.probe_i2c not in found:
            found.append(d.probe_i2c)
    return tuple(found)


def serial_drivers() -> tuple[DriverDescriptor, ...]:
    """The serial drivers in catalog order: the order `scan` tries a port."""
    return tuple(d for d in _DESCRIPTORS if d.probe_serial is not None)
