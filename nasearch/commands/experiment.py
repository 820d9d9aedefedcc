"""Run a vanilla-vs-assisted experiment config: every searcher, N paired runs each, resumable.

Kill it at any moment and rerun the same command: finished runs are kept and never redone.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from nasearch.cli import finite_float
from nasearch.errors import UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="experiment YAML, e.g. configs/experiments/table6.yaml")
    add_experiment_flags(parser)


def add_experiment_flags(parser: argparse.ArgumentParser, include_common: bool = True) -> None:
    """Flags shared by ``nasearch experiment`` and ``nasearch run`` on an experiment config."""
    if include_common:
        parser.add_argument("--runs", type=int, help="runs per searcher (overrides the config)")
        parser.add_argument("--seed", type=int, help="base seed (overrides the config)")
        parser.add_argument("--out", help="experiment output directory (overrides the config)")
        parser.add_argument("--workers", type=int, help="parallel worker processes (default: all cores)")
        parser.add_argument("--budget", type=finite_float, help="simulated seconds per run (overrides budget_seconds)")
    add_backend_flags(parser)
    parser.add_argument("--report", action="store_true", help="write the report when the experiment is done")


def add_backend_flags(parser: argparse.ArgumentParser) -> None:
    """``--backend`` / ``--ray-address``: where parallel work runs (every command that has workers)."""
    from nasearch.executor import BACKENDS

    parser.add_argument("--backend", choices=tuple(BACKENDS), default="local",
                        help="local processes (default) or Ray tasks (pip install 'nasearch[ray]'); "
                             "see nasearch/executor.py")
    parser.add_argument("--ray-address", help="existing Ray cluster to join, e.g. ray://head:10001 or auto")


def check_flags(args: argparse.Namespace) -> None:
    for flag in ("runs", "workers"):
        value = getattr(args, flag, None)
        if value is not None and value < 1:
            raise UsageError(f"--{flag} must be >= 1, got {value}")
    if getattr(args, "seed", None) is not None and args.seed < 0:
        raise UsageError(f"--seed must be >= 0, got {args.seed}")
    if getattr(args, "budget", None) is not None and args.budget <= 0:
        raise UsageError(f"--budget must be > 0 seconds, got {args.budget}")
    if getattr(args, "ray_address", None) and getattr(args, "backend", "local") != "ray":
        raise UsageError("--ray-address needs --backend ray")


def main(args: argparse.Namespace) -> int:
    from nasearch.analysis.summary import format_summary
    from nasearch.api import experiment

    check_flags(args)
    results = experiment(args.config, runs=args.runs, seed=args.seed, out=args.out, workers=args.workers,
                         budget_seconds=args.budget, backend=args.backend, ray_address=args.ray_address, progress=True)
    for label, runs in results.runs.items():
        print(format_summary(label, runs.records))
    print(f"results: {results.out}/<label>/runs.jsonl; report: nasearch report {results.out}")
    if getattr(args, "report", False):
        print(f"report: {results.report().attrs['report']}")
    return 0
