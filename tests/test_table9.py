"""Table 9 configs: every searcher searches CIFAR-100; the hook's images are stated (CIFAR-10 tables)."""
from __future__ import annotations

from pathlib import Path

import pytest

from nasearch.experiments import load_experiment

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("name,backend", [("table9", "embedded"), ("table9_nats", "nats")])
def test_table9_searches_cifar100_and_says_what_the_hook_uses(name, backend):
    path = ROOT / "configs" / "experiments" / f"{name}.yaml"
    experiment = load_experiment(str(path))
    assert {s.label for s in experiment.searchers} == {"rs", "g_rs", "rea", "g_rea", "reinforce", "g_reinforce", "bohb", "g_hb"}
    for config in experiment.searchers:
        assert config.space["args"]["dataset"] == "cifar100" and config.space["args"]["backend"] == backend
        if config.hook is not None:
            assert config.hook.dataset == "cifar10"
    assert experiment.budget_seconds == 12000 and experiment.runs == 500
    assert experiment.report.metric == "cifar100_valid"  # the report headlines what was searched
