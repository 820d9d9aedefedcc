"""The NAS-Bench-301 surrogate as a results backend of the DARTS space (optional: nothing here is a dependency).

    space: {name: darts, args: {backend: nb301, path: ~/data/nb_models_1.0}}

NAS-Bench-301 (Siems et al.; automl/nasbench301) predicts the CIFAR-10 validation accuracy and the
training time of any DARTS-space genotype from surrogate ensembles fitted on ~60k trained
architectures (C = 32, 8 cells, 100 epochs). Using it needs two things this project does not ship:

* the ``nasbench301`` package (``pip install nasbench301`` and the requirements of
  automl/nasbench301: its xgboost / lightgbm / torch-geometric stack), and
* the surrogate model files (``nasbench301_models_v1_0.zip`` or ``_v0_9`` from figshare), unpacked so
  that ``path`` holds ``<model>_v<version>/`` (the performance ensemble, default ``xgb``; ``gnn_gin``
  also works) and ``lgb_runtime_v<version>/`` (the runtime ensemble), each with its
  ``*surrogate_model.model`` member files.

Without either, building the backend fails in one line saying what to install or download.

The package is called exactly as its ``example.py`` does: ``nasbench301.load_ensemble(dir)`` returns a
surrogate API whose ``predict(config=genotype, representation="genotype", with_noise=...)`` takes an
object with ``normal`` / ``normal_concat`` / ``reduce`` / ``reduce_concat`` (the DARTS ``Genotype``
namedtuple) and returns a number: validation accuracy in % from the performance ensemble, seconds
from the runtime ensemble.

* ``query``: fitness = one noisy prediction (``with_noise=True``: the ensemble mean plus noise of the
  members' spread, NB301's way to model seed noise), cost = the runtime ensemble's prediction. The
  package draws that noise from numpy's *global* generator; the backend seeds it from the run's
  generator for the call and restores the global state after, so a run stays a function of its seed.
* ``final_metrics``: ``{"cifar10_valid": the noise-free ensemble mean}``, cached per genotype.
"""
from __future__ import annotations

import importlib
from collections import namedtuple
from pathlib import Path
from typing import Any

import numpy as np

from nasearch.errors import UsageError
from nasearch.spaces.darts.genotype import NB301, Genotype, check
from nasearch.spaces.protocol import Evaluation

#: the DARTS repository's genotype type, which the surrogate's genotype converter reads by attribute
DartsGenotype = namedtuple("Genotype", "normal normal_concat reduce reduce_concat")
PERFORMANCE_MODELS = ("xgb", "gnn_gin")
RUNTIME_MODEL = "lgb_runtime"
VERSIONS = ("1.0", "0.9")
INSTALL = ("pip install nasbench301 (and the requirements listed in automl/nasbench301's requirements.txt)")
DOWNLOAD = ("download the NAS-Bench-301 surrogate models (figshare: nasbench301_models_v1_0.zip) and unpack them so"
            " that space.args.path holds xgb_v1.0/ and lgb_runtime_v1.0/")


def to_darts_genotype(genotype: Genotype) -> DartsGenotype:
    """The namedtuple the surrogate reads: lists of ``(op, input)`` tuples and concat lists."""
    return DartsGenotype(normal=[tuple(p) for p in genotype.normal], normal_concat=list(genotype.normal_concat),
                         reduce=[tuple(p) for p in genotype.reduce], reduce_concat=list(genotype.reduce_concat))


def import_package() -> Any:
    try:
        return importlib.import_module("nasbench301")
    except ModuleNotFoundError as error:
        if error.name and "nasbench301".startswith(error.name):
            raise UsageError(f"darts backend 'nb301' needs the nasbench301 package: {INSTALL}; then {DOWNLOAD}") from None
        raise UsageError(f"darts backend 'nb301': the nasbench301 package is installed but needs {error.name!r}: {INSTALL}") from None


def _members(directory: Path) -> bool:
    return directory.is_dir() and any(directory.rglob("*surrogate_model.model"))


def model_dirs(path: str | None, model: str = "xgb") -> tuple[Path, Path]:
    """``(performance ensemble dir, runtime ensemble dir)`` under ``path``, newest version first; one line otherwise."""
    if model not in PERFORMANCE_MODELS:
        raise UsageError(f"darts backend 'nb301': model must be one of {list(PERFORMANCE_MODELS)}, got {model!r}")
    if path is None:
        raise UsageError(f"darts backend 'nb301' needs space.args.path, the surrogate models' directory: {DOWNLOAD}")
    root = Path(path).expanduser()
    if not root.is_dir():
        raise UsageError(f"darts backend 'nb301': space.args.path {str(root)!r} is not a directory; {DOWNLOAD}")
    for version in VERSIONS:
        performance, runtime = root / f"{model}_v{version}", root / f"{RUNTIME_MODEL}_v{version}"
        if _members(performance) and _members(runtime):
            return performance, runtime
    found = sorted(p.name for p in root.iterdir() if p.is_dir())
    raise UsageError(f"darts backend 'nb301': {root} has no {model}_v1.0/ (or _v0.9/) and {RUNTIME_MODEL}_v1.0/ with"
                     f" *surrogate_model.model files (it holds {found or 'no directories'}); {DOWNLOAD}")


class NB301Backend:
    """Query results of DARTS genotypes from the NAS-Bench-301 surrogates; see the module docstring.

    ``NB301Backend(path)`` loads the ensembles from the model directory (``model``: the performance
    ensemble, ``xgb`` or ``gnn_gin``; ``noise``: False queries the noise-free mean). Tests and callers
    holding loaded ensembles use :meth:`from_models`."""

    def __init__(self, path: str | None, model: str = "xgb", noise: bool = True) -> None:
        package = import_package()
        performance_dir, runtime_dir = model_dirs(path, model)
        self._setup(package.load_ensemble(str(performance_dir)), package.load_ensemble(str(runtime_dir)), noise)
        self.source = f"{performance_dir.name}+{runtime_dir.name}"

    @classmethod
    def from_models(cls, performance: Any, runtime: Any, noise: bool = True) -> "NB301Backend":
        """A backend over already-loaded surrogates (anything with NB301's ``predict(config, representation, with_noise)``)."""
        backend = cls.__new__(cls)
        backend._setup(performance, runtime, noise)
        backend.source = type(performance).__name__
        return backend

    def _setup(self, performance: Any, runtime: Any, noise: bool) -> None:
        self.performance, self.runtime, self.noise = performance, runtime, bool(noise)
        self._final: dict[Genotype, dict[str, float]] = {}

    def _predict(self, model: Any, genotype: Genotype, noise: bool) -> float:
        value = float(model.predict(config=to_darts_genotype(check(genotype, NB301)), representation="genotype",
                                    with_noise=noise))
        if not np.isfinite(value):
            raise ValueError(f"the NB301 surrogate returned {value} for {genotype}")
        return value

    def query(self, genotype: Genotype, rng: np.random.Generator) -> Evaluation:
        seed = int(rng.integers(2**32)) if self.noise else None
        state = np.random.get_state()
        try:
            if seed is not None:
                np.random.seed(seed)  # the package's noise comes from numpy's global generator
            accuracy = self._predict(self.performance, genotype, self.noise)
            seconds = self._predict(self.runtime, genotype, False)
        finally:
            np.random.set_state(state)
        return Evaluation(accuracy, max(seconds, 0.0))

    def final_metrics(self, genotype: Genotype) -> dict[str, float]:
        if genotype not in self._final:
            self._final[genotype] = {"cifar10_valid": self._predict(self.performance, genotype, False)}
        return dict(self._final[genotype])
