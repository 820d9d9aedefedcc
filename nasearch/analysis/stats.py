"""The statistics of a report, pure functions of numbers (no files, no markdown, no plots).

A new statistic goes here; :mod:`nasearch.analysis.plots` draws the figures and :mod:`nasearch.analysis.report`
reads the runs and writes the markdown.

The conventions, in one place:

* **std** is the sample standard deviation (``ddof = 1``) everywhere: the report's tables, the
  stdout summary of ``nasearch run``/``experiment`` and ``examples/compare.py``
  (:func:`mean_std`). One run has no spread to estimate; its std is reported as 0.
* **Paired and unpaired.** Run i of a vanilla searcher and run i of its G-twin share the seed
  stream ``[seed, i]``, so the design is paired by run index. Each comparison gives the
  Wilcoxon signed-rank test on the per-run differences of the run indices both sides have
  (the primary, paired test) and the two-sided Mann–Whitney U test of the two samples beside
  it; neither assumes normal accuracies (they are not: they pile up below the space's best
  architecture). The difference of means carries a seeded 95% bootstrap CI that resamples the
  two samples independently, which stays valid whether or not the pairing correlates the runs.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Mapping, Sequence, Union

import numpy as np
from scipy import stats

from nasearch.errors import UsageError
from nasearch.results import RunRecord

ALPHA = 0.05
BOOTSTRAP_RESAMPLES = 10_000

#: per-run values: a mapping run index -> value, or a sequence whose position is the run index
RunValues = Union[Mapping[int, float], Sequence[float], np.ndarray]


def mean_std(values) -> tuple[float, float]:
    """Mean and sample std (``ddof = 1``); ``(nan, nan)`` for no values, std 0 for one value."""
    values = np.asarray(values, dtype=float)
    if len(values) == 0:
        return math.nan, math.nan
    return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0


def _by_run(values: RunValues) -> dict[int, float]:
    if isinstance(values, Mapping):
        return {int(k): float(v) for k, v in values.items()}
    return {i: float(v) for i, v in enumerate(np.asarray(values, dtype=float))}


@dataclass(frozen=True)
class Paired:
    """The Wilcoxon signed-rank test over the run indices both samples have."""

    n_pairs: int  # common run indices
    n_ties: int  # pairs with a zero difference (left out of the ranks, scipy's ``zero_method='wilcox'``)
    mean_difference: float  # mean over pairs of treatment - baseline
    p_value: float  # two-sided; 1.0 when every difference is zero; nan with no pair


def wilcoxon_paired(baseline: RunValues, treatment: RunValues) -> Paired:
    """Two-sided Wilcoxon signed-rank test of treatment - baseline, paired by run index.

    Only run indices present on both sides are paired (an unfinished searcher has fewer runs);
    ``n_pairs`` says how many. Zero differences are dropped from the ranks (Wilcoxon's own
    convention); when all differences are zero the samples agree and p = 1.
    """
    a, b = _by_run(baseline), _by_run(treatment)
    common = sorted(set(a) & set(b))
    if not common:
        return Paired(0, 0, math.nan, math.nan)
    differences = np.array([b[i] - a[i] for i in common])
    ties = int(np.sum(differences == 0))
    if ties == len(differences):
        p_value = 1.0
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            p_value = float(stats.wilcoxon(differences, zero_method="wilcox", alternative="two-sided").pvalue)
    return Paired(len(common), ties, float(differences.mean()), p_value)


def mann_whitney(baseline, treatment) -> float:
    """Two-sided Mann–Whitney U p-value of two independent samples (1.0 for two identical constants)."""
    baseline, treatment = np.asarray(baseline, float), np.asarray(treatment, float)
    if np.ptp(baseline) == 0 and np.ptp(treatment) == 0 and baseline[0] == treatment[0]:
        return 1.0
    return float(stats.mannwhitneyu(treatment, baseline, alternative="two-sided").pvalue)


def difference_of_means(baseline: np.ndarray, treatment: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(treatment, axis=axis) - np.mean(baseline, axis=axis)


def bootstrap_ci(baseline, treatment, seed: int = 0, resamples: int = BOOTSTRAP_RESAMPLES) -> tuple[float, float]:
    """Seeded 95% CI of the difference of means, the two samples resampled independently.

    BCa where it is defined, else the percentile interval (tiny or tied samples); a point when
    neither sample has any spread (every resample gives the same difference).
    """
    baseline, treatment = np.asarray(baseline, float), np.asarray(treatment, float)
    if np.ptp(baseline) == 0 and np.ptp(treatment) == 0:
        difference = float(treatment.mean() - baseline.mean())
        return difference, difference
    for method in ("BCa", "percentile"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = stats.bootstrap((baseline, treatment), difference_of_means, n_resamples=resamples,
                                     confidence_level=0.95, method=method, vectorized=True,
                                     rng=np.random.default_rng(seed))
        interval = result.confidence_interval
        if np.isfinite(interval.low) and np.isfinite(interval.high):
            break
    return float(interval.low), float(interval.high)


@dataclass(frozen=True)
class Comparison:
    """One pair on one metric: treatment - baseline, both tests, and the CI."""

    baseline: str
    treatment: str
    metric: str
    n_baseline: int
    n_treatment: int
    mean_baseline: float
    mean_treatment: float
    difference: float  # mean(treatment) - mean(baseline), all runs of each
    ci_low: float
    ci_high: float
    p_mannwhitney: float  # unpaired, all runs of each
    p_wilcoxon: float  # paired by run index (nan with no common run index)
    n_pairs: int
    n_ties: int

    @property
    def paired(self) -> bool:
        """Whether the paired test applies (at least two common run indices)."""
        return self.n_pairs >= 2 and not math.isnan(self.p_wilcoxon)

    @property
    def p_value(self) -> float:
        """The p-value a verdict uses: Wilcoxon signed-rank where runs pair up, else Mann–Whitney."""
        return self.p_wilcoxon if self.paired else self.p_mannwhitney

    @property
    def test(self) -> str:
        return "Wilcoxon signed-rank" if self.paired else "Mann–Whitney"


def compare(baseline: RunValues, treatment: RunValues, seed: int = 0, resamples: int = BOOTSTRAP_RESAMPLES,
            labels: tuple[str, str] = ("baseline", "treatment"), metric: str = "") -> Comparison:
    """Difference of means (treatment - baseline) with its bootstrap CI, Mann–Whitney U, and the
    Wilcoxon signed-rank test paired by run index (sequences: the position is the run index)."""
    a, b = _by_run(baseline), _by_run(treatment)
    if len(a) < 2 or len(b) < 2:
        raise UsageError(f"comparing {labels[0]} and {labels[1]} needs >= 2 runs each; run more runs")
    x, y = np.array(list(a.values())), np.array(list(b.values()))
    low, high = bootstrap_ci(x, y, seed, resamples)
    paired = wilcoxon_paired(a, b)
    return Comparison(labels[0], labels[1], metric, len(x), len(y), float(x.mean()), float(y.mean()),
                      float(y.mean() - x.mean()), low, high, mann_whitney(x, y), paired.p_value,
                      paired.n_pairs, paired.n_ties)


def bonferroni_threshold(tests: int, alpha: float = ALPHA) -> float:
    return alpha / max(tests, 1)


# -- per-run quantities and anytime curves -----------------------------------------------------
def distinct_fractions(records: Sequence[RunRecord]) -> np.ndarray:
    """Per run, the share of evaluations that trained an architecture not trained before in that run.

    A searcher that keeps re-proposing the same architectures wastes budget; this is how a
    proxy that narrows the search (even a random one) shows up.
    """
    return np.array([f for r in records if (f := r.distinct_fraction) is not None], dtype=float)


def anytime_curve(records: Sequence[RunRecord], metric: str, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean (and 95% normal band, sample std) over runs of the incumbent's final ``metric`` at each grid time.

    The incumbent is the best-fitness architecture found so far; it is known from the time
    its evaluation finished (``trajectory.t[step]``). Runs with no incumbent yet at a time
    are left out of that time's mean; ``count`` says how many runs each point averages.
    """
    values = np.full((len(records), len(grid)), np.nan)
    for row, record in enumerate(records):
        times = record.trajectory.t
        found = [(times[i.step], i.final[metric]) for i in record.incumbents if metric in i.final]
        if not found:
            continue
        at = np.array([t for t, _ in found])
        accuracy = np.array([a for _, a in found])
        position = np.searchsorted(at, grid, side="right") - 1
        known = position >= 0
        values[row, known] = accuracy[position[known]]
    count = np.sum(~np.isnan(values), axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, np.nansum(values, axis=0) / np.maximum(count, 1), np.nan)
        squared = np.nansum((values - mean) ** 2, axis=0)
        sd = np.sqrt(np.where(count > 1, squared / np.maximum(count - 1, 1), np.nan))
        half = 1.96 * sd / np.sqrt(np.maximum(count, 1))
    return mean, half, count


def within_two_se(ours: tuple[float, float, int], mean: float, std: float, runs: int) -> tuple[float, bool]:
    """Our mean minus a reference mean and whether |diff| <= 2 SE of the difference, with
    ``SE = sqrt(s_ours^2/n_ours + s_ref^2/n_ref)`` (sample std, ddof=1, on our side)."""
    m, s, n = ours
    se = math.sqrt(s * s / n + std * std / runs)
    return m - mean, abs(m - mean) <= 2 * se
