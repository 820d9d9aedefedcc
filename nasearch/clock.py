"""The simulated wall clock of one search run.

Every cost a real search would pay goes through :meth:`SimulatedClock.charge`: training
(each ``query``) and proxy scoring. The paper's stopping rule is kept exactly: a charge
that would overflow the budget is refused and the run ends without counting that step.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from nasearch.errors import BudgetExhausted, UsageError

PROXY_COST_POLICIES = ("measured", "lookup")


@dataclass
class SimulatedClock:
    budget_seconds: float
    elapsed: float = 0.0
    training_seconds: float = 0.0
    proxy_seconds: float = 0.0

    def charge(self, seconds: float, kind: str = "training") -> None:
        """Advance the clock, or raise :class:`BudgetExhausted` if the budget cannot pay."""
        if self.elapsed + seconds > self.budget_seconds:
            raise BudgetExhausted(kind)
        self.elapsed += seconds
        if kind == "training":
            self.training_seconds += seconds
        else:
            self.proxy_seconds += seconds


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
