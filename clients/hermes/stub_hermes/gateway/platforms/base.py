"""Stand-in: Hermes's base adapter, as far as turns go. One turn per session at a time: a message
for a busy session waits in the pending slot (a second one is merged into it), and runs as the
next turn; `on_processing_start`/`on_processing_complete` wrap each turn; shutdown cancels turns
(`cancel_background_tasks`), which then complete as CANCELLED."""

import asyncio
import types
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, List, Optional

from gateway.session import build_session_key


class ProcessingOutcome(Enum):
    SUCCESS = "success"
    FAILURE = "failure"
    CANCELLED = "cancelled"


class MessageType(Enum):
    TEXT = "text"


@dataclass
class MessageEvent:
    text: str
    message_type: Any
    source: Any
    message_id: Optional[str] = None
    raw_message: Any = None
    media_urls: List[str] = field(default_factory=list)
    media_types: List[str] = field(default_factory=list)
    timestamp: Any = None


class SendResult:
    def __init__(self, success, message_id=None, error=None, raw_response=None, retryable=False):
        self.success, self.message_id, self.error = success, message_id, error
        self.raw_response, self.retryable = raw_response, retryable


class BasePlatformAdapter:
    def __init__(self, config, platform=None):
        self.config = config
        self.platform = platform
        self._message_handler = None
        self._running = False
        self._active_sessions = {}
        self._pending_messages = {}
        self._session_tasks = {}
        self._background_tasks = set()
        self._expected_cancelled_tasks = set()
        self._text_debounce = {}
        self.fatal = None

    @property
    def name(self):
        return "Dingtalk"

    def set_message_handler(self, handler):
        self._message_handler = handler

    def build_source(self, **fields):
        return types.SimpleNamespace(**fields)

    def _mark_connected(self):
        self._running = True

    def _mark_disconnected(self):
        self._running = False

    def _set_fatal_error(self, code, message, *, retryable):
        self.fatal = (code, message, retryable)

    async def _notify_fatal_error(self):
        pass

    async def on_processing_start(self, event):
        pass

    async def on_processing_complete(self, event, outcome):
        pass

    async def handle_message(self, event):
        if not self._message_handler:
            return
        key = build_session_key(event.source)
        if key in self._active_sessions:
            pending = self._pending_messages.get(key)
            if pending is not None:  # merged into the follow-up already waiting
                pending.text = "%s\n%s" % (pending.text, event.text)
            else:
                self._pending_messages[key] = event
            return
        self._start(event, key)

    def _start(self, event, key):
        self._active_sessions[key] = asyncio.Event()
        task = asyncio.create_task(self._process_message_background(event, key))
        self._session_tasks[key] = task
        self._background_tasks.add(task)
        task.add_done_callback(self._background_tasks.discard)

    async def _process_message_background(self, event, key):
        try:
            await self._run_processing_hook("on_processing_start", event)
            response = await self._message_handler(event)
            if response:
                await self.send(event.source.chat_id, response, reply_to=event.message_id)
            await self._run_processing_hook("on_processing_complete", event, ProcessingOutcome.SUCCESS)
            pending = self._pending_messages.pop(key, None)
            if pending is not None:
                drain = asyncio.create_task(self._process_message_background(pending, key))
                self._session_tasks[key] = drain
                self._background_tasks.add(drain)
                return
        except asyncio.CancelledError:
            cancelled = asyncio.current_task() in self._expected_cancelled_tasks
            outcome = ProcessingOutcome.CANCELLED if cancelled else ProcessingOutcome.FAILURE
            await self._run_processing_hook("on_processing_complete", event, outcome)
            raise
        except Exception:
            await self._run_processing_hook("on_processing_complete", event, ProcessingOutcome.FAILURE)
        finally:
            if self._session_tasks.get(key) is asyncio.current_task():
                self._session_tasks.pop(key, None)
                self._active_sessions.pop(key, None)

    async def _run_processing_hook(self, name, *args):
        try:
            await getattr(self, name)(*args)
        except Exception:
            pass

    async def cancel_background_tasks(self):
        tasks = [t for t in self._background_tasks if not t.done()]
        for task in tasks:
            self._expected_cancelled_tasks.add(task)
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._background_tasks.clear()
        self._pending_messages.clear()
        self._active_sessions.clear()
        self._session_tasks.clear()
