"""Build ``examples/tabular_demo.csv`` from measured results of the digits space.

Why: the tabular space needs a demo table, and its numbers must be real. This script trains
every one of the digits space's 162 CNNs (through ``DigitsSpace``, so its training cache is
filled too), scores each with GradSign on the space's own proxy batch (through nasearch's
``ProxyScorer``, the code path a search uses), and writes one row per architecture:

    arch (op list), accuracy (validation %), cost (training CPU seconds), test_accuracy,
    params, proxy_gradsign, proxy_gradsign_seconds

It also prints the Spearman rank correlation of GradSign (and, as a baseline, of the
parameter count) with validation and test accuracy over the whole space.

    python examples/make_tabular_demo.py            # ~3-5 minutes on one CPU core
"""
from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from examples.digits_space import DigitsSpace  # noqa: E402
from nasearch.proxies.scorer import ProxyScorer  # noqa: E402
from nasearch.proxies.store import ScoreCache  # noqa: E402

COLUMNS = ("arch", "accuracy", "cost", "test_accuracy", "params", "proxy_gradsign", "proxy_gradsign_seconds")


def build_rows(space: DigitsSpace, batch_size: int, seed: int, cache_dir: str | None) -> list[dict]:
    import torch
    from tqdm import tqdm

    torch.set_num_threads(1)
    scorer = ProxyScorer(space, "gradsign", batch_size=batch_size, seed=seed, cache=ScoreCache(cache_dir))
    rows = []
    for arch in tqdm(space.all_archs(), desc="digits archs", unit="arch"):
        result = space._result(arch)
        record = scorer.score(arch)
        params = sum(p.numel() for p in space.build_network(arch, space.num_classes).parameters())
        rows.append({
            "arch": space.arch_id(arch),
            "accuracy": round(result["valid_accuracy"], 4),
            "cost": round(result["train_cpu_seconds"], 4),
            "test_accuracy": round(result["test_accuracy"], 4),
            "params": params,
            "proxy_gradsign": record.score,
            "proxy_gradsign_seconds": round(record.seconds, 4),
        })
    return rows


def correlations(rows: list[dict]) -> dict[str, float]:
    from scipy.stats import spearmanr

    out = {}
    for proxy in ("proxy_gradsign", "params"):
        for target in ("accuracy", "test_accuracy"):
            rho = spearmanr([r[proxy] for r in rows], [r[target] for r in rows]).statistic
            out[f"{proxy} vs {target}"] = float(rho)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "examples" / "tabular_demo.csv"))
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=64, help="GradSign batch size")
    parser.add_argument("--seed", type=int, default=0, help="GradSign batch/init seed")
    parser.add_argument("--cache-dir", help="nasearch cache dir (default $NASEARCH_CACHE_DIR or ~/.cache/nasearch)")
    args = parser.parse_args(argv)
    space = DigitsSpace(epochs=args.epochs, cache_dir=None if args.cache_dir is None else str(Path(args.cache_dir) / "digits_training"))
    rows = build_rows(space, args.batch_size, args.seed, args.cache_dir)
    with open(args.out, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {len(rows)} rows to {args.out} ({space.trainings} trainings run, the rest from the cache)")
    for name, rho in correlations(rows).items():
        print(f"spearman {name}: {rho:+.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
