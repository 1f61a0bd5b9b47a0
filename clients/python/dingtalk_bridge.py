"""Drain client for dingtalk-fallback-bridge, for Python gateways (Hermes and the like).

Standard library only. ``BridgeClient`` speaks the consumer API and runs a blocking ``drain``
loop; ``AsyncBridgeClient`` is the asyncio counterpart, which never blocks the event loop.
``StreamHealth`` collects what the gateway's own DingTalk Stream connection sees, for heartbeats.

    client = BridgeClient("https://bridge.example.workers.dev", token, consumer="hermes-1")
    client.drain(lambda event: handle(event["payload"]), stop_event=stop)
"""

from __future__ import annotations

import asyncio
import json
import random
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Awaitable, Callable, Dict, List, Optional, Union

__all__ = [
    "AsyncBridgeClient",
    "BridgeAuthError",
    "BridgeClient",
    "BridgeError",
    "BridgeNetworkError",
    "BridgeNotFoundError",
    "BridgeRequestError",
    "BridgeServerError",
    "DrainStats",
    "StreamHealth",
    "backoff_seconds",
]

Event = Dict[str, Any]


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
    """404: no such app on this bridge."""


class BridgeRequestError(BridgeError):
    """Any other 4xx: the request is wrong; the message names what."""


class BridgeServerError(BridgeError):
    """5xx: the bridge failed; safe to retry."""

    retryable = True


class BridgeNetworkError(BridgeError):
    """No HTTP answer: refused, reset or timed out."""

    retryable = True


def _error_for(status: int, code: str, message: str) -> BridgeError:
    text = "%d %s: %s" % (status, code, message)
    if status == 401:
        return BridgeAuthError(text, status, code)
    if status == 404:
        return BridgeNotFoundError(text, status, code)
    if status >= 500:
        return BridgeServerError(text, status, code)
    return BridgeRequestError(text, status, code)


def backoff_seconds(failures: int, base: float = 0.5, cap: float = 30.0) -> float:
    """Exponential backoff with jitter over its upper half, so restarted gateways spread out."""
    ceiling = min(cap, base * (2 ** min(failures, 16)))
    return ceiling / 2 + random.random() * ceiling / 2


def default_retry_delay_ms(attempt: int) -> int:
    return int(min(1000 * 2 ** max(0, attempt - 1), 300_000))


# ---- stream health ------------------------------------------------------------------------------


class StreamHealth:
    """What the gateway's Stream connection has seen; thread-safe.

    Call ``connected_now()`` when the Stream socket opens (every open after the first counts as a
    reconnect), ``disconnected_now()`` when it drops, and ``message_received(msg_id)`` for every
    robot message that arrived over Stream. The drain loop sends the report in its heartbeats.
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
    """The bridge's consumer API. ``consumer`` should be stable per gateway instance: a restart
    with the same id takes its old leases back at once (``release``)."""

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
        self.consumer = consumer or "%s-python" % socket.gethostname().replace(" ", "-")[:100]
        self.timeout = timeout
        self.retries = retries
        self._token = token
        self._base = "%s/v1/%s" % (self.url, urllib.parse.quote(app, safe=""))

    def __repr__(self) -> str:  # never shows the token
        return "BridgeClient(url=%r, app=%r, consumer=%r)" % (self.url, self.app, self.consumer)

    # Each call; `safe` ones (idempotent on the bridge) are retried with backoff on 5xx/network.

    def pull(self, max: int = 10, wait_ms: int = 0, lease_ms: Optional[int] = None, release: bool = False) -> Dict[str, Any]:
        body: Dict[str, Any] = {"max": max, "waitMs": wait_ms, "consumer": self.consumer}
        if lease_ms is not None:
            body["leaseMs"] = lease_ms
        if release:
            body["release"] = True
        # Not retried here: a lost answer would leave events leased; drain() backs off instead.
        return self._call("POST", "pull", body, timeout=self.timeout + wait_ms / 1000.0, safe=False)

    def ack(self, lease_ids: List[str]) -> Dict[str, Any]:
        return self._call("POST", "ack", {"leaseIds": list(lease_ids)})

    def nack(self, lease_ids: List[str], delay_ms: int = 0, reason: Optional[str] = None) -> Dict[str, Any]:
        body: Dict[str, Any] = {"leaseIds": list(lease_ids), "delayMs": int(delay_ms)}
        if reason:
            body["reason"] = reason[:500]
        return self._call("POST", "nack", body)

    def extend(self, lease_ids: List[str], lease_ms: int) -> Dict[str, Any]:
        return self._call("POST", "extend", {"leaseIds": list(lease_ids), "leaseMs": int(lease_ms)})

    def heartbeat(self, stream: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        body: Dict[str, Any] = {"consumer": self.consumer}
        if stream is not None:
            body["stream"] = stream
        return self._call("POST", "heartbeat", body)

    def status(self) -> Dict[str, Any]:
        return self._call("GET", "status")

    def history(self, after_seq: int = 0, limit: int = 100) -> Dict[str, Any]:
        return self._call("GET", "events?afterSeq=%d&limit=%d" % (after_seq, limit))

    def dead_letters(self, after_seq: int = 0, limit: int = 100) -> Dict[str, Any]:
        return self._call("GET", "dead-letters?afterSeq=%d&limit=%d" % (after_seq, limit))

    def redrive(self, ids: Optional[List[str]] = None) -> Dict[str, Any]:
        return self._call("POST", "dead-letters/redrive", {"ids": list(ids)} if ids else {})

    def _call(self, method: str, path: str, body: Any = None, timeout: Optional[float] = None, safe: bool = True) -> Dict[str, Any]:
        failures = 0
        while True:
            try:
                return self._once(method, path, body, timeout or self.timeout)
            except BridgeError as error:
                if not (safe and error.retryable and failures < self.retries):
                    raise
                time.sleep(backoff_seconds(failures, base=0.2, cap=5.0))
                failures += 1

    def _once(self, method: str, path: str, body: Any, timeout: float) -> Dict[str, Any]:
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(
            "%s/%s" % (self._base, path),
            data=data,
            method=method,
            headers={"Authorization": "Bearer %s" % self._token, "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                text = response.read().decode("utf-8")
        except urllib.error.HTTPError as error:
            text = error.read().decode("utf-8", "replace")
            code, message = "http_error", text[:300]
            try:
                parsed = json.loads(text)["error"]
                code, message = parsed.get("code", code), parsed.get("message", message)
            except (ValueError, KeyError, TypeError):
                pass
            raise _error_for(error.code, code, message) from None
        except (urllib.error.URLError, OSError) as error:
            raise BridgeNetworkError("no answer from the bridge (%s)" % error, None, "network") from None
        try:
            return json.loads(text)
        except ValueError:
            raise BridgeError("the bridge answered with a body that is not JSON", None, "bad_response") from None

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
    ) -> DrainStats:
        """Pulls, hands each event to ``handler`` in order, acks on return and nacks with backoff
        when it raises. Long handlers keep their lease. Returns when ``stop_event`` is set, after
        the event in hand; the rest of its batch goes back to the queue at once."""
        stop = stop_event or threading.Event()
        report = on_error or (lambda error, context: None)
        stats = DrainStats()
        hint = {"poll_ms": 0}
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

        beater = threading.Thread(target=beat, name="bridge-heartbeat", daemon=True)
        beater.start()
        release, failures = True, 0
        try:
            while not stop.is_set():
                try:
                    res = self.pull(max=max, wait_ms=0 if hint["poll_ms"] else wait_ms, lease_ms=lease_ms, release=release)
                except BridgeError as error:
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
                    self._handle(event, handler, lease_ms or res.get("leaseMs", 60_000), retry_delay_ms, stats, report)
                if not events and hint["poll_ms"]:
                    wake.clear()
                    deadline = time.monotonic() + hint["poll_ms"] / 1000.0
                    while not (stop.is_set() or wake.is_set()) and time.monotonic() < deadline:
                        wake.wait(min(0.25, deadline - time.monotonic()))
        finally:
            stop.set()
        return stats

    def _handle(self, event: Event, handler: Callable[[Event], Any], lease_ms: int,
                retry_delay_ms: Callable[[int], int], stats: DrainStats,
                report: Callable[[BaseException, str], None]) -> None:
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
        self._settle(event, failure, retry_delay_ms, stats, report)

    def _settle(self, event: Event, failure: Optional[BaseException], retry_delay_ms: Callable[[int], int],
                stats: DrainStats, report: Callable[[BaseException, str], None]) -> None:
        """Acks a handled event, or nacks a failed one with its backoff delay and reason."""
        try:
            if failure is None:
                self.ack([event["leaseId"]])
                stats.acked += 1
            else:
                report(failure, "handler")
                self.nack([event["leaseId"]], retry_delay_ms(event.get("attempt", 1)), str(failure) or type(failure).__name__)
                stats.nacked += 1
        except BridgeError as error:
            # The lease runs out and the event comes back: at least once, never lost.
            report(error, "ack" if failure is None else "nack")

    def _give_back(self, events: List[Event], report: Callable[[BaseException, str], None]) -> None:
        if not events:
            return
        try:
            self.nack([e["leaseId"] for e in events], 0, "consumer stopping")
        except BridgeError as error:
            report(error, "nack")


# ---- asyncio ------------------------------------------------------------------------------------


class AsyncBridgeClient:
    """The same API for asyncio: each call runs in a worker thread, so the event loop never blocks."""

    def __init__(self, url: str, token: str, app: str = "default", consumer: Optional[str] = None,
                 timeout: float = 10.0, retries: int = 2) -> None:
        self.sync = BridgeClient(url, token, app=app, consumer=consumer, timeout=timeout, retries=retries)

    @property
    def consumer(self) -> str:
        return self.sync.consumer

    async def pull(self, **kwargs: Any) -> Dict[str, Any]:
        return await asyncio.to_thread(self.sync.pull, **kwargs)

    async def ack(self, lease_ids: List[str]) -> Dict[str, Any]:
        return await asyncio.to_thread(self.sync.ack, lease_ids)

    async def nack(self, lease_ids: List[str], delay_ms: int = 0, reason: Optional[str] = None) -> Dict[str, Any]:
        return await asyncio.to_thread(self.sync.nack, lease_ids, delay_ms, reason)

    async def extend(self, lease_ids: List[str], lease_ms: int) -> Dict[str, Any]:
        return await asyncio.to_thread(self.sync.extend, lease_ids, lease_ms)

    async def heartbeat(self, stream: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        return await asyncio.to_thread(self.sync.heartbeat, stream)

    async def status(self) -> Dict[str, Any]:
        return await asyncio.to_thread(self.sync.status)

    async def history(self, after_seq: int = 0, limit: int = 100) -> Dict[str, Any]:
        return await asyncio.to_thread(self.sync.history, after_seq, limit)

    async def dead_letters(self, after_seq: int = 0, limit: int = 100) -> Dict[str, Any]:
        return await asyncio.to_thread(self.sync.dead_letters, after_seq, limit)

    async def redrive(self, ids: Optional[List[str]] = None) -> Dict[str, Any]:
        return await asyncio.to_thread(self.sync.redrive, ids)

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
    ) -> DrainStats:
        """The asyncio drain loop; ``handler`` may be a coroutine function. Set ``stop`` to end it."""
        stop = stop or asyncio.Event()
        report = on_error or (lambda error, context: None)
        stats = DrainStats()
        hint = {"poll_ms": 0}
        wake = asyncio.Event()

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

        beater = asyncio.ensure_future(beat())
        release, failures = True, 0
        try:
            while not stop.is_set():
                try:
                    res = await self.pull(max=max, wait_ms=0 if hint["poll_ms"] else wait_ms, lease_ms=lease_ms, release=release)
                except BridgeError as error:
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
                    await self._handle(event, handler, lease_ms or res.get("leaseMs", 60_000), retry_delay_ms, stats, report)
                if not events and hint["poll_ms"]:
                    wake.clear()
                    await _wait_any((stop, wake), hint["poll_ms"] / 1000.0)
        finally:
            stop.set()
            beater.cancel()
        return stats

    async def _handle(self, event: Event, handler: Callable[[Event], Any], lease_ms: int,
                      retry_delay_ms: Callable[[int], int], stats: DrainStats,
                      report: Callable[[BaseException, str], None]) -> None:
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
        await asyncio.to_thread(self.sync._settle, event, failure, retry_delay_ms, stats, report)


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
