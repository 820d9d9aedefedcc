"""The clock's stopping rule and the pool-selection hook's semantics."""
import numpy as np
import pytest

from nasearch.clock import ProxyCostPolicy, SimulatedClock
from nasearch.errors import BudgetExhausted, UsageError
from nasearch.hook import PoolSelector
from nasearch.proxies.store import ScoreRecord
from searchers.evolution import RegularizedEvolution
from searchers.random_search import RandomSearch
from spaces.nb201.space import NB201Space
from spaces.protocol import Evaluation


def test_clock_refuses_the_overflowing_charge_and_keeps_state():
    clock = SimulatedClock(100.0)
    clock.charge(60.0)
    clock.charge(40.0)  # exactly at the budget is allowed
    with pytest.raises(BudgetExhausted):
        clock.charge(0.001)
    assert clock.elapsed == 100.0 and clock.training_seconds == 100.0


def test_clock_accounts_proxy_time_separately():
    clock = SimulatedClock(10.0)
    clock.charge(3.0, kind="proxy")
    clock.charge(2.0)
    assert (clock.proxy_seconds, clock.training_seconds, clock.elapsed) == (3.0, 2.0, 5.0)


@pytest.mark.parametrize("value,expected", [("measured", 2.5), ("lookup", 0.0), (7, 7.0), (0.5, 0.5)])
def test_proxy_cost_policies(value, expected):
    assert ProxyCostPolicy.parse(value).seconds(2.5) == expected


@pytest.mark.parametrize("value", [-1, "wallclock", True])
def test_bad_proxy_cost_policy(value):
    with pytest.raises(UsageError, match="hook.cost"):
        ProxyCostPolicy.parse(value)


class RecordingScorer:
    """A scorer with a known score per arch (sum of op indices), recording every request."""

    higher_is_better = True

    def __init__(self, space, seconds=1.0):
        self.space, self.seconds, self.requests = space, seconds, []

    def score(self, arch):
        self.requests.append(arch)
        return ScoreRecord(float(sum(arch)), self.seconds)


@pytest.fixture(scope="module")
def space():
    return NB201Space()


def test_g_rea_scores_exactly_k_children_of_the_tournament_parent_and_trains_the_argmax(space):
    clock = SimulatedClock(1e9)
    scorer = RecordingScorer(space)
    pool = PoolSelector(scorer, k=10, clock=clock, cost=ProxyCostPolicy("lookup"))
    searcher = RegularizedEvolution(space, pool, population_size=10, tournament_size=3)
    rng = np.random.default_rng(0)
    for _ in range(10):  # fill the population (each member drawn through the hook too)
        trial = searcher.propose(rng)
        searcher.observe(trial, space.query(trial.arch, rng))
    population = {arch for arch, _ in searcher.population}
    scorer.requests.clear()
    trial = searcher.propose(rng)
    assert len(scorer.requests) == 10
    parents = [p for p in population if all(sum(a != b for a, b in zip(p, c)) == 1 for c in scorer.requests)]
    assert parents, "all ten candidates are single-edge mutations of one population member"
    assert trial.arch == max(scorer.requests, key=sum)


def test_g_rs_picks_the_best_of_k_samples_and_charges_each_new_score_once(space):
    clock = SimulatedClock(1e9)
    scorer = RecordingScorer(space, seconds=2.0)
    pool = PoolSelector(scorer, k=5, clock=clock, cost=ProxyCostPolicy("measured"))
    searcher = RandomSearch(space, pool)
    trial = searcher.propose(np.random.default_rng(3))
    assert len(scorer.requests) == 5 and trial.arch == max(scorer.requests, key=sum)
    assert clock.proxy_seconds == 2.0 * len(set(scorer.requests))
    pool.choose(scorer.requests[:2])  # already paid in this run: free
    assert clock.proxy_seconds == 2.0 * len(set(scorer.requests))


def test_lower_is_better_proxies_pick_the_minimum(space):
    scorer = RecordingScorer(space)
    scorer.higher_is_better = False
    pool = PoolSelector(scorer, k=3, clock=SimulatedClock(1e9), cost=ProxyCostPolicy("lookup"))
    assert pool.choose([(1,) * 6, (0,) * 6, (4,) * 6]) == (0,) * 6


def test_proxy_charge_that_overflows_ends_the_run(space):
    clock = SimulatedClock(5.0)
    pool = PoolSelector(RecordingScorer(space, seconds=1.0), k=10, clock=clock, cost=ProxyCostPolicy("measured"))
    with pytest.raises(BudgetExhausted):
        RandomSearch(space, pool).propose(np.random.default_rng(0))


def test_rea_ages_out_the_oldest_member(space):
    searcher = RegularizedEvolution(space, population_size=3, tournament_size=2)
    rng = np.random.default_rng(0)
    trials = []
    for step in range(5):
        trial = searcher.propose(rng)
        searcher.observe(trial, Evaluation(fitness=float(step), cost_seconds=1.0))
        trials.append(trial.arch)
    assert [a for a, _ in searcher.population] == trials[2:]


def test_uniform_control_picks_with_the_run_generator_and_matches_vanilla_in_distribution(space):
    from nasearch.proxies.scorer import ProxyScorer

    scorer = ProxyScorer(space, "uniform", use_tables=False)
    clock = SimulatedClock(1e9)
    pool = PoolSelector(scorer, k=10, clock=clock, cost=ProxyCostPolicy("measured"))
    rng = np.random.default_rng(0)
    picks = [pool.draw(rng, space.sample) for _ in range(4000)]
    assert clock.proxy_seconds == 0 and pool.scored == 40000
    # each pool member is uniform over the space, so the pick is: op frequencies ~ 1/5 per edge
    frequencies = np.array([[sum(a[e] == op for a in picks) / len(picks) for op in range(5)] for e in range(6)])
    assert np.abs(frequencies - 0.2).max() < 0.03
    # and the pick is not always the same pool position (it depends on the generator)
    rng_a, rng_b = np.random.default_rng(1), np.random.default_rng(1)
    assert pool.draw(rng_a, space.sample) == pool.draw(rng_b, space.sample)
