"""The short stdout summary of a set of runs: mean ± std of each final metric."""
from __future__ import annotations

import numpy as np


def summarise(records: list[dict]) -> dict[str, tuple[float, float]]:
    """Mean and (population) std per final metric, over the runs that found anything."""
    keys = sorted({key for record in records for key in record["final"]})
    out = {}
    for key in keys:
        values = np.array([r["final"][key] for r in records if key in r["final"]], dtype=float)
        out[key] = (float(values.mean()), float(values.std()))
    evaluations = np.array([r["evaluations"] for r in records], dtype=float)
    out["evaluations"] = (float(evaluations.mean()), float(evaluations.std()))
    return out


def format_summary(label: str, records: list[dict]) -> str:
    stats = summarise(records)
    parts = [f"{key} {mean:.2f}±{std:.2f}" for key, (mean, std) in stats.items()]
    return f"{label}: {len(records)} runs | " + " | ".join(parts)
