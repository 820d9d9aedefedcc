"""hpbandster 0.7.4's BOHB config generator with its sampling loop run without the waste.

:class:`KDEConfigGenerator` subclasses hpbandster's ``BOHB`` config generator. The model is
all hpbandster's and statsmodels': ``new_result`` (the top-n% split and the two
``KDEMultivariate`` fits, bandwidths clipped to ``min_bandwidth``) is inherited unchanged,
and so are the densities ``l`` and ``g`` the acquisition evaluates (the KDEs' ``pdf``,
statsmodels' own or :class:`~nasearch.searchers._hpbandster_compat.CategoricalKDEPdf`, which is
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
  whole data, ``l(x)``, ``g(x)``), which :func:`~nasearch.searchers._hpbandster_compat.quiet` then
  drops (in G-BOHB runs, creating those records was a third of the time). Here the debug line
  is built only when the logger is enabled for DEBUG, and the warnings are skipped only while
  quiet's filter is on the logger (it drops every record below ERROR, whatever else).
* **ConfigSpace churn.** Turning the picked vector into a dictionary
  (``Configuration(vector=...)``, ``deactivate_inactive_hyperparameters``, ``get_dictionary``)
  is deterministic in the vector and draws from no random state. In a flat all-categorical
  space the dictionary is built from a table of each hyperparameter's ``to_value`` per code,
  the values ``Configuration.__getitem__`` returns (a fresh dictionary each time).
  ``int(np.rint(v))`` of hpbandster's categorical loop is skipped: every entry is already a
  Python ``int`` (from ``int(m)`` or ``randint``), which it leaves as is.
* **one call at a time.** G-BOHB's pool asks for k configurations with no result in between
  (:meth:`KDEConfigGenerator.get_configs`). Where hpbandster's loop draws all its samples
  (``_Model.batch``), the k calls' draws are decoded from the Mersenne Twister's words in bulk
  (:class:`_StreamDecoder`: numpy's own algorithms for ``rand`` and ``randint`` of the legacy
  ``RandomState``, on a copy of the state), valued in one acquisition call, and the private
  stream is then advanced by exactly the words the k calls use. BOHB's single calls go the
  same way with k = 1.

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
import math
import threading
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

import ConfigSpace
import ConfigSpace.util
import numpy as np
from hpbandster.optimizers.config_generators.bohb import BOHB

from nasearch.searchers._hpbandster_compat import CategoricalKDEPdf, IsolatedNumpyRandom, warnings_dropped


class KDEConfigGenerator(BOHB):
    """hpbandster's ``BOHB`` config generator drawing from ``numpy_random`` (see the module docstring)."""

    def __init__(self, configspace: Any, numpy_random: IsolatedNumpyRandom, hpbandster_code: bool = False, **kwargs: Any) -> None:
        super().__init__(configspace, **kwargs)
        self.numpy_random = numpy_random
        self.hpbandster_code = hpbandster_code
        self._categorical = set(self.kde_vartypes) == {"u"}
        self._flat = not configspace.conditions and not configspace.forbidden_clauses
        self._model: _Model | None = None
        # flat all-categorical spaces: per hyperparameter, in the space's order, its name, its index in
        # the vector and to_value of each code (what Configuration.__getitem__ returns for it)
        self._value_tables = None
        if self._flat and all(isinstance(hp, ConfigSpace.CategoricalHyperparameter) for hp in configspace.values()):
            self._value_tables = [(name, configspace.index_of[name], [hp.to_value(np.float64(code)) for code in range(hp.num_choices)])
                                  for name, hp in configspace.items()]
            self._value_sizes = np.zeros(len(self._value_tables), dtype=np.int64)
            for _name, index, table in self._value_tables:
                self._value_sizes[index] = len(table)

    # -- hpbandster's get_config, without the waste -----------------------------------------------
    def get_config(self, budget: float) -> tuple[dict, dict]:
        return self.get_configs(budget, 1)[0]

    def get_configs(self, budget: float, k: int) -> list[tuple[dict, dict]]:
        """``[self.get_config(budget) for _ in range(k)]`` (no result reported in between), drawn at once.

        Where the current model allows it (see :meth:`_stream_model`), the ``k`` calls' draws are
        decoded from the private Mersenne Twister's words in bulk (:class:`_StreamDecoder`), the
        acquisition is valued for all their samples at once, and the stream is then advanced
        by exactly the words the ``k`` calls consume; elsewhere the calls run one by one.
        """
        model = self._stream_model() if k > 0 else None
        if model is not None:
            try:
                drawn = model.decoder.decode(self.numpy_random.random, k, self.num_samples, self.random_fraction)
                vectors = drawn.vectors
                vals = model.acquisitions(vectors) if len(vectors) else np.empty(0)
            except Exception:  # noqa: BLE001 -- nothing drawn yet: the calls one by one decide what happens
                drawn = None
            if drawn is not None:
                drawn.commit(self.numpy_random.random)  # the stream as after the k calls' draws
                return [self._finish(self._pick(model, drawn, vals, call)) for call in range(k)]
        return [self._get_config(budget) for _ in range(k)]

    def _stream_model(self) -> "_Model | None":
        """The current model, if the next calls can be drawn in bulk: hpbandster's loop there draws all
        ``num_samples`` vectors (``batch``), from the good KDE's integral rows, with DEBUG off (its debug
        lines are written one call at a time)."""
        if self.hpbandster_code or not self._categorical or not self.kde_models:
            return None
        if self.logger.isEnabledFor(logging.DEBUG):
            return None
        try:
            model = self._current_model(max(self.kde_models.keys()))
            return model if model.rows and model.batch else None
        except Exception:  # noqa: BLE001 -- hpbandster's own path meets it (and its bare except)
            return None

    def _pick(self, model: "_Model", drawn: "_Drawn", vals: np.ndarray, call: int) -> tuple[Any, dict]:
        """What hpbandster's get_config picks in call ``call`` of a bulk draw: its sample and info_dict."""
        first = drawn.first_sample[call]
        if first is None:  # rand() < random_fraction
            return self.configspace.sample_configuration(), {'model_based_pick': False}
        try:
            vectors = drawn.vectors[first:first + self.num_samples]
            best, best_vector = self._scan(model, vectors, vals[first:first + self.num_samples])
            return self._model_pick(model, best, best_vector)
        except:  # noqa: E722 -- hpbandster's bare except, kept: it decides the fallback
            return self._failed_pick()

    def _scan(self, model: "_Model", vectors: Any, vals: np.ndarray) -> tuple[Any, list | None]:
        """hpbandster's loop over samples valued at once (it cannot break: see ``_Model.batch``):
        the warnings for non-finite values (``l(x)`` is NaN there), and the first minimum."""
        best, best_vector = np.inf, None
        for i in np.flatnonzero(~np.isfinite(vals)):
            model.warn_non_finite(self.logger, _as_list(vectors[i]), vals[i])
        # `val < best` from inf keeps the first minimum and never a NaN
        candidates = np.where(np.isnan(vals), np.inf, vals)
        if candidates.size and candidates.min() < best:
            first_minimum = int(np.argmin(candidates))
            best, best_vector = vals[first_minimum], _as_list(vectors[first_minimum])
        return best, best_vector

    def _model_pick(self, model: "_Model", best: Any, best_vector: list | None) -> tuple[Any, dict]:
        """hpbandster's end of the model-based path: the best vector's configuration, or a random one."""
        if best_vector is None:
            self.logger.debug("Sampling based optimization with %i samples failed -> using random configuration"%self.num_samples)
            return self.configspace.sample_configuration().get_dictionary(), {'model_based_pick': False}
        if self.logger.isEnabledFor(logging.DEBUG):
            self.logger.debug('best_vector: {}, {}, {}, {}'.format(best_vector, best, model.l(best_vector), model.g(best_vector)))
        return self._configuration(best_vector), {'model_based_pick': True}

    def _failed_pick(self) -> tuple[Any, dict]:
        """hpbandster's bare ``except`` around the model-based path: a warning and a random configuration."""
        self.logger.warning("Sampling based optimization with %i samples failed\n %s \nUsing random configuration"%(self.num_samples, traceback.format_exc()))
        return self.configspace.sample_configuration(), {'model_based_pick': False}

    def _finish(self, picked: tuple[Any, dict]) -> tuple[dict, dict]:
        """hpbandster's last step: the pick as a dictionary (a random one if that fails)."""
        sample, info_dict = picked
        try:
            sample = self._dictionary(sample)
        except Exception as e:
            self.logger.warning("Error (%s) converting configuration: %s -> "
                                "using random configuration!",
                                e,
                                sample)
            sample = self.configspace.sample_configuration().get_dictionary()
        return sample, info_dict

    def _get_config(self, budget: float) -> tuple[dict, dict]:
        """One get_config, hpbandster's statement for statement (see the module docstring)."""
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
                    best, best_vector = self._scan(model, vectors, model.acquisitions(vectors) if vectors else np.empty(0))
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

                sample, info_dict = self._model_pick(model, best, best_vector)

            except:  # noqa: E722 -- hpbandster's bare except, kept: it decides the fallback
                sample, info_dict = self._failed_pick()

        sample, info_dict = self._finish((sample, info_dict))
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
            # each value is its hyperparameter's to_value of the vector's entry: for integral entries
            # of categoricals it is read from a table of to_value's results (ConfigSpace's per-value
            # conversion was a seventh of a G-BOHB run)
            vector = sample.get_array()
            if self._value_tables is not None and vector.shape == self._value_sizes.shape:
                codes = vector.astype(np.int64)
                if np.array_equal(codes, vector) and (codes >= 0).all() and (codes < self._value_sizes).all():
                    codes = codes.tolist()
                    return {name: table[codes[index]] for name, index, table in self._value_tables}
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

    @functools.cached_property
    def decoder(self) -> "_StreamDecoder":
        return _StreamDecoder(self.rows, self.columns)

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
        points = np.array(vectors)  # from lists of ints or an int64 array: the same int64 points
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


def _as_list(vector: Any) -> list:
    """A sampled vector as hpbandster's loop holds it: a list of Python ints."""
    return vector.tolist() if isinstance(vector, np.ndarray) else vector


def _pdf_overrides(models: dict) -> tuple:
    return tuple(models[side].__dict__.get('pdf') for side in ('good', 'bad'))


def _bandwidths(models: dict) -> tuple:
    return tuple(np.asarray(models[side].bw).tobytes() for side in ('good', 'bad'))



# -- the legacy RandomState's draws, decoded in bulk ------------------------------------------------
_TWO_53 = 9007199254740992.0


def _mask(rng: int) -> int:
    """numpy's ``gen_mask``: the smallest ``2**b - 1 >= rng``."""
    mask = rng
    for shift in (1, 2, 4, 8, 16, 32):
        mask |= mask >> shift
    return mask


class _StreamDecoder:
    """hpbandster's get_config draws for one model, decoded from the Mersenne Twister's 32-bit words.

    A legacy ``RandomState`` (what ``IsolatedNumpyRandom`` holds) draws, per numpy's source
    (``legacy_double``, ``random_bounded_uint64_fill`` with ``use_masked``):

    * ``rand()``: two words ``a, b``, ``((a >> 5) * 2**26 + (b >> 6)) / 2**53`` (exact in doubles);
    * ``randint(low, high)``: with ``rng = high - 1 - low``, no word if ``rng == 0``, else words until
      one has ``word & mask <= rng`` (``mask`` the smallest ``2**b - 1 >= rng``), giving
      ``low + (word & mask)``: one word per try.

    One call of get_config, once a model exists and hpbandster's loop draws all its samples, is
    ``rand()`` (the random fraction; below it the call draws nothing else from this stream), then
    ``num_samples`` times: ``randint(0, n_rows)`` for the good KDE's row, and per column ``rand()``
    and, when that is not below the column's threshold, ``randint(t)``. The end of a sample is a
    function of where it starts; it is computed for every word position at once, then followed
    call by call, and the samples' values are read at their starts, all with numpy arrays. The
    words are peeked from a copy of the state; :meth:`_Drawn.commit` advances the real one by the
    words used, so its final state is the one the calls leave (tests/test_bohb.py checks both).
    """

    def __init__(self, rows: list, columns: list) -> None:
        self.rows = np.array(rows, dtype=np.int64)
        self.thresholds = [threshold for threshold, _t in columns]
        self.levels = [t for _threshold, t in columns]
        # words per sample, expected: the row's tries, and per column two words and the tries of randint(t)
        expected = self._tries(len(rows) - 1)
        for threshold, t in columns:
            expected += 2 + min(1.0, max(0.0, 1 - threshold)) * self._tries(t - 1)
        self.words_per_sample = expected

    @staticmethod
    def _tries(rng: int) -> float:
        return 0.0 if rng <= 0 else (_mask(rng) + 1) / (rng + 1)

    def decode(self, state: np.random.RandomState, k: int, num_samples: int, random_fraction: float) -> "_Drawn":
        words = int(k * (2 + num_samples * self.words_per_sample) * 1.25) + 64
        saved = state.get_state()
        peek = _peek_state()
        while True:
            peek.set_state(saved)
            drawn = self._decode(peek.randint(0, 2**32, size=words, dtype=np.uint32).astype(np.int64),
                                 k, num_samples, random_fraction)
            if drawn is not None:
                return drawn
            words *= 2  # the calls needed more words than peeked (rare): peek more

    def _decode(self, w: np.ndarray, k: int, num_samples: int, random_fraction: float) -> "_Drawn | None":
        n = len(w)
        over = n + 1  # positions run 0..n (n: every word used); over: past the words peeked
        positions = np.arange(n + 2)
        # rand() at each position is X / 2**53 with the 53-bit integer X = (a >> 5) * 2**26 + (b >> 6);
        # rand() < c  <=>  X < c * 2**53 (a power-of-two scaling, exact)  <=>  X < ceil(c * 2**53)
        mantissas = np.full(n + 2, 2**53, dtype=np.int64)  # 2**53: no double here (below no bound)
        mantissas[:n - 1] = ((w[:-1] >> 5) << 26) | (w[1:] >> 6)
        below = {c: math.ceil(c * _TWO_53) for c in {*self.thresholds, random_fraction}}
        bounded: dict[int, tuple[np.ndarray, np.ndarray] | None] = {}
        padded = np.zeros(n + 2, dtype=np.int64)
        padded[:n] = w

        def randint(rng: int) -> tuple[np.ndarray, np.ndarray] | None:
            """Per start position: the position after ``randint(0, rng + 1)``, and its value (None: draws nothing)."""
            if rng not in bounded:
                if rng == 0:
                    bounded[rng] = None
                else:
                    mask = _mask(rng)
                    accepted = np.full(n + 2, over)
                    accepted[:n] = over + ((w & mask) <= rng) * (positions[:n] - over)  # its position, or over
                    taken = np.minimum.accumulate(accepted[::-1])[::-1]  # the first accepted word from here on
                    # after it (over if none), and its value (0 if none: padded[over] is 0)
                    bounded[rng] = (np.minimum(taken + 1, over), padded[taken] & mask)
            return bounded[rng]

        row_draw = randint(len(self.rows) - 1)
        after_double = np.minimum(positions + 2, over)
        after_double[n - 1:] = over  # a double needs two words
        # per level count t, at each position: where rand() and then randint(t) end, what keeping
        # the row's value instead gains (the choice as arithmetic: np.where is ~4x slower here),
        # and randint(t)'s value
        steps: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        for t in set(self.levels):
            level_draw = randint(t - 1)
            if level_draw is None:
                steps[t] = (after_double, np.zeros(n + 2, dtype=np.int64), np.zeros(n + 2, dtype=np.int64))
            else:
                other_end = level_draw[0][after_double]
                steps[t] = (other_end, after_double - other_end, level_draw[1][after_double])

        # where a sample starting at each position ends: the composition of its draws' steps
        after_sample = row_draw[0] if row_draw is not None else positions
        for threshold, t in zip(self.thresholds, self.levels):
            other_end, gain, _value = steps[t]
            after_sample = (other_end + (mantissas < below[threshold]) * gain)[after_sample]

        def samples(starts: np.ndarray) -> np.ndarray:
            """The vectors of the samples that start at ``starts``, by the same steps."""
            q = starts
            row = np.zeros(len(starts), dtype=np.int64)
            if row_draw is not None:
                row, q = row_draw[1][q], row_draw[0][q]
            vectors = np.empty((len(starts), len(self.levels)), dtype=np.int64)
            for column, (threshold, t) in enumerate(zip(self.thresholds, self.levels)):
                other_end, gain, value = steps[t]
                keep = mantissas[q] < below[threshold]
                vectors[:, column] = np.where(keep, self.rows[row, column], value[q])
                q = other_end[q] + keep * gain[q]
            return vectors

        p, starts, first_sample = 0, [], []
        random_below = below[random_fraction]
        for _call in range(k):
            if p > n - 2:
                return None
            keep_random = mantissas[p] < random_below
            p += 2
            if keep_random:
                first_sample.append(None)
                continue
            first_sample.append(len(starts))
            for _sample in range(num_samples):
                starts.append(p)
                p = int(after_sample[p])
            if p > n:
                return None
        vectors = samples(np.array(starts, dtype=np.int64)) if starts else np.empty((0, len(self.levels)), np.int64)
        return _Drawn(vectors, first_sample, p)


_scratch = threading.local()


def _peek_state() -> np.random.RandomState:
    """This thread's scratch RandomState, which the decoder copies the real state into (built once
    per thread: seeding one costs ~0.1 ms, a tenth of a BOHB get_config)."""
    peek = getattr(_scratch, "state", None)
    if peek is None:
        peek = _scratch.state = np.random.RandomState(0)
    return peek


@dataclass
class _Drawn:
    """k calls' draws: their samples' vectors (in order), each call's first sample (None: random pick), words used."""

    vectors: np.ndarray
    first_sample: list
    words: int

    def commit(self, state: np.random.RandomState) -> None:
        """Advance the stream the words were peeked from by the words the calls used (one word per uint32 drawn)."""
        state.randint(0, 2**32, size=self.words, dtype=np.uint32)
