"""How far can a single-seed rank correlation move? (GradSign's appendix: theta_0 can be averaged.)

Scores one proxy on the first ``--n`` cells of the correlation study's seeded sample for every
combination of an initialisation seed (``--inits``) and a batch draw (``--batches``), decoupled
through ``ProxyScorer(seed=init, batch_seed=batch)``, and reports Spearman rho with each final
accuracy: the 3 x 3 grid, its mean, sample std, min and max, and the rho of the score averaged
over all combinations. Scores go through the persistent cache, so the script resumes.

    python scripts/seed_spread.py --proxy gradsign --n 200 --batch-size 64 \
        --inits 0,1,2 --batches 0,1,2 --data ../shared/data/cifar10_sample.npz
"""
from __future__ import annotations

import argparse
import itertools
import math

import numpy as np
from scipy import stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--proxy", default="gradsign")
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--sample-seed", type=int, default=0, help="seed of the cell sample (as correlate --seed)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--inits", default="0,1,2")
    parser.add_argument("--batches", default="0,1,2")
    parser.add_argument("--data", required=True, help="npz of uint8 train_images/train_labels")
    parser.add_argument("--cache-dir", default=None)
    args = parser.parse_args()

    from nasearch.correlation import final_accuracies, sample_arch_ids
    from nasearch.loading import load_space
    from nasearch.proxies.data import DataSource
    from nasearch.proxies.scorer import ProxyScorer
    from nasearch.proxies.store import ScoreCache
    from nasearch.analysis.stats import mean_std

    space = load_space({"name": "nb201"})
    ids = sample_arch_ids(space, args.n, args.sample_seed)
    archs = [space.from_id(i) for i in ids]
    accuracies = final_accuracies(space, ids)
    inits = [int(s) for s in args.inits.split(",")]
    batches = [int(s) for s in args.batches.split(",")]
    cache = ScoreCache(args.cache_dir)
    scores = {}
    for init, batch in itertools.product(inits, batches):
        scorer = ProxyScorer(space, args.proxy, batch_size=args.batch_size, seed=init, batch_seed=batch,
                             data=DataSource(npz=args.data), cache=cache)
        values = np.array([scorer.score(a).score for a in archs])
        scores[(init, batch)] = values if scorer.higher_is_better else -values
    print(f"{args.proxy}, batch {args.batch_size}, {args.n} NB201 cells (sample seed {args.sample_seed});"
          f" Spearman rho per (init seed, batch draw)\n")
    for metric, acc in accuracies.items():
        rho = {key: stats.spearmanr(v, acc)[0] for key, v in scores.items()}
        print(f"{metric}:\n\n| init \\ batch | " + " | ".join(str(b) for b in batches) + " |")
        print("|---|" + "---:|" * len(batches))
        for init in inits:
            print(f"| {init} | " + " | ".join(f"{rho[(init, b)]:.3f}" for b in batches) + " |")
        mean, sd = mean_std(list(rho.values()))
        ranks = np.mean([stats.rankdata(v) for v in scores.values()], axis=0)
        averaged = stats.spearmanr(ranks, acc)[0]
        print(f"\nmean {mean:.3f}, sample sd {sd:.3f}, min {min(rho.values()):.3f}, max {max(rho.values()):.3f};"
              f" rho of the rank-averaged score over all {len(scores)}: {averaged:.3f}\n")
    pairs = [stats.spearmanr(scores[a], scores[b])[0] for a, b in itertools.combinations(scores, 2)]
    print(f"rho between the scores of two seed combinations: mean {np.mean(pairs):.3f}, min {min(pairs):.3f}"
          f" ({len(pairs)} pairs)" if not math.isnan(np.mean(pairs)) else "")


if __name__ == "__main__":
    main()
