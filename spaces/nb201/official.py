"""The official NAS-Bench-201 and NATS-Bench (topology) backends: the paper's exact protocol.

Both benchmarks record 12-epoch (``hp='12'``) and 200-epoch (``hp='200'``) training runs
per architecture, per dataset and per trial seed, with per-epoch curves and times. This
backend reads them through the benchmarks' own APIs (``nas_201_api`` and ``nats_bench``)
so that the numbers are exactly what the NB201 tools would report:

* ``query`` is ``get_more_info(index, '<split>', iepoch=None, hp='12', is_random=<seed>)``:
  fitness is the validation accuracy of one trial, cost is ``train-all-time +
  valid-per-time``, as ``simulate_train_eval`` charges it. The trial seed is drawn from the
  run's ``rng`` and handed to the API as an integer (``is_random`` accepts a seed), so the
  API never touches Python's global ``random`` and a run stays a function of its seed.
* ``query_at`` is the same after ``epochs`` epochs of the 12-epoch schedule (``iepoch =
  epochs - 1``), as NATS-Bench's BOHB/Hyperband scripts query it.
* ``learning_curve`` is the per-epoch validation accuracy and training loss of one trial's
  first ``epochs`` epochs (``iepoch = 0 .. epochs - 1``), for the learning-curve predictors.
* ``final_metrics`` are the seed-averaged (``is_random=False``) 200-epoch accuracies.

CIFAR-10 is searched on the ``cifar10-valid`` split (train on half of the training set,
validate on the other half), as NAS-Bench-201 does; its test accuracy comes from the
``cifar10`` split (trained on the full training set).
"""
from __future__ import annotations

import importlib
import math
import os
import pickle
import re
from pathlib import Path
from typing import Any

import numpy as np

from nasearch.errors import UsageError
from nasearch.spaces.nb201.genotype import to_arch_str
from nasearch.spaces.protocol import Evaluation

#: the NB201 tools' default file names, newest first (v1_0 lacks most 12-epoch results)
NB201_FILES: tuple[str, ...] = ("NAS-Bench-201-v1_1-096897.pth", "NAS-Bench-201-v1_0-e61699.pth")
#: the NATS-Bench topology archive read in fast mode (one small file per architecture)
NATS_TSS_DIR = "NATS-tss-v1_0-3ffb9-simple"
KINDS = ("nb201", "nats")
SEARCH_HP = "12"
FINAL_HP = "200"
#: the dataset a search runs on -> the benchmark split whose validation accuracy it maximises
SEARCH_SPLITS: dict[str, str] = {"cifar10": "cifar10-valid", "cifar100": "cifar100", "ImageNet16-120": "ImageNet16-120"}
#: final-metric name -> (benchmark split, ``get_more_info`` key); names match the embedded backend
FINAL_METRICS: dict[str, tuple[str, str]] = {
    "cifar10_valid": ("cifar10-valid", "valid-accuracy"),
    "cifar10_test": ("cifar10", "test-accuracy"),
    "cifar100_valid": ("cifar100", "valid-accuracy"),
    "cifar100_test": ("cifar100", "test-accuracy"),
    "imagenet16_valid": ("ImageNet16-120", "valid-accuracy"),
    "imagenet16_test": ("ImageNet16-120", "test-accuracy"),
}
#: errors the APIs raise when an architecture's results are absent or unreadable
_LOOKUP_ERRORS = (KeyError, ValueError, AssertionError, OSError, EOFError, pickle.UnpicklingError)


class MissingArchitecture(UsageError):
    """The benchmark file has no results for an architecture (e.g. a partial or test file)."""


def torch_home() -> Path:
    """``$TORCH_HOME``, else ``~/.torch``: where the NB201 / NATS tools look for their files."""
    if os.environ.get("TORCH_HOME"):
        return Path(os.environ["TORCH_HOME"])
    return Path.home() / ".torch"


def _default_names(kind: str) -> tuple[str, ...]:
    return NB201_FILES if kind == "nb201" else (NATS_TSS_DIR,)


def _is_benchmark(kind: str, path: Path) -> bool:
    """A NB201 ``.pth`` file, or a NATS fast-mode directory (it starts from ``meta.pickle.pbz2``)."""
    if kind == "nb201":
        return path.is_file()
    return path.is_dir() and (path / "meta.pickle.pbz2").is_file()


def resolve_path(kind: str, path: str | os.PathLike | None) -> Path:
    """The benchmark file (NB201) or archive directory (NATS) to open, or a one-line UsageError.

    ``path`` may name the file/directory itself or a directory holding the default names;
    without it, the default names are looked up in :func:`torch_home`, newest first.
    """
    names = _default_names(kind)
    wanted = f"{names[0]} (or {names[1]})" if kind == "nb201" else f"the {NATS_TSS_DIR} directory"
    if path is None:
        home = torch_home()
        found = [home / name for name in names if _is_benchmark(kind, home / name)]
        if found:
            return found[0]
        where = f"$TORCH_HOME ({home})" if os.environ.get("TORCH_HOME") else f"{home} ($TORCH_HOME is unset)"
        raise UsageError(f"space backend {kind!r}: no {wanted} in {where}; download it there or set space.args.path")
    given = Path(path).expanduser()
    if _is_benchmark(kind, given):
        return given
    found = [given / name for name in names if given.is_dir() and _is_benchmark(kind, given / name)]
    if found:
        return found[0]
    if kind == "nats" and given.is_file():
        raise UsageError(f"space.args.path: {given} is a file; backend 'nats' reads the {NATS_TSS_DIR} directory")
    raise UsageError(f"space.args.path: {given} is not {wanted}; point it at the downloaded benchmark")


def _import(module: str, package: str, kind: str) -> Any:
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            raise UsageError(f"space backend {kind!r} needs the {package!r} package: pip install {package}") from None
        raise


class _HandOver(dict):
    """An already-loaded benchmark dict that the API may keep without its defensive deep copy.

    ``NASBench201API`` deep-copies a dict it is given; the official file is gigabytes, so
    copying it would double peak memory for nothing (nobody else holds the dict).
    """

    def __deepcopy__(self, memo: dict) -> "_HandOver":
        return self


#: set to 1 to let a benchmark file that holds Python objects outside the allow-list be fully
#: unpickled (which can run code from the file): only for files from a trusted source
TRUST_PICKLE_ENV = "NASEARCH_TRUST_PICKLE"


def trust_pickle() -> bool:
    return os.environ.get(TRUST_PICKLE_ENV, "") == "1"


def _refusal(path: Path | str, what: str) -> str:
    return (
        f"{path} holds {what}, outside the benchmark's allow-list; unpickling it could run code from the file."
        f" If it is the official benchmark from a trusted source, set {TRUST_PICKLE_ENV}=1 to load it anyway"
    )


def _numpy_globals() -> list:
    """The numpy types a pickle of results may hold (scalars, dtypes, arrays) under both module names."""
    try:
        from numpy._core import multiarray
    except ImportError:  # numpy < 2
        from numpy.core import multiarray
    allowed: list = [np.dtype, np.ndarray, multiarray.scalar, multiarray._reconstruct]
    allowed += sorted({type(np.dtype(code)) for code in "?bBhHiIlLqQefdgFDGSUV"}, key=str)  # not object dtype
    for name in ("numpy.core.multiarray", "numpy._core.multiarray"):  # files pickled by numpy 1.x or 2.x
        allowed += [(multiarray.scalar, f"{name}.scalar"), (multiarray._reconstruct, f"{name}._reconstruct")]
    return allowed


def load_nb201_file(path: Path) -> Any:
    """The benchmark dict of a NAS-Bench-201 ``.pth``, without running code from it.

    The official file is a ``torch.save`` of plain result dicts (made with torch 1.x), so it
    loads with ``weights_only=True`` plus numpy's scalar and array types on the allow-list.
    A file holding any other Python object is refused (a crafted one could run code) unless
    ``$NASEARCH_TRUST_PICKLE=1``, which loads it as NB201's own tools do (a full unpickle).
    """
    import torch

    try:
        with torch.serialization.safe_globals(_numpy_globals()):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"Unsupported global: GLOBAL\s+([\w.]+)|types allowlisted .* but got <class '([\w.]+)'>", str(exc))
        if found is None:
            raise  # not an object outside the allow-list: a damaged or foreign file
        if trust_pickle():
            return torch.load(path, map_location="cpu", weights_only=False)
        raise UsageError(_refusal(path, f"the Python object {found.group(1) or found.group(2)}")) from None


def load_nb201_api(path: Path) -> Any:
    """``NASBench201API`` over ``path``, loaded by :func:`load_nb201_file` and handed over as a dict.

    ``nas-bench-201==2.1`` would call ``torch.load(path)`` itself, which since torch 2.6
    refuses the numpy scalars a results pickle may hold (and before 2.6 ran any code in it).
    """
    api_module = _import("nas_201_api", "nas-bench-201", "nb201")
    try:
        data = load_nb201_file(path)
        if not isinstance(data, dict):
            raise ValueError(f"expected a dict, found {type(data).__name__}")
        api = api_module.NASBench201API(_HandOver(data), verbose=False)
    except (AssertionError, KeyError, ValueError, TypeError, RuntimeError, EOFError, pickle.UnpicklingError) as exc:
        raise UsageError(f"space.args.path: {path} is not a NAS-Bench-201 benchmark file ({_one_line(exc)})") from None
    api.filename = path.name
    return api


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickles plain data only: containers, numbers, strings and the allow-listed types."""

    def find_class(self, module: str, name: str) -> Any:
        allowed = {("collections", "OrderedDict"), ("builtins", "set"), ("builtins", "frozenset")}
        allowed |= {(m, n) for m in ("numpy.core.multiarray", "numpy._core.multiarray") for n in ("scalar", "_reconstruct")}
        allowed |= {("numpy", "dtype"), ("numpy", "ndarray")}
        if (module, name) in allowed:
            return super().find_class(module, name)
        # a UsageError, not an UnpicklingError: no lookup handler may mistake it for a missing result
        raise UsageError(_refusal(getattr(self, "path", "the file"), f"the Python object {module}.{name}"))


def _nats_pickle_load(file_path: Any, ext: str = ".pbz2") -> Any:
    """``nats_bench.api_utils.pickle_load`` with the allow-list (a full unpickle only if trusted)."""
    import bz2

    from nats_bench import api_utils

    if trust_pickle() or getattr(api_utils, "_FILE_SYSTEM", "default") != "default":
        return _NATS_ORIGINAL_LOAD(file_path, ext)
    xfile_path = str(file_path) if api_utils.nats_is_file(str(file_path)) else str(file_path) + ext
    with bz2.BZ2File(xfile_path, "rb") as handle:
        unpickler = _RestrictedUnpickler(handle)
        unpickler.path = xfile_path
        return unpickler.load()


_NATS_ORIGINAL_LOAD: Any = None


def _install_nats_loader() -> None:
    """Route every archive read of ``nats_bench`` (meta file and the lazily read per-arch files) through the allow-list."""
    global _NATS_ORIGINAL_LOAD
    from nats_bench import api_topology, api_utils

    if _NATS_ORIGINAL_LOAD is None:
        _NATS_ORIGINAL_LOAD = api_utils.pickle_load
    for module in (api_utils, api_topology):
        if getattr(module, "pickle_load", None) is not _nats_pickle_load:
            module.pickle_load = _nats_pickle_load


def load_nats_api(path: Path) -> Any:
    """NATS-Bench topology API in fast mode: each architecture's file is read on first use."""
    nats_bench = _import("nats_bench", "nats_bench", "nats")
    _install_nats_loader()
    try:
        return nats_bench.create(str(path), "tss", fast_mode=True, verbose=False)
    except (KeyError, ValueError, OSError, EOFError, pickle.UnpicklingError) as exc:
        raise UsageError(f"space.args.path: {path} is not a NATS-Bench topology archive ({_one_line(exc)})") from None


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


class OfficialBackend:
    """NB201 results from the official NAS-Bench-201 file or the NATS-Bench topology archive.

    ``dataset`` is the one searched (its validation split); final metrics cover all three.
    """

    name = "official"
    has_test_accuracy = True
    #: epochs of the search schedule (``hp='12'``): the top fidelity of ``query_at``
    max_epochs = int(SEARCH_HP)

    def __init__(self, kind: str = "nb201", dataset: str = "cifar10", path: str | os.PathLike | None = None) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown official NB201 backend {kind!r}; use one of {KINDS}")
        if dataset not in SEARCH_SPLITS:
            raise ValueError(f"unknown NB201 dataset {dataset!r}; expected one of {sorted(SEARCH_SPLITS)}")
        self.kind = kind
        self.dataset = dataset
        self.split = SEARCH_SPLITS[dataset]
        self.path = resolve_path(kind, path)
        self.api = load_nb201_api(self.path) if kind == "nb201" else load_nats_api(self.path)
        self._indexes: dict[tuple[int, ...], int] = {}
        self._seeds: dict[tuple[int, str], dict[str, tuple[int, ...]]] = {}
        self._final: dict[int, dict[str, float]] = {}
        self._sizes: dict[int, float] = {}

    # -- lookups ----------------------------------------------------------------------
    def index(self, ops: tuple[int, ...]) -> int:
        """The architecture's index in the benchmark (the official order, not ours)."""
        key = tuple(ops)
        if key not in self._indexes:
            index = self.api.query_index_by_arch(to_arch_str(key))
            if index < 0:
                raise MissingArchitecture(
                    f"{self.kind} benchmark {self.path} does not list arch {to_arch_str(key)}; use the official file"
                )
            self._indexes[key] = int(index)
        return self._indexes[key]

    def seeds(self, index: int, hp: str, split: str) -> tuple[int, ...]:
        """Trial seeds recorded for (architecture, schedule, split), cached: they never change."""
        if (index, hp) not in self._seeds:
            try:
                results = self.api.query_meta_info_by_index(index, hp)
            except _LOOKUP_ERRORS as exc:
                raise MissingArchitecture(
                    f"{self.kind} benchmark {self.path} has no hp={hp} results for arch {self.api.meta_archs[index]}"
                    f" (index {index}): {_one_line(exc)}"
                ) from None
            self._seeds[(index, hp)] = {name: tuple(results.get_dataset_seeds(name)) for name in results.get_dataset_names()}
        seeds = self._seeds[(index, hp)].get(split)
        if not seeds:
            raise MissingArchitecture(
                f"{self.kind} benchmark {self.path} has no {hp}-epoch results on {split!r} for arch"
                f" {self.api.meta_archs[index]} (NB201 v1_0 has 12-epoch results for cifar10-valid only); use the v1_1"
                " file or dataset cifar10"
            )
        return seeds

    # -- search-time queries -------------------------------------------------------------
    def query(self, ops: tuple[int, ...], rng: np.random.Generator) -> Evaluation:
        """One trial's validation accuracy after the 12-epoch schedule, and what it cost."""
        return self._train_eval(ops, None, rng)

    def query_at(self, ops: tuple[int, ...], epochs: int, rng: np.random.Generator) -> Evaluation:
        """Validation accuracy after ``epochs`` of the 12 epochs, and the time of those epochs."""
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or not 1 <= epochs <= self.max_epochs:
            raise ValueError(f"epochs must be an integer in 1..{self.max_epochs} (the hp='12' schedule), got {epochs!r}")
        return self._train_eval(ops, int(epochs) - 1, rng)

    def _train_eval(self, ops: tuple[int, ...], iepoch: int | None, rng: np.random.Generator) -> Evaluation:
        index = self.index(ops)
        seeds = self.seeds(index, SEARCH_HP, self.split)
        seed = int(seeds[int(rng.integers(len(seeds)))])
        info = self._info(index, self.split, iepoch, SEARCH_HP, seed)
        if "valid-accuracy" in info:
            accuracy, valid_per_time = info["valid-accuracy"], info.get("valid-per-time")
        else:
            # As NATS's simulate_train_eval: a split without a validation record at this epoch
            # reports the valid+test ("valtest") accuracy and the last epoch's validation time.
            accuracy = info.get("valtest-accuracy")
            valid_per_time = self._info(index, self.split, None, SEARCH_HP, seed).get("valid-per-time")
        train_time = info.get("train-all-time")
        if accuracy is None or train_time is None or valid_per_time is None:
            raise MissingArchitecture(
                f"{self.kind} benchmark {self.path}: arch {self.api.meta_archs[index]} lacks validation accuracy or"
                f" times on {self.split!r} (hp={SEARCH_HP}, seed {seed})"
            )
        return Evaluation(
            fitness=float(accuracy),
            cost_seconds=float(train_time) + float(valid_per_time),
            extras={"seed": float(seed), "epochs": float(self.max_epochs if iepoch is None else iepoch + 1)},
        )

    def learning_curve(self, ops: tuple[int, ...], epochs: int, rng: np.random.Generator) -> dict:
        """One trial's first ``epochs`` epochs of the 12-epoch schedule, epoch by epoch, from the file.

        The trial seed is drawn from ``rng`` as :meth:`query` draws it (one draw). ``valid_acc``
        is the validation accuracy after each epoch (a split without per-epoch validation falls
        back to the valid+test accuracy, as :meth:`query_at` does), ``train_loss`` the epoch's
        training loss, and ``seconds`` what the partial training cost: the training time of
        those epochs plus one validation pass per epoch (a curve is validated every epoch).
        """
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or not 1 <= epochs <= self.max_epochs:
            raise ValueError(f"epochs must be an integer in 1..{self.max_epochs} (the hp='12' schedule), got {epochs!r}")
        index = self.index(ops)
        seeds = self.seeds(index, SEARCH_HP, self.split)
        seed = int(seeds[int(rng.integers(len(seeds)))])
        valid_acc, train_loss = [], []
        info: dict = {}
        for iepoch in range(int(epochs)):
            info = self._info(index, self.split, iepoch, SEARCH_HP, seed)
            accuracy = info.get("valid-accuracy", info.get("valtest-accuracy"))
            loss = info.get("train-loss")
            if accuracy is None or loss is None:
                raise MissingArchitecture(
                    f"{self.kind} benchmark {self.path}: arch {self.api.meta_archs[index]} lacks the validation accuracy"
                    f" or training loss of epoch {iepoch + 1} on {self.split!r} (hp={SEARCH_HP}, seed {seed})"
                )
            valid_acc.append(float(accuracy))
            train_loss.append(float(loss))
        valid_seconds = info.get("valid-all-time")
        if valid_seconds is None:  # no per-epoch validation record: the schedule's mean validation pass
            per_pass = self._info(index, self.split, None, SEARCH_HP, seed).get("valid-per-time")
            valid_seconds = None if per_pass is None else float(per_pass) * int(epochs)
        train_seconds = info.get("train-all-time")
        if train_seconds is None or valid_seconds is None:
            raise MissingArchitecture(
                f"{self.kind} benchmark {self.path}: arch {self.api.meta_archs[index]} lacks training or validation"
                f" times on {self.split!r} (hp={SEARCH_HP}, seed {seed})"
            )
        return {"valid_acc": valid_acc, "train_loss": train_loss, "seconds": float(train_seconds) + float(valid_seconds),
                "seed": seed}

    def _info(self, index: int, split: str, iepoch: int | None, hp: str, is_random: int | bool) -> dict:
        try:
            return self.api.get_more_info(index, split, iepoch=iepoch, hp=hp, is_random=is_random)
        except _LOOKUP_ERRORS as exc:
            raise MissingArchitecture(
                f"{self.kind} benchmark {self.path}: no hp={hp} {split!r} results for arch {self.api.meta_archs[index]}"
                f" at epoch {iepoch}: {_one_line(exc)}"
            ) from None

    # -- reporting -------------------------------------------------------------------------
    def final_metrics(self, ops: tuple[int, ...]) -> dict[str, float]:
        """Seed-mean 200-epoch accuracies per split; cached, since every incumbent asks."""
        index = self.index(ops)
        if index not in self._final:
            infos: dict[str, dict] = {}
            metrics: dict[str, float] = {}
            for metric, (split, key) in FINAL_METRICS.items():
                self.seeds(index, FINAL_HP, split)  # a clear error when the split is absent
                if split not in infos:
                    infos[split] = self._info(index, split, None, FINAL_HP, False)
                value = infos[split].get(key)
                if value is None:
                    raise MissingArchitecture(
                        f"{self.kind} benchmark {self.path}: no 200-epoch {key} on {split!r} for arch"
                        f" {self.api.meta_archs[index]}"
                    )
                metrics[metric] = float(value)
            self._final[index] = metrics
        return dict(self._final[index])

    def model_size_mb(self, ops: tuple[int, ...]) -> float:
        """Millions of parameters with a 10-class head, as the benchmark recorded them."""
        index = self.index(ops)
        if index not in self._sizes:
            self.seeds(index, FINAL_HP, "cifar10-valid")
            params = self.api.get_cost_info(index, "cifar10-valid", hp=FINAL_HP)["params"]
            if params is None or not math.isfinite(float(params)):
                raise MissingArchitecture(f"{self.kind} benchmark {self.path}: no parameter count for index {index}")
            self._sizes[index] = float(params)
        return self._sizes[index]
