"""Compute a proxy for every architecture of a space, resumably, and export a packaged table.

Killed at any moment and rerun with the same arguments, it keeps every finished score and
computes only the missing ones. ``--limit N`` restricts it to the first N architectures of
a fixed pseudo-random order (``--limit 0 --export`` only exports what exists). Seconds
stored per score are CPU seconds, so a niced job on a busy machine still records the
proxy's own cost.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from nasearch.config import yaml_value
from nasearch.errors import UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--space", default="nb201",
        help="built-in space name (default nb201) or a class, 'pkg.module:Class' or 'file.py:Class'",
    )
    parser.add_argument("--proxy", default="gradsign", help="proxy name (default gradsign)")
    parser.add_argument("--dataset", default="cifar10", help="dataset of the proxy's images (default cifar10)")
    parser.add_argument("--batch-size", type=int, default=128, help="proxy batch size (default 128)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the batch and of every network's init (default 0)")
    parser.add_argument("--data", help="npz of uint8 train_images/train_labels (default $NASEARCH_CIFAR10_NPZ)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes, one torch thread each (default 2)")
    parser.add_argument(
        "--device", default="cpu",
        help="cpu (default), cuda (one worker per visible GPU; --workers is ignored), cuda:N (that GPU), "
             "or auto (every GPU when CUDA is available, else the CPU)",
    )
    parser.add_argument("--limit", type=int, help="only the first N architectures of the fixed order")
    parser.add_argument("--export", action="store_true", help="write the packaged table when done")
    parser.add_argument("--cache-dir", help="score cache directory (default $NASEARCH_CACHE_DIR or ~/.cache/nasearch)")
    parser.add_argument("--tables-dir", help="where packaged tables are read and written (default: the package's)")
    parser.add_argument(
        "--option", action="append", default=[], metavar="KEY=VALUE",
        help="proxy option, e.g. per_sample=loop (repeatable)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    from nasearch.commands.experiment import add_backend_flags

    add_backend_flags(parser)


def _parse_options(pairs: list[str]) -> tuple[tuple[str, object], ...]:
    options = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise UsageError(f"--option {pair!r} must look like KEY=VALUE, e.g. per_sample=loop")
        options[name] = yaml_value(value, f"--option {pair!r}")
    return tuple(sorted(options.items()))


def main(args: argparse.Namespace) -> int:
    from nasearch.commands.experiment import check_flags

    check_flags(args)  # --ray-address without --backend ray, bad --workers / --seed
    from nasearch.precompute import PrecomputeJob, export_table, precompute
    from nasearch.proxies.data import NPZ_ENV, DataSource
    from nasearch.proxies.store import TABLES_DIR

    if args.batch_size < 1:
        raise UsageError(f"--batch-size must be >= 1, got {args.batch_size}")
    if args.seed < 0:
        raise UsageError(f"--seed must be >= 0, got {args.seed}")
    npz = args.data or os.environ.get(NPZ_ENV)
    if npz and not Path(npz).is_file():
        raise UsageError(f"--data {npz} does not exist; give the path of an npz with train_images/train_labels")
    devices = _devices(args.device)
    options = _parse_options(args.option)
    from nasearch.proxies.registry import get_proxy

    get_proxy(args.proxy).check_options(dict(options), "--option ")  # names and values, before anything runs
    job = PrecomputeJob(
        space={"class": args.space} if ":" in args.space else {"name": args.space},
        proxy=args.proxy,
        dataset=args.dataset,
        batch_size=args.batch_size,
        seed=args.seed,
        data=DataSource(npz=str(Path(npz).resolve()) if npz else None),
        cache_dir=args.cache_dir,
        options=options,
    )
    from nasearch.results import check_out_dir

    tables_dir = check_out_dir(args.tables_dir, "--tables-dir") if args.tables_dir is not None else TABLES_DIR
    result = precompute(job, workers=args.workers, limit=args.limit, progress=not args.quiet, tables_dir=tables_dir,
                        devices=devices, backend=args.backend, ray_address=args.ray_address)
    if result.total:  # --limit 0 only exports
        line = f"{result.key.table_stem()}: {result.done}/{result.total} archs done, {result.computed} computed now"
        if result.computed:
            clock = f"GPU s/arch on {len(devices)} GPU(s)" if devices else "CPU s/arch"
            line += f" ({result.cpu_seconds / result.computed:.2f} {clock})"
        print(line)
    if args.export:
        path, rows = export_table(job, tables_dir)
        print(f"exported {rows} scores to {path}")
    return 0


def _devices(text: str) -> list[str] | None:
    """``None`` for the CPU, else the GPUs to put one worker on each of."""
    from nasearch.device import resolve_device, visible_cuda_devices

    name = str(text).strip().lower()
    if name in ("cuda", "auto"):
        resolved = resolve_device(name, "--device")  # fails in one line without CUDA (cuda) / notice (auto)
        return visible_cuda_devices() if resolved != "cpu" else None
    resolved = resolve_device(name, "--device")
    return None if resolved == "cpu" else [resolved]
