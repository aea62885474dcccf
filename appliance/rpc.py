"""Request/response over MQTT v5: devices call the hub on `rpc/{caller_id}/{method}`.

The reply goes to the request's Response Topic with its Correlation Data copied, so any v5 client
(including `mosquitto_rr -e .../devices/{caller_id}/replies`) can call; the server answers only on
the caller's own reply topic and drops a request naming any other.
Replies are `{"v":1,"ok":true,"result":{...}}` or
`{"v":1,"ok":false,"error":{"code","message","message_en"}}`; the code is an i18n key.

The server runs handlers on a thread pool, never on paho's network thread: the hub's handlers wait
for a durable SQLite commit, and a blocked network thread would stall every other message and the
keep-alive. The client sets a Message Expiry Interval equal to its timeout so that a request the
caller has given up on (hub offline) is dropped by the broker instead of issuing a ticket nobody
waits for.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal, Self

import pydantic
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from .errors import MotcuaError
from .i18n import message as i18n_message
from .mqtt import (
    DEFAULT_MAX_PAYLOAD,
    PROTOCOL_VERSION,
    Link,
    Message,
    PayloadError,
    check_version,
    decode_json,
    encode_json,
)

__all__ = ["Admission", "Refusal", "RpcClient", "RpcError", "RpcRequest", "RpcServer", "RpcTimeout"]

log = logging.getLogger(__name__)

Language = Literal["vi", "en"]
RESERVED_KEYS = frozenset({"v", "request_id", "lang", "language"})


class RpcError(MotcuaError):
    """An RPC failed in a way the caller can show: `message` is in the requested language
    (Vietnamese by default), `message_en` in English, `code` a stable i18n key."""

    def __init__(
        self, code: str, message: str, message_en: str = "", details: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(f"{code}: {message_en or message}")
        self.code = code
        self.message = message
        self.message_en = message_en
        self.details: dict[str, Any] = dict(details or {})

    @classmethod
    def from_key(cls, code: str, language: Language = "vi", **values: object) -> RpcError:
        """The catalogue message for `code`; `values` fill its placeholders and become `details`."""
        return cls(
            code,
            i18n_message(code, language, **values),
            i18n_message(code, "en", **values),
            {key: value for key, value in values.items() if isinstance(value, str | int | float | bool)},
        )

    @classmethod
    def from_payload(cls, error: Mapping[str, Any]) -> RpcError:
        """Rebuild an error received in a reply (the inverse of to_payload)."""
        code = str(error.get("code") or "internal")
        details = error.get("details")
        error_class = RpcTimeout if code == "timeout" else RpcError
        return error_class(
            code,
            str(error.get("message") or ""),
            str(error.get("message_en") or ""),
            details if isinstance(details, dict) else None,
        )

    def to_payload(self) -> dict[str, Any]:
        """The `error` object of a reply."""
        payload: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.message_en:
            payload["message_en"] = self.message_en
        if self.details:
            payload["details"] = self.details
        return payload


class RpcTimeout(RpcError, TimeoutError):
    """No reply within the timeout. The request may still have been carried out: retry with the
    same request_id to get its answer without doing it twice."""

    def __init__(
        self,
        code: str = "timeout",
        message: str = "",
        message_en: str = "",
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(
            code,
            message or i18n_message("timeout", "vi"),
            message_en or i18n_message("timeout", "en"),
            details,
        )


@dataclass(frozen=True)
class RpcRequest:
    """One validated request. `params` is the payload without v, request_id, lang and language."""

    caller_id: str
    method: str
    params: dict[str, Any] = field(default_factory=dict)
    request_id: str | None = None
    language: Language = "vi"


RpcHandler = Callable[[RpcRequest], Mapping[str, Any] | pydantic.BaseModel | None]


def _language(payload: Mapping[str, Any]) -> Language:
    chosen = payload.get("lang", payload.get("language"))
    return "en" if chosen == "en" else "vi"


def _payload_error(error: PayloadError, language: Language) -> RpcError:
    return RpcError(
        error.code,
        i18n_message(error.message_key, language, **error.values),
        i18n_message(error.message_key, "en", **error.values),
    )


def _result_payload(result: Mapping[str, Any] | pydantic.BaseModel | None) -> dict[str, Any]:
    if result is None:
        return {}
    if isinstance(result, pydantic.BaseModel):
        return result.model_dump(mode="json")
    if isinstance(result, Mapping):
        return dict(result)
    raise TypeError(f"an RPC handler returned {type(result).__name__}, not a mapping, a model or None")


def _error_reply(error: RpcError) -> dict[str, Any]:
    return {"v": PROTOCOL_VERSION, "ok": False, "error": error.to_payload()}


# --------------------------------------------------------------------------- server


@dataclass(frozen=True)
class Refusal:
    """An admission check's "no": the error code (an i18n key) and whether to answer at all.

    `answer=False` drops the request unanswered: a device that floods has had its answers, and
    replying to every message of a flood would make the hub flood too.
    """

    code: str
    answer: bool = True
    details: Mapping[str, str | int | float] = field(default_factory=dict)


Admission = Callable[[str, str], Refusal | None]
# How often one line is logged per caller for requests dropped before parsing (wrong reply topic).
DROP_LOG_INTERVAL_S = 60.0


class _ClosedOnce:
    """An RPC end on a link: `close()` from any thread runs `_stop()` once; `with` closes it."""

    _lock: threading.Lock
    _closed: bool

    def close(self) -> None:
        """Idempotent: a second close (or one racing the first) does nothing."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._stop()

    def _stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class RpcServer(_ClosedOnce):
    """Answers `rpc/+/+` with `handlers[method](request)` on pools of worker threads.

    Every failure becomes an error reply (never a crash): malformed payloads are answered from the
    network thread, a handler's RpcError as is, any other exception as `internal` plus one log
    line. Beyond `max_pending` queued requests a lane answers `overloaded` at once rather than
    growing a backlog whose callers have long timed out.

    What a hostile device can send is bounded before any work is done, on the network thread:
    - the reply goes only to the caller's own `devices/{caller_id}/replies`; a request naming any
      other Response Topic is dropped (one log line per caller and minute) — otherwise any device
      could make the hub publish on a printer's job topic or the retained queue state;
    - `admit(caller_id, method)` (set by the fleet: per-device quotas) runs before the payload is
      even parsed; its refusals are answered at QoS 0, or not at all;
    - `priority_methods` (the counters') run on a pool of their own, so a backlog of kiosk requests
      never stands between an officer's key press and its answer.
    """

    def __init__(
        self,
        link: Link,
        handlers: Mapping[str, RpcHandler],
        *,
        workers: int = 16,
        max_pending: int = 1000,
        max_payload: int = DEFAULT_MAX_PAYLOAD,
        priority_methods: frozenset[str] = frozenset(),
        priority_workers: int = 4,
        admit: Admission | None = None,
    ) -> None:
        self.link = link
        self.handlers = dict(handlers)
        self.max_pending = max_pending
        self.max_payload = max_payload
        self.priority_methods = frozenset(priority_methods)
        self.admit = admit
        self._pools = {
            False: ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rpc"),
            True: ThreadPoolExecutor(max_workers=max(1, priority_workers), thread_name_prefix="rpc-priority"),
        }
        self._lock = threading.Lock()
        self._pending = {False: 0, True: 0}
        self._closed = False
        self._dropped_logged: dict[str, float] = {}
        self.dropped_foreign_reply = 0
        self.refused_unanswered = 0
        self._filter = link.topics.rpc_filter
        link.subscribe(self._filter, self._on_request, qos=1)

    def _stop(self) -> None:
        """Stop taking requests; let the ones already running reply."""
        self.link.unsubscribe(self._filter, self._on_request)
        for pool in self._pools.values():
            pool.shutdown(wait=True)

    # ------------------------------------------------------------------ network thread

    def _on_request(self, message: Message) -> None:
        route = self.link.topics.split_rpc(message.topic)
        if route is None:
            log.warning("RPC: ignoring %s: not rpc/{caller}/{method}", message.topic)
            return
        caller_id, method = route
        reply_to = message.response_topic
        own_topic = reply_to == self.link.topics.device_replies(caller_id)
        correlation = message.correlation_data
        # The quota first: whatever a request is wrong about, it counts (a flood of requests with
        # no or foreign reply topics is a flood too, and is cut off like any other).
        if self.admit is not None:
            refusal = self.admit(caller_id, method)
            if refusal is not None:
                if refusal.answer and own_topic and reply_to:
                    error = RpcError.from_key(refusal.code, "vi", **refusal.details)
                    self._reply(reply_to, correlation, _error_reply(error), qos=0)
                else:
                    self.refused_unanswered += 1
                return
        if not reply_to:
            log.warning("RPC %s: no Response Topic, cannot answer; dropped", message.topic)
            return
        if not own_topic:
            self.dropped_foreign_reply += 1
            self._log_dropped(caller_id, method, reply_to)
            return
        try:
            request = self._parse(caller_id, method, message.payload)
        except RpcError as error:
            log.info("RPC %s from %s refused: %s", method, caller_id, error.code)
            self._reply(reply_to, correlation, _error_reply(error), qos=0)
            return
        priority = method in self.priority_methods
        with self._lock:
            refused = "overloaded" if self._pending[priority] >= self.max_pending else None
            if self._closed:
                refused = "unavailable"
            if refused is None:
                self._pending[priority] += 1
        if refused is not None:
            log.warning("RPC %s from %s refused: %s", method, caller_id, refused)
            error = RpcError.from_key(refused, request.language)
            self._reply(reply_to, correlation, _error_reply(error), qos=0)
            return
        try:
            self._pools[priority].submit(self._serve, request, reply_to, correlation, priority)
        except RuntimeError:  # closed between the check and the submit
            with self._lock:
                self._pending[priority] -= 1

    def _log_dropped(self, caller_id: str, method: str, reply_to: str | None) -> None:
        moment = time.monotonic()
        with self._lock:
            last = self._dropped_logged.get(caller_id)
            if last is not None and moment - last < DROP_LOG_INTERVAL_S:
                return
            if len(self._dropped_logged) > 10_000:  # caller ids come from the network: bound them
                self._dropped_logged.clear()
            self._dropped_logged[caller_id] = moment
        log.warning(
            "RPC %s from %s dropped: replies go only to %s, not %r (further ones this minute unlogged)",
            method,
            caller_id,
            self.link.topics.device_replies(caller_id),
            reply_to,
        )

    def _parse(self, caller_id: str, method: str, payload: bytes) -> RpcRequest:
        language: Language = "vi"
        try:
            body = decode_json(payload, max_size=self.max_payload)
            language = _language(body)
            check_version(body)
        except PayloadError as error:
            raise _payload_error(error, language) from None
        if method not in self.handlers:
            raise RpcError.from_key("unknown_method", language, method=method)
        request_id = body.get("request_id")
        if request_id is not None and (isinstance(request_id, bool) or not isinstance(request_id, str | int)):
            raise RpcError.from_key("bad_request", language, detail="request_id")
        params = {key: value for key, value in body.items() if key not in RESERVED_KEYS}
        return RpcRequest(
            caller_id=caller_id,
            method=method,
            params=params,
            request_id=None if request_id is None else str(request_id),
            language=language,
        )

    # ------------------------------------------------------------------ worker threads

    def _serve(
        self, request: RpcRequest, reply_to: str, correlation: bytes | None, priority: bool = False
    ) -> None:
        try:
            self._reply(reply_to, correlation, self._run(request))
        finally:
            with self._lock:
                self._pending[priority] -= 1

    def _run(self, request: RpcRequest) -> bytes:
        """The encoded reply: encoded once, here, so an unserialisable result (the handler's bug)
        is answered `internal`."""
        try:
            result = _result_payload(self.handlers[request.method](request))
            return encode_json({"v": PROTOCOL_VERSION, "ok": True, "result": result})
        except RpcError as error:
            return encode_json(_error_reply(error))
        except Exception as error:
            log.error("RPC %s from %s: handler failed: %r", request.method, request.caller_id, error)
            log.debug("traceback of RPC %s", request.method, exc_info=True)
            return encode_json(_error_reply(RpcError.from_key("internal", request.language)))

    def _reply(
        self, reply_to: str, correlation: bytes | None, body: Mapping[str, Any] | bytes, *, qos: int = 1
    ) -> None:
        """Results go at QoS 1; refusals made before any work at QoS 0, so that a flood of them
        can never fill the hub's outgoing window that queue state and print jobs share."""
        properties = Properties(PacketTypes.PUBLISH)
        if correlation is not None:
            properties.CorrelationData = correlation
        try:
            payload = body if isinstance(body, bytes) else encode_json(body)
            self.link.publish(reply_to, payload, qos=qos, properties=properties)
        except Exception as error:  # e.g. a Response Topic with wildcards; never kill the caller
            log.warning("RPC: cannot reply to %r: %r", reply_to, error)


# --------------------------------------------------------------------------- client


@dataclass
class _Call:
    language: Language
    done: threading.Event = field(default_factory=threading.Event)
    reply: dict[str, Any] | None = None
    error: RpcError | None = None


class RpcClient(_ClosedOnce):
    """Calls methods on the hub as this link's device. Thread-safe: many threads may call at once;
    each call waits on its own Event, matched to its reply by Correlation Data."""

    def __init__(self, link: Link, *, default_timeout: float = 5.0) -> None:
        self.link = link
        self.default_timeout = default_timeout
        self.reply_topic = link.topics.device_replies(link.device_id)
        self._lock = threading.Lock()
        self._calls: dict[bytes, _Call] = {}
        self._closed = False
        link.subscribe(self.reply_topic, self._on_reply, qos=1)
        link.on_connection_change(self._on_connection_change)

    def call(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        """The method's result, or RpcError (the hub's error, or `unavailable` at once when the link
        is down) or RpcTimeout. Pass a request_id to make retries exactly-once on the hub."""
        if not method or any(ch in method for ch in "/+#"):
            raise ValueError(f"invalid RPC method name {method!r}")
        params = dict(params or {})
        language = _language(params)
        timeout = self.default_timeout if timeout is None else timeout
        if self._closed or not self.link.connected:
            raise RpcError.from_key("unavailable", language)
        body = {**params, "v": PROTOCOL_VERSION}
        if request_id is not None:
            body["request_id"] = request_id
        payload = encode_json(body)  # misuse raises here, before anything is sent

        correlation = uuid.uuid4().bytes
        properties = Properties(PacketTypes.PUBLISH)
        properties.ResponseTopic = self.reply_topic
        properties.CorrelationData = correlation
        properties.MessageExpiryInterval = max(1, math.ceil(timeout))
        call = _Call(language)
        with self._lock:
            self._calls[correlation] = call
        try:
            info = self.link.publish(
                self.link.topics.rpc(self.link.device_id, method), payload, qos=1, properties=properties
            )
            if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                raise RpcError.from_key("unavailable", language)
            if not call.done.wait(timeout):
                raise RpcTimeout.from_key("timeout", language)
        finally:
            with self._lock:
                self._calls.pop(correlation, None)
        if call.error is not None:
            raise call.error
        return call.reply or {}

    def _stop(self) -> None:
        """Stop listening for replies; calls still waiting fail with `unavailable`."""
        self.link.unsubscribe(self.reply_topic, self._on_reply)
        self._fail_all("unavailable")

    # ------------------------------------------------------------------ network thread

    def _on_reply(self, message: Message) -> None:
        correlation = message.correlation_data
        with self._lock:
            call = self._calls.pop(correlation, None) if correlation is not None else None
        if call is None:
            log.debug("RPC reply on %s matches no waiting call (late or foreign); dropped", message.topic)
            return
        try:
            reply = message.json()
            if reply.get("ok") is True and isinstance(reply.get("result"), dict):
                call.reply = reply["result"]
            elif reply.get("ok") is False and isinstance(reply.get("error"), dict):
                call.error = RpcError.from_payload(reply["error"])
            else:
                raise PayloadError("bad_request", "neither a result object nor an error object")
        except PayloadError as error:
            log.warning("RPC reply on %s unusable: %s", message.topic, error)
            call.error = RpcError.from_key("internal", call.language)
            call.error.details["reply"] = error.detail
        call.done.set()

    def _on_connection_change(self, connected: bool) -> None:
        if not connected:
            # The reply subscription may be gone with the session: fail now rather than at timeout.
            self._fail_all("unavailable")

    def _fail_all(self, code: str) -> None:
        with self._lock:
            calls = list(self._calls.values())
            self._calls.clear()
        for call in calls:
            call.error = RpcError.from_key(code, call.language)
            call.done.set()
