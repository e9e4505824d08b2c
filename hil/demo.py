"""`hullwatch demo`: a private broker, the simulated chamber, the daemon, and `watch`.

Everything is a real process talking the real protocols; the only thing that
differs from a Raspberry Pi is the I2C transport (`sim:` socket). Ctrl-C stops
all of it.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from .broker import MosquittoBroker
from .processes import hullwatch_command, start_daemon, start_simulator

_REPO = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = _REPO / "config" / "demo.toml"
DEFAULT_SCENARIO = Path(__file__).resolve().parent / "scenarios" / "demo.toml"


def register(commands: Any) -> None:
    demo = commands.add_parser("demo", help="watch the daemon catch a simulated leak")
    demo.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    demo.add_argument("--scenario", type=Path, default=DEFAULT_SCENARIO)
    demo.add_argument("--json", action="store_true", help="print alerts as JSON lines")
    demo.set_defaults(handler=_main)


def _main(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="hullwatch-demo-") as workdir_name:
        workdir = Path(workdir_name)
        broker = MosquittoBroker(workdir / "broker")
        broker.start()
        socket_path = workdir / "sim.sock"
        simulator = start_simulator(args.scenario, socket_path, workdir / "sim.log")
        daemon = start_daemon(
            args.config,
            workdir / "daemon.log",
            env={
                "HULLWATCH_MQTT__PORT": str(broker.port),
                "HULLWATCH_MQTT__HOST": broker.host,
                "HULLWATCH_SENSORS__0__BUS": f"sim:{socket_path}",
            },
        )
        print(
            f"broker 127.0.0.1:{broker.port} · simulator {socket_path} · daemon pid {daemon.pid}\n"
            f"logs in {workdir}; a hole opens at 20 s and grows at 50 s. Ctrl-C stops the demo.",
            flush=True,
        )
        watch_args = [*hullwatch_command(), "watch", "--port", str(broker.port)]
        if args.json:
            watch_args.append("--json")
        watcher = subprocess.Popen(watch_args)
        try:
            watcher.wait()
        except KeyboardInterrupt:
            print("\nstopping the demo", flush=True)
        finally:
            watcher.terminate()
            watcher.wait()
            daemon.stop()
            simulator.stop()
            broker.stop()
    return 0
