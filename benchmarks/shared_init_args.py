"""A predictor study on 2 workers with its shared state sent once per worker vs with every task.

Usage::

    python benchmarks/shared_init_args.py [--trials 10] [--workers 2]

The study's ``init_args`` (the NB201 space, its zero-cost features and the 200-arch test set,
about 3.6 MB pickled) used to travel with every task batch of the local pool, to be pickled by
the parent's task feeder and unpickled by a worker each time. ``nasearch.executor`` now writes
init_args bigger than ``SHARED_ARGS_BYTES`` to a file once per map call, which each worker reads
once. This runs the same study both ways in one process (the old way by raising the threshold past
the state's size) and prints the wall times, their ratio, and whether the rows are identical.
"""
from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def study(out: Path, trials: int, workers: int) -> tuple[float, list]:
    from nasearch.loading import load_space
    from nasearch.predictor_study import run_study
    from nasearch.predictors.base import ZeroCostSource
    from nasearch.proxies.data import DataSource

    space = load_space({"name": "nb201"})
    features = ZeroCostSource(space, batch_size=64, seed=0, data=DataSource.from_config(None), cache_dir=None)
    start = time.perf_counter()
    run_study(space, ["xgb", "gradsign", "params"], out, features, sizes=[14, 50], trials=trials, test_size=200,
              seed=0, workers=workers, progress=False)
    seconds = time.perf_counter() - start
    with (out / "results.csv").open() as handle:
        rows = sorted(tuple(row[k] for k in ("predictor", "train_size", "trial", "kendall", "spearman"))
                      for row in csv.DictReader(handle))
    return seconds, rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    from nasearch import executor

    with tempfile.TemporaryDirectory() as tmp:
        shared, rows_shared = study(Path(tmp) / "shared", args.trials, args.workers)
        executor.SHARED_ARGS_BYTES = 1 << 40  # the old way: init_args pickled into every task
        per_task, rows_per_task = study(Path(tmp) / "per_task", args.trials, args.workers)
    print(f"predictor study, {args.workers} workers, {args.trials} trials: init_args once per worker {shared:.1f} s, "
          f"with every task {per_task:.1f} s; ratio {per_task / shared:.2f}x; "
          f"rows identical: {rows_shared == rows_per_task}")
    return 0 if rows_shared == rows_per_task else 1


if __name__ == "__main__":
    sys.exit(main())
