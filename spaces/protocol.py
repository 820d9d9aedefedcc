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


#: The arguments nasearch passes to each required method (after ``self``), positionally.
#: The loader binds placeholders to each method's signature so a method that cannot be
#: called this way (e.g. ``sample(self)`` with no rng) is reported before any run starts.
METHOD_ARGUMENTS: dict[str, tuple[str, ...]] = {
    "sample": ("rng",),
    "mutate": ("arch", "rng"),
    "query": ("arch", "rng"),
    "final_metrics": ("arch",),
    "arch_id": ("arch",),
    "from_id": ("arch_id",),
    "build_network": ("arch", "num_classes"),
}

#: Optional capabilities: the methods that make each one, and how nasearch calls them.
#: ``neighbours(arch)`` lists every one-step neighbour (local search); ``proxy_batch`` gives
#: the (inputs, labels) proxies run on when CIFAR-10 images do not fit the space's networks;
#: ``proxy_score`` returns a precomputed ``(score, seconds)`` (or None) for spaces without
#: networks, such as a table.
CAPABILITIES: dict[str, dict[str, tuple[str, ...]]] = {
    "encoding": {"choices": (), "encode": ("arch",), "decode": ("indices",)},
    "fidelity": {"query_at": ("arch", "epochs", "rng")},
    "neighbours": {"neighbours": ("arch",)},
    "proxy_batch": {"proxy_batch": ("batch_size", "seed")},
    "proxy_score": {"proxy_score": ("proxy", "arch")},
}


def _call_problem(space: object, method: str, arguments: tuple[str, ...]) -> str | None:
    """Why ``space.method(*arguments)`` cannot be called, or None when it can."""
    import inspect

    value = getattr(space, method, None)
    if value is None:
        return f"missing {method}({', '.join(arguments)})"
    if not callable(value):
        shown = repr(value) if len(repr(value)) <= 40 else f"<{type(value).__name__}>"
        return f"{method} = {shown} is not a method; nasearch calls {method}({', '.join(arguments)})"
    try:
        signature = inspect.signature(value)
    except (TypeError, ValueError):  # builtins without signatures: trust them
        return None
    try:
        signature.bind(*arguments)
    except TypeError:
        shown = ", ".join(n for n in signature.parameters)
        return f"{method}({shown}) cannot be called as {method}({', '.join(arguments)})"
    return None


def protocol_problems(space: object) -> list[str]:
    """Every way ``space`` breaks the protocol (missing, non-callable or mistyped methods, and
    optional-capability methods present with the wrong arguments), in protocol order."""
    problems = [p for m, a in METHOD_ARGUMENTS.items() if (p := _call_problem(space, m, a))]
    for methods in CAPABILITIES.values():
        for method, arguments in methods.items():
            if getattr(space, method, None) is not None:
                problem = _call_problem(space, method, arguments)
                if problem:
                    problems.append(problem)
    return problems


def capabilities(space: object) -> list[str]:
    """The optional capabilities ``space`` offers (all of a capability's methods callable)."""
    return [
        name for name, methods in CAPABILITIES.items() if all(callable(getattr(space, m, None)) for m in methods)
    ]
