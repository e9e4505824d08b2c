"""A private Mosquitto for tests, the demo and HIL runs: own port, own config, stop and restart.

Waiting for it is a poll of its TCP port with a deadline, not a fixed sleep.
Security for the tests that need it (docs/delivery.md): a TLS listener with a
CA and certificates made by the `openssl` CLI (`make_test_pki`), a password
file made by `mosquitto_passwd` (`write_password_file`), an ACL file; and
persistence, so that a stopped broker keeps retained messages and the queued
messages of persistent sessions.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

STARTUP_TIMEOUT_S = 10.0


class BrokerError(RuntimeError):
    pass


def free_tcp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def mosquitto_binary() -> str:
    for candidate in (shutil.which("mosquitto"), "/usr/sbin/mosquitto"):
        if candidate and Path(candidate).exists():
            return candidate
    raise BrokerError("mosquitto is not installed: run `make setup` (apt-get install mosquitto)")


def _tool(name: str) -> str:
    for candidate in (shutil.which(name), f"/usr/bin/{name}", f"/usr/sbin/{name}"):
        if candidate and Path(candidate).exists():
            return candidate
    raise BrokerError(f"{name} is not installed (apt-get install mosquitto openssl)")


@dataclass(frozen=True)
class BrokerPki:
    """A CA and the certificates it signed, for one test run (PEM files)."""

    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def make_test_pki(
    directory: Path,
    *,
    server_names: Sequence[str] = ("127.0.0.1", "localhost"),
    ca_name: str = "hullwatch test CA",
) -> BrokerPki:
    """A fresh P-256 CA, a server certificate for `server_names` (IP addresses or DNS
    names, in its subjectAltName) and a client certificate, valid for two days."""
    directory.mkdir(parents=True, exist_ok=True)
    pki = BrokerPki(
        ca_cert=directory / "ca.crt",
        ca_key=directory / "ca.key",
        server_cert=directory / "server.crt",
        server_key=directory / "server.key",
        client_cert=directory / "client.crt",
        client_key=directory / "client.key",
    )
    key_args = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    _openssl(
        "req", "-x509", *key_args, "-keyout", pki.ca_key, "-out", pki.ca_cert,
        "-days", "2", "-subj", f"/CN={ca_name}",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip
    alt_names = ",".join(f"{_san_kind(name)}:{name}" for name in server_names)
    _sign(
        pki, "server", pki.server_cert, pki.server_key, "serverAuth", f"subjectAltName={alt_names}"
    )
    _sign(pki, "hullwatch-client", pki.client_cert, pki.client_key, "clientAuth", None)
    return pki


def make_client_certificate(pki: BrokerPki, name: str) -> tuple[Path, Path]:
    """(certificate, key) for a client named `name` (the subject's CN), signed by the CA:
    a station's identity when the broker takes the CN as the user name."""
    cert = pki.ca_cert.parent / f"{name}.crt"
    key = pki.ca_cert.parent / f"{name}.key"
    _sign(pki, name, cert, key, "clientAuth", None)
    return cert, key


def _san_kind(name: str) -> str:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return "DNS"
    return "IP"


def _sign(pki: BrokerPki, name: str, cert: Path, key: Path, usage: str, extra: str | None) -> None:
    csr = cert.with_suffix(".csr")
    extensions = cert.with_suffix(".ext")
    lines = [
        "basicConstraints=CA:FALSE",
        "keyUsage=critical,digitalSignature",
        f"extendedKeyUsage={usage}",
        "subjectKeyIdentifier=hash",
        "authorityKeyIdentifier=keyid",
    ]
    extensions.write_text("\n".join([*lines, *([extra] if extra else [])]) + "\n")
    _openssl(
        "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", key, "-out", csr, "-subj", f"/CN={name}",
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-in", csr, "-CA", pki.ca_cert, "-CAkey", pki.ca_key,
        "-set_serial", str(secrets.randbits(63)), "-days", "2", "-out", cert,
        "-extfile", extensions,
    )  # fmt: skip


def _openssl(*args: str | Path) -> None:
    result = subprocess.run(
        [_tool("openssl"), *map(str, args)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise BrokerError(f"openssl {args[0]} failed: {result.stderr.strip()}")


def write_password_file(path: Path, users: Mapping[str, str]) -> Path:
    """A Mosquitto password file (hashed, by `mosquitto_passwd -b`) for `users`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("")
    path.chmod(0o600)
    for user, password in users.items():
        result = subprocess.run(
            [_tool("mosquitto_passwd"), "-b", str(path), user, password],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise BrokerError(f"mosquitto_passwd failed for {user!r}: {result.stderr.strip()}")
    return path


def wait_for_port(host: str, port: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError as exc:
            if time.monotonic() > deadline:
                raise BrokerError(f"nothing listens on {host}:{port} after {timeout_s} s") from exc
            time.sleep(0.05)


class MosquittoBroker:
    """`mosquitto -c <generated config>` on 127.0.0.1:`port`.

    By default anonymous, plain TCP, no persistence. `tls` makes the listener
    TLS-only with the PKI's server certificate (`require_certificate`: clients
    must show one the CA signed); `password_file` turns anonymous access off;
    `acl_file` restricts topics; `persistence` keeps retained messages and
    persistent sessions across `stop`/`start` (saved on SIGTERM).
    """

    def __init__(
        self,
        workdir: Path,
        port: int | None = None,
        extra_config: str = "",
        *,
        tls: BrokerPki | None = None,
        require_certificate: bool = False,
        password_file: Path | None = None,
        acl_file: Path | None = None,
        persistence: bool = False,
    ) -> None:
        self.workdir = workdir
        self.port = port or free_tcp_port()
        self.host = "127.0.0.1"
        self._extra_config = extra_config
        self.tls = tls
        self._require_certificate = require_certificate
        self.password_file = password_file
        self.acl_file = acl_file
        self.persistence = persistence
        self._process: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / "mosquitto.log"

    def config_text(self) -> str:
        lines = [f"listener {self.port} {self.host}"]
        if self.tls is not None:
            lines += [
                f"cafile {self.tls.ca_cert}",
                f"certfile {self.tls.server_cert}",
                f"keyfile {self.tls.server_key}",
                f"require_certificate {str(self._require_certificate).lower()}",
            ]
        lines.append(f"allow_anonymous {str(self.password_file is None).lower()}")
        if self.password_file is not None:
            lines.append(f"password_file {self.password_file}")
        if self.acl_file is not None:
            lines.append(f"acl_file {self.acl_file}")
        if self.persistence:
            lines += ["persistence true", f"persistence_location {self.workdir}/"]
        else:
            lines.append("persistence false")
        if os.geteuid() == 0:
            # As root Mosquitto would switch to the `mosquitto` user, who cannot read
            # the test's files (keys and password file are mode 0600).
            lines.append("user root")
        lines += [
            f"log_dest file {self.log_path}",
            "log_type error",
            "log_type warning",
            "log_type notice",
        ]
        return "\n".join(lines) + "\n" + self._extra_config

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        config_path = self.workdir / "mosquitto.conf"
        config_path.write_text(self.config_text())
        self._process = subprocess.Popen(
            [mosquitto_binary(), "-c", str(config_path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_port(self.host, self.port, STARTUP_TIMEOUT_S)
        except BrokerError:
            self.stop()
            raise

    def reload(self) -> None:
        """SIGHUP: Mosquitto re-reads its password and ACL files."""
        if self._process is not None:
            self._process.send_signal(signal.SIGHUP)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def __enter__(self) -> MosquittoBroker:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
