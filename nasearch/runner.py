"""One search run: the loop that owns the clock.

A run is a pure function of (config, run index): its generator is seeded from
``[config.seed, run_index]``, so run i of a vanilla searcher and run i of its assisted twin
start from the same stream (paired comparisons), and no run depends on which process, or
in which order, the runs were executed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nasearch.clock import SimulatedClock
from nasearch.config import SearchConfig
from nasearch.errors import BudgetExhausted, UsageError
from nasearch.hook import PoolSelector, build_predictor_spec, build_scorer, selection_label
from nasearch.results import Incumbent, RunRecord, Trajectory
from nasearch.loading import check_capabilities, construct, load_space, searcher_class

#: a safety net for searchers that never stop on their own under a zero-cost budget
MAX_STEPS = 1_000_000
#: ``revisit: never``: consecutive proposals answered from the run's record at no cost before the
#: next repeat is trained and charged again (as ``allow`` would), so a run whose searcher keeps
#: proposing cells it has trained (a converged policy, an exhausted neighbourhood) still spends its
#: budget instead of spinning with the clock standing still
MAX_CACHED_IN_A_ROW = 100


@dataclass
class SearchContext:
    """What every run of one config shares: the space, the searcher class and the proxy scorer."""

    config: SearchConfig
    space: Any
    searcher_cls: Any
    scorer: Any = None
    #: the hook's online predictor (:class:`nasearch.hook.PredictorSpec`), None without ``hook.predictor``
    predictor: Any = None
    #: arch -> arch id, shared by all runs of this context: ids are recomputed otherwise once
    #: per evaluation, the largest bookkeeping cost of a simulated run
    arch_ids: dict = field(default_factory=dict, repr=False, compare=False)

    def arch_id(self, arch: Any) -> str:
        found = self.arch_ids.get(arch)
        if found is None:
            found = self.arch_ids[arch] = self.space.arch_id(arch)
        return found

    @classmethod
    def build(cls, config: SearchConfig, space: Any = None, scorer: Any = None) -> "SearchContext":
        """The one way to make a context: load (or take) the space, check the searcher's needs and
        arguments, build the hook's scorer. ``space`` / ``scorer`` are for callers that already hold
        one (a space object built in Python, a test's recording scorer); the checks are the same."""
        space = load_space(config.space) if space is None else space
        searcher_cls = searcher_class(config.searcher["name"])
        check_capabilities(searcher_cls, space)
        if scorer is None:
            scorer = build_scorer(config, space)  # None when the hook's selection scores nothing
        predictor = build_predictor_spec(config, space, scorer)  # checked against the space now
        context = cls(config, space, searcher_cls, scorer, predictor)
        context.new_searcher()  # fail on bad args before any run
        return context

    def preload(self) -> None:
        """Load lazily-read data and warm the score memo, once per process (local pool and Ray alike).

        Warming copies the persistent cache's scores for this key into the scorer's memo (one
        SQLite query per pool member otherwise); results are unchanged: the same records, read earlier.
        """
        for owner in (self.space, getattr(self.space, "backend", None)):
            preload = getattr(owner, "preload", None)
            if callable(preload):
                preload()
                break
        for scorer in self.scorers():
            scorer.warm()

    def scorers(self) -> list:
        """Every distinct proxy scorer a run of this config reads: the hook's, then the online
        predictor's zero-cost features (the hook's own scorer is not listed twice)."""
        found = [self.scorer] if self.scorer is not None else []
        if self.predictor is not None:
            found += [s for s in self.predictor.scorers.values() if all(s is not f for f in found)]
        return found

    def new_searcher(self, trained: Any = None) -> Any:
        """A fresh searcher for one run (with its pool when the config has a hook); what either
        owes the clock goes to one ledger, ``searcher.ledger``, which the runner drains.
        ``trained`` (``revisit: never``): the run's trained arch ids, which the pool does not draw again."""
        pool = None
        if self.config.hook is not None:
            hook = self.config.hook
            pool = PoolSelector(self.scorer, hook.k, hook.cost, select=hook.select, space=self.space,
                                predictor=self.predictor, avoid=trained)
        args = dict(self.config.searcher.get("args") or {})
        return construct(self.searcher_cls, args, "searcher", self.space, pool)


def _not_an_evaluation(space: Any, epochs: Any, value: Any) -> str:
    method = "query(arch, rng)" if epochs is None else "query_at(arch, epochs, rng)"
    shown = repr(value) if len(repr(value)) <= 60 else f"a {type(value).__name__}"
    return (f"space {getattr(space, 'name', type(space).__name__)!r}: {method} returned {shown}; it must return"
            " nasearch.spaces.protocol.Evaluation(fitness, cost_seconds)")


def run_one(context: SearchContext, run_index: int) -> RunRecord:
    """Search until the simulated budget is spent; return the run's record."""
    config, space = context.config, context.space
    rng = np.random.default_rng([config.seed, run_index])
    clock = SimulatedClock(config.budget_seconds)
    # revisit: never -- the run's first result of each cell it trained (full fidelity: the arch id;
    # a partial fidelity: (arch id, epochs)), answered again at no cost
    trained: dict | None = {} if config.revisit == "never" else None
    searcher = context.new_searcher(trained)
    cached_answers = cached_in_a_row = 0
    max_epochs = getattr(space, "max_epochs", None)
    elapsed: list[float] = []  # the clock after each step; rounded once, at the end
    archs: list[str] = []
    fitnesses: list[float] = []
    epochs: list[int | None] = []
    best_so_far: list[float] = []
    incumbents: list[Incumbent] = []
    best_fitness, best_arch = -math.inf, None
    # bound once: this loop runs ~100 times per run and millions of times per experiment
    propose, observe, query, charge, arch_id_of = (
        searcher.propose, searcher.observe, space.query, clock.charge, context.arch_id)
    drain = searcher.ledger.drain  # what the searcher and its pool owe, in the order it was made
    pool = searcher.pool
    # the hook's online predictor learns from the run's full-fidelity evaluations
    pool_observe = pool.observe if pool is not None and getattr(pool, "online", None) is not None else None
    pool_draws = 0  # candidates the hook drew and the budget paid for (repeats included)
    for _ in range(MAX_STEPS):
        try:
            trial = propose(rng)
            for debt in drain():  # proxy scores (features included), predictor fits and queries
                charge(debt.seconds, debt.kind)
                if debt.score:
                    pool_draws += 1
            trial_epochs = trial.epochs
            if trained is not None:
                key = arch_id_of(trial.arch)
                if trial_epochs is not None and trial_epochs != max_epochs:
                    key = (key, trial_epochs)
                known = trained.get(key)
                if known is not None and cached_in_a_row < MAX_CACHED_IN_A_ROW:
                    cached_in_a_row += 1
                    cached_answers += 1
                    observe(trial, known)  # what a real user's cache gives: no training, no clock
                    continue
            if trial_epochs is None:
                evaluation = query(trial.arch, rng)
            else:
                evaluation = space.query_at(trial.arch, trial_epochs, rng)
            try:
                cost = evaluation.cost_seconds
            except AttributeError:
                raise UsageError(_not_an_evaluation(space, trial_epochs, evaluation)) from None
            charge(cost)
        except BudgetExhausted as exhausted:
            if not elapsed and clock.elapsed == 0:  # not even the run's first step: no run, only an empty record
                first = float(exhausted.args[1]) if len(exhausted.args) > 1 else math.nan
                raise UsageError(f"budget {config.budget_seconds:g} s cannot pay for one evaluation (the first costs"
                                 f" {first:g} s); give budget_seconds (or --budget) of at least {first:g}") from None
            break
        if trained is not None:
            cached_in_a_row = 0
            trained.setdefault(key, evaluation)
        observe(trial, evaluation)
        arch_id = arch_id_of(trial.arch)
        fitness = evaluation.fitness
        if pool_observe is not None and (trial_epochs is None or trial_epochs == max_epochs):
            pool_observe(trial.arch, fitness)
        if fitness > best_fitness and (trial_epochs is None or trial_epochs == max_epochs):  # full fidelity only
            best_fitness, best_arch = fitness, trial.arch
            incumbents.append(Incumbent(len(elapsed), arch_id, space.final_metrics(trial.arch)))
        elapsed.append(clock.elapsed)
        archs.append(arch_id)
        fitnesses.append(fitness)
        epochs.append(trial_epochs)
        best_so_far.append(best_fitness)
    times = [round(t, 6) for t in elapsed]
    pareto_front = getattr(searcher, "pareto_front", None)
    on_gpu = config.hook is not None and config.hook.device != "cpu"
    return RunRecord(
        run=run_index,
        seed=config.seed,
        label=config.label,
        searcher=config.searcher["name"],
        selection=selection_label(config.hook),
        best_arch=space.arch_id(best_arch) if best_arch is not None else None,
        best_fitness=best_fitness if best_arch is not None else None,
        final=incumbents[-1].final if incumbents else {},
        evaluations=len(times),
        pool_draws=pool_draws,
        simulated_seconds=round(clock.elapsed, 6),
        overhead_seconds=round(clock.proxy_seconds, 6),
        trajectory=Trajectory(times, archs, fitnesses, epochs, best_so_far),
        incumbents=incumbents,
        # only runs with an online predictor carry these
        **({} if pool_observe is None else dict(predictor=config.hook.predictor, predictor_fits=pool.online.fits,
                                                predictor_seconds=round(clock.predictor_seconds, 6))),
        **({} if trained is None else dict(cached_answers=cached_answers)),
        # a GPU run says where its live proxy scores ran and which clock their seconds are
        score_device=config.hook.device if on_gpu else None,
        score_clock="gpu seconds (cuda-synchronized wall time)" if on_gpu else None,
        # multi-objective searchers (optuna with objectives) keep the Pareto front of what they trained
        pareto=pareto_front() if pareto_front is not None else None,
    )
