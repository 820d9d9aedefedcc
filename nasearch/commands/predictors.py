"""White et al. (2021)'s performance-predictor study.

Example: ``nasearch predictors --space nb201 --predictors xgb,lgb,rf,params,gradsign --train-sizes 14,121,1000``.
Rows are appended to OUT/results.csv as they finish, so rerunning the same command resumes.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from nasearch.commands import MAX_SEED


#: the count flags' bounds (least, most), checked before any work (10**9 trials would never finish)
COUNT_BOUNDS = {"trials": (1, 1000), "test_size": (2, 100_000), "workers": (1, 512), "batch_size": (1, 4096),
                "seed": (0, MAX_SEED)}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--space", default="nb201", help="space name (default nb201) or 'pkg.mod:Class'")
    parser.add_argument("--backend", help="NB201 backend (embedded, nb201, nats)")
    parser.add_argument("--path", help="official benchmark file for --backend nb201/nats")
    parser.add_argument("--predictors", default="xgb,lgb,rf,gp,ngb,bananas,params,gradsign",
                        help="comma-separated predictor names")
    parser.add_argument("--train-sizes", default="5,8,14,24,42,71,121,205,347,589,1000")
    parser.add_argument("--trials", type=int, default=20, help="seeded trials per train size (default 20)")
    parser.add_argument("--test-size", type=int, default=200, help="fixed test set size (default 200)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=128, help="zero-cost proxy batch size (default 128)")
    parser.add_argument("--data", help="CIFAR-10 npz for live zero-cost scores (default $NASEARCH_CIFAR10_NPZ)")
    parser.add_argument("--cache-dir", help="score cache directory")
    parser.add_argument("--out", default="docs/predictors", help="output directory (default docs/predictors)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--no-progress", action="store_true")

def main(args: argparse.Namespace) -> int:
    from nasearch.errors import UsageError
    from nasearch.loading import load_space
    from nasearch.predictor_study import run_study
    from nasearch.predictors import make_predictor
    from nasearch.predictors.base import ZeroCostSource
    from nasearch.proxies.data import DataSource

    from nasearch.results import check_out_dir

    check_out_dir(args.out)  # empty, a file, a link loop: refused before any work
    from nasearch.commands import check_counts
    from nasearch.predictor_study import check_sizes, parse_sizes

    check_counts(args, COUNT_BOUNDS)
    sizes = parse_sizes(args.train_sizes)
    names = [n.strip() for n in args.predictors.split(",") if n.strip()]
    if not names:
        raise UsageError("--predictors is empty; give e.g. --predictors xgb,gradsign")
    spec = {"class": args.space} if ":" in args.space else {"name": args.space}
    options = {k: v for k, v in (("backend", args.backend), ("path", args.path)) if v}
    if options:
        spec["args"] = options
    space = load_space(spec)
    data = DataSource.from_config({"npz": args.data} if args.data else None)
    features = ZeroCostSource(space, batch_size=args.batch_size, seed=args.seed, data=data, cache_dir=args.cache_dir)
    # every bad name / missing library / missing capability fails here, before any work
    trainable = [make_predictor(name, space, features=features, seed=args.seed).trainable for name in names]
    check_sizes(space, sizes, args.test_size, any(trainable))  # what the space cannot supply
    from nasearch.errors import os_errors

    with os_errors(args.out):  # a full disk while writing: one line naming the folder
        run_study(space, names, Path(args.out), features, sizes=sizes, trials=args.trials,
                  test_size=args.test_size, seed=args.seed, workers=args.workers,
                  progress=not args.no_progress)
    print((Path(args.out) / "predictors.md").read_text())
    print(f"outputs: {args.out}/results.csv, predictors.md, predictors.png")
    return 0
