"""The digits example space really trains, deterministically, and every proxy runs on its networks."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

pytest.importorskip("sklearn")

from examples.digits_space import CHOICES, DigitsSpace, build_from_ops  # noqa: E402
from nasearch.config import parse_search_config  # noqa: E402
from nasearch.execution import run_many  # noqa: E402
from nasearch.loading import load_space  # noqa: E402
from nasearch.spaces.protocol import capabilities, protocol_problems  # noqa: E402

CHEAP = ("d1", "w8", "k3", "relu", "plain")


@pytest.fixture
def space(tmp_path):
    return DigitsSpace(epochs=1, cache_dir=str(tmp_path / "training"))


def test_loads_by_file_path_and_honours_the_protocol(tmp_path):
    space = load_space({"class": "examples/digits_space.py:DigitsSpace", "args": {"epochs": 1}})
    assert protocol_problems(space) == []
    assert set(capabilities(space)) == {"encoding", "fidelity", "neighbours", "proxy_batch"}
    assert space.size == 162 == len(set(space.all_archs()))


def test_ids_mutation_and_encoding(space):
    rng = np.random.default_rng(0)
    for _ in range(200):
        arch = space.sample(rng)
        assert space.from_id(space.arch_id(arch)) == arch
        assert space.decode(space.encode(arch)) == arch
        child = space.mutate(arch, rng)
        assert sum(a != b for a, b in zip(arch, child)) == 1
    assert len(space.neighbours(CHEAP)) == sum(len(v) - 1 for _, v in CHOICES)
    with pytest.raises(ValueError, match="activation must be one of"):
        space.from_id("d1-w8-k3-swish-plain")


def test_training_is_real_deterministic_and_cached(space, tmp_path):
    evaluation = space.query(CHEAP, np.random.default_rng(0))
    assert space.trainings == 1 and 10 < evaluation.fitness <= 100 and evaluation.cost_seconds > 0
    first = space._result(CHEAP)
    again = DigitsSpace(epochs=1, cache=False).train(CHEAP)  # a fresh training gives the same accuracies
    assert first["valid_accuracy"] == again["valid_accuracy"] and first["test_accuracy"] == again["test_accuracy"]
    reader = DigitsSpace(epochs=1, cache_dir=str(tmp_path / "training"))
    assert reader.query(CHEAP, np.random.default_rng(5)) == evaluation  # seconds read back, not re-measured
    assert reader.final_metrics(CHEAP)["digits_test"] == space.final_metrics(CHEAP)["digits_test"]
    assert reader.trainings == 0
    # more epochs is another training setting: another cache entry
    assert DigitsSpace(epochs=2, cache_dir=str(tmp_path / "training")).cache_dir != reader.cache_dir


def test_every_proxy_scores_its_networks_on_its_own_data(space):
    from nasearch.proxies.scorer import ProxyScorer

    inputs, labels = space.proxy_batch(16, 0)
    assert tuple(inputs.shape) == (16, 1, 8, 8) and labels.dtype.is_floating_point is False
    network = build_from_ops(("d2", "w16", "k3", "tanh", "bn"), 10)
    assert tuple(network(inputs).shape) == (16, 10)
    scores = {}
    for per_sample in ("loop", "fast"):
        scorer = ProxyScorer(space, "gradsign", batch_size=16, options={"per_sample": per_sample})
        assert scorer.key.dataset == "space" and scorer.num_classes == 10
        scores[per_sample] = scorer.score(("d2", "w16", "k3", "tanh", "bn")).score
        assert scorer.score(CHEAP).data == "space:digits"
    assert scores["loop"] == scores["fast"] > 0


def test_short_rea_and_g_rea_searches_repeat_exactly(tmp_path, monkeypatch):
    monkeypatch.setenv("NASEARCH_CACHE_DIR", str(tmp_path / "cache"))  # training + score caches
    results = {}
    for attempt in ("first", "rerun"):
        for hook in (None, {"proxy": "gradsign", "k": 2, "batch_size": 16, "cost": "measured"}):
            raw = {"space": {"class": "examples/digits_space.py:DigitsSpace", "args": {"epochs": 1}},
                   "searcher": {"name": "rea", "args": {"population_size": 3, "tournament_size": 2}},
                   "budget_seconds": 1.5, "runs": 2, "seed": 0, "label": "digits"}
            if hook:
                raw["hook"] = hook
            runs = run_many(parse_search_config(raw), tmp_path / f"{attempt}-{bool(hook)}")
            results[attempt, bool(hook)] = runs
            assert all(r.evaluations >= 1 and math.isfinite(r.best_fitness) for r in runs)
            assert all("digits_test" in r.final for r in runs)
            assert all((r.pool_draws > 0) == bool(hook) for r in runs)
    for assisted in (False, True):  # cached (fitness, seconds) and scores: a rerun is identical
        assert [r.encode() for r in results["first", assisted]] == [r.encode() for r in results["rerun", assisted]]


def test_every_registered_proxy_runs_on_a_digits_network(space):
    """Data-free proxies (synflow, flops) get the space's input shape, not CIFAR's 3x32x32."""
    from nasearch.proxies.registry import available_proxies
    from nasearch.proxies.scorer import ProxyScorer

    for proxy in available_proxies():  # every one is a score (selection controls are the hook's)
        scorer = ProxyScorer(space, proxy, batch_size=8)
        value = scorer.score(("d2", "w8", "k3", "relu", "bn")).score
        assert isinstance(value, float) and not math.isnan(value), proxy


def test_fewer_epochs_is_a_lower_fidelity_of_the_same_training(space):
    """query_at(arch, e) trains e epochs from the same seed; e = max_epochs is query itself."""
    two = DigitsSpace(epochs=2, cache=False)
    assert two.max_epochs == 2 and "fidelity" in capabilities(two)
    rng = np.random.default_rng(0)
    assert two.query_at(CHEAP, 2, rng) == two.query(CHEAP, rng)
    assert two.query_at(CHEAP, 1, rng).fitness == space.query(CHEAP, rng).fitness  # the 1-epoch space's training
    assert two.trainings == 2
    with pytest.raises(ValueError, match="epochs must be in 1..2"):
        two.query_at(CHEAP, 3, rng)
