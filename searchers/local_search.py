"""Local search (White, Nolen, Savani, "Local Search is State of the Art for NAS Benchmarks", 2020/21),
as NASLib's ``ls`` optimizer runs it, under the simulated clock; with the hook, G-LS.

1. Train ``num_init`` (10) random architectures; the best is the first centre.
2. Train the centre's unvisited neighbours (``space.neighbours``: NB201's 24 one-op changes) in a
   random order, one per proposal.
   * ``improvement: first`` (default): move to the first neighbour that beats the centre's
     fitness and start over from it;
   * ``improvement: best``: train the whole neighbourhood, then move to its best if that beats the
     centre (NASLib's code does this: it pops the whole neighbourhood before it moves).
3. A local optimum (no neighbour beat the centre, or every neighbour was already trained in this
   run) restarts the climb from one fresh random architecture (as NASLib does).

Neighbours this run has already trained are skipped (NASLib re-queries them; training the
centre's predecessor again is pure waste). The runner keeps the run's incumbent; the climb
compares the noisy fitness the space returns, as NASLib does.

G-LS: with the pool hook, the unvisited neighbours are ranked by the pool (:meth:`nasearch.hook.
PoolSelector.rank`: the proxy, the online predictor once it is ready, or a uniform order for the
``uniform`` control) instead of shuffled, so the first improvement is found sooner; every score is
charged by the hook's cost policy, once per architecture per run. The random starts (initial and
restarts) are drawn through the hook like any other searcher's samples (best of ``hook.k``).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from nasearch.searchers.base import AT_LEAST_ONE, Searcher, Trial
from nasearch.spaces.protocol import Evaluation

IMPROVEMENTS = ("first", "best")


class LocalSearch(Searcher):
    name = "ls"
    requires = ("neighbours",)
    bounds = {"num_init": AT_LEAST_ONE}

    def __init__(self, space: Any, pool: Any = None, num_init: int = 10, improvement: str = "first") -> None:
        super().__init__(space, pool)
        if num_init < 1:
            raise ValueError(f"num_init must be >= 1, got {num_init}")
        if improvement not in IMPROVEMENTS:
            raise ValueError(f"improvement must be one of {', '.join(IMPROVEMENTS)}, got {improvement!r}")
        self.num_init, self.improvement = int(num_init), improvement
        self.phase = "init"  # init -> climb <-> restart
        self.initialised = 0
        self.visited: set[str] = set()
        self.centre: tuple[Any, float] | None = None
        self.best: tuple[Any, float] | None = None  # the best of this climb (centre included)
        self.queue: list | None = None  # the centre's neighbours still to train; None: not built yet
        self.restarts = 0
        self.moves = 0

    # -- ask -----------------------------------------------------------------------------------
    def propose(self, rng: np.random.Generator) -> Trial:
        if self.phase == "init":
            self.initialised += 1
            return Trial(self.draw(rng, self.space.sample))
        if self.phase == "climb":
            if self.queue is None:
                self.queue = self._neighbourhood(rng)
            if self.queue:
                return Trial(self.queue.pop(0))
            self._local_optimum()  # every neighbour already trained in this run
        return Trial(self.draw(rng, self.space.sample))  # a restart

    def _neighbourhood(self, rng: np.random.Generator) -> list:
        arch_id = self.space.arch_id
        fresh = [n for n in self.space.neighbours(self.centre[0]) if arch_id(n) not in self.visited]
        if self.pool is not None:
            return self.pool.rank(fresh, rng=rng)
        return [fresh[int(i)] for i in rng.permutation(len(fresh))]

    # -- tell ----------------------------------------------------------------------------------
    def observe(self, trial: Trial, evaluation: Evaluation) -> None:
        arch, fitness = trial.arch, float(evaluation.fitness)
        self.visited.add(self.space.arch_id(arch))
        if self.phase == "init":
            if self.best is None or fitness > self.best[1]:
                self.best = (arch, fitness)
            if self.initialised >= self.num_init:
                self._move(self.best)
            return
        if self.phase == "restart":
            self.restarts += 1
            self._move((arch, fitness))
            return
        if fitness > self.best[1]:
            self.best = (arch, fitness)
            if self.improvement == "first":
                self._move(self.best)
                return
        if not self.queue:  # the neighbourhood is done
            if self.best[0] is not self.centre[0]:
                self._move(self.best)  # best improvement
            else:
                self._local_optimum()

    def _move(self, centre: tuple[Any, float]) -> None:
        if self.centre is not None and self.phase == "climb":
            self.moves += 1
        self.centre = self.best = centre
        self.phase, self.queue = "climb", None

    def _local_optimum(self) -> None:
        self.phase, self.queue = "restart", None
