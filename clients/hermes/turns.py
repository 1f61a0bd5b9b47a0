"""When a bridged message is done in Hermes, and so may be acked.

A message is handed over through the adapter's own inbound step; what Hermes does with it decides
when it is done:
- Hermes drops it (dedup, gating, an empty message: ``handle_message`` is never called): done when
  the hand-over ends;
- it starts a turn: done when ``on_processing_complete`` returns for its event;
- it waits in its session's queue, is merged into another event, steered into the running turn, or
  discarded from the queue: done when its session goes idle (no turn, nothing pending), which is
  after every turn that could carry it has completed;
- a turn cut short by shutdown is not done: its messages are given back, not acked.
Pure logic over three callables, so it is tested without Hermes.
"""

from typing import Any, Callable, Dict, List, Optional


class Handover:
    """One bridged message in Hermes's hands."""

    def __init__(self, msg_id: str, event: Dict[str, Any], later: Any, ended: Any) -> None:
        self.msg_id = msg_id
        self.event = event
        self.laters = [later]
        self.ended = ended           # a future, resolved when the adapter's inbound step returned
        self.message_event: Any = None
        self.session: Optional[str] = None


class TurnTracker:
    def __init__(self, session_of: Callable[[Any], Optional[str]], session_idle: Callable[[str], bool],
                 on_done: Callable[[Handover], None]) -> None:
        self._session_of = session_of
        self._session_idle = session_idle
        self._on_done = on_done         # writes the done record, then settles
        self._open: Dict[str, Handover] = {}
        self.stopping = False

    def begin(self, msg_id: str, event: Dict[str, Any], later: Any, ended: Any) -> Optional[Handover]:
        """A new hand-over, or None when ``msg_id`` is in Hermes's hands already (a second lease of
        it): then ``later`` follows the first one's fate."""
        current = self._open.get(msg_id)
        if current is not None:
            current.laters.append(later)
            return None
        handover = self._open[msg_id] = Handover(msg_id, event, later, ended)
        return handover

    def abandon(self, msg_id: str) -> None:
        self._open.pop(msg_id, None)

    def handling(self, message_event: Any) -> None:
        """``handle_message`` got ``message_event``: the hand-over it came from goes with it."""
        handover = self._open.get(_msg_id_of(message_event) or "")
        if handover is not None and handover.message_event is None:
            handover.message_event = message_event
            handover.session = self._session_of(message_event)

    def ended(self, msg_id: Optional[str], error: Optional[BaseException] = None) -> None:
        """The adapter's inbound step for ``msg_id`` returned (or raised ``error``)."""
        handover = self._open.get(msg_id or "")
        if handover is None or handover.ended.done():
            return
        if error is not None:
            self._open.pop(handover.msg_id, None)
            for later in handover.laters:
                later.fail(error)
        elif handover.message_event is None:
            self._done(handover)  # Hermes dropped it
        handover.ended.set_result(None)

    def turn_completed(self, message_event: Any, cancelled: bool) -> None:
        """``on_processing_complete`` for ``message_event``; ``cancelled`` if the turn was cancelled."""
        for handover in [h for h in self._open.values() if h.message_event is message_event]:
            if cancelled and self.stopping:
                self._give_back(handover)
            else:
                self._done(handover)
        self.check_idle()

    def check_idle(self) -> None:
        """Done: every handed message whose session has gone idle."""
        if self.stopping:
            return
        for handover in list(self._open.values()):
            if handover.session is not None and handover.ended.done() and self._session_idle(handover.session):
                self._done(handover)

    def shutting_down(self) -> None:
        """From now on a cancelled turn gives its messages back, and an idle session settles nothing."""
        self.stopping = True

    def give_back_all(self) -> None:
        for handover in list(self._open.values()):
            self._give_back(handover)

    @property
    def waiting(self) -> List[Handover]:
        return list(self._open.values())

    def _done(self, handover: Handover) -> None:
        if self._open.pop(handover.msg_id, None) is None:
            return
        self._on_done(handover)
        for later in handover.laters:
            later.done()

    def _give_back(self, handover: Handover) -> None:
        if self._open.pop(handover.msg_id, None) is None:
            return
        for later in handover.laters:
            later.give_back()


def _msg_id_of(message_event: Any) -> Optional[str]:
    raw = getattr(message_event, "raw_message", None)
    return getattr(raw, "message_id", None) or getattr(message_event, "message_id", None)
