"""Speed of predictor-assisted search, 12000 simulated seconds on the embedded NB201 default.

* one NPENAS run (xgb refitted every 20 queries) and one BANANAS run (3-MLP ensemble) against
  one plain REA run (predictor-guided searchers);
* one G-REA run with the hook's online predictor (``hook.predictor: xgb+gradsign``, the
  defaults of configs/g_rea_xgb.yaml: warm-up 20, refit every 20 evaluations, gradsign by lookup) against
  one plain G-REA(gradsign) run measured in the same benchmark run: the ratio is reported, and
  the predictor's *measured* fit seconds beside the *declared* ones the run charged (measured
  seconds are process time, machine-dependent, so they are only ever printed here, never
  written into a run record).

Target (issue 14): one predictor-assisted run <= 1 s. Each timed figure is the mean of
``--repeats`` runs (different run indexes) after one untimed run that pays the imports and
loads (a one-off per worker process in an experiment).

    PYTHONPATH=. python benchmarks/predictor_speed.py [--repeats 3] [--skip-guided]
"""
from __future__ import annotations

import argparse
import time

from nasearch.config import parse_search_config
from nasearch.runner import SearchContext, run_one

SPACE = {"name": "nb201", "args": {"backend": "embedded"}}
GRADSIGN_LOOKUP = {"proxy": "gradsign", "cost": "lookup"}


def context(label: str, searcher: str, hook: dict | None = None) -> SearchContext:
    raw = {"label": label, "space": SPACE, "searcher": {"name": searcher}, "budget_seconds": 12000, "runs": 1,
           "seed": 0, "out": "/tmp/predictor_speed"}
    if hook is not None:
        raw["hook"] = hook
    built = SearchContext.build(parse_search_config(raw))
    built.preload()
    return built


def timed(built: SearchContext, repeats: int, warm: bool = True) -> tuple[float, list[dict]]:
    """Mean wall seconds per run over ``repeats`` runs (after one untimed warm-up run with ``warm``)."""
    if warm:
        run_one(built, repeats)  # imports (xgboost, ...), first-touch of tables
    records, start = [], time.perf_counter()
    for index in range(repeats):
        records.append(run_one(built, index))
    return (time.perf_counter() - start) / repeats, records


def verdict(seconds: float) -> str:
    return "met" if seconds <= 1 else "NOT met"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-guided", action="store_true", help="skip the (slow) npenas / bananas runs")
    args = parser.parse_args()

    g_rea = context("g_rea_gradsign", "rea", GRADSIGN_LOOKUP)
    base, records = timed(g_rea, args.repeats)
    print(f"g_rea(gradsign)      {base:7.3f} s/run  ({records[0]['evaluations']} evaluations)")
    online = context("g_rea_xgb", "rea", {**GRADSIGN_LOOKUP, "predictor": "xgb+gradsign"})
    spec = online.predictor
    fits_before, measured_before = spec.fits, spec.measured_fit_seconds
    seconds, records = timed(online, args.repeats)
    fits = (spec.fits - fits_before) / (args.repeats + 1)  # the warm-up run fits too
    measured = (spec.measured_fit_seconds - measured_before) / (args.repeats + 1)
    declared = sum(r["predictor_seconds"] for r in records) / len(records)
    print(f"g_rea + xgb+gradsign {seconds:7.3f} s/run  ({records[0]['evaluations']} evaluations, {fits:.1f} fits/run)"
          f"  {seconds / base:5.2f}x g_rea  target <= 1 s: {verdict(seconds)}")
    print(f"  predictor seconds per run: declared (charged to the simulated clock) {declared:.3f},"
          f" measured fit (process time, not recorded) {measured:.3f}")

    if not args.skip_guided:
        rea, records = timed(context("rea", "rea"), 1, warm=False)  # one run each, as before
        print(f"rea                  {rea:7.3f} s/run  ({records[0]['evaluations']} evaluations)")
        for name in ("npenas", "bananas"):
            seconds, records = timed(context(name, name), 1, warm=False)
            print(f"{name:20s} {seconds:7.3f} s/run  ({records[0]['evaluations']} evaluations)  {seconds / rea:7.1f}x rea"
                  f"  target <= 1 s: {verdict(seconds)}")


if __name__ == "__main__":
    main()
