"""Regularized Evolution (Real et al., 2019) as AutoDL's NB201 scripts run it.

Population 10, tournament sample 3, the oldest member dies each step. With the hook it is
G-REA: the tournament parent is mutated k times and the proxy picks the child to train.
The initial population is drawn through the hook as well, since each member is a drawn
candidate like any other.
"""
from __future__ import annotations

from collections import deque

import numpy as np

from searchers.base import Searcher, Trial
from spaces.protocol import Evaluation


class RegularizedEvolution(Searcher):
    name = "rea"

    def __init__(self, space, pool=None, population_size: int = 10, tournament_size: int = 3) -> None:
        super().__init__(space, pool)
        if population_size < 1 or not 1 <= tournament_size <= population_size:
            raise ValueError(
                f"need population_size >= 1 and 1 <= tournament_size <= population_size,"
                f" got {population_size} and {tournament_size}"
            )
        self.population_size = population_size
        self.tournament_size = tournament_size
        self.population: deque[tuple[object, float]] = deque()
        self._pending = 0  # proposals not yet observed while the population fills

    def propose(self, rng: np.random.Generator) -> Trial:
        if len(self.population) + self._pending < self.population_size:
            self._pending += 1
            return Trial(self.draw(rng, self.space.sample))
        picks = rng.choice(len(self.population), size=self.tournament_size, replace=False)
        parent = max((self.population[i] for i in picks), key=lambda member: member[1])[0]
        return Trial(self.draw(rng, lambda r: self.space.mutate(parent, r)))

    def observe(self, trial: Trial, evaluation: Evaluation) -> None:
        if self._pending:
            self._pending -= 1
        self.population.append((trial.arch, evaluation.fitness))
        if len(self.population) > self.population_size:
            self.population.popleft()
