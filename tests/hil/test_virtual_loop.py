"""The simulated-time event loop: sleeps cost no wall time, ordering and I/O are kept."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from hullwatch.hil.virtual_loop import run_simulated


def test_a_simulated_day_of_sleeps_takes_no_wall_time() -> None:
    async def main() -> float:
        loop = asyncio.get_running_loop()
        start = loop.time()
        for _ in range(24):
            await asyncio.sleep(3600)
        return loop.time() - start

    wall_start = time.monotonic()
    assert run_simulated(main()) == 86_400
    assert time.monotonic() - wall_start < 5


def test_concurrent_sleepers_wake_in_deadline_order() -> None:
    woke: list[tuple[float, str]] = []

    async def sleeper(name: str, period_s: float, count: int) -> None:
        loop = asyncio.get_running_loop()
        for _ in range(count):
            await asyncio.sleep(period_s)
            woke.append((round(loop.time(), 9), name))

    async def main() -> None:
        await asyncio.gather(sleeper("fast", 0.04, 25), sleeper("slow", 0.25, 4))

    run_simulated(main())
    times = [t for t, _ in woke]
    assert times == sorted(times)
    assert [t for t, name in woke if name == "slow"] == [0.25, 0.5, 0.75, 1.0]
    assert len([1 for _, name in woke if name == "fast"]) == 25


def test_unix_socket_traffic_flows_and_timeouts_are_simulated(tmp_path: Path) -> None:
    socket_path = tmp_path / "echo.sock"

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(await reader.readexactly(5))
        await writer.drain()
        writer.close()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(3600)

    async def main() -> tuple[bytes, float]:
        loop = asyncio.get_running_loop()
        server = await asyncio.start_unix_server(echo, path=str(socket_path))
        reader, writer = await asyncio.open_unix_connection(str(socket_path))
        writer.write(b"hello")
        answer = await reader.readexactly(5)
        writer.close()
        server.close()
        await server.wait_closed()
        quiet = await asyncio.start_unix_server(silent, path=str(tmp_path / "quiet.sock"))
        reader, writer = await asyncio.open_unix_connection(str(tmp_path / "quiet.sock"))
        start = loop.time()
        try:
            await asyncio.wait_for(reader.readexactly(1), timeout=0.5)
        except TimeoutError:
            waited = loop.time() - start
        writer.close()
        quiet.close()
        return answer, waited

    answer, waited = run_simulated(main())
    assert answer == b"hello"
    assert abs(waited - 0.5) < 1e-9
