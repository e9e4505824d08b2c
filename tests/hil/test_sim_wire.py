"""The simulated bus's wire format: what is encoded decodes to the same transfer."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hullwatch.drivers.transports.sim_wire import (
    LENGTH_HEADER_SIZE,
    Message,
    WireFormatError,
    decode_request,
    encode_request,
    frame_length,
)

messages = st.one_of(
    st.builds(Message.write, st.integers(0, 0x7F), st.binary(max_size=64)),
    st.builds(Message.read_of, st.integers(0, 0x7F), st.integers(0, 64)),
)


@given(st.lists(messages, min_size=1, max_size=8))
def test_round_trip(transfer: list[Message]) -> None:
    frame = encode_request(transfer)
    assert frame_length(frame[:LENGTH_HEADER_SIZE]) == len(frame) - LENGTH_HEADER_SIZE
    assert decode_request(frame[LENGTH_HEADER_SIZE:]) == transfer


@given(st.binary(max_size=40))
def test_garbage_is_refused_with_a_wire_error(payload: bytes) -> None:
    try:
        decode_request(payload)
    except WireFormatError:
        return
    # Rarely, random bytes form a valid request; it must then re-encode to itself.
    assert encode_request(decode_request(payload))[LENGTH_HEADER_SIZE:] == payload


def test_truncated_write_data_is_refused() -> None:
    frame = encode_request([Message.write(0x77, b"\x1b\x33")])
    with pytest.raises(WireFormatError, match="truncated"):
        decode_request(frame[LENGTH_HEADER_SIZE:-1])


def test_ten_bit_addresses_are_refused() -> None:
    with pytest.raises(WireFormatError, match="7-bit"):
        encode_request([Message.write(0x80, b"\x00")])
