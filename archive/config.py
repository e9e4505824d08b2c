"""The archiver's configuration: one TOML file, validated like the daemon's.

Unknown keys are errors, every problem names its key path, and `HULLWATCH_<SECTION>__<KEY>`
environment variables override the file (`HULLWATCH_MQTT__PASSWORD=...`). Relative
paths are resolved against the file's directory. The PostgreSQL password is not a key:
libpq reads it from `PGPASSWORD` or a password file (`PGPASSFILE`, `~/.pgpass`).
`config/archive.example.toml` documents every key.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from hullwatch.daemon.settings.config import (
    MISSING,
    ConfigError,
    ConfigProblem,
    LoggingSettings,
    read_toml,
    render_key_path,
)
from hullwatch.daemon.settings.config_env import apply_env_overrides

_NAME = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _existing_file(path: Path | None, info: ValidationInfo) -> Path | None:
    if path is None:
        return None
    base_dir = info.context.get("base_dir") if isinstance(info.context, dict) else None
    if isinstance(base_dir, Path) and not path.is_absolute():
        path = base_dir / path
    if not path.is_file():
        raise ValueError(f"no such file: {path}")
    try:
        path.open("rb").close()
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror}") from exc
    return path


class ArchiveMqttSettings(_Settings):
    """The central broker, and the shared subscription the archivers split the load on."""

    host: Annotated[str, StringConstraints(min_length=1)] = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 1883
    username: str | None = None
    password: SecretStr | None = None
    password_file: Path | None = None
    tls_ca_file: Path | None = None
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    tls_verify_hostname: bool = True
    topic_prefix: Annotated[str, StringConstraints(pattern=r"^[^+#/]+(/[^+#/]+)*$")] = "hullwatch"
    # Archivers with the same share_group split the messages between them (MQTT 5 shared
    # subscription); each needs its own client_id, kept across restarts, so that the
    # broker keeps its session (and what it had not acknowledged) while it is away.
    share_group: Annotated[str, StringConstraints(pattern=_NAME)] = "hullwatch-archive"
    client_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] = Field(
        default_factory=lambda: f"hullwatch-archive-{socket.gethostname()}"[:64]
    )
    keepalive_s: Annotated[int, Field(ge=5, le=3600)] = 30
    session_expiry_s: Annotated[int, Field(ge=0, le=4_294_967_295)] = 7 * 24 * 3600
    # MQTT 5 Receive Maximum: QoS 1 messages the broker may send before our acks. It
    # bounds one batch of alerts and health, so it must be at least batch.max_messages.
    receive_maximum: Annotated[int, Field(ge=1, le=65535)] = 5000
    reconnect_min_s: Annotated[float, Field(gt=0, le=60)] = 0.5
    reconnect_max_s: Annotated[float, Field(gt=0, le=600)] = 30.0

    @field_validator("password_file", "tls_ca_file", "tls_cert_file", "tls_key_file")
    @classmethod
    def _check_file(cls, path: Path | None, info: ValidationInfo) -> Path | None:
        return _existing_file(path, info)

    @model_validator(mode="after")
    def _check_pairs(self) -> ArchiveMqttSettings:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("set both tls_cert_file and tls_key_file, or neither")
        if self.password is not None and self.password_file is not None:
            raise ValueError("set either password or password_file, not both")
        if self.reconnect_max_s < self.reconnect_min_s:
            raise ValueError("reconnect_max_s must be at least reconnect_min_s")
        return self

    def secret(self) -> str | None:
        if self.password_file is not None:
            return self.password_file.read_text(encoding="utf-8").rstrip("\r\n")
        return None if self.password is None else self.password.get_secret_value()

    @property
    def subscription(self) -> str:
        return f"$share/{self.share_group}/{self.topic_prefix}/#"


class PostgresSettings(_Settings):
    # A libpq connection string: "host=db.lab port=5432 dbname=hullwatch user=archive"
    # or a postgresql:// URI.
    conninfo: Annotated[str, StringConstraints(min_length=1)]
    connect_timeout_s: Annotated[int, Field(ge=1, le=300)] = 10
    reconnect_min_s: Annotated[float, Field(gt=0, le=60)] = 0.5
    reconnect_max_s: Annotated[float, Field(gt=0, le=600)] = 30.0


class BatchSettings(_Settings):
    """A batch is written (one transaction) when it holds `max_messages` or its oldest
    message has waited `max_delay_s`, whichever comes first."""

    max_messages: Annotated[int, Field(ge=1, le=50_000)] = 2000
    max_delay_s: Annotated[float, Field(gt=0, le=60)] = 0.5
    # Received but not yet committed (PostgreSQL away): past this, telemetry (QoS 0,
    # which the broker never resends) is dropped and counted; alerts and health are
    # bounded by mqtt.receive_maximum and never dropped.
    max_pending_messages: Annotated[int, Field(ge=1000, le=10_000_000)] = 200_000


class ArchiveConfig(_Settings):
    mqtt: ArchiveMqttSettings = ArchiveMqttSettings()
    postgres: PostgresSettings
    batch: BatchSettings = BatchSettings()
    logging: LoggingSettings = LoggingSettings()

    @model_validator(mode="after")
    def _check_receive_maximum(self) -> ArchiveConfig:
        if self.mqtt.receive_maximum < self.batch.max_messages:
            raise ValueError(
                f"mqtt.receive_maximum ({self.mqtt.receive_maximum}) must be at least "
                f"batch.max_messages ({self.batch.max_messages})"
            )
        return self


def load_archive_config(path: Path, environ: Mapping[str, str] | None = None) -> ArchiveConfig:
    """Read, override from `environ` (default: os.environ) and validate; `ConfigError`
    lists every problem."""
    environ = os.environ if environ is None else environ
    source = str(path)
    data = read_toml(path)
    overrides = apply_env_overrides(data, environ, schema=ArchiveConfig)
    problems = [
        ConfigProblem(p.key_path, p.value, p.message, p.variable) for p in overrides.problems
    ]
    try:
        config = ArchiveConfig.model_validate(overrides.data, context={"base_dir": path.parent})
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            key_path = render_key_path(error["loc"])
            value = MISSING if error["type"] == "missing" else error["input"]
            if key_path.endswith("password") and value is not MISSING:
                value = "**********"
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                message = "unknown key"
            elif error["type"] == "missing":
                message = "required key is missing"
            where = overrides.sources.get(key_path, source)
            problems.append(ConfigProblem(key_path, value, message, where))
        raise ConfigError(problems) from exc
    if problems:
        raise ConfigError(problems)
    return config


__all__ = [
    "ArchiveConfig",
    "ArchiveMqttSettings",
    "BatchSettings",
    "PostgresSettings",
    "load_archive_config",
]
