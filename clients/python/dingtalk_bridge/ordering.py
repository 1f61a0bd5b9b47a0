"""Which event runs next: one ordering key's events one after another, in the order the bridge
handed them out, and different keys side by side. Pure logic, no I/O and no locking (the drain
holds its lock around every call)."""

from collections import OrderedDict, deque
from typing import Any, Deque, Dict, Hashable, List, Optional, Tuple

# A bridge from before ordering sends no `orderingKey`: its events keep the old one-at-a-time order.
UNKEYED = ("no orderingKey",)


def ordering_key(event: Dict[str, Any]) -> Hashable:
    """The key ``event`` is ordered by: its ``orderingKey``; a null key orders nothing (a key of its
    own); an event without the member (an older bridge) shares one key with every such event."""
    if "orderingKey" not in event:
        return UNKEYED
    key = event["orderingKey"]
    if isinstance(key, str):
        return ("key", key)
    return ("alone", id(event))


class KeyedQueue:
    """Events waiting for their turn, grouped by key. ``next()`` takes the head of the first key that
    is not running and marks that key running until ``finish(key)``; keys take turns in the order
    their waiting heads arrived."""

    def __init__(self) -> None:
        self._waiting: "OrderedDict[Hashable, Deque[Any]]" = OrderedDict()
        self._running: Dict[Hashable, int] = {}
        self.count = 0

    def add(self, key: Hashable, item: Any) -> None:
        self._waiting.setdefault(key, deque()).append(item)
        self.count += 1

    def next(self) -> Optional[Tuple[Hashable, Any]]:
        for key, items in self._waiting.items():
            if key not in self._running:
                item = items.popleft()
                if not items:
                    del self._waiting[key]
                self._running[key] = 1
                self.count -= 1
                return key, item
        return None

    def finish(self, key: Hashable) -> None:
        self._running.pop(key, None)
        if key in self._waiting:  # its next event waits behind the other keys' heads
            self._waiting.move_to_end(key)

    def take_waiting(self, key: Hashable) -> List[Any]:
        """Removes and returns every event still waiting under ``key`` (its head failed)."""
        items = list(self._waiting.pop(key, ()))
        self.count -= len(items)
        return items

    def take_all(self) -> List[Any]:
        items = [item for queue in self._waiting.values() for item in queue]
        self._waiting.clear()
        self.count = 0
        return items

    @property
    def running(self) -> int:
        return len(self._running)
