"""Wire format of the simulated I2C bus served on a local (Unix) socket.

One request carries one combined I2C transfer, exactly what Linux's
`I2C_RDWR` ioctl carries: a list of messages, each a write of some bytes or a
read of some length, to a 7-bit address, with repeated STARTs between them.

    request  = u16 length (big-endian) | payload
    payload  = u8 version (1) | u8 message count | message...
    message  = u8 address | u8 flags (bit 0: read) | u16 length | data (writes only)
    response = u16 length | u8 status | read data of every read message, in order

`status` is 0 on success or a Linux errno (ENXIO/EREMOTEIO for a NACK, EIO
for a bus error), so the client can raise what an I2C adapter would.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

WIRE_VERSION = 1
FLAG_READ = 0x01
MAX_MESSAGES = 42  # I2C_RDWR_IOCTL_MAX_MSGS in linux/i2c-dev.h
MAX_MESSAGE_LENGTH = 8192  # a single i2c_msg length is u16; we refuse absurd ones earlier

_LENGTH = struct.Struct(">H")
_HEADER = struct.Struct(">BB")
_MESSAGE = struct.Struct(">BBH")


class WireFormatError(ValueError):
    """A frame that does not follow the format above."""


@dataclass(frozen=True, slots=True)
class Message:
    """One message of a combined transfer."""

    address: int
    read: bool
    data: bytes = b""  # what to write (writes only)
    length: int = 0  # how much to read (reads only)

    @classmethod
    def write(cls, address: int, data: bytes) -> Message:
        return cls(address=address, read=False, data=bytes(data), length=len(data))

    @classmethod
    def read_of(cls, address: int, length: int) -> Message:
        return cls(address=address, read=True, length=length)


def encode_request(messages: list[Message]) -> bytes:
    if not 1 <= len(messages) <= MAX_MESSAGES:
        raise WireFormatError(f"a transfer holds 1..{MAX_MESSAGES} messages, got {len(messages)}")
    parts = [_HEADER.pack(WIRE_VERSION, len(messages))]
    for message in messages:
        if not 0 <= message.address <= 0x7F:
            raise WireFormatError(f"I2C address 0x{message.address:x} is not a 7-bit address")
        if not 0 <= message.length <= MAX_MESSAGE_LENGTH:
            raise WireFormatError(f"message length {message.length} out of 0..{MAX_MESSAGE_LENGTH}")
        flags = FLAG_READ if message.read else 0
        parts.append(_MESSAGE.pack(message.address, flags, message.length))
        if not message.read:
            parts.append(message.data)
    payload = b"".join(parts)
    return _LENGTH.pack(len(payload)) + payload


def decode_request(payload: bytes) -> list[Message]:
    if len(payload) < _HEADER.size:
        raise WireFormatError("request shorter than its header")
    version, count = _HEADER.unpack_from(payload, 0)
    if version != WIRE_VERSION:
        raise WireFormatError(f"unsupported wire version {version}, expected {WIRE_VERSION}")
    if not 1 <= count <= MAX_MESSAGES:
        raise WireFormatError(f"message count {count} out of 1..{MAX_MESSAGES}")
    offset = _HEADER.size
    messages = []
    for _ in range(count):
        if offset + _MESSAGE.size > len(payload):
            raise WireFormatError("request truncated inside a message header")
        address, flags, length = _MESSAGE.unpack_from(payload, offset)
        offset += _MESSAGE.size
        if address > 0x7F or length > MAX_MESSAGE_LENGTH:
            raise WireFormatError(f"bad message: address 0x{address:x}, length {length}")
        if flags & FLAG_READ:
            messages.append(Message.read_of(address, length))
        else:
            data = payload[offset : offset + length]
            if len(data) != length:
                raise WireFormatError("request truncated inside write data")
            offset += length
            messages.append(Message.write(address, data))
    if offset != len(payload):
        raise WireFormatError(f"{len(payload) - offset} stray bytes after the last message")
    return messages


def encode_response(status: int, data: bytes = b"") -> bytes:
    payload = bytes([status]) + data
    return _LENGTH.pack(len(payload)) + payload


def decode_response(payload: bytes) -> tuple[int, bytes]:
    if not payload:
        raise WireFormatError("empty response")
    return payload[0], payload[1:]


def frame_length(header: bytes) -> int:
    """Length of the payload that follows a 2-byte length header."""
    (length,) = _LENGTH.unpack(header)
    return int(length)


LENGTH_HEADER_SIZE = _LENGTH.size
