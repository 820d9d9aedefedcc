"""Where a (G-)BOHB run spends its time (cProfile, one process, lookup proxy costs).

    python benchmarks/profile_bohb.py [--config configs/g_bohb.yaml] [--runs 2]

Runs one untimed warm-up run, then profiles ``--runs`` runs and prints the share of their time
spent in hpbandster's ``get_config`` (the KDE sampling, one call per candidate drawn), in numpy's
array formatting (hpbandster's debug line formats arrays eagerly), and the top functions by
cumulative time.
"""
from __future__ import annotations

import argparse
import cProfile
import dataclasses
import pstats
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nasearch.clock import ProxyCostPolicy  # noqa: E402
from nasearch.config import load_search_config  # noqa: E402
from nasearch.runner import SearchContext, run_one  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default=str(ROOT / "configs" / "g_bohb.yaml"))
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    config = load_search_config(Path(args.config))
    if config.hook is not None:
        config = dataclasses.replace(config, hook=dataclasses.replace(config.hook, cost=ProxyCostPolicy("lookup")))
    context = SearchContext.build(config)
    context.preload()
    run_one(context, 0)  # warm-up: imports, first KDE
    profiler = cProfile.Profile()
    profiler.enable()
    for index in range(1, args.runs + 1):
        run_one(context, index)
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = max(entry[3] for entry in stats.stats.values())  # the outermost cumulative time
    def share(fragment: str) -> float:
        return max((entry[3] for key, entry in stats.stats.items() if fragment in f"{key[0]}:{key[2]}"), default=0.0)
    get_config = share("config_generators/bohb.py:get_config")
    formatting = share("arrayprint.py:array2string")
    print(f"{args.runs} runs of {config.label}: {total:.2f} s profiled; get_config {get_config / total:.0%},"
          f" numpy array formatting {formatting / total:.0%}")
    stats.sort_stats("cumulative").print_stats(15)


if __name__ == "__main__":
    main()
