"""The pool hook's online predictor (hook.predictor): warm-up, refits, declared cost, determinism."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from scipy.stats import rankdata

from nasearch.config import parse_search_config
from nasearch.errors import UsageError
from nasearch.runner import SearchContext, run_one

ROOT = Path(__file__).resolve().parents[1]
NB201 = {"name": "nb201", "args": {"backend": "embedded"}}
LOOKUP = {"proxy": "gradsign", "cost": "lookup"}


def config(searcher="rea", hook=None, budget=12000, space=NB201, **extra):
    raw = {"label": "t", "space": space, "searcher": {"name": searcher}, "budget_seconds": budget, **extra}
    if hook is not None:
        raw["hook"] = hook
    return parse_search_config(raw)


def run(cfg, index=0):
    context = SearchContext.build(cfg)
    return run_one(context, index), context


def test_records_without_a_predictor_carry_no_predictor_keys():
    record, _ = run(config(hook=LOOKUP, budget=3000))
    assert not {"predictor", "predictor_fits", "predictor_seconds"} & set(record.to_dict())


def test_warmup_is_the_proxy_then_the_predictor_refits_on_schedule_and_is_charged_as_declared():
    plain, _ = run(config(hook=LOOKUP))
    hook = {**LOOKUP, "predictor": "xgb+gradsign", "warmup": 20, "refit_every": 20,
            "predictor_cost": {"fit": [2.0, 0.5], "query": 0.25}}
    online, _ = run(config(hook=hook))
    # before the warm-up ends the hook's proxy picks: the same stream, the same archs as G-REA
    assert online.trajectory.arch[:20] == plain.trajectory.arch[:20]
    assert online.trajectory.arch[20:] != plain.trajectory.arch[20:len(online.trajectory.arch)]
    n = online.evaluations
    fits = online.predictor_fits
    assert fits == len(range(20, n + 1, 20)) or fits == len(range(20, n + 2, 20))  # a fit per 20 new evaluations
    fit_seconds = sum(2.0 + 0.5 * size for size in range(20, 20 * fits + 1, 20))
    queries = (online.predictor_seconds - fit_seconds) / (0.25 * 10)  # pools the predictor scored (k = 10)
    assert queries == pytest.approx(round(queries)) and n - 20 <= round(queries) <= n - 19
    # gradsign by lookup costs nothing: every non-training second is the predictor's
    assert online.overhead_seconds == pytest.approx(online.predictor_seconds)
    assert online.predictor == "xgb+gradsign"


def test_a_run_with_a_predictor_repeats_exactly():
    cfg = config(hook={**LOOKUP, "predictor": "xgb+gradsign"}, budget=6000)
    first, _ = run(cfg, 3)
    second, _ = run(cfg, 3)
    assert first == second and first.predictor_fits >= 1


def test_zero_cost_ensemble_picks_the_best_mean_rank_of_each_pool_from_the_start():
    """G-RS with rank_avg:gradsign+params, warm-up 0: each trained arch is the pool's best mean
    rank, recomputed here from the packaged tables and the run's own generator stream."""
    hook = {**LOOKUP, "predictor": "rank_avg:gradsign+params", "warmup": 0}
    record, context = run(config("rs", hook=hook, budget=3000))
    assert record.predictor_fits == 0
    space = context.space
    features = context.predictor.scorers
    rng = np.random.default_rng([0, 0])
    for arch_id in record.trajectory.arch:
        pool = [space.sample(rng) for _ in range(10)]
        ranks = [rankdata([features[p].score(a).score for a in pool]) for p in ("gradsign", "params")]
        assert space.arch_id(pool[int(np.argmax(np.mean(ranks, axis=0)))]) == arch_id
        space.query(pool[0], rng)  # the embedded query's one draw (its seed)
    # two zero-cost features per candidate, each counted as a proxy score
    assert record.pool_draws >= 2 * 10 * record.evaluations


@pytest.mark.parametrize("searcher", ["rs", "rea", "reinforce", "hb", "bohb"])
def test_every_searcher_gets_the_predictor_through_the_hook(searcher):
    record, _ = run(config(searcher, hook={**LOOKUP, "predictor": "rf", "warmup": 5, "refit_every": 5}, budget=4000))
    assert record.predictor == "rf" and record.predictor_fits >= 1
    assert record.predictor_seconds >= 1.0 + 0.01 * 5


def test_zero_cost_features_are_charged_by_the_hooks_cost_policy_once_per_arch():
    hook = {"proxy": "gradsign", "cost": 7.0, "predictor": "rank_avg:gradsign+params", "warmup": 0,
            "predictor_cost": {"fit": [0, 0], "query": 0}}
    record, _ = run(config("rs", hook=hook, budget=20000))
    # 7 s per (proxy, arch) paid: a multiple of 7, at most two per candidate looked at
    assert record.overhead_seconds % 7.0 == pytest.approx(0.0, abs=1e-6)
    assert 0 < record.overhead_seconds <= 7.0 * record.pool_draws
    assert record.predictor_seconds == 0.0


def test_predictor_config_errors_are_one_line():
    for hook, message in [
        ({"predictor": "xgb", "warmup": -1}, r"hook\.warmup: must be >= 0"),
        ({"predictor": "xgb", "warmup": 2.5}, r"hook\.warmup: expected an integer"),
        ({"predictor": "xgb", "refit_every": 0}, r"hook\.refit_every: must be >= 1"),
        ({"predictor": "xgb", "refit_every": "ten"}, r"hook\.refit_every: expected an integer"),
        ({"warmup": 5}, r"hook\.warmup: only means something with hook\.predictor"),
        ({"predictor": "xgb", "select": "oracle"}, r"hook\.predictor with hook\.select: oracle"),
        ({"predictor": "xgb", "predictor_cost": {"fit": [1]}}, r"hook\.predictor_cost\.fit: expected \[base, per point\]"),
        ({"predictor": "xgb", "predictor_cost": {"query": -1}}, r"hook\.predictor_cost\.query: expected finite seconds"),
        ({"predictor": "xgb", "predictor_cost": {"fits": 1}}, r"hook\.predictor_cost: unknown key 'fits'"),
    ]:
        with pytest.raises(UsageError, match=message):
            config(hook=hook)
    for hook, message in [
        ({"predictor": "nope"}, r"unknown predictor 'nope'"),
        ({"predictor": "xgb", "warmup": 1}, r"hook\.warmup: 1; predictor 'xgb' learns from the run's evaluations"),
        ({"predictor": "early_stop@3"}, r"needs learning curves"),
    ]:
        with pytest.raises(UsageError, match=message):
            SearchContext.build(config(hook=hook))


def test_fingerprint_leaves_the_predictor_keys_out_at_their_defaults():
    from nasearch.execution import config_fingerprint

    plain = config_fingerprint(config(hook=LOOKUP))["hook"]
    assert not {"predictor", "warmup", "refit_every", "predictor_cost"} & set(plain)
    online = config_fingerprint(config(hook={**LOOKUP, "predictor": "xgb", "warmup": 30}))["hook"]
    assert online["predictor"] == "xgb" and online["warmup"] == 30 and "refit_every" not in online
    assert config_fingerprint(config(hook={**LOOKUP, "predictor": "xgb"})) != config_fingerprint(config(hook=LOOKUP))


def test_multi_fidelity_searchers_teach_the_predictor_full_fidelity_evaluations_only(tmp_path, monkeypatch):
    from nb201_fixtures import FIXTURE_ARCHS, make_spec, write_nb201_file

    from nasearch.hook import PoolSelector
    from nasearch.spaces.nb201.official import NB201_FILES

    path = write_nb201_file(make_spec(without_results=(FIXTURE_ARCHS[3],)), tmp_path / NB201_FILES[0])
    seen = []
    original = PoolSelector.observe
    monkeypatch.setattr(PoolSelector, "observe", lambda self, arch, fitness: (seen.append(fitness), original(self, arch, fitness)))
    space = {"class": "nb201_fixtures:FixtureNB201Space", "args": {"backend": "nb201", "path": str(path)}}
    record, _ = run(config("hb", hook={**LOOKUP, "predictor": "rf", "warmup": 2, "refit_every": 2}, budget=5000,
                           space=space))
    epochs = record.trajectory.epochs
    full = [f for f, e in zip(record.trajectory.fitness, epochs) if e is None or e == 12]
    assert any(e is not None and e < 12 for e in epochs) and seen == full


def test_a_learning_curve_predictor_picks_by_partial_training_charged_once_per_arch(tmp_path):
    """G-RS with early_stop@6 over the NATS fixture, recomputed here from the run's own stream:
    each trained arch is its pool's best 6-epoch validation accuracy, and each arch's partial
    training is charged once per run (the seconds of its first curve)."""
    from nb201_fixtures import FIXTURE_ARCHS, make_spec, write_nats_dir

    from nasearch.predictors import make_predictor
    from nasearch.spaces.nb201.official import NATS_TSS_DIR

    path = write_nats_dir(make_spec(without_results=(FIXTURE_ARCHS[3],)), tmp_path / NATS_TSS_DIR)
    space_config = {"class": "nb201_fixtures:FixtureNB201Space", "args": {"backend": "nats", "path": str(path)}}
    hook = {"select": "uniform", "predictor": "early_stop@6", "warmup": 0, "predictor_cost": {"fit": [0, 0], "query": 0}}
    cfg = config("rs", hook=hook, budget=3000, space=space_config)
    record, context = run(cfg)
    assert record == run(cfg)[0] and record.predictor_fits == 0
    space, predictor = context.space, make_predictor("early_stop@6", context.space)
    rng, paid = np.random.default_rng([0, 0]), {}
    for arch_id in record.trajectory.arch + [None]:  # the last pool: scored, its training refused
        pool = [space.sample(rng) for _ in range(10)]
        values = predictor.predict(pool)
        for arch, seconds in zip(pool, predictor.arch_seconds):
            paid.setdefault(space.arch_id(arch), seconds)
        if arch_id is None:
            break
        chosen = pool[int(np.argmax(values))]
        assert space.arch_id(chosen) == arch_id
        space.query(chosen, rng)
    assert record.predictor_seconds == pytest.approx(sum(paid.values()), abs=1e-5)
    assert len(paid) == 3  # three archs, each charged once


def test_workers_1_and_2_write_identical_runs(tmp_path):
    body = {"label": "g_rea_xgb", "space": NB201, "searcher": {"name": "rea"},
            "hook": {**LOOKUP, "predictor": "xgb+gradsign"}, "budget_seconds": 4000, "runs": 3, "seed": 0}
    outputs = []
    for workers in (1, 2):
        path = tmp_path / f"w{workers}.yaml"
        path.write_text(yaml.safe_dump({**body, "out": str(tmp_path / f"out{workers}")}))
        subprocess.run([sys.executable, str(ROOT / "run_search.py"), str(path), "--workers", str(workers)], check=True,
                       cwd=tmp_path, capture_output=True)
        outputs.append((tmp_path / f"out{workers}" / "runs.jsonl").read_bytes())
    assert outputs[0] == outputs[1] and b'"predictor":"xgb+gradsign"' in outputs[0]
