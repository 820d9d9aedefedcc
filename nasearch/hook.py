"""The pool-selection hook: the one change that turns a searcher into its G-twin.

Wherever a searcher would draw one candidate it draws ``k`` from the same generator, and the
hook passes one on, chosen by its selection strategy (``hook.select``):

* ``proxy`` (the method): the best candidate by the proxy score;
* ``uniform`` (exact no-information control): a fresh uniform pick from the pool with the
  run's own generator, nothing scored, nothing charged; in distribution it is the vanilla
  searcher, for every searcher;
* ``oracle`` (ceiling control, not a method): the candidate the benchmark itself rates best,
  i.e. the highest ``space.query`` fitness under a fixed generator (so the run's stream is
  untouched); it peeks at the answer and is charged nothing, to bound what any proxy could do;
* ``worst`` (floor control): the *lowest* proxy score, charged like ``proxy``; if the proxy
  carries information, this does worse than ``uniform``.

Every proxy score is charged to the run's clock by the cost policy, once per architecture
per run (a real search would keep the scores it already paid for). The pool never touches
the clock: each score it takes is *owed* (:meth:`PoolSelector.take_owed`), and the runner,
which owns the clock, charges the debts in the order they were made right after
``searcher.propose`` returns, so the paper's stopping rule (the first score or training the
budget cannot pay ends the run, uncounted) holds without an exception unwinding through a
searcher or through hpbandster's iteration.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from nasearch.clock import ProxyCostPolicy

#: hook.select values; the first is the method, the others are controls
SELECTIONS = ("proxy", "uniform", "oracle", "worst")
#: the generator seed of the oracle's benchmark queries (never the run's generator)
ORACLE_SEED = 0


class PoolSelector:
    """Per-run pool selection: over a shared proxy scorer (``proxy``, ``worst``) or without one."""

    def __init__(
        self, scorer: Any, k: int, cost: ProxyCostPolicy, select: str = "proxy", space: Any = None
    ) -> None:
        if k < 1:
            raise ValueError(f"pool size k must be >= 1, got {k}")
        if select not in SELECTIONS:
            raise ValueError(f"hook.select must be one of {SELECTIONS}, got {select!r}")
        if scorer is None and select in ("proxy", "worst"):
            raise ValueError(f"hook.select: {select} needs a proxy scorer")
        self.scorer, self.k, self.cost, self.select = scorer, k, cost, select
        self.space = space if space is not None else getattr(scorer, "space", None)
        self._paid: set[str] = set()
        #: simulated seconds owed, one entry per candidate looked at (0.0 when free or already
        #: paid), in order; the runner charges them and counts each paid one as a proxy score
        self._owed: list[float] = []
        self.scored = 0  # candidates looked at (repeats included), paid for or not

    def take_owed(self) -> list[float]:
        """The debts made since the last call, oldest first (the runner charges them in order)."""
        owed, self._owed = self._owed, []
        return owed

    def draw(self, rng: np.random.Generator, generate: Callable[[np.random.Generator], Any]) -> Any:
        candidates = [generate(rng) for _ in range(self.k)]
        if self.select == "uniform":
            # the no-information control: a fresh uniform choice per pool, free of charge
            self._owed.extend([0.0] * len(candidates))
            self.scored += len(candidates)
            return candidates[int(rng.integers(len(candidates)))]
        if self.select == "oracle":
            return self.oracle(candidates)
        return self.choose(candidates)

    def choose(self, candidates: Sequence[Any]) -> Any:
        """The best candidate by the proxy (the worst with ``select: worst``; the first one on ties)."""
        sign = 1.0 if self.scorer.higher_is_better else -1.0
        if self.select == "worst":
            sign = -sign
        best, best_value = None, -np.inf
        for arch in candidates:
            value = sign * self.score(arch)
            if best is None or value > best_value:
                best, best_value = arch, value
        return best

    def oracle(self, candidates: Sequence[Any]) -> Any:
        """The candidate with the highest benchmark fitness (first on ties); free, and off the run's stream."""
        best, best_value = None, -np.inf
        for arch in candidates:
            value = self.space.query(arch, np.random.default_rng(ORACLE_SEED)).fitness
            if best is None or value > best_value:
                best, best_value = arch, value
        return best

    def score(self, arch: Any) -> float:
        record = self.scorer.score(arch)
        arch_id = self.scorer.space.arch_id(arch)
        if arch_id not in self._paid:
            self._owed.append(self.cost.seconds(record.seconds))
            self._paid.add(arch_id)
        else:
            self._owed.append(0.0)
        self.scored += 1
        return record.score


def selection_label(hook: Any) -> str | None:
    """What a run record's ``proxy`` says: the proxy, or the control (``uniform``, ``oracle``,
    ``worst:<proxy>``); ``hook.proxy: uniform`` records ``uniform`` as it always has."""
    if hook is None:
        return None
    select = getattr(hook, "select", "proxy")
    if select == "proxy":
        return hook.proxy
    return f"worst:{hook.proxy}" if select == "worst" else select


def needs_scorer(hook: Any) -> bool:
    """Whether a hook's selection scores candidates with its proxy."""
    return hook is not None and getattr(hook, "select", "proxy") in ("proxy", "worst")


def build_scorer(config: Any, space: Any) -> Any:
    """The proxy scorer a config's hook selects with (None when its selection scores nothing)."""
    if not needs_scorer(config.hook):
        return None
    from nasearch.proxies.data import DataSource
    from nasearch.proxies.scorer import ScorerSpec
    from nasearch.proxies.store import ScoreCache

    return ScorerSpec.from_hook(config.hook).build(space, DataSource.from_config(config.data), ScoreCache(config.cache_dir))
