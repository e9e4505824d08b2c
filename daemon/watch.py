"""`hullwatch watch`: follow alerts and station status on a broker, one line each."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any, TextIO

import aiomqtt

from .exit_codes import ExitCode

LEVEL_MARK = {"ok": "OK", "warning": "WARNING", "critical": "CRITICAL"}


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


def format_alert(alert: dict[str, Any]) -> str:
    hole = alert.get("hole_diameter_mm")
    hole_text = "-" if hole is None else f"{hole:.3f} mm"
    return (
        f"{alert['time']} {alert['station']}/{alert['zone']} "
        f"{LEVEL_MARK.get(alert['level'], alert['level'])} (was {alert['previous_level']}) "
        f"P {alert['pressure_pa']:.1f} Pa  "
        f"dP/dt {alert['dpdt_pa_per_s']:+.4g} ± {alert['dpdt_stderr_pa_per_s']:.2g} Pa/s  "
        f"leak {alert['leak_rate_pa_m3_per_s']:.3g} Pa·m³/s ({alert['leak_rate_sccm']:.3g} sccm)  "
        f"hole {hole_text}  reserve {format_duration(alert.get('reserve_time_s'))}  "
        f"#{alert['seq']} {alert['reason']}"
    )


def run_watch(args: argparse.Namespace) -> int:
    return asyncio.run(_watch(args, sys.stdout))


async def _watch(args: argparse.Namespace, out: TextIO) -> int:
    base = f"{args.prefix}/{args.station}"
    alerts_seen = 0
    try:
        async with aiomqtt.Client(
            args.host, args.port, username=args.username, password=args.password
        ) as client:
            await client.subscribe(f"{base}/status", qos=1)
            await client.subscribe(f"{base}/zones/+/alert", qos=1)
            async for message in client.messages:
                topic = str(message.topic)
                payload = message.payload if isinstance(message.payload, bytes) else b""
                if topic.endswith("/status"):
                    _print_status(topic, payload, args.json, out)
                    continue
                if _print_alert(topic, payload, args.json, out):
                    alerts_seen += 1
                    if args.count and alerts_seen >= args.count:
                        return ExitCode.OK
    except aiomqtt.MqttError as exc:
        print(f"hullwatch watch: broker {args.host}:{args.port}: {exc}", file=sys.stderr)
        return ExitCode.UNAVAILABLE
    return ExitCode.OK


def _print_status(topic: str, payload: bytes, as_json: bool, out: TextIO) -> None:
    station = topic.split("/")[-2]
    state = payload.decode("utf-8", errors="replace")
    if as_json:
        print(json.dumps({"station": station, "status": state}), file=out, flush=True)
    else:
        print(f"station {station}: {state}", file=out, flush=True)


def _print_alert(topic: str, payload: bytes, as_json: bool, out: TextIO) -> bool:
    try:
        alert = json.loads(payload)
        if not isinstance(alert, dict):
            raise ValueError("not a JSON object")
        line = json.dumps(alert) if as_json else format_alert(alert)
    except (ValueError, KeyError, TypeError) as exc:
        print(f"hullwatch watch: ignoring malformed alert on {topic}: {exc}", file=sys.stderr)
        return False
    print(line, file=out, flush=True)
    return True
