"""Injected faults, so ingestion can prove it survives a flaky API before a real one teaches it."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass

FAULT_KINDS = ("429", "500", "slow")


@dataclass(frozen=True)
class FaultPlan:
    """Which requests fail, and how.

    Args:
        rate: Probability in [0, 1] that a request draws a fault.
        kinds: Fault kinds to draw from: ``"429"`` (rate limited, with ``Retry-After``),
            ``"500"`` (server error) and ``"slow"`` (answer correctly after ``slow_seconds``,
            long enough to trip a client timeout).
        seed: Seed of the fault stream: the n-th request gets the same verdict on every run.
        first_n: Deterministic mode for tests: the first ``first_n`` requests fail, cycling
            through ``kinds`` in order, before ``rate`` applies.
        retry_after: Seconds announced in the ``Retry-After`` header of a 429.
        slow_seconds: Delay of a ``slow`` fault.
    """

    rate: float = 0.0
    kinds: tuple[str, ...] = FAULT_KINDS
    seed: int = 0
    first_n: int = 0
    retry_after: int = 1
    slow_seconds: float = 2.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"fault rate must be within [0, 1], got {self.rate}")
        unknown = sorted(set(self.kinds) - set(FAULT_KINDS))
        if unknown:
            raise ValueError(f"unknown fault kinds {unknown}; known: {', '.join(FAULT_KINDS)}")
        if (self.rate > 0 or self.first_n > 0) and not self.kinds:
            raise ValueError("faults requested but no fault kinds given")
        if self.first_n < 0 or self.retry_after < 0 or self.slow_seconds < 0:
            raise ValueError("first_n, retry_after and slow_seconds must not be negative")


class FaultInjector:
    """The running state of a :class:`FaultPlan`: a request counter and a seeded stream.

    Every faultable request consumes exactly two draws whether or not it fails, so the verdict
    for the n-th request depends only on the seed and n, not on the rate or earlier outcomes.
    """

    def __init__(self, plan: FaultPlan) -> None:
        self.plan = plan
        self._rng = random.Random(plan.seed)
        self._count = 0
        self._lock = threading.Lock()

    def next_fault(self) -> str | None:
        """Return the fault kind for the next request, or None to answer it normally."""
        plan = self.plan
        # Request threads race for the stream; the lock keeps the sequence itself deterministic.
        with self._lock:
            n = self._count
            self._count += 1
            draw = self._rng.random()
            pick = self._rng.random()
        if not plan.kinds:
            return None
        if n < plan.first_n:
            return plan.kinds[n % len(plan.kinds)]
        if draw < plan.rate:
            return plan.kinds[int(pick * len(plan.kinds))]
        return None
