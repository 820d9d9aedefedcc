"""The pool-selection hook: the one change that turns a searcher into its G-twin.

Wherever a searcher would draw one candidate it draws ``k`` from the same generator, the
hook scores them with a proxy and passes on the best. Every proxy score is charged to the
run's clock by the cost policy, once per architecture per run (a real search would keep the
scores it already paid for).
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from nasearch.clock import ProxyCostPolicy, SimulatedClock
from nasearch.proxies.scorer import ProxyScorer


class PoolSelector:
    """Per-run pool selection over a shared :class:`ProxyScorer`."""

    def __init__(self, scorer: ProxyScorer, k: int, clock: SimulatedClock, cost: ProxyCostPolicy) -> None:
        if k < 1:
            raise ValueError(f"pool size k must be >= 1, got {k}")
        self.scorer, self.k, self.clock, self.cost = scorer, k, clock, cost
        #: the scorer is a no-information control: pick uniformly, score nothing
        self.uniform_pick = bool(getattr(scorer, "uniform_pick", False))
        self._paid: set[str] = set()
        self.scored = 0  # proxy scores requested in this run (pool members, repeats included)

    def draw(self, rng: np.random.Generator, generate: Callable[[np.random.Generator], Any]) -> Any:
        candidates = [generate(rng) for _ in range(self.k)]
        if self.uniform_pick:
            # the no-information control: a fresh uniform choice per pool, free of charge
            self.scored += len(candidates)
            return candidates[int(rng.integers(len(candidates)))]
        return self.choose(candidates)

    def choose(self, candidates: Sequence[Any]) -> Any:
        """The best candidate by the proxy (the first one on ties)."""
        sign = 1.0 if self.scorer.higher_is_better else -1.0
        best, best_value = None, -np.inf
        for arch in candidates:
            value = sign * self.score(arch)
            if best is None or value > best_value:
                best, best_value = arch, value
        return best

    def score(self, arch: Any) -> float:
        record = self.scorer.score(arch)
        arch_id = self.scorer.space.arch_id(arch)
        if arch_id not in self._paid:
            self.clock.charge(self.cost.seconds(record.seconds), kind="proxy")
            self._paid.add(arch_id)
        self.scored += 1
        return record.score
