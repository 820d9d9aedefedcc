"""nasearch from Python: the same engine as the command line, which is a thin layer over this module.

Everything here is importable from ``nasearch`` itself::

    import numpy as np
    import nasearch as ns

    runs = ns.search("g_rea", runs=4, workers=1, out="/tmp/g_rea")   # a shipped config by name, a path, a dict
    runs.to_pandas()                                                 # one row per run
    runs.anytime("cifar10_valid")                                    # the incumbent's metric against time
    space = ns.space("nb201")
    arch = space.sample(np.random.default_rng(0))
    ns.proxy("params", space).score(arch)                            # packaged table or live

Every error is a :class:`nasearch.UsageError`: the one line the command line
prints, raised instead, so a notebook can catch it. Runs are resumable and written to the same folder
layout as the command line's (``OUT/runs.jsonl``, ``OUT/<label>/runs.jsonl`` for an experiment).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from nasearch.errors import UsageError
from nasearch.results import RESULTS, RunRecord

ConfigLike = "str | Path | Mapping[str, Any] | SearchConfig | ExperimentConfig"


def _pandas() -> Any:
    try:
        import pandas
    except ImportError:
        raise UsageError("results as DataFrames need pandas: pip install 'nasearch[frames]'") from None
    return pandas


# -- results -------------------------------------------------------------------------------------------
@dataclass
class RunSet:
    """The typed runs of one searcher config (a sequence of :class:`~nasearch.results.RunRecord`)."""

    label: str
    records: list[RunRecord]
    out: Path | None = None
    complete: bool = True

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[RunRecord]:
        return iter(self.records)

    def __getitem__(self, index: int) -> RunRecord:
        return self.records[index]

    def rows(self) -> list[dict[str, Any]]:
        """One flat dict per run: label, run, seed, searcher, selection, the final metrics (``final.<metric>``),
        evaluations, distinct share, pool draws, simulated and overhead seconds, best arch and fitness."""
        out = []
        for r in self.records:
            row = {"label": self.label, "run": r.run, "seed": r.seed, "searcher": r.searcher, "selection": r.selection,
                   "best_arch": r.best_arch, "best_fitness": r.best_fitness, "evaluations": r.evaluations,
                   "distinct": r.distinct_fraction, "pool_draws": r.pool_draws,
                   "simulated_seconds": r.simulated_seconds, "overhead_seconds": r.overhead_seconds}
            row.update({f"final.{k}": v for k, v in sorted(r.final.items())})
            out.append(row)
        return out

    def to_pandas(self) -> Any:
        """One row per run (:meth:`rows`) as a ``pandas.DataFrame`` (needs the ``frames`` extra)."""
        return _pandas().DataFrame(self.rows())

    def to_arrow(self) -> Any:
        """The same table as a ``pyarrow.Table`` (needs pyarrow)."""
        try:
            import pyarrow
        except ImportError:
            raise UsageError("results as Arrow tables need pyarrow: pip install pyarrow") from None
        return pyarrow.Table.from_pylist(self.rows())

    def summary(self) -> dict[str, tuple[float, float]]:
        """Mean and sample std of every final metric and of the evaluations (what ``nasearch run`` prints)."""
        from nasearch.analysis.summary import summarise

        return summarise(self.records)

    def anytime(self, metric: str, grid: Sequence[float] | None = None, points: int = 241) -> Any:
        """The mean incumbent ``metric`` against simulated seconds (the report's anytime curve): a
        DataFrame with ``seconds, mean, half_width`` (95% normal band) and ``runs`` (how many runs have an
        incumbent by then); ``grid`` defaults to ``points`` times from 0 to the longest run."""
        from nasearch.analysis.stats import anytime_curve

        if not any(metric in r.final for r in self.records):
            known = sorted({k for r in self.records for k in r.final})
            raise UsageError(f"metric {metric!r} is not one these runs report; they report {', '.join(known) or 'none'}")
        if grid is None:
            end = max((r.simulated_seconds for r in self.records), default=0.0)
            grid = np.linspace(0.0, end, points)
        grid = np.asarray(grid, dtype=float)
        mean, half, count = anytime_curve(self.records, metric, grid)
        return _pandas().DataFrame({"seconds": grid, "mean": mean, "half_width": half, "runs": count})


@dataclass
class ExperimentResults:
    """An experiment's folder: its searchers' runs by label, what it declared, and its report."""

    out: Path
    runs: dict[str, RunSet] = field(default_factory=dict)

    def __getitem__(self, label: str) -> RunSet:
        try:
            return self.runs[label]
        except KeyError:
            raise UsageError(f"no searcher {label!r} in {self.out}; it has {', '.join(self.runs)}") from None

    @property
    def labels(self) -> list[str]:
        return list(self.runs)

    def to_pandas(self) -> Any:
        """Every run of every searcher, one row each, with its ``label``."""
        return _pandas().DataFrame([row for runs in self.runs.values() for row in runs.rows()])

    def report(self, out: str | Path | None = None, seed: int = 0, resamples: int | None = None) -> Any:
        """Write the report (as ``nasearch report``: report.md, summary.csv, comparisons.csv, figures) and
        return the declared comparisons as a DataFrame (one row per pair and metric)."""
        return report(self.out, out=out, seed=seed, resamples=resamples)


def _experiment_results(out: Path) -> ExperimentResults:
    from nasearch.analysis.reading import load_experiment

    experiment = load_experiment(out)
    return ExperimentResults(out, {res.label: RunSet(res.label, res.records, out / res.label, res.complete)
                                   for res in experiment.results})


def load_results(path: str | Path) -> RunSet | ExperimentResults:
    """Read any existing results folder: one searcher's ``--out`` (a :class:`RunSet`) or an experiment's
    (an :class:`ExperimentResults`); also a ``runs.jsonl`` / ``progress.jsonl`` file itself."""
    from nasearch.analysis.reading import read_records

    path = Path(path).expanduser()
    if path.is_file():
        from nasearch.results import read_jsonl

        found = read_jsonl(path)
        if found.bad_lines and not found.records:
            raise UsageError(f"{found.problem()}; no line is a run record")
        records = [found.records[i] for i in sorted(found.records)]
        return RunSet(records[0].label if records else path.parent.name, records, path.parent, found.complete)
    if not path.is_dir():
        raise UsageError(f"{path} is neither a results folder nor a runs.jsonl file")
    if (path / RESULTS).is_file() or (path / "progress.jsonl").is_file():
        records, complete = read_records(path)
        return RunSet(records[0].label if records else path.name, records, path, complete)
    return _experiment_results(path)


# -- running ---------------------------------------------------------------------------------------------
def _raw(config: Any) -> tuple[Any, Path | None]:
    """(a mapping or a parsed config, the file it came from)."""
    from nasearch.config import SearchConfig, read_yaml, resolve_config
    from nasearch.experiments import ExperimentConfig

    if isinstance(config, (SearchConfig, ExperimentConfig)):
        return config, None
    if isinstance(config, Mapping):
        return dict(config), None
    if isinstance(config, (str, Path)):
        path = resolve_config(config)
        return read_yaml(path), path
    raise UsageError(f"config: expected a shipped config's name, a path, a mapping or a SearchConfig, got "
                     f"{type(config).__name__}")


def search_config(config: Any, **overrides: Any) -> Any:
    """The validated :class:`~nasearch.config.SearchConfig` (or experiment config) of ``config`` with
    ``overrides`` (runs, seed, out, workers, budget_seconds) applied, as the command line builds it."""
    from nasearch.config import SearchConfig, parse_search_config
    from nasearch.experiments import ExperimentConfig, is_experiment_config, parse_experiment

    raw, path = _raw(config)
    if isinstance(raw, ExperimentConfig):
        if any(v is not None for v in overrides.values()):
            raise UsageError("overrides (runs, seed, out, workers, budget_seconds) need the experiment as a path or "
                             "a mapping, so that every searcher gets them; pass that instead of an ExperimentConfig")
        return raw
    if isinstance(raw, SearchConfig):
        return raw.with_overrides(**overrides)
    if is_experiment_config(raw):
        return parse_experiment(raw, path, **overrides)
    return parse_search_config(raw, default_label=path.stem if path else "search").with_overrides(**overrides)


def search(config: Any, *, runs: int | None = None, seed: int | None = None, out: str | Path | None = None,
           workers: int | None = None, budget_seconds: float | None = None, backend: str = "local",
           ray_address: str | None = None, progress: bool = False) -> RunSet:
    """Run (or resume) ``config``'s seeded runs and return them: what ``nasearch run CONFIG`` does.

    ``config``: a shipped config's name (``"g_rea"``), a YAML path, a mapping with the YAML's keys, or a
    :class:`~nasearch.config.SearchConfig`. Runs go to ``out`` (default: the config's ``out``), resumable,
    byte-identical whatever ``workers`` or ``backend``.

    >>> runs = search("rea", runs=2, out="/tmp/nasearch_doctest_rea")  # doctest: +SKIP
    >>> len(runs)  # doctest: +SKIP
    2
    """
    from nasearch.config import SearchConfig
    from nasearch.execution import run_many

    config = _checked_config(config, runs, seed, out, workers, budget_seconds)
    if not isinstance(config, SearchConfig):
        raise UsageError(f"{config.label} is an experiment config (it lists searchers); use nasearch.experiments()")
    records = run_many(config, show_progress=progress, backend=backend, ray_address=ray_address)
    return RunSet(config.label, records, Path(config.out))


def experiment(config: Any, *, runs: int | None = None, seed: int | None = None, out: str | Path | None = None,
               workers: int | None = None, budget_seconds: float | None = None, backend: str = "local",
               ray_address: str | None = None, progress: bool = False) -> ExperimentResults:
    """Run (or resume) an experiment config (every searcher, paired seeds) into ``out``; what ``nasearch
    experiment CONFIG`` does. Returns its results; ``.report()`` writes and returns the comparisons."""
    from nasearch.experiments import ExperimentConfig, run_experiment

    config = _checked_config(config, runs, seed, out, workers, budget_seconds)
    if not isinstance(config, ExperimentConfig):
        raise UsageError(f"{config.label} is a search config (no searchers: list); use nasearch.search()")
    results = run_experiment(config, show_progress=progress, backend=backend, ray_address=ray_address)
    return ExperimentResults(Path(config.out), {label: RunSet(label, records, Path(config.out) / label)
                                                for label, records in results.items()})


def write_report_file(results: str | Path, out: str | Path | None = None, seed: int = 0,
                      resamples: int | None = None) -> Path:
    """Write an experiment's report (``nasearch report``); return report.md's path."""
    from nasearch.analysis.report import BOOTSTRAP_RESAMPLES, write_report
    from nasearch.results import check_out_dir

    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise UsageError(f"seed must be an integer >= 0, got {seed!r}")
    check_out_dir(results, "RESULTS")
    if out is not None:
        check_out_dir(out)
    from nasearch.errors import os_errors

    with os_errors(out if out is not None else results):  # a full disk while writing: one line naming the folder
        return write_report(results, out, seed=seed, resamples=BOOTSTRAP_RESAMPLES if resamples is None else resamples)


def report(results: str | Path, out: str | Path | None = None, seed: int = 0, resamples: int | None = None) -> Any:
    """Write an experiment's report (``nasearch report``) and return its declared comparisons as a
    DataFrame (role, baseline, treatment, metric, difference, CI, both tests; ``.attrs["report"]`` is
    report.md's path); empty when the experiment declares no pairs."""
    path = write_report_file(results, out, seed, resamples)
    comparisons = path.parent / "comparisons.csv"
    pandas = _pandas()
    text = comparisons.read_text()
    frame = pandas.read_csv(comparisons) if text.strip() else pandas.DataFrame()
    frame.attrs["report"] = str(path)
    return frame


def _checked_config(config: Any, runs: Any, seed: Any, out: Any, workers: Any, budget_seconds: Any) -> Any:
    """The parsed config with the call's overrides, each checked first (what the CLI's flags check)."""
    _check_counts(runs=runs, workers=workers, seed=seed, budget_seconds=budget_seconds, out=out)
    return search_config(config, runs=runs, seed=seed, out=str(out) if out is not None else None, workers=workers,
                         budget_seconds=budget_seconds)


def _check_counts(**values: Any) -> None:
    """The overrides (``--runs``, ``--seed``, ``--budget``, ...) under the bounds a config's own values have."""
    from nasearch.config import MAX_BUDGET_SECONDS, MAX_RUNS, _at_most, checked_number, checked_seed

    if "out" in values and values["out"] is not None and not str(values["out"]).strip():
        raise UsageError("out: an empty path; give a folder such as results/my_run")
    for name in ("runs", "workers"):
        value = values.get(name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise UsageError(f"{name} must be an integer >= 1, got {value!r}")
    if values.get("runs") is not None:
        _at_most(values["runs"], MAX_RUNS, "runs")
    seed = values.get("seed")
    if seed is not None:
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            raise UsageError(f"seed must be an integer >= 0, got {seed!r}")
        checked_seed(seed)
    budget = values.get("budget_seconds")
    if budget is not None:
        if isinstance(budget, bool) or not isinstance(budget, (int, float)) or not budget > 0 or not np.isfinite(budget):
            raise UsageError(f"budget_seconds must be a finite number > 0, got {budget!r}")
        _at_most(checked_number(budget, "budget_seconds", float, 0, exclusive=True), MAX_BUDGET_SECONDS, "budget_seconds")


# -- spaces and proxies -----------------------------------------------------------------------------------
def space(name: str | Mapping[str, Any], **args: Any) -> Any:
    """A search space by name (``"nb201"``, ``"nb101"``, ``"darts"``, ``"nds"``, ``"tabular"``, an entry
    point) or ``{"class": "my_file.py:MySpace"}``, with its arguments, checked against the protocol."""
    from nasearch.loading import is_reference, load_space

    if isinstance(name, Mapping):
        spec = dict(name)
        if args:
            spec["args"] = {**dict(spec.get("args") or {}), **args}
    elif isinstance(name, str):
        spec = {"class": name} if is_reference(name) else {"name": name}
        if args:
            spec["args"] = args
    else:
        raise UsageError(f"space: expected a name such as 'nb201' or a mapping, got {type(name).__name__}")
    return load_space(spec)


@dataclass
class Proxy:
    """A zero-cost proxy bound to a space, as the pool hook scores with it (packaged table, cache, or live)."""

    scorer: Any

    @property
    def name(self) -> str:
        return self.scorer.spec.name

    @property
    def higher_is_better(self) -> bool:
        return self.scorer.higher_is_better

    def score(self, arch: Any) -> float:
        """The arch's score (NaN where the proxy is undefined)."""
        return float(self.scorer.score(arch).score)

    def seconds(self, arch: Any) -> float:
        """What that score cost to compute (the seconds the simulated clock charges with ``cost: measured``)."""
        return float(self.scorer.score(arch).seconds)

    def scores(self, archs: Sequence[Any]) -> np.ndarray:
        return np.array([self.score(a) for a in archs], dtype=float)


def proxy(name: str, space: Any, *, batch_size: int = 128, seed: int = 0, dataset: str = "cifar10",
          data: str | Path | None = None, cache_dir: str | Path | None = None, device: str = "cpu",
          **options: Any) -> Proxy:
    """A proxy (``"gradsign"``, ``"synflow"``, ``"params"``, ... or your own ``ProxySpec``) scoring ``space``'s
    architectures at ``batch_size`` / ``seed``; ``data``: an npz of CIFAR-10 images for live scores (default
    ``$NASEARCH_CIFAR10_NPZ``); ``options``: the proxy's options (``per_sample="loop"``)."""
    from nasearch.correlation import ScoreJob, _make_scorer
    from nasearch.device import resolve_device
    from nasearch.proxies.data import DataSource

    _check_counts(seed=seed)
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise UsageError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    source = DataSource.from_config({"npz": str(data)} if data is not None else None)
    job = ScoreJob(name, dataset, batch_size, seed, source, str(cache_dir) if cache_dir else None,
                   tuple(sorted(options.items())), resolve_device(device, "device"))
    return Proxy(_make_scorer(space, job))
