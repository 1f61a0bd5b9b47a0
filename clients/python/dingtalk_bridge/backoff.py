"""Backoff delays: between failed calls, and before a failed event comes back."""

import random


def backoff_seconds(failures: int, base: float = 0.5, cap: float = 30.0) -> float:
    """Exponential backoff with jitter over its upper half, so restarted gateways spread out."""
    ceiling = min(cap, base * (2 ** min(failures, 16)))
    return ceiling / 2 + random.random() * ceiling / 2


def default_retry_delay_ms(attempt: int) -> int:
    """The nack delay of an event whose handler failed on its ``attempt``-th lease."""
    return int(min(1000 * 2 ** max(0, attempt - 1), 300_000))
