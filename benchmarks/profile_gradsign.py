"""Where GradSign ``fast`` spends its time against one plain training step (torch.profiler, 1 thread).

    python benchmarks/profile_gradsign.py [--batch-size 128] [--ops 3 2 4 1 2 0] [--data PATH.npz]

Prints each one's CPU seconds and the profiler's op table (self CPU time) for the same network
and batch, so the ops that make ``fast`` cost more than one step can be read side by side.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from torch.profiler import ProfilerActivity, profile  # noqa: E402

from nasearch.proxies.gradsign_fast import gradsign_fast  # noqa: E402
from nasearch.spaces.nb201.network import NB201Network  # noqa: E402

sys.path.insert(0, str(ROOT / "benchmarks"))
from proxy_speed import load_inputs, training_step  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--ops", type=int, nargs=6, default=[3, 2, 4, 1, 2, 0])
    parser.add_argument("--data")
    parser.add_argument("--rows", type=int, default=14)
    args = parser.parse_args()
    torch.set_num_threads(1)
    x, y, source = load_inputs(args.batch_size, args.data)
    torch.manual_seed(0)
    network = NB201Network(tuple(args.ops), 10)
    runs = {"training step": lambda: training_step(network, x, y), "fast": lambda: gradsign_fast(network, x, y)}
    for fn in runs.values():
        fn()  # warm
    print(f"batch {args.batch_size} ({source}), ops {args.ops}, 1 thread")
    seconds = {}
    for name, fn in runs.items():
        started = time.process_time()
        fn()
        seconds[name] = time.process_time() - started
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            fn()
        print(f"\n{name}: {seconds[name]:.3f} CPU s")
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.rows))
    print(f"fast / training step: {seconds['fast'] / seconds['training step']:.2f}")


if __name__ == "__main__":
    main()
