"""The configuration room: one TOML file, validated by pydantic, overridable from the environment.

`load_config(path)` reads the file with `tomllib`, applies `HULLWATCH_*`
environment overrides (rules in `config_env`), validates the result and returns
a frozen `Config`, or raises `ConfigError` carrying every problem it found: field
errors from pydantic, checks between fields of one table (critical above
warning, sensor address, the sample rate against the driver's fastest, MQTT files),
and checks across tables (unique ids, sensors pointing at zones that exist,
every zone watched, no two sensors on one bus address). The checks across tables
run on the data as written, so they are reported even when some field
elsewhere is invalid.

Relative paths (`state_dir`, `password_file`, `tls_*_file`) are resolved against the
directory of the configuration file, also when they come from the environment.
"""

from __future__ import annotations

import difflib
import functools
import os
import re
import stat
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Final, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from hullwatch.drivers.vaisala_ptb.protocol import check_address as check_ptb_address

from .chip_settings import (
    DRIVER_ADDRESSES,
    SERIAL_DRIVERS,
    ChipTuning,
    LineTuning,
    descriptor,
)
from .config_env import EnvOverrides, apply_env_overrides, field_kind, normalize_id

__all__ = [
    "DEFAULT_STATE_DIR",
    "DRIVER_ADDRESSES",
    "ID_PATTERN",
    "MISSING",
    "Config",
    "ConfigError",
    "ConfigProblem",
    "FileSecret",
    "LoggingSettings",
    "MqttSettings",
    "RecordingSettings",
    "SensorSettings",
    "ZoneSettings",
    "load_config",
    "read_toml",
    "render_key_path",
]

ID_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
_ID_RULE: Final = (
    "must be 1 to 64 letters, digits, '_' or '-', starting with a letter or digit "
    "(it appears in MQTT topics)"
)

# Where the durable outbox lives (systemd: StateDirectory=hullwatch).
DEFAULT_STATE_DIR: Final = Path("/var/lib/hullwatch")
_I2C_DEV: Final = re.compile(r"/dev/i2c-(0|[1-9][0-9]*)")
_SIM_SCHEME: Final = "sim:"
_REDACTED: Final = "**********"
_NUMBER_KINDS: Final[Mapping[object, str]] = {int: "an integer", float: "a number"}


def _utf8(text: str) -> str:
    """Text any UTF-8 stream can print. The environment decodes bytes that are not UTF-8
    as lone surrogates (PEP 383), which `print` to stdout would refuse: escape them."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


class _Missing:
    """The value of a problem whose key is absent from the file."""

    def __repr__(self) -> str:
        return "(missing)"


MISSING: Final = _Missing()


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong with the configuration, located by key path and source."""

    key_path: str  # `sensors[0].address`, `mqtt.port`; "" for the file as a whole
    value: object  # the offending input, MISSING when the key is absent
    message: str
    source: str  # the file path, or the environment variable the value came from

    def __str__(self) -> str:
        if not self.key_path:
            return _utf8(f"{self.source}: {self.message}")
        return _utf8(f"{self.source}: {self.key_path} = {self.value!r}: {self.message}")


class ConfigError(Exception):
    """The configuration cannot be used; `problems` lists everything found wrong with it."""

    def __init__(self, problems: Sequence[ConfigProblem]) -> None:
        self.problems: list[ConfigProblem] = list(problems)
        count = len(self.problems)
        lines = [f"{count} configuration problem{'s' if count != 1 else ''}:"]
        lines.extend(f"  {problem}" for problem in self.problems)
        super().__init__("\n".join(lines))


# --- field types ---------------------------------------------------------------


def _int_from_text(value: object) -> object:
    """Let a string such as "0x77" or "8" (from the environment) stand for an int."""
    if isinstance(value, str):
        try:
            return int(value.strip(), 0)
        except ValueError:
            return value  # pydantic reports it with the original input
    return value


def _lower_text(value: object) -> object:
    return value.strip().lower() if isinstance(value, str) else value


def _upper_text(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


Identifier = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
ChipNumber = Annotated[int | None, BeforeValidator(_int_from_text)]


class FileSecret(SecretStr):
    """A password read from `mqtt.password_file` rather than written in the configuration."""


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_as_number(cls, value: object, info: ValidationInfo) -> object:
        # Lax mode would read `port = true` as 1; only bool keys take true/false.
        if isinstance(value, bool) and info.field_name is not None:
            annotation = cls.model_fields[info.field_name].annotation
            if annotation is not bool:
                wanted = _NUMBER_KINDS.get(annotation, "another type")
                raise ValueError(f"expected {wanted}, not {str(value).lower()}")
        return value


def _resolve(path: Path, info: ValidationInfo) -> Path:
    base_dir = info.context.get("base_dir") if isinstance(info.context, dict) else None
    if isinstance(base_dir, Path) and not path.is_absolute():
        return base_dir / path
    return path


def _shown_path(path: Path) -> str:
    return _utf8(str(path))


def _stat(path: Path) -> os.stat_result | None:
    """`path`'s status, None when nothing is there. Other failures (a name too long for
    the system, a symlink loop, no permission to look) are problems with the value."""
    try:
        return path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise ValueError(f"cannot look at {_shown_path(path)}: {exc.strerror or exc}") from exc


def _read_secret(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ValueError(f"cannot read {_shown_path(path)}: {reason}") from exc
    secret = text.rstrip("\r\n")
    if not secret:
        raise ValueError(f"{_shown_path(path)} is empty")
    return secret


# --- the tables ----------------------------------------------------------------


class MqttSettings(_Settings):
    """The broker connection and what is published to it.

    After validation `password` holds the secret however it was given: written
    in the file or the environment, or read from `password_file` (a `FileSecret`).
    """

    host: Annotated[str, StringConstraints(min_length=1)] = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 1883
    username: str | None = None
    password: SecretStr | None = None
    password_file: Path | None = None
    topic_prefix: str = "hullwatch"
    client_id: Annotated[str, StringConstraints(min_length=1)] | None = None
    keepalive_s: Annotated[int, Field(ge=5, le=3600)] = 30
    tls_ca_file: Path | None = None
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = Field(default=None, validate_default=True)
    tls_verify_hostname: bool = True
    telemetry_interval_s: Annotated[float, Field(ge=0.1, le=3600)] = 1.0
    alert_update_interval_s: Annotated[float, Field(ge=1, le=3600)] = 10.0
    reconnect_min_s: Annotated[float, Field(gt=0)] = 0.5
    reconnect_max_s: Annotated[float, Field(gt=0)] = 30.0
    # MQTT 5 lets the broker say in the PUBACK that it refused a message (ACL);
    # 3.1.1 brokers drop such messages silently (docs/delivery.md).
    protocol: Literal["5", "3.1.1"] = "5"
    connect_timeout_s: Annotated[float, Field(ge=1, le=300)] = 10.0
    outbox_max_messages: Annotated[int, Field(ge=100, le=1_000_000)] = 10_000
    telemetry_buffer_per_zone: Annotated[int, Field(ge=1, le=10_000)] = 4

    def effective_client_id(self, station: str) -> str:
        """`client_id`, or `hullwatch-<station>` when none is configured."""
        return self.client_id if self.client_id is not None else f"hullwatch-{station}"

    @field_validator("topic_prefix")
    @classmethod
    def _check_topic_prefix(cls, prefix: str) -> str:
        if not prefix:
            raise ValueError("must not be empty")
        if "+" in prefix or "#" in prefix:
            raise ValueError("must not contain the MQTT wildcards '+' or '#'")
        if prefix.startswith("/") or prefix.endswith("/"):
            raise ValueError("must not start or end with '/'")
        if "//" in prefix:
            raise ValueError("must not contain an empty topic level ('//')")
        return prefix

    @field_validator("password_file", "tls_ca_file", "tls_cert_file", "tls_key_file")
    @classmethod
    def _check_file(cls, path: Path | None, info: ValidationInfo) -> Path | None:
        if path is None:
            return None
        path = _resolve(path, info)
        found = _stat(path)
        if found is None:
            raise ValueError(f"no such file: {_shown_path(path)}")
        if not stat.S_ISREG(found.st_mode):
            raise ValueError(f"{_shown_path(path)} is not a file")
        if info.field_name == "password_file":
            password = info.data.get("password")
            if password is not None and not isinstance(password, FileSecret):
                raise ValueError("set either password or password_file, not both")
            _read_secret(path)
        else:
            try:
                path.open("rb").close()
            except OSError as exc:
                raise ValueError(f"cannot read {_shown_path(path)}: {exc.strerror}") from exc
        return path

    @field_validator("tls_key_file")
    @classmethod
    def _check_client_pair(cls, key_file: Path | None, info: ValidationInfo) -> Path | None:
        if "tls_cert_file" not in info.data:
            return key_file  # tls_cert_file is invalid and already reported
        cert_file = info.data["tls_cert_file"]
        if cert_file is not None and key_file is None:
            raise ValueError("tls_cert_file is set, so tls_key_file must be set too")
        if cert_file is None and key_file is not None:
            raise ValueError("tls_key_file needs tls_cert_file: set both for a client certificate")
        return key_file

    @field_validator("reconnect_max_s")
    @classmethod
    def _check_reconnect(cls, maximum: float, info: ValidationInfo) -> float:
        minimum = info.data.get("reconnect_min_s")
        if minimum is not None and maximum < minimum:
            raise ValueError(f"must be at least reconnect_min_s ({minimum:g} s)")
        return maximum

    @model_validator(mode="after")
    def _load_password_file(self) -> MqttSettings:
        if self.password_file is not None:
            secret = FileSecret(_read_secret(self.password_file))
            # A frozen model: the field is filled once, during validation, the way a
            # frozen dataclass's __post_init__ does it.
            object.__setattr__(self, "password", secret)
        return self


class LoggingSettings(_Settings):
    level: Annotated[Literal["debug", "info", "warning", "error"], BeforeValidator(_lower_text)] = (
        "info"
    )
    format: Annotated[Literal["auto", "json", "console"], BeforeValidator(_lower_text)] = "auto"


class RecordingSettings(_Settings):
    """What the daemon reads, written to rotating gzip'd CSV files (docs/recording.md).

    Off by default. The bounds keep the recordings from filling the SD card: a file
    is closed once it holds `file_max_bytes` (compressed), and the oldest files are
    deleted while all of them together hold more than `total_max_bytes`.
    """

    enabled: bool = False
    # Relative to state_dir (which is itself relative to the configuration file).
    directory: Path = Path("recordings")
    file_max_bytes: Annotated[int, Field(ge=10_000, le=10_000_000_000)] = 16_000_000
    total_max_bytes: Annotated[int, Field(ge=10_000, le=1_000_000_000_000)] = 256_000_000
    flush_interval_s: Annotated[float, Field(ge=0.1, le=300)] = 5.0

    @field_validator("directory")
    @classmethod
    def _check_directory(cls, path: Path) -> Path:
        if "\0" in str(path):
            raise ValueError("must not contain a NUL character")
        if str(path) in ("", "."):
            raise ValueError("must name a directory of its own, not state_dir itself")
        return path

    @field_validator("total_max_bytes")
    @classmethod
    def _check_total(cls, total: int, info: ValidationInfo) -> int:
        per_file = info.data.get("file_max_bytes")
        if per_file is not None and total < 2 * per_file:
            raise ValueError(
                f"must be at least twice file_max_bytes ({per_file}): the file being "
                "written and one finished file"
            )
        return total


class ZoneSettings(_Settings):
    """A sealed volume watched as one: its size, its reserve and its alarm thresholds."""

    id: Identifier
    volume_m3: Annotated[float, Field(gt=0)]
    floor_pa: Annotated[float, Field(gt=0)]
    window_s: Annotated[float, Field(ge=1, le=3600)] = 30.0
    warning_pa_per_s: Annotated[float, Field(gt=0)]
    critical_pa_per_s: Annotated[float, Field(gt=0)]
    significance_sigma: Annotated[float, Field(ge=2)] = 5.0
    release_fraction: Annotated[float, Field(gt=0, lt=1)] = 0.5
    min_window_fill: Annotated[float, Field(gt=0, le=1)] = 0.5
    discharge_coefficient: Annotated[float, Field(gt=0, le=1)] = 0.62
    ambient_pressure_pa: Annotated[float, Field(ge=0)] = 0.0
    reference_temperature_k: Annotated[float, Field(gt=0)] = 293.15
    # Detection at the noise limit (docs/detection.md): a bank of windows from
    # min_window_s to window_s, a significance from the false-alarm budget, and
    # the sensors' thermal lag undone. Absent: one window, significance_sigma.
    min_window_s: Annotated[float | None, Field(ge=0.5, le=3600)] = None
    false_alarm_interval_days: Annotated[float | None, Field(gt=0, le=1e6)] = None
    temperature_lag_s: Annotated[float, Field(ge=0, le=3600)] = 0.0
    temperature_window_s: Annotated[float, Field(ge=30, le=3600)] = 600.0
    # How far the configured lag may be off (fraction), until the online estimate
    # is precise; the fastest thermal change of the gas; and whether each
    # sensor's flicker and random walk are learned (docs/detection.md).
    temperature_lag_uncertainty: Annotated[float, Field(ge=0, le=1)] = 0.3
    max_thermal_rate_k_per_s: Annotated[float, Field(ge=0, le=10)] = 0.05
    noise: Literal["learned", "white"] = "learned"
    # The zone is judged once per this much sample time, and at once when a sample
    # may raise its level (docs/detection.md "Decision rate"); 0: after every sample.
    decision_interval_s: Annotated[float, Field(ge=0, le=10)] = 0.1

    @field_validator("min_window_s")
    @classmethod
    def _check_min_window(cls, shortest: float | None, info: ValidationInfo) -> float | None:
        longest = info.data.get("window_s")
        if shortest is not None and longest is not None and shortest > longest:
            raise ValueError(f"must not exceed window_s ({longest:g} s)")
        return shortest

    @field_validator("critical_pa_per_s")
    @classmethod
    def _check_critical(cls, critical: float, info: ValidationInfo) -> float:
        warning = info.data.get("warning_pa_per_s")
        if warning is not None and critical <= warning:
            raise ValueError(f"must be greater than warning_pa_per_s ({warning:g} Pa/s)")
        return critical


class SensorSettings(_Settings):
    """One pressure sensor: where it is, which zone it watches, how it samples.

    Fields are declared in the order their checks need: `address` after `driver`,
    `rate_hz` after the settings its driver's fastest rate depends on.
    """

    id: Identifier
    zone: str
    driver: Annotated[
        Literal["bmp388", "bmp390", "ms5611", "ms5607", "serial_bridge", "ptb330"],
        BeforeValidator(_lower_text),
    ]
    bus: str
    # I2C: the chip's 7-bit address (required). PTB330: its RS-485 address, for
    # POLL mode (optional). Serial bridge: none.
    address: Annotated[
        int | None, BeforeValidator(_int_from_text), Field(validate_default=True)
    ] = None
    # Chip tuning: which keys a driver takes, their values and defaults are its
    # descriptor's tunables (drivers/catalog.py; BMP3: all four; MS56xx:
    # pressure_oversampling for both conversions). None means the driver's default.
    mode: Annotated[Literal["normal", "forced"] | None, BeforeValidator(_lower_text)] = None
    pressure_oversampling: ChipNumber = None
    temperature_oversampling: ChipNumber = None
    iir_coefficient: ChipNumber = None
    # Serial line settings (serial drivers only); None means the instrument's default.
    baudrate: ChipNumber = None
    parity: Annotated[Literal["N", "E", "O"] | None, BeforeValidator(_upper_text)] = None
    bytesize: ChipNumber = None
    stopbits: ChipNumber = None
    rate_hz: Annotated[float, Field(gt=0, le=200)]
    timeout_s: Annotated[float, Field(gt=0, le=10)] = 0.5
    spike_threshold_pa: Annotated[float, Field(gt=0)] = 50.0
    stuck_samples: Annotated[int, Field(ge=2, le=100_000)] = 10
    # A spike is also a sample this many times the sensor's measured RMS noise
    # outside its neighbours' range, when that is below spike_threshold_pa (0: off).
    spike_noise_multiple: Annotated[float, Field(ge=0, le=1000)] = 10.0
    # This sensor's temperature lags the gas by this time constant; absent: the
    # zone's temperature_lag_s (sensors on different boards lag differently).
    temperature_lag_s: Annotated[float | None, Field(ge=0, le=3600)] = None

    @property
    def tuning(self) -> ChipTuning:
        return ChipTuning(
            mode=self.mode,
            pressure_oversampling=self.pressure_oversampling,
            temperature_oversampling=self.temperature_oversampling,
            iir_coefficient=self.iir_coefficient,
        )

    @property
    def line_tuning(self) -> LineTuning:
        return LineTuning(
            baudrate=self.baudrate,
            parity=self.parity,
            bytesize=self.bytesize,
            stopbits=self.stopbits,
        )

    @field_validator("bus")
    @classmethod
    def _check_bus(cls, bus: str, info: ValidationInfo) -> str:
        if info.data.get("driver") in SERIAL_DRIVERS:
            path = PurePosixPath(bus)
            if path.is_absolute() and path.name and "\0" not in bus:
                return bus
            raise ValueError("expected the absolute path of a serial device (/dev/ttyUSB0)")
        if _I2C_DEV.fullmatch(bus):
            return bus
        if bus.startswith(_SIM_SCHEME):
            socket = PurePosixPath(bus.removeprefix(_SIM_SCHEME))
            if socket.is_absolute() and socket.name and "\0" not in bus:
                return bus
        raise ValueError("expected /dev/i2c-<n> or sim:<absolute path of the simulator socket>")

    @field_validator("address")
    @classmethod
    def _check_address(cls, address: int | None, info: ValidationInfo) -> int | None:
        driver = info.data.get("driver")
        if driver == "serial_bridge":
            if address is not None:
                raise ValueError("a serial bridge has no address; remove it")
            return None
        if driver == "ptb330":
            if address is not None:
                check_ptb_address(address)
            return address
        allowed = DRIVER_ADDRESSES.get(driver) if isinstance(driver, str) else None
        if allowed is None:
            return address  # an invalid driver is already reported
        choices = " or ".join(f"0x{a:02x}" for a in allowed)
        if address is None:
            raise ValueError(f"a {driver} needs its I2C address: {choices}")
        if address not in allowed:
            raise ValueError(f"a {driver} answers only at {choices}, not {address:#04x}")
        return address

    @field_validator(
        "mode",
        "pressure_oversampling",
        "temperature_oversampling",
        "iir_coefficient",
        "baudrate",
        "parity",
        "bytesize",
        "stopbits",
    )
    @classmethod
    def _check_tuning(cls, value: object, info: ValidationInfo) -> object:
        driver = info.data.get("driver")
        found = descriptor(driver) if isinstance(driver, str) else None
        if value is None or found is None:
            return value  # the driver's default, or an invalid driver already reported
        key = str(info.field_name)
        tunable = found.tunable(key)
        if tunable is None:
            raise ValueError(f"a {driver} has no {key} setting; remove it")
        if value not in tunable.allowed:
            *first, last = map(str, tunable.allowed)
            raise ValueError(f"a {driver} takes {key} one of {', '.join(first)} or {last}")
        return value

    @field_validator("rate_hz")
    @classmethod
    def _check_rate(cls, rate_hz: float, info: ValidationInfo) -> float:
        """Refuse a rate above the driver's fastest with these settings (its descriptor's
        `fastest_rate_hz`, from the driver's own timing tables)."""
        driver = info.data.get("driver")
        found = descriptor(driver) if isinstance(driver, str) else None
        if found is None:
            return rate_hz  # an invalid driver is already reported
        keys = [t.key for t in found.tunables]
        if any(key not in info.data for key in keys):
            return rate_hz  # so is an invalid setting
        found.check_rate(rate_hz, {key: info.data[key] for key in keys})
        return rate_hz


class Config(_Settings):
    """One station: its broker, its zones and the sensors that watch them."""

    station: Identifier
    state_dir: Path = Field(default=DEFAULT_STATE_DIR, validate_default=True)
    mqtt: MqttSettings = MqttSettings()
    logging: LoggingSettings = LoggingSettings()
    recording: RecordingSettings = RecordingSettings()
    zones: Annotated[list[ZoneSettings], Field(min_length=1)]
    sensors: Annotated[list[SensorSettings], Field(min_length=1)]

    def zone(self, zone_id: str) -> ZoneSettings:
        """The zone with this id (KeyError if there is none)."""
        for zone in self.zones:
            if zone.id == zone_id:
                return zone
        raise KeyError(zone_id)

    @property
    def recording_dir(self) -> Path:
        """Where recordings go: `recording.directory`, under `state_dir` when relative."""
        return self.state_dir / self.recording.directory

    def sensors_in(self, zone_id: str) -> list[SensorSettings]:
        """The sensors that watch a zone, in file order."""
        return [sensor for sensor in self.sensors if sensor.zone == zone_id]

    @field_validator("state_dir")
    @classmethod
    def _check_state_dir(cls, path: Path, info: ValidationInfo) -> Path:
        # Only the form: the daemon creates the directory and checks it can write
        # there when it starts (daemon/delivery/outbox.py), so check-config stays read-only.
        if "\0" in str(path):
            raise ValueError("must not contain a NUL character")
        if str(path) in ("", "."):
            raise ValueError("must name a directory")
        path = _resolve(path, info)
        found = _stat(path)
        if found is not None and not stat.S_ISDIR(found.st_mode):
            raise ValueError(f"{_shown_path(path)} exists and is not a directory")
        return path

    @model_validator(mode="after")
    def _check_across_tables(self, info: ValidationInfo) -> Config:
        # load_config runs these checks itself, on the data as written.
        if isinstance(info.context, dict) and info.context.get("checked_across_tables"):
            return self
        issues = _check_across_tables(self.model_dump())
        if issues:
            raise ValueError("; ".join(f"{key_path}: {message}" for key_path, _, message in issues))
        return self


# --- checks across tables ------------------------------------------------------

_Issue = tuple[str, object, str]  # (key path, value, message)


def _entries(value: object) -> list[tuple[int, Mapping[str, Any]]]:
    if not isinstance(value, list):
        return []
    return [(i, entry) for i, entry in enumerate(value) if isinstance(entry, Mapping)]


def _unique_ids(section: str, entries: list[tuple[int, Mapping[str, Any]]]) -> list[_Issue]:
    """Ids must differ even ignoring case and `-` versus `_` (see config_env)."""
    issues: list[_Issue] = []
    first: dict[str, tuple[int, str]] = {}
    for i, entry in entries:
        entry_id = entry.get("id")
        if not isinstance(entry_id, str):
            continue
        seen = first.setdefault(normalize_id(entry_id), (i, entry_id))
        if seen[0] != i:
            same = "" if seen[1] == entry_id else f" (as {seen[1]!r}: ids ignore case and -/_)"
            message = f"duplicate {section[:-1]} id: {section}[{seen[0]}] has it{same}"
            issues.append((f"{section}[{i}].id", entry_id, message))
    return issues


def _check_across_tables(data: Mapping[str, Any]) -> list[_Issue]:
    """Checks between zones and sensors, tolerant of entries that are themselves invalid."""
    zones = _entries(data.get("zones"))
    sensors = _entries(data.get("sensors"))
    issues = _unique_ids("zones", zones) + _unique_ids("sensors", sensors)

    zone_ids = {z["id"]: i for i, z in reversed(zones) if isinstance(z.get("id"), str)}
    watched: set[str] = set()
    first_at: dict[tuple[str, int | None], int] = {}
    bridge_ports: dict[str, int] = {}
    for i, sensor in sensors:
        zone = sensor.get("zone")
        if isinstance(zone, str):
            watched.add(zone)
            if zone_ids and zone not in zone_ids:
                hint = difflib.get_close_matches(zone, list(zone_ids), n=1)
                known = f"did you mean {hint[0]!r}?" if hint else f"zones: {', '.join(zone_ids)}"
                issues.append((f"sensors[{i}].zone", zone, f"no zone has this id; {known}"))
        bus, address = sensor.get("bus"), _int_from_text(sensor.get("address"))
        if not isinstance(bus, str):
            continue
        if sensor.get("driver") == "serial_bridge" or bus in bridge_ports:
            # A bridge streams on its line: nothing else can share the port.
            j = bridge_ports.setdefault(bus, i)
            if j != i or any(key[0] == bus and at != i for key, at in first_at.items()):
                message = "a serial bridge needs its port to itself"
                issues.append((f"sensors[{i}].bus", bus, message))
                continue
        driver = sensor.get("driver")  # as written: maybe not even a string
        if address is None and isinstance(driver, str) and driver in SERIAL_DRIVERS:
            j = first_at.setdefault((bus, None), i)
            if j != i:
                message = f"sensors[{j}] already uses {bus}; give each PTB330 its RS-485 address"
                issues.append((f"sensors[{i}].address", MISSING, message))
        elif isinstance(address, int) and not isinstance(address, bool):
            j = first_at.setdefault((bus, address), i)
            if j != i:
                message = f"sensors[{j}] is already at address {address:#04x} on {bus}"
                issues.append((f"sensors[{i}].address", sensor.get("address"), message))
    if sensors:
        for zone_id, i in zone_ids.items():
            if zone_id not in watched:
                message = f"no sensor watches this zone: add a [[sensors]] with zone = {zone_id!r}"
                issues.append((f"zones[{i}].id", zone_id, message))
    return issues


# --- loading -------------------------------------------------------------------


def read_toml(path: Path) -> dict[str, Any]:
    """The TOML file's table; `ConfigError` when it cannot be read or parsed."""
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except OSError as exc:
        message = f"cannot read the configuration file: {exc.strerror or exc}"
        raise ConfigError([ConfigProblem("", MISSING, message, str(path))]) from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        message = f"not valid TOML: {exc}"
        raise ConfigError([ConfigProblem("", MISSING, message, str(path))]) from exc


def load_config(path: Path, environ: Mapping[str, str] | None = None) -> Config:
    """Read, override from `environ` (default: os.environ) and validate a configuration file."""
    environ = os.environ if environ is None else environ
    source = str(path)
    data = read_toml(path)
    overrides = apply_env_overrides(data, environ, schema=Config)
    problems = [
        ConfigProblem(p.key_path, _shown(p.key_path, p.value), p.message, p.variable)
        for p in overrides.problems
    ]
    context = {"base_dir": path.parent, "checked_across_tables": True}
    config: Config | None = None
    try:
        config = Config.model_validate(overrides.data, context=context)
    except ValidationError as exc:
        problems.extend(_problem_from_error(error, source, overrides) for error in exc.errors())
    for key_path, value, message in _check_across_tables(overrides.data):
        where = overrides.sources.get(key_path, source)
        problems.append(ConfigProblem(key_path, _shown(key_path, value), message, where))
    if problems or config is None:
        raise ConfigError(problems)
    return config


def render_key_path(loc: Sequence[str | int]) -> str:
    """A pydantic `loc` as written in problems: `sensors[0].address`, `mqtt.port`."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            name = part if re.fullmatch(r"[A-Za-z0-9_-]+", part) else f'"{part}"'
            text += f".{name}" if text else name
    return text


def _shown(key_path: str, value: object) -> object:
    """The value as a problem shows it: a password, or an unknown key whose name looks like
    a secret (`mqtt.passwrod`, `api_token`), is never echoed."""
    name = key_path.rsplit(".", 1)[-1].lower()
    if value is None or value is MISSING:
        return value
    if name == "password" or (name not in _known_keys() and looks_like_a_secret(name)):
        return _REDACTED
    return value


_SECRET_WORDS: Final = ("password", "passwd", "secret", "token", "key", "credential")
_SECRET_PARTS: Final = ("pass", "pwd", "secret", "token", "key", "cred", "auth")


def looks_like_a_secret(name: str) -> bool:
    """A key name that says, or nearly says (a typing slip), it holds a secret."""
    lowered = name.lower()
    words = [w for w in re.split(r"[^a-z0-9]+", lowered) if w]
    if any(part in lowered for part in _SECRET_PARTS):
        return True
    return any(difflib.get_close_matches(w, _SECRET_WORDS, n=1, cutoff=0.6) for w in words)


@functools.cache
def _known_keys() -> frozenset[str]:
    """Every key name the schema has (`tls_key_file` is a path, not a secret)."""
    names: set[str] = set()
    pending: list[type[BaseModel]] = [Config]
    while pending:
        model = pending.pop()
        for name, schema_field in model.model_fields.items():
            names.add(name)
            nested = field_kind(schema_field.annotation)[1]
            if nested is not None:
                pending.append(nested)
    return frozenset(names)


def _problem_from_error(error: ErrorDetails, source: str, overrides: EnvOverrides) -> ConfigProblem:
    loc = error["loc"]
    key_path = render_key_path(loc)
    # TOML has no null, so a None input is a key left out (validated by default).
    value = MISSING if error["type"] == "missing" or error["input"] is None else error["input"]
    where = overrides.sources.get(key_path, source)
    return ConfigProblem(key_path, _shown(key_path, value), _message(error), where)


def _message(error: ErrorDetails) -> str:
    kind, loc, ctx = error["type"], error["loc"], error.get("ctx", {})
    name = loc[-1] if loc else ""
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        allowed = _keys_at(loc[:-1])
        hint = difflib.get_close_matches(str(name), allowed, n=1)
        return f"unknown key; did you mean {hint[0]!r}?" if hint else "unknown key"
    if kind == "string_pattern_mismatch" and ctx.get("pattern") == ID_PATTERN:
        return _ID_RULE
    if kind == "list_type" and len(loc) == 1:
        return f"expected an array of tables: write each entry under [[{name}]]"
    if kind == "too_short" and len(loc) == 1:
        return f"at least one [[{name}]] entry is required"
    if kind == "model_type":
        return "expected a table"
    if kind == "path_type":
        return "expected a path (a string)"
    return error["msg"].removeprefix("Value error, ")


def _keys_at(loc: Sequence[str | int]) -> list[str]:
    """The keys the schema allows in the table at `loc`."""
    model: type[BaseModel] | None = Config
    for part in loc:
        if model is None:
            return []
        if isinstance(part, int):
            continue  # an element of the array whose item model is already current
        schema_field = model.model_fields.get(part)
        model = None if schema_field is None else field_kind(schema_field.annotation)[1]
    return [] if model is None else list(model.model_fields)
