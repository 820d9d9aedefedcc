"""Seconds per proxy score on DARTS-family networks (NB301's and NDS-sized ones), on the CPU.

Usage::

    python benchmarks/darts_proxy_speed.py --data PATH/cifar10_sample.npz [--archs 3] [--batch-size 64]
        [--proxies gradsign synflow grad_norm naswot] [--configs 32x8 16x8 24x14 32x20] [--out FILE.json]

Each ``CxL`` config is a network width C and depth L (cells): NB301 trains C = 32, 8 cells; NDS's
CIFAR sweeps range over C = 16..32 and up to 20 cells. For each config, ``--archs`` random DARTS /
NB301 genotypes (seeded) are scored by each proxy exactly as a search scores them
(``ProxyScorer.compute``: the seeded init, one torch thread, CPU seconds of the whole score
including building the network). Printed: the parameter count range, the median seconds per score
of each proxy, and what scoring 5,000 networks (one NDS space) would take at that median, in CPU
hours. Results (every measurement) go to ``--out`` as JSON, written after each config.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from nasearch.proxies.data import DataSource  # noqa: E402
from nasearch.proxies.scorer import ProxyScorer  # noqa: E402
from nasearch.spaces.darts.network import count_parameters  # noqa: E402
from nasearch.spaces.darts.space import DartsSpace  # noqa: E402

NDS_SPACE_SIZE = 5000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, help="npz of CIFAR-10 images (cifar10_sample.npz)")
    parser.add_argument("--archs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--proxies", nargs="+", default=["gradsign", "synflow", "grad_norm", "naswot"])
    parser.add_argument("--configs", nargs="+", default=["32x8", "16x8", "24x14", "32x20"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="write every measurement here (JSON)")
    args = parser.parse_args(argv)
    results: dict = {"batch_size": args.batch_size, "archs": args.archs, "configs": {}}
    for config in args.configs:
        width, depth = (int(v) for v in config.split("x"))
        space = DartsSpace(width=width, depth=depth)
        rng = np.random.default_rng(args.seed)
        archs = [space.sample(rng) for _ in range(args.archs)]
        params = [count_parameters(space.build_network(a, 10)) for a in archs]
        row: dict = {"params": params, "seconds": {}}
        print(f"C={width} L={depth}: {min(params) / 1e6:.2f}-{max(params) / 1e6:.2f} M params", flush=True)
        for proxy in args.proxies:
            scorer = ProxyScorer(space, proxy, batch_size=args.batch_size, seed=0, data=DataSource(npz=args.data),
                                 use_tables=False)
            seconds = []
            for arch in archs:
                start = time.perf_counter()
                record = scorer.compute(arch)
                seconds.append(record.seconds)
                wall = time.perf_counter() - start
                print(f"  {proxy:10s} {space.arch_id(arch)}  {record.seconds:7.2f} CPU s ({wall:.2f} wall)", flush=True)
            median = statistics.median(seconds)
            row["seconds"][proxy] = seconds
            print(f"  {proxy:10s} median {median:.2f} s/score -> {NDS_SPACE_SIZE} nets: {median * NDS_SPACE_SIZE / 3600:.1f} CPU h",
                  flush=True)
        results["configs"][config] = row
        if args.out:
            Path(args.out).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
