"""What the gateway's own DingTalk Stream connection has seen, reported in heartbeats."""

import threading
import time
from typing import Any, Callable, Dict, List, Optional

class StreamHealth:
    """What the gateway's Stream connection has seen; thread-safe.

    Call ``connected_now()`` when the Stream socket opens (every open after the first counts as a
    reconnect), ``disconnected_now()`` when it drops, and ``message_received(msg_id)`` for every
    robot message that arrived over Stream. The drain loop sends the report in its heartbeats, and
    a last one on stop, so no msgId waits for a heartbeat that never comes.
    """

    MAX_RECONNECTS = 50
    MAX_MSG_IDS = 500

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._connected = False
        self._ever_connected = False
        self._last_message_at: Optional[int] = None
        self._reconnects: List[int] = []
        self._msg_ids: Dict[str, None] = {}

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def opened_before(self, opens_ms: List[int]) -> None:
        """Stream opens by earlier runs of this gateway (kept by the caller across restarts). DingTalk
        sees a restart's first open as a reconnect, so with these it counts as one here too."""
        with self._lock:
            opens = sorted(int(t) for t in opens_ms)
            if opens:
                self._reconnects = (opens[1:] + self._reconnects)[-self.MAX_RECONNECTS:]
                self._ever_connected = True

    def connected_now(self) -> None:
        with self._lock:
            if self._ever_connected:
                self._reconnects = (self._reconnects + [self._now_ms()])[-self.MAX_RECONNECTS:]
            self._ever_connected = True
            self._connected = True

    def disconnected_now(self) -> None:
        with self._lock:
            self._connected = False

    def message_received(self, msg_id: Optional[str] = None) -> None:
        with self._lock:
            self._last_message_at = self._now_ms()
            if msg_id:
                self._msg_ids[msg_id] = None
                while len(self._msg_ids) > self.MAX_MSG_IDS:
                    del self._msg_ids[next(iter(self._msg_ids))]

    def has_unreported(self) -> bool:
        with self._lock:
            return bool(self._msg_ids)

    def take_report(self) -> Dict[str, Any]:
        """The report for the next heartbeat; msgIds are handed over once."""
        with self._lock:
            report: Dict[str, Any] = {"connected": self._connected}
            if self._last_message_at is not None:
                report["lastMessageAt"] = self._last_message_at
            if self._reconnects:
                report["reconnects"] = list(self._reconnects)
            if self._msg_ids:
                report["msgIds"] = list(self._msg_ids)
                self._msg_ids = {}
            return report

    def restore(self, report: Dict[str, Any]) -> None:
        """Puts msgIds back after a failed heartbeat, so none is lost."""
        with self._lock:
            for msg_id in report.get("msgIds", []):
                self._msg_ids[msg_id] = None


