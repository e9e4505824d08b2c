"""A Vaisala PTB330 on a serial line, polled with SEND, as a `PressureSensor`.

`initialise` puts the instrument into a known state whatever it was left in:
S (ends RUN-mode output) and SMODE STOP on a point-to-point RS-232 line, or
`OPEN aa` ... CLOSE around the configuration on an RS-485 bus in POLL mode
(the instrument stays in POLL mode for the other devices on the bus); then
ECHO OFF, UNIT hPa, FORM, VERS to identify it, and one SEND whose reply must
parse, which proves that the format took. Configuration replies differ
between firmware versions (and carry echo and prompts while ECHO is still
on), so they are collected until the line goes quiet and only the VERS and
SEND replies are interpreted.
"""

from __future__ import annotations

from typing import Final

from hullwatch.drivers.errors import BusTimeoutError, MeasurementError, WrongChipError
from hullwatch.drivers.sensor import Reading
from hullwatch.drivers.transports.serial_port import Parity, SerialLine, SerialSettings

from .protocol import (
    CLOSE_COMMAND,
    COMMAND_TERMINATOR,
    DEFAULT_BAUDRATE,
    DEFAULT_BYTESIZE,
    DEFAULT_PARITY,
    DEFAULT_STOPBITS,
    ECHO_OFF_COMMAND,
    FORM_COMMAND,
    REPLY_TERMINATOR,
    STOP_MODE_COMMAND,
    STOP_OUTPUT_COMMAND,
    SUPPORTED_MODEL_PREFIX,
    UNIT_COMMAND,
    VERSION_COMMAND,
    PtbIdentity,
    PtbResponseError,
    check_address,
    check_range,
    open_command,
    parse_identity,
    parse_measurement,
    send_command,
)

# A configuration reply is complete when the line stays quiet this long: a
# 40-character line takes 83 ms at 4800 baud 7E1.
DEFAULT_QUIET_S: Final = 0.3
# A SEND reply line is at most a few dozen characters; anything longer is noise.
MAX_REPLY_BYTES: Final = 128
# The daemon asks with one SEND at a time; the reply takes ~70 ms at 4800 baud 7E1,
# and the instrument measures at most 10 times a second (protocol.py, specifications).
MAX_POLL_RATE_HZ: Final = 4.0


def ptb_serial_settings(
    port: str,
    *,
    baudrate: int = DEFAULT_BAUDRATE,
    bytesize: int = DEFAULT_BYTESIZE,
    parity: Parity = DEFAULT_PARITY,
    stopbits: float = DEFAULT_STOPBITS,
    timeout_s: float = 1.0,
) -> SerialSettings:
    """Serial settings for a PTB330: 4800 E 7 1 unless told otherwise, CR out, CR LF in."""
    return SerialSettings(
        port=port,
        baudrate=baudrate,
        bytesize=bytesize,
        parity=parity,
        stopbits=stopbits,
        terminator=REPLY_TERMINATOR,
        write_terminator=COMMAND_TERMINATOR,
        timeout_s=timeout_s,
        max_line_bytes=MAX_REPLY_BYTES,
    )


class PtbSensor:
    """One PTB330, alone on its line (`address=None`) or addressed on an RS-485 bus."""

    def __init__(
        self,
        line: SerialLine,
        *,
        address: int | None = None,
        quiet_s: float = DEFAULT_QUIET_S,
        response_timeout_s: float | None = None,
    ) -> None:
        if address is not None:
            check_address(address)
        if not quiet_s > 0:
            raise ValueError(f"quiet period must be positive, got {quiet_s}")
        self._line = line
        self._address = address
        self._quiet_s = quiet_s
        self._response_timeout_s = response_timeout_s
        self._identity: PtbIdentity | None = None
        self._ready = False

    @property
    def description(self) -> str:
        who = (
            f"Vaisala {self._identity.model} {self._identity.version}"
            if self._identity is not None
            else "Vaisala PTB330"
        )
        where = f" at address {self._address}" if self._address is not None else ""
        return f"{who}{where} on {self._line.name}"

    @property
    def identity(self) -> PtbIdentity:
        """Model and software version found by `initialise`."""
        if self._identity is None:
            raise RuntimeError(f"{self.description}: call initialise() first")
        return self._identity

    async def initialise(self) -> None:
        self._ready = False
        self._identity = None
        await self._line.open()
        if self._address is None:
            await self._command(STOP_OUTPUT_COMMAND)
            await self._command(STOP_MODE_COMMAND)
        elif not await self._command(open_command(self._address)):
            raise BusTimeoutError(
                f"no answer to OPEN {self._address}: check the instrument's address "
                "(ADDR), POLL mode and the serial settings",
                bus=self._line.name,
            )
        try:
            await self._command(ECHO_OFF_COMMAND)
            await self._command(UNIT_COMMAND)
            await self._command(FORM_COMMAND)
            identity = self._identify(await self._command(VERSION_COMMAND))
        finally:
            if self._address is not None:
                await self._command(CLOSE_COMMAND)
        self._identity = identity
        await self._poll()  # the format took, and SEND reaches this instrument
        self._ready = True

    async def read(self) -> Reading:
        """One SEND: the instrument's current reading (never None: every poll is fresh)."""
        if not self._ready:
            raise RuntimeError(f"{self.description}: call initialise() first")
        return await self._poll()

    async def _poll(self) -> Reading:
        raw = await self._line.request(send_command(self._address), self._response_timeout_s)
        try:
            return check_range(parse_measurement(raw))
        except MeasurementError as exc:
            raise type(exc)(exc.message, bus=self._line.name) from exc

    async def _command(self, command: str) -> list[bytes]:
        return await self._line.request_lines(command, quiet_s=self._quiet_s)

    def _identify(self, lines: list[bytes]) -> PtbIdentity:
        if not lines:
            hint = "" if self._address is not None else "; in POLL mode, give its address"
            raise BusTimeoutError(
                f"no answer to VERS: check the cable and the serial settings{hint}",
                bus=self._line.name,
            )
        for raw in lines:
            try:
                identity = parse_identity(raw)
            except PtbResponseError:
                continue
            if not identity.model.startswith(SUPPORTED_MODEL_PREFIX):
                raise WrongChipError(
                    f"expected a {SUPPORTED_MODEL_PREFIX}, got {identity.model} "
                    f"(software {identity.version})",
                    bus=self._line.name,
                )
            return identity
        shown = ", ".join(repr(raw) for raw in lines[:3])
        raise PtbResponseError(
            f"expected '{SUPPORTED_MODEL_PREFIX} / <version>' from VERS, got {shown}",
            bus=self._line.name,
        )
