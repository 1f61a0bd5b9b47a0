"""dingtalk-fallback-bridge drop-in for the Hermes DingTalk adapter (plugins/platforms/dingtalk/).

Copy this file and ``clients/python/dingtalk_bridge.py`` beside Hermes's
``plugins/platforms/dingtalk/adapter.py`` and apply ``adapter.patch`` (``patch -p1`` from the
Hermes root). The patch adds one guarded hook at each of six places; every hook is a no-op unless
a bridge is configured, so without one the adapter behaves exactly as before.

    platforms:
      dingtalk:
        extra:
          bridge_url: "https://dingtalk-fallback-bridge.example.workers.dev"
          bridge_mode: only        # only (recommended) | hedge | off
          bridge_app: default      # optional
    # and the consumer token in DINGTALK_BRIDGE_TOKEN (DTBRIDGE_TOKEN is read too)

``only``: the bridge holds DingTalk Stream (``STREAM_LINK=on``) or takes HTTP callbacks; the
adapter opens no Stream connection and only drains. ``hedge``: the adapter keeps its own Stream and
drains the bridge too, reporting its Stream's real health (socket state, reconnects across
restarts, msgIds) so the bridge can tell when DingTalk stops routing.

What the relay guarantees:
- one inbound path: a bridged message is turned into the SDK's ``CallbackMessage`` and given to
  the adapter's own ``_IncomingHandler.process`` (reactions, backfills, dedup, mention gating);
- nothing twice: the moment ``handle_message`` returns (the agent has the message) a record is
  written to a journal that survives kill -9, before the agent's task can run; a redelivered event
  (``attempt`` > 1) that the journal knows is acked without a second turn, and the journal's
  unconfirmed acks are checked against the bridge's history on start;
- stop fast: ``stop()`` aborts the long poll locally, releases on the bridge (which ends the poll
  there too), and ends the SDK's Stream loop, all within about 1.8 s;
- replies: when a bridged message's session webhook is missing or expires within 5 minutes, the
  adapter's ``send`` goes through the bridge's ``send`` route with the reply's idempotency key.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
import types
from typing import Any, Dict, List, Optional, Tuple

try:  # a sibling module of the plugin package, as Hermes imports plugin files
    from . import dingtalk_bridge as bridge_client
except ImportError:
    try:  # loaded as a top-level module (tools, tests)
        import dingtalk_bridge as bridge_client  # type: ignore[no-redef]
    except ImportError:
        bridge_client = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

MODES = ("off", "hedge", "only")
ROBOT_TOPIC = "/v1.0/im/bot/messages/get"
STOP_BUDGET_S = 1.8          # Hermes gives an adapter 5 s to disconnect; this stays well inside 2 s
STREAM_STOP_S = 0.5
WATCH_INTERVAL_S = 0.5
DEDUP_WINDOW_S = 300         # Hermes's MessageDeduplicator keeps msgIds for 5 minutes
OPENS_WINDOW_S = 3600        # Stream opens reported across restarts (the stall window is 10 min)


# ---- settings -------------------------------------------------------------------------------------


def settings_from(extra: Dict[str, Any], env: Optional[Dict[str, str]] = None) -> Optional[Dict[str, Any]]:
    """The bridge settings, or None when no bridge is configured. Each comes from
    ``platforms.dingtalk.extra`` first, then from the environment, as Hermes reads its other
    DingTalk settings (``client_secret`` / ``DINGTALK_CLIENT_SECRET``)."""
    env = os.environ if env is None else env
    url = str(extra.get("bridge_url") or env.get("DINGTALK_BRIDGE_URL") or "").strip()
    mode = str(extra.get("bridge_mode") or env.get("DINGTALK_BRIDGE_MODE") or "hedge").strip().lower()
    if not url or mode == "off":
        return None
    return {
        "url": url,
        "mode": mode,
        "app": str(extra.get("bridge_app") or env.get("DINGTALK_BRIDGE_APP") or "default"),
        "token": str(extra.get("bridge_token") or env.get("DINGTALK_BRIDGE_TOKEN") or env.get("DTBRIDGE_TOKEN") or ""),
        "consumer": str(extra.get("bridge_consumer") or "") or default_consumer(),
        "journal": str(extra.get("bridge_journal") or ""),
        "heartbeat_s": float(extra.get("bridge_heartbeat_s") or 15.0),
    }


def default_consumer(home: Optional[str] = None) -> str:
    """``<hostname>-hermes``, plus the profile when the Hermes home is not the default one: stable
    across restarts (so a restart takes its own leases back at once) and different per gateway."""
    name = os.path.basename((home or _hermes_home()).rstrip("/"))
    profile = "" if name in ("", ".hermes", "hermes") else "-" + "".join(c if c.isalnum() or c in "._-" else "-" for c in name)
    base = bridge_client.default_consumer("hermes") if bridge_client else "hermes"
    return (base + profile)[:128]


def _hermes_home() -> str:
    try:
        from hermes_constants import get_hermes_home
        return str(get_hermes_home())
    except Exception:
        return os.environ.get("HERMES_HOME") or os.path.join(os.path.expanduser("~"), ".hermes")


# ---- the journal --------------------------------------------------------------------------------


class Journal:
    """What this gateway instance handed to the agent, in an append-only file that survives kill -9.

    Records (JSON lines): ``{"h": event id, "s": seq, "m": msgId, "c": chat id, "t": ms}`` handed,
    ``{"a": event id}`` ack confirmed by the bridge, ``{"sm": msgId}`` handled over Stream, and
    ``{"o": ms}`` a Stream connection opened. Each record is one ``os.write``: once it returns, the
    record outlives the process. Compacted on open.
    """

    KEEP_UNCONFIRMED_S = 8 * 86400   # past the bridge's retention: such an event may still come back
    KEEP_CONFIRMED_S = 3600          # acked handed events and Stream msgIds: for msgId dedup only

    def __init__(self, path: str, clock=time.time) -> None:
        self.path = path
        self._clock = clock
        self._lock = threading.Lock()
        self._fd: Optional[int] = None
        self._reset()

    def _reset(self) -> None:
        self.handed: Dict[str, Dict[str, Any]] = {}    # event id -> its record
        self.acked: set = set()                         # event ids whose ack the bridge confirmed
        self.by_msg: Dict[str, float] = {}              # msgId -> when handed (either path), seconds
        self.msg_events: Dict[str, str] = {}            # msgId -> event id (bridged)
        self.chats: Dict[str, str] = {}                 # chat id -> latest handed event id
        self.opens: List[int] = []                      # Stream opens, ms

    def open(self) -> None:
        """Loads the file, keeps what still matters, rewrites it compacted and opens it for appends."""
        records = []
        try:
            with open(self.path, "rb") as f:
                for line in f:
                    try:
                        records.append(json.loads(line))
                    except ValueError:
                        continue  # a record torn by a crash mid-write
        except FileNotFoundError:
            pass
        for r in records:
            self._fold(r)
        now = self._clock()
        latest_per_chat = set(self.chats.values())
        kept = []
        for event_id, r in self.handed.items():
            age = now - r.get("t", 0) / 1000.0
            if event_id not in self.acked:
                keep = age < self.KEEP_UNCONFIRMED_S
            else:  # confirmed: kept for msgId dedup, and the latest per chat for replies after a restart
                keep = age < self.KEEP_CONFIRMED_S or (event_id in latest_per_chat and age < self.KEEP_UNCONFIRMED_S)
            if keep:
                kept.append(r)
                if event_id in self.acked:
                    kept.append({"a": event_id})
        bridged = set(self.msg_events)
        kept += [{"sm": m, "t": int(t * 1000)} for m, t in self.by_msg.items()
                 if m not in bridged and now - t < self.KEEP_CONFIRMED_S]
        kept += [{"o": t} for t in self.opens if now - t / 1000.0 < OPENS_WINDOW_S]
        self._reset()
        for r in kept:
            self._fold(r)
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            f.write("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in kept))
        os.replace(tmp, self.path)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def close(self) -> None:
        """Later records (a dispatch that finishes after the stop) are still written, by path."""
        with self._lock:
            fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def _fold(self, r: Dict[str, Any]) -> None:
        if "h" in r:
            self.handed[r["h"]] = r
            if r.get("m"):
                self.by_msg[r["m"]] = r.get("t", 0) / 1000.0
                self.msg_events[r["m"]] = r["h"]
            if r.get("c"):
                self.chats.pop(r["c"], None)
                self.chats[r["c"]] = r["h"]
        elif "a" in r:
            self.acked.add(r["a"])
        elif "sm" in r:
            self.by_msg[r["sm"]] = r.get("t", 0) / 1000.0
        elif "o" in r:
            self.opens.append(int(r["o"]))

    def _append(self, r: Dict[str, Any]) -> None:
        line = (json.dumps(r, separators=(",", ":")) + "\n").encode()
        with self._lock:
            self._fold(r)
            try:
                if self._fd is not None:
                    os.write(self._fd, line)
                else:
                    fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                    try:
                        os.write(fd, line)
                    finally:
                        os.close(fd)
            except OSError as error:
                logger.warning("[DingTalk bridge] journal write failed (%s): %s", self.path, error)

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    # -- what the relay records and asks

    def record_handed(self, event: Dict[str, Any]) -> bool:
        """Records that the agent has ``event``; False when it was already recorded."""
        if event["id"] in self.handed:
            return False
        payload = event.get("payload") or {}
        self._append({"h": event["id"], "s": event.get("seq"), "m": payload.get("msgId"),
                      "c": payload.get("conversationId") or payload.get("senderId"), "t": self._now_ms()})
        return True

    def record_acked(self, event_id: str) -> None:
        if event_id in self.handed and event_id not in self.acked:
            self._append({"a": event_id})

    def record_stream_message(self, msg_id: Optional[str]) -> None:
        if msg_id and msg_id not in self.by_msg:
            self._append({"sm": msg_id, "t": self._now_ms()})

    def record_stream_open(self) -> None:
        self._append({"o": self._now_ms()})

    def was_handed(self, event: Dict[str, Any]) -> bool:
        """Did the agent get this event before, from the bridge or over Stream? An event leased for
        the first time (``attempt`` 1) was never handed from the bridge; its msgId may still have
        come over Stream."""
        msg_id = (event.get("payload") or {}).get("msgId")
        if (event.get("attempt") or 1) > 1 and event["id"] in self.handed:
            return True
        return bool(msg_id) and msg_id in self.by_msg

    def recent_msg_ids(self, seconds: float) -> List[str]:
        cutoff = self._clock() - seconds
        return [m for m, t in self.by_msg.items() if t >= cutoff]

    def unconfirmed(self) -> List[Tuple[str, int]]:
        return [(e, r["s"]) for e, r in self.handed.items() if e not in self.acked and isinstance(r.get("s"), int)]


# ---- the relay ----------------------------------------------------------------------------------


class BridgeRelay:
    """Drains the bridge into a Hermes DingTalkAdapter; see the module docstring."""

    @classmethod
    def from_adapter(cls, adapter: Any) -> Optional["BridgeRelay"]:
        """The relay for this adapter, or None when no bridge is configured (or it cannot work, which
        is logged): the adapter then runs exactly as without the drop-in. Never raises."""
        try:
            config = settings_from(getattr(getattr(adapter, "config", None), "extra", None) or {})
            if config is None:
                return None
            name = getattr(adapter, "name", "DingTalk")
            if bridge_client is None:
                logger.error("[%s] bridge_url is set but dingtalk_bridge.py is missing beside bridge_relay.py; "
                             "running without the bridge", name)
                return None
            if not config["token"]:
                logger.error("[%s] bridge_url is set but DINGTALK_BRIDGE_TOKEN is not; running without the bridge", name)
                return None
            if config["mode"] not in MODES:
                logger.warning("[%s] unknown bridge_mode %r; using hedge (Stream and bridge)", name, config["mode"])
                config["mode"] = "hedge"
            return cls(adapter, config)
        except Exception:
            logger.exception("[DingTalk] bridge settings could not be read; running without the bridge")
            return None

    def __init__(self, adapter: Any, config: Dict[str, Any]) -> None:
        self.adapter = adapter
        self.mode: str = config["mode"]
        self.client = bridge_client.AsyncBridgeClient(config["url"], config["token"], app=config["app"],
                                                      consumer=config["consumer"])
        journal = config["journal"] or os.path.join(
            _hermes_home(), "dingtalk_bridge", "%s.%s.jsonl" % (config["app"], self.client.consumer))
        self.journal = Journal(journal)
        self.health = bridge_client.StreamHealth() if self.mode == "hedge" else None
        self.heartbeat_s = config["heartbeat_s"]
        self.failed = False
        self._handler: Any = None
        self._handle_message_hook: Any = None
        self._seen_socket: Any = None
        self._stop: Optional[asyncio.Event] = None
        self._tasks: List[asyncio.Task] = []
        self._in_hand: Dict[str, Dict[str, Any]] = {}      # msgId -> bridged event being dispatched
        self._dispatch: Dict[str, asyncio.Future] = {}     # event id -> the adapter's dispatch task
        self._name = getattr(adapter, "name", "DingTalk")

    def __repr__(self) -> str:
        return "BridgeRelay(mode=%r, client=%r)" % (self.mode, self.client.sync)

    @property
    def wants_stream(self) -> bool:
        """Whether the adapter should run its own Stream client: in hedge mode, and whenever the
        relay could not start (a broken relay must never leave the gateway deaf)."""
        return self.mode != "only" or self.failed

    # -- hooks called by the patched adapter

    def start(self, handler: Any) -> None:
        """From ``connect()``, with the adapter's ``_IncomingHandler``."""
        try:
            self._handler = handler
            self._stop = asyncio.Event()
            self.journal.open()
            self._install_handle_message_hook()
            dedup = getattr(self.adapter, "_dedup", None)
            for msg_id in self.journal.recent_msg_ids(DEDUP_WINDOW_S) if dedup is not None else ():
                dedup.is_duplicate(msg_id)  # Hermes's dedup is in memory: refill it across restarts
            self._tasks = [asyncio.ensure_future(self._run()), asyncio.ensure_future(self._reconcile())]
            if self.mode == "only":
                self._tasks.append(asyncio.ensure_future(self._check_only_mode()))
            if self.health is not None:
                self.health.opened_before([t for t in self.journal.opens if t >= (time.time() - OPENS_WINDOW_S) * 1000])
                _watch_socket_assignments(getattr(self.adapter, "_stream_client", None), self._note_socket)
                self._tasks.append(asyncio.ensure_future(self._watch_stream()))
            logger.info("[%s] draining %s (app %s, consumer %s, bridge_mode %s)", self._name,
                        self.client.sync.url, self.client.sync.app, self.client.consumer, self.mode)
        except Exception:
            self.failed = True
            logger.exception("[%s] the bridge relay could not start; the adapter runs its own Stream", self._name)

    def observe(self, message: Any, task: "asyncio.Future") -> None:
        """From ``_IncomingHandler.process()``, for each message it dispatched: bridged or Stream."""
        try:
            event = getattr(message, "bridge_event", None)
            if event is not None:
                self._dispatch[event["id"]] = task
                # Messages the adapter drops (dedup, gating, empty) are handled too: recorded when done.
                task.add_done_callback(lambda _t, e=event: self._handed(e))
                return
            data = message.data
            if isinstance(data, (str, bytes)):
                data = json.loads(data)
            msg_id = data.get("msgId") if isinstance(data, dict) else None
            if self.health is not None:
                self.health.message_received(msg_id)
            self.journal.record_stream_message(msg_id)
        except Exception:
            logger.debug("[%s] bridge relay could not note an incoming message", self._name, exc_info=True)

    async def stop(self) -> None:
        """First thing in ``disconnect()``: ends the long poll in flight at once, returns what the
        gateway holds to the bridge, flushes the Stream msgIds, and ends the SDK's Stream loop.
        Returns within STOP_BUDGET_S whatever the network does."""
        if self._stop is None:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STOP_BUDGET_S
        self._stop.set()
        if self.health is not None:
            await self._end_stream_loop(loop.time() + STREAM_STOP_S)
            self.health.disconnected_now()
        pending = [t for t in self._tasks if not t.done()]
        if pending:
            done, pending_set = await asyncio.wait(pending, timeout=max(0.0, deadline - loop.time()))
            for task in pending_set:
                task.cancel()
        self.journal.close()
        if self._handle_message_hook is not None and vars(self.adapter).get("handle_message") is self._handle_message_hook:
            del self.adapter.handle_message
        self._stop = None

    def can_reply(self, chat_id: str) -> bool:
        """From ``send()`` when no fresh session webhook is known for the chat."""
        return self._stop is not None and chat_id in self.journal.chats

    async def reply(self, chat_id: str, content: str, reply_to: Optional[str] = None) -> Any:
        """The adapter's webhook send, through the bridge's ``send`` route: the bridge uses the
        event's session webhook while it is fresh, else DingTalk's robot API. Idempotent: Hermes's
        retries of the same reply are sent once."""
        adapter = self.adapter
        event_id = self.journal.msg_events.get(reply_to or "") or self.journal.chats[chat_id]
        text = adapter._normalize_markdown(content[: adapter.MAX_MESSAGE_LENGTH])
        message = {"msgtype": "markdown", "markdown": {"title": "Hermes", "text": text}}
        try:
            res = await self.client.send(message, reply_to=event_id, timeout=15.0)
        except bridge_client.BridgeError as error:
            logger.warning("[%s] reply through the bridge failed: %s", self._name, error)
            return _send_result(success=False, error="bridge send: %s" % error, retryable=error.retryable)
        if res.get("state") == "queued":
            logger.info("[%s] DingTalk unreachable: the bridge keeps the reply %s and retries it", self._name, res.get("key"))
        if reply_to is not None:
            adapter._fire_done_reaction(chat_id)
        return _send_result(success=True, message_id=res.get("key"), raw_response=res)

    # -- draining

    async def _run(self) -> None:
        try:
            stats = await self.client.drain(
                self._deliver,
                stop=self._stop,
                wait_ms=20_000,
                heartbeat_s=self.heartbeat_s,
                stream_health=self.health,
                on_error=self._on_error,
                on_acked=lambda event: self.journal.record_acked(event["id"]),
            )
            logger.info("[%s] bridge relay stopped: %r", self._name, stats)
        except (bridge_client.BridgeAuthError, bridge_client.BridgeNotFoundError) as error:
            message = "the bridge refused this gateway (check bridge_url, bridge_app and DINGTALK_BRIDGE_TOKEN): %s" % error
            logger.error("[%s] %s", self._name, message)
            if self.mode == "only" and hasattr(self.adapter, "_set_fatal_error"):
                self.adapter._set_fatal_error("dingtalk_bridge", message, retryable=False)
                await self.adapter._notify_fatal_error()
        except Exception:
            logger.exception("[%s] bridge relay failed", self._name)

    async def _deliver(self, event: Dict[str, Any]) -> None:
        """One bridged event, through the adapter's own inbound step. Returning acks it; raising
        nacks it for a retry with backoff."""
        if event.get("kind") != "robot":
            logger.debug("[%s] bridge event %s is an event-subscription push; Hermes takes none (acked)", self._name, event.get("id"))
            return
        payload = event.get("payload")
        if not isinstance(payload, dict):
            raise ValueError("a robot event whose payload is not an object")
        if self.journal.was_handed(event):
            logger.info("[%s] bridge event %s (msgId %s, attempt %s) reached the agent before; acked without a second turn",
                        self._name, event["id"], payload.get("msgId"), event.get("attempt"))
            return
        msg_key = payload.get("msgId") or event["id"]
        self._in_hand[msg_key] = event
        try:
            status = await self._handler.process(_callback_message(event))
            task = self._dispatch.pop(event["id"], None)
            if task is None:
                raise RuntimeError("the adapter could not prepare the message (%s)" % (status,))
            # Until the adapter's dispatch is done: handle_message returned (the agent has it), or the
            # adapter dropped it (dedup, gating). The task is shielded: a stop does not cut it short.
            await asyncio.shield(task)
        finally:
            self._in_hand.pop(msg_key, None)

    def _install_handle_message_hook(self) -> None:
        original = self.adapter.handle_message

        async def handle_message(message_event: Any) -> Any:
            try:
                return await original(message_event)
            finally:
                # Synchronously after handle_message returns, before the agent's task first runs.
                raw = getattr(message_event, "raw_message", None)
                bridged = self._in_hand.get(getattr(raw, "message_id", None) or "")
                if bridged is not None:
                    self._handed(bridged)

        self._handle_message_hook = handle_message
        self.adapter.handle_message = handle_message

    def _handed(self, event: Dict[str, Any]) -> None:
        try:
            self.journal.record_handed(event)
        except Exception:
            logger.exception("[%s] journal record failed", self._name)

    async def _reconcile(self) -> None:
        """Handed events whose ack was not confirmed before the last stop or crash: the bridge's
        history says whether they were acked; those still pending come back and are acked on sight."""
        for event_id, seq in self.journal.unconfirmed()[:50]:
            try:
                rows = (await self.client.history(after_seq=max(0, seq - 1), limit=1)).get("events", [])
            except bridge_client.BridgeError:
                return
            row = next((r for r in rows if r.get("id") == event_id), None)
            if row is None or row.get("state") == "acked":
                self.journal.record_acked(event_id)

    async def _check_only_mode(self) -> None:
        try:
            status = await self.client.status()
        except bridge_client.BridgeError:
            return
        link = status.get("link") or {}
        if link.get("state") in (None, "off") and status.get("mode") != "webhook":
            logger.warning(
                "[%s] bridge_mode is only, but the bridge holds no DingTalk Stream link (STREAM_LINK=off) and "
                "has not seen an HTTP callback yet: messages reach the gateway only once the robot is in HTTP "
                "mode pointing at the bridge, or the bridge's Stream link is on", self._name)

    def _on_error(self, error: BaseException, where: str) -> None:
        if where == "handler":
            logger.warning("[%s] a bridged message failed and goes back to the bridge: %s", self._name, error)
        elif not (isinstance(error, bridge_client.BridgeError) and error.code == "aborted"):
            logger.warning("[%s] bridge %s: %s", self._name, where, error)

    # -- Stream health (hedge)

    def _note_socket(self, ws: Any) -> None:
        """A Stream socket the SDK opened: counted once, kept in the journal for the next runs."""
        if ws is None or ws is self._seen_socket:
            return
        self._seen_socket = ws
        self.health.connected_now()
        self.journal.record_stream_open()

    async def _watch_stream(self) -> None:
        """The SDK's start() swallows every error and loops, so the adapter's reconnect branch never
        runs: the health comes from the client's socket itself. Opens are caught as the SDK assigns
        its ``websocket`` (a connection that lives for milliseconds still counts); the state is
        polled for drops."""
        up = False
        while self._stop is not None and not self._stop.is_set():
            client = getattr(self.adapter, "_stream_client", None)
            ws = getattr(client, "websocket", None)
            now_up = ws is not None and _socket_open(ws)
            if now_up:
                self._note_socket(ws)
            elif up:
                self.health.disconnected_now()
            up = now_up
            try:
                await asyncio.wait_for(self._stop.wait(), WATCH_INTERVAL_S)
            except asyncio.TimeoutError:
                pass

    async def _end_stream_loop(self, deadline: float) -> None:
        """The SDK's start() catches a cancellation and then sleeps 10 s (and reconnects when its
        socket is closed under it): cancel until its task has ended, so the adapter's own close
        that follows finds nothing left to reconnect."""
        task = getattr(self.adapter, "_stream_task", None)
        loop = asyncio.get_running_loop()
        while task is not None and not task.done() and loop.time() < deadline:
            task.cancel()
            await asyncio.wait({task}, timeout=0.05)


def _watch_socket_assignments(client: Any, on_open: Any) -> None:
    """Calls ``on_open(ws)`` whenever the SDK sets ``client.websocket`` (dingtalk-stream does so
    right after each connect), by giving this one client object a subclass with a property."""
    if client is None or "websocket" in vars(type(client)):
        return
    base = type(client)

    def get(self: Any) -> Any:
        return self.__dict__.get("_bridge_websocket")

    def set_(self: Any, ws: Any) -> None:
        self.__dict__["_bridge_websocket"] = ws
        on_open(ws)

    client.__dict__["_bridge_websocket"] = client.__dict__.pop("websocket", None)
    client.__class__ = type(base.__name__, (base,), {"websocket": property(get, set_), "__module__": base.__module__})


def _socket_open(ws: Any) -> bool:
    is_open = getattr(ws, "open", None)          # websockets' legacy protocol (what the SDK uses)
    if isinstance(is_open, bool):
        return is_open
    state = getattr(ws, "state", None)           # websockets' newer asyncio connection
    return getattr(state, "name", None) == "OPEN"


def _callback_message(event: Dict[str, Any]) -> Any:
    """The SDK's CallbackMessage as a Stream frame would have produced it, marked as bridged."""
    try:
        from dingtalk_stream.frames import CallbackMessage
        message = CallbackMessage()
        headers = message.headers
    except Exception:
        message = types.SimpleNamespace(type="CALLBACK", spec_version="", extensions={})
        headers = message.headers = types.SimpleNamespace()
    headers.topic = ROBOT_TOPIC
    headers.message_id = "bridge:%s" % event["id"]
    headers.content_type = "application/json"
    headers.time = str(event.get("receivedAt", ""))
    message.data = event["payload"]
    message.bridge_event = event
    return message


def _send_result(**fields: Any) -> Any:
    try:
        from gateway.platforms.base import SendResult
    except Exception:  # outside Hermes
        return types.SimpleNamespace(**dict({"message_id": None, "error": None, "raw_response": None, "retryable": False}, **fields))
    return SendResult(**fields)
