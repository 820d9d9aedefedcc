"""hpbandster 0.7.4's BOHB config generator with its sampling loop run without the waste.

:class:`KDEConfigGenerator` subclasses hpbandster's ``BOHB`` config generator. The model is
all hpbandster's and statsmodels': ``new_result`` (the top-n% split and the two
``KDEMultivariate`` fits, bandwidths clipped to ``min_bandwidth``) is inherited unchanged,
and so are the densities ``l`` and ``g`` the acquisition evaluates (the KDEs' ``pdf``,
statsmodels' own or :class:`~searchers._hpbandster_compat.CategoricalKDEPdf`, which is
bitwise the same). What is replaced is the Python around them, in two places:

``get_config`` (over all-categorical spaces, the only ones this project builds) is
hpbandster's method statement for statement, with the same random draws, in the same
order, of the same shapes, and the same float operations. It differs in what it does not
redo:

* **the random stream.** hpbandster draws from the global ``np.random``; this project keeps
  each run's stream in a private ``RandomState`` (:class:`IsolatedNumpyRandom`) that used to
  be copied into the global state and back around every call (four copies of the 624-word
  Mersenne Twister state, ~200 us a call). The replacement calls ``rand`` and ``randint`` of
  that private ``RandomState`` directly: the same methods of the same legacy class on the
  same state, hence the same numbers and the same final state.
* **per-sample recomputation.** ``max(bw, min_bandwidth)``, the threshold ``1 - bw``, the
  KDE's training rows as ``int(m)`` and the levels ``t`` are computed once per fitted model
  instead of once per sample and column (same expressions, so the same values).
* **repeated acquisition values.** Categorical candidates repeat; ``max(1e-32, g(x)) /
  max(l(x), 1e-32)`` (and ``np.isfinite(l(x))`` where hpbandster needs it) is kept per
  point while the model lasts. ``l`` and ``g`` are deterministic functions of the point, so
  the value is the one hpbandster would compute again.
* **eager logging.** hpbandster formats its debug line ``'best_vector: ...'.format(...)``
  (which evaluates ``l`` and ``g`` once more and prints arrays) whether or not DEBUG is on,
  and logs five ``%``-formatted warning lines per non-finite acquisition value (the KDEs'
  whole data, ``l(x)``, ``g(x)``), which :func:`~searchers._hpbandster_compat.quiet` then
  drops (in G-BOHB runs, creating those records was a third of the time). Here the debug line
  is built only when the logger is enabled for DEBUG, and the warnings are skipped only while
  quiet's filter is on the logger (it drops every record below ERROR, whatever else).
* **ConfigSpace churn.** Turning the picked vector into a dictionary
  (``Configuration(vector=...)``, ``deactivate_inactive_hyperparameters``, ``get_dictionary``)
  is deterministic in the vector and draws from no random state, so each expression's result
  is kept per input (a fresh dictionary is returned each time). ``int(np.rint(v))`` of
  hpbandster's categorical loop is skipped: every entry is already a Python ``int`` (from
  ``int(m)`` or ``randint``), which it leaves as is.

The control flow, the fallbacks (random fraction, ``configspace.sample_configuration()`` when
no model exists or every sample fails, the bare ``except`` and the second
``sample_configuration`` it leads to) and the returned ``(config, info_dict)`` are
hpbandster's. Spaces with a continuous hyperparameter (``truncnorm.rvs``, which draws from
the global ``np.random``) run hpbandster's own ``get_config`` with the private state
installed as the global one.

``impute_conditional_data`` returns a copy of its input when that holds no NaN: hpbandster's
loop then copies every row and draws nothing, so the array is the same, and ``new_result``
needs no global random state. Arrays with NaNs (inactive values, i.e. conditional spaces)
go to hpbandster's loop with the private state installed.

``hpbandster_code=True`` runs hpbandster's own methods throughout (the private state
installed around each), as the searcher did before this class existed: the reference that
tests/test_bohb.py compares the replacement with, and that benchmarks/profile_bohb.py times.
"""
from __future__ import annotations

import functools
import logging
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

import ConfigSpace
import ConfigSpace.util
import numpy as np
from hpbandster.optimizers.config_generators.bohb import BOHB

from searchers._hpbandster_compat import CategoricalKDEPdf, IsolatedNumpyRandom, warnings_dropped


class KDEConfigGenerator(BOHB):
    """hpbandster's ``BOHB`` config generator drawing from ``numpy_random`` (see the module docstring)."""

    def __init__(self, configspace: Any, numpy_random: IsolatedNumpyRandom, hpbandster_code: bool = False, **kwargs: Any) -> None:
        super().__init__(configspace, **kwargs)
        self.numpy_random = numpy_random
        self.hpbandster_code = hpbandster_code
        self._categorical = set(self.kde_vartypes) == {"u"}
        self._flat = not configspace.conditions and not configspace.forbidden_clauses
        self._model: _Model | None = None

    # -- hpbandster's get_config, without the waste -----------------------------------------------
    def get_config(self, budget: float) -> tuple[dict, dict]:
        if self.hpbandster_code or not self._categorical or not self._model_is_integral():
            with self.numpy_random.installed():
                return super().get_config(budget)
        self.logger.debug('start sampling a new configuration.')
        random = self.numpy_random.random

        sample = None
        info_dict = {}
        if len(self.kde_models.keys()) == 0 or random.rand() < self.random_fraction:
            sample = self.configspace.sample_configuration()
            info_dict['model_based_pick'] = False

        best = np.inf
        best_vector = None

        if sample is None:
            try:
                budget = max(self.kde_models.keys())
                model = self._current_model(budget)
                rows, n_rows, columns = model.rows, model.n_rows, model.columns
                rand, randint = random.rand, random.randint

                def draw() -> list:
                    datum = rows[randint(0, n_rows)]
                    return [m if rand() < threshold else randint(t) for m, (threshold, t) in zip(datum, columns)]

                if model.batch:
                    # hpbandster's loop cannot break early (see _Model.batch): all num_samples vectors
                    # are drawn, valued at once, then scanned as hpbandster's loop scans them
                    vectors = [draw() for i in range(self.num_samples)]
                    vals = model.acquisitions(vectors) if vectors else np.empty(0)
                    for i in np.flatnonzero(~np.isfinite(vals)):
                        model.warn_non_finite(self.logger, vectors[i], vals[i])  # here l(x) is NaN: no break
                    # `val < best` from inf keeps the first minimum and never a NaN
                    candidates = np.where(np.isnan(vals), np.inf, vals)
                    if candidates.size and candidates.min() < best:
                        first_minimum = int(np.argmin(candidates))
                        best, best_vector = vals[first_minimum], vectors[first_minimum]
                else:
                    for i in range(self.num_samples):
                        vector = draw()
                        key = tuple(vector)
                        val = model.acquisition(key, vector)

                        if not np.isfinite(val):
                            model.warn_non_finite(self.logger, vector, val)
                            if model.good_is_finite(key, vector):
                                best_vector = vector
                                break

                        if val < best:
                            best = val
                            best_vector = vector

                if best_vector is None:
                    self.logger.debug("Sampling based optimization with %i samples failed -> using random configuration"%self.num_samples)
                    sample = self.configspace.sample_configuration().get_dictionary()
                    info_dict['model_based_pick'] = False
                else:
                    if self.logger.isEnabledFor(logging.DEBUG):
                        self.logger.debug('best_vector: {}, {}, {}, {}'.format(best_vector, best, model.l(best_vector), model.g(best_vector)))
                    sample = self._configuration(best_vector)
                    info_dict['model_based_pick'] = True

            except:  # noqa: E722 -- hpbandster's bare except, kept: it decides the fallback
                self.logger.warning("Sampling based optimization with %i samples failed\n %s \nUsing random configuration"%(self.num_samples, traceback.format_exc()))
                sample = self.configspace.sample_configuration()
                info_dict['model_based_pick'] = False

        try:
            sample = self._dictionary(sample)
        except Exception as e:
            self.logger.warning("Error (%s) converting configuration: %s -> "
                                "using random configuration!",
                                e,
                                sample)
            sample = self.configspace.sample_configuration().get_dictionary()
        self.logger.debug('done sampling a new configuration.')
        return sample, info_dict

    def _model_is_integral(self) -> bool:
        """Whether the good KDE's data (if any) is finite, so that each ``int(m)`` can be taken ahead.

        Imputation can leave a NaN (hpbandster's ``while np.any(nan_indices)`` skips one at index
        0); hpbandster's ``int(m)`` then fails only if that entry is drawn, so such a model goes
        to hpbandster's own loop.
        """
        return not self.kde_models or self._current_model(max(self.kde_models.keys())).rows is not None

    def _current_model(self, budget: float) -> "_Model":
        """The per-model precomputation for the KDEs of ``budget``, rebuilt whenever they change."""
        models = self.kde_models[budget]
        if self._model is None or not self._model.describes(models):
            self._model = _Model.of(models, self.vartypes, self.min_bandwidth)
        return self._model

    def _configuration(self, best_vector: list) -> Any:
        """hpbandster's ``Configuration(vector=...)`` -> dictionary -> ``deactivate_inactive_hyperparameters``.

        In a flat space (no conditions, no forbidden clauses) deactivation rebuilds a
        Configuration with the same values, so the Configuration of the vector stands for it
        (:meth:`_dictionary` takes the same dictionary from either).
        """
        if self._flat:
            return ConfigSpace.Configuration(self.configspace, vector=best_vector)
        sample = ConfigSpace.Configuration(self.configspace, vector=best_vector).get_dictionary()
        try:
            return ConfigSpace.util.deactivate_inactive_hyperparameters(
                configuration_space=self.configspace,
                configuration=sample
            )
        except Exception as e:
            self.logger.warning(("="*50 + "\n")*3 +
                                "Error converting configuration:\n%s"%sample +
                                "\n here is a traceback:" +
                                traceback.format_exc())
            raise(e)

    def _dictionary(self, sample: Any) -> dict:
        """hpbandster's final ``deactivate_inactive_hyperparameters(..., sample.get_dictionary()).get_dictionary()``.

        In a flat space that is ``dict(sample)``: ConfigSpace 1.x builds a Configuration from the
        values (all legal, all active), deactivates nothing and returns them in the space's
        order, which is the order ``dict(sample)`` has. A dictionary ``sample`` (hpbandster's
        "every sample failed" path) raises AttributeError on ``get_dictionary``, as in hpbandster.
        """
        if self._flat and isinstance(sample, ConfigSpace.Configuration):
            return dict(sample)
        return ConfigSpace.util.deactivate_inactive_hyperparameters(
            configuration_space=self.configspace,
            configuration=sample.get_dictionary()
        ).get_dictionary()

    # -- new_result: hpbandster's, without the global state where it draws nothing ----------------
    def new_result(self, job: Any, update_model: bool = True) -> None:
        if self.hpbandster_code:
            with self.numpy_random.installed():
                return super().new_result(job, update_model)
        return super().new_result(job, update_model)

    def impute_conditional_data(self, array: np.ndarray) -> np.ndarray:
        if self.hpbandster_code:
            return super().impute_conditional_data(array)  # new_result installed the state
        if not np.isnan(array).any():
            return array.copy()  # hpbandster's loop copies each row and draws nothing
        with self.numpy_random.installed():
            return super().impute_conditional_data(array)


@dataclass
class _Model:
    """What hpbandster's sampling loop recomputes per sample, computed once for one pair of fitted KDEs."""

    models: dict  # hpbandster's {'good': kde, 'bad': kde} for the budget (a new dict at every refit)
    pdfs: tuple  # the KDEs' pdf overrides (CategoricalKDEPdf) when it was built, if any
    bandwidths: tuple  # the KDEs' bw bytes when it was built
    l: Callable
    g: Callable
    rows: list | None  # the good KDE's training rows as hpbandster's int(m); None if one is not finite
    n_rows: int  # len(kde_good.data)
    columns: list  # per column: (1 - max(bw, min_bandwidth), t) as hpbandster computes them
    _acquisition: dict = field(default_factory=dict)
    _good_finite: dict = field(default_factory=dict)

    @classmethod
    def of(cls, models: dict, vartypes: np.ndarray, min_bandwidth: float) -> "_Model":
        good, bad = models['good'], models['bad']
        columns = []
        for bw, t in zip(good.bw, vartypes):
            bw = max(bw, min_bandwidth)
            columns.append((float(1 - bw), int(t)))
        rows = [[int(m) for m in datum] for datum in good.data] if np.isfinite(good.data).all() else None
        return cls(models, _pdf_overrides(models), _bandwidths(models), good.pdf, bad.pdf, rows, len(good.data), columns)

    @functools.cached_property
    def batch(self) -> bool:
        """Whether get_config may draw all samples first and value them at once.

        hpbandster's loop breaks at the first non-finite value with a finite ``l(x)``. With
        ``|g| <= 1e250`` the numerator ``max(1e-32, g)`` is finite and ``val = numerator /
        max(l, 1e-32)`` is below 1e282 unless ``l(x)`` is NaN: no break can happen, and the
        draws of a sample depend on no value, so all can be drawn before any is valued.
        """
        l, g = self.l, self.g
        return (isinstance(l, CategoricalKDEPdf) and isinstance(g, CategoricalKDEPdf)
                and l.has_table() and g.magnitude_bound() <= 1e250)

    def describes(self, models: dict) -> bool:
        return models is self.models and _pdf_overrides(models) == self.pdfs and _bandwidths(models) == self.bandwidths

    def acquisition(self, key: tuple, vector: list) -> Any:
        """hpbandster's ``minimize_me(vector)``: ``max(1e-32, g(x)) / max(l(x), 1e-32)``."""
        val = self._acquisition.get(key)
        if val is None:
            val = self._acquisition[key] = max(1e-32, self.g(vector))/max(self.l(vector), 1e-32)
        return val

    def acquisitions(self, vectors: list) -> np.ndarray:
        """``minimize_me`` of each vector at once (``batch`` models only).

        ``at_points`` gives each density bitwise as the one-point call, and the ``np.where``
        pick what Python's ``max(1e-32, g)`` and ``max(l, 1e-32)`` pick (the first argument
        unless the second is greater, NaN included), so each value is the one-point value.
        """
        points = np.array(vectors)
        g, l = self.g.at_points(points), self.l.at_points(points)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(g > 1e-32, g, 1e-32)/np.where(1e-32 > l, 1e-32, l)

    def good_is_finite(self, key: tuple, vector: list) -> bool:
        """hpbandster's ``np.isfinite(l(vector))``."""
        finite = self._good_finite.get(key)
        if finite is None:
            finite = self._good_finite[key] = bool(np.isfinite(self.l(vector)))
        return finite

    def warn_non_finite(self, logger: logging.Logger, vector: list, val: Any) -> None:
        """hpbandster's five warning lines, unless :func:`quiet` drops every warning anyway."""
        if warnings_dropped(logger):
            return
        good, bad = self.models['good'], self.models['bad']
        logger.warning('sampled vector: %s has EI value %s'%(vector, val))
        logger.warning("data in the KDEs:\n%s\n%s"%(good.data, bad.data))
        logger.warning("bandwidth of the KDEs:\n%s\n%s"%(good.bw, bad.bw))
        logger.warning("l(x) = %s"%(self.l(vector)))
        logger.warning("g(x) = %s"%(self.g(vector)))


def _pdf_overrides(models: dict) -> tuple:
    return tuple(models[side].__dict__.get('pdf') for side in ('good', 'bad'))


def _bandwidths(models: dict) -> tuple:
    return tuple(np.asarray(models[side].bw).tobytes() for side in ('good', 'bad'))

