"""Predictors by name.

Names: a model (``xgb lgb ngb rf gp bananas``), optionally with zero-cost features appended
(``xgb+gradsign``, ``xgb+gradsign+naswot``) and an encoding suffix (``xgb/path``); any proxy
of the proxy registry (``gradsign``, ``params``, ...); ``vote``; ``rank_avg:gradsign+naswot``;
learning-curve predictors with their fidelity (``early_stop@3``, ``sotle@3``, ``sotl@3``,
``lce@5``); ``omni``; a ``module:attr`` factory (opt-in code: it is imported) or a name
published under the ``nasearch.predictors`` entry-point group. A factory is called as
``factory(name, space, features=..., seed=...)``.
"""
from __future__ import annotations

from typing import Any

from nasearch.errors import UsageError
from nasearch.predictors.base import PredictorNeeds, ZeroCostSource, check_space

ENTRY_POINT_GROUP = "nasearch.predictors"
#: extra names -> "module:attr" factories (small dict; see module docstring)
PREDICTORS: dict[str, str] = {}
DEFAULT_CURVE_EPOCHS = 3


def _entry_points() -> dict[str, Any]:
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def available_predictors() -> list[str]:
    from nasearch.predictors.curves import CURVES
    from nasearch.predictors.models import MODELS
    from nasearch.proxies.registry import available_proxies

    return sorted(MODELS) + ["omni", "vote", "rank_avg:A+B", "MODEL+PROXY"] + [f"{c}@E" for c in CURVES] + [
        p for p in available_proxies() if p != "uniform"] + sorted(PREDICTORS) + sorted(_entry_points())


def make_predictor(name: str, space: Any, features: ZeroCostSource | None = None, seed: int = 0,
                   check: bool = True) -> Any:
    """A fresh predictor for ``space``; one-line :class:`UsageError` for any bad name, missing
    library, or a space lacking what the predictor needs."""
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
            if proxy not in PROXIES or proxy in ("uniform",):
                raise UsageError(f"predictor {name!r}: {proxy!r} is not a zero-cost proxy; choose from "
                                 f"{', '.join(sorted(p for p in PROXIES if p != 'uniform'))}")
        kwargs = {"encoding": encoding} if encoding else {}
        if "/" in encoding or (name.endswith("/") and not encoding):
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
    elif name in PROXIES and name != "uniform":
        predictor = ZeroCostPredictor(name, features)
    elif name in PREDICTORS or ":" in name or name in (eps := _entry_points()):
        from nasearch.loading import import_object

        if name in PREDICTORS:
            factory = import_object(PREDICTORS[name], f"predictor {name!r}")
        elif ":" in name:
            factory = import_object(name, "predictor")
        else:
            factory = eps[name].load()
        predictor = factory(name, space, features=features, seed=seed)
        if check and getattr(predictor, "needs", None) is not None:
            check_space(predictor.needs, space, name)
    else:
        raise UsageError(f"unknown predictor {name!r}; choose one of {', '.join(available_predictors())}")
    return predictor
