"""CPU seconds per 12000-s run of the issue-28 searchers on the embedded NB201 default (goal: < 1 s).

    python benchmarks/searcher_speed.py                 # ls g_ls bananas bananas_random (+ rea for scale), 10 runs
    python benchmarks/searcher_speed.py --runs 20 --labels bananas npenas

Each searcher of configs/experiments/search_quality.yaml is built as the experiment builds it, warmed
by one run (tables loaded, score memo filled, torch imported), then timed over ``--runs`` runs with
``time.process_time`` (CPU time of this process, one torch thread: it holds on a shared machine,
where wall time would not). Prints s/run, evaluations/run and whether each is under the goal.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nasearch.experiments import load_experiment  # noqa: E402
from nasearch.runner import SearchContext, run_one  # noqa: E402

GOAL_SECONDS = 1.0
NEW = ["ls", "ls_best", "g_ls", "g_ls_never", "bananas", "bananas_random"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--experiment", default=str(ROOT / "configs" / "experiments" / "search_quality.yaml"))
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--labels", nargs="+", default=["rea", *NEW])
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    experiment = load_experiment(args.experiment, runs=args.runs, workers=1)
    failed = []
    print(f"CPU seconds per {experiment.budget_seconds:.0f}-s run, {args.runs} runs each (goal < {GOAL_SECONDS} s):")
    for label in args.labels:
        context = SearchContext.build(experiment.searcher(label))
        context.preload()
        run_one(context, args.runs)  # warm (a run index outside the timed ones)
        started = time.process_time()
        evaluations = sum(run_one(context, index).evaluations for index in range(args.runs))
        seconds = (time.process_time() - started) / args.runs
        verdict = "ok" if seconds < GOAL_SECONDS else "OVER"
        if seconds >= GOAL_SECONDS and label in NEW:
            failed.append(label)
        print(f"  {label:<16} {seconds:7.3f} s/run  {evaluations / args.runs:6.1f} evaluations/run  {verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
