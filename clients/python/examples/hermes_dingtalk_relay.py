"""Relay loop for the Hermes agent gateway's DingTalk adapter (gateway/platforms/dingtalk.py).

The adapter keeps its Stream loop; this runs beside it, drains the bridge, and feeds each payload
(byte for byte what DingTalk sent) into the same path the Stream handler uses:
``ChatbotMessage.from_dict(data)`` then ``adapter._on_message(message)``. The adapter's own
dedup (msgId, 5 minutes) drops a message that arrived both ways; the bridge also skips msgIds the
heartbeats report as already seen over Stream.

config.yaml:

    platforms:
      dingtalk:
        enabled: true
        extra:
          client_id: "ding..."
          bridge_url: "https://dingtalk-fallback-bridge.example.workers.dev"
          bridge_app: "default"              # optional
          bridge_mode: "fallback"            # "off" | "fallback" (drain always; the bridge decides)

and the consumer token in the environment: ``DINGTALK_BRIDGE_TOKEN``.

Wiring inside DingTalkAdapter (three small hooks):

    # connect():           self._relay = BridgeRelay.from_adapter(self); self._relay.start()
    # _run_stream():       self._relay.health.connected_now() when the stream client (re)starts,
    #                      self._relay.health.disconnected_now() when it raises
    # _IncomingHandler.process():  self._adapter._relay.health.message_received(data.get("msgId"))
    # disconnect():        await self._relay.stop()
"""

import asyncio
import logging
import os
import socket
import sys
from typing import Any, Optional

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from dingtalk_bridge import AsyncBridgeClient, BridgeAuthError, BridgeNotFoundError, StreamHealth  # noqa: E402

logger = logging.getLogger(__name__)


class BridgeRelay:
    """Drains the bridge into a Hermes DingTalk adapter, beside its Stream loop."""

    def __init__(self, adapter: Any, url: str, token: str, app: str = "default", consumer: Optional[str] = None) -> None:
        self.adapter = adapter
        self.health = StreamHealth()
        # A stable id per gateway host: after a kill -9 the next start takes its leases back at once.
        self.client = AsyncBridgeClient(url, token, app=app, consumer=consumer or "hermes-%s" % socket.gethostname())
        self._stop = asyncio.Event()
        self._task: Optional[asyncio.Task] = None

    @classmethod
    def from_adapter(cls, adapter: Any) -> Optional["BridgeRelay"]:
        extra = getattr(adapter.config, "extra", None) or {}
        url = extra.get("bridge_url") or os.getenv("DINGTALK_BRIDGE_URL")
        token = os.getenv("DINGTALK_BRIDGE_TOKEN")
        if extra.get("bridge_mode", "fallback") == "off" or not url or not token:
            return None
        return cls(adapter, url, token, app=extra.get("bridge_app", "default"))

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="dingtalk-bridge-relay")

    async def stop(self) -> None:
        self._stop.set()
        if self._task:
            await self._task

    async def _run(self) -> None:
        try:
            stats = await self.client.drain(
                self._deliver,
                stop=self._stop,
                stream_health=self.health,
                on_error=lambda error, where: logger.warning("[DingTalk bridge] %s: %s", where, error),
            )
            logger.info("[DingTalk bridge] relay stopped: %r", stats)
        except (BridgeAuthError, BridgeNotFoundError) as error:
            logger.error("[DingTalk bridge] check bridge_url, bridge_app and DINGTALK_BRIDGE_TOKEN: %s", error)

    async def _deliver(self, event: dict) -> None:
        if event["kind"] != "robot":
            return  # event-subscription pushes: acked; route them elsewhere if the gateway wants them
        from dingtalk_stream import ChatbotMessage  # Hermes already depends on dingtalk-stream

        message = ChatbotMessage.from_dict(event["payload"])
        # Raising here nacks the event; the bridge offers it again with backoff.
        await self.adapter._on_message(message)


if __name__ == "__main__":
    # A stand-alone smoke run without Hermes: print what arrives.
    logging.basicConfig(level=logging.INFO)

    class PrintingAdapter:
        config = type("Config", (), {"extra": {"bridge_url": os.getenv("DINGTALK_BRIDGE_URL", "http://127.0.0.1:8787")}})()

        async def _on_message(self, message: Any) -> None:
            print(message)

    os.environ.setdefault("DINGTALK_BRIDGE_TOKEN", "local-dev-consumer-token")
    relay = BridgeRelay.from_adapter(PrintingAdapter())
    assert relay is not None

    async def main() -> None:
        relay._deliver = lambda event: asyncio.sleep(0, print(event["payload"]))  # type: ignore[assignment]
        relay.start()
        await asyncio.sleep(float(os.getenv("RELAY_SECONDS", "30")))
        await relay.stop()

    asyncio.run(main())
