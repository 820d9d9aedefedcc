"""The pool-selection hook: the one change that turns a searcher into its G-twin.

Wherever a searcher would draw one candidate it draws ``k`` from the same generator, and the
hook passes one on, chosen by its selection strategy (``hook.select``):

* ``proxy`` (the method): the best candidate by the proxy score;
* ``uniform`` (exact no-information control): a fresh uniform pick from the pool with the
  run's own generator, nothing scored, nothing charged; in distribution it is the vanilla
  searcher, for every searcher;
* ``oracle`` (ceiling control, not a method): the candidate the benchmark itself rates best,
  i.e. the highest ``space.query`` fitness under a fixed generator (so the run's stream is
  untouched); it peeks at the answer and is charged nothing, to bound what any proxy could do;
* ``worst`` (floor control): the *lowest* proxy score, charged like ``proxy``; if the proxy
  carries information, this does worse than ``uniform``.

Every proxy score is charged to the run's clock by the cost policy, once per architecture
per run (a real search would keep the scores it already paid for). The pool never touches
the clock: each score it takes is *owed* to the run's :class:`~nasearch.clock.Ledger`
(``pool.ledger``, shared with the searcher), and the runner, which owns the clock, drains it
and charges the debts in the order they were made right after ``searcher.propose`` returns, so the paper's stopping rule (the first score or training the
budget cannot pay ends the run, uncounted) holds without an exception unwinding through a
searcher or through hpbandster's iteration.

With ``hook.predictor`` (any name of :mod:`nasearch.predictors`), an :class:`OnlinePredictor`
takes over the choice once ``hook.warmup`` full-fidelity evaluations have been observed
(:meth:`PoolSelector.observe`, called by the runner): it is fitted on the run's own
(architecture, fitness) pairs, refitted every ``hook.refit_every`` new ones, and picks the
candidate it predicts best. Before that, ``hook.select`` picks (the proxy, or uniform). Its
costs are owed to the same ledger as ``"predictor"`` debts: each fit by the
declared cost model (``hook.predictor_cost``), each pool scored ``query`` seconds per
candidate, a learning curve its partial training seconds (once per architecture per run);
zero-cost features are owed as proxy scores under ``hook.cost``, once per (proxy,
architecture) per run, shared with the hook's own proxy. Measured fit seconds are kept on the
:class:`PredictorSpec` (process-local, never in a run record).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from nasearch.clock import Ledger, PredictorCostModel, ProxyCostPolicy

#: hook.select values; the first is the method, the others are controls
SELECTIONS = ("proxy", "uniform", "oracle", "worst")
#: the generator seed of the oracle's benchmark queries (never the run's generator)
ORACLE_SEED = 0
#: ``revisit: never``: redraws per pool slot of a candidate the run has already trained
REDRAWS = 10


class PoolSelector:
    """Per-run pool selection: over a shared proxy scorer (``proxy``, ``worst``) or without one,
    and with ``predictor`` (a :class:`PredictorSpec`) an online predictor after the warm-up."""

    def __init__(
        self, scorer: Any, k: int, cost: ProxyCostPolicy, select: str = "proxy", space: Any = None,
        predictor: "PredictorSpec | None" = None, ledger: Ledger | None = None, avoid: Any = None,
    ) -> None:
        if k < 1:
            raise ValueError(f"pool size k must be >= 1, got {k}")
        if select not in SELECTIONS:
            raise ValueError(f"hook.select must be one of {SELECTIONS}, got {select!r}")
        if scorer is None and select in ("proxy", "worst"):
            raise ValueError(f"hook.select: {select} needs a proxy scorer")
        self.scorer, self.k, self.cost, self.select = scorer, k, cost, select
        self.space = space if space is not None else getattr(scorer, "space", None)
        self._paid: set[str] = set()
        #: the run's ledger: a proxy-score debt per candidate looked at (0.0 when free or already
        #: paid), ``"predictor"`` debts for an online predictor's fits and queries (:meth:`owe`)
        self.ledger = ledger if ledger is not None else Ledger()
        #: ``revisit: never``: the arch ids this run has trained (the runner's record of them); a
        #: drawn candidate found there is redrawn, up to REDRAWS times per pool slot
        self.avoid = avoid
        self.scored = 0  # candidates looked at (repeats included), paid for or not
        #: proxy name -> arch ids whose score this run has paid (the hook's proxy included)
        self._paid_by: dict[str, set[str]] = {}
        if predictor is not None and scorer is not None:
            self._paid_by[predictor.hook_proxy] = self._paid  # one payment per arch for the shared proxy
        self.online = OnlinePredictor(predictor, self) if predictor is not None else None

    def observe(self, arch: Any, fitness: float) -> None:
        """A full-fidelity evaluation of the run (the runner calls it after ``searcher.observe``)."""
        if self.online is not None:
            self.online.observe(arch, fitness)

    def draw(self, rng: np.random.Generator, generate: Callable[[np.random.Generator], Any]) -> Any:
        candidates = draw_many(generate, rng, self.k)
        if self.avoid:
            candidates = self._untrained(candidates, rng, generate)
        if self.online is not None and self.online.ready():
            return self.online.choose(candidates)
        if self.select == "uniform":
            # the no-information control: a fresh uniform choice per pool, free of charge
            owe_score = self.ledger.owe_score
            for _ in candidates:
                owe_score(0.0)
            self.scored += len(candidates)
            return candidates[int(rng.integers(len(candidates)))]
        if self.select == "oracle":
            return self.oracle(candidates)
        return self.choose(candidates)

    def _untrained(self, candidates: list, rng: np.random.Generator, generate: Callable) -> list:
        """``revisit: never``: each candidate this run has trained is redrawn from ``generate``, at
        most REDRAWS times; a slot still trained after that (the generator's neighbourhood is
        exhausted, e.g. every mutation of the parent trained) keeps its last draw, and if the pool
        passes it on, the runner answers it with the recorded result at no cost."""
        avoid, arch_id = self.avoid, self.space.arch_id
        out = []
        for arch in candidates:
            for _ in range(REDRAWS):
                if arch_id(arch) not in avoid:
                    break
                arch = generate(rng)
            out.append(arch)
        return out

    def choose(self, candidates: Sequence[Any]) -> Any:
        """The best candidate by the proxy (the worst with ``select: worst``; the first one on ties)."""
        sign = 1.0 if self.scorer.higher_is_better else -1.0
        if self.select == "worst":
            sign = -sign
        best, best_value = None, -np.inf
        for arch in candidates:
            value = sign * self.score(arch)
            if best is None or value > best_value:
                best, best_value = arch, value
        return best

    def oracle(self, candidates: Sequence[Any]) -> Any:
        """The candidate with the highest benchmark fitness (first on ties); free, and off the run's stream."""
        best, best_value = None, -np.inf
        for arch in candidates:
            value = self.space.query(arch, np.random.default_rng(ORACLE_SEED)).fitness
            if best is None or value > best_value:
                best, best_value = arch, value
        return best

    def score(self, arch: Any) -> float:
        record = self.scorer.score(arch)
        self._owe_once(self._paid, arch, record.seconds)
        self.scored += 1
        return record.score

    def feature(self, proxy: str, scorer: Any, arch: Any) -> Any:
        """A zero-cost feature score for the predictor, owed as a proxy score once per (proxy, arch)."""
        record = scorer.score(arch)
        self._owe_once(self._paid_by.setdefault(proxy, set()), arch, record.seconds)
        return record

    def _owe_once(self, paid: set, arch: Any, measured_seconds: float) -> None:
        """Owe one proxy score: its cost by the policy the first time ``arch`` is in ``paid``, else 0."""
        arch_id = self.space.arch_id(arch)
        if arch_id not in paid:
            self.ledger.owe_score(self.cost.seconds(measured_seconds))
            paid.add(arch_id)
        else:
            self.ledger.owe_score(0.0)

    def owe(self, seconds: float, kind: str) -> None:
        """Owe a non-proxy cost (``kind`` as the clock names it, e.g. ``"predictor"``), in order with the scores."""
        self.ledger.owe(kind, seconds)

    def rank(self, candidates: Sequence[Any], n: int | None = None, rng: np.random.Generator | None = None) -> list:
        """The best ``n`` of ``candidates`` (all of them when None), best first, by what this pool
        selects with: the online predictor once ready, else the proxy (lowest first with ``select:
        worst``; ties keep the given order), the benchmark (``oracle``), or a uniform random order
        drawn from ``rng`` (``uniform``: the exact control of a searcher that shuffles). Every
        score is owed as :meth:`draw` owes it."""
        candidates = list(candidates)
        n = len(candidates) if n is None else n
        if self.online is not None and self.online.ready():
            values = self.online.values(candidates)
        elif self.select == "uniform":
            if rng is None:
                raise ValueError("hook.select: uniform ranks in a random order: rank() needs the run's generator")
            for _ in candidates:
                self.ledger.owe_score(0.0)
            self.scored += len(candidates)
            return [candidates[int(i)] for i in rng.permutation(len(candidates))[:n]]
        elif self.select == "oracle":
            values = [self.space.query(a, np.random.default_rng(ORACLE_SEED)).fitness for a in candidates]
        else:
            sign = 1.0 if self.scorer.higher_is_better else -1.0
            if self.select == "worst":
                sign = -sign
            values = [sign * self.score(arch) for arch in candidates]
        order = sorted(range(len(candidates)), key=lambda i: -values[i])
        return [candidates[i] for i in order[:n]]


def draw_many(generate: Callable[[np.random.Generator], Any], rng: np.random.Generator, k: int) -> list:
    """``[generate(rng) for _ in range(k)]``: what the hook draws for a pool of k candidates.

    A candidate generator may carry ``generate.many(rng, k)``, which must return exactly that
    list (same candidates, same streams left behind) and may draw it faster at once; BOHB's KDE
    generator does (searchers/bohb.py).
    """
    many = getattr(generate, "many", None)
    return list(many(rng, k)) if many is not None else [generate(rng) for _ in range(k)]


@dataclass
class PredictorSpec:
    """What every run of a config shares about its online predictor: the name, the schedule, the
    cost model and the zero-cost feature scorers (proxy -> scorer, the hook's own among them).

    Built (and checked against the space: unknown name, missing library, missing encoding or
    learning curves, all one line) before any run by :func:`build_predictor_spec`.
    """

    name: str
    space: Any
    warmup: int
    refit_every: int
    cost: PredictorCostModel
    trainable: bool
    scorers: dict = field(default_factory=dict)
    #: the hook's own proxy when it scores (its payments are shared with the feature of that name)
    hook_proxy: str | None = None
    seed: int = 0
    #: measured process seconds of every fit in this process (benchmarks read it; never recorded)
    measured_fit_seconds: float = 0.0
    fits: int = 0

    def make(self, features: Any) -> Any:
        from nasearch.predictors import make_predictor

        return make_predictor(self.name, self.space, features=features, seed=self.seed, check=False)


class ChargedFeatures:
    """The predictor's zero-cost source within one run: the shared scorers' scores, each owed
    through the pool (:meth:`PoolSelector.feature`), so features are paid as proxy scores."""

    def __init__(self, scorers: dict, pool: PoolSelector) -> None:
        self._scorers, self.pool = scorers, pool

    def scorer(self, proxy: str) -> Any:
        return self._scorers[proxy]

    def scores(self, proxy: str, archs: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
        from nasearch.predictors.base import oriented_scores

        scorer = self._scorers[proxy]
        return oriented_scores(scorer, [self.pool.feature(proxy, scorer, a) for a in archs])


class OnlinePredictor:
    """One run's online predictor: fitted on the run's full-fidelity evaluations (trainable
    predictors), refitted every ``refit_every`` new ones, and asked for the pool's best."""

    def __init__(self, spec: PredictorSpec, pool: PoolSelector) -> None:
        self.spec, self.pool = spec, pool
        self.features = ChargedFeatures(spec.scorers, pool)
        self.archs: list[Any] = []
        self.fitness: list[float] = []
        self.model: Any = None if spec.trainable else spec.make(self.features)
        self.fitted_on = 0  # evaluations the current model was fitted on
        self.fits = 0
        self._curve_paid: set[str] = set()

    def observe(self, arch: Any, fitness: float) -> None:
        self.archs.append(arch)
        self.fitness.append(float(fitness))

    def ready(self) -> bool:
        return len(self.archs) >= self.spec.warmup

    def _refit_if_due(self) -> None:
        n = len(self.archs)
        if self.model is not None and n < self.fitted_on + self.spec.refit_every:
            return
        model = self.spec.make(self.features)
        start = time.process_time()
        model.fit(list(self.archs), list(self.fitness))  # reads (and owes) the training archs' features
        self.spec.measured_fit_seconds += time.process_time() - start
        self.pool.owe(self.spec.cost.fit_seconds(n), "predictor")
        self.model, self.fitted_on = model, n
        self.fits += 1
        self.spec.fits += 1

    def choose(self, candidates: Sequence[Any]) -> Any:
        """The candidate with the highest prediction (first on ties); the query is owed."""
        return candidates[int(np.argmax(self.values(candidates)))]

    def values(self, candidates: Sequence[Any]) -> np.ndarray:
        """The predictions for ``candidates`` (NaN as -inf), refitting first when due; the query is owed."""
        if self.spec.trainable:
            self._refit_if_due()
        scores = np.asarray(self.model.predict(list(candidates)), dtype=float)
        query = self.spec.cost.query_per_candidate * len(candidates)
        if query:
            self.pool.owe(query, "predictor")
        per_arch = getattr(self.model, "arch_seconds", None)  # learning curves: their partial training
        if per_arch is not None:
            arch_id = self.pool.space.arch_id
            for arch, seconds in zip(candidates, per_arch):
                key = arch_id(arch)
                if key not in self._curve_paid:
                    self._curve_paid.add(key)
                    self.pool.owe(float(seconds), "predictor")
        self.pool.scored += len(candidates)
        return np.where(np.isnan(scores), -np.inf, scores)


def build_predictor_spec(config: Any, space: Any, scorer: Any) -> PredictorSpec | None:
    """The online predictor of a config's hook, checked against ``space`` now (one line when it
    cannot work), with a scorer per zero-cost feature (the hook's own scorer where it is one)."""
    hook = config.hook
    if hook is None or getattr(hook, "predictor", None) is None:
        return None
    from dataclasses import replace

    from nasearch.errors import UsageError
    from nasearch.predictors import make_predictor
    from nasearch.predictors.base import ZeroCostSource
    from nasearch.proxies.data import DataSource
    from nasearch.proxies.scorer import ScorerSpec
    from nasearch.proxies.store import ScoreCache

    probe = make_predictor(hook.predictor, space, features=ZeroCostSource(space), seed=0)
    trainable = bool(getattr(probe, "trainable", True))
    if trainable and hook.warmup < 2:
        raise UsageError(f"hook.warmup: {hook.warmup}; predictor {hook.predictor!r} learns from the run's evaluations, "
                         "so it needs warmup >= 2 (default 20)")
    scorers: dict[str, Any] = {}
    needs = getattr(probe, "needs", None)
    for proxy in (getattr(needs, "zero_cost", ()) or ()):
        if scorer is not None and proxy == hook.proxy:
            scorers[proxy] = scorer
        elif proxy not in scorers:
            spec = replace(ScorerSpec.from_hook(hook), proxy=proxy,
                           options=tuple(sorted(dict(hook.options).items())) if proxy == hook.proxy else ())
            scorers[proxy] = spec.build(space, DataSource.from_config(config.data), ScoreCache(config.cache_dir))
    return PredictorSpec(hook.predictor, space, hook.warmup, hook.refit_every, hook.predictor_cost, trainable, scorers,
                         hook_proxy=hook.proxy if scorer is not None else None)


def selection_label(hook: Any) -> str | None:
    """What a run record's ``selection`` says: the proxy, or the control (``uniform``, ``oracle``,
    ``worst:<proxy>``); None for a vanilla searcher."""
    if hook is None:
        return None
    select = getattr(hook, "select", "proxy")
    if select == "proxy":
        return hook.proxy
    return f"worst:{hook.proxy}" if select == "worst" else select


def is_control_label(label: str | None) -> bool:
    """Whether a :func:`selection_label` names a control (``uniform``, ``oracle``, ``worst:<proxy>``)
    rather than a proxy (None, a vanilla searcher, is neither)."""
    return label is not None and (label in ("uniform", "oracle") or label.startswith("worst:"))


def needs_scorer(hook: Any) -> bool:
    """Whether a hook's selection scores candidates with its proxy."""
    return hook is not None and getattr(hook, "select", "proxy") in ("proxy", "worst")


def build_scorer(config: Any, space: Any) -> Any:
    """The proxy scorer a config's hook selects with (None when its selection scores nothing)."""
    if not needs_scorer(config.hook):
        return None
    from nasearch.proxies.data import DataSource
    from nasearch.proxies.scorer import ScorerSpec
    from nasearch.proxies.store import ScoreCache

    return ScorerSpec.from_hook(config.hook).build(space, DataSource.from_config(config.data), ScoreCache(config.cache_dir))
