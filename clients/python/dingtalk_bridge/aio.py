"""The consumer API for asyncio: each call runs in a worker thread, so the event loop never blocks,
and the drain is the same loop as the blocking client's, with the handler called on the loop."""

import asyncio
import functools
import inspect
import threading
from typing import Any, Awaitable, Callable, Dict, List, Optional, Union

from .client import BridgeClient
from .decoding import Event
from .drain import Drain, DrainOptions, DrainStats


class AsyncBridgeClient:
    """``BridgeClient``'s API as coroutines; ``sync`` is the blocking client underneath."""

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

    def __repr__(self) -> str:
        return "Async" + repr(self.sync)

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

    async def history(self, after_seq: int = 0, limit: int = 100, **filters: Any) -> Dict[str, Any]:
        return await asyncio.to_thread(functools.partial(self.sync.history, after_seq, limit, **filters))

    async def replay(self, **request: Any) -> Dict[str, Any]:
        return await asyncio.to_thread(functools.partial(self.sync.replay, **request))

    async def purge(self, ids: Optional[List[str]] = None) -> Dict[str, Any]:
        return await asyncio.to_thread(self.sync.purge, ids)

    async def outbox(self, state: Optional[str] = None, limit: int = 100) -> Dict[str, Any]:
        return await asyncio.to_thread(self.sync.outbox, state, limit)

    async def cancel_sends(self, keys: List[str]) -> Dict[str, Any]:
        return await asyncio.to_thread(self.sync.cancel_sends, keys)

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

    async def drain(self, handler: Callable[[Event], Union[Awaitable[Any], Any]], *,
                    stop: Optional[asyncio.Event] = None, **options: Any) -> DrainStats:
        """``BridgeClient.drain`` for asyncio: ``handler`` runs on this event loop and may be a
        coroutine function. Set ``stop`` to end it; cancelling the drain stops it as well."""
        loop = asyncio.get_running_loop()
        stop = stop or asyncio.Event()
        stopping = threading.Event()

        def on_loop(event: Event) -> Any:
            return asyncio.run_coroutine_threadsafe(_call(handler, event), loop).result()

        async def relay_stop() -> None:
            await stop.wait()
            stopping.set()

        relay = asyncio.ensure_future(relay_stop())
        drain = Drain(self.sync, on_loop, DrainOptions(**options), stopping)
        try:
            return await loop.run_in_executor(None, drain.run)
        finally:
            stopping.set()
            relay.cancel()


async def _call(handler: Callable[[Event], Any], event: Event) -> Any:
    result = handler(event)
    if inspect.isawaitable(result):
        result = await result
    return result
