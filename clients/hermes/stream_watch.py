"""The real health of the adapter's own Stream connection (``hedge``), for the bridge's heartbeats.

dingtalk-stream's ``start()`` catches every error and loops, so the adapter's reconnect branch never
runs: the health comes from the SDK client's socket itself. Opens are caught as the SDK assigns its
``websocket`` (a connection that lives for milliseconds still counts); the state is polled for drops.
"""

import asyncio
from typing import Any, Callable

WATCH_INTERVAL_S = 0.5


class StreamWatch:
    def __init__(self, adapter: Any, health: Any, journal: Any) -> None:
        self.adapter = adapter
        self.health = health
        self.journal = journal
        self._seen_socket: Any = None

    def start(self, opens_before: list) -> None:
        self.health.opened_before(opens_before)
        _watch_socket_assignments(getattr(self.adapter, "_stream_client", None), self._note_socket)

    def _note_socket(self, ws: Any) -> None:
        """A Stream socket the SDK opened: counted once, kept in the journal for the next runs."""
        if ws is None or ws is self._seen_socket:
            return
        self._seen_socket = ws
        self.health.connected_now()
        self.journal.record_stream_open()

    async def watch(self, stop: asyncio.Event) -> None:
        up = False
        while not stop.is_set():
            client = getattr(self.adapter, "_stream_client", None)
            ws = getattr(client, "websocket", None)
            now_up = ws is not None and _socket_open(ws)
            if now_up:
                self._note_socket(ws)
            elif up:
                self.health.disconnected_now()
            up = now_up
            try:
                await asyncio.wait_for(stop.wait(), WATCH_INTERVAL_S)
            except asyncio.TimeoutError:
                pass

    async def end_stream_loop(self, deadline: float) -> None:
        """The SDK's start() catches a cancellation and then sleeps 10 s (and reconnects when its
        socket is closed under it): cancel until its task has ended, so the adapter's own close
        that follows finds nothing left to reconnect."""
        task = getattr(self.adapter, "_stream_task", None)
        loop = asyncio.get_running_loop()
        while task is not None and not task.done() and loop.time() < deadline:
            task.cancel()
            await asyncio.wait({task}, timeout=0.05)
        self.health.disconnected_now()


def _watch_socket_assignments(client: Any, on_open: Callable[[Any], None]) -> None:
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
