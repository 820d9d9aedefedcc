"""How long the official NAS-Bench-101 files take to index, load and query (spaces/nb101/official.py).

No official file is needed: the script writes a synthetic file in the official format (real
TFRecord framing and CRCs, real JSON rows, real serialized ModelMetrics with three evaluations
and a checkpoint path, as the benchmark's records hold), for distinct valid cells keyed by
their module hash, then measures

* the first load: streaming the file, CRC checks, JSON + base64 + protobuf decoding, and
  building and writing the index (records per second);
* a cached load (reading and CRC-checking the memory-mapped index);
* ``query`` and ``final_metrics`` per second on random known hashes;

and extrapolates the first load to the official files' 423,624 cells x 3 repeats (only108:
1,270,872 records; full: x 4 budgets = 5,083,488 records).

    python benchmarks/nb101_load.py --records 50000 [--variant only108|full] [--dir /tmp/nb101_bench]
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from nasearch.spaces.nb101 import cell as nb101_cell
from nasearch.spaces.nb101.metrics import message_classes
from nasearch.spaces.nb101.official import OfficialNB101Backend
from nasearch.spaces.nb101.tfrecord import frame

OFFICIAL_CELLS = 423_624
LEVELS = {"only108": (108,), "full": (4, 12, 36, 108)}


def distinct_cells(count: int, rng: np.random.Generator) -> list[tuple[str, str, str]]:
    """(hash, raw_adjacency, raw_operations) of ``count`` distinct valid pruned cells, as the file spells them."""
    return [(digest, "".join(str(v) for r in rows for v in r), ",".join(names))
            for digest, rows, names in nb101_cell.distinct_random_cells(count, rng)]


def write_file(path: Path, records: int, variant: str, seed: int = 0) -> int:
    model_metrics, _ = message_classes()
    levels = LEVELS[variant]
    rng = np.random.default_rng(seed)
    cells = distinct_cells(max(1, records // (3 * len(levels))), rng)
    written = 0
    with open(path, "wb") as handle:
        for digest, adjacency, operations in cells:
            params = int(rng.integers(200_000, 40_000_000))
            for epochs in levels:
                for _repeat in range(3):
                    metrics = model_metrics(trainable_parameters=params, total_time=float(rng.uniform(100, 4000)))
                    for fraction in (0.0, 0.5, 1.0):
                        metrics.evaluation_data.add(
                            current_epoch=epochs * fraction, training_time=float(rng.uniform(5, 12)) * epochs * fraction,
                            train_accuracy=float(rng.uniform(0.1, 1)), validation_accuracy=float(rng.uniform(0.1, 0.95)),
                            test_accuracy=float(rng.uniform(0.1, 0.95)))
                    row = [digest, epochs, adjacency, operations, base64.b64encode(metrics.SerializeToString()).decode()]
                    handle.write(frame(json.dumps(row).encode()))
                    written += 1
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--variant", choices=sorted(LEVELS), default="only108")
    parser.add_argument("--dir", default=None, help="where to write the file and index (default: a temporary dir)")
    parser.add_argument("--queries", type=int, default=100_000)
    args = parser.parse_args()
    root = Path(args.dir or tempfile.mkdtemp(prefix="nb101_bench_"))
    root.mkdir(parents=True, exist_ok=True)
    source, index = root / f"synthetic_{args.variant}.tfrecord", root / f"synthetic_{args.variant}.nb101index"
    for stale in (source, index):
        if stale.exists():
            stale.unlink()

    started = time.perf_counter()
    records = write_file(source, args.records, args.variant)
    write_seconds = time.perf_counter() - started
    size = source.stat().st_size
    print(f"wrote {records:,} records ({size / 2**20:.1f} MiB, {size / records:.0f} B/record) in {write_seconds:.1f} s")

    started, cpu = time.perf_counter(), time.process_time()
    backend = OfficialNB101Backend(source, index=index)
    first, first_cpu = time.perf_counter() - started, time.process_time() - cpu
    assert backend.built_index
    rate = records / first_cpu  # CPU-bound: the CPU rate is what an unshared core achieves
    print(f"first load (index build): {first:.2f} s wall, {first_cpu:.2f} s CPU = {rate:,.0f} records per CPU second;"
          f" index {index.stat().st_size / 2**20:.1f} MiB")
    per_hash = index.stat().st_size / len(backend)
    for name, levels in LEVELS.items():
        official = OFFICIAL_CELLS * 3 * len(levels)
        size_note = f", index ~{per_hash * OFFICIAL_CELLS / 2**20:.0f} MiB" if name == args.variant else ""
        print(f"  extrapolated to nasbench_{name} ({official:,} records): {official / rate:.0f} CPU s{size_note}")
    started = time.perf_counter()
    again = OfficialNB101Backend(source, index=index)
    cached = time.perf_counter() - started
    assert not again.built_index
    print(f"cached load (map + CRC-check the index): {cached * 1000:.1f} ms")

    hashes = list(again.hashes())
    rng = np.random.default_rng(1)
    picks = [hashes[i] for i in rng.integers(len(hashes), size=args.queries)]
    started = time.process_time()
    for digest in picks:
        again.query(digest, again.max_epochs, rng)
    seconds = time.process_time() - started
    print(f"query: {args.queries / seconds:,.0f} per CPU second ({seconds / args.queries * 1e6:.1f} us each, first"
          " touch of each hash included)")
    started = time.process_time()
    for digest in picks[: args.queries // 10]:
        again.final_metrics(digest)
    seconds = time.process_time() - started
    print(f"final_metrics: {args.queries // 10 / seconds:,.0f} per CPU second")
    import resource

    print(f"peak resident memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    if args.dir is None:
        for path in (source, index, index.with_name(index.name + ".lock")):
            if path.exists():
                os.unlink(path)
        root.rmdir()


if __name__ == "__main__":
    main()
