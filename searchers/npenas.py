"""NPENAS (Wei et al.) as NASLib runs it: one predictor, exploit only, candidates are one-edit
mutations of the top 5 observed architectures (``num_candidates`` / 5 each). See
:mod:`searchers.bananas` for the shared loop, defaults and how the fit cost is charged."""
from __future__ import annotations

from nasearch.searchers.bananas import PredictorGuided
from nasearch.searchers.base import AT_LEAST_ONE


class NPENAS(PredictorGuided):
    name = "npenas"
    bounds = {"top": AT_LEAST_ONE}

    def __init__(self, space, pool=None, top: int = 5, **kwargs) -> None:
        kwargs.setdefault("predictor", "xgb")
        self.top = int(top)
        super().__init__(space, pool, **kwargs)

    def _candidates(self, rng):
        best = sorted(self.history, key=lambda item: -item[1])[: self.top]
        per = max(1, self.num_candidates // len(best))
        out, ids = [], set()
        for parent, _ in best:
            for arch in self._unseen(lambda r, p=parent: self.space.mutate(p, r), rng, per):
                arch_id = self.space.arch_id(arch)
                if arch_id not in ids:
                    ids.add(arch_id)
                    out.append(arch)
        return out

    def _acquire(self, predictor, candidates, rng):
        return predictor.predict(candidates)
