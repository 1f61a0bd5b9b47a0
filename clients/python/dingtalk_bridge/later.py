"""Settling an event after its handler returned: what lets a gateway ack a message only once the
turn that handled it completed, while that conversation's next message is handed over already."""

import threading
from typing import Callable, Optional, Tuple

Verdict = Tuple[str, Optional[BaseException]]  # ("ack" | "nack" | "give_back", the failure)


class Later:
    """Return one from a drain handler to settle its event later, from any thread: ``done()`` acks,
    ``fail(error)`` nacks with the retry delay, ``give_back()`` returns it to the bridge at once.
    Until then the drain keeps the lease (extended, and listed in ``held``), while the event's
    ordering key goes on to its next event. The first call wins; later ones do nothing. A drain
    that stops first gives unsettled events back with its release."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._verdict: Optional[Verdict] = None
        self._listener: Optional[Callable[[Verdict], None]] = None

    def done(self) -> None:
        self._settle(("ack", None))

    def fail(self, error: BaseException) -> None:
        self._settle(("nack", error))

    def give_back(self) -> None:
        self._settle(("give_back", None))

    @property
    def settled(self) -> bool:
        return self._verdict is not None

    def _settle(self, verdict: Verdict) -> None:
        with self._lock:
            if self._verdict is not None:
                return
            self._verdict = verdict
            listener = self._listener
        if listener is not None:
            listener(verdict)

    def _listen(self, listener: Callable[[Verdict], None]) -> None:
        """The drain's hook; runs ``listener`` at once when the verdict is already in."""
        with self._lock:
            self._listener = listener
            verdict = self._verdict
        if verdict is not None:
            listener(verdict)
