"""Regularized Evolution (Real et al., 2019) as AutoDL's NB201 scripts run it.

Population 10, tournament sample 3, the oldest member dies each step. With the hook it is
G-REA: the tournament parent is mutated k times and the proxy picks the child to train.
The initial population is drawn through the hook as well, since each member is a drawn
candidate like any other.

A-REA (Mellor et al., "Neural Architecture Search without Training", ICML 2021): with
``initial_sample: M`` (M > population_size) and a hook, the initial population is the best
``population_size`` of M uniformly sampled architectures by the hook's proxy (NASWOT in the
paper), every score charged to the clock as the hook charges any score; after that the search
is plain REA (mutations are *not* pool-selected). M = 1000 in configs/experiments/table6.yaml is
our reading of the paper's protocol (sample many, keep the best P); it is an argument.
"""
from __future__ import annotations

from collections import deque

import numpy as np

from nasearch.searchers.base import AT_LEAST_ONE, MAX_DRAWS, Bound, Searcher, Trial
from nasearch.spaces.protocol import Evaluation


class RegularizedEvolution(Searcher):
    name = "rea"
    bounds = {"population_size": AT_LEAST_ONE, "tournament_size": AT_LEAST_ONE, "initial_sample": Bound(0, MAX_DRAWS)}

    def __init__(self, space, pool=None, population_size: int = 10, tournament_size: int = 3,
                 initial_sample: int = 0) -> None:
        super().__init__(space, pool)
        if initial_sample and (pool is None or initial_sample < population_size):
            raise ValueError(
                f"initial_sample (A-REA) needs a hook (the proxy that ranks the sample) and"
                f" initial_sample >= population_size, got {initial_sample} with population_size {population_size}"
                + ("" if pool is not None else " and no hook")
            )
        self.initial_sample = int(initial_sample)
        self._initial: list = []  # A-REA: the chosen initial population, proposed in order
        if population_size < 1 or not 1 <= tournament_size <= population_size:
            raise ValueError(
                f"need population_size >= 1 and 1 <= tournament_size <= population_size,"
                f" got {population_size} and {tournament_size}"
            )
        self.population_size = population_size
        self.tournament_size = tournament_size
        self.population: deque[tuple[object, float]] = deque()
        self._pending = 0  # proposals not yet observed while the population fills

    def _assisted_initial(self, rng: np.random.Generator) -> list:
        """The best ``population_size`` of ``initial_sample`` random archs by the hook's proxy
        (stable: ties keep sampling order); every score is charged through the hook."""
        sample = [self.space.sample(rng) for _ in range(self.initial_sample)]
        return self.pool.rank(sample, self.population_size, rng)

    def propose(self, rng: np.random.Generator) -> Trial:
        if len(self.population) + self._pending < self.population_size:
            self._pending += 1
            if self.initial_sample:
                if not self._initial:
                    self._initial = self._assisted_initial(rng)
                return Trial(self._initial.pop(0))
            return Trial(self.draw(rng, self.space.sample))
        picks = rng.choice(len(self.population), size=self.tournament_size, replace=False)
        parent = max((self.population[i] for i in picks), key=lambda member: member[1])[0]
        if self.initial_sample:  # A-REA: plain REA after the assisted start
            return Trial(self.space.mutate(parent, rng))
        return Trial(self.draw(rng, lambda r: self.space.mutate(parent, r)))

    def observe(self, trial: Trial, evaluation: Evaluation) -> None:
        if self._pending:
            self._pending -= 1
        self.population.append((trial.arch, evaluation.fitness))
        if len(self.population) > self.population_size:
            self.population.popleft()
