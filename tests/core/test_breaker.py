"""The circuit breaker in front of the Chroma server (issue 13, finding 1): its whole state machine."""

from __future__ import annotations

import threading

import pytest

from casepilot.breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_breaker_opens_after_failures_in_a_row_and_a_success_resets_the_count():
    clock = Clock()
    b = CircuitBreaker(failures=2, reset_s=5, clock=clock)
    assert b.state == CLOSED and b.allow() and b.retry_after() == 0
    b.failure()
    b.success()  # not two in a row
    b.failure()
    assert b.state == CLOSED and b.allow()
    b.failure()
    assert b.state == OPEN and not b.allow() and b.trips == 1
    assert b.retry_after() == 5
    clock.now += 3.2
    assert not b.allow() and b.retry_after() == 2


def test_breaker_lets_exactly_one_probe_through_when_half_open():
    clock = Clock()
    b = CircuitBreaker(failures=1, reset_s=5, clock=clock)
    b.failure()
    clock.now += 5
    assert b.state == HALF_OPEN
    assert b.allow()  # the probe
    assert not b.allow() and not b.allow()  # everyone else still skips the service
    b.success()
    assert b.state == CLOSED and b.allow() and b.retry_after() == 0


def test_a_failed_probe_opens_the_breaker_for_another_full_period():
    clock = Clock()
    b = CircuitBreaker(failures=1, reset_s=5, clock=clock)
    b.failure()
    clock.now += 6
    assert b.allow()
    b.failure()
    assert b.state == OPEN and b.trips == 2 and b.retry_after() == 5
    clock.now += 5
    assert b.allow()


def test_a_late_failure_does_not_extend_an_open_breaker_and_release_frees_the_probe():
    clock = Clock()
    b = CircuitBreaker(failures=1, reset_s=5, clock=clock)
    b.failure()
    clock.now += 4
    b.failure()  # a call that started before the breaker opened
    clock.now += 1
    assert b.state == HALF_OPEN and b.allow()
    b.release()  # the probe ended without a verdict (e.g. interrupted)
    assert b.allow()


def test_half_open_admits_one_caller_among_many_threads():
    clock = Clock()
    b = CircuitBreaker(failures=1, reset_s=1, clock=clock)
    b.failure()
    clock.now += 1
    allowed = []
    start = threading.Barrier(16)

    def call():
        start.wait()
        allowed.append(b.allow())

    threads = [threading.Thread(target=call) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert allowed.count(True) == 1


@pytest.mark.parametrize("kw", [{"failures": 0}, {"reset_s": 0}])
def test_breaker_rejects_nonsense_settings(kw):
    with pytest.raises(ValueError):
        CircuitBreaker(**kw)
