"""``revisit: allow | never``, and the new searchers' byte-identity across worker counts."""
from __future__ import annotations

import numpy as np
import pytest

from nasearch.config import parse_search_config
from nasearch.errors import UsageError
from nasearch.execution import config_fingerprint, run_many
from nasearch.runner import MAX_CACHED_IN_A_ROW, SearchContext, run_one
from nasearch.searchers.base import Searcher, Trial

from fakes import ToySpace


def _config(searcher, revisit=None, hook=None, budget=12000, args=None, runs=3, **extra):
    raw = {"space": {"name": "nb201"}, "searcher": {"name": searcher, "args": args or {}}, "budget_seconds": budget,
           "runs": runs, **extra}
    if revisit is not None:
        raw["revisit"] = revisit
    if hook is not None:
        raw["hook"] = hook
    return parse_search_config(raw)


def test_revisit_values_are_checked_in_one_line():
    with pytest.raises(UsageError, match="revisit: 'sometimes' is not one of allow, never"):
        _config("rea", revisit="sometimes")


def test_allow_is_the_default_and_keeps_old_fingerprints_and_records():
    allow, default = _config("rea", revisit="allow"), _config("rea")
    assert allow == default and "revisit" not in config_fingerprint(allow)
    assert config_fingerprint(_config("rea", revisit="never"))["revisit"] == "never"
    record = run_one(SearchContext.build(default), 0).to_dict()
    assert "cached_answers" not in record


@pytest.mark.parametrize("searcher, hook", [("rea", None), ("rea", {"proxy": "params", "k": 10, "cost": "lookup"}),
                                            ("rs", {"proxy": "params", "k": 10, "cost": "lookup"})])
def test_never_trains_each_cell_once_and_answers_repeats_for_free(searcher, hook):
    allow = run_one(SearchContext.build(_config(searcher, hook=hook)), 1).to_dict()
    never = run_one(SearchContext.build(_config(searcher, "never", hook=hook)), 1).to_dict()
    archs = never["trajectory"]["arch"]
    assert len(set(archs)) == len(archs)  # nothing trained twice
    if hook is not None:  # the pool redraws trained candidates: repeats almost never reach the runner
        assert never["cached_answers"] <= 3
    allow_archs = allow["trajectory"]["arch"]
    assert len(set(allow_archs)) < len(allow_archs)  # the paper's protocol re-trains (the check can fail)


class SameCell(Searcher):
    """A converged searcher: it proposes the same cell forever."""

    name = "same"

    def propose(self, rng):
        return Trial((0, 1))

    def observe(self, trial, evaluation):
        pass


def test_a_searcher_that_only_repeats_still_spends_its_budget():
    space = ToySpace()
    config = parse_search_config({"space": {"name": "toy"}, "searcher": {"name": "rs"}, "budget_seconds": 100,
                                  "revisit": "never"})
    context = SearchContext(config, space, SameCell)
    record = run_one(context, 0).to_dict()
    # every 10-s training is followed by MAX_CACHED_IN_A_ROW free answers, then trained again
    assert record["evaluations"] == 10 and record["simulated_seconds"] == 100
    assert record["cached_answers"] == 10 * MAX_CACHED_IN_A_ROW


@pytest.mark.parametrize("searcher, revisit, hook", [
    ("ls", "allow", None), ("ls", "never", {"proxy": "params", "k": 10, "cost": "lookup"}),
    ("bananas", "never", None),
    pytest.param("bananas", "allow", {"proxy": "params", "k": 5, "cost": "lookup"}, marks=pytest.mark.slow),
])
def test_new_searchers_are_byte_identical_for_one_and_two_workers(tmp_path, searcher, revisit, hook):
    config = _config(searcher, revisit, hook=hook, budget=4000, runs=3)
    one = run_many(config.with_overrides(workers=1), tmp_path / "w1")
    two = run_many(config.with_overrides(workers=2), tmp_path / "w2")
    assert (tmp_path / "w1" / "runs.jsonl").read_bytes() == (tmp_path / "w2" / "runs.jsonl").read_bytes()
    assert [r.run for r in one] == [0, 1, 2] and one == two
    assert np.all([r.evaluations > 10 for r in one])  # past bananas' 10 random cells
