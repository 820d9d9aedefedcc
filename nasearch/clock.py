"""The simulated wall clock of one search run.

Every cost a real search would pay goes through :meth:`SimulatedClock.charge`: training
(each ``query``), proxy scoring and predictor fits/queries. The paper's stopping rule is kept exactly: a charge
that would overflow the budget is refused and the run ends without counting that step.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

from nasearch.errors import BudgetExhausted, UsageError

PROXY_COST_POLICIES = ("measured", "lookup")


@dataclass
class SimulatedClock:
    budget_seconds: float
    elapsed: float = 0.0
    training_seconds: float = 0.0
    #: every non-training charge (proxy scores and predictors alike), as it always was
    proxy_seconds: float = 0.0
    #: the part of ``proxy_seconds`` charged as kind "predictor" (fits and queries)
    predictor_seconds: float = 0.0

    def charge(self, seconds: float, kind: str = "training") -> None:
        """Advance the clock, or raise :class:`BudgetExhausted` if the budget cannot pay."""
        if self.elapsed + seconds > self.budget_seconds:
            raise BudgetExhausted(kind, seconds)
        self.elapsed += seconds
        if kind == "training":
            self.training_seconds += seconds
        else:
            self.proxy_seconds += seconds
            if kind == "predictor":
                self.predictor_seconds += seconds


class Debt(NamedTuple):
    """One cost a searcher or its pool owes the run's clock (see :class:`Ledger`)."""

    #: the clock's kind: ``"proxy"`` (a zero-cost score) or ``"predictor"`` (a fit or a query)
    kind: str
    seconds: float
    #: whether it counts as one proxy score in the run record (a pool candidate looked at, paid or free)
    score: bool = False


class Ledger:
    """The one channel by which searchers and the pool hook owe costs to the clock.

    Neither ever touches the clock: they :meth:`owe` (in the order the costs are made), and the
    runner, which owns the clock, drains (:meth:`drain`) the ledger right after ``searcher.propose`` and
    charges every debt in order, so the first one the budget cannot pay ends the run uncounted
    without an exception unwinding through a searcher. One ledger per run, shared by the searcher
    and its pool (:class:`nasearch.searchers.base.Searcher` takes the pool's).
    """

    __slots__ = ("_debts",)

    def __init__(self) -> None:
        self._debts: list[Debt] = []

    def owe(self, kind: str, seconds: float, score: bool = False) -> None:
        self._debts.append(Debt(kind, seconds, score))

    def owe_score(self, seconds: float) -> None:
        """One proxy score (``seconds`` 0.0 when free or already paid this run)."""
        self._debts.append(Debt("proxy", seconds, True))

    def drain(self) -> list[Debt]:
        """The debts owed since the last drain, oldest first."""
        debts, self._debts = self._debts, []
        return debts


@dataclass(frozen=True)
class ProxyCostPolicy:
    """How many simulated seconds one proxy score costs.

    ``measured`` charges the seconds the score really took (stored with cached and
    packaged scores, so a rerun charges the same); ``lookup`` charges nothing, as the
    paper's code did when it read precomputed scores; a number charges that many seconds.
    """

    mode: str = "measured"
    fixed_seconds: float = 0.0

    @classmethod
    def parse(cls, value: object) -> "ProxyCostPolicy":
        if isinstance(value, bool):
            raise UsageError(f"hook.cost: {value!r} is not a policy; use 'measured', 'lookup' or seconds >= 0")
        if isinstance(value, (int, float)):
            if not math.isfinite(value):
                raise UsageError(f"hook.cost: {value!r} is not a finite number; give seconds >= 0, 'measured' or 'lookup'")
            if value < 0:
                raise UsageError(f"hook.cost: {value} is negative; give seconds >= 0, 'measured' or 'lookup'")
            return cls("fixed", float(value))
        if value in PROXY_COST_POLICIES:
            return cls(str(value))
        raise UsageError(f"hook.cost: unknown policy {value!r}; use 'measured', 'lookup' or seconds >= 0")

    def seconds(self, measured_seconds: float) -> float:
        if self.mode == "measured":
            return measured_seconds
        if self.mode == "lookup":
            return 0.0
        return self.fixed_seconds


#: defaults of ``hook.predictor_cost`` (seconds): a fit costs FIT_BASE + FIT_PER_POINT x training
#: points (the fit cost npenas/bananas declare), a query QUERY_PER_CANDIDATE per candidate scored
PREDICTOR_FIT_BASE, PREDICTOR_FIT_PER_POINT, PREDICTOR_QUERY_PER_CANDIDATE = 1.0, 0.01, 0.001


@dataclass(frozen=True)
class PredictorCostModel:
    """The declared simulated cost of an online predictor (``hook.predictor_cost``).

    A pure function of the inputs, never measured time, so a run's bytes do not depend on the
    machine: a fit on ``n`` points costs ``fit_base + fit_per_point * n`` seconds, scoring a pool
    costs ``query_per_candidate`` per candidate. Zero-cost features are charged apart, by the
    hook's proxy cost policy, and learning curves by their partial training seconds.
    """

    fit_base: float = PREDICTOR_FIT_BASE
    fit_per_point: float = PREDICTOR_FIT_PER_POINT
    query_per_candidate: float = PREDICTOR_QUERY_PER_CANDIDATE

    def fit_seconds(self, n_points: int) -> float:
        return self.fit_base + self.fit_per_point * n_points

    @classmethod
    def parse(cls, value: object) -> "PredictorCostModel":
        where = "hook.predictor_cost"
        if not isinstance(value, dict):
            raise UsageError(f"{where}: expected a mapping such as {{fit: [1.0, 0.01], query: 0.001}}, got {value!r}")
        unknown = sorted(set(value) - {"fit", "query"})
        if unknown:
            raise UsageError(f"{where}: unknown key {unknown[0]!r}; allowed keys: fit ([base, per point] seconds), "
                             "query (seconds per candidate)")
        fit = value.get("fit", [PREDICTOR_FIT_BASE, PREDICTOR_FIT_PER_POINT])
        if not isinstance(fit, (list, tuple)) or len(fit) != 2:
            raise UsageError(f"{where}.fit: expected [base, per point] seconds, e.g. [1.0, 0.01], got {fit!r}")
        numbers = [_seconds(f, f"{where}.fit") for f in fit] + [
            _seconds(value.get("query", PREDICTOR_QUERY_PER_CANDIDATE), f"{where}.query")]
        return cls(*numbers)


def _seconds(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise UsageError(f"{where}: expected finite seconds >= 0, got {value!r}")
    return float(value)
