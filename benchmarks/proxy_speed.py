"""Per-sample proxy speed: the batch-1 loop vs the fast batched path (vs torch.func vmap) on NB201 nets.

Usage::

    python benchmarks/proxy_speed.py [--proxy gradsign|gradalign] [--archs 20] [--batch-sizes 64 128]
                                     [--threads 1] [--device cpu|auto|cuda[:N]]
                                     [--modes loop fast vmap] [--data PATH.npz]

For each of ``--archs`` random NB201 architectures (seeded), every mode scores the same
network (same weights) on the same batch. Printed per batch size: median seconds per arch
of each mode, the speed-up over the loop (ratio of medians and median of per-arch ratios),
and the agreement of each mode with the loop (max relative difference, Spearman). As a
yardstick it also times one plain batched training step (forward + backward of the batch-mean
loss with weight gradients): an exact per-sample method needs at least that much work, so
``loop / step`` bounds the speed-up any exact method can reach on this machine.

Seconds are CPU seconds (``time.process_time``) by default because shared machines make
wall time measure the neighbours; ``--clock wall`` times wall seconds instead. With one
torch thread the two coincide on an idle machine. With ``--device cuda`` every network is
initialised on the CPU, moved to the GPU with the batch, and timed in GPU seconds (wall time
between two ``torch.cuda.synchronize`` calls), the clock ``nasearch precompute`` records there.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from scipy import stats  # noqa: E402

from nasearch.proxies.registry import get_proxy  # noqa: E402
from nasearch.spaces.nb201.genotype import to_arch_str  # noqa: E402
from nasearch.spaces.nb201.network import NB201Network  # noqa: E402

DEFAULT_NPZ = ROOT.parent / "shared" / "data" / "cifar10_sample.npz"


def load_inputs(batch_size: int, npz: str | None, seed: int = 0):
    """Real CIFAR-10 images when available (agreement depends on data), else N(0,1) noise."""
    from nasearch.proxies.data import DataSource, load_batch

    path = npz or (str(DEFAULT_NPZ) if DEFAULT_NPZ.is_file() else None)
    if path:
        return load_batch(DataSource(npz=path), batch_size, seed) + ("npz:" + Path(path).name,)
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(batch_size, 3, 32, 32, generator=generator)
    return x, torch.randint(0, 10, (batch_size,), generator=generator), "gaussian noise"


def timed(fn, clock: str, device: str = "cpu") -> tuple[float, float]:
    if device != "cpu":
        from nasearch.device import Stopwatch

        watch = Stopwatch(device)
        watch.start()
        value = fn()
        return value, watch.stop()
    tick = time.process_time if clock == "cpu" else time.perf_counter
    started = tick()
    value = fn()
    return value, tick() - started


def training_step(network: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> None:
    network.train()
    torch.nn.functional.cross_entropy(network(x), y).backward()
    network.zero_grad(set_to_none=True)


def run(args: argparse.Namespace) -> None:
    from nasearch.device import deterministic, resolve_device

    device = resolve_device(args.device, "--device")
    torch.set_num_threads(args.threads)
    proxy = get_proxy(args.proxy).fn
    rng = np.random.default_rng(args.seed)
    archs = [tuple(int(o) for o in rng.integers(5, size=6)) for _ in range(args.archs)]
    if device == "cpu":
        where = f"{args.threads} thread(s), {args.clock} seconds"
    else:
        where = f"{torch.cuda.get_device_name(torch.device(device))} ({device}), GPU seconds (synchronized wall time)"
    print(f"{args.proxy}: torch {torch.__version__}, {where}, {len(archs)} archs (seed {args.seed})")
    with deterministic(device):
        run_batches(args, proxy, archs, device)


def run_batches(args: argparse.Namespace, proxy, archs: list, device: str) -> None:
    warm_x = torch.randn(2, 3, 32, 32).to(device)
    for mode in args.modes:  # one-time costs (allocator, kernels) are not charged to the first arch
        proxy(NB201Network((1,) * 6, 10).to(device), warm_x, torch.tensor([0, 1]).to(device), per_sample=mode)
    for batch_size in args.batch_sizes:
        x, y, source = load_inputs(batch_size, args.data)
        x, y = x.to(device), y.to(device)
        seconds = {mode: [] for mode in args.modes}
        steps = []
        scores = {mode: [] for mode in args.modes}
        for index, ops in enumerate(archs):
            torch.manual_seed(0)
            network = NB201Network(ops, 10).to(device)  # initialised on the CPU, then moved
            steps.append(timed(lambda: training_step(network, x, y), args.clock, device)[1])
            row = []
            for mode in args.modes:
                value, spent = timed(lambda: proxy(network, x, y, per_sample=mode), args.clock, device)
                seconds[mode].append(spent)
                scores[mode].append(value)
                row.append(f"{mode} {spent:6.2f}s")
            if args.verbose:
                print(f"  b{batch_size} [{index + 1}/{len(archs)}] {to_arch_str(ops)}: {', '.join(row)}", flush=True)
        print(f"\nbatch {batch_size} ({source}):")
        loop = np.array(seconds.get("loop") or seconds[args.modes[0]])
        reference = np.array(scores.get("loop") or scores[args.modes[0]])
        step = statistics.median(steps)
        print(f"  plain training step median {step:7.3f} s/arch (the yardstick)")
        for mode in args.modes:
            spent = np.array(seconds[mode])
            line = f"  {mode:5s} median {statistics.median(spent):7.3f} s/arch (min {spent.min():.3f}, max {spent.max():.3f})"
            if "loop" in args.modes and mode != "loop":
                line += (
                    f" | speed-up over loop: {statistics.median(loop) / statistics.median(spent):5.2f}x (ratio of medians),"
                    f" {statistics.median(loop / spent):5.2f}x (median per arch)"
                )
            line += f" | {statistics.median(spent) / step:4.2f} training steps"
            print(line)
        for mode in args.modes:
            if mode == ("loop" if "loop" in args.modes else args.modes[0]):
                continue
            value = np.array(scores[mode])
            relative = np.abs(value - reference) / np.maximum(np.abs(reference), 1.0)
            rho = stats.spearmanr(reference, value).statistic
            print(f"  {mode} vs {'loop' if 'loop' in args.modes else args.modes[0]}: max rel. diff {relative.max():.2e},"
                  f" median {np.median(relative):.2e} (relative, absolute below 1), Spearman {rho:.6f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--proxy", choices=["gradsign", "gradalign"], default="gradsign")
    parser.add_argument("--archs", type=int, default=20, help="random NB201 archs per batch size (default 20)")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--modes", nargs="+", default=["loop", "fast", "vmap"], choices=["loop", "fast", "vmap"])
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--clock", choices=["cpu", "wall"], default="cpu", help="CPU clock (on a GPU: GPU seconds)")
    parser.add_argument("--device", default="cpu", help="cpu (default), auto, cuda or cuda:N")
    parser.add_argument("--data", help="npz of CIFAR-10 images (default ../shared/data/cifar10_sample.npz if present)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the arch sample")
    parser.add_argument("--verbose", action="store_true", help="print every arch's timings")
    args = parser.parse_args(argv)
    if args.archs < 1 or args.threads < 1:
        parser.error("--archs and --threads must be >= 1")
    if args.proxy == "gradalign" and "vmap" in args.modes:
        parser.error("gradalign has modes loop and fast; pass --modes loop fast")
    from nasearch.errors import UsageError

    try:
        run(args)
    except UsageError as exc:
        parser.exit(2, f"proxy_speed: error: {exc}\n")


if __name__ == "__main__":
    main()
