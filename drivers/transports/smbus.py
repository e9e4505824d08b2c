"""I2C transport on a Linux i2c-dev node (`/dev/i2c-N`) through smbus2.

smbus2 is blocking, so every transfer runs on a single worker thread owned by
this bus: transfers stay in order, one at a time, and the event loop never
waits on the kernel.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import errno as errno_codes

from smbus2 import SMBus, i2c_msg

from ..errors import BusError, BusTimeoutError


class Smbus2Bus:
    """An `I2CBus` on `/dev/i2c-N`."""

    def __init__(self, device_path: str, *, timeout_s: float = 1.0) -> None:
        self._device_path = device_path
        self._timeout_s = timeout_s
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=f"i2c:{device_path}"
        )
        self._smbus: SMBus | None = None
        self._lock = asyncio.Lock()

    @property
    def name(self) -> str:
        return self._device_path

    async def write(self, address: int, data: bytes) -> None:
        await self._run(address, [i2c_msg.write(address, bytes(data))])

    async def write_read(self, address: int, data: bytes, read_length: int) -> bytes:
        read = i2c_msg.read(address, read_length)
        await self._run(address, [i2c_msg.write(address, bytes(data)), read])
        return bytes(read)

    async def close(self) -> None:
        async with self._lock:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self._executor, self._close_device)
        self._executor.shutdown(wait=False)

    async def _run(self, address: int, messages: list[i2c_msg]) -> None:
        loop = asyncio.get_running_loop()
        async with self._lock:
            future = loop.run_in_executor(self._executor, self._rdwr, messages)
            try:
                # asyncio.timeout, not wait_for, which on 3.11 can swallow a cancellation.
                async with asyncio.timeout(self._timeout_s):
                    await future
            except TimeoutError as exc:
                raise BusTimeoutError(
                    f"I2C transfer did not finish within {self._timeout_s} s",
                    bus=self.name,
                    address=address,
                    errno=errno_codes.ETIMEDOUT,
                ) from exc
            except OSError as exc:
                # After ENODEV/ENOENT the adapter is gone (USB adapter unplugged);
                # re-open on the next transfer.
                if exc.errno in (errno_codes.ENODEV, errno_codes.ENOENT, errno_codes.EBADF):
                    await loop.run_in_executor(self._executor, self._close_device)
                raise BusError(
                    f"I2C transfer failed: {exc.strerror or exc}",
                    bus=self.name,
                    address=address,
                    errno=exc.errno,
                ) from exc

    def _rdwr(self, messages: list[i2c_msg]) -> None:
        if self._smbus is None:
            self._smbus = SMBus(self._device_path)
        self._smbus.i2c_rdwr(*messages)

    def _close_device(self) -> None:
        if self._smbus is not None:
            self._smbus.close()
            self._smbus = None
