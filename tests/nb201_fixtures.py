"""Tiny benchmark files in the official NAS-Bench-201 and NATS-Bench (topology) formats.

The real files are gigabytes and cannot be fetched in tests, so these builders write a
handful of architectures with the benchmarks' own classes (``ArchResults`` filled with
``ResultsCount`` trials, exactly as the benchmark authors built theirs) and save them the
way the official files are saved: ``torch.save`` of ``{meta_archs, arch2infos,
evaluated_indexes}`` for NB201 (``less`` = 12 epochs, ``full`` = 200 epochs), and a
``meta.pickle.pbz2`` plus one ``{index:06d}.pickle.pbz2`` per architecture (``{'12': ...,
'200': ...}``) for the NATS ``-simple`` archive. Every number is kept in a :class:`Trial`
so tests compare what the backend returns with what was written, computed independently.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nasearch.spaces.nb201.genotype import NUM_ARCHS, OPS, Genotype, to_arch_str
from nasearch.spaces.nb201.space import NB201Space

#: evaluation sets per training split, as NB201 records them
EVAL_SETS: dict[str, tuple[str, ...]] = {
    "cifar10-valid": ("x-valid", "ori-test"),
    "cifar10": ("ori-test",),
    "cifar100": ("ori-test", "x-valid", "x-test"),
    "ImageNet16-120": ("ori-test", "x-valid", "x-test"),
}
NUM_CLASSES = {"cifar10-valid": 10, "cifar10": 10, "cifar100": 100, "ImageNet16-120": 120}
#: trial seeds per schedule and split (NB201 v1_1: 12-epoch cifar10-valid twice, others once)
SEEDS: dict[str, dict[str, tuple[int, ...]]] = {
    "12": {"cifar10-valid": (777, 888), "cifar10": (777,), "cifar100": (777, 999), "ImageNet16-120": (777,)},
    "200": {"cifar10-valid": (777, 888, 999), "cifar10": (777, 888), "cifar100": (777, 888), "ImageNet16-120": (888, 999)},
}
EPOCHS = {"12": 12, "200": 200}
SPARSE_SPLITS = ("cifar100", "ImageNet16-120")
#: the fixture archs: a few distinct cells plus the best-known-style all-conv cell
FIXTURE_ARCHS: tuple[Genotype, ...] = ((3, 3, 3, 3, 3, 3), (1, 0, 2, 3, 4, 1), (2, 2, 0, 1, 3, 4), (0, 0, 0, 0, 0, 0))


@dataclass
class Curve:
    """One evaluation set's per-epoch accuracy, loss and seconds."""

    acc: list[float]
    loss: list[float]
    time: list[float]


@dataclass
class Trial:
    """Everything written for one (arch, hp, split, seed) trial."""

    train: Curve
    evals: dict[str, Curve]
    params: float
    flop: float
    latency: float


@dataclass
class FixtureSpec:
    """What a fixture file contains: archs with results, the official order and all values."""

    archs: tuple[Genotype, ...]
    meta_archs: list[str]
    trials: dict[tuple[str, str, str, int], Trial] = field(default_factory=dict)
    #: archs listed in ``meta_archs`` whose results are deliberately left out of the file
    without_results: tuple[Genotype, ...] = ()

    def index(self, arch: Genotype) -> int:
        return self.meta_archs.index(to_arch_str(arch))

    def trial(self, arch: Genotype, hp: str, split: str, seed: int) -> Trial:
        return self.trials[(to_arch_str(arch), hp, split, seed)]


def official_order(seed: int = 0) -> list[str]:
    """All 15,625 arch strings in a shuffled order: the official index is not our base-5 index."""
    strings = [to_arch_str(ops) for ops in itertools.product(range(len(OPS)), repeat=6)]
    order = np.random.default_rng(seed).permutation(NUM_ARCHS)
    return [strings[i] for i in order]


def _curve(rng: np.random.Generator, epochs: int, start: float, end: float, seconds: float) -> Curve:
    """A rising accuracy curve with jitter; values are rounded so they print and compare cleanly."""
    base = np.linspace(start, end, epochs) + rng.uniform(-0.5, 0.5, epochs)
    loss = np.linspace(2.3, 0.3, epochs) + rng.uniform(0, 0.05, epochs)
    time = seconds * rng.uniform(0.9, 1.1, epochs)
    return Curve([round(float(a), 4) for a in base], [round(float(x), 4) for x in loss], [round(float(t), 4) for t in time])


def make_spec(
    archs: tuple[Genotype, ...] = FIXTURE_ARCHS,
    without_results: tuple[Genotype, ...] = (),
    seed: int = 0,
) -> FixtureSpec:
    """Deterministic values for every (arch, hp, split, seed) of ``archs``."""
    rng = np.random.default_rng(seed)
    spec = FixtureSpec(archs=tuple(archs), meta_archs=official_order(seed), without_results=tuple(without_results))
    for a, arch in enumerate(archs):
        arch_str = to_arch_str(arch)
        params = round(0.1 + 0.2 * a + 0.01 * sum(arch), 6)
        for hp, per_split in SEEDS.items():
            epochs = EPOCHS[hp]
            for split, seeds in per_split.items():
                for seed_value in seeds:
                    top = 50.0 + 10 * a + rng.uniform(0, 5) + (30 if hp == "200" else 0)
                    evals = {name: _curve(rng, epochs, 10.0, top - i, 2.0 + i) for i, name in enumerate(EVAL_SETS[split])}
                    spec.trials[(arch_str, hp, split, seed_value)] = Trial(
                        train=_curve(rng, epochs, 10.0, top + 5, 20.0 + 3 * a),
                        evals=evals,
                        params=params + (0.0864 if NUM_CLASSES[split] > 10 else 0.0),
                        flop=round(10.0 + 5 * a, 4),
                        latency=round(0.01 + 0.001 * a, 6),
                    )
    return spec


def _arch_results(module: Any, spec: FixtureSpec, arch: Genotype, index: int, hp: str, numpy_scalars: bool,
                  sparse_valid: bool = False) -> Any:
    """An ``ArchResults`` of ``module`` (nas_201_api.api_utils or nats_bench.api_utils) for one schedule.

    ``sparse_valid``: the 12-epoch cifar100 / ImageNet16-120 trials keep their validation
    accuracy only for the last epoch (times for all), the case NATS's ``simulate_train_eval``
    answers with the valid+test accuracy.
    """
    arch_str = to_arch_str(arch)
    results = module.ArchResults(index, arch_str)
    epochs = EPOCHS[hp]
    for split, seeds in SEEDS[hp].items():
        for seed in seeds:
            trial = spec.trial(arch, hp, split, seed)
            config = {"name": "infer.tiny", "channel": 16, "num_cells": 5, "arch_str": arch_str, "class_num": NUM_CLASSES[split]}
            params = np.float64(trial.params) if numpy_scalars else trial.params
            count = module.ResultsCount(
                split, None, dict(enumerate(trial.train.acc)), dict(enumerate(trial.train.loss)),
                params, trial.flop, config, seed, epochs, [trial.latency],
            )
            count.update_train_info(
                dict(enumerate(trial.train.acc)), dict(enumerate(min(100.0, a + 20) for a in trial.train.acc)),
                dict(enumerate(trial.train.loss)), dict(enumerate(trial.train.time)),
            )
            accs, losses, times = {}, {}, {}
            for name, curve in trial.evals.items():
                for e in range(epochs):
                    accs[f"{name}@{e}"], losses[f"{name}@{e}"], times[f"{name}@{e}"] = curve.acc[e], curve.loss[e], curve.time[e]
            count.update_eval(accs, losses, times)
            if sparse_valid and hp == "12" and split in SPARSE_SPLITS:
                for e in range(epochs - 1):
                    del count.eval_acc1es[f"x-valid@{e}"], count.eval_losses[f"x-valid@{e}"]
            results.update(split, seed, count)
    return results


def write_nb201_file(spec: FixtureSpec, path: Path, legacy_format: bool = False, numpy_scalars: bool = False,
                     sparse_valid: bool = False) -> Path:
    """Save ``spec`` as a NAS-Bench-201 ``.pth`` (``legacy_format``: torch<1.6 non-zip, as the 2020 files)."""
    import torch
    from nas_201_api import api_utils

    arch2infos = {}
    for arch in spec.archs:
        if arch in spec.without_results:
            continue
        index = spec.index(arch)
        arch2infos[index] = {
            "less": _arch_results(api_utils, spec, arch, index, "12", numpy_scalars, sparse_valid).state_dict(),
            "full": _arch_results(api_utils, spec, arch, index, "200", numpy_scalars).state_dict(),
        }
    data = {"meta_archs": spec.meta_archs, "arch2infos": arch2infos, "evaluated_indexes": sorted(arch2infos)}
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(data, path, _use_new_zipfile_serialization=not legacy_format)
    return path


def write_nats_dir(spec: FixtureSpec, directory: Path, sparse_valid: bool = False) -> Path:
    """Save ``spec`` as a NATS-Bench topology ``-simple`` archive (read with fast_mode=True)."""
    from nats_bench import api_utils

    directory.mkdir(parents=True, exist_ok=True)
    api_utils.pickle_save({"meta_archs": spec.meta_archs}, str(directory / "meta.pickle"))
    for arch in spec.archs:
        if arch in spec.without_results:
            continue
        index = spec.index(arch)
        per_hp = {hp: _arch_results(api_utils, spec, arch, index, hp, False, sparse_valid).state_dict() for hp in ("12", "200")}
        api_utils.pickle_save(per_hp, str(directory / f"{index:06d}.pickle"))
    return directory


# -- what the backend should return, computed from the spec without the benchmark APIs ----------
def expected_query(spec: FixtureSpec, arch: Genotype, split: str, seed: int, epochs: int = 12) -> tuple[float, float]:
    """(validation accuracy, train seconds of ``epochs`` epochs + mean validation seconds per epoch)."""
    trial = spec.trial(arch, "12", split, seed)
    valid = trial.evals["x-valid"]
    return valid.acc[epochs - 1], sum(trial.train.time[:epochs]) + sum(valid.time[:epochs]) / epochs


def expected_sparse_query(spec: FixtureSpec, arch: Genotype, split: str, seed: int, epochs: int) -> tuple[float, float]:
    """For a ``sparse_valid`` file before the last epoch: valid+test accuracy, last-epoch validation time."""
    trial = spec.trial(arch, "12", split, seed)
    valid = trial.evals["x-valid"]
    return trial.evals["ori-test"].acc[epochs - 1], sum(trial.train.time[:epochs]) + sum(valid.time) / len(valid.time)


def expected_final(spec: FixtureSpec, arch: Genotype) -> dict[str, float]:
    """Seed-mean last-epoch 200-epoch accuracies under the backend's metric names."""
    sources = {
        "cifar10_valid": ("cifar10-valid", "x-valid"), "cifar10_test": ("cifar10", "ori-test"),
        "cifar100_valid": ("cifar100", "x-valid"), "cifar100_test": ("cifar100", "x-test"),
        "imagenet16_valid": ("ImageNet16-120", "x-valid"), "imagenet16_test": ("ImageNet16-120", "x-test"),
    }
    out = {}
    for metric, (split, name) in sources.items():
        values = [spec.trial(arch, "200", split, s).evals[name].acc[-1] for s in SEEDS["200"][split]]
        out[metric] = sum(values) / len(values)
    return out



class FixtureNB201Space(NB201Space):
    """NB201 over a fixture file, with sampling and mutation kept to the archs the file holds.

    Mutation over all 15,625 cells would leave a fixture within a step, so an end-to-end
    search over a fixture needs this restriction; everything else is :class:`NB201Space`.
    """

    def __init__(self, backend: str = "nb201", dataset: str = "cifar10", path: str | None = None,
                 archs: tuple[Genotype, ...] = FIXTURE_ARCHS[:3]) -> None:
        super().__init__(backend=backend, dataset=dataset, path=path)
        self.fixture_archs = tuple(tuple(int(op) for op in a) for a in archs)

    def sample(self, rng: np.random.Generator) -> Genotype:
        return self.fixture_archs[int(rng.integers(len(self.fixture_archs)))]  # type: ignore[return-value]

    def mutate(self, arch: Genotype, rng: np.random.Generator) -> Genotype:
        others = [a for a in self.fixture_archs if a != tuple(arch)]
        return others[int(rng.integers(len(others)))]  # type: ignore[return-value]
