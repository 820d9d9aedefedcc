"""The short stdout summary of a set of runs: mean ± std of each final metric.

std is the sample standard deviation (ddof = 1), the report's convention (:func:`nasearch.analysis.stats.mean_std`).
"""
from __future__ import annotations

from typing import Sequence

from nasearch.analysis.stats import mean_std
from nasearch.results import RunRecord


def summarise(records: Sequence[RunRecord]) -> dict[str, tuple[float, float]]:
    """Mean and sample std per final metric, over the runs that found anything."""
    keys = sorted({key for record in records for key in record.final})
    out = {}
    for key in keys:
        out[key] = mean_std([r.final[key] for r in records if key in r.final])
    out["evaluations"] = mean_std([r.evaluations for r in records])
    return out


def format_summary(label: str, records: Sequence[RunRecord]) -> str:
    stats = summarise(records)
    parts = [f"{key} {mean:.2f}±{std:.2f}" for key, (mean, std) in stats.items()]
    return f"{label}: {len(records)} runs | " + " | ".join(parts)
