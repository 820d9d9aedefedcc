"""Write the report of an experiment: Table-6 style table, paired statistics, anytime curves."""
from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", help="an experiment's output directory, e.g. results/table6")
    parser.add_argument("--out", help="where to write report.md, CSVs and PNGs (default: RESULTS)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the bootstrap resampling (default 0)")


def main(args: argparse.Namespace) -> int:
    from nasearch.api import write_report_file
    from nasearch.errors import UsageError

    if args.seed < 0:
        raise UsageError(f"--seed must be >= 0, got {args.seed}")
    print(f"report: {write_report_file(args.results, args.out, seed=args.seed)}")
    return 0
