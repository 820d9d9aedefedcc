"""The clock's stopping rule and the pool-selection hook's semantics."""
import numpy as np
import pytest

from nasearch.clock import ProxyCostPolicy, SimulatedClock
from nasearch.errors import BudgetExhausted, UsageError
from nasearch.hook import PoolSelector
from nasearch.searchers.evolution import RegularizedEvolution
from nasearch.searchers.random_search import RandomSearch
from nasearch.spaces.nb201.space import NB201Space
from nasearch.spaces.protocol import Evaluation

from fakes import CountingScorer


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


def RecordingScorer(space, seconds=1.0):
    """A scorer with a known score per arch (sum of op indices), recording every request (``calls``)."""
    return CountingScorer(space, sum, seconds=seconds)


@pytest.fixture(scope="module")
def space():
    return NB201Space()


def test_g_rea_scores_exactly_k_children_of_the_tournament_parent_and_trains_the_argmax(space):
    clock = SimulatedClock(1e9)
    scorer = RecordingScorer(space)
    pool = PoolSelector(scorer, k=10, cost=ProxyCostPolicy("lookup"))
    searcher = RegularizedEvolution(space, pool, population_size=10, tournament_size=3)
    rng = np.random.default_rng(0)
    for _ in range(10):  # fill the population (each member drawn through the hook too)
        trial = searcher.propose(rng)
        searcher.observe(trial, space.query(trial.arch, rng))
    population = {arch for arch, _ in searcher.population}
    scorer.calls.clear()
    trial = searcher.propose(rng)
    assert len(scorer.calls) == 10
    parents = [p for p in population if all(sum(a != b for a, b in zip(p, c)) == 1 for c in scorer.calls)]
    assert parents, "all ten candidates are single-edge mutations of one population member"
    assert trial.arch == max(scorer.calls, key=sum)


def test_g_rs_picks_the_best_of_k_samples_and_charges_each_new_score_once(space):
    clock = SimulatedClock(1e9)
    scorer = RecordingScorer(space, seconds=2.0)
    pool = PoolSelector(scorer, k=5, cost=ProxyCostPolicy("measured"))
    searcher = RandomSearch(space, pool)
    trial = searcher.propose(np.random.default_rng(3))
    assert len(scorer.calls) == 5 and trial.arch == max(scorer.calls, key=sum)
    owed = pool.ledger.drain()
    assert searcher.ledger is pool.ledger  # one channel per run: the searcher's and its pool's
    assert [d.kind for d in owed] == ["proxy"] * 5 and all(d.score for d in owed)
    assert sum(d.seconds for d in owed) == 2.0 * len(set(scorer.calls))
    assert clock.elapsed == 0  # the pool never touches the clock: the runner charges what it owes
    pool.choose(scorer.calls[:2])  # already paid in this run: free
    assert [d.seconds for d in pool.ledger.drain()] == [0.0, 0.0]


def test_lower_is_better_proxies_pick_the_minimum(space):
    scorer = RecordingScorer(space)
    scorer.higher_is_better = False
    pool = PoolSelector(scorer, k=3, cost=ProxyCostPolicy("lookup"))
    assert pool.choose([(1,) * 6, (0,) * 6, (4,) * 6]) == (0,) * 6


def test_proxy_charge_that_overflows_ends_the_run():
    """The runner charges the pool's debts in order: 5.5 s of budget pays five 1-s scores of the
    first pool of ten; the sixth ends the run, uncounted, before anything is trained."""
    from nasearch.config import parse_search_config
    from nasearch.runner import SearchContext, run_one

    config = parse_search_config({"space": {"name": "nb201"}, "searcher": {"name": "rs"}, "budget_seconds": 5.5,
                                  "hook": {"proxy": "params", "k": 10, "cost": 1.0}})
    record = run_one(SearchContext.build(config), 0)
    assert record.evaluations == 0 and record.pool_draws == 5
    assert record.simulated_seconds == record.overhead_seconds == 5.0


def test_the_pool_raises_nothing_inside_propose_when_the_budget_is_spent(space):
    """BudgetExhausted never unwinds through a searcher: the pool only records what it owes."""
    pool = PoolSelector(RecordingScorer(space, seconds=1e9), k=10, cost=ProxyCostPolicy("measured"))
    RandomSearch(space, pool).propose(np.random.default_rng(0))
    assert len(pool.ledger.drain()) == 10 and pool.ledger.drain() == []


def test_rea_ages_out_the_oldest_member(space):
    searcher = RegularizedEvolution(space, population_size=3, tournament_size=2)
    rng = np.random.default_rng(0)
    trials = []
    for step in range(5):
        trial = searcher.propose(rng)
        searcher.observe(trial, Evaluation(fitness=float(step), cost_seconds=1.0))
        trials.append(trial.arch)
    assert [a for a, _ in searcher.population] == trials[2:]


def _positions(k):
    """A generator of candidates that are their own pool positions 0..k-1."""
    state = {"n": 0}

    def generate(rng):
        position = state["n"] % k
        state["n"] += 1
        return position

    return generate


def test_uniform_control_picks_every_pool_position_equally_often_with_the_run_generator(space):
    """Tells a uniform pick from "always the first (or any fixed) candidate": the picked positions
    must be uniform over 0..k-1 (chi-square), and the pick must follow the run's generator."""
    from scipy import stats

    k = 10
    pool = PoolSelector(None, k=k, cost=ProxyCostPolicy("measured"), select="uniform", space=space)
    rng = np.random.default_rng(0)
    generate = _positions(k)
    picks = [pool.draw(rng, generate) for _ in range(5000)]
    counts = np.bincount(picks, minlength=k)
    assert stats.chisquare(counts).pvalue > 1e-3, counts  # a fixed position gives p ~ 0
    owed = pool.ledger.drain()
    assert counts.min() > 400 and len(owed) == 5000 * k  # looked at, charged nothing
    assert {(d.seconds, d.score) for d in owed} == {(0.0, True)}
    draws = [PoolSelector(None, k, ProxyCostPolicy("lookup"), select="uniform", space=space)
             .draw(np.random.default_rng(seed), _positions(k)) for seed in (1, 1, 2, 3, 4, 5)]
    assert draws[0] == draws[1] and len(set(draws)) > 1  # same generator, same pick; others differ


def test_a_first_candidate_selector_fails_the_uniform_check():
    """The check above can fail: the same statistic on "always position 0" rejects it."""
    from scipy import stats

    counts = np.bincount([0] * 5000, minlength=10)
    assert stats.chisquare(counts).pvalue < 1e-3


def test_worst_picks_the_lowest_proxy_score_and_oracle_the_best_fitness(space):
    scorer = RecordingScorer(space, seconds=1.0)
    candidates = [(1,) * 6, (0,) * 6, (4,) * 6, (2,) * 6]
    worst = PoolSelector(scorer, k=4, cost=ProxyCostPolicy("measured"), select="worst")
    assert worst.choose(candidates) == (0,) * 6 and [d.seconds for d in worst.ledger.drain()] == [1.0] * 4  # like the proxy
    oracle = PoolSelector(None, k=4, cost=ProxyCostPolicy("measured"), select="oracle",
                          space=space)
    fitness = {a: space.query(a, np.random.default_rng(0)).fitness for a in candidates}
    iterator = iter(candidates)
    rng = np.random.default_rng(7)
    state = rng.bit_generator.state
    assert oracle.draw(rng, lambda _: next(iterator)) == max(candidates, key=fitness.get)
    assert rng.bit_generator.state == state  # the oracle never touches the run's generator


def test_hook_proxy_uniform_is_refused_and_old_folders_still_resume(tmp_path):
    from nasearch.config import parse_hook, parse_search_config
    from nasearch.execution import _fingerprint_hash, config_fingerprint

    with pytest.raises(UsageError, match="write hook.select: uniform"):
        parse_hook({"proxy": "uniform", "cost": "lookup"})
    assert parse_hook({"select": "oracle"}).select == "oracle"
    with pytest.raises(UsageError, match="hook.select"):
        parse_hook({"select": "best"})
    with pytest.raises(UsageError, match="uniform-pick control"):
        from nasearch.proxies.registry import get_proxy

        get_proxy("uniform")
    # the fingerprint a folder made with `hook: {proxy: uniform}` stored (select left out, proxy: uniform)
    base = {"space": {"name": "nb201"}, "searcher": {"name": "rea"}, "budget_seconds": 100, "runs": 1}
    new = parse_search_config({**base, "hook": {"select": "uniform", "proxy": "gradsign", "cost": "lookup"}})
    fingerprint = config_fingerprint(new)
    assert fingerprint["hook"]["proxy"] == "uniform" and "select" not in fingerprint["hook"]
    other = parse_search_config({**base, "hook": {"select": "uniform", "proxy": "synflow", "cost": "lookup"}})
    assert _fingerprint_hash(config_fingerprint(other)) == _fingerprint_hash(fingerprint)  # uniform reads no proxy


def test_seeds_average_the_proxy_and_charge_the_sum(space):
    from nasearch.config import parse_search_config
    from nasearch.runner import SearchContext

    def context(hook):
        raw = {"space": {"name": "nb201"}, "searcher": {"name": "rs"}, "hook": {"proxy": "random", **hook}}
        return SearchContext.build(parse_search_config(raw))

    arch = (1, 2, 0, 4, 1, 2)
    singles = [context({"seed": s}).scorer.score(arch) for s in (0, 1, 2)]
    averaged = context({"seeds": [0, 1, 2]}).scorer.score(arch)
    assert averaged.score == pytest.approx(np.mean([r.score for r in singles]))
    assert averaged.seconds == pytest.approx(sum(r.seconds for r in singles))
    with pytest.raises(UsageError, match="seed or seeds"):
        context({"seed": 0, "seeds": [0, 1]})


def test_oracle_and_worst_bracket_the_proxy_in_whole_runs():
    """End to end through SearchContext.build: the ceiling control beats the floor control."""
    from nasearch.config import parse_search_config
    from nasearch.runner import SearchContext, run_one

    def mean_final(select):
        raw = {"space": {"name": "nb201"}, "searcher": {"name": "rs"}, "budget_seconds": 3000, "runs": 4,
               "hook": {"proxy": "params", "cost": "lookup", "k": 10, "select": select}}
        context = SearchContext.build(parse_search_config(raw))
        records = [run_one(context, i) for i in range(4)]
        assert all(r.selection == ("oracle" if select == "oracle" else f"{select}:params" if select == "worst" else "params")
                   for r in records)
        return np.mean([r.final["cifar10_valid"] for r in records])

    oracle, proxy, worst = mean_final("oracle"), mean_final("proxy"), mean_final("worst")
    assert oracle > proxy > worst, (oracle, proxy, worst)
