"""The predictor protocol, and the features predictors are built from.

A predictor maps architectures to a score where higher means "better final accuracy". It
declares what it needs (:class:`PredictorNeeds`) so a study or a search can refuse a space
that lacks it before anything runs. A zero-cost proxy is a predictor with nothing to fit:
``fit`` is a no-op and ``predict`` returns the proxy's scores (from the proxy registry, not a
second copy of it).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, Sequence, runtime_checkable

import numpy as np

from nasearch.errors import UsageError

EXTRA_HINT = "pip install 'nasearch[predictors]'"


@dataclass(frozen=True)
class PredictorNeeds:
    """What a predictor reads. ``encoding``: None, "onehot" or "path"; ``fidelity``: it reads
    partial learning curves (the space's ``learning_curves`` capability); ``zero_cost``: proxy names it reads."""

    encoding: str | None = None
    fidelity: bool = False
    zero_cost: tuple[str, ...] = ()
    libraries: tuple[str, ...] = ()


@runtime_checkable
class Predictor(Protocol):
    name: str
    needs: PredictorNeeds
    #: True when ``fit`` learns from labels (model-based); False for zero-cost / learning-curve
    trainable: bool

    def fit(self, archs: Sequence[Any], y: Sequence[float]) -> None: ...

    def predict(self, archs: Sequence[Any]) -> np.ndarray: ...


def require_library(module: str, predictor: str) -> None:
    """One line naming the extra when a predictor's library is missing."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise UsageError(f"predictor {predictor!r} needs the {module!r} library; install it with {EXTRA_HINT}")


# -- encodings -----------------------------------------------------------------------------
def onehot(space: Any, archs: Sequence[Any]) -> np.ndarray:
    """One-hot of the space's categorical encoding (NB201: 6 edges x 5 ops = 30 dims)."""
    sizes = [len(c) for c in space.choices()]
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(int)
    out = np.zeros((len(archs), int(sum(sizes))), dtype=np.float32)
    for row, arch in enumerate(archs):
        out[row, offsets + np.asarray(space.encode(arch), dtype=int)] = 1.0
    return out


def encode(space: Any, archs: Sequence[Any], kind: str) -> np.ndarray:
    """The archs as a float matrix: ``onehot`` of the categorical encoding, or one of the space's own
    ``vector_encodings`` (the declared capability; NB201's ``path`` is BANANAS' path encoding)."""
    if kind == "onehot":
        return onehot(space, archs)
    return np.stack([np.asarray(space.vector_encoding(a, kind), dtype=np.float32) for a in archs])


# -- zero-cost features ----------------------------------------------------------------------
@dataclass
class ZeroCostSource:
    """Zero-cost scores of architectures: a packaged table where one exists, else computed
    live by the proxy scorer (cached). ``seconds`` sums the measured seconds of what was read."""

    space: Any
    dataset: str = "cifar10"
    batch_size: int = 128
    seed: int = 0
    data: Any = None
    cache_dir: str | None = None
    _scorers: dict = field(default_factory=dict)

    def scorer(self, proxy: str):
        if proxy not in self._scorers:
            from nasearch.proxies.scorer import ProxyScorer
            from nasearch.proxies.store import ScoreCache

            self._scorers[proxy] = ProxyScorer(self.space, proxy, self.dataset, self.batch_size, self.seed,
                                               data=self.data, cache=ScoreCache(self.cache_dir))
        return self._scorers[proxy]

    def scores(self, proxy: str, archs: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
        """(scores oriented higher-is-better, measured seconds per arch)."""
        scorer = self.scorer(proxy)
        return oriented_scores(scorer, [scorer.score(a) for a in archs])


def oriented_scores(scorer: Any, records: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    """``scorer``'s records as (scores oriented higher-is-better, measured seconds), one per arch."""
    sign = 1.0 if scorer.higher_is_better else -1.0
    return (np.array([sign * r.score for r in records], dtype=float),
            np.array([r.seconds for r in records], dtype=float))


def check_space(needs: PredictorNeeds, space: Any, name: str) -> None:
    """One line when ``space`` lacks what the predictor needs."""
    from nasearch.spaces.protocol import capabilities

    caps = capabilities(space)
    if needs.encoding == "onehot" and "encoding" not in caps:
        raise UsageError(f"predictor {name!r} needs an architecture encoding (choices/encode/decode), which space "
                         f"{getattr(space, 'name', space)!r} lacks; use a zero-cost predictor instead")
    offered = tuple(getattr(space, "vector_encodings", None) or ()) if "vector_encodings" in caps else ()
    if needs.encoding and needs.encoding != "onehot" and needs.encoding not in offered:
        raise UsageError(f"predictor {name!r} uses the {needs.encoding!r} encoding, which space "
                         f"{getattr(space, 'name', space)!r} does not offer (its vector_encodings: {list(offered)});"
                         " use encoding: onehot")
    if needs.fidelity and "learning_curves" not in caps:
        raise UsageError(f"predictor {name!r} needs learning curves (the learning_curves capability: "
                         f"learning_curve(arch, epochs, rng) and max_epochs), which space {getattr(space, 'name', space)!r}"
                         " with this backend lacks; use an official NB201/NATS backend (space.args.backend: nb201 or nats)")
