"""One MQTT connection on asyncio, over paho-mqtt 2.x's public API (docs/delivery.md,
"The MQTT boundary").

paho documents an "external event loop" interface: it tells us when its socket opens,
closes and has bytes to write (`on_socket_*` callbacks), and we call `loop_read`,
`loop_write` and `loop_misc` when the socket is ready or a second has passed. That is
all this module uses of paho, plus its documented callbacks for CONNACK, PUBACK and
disconnects, so the PUBACK's reason code (an MQTT 5 refusal) is ours to see, and its
manual acknowledgement (`manual_ack`, `ack`) for a subscriber that acknowledges a
message only once it has stored it (`hullwatch archive`).

Every failure is raised as a class from `mqtt_errors`, decided here from what the
library and the `ssl` module hand over (exception types, reason codes), never from
an error's text:

- `connect` runs paho's blocking connect (name lookup, TCP, TLS handshake, each
  bounded by `connect_timeout_s`) in a worker thread, so the event loop never waits
  for the network, then waits `connect_timeout_s` for the CONNACK.
- With TLS 1.3 a broker that refuses our client certificate says so with an alert
  after the handshake, which the first read meets; paho reports only "connection
  lost". Our SSL sockets (`SSLContext.sslsocket_class`, a documented hook) keep the
  `ssl.SSLError` a read or write raised, so the failure carries its real cause
  (`TLSV1_ALERT_UNKNOWN_CA`).
- Whatever paho logs goes to our structlog logger at debug level: the diagnosis is
  ours, once, as one line (`publisher`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ssl
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import paho.mqtt.client as paho
import structlog
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from .mqtt_errors import (
    BrokerHungUpError,
    BrokerUnreachableError,
    CertificateNotTrustedError,
    ConnectRefusedError,
    ConnectTimeoutError,
    LoginRefusedError,
    MqttError,
    NoAnswerError,
    PublishRefusedError,
    SessionLostError,
    SubscribeRefusedError,
    TlsError,
    TlsRefusedByBrokerError,
)

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

log = structlog.get_logger("hullwatch.mqtt")

# CONNACK reason codes retrying will not mend (MQTT 5 §3.2.2.2; paho maps the 3.1.1
# codes 2, 4 and 5 onto 0x85, 0x86 and 0x87): client id, user name or password,
# not authorised, banned, bad authentication method.
_LOGIN_REFUSED: Final = frozenset(range(0x85, 0x8D))
_MISC_INTERVAL_S: Final = 1.0  # paho's keepalive bookkeeping (PINGREQ, missing PINGRESP)


@dataclass(frozen=True)
class Will:
    topic: str
    payload: str
    qos: int = 1
    retain: bool = True


@dataclass(frozen=True)
class Message:
    topic: str
    payload: bytes
    retain: bool
    qos: int = 0
    mid: int = 0  # the packet id, which `MqttSession.ack` acknowledges (QoS 1 and 2)


@dataclass(frozen=True)
class ConnectOptions:
    host: str
    port: int
    client_id: str
    keepalive_s: int
    connect_timeout_s: float
    mqtt5: bool = True
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    will: Will | None = None
    tls_context: ssl.SSLContext | None = None
    # A session the broker keeps while we are away (MQTT 5 §3.1.2.4, §3.1.2.11.2): off
    # `clean_start` and a `session_expiry_s`, with the same client id next time.
    clean_start: bool = True
    session_expiry_s: int | None = None
    # MQTT 5 Receive Maximum (§3.1.2.11.3): QoS 1 and 2 messages the broker may send
    # before we acknowledge them.
    receive_maximum: int | None = None
    # Received QoS 1 and 2 messages are acknowledged only by `MqttSession.ack`, not
    # by paho as they arrive.
    manual_ack: bool = False


class _ErrorKeepingSSLSocket(ssl.SSLSocket):
    """An SSL socket that remembers the TLS error a read or write met; paho turns it into a
    bare "connection lost". The non-errors of a non-blocking socket and a clean or abrupt
    end of the stream are not kept: they are a hang-up, not a TLS failure."""

    tls_error: ssl.SSLError | None = None

    def recv(self, buflen: int = 1024, flags: int = 0) -> bytes:
        try:
            return super().recv(buflen, flags)
        except ssl.SSLError as error:
            self._keep(error)
            raise

    def send(self, data: ReadableBuffer, flags: int = 0) -> int:
        try:
            return super().send(data, flags)
        except ssl.SSLError as error:
            self._keep(error)
            raise

    def _keep(self, error: ssl.SSLError) -> None:
        ordinary = (
            ssl.SSLWantReadError,
            ssl.SSLWantWriteError,
            ssl.SSLZeroReturnError,
            ssl.SSLEOFError,
        )
        if not isinstance(error, ordinary) and self.tls_error is None:
            self.tls_error = error


class MqttSession:
    """One connection: `connect`, publish at QoS 1 (returning once the broker accepted the
    message) or QoS 0, subscribe and receive, `lost` when it ends, `disconnect`. Not
    reusable: a new connection is a new session. Use from one event loop.

    Received messages go to `messages()`, or, given `on_message`, straight to it on the
    event loop's thread as each arrives (no task or loop turn per message: a busy
    subscriber's time, docs/fleet.md "Measured")."""

    def __init__(
        self,
        options: ConnectOptions,
        *,
        answer_timeout_s: float,
        on_message: Callable[[Message], None] | None = None,
    ) -> None:
        self._options = options
        self._deliver = on_message if on_message is not None else self._received_put
        self._answer_timeout_s = answer_timeout_s
        self._client = self._new_client()
        self._loop: asyncio.AbstractEventLoop | None = None
        # Results, not exceptions: nobody may be waiting when the session ends.
        self._connack: asyncio.Future[MqttError | None] | None = None
        self._ended: asyncio.Future[MqttError | None] | None = None
        self._acks: dict[int, asyncio.Future[ReasonCode | MqttError]] = {}
        self._subacks: dict[int, asyncio.Future[list[ReasonCode] | MqttError]] = {}
        self._received: asyncio.Queue[Message] = asyncio.Queue()
        self._misc: asyncio.Task[None] | None = None
        self._disconnecting = False
        # Set by paho's connect in a worker thread, closed from the loop: under the lock.
        self._lock = threading.Lock()
        self._socket: Any = None
        self._fd = -1
        self._abandoned = False
        self._watching = False
        self._tls_socket: _ErrorKeepingSSLSocket | None = None

    async def __aenter__(self) -> MqttSession:
        await self.connect()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.disconnect()

    # --- connecting ---------------------------------------------------------------------

    async def connect(self) -> None:
        """Until the broker accepted the connection; raises a `ConnectError` otherwise."""
        loop = self._loop = asyncio.get_running_loop()
        self._connack = loop.create_future()
        self._ended = loop.create_future()
        try:
            await self._open_connection(loop)
            self._watch()
            try:
                async with asyncio.timeout(self._options.connect_timeout_s):
                    refusal = await self._connack
            except TimeoutError:
                raise ConnectTimeoutError(
                    f"no CONNACK within {self._options.connect_timeout_s} s"
                ) from None
            if refusal is not None:
                raise refusal
        except BaseException:
            self._close_socket()
            raise
        self._misc = asyncio.create_task(self._tick())

    async def _open_connection(self, loop: asyncio.AbstractEventLoop) -> None:
        o = self._options
        connect = functools.partial(
            self._client.connect, o.host, o.port, o.keepalive_s, **self._mqtt5_connect_arguments()
        )
        connecting = loop.run_in_executor(None, connect)
        try:
            result = await connecting
        except asyncio.CancelledError:
            self._close_socket()  # and the socket the worker may still open is closed too
            raise
        except ssl.SSLCertVerificationError as error:
            message = "the broker's certificate is not trusted"
            raise CertificateNotTrustedError(message, error) from error
        except ssl.SSLError as error:
            raise TlsError("the TLS handshake with the broker failed", error) from error
        except TimeoutError as error:
            raise ConnectTimeoutError(f"no connection within {o.connect_timeout_s} s") from error
        except (OSError, ValueError) as error:  # refused, no route, no such host, bad port
            raise BrokerUnreachableError(str(error) or type(error).__name__) from error
        if result != MQTTErrorCode.MQTT_ERR_SUCCESS:
            raise BrokerUnreachableError(paho.error_string(result))

    def _mqtt5_connect_arguments(self) -> dict[str, Any]:
        """`clean_start` and the CONNECT properties, which paho takes for MQTT 5 only."""
        o = self._options
        if not o.mqtt5:
            return {}
        properties: Properties | None = None
        if o.session_expiry_s is not None or o.receive_maximum is not None:
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            if o.session_expiry_s is not None:
                properties.SessionExpiryInterval = o.session_expiry_s
            if o.receive_maximum is not None:
                properties.ReceiveMaximum = o.receive_maximum
        return {"clean_start": o.clean_start, "properties": properties}

    def _new_client(self) -> paho.Client:
        o = self._options
        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=o.client_id,
            protocol=MQTTProtocolVersion.MQTTv5 if o.mqtt5 else MQTTProtocolVersion.MQTTv311,
            manual_ack=o.manual_ack,
        )
        client.connect_timeout = o.connect_timeout_s
        if o.username is not None:
            client.username_pw_set(o.username, o.password)
        if o.will is not None:
            client.will_set(o.will.topic, o.will.payload, o.will.qos, o.will.retain)
        if o.tls_context is not None:
            o.tls_context.sslsocket_class = _ErrorKeepingSSLSocket
            client.tls_set_context(o.tls_context)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        client.on_log = self._on_log
        client.on_socket_open = self._on_socket_open
        client.on_socket_close = self._on_socket_close
        client.on_socket_register_write = self._on_socket_register_write
        client.on_socket_unregister_write = self._on_socket_unregister_write
        return client

    # --- publishing ---------------------------------------------------------------------

    async def publish_acknowledged(self, topic: str, payload: str, *, retain: bool) -> None:
        """QoS 1: returns once the broker acknowledged the message and did not refuse it
        (`PublishRefusedError` for an MQTT 5 PUBACK with a failure code)."""
        code = await self._publish(topic, payload, qos=1, retain=retain)
        if code.is_failure:
            raise PublishRefusedError(topic, str(code), int(code.value))

    async def publish(self, topic: str, payload: str) -> None:
        """QoS 0, not retained: returns once the message is written to the socket."""
        await self._publish(topic, payload, qos=0, retain=False)

    async def _publish(self, topic: str, payload: str, *, qos: int, retain: bool) -> ReasonCode:
        if self._ended is None or self._loop is None:
            raise SessionLostError("not connected")
        if self._ended.done():
            raise self._ended.result() or SessionLostError("disconnected")
        info = self._client.publish(topic, payload, qos, retain)
        if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            raise SessionLostError(f"could not publish to {topic}: {paho.error_string(info.rc)}")
        acknowledged: asyncio.Future[ReasonCode | MqttError] = self._loop.create_future()
        self._acks[info.mid] = acknowledged
        try:
            async with asyncio.timeout(self._answer_timeout_s):
                answer = await acknowledged
        except TimeoutError:
            raise NoAnswerError(
                f"the broker did not acknowledge a publish to {topic} "
                f"within {self._answer_timeout_s} s"
            ) from None
        finally:
            self._acks.pop(info.mid, None)
        if isinstance(answer, MqttError):
            raise answer
        return answer

    # --- receiving -----------------------------------------------------------------------

    async def subscribe(self, topic_filter: str, *, qos: int) -> None:
        """Returns once the broker granted the subscription (`SubscribeRefusedError` if not)."""
        if self._ended is None or self._loop is None or self._ended.done():
            raise SessionLostError("not connected")
        result, mid = self._client.subscribe(topic_filter, qos)
        if result != MQTTErrorCode.MQTT_ERR_SUCCESS or mid is None:
            raise SessionLostError(f"could not subscribe: {paho.error_string(result)}")
        granted: asyncio.Future[list[ReasonCode] | MqttError] = self._loop.create_future()
        self._subacks[mid] = granted
        try:
            async with asyncio.timeout(self._answer_timeout_s):
                answer = await granted
        except TimeoutError:
            raise NoAnswerError(f"no SUBACK within {self._answer_timeout_s} s") from None
        finally:
            self._subacks.pop(mid, None)
        if isinstance(answer, MqttError):
            raise answer
        for code in answer:
            if code.is_failure:
                raise SubscribeRefusedError(topic_filter, str(code), int(code.value))

    def ack(self, message: Message) -> bool:
        """Acknowledge a QoS 1 or 2 message received with `manual_ack` (MQTT 5 §4.6: in the
        order they arrived); whether it was. Not for QoS 0, nor once the session has
        ended: the packet id means nothing on another connection, and the broker sends
        the message again."""
        ended = self._ended is None or self._ended.done()
        if not self._options.manual_ack or message.qos == 0 or ended:
            return False
        return self._client.ack(message.mid, message.qos) == MQTTErrorCode.MQTT_ERR_SUCCESS

    async def messages(self) -> AsyncIterator[Message]:
        """The messages received, in order; raises the session's end when it ends."""
        while True:
            if not self._received.empty():
                yield self._received.get_nowait()
                continue
            if self._ended is None:
                raise SessionLostError("not connected")
            arrival = asyncio.ensure_future(self._received.get())
            either: list[asyncio.Future[Any]] = [arrival, self._ended]
            try:
                await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
            finally:
                arrival.cancel()
            if arrival.done() and not arrival.cancelled():
                yield arrival.result()
            elif self._ended.done():
                raise self._ended.result() or SessionLostError("disconnected")

    # --- ending -------------------------------------------------------------------------

    async def lost(self) -> MqttError:
        """Waits until the session ends, and returns why (a clean disconnect: SessionLostError)."""
        if self._ended is None:
            return SessionLostError("not connected")
        return await asyncio.shield(self._ended) or SessionLostError("disconnected")

    async def disconnect(self) -> None:
        """A DISCONNECT if the session still stands (waiting at most `connect_timeout_s` for
        it to be written), then the socket is closed in any case."""
        try:
            if self._ended is not None and not self._ended.done():
                self._disconnecting = True
                self._client.disconnect()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._options.connect_timeout_s):
                        await asyncio.shield(self._ended)
        finally:
            self._close_socket()
            if self._misc is not None:
                self._misc.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._misc

    def _end(self, error: MqttError | None) -> None:
        if self._ended is not None and not self._ended.done():
            self._ended.set_result(error)
        failure = error or SessionLostError("disconnected")
        if self._connack is not None and not self._connack.done():
            self._connack.set_result(failure)
        for acknowledged in self._acks.values():
            if not acknowledged.done():
                acknowledged.set_result(failure)
        for granted in self._subacks.values():
            if not granted.done():
                granted.set_result(failure)

    def _close_socket(self) -> None:
        """Close the socket now, whoever opened it: also one a cancelled connect is still
        opening in its worker thread (`_on_socket_open` closes that one)."""
        with self._lock:
            sock, self._socket, self._abandoned = self._socket, None, True
            watching, self._watching = self._watching, False
        if sock is None:
            return
        if watching and self._loop is not None:
            self._loop.remove_reader(self._fd)
            self._loop.remove_writer(self._fd)
        sock.close()
        self._end(SessionLostError("connection closed"))

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(_MISC_INTERVAL_S)
            if self._client.loop_misc() != MQTTErrorCode.MQTT_ERR_SUCCESS:
                return

    # --- the socket, watched by the event loop -----------------------------------------

    def _watch(self) -> None:
        with self._lock:
            sock = self._socket
            if sock is None or self._loop is None:
                raise BrokerHungUpError("the connection closed while it was being made")
            self._fd = sock.fileno()
            self._watching = True
        self._loop.add_reader(self._fd, self._on_readable)
        if self._client.want_write():
            self._loop.add_writer(self._fd, self._on_writable)

    def _on_readable(self) -> None:
        try:
            self._client.loop_read()
        except Exception as error:  # paho raises on a malformed packet
            self._end(SessionLostError(f"reading from the broker failed: {error!r}"))
            self._close_socket()

    def _on_writable(self) -> None:
        try:
            self._client.loop_write()
        except Exception as error:
            self._end(SessionLostError(f"writing to the broker failed: {error!r}"))
            self._close_socket()

    def _on_socket_open(self, _client: paho.Client, _userdata: Any, sock: Any) -> None:
        # Called in the connect's worker thread.
        with self._lock:
            if self._abandoned:
                sock.close()
                return
            self._socket = sock
            if isinstance(sock, _ErrorKeepingSSLSocket):
                self._tls_socket = sock

    def _on_socket_close(self, _client: paho.Client, _userdata: Any, _sock: Any) -> None:
        with self._lock:
            watching, self._watching = self._watching, False
            self._socket = None
        if watching and self._loop is not None:
            self._loop.remove_reader(self._fd)
            self._loop.remove_writer(self._fd)

    def _on_socket_register_write(self, _client: paho.Client, _userdata: Any, _sock: Any) -> None:
        # Before `_watch` (in the connect's worker thread) it is ignored: `_watch` asks
        # `want_write` itself.
        if self._watching and self._loop is not None:
            self._loop.add_writer(self._fd, self._on_writable)

    def _on_socket_unregister_write(self, _client: paho.Client, _userdata: Any, _sock: Any) -> None:
        if self._watching and self._loop is not None:
            self._loop.remove_writer(self._fd)

    # --- paho's callbacks (on the loop's thread: inside loop_read/loop_write/loop_misc) --

    def _on_connect(
        self,
        _client: paho.Client,
        _userdata: Any,
        _flags: paho.ConnectFlags,
        reason_code: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        if self._connack is None or self._connack.done():
            return
        if not reason_code.is_failure:
            self._connack.set_result(None)
            return
        code = int(reason_code.value)
        refused = LoginRefusedError if code in _LOGIN_REFUSED else ConnectRefusedError
        self._connack.set_result(refused(str(reason_code), code))

    def _on_disconnect(
        self,
        _client: paho.Client,
        _userdata: Any,
        _flags: paho.DisconnectFlags,
        reason_code: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        if self._disconnecting:
            self._end(None)
            return
        tls_error = self._tls_socket.tls_error if self._tls_socket is not None else None
        accepted = self._connack is not None and self._connack.done()
        if tls_error is not None:
            when = "the connection" if accepted else "the connection before accepting it"
            self._end(TlsRefusedByBrokerError(f"the broker ended TLS on {when}", tls_error))
        elif not accepted:
            self._end(BrokerHungUpError("the broker closed the connection before its CONNACK"))
        else:
            self._end(SessionLostError(f"the connection to the broker was lost: {reason_code}"))

    def _on_publish(
        self,
        _client: paho.Client,
        _userdata: Any,
        mid: int,
        reason_code: ReasonCode,
        _properties: Properties,
    ) -> None:
        acknowledged = self._acks.get(mid)
        if acknowledged is not None and not acknowledged.done():
            acknowledged.set_result(reason_code)

    def _on_subscribe(
        self,
        _client: paho.Client,
        _userdata: Any,
        mid: int,
        reason_codes: list[ReasonCode],
        _properties: Properties | None,
    ) -> None:
        granted = self._subacks.get(mid)
        if granted is not None and not granted.done():
            granted.set_result(reason_codes)

    def _on_message(self, _client: paho.Client, _userdata: Any, message: paho.MQTTMessage) -> None:
        payload = bytes(message.payload)
        self._deliver(Message(message.topic, payload, message.retain, message.qos, message.mid))

    def _received_put(self, message: Message) -> None:
        self._received.put_nowait(message)

    @staticmethod
    def _on_log(_client: paho.Client, _userdata: Any, level: int, message: str) -> None:
        log.debug("mqtt library", paho_level=level, message=message)
