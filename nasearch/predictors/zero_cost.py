"""Zero-cost predictors (one proxy of the proxy registry, nothing to fit) and their ensembles."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from scipy.stats import rankdata

from nasearch.predictors.base import PredictorNeeds, ZeroCostSource


class ZeroCostPredictor:
    """A proxy as a predictor: its (higher-is-better) score; ``fit`` does nothing."""

    trainable = False

    def __init__(self, name: str, features: ZeroCostSource) -> None:
        from nasearch.proxies.registry import get_proxy

        get_proxy(name)  # unknown names fail here in one line
        self.name, self.features = name, features
        self.needs = PredictorNeeds(zero_cost=(name,))
        self.query_seconds = 0.0

    def fit(self, archs: Sequence[Any], y: Sequence[float]) -> None:
        return None

    def predict(self, archs: Sequence[Any]) -> np.ndarray:
        values, seconds = self.features.scores(self.name, archs)
        self.query_seconds = float(seconds.sum())
        return values


class RankAverage:
    """Mean of the per-proxy ranks over the scored set (``rank_avg:gradsign+naswot``)."""

    trainable = False

    def __init__(self, name: str, proxies: Sequence[str], features: ZeroCostSource) -> None:
        self.name, self.members = name, [ZeroCostPredictor(p, features) for p in proxies]
        self.needs = PredictorNeeds(zero_cost=tuple(proxies))
        self.query_seconds = 0.0

    def fit(self, archs, y) -> None:
        return None

    def _ranks(self, archs) -> np.ndarray:
        ranks = []
        for member in self.members:
            ranks.append(rankdata(member.predict(archs)) / len(archs))
        self.query_seconds = sum(m.query_seconds for m in self.members)
        return np.stack(ranks)

    def predict(self, archs: Sequence[Any]) -> np.ndarray:
        return self._ranks(archs).mean(axis=0)


class Vote(RankAverage):
    """Abdelfattah et al.'s majority vote of synflow, jacob_cov and snip: an arch's score is the
    number of (arch, other) pairs it wins by majority of the members (pairwise vote, O(n^2))."""

    def __init__(self, name: str, features: ZeroCostSource, proxies: Sequence[str] = ("synflow", "jacob_cov", "snip")) -> None:
        super().__init__(name, proxies, features)

    def predict(self, archs):
        scores = np.stack([m.predict(archs) for m in self.members])  # members x n
        self.query_seconds = sum(m.query_seconds for m in self.members)
        wins = (scores[:, :, None] > scores[:, None, :]).sum(axis=0)  # n x n: members preferring i over j
        majority = wins * 2 > len(self.members)
        return majority.sum(axis=1).astype(float)
