"""Predictor-guided searchers: never evaluate, charge a declared fit cost, deterministic."""
from __future__ import annotations

import numpy as np
import pytest

from nasearch.loading import load_space, searcher_class
from nasearch.spaces.protocol import Evaluation


@pytest.mark.parametrize("name, predictor", [("npenas", "xgb"), ("bananas", "rf")])
def test_guided_loop_is_deterministic_and_charges_fit(name, predictor):
    space = load_space({"name": "nb201"})

    def run():
        searcher = searcher_class(name)(space, None, predictor=predictor, num_init=5, num_candidates=30, k=5)
        rng = np.random.default_rng(0)
        archs, owed = [], 0.0
        for _ in range(16):
            trial = searcher.propose(rng)
            debts = searcher.ledger.drain()
            assert all(d.kind == "predictor" and not d.score for d in debts)
            owed += sum(d.seconds for d in debts)
            archs.append(trial.arch)
            searcher.observe(trial, Evaluation(space.final_metrics(trial.arch)["cifar10_valid"], 1.0))
        return archs, owed, searcher

    first, owed, searcher = run()
    second, owed2, _ = run()
    assert first == second and owed == owed2
    assert searcher.refits == 3  # after 5 random, a refit each 5 proposals
    assert owed == pytest.approx(sum(searcher.fit_cost_seconds(n) for n in (5, 10, 15)))
    assert len({space.arch_id(a) for a in first[5:]}) == 11  # queued candidates are unseen
