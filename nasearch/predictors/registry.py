"""Predictors by name.

Names: a model (``xgb lgb ngb rf gp bananas``), optionally with zero-cost features appended
(``xgb+gradsign``, ``xgb+gradsign+naswot``) and an encoding suffix (``xgb/path``); any proxy
of the proxy registry (``gradsign``, ``params``, ...); ``vote``; ``rank_avg:gradsign+naswot``;
learning-curve predictors with their fidelity (``early_stop@3``, ``sotle@3``, ``sotl@3``,
``lce@5``); ``omni``; the user's own ``module:attr`` / ``file.py:attr`` factory, loaded under the
one rule of :mod:`nasearch.loading` (its own code, checked before it is imported or called), or a
name published under the ``nasearch.predictors`` entry-point group. A factory (a class or a
function) is called as ``factory(name, space, features=..., seed=...)`` when a predictor is made,
never when a config is parsed (:func:`check_predictor_name`).
"""
from __future__ import annotations

from typing import Any

from nasearch.errors import UsageError
from nasearch.predictors.base import PredictorNeeds, ZeroCostSource, check_space

#: extra built-in names -> "module:attr" factories (small dict; see module docstring)
PREDICTORS: dict[str, str] = {}
DEFAULT_CURVE_EPOCHS = 3


def _registry():
    from nasearch.loading import PREDICTOR_ENTRY_POINTS, Registry

    return Registry("predictor", PREDICTORS, PREDICTOR_ENTRY_POINTS)


def _entry_points() -> dict[str, str]:
    return {n: v for n, v in _registry().names().items() if n not in PREDICTORS}


def _factory(name: str) -> Any | None:
    """The factory a plug-in predictor name stands for, loaded and checked but not called; None for
    the names :func:`make_predictor` builds itself."""
    if name in PREDICTORS or ":" in name or name in _entry_points():
        return _registry().load(name, "predictor")
    return None


def check_predictor_name(name: str) -> None:
    """What a config parser may do with a predictor name: every check that needs no space, calling nothing."""
    make_predictor(name, None, check=False, build=False)


def available_predictors() -> list[str]:
    from nasearch.predictors.curves import CURVES
    from nasearch.predictors.models import MODELS
    from nasearch.proxies.registry import available_proxies

    return sorted(MODELS) + ["omni", "vote", "rank_avg:A+B", "MODEL+PROXY"] + [f"{c}@E" for c in CURVES] + [
        p for p in available_proxies()] + sorted(PREDICTORS) + sorted(_entry_points())


def make_predictor(name: str, space: Any, features: ZeroCostSource | None = None, seed: int = 0,
                   check: bool = True, build: bool = True) -> Any:
    """A fresh predictor for ``space``; one-line :class:`UsageError` for any bad name, missing
    library, or a space lacking what the predictor needs (``check``). With ``build=False``, only the
    name is checked (and a built-in made, which runs only nasearch's code), and a plug-in factory is
    loaded but not called: None is returned for it (see :func:`check_predictor_name`)."""
    from nasearch.predictors.curves import CURVES
    from nasearch.predictors.models import MODELS, NGBPredictor
    from nasearch.predictors.zero_cost import RankAverage, Vote, ZeroCostPredictor
    from nasearch.proxies.registry import PROXIES

    name = name.strip()
    features = features or ZeroCostSource(space)
    head, _, encoding = name.partition("/")
    base, *zero_cost = head.split("+")
    predictor: Any
    if base in MODELS:
        for proxy in zero_cost:
            if proxy not in PROXIES:
                raise UsageError(f"predictor {name!r}: {proxy!r} is not a zero-cost proxy; choose from "
                                 f"{', '.join(sorted(PROXIES))}")
        kwargs = {"encoding": encoding} if encoding else {}
        if (encoding and not encoding.isidentifier()) or (name.endswith("/") and not encoding):
            raise UsageError(f"predictor {name!r}: name one encoding after '/': onehot, or one of the space's"
                             " vector_encodings (e.g. path, adjacency)")
        if check:
            check_space(PredictorNeeds(encoding=encoding or ("path" if base == "bananas" else "onehot")), space, name)
        predictor = MODELS[base](name, space, zero_cost=zero_cost, features=features, seed=seed, **kwargs)
    elif name == "omni":
        if check:
            check_space(PredictorNeeds(encoding="onehot"), space, name)
        predictor = NGBPredictor(name, space, zero_cost=("jacob_cov",), features=features, seed=seed)
    elif name == "vote":
        predictor = Vote(name, features)
    elif name.startswith("rank_avg:"):
        proxies = [p for p in name.partition(":")[2].split("+") if p]
        if len(proxies) < 2:
            raise UsageError(f"predictor {name!r}: list two or more proxies, e.g. rank_avg:gradsign+naswot")
        predictor = RankAverage(name, proxies, features)
    elif name.partition("@")[0] in CURVES:
        kind, _, epochs = name.partition("@")
        try:
            epochs_value = int(epochs) if epochs else DEFAULT_CURVE_EPOCHS
        except ValueError:
            raise UsageError(f"predictor {name!r}: the fidelity after '@' must be a whole number of epochs") from None
        if check:
            check_space(PredictorNeeds(fidelity=True), space, name)
        predictor = CURVES[kind](name, space, epochs_value, seed=seed)
    elif name in PROXIES:
        predictor = ZeroCostPredictor(name, features)
    elif (factory := _factory(name)) is not None:
        if not build:
            return None
        predictor = factory(name, space, features=features, seed=seed)
        if check and getattr(predictor, "needs", None) is not None:
            check_space(predictor.needs, space, name)
    else:
        raise UsageError(f"unknown predictor {name!r}; choose one of {', '.join(available_predictors())}")
    return predictor
