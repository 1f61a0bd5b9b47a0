"""dingtalk-fallback-bridge relay for the Hermes DingTalk adapter: it drains the bridge into the
adapter, and acks a message only once Hermes is done with it.

Shared by the two ways in: the user plugin (``plugin/``, a subclass of the bundled adapter that
calls the hooks below from its overrides) and, for older Hermes, ``adapter.patch`` (which calls
``start``, ``observe``, ``stop``, ``can_reply`` and ``reply``; the relay then hooks the adapter
instance itself). Settings: ``platforms.dingtalk.extra`` (``bridge_url``, ``bridge_mode``: only |
hedge | off, ``bridge_app``) and ``DINGTALK_BRIDGE_TOKEN``; see README.md.

What it guarantees:
- one inbound path: a bridged message becomes the SDK's ``CallbackMessage`` and goes through the
  adapter's own ``_IncomingHandler.process`` (reactions, backfills, dedup, mention gating);
- one conversation's messages are handed over in order, different conversations side by side;
- ack at turn completion (see turns.py), with a done record in the journal (journal.py) written
  before the ack; a redelivered message that is done is acked without a turn, and Hermes's
  in-memory dedup is refilled only with done messages, so a kill -9 at any moment loses nothing
  and a completed turn never runs twice;
- stop fast: the long poll is aborted, what is not done goes back to the bridge (release);
- replies: without a fresh session webhook, the adapter's ``send`` goes through the bridge.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
import types
from typing import Any, Dict, List, Optional

if __package__:  # a module of the plugin package, as Hermes imports plugin files
    from .journal import OPENS_WINDOW_S, Journal
    from .relay_settings import MODES, consumer_for, hermes_home, settings_from
    from .stream_watch import StreamWatch
    from .turns import TurnTracker
else:  # loaded as a top-level module (tools, tests)
    from journal import OPENS_WINDOW_S, Journal  # type: ignore[no-redef]
    from relay_settings import MODES, consumer_for, hermes_home, settings_from  # type: ignore[no-redef]
    from stream_watch import StreamWatch  # type: ignore[no-redef]
    from turns import TurnTracker  # type: ignore[no-redef]

try:  # the copy installed beside this file
    from . import dingtalk_bridge as bridge_client
except ImportError:
    try:  # the pip-installed package
        import dingtalk_bridge as bridge_client  # type: ignore[no-redef]
    except ImportError:
        bridge_client = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

ROBOT_TOPIC = "/v1.0/im/bot/messages/get"
STOP_BUDGET_S = 1.8          # Hermes gives an adapter 5 s to disconnect; this stays well inside 2 s
STREAM_STOP_S = 0.5
IDLE_CHECK_S = 0.25
DEDUP_WINDOW_S = 300         # Hermes's MessageDeduplicator keeps msgIds for 5 minutes
HOOKED = ("handle_message", "on_processing_complete", "cancel_background_tasks")


def default_consumer(home: Optional[str] = None) -> str:
    base = bridge_client.default_consumer("hermes") if bridge_client else "hermes"
    return consumer_for(base, home)


class BridgeRelay:
    @classmethod
    def from_adapter(cls, adapter: Any, subclassed: bool = False) -> Optional["BridgeRelay"]:
        """The relay for this adapter, or None when no bridge is configured (or it cannot work, which
        is logged): the adapter then runs exactly as without it. ``subclassed``: the plugin's
        adapter calls the hooks itself. Never raises."""
        try:
            config = settings_from(getattr(getattr(adapter, "config", None), "extra", None) or {}, default_consumer)
            if config is None:
                return None
            name = getattr(adapter, "name", "DingTalk")
            if bridge_client is None:
                logger.error("[%s] bridge_url is set but the dingtalk_bridge package is missing (beside bridge_relay.py, "
                             "or pip-installed); running without the bridge", name)
                return None
            if not config["token"]:
                logger.error("[%s] bridge_url is set but DINGTALK_BRIDGE_TOKEN is not; running without the bridge", name)
                return None
            if config["mode"] not in MODES:
                logger.warning("[%s] unknown bridge_mode %r; using hedge (Stream and bridge)", name, config["mode"])
                config["mode"] = "hedge"
            return cls(adapter, config, subclassed)
        except Exception:
            logger.exception("[DingTalk] bridge settings could not be read; running without the bridge")
            return None

    def __init__(self, adapter: Any, config: Dict[str, Any], subclassed: bool = False) -> None:
        self.adapter = adapter
        self.mode: str = config["mode"]
        self.subclassed = subclassed
        self.client = bridge_client.AsyncBridgeClient(config["url"], config["token"], app=config["app"],
                                                      consumer=config["consumer"])
        journal = config["journal"] or os.path.join(
            hermes_home(), "dingtalk_bridge", "%s.%s.jsonl" % (config["app"], self.client.consumer))
        self.journal = Journal(journal)
        self.health = bridge_client.StreamHealth() if self.mode == "hedge" else None
        self.watch = StreamWatch(adapter, self.health, self.journal) if self.health else None
        self.heartbeat_s = config["heartbeat_s"]
        self.concurrency = config["concurrency"]
        self.tracker = TurnTracker(self._session_of, self._session_idle, lambda h: self.journal.record_done(h.event))
        self.failed = False
        self._handler: Any = None
        self._hooks: Dict[str, Any] = {}
        self._session_key = _session_key_function(adapter)
        self._stop: Optional[asyncio.Event] = None
        self._tasks: List[asyncio.Task] = []
        self._name = getattr(adapter, "name", "DingTalk")

    def __repr__(self) -> str:
        return "BridgeRelay(mode=%r, client=%r)" % (self.mode, self.client.sync)

    @property
    def wants_stream(self) -> bool:
        """Whether the adapter should run its own Stream client: in hedge mode, and whenever the
        relay could not start (a broken relay must never leave the gateway deaf)."""
        return self.mode != "only" or self.failed

    @property
    def tracks_turns(self) -> bool:
        """Whether this Hermes has what ack-at-turn-completion needs; without it (an older Hermes
        with the patch) a message is done when the hand-over ends, as the Stream SDK acks it."""
        return self._session_key is not None and all(
            isinstance(getattr(self.adapter, a, None), dict) for a in ("_active_sessions", "_pending_messages"))

    # -- the hooks

    def start(self, handler: Any) -> None:
        """From ``connect()``, with the adapter's ``_IncomingHandler``."""
        try:
            self._handler = handler
            self._stop = asyncio.Event()
            self.journal.open()
            if not self.subclassed and self.tracks_turns:
                self._hook_instance()
            dedup = getattr(self.adapter, "_dedup", None)
            for msg_id in self.journal.recent_done_msg_ids(DEDUP_WINDOW_S) if dedup is not None else ():
                dedup.is_duplicate(msg_id)  # Hermes's dedup is in memory: refill it, with done messages only
            self._tasks = [asyncio.ensure_future(self._run()), asyncio.ensure_future(self._reconcile()),
                           asyncio.ensure_future(self._watch_idle())]
            if self.mode == "only":
                self._tasks.append(asyncio.ensure_future(self._check_only_mode()))
            if self.watch is not None:
                self.watch.start([t for t in self.journal.opens if t >= (time.time() - OPENS_WINDOW_S) * 1000])
                self._tasks.append(asyncio.ensure_future(self.watch.watch(self._stop)))
            logger.info("[%s] draining %s (app %s, consumer %s, bridge_mode %s, ack at %s)", self._name,
                        self.client.sync.url, self.client.sync.app, self.client.consumer, self.mode,
                        "turn completion" if self.tracks_turns else "hand-over")
        except Exception:
            self.failed = True
            logger.exception("[%s] the bridge relay could not start; the adapter runs its own Stream", self._name)

    def observe(self, message: Any, task: "asyncio.Future") -> None:
        """(The patch) from ``_IncomingHandler.process()``, for each message it dispatched as ``task``."""
        try:
            data = message.data
            if isinstance(data, (str, bytes)):
                data = json.loads(data)
            msg_id = data.get("msgId") if isinstance(data, dict) else None
            task.add_done_callback(lambda _t: self.inbound_done(msg_id))
        except Exception:
            logger.debug("[%s] bridge relay could not note an incoming message", self._name, exc_info=True)

    def inbound_done(self, msg_id: Optional[str], error: Optional[BaseException] = None) -> None:
        """The adapter's ``_on_message`` for ``msg_id`` returned: a bridged message's hand-over ended;
        a message that came over the gateway's own Stream is noted (hedge)."""
        if msg_id and any(h.msg_id == msg_id for h in self.tracker.waiting):
            self.tracker.ended(msg_id, error)
            return
        if self.health is not None:
            self.health.message_received(msg_id)
        self.journal.record_stream_message(msg_id)

    def handling(self, message_event: Any) -> None:
        """``handle_message`` is about to take ``message_event``."""
        if self.tracks_turns:
            self.tracker.handling(message_event)

    def turn_completed(self, message_event: Any, outcome: Any) -> None:
        """``on_processing_complete`` returned for ``message_event``: done records written before."""
        self.tracker.turn_completed(message_event, str(getattr(outcome, "value", outcome)).lower() == "cancelled")

    def shutting_down(self) -> None:
        self.tracker.shutting_down()

    async def stop(self) -> None:
        """First thing in ``disconnect()``: ends the long poll in flight at once, gives back to the
        bridge what Hermes is not done with, flushes the Stream msgIds, and ends the SDK's Stream
        loop. Returns within STOP_BUDGET_S whatever the network does."""
        if self._stop is None:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STOP_BUDGET_S
        self.tracker.shutting_down()
        self._stop.set()
        if self.watch is not None:
            await self.watch.end_stream_loop(loop.time() + STREAM_STOP_S)
        pending = [t for t in self._tasks if not t.done()]
        if pending:
            _, late = await asyncio.wait(pending, timeout=max(0.0, deadline - loop.time()))
            for task in late:
                task.cancel()
        self.journal.close()
        for name, hook in self._hooks.items():
            if vars(self.adapter).get(name) is hook:
                delattr(self.adapter, name)
        self._hooks = {}
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
                self._deliver, stop=self._stop, wait_ms=20_000, heartbeat_s=self.heartbeat_s,
                stream_health=self.health, on_error=self._on_error, concurrency=self.concurrency,
                on_acked=lambda event: self.journal.record_acked(event["id"]))
            logger.info("[%s] bridge relay stopped: %r", self._name, stats)
        except (bridge_client.BridgeAuthError, bridge_client.BridgeNotFoundError) as error:
            message = "the bridge refused this gateway (check bridge_url, bridge_app and DINGTALK_BRIDGE_TOKEN): %s" % error
            logger.error("[%s] %s", self._name, message)
            if self.mode == "only" and hasattr(self.adapter, "_set_fatal_error"):
                self.adapter._set_fatal_error("dingtalk_bridge", message, retryable=False)
                await self.adapter._notify_fatal_error()
        except Exception:
            logger.exception("[%s] bridge relay failed", self._name)

    async def _deliver(self, event: Dict[str, Any]) -> Any:
        """One bridged event, through the adapter's own inbound step; returns once the hand-over
        ended, with a ``Later`` the turn tracker settles. Raising nacks it for a retry."""
        if event.get("kind") != "robot":
            logger.debug("[%s] bridge event %s is an event-subscription push; Hermes takes none (acked)", self._name, event.get("id"))
            return None
        payload = event.get("payload")
        if not isinstance(payload, dict):
            raise ValueError("a robot event whose payload is not an object")
        if self.journal.is_done(event):
            logger.info("[%s] bridge event %s (msgId %s, attempt %s) is done already; acked without a second turn",
                        self._name, event["id"], payload.get("msgId"), event.get("attempt"))
            return None
        msg_id = payload.get("msgId") or event["id"]
        later = bridge_client.Later()
        if self.tracker.stopping:
            # Hermes is cancelling its turns: a message handed to it now would not run, and one it
            # gave back moments ago would meet its own dedup and pass for dropped (then acked). Left
            # unsettled, the lease stays ours until the drain stops, moments from now, and hands it
            # back with attempt not counted; a give-back now would count one, and this same drain
            # could lease it again at once, round and round to the dead letters.
            return later
        handover = self.tracker.begin(msg_id, event, later, asyncio.get_running_loop().create_future())
        if handover is None:
            return later  # a second lease of a message still in Hermes's hands: it shares that one's fate
        self.journal.note_chat(event)
        try:
            status = await self._handler.process(_callback_message(event))
        except BaseException:
            self.tracker.abandon(msg_id)
            raise
        if isinstance(status, tuple) and status and isinstance(status[0], int) and status[0] >= 300:
            self.tracker.abandon(msg_id)
            raise RuntimeError("the adapter could not prepare the message (%s)" % (status,))
        await asyncio.shield(handover.ended)
        return later

    async def _watch_idle(self) -> None:
        while self._stop is not None and not self._stop.is_set():
            self.tracker.check_idle()
            try:
                await asyncio.wait_for(self._stop.wait(), IDLE_CHECK_S)
            except asyncio.TimeoutError:
                pass

    def _session_of(self, message_event: Any) -> Optional[str]:
        if self._session_key is None or not self.tracks_turns:
            return None
        extra = getattr(self.adapter.config, "extra", None) or {}
        return self._session_key(message_event.source, group_sessions_per_user=extra.get("group_sessions_per_user", True),
                                 thread_sessions_per_user=extra.get("thread_sessions_per_user", False))

    def _session_idle(self, key: str) -> bool:
        adapter = self.adapter
        return (key not in adapter._active_sessions and key not in adapter._pending_messages
                and key not in (getattr(adapter, "_text_debounce", None) or {}))

    def _hook_instance(self) -> None:
        """(The patch) the plugin's overrides, as wrappers on this adapter instance."""
        adapter, relay = self.adapter, self
        handle_message, complete, cancel = (getattr(adapter, name) for name in HOOKED)

        async def handle_message_hook(event: Any) -> Any:
            relay.handling(event)
            return await handle_message(event)

        async def complete_hook(event: Any, outcome: Any) -> Any:
            try:
                return await complete(event, outcome)
            finally:
                relay.turn_completed(event, outcome)

        async def cancel_hook() -> Any:
            relay.shutting_down()
            return await cancel()

        self._hooks = dict(zip(HOOKED, (handle_message_hook, complete_hook, cancel_hook)))
        for name, hook in self._hooks.items():
            setattr(adapter, name, hook)

    async def _reconcile(self) -> None:
        """Done events whose ack was not confirmed before the last stop or crash: the bridge's
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


def _session_key_function(adapter: Any) -> Any:
    """Hermes's own ``build_session_key`` (what ``handle_message`` keys sessions by), or the one of
    the adapter's module (the test stub), or None."""
    try:
        from gateway.session import build_session_key
        return build_session_key
    except Exception:
        return getattr(sys.modules.get(type(adapter).__module__), "build_session_key", None)


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
