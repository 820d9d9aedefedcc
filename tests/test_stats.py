"""nasearch.analysis.stats: the std convention and the paired test, on data with known answers."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from nasearch.analysis.stats import compare, mann_whitney, mean_std, wilcoxon_paired
from nasearch.analysis.summary import format_summary, summarise


def test_std_is_the_sample_std_everywhere():
    values = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]  # population std 2, sample std sqrt(32/7)
    assert mean_std(values) == pytest.approx((5.0, math.sqrt(32 / 7)))
    assert mean_std([3.0]) == (3.0, 0.0) and all(math.isnan(v) for v in mean_std([]))
    from nasearch.results import RunRecord

    records = [RunRecord(i, 0, "x", "rs", None, "a", v, final={"acc": v}, evaluations=10 + i) for i, v in enumerate(values)]
    summary = summarise(records)
    assert summary["acc"] == pytest.approx((5.0, math.sqrt(32 / 7)))
    assert summary["evaluations"][1] == pytest.approx(np.std(np.arange(10, 18), ddof=1))
    assert "acc 5.00±2.14" in format_summary("x", records)  # not ±2.00, the population std


def test_wilcoxon_finds_a_paired_shift_that_mann_whitney_misses():
    """Runs vary a lot between seeds (sd 2 pt) but the treatment is +0.1 pt on every seed: the
    two samples overlap almost entirely, the per-run differences are all positive."""
    rng = np.random.default_rng(0)
    baseline = 90.0 + rng.normal(0, 2.0, 40)
    treatment = baseline + 0.1 + rng.normal(0, 0.02, 40)
    c = compare(baseline, treatment, resamples=500)
    assert c.p_mannwhitney > 0.5  # unpaired: nothing to see
    assert c.p_wilcoxon < 1e-6  # paired: 40 positive differences, exact p = 2 / 2^40
    assert c.p_wilcoxon == pytest.approx(2 / 2 ** 40)
    assert c.p_value == c.p_wilcoxon and c.n_pairs == 40
    assert c.ci_low < 0 < c.ci_high  # the unpaired CI cannot see it either
    # the same samples with the pairing broken: the signed-rank test sees no consistent shift
    shuffled = wilcoxon_paired(baseline, rng.permutation(treatment))
    assert shuffled.p_value > 0.05


def test_pairs_are_matched_by_run_index_not_position():
    baseline = {0: 1.0, 1: 5.0, 2: 9.0, 3: 13.0, 7: 100.0}
    treatment = {3: 14.0, 2: 10.0, 1: 6.0, 0: 2.0, 5: -50.0}  # +1 on every common run, in another order
    paired = wilcoxon_paired(baseline, treatment)
    assert (paired.n_pairs, paired.n_ties, paired.mean_difference) == (4, 0, 1.0)
    assert paired.p_value == pytest.approx(scipy_stats.wilcoxon(np.ones(4)).pvalue)  # 2 / 2^4
    c = compare(baseline, treatment, resamples=200)
    assert (c.n_baseline, c.n_treatment, c.n_pairs) == (5, 5, 4)
    assert c.difference == pytest.approx(np.mean(list(treatment.values())) - np.mean(list(baseline.values())))


def test_all_zero_differences_and_no_common_run():
    same = wilcoxon_paired([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    assert (same.n_pairs, same.n_ties, same.p_value) == (3, 3, 1.0)
    partly = wilcoxon_paired([1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.5, 4.5])  # two ties left out of the ranks
    assert partly.n_ties == 2 and partly.p_value == pytest.approx(scipy_stats.wilcoxon([0.5, 0.5]).pvalue)
    apart = wilcoxon_paired({0: 1.0, 1: 2.0}, {2: 1.0, 3: 2.0})
    assert apart.n_pairs == 0 and math.isnan(apart.p_value)
    c = compare({0: 1.0, 1: 2.0, 2: 3.0}, {5: 4.0, 6: 5.0, 7: 6.0}, resamples=200)
    assert not c.paired and c.p_value == c.p_mannwhitney and c.test == "Mann–Whitney"
    assert mann_whitney([2.0, 2.0], [2.0, 2.0]) == 1.0
