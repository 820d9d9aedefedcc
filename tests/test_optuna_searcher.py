"""Optuna's samplers as searchers (searchers/optuna_sampler.py): seeding, G-twins, controls, fronts, bad input."""
import sys

import numpy as np
import pytest

pytest.importorskip("optuna")

from nasearch.clock import ProxyCostPolicy, SimulatedClock  # noqa: E402
from nasearch.config import parse_search_config  # noqa: E402
from nasearch.errors import UsageError  # noqa: E402
from nasearch.execution import run_many  # noqa: E402
from nasearch.hook import PoolSelector  # noqa: E402
from nasearch.results import RecordError, RunRecord  # noqa: E402
from nasearch.runner import SearchContext, run_one  # noqa: E402
from nasearch.searchers.optuna_sampler import NOT_SELECTED, OptunaSearcher  # noqa: E402
from nasearch.spaces.nb201.space import NB201Space  # noqa: E402

from fakes import CountingScorer  # noqa: E402

SPACE = {"name": "nb201", "args": {"backend": "embedded", "dataset": "cifar10"}}


def _config(args=None, hook=None, runs=3, budget=3000, seed=0, workers=1):
    raw = {"label": "t", "space": SPACE, "searcher": {"name": "optuna", "args": args or {"sampler": "tpe"}},
           "budget_seconds": budget, "runs": runs, "seed": seed, "workers": workers}
    if hook is not None:
        raw["hook"] = hook
    return parse_search_config(raw)


@pytest.fixture(scope="module")
def space():
    return NB201Space()


def test_same_seed_same_bytes_for_one_and_two_workers_and_other_seeds_differ(tmp_path):
    args = {"sampler": "tpe", "sampler_args": {"n_startup_trials": 5}}
    texts = {}
    for name, workers, seed in (("w1", 1, 0), ("w2", 2, 0), ("s1", 1, 1)):
        run_many(_config(args, workers=workers, seed=seed), tmp_path / name)
        texts[name] = (tmp_path / name / "runs.jsonl").read_bytes()
    assert texts["w1"] == texts["w2"]
    records = [RunRecord.from_dict(__import__("json").loads(line)) for line in texts["w1"].splitlines()]
    assert len(records) == 3 and all(r.evaluations > 10 for r in records)
    assert len({tuple(r.trajectory.arch) for r in records}) == 3  # runs differ from each other
    assert texts["s1"] != texts["w1"]


def test_g_twin_asks_k_trains_the_proxys_best_and_tells_the_others_fail(space):
    k = 5
    scorer = CountingScorer(space, sum)  # score: the sum of the op indices
    pool = PoolSelector(scorer, k=k, cost=ProxyCostPolicy("lookup"))
    searcher = OptunaSearcher(space, pool, sampler="tpe", sampler_args={"n_startup_trials": 3})
    rng = np.random.default_rng(0)
    trained = []
    for step in range(8):
        scorer.calls.clear()
        trial = searcher.propose(rng)
        pool.ledger.drain()
        assert len(scorer.calls) == k and trial.arch == max(scorer.calls, key=sum)  # the first best on ties
        evaluation = space.query(trial.arch, rng)
        searcher.observe(trial, evaluation)
        trained.append((trial.arch, evaluation.fitness))
    import optuna

    states = [t.state for t in searcher.study.trials]
    complete = searcher.study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    failed = searcher.study.get_trials(states=(optuna.trial.TrialState.FAIL,))
    assert len(states) == 8 * k and len(complete) == 8 and len(failed) == 8 * (k - 1)
    assert all(t.user_attrs.get("nasearch") == NOT_SELECTED for t in failed)
    # what the sampler's model sees is exactly what the run trained, in order
    seen = [(space.decode([t.params[f"c{i}"] for i in range(6)]), t.value) for t in complete]
    assert seen == trained


def _trained_means(config, runs):
    context = SearchContext.build(config)
    return np.array([np.mean(run_one(context, i).trajectory.fitness) for i in range(runs)])


@pytest.mark.slow  # ~60-90 s: 120 TPE runs
def test_uniform_pick_of_k_asks_matches_the_vanilla_sampler_in_distribution():
    """The exact-control rule, statistically (the K asks advance TPE's stream, so not byte for byte):
    the per-run mean fitness of what was trained has the same distribution; the same test rejects the
    oracle's pick (the ceiling control), so it can fail."""
    from scipy import stats

    args = {"sampler": "tpe", "sampler_args": {"n_startup_trials": 5}}
    runs, budget = 40, 2500
    vanilla = _trained_means(_config(args, runs=runs, budget=budget), runs)
    uniform = _trained_means(_config(args, {"select": "uniform", "k": 5, "cost": "lookup"}, runs=runs,
                                     budget=budget, seed=1), runs)
    oracle = _trained_means(_config(args, {"select": "oracle", "k": 5, "cost": "lookup"}, runs=runs,
                                    budget=budget), runs)
    assert stats.mannwhitneyu(vanilla, uniform).pvalue > 1e-3, (vanilla.mean(), uniform.mean())
    assert stats.mannwhitneyu(vanilla, oracle).pvalue < 1e-3, (vanilla.mean(), oracle.mean())


def test_multi_objective_run_keeps_the_pareto_front_of_fitness_and_params():
    config = _config({"sampler": "nsgaii", "sampler_args": {"population_size": 10},
                      "objectives": ["fitness", "params"]}, runs=1, budget=6000)
    context = SearchContext.build(config)
    record = run_one(context, 0)
    searcher = context.new_searcher(SimulatedClock(1.0))
    points = {}
    for arch_id, fitness in zip(record.trajectory.arch, record.trajectory.fitness):
        arch = next(a for a in context.arch_ids if context.arch_ids[a] == arch_id)
        points.setdefault(arch_id, (fitness, searcher.size_scorers["params"].score(arch).score))
    front = record.pareto
    assert front and all(set(p) == {"arch", "fitness", "params"} for p in front)

    def dominates(a, b):
        return a[0] >= b[0] and a[1] <= b[1] and a != b

    front_points = [(p["fitness"], p["params"]) for p in front]
    for p in front:
        assert points[p["arch"]] == (p["fitness"], p["params"])
        assert not any(dominates(q, (p["fitness"], p["params"])) for q in points.values())
    for q in points.values():  # every trained point is on the front or dominated by it
        assert q in front_points or any(dominates(f, q) for f in front_points)
    again = RunRecord.from_dict(record.to_dict())
    assert again.pareto == front and "pareto" in record.to_dict()
    single = run_one(SearchContext.build(_config(runs=1, budget=2000)), 0)
    assert single.pareto is None and "pareto" not in single.to_dict()


def test_a_bad_pareto_field_is_refused_by_name():
    record = run_one(SearchContext.build(_config(runs=1, budget=1000)), 0).to_dict()
    for bad in ([{"arch": "x", "fitness": 1.0}], [{"arch": 3, "fitness": 1.0, "params": 2.0}],
                [{"arch": "x", "fitness": float("nan"), "params": 2.0}], "front"):
        with pytest.raises(RecordError, match="pareto"):
            RunRecord.from_dict({**record, "pareto": bad})


@pytest.mark.parametrize("args,message", [
    ({"sampler": "hyperopt"}, r"searcher\.args\.sampler: 'hyperopt' is not one of tpe, random, gp, nsgaii"),
    ({"sampler": "tpe", "sampler_args": {"n_startup": 3}},
     r"sampler_args: unknown \['n_startup'\] for TPESampler .*allowed: \[.*'n_startup_trials'"),
    ({"sampler": "tpe", "sampler_args": {"seed": 3}}, r"unknown \['seed'\] for TPESampler \('seed' comes from the run\)"),
    ({"sampler": "nsgaii", "sampler_args": {"population_size": 1}}, r"sampler_args: NSGAIISampler: .*population_size"),
    ({"sampler": "tpe", "sampler_args": [1]}, r"sampler_args: a mapping of TPESampler arguments, not list"),
    ({"sampler": "nsgaii", "objectives": ["params"]}, r"objectives: \['params'\]; give a list starting with fitness"),
    ({"sampler": "tpe", "objectives": ["fitness", "latency"]}, r"objectives: .*any of \['params', 'flops'\]"),
    ({"sampler": "tpe", "samplr": "tpe"}, r"searcher\.args: unknown \['samplr'\]"),
])
def test_bad_sampler_names_and_arguments_are_one_line(args, message):
    with pytest.raises(UsageError, match=message) as info:
        SearchContext.build(_config(args))
    assert "\n" not in str(info.value)


def test_a_missing_optuna_is_one_line_naming_the_extra(monkeypatch, space):
    monkeypatch.setitem(sys.modules, "optuna", None)  # import optuna -> ImportError
    with pytest.raises(UsageError, match=r"^searcher 'optuna' needs the Optuna library: pip install 'nasearch\[optuna\]'$"):
        OptunaSearcher(space)


def test_the_report_draws_pareto_fronts_only_when_records_carry_them(tmp_path):
    from pathlib import Path

    from nasearch.analysis.plots import non_dominated
    from nasearch.analysis.report import write_report
    from nasearch.experiments import parse_experiment, run_experiment

    assert non_dominated([(1.0, 5.0), (2.0, 5.0), (0.5, 1.0), (0.4, 2.0), (3.0, 9.0)]) == [
        (0.5, 1.0), (2.0, 5.0), (3.0, 9.0)]
    configs = Path(__file__).resolve().parents[1] / "configs"
    for multi in (False, True):
        searchers = [{"config": str(configs / "optuna_tpe.yaml")}]
        if multi:
            searchers.append({"config": str(configs / "optuna_tpe.yaml"), "label": "nsga",
                              "searcher": {"args": {"sampler": "nsgaii", "objectives": ["fitness", "params"]}}})
        out = tmp_path / f"multi{multi}"
        config = parse_experiment({"label": "mo", "runs": 2, "budget_seconds": 1500, "seed": 0, "out": str(out),
                                   "workers": 1, "searchers": searchers})
        run_experiment(config, show_progress=False)
        report = write_report(out).read_text()
        assert (out / "pareto.png").is_file() == multi and ("![pareto](pareto.png)" in report) == multi


def _pool_picks(space, history, n, k, liar, base):
    """n draws, each from a fresh TPE (seed base+i) told ``history``: a uniform pick among k asks."""
    import optuna

    distributions = OptunaSearcher(space).distributions
    pick, out = np.random.default_rng(base), []
    for seed in range(base, base + n):
        study = optuna.create_study(direction="maximize",
                                    sampler=optuna.samplers.TPESampler(seed=seed, constant_liar=liar))
        study.add_trials([optuna.trial.create_trial(params={f"c{i}": int(c) for i, c in enumerate(code)},
                                                    distributions=distributions, value=value)
                          for code, value in history])
        asked = [tuple(study.ask(distributions).params[f"c{i}"] for i in range(6)) for _ in range(k)]
        out.append(asked[int(pick.integers(k))])
    return np.array(out)


@pytest.mark.slow  # ~40-100 s: 360 fresh TPE studies
def test_with_constant_liar_off_a_uniform_pick_of_k_asks_is_one_tpe_draw_and_with_it_on_it_is_not(space):
    """Given one history, the position-wise distribution of a uniform pick among K=4 asks equals a
    single ask's with nasearch's default (constant_liar off); with Optuna 5's default (on), the asks
    avoid each other and the same chi-square check rejects it -- why nasearch turns it off."""
    import warnings

    from scipy import stats

    rng = np.random.default_rng(0)
    history = []
    for _ in range(20):
        arch = space.sample(rng)
        history.append((space.encode(arch), space.query(arch, rng).fitness))

    def min_p(a, b):
        ps = []
        for i in range(6):
            table = np.array([np.bincount(a[:, i], minlength=5), np.bincount(b[:, i], minlength=5)])
            ps.append(stats.chi2_contingency(table[:, table.sum(0) > 0]).pvalue)
        return min(ps)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        single = _pool_picks(space, history, 120, 1, False, 0)
        off = _pool_picks(space, history, 120, 4, False, 10_000)
        on = _pool_picks(space, history, 120, 4, True, 20_000)
    assert min_p(single, off) > 1e-3 / 6
    assert min_p(single, on) < 1e-4


def test_tpe_gets_constant_liar_off_unless_the_config_sets_it(space):
    assert OptunaSearcher(space).sampler_args == {"constant_liar": False}
    assert OptunaSearcher(space, sampler_args={"constant_liar": True}).sampler_args == {"constant_liar": True}
    assert OptunaSearcher(space, sampler="random").sampler_args == {}
