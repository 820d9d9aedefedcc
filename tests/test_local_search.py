"""Local search (``ls``) and G-LS: NB201's neighbourhood, the climb, restarts, the hook's ranking."""
from __future__ import annotations

import numpy as np
import pytest

from nasearch.errors import UsageError
from nasearch.runner import run_one
from nasearch.searchers.local_search import LocalSearch
from nasearch.spaces.nb201.space import NB201Space
from nasearch.spaces.protocol import Evaluation

from fakes import CountingScorer, ToySpace, search_context


@pytest.fixture(scope="module")
def nb201():
    return NB201Space()


def test_nb201_neighbours_are_the_24_one_op_changes_mutate_reaches(nb201):
    arch = (0, 1, 2, 3, 4, 1)
    found = nb201.neighbours(arch)
    assert len(found) == 24 == len(set(found)) and arch not in found
    assert all(sum(a != b for a, b in zip(arch, n)) == 1 for n in found)
    rng = np.random.default_rng(0)
    assert {nb201.mutate(arch, rng) for _ in range(2000)} == set(found)


class ChainSpace(ToySpace):
    """A single edge of 12 ops on a line: neighbours are op +- 1, fitness peaks at op 9 with a
    false summit at op 2 (so a climb from 0..4 stalls at 2 and must restart)."""

    name = "chain"
    PEAKS = {2: 50.0, 9: 90.0}

    def __init__(self):
        super().__init__(edges=1, ops=12)

    def fitness(self, arch):
        x = arch[0]
        return max(peak - 10.0 * abs(x - p) for p, peak in self.PEAKS.items())

    def neighbours(self, arch):
        return [(x,) for x in (arch[0] - 1, arch[0] + 1) if 0 <= x < self.ops]


def _climb(searcher, space, steps, rng):
    trials = []
    for _ in range(steps):
        trial = searcher.propose(rng)
        trials.append(trial.arch)
        searcher.observe(trial, Evaluation(space.fitness(trial.arch), 1.0))
    return trials


def test_first_improvement_climbs_to_the_summit_then_restarts():
    space = ChainSpace()
    searcher = LocalSearch(space, num_init=1)
    rng = np.random.default_rng(4)
    trials = _climb(searcher, space, 40, rng)
    start = trials[0][0]
    for previous, current in zip(trials[1:], trials[2:]):
        if searcher.restarts == 0:
            assert abs(previous[0] - current[0]) <= 2  # moves along the line, one neighbour at a time
    assert searcher.restarts >= 1  # the summit reached, no neighbour beats it: a fresh random start
    summit = 2 if start <= 5 else 9
    assert (summit,) in trials and searcher.moves >= 1
    assert trials.index((summit,)) <= abs(summit - start) + 1  # first improvement: straight up the slope


def test_first_improvement_moves_at_once_best_improvement_after_the_whole_neighbourhood(nb201):
    for improvement, expected_centre_changes in (("first", True), ("best", False)):
        searcher = LocalSearch(nb201, num_init=1, improvement=improvement)
        rng = np.random.default_rng(0)
        start = searcher.propose(rng)
        searcher.observe(start, Evaluation(50.0, 1.0))
        first = searcher.propose(rng)
        assert first.arch in nb201.neighbours(start.arch)
        searcher.observe(first, Evaluation(60.0, 1.0))  # an improvement
        second = searcher.propose(rng)
        if expected_centre_changes:
            assert second.arch in nb201.neighbours(first.arch) and searcher.centre[0] == first.arch
        else:  # still the start's neighbourhood, 22 of them left
            assert second.arch in nb201.neighbours(start.arch) and len(searcher.queue) == 22
            for _ in range(22):
                searcher.observe(second, Evaluation(55.0, 1.0))
                second = searcher.propose(rng)
            searcher.observe(second, Evaluation(55.0, 1.0))
            assert searcher.centre[0] == first.arch  # moved to the neighbourhood's best


def test_a_local_optimum_restarts_and_every_neighbour_is_trained_once(nb201):
    searcher = LocalSearch(nb201, num_init=3)
    rng = np.random.default_rng(1)
    trials = []
    for i in range(3 + 24 + 1):
        trial = searcher.propose(rng)
        trials.append(trial.arch)
        searcher.observe(trial, Evaluation(80.0 if i == 2 else 10.0, 1.0))  # the third start is best
    centre = trials[2]
    assert set(trials[3:27]) == set(nb201.neighbours(centre))  # the whole neighbourhood, no repeat
    assert searcher.restarts == 1 and searcher.centre[0] == trials[27]  # a local optimum: a fresh start


def test_g_ls_tries_the_neighbours_in_the_proxys_order(nb201):
    scorer = CountingScorer(nb201, fn=lambda arch: sum(arch))
    context = search_context(nb201, "ls", scorer=scorer, k=1, args={"num_init": 1})
    searcher = context.new_searcher()
    rng = np.random.default_rng(0)
    start = searcher.propose(rng)
    searcher.observe(start, Evaluation(99.0, 1.0))  # nothing will beat it
    order = []
    for _ in range(24):
        trial = searcher.propose(rng)
        order.append(trial.arch)
        searcher.observe(trial, Evaluation(1.0, 1.0))
    assert order == sorted(nb201.neighbours(start.arch), key=lambda a: -sum(a))  # stable: ties in edge order
    debts = searcher.ledger.drain()
    assert sum(d.score for d in debts) >= 24  # every neighbour's score went through the ledger


def test_ls_refuses_a_space_without_neighbours_in_one_line():
    with pytest.raises(UsageError, match="neighbours") as info:
        search_context(ToySpace(), "ls")
    assert "\n" not in str(info.value)


def test_bad_arguments_are_one_line():
    with pytest.raises(UsageError, match="improvement"):
        search_context(ChainSpace(), "ls", args={"improvement": "steepest"})


def test_ls_runs_deterministic_on_nb201_and_trains_every_cell_once_per_climb():
    context = search_context(NB201Space(), "ls", budget=12000.0)
    first, again = run_one(context, 3), run_one(context, 3)
    assert first == again and first.evaluations > 50
    archs = first.trajectory.arch
    assert len(set(archs)) >= len(archs) - 2  # neighbours are never re-trained; only blind restarts can repeat
