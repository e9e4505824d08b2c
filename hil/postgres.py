"""A private PostgreSQL for tests and benchmarks: its own data directory, port and socket.

`initdb` in a temporary directory (trust authentication, one superuser named
`hullwatch`), then `pg_ctl start` on 127.0.0.1:<free port> with its Unix socket in
that directory; `stop` and `start` again keep the data, as a real restart would.
PostgreSQL refuses to run as root, so as root the server runs as the `postgres`
user the Debian package creates (`runuser -u postgres`), and the directory is
handed to that user: it must be somewhere that user can reach (`temporary_workdir`
makes one under the system's temporary directory; pytest's own, mode 0700, is not).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

from .broker import free_tcp_port, wait_for_port

STARTUP_TIMEOUT_S = 30.0
SUPERUSER = "hullwatch"
_SERVICE_USER = "postgres"


class PostgresError(RuntimeError):
    pass


def postgres_bin_dir() -> Path | None:
    """The newest installed server's bin directory (Debian: /usr/lib/postgresql/<N>/bin),
    or the directory of an `initdb` on PATH; None when no server is installed."""
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    root = Path("/usr/lib/postgresql")
    versions = sorted(
        (p for p in root.glob("*/bin") if (p / "initdb").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    return versions[-1] if versions else None


def temporary_workdir() -> Path:
    """A new directory for a throwaway cluster, which the server's user may enter (the
    cluster's own directories inside are that user's, mode 0700); the caller removes it."""
    workdir = Path(tempfile.mkdtemp(prefix="hullwatch-postgres-"))
    workdir.chmod(0o711)
    return workdir


class PostgresServer:
    """One PostgreSQL cluster in `workdir/data`, reachable at `conninfo`."""

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        bin_dir = postgres_bin_dir()
        if bin_dir is None:
            raise PostgresError("PostgreSQL is not installed: run `make setup`")
        self._bin_dir = bin_dir
        self.workdir = workdir
        self.data_dir = workdir / "data"
        self.socket_dir = workdir / "socket"
        self.log_path = workdir / "postgres.log"
        self.port = port or free_tcp_port()
        self.host = "127.0.0.1"
        self._as_root = os.geteuid() == 0

    @property
    def conninfo(self) -> str:
        return f"host={self.host} port={self.port} user={SUPERUSER} dbname=postgres"

    def _run(self, *args: str) -> None:
        command = [str(self._bin_dir / args[0]), *args[1:]]
        if self._as_root:
            command = ["runuser", "-u", _SERVICE_USER, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            log = self.log_text()[-2000:]
            raise PostgresError(
                f"{args[0]} failed ({result.returncode}): {result.stderr.strip()}\n{log}"
            )

    def init(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(exist_ok=True)
        if self._as_root:
            shutil.chown(self.workdir, _SERVICE_USER)
            shutil.chown(self.socket_dir, _SERVICE_USER)
        self._run(
            "initdb", "-D", str(self.data_dir), "-U", SUPERUSER, "--auth=trust",
            "--no-sync", "-E", "UTF8", "--locale=C",
        )  # fmt: skip

    def start(self) -> None:
        if not (self.data_dir / "PG_VERSION").exists():
            self.init()
        options = (
            f"-c listen_addresses={self.host} -c port={self.port} "
            f"-c unix_socket_directories={self.socket_dir} -c fsync=on "
            "-c max_connections=40 -c shared_buffers=32MB"
        )
        self._run(
            "pg_ctl", "start", "-D", str(self.data_dir), "-l", str(self.log_path),
            "-o", options, "-w", "-t", str(int(STARTUP_TIMEOUT_S)),
        )  # fmt: skip
        wait_for_port(self.host, self.port, STARTUP_TIMEOUT_S)

    def stop(self, mode: str = "fast") -> None:
        """`fast`: clients are disconnected, the cluster shuts down cleanly;
        `immediate`: like a crash (recovery at the next start)."""
        if (self.data_dir / "postmaster.pid").exists():
            self._run("pg_ctl", "stop", "-D", str(self.data_dir), "-m", mode, "-w")

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def __enter__(self) -> PostgresServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
