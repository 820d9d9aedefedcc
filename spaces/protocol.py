"""The contract every search space honours.

Searchers, proxies and the runner talk to spaces only through this protocol, so a user's
own space plugs in without touching nasearch. Randomness always arrives as an explicit
``numpy.random.Generator`` so that a run is a pure function of its seed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Hashable, Mapping, Protocol, Sequence, runtime_checkable

import numpy as np

Arch = Hashable
"""An architecture as the space represents it; must be hashable and picklable."""


@dataclass(frozen=True)
class Evaluation:
    """What one simulated training of an architecture returned.

    ``fitness`` is what the searcher optimises (higher is better); ``cost_seconds`` is what
    that training would have cost in wall time, charged to the run's simulated clock.
    """

    fitness: float
    cost_seconds: float
    extras: Mapping[str, float] = field(default_factory=dict)


#: Methods a space must have; the loader checks them by name so the error can name the gap.
REQUIRED_METHODS: tuple[str, ...] = (
    "sample",
    "mutate",
    "query",
    "final_metrics",
    "arch_id",
    "from_id",
    "build_network",
)


@runtime_checkable
class SearchSpace(Protocol):
    """A search space: a set of architectures plus the benchmark that trains them.

    ``name`` and ``version`` key every cache and result, so two spaces never share scores.
    """

    name: str
    version: str

    def sample(self, rng: np.random.Generator) -> Arch: ...

    def mutate(self, arch: Arch, rng: np.random.Generator) -> Arch: ...

    def query(self, arch: Arch, rng: np.random.Generator) -> Evaluation: ...

    def final_metrics(self, arch: Arch) -> dict[str, float]: ...

    def arch_id(self, arch: Arch) -> str: ...

    def from_id(self, arch_id: str) -> Arch: ...

    def build_network(self, arch: Arch, num_classes: int) -> Any: ...


@runtime_checkable
class CategoricalEncoding(Protocol):
    """Optional capability: the space is a product of categorical choices.

    REINFORCE's factorised policy and BOHB's ConfigSpace are built from it.
    """

    def choices(self) -> Sequence[Sequence[str]]: ...

    def encode(self, arch: Arch) -> tuple[int, ...]: ...

    def decode(self, indices: Sequence[int]) -> Arch: ...


@runtime_checkable
class MultiFidelity(Protocol):
    """Optional capability: the benchmark can report accuracy after ``epochs`` epochs.

    Hyperband and BOHB need it to run with real budgets.
    """

    max_epochs: int

    def query_at(self, arch: Arch, epochs: int, rng: np.random.Generator) -> Evaluation: ...


def missing_methods(space: object) -> list[str]:
    """Names of required protocol methods that ``space`` lacks or that are not callable."""
    return [name for name in REQUIRED_METHODS if not callable(getattr(space, name, None))]
