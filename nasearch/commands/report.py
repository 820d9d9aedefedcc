"""Write the report of an experiment: Table-6 style table, paired statistics, anytime curves."""
from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", help="an experiment's output directory, e.g. results/table6")
    parser.add_argument("--out", help="where to write report.md, CSVs and PNGs (default: RESULTS)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the bootstrap resampling (default 0)")


def main(args: argparse.Namespace) -> int:
    from nasearch.errors import UsageError
    from nasearch.analysis.report import write_report

    if args.seed < 0:
        raise UsageError(f"--seed must be >= 0, got {args.seed}")
    from nasearch.results import check_out_dir

    check_out_dir(args.results, "RESULTS")
    if args.out:
        check_out_dir(args.out)
    print(f"report: {write_report(args.results, args.out, seed=args.seed)}")
    return 0
