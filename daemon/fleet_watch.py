"""The connection and output loop of `hullwatch watch --fleet` (the picture: fleet_view)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any, TextIO

from .delivery.mqtt_errors import MqttError
from .delivery.mqtt_session import MqttSession
from .exit_codes import ExitCode
from .fleet_view import FleetState, plain_line, render_table
from .watch import broker_session

REFRESH_INTERVAL_S = 0.5  # a terminal redraw at most this often, however busy the fleet


async def watch_fleet(args: argparse.Namespace, out: TextIO) -> int:
    state = FleetState(args.prefix)
    live = _live_display(out) if out.isatty() else None
    try:
        async with broker_session(args) as client:
            base = f"{args.prefix}/{args.station}"
            for topic in ("status", "zones/+/alert", "sensors/+/health"):
                await client.subscribe(f"{base}/{topic}", qos=1)
            if live is None:
                return await _print_changes(client, state, out, args.count)
            with live:
                return await _refresh_in_place(client, state, live)
    except MqttError as exc:
        print(f"hullwatch watch: broker {args.host}:{args.port}: {exc}", file=sys.stderr)
        return ExitCode.UNAVAILABLE


def _live_display(out: TextIO) -> Any:
    """rich's Live display on `out`, or None (plain lines) without the `fleet` extra."""
    try:
        from rich.console import Console
        from rich.live import Live
    except ImportError:
        print(
            "hullwatch watch: rich is not installed (pip install 'hullwatch[fleet]'): "
            "printing plain lines",
            file=sys.stderr,
        )
        return None
    return Live(console=Console(file=out), auto_refresh=False, screen=False)


async def _print_changes(client: MqttSession, state: FleetState, out: TextIO, count: int) -> int:
    """One line per station each time its picture changes; after `count` lines (0: never)."""
    printed = 0
    async for message in client.messages():
        view = state.update(message.topic, message.payload)
        if view is None:
            continue
        print(plain_line(view), file=out, flush=True)
        printed += 1
        if count and printed >= count:
            break
    return ExitCode.OK


async def _refresh_in_place(client: MqttSession, state: FleetState, live: Any) -> int:
    changed = asyncio.Event()

    async def redraw() -> None:
        while True:
            await changed.wait()
            changed.clear()
            live.update(render_table(state), refresh=True)
            await asyncio.sleep(REFRESH_INTERVAL_S)

    live.update(render_table(state), refresh=True)
    redrawing = asyncio.create_task(redraw())
    try:
        async for message in client.messages():
            if state.update(message.topic, message.payload) is not None:
                changed.set()
    finally:
        redrawing.cancel()
    return ExitCode.OK
