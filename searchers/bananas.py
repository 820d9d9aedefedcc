"""BANANAS (White et al., 2021) as NASLib runs it, under the simulated clock.

The first ``num_init`` (20) proposals are uniform random; then the predictor (an ensemble of
``ensemble`` = 3 MLPs on the NB201 path encoding, ``predictor: bananas``) is refitted on every
(arch, fitness) observed, ``num_candidates`` (200) uniform random unseen candidates are scored
by independent Thompson sampling from N(mean, std) of the ensemble, and the top ``k`` (20) are
queued and proposed one by one. The searcher never evaluates anything itself.

Predictor fit cost is charged to the simulated clock as a declared pure function of the
number of training points (``fit_cost_seconds``), so runs are byte-identical across workers
and reruns; the measured fit seconds are kept beside it (``measured_fit_seconds``). The runner
collects the charge with :meth:`take_owed` (one call, easy to move into the pool).
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np

from nasearch.clock import PREDICTOR_FIT_BASE, PREDICTOR_FIT_PER_POINT, PredictorCostModel
from nasearch.searchers.base import Searcher, Trial
from nasearch.spaces.protocol import Evaluation


class PredictorGuided(Searcher):
    requires = ("encoding",)

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
        self.owed_seconds = 0.0
        self.measured_fit_seconds = 0.0

    def fit_cost_seconds(self, n_points: int) -> float:
        """The declared (pure) simulated cost of one refit on ``n_points``."""
        return self.cost.fit_seconds(n_points)

    def take_owed(self) -> float:
        owed, self.owed_seconds = self.owed_seconds, 0.0
        return owed

    def _fit(self):
        from nasearch.predictors import make_predictor

        predictor = self._make(make_predictor)
        archs, y = zip(*self.history)
        start = time.process_time()
        predictor.fit(list(archs), list(y))
        self.measured_fit_seconds += time.process_time() - start
        self.owed_seconds += self.fit_cost_seconds(len(archs))
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


class Bananas(PredictorGuided):
    name = "bananas"

    def __init__(self, space, pool=None, ensemble: int = 3, **kwargs) -> None:
        kwargs.setdefault("predictor", "bananas")
        self.ensemble = int(ensemble)
        super().__init__(space, pool, **kwargs)

    def _make(self, make_predictor):
        predictor = super()._make(make_predictor)
        if hasattr(predictor, "members"):
            predictor.members = self.ensemble
        return predictor

    def _candidates(self, rng):
        return self._unseen(self.space.sample, rng, self.num_candidates)

    def _acquire(self, predictor, candidates, rng):
        mean, std = predictor.predict_dist(candidates)
        return rng.normal(mean, np.maximum(std, 0.0))  # independent Thompson sampling
