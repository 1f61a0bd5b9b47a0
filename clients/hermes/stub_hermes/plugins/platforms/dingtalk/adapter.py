"""Stand-in: Hermes's bundled DingTalk adapter (plugins/platforms/dingtalk/adapter.py), as far as
the bridge integration relies on it: ``_IncomingHandler.process`` (payload to message, backfills,
"thinking" reaction, dispatch as a task), ``_on_message`` (dedup, mention gating, session
webhooks, ``handle_message``), ``send`` through the session webhook, and a Stream client that
behaves like dingtalk-stream 0.24.3's (``start()`` never returns and swallows a cancellation, then
sleeps 10 s). Its bridge hooks are the very lines of ``adapter.patch``: they are live only when
``bridge_relay.py`` sits beside this file (the patch's install), never with the plugin.

Test-only switch under ``extra``: ``test_kill_before_dispatch`` (a msgId: SIGKILL inside
``_on_message`` before ``handle_message``).
"""

import asyncio
import json
import os
import re
import signal
import time
import types
import uuid

from gateway.platforms.base import BasePlatformAdapter, MessageEvent, MessageType, SendResult

try:  # dingtalk-fallback-bridge drop-in: bridge_relay.py beside this file; absent, nothing changes
    from . import bridge_relay
except Exception:  # noqa: BLE001
    bridge_relay = None

_DINGTALK_WEBHOOK_RE = re.compile(r"^https://(?:api|oapi)\.dingtalk\.com/")


class MessageDeduplicator:
    def __init__(self, ttl_seconds=300):
        self._seen, self._ttl = {}, ttl_seconds

    def is_duplicate(self, msg_id):
        if not msg_id:
            return False
        now = time.time()
        if msg_id in self._seen and now - self._seen[msg_id] < self._ttl:
            return True
        self._seen[msg_id] = now
        return False

    def clear(self):
        self._seen.clear()


def chatbot_message(data):
    """What ChatbotMessage.from_dict keeps of a payload, for this stub."""
    return types.SimpleNamespace(
        message_id=data.get("msgId"), conversation_id=data.get("conversationId"),
        conversation_type=data.get("conversationType"), sender_id=data.get("senderId"),
        sender_nick=data.get("senderNick"), sender_staff_id=data.get("senderStaffId"),
        text=(data.get("text") or {}).get("content"), message_type=data.get("msgtype"),
        session_webhook=None, session_webhook_expired_time=data.get("sessionWebhookExpiredTime"),
        is_in_at_list=None, raw=data)


class FakeSocket:
    def __init__(self):
        self.open = True

    async def close(self):
        self.open = False


class FakeStreamClient:
    """dingtalk-stream 0.24.3's client as far as the adapter sees it: ``websocket`` is the open
    socket, and ``start()`` loops for ever, catching even a cancellation (then sleeping 10 s)."""

    def __init__(self):
        self.websocket = None
        self.opens = 0

    async def start(self):
        while True:
            try:
                self.opens += 1
                self.websocket = FakeSocket()
                while self.websocket.open:
                    await asyncio.sleep(0.05)
            except asyncio.CancelledError:
                self.websocket.open = False
                await asyncio.sleep(10)
                continue

    def reconnect(self):
        """DingTalk drops the socket; the SDK opens a new one."""
        self.websocket.open = False


class DingTalkAdapter(BasePlatformAdapter):
    MAX_MESSAGE_LENGTH = 20000

    def __init__(self, config):
        super().__init__(config)
        self._dedup = MessageDeduplicator()
        self._session_webhooks = {}
        self._stream_client = None
        self._stream_task = None
        self._bg_tasks = set()
        self.reactions, self.sent, self.done_reactions = [], [], []
        # dingtalk-fallback-bridge relay: None unless bridge_url is configured (see bridge_relay.py)
        self._bridge = bridge_relay.BridgeRelay.from_adapter(self) if bridge_relay else None

    async def connect(self, *, is_reconnect=False):
        self._stream_client = FakeStreamClient()
        handler = _IncomingHandler(self, asyncio.get_running_loop())
        bridge = getattr(self, "_bridge", None)
        if bridge is not None:
            bridge.start(handler)
        if bridge is None or bridge.wants_stream:  # bridge_mode "only": the bridge holds Stream
            self._stream_task = asyncio.create_task(self._run_stream())
        self._mark_connected()
        return True

    async def _run_stream(self):
        while self._running:
            try:
                await self._stream_client.start()
            except asyncio.CancelledError:
                return

    async def disconnect(self):
        if getattr(self, "_bridge", None) is not None:
            await self._bridge.stop()
        self._running = False
        websocket = getattr(self._stream_client, "websocket", None) if self._stream_client else None
        if websocket is not None:
            await websocket.close()
        if self._stream_task:
            self._stream_task.cancel()
            try:
                await asyncio.wait_for(self._stream_task, timeout=5.0)
            except (asyncio.CancelledError, asyncio.TimeoutError):
                pass
            self._stream_task = None
        self._stream_client = None
        self._session_webhooks.clear()
        self._dedup.clear()

    def _spawn_bg(self, coro):
        task = asyncio.create_task(coro)
        self._bg_tasks.add(task)
        task.add_done_callback(self._bg_tasks.discard)

    async def _send_emotion(self, msg_id, conversation_id, emoji, recall=False):
        self.reactions.append((emoji, msg_id))

    async def _on_message(self, message):
        msg_id = message.message_id or uuid.uuid4().hex
        if self._dedup.is_duplicate(msg_id):
            return
        if msg_id == self.config.extra.get("test_kill_before_dispatch"):
            os.kill(os.getpid(), signal.SIGKILL)
        is_group = str(message.conversation_type) == "2"
        chat_id = message.conversation_id or message.sender_id
        if is_group and self.config.extra.get("require_mention") and not message.is_in_at_list:
            return
        if message.session_webhook and _DINGTALK_WEBHOOK_RE.match(message.session_webhook):
            self._session_webhooks[chat_id] = (message.session_webhook, message.session_webhook_expired_time or 0)
        text = (message.text or "").strip()
        if not text:  # Hermes drops what carries neither text nor media
            return
        source = self.build_source(chat_id=chat_id, chat_type="group" if is_group else "dm",
                                   user_id=message.sender_id, user_name=message.sender_nick)
        await self.handle_message(MessageEvent(text=text, message_type=MessageType.TEXT, source=source,
                                               message_id=msg_id, raw_message=message))

    async def send(self, chat_id, content, reply_to=None, metadata=None):
        self.sent.append(await self._send(chat_id, content, reply_to, metadata))
        return self.sent[-1]

    async def _send(self, chat_id, content, reply_to=None, metadata=None):
        webhook_info = self._get_valid_webhook(chat_id)
        if not webhook_info:
            if getattr(self, "_bridge", None) is not None and self._bridge.can_reply(chat_id):
                return await self._bridge.reply(chat_id, content, reply_to)
            return SendResult(success=False, error="No valid session_webhook available.")
        return SendResult(success=True, message_id="webhook:" + webhook_info[0])

    def _get_valid_webhook(self, chat_id):
        info = self._session_webhooks.get(chat_id)
        if info and info[1] and time.time() * 1000 + 5 * 60 * 1000 >= info[1]:
            self._session_webhooks.pop(chat_id, None)
            return None
        return info

    @staticmethod
    def _normalize_markdown(text):
        return text

    def _fire_done_reaction(self, chat_id):
        self.done_reactions.append(chat_id)



class _IncomingHandler:
    def __init__(self, adapter, loop=None):
        self._adapter = adapter
        self._loop = loop

    async def process(self, message):
        try:
            data = message.data
            if isinstance(data, str):
                data = json.loads(data)
            chatbot_msg = chatbot_message(data)
            if not chatbot_msg.session_webhook:  # the adapter's backfills
                chatbot_msg.session_webhook = data.get("sessionWebhook") or ""
            if not chatbot_msg.is_in_at_list and data.get("isInAtList"):
                chatbot_msg.is_in_at_list = True
            if chatbot_msg.message_id and chatbot_msg.conversation_id:
                self._adapter._spawn_bg(self._adapter._send_emotion(chatbot_msg.message_id, chatbot_msg.conversation_id, "🤔Thinking"))
            task = asyncio.create_task(self._safe_on_message(chatbot_msg))
            if getattr(self._adapter, "_bridge", None) is not None:
                self._adapter._bridge.observe(message, task)
        except Exception:
            return 500, "error"
        return 200, "OK"

    async def _safe_on_message(self, chatbot_msg):
        try:
            await self._adapter._on_message(chatbot_msg)
        except Exception:
            pass


def check_dingtalk_requirements():
    return True


def register(ctx):
    ctx.register_platform(name="dingtalk", label="DingTalk", adapter_factory=DingTalkAdapter,
                          check_fn=check_dingtalk_requirements, emoji="🐳")
