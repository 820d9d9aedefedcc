"""How close each searcher of an experiment gets to the space's optimum (issue 28).

    python scripts/search_quality_regret.py results/search_quality [--metric cifar10_valid] [--out DIR]

Reads the experiment folder (typed records, ``nasearch.analysis.reading.load_experiment``) and the
space of its first searcher's ``config.json``; the optimum is the best ``final_metrics[metric]``
over ``space.all_archs()`` (NB201 CIFAR-10 validation: 91.607). Writes to ``--out`` (default: the
folder itself):

* ``regret.csv`` / ``regret.md``: per searcher, the mean final metric, its simple regret to the
  optimum, the share of runs that end on the best cell and within 0.1 pt of it, distinct cells
  trained (% of evaluations), evaluations and cached answers (``revisit: never``) per run;
* ``regret.png``: anytime mean simple regret (optimum minus the incumbent's final metric) against
  simulated time, log scale; a run counts from its first evaluation on (regret of the incumbent
  then), the mean over all runs from the time every run has one.
"""
from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np


def incumbent_metric_at(record, grid: np.ndarray, metric: str) -> np.ndarray:
    """The incumbent's final metric at each time of ``grid`` (NaN before the first incumbent)."""
    times = np.asarray(record.trajectory.t, dtype=float)
    out = np.full(len(grid), np.nan)
    for incumbent in record.incumbents:
        since = times[incumbent.step]
        out[grid >= since] = incumbent.final[metric]
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results")
    parser.add_argument("--metric", default="cifar10_valid")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)

    from nasearch.analysis.reading import load_experiment
    from nasearch.loading import load_space

    root = Path(args.results)
    out = Path(args.out) if args.out else root
    out.mkdir(parents=True, exist_ok=True)
    experiment = load_experiment(root)
    results = [r for r in experiment.results if r.records]
    first = json.loads((root / results[0].label / "config.json").read_text())["config"]
    space = load_space(first["space"])
    values = {space.arch_id(a): space.final_metrics(a)[args.metric] for a in space.all_archs()}
    best_arch = max(values, key=values.get)
    optimum = values[best_arch]
    budget = float(first["budget_seconds"])
    grid = np.geomspace(100.0, budget, 200)

    rows, curves = [], {}
    for res in results:
        records = res.records
        final = np.array([r.final.get(args.metric, np.nan) for r in records], dtype=float)
        evaluations = np.array([r.evaluations for r in records], dtype=float)
        distinct = np.array([len(set(r.trajectory.arch)) / max(1, r.evaluations) for r in records])
        cached = np.array([r.cached_answers or 0 for r in records], dtype=float)
        at_time = np.stack([incumbent_metric_at(r, grid, args.metric) for r in records])
        regret = optimum - at_time
        complete = ~np.isnan(regret).any(axis=0)
        curves[res.label] = np.where(complete, np.nanmean(regret, axis=0), np.nan)
        rows.append({
            "searcher": res.label, "runs": len(records), "mean": round(float(np.nanmean(final)), 4),
            "std": round(float(np.nanstd(final, ddof=1)), 4), "regret": round(float(optimum - np.nanmean(final)), 4),
            "share_best": round(float(np.mean([r.best_arch == best_arch for r in records])), 4),
            "share_within_0.1": round(float(np.mean(final >= optimum - 0.1)), 4),
            "distinct_pct": round(100 * float(distinct.mean()), 1), "evaluations": round(float(evaluations.mean()), 1),
            "cached_answers": round(float(cached.mean()), 1),
        })

    with (out / "regret.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    lines = [f"# How close each searcher gets to the optimum ({args.metric})", "",
             f"Optimum: `{best_arch}`, {args.metric} {optimum:.3f} (seed mean); within 0.1 pt: the "
             f"{sum(v >= optimum - 0.1 for v in values.values())} cells at >= {optimum - 0.1:.3f}. "
             f"Budget {budget:.0f} simulated seconds.", "",
             "| searcher | runs | mean | std | simple regret | ends on the best cell | within 0.1 pt | distinct % "
             "| evaluations | cached answers |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for row in sorted(rows, key=lambda r: -r["mean"]):
        lines.append(f"| {row['searcher']} | {row['runs']} | {row['mean']:.3f} | {row['std']:.3f} | {row['regret']:.3f} "
                     f"| {100 * row['share_best']:.1f} % | {100 * row['share_within_0.1']:.1f} % | {row['distinct_pct']:.1f} "
                     f"| {row['evaluations']:.1f} | {row['cached_answers']:.1f} |")
    (out / "regret.md").write_text("\n".join(lines) + "\n")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5.5))
    colours = plt.cm.tab20(np.linspace(0, 1, 20))
    for i, (label, curve) in enumerate(curves.items()):
        style = "--" if label.endswith("_never") else "-"
        ax.plot(grid, curve, style, label=label, linewidth=1.2, color=colours[(2 * i) % 20 + (2 * i) // 20 % 2])
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("simulated seconds")
    ax.set_ylabel(f"mean simple regret to the optimum ({args.metric}, pt)")
    ax.set_title(f"anytime regret, {len(results[0].records)} runs per searcher (dashed: revisit never)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(out / "regret.png", dpi=120)
    print((out / "regret.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
