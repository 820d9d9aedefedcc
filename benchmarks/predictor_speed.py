"""Speed of predictor-guided search: one NPENAS run (xgb refitted every 20 queries) and one
BANANAS run (3-MLP ensemble) against one plain REA run, 12000 simulated seconds on the
embedded NB201 default. Target (issue 14): one predictor-assisted run <= 1 s. Prints measured.

    PYTHONPATH=. python benchmarks/predictor_speed.py
"""
from __future__ import annotations

import time

from nasearch.config import parse_search_config
from nasearch.runner import SearchContext, run_one


def one(searcher: str) -> tuple[float, int]:
    config = parse_search_config({"label": searcher, "space": {"name": "nb201", "args": {"backend": "embedded"}},
                           "searcher": {"name": searcher}, "budget_seconds": 12000, "runs": 1, "seed": 0,
                           "out": "/tmp/predictor_speed"})
    context = SearchContext.build(config)
    start = time.perf_counter()
    record = run_one(context, 0)
    return time.perf_counter() - start, record["evaluations"]


if __name__ == "__main__":
    base, n = one("rea")
    print(f"rea      {base:7.3f} s  ({n} evaluations)")
    for name in ("npenas", "bananas"):
        seconds, n = one(name)
        print(f"{name:8s} {seconds:7.3f} s  ({n} evaluations)  {seconds / base:7.1f}x rea  target <= 1 s: "
              f"{'met' if seconds <= 1 else 'NOT met'}")
