"""Client-side request pacing and retry delays for remote teachers."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping


class RateLimiter:
    """At most ``per_minute`` requests per minute across threads, evenly spaced; None = unlimited."""

    def __init__(
        self,
        per_minute: float | None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = 60.0 / per_minute if per_minute else 0.0
        self._clock, self._sleep = clock, sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def acquire(self) -> None:
        """Block until the next request may be sent."""
        if not self.interval:
            return
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + self.interval
        if slot > now:
            self._sleep(slot - now)


def backoff_delay(
    retry: int,
    base_s: float,
    max_s: float,
    retry_after_s: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Delay before retry number ``retry`` (0-based): the server's Retry-After when given (capped at
    ``max_s``), else a random delay in ``[window / 2, window]`` with ``window = min(max_s, base_s * 2**retry)``."""
    if retry_after_s is not None and retry_after_s >= 0:
        return min(retry_after_s, max_s)
    window = min(max_s, base_s * 2**retry)
    return (rng or random).uniform(0.5 * window, window)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def retry_after(headers: Mapping[str, str]) -> float | None:
    """The server's requested wait in seconds: ``retry-after-ms`` (OpenAI's) first, then ``Retry-After``."""
    try:
        return max(0.0, float(headers.get("retry-after-ms", "")) / 1000)
    except ValueError:
        return parse_retry_after(headers.get("retry-after"))
