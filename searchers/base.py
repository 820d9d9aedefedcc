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
class Trial:
    """An architecture to train, and for multi-fidelity searchers, for how many epochs."""

    arch: Any
    epochs: int | None = None  # None: the space's search fidelity


class Searcher(ABC):
    name: ClassVar[str] = ""
    #: optional space capabilities this searcher needs, checked before a run starts
    requires: ClassVar[tuple[str, ...]] = ()

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
