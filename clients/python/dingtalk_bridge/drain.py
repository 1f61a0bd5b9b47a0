"""The drain loop, written once: ``BridgeClient.drain`` runs it in the caller's thread and
``AsyncBridgeClient.drain`` in a worker thread, with the handler called on the event loop.

Threads: the pull loop (the caller's), ``concurrency`` workers that run handlers, one settler that
acks and nacks, one keeper that extends every lease still held, the heartbeat, and one that aborts
the long poll on stop. One ordering key's events run one after another, in order; different keys
run side by side. Every pull lists in ``held`` each lease this drain has not had an ack or nack
answered for, so a lease the bridge believes we hold but we do not comes back at once.
"""

import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Deque, Dict, Hashable, List, Optional, Tuple

from .abort import AbortSignal
from .backoff import backoff_seconds, default_retry_delay_ms
from .decoding import Event
from .errors import BridgeDecodeError, BridgeError
from .health import StreamHealth
from .later import Later, Verdict
from .ordering import UNKEYED, KeyedQueue, ordering_key

# At most this many leases are held at once: a pull asks for no more than the room left.
HOLD_LIMIT = 100
# Calls made while stopping get this long at most, so a gateway stops within its shutdown budget.
STOP_TIMEOUT_S = 1.5
ACK_RETRY_S = 2.0


@dataclass
class DrainOptions:
    """``max``: events asked for per pull and kept waiting at most; ``concurrency``: keys handled at
    once; ``on_error(error, where)``: every failure, with where it happened (``pull``, ``handler``,
    ``ack``, ...); ``on_acked(event)``: once the bridge confirmed an ack."""

    max: int = 10
    wait_ms: int = 10_000
    lease_ms: Optional[int] = None
    heartbeat_s: float = 15.0
    stream_health: Optional[StreamHealth] = None
    retry_delay_ms: Callable[[int], int] = default_retry_delay_ms
    on_error: Optional[Callable[[BaseException, str], None]] = None
    on_acked: Optional[Callable[[Event], None]] = None
    concurrency: int = 4


class DrainStats:
    def __init__(self) -> None:
        self.acked = 0
        self.nacked = 0
        self.pulls = 0
        self.network_errors = 0

    def __repr__(self) -> str:
        return "DrainStats(acked=%d, nacked=%d, pulls=%d, network_errors=%d)" % (
            self.acked, self.nacked, self.pulls, self.network_errors)


class _Held:
    """A lease this drain holds: ``state`` is waiting, running, later (the handler returned a
    ``Later``) or settling (its ack or nack not answered yet)."""

    def __init__(self, event: Event) -> None:
        self.event = event
        self.state = "waiting"
        self.expires = 0.0


class Drain:
    def __init__(self, client: Any, handler: Callable[[Event], Any], options: DrainOptions,
                 stop: threading.Event) -> None:
        self.client = client
        self.handler = handler
        self.options = options
        self.stop = stop
        self.stats = DrainStats()
        self.report = options.on_error or (lambda error, where: None)
        self.lease_ms = options.lease_ms or 60_000
        self._cond = threading.Condition()
        self._queue = KeyedQueue()
        self._held: Dict[str, _Held] = {}
        self._settles: Deque[Tuple[Event, Verdict]] = deque()
        self._workers_done = False
        self._signal = AbortSignal()
        self._wake = threading.Event()  # ends a stream-mode pause when the bridge says webhook
        self._poll_ms = 0

    # ---- the pull loop

    def run(self) -> DrainStats:
        self._start(self._abort_on_stop, "abort")
        self._start(self._beat, "heartbeat")
        self._start(self._keep_leased, "extend")
        settler = self._start(self._settle_loop, "settle")
        workers = [self._start(self._work, "worker") for _ in range(max(1, self.options.concurrency))]
        try:
            self._pull_loop()
        finally:
            self.stop.set()
            with self._cond:
                self._cond.notify_all()
            for worker in workers:  # each finishes the event in its hands
                worker.join()
            with self._cond:
                self._workers_done = True
                self._cond.notify_all()
            settler.join()
            self._on_stop()
        return self.stats

    def _start(self, target: Callable[[], None], name: str) -> threading.Thread:
        thread = threading.Thread(target=target, name="bridge-" + name, daemon=True)
        thread.start()
        return thread

    def _pull_loop(self) -> None:
        release, failures = True, 0
        while not self.stop.is_set():
            with self._cond:
                while not self.stop.is_set() and not self._has_room():
                    self._cond.wait(0.5)
                if self.stop.is_set():
                    return
                room = min(self.options.max - self._queue.count, HOLD_LIMIT - len(self._held))
                held = list(self._held)
            try:
                res = self.client.pull(max=room, wait_ms=0 if self._poll_ms else self.options.wait_ms,
                                       lease_ms=self.options.lease_ms, release=release, signal=self._signal, held=held)
            except BridgeError as error:
                if self.stop.is_set():
                    return
                if not error.retryable:
                    raise
                self.stats.network_errors += 1
                self.report(error, "pull")
                release = True  # a lost answer may have carried events leased to us
                self.stop.wait(backoff_seconds(failures))
                failures += 1
                continue
            release, failures = False, 0
            self.stats.pulls += 1
            self._poll_ms = res.get("pollHintMs", 0)
            self.lease_ms = self.options.lease_ms or res.get("leaseMs", 60_000)
            events = res.get("events", [])
            self._take(events)
            if not events and self._poll_ms:
                self._wake.clear()
                deadline = time.monotonic() + self._poll_ms / 1000.0
                while not (self.stop.is_set() or self._wake.is_set()) and time.monotonic() < deadline:
                    self._wake.wait(min(0.25, deadline - time.monotonic()))

    def _has_room(self) -> bool:
        return self._queue.count < self.options.max and len(self._held) < HOLD_LIMIT

    def _take(self, events: List[Event]) -> None:
        expires = time.monotonic() + self.lease_ms / 1000.0
        with self._cond:
            for event in events:
                lease_id = event.get("leaseId")
                if isinstance(lease_id, str):
                    held = self._held[lease_id] = _Held(event)
                    held.expires = expires
                self._queue.add(ordering_key(event), event)
            self._cond.notify_all()

    # ---- workers

    def _work(self) -> None:
        while True:
            with self._cond:
                taken = None
                while not self.stop.is_set():
                    taken = self._queue.next()
                    if taken is not None:
                        break
                    self._cond.wait()
                if taken is None:
                    return
                key, event = taken
                self._mark(event, "running")
            self._run(key, event)

    def _run(self, key: Hashable, event: Event) -> None:
        verdict: Optional[Verdict] = None
        if event.get("decodeError"):
            verdict = ("nack", BridgeDecodeError("undecodable event: %s" % event.get("decodeError"), None, "bad_event"))
        else:
            try:
                result = self.handler(event)
            except Exception as error:  # the handler's failure becomes a nack, never a crash
                verdict = ("nack", error)
            else:
                if isinstance(result, Later):
                    self._mark(event, "later")
                    result._listen(lambda later_verdict: self._settle(event, later_verdict))
                else:
                    verdict = ("ack", None)
        if verdict is not None:
            self._settle(event, verdict)
        with self._cond:
            if verdict is not None and verdict[0] == "nack" and key is not UNKEYED:
                # Its key's later events must not overtake it: back to the bridge, which hands them
                # out again only after this one (left out of `held`, their attempts do not count).
                for follower in self._queue.take_waiting(key):
                    if self.client._takes_held is False:
                        self._settle(follower, ("give_back", None))
                    else:
                        self._held.pop(follower.get("leaseId"), None)  # type: ignore[arg-type]
            self._queue.finish(key)
            self._cond.notify_all()

    def _mark(self, event: Event, state: str) -> None:
        held = self._held.get(event.get("leaseId"))  # type: ignore[arg-type]
        if held is not None:
            held.state = state

    # ---- settling: acks batched, nacks one by one, all from one thread

    def _settle(self, event: Event, verdict: Verdict) -> None:
        with self._cond:
            self._mark(event, "settling")
            self._settles.append((event, verdict))
            self._cond.notify_all()

    def _settle_loop(self) -> None:
        while True:
            with self._cond:
                while not self._settles and not self._workers_done:
                    self._cond.wait(0.5)
                batch = list(self._settles)
                self._settles.clear()
                if not batch and self._workers_done:
                    return
            acks = [event for event, verdict in batch if verdict[0] == "ack"]
            for event, verdict in batch:
                if not isinstance(event.get("leaseId"), str):
                    # Nothing to answer with: the lease runs out and the event comes back by itself.
                    self.report(verdict[1] or BridgeDecodeError("an event without a usable leaseId"), "settle")
                elif verdict[0] != "ack":
                    self._nack(event, verdict)
            acks = [event for event in acks if isinstance(event.get("leaseId"), str)]
            for start in range(0, len(acks), 100):
                self._ack(acks[start:start + 100])

    def _ack(self, events: List[Event]) -> None:
        try:
            stale = set(self.client.ack([e["leaseId"] for e in events]).get("stale") or [])
        except BridgeError as error:
            self.report(error, "ack")
            self._retry_ack(events)
            return
        for event in events:
            self._forget(event)
            if event["leaseId"] in stale:
                continue  # the lease had run out: the event comes back, and is not counted as acked
            self.stats.acked += 1
            if self.options.on_acked:
                self.options.on_acked(event)

    def _retry_ack(self, events: List[Event]) -> None:
        """No answer: the ack is tried again while the lease lasts, and the lease stays in ``held``."""
        now = time.monotonic()
        with self._cond:
            live = [e for e in events if self._held.get(e["leaseId"]) and self._held[e["leaseId"]].expires > now]
            for event in events:
                if event not in live:
                    self._held.pop(event["leaseId"], None)
        if live and not self.stop.is_set():
            timer = threading.Timer(ACK_RETRY_S, lambda: [self._settle(e, ("ack", None)) for e in live])
            timer.daemon = True
            timer.start()

    def _nack(self, event: Event, verdict: Verdict) -> None:
        kind, failure = verdict
        try:
            if kind == "give_back":
                self.client.nack([event["leaseId"]], 0, "given back by the consumer")
            else:
                self.report(failure, "handler")  # type: ignore[arg-type]
                attempt = event.get("attempt") if isinstance(event.get("attempt"), int) else 1
                self.client.nack([event["leaseId"]], self.options.retry_delay_ms(attempt),
                                 str(failure) or type(failure).__name__)
                self.stats.nacked += 1
        except BridgeError as error:
            self.report(error, "nack")  # the lease runs out and the event comes back: never lost
        self._forget(event)

    def _forget(self, event: Event) -> None:
        with self._cond:
            self._held.pop(event["leaseId"], None)
            self._cond.notify_all()

    # ---- keeping leases, heartbeats, stopping

    def _keep_leased(self) -> None:
        while not self.stop.wait(max(0.5, self.lease_ms / 2000.0)):
            with self._cond:
                ids = [lease_id for lease_id, held in self._held.items() if held.state != "settling"]
            for start in range(0, len(ids), 100):
                chunk = ids[start:start + 100]
                try:
                    self.client.extend(chunk, self.lease_ms)
                except BridgeError as error:
                    self.report(error, "extend")
                    continue
                expires = time.monotonic() + self.lease_ms / 1000.0
                with self._cond:
                    for lease_id in chunk:
                        if lease_id in self._held:
                            self._held[lease_id].expires = expires

    def _beat(self) -> None:
        health = self.options.stream_health
        while not self.stop.is_set():
            stream = health.take_report() if health else None
            try:
                self._poll_ms = self.client.heartbeat(stream).get("pollHintMs", 0)
                if not self._poll_ms:
                    self._wake.set()
            except BridgeError as error:
                if health and stream:
                    health.restore(stream)
                self.report(error, "heartbeat")
            self.stop.wait(self.options.heartbeat_s)

    def _abort_on_stop(self) -> None:
        self.stop.wait()
        self._signal.abort()
        with self._cond:
            self._cond.notify_all()

    def _on_stop(self) -> None:
        """Each call short and unretried: hand back (what waited, and every ``Later`` still open, goes
        back to the bridge, its attempt not counted; it also ends this consumer's long polls there), then the last Stream
        report, so no msgId waits for a heartbeat that never comes."""
        with self._cond:
            self._queue.take_all()
        try:
            # Nothing handed back was finished, so none of it counts as an attempt.
            self.client.hand_back(timeout=STOP_TIMEOUT_S, retries=0)
        except BridgeError as error:
            self.report(error, "release")
        health = self.options.stream_health
        if health and health.has_unreported():
            stream = health.take_report()
            try:
                self.client.heartbeat(stream, timeout=STOP_TIMEOUT_S)
            except BridgeError as error:
                health.restore(stream)
                self.report(error, "heartbeat")
