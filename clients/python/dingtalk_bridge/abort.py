"""Ending calls at once from any thread: what lets a drain stop with a long poll in flight."""

import socket
import threading
import urllib.request
from typing import Any, List

class AbortSignal:
    """Ends the calls made with it at once, from any thread: ``abort()`` shuts their sockets down,
    and later calls with it fail at once. The drain loops abort their long poll this way on stop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sockets: List[socket.socket] = []
        self.aborted = False

    def abort(self) -> None:
        with self._lock:
            self.aborted = True
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            _shut(sock)

    def _attach(self, sock: socket.socket) -> None:
        with self._lock:
            if not self.aborted:
                self._sockets = [s for s in self._sockets if s.fileno() != -1] + [sock]
                return
        _shut(sock)


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class _SignalMixin:
    """Registers each connection's socket with an AbortSignal; proxies and TLS work as in urlopen."""

    def __init__(self, signal: AbortSignal) -> None:
        super().__init__()  # type: ignore[call-arg]
        self._signal = signal

    def do_open(self, http_class: Any, req: Any, **kwargs: Any) -> Any:
        signal = self._signal

        class Connection(http_class):  # type: ignore[misc, valid-type]
            def connect(self) -> None:
                super().connect()
                signal._attach(self.sock)

        return super().do_open(Connection, req, **kwargs)  # type: ignore[misc]


class _SignalHTTPHandler(_SignalMixin, urllib.request.HTTPHandler):
    pass


class _SignalHTTPSHandler(_SignalMixin, urllib.request.HTTPSHandler):
    pass


