"""How fast is a simulated experiment, and what does one simulated evaluation cost?

    python benchmarks/experiment_speed.py                       # full table6 experiment, all cores
    python benchmarks/experiment_speed.py --runs 50 --workers 2 # a shorter one
    python benchmarks/experiment_speed.py --only paper --workers 2  # the paper's eight searchers (goal <= 60 s)
    python benchmarks/experiment_speed.py --micro-only          # only the per-evaluation ratios
    python benchmarks/experiment_speed.py --profile rea         # cProfile of 50 runs of one searcher
    python benchmarks/experiment_speed.py --per-run bohb g_bohb --runs 10  # CPU s/run, ratios to the first
    python benchmarks/experiment_speed.py --per-run paper --runs 20        # the paper's eight, CPU s/run and their 500-run total
    python benchmarks/experiment_speed.py --per-run bohb g_bohb --compare-get-config  # hpbandster's get_config vs ours

Part 1 (micro): the per-evaluation overhead of the runner's loop -- ``space.query`` +
``clock.charge`` + the trajectory bookkeeping, measured by running the real ``run_one`` with
a replay searcher that only hands out pre-drawn architectures -- against a bare dict lookup
of an architecture's accuracy, and its parts, printed as ratios.

Part 2 (macro): wall time of the whole experiment into a fresh directory and runs/s per
searcher. The goal is the full Table-6 experiment in <= 5 minutes on 2 cores.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import sys
import tempfile
import time
import timeit
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nasearch.clock import SimulatedClock  # noqa: E402
from nasearch.config import parse_search_config  # noqa: E402
from nasearch.experiments import load_experiment, run_experiment  # noqa: E402
from nasearch.runner import SearchContext, run_one  # noqa: E402
from nasearch.searchers.base import Searcher, Trial  # noqa: E402

REPLAY_STEPS = 20_000


class ReplaySearcher(Searcher):
    """Proposes pre-drawn architectures: the cheapest searcher there is, so a run measures the runner."""

    name = "replay"
    trials: list = []  # built once, outside the timed runs

    def __init__(self, space, pool=None) -> None:
        super().__init__(space, pool)
        self._trials = iter(self.trials)

    def propose(self, rng):
        return next(self._trials)

    def observe(self, trial, evaluation) -> None:
        pass


def _best_ns(statement: str, namespace: dict, number: int) -> float:
    return min(timeit.repeat(statement, globals=namespace, number=number, repeat=5)) / number * 1e9


def micro() -> dict[str, float]:
    config = parse_search_config({"space": {"name": "nb201", "args": {"backend": "embedded", "dataset": "cifar10"}},
                                  "searcher": {"name": "benchmarks.experiment_speed:ReplaySearcher"}})
    context = SearchContext.build(config)
    space = context.space
    rng = np.random.default_rng(0)
    archs = [space.sample(rng) for _ in range(REPLAY_STEPS)]
    table = {arch: space.final_metrics(arch)["cifar10_valid"] for arch in set(archs)}
    # a budget that ends the replay run exactly after its last architecture
    probe = np.random.default_rng([config.seed, 0])
    budget = 0.0
    for arch in archs:
        budget += space.query(arch, probe).cost_seconds
    context.searcher_cls.trials = [Trial(a) for a in archs + [archs[0]]]  # the last one ends the run
    from dataclasses import replace

    context.config = replace(config, budget_seconds=budget)
    arch = archs[0]
    clock = SimulatedClock(1e300)
    namespace = {"table": table, "arch": arch, "space": space, "rng": rng, "clock": clock, "context": context}
    results = {
        "dict lookup": _best_ns("table[arch]", namespace, 200_000),
        "space.query": _best_ns("space.query(arch, rng)", namespace, 100_000),
        "  of which rng.integers(3)": _best_ns("rng.integers(3)", namespace, 100_000),
        "clock.charge": _best_ns("clock.charge(1.0)", namespace, 200_000),
        "arch id (memoised)": _best_ns("context.arch_id(arch)", namespace, 200_000),
    }
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        record = run_one(context, 0)
        best = min(best, time.perf_counter() - started)
    assert record.evaluations == len(archs), "the replay run must evaluate every architecture"
    results["runner step (query+charge+bookkeeping)"] = best / len(archs) * 1e9
    # the same steps without the runner: what query + charge cost on these 20,000 archs
    def bare() -> None:
        generator, clock = np.random.default_rng([config.seed, 0]), SimulatedClock(budget)
        query, charge = space.query, clock.charge
        for arch in archs:
            charge(query(arch, generator).cost_seconds)

    results["  of which query+charge alone"] = min(timeit.repeat(bare, number=1, repeat=3)) / len(archs) * 1e9
    return results


def print_micro(results: dict[str, float]) -> None:
    base = results["dict lookup"]
    print("per-evaluation cost (best of 5):")
    for name, ns in results.items():
        print(f"  {name:<40} {ns:8.0f} ns  {ns / base:6.1f}x dict lookup")
    step = results["runner step (query+charge+bookkeeping)"]
    print(f"  goal <= 10x: {'met' if step / base <= 10 else 'NOT met'} ({step / base:.1f}x); "
          f"the seed draw alone is {results['  of which rng.integers(3)'] / base:.1f}x")


#: the paper's Table-6 searchers (issue 15's goal: all eight, 500 runs each, <= 60 s on 2 cores)
PAPER_EIGHT = ("rs", "g_rs", "rea", "g_rea", "reinforce", "g_reinforce", "bohb", "g_hb")


def expand_labels(names: list[str]) -> list[str]:
    """Searcher labels of ``--only`` / ``--per-run``, ``paper`` standing for :data:`PAPER_EIGHT`."""
    return [label for name in names for label in (PAPER_EIGHT if name == "paper" else (name,))]


def macro(experiment: str, runs: int | None, workers: int | None, exclude: list[str],
          only: list[str] | None = None) -> None:
    from dataclasses import replace

    with tempfile.TemporaryDirectory() as out:
        config = load_experiment(experiment, runs=runs, workers=workers, out=out)
        kept = tuple(s for s in config.searchers if s.label not in exclude and (not only or s.label in only))
        labels = {s.label for s in kept}
        config = replace(config, searchers=kept,
                         pairs=tuple(p for p in config.pairs if {p.baseline, p.treatment} <= labels))
        print(f"experiment {config.label}: {len(config.searchers)} searchers x {config.runs} runs, "
              f"{config.workers} workers")
        started = time.perf_counter()
        run_experiment(config, show_progress=False)
        wall = time.perf_counter() - started
        timing = json.loads((Path(out) / "timing.json").read_text())
    for label, entry in timing.items():
        print(f"  {label:<16} {entry['wall_seconds']:7.2f} s  {entry['runs_computed'] / entry['wall_seconds']:8.1f} runs/s")
    goal = ("the paper's eight: <= 60 s" if {s.label for s in config.searchers} == set(PAPER_EIGHT)
            else "the full experiment: <= 300 s")
    print(f"total wall time: {wall:.1f} s for {config.runs * len(config.searchers)} runs (goal for {goal} on 2 cores)")


def profile(experiment: str, label: str, runs: int) -> None:
    config = load_experiment(experiment, runs=runs, workers=1).searcher(label)
    context = SearchContext.build(config)
    context.preload()  # as run_many does before its workers start
    run_one(context, 0)  # warm: tables loaded, scores memoised as in a long experiment
    profiler = cProfile.Profile()
    profiler.enable()
    for index in range(runs):
        run_one(context, index)
    profiler.disable()
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(15)
    print(text.getvalue())


def per_run(experiment: str, labels: list[str], runs: int, compare_get_config: bool = False) -> None:
    """CPU seconds per run of each searcher (in-process, after one warm run), and ratios to the first.

    CPU time (``time.process_time``), not wall time: on a shared machine the ratio stays meaningful.
    With ``compare_get_config`` each searcher is also timed with hpbandster's own ``get_config``
    (``searchers.bohb.REPLACE_GET_CONFIG`` off), the two alternating run by run so that a change
    of machine load weighs on both; the records of both must be equal.
    """
    import nasearch.searchers.bohb as bohb_module

    configured = bohb_module.REPLACE_GET_CONFIG
    modes = {"hpbandster": False, "replaced": True} if compare_get_config else {"": configured}
    seconds: dict[str, dict[str, float]] = {mode: {} for mode in modes}
    for label in labels:
        config = load_experiment(experiment, runs=runs, workers=1).searcher(label)
        context = SearchContext.build(config)
        context.preload()
        run_one(context, 0)  # warm: tables loaded, scores memoised as in a long experiment
        spent = dict.fromkeys(modes, 0.0)
        for index in range(runs):
            records = []
            for mode, replace in modes.items():
                bohb_module.REPLACE_GET_CONFIG = replace
                started = time.process_time()
                records.append(run_one(context, index))
                spent[mode] += time.process_time() - started
            assert all(record == records[0] for record in records), f"{label} run {index}: get_config modes differ"
        for mode in modes:
            seconds[mode][label] = spent[mode] / runs
    bohb_module.REPLACE_GET_CONFIG = configured
    first = labels[0]
    full = load_experiment(experiment).runs
    for mode in modes:
        if mode:
            print(f"get_config: {mode}")
        for label in labels:
            value = seconds[mode][label]
            print(f"  {label:<14} {value:7.3f} CPU s/run  ({value / seconds[mode][first]:5.2f}x {first})")
        total = sum(seconds[mode].values())
        print(f"  all {len(labels)}: {total:.3f} CPU s per run each; {full} runs each on 2 cores ≈ {total * full / 2:.0f} s"
              " of computation per core (CPU time, so it holds on a loaded machine; pool start-up not included)")
    if compare_get_config:
        for label in labels:
            print(f"  {label:<14} speed-up {seconds['hpbandster'][label] / seconds['replaced'][label]:5.2f}x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--experiment", default=str(ROOT / "configs" / "experiments" / "table6.yaml"))
    parser.add_argument("--runs", type=int, help="runs per searcher (default: the experiment's)")
    parser.add_argument("--workers", type=int, help="worker processes (default: all cores)")
    parser.add_argument("--micro-only", action="store_true")
    parser.add_argument("--exclude", nargs="*", default=[], metavar="LABEL", help="searchers to leave out")
    parser.add_argument("--only", nargs="+", metavar="LABEL",
                        help="run only these searchers ('paper' = the paper's eight: " + " ".join(PAPER_EIGHT) + ")")
    parser.add_argument("--profile", metavar="LABEL", help="cProfile 50 runs of this searcher of the experiment")
    parser.add_argument("--per-run", nargs="+", metavar="LABEL", help="CPU seconds per run of these searchers, ratios")
    parser.add_argument("--compare-get-config", action="store_true",
                        help="with --per-run: time hpbandster's own get_config and the replacement, run by run")
    args = parser.parse_args()
    if args.per_run:
        per_run(args.experiment, expand_labels(args.per_run), args.runs or 10, args.compare_get_config)
        return 0
    if args.profile:
        profile(args.experiment, args.profile, args.runs or 50)
        return 0
    print_micro(micro())
    if not args.micro_only:
        macro(args.experiment, args.runs, args.workers, args.exclude, expand_labels(args.only or []))
    return 0


if __name__ == "__main__":
    sys.exit(main())
