"""Searchers are ask/tell objects; the runner owns the loop and the clock.

A searcher never trains anything itself: ``propose`` returns the next :class:`Trial`, the
runner queries the space and charges the clock, and ``observe`` hands the result back. What
a searcher's own work costs (a predictor fit) it owes to :attr:`Searcher.ledger`, which the
runner drains after every ``propose``.
Every place where a searcher draws a candidate goes through :meth:`Searcher.draw`, which is
where the pool-selection hook plugs in — so G-RS, G-REA, ... are these same classes.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Callable, ClassVar

import numpy as np

from nasearch.clock import Ledger
from nasearch.spaces.protocol import Evaluation


@dataclass(frozen=True)
class Bound:
    """Where a numeric searcher argument must lie (``None``: no limit; ``open``: the limit itself is out).

    Declared per argument in :attr:`Searcher.bounds` and checked, with the argument's name, before the
    searcher is made (:func:`nasearch.loading.construct`), so ``min_bandwidth: -1`` or a draw count no run
    can afford (``num_samples: 1e9``) is one line at once, not a hang or a crash inside a run."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def problem(self, value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None  # the argument's type is checked from its annotation
        low_ok = self.low is None or value > self.low or (value == self.low and not self.low_open)
        high_ok = self.high is None or value < self.high or (value == self.high and not self.high_open)
        if low_ok and high_ok:
            return None
        if self.low is not None and self.high is not None:
            where = f"in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}{')' if self.high_open else ']'}"
        elif self.low is not None:
            where = f"{'>' if self.low_open else '>='} {self.low:g}"
        else:
            where = f"{'<' if self.high_open else '<='} {self.high:g}"
        return f"must be {where}, got {value!r}"


#: at most this many candidates drawn for one step (a pool, an acquisition's sample): as hook.k
MAX_DRAWS = 10_000
POSITIVE = Bound(0, low_open=True)
AT_LEAST_ONE = Bound(1)
NON_NEGATIVE = Bound(0)
DRAWS = Bound(1, MAX_DRAWS)


def declared_bounds(cls: Any) -> dict[str, Bound]:
    """Every :attr:`Searcher.bounds` along ``cls``'s classes, a subclass's winning."""
    merged: dict[str, Bound] = {}
    for klass in reversed(getattr(cls, "__mro__", ())):
        merged.update(vars(klass).get("bounds", {}))
    return merged


@dataclass(frozen=True)
class Trial:
    """An architecture to train, and for multi-fidelity searchers, for how many epochs."""

    arch: Any
    epochs: int | None = None  # None: the space's search fidelity


class Searcher(ABC):
    name: ClassVar[str] = ""
    #: optional space capabilities this searcher needs, checked before a run starts
    requires: ClassVar[tuple[str, ...]] = ()
    #: argument name -> where its value must lie, checked before the searcher is made (see :class:`Bound`);
    #: a subclass declares its own arguments', the base classes' are kept
    bounds: ClassVar[dict[str, Bound]] = {}

    def __init__(self, space: Any, pool: Any = None) -> None:
        self.space = space
        self.pool = pool
        #: what this run's search owes the clock (predictor fits, ...): the pool's ledger when there
        #: is a hook, so the runner drains one channel, in the order the costs were made
        self.ledger: Ledger = pool.ledger if pool is not None else Ledger()

    def draw(self, rng: np.random.Generator, generate: Callable[[np.random.Generator], Any]) -> Any:
        """One candidate from ``generate``; with the hook, the proxy's best of k (see :func:`nasearch.hook.draw_many`)."""
        if self.pool is None:
            return generate(rng)
        return self.pool.draw(rng, generate)

    @abstractmethod
    def propose(self, rng: np.random.Generator) -> Trial: ...

    @abstractmethod
    def observe(self, trial: Trial, evaluation: Evaluation) -> None: ...
