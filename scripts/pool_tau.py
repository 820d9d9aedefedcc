"""Why pool selection by a predictor gains little on NB201: rank quality *inside* a pool.

A G-searcher never ranks the whole space; it ranks the k = 10 candidates of one pool. For
G-REA those are single-edge mutations of one parent from a population that is already good.
This script measures, on the embedded NB201 CIFAR-10 data, Kendall tau between each
predictor's scores and the candidates' `cifar10_valid` *within* such pools, and how much of
the pool's best accuracy the pick recovers:

    python scripts/pool_tau.py --pools 500 --k 10

Pools: a parent drawn from the top `--top` fraction of the space by accuracy (the regime of a
running REA) and k mutations of it; also k uniform samples (G-RS's pools). Predictors: the
packaged gradsign (batch 128) and params tables, and xgb+gradsign fitted on `--train`
random architectures (a fresh fit per block of 50 pools).
"""
from __future__ import annotations

import argparse

import numpy as np
from scipy import stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pools", type=int, default=500)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--top", type=float, default=0.1, help="parents from this top fraction (REA's regime)")
    parser.add_argument("--train", type=int, default=60, help="labelled archs the online predictor has (≈ a run's)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from nasearch.loading import load_space
    from nasearch.predictors import make_predictor
    from nasearch.predictors.base import ZeroCostSource

    space = load_space({"name": "nb201"})
    archs = space.all_archs()
    acc = {a: space.final_metrics(a)["cifar10_valid"] for a in archs}
    ranked = sorted(archs, key=acc.get, reverse=True)
    parents = ranked[: max(1, int(args.top * len(ranked)))]
    features = ZeroCostSource(space, batch_size=128)
    zero_cost = {name: make_predictor(name, space, features=features) for name in ("gradsign", "params")}
    rng = np.random.default_rng(args.seed)

    for kind in ("mutations of a top parent (G-REA)", "uniform samples (G-RS)"):
        taus: dict[str, list[float]] = {}
        regret: dict[str, list[float]] = {}
        model = None
        for pool_index in range(args.pools):
            if pool_index % 50 == 0:  # a fresh online predictor, as a new run would fit
                train = [archs[i] for i in rng.choice(len(archs), size=args.train, replace=False)]
                model = make_predictor("xgb+gradsign", space, features=features, seed=pool_index)
                model.fit(train, [acc[a] for a in train])
            if kind.startswith("mutations"):
                parent = parents[int(rng.integers(len(parents)))]
                pool = [space.mutate(parent, rng) for _ in range(args.k)]
            else:
                pool = [space.sample(rng) for _ in range(args.k)]
            y = np.array([acc[a] for a in pool])
            if np.all(y == y[0]):
                continue
            predictions = {"gradsign": zero_cost["gradsign"].predict(pool), "params": zero_cost["params"].predict(pool),
                           "xgb+gradsign": model.predict(pool), "random": rng.random(len(pool))}
            for name, p in predictions.items():
                tau = stats.kendalltau(y, p)[0]
                taus.setdefault(name, []).append(0.0 if np.isnan(tau) else tau)
                regret.setdefault(name, []).append(float(y.max() - y[int(np.argmax(p))]))
        print(f"\n{kind}: {len(taus['random'])} pools of {args.k}, Kendall tau within the pool and the pick's"
              " shortfall from the pool's best (cifar10_valid, pt)")
        print("| predictor | mean tau in pool | mean shortfall (pt) |\n|---|---:|---:|")
        for name in ("gradsign", "params", "xgb+gradsign", "random"):
            print(f"| {name} | {np.mean(taus[name]):.3f} | {np.mean(regret[name]):.2f} |")


if __name__ == "__main__":
    main()
