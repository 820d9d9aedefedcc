"""Compare two run sets of the same space: mean final metric and a paired test.

Run i of two configs with the same seed starts from the same random stream, so the runs are
paired; this prints both means, how often each side wins, and the Wilcoxon signed-rank
p-value (scipy), which is what "does the proxy help here" needs at 20-30 runs.

    python examples/compare.py results/digits_rea/runs.jsonl results/digits_g_rea/runs.jsonl --metric digits_test
    python examples/compare.py results/digits_rea/runs.jsonl results/digits_g_rea/runs.jsonl --after-evaluations 5
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

from nasearch.results import RunRecord, read_jsonl


def _records(path: str) -> list[RunRecord]:
    """The typed runs of a runs.jsonl (or progress.jsonl), through nasearch's one reader; says if it is not whole."""
    found = read_jsonl(path)
    if found.problem():
        print(f"note: {found.problem()}")
    return [found.records[i] for i in sorted(found.records)]


def best_after(path: str, evaluations: int) -> dict[int, float]:
    """Best fitness after the first ``evaluations`` trainings of each run (per-training efficiency)."""
    values, short = {}, 0
    for record in _records(path):
        best = record.trajectory.best
        if len(best) < evaluations:
            short += 1
        if best:
            values[record.run] = float(best[min(evaluations, len(best)) - 1])
    if short:
        print(f"note: {short} runs of {path} stopped before {evaluations} evaluations; their last best is used")
    return values


def final_values(path: str, metric: str) -> dict[int, float]:
    values = {}
    for record in _records(path):
        if metric not in record.final:
            raise SystemExit(f"{path}: run {record.run} has no final metric {metric!r}; have {sorted(record.final)}")
        values[record.run] = float(record.final[metric])
    return values


def compare(a: dict[int, float], b: dict[int, float]) -> dict[str, float]:
    """Means and sample stds (ddof=1) over the run indices both sides have, who wins how often, and
    the Wilcoxon signed-rank p-value, all through nasearch.analysis.stats (the report's own statistics)."""
    from nasearch.analysis.stats import mean_std, wilcoxon_paired

    runs = sorted(set(a) & set(b))
    x, y = np.array([a[i] for i in runs]), np.array([b[i] for i in runs])
    (mean_a, std_a), (mean_b, std_b) = mean_std(x), mean_std(y)
    paired = wilcoxon_paired(dict(zip(runs, x)), dict(zip(runs, y)))
    return {"runs": len(runs), "mean_a": mean_a, "std_a": std_a, "mean_b": mean_b, "std_b": std_b,
            "b_wins": int((y > x).sum()), "a_wins": int((x > y).sum()), "ties": paired.n_ties,
            "wilcoxon_p": paired.p_value}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="paired comparison of two runs.jsonl files")
    parser.add_argument("a")
    parser.add_argument("b")
    parser.add_argument("--metric", help="a key of each run's 'final' metrics, e.g. digits_test")
    parser.add_argument("--after-evaluations", type=int, metavar="N",
                        help="compare the best fitness after N trainings instead (ignores the clock)")
    args = parser.parse_args(argv)
    if args.after_evaluations:
        what = f"best fitness after {args.after_evaluations} evaluations"
        s = compare(best_after(args.a, args.after_evaluations), best_after(args.b, args.after_evaluations))
    elif args.metric:
        what = args.metric
        s = compare(final_values(args.a, args.metric), final_values(args.b, args.metric))
    else:
        parser.error("give --metric or --after-evaluations")
    if not s["runs"]:
        raise SystemExit(f"{args.a} and {args.b} share no run index; nothing to pair")
    print(f"{what} over {s['runs']} paired runs (mean ± sample std): A {s['mean_a']:.2f}±{s['std_a']:.2f}  B {s['mean_b']:.2f}±{s['std_b']:.2f}"
          f"  | B better {s['b_wins']}, A better {s['a_wins']}, ties {s['ties']} | Wilcoxon p={s['wilcoxon_p']:.3g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
