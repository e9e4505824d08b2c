"""`hullwatch watch`: follow alerts and station status on a broker, one line each."""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import ssl
import sys
import uuid
from typing import Final, TextIO

from .delivery.mqtt_errors import MqttError
from .delivery.mqtt_session import ConnectOptions, MqttSession
from .delivery.wire import Alert, parse_document
from .exit_codes import ExitCode

CONNECT_TIMEOUT_S: Final = 10.0
KEEPALIVE_S: Final = 60

LEVEL_MARK = {"ok": "OK", "warning": "WARNING", "critical": "CRITICAL"}
# C0, DEL and C1: what a terminal acts on (a new line, ESC sequences that move the cursor).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Anyone who may publish under the prefix controls these documents: ignore, never crash.
# The model refuses what is not an alert (`DocumentError`, a ValueError, names the field);
# the rest is the last line of defence.
_MALFORMED = (ValueError, KeyError, TypeError, ArithmeticError, RecursionError)


def printable(text: str) -> str:
    """One terminal line: control characters and unpaired surrogates escaped (`\\x1b`,
    `\\ud800`), so a field can neither forge a line nor move the cursor."""
    text = _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", text)
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "∞"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d{hours:02d}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s"


def _plus_minus(stderr: float | None, spec: str) -> str:
    """` ± e` for an uncertainty the alert carries (daemons before issue 5 send none)."""
    return "" if stderr is None else f" ± {stderr:{spec}}"


def format_alert(alert: Alert) -> str:
    hole = alert.hole_diameter_mm
    hole_text = (
        "-" if hole is None else f"{hole:.3f}{_plus_minus(alert.hole_diameter_stderr_mm, '.2g')} mm"
    )
    kg_per_day = alert.leak_rate_kg_per_day
    mass_text = "" if kg_per_day is None else f", {kg_per_day:.3g} kg/day"
    reserve_s = alert.reserve_time_s
    reserve_stderr_s = alert.reserve_time_stderr_s
    reserve_text = format_duration(reserve_s)
    if reserve_s is not None and reserve_stderr_s is not None:
        reserve_text += f" ± {format_duration(reserve_stderr_s)}"
    leak_stderr = _plus_minus(alert.leak_rate_stderr_pa_m3_per_s, ".2g")
    return (
        f"{alert.time} {alert.station}/{alert.zone} "
        f"{LEVEL_MARK[alert.level]} (was {alert.previous_level}) "
        f"P {alert.pressure_pa:.1f} Pa  "
        f"dP/dt {alert.dpdt_pa_per_s:+.4g} ± {alert.dpdt_stderr_pa_per_s:.2g} Pa/s  "
        f"leak {alert.leak_rate_pa_m3_per_s:.3g}{leak_stderr} Pa·m³/s "
        f"({alert.leak_rate_sccm:.3g} sccm{mass_text})  "
        f"hole {hole_text}  reserve {reserve_text}  "
        f"#{alert.seq} {alert.reason}"
    )


def run_watch(args: argparse.Namespace) -> int:
    if args.fleet:
        from .fleet_watch import watch_fleet

        return asyncio.run(watch_fleet(args, sys.stdout))
    return asyncio.run(_watch(args, sys.stdout))


def broker_session(args: argparse.Namespace) -> MqttSession:
    """The watch's connection: login, and TLS when a CA or client certificate is given."""
    tls_context = None
    if args.tls_ca or args.tls_cert:
        tls_context = ssl.create_default_context(cafile=args.tls_ca)
        if args.tls_cert:
            tls_context.load_cert_chain(args.tls_cert, args.tls_key)
    options = ConnectOptions(
        host=args.host,
        port=args.port,
        client_id=f"hullwatch-watch-{uuid.uuid4().hex[:12]}",
        keepalive_s=KEEPALIVE_S,
        connect_timeout_s=CONNECT_TIMEOUT_S,
        mqtt5=False,
        username=args.username,
        password=args.password,
        tls_context=tls_context,
    )
    return MqttSession(options, answer_timeout_s=CONNECT_TIMEOUT_S)


async def _watch(args: argparse.Namespace, out: TextIO) -> int:
    base = f"{args.prefix}/{args.station}"
    alerts_seen = 0
    try:
        async with broker_session(args) as session:
            await session.subscribe(f"{base}/status", qos=1)
            await session.subscribe(f"{base}/zones/+/alert", qos=1)
            async for message in session.messages():
                topic, payload = message.topic, message.payload
                if topic.endswith("/status"):
                    _print_status(topic, payload, args.json, out)
                    continue
                if _print_alert(topic, payload, args.json, out):
                    alerts_seen += 1
                    if args.count and alerts_seen >= args.count:
                        return ExitCode.OK
    except MqttError as exc:
        print(f"hullwatch watch: broker {args.host}:{args.port}: {exc}", file=sys.stderr)
        return ExitCode.UNAVAILABLE
    return ExitCode.OK


def _print_status(topic: str, payload: bytes, as_json: bool, out: TextIO) -> None:
    station = topic.split("/")[-2]
    state = payload.decode("utf-8", errors="replace")
    if as_json:  # json.dumps escapes every control and non-ASCII character
        print(json.dumps({"station": station, "status": state}), file=out, flush=True)
    else:
        print(printable(f"station {station}: {state}"), file=out, flush=True)


def _print_alert(topic: str, payload: bytes, as_json: bool, out: TextIO) -> bool:
    """Print one alert line (or JSON line); False, with a note on stderr, if it is malformed,
    and False without one if it is empty (a retained alert cleared: its zone was removed)."""
    if not payload:
        return False
    try:
        alert = parse_document(Alert, payload)
        # The fields the alert carried (an older daemon's lacks some); json.dumps writes
        # ASCII only, every control character escaped.
        fields = alert.model_dump(mode="json", exclude_unset=True)
        line = json.dumps(fields) if as_json else printable(format_alert(alert))
    except _MALFORMED as exc:
        reason = printable(f"{type(exc).__name__}: {exc}")[:200]
        print(
            printable(f"hullwatch watch: ignoring malformed alert on {topic}: ") + reason,
            file=sys.stderr,
            flush=True,
        )
        return False
    print(line, file=out, flush=True)
    return True
