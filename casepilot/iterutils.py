"""Iteration helpers the standard library of Python 3.11 lacks."""

from __future__ import annotations

from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")


def batched(items: Iterable[T], n: int) -> Iterator[list[T]]:
    """Lists of up to ``n`` items (``itertools.batched`` arrives only in 3.12).

    >>> list(batched(range(5), 2))
    [[0, 1], [2, 3], [4]]
    """
    if n <= 0:
        raise ValueError(f"n must be > 0, but got {n}")
    batch: list[T] = []
    for x in items:
        batch.append(x)
        if len(batch) >= n:
            yield batch
            batch = []
    if batch:
        yield batch
