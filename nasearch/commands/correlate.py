"""Rank correlation of proxies with final accuracy, and the best-of-N selection experiment.

Example: ``nasearch correlate --space nb201 --proxies synflow,naswot --n 300 --data cifar.npz``; a space
that reads a file takes it as ``--space-arg path=FILE`` (``nasearch correlate --space nds --space-arg
path=DARTS.json ...``).
Scores are cached (``--cache-dir``), so an interrupted study resumes where it stopped and a
larger ``--n`` reuses every score of a smaller one (same ``--seed``).

With ``--accuracies FILE`` (NASLib's zero-cost benchmark JSON, or a CSV; see
:mod:`nasearch.accuracy_table`) the cells are the file's: the first ``--n`` in file order
(``--table-sample random``: ``--n`` drawn with ``--seed``), their accuracies the file's, and the
scores are written keyed as in the file, with the rank agreement of ours with the file's own
proxy scores. Example: ``nasearch correlate --space nb101 --accuracies zc_nasbench101.json
--proxies params,synflow --n 100 --data cifar.npz``.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from nasearch.commands import MAX_SEED


#: the count flags' bounds (least, most), checked before any scoring: the most is what no study needs
#: (a bootstrap of 10**9 resamples, or 10**9 sampled archs, would not finish)
COUNT_BOUNDS = {"n": (1, 1_000_000), "batch_size": (1, 4096), "workers": (1, 512), "pool": (1, 1_000_000),
                "repeats": (1, 100_000), "bootstrap": (0, 100_000), "seed": (0, MAX_SEED)}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--space", default="nb201", help="space name (default nb201) or 'pkg.mod:Class'")
    parser.add_argument("--space-arg", action="append", default=[], metavar="KEY=VALUE",
                        help="a space argument (YAML value), e.g. path=~/data/nds/DARTS.json (repeatable)")
    parser.add_argument("--proxies", default="params,flops,synflow,naswot",
                        help="comma-separated proxy names, or 'all' (default: params,flops,synflow,naswot)")
    parser.add_argument("--dataset", default="cifar10", help="images the proxies see (default cifar10)")
    parser.add_argument("--n", type=int, default=300, help="number of sampled architectures (default 300)")
    parser.add_argument("--batch-size", type=int, default=64, help="proxy batch size (default 64)")
    parser.add_argument("--seed", type=int, default=0, help="sample, batch and init seed (default 0)")
    parser.add_argument("--data", help="CIFAR-10 npz (default $NASEARCH_CIFAR10_NPZ)")
    parser.add_argument("--out", default="docs/correlation", help="output directory (default docs/correlation)")
    parser.add_argument("--cache-dir", help="score cache directory (default $NASEARCH_CACHE_DIR or ~/.cache/nasearch)")
    parser.add_argument("--device", default="cpu",
                        help="where live scores run: cpu (default), auto, cuda or cuda:N (a GPU scores in-process)")
    parser.add_argument("--workers", type=int, default=1, help="parallel scoring processes (default 1)")
    parser.add_argument("--pool", type=int, default=None,
                        help="pool size of the selection experiment (default 100, or --n when --n is smaller)")
    parser.add_argument("--repeats", type=int, default=100, help="repeats of the selection experiment (default 100)")
    parser.add_argument("--bootstrap", type=int, default=1000,
                        help="bootstrap resamples for rho's 95%% interval (default 1000; 0 = none)")
    parser.add_argument("--option", action="append", default=[], metavar="PROXY.KEY=VALUE",
                        help="a proxy option, e.g. gradsign.per_sample=loop (repeatable)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--accuracies", metavar="FILE",
                        help="score the cells of this results table (NASLib zero-cost JSON or CSV) against its accuracies")
    parser.add_argument("--table-sample", default="first", choices=("first", "random"),
                        help="with --accuracies: the first --n cells in file order (default) or --n drawn with --seed")
    parser.add_argument("--space-args", metavar="YAML",
                        help="the space's arguments as a YAML mapping, e.g. '{path: nasbench_only108.tfrecord}'")
    from nasearch.commands.experiment import add_backend_flags

    add_backend_flags(parser)


def main(args: argparse.Namespace) -> int:
    from nasearch.commands.experiment import check_flags

    check_flags(args)  # --ray-address without --backend ray, bad --workers / --seed
    from nasearch.results import check_out_dir

    check_out_dir(args.out)  # empty, a file, a link loop: refused before any scoring
    from nasearch.correlation import run_study
    from nasearch.errors import UsageError
    from nasearch.loading import load_space
    from nasearch.proxies.data import DataSource
    from nasearch.proxies.registry import available_proxies, get_proxy

    from nasearch.commands import check_counts

    if args.pool is None:  # the default pool is at most the scored archs (the report states the size used)
        args.pool = min(100, args.n)
    check_counts(args, COUNT_BOUNDS)
    if args.pool > args.n:
        raise UsageError(f"--pool {args.pool} is more than the --n {args.n} scored archs a pool is drawn from; "
                         "give --pool <= --n")
    proxies = available_proxies() if args.proxies == "all" else [p.strip() for p in args.proxies.split(",") if p.strip()]
    if not proxies:
        raise UsageError("--proxies is empty; give e.g. --proxies synflow,naswot")
    for name in proxies:
        get_proxy(name)  # unknown names fail here, before any scoring
    from nasearch.config import yaml_value

    options: dict[str, dict] = {}
    for pair in args.option:
        target, sep, value = pair.partition("=")
        proxy, dot, key = target.rpartition(".")
        if not sep or not dot or proxy not in proxies or not key:
            raise UsageError(f"--option {pair!r} must look like PROXY.KEY=VALUE for a proxy in --proxies,"
                             " e.g. gradsign.per_sample=loop")
        options.setdefault(proxy, {})[key] = yaml_value(value, f"--option {pair!r}")
    for proxy, given in options.items():
        get_proxy(proxy).check_options(given, f"--option {proxy}.")  # names and values, before any scoring
    from nasearch.device import resolve_device

    device = resolve_device(args.device, "--device")  # cuda without CUDA fails here, before any scoring
    spec = {"class": args.space} if ":" in args.space else {"name": args.space}
    space_args: dict = {}
    if args.space_args:
        space_args = yaml_value(args.space_args, f"--space-args {args.space_args!r}")
        if not isinstance(space_args, dict):
            raise UsageError(f"--space-args must be a YAML mapping such as '{{path: file}}', got {args.space_args!r}")
    for pair in args.space_arg:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--space-arg {pair!r} must look like KEY=VALUE, e.g. path=~/data/nds/DARTS.json")
        space_args[key.strip()] = yaml_value(value, f"--space-arg {pair!r}")
    if space_args:
        spec["args"] = space_args
    space = load_space(spec)
    table = None
    if args.accuracies:
        from nasearch.accuracy_table import read_table

        table = read_table(args.accuracies, space, args.dataset)
    data = DataSource.from_config({"npz": args.data} if args.data else None)
    from nasearch.errors import os_errors

    with os_errors(args.out):  # a full disk while writing: one line naming the folder
        result = run_study(space, proxies, Path(args.out), n=args.n, dataset=args.dataset, batch_size=args.batch_size,
                           seed=args.seed, data=data, cache_dir=args.cache_dir, workers=args.workers,
                           pool_size=args.pool, repeats=args.repeats, progress=not args.no_progress,
                           bootstrap=args.bootstrap, options=options, device=device, space_spec=spec,
                           backend=args.backend, ray_address=args.ray_address, table=table,
                           table_sample=args.table_sample)
    print((Path(args.out) / "correlation.md").read_text())
    print((Path(args.out) / "selection.md").read_text())
    if result.agreement:
        print((Path(args.out) / "agreement.md").read_text())
    print(f"outputs: {args.out} ({len(result.arch_ids)} archs)")
    return 0
