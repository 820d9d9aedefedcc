"""Learning-curve predictors: early stopping (validation accuracy after ``e`` epochs), SoTL-E
(minus the last-epoch training loss) and LCE (parametric extrapolation of the partial
validation curve with scipy's ``curve_fit``). They need the space's learning curves
(``learning_curve(arch, epochs, rng)``, official NB201/NATS files); the partial training they
read is their query cost (``query_seconds``)."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from nasearch.errors import UsageError
from nasearch.predictors.base import PredictorNeeds


class CurvePredictor:
    trainable = False

    def __init__(self, name: str, space: Any, epochs: int, seed: int = 0) -> None:
        self.name, self.space, self.epochs, self.seed = name, space, int(epochs), int(seed)
        self.needs = PredictorNeeds(fidelity=True)
        self.query_seconds = 0.0
        self.arch_seconds: list[float] = []
        max_epochs = int(getattr(space, "max_epochs", 0) or 0)
        if max_epochs and not 1 <= self.epochs <= max_epochs:
            raise UsageError(f"predictor {name!r}: fidelity {self.epochs} epochs is outside 1..{max_epochs}")

    def fit(self, archs, y) -> None:
        return None

    def _curves(self, archs: Sequence[Any]) -> list[dict]:
        rng = np.random.default_rng(self.seed)
        curves = [self.space.learning_curve(a, self.epochs, rng) for a in archs]
        #: per-architecture partial-training seconds of the last predict (the hook charges each once per run)
        self.arch_seconds = [float(c["seconds"]) for c in curves]
        self.query_seconds = float(sum(self.arch_seconds))
        return curves

    def predict(self, archs: Sequence[Any]) -> np.ndarray:
        return np.array([self._score(c) for c in self._curves(archs)], dtype=float)


class EarlyStop(CurvePredictor):
    def _score(self, curve):
        return float(curve["valid_acc"][-1])


class SoTLE(CurvePredictor):
    def _score(self, curve):
        return -float(curve["train_loss"][-1])


class SoTL(CurvePredictor):
    def _score(self, curve):
        return -float(np.sum(curve["train_loss"]))


def _pow3(t, c, a, alpha):
    return c - a * np.power(t, -alpha)


class LCE(CurvePredictor):
    """Extrapolate the partial validation curve to ``max_epochs`` with ``c - a t^-alpha``."""

    def _score(self, curve):
        from scipy.optimize import curve_fit

        acc = np.asarray(curve["valid_acc"], dtype=float)
        t = np.arange(1, len(acc) + 1, dtype=float)
        horizon = float(getattr(self.space, "max_epochs", len(acc)) or len(acc))
        if len(acc) < 3:
            return float(acc[-1])
        try:
            params, _ = curve_fit(_pow3, t, acc, p0=(acc[-1], acc[-1] - acc[0] + 1e-3, 0.5), maxfev=2000,
                                  bounds=([0, -1e3, 0], [1e3, 1e3, 5]))
            return float(_pow3(horizon, *params))
        except (RuntimeError, ValueError):
            return float(acc[-1])


CURVES = {"early_stop": EarlyStop, "sotle": SoTLE, "sotl": SoTL, "lce": LCE}
