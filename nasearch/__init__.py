"""nasearch: neural architecture search with proxy-assisted optimizers.

The Python API (:mod:`nasearch.api`; the command line is a thin layer over it)::

    import nasearch as ns
    runs = ns.search("g_rea", runs=20, workers=2)     # a shipped config by name, a path, a mapping
    df = runs.to_pandas()                             # one row per run
    curve = runs.anytime("cifar10_valid")             # the incumbent's metric against simulated time
    exp = ns.experiment("table6", runs=50, out="results/t6")
    exp.report()                                      # = nasearch report; the comparisons as a DataFrame
    ns.load_results("results/t6")                     # any existing results folder

Names are imported on first use, so ``import nasearch`` stays cheap (no torch).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nasearch.errors import UsageError

__version__ = "0.1.0"

#: public name -> the module that defines it
_API = {
    "search": "nasearch.api", "experiment": "nasearch.api", "report": "nasearch.api", "load_results": "nasearch.api",
    "space": "nasearch.api", "proxy": "nasearch.api", "search_config": "nasearch.api",
    "RunSet": "nasearch.api", "ExperimentResults": "nasearch.api", "Proxy": "nasearch.api",
    "RunRecord": "nasearch.results", "Incumbent": "nasearch.results", "Trajectory": "nasearch.results",
    "read_runs": "nasearch.results", "Evaluation": "nasearch.spaces.protocol", "ProxySpec": "nasearch.proxies.registry",
    "SearchConfig": "nasearch.config",
}
__all__ = ["UsageError", "__version__", *_API]

if TYPE_CHECKING:  # what a type checker and an IDE see
    from nasearch.api import (ExperimentResults, Proxy, RunSet, experiment, load_results, proxy, report, search,
                              search_config, space)
    from nasearch.config import SearchConfig
    from nasearch.proxies.registry import ProxySpec
    from nasearch.results import Incumbent, RunRecord, Trajectory, read_runs
    from nasearch.spaces.protocol import Evaluation


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'nasearch' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
