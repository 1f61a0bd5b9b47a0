"""What this gateway has done with bridged messages, in an append-only file that survives kill -9.

Records (JSON lines): ``{"d": event id, "s": seq, "m": msgId, "c": chat id, "t": ms}`` done (the
Hermes turn that handled it completed, or Hermes dropped it), ``{"a": event id}`` its ack confirmed
by the bridge, ``{"sm": msgId}`` handled over the gateway's own Stream, ``{"o": ms}`` a Stream
connection opened. Each record is one ``os.write``: once it returns, the record outlives the
process. A done record is written before the message is acked, so a message acked or not, once
done, never runs a second turn. Compacted on open.
"""

import json
import logging
import os
import threading
import time
from typing import Any, Dict, List, Optional, Tuple

logger = logging.getLogger(__name__)

OPENS_WINDOW_S = 3600  # Stream opens reported across restarts (the stall window is 10 min)


class Journal:
    KEEP_UNCONFIRMED_S = 8 * 86400   # past the bridge's retention: such an event may still come back
    KEEP_CONFIRMED_S = 3600          # acked done events and Stream msgIds: for msgId dedup only

    def __init__(self, path: str, clock=time.time) -> None:
        self.path = path
        self._clock = clock
        self._lock = threading.Lock()
        self._fd: Optional[int] = None
        self._reset()

    def _reset(self) -> None:
        self.done: Dict[str, Dict[str, Any]] = {}      # event id -> its done record
        self.acked: set = set()                         # event ids whose ack the bridge confirmed
        self.done_msgs: Dict[str, float] = {}           # msgId -> when done (either path), seconds
        self.msg_events: Dict[str, str] = {}            # msgId -> event id (bridged)
        self.chats: Dict[str, str] = {}                 # chat id -> latest event id, for replies
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
        for event_id, r in self.done.items():
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
        kept += [{"sm": m, "t": int(t * 1000)} for m, t in self.done_msgs.items()
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
        """Later records (a turn that completes after the stop) are still written, by path."""
        with self._lock:
            fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def _fold(self, r: Dict[str, Any]) -> None:
        if "d" in r:
            self.done[r["d"]] = r
            if r.get("m"):
                self.done_msgs[r["m"]] = r.get("t", 0) / 1000.0
                self.msg_events[r["m"]] = r["d"]
            if r.get("c"):
                self.chats.pop(r["c"], None)
                self.chats[r["c"]] = r["d"]
        elif "a" in r:
            self.acked.add(r["a"])
        elif "sm" in r:
            self.done_msgs[r["sm"]] = r.get("t", 0) / 1000.0
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

    def record_done(self, event: Dict[str, Any]) -> None:
        if event["id"] in self.done:
            return
        payload = event.get("payload") or {}
        self._append({"d": event["id"], "s": event.get("seq"), "m": payload.get("msgId"),
                      "c": chat_of(payload), "t": self._now_ms()})

    def record_acked(self, event_id: str) -> None:
        if event_id in self.done and event_id not in self.acked:
            self._append({"a": event_id})

    def record_stream_message(self, msg_id: Optional[str]) -> None:
        if msg_id and msg_id not in self.done_msgs:
            self._append({"sm": msg_id, "t": self._now_ms()})

    def record_stream_open(self) -> None:
        self._append({"o": self._now_ms()})

    def note_chat(self, event: Dict[str, Any]) -> None:
        """In memory only: the latest bridged event per chat, for replies while its turn runs."""
        payload = event.get("payload") or {}
        chat = chat_of(payload)
        if chat:
            with self._lock:
                self.chats.pop(chat, None)
                self.chats[chat] = event["id"]
                if payload.get("msgId"):
                    self.msg_events[payload["msgId"]] = event["id"]

    def is_done(self, event: Dict[str, Any]) -> bool:
        """Did a turn handle this event (or Hermes drop it) before, from the bridge or over Stream?"""
        msg_id = (event.get("payload") or {}).get("msgId")
        return event["id"] in self.done or (bool(msg_id) and msg_id in self.done_msgs)

    def recent_done_msg_ids(self, seconds: float) -> List[str]:
        cutoff = self._clock() - seconds
        return [m for m, t in self.done_msgs.items() if t >= cutoff]

    def unconfirmed(self) -> List[Tuple[str, int]]:
        return [(e, r["s"]) for e, r in self.done.items() if e not in self.acked and isinstance(r.get("s"), int)]


def chat_of(payload: Dict[str, Any]) -> Optional[str]:
    return payload.get("conversationId") or payload.get("senderId")
