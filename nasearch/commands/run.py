"""Run a search config: N seeded runs of one searcher, results as JSON Lines."""
from __future__ import annotations

import argparse

from nasearch.cli import finite_float
from nasearch.results import RESULTS
from nasearch.analysis.summary import format_summary


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="YAML config, e.g. configs/g_rea.yaml")
    parser.add_argument("--runs", type=int, help="number of seeded runs (overrides the config)")
    parser.add_argument("--seed", type=int, help="base seed (overrides the config)")
    parser.add_argument("--out", help="output directory (overrides the config)")
    parser.add_argument("--workers", type=int, help="parallel worker processes (default: the config's, else 1)")
    parser.add_argument("--budget", type=finite_float, help="simulated seconds per run (overrides budget_seconds)")
    from nasearch.commands.experiment import add_experiment_flags

    add_experiment_flags(parser, include_common=False)  # used when CONFIG is an experiment config


def main(args: argparse.Namespace) -> int:
    from nasearch.errors import UsageError

    for flag in ("runs", "workers"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            raise UsageError(f"--{flag} must be >= 1, got {value}")
    if args.seed is not None and args.seed < 0:
        raise UsageError(f"--seed must be >= 0, got {args.seed}")
    if args.budget is not None and args.budget <= 0:
        raise UsageError(f"--budget must be > 0 seconds, got {args.budget}")
    from nasearch.config import read_yaml
    from nasearch.experiments import is_experiment_config

    if is_experiment_config(read_yaml(args.config)):  # a top-level `searchers:` list
        from nasearch.commands import experiment

        return experiment.main(args)
    if args.backend != "local" or args.ray_address or args.report:
        raise UsageError("--backend/--ray-address/--report apply to experiment configs; use them with one")
    from nasearch.api import search

    runs = search(args.config, runs=args.runs, seed=args.seed, out=args.out, workers=args.workers,
                  budget_seconds=args.budget, progress=True)
    print(format_summary(runs.label, runs.records))
    print(f"results: {runs.out / RESULTS}")
    return 0
