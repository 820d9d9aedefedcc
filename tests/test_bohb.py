"""BOHB / Hyperband through hpbandster on a fake multi-fidelity space (and without fidelities)."""
from __future__ import annotations

import socket

import numpy as np
import pytest

from nasearch.clock import ProxyCostPolicy
from nasearch.hook import PoolSelector
from nasearch.runner import SearchContext, run_one
from nasearch.searchers._hpbandster_compat import BracketSchedule, IsolatedNumpyRandom, budget_to_epochs, config_space, quiet
from nasearch.searchers.bohb import BOHB, Hyperband, has_fidelity
from nasearch.spaces.protocol import Evaluation

from fakes import CountingScorer, ToySpace, search_context

SECONDS_PER_EPOCH = 10.0


class FidelitySpace(ToySpace):
    """Three 3-way choices; accuracy after ``e`` epochs is ``quality * e / max_epochs``, cost ``10 s * e``
    (sampling, mutation, ids and the encoding are the shared :class:`fakes.ToySpace`'s)."""

    name = "toy_mf"
    version = "1"

    def __init__(self, fidelity: bool = True, max_epochs: int = 12, edges: int = 3, ops: int = 3) -> None:
        super().__init__(edges=edges, ops=ops)
        self.fidelity, self._max_epochs = fidelity, max_epochs

    @property
    def max_epochs(self) -> int:
        return self._max_epochs if self.fidelity else 0

    def quality(self, arch) -> float:
        return 50.0 + 10.0 * sum(arch) + (arch[0] == 1) * 3.0

    def query(self, arch, rng):
        return Evaluation(self.quality(arch) + float(rng.normal(0, 0.01)), SECONDS_PER_EPOCH * self._max_epochs)

    def query_at(self, arch, epochs, rng):
        if not self.fidelity:
            raise NotImplementedError
        assert 1 <= epochs <= self._max_epochs
        return Evaluation(self.quality(arch) * epochs / self._max_epochs, SECONDS_PER_EPOCH * epochs)

    def final_metrics(self, arch):
        return {"toy_valid": self.quality(arch)}


def drive(searcher, space, steps, rng):
    trials = []
    for _ in range(steps):
        trial = searcher.propose(rng)
        evaluation = space.query(trial.arch, rng) if trial.epochs is None else space.query_at(trial.arch, trial.epochs, rng)
        searcher.observe(trial, evaluation)
        trials.append((trial, evaluation))
    return trials


# -- the compatibility layer ------------------------------------------------------------------
def test_budgets_and_epoch_rounding_follow_nats():
    schedule = BracketSchedule(3.0, 1.0, 12.0)
    np.testing.assert_allclose(schedule.budgets, [12 / 9, 4, 12])
    assert [budget_to_epochs(b) for b in schedule.budgets] == [1, 4, 12]
    assert budget_to_epochs(3.9999999999999996) == 4 and budget_to_epochs(0.2) == 1
    single = BracketSchedule(3.0, 1.0, 1.0)
    assert single.max_SH_iter == 1 and list(single.budgets) == [1.0]


def test_brackets_come_from_hpbandster():
    schedule = BracketSchedule(3.0, 1.0, 12.0)
    sampler = lambda budget: ({"c0": "op0"}, {})  # noqa: E731
    sizes = [schedule.iteration(i, sampler).num_configs for i in range(4)]
    assert sizes == [[9, 3, 1], [3, 1], [3], [9, 3, 1]]


def test_isolated_numpy_random_neither_disturbs_nor_is_disturbed():
    np.random.seed(123)
    outside = np.random.random()
    np.random.seed(123)
    private = IsolatedNumpyRandom(7)
    with private.installed():
        first = np.random.random()
    assert np.random.random() == outside  # global stream untouched
    np.random.random(100)  # someone else draws meanwhile
    with private.installed():
        second = np.random.random()
    reference = np.random.RandomState(7)
    assert (first, second) == (reference.random_sample(), reference.random_sample())


def test_config_space_is_seeded():
    a = config_space([["x", "y", "z"]] * 4, seed=5).sample_configuration(3)
    b = config_space([["x", "y", "z"]] * 4, seed=5).sample_configuration(3)
    assert [dict(c) for c in a] == [dict(c) for c in b]


# -- schedule, budgets, clock -------------------------------------------------------------------
def test_hyperband_runs_hpbandster_brackets_in_epochs():
    space = FidelitySpace()
    searcher = Hyperband(space)
    assert searcher.multi_fidelity and has_fidelity(space)
    trials = drive(searcher, space, 13 + 4 + 3 + 1, np.random.default_rng(0))
    epochs = [t.epochs for t, _ in trials]
    assert epochs == [1] * 9 + [4] * 3 + [12] + [4] * 3 + [12] + [12] * 3 + [1]
    # successive halving promotes the 3 best one-epoch results, then the best of those
    first_rung = {t.arch: e.fitness for t, e in trials[:9]}
    top3 = sorted(first_rung, key=first_rung.get, reverse=True)[:3]
    assert sorted(t.arch for t, _ in trials[9:12]) == sorted(top3)
    second_rung = {t.arch: e.fitness for t, e in trials[9:12]}
    assert trials[12][0].arch == max(second_rung, key=second_rung.get)


def test_costs_depend_on_the_budget_and_the_clock_stops_exactly():
    space = FidelitySpace()
    unlimited = run_one(search_context(space, BOHB.name, budget=4000.0), 1)  # ~50 trials, a KDE model included
    costs = np.diff([0.0] + unlimited.trajectory.t)
    np.testing.assert_allclose(costs, [SECONDS_PER_EPOCH * e for e in unlimited.trajectory.epochs])
    for budget in (35.0, 200.0, 777.0):
        record = run_one(search_context(space, BOHB.name, budget=budget), 1)
        fits = int(np.searchsorted(np.cumsum(costs), budget, side="right"))
        assert record.evaluations == fits  # stops at the first trial the budget cannot pay
        assert record.simulated_seconds == pytest.approx(np.cumsum(costs)[fits - 1])
        assert record.trajectory.epochs == unlimited.trajectory.epochs[:fits]


def test_incumbent_counts_only_full_budget_results():
    space = FidelitySpace()
    record = run_one(search_context(space, Hyperband.name, budget=150.0), 0)  # nine 1-epoch trials and part of a rung
    assert set(record.trajectory.epochs) <= {1, 4}
    assert record.best_arch is None and record.incumbents == []
    record = run_one(search_context(space, Hyperband.name, budget=20000.0), 0)
    full = [f for f, e in zip(record.trajectory.fitness, record.trajectory.epochs) if e == 12]
    assert record.best_fitness == max(full)


@pytest.mark.parametrize("cls", [BOHB, Hyperband])
def test_same_seed_same_run(cls):
    space = FidelitySpace()
    first = run_one(search_context(space, cls.name, budget=4000.0, seed=3), 2)
    np.random.seed(999)  # the global numpy state must not matter
    again = run_one(search_context(space, cls.name, budget=4000.0, seed=3), 2)
    other = run_one(search_context(space, cls.name, budget=4000.0, seed=3), 5)
    assert first == again
    assert first.trajectory.arch != other.trajectory.arch


def test_bohb_model_concentrates_on_good_configurations():
    """Once its KDE is fitted, BOHB proposes better architectures than uniform sampling (HB) on a 27-arch toy."""
    space = FidelitySpace(fidelity=False)
    uniform_mean = np.mean([space.quality((a, b, c)) for a in range(3) for b in range(3) for c in range(3)])
    late = {}
    for cls in (BOHB, Hyperband):
        late[cls.name] = np.mean([
            np.mean([space.quality(t.arch) for t, _ in drive(cls(space), space, 120, np.random.default_rng(seed))[60:]])
            for seed in (0, 1)
        ])
    assert late["bohb"] > uniform_mean + 5.0
    assert late["bohb"] > late["hb"] + 4.0


# -- single fidelity ------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", [BOHB, Hyperband])
def test_without_per_epoch_data_only_full_budget_trials(cls, caplog):
    space = FidelitySpace(fidelity=False)
    with caplog.at_level("WARNING", logger="nasearch.searchers.bohb"):
        searcher = cls(space)
    assert not searcher.multi_fidelity and searcher.budgets == [1.0]
    trials = drive(searcher, space, 30, np.random.default_rng(1))
    assert all(t.epochs is None for t, _ in trials)


def test_single_fidelity_hyperband_is_random_search():
    space = FidelitySpace(fidelity=False)
    rng_a, rng_b = np.random.default_rng(9), np.random.default_rng(9)
    searcher = Hyperband(space)
    proposals = []
    for _ in range(10):
        trial = searcher.propose(rng_a)
        proposals.append(trial.arch)
        searcher.observe(trial, Evaluation(1.0, 1.0))
    rng_b.integers(2**31 - 1)  # the searcher's first draw seeds hpbandster's private streams
    assert proposals == [space.sample(rng_b) for _ in range(10)]


# -- the hook: G-HB and G-BOHB ---------------------------------------------------------------------
def test_g_hb_picks_each_configuration_from_k_random_architectures():
    space = FidelitySpace()
    scorer = CountingScorer(space, lambda arch: -arch[2])
    k = 4
    searcher = Hyperband(space, PoolSelector(scorer, k, ProxyCostPolicy("lookup")))
    rng = np.random.default_rng(2)
    trials = []
    for _ in range(13):  # one full bracket: 9 new configurations, then 3 + 1 promotions
        before = len(scorer.calls)
        trial = searcher.propose(rng)
        new = scorer.calls[before:]
        if len(trials) < 9:
            assert len(new) == k and trial.arch == max(new, key=lambda a: -a[2])
        else:
            assert new == []  # promotions are not re-drawn
        searcher.observe(trial, space.query_at(trial.arch, trial.epochs, rng))
        trials.append(trial)
    assert searcher.pool.scored == 9 * k


def test_g_bohb_scores_k_model_candidates_per_new_configuration():
    space = FidelitySpace(fidelity=False)
    scorer = CountingScorer(space, lambda arch: arch[1])
    record = run_one(search_context(space, BOHB.name, budget=SECONDS_PER_EPOCH * 12 * 40, scorer=scorer, k=3), 0)
    assert record.evaluations == 40
    assert record.pool_draws == 41 * 3  # the 41st pool was scored before its training was refused
    assert np.mean([space.from_id(a)[1] for a in record.trajectory.arch]) > 1.5  # proxy prefers op2 on edge 1


def test_proxy_cost_can_end_the_run_while_sampling_a_bracket():
    space = FidelitySpace()
    scorer = CountingScorer(space, lambda arch: 0.0)
    record = run_one(search_context(space, Hyperband.name, budget=100.0, scorer=scorer, k=2, cost=ProxyCostPolicy.parse(4.0)), 0)
    # each new 1-epoch configuration costs 2 distinct proxy scores (<= 8 s) + 10 s of training
    assert record.simulated_seconds <= 100.0
    assert record.evaluations >= 5


def test_no_sockets_are_opened(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("hpbandster tried to open a socket")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    for cls in (BOHB, Hyperband):
        record = run_one(search_context(FidelitySpace(), cls.name, budget=3000.0), 0)
        assert record.evaluations > 10


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="min_budget"):
        Hyperband(FidelitySpace(), min_budget=20)
    with pytest.raises(ValueError, match="eta"):
        BOHB(FidelitySpace(), eta=1)
    with pytest.raises(ValueError, match="random_fraction"):
        BOHB(FidelitySpace(), random_fraction=2)


# -- over the official NB201 file format (tiny fixture with real per-epoch curves) -----------------
def test_hyperband_over_an_official_format_file_uses_real_epochs(tmp_path):
    pytest.importorskip("nas_201_api")
    from nb201_fixtures import expected_query, make_spec, write_nb201_file

    from nasearch.config import parse_search_config

    spec = make_spec()
    path = write_nb201_file(spec, tmp_path / "NAS-Bench-201-v1_1-096897.pth")
    config = parse_search_config({
        "space": {"class": "nb201_fixtures:FixtureNB201Space", "args": {"backend": "nb201", "path": str(path)}},
        "searcher": {"name": "hb"},
        "budget_seconds": 3000, "seed": 1,
    })
    context = SearchContext.build(config)
    assert has_fidelity(context.space) and context.space.max_epochs == 12
    record = run_one(context, 0)
    assert record == run_one(SearchContext.build(config), 0)
    trajectory = record.trajectory
    assert trajectory.epochs[:9] == [1] * 9 and set(trajectory.epochs) <= {1, 4, 12}
    costs = np.diff([0.0] + trajectory.t)
    for arch_id, epochs, fitness, cost in zip(trajectory.arch, trajectory.epochs, trajectory.fitness, costs):
        arch = context.space.from_id(arch_id)
        possible = [expected_query(spec, arch, "cifar10-valid", seed, epochs) for seed in (777, 888)]
        assert any(fitness == pytest.approx(f) and cost == pytest.approx(c, rel=1e-6) for f, c in possible)


def test_bohb_runs_silently_on_current_libraries():
    """hpbandster 0.7.4's deprecation and KDE-corner-case noise stays inside the compat shim.

    Recorded, not raised: hpbandster wraps its model sampling in a bare ``except``, so an
    error-mode filter would silently change its behaviour instead of failing here.
    """
    import logging
    import warnings

    from nasearch.searchers._hpbandster_compat import quiet

    space = FidelitySpace(fidelity=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trials = drive(BOHB(space), space, 60, np.random.default_rng(0))
        with quiet():  # numpy attributes the KDE's nan/inf arithmetic to its own modules
            np.add.reduce(np.array([np.inf, -np.inf]))
            np.ones(1) / np.zeros(1)
            logger, seen = logging.getLogger("hpbandster"), []
            handler = logging.Handler()
            handler.emit = lambda record: seen.append(record.levelname)
            logger.addHandler(handler)
            try:
                logger.debug("d"), logger.info("i"), logger.warning("w"), logger.error("e")
            finally:
                logger.removeHandler(handler)
            assert seen == ["ERROR"]  # held at ERROR while hpbandster runs
    assert len(trials) == 60
    assert [str(w.message) for w in caught] == []


# -- the KDE pdf accelerator --------------------------------------------------------------------
def test_categorical_kde_pdf_is_bitwise_statsmodels():
    """Same floats as statsmodels' own pdf, including one-level columns (its divide by zero) and clipped bw."""
    import statsmodels.api as sm

    from nasearch.searchers._hpbandster_compat import CategoricalKDEPdf

    rng = np.random.default_rng(0)
    checked = 0
    for case in range(60):
        k_vars, levels = int(rng.integers(1, 7)), int(rng.integers(2, 6))
        nobs = k_vars + int(rng.integers(1, 20))  # statsmodels needs more rows than columns
        data = rng.integers(0, levels, size=(nobs, k_vars)).astype(float)
        if case % 4 == 0:
            data[:, 0] = 1.0  # a column with one level
        with quiet():  # statsmodels' FutureWarning and the one-level column's divide by zero
            kde = sm.nonparametric.KDEMultivariate(data=data, var_type="u" * k_vars, bw="normal_reference")
            if case % 2:
                kde.bw = np.clip(kde.bw, 0.3, None)  # what hpbandster does after fitting
            fast = CategoricalKDEPdf(kde)
            for _ in range(5):
                point = rng.integers(0, levels + 1, size=k_vars).astype(float)
                expected, got = kde.pdf(point), fast(point)
                assert np.array_equal(np.asarray(got), np.asarray(expected), equal_nan=True), (case, point)
                again = fast(list(point))  # hpbandster passes lists; a repeated point is remembered
                assert np.array_equal(np.asarray(again), np.asarray(expected), equal_nan=True)
                checked += 1
            many = rng.integers(0, levels, size=(3, k_vars)).astype(float)
            assert np.array_equal(fast(many), kde.pdf(many), equal_nan=True)
    assert checked == 300


def test_categorical_kde_pdf_pattern_table_is_bitwise_statsmodels_on_large_kdes():
    """The match-pattern lookup against statsmodels' pdf on KDEs as large as long BOHB runs fit."""
    import statsmodels.api as sm

    from nasearch.searchers._hpbandster_compat import CategoricalKDEPdf

    rng = np.random.default_rng(1)
    for case in range(12):
        k_vars, levels = int(rng.integers(2, 9)), int(rng.integers(2, 6))
        nobs = int(rng.integers(20, 400))
        data = rng.integers(0, levels, size=(nobs, k_vars)).astype(float)
        with quiet():
            kde = sm.nonparametric.KDEMultivariate(data=data, var_type="u" * k_vars, bw="normal_reference")
            kde.bw = np.clip(kde.bw, 0.3, None)
            fast = CategoricalKDEPdf(kde)
            for _ in range(40):
                point = list(rng.integers(0, levels, size=k_vars))
                assert np.array_equal(np.asarray(fast(point)), np.asarray(kde.pdf(np.asarray(point, float))),
                                      equal_nan=True), (case, point)
            assert fast._row_products is not None  # the table path is the one under test


def test_categorical_kde_pdf_at_points_is_bitwise_the_one_point_pdf():
    """The batch valuation KDEConfigGenerator uses, against one-point calls (inf and NaN of one-level columns included)."""
    import statsmodels.api as sm

    from nasearch.searchers._hpbandster_compat import CategoricalKDEPdf

    rng = np.random.default_rng(2)
    degenerate = 0
    for case in range(40):
        k_vars, levels = int(rng.integers(2, 8)), int(rng.integers(2, 6))
        data = rng.integers(0, levels, size=(k_vars + int(rng.integers(1, 300)), k_vars)).astype(float)
        if case % 3 == 0:
            data[:, int(rng.integers(k_vars))] = 1.0
        with quiet():
            kde = sm.nonparametric.KDEMultivariate(data=data, var_type="u" * k_vars, bw="normal_reference")
            kde.bw = np.clip(kde.bw, 0.3, None)
            fast = CategoricalKDEPdf(kde)
            points = rng.integers(0, levels, size=(64, k_vars))
            assert fast.has_table()
            batch = fast.at_points(points)
            one_by_one = np.array([fast(list(point)) for point in points])
            assert np.array_equal(batch, one_by_one, equal_nan=True) and batch.tobytes() == one_by_one.tobytes(), case
            degenerate += not np.isfinite(fast.magnitude_bound())
    assert degenerate >= 10


def test_categorical_kde_pdf_refuses_continuous_variables():
    import statsmodels.api as sm

    from nasearch.searchers._hpbandster_compat import CategoricalKDEPdf

    with quiet():
        kde = sm.nonparametric.KDEMultivariate(data=np.random.default_rng(0).random((10, 2)), var_type="uc", bw="normal_reference")
    with pytest.raises(ValueError, match="unordered"):
        CategoricalKDEPdf(kde)


def test_accelerated_bohb_runs_exactly_as_hpbandster_with_statsmodels(monkeypatch):
    import nasearch.searchers.bohb as bohb_module

    space = FidelitySpace(edges=4, ops=4)
    accelerated = [run_one(search_context(space, BOHB.name, budget=6000.0, seed=1), i) for i in range(3)]
    monkeypatch.setattr(bohb_module, "ACCELERATE_KDE", False)
    plain = [run_one(search_context(space, BOHB.name, budget=6000.0, seed=1), i) for i in range(3)]
    assert accelerated == plain
    assert len(accelerated[0].trajectory.arch) > 20  # the KDE was fitted and used


# -- the get_config replacement -----------------------------------------------------------------
def _conditional_space(seed):
    """Three categoricals, ``c2`` active only when ``c0 == 'a'`` (inactive values are NaN, imputed by drawing)."""
    import ConfigSpace as CS

    space = config_space([["a", "b", "c"], ["x", "y", "z", "w"], ["p", "q"]], seed)
    space.add(CS.EqualsCondition(space["c2"], space["c0"], "a"))
    return space


def _kde_generators_side_by_side(make_space, steps, feed, seed=11, k=1, **kde_args):
    """hpbandster's own BOHB generator (global np.random, statsmodels' pdf) and KDEConfigGenerator
    (private stream, CategoricalKDEPdf), fed the same results; every get_config must agree. With
    ``k > 1`` ours draws each step's k configurations with one ``get_configs(budget, k)``, theirs with
    k get_config calls (as G-BOHB's pool draws them), and ``feed`` sees the first.

    ``feed(step, config)`` gives the ``(configuration, loss)`` results reported after each call (the
    proposal's, or crafted ones that make the KDEs degenerate). Returns the counts of paths taken.
    """
    from hpbandster.optimizers.config_generators.bohb import BOHB as HpbandsterKDE

    from nasearch.searchers._hpbandster_compat import accelerate_categorical_kdes, make_job
    from nasearch.searchers._hpbandster_kde import KDEConfigGenerator

    theirs_space, ours_space = make_space(seed), make_space(seed)
    private = IsolatedNumpyRandom(seed)
    np.random.seed(seed)  # hpbandster's own draws from the global state, as it was built to
    with quiet():
        theirs = HpbandsterKDE(theirs_space, **kde_args)
        ours = KDEConfigGenerator(ours_space, private, **kde_args)
    paths = {"batch": 0, "one by one": 0, "model": 0, "random": 0}
    for step in range(steps):
        with quiet():
            expected_all = [theirs.get_config(1.0) for _ in range(k)]
            got_all = ours.get_configs(1.0, k) if k > 1 else [ours.get_config(1.0)]
        assert len(got_all) == k
        for (got, got_info), (expected, expected_info) in zip(got_all, expected_all):
            assert got == expected and got_info == expected_info, step
            assert [type(v) for v in got.values()] == [type(v) for v in expected.values()]
            paths["model" if got_info.get("model_based_pick") else "random"] += 1
            if ours._model is not None and got_info.get("model_based_pick"):
                paths["batch" if ours._model.batch else "one by one"] += 1
        got = got_all[0][0]
        for index, (config, loss) in enumerate(feed(step, got)):
            for generator in (theirs, ours):
                with quiet():
                    generator.new_result(make_job((step, 0, index), dict(config), 1.0, loss))
            accelerate_categorical_kdes(ours)
    theirs_state, ours_state = np.random.get_state(), private.random.get_state()
    assert np.array_equal(theirs_state[1], ours_state[1]) and theirs_state[2:] == ours_state[2:]
    assert theirs_space.random.get_state()[2] == ours_space.random.get_state()[2]
    assert np.array_equal(theirs_space.random.get_state()[1], ours_space.random.get_state()[1])
    return paths


def _reported(step, config):
    """The proposal's result, with a loss that prefers late letters and digits, the more so in later columns."""
    return [(config, -sum(ord(str(v)[-1]) * (i + 1) for i, v in enumerate(config.values())))]


def test_kde_generator_draws_and_picks_exactly_as_hpbandster():
    """Hundreds of calls with fitted KDEs on NB201's shape (6 x 5 choices): same configurations, same streams."""
    paths = _kde_generators_side_by_side(
        lambda seed: config_space([[f"op{j}" for j in range(5)]] * 6, seed), 300, _reported,
        top_n_percent=15, num_samples=64, random_fraction=0.33, bandwidth_factor=3, min_bandwidth=0.3)
    assert paths["model"] > 150 and paths["random"] > 50 and paths["batch"] > 100


@pytest.mark.parametrize("k", [2, 10])
def test_kde_generator_draws_k_configurations_at_once_exactly_as_k_calls(k, monkeypatch):
    """G-BOHB's pool: get_configs(budget, k) decodes the k calls' draws in bulk; same configurations, same streams."""
    from nasearch.searchers._hpbandster_kde import _StreamDecoder

    decoded = []
    decode = _StreamDecoder.decode
    monkeypatch.setattr(_StreamDecoder, "decode", lambda self, *a: decoded.append(a[1]) or decode(self, *a))
    paths = _kde_generators_side_by_side(
        lambda seed: config_space([[f"op{j}" for j in range(5)]] * 6, seed), 120, _reported, k=k,
        top_n_percent=15, num_samples=64, random_fraction=0.33, bandwidth_factor=3, min_bandwidth=0.3)
    assert paths["model"] > 60 * k and paths["random"] > 20 * k and len(decoded) > 90 and set(decoded) == {k}


def test_stream_decoder_peeks_more_when_the_calls_need_more_words(monkeypatch):
    """Too few words peeked (forced here): the decoder peeks again, and the calls are the same."""
    from nasearch.searchers._hpbandster_kde import _StreamDecoder

    init = _StreamDecoder.__init__

    def starved(self, *args):
        init(self, *args)
        self.words_per_sample = 0.01  # far below the words a sample takes

    monkeypatch.setattr(_StreamDecoder, "__init__", starved)
    paths = _kde_generators_side_by_side(
        lambda seed: config_space([["a", "b", "c"]] * 4, seed), 60, _reported, k=3, min_bandwidth=0.3)
    assert paths["model"] > 60


def _shared_by_the_good(step, config):
    """Every reported configuration has c1 = 'a' (one level in both KDEs); every third one, the best,
    has c0 = 'b' (one level in the good KDE)."""
    crafted = dict(config, c1="a")
    if step % 3 == 0:
        crafted["c0"] = "b"
    return [(crafted, (0.0 if crafted["c0"] == "b" else 1.0) + 0.01 * ord(crafted["c3"]))]


def _shared_by_the_bad(step, config):
    """One in seven reported configurations is good and has c1 != 'a'; all others have c1 = 'a', the bad KDE's one level."""
    crafted = dict(config, c1="bc"[step % 2] if step % 7 == 0 else "a")
    return [(crafted, (0.0 if crafted["c1"] != "a" else 1.0) + 0.01 * ord(crafted["c3"]))]


@pytest.mark.parametrize("crafted, num_samples, k", [(_shared_by_the_good, 64, 1), (_shared_by_the_good, 3, 1),
                                                     (_shared_by_the_bad, 64, 1), (_shared_by_the_bad, 64, 4)])
def test_kde_generator_matches_hpbandster_on_one_level_columns(crafted, num_samples, k):
    """Degenerate KDEs (one-level columns: statsmodels' divide by zero): acquisition values turn
    non-finite; where the bad KDE is the degenerate one hpbandster's loop breaks early at a
    candidate its good KDE still values, and with few samples all of them can fail (the random
    fallback). The replacement must follow it call for call."""
    paths = _kde_generators_side_by_side(lambda seed: config_space([["a", "b", "c"]] * 4, seed), 300, crafted, k=k,
                                         min_bandwidth=0.3, random_fraction=0.2, num_samples=num_samples)
    assert paths["one by one"] > 50 and paths["model"] > 100


def test_kde_generator_matches_hpbandster_on_a_conditional_space():
    """Inactive values are imputed with draws from the global state: ours installs its private one there."""
    paths = _kde_generators_side_by_side(_conditional_space, 150, _reported, min_bandwidth=0.3)
    assert paths["model"] > 50


def test_replaced_get_config_runs_exactly_as_hpbandster_code(monkeypatch):
    """Whole runs, BOHB and G-BOHB, with the replacement and with hpbandster's own code throughout."""
    import nasearch.searchers.bohb as bohb_module

    space = FidelitySpace(fidelity=False, edges=6, ops=5)
    scorer = CountingScorer(space, lambda arch: sum(arch))
    contexts = lambda: [search_context(space, BOHB.name, budget=12000.0, seed=2),  # noqa: E731
                        search_context(space, BOHB.name, budget=12000.0, seed=2, scorer=scorer, k=4)]
    replaced = [run_one(context, i) for context in contexts() for i in range(2)]
    monkeypatch.setattr(bohb_module, "REPLACE_GET_CONFIG", False)
    original = [run_one(context, i) for context in contexts() for i in range(2)]
    assert replaced == original
    assert all(len(record.trajectory.arch) > 50 for record in replaced)
