"""CPU seconds per proxy score on NAS-Bench-101 networks, at batch 64 and 128.

Usage::

    python benchmarks/nb101_proxy_seconds.py --data ../shared/data/cifar10_sample.npz \
        [--proxies params,synflow,snip,grad_norm,gradsign] [--cells 5] [--batch-sizes 64 128] [--seed 0]

Scores ``--cells`` cells drawn by ``NB101Space.sample`` (seeded) with each proxy, live (no cache,
no tables), exactly as ``nasearch correlate`` and the pool hook compute a score: one torch thread,
CPU seconds (``time.process_time``, what the simulated clock charges). Prints per proxy and batch
size the median / min / max seconds over the cells and the cells' sizes (vertices, parameters).
"""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from nasearch.proxies.data import DataSource  # noqa: E402
from nasearch.proxies.scorer import ProxyScorer  # noqa: E402
from nasearch.spaces.nb101.network import trainable_parameters  # noqa: E402
from nasearch.spaces.nb101.space import NB101Space  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="CIFAR-10 npz (train_images, train_labels)")
    parser.add_argument("--proxies", default="params,synflow,snip,grad_norm,gradsign")
    parser.add_argument("--cells", type=int, default=5)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    space = NB101Space()
    rng = np.random.default_rng(args.seed)
    cells = []
    while len(cells) < args.cells:  # cells with at least one op: the input->output projection alone is atypical
        cell = space.sample(rng)
        if cell.num_vertices > 2:
            cells.append(cell)
    sizes = [(c.num_vertices, trainable_parameters(space.build_network(c, 10))) for c in cells]
    print(f"{len(cells)} cells (vertices, parameters): {sizes}")
    data = DataSource.from_config({"npz": args.data})
    print("| proxy | batch | median s | min s | max s |")
    print("|---|---:|---:|---:|---:|")
    for proxy in [p.strip() for p in args.proxies.split(",") if p.strip()]:
        for batch in args.batch_sizes:
            scorer = ProxyScorer(space, proxy, batch_size=batch, seed=args.seed, data=data, cache=None,
                                 use_tables=False)
            seconds = [scorer.compute(cell).seconds for cell in cells]
            print(f"| {proxy} | {batch} | {statistics.median(seconds):.2f} | {min(seconds):.2f} | {max(seconds):.2f} |",
                  flush=True)


if __name__ == "__main__":
    main()
