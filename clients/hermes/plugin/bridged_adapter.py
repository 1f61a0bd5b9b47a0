"""The bundled DingTalk adapter with the bridge relay wired in by overrides (bridge_relay.py).

Until ``bridge_url`` is set the relay (``_relay``; the patch names its own ``_bridge``) is None and every override is the bundled method as it is.
"""

import asyncio
from typing import Any, Optional

from .bridge_relay import BridgeRelay


def adapter_class(bundled: Any) -> type:
    """A subclass of ``bundled.DingTalkAdapter``, made when the bundled module is loaded."""
    base = bundled.DingTalkAdapter
    incoming_handler = bundled._IncomingHandler

    class BridgedDingTalkAdapter(base):  # type: ignore[misc, valid-type]
        def __init__(self, config: Any) -> None:
            super().__init__(config)
            self._relay: Optional[BridgeRelay] = BridgeRelay.from_adapter(self, subclassed=True)

        async def connect(self, *, is_reconnect: bool = False) -> bool:
            connected = await super().connect(is_reconnect=is_reconnect)
            relay = self._relay
            if connected and relay is not None:
                relay.start(incoming_handler(self, asyncio.get_running_loop()))
                if not relay.wants_stream:
                    self._stream_task = None  # bridge_mode only: the bridge holds Stream
                elif self._stream_task is None or self._stream_task.done():
                    self._stream_task = asyncio.create_task(base._run_stream(self))  # the relay failed: Stream after all
            return connected

        async def _run_stream(self) -> None:
            if self._relay is not None and self._relay.mode == "only":
                return
            await super()._run_stream()

        async def disconnect(self) -> None:
            if self._relay is not None:
                await self._relay.stop()
            await super().disconnect()

        async def send(self, chat_id: str, content: str, reply_to: Optional[str] = None, metadata: Any = None) -> Any:
            relay = self._relay
            if (relay is not None and not (metadata or {}).get("session_webhook")
                    and not self._get_valid_webhook(chat_id) and relay.can_reply(chat_id)):
                return await relay.reply(chat_id, content, reply_to)
            return await super().send(chat_id, content, reply_to=reply_to, metadata=metadata)

        async def _on_message(self, message: Any) -> None:
            relay = self._relay
            if relay is None:
                return await super()._on_message(message)
            try:
                await super()._on_message(message)
            except Exception as error:
                relay.inbound_done(getattr(message, "message_id", None), error)
                raise
            relay.inbound_done(getattr(message, "message_id", None))

        async def handle_message(self, event: Any) -> None:
            if self._relay is not None:
                self._relay.handling(event)
            return await super().handle_message(event)

        async def on_processing_complete(self, event: Any, outcome: Any) -> None:
            try:
                await super().on_processing_complete(event, outcome)
            finally:
                if self._relay is not None:
                    self._relay.turn_completed(event, outcome)

        async def cancel_background_tasks(self) -> None:
            if self._relay is not None:
                self._relay.shutting_down()
            await super().cancel_background_tasks()

    BridgedDingTalkAdapter.__module__ = __name__
    return BridgedDingTalkAdapter
