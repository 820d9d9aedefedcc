"""Optuna's samplers as nasearch searchers (TPE, random, GP, NSGA-II, ...); with the hook, their G-twins.

``searcher: {name: optuna, args: {sampler: tpe, sampler_args: {n_startup_trials: 10}}}``

The space's categorical ``encoding`` (``choices`` / ``encode`` / ``decode``) becomes one Optuna
``CategoricalDistribution`` per position, named ``c0, c1, ...``, whose choices are the option
*indices* ``0..n-1`` (``space.decode`` turns them back into an architecture). Optuna's ask/tell
drives the search: :meth:`propose` asks one trial with these fixed distributions and returns the
decoded architecture as a :class:`Trial`; the runner trains (queries) it under the simulated clock;
:meth:`observe` tells the trial its fitness (``maximize``). The searcher never evaluates anything
itself. The study lives in memory (``InMemoryStorage``, one per run); Optuna's log messages and its
``ExperimentalWarning`` are silenced.

Seeding: at the first :meth:`propose` the sampler's seed is drawn from the run's generator
(``rng.integers(2**31 - 1)``, one draw) and every random choice Optuna makes comes from that
sampler. A run is then a function of ``[config.seed, run index]`` alone: the same records whatever
the worker count, on every rerun; run i of the vanilla sampler and run i of its G-twin start from
the same sampler seed (paired comparisons).

Samplers (``sampler:``): ``tpe`` (``TPESampler``), ``random``, ``gp`` (``GPSampler``), ``nsgaii``,
``nsgaiii``, ``cmaes``, ``qmc``; ``sampler_args`` are the sampler class's own keyword arguments
(checked by name before any run; ``seed`` is nasearch's). CMA-ES and QMC model only numerical
parameters: on a purely categorical space Optuna samples every position with their
``independent_sampler`` (uniformly random), which a warning says once per process -- they are
accepted because that is what Optuna does, not because they search differently from ``random``.

**G-twins** (``hook:`` in the config): where the sampler would be asked once, it is asked K
times (K ``study.ask`` calls with no tell in between, :func:`nasearch.hook.draw_many`), and the
hook passes one on (the proxy's or predictor's best); that trial is trained and told its fitness.
The K-1 others are told ``TrialState.FAIL`` at once, with the user attribute
``nasearch: "not selected"``. Why FAIL: every sampler here builds its model from COMPLETE trials
only (TPE and its startup count: COMPLETE + PRUNED; GP: COMPLETE, and RUNNING ones as pending
points; NSGA-II's generations: COMPLETE), so a FAIL trial teaches the model nothing, which is
the truth -- nothing was trained. Told PRUNED instead, TPE would rank them as the worst trials
and learn "what the proxy rejected is bad" even under ``hook.select: uniform``; left RUNNING,
GPSampler would treat them as pending evaluations forever and NSGA-II would re-scan them on every
ask. With FAIL, the model after n trainings is a function of the n (architecture, fitness) pairs
the run trained, exactly as for the vanilla sampler.

**The K asks.** While the K asks of one pool are made, the earlier ones are RUNNING (nothing
can be told before the hook has chosen). Optuna 5's TPE defaults to ``constant_liar=True``,
which treats RUNNING trials as pessimistic observations: the second ask would avoid the first,
so a pool would be a *diverse batch* and a uniform pick from it would not be a TPE draw. nasearch
therefore sets ``constant_liar: false`` unless ``sampler_args`` say otherwise
(:data:`CONSTANT_LIAR`): for the vanilla sampler this changes nothing (ask and tell alternate, so
no trial is ever RUNNING at an ask), and for the twin it makes the K asks independent draws from
the one proposal TPE's model gives after the run's trained trials. GPSampler has no such switch
and always treats RUNNING trials as pending points, so G-GP's pools are diverse batches and its
uniform control is not the vanilla GP (said here, not tested). What the K asks still change,
honestly: they advance the sampler's private random stream K times per step instead of once, and
Optuna's trial numbers (which no sampler here conditions on). So ``hook.select: uniform`` does not
give *byte-identical* runs to the vanilla sampler; given the history, a uniform pick among K
independent draws is one draw, so the runs are the same *in distribution* (the exact-control
rule; tests/test_optuna_searcher.py checks it statistically, and that the same check rejects
``constant_liar: true``). For NSGA-II (a generational GA whose next population is built from
completed trials) the same argument holds per ask.

**Multi-objective** (``objectives: [fitness, params]``, or ``flops``): the study gets one
direction per objective (fitness maximised, model size minimised); model size comes from the
packaged ``params``/``flops`` proxy tables through the hook's scorer machinery
(:class:`nasearch.proxies.scorer.ScorerSpec`), an analytic count that costs no training and is
charged nothing. Use a multi-objective sampler (``nsgaii``, ``nsgaiii``, ``tpe``, ``random``,
``gp``). The runner's incumbent is still the best fitness; the run record also keeps the Pareto
front of the trained trials (:meth:`pareto_front`, record field ``pareto``).
"""
from __future__ import annotations

import contextlib
import inspect
import logging
import warnings
from typing import Any, Iterator

import numpy as np

from nasearch.errors import UsageError
from nasearch.searchers.base import Searcher, Trial
from nasearch.spaces.protocol import Evaluation

log = logging.getLogger(__name__)

#: sampler name -> Optuna class name (optuna.samplers.<name>)
SAMPLERS = {
    "tpe": "TPESampler",
    "random": "RandomSampler",
    "gp": "GPSampler",
    "nsgaii": "NSGAIISampler",
    "nsgaiii": "NSGAIIISampler",
    "cmaes": "CmaEsSampler",
    "qmc": "QMCSampler",
}
#: samplers that model no categorical parameter (Optuna hands every position to their independent sampler)
NUMERIC_ONLY = ("cmaes", "qmc")
#: objective name -> (direction, packaged proxy table it is read from; None: the queried fitness)
OBJECTIVES = {"fitness": ("maximize", None), "params": ("minimize", "params"), "flops": ("minimize", "flops")}
#: TPE's ``constant_liar`` unless sampler_args set it: off, so the hook's K asks are independent draws
CONSTANT_LIAR = False
INSTALL = "pip install 'nasearch[optuna]'"
#: the user attribute of the K-1 candidates the hook did not pass on (told FAIL)
NOT_SELECTED = "not selected"
_warned: set[str] = set()


def import_optuna() -> Any:
    """The optuna module, quiet; a missing library is one line naming the extra."""
    try:
        import optuna
    except ImportError:
        raise UsageError(f"searcher 'optuna' needs the Optuna library: {INSTALL}") from None
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    return optuna


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Optuna's ExperimentalWarning (and the like) off, for Optuna's calls only."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


class OptunaSearcher(Searcher):
    """One Optuna study per run, driven by ask/tell; G-<sampler> with the hook (see the module docstring)."""

    name = "optuna"
    requires = ("encoding",)

    def __init__(
        self,
        space: Any,
        pool: Any = None,
        sampler: str = "tpe",
        sampler_args: dict | None = None,
        objectives: list | None = None,
    ) -> None:
        super().__init__(space, pool)
        self.optuna = import_optuna()
        if not isinstance(sampler, str) or sampler not in SAMPLERS:
            raise UsageError(f"searcher.args.sampler: {sampler!r} is not one of {', '.join(SAMPLERS)}")
        self.sampler_name = sampler
        self.sampler_class = getattr(self.optuna.samplers, SAMPLERS[sampler])
        if sampler_args is None:
            sampler_args = {}
        if not isinstance(sampler_args, dict):
            raise UsageError(f"searcher.args.sampler_args: a mapping of {SAMPLERS[sampler]} arguments, "
                             f"not {type(sampler_args).__name__}")
        params = inspect.signature(self.sampler_class).parameters
        allowed = [n for n, p in params.items() if n != "seed" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        unknown = sorted(set(sampler_args) - set(allowed))
        if unknown:
            raise UsageError(f"searcher.args.sampler_args: unknown {unknown} for {SAMPLERS[sampler]}"
                             f" ('seed' comes from the run); allowed: {allowed}")
        self.sampler_args = dict(sampler_args)
        if "constant_liar" in allowed and "constant_liar" not in self.sampler_args:
            # nasearch's default (Optuna 5's is True): see "the K asks" in the module docstring
            self.sampler_args["constant_liar"] = CONSTANT_LIAR
        if objectives is None:
            objectives = ["fitness"]
        if (not isinstance(objectives, list) or not objectives or objectives[0] != "fitness"
                or any(o not in OBJECTIVES for o in objectives) or len(set(objectives)) != len(objectives)):
            raise UsageError(f"searcher.args.objectives: {objectives!r}; give a list starting with fitness, then"
                             f" any of {[o for o in OBJECTIVES if o != 'fitness']}, e.g. [fitness, params]")
        self.objectives = list(objectives)
        self.directions = [OBJECTIVES[o][0] for o in self.objectives]
        self.size_scorers = {}
        for objective in self.objectives[1:]:
            from nasearch.proxies.scorer import ScorerSpec

            self.size_scorers[objective] = ScorerSpec(OBJECTIVES[objective][1]).build(space)
        self.choices = [len(options) for options in space.choices()]
        if not self.choices or min(self.choices) < 1:
            raise ValueError(f"space {space.name!r} reports no categorical choices; the optuna searcher needs some")
        self.distributions = {
            f"c{i}": self.optuna.distributions.CategoricalDistribution(tuple(range(n)))
            for i, n in enumerate(self.choices)
        }
        with _quiet():
            try:  # the arguments' values are checked here, once, before any run
                self.sampler_class(**self.sampler_args, seed=0)
            except (TypeError, ValueError) as exc:
                raise UsageError(f"searcher.args.sampler_args: {SAMPLERS[sampler]}: {exc}") from None
            except ImportError as exc:
                raise UsageError(f"searcher.args.sampler: {sampler} needs {exc.name or exc}: pip install it") from None
        if sampler in NUMERIC_ONLY and sampler not in _warned:
            _warned.add(sampler)
            log.warning("optuna sampler %s models no categorical parameter: on space %r Optuna samples every "
                        "position with its independent sampler (uniformly at random)", sampler, space.name)
        self.study: Any = None
        self.seed: int | None = None
        self._running: Any = None  # the Optuna trial proposed and not yet observed
        self._asked: list[tuple[Any, Any]] = []  # (optuna trial, arch) asked for the current pool

    # -- the study ---------------------------------------------------------------------------
    def _start(self, rng: np.random.Generator) -> None:
        optuna = self.optuna
        self.seed = int(rng.integers(2**31 - 1))
        with _quiet():
            sampler = self.sampler_class(**self.sampler_args, seed=self.seed)
            self.study = optuna.create_study(
                storage=optuna.storages.InMemoryStorage(), sampler=sampler,
                directions=self.directions if len(self.directions) > 1 else None,
                direction=self.directions[0] if len(self.directions) == 1 else None,
            )

    def _ask(self, _rng: np.random.Generator) -> Any:
        """One ask of the study, decoded (the candidate generator the hook draws K times)."""
        with _quiet():
            trial = self.study.ask(self.distributions)
        arch = self.space.decode([int(trial.params[f"c{i}"]) for i in range(len(self.choices))])
        self._asked.append((trial, arch))
        return arch

    # -- ask/tell ----------------------------------------------------------------------------
    def propose(self, rng: np.random.Generator) -> Trial:
        if self._running is not None:
            raise RuntimeError("optuna: propose() called again before observe(); it runs one trial at a time")
        if self.study is None:
            self._start(rng)
        self._asked = []
        arch = self.draw(rng, self._ask)
        chosen = next((t for t, a in self._asked if a is arch), None)
        if chosen is None:
            chosen = next(t for t, a in self._asked if a == arch)
        with _quiet():
            for trial, _arch in self._asked:
                if trial is not chosen:  # the hook's K-1 untrained candidates: FAIL (see the module docstring)
                    trial.set_user_attr("nasearch", NOT_SELECTED)
                    self.study.tell(trial, state=self.optuna.trial.TrialState.FAIL)
        self._asked = []
        self._running = (chosen, arch)
        return Trial(arch)

    def objective_values(self, arch: Any, fitness: float) -> list[float]:
        return [float(fitness)] + [float(self.size_scorers[o].score(arch).score) for o in self.objectives[1:]]

    def observe(self, trial: Trial, evaluation: Evaluation) -> None:
        if self._running is None:
            raise RuntimeError("optuna: observe() without a proposed trial")
        optuna_trial, _arch = self._running
        self._running = None
        values = self.objective_values(trial.arch, evaluation.fitness)
        with _quiet():
            self.study.tell(optuna_trial, values if len(values) > 1 else values[0])

    def pareto_front(self) -> list[dict] | None:
        """Multi-objective runs: the non-dominated trained trials ({arch, <objective>: value}, by trial
        number); None for a single objective (the record then has no ``pareto`` field)."""
        if len(self.objectives) == 1 or self.study is None:
            return None
        with _quiet():
            best = sorted(self.study.best_trials, key=lambda t: t.number)
        front, seen = [], set()
        for t in best:
            arch = self.space.decode([int(t.params[f"c{i}"]) for i in range(len(self.choices))])
            arch_id = self.space.arch_id(arch)
            if arch_id in seen:
                continue
            seen.add(arch_id)
            front.append({"arch": arch_id, **{o: float(v) for o, v in zip(self.objectives, t.values)}})
        return front
