"""BANANAS as published: the batched MLP ensemble, the mutation acquisition, the random variant."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from nasearch.errors import UsageError
from nasearch.predictors import make_predictor
from nasearch.searchers.bananas import Bananas
from nasearch.spaces.nb201.space import NB201Space
from nasearch.spaces.protocol import Evaluation

from fakes import search_context


@pytest.fixture(scope="module")
def nb201():
    return NB201Space()


def _data(space, n, seed=0):
    rng = np.random.default_rng(seed)
    archs = [space.sample(rng) for _ in range(n)]
    return archs, [space.final_metrics(a)["cifar10_valid"] for a in archs]


def test_the_ensemble_is_one_batched_network_of_distinct_members_that_learns(nb201):
    archs, y = _data(nb201, 160)
    predictor = make_predictor("bananas", nb201, seed=3)
    predictor.members, predictor.batch, predictor.epochs, predictor.learning_rate = 5, 0, 50, 0.05
    predictor.fit(archs[:60], y[:60])
    parameters = list(predictor.model.parameters())
    assert len(parameters) == 1  # every member's every weight in one tensor: one Adam step per step
    members = predictor._members(predictor._features(archs[60:], fit=False))
    assert members.shape == (5, 100)
    assert min(np.abs(members[i] - members[j]).max() for i in range(5) for j in range(i)) > 1e-3  # not copies
    mean, std = predictor.predict_dist(archs[60:])
    assert (std > 0).all()
    assert spearmanr(mean, y[60:])[0] > 0.4  # held-out cells: it learned something real
    again = make_predictor("bananas", nb201, seed=3)
    again.members, again.batch, again.epochs, again.learning_rate = 5, 0, 50, 0.05
    again.fit(archs[:60], y[:60])
    assert np.array_equal(again.predict_dist(archs[60:])[0], mean)  # same seed, same bytes


def test_minibatch_schedule_gives_each_member_its_own_order(nb201):
    archs, y = _data(nb201, 80, seed=1)
    predictor = make_predictor("bananas", nb201, seed=0)
    predictor.epochs = 5
    predictor.fit(archs, y)  # minibatches of 32, per-member permutations
    assert predictor._members(predictor._features(archs, fit=False)).shape == (5, 80)


def _observe_init(searcher, space, rng, fitness):
    trials = []
    for _ in range(searcher.num_init):
        trial = searcher.propose(rng)
        searcher.observe(trial, Evaluation(fitness(trial.arch), 1.0))
        trials.append(trial.arch)
    return trials


def test_mutation_acquisition_queues_unseen_neighbours_of_the_best(nb201):
    searcher = Bananas(nb201, num_init=10, k=10)
    rng = np.random.default_rng(0)
    fitness = lambda arch: float(sum(arch))  # noqa: E731
    init = _observe_init(searcher, nb201, rng, fitness)
    ranked = sorted(init, key=lambda a: -fitness(a))
    candidates = searcher._candidates(np.random.default_rng(1))
    assert 100 <= len(candidates) == len(set(candidates)) <= 5 * 24  # the best first, until 100
    near = [set(nb201.neighbours(a)) for a in ranked[:5]]
    assert set(candidates) <= set().union(*near) and set(candidates) >= near[0] - set(init)
    queued = [searcher.propose(rng).arch]
    queued += list(searcher.queue)
    assert len(queued) == 10 == len(set(queued))
    assert set(queued) <= set().union(*near) and not set(queued) & set(init)
    debts = searcher.ledger.drain()
    assert [(d.kind, d.score) for d in debts] == [("predictor", False)]
    assert debts[0].seconds == pytest.approx(searcher.fit_cost_seconds(10))


def test_random_acquisition_scores_random_cells(nb201):
    searcher = Bananas(nb201, acquisition="random", num_init=10, k=10)
    rng = np.random.default_rng(0)
    init = _observe_init(searcher, nb201, rng, lambda arch: float(sum(arch)))
    queued = [searcher.propose(rng).arch] + list(searcher.queue)
    near = set().union(*(nb201.neighbours(a) for a in init))
    assert len(queued) == 10 and len(set(queued) - near) >= 5  # most are nobody's neighbour


def test_bananas_refills_its_queue_from_the_next_best_when_the_parents_are_exhausted(nb201):
    searcher = Bananas(nb201, num_init=10, k=10, parents=2)
    rng = np.random.default_rng(2)
    init = _observe_init(searcher, nb201, rng, lambda arch: float(sum(arch)))
    top = sorted(init, key=lambda a: -sum(a))
    exhausted = set().union(*(nb201.neighbours(p) for p in top[:2]))
    searcher.seen.update(nb201.arch_id(n) for n in exhausted)  # the two parents: nothing unseen left
    first = searcher.propose(rng).arch
    assert len(searcher.queue) == 9 and first not in exhausted
    assert {first, *searcher.queue} <= set().union(*(nb201.neighbours(p) for p in top[2:]))


def test_bad_acquisition_is_one_line(nb201):
    with pytest.raises(UsageError, match="acquisition must be one of mutation, random"):
        search_context(nb201, "bananas", args={"acquisition": "evolution"})


def test_bananas_runs_are_deterministic_and_better_than_random_in_distinct_cells(nb201):
    from nasearch.runner import run_one

    context = search_context(nb201, "bananas", budget=4000.0)
    first, again = run_one(context, 1), run_one(context, 1)
    assert first == again and first.evaluations > 20
    archs = first.trajectory.arch
    assert len(set(archs)) == len(archs)  # candidates are never cells this run already trained
