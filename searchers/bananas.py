"""Predictor-guided search under the simulated clock: BANANAS (White et al., 2021) and the loop
it shares with NPENAS (:mod:`nasearch.searchers.npenas`).

The first ``num_init`` proposals are uniform random; then the predictor is refitted on every
(arch, fitness) observed, candidates (the searcher's own: :meth:`Bananas._candidates`) are scored
by the acquisition, and the top ``k`` are queued and proposed one by one, the predictor refitted
when the queue is empty. The searcher never evaluates anything itself.

Predictor fit cost is owed to the run's ledger (``self.ledger``, drained by the runner) as a
declared pure function of the number of training points (``fit_cost_seconds``, the hook's
:class:`~nasearch.clock.PredictorCostModel`), so runs are byte-identical across workers and
reruns; the measured fit seconds are kept beside it (``measured_fit_seconds``).
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np

from nasearch.clock import PREDICTOR_FIT_BASE, PREDICTOR_FIT_PER_POINT, PredictorCostModel
from nasearch.searchers.base import (AT_LEAST_ONE, DRAWS, MAX_DRAWS, NON_NEGATIVE, POSITIVE, Bound, Searcher,
                                       Trial)
from nasearch.spaces.protocol import Evaluation


class PredictorGuided(Searcher):
    #: nothing beyond the protocol: what the predictor's encoding needs (the categorical encoding for
    #: onehot, a vector encoding otherwise) is checked by make_predictor when the searcher is built
    requires = ()
    bounds = {"num_init": AT_LEAST_ONE, "num_candidates": DRAWS, "k": DRAWS, "fit_cost_base": NON_NEGATIVE,
              "fit_cost_per_point": NON_NEGATIVE}

    def __init__(self, space, pool=None, predictor: str = "bananas", num_init: int = 20, num_candidates: int = 200,
                 k: int = 20, fit_cost_base: float = PREDICTOR_FIT_BASE, fit_cost_per_point: float = PREDICTOR_FIT_PER_POINT,
                 seed: int = 0) -> None:
        super().__init__(space, pool)
        from nasearch.predictors import make_predictor

        if num_init < 1 or num_candidates < 1 or not 1 <= k <= num_candidates:
            raise ValueError(f"need num_init >= 1 and 1 <= k <= num_candidates, got {num_init}, {k}, {num_candidates}")
        make_predictor(predictor, space, seed=seed)  # bad name / library / capability: fail before the run
        self.predictor_name, self.seed = predictor, int(seed)
        self.num_init, self.num_candidates, self.k = int(num_init), int(num_candidates), int(k)
        #: the declared fit cost, the same model as the hook's online predictor (hook.predictor_cost)
        self.cost = PredictorCostModel(fit_base=float(fit_cost_base), fit_per_point=float(fit_cost_per_point))
        self.history: list[tuple[Any, float]] = []
        self.seen: set[str] = set()
        self.queue: list[Any] = []
        self.proposed = 0
        self.refits = 0
        self.measured_fit_seconds = 0.0

    def fit_cost_seconds(self, n_points: int) -> float:
        """The declared (pure) simulated cost of one refit on ``n_points``."""
        return self.cost.fit_seconds(n_points)

    def _fit(self):
        from nasearch.predictors import make_predictor

        predictor = self._make(make_predictor)
        archs, y = zip(*self.history)
        start = time.process_time()
        predictor.fit(list(archs), list(y))
        self.measured_fit_seconds += time.process_time() - start
        self.ledger.owe("predictor", self.fit_cost_seconds(len(archs)))
        self.refits += 1
        return predictor

    def _make(self, make_predictor):
        return make_predictor(self.predictor_name, self.space, seed=self.seed + self.refits, check=False)

    def _unseen(self, generate, rng, n: int) -> list:
        out, ids = [], set()
        for _ in range(20 * n):
            if len(out) == n:
                break
            arch = generate(rng)
            arch_id = self.space.arch_id(arch)
            if arch_id not in self.seen and arch_id not in ids:
                ids.add(arch_id)
                out.append(arch)
        return out

    def propose(self, rng: np.random.Generator) -> Trial:
        self.proposed += 1
        if self.proposed <= self.num_init or len(self.history) < 2:
            return Trial(self.draw(rng, self.space.sample))
        if not self.queue:
            predictor = self._fit()
            candidates = self._candidates(rng)
            if not candidates:
                return Trial(self.space.sample(rng))
            scores = self._acquire(predictor, candidates, rng)
            order = np.argsort(-scores, kind="stable")[: self.k]
            self.queue = [candidates[i] for i in order]
        arch = self.queue.pop(0)
        self.seen.add(self.space.arch_id(arch))
        return Trial(arch)

    def observe(self, trial: Trial, evaluation: Evaluation) -> None:
        self.seen.add(self.space.arch_id(trial.arch))
        self.history.append((trial.arch, float(evaluation.fitness)))


#: BANANAS' ways to optimise the acquisition: mutate the best architectures (published) or score random ones
ACQUISITIONS = ("mutation", "random")


class Bananas(PredictorGuided):
    """BANANAS as published (White, Neiswanger, Savani, AAAI 2021; its code, naszilla): ``num_init``
    = 10 random architectures, then an ensemble of ``ensemble`` = 5 MLPs on the path encoding is
    refitted every ``k`` = 10 evaluations. ``acquisition: mutation`` optimises the acquisition by
    mutating the best architectures observed, best first, ``mutations`` = 1 mutation each, until
    ``num_candidates`` = 100 distinct unseen candidates exist or ``parents`` = 5 parents are used
    (naszilla's ``num_arches_to_mutate`` 1 x ``patience_factor`` 5; on NB201 one parent has only 24
    neighbours, so the 100 come from up to 5 of them; NASLib's NB201 defaults mutate 2, which
    measured 0.07 pt worse over 60 paired runs), scores them by independent Thompson sampling from
    N(mean, std) of the ensemble and queues the top ``k``. ``acquisition: random`` scores
    ``num_candidates`` uniformly random unseen candidates instead (the variant this searcher ran
    before; NASLib's ``random_sampling``). Candidates are distinct and never an architecture this
    run has already trained or queued; when the parents' unseen neighbours number fewer than ``k``
    (late in a run), the next best architectures are mutated too, so the queue stays ``k`` long.

    The ensemble trains as one batched network (:class:`nasearch.predictors.models.BananasPredictor`),
    full-batch for ``fit_epochs`` = 50 Adam steps at ``fit_learning_rate`` = 0.05 (the predictor's
    own default, 200 epochs of minibatches of 32 at 0.01, ranks NB201 the same at 20-100 training
    cells, Kendall tau 0.47 / 0.57 / 0.69 on 1000 test cells, and costs 7-15 times more;
    ``fit_batch`` > 0 restores minibatches).
    """

    name = "bananas"
    bounds = {"ensemble": Bound(1, 100), "parents": AT_LEAST_ONE, "mutations": AT_LEAST_ONE,
              "fit_epochs": Bound(1, MAX_DRAWS), "fit_batch": NON_NEGATIVE, "fit_learning_rate": POSITIVE}

    def __init__(self, space, pool=None, ensemble: int = 5, acquisition: str = "mutation", parents: int = 5,
                 mutations: int = 1, fit_epochs: int = 50, fit_batch: int = 0, fit_learning_rate: float = 0.05,
                 num_init: int = 10, num_candidates: int = 100, k: int = 10, **kwargs) -> None:
        kwargs.setdefault("predictor", "bananas")
        if acquisition not in ACQUISITIONS:
            raise ValueError(f"acquisition must be one of {', '.join(ACQUISITIONS)}, got {acquisition!r}")
        if ensemble < 1 or parents < 1 or mutations < 1 or fit_epochs < 1 or fit_batch < 0 or fit_learning_rate <= 0:
            raise ValueError(f"need ensemble, parents, mutations, fit_epochs >= 1, fit_batch >= 0 and "
                             f"fit_learning_rate > 0, got {ensemble}, {parents}, {mutations}, {fit_epochs}, "
                             f"{fit_batch}, {fit_learning_rate}")
        self.ensemble, self.acquisition = int(ensemble), acquisition
        self.parents, self.mutations = int(parents), int(mutations)
        self.schedule = dict(epochs=int(fit_epochs), batch=int(fit_batch), learning_rate=float(fit_learning_rate))
        self.has_neighbours = callable(getattr(space, "neighbours", None))
        super().__init__(space, pool, num_init=num_init, num_candidates=num_candidates, k=k, **kwargs)

    def _make(self, make_predictor):
        predictor = super()._make(make_predictor)
        if hasattr(predictor, "members"):  # the MLP ensemble (another predictor name keeps its own settings)
            predictor.members = self.ensemble
            for name, value in self.schedule.items():
                setattr(predictor, name, value)
        return predictor

    def _candidates(self, rng):
        if self.acquisition == "random":
            return self._unseen(self.space.sample, rng, self.num_candidates)
        best: dict[str, tuple[Any, float]] = {}
        for arch, fitness in self.history:  # the best observed fitness of each distinct arch
            key = self.space.arch_id(arch)
            if key not in best or fitness > best[key][1]:
                best[key] = (arch, fitness)
        ranked = sorted(best.values(), key=lambda item: -item[1])  # stable: first seen on ties
        per = max(1, self.num_candidates // self.mutations)
        out, ids = [], set()
        for rank, (parent, _) in enumerate(ranked):
            # the best first, until num_candidates; past `parents` only while fewer than k exist
            if len(out) >= self.num_candidates or (rank >= self.parents and len(out) >= self.k):
                break
            for arch in self._children(parent, rng, per):
                key = self.space.arch_id(arch)
                if key not in ids:
                    ids.add(key)
                    out.append(arch)
        return out

    def _children(self, parent, rng, n: int) -> list:
        """Up to ``n`` distinct unseen architectures ``mutations`` mutations from ``parent``: with one
        mutation on a space that lists its neighbours, a random order of the unseen ones (what
        drawing mutations until n distinct would give, without the redraws)."""
        if self.mutations == 1 and self.has_neighbours:
            arch_id = self.space.arch_id
            fresh = [a for a in self.space.neighbours(parent) if arch_id(a) not in self.seen]
            return [fresh[int(i)] for i in rng.permutation(len(fresh))[:n]]
        mutate = self.space.mutate

        def generate(r):
            child = parent
            for _ in range(self.mutations):
                child = mutate(child, r)
            return child
        return self._unseen(generate, rng, n)

    def _acquire(self, predictor, candidates, rng):
        mean, std = predictor.predict_dist(candidates)
        return rng.normal(mean, np.maximum(std, 0.0))  # independent Thompson sampling
