"""BOHB and Hyperband through hpbandster, as ask/tell searchers; with the hook, G-BOHB and G-HB.

hpbandster supplies the algorithm: the bracket schedule (its Hyperband arithmetic and its
``SuccessiveHalving`` iterations, see :mod:`searchers._hpbandster_compat`) and, for BOHB,
its KDE config generator. This module only drives them one job at a time, in-process (no
Pyro nameserver, no sockets, no threads), which is what hpbandster's master does with a
single worker: a bracket's stage is finished before the next is scheduled, and a bracket is
finished before the next starts.

Budgets are training epochs, as in NATS-Bench's ``bohb.py``: min 1, max ``space.max_epochs``
(12 on NB201's 12-epoch files), eta 3, so brackets run 1-, 4- and 12-epoch trainings
(budget b -> ``int(b)`` epochs, see :func:`~nasearch.searchers._hpbandster_compat.budget_to_epochs`).
A budget-b trial is ``Trial(arch, epochs=int(b))``; the space charges the time of those
epochs, and the runner counts only full-budget results for the incumbent.

**Spaces without per-epoch data** (the embedded NB201 default, whose only figures are
200-epoch accuracies): there is no honest low-fidelity result, and none is invented. The
searchers then run at the full budget only (``Trial(arch)``, the space's search fidelity):
BOHB becomes single-fidelity BO with the same KDE model (one configuration per "bracket"),
and Hyperband, whose only model is uniform sampling, becomes random search in batches of
one. A warning says so once per process.

Randomness: each run seeds a private legacy numpy state and the ConfigurationSpace from the
run's generator; hpbandster's global-``np.random`` draws happen on that private state only
(:class:`~nasearch.searchers._hpbandster_compat.IsolatedNumpyRandom`), so a run is a function of its
seed whatever else the process does. Hyperband draws its configurations from the space
(``space.sample`` with the run's generator), which is uniform over the product of choices,
like hpbandster's ``RandomSampling``.

The assisted twins (``hook:`` in the config):

* **G-HB** (the GradSign paper's Algorithm 5) is ``hb`` with the hook: each of the n
  configurations of a bracket is the proxy's best of K uniformly random architectures. This
  is also what the paper's released code did for its "G-BOHB" numbers: its patched
  ``bohb.py`` discards the KDE's proposal and returns the best of 10 uniformly random
  architectures by GradSign, i.e. Hyperband with proxy-picked configurations.
* **G-BOHB** is ``bohb`` with the hook: the proxy picks the best of K candidates drawn from
  BOHB's own config generator (KDE proposals, with its random fraction, once a model
  exists). The paper did not run this variant.
"""
from __future__ import annotations

import logging
from typing import Any

import numpy as np

from nasearch.searchers._hpbandster_compat import (
    BracketSchedule,
    IsolatedNumpyRandom,
    accelerate_categorical_kdes,
    budget_to_epochs,
    config_space,
    make_job,
    quiet,
)
from nasearch.searchers.base import DRAWS, POSITIVE, Bound, Searcher, Trial
from nasearch.spaces.protocol import Evaluation

log = logging.getLogger(__name__)
_warned: set[tuple[str, str]] = set()
#: Evaluate the KDEs' pdf with the hoisted, bitwise-equal CategoricalKDEPdf (off: statsmodels' own loop).
ACCELERATE_KDE = True
#: Sample with KDEConfigGenerator's replacement of hpbandster's get_config (off: hpbandster's own code
#: throughout, the reference tests and benchmarks/profile_bohb.py compare it with).
REPLACE_GET_CONFIG = True

#: The single budget label used when the space has no per-epoch data.
FULL_BUDGET_ONLY = 1.0


def has_fidelity(space: Any) -> bool:
    """Whether ``space`` offers the declared ``fidelity`` capability (``query_at`` + ``max_epochs >= 1``)."""
    from nasearch.spaces.protocol import has_capability

    return has_capability(space, "fidelity")


class _HpbandsterSearcher(Searcher):
    """hpbandster's Hyperband brackets driven by ask/tell; subclasses choose the config generator."""

    requires = ("encoding",)
    bounds = {"eta": Bound(2), "min_budget": POSITIVE}

    def __init__(self, space: Any, pool: Any = None, eta: float = 3, min_budget: float = 1) -> None:
        super().__init__(space, pool)
        self.choices = [tuple(str(option) for option in options) for options in space.choices()]
        if not self.choices:
            raise ValueError(f"space {space.name!r} reports no categorical choices; {self.name} needs at least one")
        self.multi_fidelity = has_fidelity(space)
        if self.multi_fidelity:
            max_budget = float(space.max_epochs)
            if not 0 < min_budget <= max_budget:
                raise ValueError(f"min_budget must be in (0, {max_budget:g}] (the space's max_epochs), got {min_budget}")
            self.schedule = BracketSchedule(float(eta), float(min_budget), max_budget)
        else:
            self.schedule = BracketSchedule(float(eta), FULL_BUDGET_ONLY, FULL_BUDGET_ONLY)
            self._warn_single_fidelity()
        self._numpy: IsolatedNumpyRandom | None = None
        self._rng: np.random.Generator | None = None
        self._iteration: Any = None
        self._brackets = 0
        self._running: tuple[tuple, dict, float] | None = None
        self.configspace: Any = None
        self.generator: Any = None  # a hpbandster config generator, or None for uniform sampling

    def _warn_single_fidelity(self) -> None:
        key = (self.name, getattr(self.space, "name", "?"))
        if key not in _warned:
            _warned.add(key)
            what = "single-fidelity BO (KDE at the full budget)" if self.name == "bohb" else "random search"
            log.warning(
                "%s: space %r has no per-epoch results; running at the full budget only, as %s (no learning curves invented)",
                self.name, key[1], what,
            )

    # -- hpbandster plumbing ----------------------------------------------------------------
    def _start(self, rng: np.random.Generator) -> None:
        """Seed everything hpbandster draws from, from the run's generator."""
        seed = int(rng.integers(2**31 - 1))
        self._numpy = IsolatedNumpyRandom(seed)
        with quiet():
            self.configspace = config_space(self.choices, seed)
            self.generator = self._make_generator(self.configspace)

    def _make_generator(self, configspace: Any) -> Any:
        return None

    def _generate(self, budget: float):
        """The candidate generator for one configuration slot (what the hook draws K times)."""
        return self.space.sample

    def _sample_config(self, budget: float) -> tuple[dict, dict]:
        """hpbandster's ``config_sampler``: one configuration for a new slot of the bracket."""
        assert self._rng is not None
        arch = self.draw(self._rng, self._generate(budget))
        return self._to_config(arch), {}

    def _to_config(self, arch: Any) -> dict:
        return {f"c{i}": self.choices[i][int(code)] for i, code in enumerate(self.space.encode(arch))}

    def _to_arch(self, config: dict) -> Any:
        return self.space.decode([self.choices[i].index(str(config[f"c{i}"])) for i in range(len(self.choices))])

    # -- ask/tell ---------------------------------------------------------------------------
    def propose(self, rng: np.random.Generator) -> Trial:
        if self._running is not None:
            raise RuntimeError(f"{self.name}: propose() called again before observe(); it runs one job at a time")
        if self._numpy is None:
            self._start(rng)
        self._rng = rng
        next_run = None
        while next_run is None:
            if self._iteration is None or self._iteration.is_finished:
                self._iteration = self.schedule.iteration(self._brackets, self._sample_config)
                self._brackets += 1
            next_run = self._iteration.get_next_run()
            if next_run is None and not self._iteration.is_finished:
                raise RuntimeError(f"{self.name}: bracket {self._brackets - 1} waits on a job that was never observed")
        config_id, config, budget = next_run
        self._running = (config_id, config, float(budget))
        epochs = budget_to_epochs(budget) if self.multi_fidelity else None
        return Trial(self._to_arch(config), epochs)

    def observe(self, trial: Trial, evaluation: Evaluation) -> None:
        if self._running is None:
            raise RuntimeError(f"{self.name}: observe() without a proposed trial")
        config_id, config, budget = self._running
        self._running = None
        job = make_job(config_id, config, budget, loss=-float(evaluation.fitness))
        self._iteration.register_result(job)
        if self.generator is not None:
            with quiet():  # the generator installs the private np.random state where hpbandster needs it
                self.generator.new_result(job)
            if ACCELERATE_KDE:
                accelerate_categorical_kdes(self.generator)

    @property
    def budgets(self) -> list[float]:
        """The budgets the brackets use (epochs before rounding; ``[1.0]`` when single-fidelity)."""
        return [float(b) for b in self.schedule.budgets]


class Hyperband(_HpbandsterSearcher):
    """Hyperband (Li et al., 2017): hpbandster's brackets over uniformly random architectures; G-HB with the hook."""

    name = "hb"


class BOHB(_HpbandsterSearcher):
    """BOHB (Falkner et al., 2018): hpbandster's brackets and KDE generator; G-BOHB with the hook.

    Defaults are those of NATS-Bench's / AutoDL's ``bohb.py``: 64 samples to optimise the
    acquisition, random fraction 0.33, bandwidth factor 3, minimum bandwidth 0.3, top 15%.
    """

    name = "bohb"
    bounds = {"top_n_percent": Bound(1, 99), "num_samples": DRAWS, "random_fraction": Bound(0, 1),
              "bandwidth_factor": POSITIVE, "min_bandwidth": POSITIVE}

    def __init__(
        self,
        space: Any,
        pool: Any = None,
        eta: float = 3,
        min_budget: float = 1,
        top_n_percent: int = 15,
        num_samples: int = 64,
        random_fraction: float = 0.33,
        bandwidth_factor: float = 3,
        min_bandwidth: float = 0.3,
    ) -> None:
        super().__init__(space, pool, eta=eta, min_budget=min_budget)
        if not 1 <= top_n_percent <= 99:
            raise ValueError(f"top_n_percent must be in [1, 99], got {top_n_percent}")
        if num_samples < 1:
            raise ValueError(f"num_samples must be >= 1, got {num_samples}")
        if not 0 <= random_fraction <= 1:
            raise ValueError(f"random_fraction must be in [0, 1], got {random_fraction}")
        self.kde_args = dict(
            top_n_percent=top_n_percent,
            num_samples=num_samples,
            random_fraction=random_fraction,
            bandwidth_factor=bandwidth_factor,
            min_bandwidth=min_bandwidth,
        )

    def _make_generator(self, configspace: Any) -> Any:
        from nasearch.searchers._hpbandster_kde import KDEConfigGenerator

        return KDEConfigGenerator(configspace, self._numpy, hpbandster_code=not REPLACE_GET_CONFIG, **self.kde_args)

    def _generate(self, budget: float):
        def from_model(_rng: np.random.Generator) -> Any:
            # the KDE draws from the private np.random stream and the ConfigurationSpace, not from _rng
            with quiet():
                config, _info = self.generator.get_config(budget)
            return self._to_arch(config)

        def many(_rng: np.random.Generator, k: int) -> list:
            # k get_config calls with no result in between: the generator draws them at once
            with quiet():
                configs = self.generator.get_configs(budget, k)
            return [self._to_arch(config) for config, _info in configs]

        from_model.many = many
        return from_model
