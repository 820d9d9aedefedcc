"""Recompute packaged GradSign table scores live and count the ones that differ at all.

Usage::

    python benchmarks/check_gradsign_table.py --data PATH.npz [--archs 100] [--batch-size 128] [--mode fast]

GradSign scores are integer sign counts, so a change of float rounding anywhere in the pass (a
different kernel, summation order or chunking of the per-sample weight gradients) can flip the
sign of a near-zero per-sample gradient and move the integer. The packaged-tables unit test only
recomputes three archs with a 1e-3 tolerance; this checks ``--archs`` random archs (seeded) of the
packaged table for *exact* equality, computed the way the table was (``ProxyScorer.compute``: the
seeded init, the table's batch, one torch thread), and exits 1 on any mismatch.

The table's scores are themselves only reproducible on a CPU whose kernels round the same way
(oneDNN picks its convolution kernels by instruction set: ``ONEDNN_MAX_CPU_ISA=AVX2`` alone moves
the scores). So ``--save FILE`` also writes the live scores (JSON, arch string -> score) and
``--reference FILE`` compares against such a file instead: a code change is exact when it gives
every score a run of the previous code saved on the same machine.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from nasearch.proxies.data import DataSource  # noqa: E402
from nasearch.proxies.scorer import ProxyScorer  # noqa: E402
from nasearch.proxies.store import ScoreKey, read_table  # noqa: E402
from nasearch.spaces.nb201.genotype import NUM_ARCHS, from_index, to_arch_str  # noqa: E402
from nasearch.spaces.nb201.space import NB201Space  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, help="the npz the table was computed on (cifar10_sample.npz)")
    parser.add_argument("--archs", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--mode", default="fast", choices=["fast", "vmap", "loop"])
    parser.add_argument("--seed", type=int, default=0, help="seed of the arch sample")
    parser.add_argument("--save", help="write the live scores here (JSON)")
    parser.add_argument("--reference", help="compare with the scores of this --save file, not the table")
    args = parser.parse_args(argv)
    found = read_table(ScoreKey("nb201@1", "gradsign", "cifar10", args.batch_size, 0))
    if found is None:
        raise SystemExit(f"no packaged GradSign table for batch {args.batch_size}")
    records, _ = found
    stored_scores = {name: record.score for name, record in records.items()}
    against = "table"
    if args.reference:
        stored_scores, against = json.loads(Path(args.reference).read_text()), args.reference
    scorer = ProxyScorer(NB201Space(), "gradsign", batch_size=args.batch_size, seed=0, data=DataSource(npz=args.data),
                         options={"per_sample": args.mode}, use_tables=False)
    indices = np.random.default_rng(args.seed).choice(NUM_ARCHS, size=args.archs, replace=False)
    mismatches = []
    live_scores = {}
    started = time.process_time()
    for count, index in enumerate(indices, 1):
        arch = from_index(int(index))
        name = to_arch_str(arch)
        live, stored = scorer.compute(arch).score, stored_scores[name]
        live_scores[name] = live
        if live != stored:
            mismatches.append((name, stored, live))
            print(f"  MISMATCH {name}: {against} {stored:.0f}, live {live:.0f} ({live - stored:+.0f})", flush=True)
        if count % 10 == 0:
            print(f"  {count}/{args.archs} checked, {len(mismatches)} mismatches", flush=True)
    if args.save:
        Path(args.save).write_text(json.dumps(live_scores, indent=0))
    print(f"gradsign b{args.batch_size} ({args.mode}) vs {against}: {args.archs} archs, {len(mismatches)} mismatches"
          f" ({time.process_time() - started:.0f} CPU s)")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
