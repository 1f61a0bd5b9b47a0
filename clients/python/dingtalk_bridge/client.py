"""The consumer API of dingtalk-fallback-bridge, one method per route (standard library only)."""

import hashlib
import http.client
import json
import os
import re
import socket
import time
import urllib.error
import urllib.parse
import threading
import urllib.request
from typing import Any, Callable, Dict, List, Optional

from .abort import AbortSignal, _SignalHTTPHandler, _SignalHTTPSHandler
from .backoff import backoff_seconds
from .decoding import Event, _decode
from .drain import Drain, DrainOptions, DrainStats
from .errors import BridgeError, BridgeNetworkError, BridgeRequestError, _error_for

# A send may take the bridge a while: DingTalk's own timeouts on the session webhook, then the robot
# API, before it answers "queued". The TypeScript client waits as long.
SEND_TIMEOUT_S = 75.0

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
        self._takes_held: Optional[bool] = None  # does the bridge take `held` on pulls?

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
             signal: Optional[AbortSignal] = None, held: Optional[List[str]] = None) -> Dict[str, Any]:
        """Leases up to ``max`` events. ``held`` lists the leases this consumer still holds: the bridge
        returns every other lease of this consumer to the queue at once (a bridge from before ``held``
        is asked without it). An event this client cannot decode comes back alone with ``decodeError``
        set; ``signal.abort()`` ends the call at once (a long poll included)."""
        body: Dict[str, Any] = {"max": max, "waitMs": wait_ms, "consumer": self.consumer}
        if lease_ms is not None:
            body["leaseMs"] = lease_ms
        if release:
            body["release"] = True
        if held is not None and self._takes_held is not False:
            body["held"] = list(held)
        # Not retried here: a lost answer would leave events leased; the drain backs off instead.
        timeout = self.timeout + wait_ms / 1000.0
        try:
            return self._call("POST", "pull", body, timeout=timeout, safe=False, signal=signal, listing=True)
        except BridgeRequestError as error:
            if "held" not in body or error.status != 400 or "held" not in str(error):
                raise
            self._takes_held = False
            del body["held"]
            return self._call("POST", "pull", body, timeout=timeout, safe=False, signal=signal, listing=True)

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

    def history(self, after_seq: int = 0, limit: int = 100, order: str = "asc",
                conversation_id: Optional[str] = None, msg_id: Optional[str] = None,
                sender: Optional[str] = None) -> Dict[str, Any]:
        """Stored events within retention, acked or not, oldest first (``order="desc"``: newest first);
        one conversation's, one message's or one sender's when named."""
        query = {"afterSeq": after_seq, "limit": limit, "order": order, "conversationId": conversation_id,
                 "msgId": msg_id, "sender": sender}
        params = urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        return self._call("GET", "events?" + params, listing=True)

    def replay(self, ids: Optional[List[str]] = None, from_seq: Optional[int] = None, to_seq: Optional[int] = None,
               conversation_id: Optional[str] = None) -> Dict[str, Any]:
        """Hands delivered events out again as new deliveries (same payload, ``replayOf`` naming the
        original): the ``ids``, or the seq range ``from_seq``..``to_seq`` (of one conversation).
        Answers ``{replayed, skipped, nextFromSeq}``."""
        if ids is not None:
            body: Dict[str, Any] = {"ids": list(ids)}
        else:
            body = {"fromSeq": from_seq, "toSeq": to_seq}
            if conversation_id is not None:
                body["conversationId"] = conversation_id
        return self._call("POST", "events/replay", body, safe=False)

    def purge(self, ids: Optional[List[str]] = None) -> Dict[str, Any]:
        """Deletes dead letters for good: the named ones, or every one when none are named."""
        return self._call("POST", "dead-letters/purge", {"ids": list(ids)} if ids else {"all": True})

    def outbox(self, state: Optional[str] = None, limit: int = 100) -> Dict[str, Any]:
        """The sends, newest first (``{"sends": [...]}``), or those in one ``state``: queued, sent,
        refused, failed or cancelled."""
        query = {"limit": limit} if state is None else {"state": state, "limit": limit}
        return self._call("GET", "outbox?" + urllib.parse.urlencode(query))

    def cancel_sends(self, keys: List[str]) -> Dict[str, Any]:
        """Cancels sends still waiting for a retry: ``{cancelled: [...], notQueued: [...]}``."""
        return self._call("POST", "outbox/cancel", {"keys": list(keys)})

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

    def drain(self, handler: Callable[[Event], Any], *, stop_event: Optional[threading.Event] = None,
              **options: Any) -> DrainStats:
        """Pulls and hands each event to ``handler`` (in a worker thread) until ``stop_event`` is set:
        one ordering key's events one after another, in order, different keys side by side
        (``concurrency``, default 4). It acks when the handler returns and nacks with backoff when it
        raises (an event this client cannot decode is nacked with the reason, alone); a handler that
        returns a ``Later`` settles its event when it likes. Leases of events in hand or waiting
        behind their key are extended. When ``stop_event`` is set, the long poll in flight is aborted
        at once; the drain finishes the events in hand, gives the rest back with a release (which
        also ends its long polls on the bridge), sends the last Stream report, and returns. Options:
        ``DrainOptions``."""
        return Drain(self, handler, DrainOptions(**options), stop_event or threading.Event()).run()
