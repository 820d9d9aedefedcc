"""What it takes to drive hpbandster 0.7.4 in-process, deterministically, on numpy 2 / ConfigSpace 1.x.

hpbandster's optimizers are Pyro4 masters: a nameserver, a dispatcher thread, workers
talking over sockets. Its *parts* need none of that: the BOHB config generator
(``get_config`` / ``new_result``), the ``SuccessiveHalving`` iteration (the bracket state
machine) and the ``Job`` result carrier are plain objects. This module gives the searcher
what it needs to use those parts directly:

* :func:`config_space` builds a ConfigurationSpace from a space's categorical choices;
* :class:`BracketSchedule` reuses hpbandster's own Hyperband arithmetic (the number of
  configurations and the budgets of bracket ``i``) without constructing a Master, whose
  ``__init__`` starts a dispatcher thread that looks for a nameserver;
* :class:`IsolatedNumpyRandom` runs hpbandster calls on a private legacy RandomState:
  the KDE generator draws from the *global* ``np.random``, so each run keeps its own
  stream swapped in only while hpbandster's code runs (the replacement sampling loop of
  :mod:`searchers._hpbandster_kde` draws from it directly), and nothing else in the process
  can disturb it (or be disturbed by it);
* :func:`quiet` silences the noise the released code makes on current libraries:
  ConfigSpace 1.x deprecations (``get_hyperparameters``, ``get_dictionary``, ...),
  statsmodels 0.15's FutureWarning about the KDE's default random generator (unused by the
  ``normal_reference`` bandwidth BOHB asks for, so results do not depend on it), and the
  divide-by-zero RuntimeWarnings and log lines of the known categorical-KDE corner case
  (statsmodels' Aitchison-Aitken kernel counts a column's levels from the data; when all
  "good" points share one value it divides by zero and hpbandster falls back as designed).
  The behaviour itself is left exactly as hpbandster 0.7.4 has it.

* :func:`accelerate_categorical_kdes` swaps the ``pdf`` of hpbandster's statsmodels KDEs over
  all-categorical data for :class:`CategoricalKDEPdf`, which evaluates the *same* numpy
  expressions (bitwise equal, tested) with the per-call ``np.unique`` and Python loops
  hoisted out. statsmodels' per-point ``pdf`` was 70% of a BOHB run's time; the model, its
  bandwidths, sampling and acquisition stay hpbandster's and statsmodels'.

No sockets are opened anywhere here (tests/test_bohb.py checks that).
"""
from __future__ import annotations

import contextlib
import logging
import math
import warnings
from dataclasses import dataclass, field
from typing import Iterator, Sequence

import numpy as np


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Suppress the known, harmless noise of hpbandster on current libraries.

    Besides the warnings above, the KDE generator logs several WARNING lines each time a
    sampled vector has a non-finite acquisition value (it then falls back as designed);
    over 500 runs that is thousands of lines, so the ``hpbandster`` logger is held at ERROR
    while its code runs here and restored afterwards. Those lines are built with ``%``
    *before* the logger drops them, printing the KDEs' whole training data each time: with a
    proxy-picked pool (G-BOHB) that formatting was 80% of a run. numpy's print options are
    therefore set to summarise every array while hpbandster runs; only discarded strings
    change. The ERROR threshold is a filter, not ``setLevel``: every ``setLevel`` clears the
    level caches of all loggers of the process, which was 4% of a BOHB run (hpbandster logs
    on the ``hpbandster`` logger itself only, so the filter drops exactly what the level did).
    """
    logger = logging.getLogger("hpbandster")
    logger.addFilter(_below_error)
    try:
        with warnings.catch_warnings(), np.printoptions(threshold=0, edgeitems=1):
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            warnings.filterwarnings("ignore", category=FutureWarning, module=r"statsmodels\..*")
            warnings.filterwarnings("ignore", category=FutureWarning, message=r".*entropy initialized numpy\.random\.Generator.*")
            # statsmodels counts a categorical's levels from the data; a level-less column divides by
            # zero and the acquisition turns non-finite, which hpbandster detects and handles itself
            # (numpy attributes those to its own modules, so they are matched by category: only
            # hpbandster and statsmodels code runs inside this block)
            warnings.filterwarnings("ignore", category=RuntimeWarning)
            yield
    finally:
        logger.removeFilter(_below_error)


def _below_error(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.ERROR


def warnings_dropped(logger: logging.Logger) -> bool:
    """Whether :func:`quiet` is dropping ``logger``'s records below ERROR (so building them is wasted)."""
    return _below_error in logger.filters


class IsolatedNumpyRandom:
    """A private legacy ``np.random`` stream: ``random``, installed as the global one only inside ``with``.

    Code that can take a ``RandomState`` draws from :attr:`random` directly (the same legacy
    methods on the same state as the global ``np.random`` functions); code that draws from the
    global functions (hpbandster's) runs inside :meth:`installed`, which copies the state in
    and back out (about 200 us: numpy copies the 624-word state element by element). Not
    re-entrant, and :attr:`random` must not be drawn from while installed.
    """

    def __init__(self, seed: int) -> None:
        self.random = np.random.RandomState(seed)

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        outside = np.random.get_state()
        np.random.set_state(self.random.get_state())
        try:
            yield
        finally:
            self.random.set_state(np.random.get_state())
            np.random.set_state(outside)


def config_space(choices: Sequence[Sequence[str]], seed: int):
    """A ConfigurationSpace with one categorical hyperparameter ``c<i>`` per choice of the space."""
    import ConfigSpace as CS

    space = CS.ConfigurationSpace(seed=seed)
    space.add([CS.CategoricalHyperparameter(f"c{i}", [str(option) for option in options]) for i, options in enumerate(choices)])
    return space


@dataclass
class BracketSchedule:
    """Hyperband's brackets over ``[min_budget, max_budget]`` with ratio ``eta``, as hpbandster computes them.

    ``max_SH_iter`` and ``budgets`` are computed with the same formula as hpbandster's
    BOHB/HyperBand masters; :meth:`iteration` then calls hpbandster's own
    ``get_next_iteration`` on this object, so bracket sizes come from hpbandster itself.
    """

    eta: float
    min_budget: float
    max_budget: float
    max_SH_iter: int = field(init=False)
    budgets: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        if not 0 < self.min_budget <= self.max_budget:
            raise ValueError(f"need 0 < min_budget <= max_budget, got {self.min_budget} and {self.max_budget}")
        if self.eta < 2:
            raise ValueError(f"eta must be >= 2, got {self.eta}")
        self.max_SH_iter = -int(np.log(self.min_budget / self.max_budget) / np.log(self.eta)) + 1
        self.budgets = self.max_budget * np.power(self.eta, -np.linspace(self.max_SH_iter - 1, 0, self.max_SH_iter))

    def iteration(self, index: int, config_sampler) -> object:
        """Bracket ``index`` as a hpbandster ``SuccessiveHalving`` that samples through ``config_sampler``."""
        from hpbandster.optimizers.hyperband import HyperBand

        # get_next_iteration reads eta, max_SH_iter, budgets and config_generator.get_config only
        view = _ScheduleView(self.eta, self.max_SH_iter, self.budgets, _SamplerOwner(config_sampler))
        return HyperBand.get_next_iteration(view, index)


@dataclass
class _SamplerOwner:
    get_config: object


@dataclass
class _ScheduleView:
    eta: float
    max_SH_iter: int
    budgets: np.ndarray
    config_generator: _SamplerOwner


def budget_to_epochs(budget: float) -> int:
    """Training epochs for a hpbandster budget: ``int(budget)`` as NATS-Bench's ``bohb.py``, at least 1.

    With min 1, max 12 and eta 3 the budgets are 12/9, 12/3 and 12, i.e. 1, 4 and 12 epochs.
    A tolerance of 1e-9 keeps float error (``12 * 3**-1 = 3.9999...``) from losing an epoch.
    """
    return max(1, int(math.floor(float(budget) + 1e-9)))


def make_job(config_id: tuple, config: dict, budget: float, loss: float):
    """A finished hpbandster ``Job`` carrying ``loss`` (what ``register_result``/``new_result`` read)."""
    from hpbandster.core.dispatcher import Job

    job = Job(config_id, config=config, budget=budget)
    job.result = {"loss": float(loss), "info": {}}
    job.exception = None
    return job


#: up to this many columns the row products of every match pattern are tabulated (2^k rows)
MAX_PATTERN_COLUMNS = 12


class CategoricalKDEPdf:
    """``KDEMultivariate.pdf`` of statsmodels 0.14-0.15 for unordered (``'u'``) variables only.

    statsmodels evaluates each point with ``gpke``: per column an Aitchison-Aitken kernel
    ``(1 - h)`` where the training value equals the point's and ``h / (levels - 1)``
    elsewhere (levels counted from the training column, so a one-level column divides by
    zero, as in statsmodels), the product over columns, divided by the product of the
    (absent) continuous bandwidths, summed over training rows, divided by ``nobs``. The
    same operations run here on arrays of the same shape and layout, so the floats are the
    same; only what does not depend on the point is computed once per bandwidth.
    """

    def __init__(self, kde) -> None:
        from statsmodels.nonparametric._kernel_base import _adjust_shape

        if set(kde.var_type) != {"u"}:
            raise ValueError(f"CategoricalKDEPdf handles unordered variables only, got var_type {kde.var_type!r}")
        self._adjust_shape = _adjust_shape
        self.kde = kde
        self._bw: np.ndarray | None = None  # the bandwidth the arrays below were built for
        self._at_point: dict[bytes, np.ndarray] = {}

    def _prepare(self, bw: np.ndarray) -> None:
        data = self.kde.data
        nobs = data.shape[0]
        # statsmodels' aitchison_aitken, per column: levels = np.unique(column).size, off-level
        # kernel h / (levels - 1) (np.ones(nobs) * h is h), on-level 1 - h; the same float64
        # divisions and subtractions, done for all columns at once
        bw = np.asarray(bw, dtype=float)
        levels = _levels(data)
        off = np.empty(data.shape)
        on = np.empty(data.shape)
        off[:] = bw / (levels - 1)
        on[:] = 1 - bw
        self._off, self._on = off, on
        self._continuous_bandwidths = np.prod(bw[np.zeros(len(bw), dtype=bool)])
        self._bw = np.array(bw, copy=True)
        self._bw_bytes = self._bw.tobytes()
        self._at_point = {}
        # A row's kernel depends only on which of its columns equal the point's: with k columns
        # there are 2^k match patterns, and their row products are computed here once, by the
        # same numpy product over rows of the same length and layout (bitwise the per-row ones).
        k_vars = data.shape[1]
        self._row_products = None
        if nobs and 1 < k_vars <= MAX_PATTERN_COLUMNS:
            patterns = np.arange(2**k_vars)[:, None] >> np.arange(k_vars)[None, :] & 1
            kernels = np.where(patterns.astype(bool), on[:1], off[:1])
            self._row_products = np.ascontiguousarray(kernels).prod(axis=1)
            self._bits = np.left_shift(1, np.arange(k_vars))

    def _current(self) -> None:
        """Prepare for the KDE's bandwidth, unless already done for it."""
        bw = self.kde.bw
        # hpbandster replaces bw (clipped) after fitting; in-place edits are caught by the compare
        if self._bw is None or np.asarray(bw).tobytes() != self._bw_bytes:
            with np.errstate(divide="ignore", invalid="ignore"):
                self._prepare(np.asarray(bw))

    def __call__(self, data_predict=None):
        if data_predict is None:
            data_predict = self.kde.data
        self._current()
        k_vars = self.kde.k_vars
        if isinstance(data_predict, list):
            data_predict = np.asarray(data_predict)  # what hpbandster's acquisition passes
        if isinstance(data_predict, np.ndarray) and data_predict.ndim == 1 and k_vars > 1:
            # one point, as hpbandster's acquisition asks: categorical points repeat, so the
            # density at each is kept while this bandwidth (and the model's data) last
            key = data_predict.tobytes()
            found = self._at_point.get(key)
            if found is None:
                found = self._at_point[key] = self._estimate_one(data_predict)
            return found
        return self._estimate(self._adjust_shape(data_predict, k_vars))

    def _estimate_one(self, point: np.ndarray) -> np.ndarray:
        """``_estimate`` of one point: the row products looked up by match pattern."""
        if self._row_products is None:
            return self._estimate(point.reshape(1, -1))
        codes = (self.kde.data == point) @ self._bits
        value = (self._row_products[codes] / self._continuous_bandwidths).sum(axis=0) / self.kde.nobs
        return np.asarray(value)  # what np.squeeze of the one-element list gives

    def has_table(self) -> bool:
        """Whether :meth:`at_points` can be used: the match-pattern table exists (2..12 columns, some rows)."""
        self._current()
        return self._row_products is not None

    def magnitude_bound(self) -> float:
        """An upper bound of ``|density|`` and of every partial sum computed for it (inf if none holds).

        The density is a sum of ``nobs`` row products (divided by 1, the empty product of
        continuous bandwidths, and by ``nobs``); a non-finite row product (a one-level column)
        gives inf.
        """
        if not self.has_table() or not np.isfinite(self._row_products).all():
            return np.inf
        return float(np.abs(self._row_products).max() * self.kde.nobs / self._continuous_bandwidths)

    def at_points(self, points: np.ndarray) -> np.ndarray:
        """``[self(point) for point in points]`` as one array (needs :meth:`has_table`).

        The same operations as :meth:`_estimate_one` on a ``(len(points), nobs)`` array; each
        row is summed along the contiguous last axis, by the same pairwise summation as the
        one-point sum, so every value is bitwise the one-point value (inf and NaN included).
        """
        self._current()
        codes = (self.kde.data[None, :, :] == points[:, None, :]) @ self._bits
        return (self._row_products[codes] / self._continuous_bandwidths).sum(axis=1) / self.kde.nobs

    def _estimate(self, points: np.ndarray) -> np.ndarray:
        estimates = []
        for point in points:
            kernel = np.where(self.kde.data == point, self._on, self._off)
            estimates.append((kernel.prod(axis=1) / self._continuous_bandwidths).sum(axis=0) / self.kde.nobs)
        return np.squeeze(estimates)


def _levels(data: np.ndarray) -> np.ndarray:
    """``np.unique(data[:, j]).size`` for every column j (one sort of the whole array when there is no NaN)."""
    if data.shape[0] == 0 or np.isnan(data).any():
        return np.array([np.unique(data[:, column]).size for column in range(data.shape[1])], dtype=np.int64)
    ordered = np.sort(data, axis=0)
    return (ordered[1:] != ordered[:-1]).sum(axis=0) + 1


def accelerate_categorical_kdes(generator) -> None:
    """Give every all-categorical KDE of a hpbandster BOHB generator the hoisted ``pdf``."""
    for models in getattr(generator, "kde_models", {}).values():
        for kde in models.values():
            if set(kde.var_type) == {"u"} and not isinstance(kde.__dict__.get("pdf"), CategoricalKDEPdf):
                kde.pdf = CategoricalKDEPdf(kde)
