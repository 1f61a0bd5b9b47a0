"""Drain client for dingtalk-fallback-bridge, for Python gateways (Hermes and the like).

Standard library only. ``BridgeClient`` speaks the consumer API and runs a blocking ``drain``
loop; ``AsyncBridgeClient`` is the asyncio counterpart, which never blocks the event loop.
``StreamHealth`` collects what the gateway's own DingTalk Stream connection sees, for heartbeats.

    client = BridgeClient.from_env()    # DTBRIDGE_URL, DTBRIDGE_APP, DTBRIDGE_TOKEN, as dtbridge reads them
    client.drain(lambda event: handle(event["payload"]), stop_event=stop)
"""

from __future__ import annotations

import asyncio
import hashlib
import http.client
import json
import os
import random
import re
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple, Union

__all__ = [
    "AbortSignal",
    "AsyncBridgeClient",
    "BridgeAuthError",
    "BridgeClient",
    "BridgeDecodeError",
    "BridgeError",
    "BridgeNetworkError",
    "BridgeNotFoundError",
    "BridgeRefusedError",
    "BridgeSendFailedError",
    "BridgeRequestError",
    "BridgeServerError",
    "DrainStats",
    "StreamHealth",
    "backoff_seconds",
    "default_consumer",
    "reply_key",
]

Event = Dict[str, Any]

# Calls made while stopping get this long at most, so a gateway stops within its shutdown budget.
STOP_TIMEOUT_S = 1.5


# ---- errors -------------------------------------------------------------------------------------


class BridgeError(Exception):
    """A failed call. ``retryable`` says whether the same call may succeed later."""

    retryable = False

    def __init__(self, message: str, status: Optional[int] = None, code: str = "error") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class BridgeAuthError(BridgeError):
    """401: the token is missing or does not open this app."""


class BridgeNotFoundError(BridgeError):
    """404: no such app on this bridge (or no such event or send key)."""


class BridgeRequestError(BridgeError):
    """Any other 4xx: the request is wrong; the message names what."""


class BridgeServerError(BridgeError):
    """5xx: the bridge failed; safe to retry."""

    retryable = True


class BridgeRefusedError(BridgeError):
    """502 ``dingtalk_refused`` from ``send``: DingTalk refused the message; retrying will not help.
    ``dingtalk_code`` and ``dingtalk_message`` are DingTalk's own."""

    def __init__(self, message: str, status: Optional[int], code: str,
                 dingtalk_code: Any = None, dingtalk_message: Optional[str] = None) -> None:
        super().__init__(message, status, code)
        self.dingtalk_code = dingtalk_code
        self.dingtalk_message = dingtalk_message


class BridgeNetworkError(BridgeError):
    """No HTTP answer: refused, reset, timed out, or aborted (``code == "aborted"``)."""

    retryable = True


class BridgeDecodeError(BridgeError):
    """The bridge answered with a body this client cannot decode (not JSON, or nested too deeply)."""


class BridgeSendFailedError(BridgeError):
    """502 ``dingtalk_unreachable`` from ``send``: the bridge gave the send up after a day of trying;
    its key answers so for good, so sending it again will not help."""


def _error_for(status: int, code: str, message: str, detail: Optional[Dict[str, Any]] = None) -> BridgeError:
    text = "%d %s: %s" % (status, code, message)
    if code == "dingtalk_unreachable":
        return BridgeSendFailedError(text, status, code)
    if code == "dingtalk_refused":
        detail = detail or {}
        return BridgeRefusedError(text, status, code, detail.get("dingtalkCode"), detail.get("dingtalkMessage"))
    if status == 401:
        return BridgeAuthError(text, status, code)
    if status == 404:
        return BridgeNotFoundError(text, status, code)
    if status >= 500:
        return BridgeServerError(text, status, code)
    return BridgeRequestError(text, status, code)


# A send may take the bridge a while: DingTalk's own timeouts on the session webhook, then the robot
# API, before it answers "queued". The TypeScript client waits as long.
SEND_TIMEOUT_S = 75.0


def backoff_seconds(failures: int, base: float = 0.5, cap: float = 30.0) -> float:
    """Exponential backoff with jitter over its upper half, so restarted gateways spread out."""
    ceiling = min(cap, base * (2 ** min(failures, 16)))
    return ceiling / 2 + random.random() * ceiling / 2


def default_retry_delay_ms(attempt: int) -> int:
    return int(min(1000 * 2 ** max(0, attempt - 1), 300_000))


def default_consumer(suffix: str = "python") -> str:
    """``<hostname>-<suffix>``: differs per machine and stays the same across restarts, which is what
    lets a restarted gateway take its own leases back at once (``release``) without taking another's."""
    host = re.sub(r"[^A-Za-z0-9._:@-]+", "-", socket.gethostname()).strip("-") or "host"
    return ("%s-%s" % (host, suffix))[:128]


def reply_key(event_id: str, message: Dict[str, Any]) -> str:
    """The default idempotency key of a reply: the same message to the same event is sent once.
    The TypeScript client derives the identical key."""
    canonical = json.dumps(message, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "reply:%s:%s" % (event_id, hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32])


# ---- aborting calls -----------------------------------------------------------------------------


class AbortSignal:
    """Ends the calls made with it at once, from any thread: ``abort()`` shuts their sockets down,
    and later calls with it fail at once. The drain loops abort their long poll this way on stop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sockets: List[socket.socket] = []
        self.aborted = False

    def abort(self) -> None:
        with self._lock:
            self.aborted = True
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            _shut(sock)

    def _attach(self, sock: socket.socket) -> None:
        with self._lock:
            if not self.aborted:
                self._sockets = [s for s in self._sockets if s.fileno() != -1] + [sock]
                return
        _shut(sock)


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class _SignalMixin:
    """Registers each connection's socket with an AbortSignal; proxies and TLS work as in urlopen."""

    def __init__(self, signal: AbortSignal) -> None:
        super().__init__()  # type: ignore[call-arg]
        self._signal = signal

    def do_open(self, http_class: Any, req: Any, **kwargs: Any) -> Any:
        signal = self._signal

        class Connection(http_class):  # type: ignore[misc, valid-type]
            def connect(self) -> None:
                super().connect()
                signal._attach(self.sock)

        return super().do_open(Connection, req, **kwargs)  # type: ignore[misc]


class _SignalHTTPHandler(_SignalMixin, urllib.request.HTTPHandler):
    pass


class _SignalHTTPSHandler(_SignalMixin, urllib.request.HTTPSHandler):
    pass


# ---- decoding, one event at a time --------------------------------------------------------------
#
# A pull or listing answer is one JSON document, but one poison payload (say nested 3,000 deep, which
# Python's json refuses with RecursionError) must fail only its own event. When the whole document
# does not decode, it is split into members and events without recursion, and each is decoded alone.

_STRUCTURAL = re.compile(r'["\[\]{}]')
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_SCALAR_END = re.compile(r"[\s,\]}]")
_UNDECODABLE = (ValueError, RecursionError)


def _why(error: BaseException) -> str:
    if isinstance(error, RecursionError):
        return "nested too deeply for this client to decode"
    return str(error)[:200] or type(error).__name__


def _skip_ws(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i


def _value_end(text: str, i: int) -> int:
    """The index just past the JSON value that starts at ``text[i]``, found by counting brackets."""
    if i >= len(text):
        raise ValueError("truncated JSON")
    if text[i] == '"':
        match = _STRING.match(text, i)
        if not match:
            raise ValueError("unterminated string")
        return match.end()
    if text[i] not in "[{":
        match = _SCALAR_END.search(text, i)
        return match.start() if match else len(text)
    depth = 0
    while True:
        match = _STRUCTURAL.search(text, i)
        if not match:
            raise ValueError("truncated JSON")
        i = match.start()
        if text[i] == '"':
            string = _STRING.match(text, i)
            if not string:
                raise ValueError("unterminated string")
            i = string.end()
            continue
        depth += 1 if text[i] in "[{" else -1
        i += 1
        if depth == 0:
            return i


def _items(text: str, i: int, keyed: bool) -> List[Tuple[Optional[str], int, int]]:
    """The (key, start, end) of each member of the object (or element of the array) at ``text[i]``."""
    opening, closing = ("{", "}") if keyed else ("[", "]")
    if text[i:i + 1] != opening:
        raise ValueError("expected %r" % opening)
    items: List[Tuple[Optional[str], int, int]] = []
    i = _skip_ws(text, i + 1)
    if text[i:i + 1] == closing:
        return items
    while True:
        key = None
        if keyed:
            end = _value_end(text, i)
            key = json.loads(text[i:end])
            if not isinstance(key, str):
                raise ValueError("object key is not a string")
            i = _skip_ws(text, end)
            if text[i:i + 1] != ":":
                raise ValueError("expected ':'")
            i = _skip_ws(text, i + 1)
        end = _value_end(text, i)
        items.append((key, i, end))
        i = _skip_ws(text, end)
        if text[i:i + 1] == closing:
            return items
        if text[i:i + 1] != ",":
            raise ValueError("expected ',' or %r" % closing)
        i = _skip_ws(text, i + 1)


def _decode_event(text: str, start: int, end: int) -> Event:
    try:
        return json.loads(text[start:end])
    except _UNDECODABLE:
        pass
    event: Event = {}
    for key, s, e in _items(text, start, keyed=True):
        try:
            event[key] = json.loads(text[s:e])  # type: ignore[index]
        except _UNDECODABLE as error:
            event[key] = None  # type: ignore[index]
            event.setdefault("decodeError", "%s: %s" % (key, _why(error)))
    return event


def _decode_by_event(text: str) -> Dict[str, Any]:
    doc: Dict[str, Any] = {}
    for key, start, end in _items(text, _skip_ws(text, 0), keyed=True):
        if key == "events":
            doc[key] = [_decode_event(text, s, e) for _, s, e in _items(text, start, keyed=False)]
        else:
            doc[key] = json.loads(text[start:end])  # type: ignore[index]
    return doc


def _decode(text: str, listing: bool) -> Dict[str, Any]:
    """The answer's JSON; for a listing, an event that cannot be decoded comes back on its own
    with ``decodeError`` set (and the undecodable member as None) instead of failing the rest."""
    try:
        return json.loads(text)
    except _UNDECODABLE as error:
        failure: BaseException = error
    if listing:
        try:
            return _decode_by_event(text)
        except _UNDECODABLE as error:
            failure = error
    raise BridgeDecodeError("the bridge's answer could not be decoded: %s" % _why(failure), None, "bad_response")


# ---- stream health ------------------------------------------------------------------------------


class StreamHealth:
    """What the gateway's Stream connection has seen; thread-safe.

    Call ``connected_now()`` when the Stream socket opens (every open after the first counts as a
    reconnect), ``disconnected_now()`` when it drops, and ``message_received(msg_id)`` for every
    robot message that arrived over Stream. The drain loop sends the report in its heartbeats, and
    a last one on stop, so no msgId waits for a heartbeat that never comes.
    """

    MAX_RECONNECTS = 50
    MAX_MSG_IDS = 500

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._connected = False
        self._ever_connected = False
        self._last_message_at: Optional[int] = None
        self._reconnects: List[int] = []
        self._msg_ids: Dict[str, None] = {}

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def opened_before(self, opens_ms: List[int]) -> None:
        """Stream opens by earlier runs of this gateway (kept by the caller across restarts). DingTalk
        sees a restart's first open as a reconnect, so with these it counts as one here too."""
        with self._lock:
            opens = sorted(int(t) for t in opens_ms)
            if opens:
                self._reconnects = (opens[1:] + self._reconnects)[-self.MAX_RECONNECTS:]
                self._ever_connected = True

    def connected_now(self) -> None:
        with self._lock:
            if self._ever_connected:
                self._reconnects = (self._reconnects + [self._now_ms()])[-self.MAX_RECONNECTS:]
            self._ever_connected = True
            self._connected = True

    def disconnected_now(self) -> None:
        with self._lock:
            self._connected = False

    def message_received(self, msg_id: Optional[str] = None) -> None:
        with self._lock:
            self._last_message_at = self._now_ms()
            if msg_id:
                self._msg_ids[msg_id] = None
                while len(self._msg_ids) > self.MAX_MSG_IDS:
                    del self._msg_ids[next(iter(self._msg_ids))]

    def has_unreported(self) -> bool:
        with self._lock:
            return bool(self._msg_ids)

    def take_report(self) -> Dict[str, Any]:
        """The report for the next heartbeat; msgIds are handed over once."""
        with self._lock:
            report: Dict[str, Any] = {"connected": self._connected}
            if self._last_message_at is not None:
                report["lastMessageAt"] = self._last_message_at
            if self._reconnects:
                report["reconnects"] = list(self._reconnects)
            if self._msg_ids:
                report["msgIds"] = list(self._msg_ids)
                self._msg_ids = {}
            return report

    def restore(self, report: Dict[str, Any]) -> None:
        """Puts msgIds back after a failed heartbeat, so none is lost."""
        with self._lock:
            for msg_id in report.get("msgIds", []):
                self._msg_ids[msg_id] = None


# ---- the blocking client ------------------------------------------------------------------------


class DrainStats:
    def __init__(self) -> None:
        self.acked = 0
        self.nacked = 0
        self.pulls = 0
        self.network_errors = 0

    def __repr__(self) -> str:
        return "DrainStats(acked=%d, nacked=%d, pulls=%d, network_errors=%d)" % (
            self.acked, self.nacked, self.pulls, self.network_errors)


class BridgeClient:
    """The bridge's consumer API. ``consumer`` must be stable per gateway instance and differ between
    instances: a restart with the same id takes its old leases back at once (``release``), and two
    instances sharing one id would take each other's. The default is ``<hostname>-python``."""

    def __init__(
        self,
        url: str,
        token: str,
        app: str = "default",
        consumer: Optional[str] = None,
        timeout: float = 10.0,
        retries: int = 2,
    ) -> None:
        self.url = url.rstrip("/")
        self.app = app
        self.consumer = consumer or default_consumer()
        self.timeout = timeout
        self.retries = retries
        self._token = token
        self._base = "%s/v1/%s" % (self.url, urllib.parse.quote(app, safe=""))
        self._release_only: Optional[bool] = None  # does the bridge take release pulls with max 0?

    @classmethod
    def from_env(cls, **overrides: Any) -> "BridgeClient":
        """Settings from ``DTBRIDGE_URL``, ``DTBRIDGE_APP`` (default ``default``), ``DTBRIDGE_TOKEN``
        and ``DTBRIDGE_CONSUMER``, the names dtbridge reads; keyword arguments win."""
        url = overrides.pop("url", None) or os.environ.get("DTBRIDGE_URL")
        token = overrides.pop("token", None) or os.environ.get("DTBRIDGE_TOKEN")
        if not url or not token:
            raise BridgeError("set DTBRIDGE_URL and DTBRIDGE_TOKEN", None, "config")
        overrides.setdefault("app", os.environ.get("DTBRIDGE_APP") or "default")
        overrides.setdefault("consumer", os.environ.get("DTBRIDGE_CONSUMER") or None)
        return cls(url, token, **overrides)

    def __repr__(self) -> str:  # never shows the token
        return "BridgeClient(url=%r, app=%r, consumer=%r)" % (self.url, self.app, self.consumer)

    # Each call; `safe` ones (idempotent on the bridge) are retried with backoff on 5xx/network.

    def pull(self, max: int = 10, wait_ms: int = 0, lease_ms: Optional[int] = None, release: bool = False,
             signal: Optional[AbortSignal] = None) -> Dict[str, Any]:
        """Leases up to ``max`` events. An event this client cannot decode comes back alone with
        ``decodeError`` set; ``signal.abort()`` ends the call at once (a long poll included)."""
        body: Dict[str, Any] = {"max": max, "waitMs": wait_ms, "consumer": self.consumer}
        if lease_ms is not None:
            body["leaseMs"] = lease_ms
        if release:
            body["release"] = True
        # Not retried here: a lost answer would leave events leased; drain() backs off instead.
        return self._call("POST", "pull", body, timeout=self.timeout + wait_ms / 1000.0, safe=False,
                          signal=signal, listing=True)

    def release(self, timeout: Optional[float] = None, retries: Optional[int] = None) -> Dict[str, Any]:
        """Returns every event leased to this consumer to the queue and ends its waiting long polls at
        once, leasing nothing. Send it on stop, after aborting the consumer's own in-flight pull."""
        body = {"max": 0, "waitMs": 0, "consumer": self.consumer, "release": True}
        if self._release_only is not False:
            try:
                res = self._call("POST", "pull", body, timeout=timeout, retries=retries, listing=True)
                self._release_only = True
                return res
            except BridgeRequestError as error:
                if error.status != 400:
                    raise
                self._release_only = False
        # A bridge from before release-only pulls refuses max 0: release with max 1 (which also ends
        # the old polls) and give back at once whatever that pull leased.
        res = self._call("POST", "pull", dict(body, max=1), timeout=timeout, safe=False, listing=True)
        leased = [e["leaseId"] for e in res.get("events", []) if isinstance(e.get("leaseId"), str)]
        if leased:
            self._call("POST", "nack", {"leaseIds": leased, "delayMs": 0, "reason": "consumer stopping"},
                       timeout=timeout, retries=retries)
        return dict(res, events=[])

    def ack(self, lease_ids: List[str]) -> Dict[str, Any]:
        return self._call("POST", "ack", {"leaseIds": list(lease_ids)})

    def nack(self, lease_ids: List[str], delay_ms: int = 0, reason: Optional[str] = None) -> Dict[str, Any]:
        body: Dict[str, Any] = {"leaseIds": list(lease_ids), "delayMs": int(delay_ms)}
        if reason:
            body["reason"] = reason[:500]
        return self._call("POST", "nack", body)

    def extend(self, lease_ids: List[str], lease_ms: int) -> Dict[str, Any]:
        return self._call("POST", "extend", {"leaseIds": list(lease_ids), "leaseMs": int(lease_ms)})

    def heartbeat(self, stream: Optional[Dict[str, Any]] = None, timeout: Optional[float] = None) -> Dict[str, Any]:
        body: Dict[str, Any] = {"consumer": self.consumer}
        if stream is not None:
            body["stream"] = stream
        return self._call("POST", "heartbeat", body, timeout=timeout)

    def status(self) -> Dict[str, Any]:
        """The app's status as the bridge reports it (``mode``, ``consumers``, ``depth``, ``link``, ...)."""
        return self._call("GET", "status")

    def history(self, after_seq: int = 0, limit: int = 100) -> Dict[str, Any]:
        return self._call("GET", "events?afterSeq=%d&limit=%d" % (after_seq, limit), listing=True)

    def dead_letters(self, after_seq: int = 0, limit: int = 100) -> Dict[str, Any]:
        return self._call("GET", "dead-letters?afterSeq=%d&limit=%d" % (after_seq, limit), listing=True)

    def redrive(self, ids: Optional[List[str]] = None) -> Dict[str, Any]:
        return self._call("POST", "dead-letters/redrive", {"ids": list(ids)} if ids else {})

    def send(self, message: Dict[str, Any], reply_to: Optional[str] = None,
             to: Optional[Dict[str, Any]] = None, key: Optional[str] = None,
             timeout: Optional[float] = None) -> Dict[str, Any]:
        """Sends ``message`` (``{"msgtype": "text", ...}`` or ``"markdown"``) as a reply to the event
        ``reply_to``, or to ``to`` (``{"openConversationId": ...}`` or ``{"userIds": [...]}``).
        Answers ``{via, state: "sent", key}``, or ``{state: "queued", key}`` when the bridge keeps it to
        retry. A reply's key defaults to ``reply_key(reply_to, message)``, so retrying it is safe; a
        ``to`` send is retried only with a ``key``. DingTalk's refusal raises ``BridgeRefusedError``."""
        if (reply_to is None) == (to is None):
            raise ValueError("send needs exactly one of reply_to and to")
        body: Dict[str, Any] = {"message": message}
        if reply_to is not None:
            body["replyTo"] = reply_to
            key = key or reply_key(reply_to, message)
        else:
            body["to"] = to
        if key:
            body["key"] = key
        return self._call("POST", "send", body, timeout=timeout or SEND_TIMEOUT_S, safe=key is not None)

    def send_status(self, key: str) -> Dict[str, Any]:
        """``{key, state: "sent" | "queued" | "failed" | "refused", via, attempts, lastError, ...}``."""
        return self._call("GET", "send/%s" % urllib.parse.quote(key, safe=""))

    def _call(self, method: str, path: str, body: Any = None, timeout: Optional[float] = None, safe: bool = True,
              signal: Optional[AbortSignal] = None, listing: bool = False, retries: Optional[int] = None) -> Dict[str, Any]:
        failures = 0
        retries = self.retries if retries is None else retries
        while True:
            try:
                return self._once(method, path, body, timeout or self.timeout, signal, listing)
            except BridgeError as error:
                if not (safe and error.retryable and failures < retries) or (signal and signal.aborted):
                    raise
                time.sleep(backoff_seconds(failures, base=0.2, cap=5.0))
                failures += 1

    def _once(self, method: str, path: str, body: Any, timeout: float, signal: Optional[AbortSignal],
              listing: bool) -> Dict[str, Any]:
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(
            "%s/%s" % (self._base, path),
            data=data,
            method=method,
            headers={"Authorization": "Bearer %s" % self._token, "Content-Type": "application/json"},
        )
        if signal is not None and signal.aborted:
            raise BridgeNetworkError("the call was aborted", None, "aborted")
        opener = urllib.request.build_opener(_SignalHTTPHandler(signal), _SignalHTTPSHandler(signal)) if signal else None
        try:
            with (opener.open(request, timeout=timeout) if opener else urllib.request.urlopen(request, timeout=timeout)) as response:
                raw = response.read()
        except urllib.error.HTTPError as error:
            text = error.read().decode("utf-8", "replace")
            code, message, detail = "http_error", text[:300], None
            try:
                detail = json.loads(text)["error"]
                code, message = detail.get("code", code), detail.get("message", message)
            except (ValueError, RecursionError, KeyError, TypeError, AttributeError):
                pass
            raise _error_for(error.code, code, message, detail) from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
            if signal is not None and signal.aborted:
                raise BridgeNetworkError("the call was aborted", None, "aborted") from None
            raise BridgeNetworkError("no answer from the bridge (%s)" % error, None, "network") from None
        return _decode(raw.decode("utf-8", "replace"), listing)

    # ---- the drain loop ---------------------------------------------------------------------------

    def drain(
        self,
        handler: Callable[[Event], Any],
        *,
        stop_event: Optional[threading.Event] = None,
        max: int = 10,
        wait_ms: int = 10_000,
        lease_ms: Optional[int] = None,
        heartbeat_s: float = 15.0,
        stream_health: Optional[StreamHealth] = None,
        retry_delay_ms: Callable[[int], int] = default_retry_delay_ms,
        on_error: Optional[Callable[[BaseException, str], None]] = None,
        on_acked: Optional[Callable[[Event], None]] = None,
    ) -> DrainStats:
        """Pulls, hands each event to ``handler`` in order, acks on return and nacks with backoff
        when it raises (an event this client cannot decode is nacked with the reason, alone);
        ``on_acked(event)`` runs once the bridge confirmed an ack. Long handlers keep their lease.
        When ``stop_event`` is set, the long poll in flight is aborted at once; the loop finishes
        the event in hand, returns the rest of its batch, releases what is still leased to this
        consumer (which also ends its long polls on the bridge), sends the last Stream report, and
        returns."""
        stop = stop_event or threading.Event()
        report = on_error or (lambda error, context: None)
        stats = DrainStats()
        hint = {"poll_ms": 0}
        signal = AbortSignal()
        # Ends the pause between stream-mode safety polls when DingTalk delivers to the bridge again.
        wake = threading.Event()

        def beat() -> None:
            while not stop.is_set():
                stream = stream_health.take_report() if stream_health else None
                try:
                    hint["poll_ms"] = self.heartbeat(stream).get("pollHintMs", 0)
                    if not hint["poll_ms"]:
                        wake.set()
                except BridgeError as error:
                    if stream_health and stream:
                        stream_health.restore(stream)
                    report(error, "heartbeat")
                stop.wait(heartbeat_s)

        def abort_on_stop() -> None:
            stop.wait()
            signal.abort()

        threading.Thread(target=abort_on_stop, name="bridge-abort", daemon=True).start()
        threading.Thread(target=beat, name="bridge-heartbeat", daemon=True).start()
        release, failures = True, 0
        try:
            while not stop.is_set():
                try:
                    res = self.pull(max=max, wait_ms=0 if hint["poll_ms"] else wait_ms, lease_ms=lease_ms,
                                    release=release, signal=signal)
                except BridgeError as error:
                    if stop.is_set():
                        break
                    if not error.retryable:
                        raise
                    stats.network_errors += 1
                    report(error, "pull")
                    release = True  # a lost answer may have carried events leased to us
                    stop.wait(backoff_seconds(failures))
                    failures += 1
                    continue
                release, failures = False, 0
                stats.pulls += 1
                hint["poll_ms"] = res.get("pollHintMs", 0)
                events = res.get("events", [])
                for i, event in enumerate(events):
                    if stop.is_set():
                        self._give_back(events[i:], report)
                        break
                    self._handle(event, handler, lease_ms or res.get("leaseMs", 60_000), retry_delay_ms, stats, report, on_acked)
                if not events and hint["poll_ms"]:
                    wake.clear()
                    deadline = time.monotonic() + hint["poll_ms"] / 1000.0
                    while not (stop.is_set() or wake.is_set()) and time.monotonic() < deadline:
                        wake.wait(min(0.25, deadline - time.monotonic()))
        finally:
            stop.set()
            self._on_stop(stream_health, report)
        return stats

    def _handle(self, event: Event, handler: Callable[[Event], Any], lease_ms: int,
                retry_delay_ms: Callable[[int], int], stats: DrainStats,
                report: Callable[[BaseException, str], None], on_acked: Optional[Callable[[Event], None]] = None) -> None:
        if event.get("decodeError"):
            self._settle(event, _undecodable(event), retry_delay_ms, stats, report)
            return
        done = threading.Event()

        def keep_leased() -> None:
            while not done.wait(max(0.5, lease_ms / 2000.0)):
                try:
                    self.extend([event["leaseId"]], lease_ms)
                except BridgeError as error:
                    report(error, "extend")

        keeper = threading.Thread(target=keep_leased, name="bridge-extend", daemon=True)
        keeper.start()
        failure: Optional[BaseException] = None
        try:
            handler(event)
        except Exception as error:  # the handler's failure becomes a nack, never a crash
            failure = error
        finally:
            done.set()
            keeper.join()
        self._settle(event, failure, retry_delay_ms, stats, report, on_acked)

    def _settle(self, event: Event, failure: Optional[BaseException], retry_delay_ms: Callable[[int], int],
                stats: DrainStats, report: Callable[[BaseException, str], None],
                on_acked: Optional[Callable[[Event], None]] = None) -> None:
        """Acks a handled event, or nacks a failed one with its backoff delay and reason."""
        if not isinstance(event.get("leaseId"), str):
            # Nothing to answer with: the lease runs out and the event comes back by itself.
            report(failure or BridgeDecodeError("an event without a usable leaseId"), "settle")
            return
        try:
            if failure is None:
                if self.ack([event["leaseId"]]).get("stale"):
                    return  # the lease had run out: the event comes back, and is not counted as acked
                stats.acked += 1
                if on_acked:
                    on_acked(event)
            else:
                report(failure, "handler")
                attempt = event.get("attempt") if isinstance(event.get("attempt"), int) else 1
                self.nack([event["leaseId"]], retry_delay_ms(attempt), str(failure) or type(failure).__name__)
                stats.nacked += 1
        except BridgeError as error:
            # The lease runs out and the event comes back: at least once, never lost.
            report(error, "ack" if failure is None else "nack")

    def _give_back(self, events: List[Event], report: Callable[[BaseException, str], None]) -> None:
        lease_ids = [e["leaseId"] for e in events if isinstance(e.get("leaseId"), str)]
        if not lease_ids:
            return
        try:
            self._call("POST", "nack", {"leaseIds": lease_ids, "delayMs": 0, "reason": "consumer stopping"},
                       timeout=STOP_TIMEOUT_S, retries=0)
        except BridgeError as error:
            report(error, "nack")

    def _on_stop(self, stream_health: Optional[StreamHealth], report: Callable[[BaseException, str], None]) -> None:
        """The stop path, each call short and unretried: release, then the last Stream report."""
        try:
            self.release(timeout=STOP_TIMEOUT_S, retries=0)
        except BridgeError as error:
            report(error, "release")
        if stream_health and stream_health.has_unreported():
            stream = stream_health.take_report()
            try:
                self.heartbeat(stream, timeout=STOP_TIMEOUT_S)
            except BridgeError as error:
                stream_health.restore(stream)
                report(error, "heartbeat")


def _undecodable(event: Event) -> BridgeDecodeError:
    return BridgeDecodeError("undecodable event: %s" % event.get("decodeError"), None, "bad_event")


# ---- asyncio ------------------------------------------------------------------------------------


class AsyncBridgeClient:
    """The same API for asyncio: each call runs in a worker thread, so the event loop never blocks."""

    def __init__(self, url: str, token: str, app: str = "default", consumer: Optional[str] = None,
                 timeout: float = 10.0, retries: int = 2) -> None:
        self.sync = BridgeClient(url, token, app=app, consumer=consumer, timeout=timeout, retries=retries)

    @classmethod
    def from_env(cls, **overrides: Any) -> "AsyncBridgeClient":
        """As ``BridgeClient.from_env``."""
        client = cls.__new__(cls)
        client.sync = BridgeClient.from_env(**overrides)
        return client

    @property
    def consumer(self) -> str:
        return self.sync.consumer

    async def pull(self, **kwargs: Any) -> Dict[str, Any]:
        return await asyncio.to_thread(self.sync.pull, **kwargs)

    async def release(self, timeout: Optional[float] = None, retries: Optional[int] = None) -> Dict[str, Any]:
        return await asyncio.to_thread(self.sync.release, timeout, retries)

    async def ack(self, lease_ids: List[str]) -> Dict[str, Any]:
        return await asyncio.to_thread(self.sync.ack, lease_ids)

    async def nack(self, lease_ids: List[str], delay_ms: int = 0, reason: Optional[str] = None) -> Dict[str, Any]:
        return await asyncio.to_thread(self.sync.nack, lease_ids, delay_ms, reason)

    async def extend(self, lease_ids: List[str], lease_ms: int) -> Dict[str, Any]:
        return await asyncio.to_thread(self.sync.extend, lease_ids, lease_ms)

    async def heartbeat(self, stream: Optional[Dict[str, Any]] = None, timeout: Optional[float] = None) -> Dict[str, Any]:
        return await asyncio.to_thread(self.sync.heartbeat, stream, timeout)

    async def status(self) -> Dict[str, Any]:
        return await asyncio.to_thread(self.sync.status)

    async def history(self, after_seq: int = 0, limit: int = 100) -> Dict[str, Any]:
        return await asyncio.to_thread(self.sync.history, after_seq, limit)

    async def dead_letters(self, after_seq: int = 0, limit: int = 100) -> Dict[str, Any]:
        return await asyncio.to_thread(self.sync.dead_letters, after_seq, limit)

    async def redrive(self, ids: Optional[List[str]] = None) -> Dict[str, Any]:
        return await asyncio.to_thread(self.sync.redrive, ids)

    async def send(self, message: Dict[str, Any], reply_to: Optional[str] = None,
                   to: Optional[Dict[str, Any]] = None, key: Optional[str] = None,
                   timeout: Optional[float] = None) -> Dict[str, Any]:
        return await asyncio.to_thread(self.sync.send, message, reply_to, to, key, timeout)

    async def send_status(self, key: str) -> Dict[str, Any]:
        return await asyncio.to_thread(self.sync.send_status, key)

    async def drain(
        self,
        handler: Callable[[Event], Union[Awaitable[Any], Any]],
        *,
        stop: Optional[asyncio.Event] = None,
        max: int = 10,
        wait_ms: int = 10_000,
        lease_ms: Optional[int] = None,
        heartbeat_s: float = 15.0,
        stream_health: Optional[StreamHealth] = None,
        retry_delay_ms: Callable[[int], int] = default_retry_delay_ms,
        on_error: Optional[Callable[[BaseException, str], None]] = None,
        on_acked: Optional[Callable[[Event], None]] = None,
    ) -> DrainStats:
        """The asyncio drain loop; ``handler`` may be a coroutine function. Set ``stop`` to end it:
        the long poll in flight is aborted at once, then it stops as the blocking loop does."""
        stop = stop or asyncio.Event()
        report = on_error or (lambda error, context: None)
        stats = DrainStats()
        hint = {"poll_ms": 0}
        wake = asyncio.Event()
        signal = AbortSignal()

        async def beat() -> None:
            while not stop.is_set():
                stream = stream_health.take_report() if stream_health else None
                try:
                    hint["poll_ms"] = (await self.heartbeat(stream)).get("pollHintMs", 0)
                    if not hint["poll_ms"]:
                        wake.set()
                except BridgeError as error:
                    if stream_health and stream:
                        stream_health.restore(stream)
                    report(error, "heartbeat")
                await _wait(stop, heartbeat_s)

        async def abort_on_stop() -> None:
            await stop.wait()
            signal.abort()

        beater = asyncio.ensure_future(beat())
        aborter = asyncio.ensure_future(abort_on_stop())
        release, failures = True, 0
        try:
            while not stop.is_set():
                try:
                    res = await self.pull(max=max, wait_ms=0 if hint["poll_ms"] else wait_ms, lease_ms=lease_ms,
                                          release=release, signal=signal)
                except BridgeError as error:
                    if stop.is_set():
                        break
                    if not error.retryable:
                        raise
                    stats.network_errors += 1
                    report(error, "pull")
                    release = True  # a lost answer may have carried events leased to us
                    await _wait(stop, backoff_seconds(failures))
                    failures += 1
                    continue
                release, failures = False, 0
                stats.pulls += 1
                hint["poll_ms"] = res.get("pollHintMs", 0)
                events = res.get("events", [])
                for i, event in enumerate(events):
                    if stop.is_set():
                        await asyncio.to_thread(self.sync._give_back, events[i:], report)
                        break
                    await self._handle(event, handler, lease_ms or res.get("leaseMs", 60_000), retry_delay_ms, stats, report, on_acked)
                if not events and hint["poll_ms"]:
                    wake.clear()
                    await _wait_any((stop, wake), hint["poll_ms"] / 1000.0)
        finally:
            stop.set()
            signal.abort()
            beater.cancel()
            aborter.cancel()
            await asyncio.to_thread(self.sync._on_stop, stream_health, report)
        return stats

    async def _handle(self, event: Event, handler: Callable[[Event], Any], lease_ms: int,
                      retry_delay_ms: Callable[[int], int], stats: DrainStats,
                      report: Callable[[BaseException, str], None],
                      on_acked: Optional[Callable[[Event], None]] = None) -> None:
        if event.get("decodeError"):
            await asyncio.to_thread(self.sync._settle, event, _undecodable(event), retry_delay_ms, stats, report)
            return

        async def keep_leased() -> None:
            while True:
                await asyncio.sleep(max(0.5, lease_ms / 2000.0))
                try:
                    await self.extend([event["leaseId"]], lease_ms)
                except BridgeError as error:
                    report(error, "extend")

        keeper = asyncio.ensure_future(keep_leased())
        failure: Optional[BaseException] = None
        try:
            result = handler(event)
            if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
                await result
        except Exception as error:
            failure = error
        finally:
            keeper.cancel()
        await asyncio.to_thread(self.sync._settle, event, failure, retry_delay_ms, stats, report, on_acked)


async def _wait(event: asyncio.Event, seconds: float) -> None:
    await _wait_any((event,), seconds)


async def _wait_any(events: "tuple[asyncio.Event, ...]", seconds: float) -> None:
    """Sleeps up to ``seconds``, ending early when any of ``events`` is set."""
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()
