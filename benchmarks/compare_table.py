"""Compare the scores a (GPU) precompute left in a score cache with a packaged table of the same key.

Usage::

    python benchmarks/compare_table.py --cache-dir DIR [--proxy gradsign --batch-size 128 --seed 0]

Prints how many architectures the cache holds, the Spearman rho and the max / median relative
difference of their scores against the packaged (CPU) table, and the mean seconds per arch of
each side with the clock each side measured (from the scores' hardware field).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from scipy import stats  # noqa: E402

from nasearch.proxies.store import ScoreCache, ScoreKey, read_table  # noqa: E402


def compare(cache_dir: str, key: ScoreKey) -> dict:
    found = read_table(key)
    if found is None:
        raise SystemExit(f"compare_table: no packaged table for {key.table_stem()}")
    table = found[0]
    computed = dict(ScoreCache(cache_dir).items(key))
    common = sorted(set(computed) & set(table))
    if not common:
        raise SystemExit(f"compare_table: the cache {cache_dir} holds no {key.table_stem()} score of the table")
    mine = np.array([computed[a].score for a in common])
    packaged = np.array([table[a].score for a in common])
    relative = np.abs(mine - packaged) / np.maximum(np.abs(packaged), 1.0)
    return {
        "archs": len(common),
        "rho": float(stats.spearmanr(mine, packaged).statistic),
        "max_rel": float(relative.max()),
        "median_rel": float(np.median(relative)),
        "equal": int((mine == packaged).sum()),
        "seconds": float(np.mean([computed[a].seconds for a in common])),
        "table_seconds": float(np.mean([table[a].seconds for a in common])),
        "hardware": sorted({computed[a].hardware for a in common}),
        "table_hardware": sorted({table[a].hardware for a in common}),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache-dir", required=True)
    parser.add_argument("--proxy", default="gradsign")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    key = ScoreKey("nb201@1", args.proxy, "cifar10", args.batch_size, args.seed)
    r = compare(args.cache_dir, key)
    print(f"{key.table_stem()}: {r['archs']} archs computed here vs the packaged table")
    print(f"  Spearman rho {r['rho']:.6f}; relative difference max {r['max_rel']:.3e}, median {r['median_rel']:.3e}"
          f" (absolute below 1); {r['equal']} scores bit-equal")
    print(f"  seconds/arch here {r['seconds']:.4f} ({'; '.join(r['hardware'])})")
    print(f"  seconds/arch in the table {r['table_seconds']:.4f} ({'; '.join(r['table_hardware'])})")
    print(f"  ratio table/here {r['table_seconds'] / r['seconds']:.1f}x; whole space (15,625 archs) here at this rate:"
          f" {15625 * r['seconds'] / 60:.1f} min")


if __name__ == "__main__":
    main()
