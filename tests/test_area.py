"""A-REA: REA whose initial population is the best P of M random archs by the hook's proxy."""
from __future__ import annotations

import numpy as np
import pytest

from nasearch.clock import ProxyCostPolicy
from nasearch.hook import PoolSelector
from nasearch.searchers.evolution import RegularizedEvolution


class LineSpace:
    """Archs are integers 0..999; mutate moves by +-1."""

    def sample(self, rng):
        return int(rng.integers(1000))

    def mutate(self, arch, rng):
        return int(arch + (1 if rng.random() < 0.5 else -1))


class Scorer:
    higher_is_better = True


class RecordingPool(PoolSelector):
    """The hook's pool whose ``score`` (which owes the charge) records what it scored; A-REA ranks
    through the pool's public ``rank``."""

    def __init__(self):
        super().__init__(Scorer(), k=1, cost=ProxyCostPolicy("lookup"))
        self.scored = []

    def score(self, arch):
        self.scored.append(arch)
        return float(arch)  # the proxy prefers large integers

    def draw(self, rng, generate):
        raise AssertionError("A-REA's mutations must not be pool-selected")


def test_initial_population_is_the_best_p_of_m_by_the_proxy_and_every_score_is_charged():
    pool = RecordingPool()
    searcher = RegularizedEvolution(LineSpace(), pool, population_size=5, tournament_size=2, initial_sample=50)
    rng = np.random.default_rng(0)
    initial = [searcher.propose(rng).arch for _ in range(5)]
    expected_sample = [int(x) for x in np.random.default_rng(0).integers(1000, size=50)]
    assert pool.scored == expected_sample  # all 50 scored (charged) once, in sampling order
    assert initial == sorted(expected_sample, reverse=True)[:5]
    for arch in initial:
        searcher.observe(type("T", (), {"arch": arch})(), _ev(arch))
    child = searcher.propose(rng).arch  # plain mutation, no pool draw (RecordingPool.draw would raise)
    assert min(abs(child - a) for a in initial) == 1
    assert len(pool.scored) == 50


def _ev(arch):
    class E:
        fitness = float(arch)
    return E()


def test_initial_sample_needs_a_hook_and_at_least_p():
    with pytest.raises(ValueError, match="needs a hook"):
        RegularizedEvolution(LineSpace(), None, population_size=5, initial_sample=50)
    with pytest.raises(ValueError, match="initial_sample >= population_size"):
        RegularizedEvolution(LineSpace(), RecordingPool(), population_size=5, initial_sample=3)
