"""A small thread-safe circuit breaker for calls to a service that can go silent (the Chroma server).

closed -> (``failures`` failures in a row) -> open -> (``reset_s`` later) -> half-open: one caller probes;
its success closes the breaker, its failure opens it again for another ``reset_s``. While open (or while the
probe is out) ``allow()`` is False at once, so callers skip the service instead of waiting on it, and
``retry_after()`` says when it is worth asking again (the ``Retry-After`` of a 503).

No library on purpose: the whole state machine is these lines, and it needs an injectable clock to be
tested without sleeping.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Callable

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


class CircuitBreaker:
    def __init__(self, failures: int = 2, reset_s: float = 5.0, clock: Callable[[], float] = time.monotonic):
        if failures < 1:
            raise ValueError("failures must be >= 1")
        if reset_s <= 0:
            raise ValueError("reset_s must be > 0")
        self.threshold = failures
        self.reset_s = reset_s
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False
        self.trips = 0  # how many times the breaker opened (for logs and tests)

    @property
    def state(self) -> str:
        with self._lock:
            return self._state()

    def _state(self) -> str:
        if self._opened_at is None:
            return CLOSED
        if self._clock() - self._opened_at >= self.reset_s:
            return HALF_OPEN
        return OPEN

    def allow(self) -> bool:
        """True when a call may go ahead: closed, or the one probe of a half-open breaker."""
        with self._lock:
            state = self._state()
            if state == CLOSED:
                return True
            if state == HALF_OPEN and not self._probing:
                self._probing = True
                return True
            return False

    def success(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._probing = False

    def failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._probing:  # the half-open probe failed: open again for a full reset_s
                self._probing = False
                self._opened_at = self._clock()
                self.trips += 1
            elif self._opened_at is None and self._failures >= self.threshold:
                self._opened_at = self._clock()
                self.trips += 1
            # else: closed below the threshold, or a call that started before the breaker opened

    def release(self) -> None:
        """A probe that ended without a verdict (neither success nor failure): let another caller probe."""
        with self._lock:
            self._probing = False

    def retry_after(self) -> int:
        """Whole seconds until the next probe is allowed (at least 1); 0 when closed."""
        with self._lock:
            if self._opened_at is None:
                return 0
            left = self.reset_s - (self._clock() - self._opened_at)
            return max(1, math.ceil(left))
