"""Random search; with the hook, G-RS (the proxy's best of k uniform samples)."""
from __future__ import annotations

import numpy as np

from nasearch.searchers.base import Searcher, Trial
from nasearch.spaces.protocol import Evaluation


class RandomSearch(Searcher):
    name = "rs"

    def propose(self, rng: np.random.Generator) -> Trial:
        return Trial(self.draw(rng, self.space.sample))

    def observe(self, trial: Trial, evaluation: Evaluation) -> None:
        """Random search keeps no state; the runner tracks the incumbent."""
