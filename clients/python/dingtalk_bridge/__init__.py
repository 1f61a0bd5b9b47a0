"""Drain client for dingtalk-fallback-bridge, for Python gateways (Hermes and the like).

Standard library only; copy this folder into a gateway, or ``pip install`` its project.
``BridgeClient`` speaks the consumer API and runs the drain loop in the calling thread;
``AsyncBridgeClient`` is the asyncio counterpart, which never blocks the event loop and runs the
same loop. ``StreamHealth`` collects what the gateway's own DingTalk Stream connection sees, for
heartbeats; a handler that returns a ``Later`` settles its event when it chooses.

    client = BridgeClient.from_env()    # DTBRIDGE_URL, DTBRIDGE_APP, DTBRIDGE_TOKEN, as dtbridge reads them
    client.drain(lambda event: handle(event["payload"]), stop_event=stop)
"""

from .abort import AbortSignal
from .aio import AsyncBridgeClient
from .backoff import backoff_seconds, default_retry_delay_ms
from .client import SEND_TIMEOUT_S, BridgeClient, default_consumer, reply_key
from .drain import DrainOptions, DrainStats
from .errors import (
    BridgeAuthError,
    BridgeDecodeError,
    BridgeError,
    BridgeNetworkError,
    BridgeNotFoundError,
    BridgeRefusedError,
    BridgeRequestError,
    BridgeSendFailedError,
    BridgeServerError,
    _error_for,
)
from .health import StreamHealth
from .later import Later
from .ordering import ordering_key

__version__ = "0.3.1"

__all__ = [
    "AbortSignal",
    "AsyncBridgeClient",
    "BridgeAuthError",
    "BridgeClient",
    "BridgeDecodeError",
    "BridgeError",
    "BridgeNetworkError",
    "BridgeNotFoundError",
    "BridgeRefusedError",
    "BridgeRequestError",
    "BridgeSendFailedError",
    "BridgeServerError",
    "DrainOptions",
    "DrainStats",
    "Later",
    "SEND_TIMEOUT_S",
    "StreamHealth",
    "backoff_seconds",
    "default_consumer",
    "default_retry_delay_ms",
    "ordering_key",
    "reply_key",
]
