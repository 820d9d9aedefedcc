"""Reading an experiment's folder: typed run records per searcher, the typed ``experiment.json`` and
``timing.json``, what the experiment declared its report compares (:class:`ReportSpec`), and a stored
report's ``summary.csv`` / ``comparisons.csv`` (:func:`read_stored_summary`, :func:`read_stored_comparisons`).

Every reader of results goes through here or :func:`nasearch.results.read_runs`; nothing indexes a
record by string. A value of the wrong type in any of these files is one line naming the file, the
field and the fix.
"""
from __future__ import annotations

import csv
import math
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Sequence

from nasearch.analysis.names import display_name
from nasearch.analysis.pairs import Pair, check_role, pairs_from_json
from nasearch.errors import UsageError
from nasearch.results import EXPERIMENT, PROGRESS, RESULTS, TIMING, RunRecord, read_json, read_jsonl

#: the order metrics are listed in when an experiment declares none first
METRIC_ORDER = ("cifar10_test", "cifar10_valid", "cifar100_test", "cifar100_valid", "imagenet16_test", "imagenet16_valid")
REPORT_KEYS = ("metric", "references", "note", "names")
#: the keys of ``experiment.json`` (nasearch.experiments.describe writes them)
EXPERIMENT_KEYS = ("label", "description", "runs", "budget_seconds", "seed", "pairs", "report", "searchers")
_ABSENT = object()  # a file that is not there (``null`` in one is a value of the wrong type)


@dataclass(frozen=True)
class ReportSpec:
    """What an experiment's report compares, as its config's ``report:`` declares it.

    ``metric``: the headline metric (verdicts, figures, the first column); default: the first of
    :data:`METRIC_ORDER` the runs report. ``references``: published tables to set beside ours,
    ``paper#table`` names of ``nasearch/data/papers/<paper>.yaml`` (none: no paper section).
    ``note``: a paragraph the report prints under the references (e.g. a protocol difference).
    ``names``: display names by label (default: :func:`display_name`).
    """

    metric: str | None = None
    references: tuple[str, ...] = ()
    note: str = ""
    names: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, raw: Any, where: str = "report") -> "ReportSpec":
        if raw is None:
            return cls()
        if not isinstance(raw, dict):
            raise UsageError(f"{where}: expected a mapping with {', '.join(REPORT_KEYS)}, got {_shown(raw)}")
        unknown = sorted(set(raw) - set(REPORT_KEYS))
        if unknown:
            raise UsageError(f"{where}: unknown key {unknown[0]!r}; allowed: {', '.join(REPORT_KEYS)}")
        metric = raw.get("metric")
        if metric is not None and (not isinstance(metric, str) or not metric):
            raise UsageError(f"{where}.metric: expected a metric name such as cifar10_valid, got {_shown(metric)}")
        references = raw.get("references", ())
        if isinstance(references, str):
            references = (references,)
        if not isinstance(references, (list, tuple)) or not all(isinstance(r, str) for r in references):
            raise UsageError(f"{where}.references: expected a list of 'paper#table' names, got {_shown(references)}")
        from nasearch.analysis.reference import load_table

        for reference in references:
            load_table(reference, f"{where}.references")  # a misspelt reference fails at parse time
        note = raw.get("note", "")
        if not isinstance(note, str):
            raise UsageError(f"{where}.note: expected text, got {_shown(note)}")
        names = raw.get("names", {}) or {}
        if not isinstance(names, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in names.items()):
            raise UsageError(f"{where}.names: expected a mapping of label: display name, got {_shown(names)}")
        return cls(metric, tuple(references), note.strip(), dict(names))

    def as_json(self) -> dict:
        return {"metric": self.metric, "references": list(self.references), "note": self.note, "names": self.names}


@dataclass(frozen=True)
class ExperimentInfo:
    """``experiment.json``, typed: what the experiment was and what its report compares."""

    label: str = ""
    description: str = ""
    runs: int | None = None
    budget_seconds: float | None = None
    seed: int | None = None
    labels: tuple[str, ...] = ()
    pairs: tuple[Pair, ...] = ()
    report: ReportSpec = field(default_factory=ReportSpec)

    @classmethod
    def from_dict(cls, data: Any, path: Path, selections: dict[str, str | None] | None = None) -> "ExperimentInfo":
        """Checked field by field; ``selections`` (label -> what its runs selected by) gives a role to
        pairs of files written before roles were recorded."""
        def bad(what: str) -> UsageError:
            return UsageError(f"{path}: {what}; restore the file or delete it (the runs are kept)")

        if not isinstance(data, dict):
            raise bad(f"expected a JSON mapping, got {_shown(data)}")
        unknown = sorted(set(data) - set(EXPERIMENT_KEYS))
        if unknown:
            raise bad(f"unknown key {unknown[0]!r} (known: {', '.join(EXPERIMENT_KEYS)})")
        label, description = data.get("label", ""), data.get("description", "")
        if not isinstance(label, str) or not isinstance(description, str):
            raise bad("'label' and 'description' must be text")
        runs, seed, budget = data.get("runs"), data.get("seed"), data.get("budget_seconds")
        for name, value in (("runs", runs), ("seed", seed)):
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
                raise bad(f"{name!r} must be a non-negative integer, got {_shown(value)}")
        if budget is not None and (isinstance(budget, bool) or not isinstance(budget, (int, float))
                                   or not math.isfinite(budget) or budget <= 0):
            raise bad(f"'budget_seconds' must be a positive number, got {_shown(budget)}")
        entries = data.get("searchers", [])
        if not isinstance(entries, list) or not all(isinstance(e, dict) and isinstance(e.get("label"), str)
                                                     and e["label"] for e in entries):
            raise bad("'searchers' must be a list of entries each with a 'label'")
        listed = [e["label"] for e in entries]
        repeated = sorted({label for label in listed if listed.count(label) > 1})
        if repeated:
            raise bad(f"'searchers' lists label {repeated[0]!r} twice")
        try:
            pairs = tuple(pairs_from_json(data.get("pairs", []), selections or {}))
            report = ReportSpec.parse(data.get("report"), f"{path}: report")
        except UsageError as exc:
            raise bad(str(exc).removeprefix("experiment.json: ")) from None
        return cls(label, description, runs, float(budget) if budget is not None else None, seed,
                   tuple(e["label"] for e in entries), pairs, report)


@dataclass
class SearcherResults:
    """One searcher's typed runs in an experiment folder."""

    label: str
    records: list[RunRecord]
    complete: bool = True
    wall_seconds: float | None = None
    runs_computed: int | None = None
    name: str = ""  # the display name (the experiment's ``report.names``, else :func:`display_name`)

    @property
    def selection(self) -> str | None:
        return self.records[0].selection if self.records else None

    @property
    def searcher(self) -> str:
        return self.records[0].searcher if self.records else ""

    @property
    def display(self) -> str:
        return self.name or display_name(self.label, self.selection)


@dataclass
class Experiment:
    """An experiment folder as the report reads it."""

    root: Path
    results: list[SearcherResults]
    info: ExperimentInfo
    timing: dict[str, dict]

    def searcher(self, label: str) -> SearcherResults:
        return next(r for r in self.results if r.label == label)


def read_records(directory: Path) -> tuple[list[RunRecord], bool]:
    """A searcher's typed records: ``runs.jsonl`` when finished, else the finished runs of
    ``progress.jsonl`` (also when ``runs.jsonl`` is empty but progress holds runs: nothing vanishes).

    The flag is False for progress (unfinished: a corrupt line is left out, with a warning) and for a
    torn ``runs.jsonl`` (a copy cut short). A complete line of ``runs.jsonl`` that is not a run record
    (a value of the wrong type, NaN, a second copy of a run, another search's run) is refused: nasearch
    writes that file whole, so such a line is damage, and reporting without it would misreport.
    """
    path = directory / RESULTS
    complete = path.is_file()
    found = read_jsonl(path if complete else directory / PROGRESS)
    if complete and found.bad_lines:
        raise UsageError(f"{found.bad_lines_text()}; restore the file, or delete it and rerun the searcher's "
                         f"command to rewrite it from {PROGRESS}")
    if complete and not found.records and not found.bad_lines:
        progress = read_jsonl(directory / PROGRESS)
        if progress.records:
            print(f"nasearch: warning: {path} is empty; reporting the {len(progress.records)} runs of "
                  f"{directory / PROGRESS} (rerun the same command to rewrite {RESULTS})", file=sys.stderr)
            found, complete = progress, False
    if found.bad_lines and not found.records:
        raise UsageError(f"{found.problem()}; no line is a run record: rerun the searcher into a fresh --out")
    if found.problem() and (complete or found.bad_lines):
        print(f"nasearch: warning: {found.problem()}; reported as incomplete", file=sys.stderr)
    complete = complete and found.complete
    return [found.records[i] for i in sorted(found.records)], complete


#: what ``timing.json`` holds per label (nasearch.experiments writes it): key -> (accepts, what it must be)
TIMING_KEYS: dict[str, tuple[Any, str]] = {
    "wall_seconds": (lambda v: _is_number(v) and math.isfinite(v) and v >= 0, "a number >= 0"),
    "runs_computed": (lambda v: _is_number(v) and float(v).is_integer() and v >= 0, "an integer >= 0"),
    "backend": (lambda v: isinstance(v, str), "text"),
    "workers": (lambda v: _is_number(v) and float(v).is_integer() and v >= 1, "an integer >= 1"),
}


def read_timing(path: Path) -> dict[str, dict]:
    """``timing.json`` (wall time per label), checked key by key: the one reader (the report, and an
    experiment resuming its wall-time record). Absent: empty."""
    timing = read_json(path, "wall-time record", default={})
    fix = "delete the file (only wall times are lost)"
    if not isinstance(timing, dict) or not all(isinstance(v, dict) for v in timing.values()):
        raise UsageError(f"{path}: expected a mapping of label -> {{wall_seconds, ...}}; {fix}")
    for label, entry in timing.items():
        unknown = sorted(set(entry) - set(TIMING_KEYS))
        if unknown:
            raise UsageError(f"{path}: {label}: unknown key {unknown[0]!r} (known: {', '.join(TIMING_KEYS)}); {fix}")
        for key, value in entry.items():
            accepts, what = TIMING_KEYS[key]
            if value is not None and not accepts(value):
                raise UsageError(f"{path}: {label}.{key} is {_shown(value)}, not {what}; {fix}")
    return timing


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def load_experiment(results_dir: str | Path) -> Experiment:
    """Every searcher of an experiment directory (in the experiment's order) with its typed runs,
    the typed ``experiment.json`` and the wall times. A folder without ``experiment.json`` (one
    searcher's ``--out``, or several side by side) is read too: it declares no pairs and no references."""
    root = Path(results_dir)
    if not root.is_dir():
        raise UsageError(f"{root} is not a directory; pass an experiment's output directory, e.g. results/table6")
    raw = read_json(root / EXPERIMENT, "experiment description", default=_ABSENT)
    timing = read_timing(root / TIMING)
    listed = raw.get("searchers") if isinstance(raw, dict) else None
    if isinstance(listed, list) and listed and all(isinstance(e, dict) and isinstance(e.get("label"), str) for e in listed):
        labels = [e["label"] for e in listed]
    else:
        labels = sorted(p.name for p in root.iterdir() if (p / RESULTS).is_file() or (p / PROGRESS).is_file())
        if not labels and ((root / RESULTS).is_file() or (root / PROGRESS).is_file()):
            labels = ["."]  # the folder is one searcher's --out
    results = []
    for label in labels:
        directory = root / label
        if not (directory / RESULTS).is_file() and not (directory / PROGRESS).is_file():
            continue  # not started yet
        records, complete = read_records(directory)
        if not records:
            continue
        entry = timing.get(label, {})
        results.append(SearcherResults(label=records[0].label if label == "." else label, records=records,
                                       complete=complete, wall_seconds=entry.get("wall_seconds"),
                                       runs_computed=entry.get("runs_computed")))
    if not results:
        raise UsageError(f"{root} holds no runs (no <label>/runs.jsonl); run an experiment into it first")
    info = ExperimentInfo.from_dict(raw, root / EXPERIMENT, {r.label: r.selection for r in results}) \
        if raw is not _ABSENT else ExperimentInfo()
    for res in results:
        res.name = info.report.names.get(res.label, "")
    return Experiment(root, results, info, timing)


def metric_values(records: Sequence[RunRecord], metric: str) -> dict[int, float]:
    """Each run's final ``metric`` by run index (runs that found nothing are left out)."""
    return {r.run: float(r.final[metric]) for r in records if metric in r.final}


def metrics_present(results: Sequence[SearcherResults], first: str | None = None) -> list[str]:
    """The metrics the runs report: the declared headline first, then :data:`METRIC_ORDER`, then the rest."""
    found = {key for res in results for r in res.records for key in r.final}
    ordered = [m for m in METRIC_ORDER if m in found] + sorted(found - set(METRIC_ORDER))
    if first is not None:
        if first not in found:
            raise UsageError(f"report.metric: {first!r} is not a metric these runs report; they report "
                             f"{', '.join(ordered) or 'none'}")
        ordered = [first] + [m for m in ordered if m != first]
    return ordered


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"a {type(value).__name__}"


# -- a stored report's CSVs (a results folder that keeps its report but not its runs) ---------------------
#: summary.csv columns that are per-run quantities, not metrics (older folders name them after schema 1)
RUN_FIELDS = ("distinct_archs", "evaluations", "pool_draws", "overhead_seconds", "proxy_scores", "proxy_seconds")
_STORED_RENAMES = {"proxy": "selection", "proxy_scores_mean": "pool_draws_mean", "proxy_scores_std": "pool_draws_std",
                   "proxy_seconds_mean": "overhead_seconds_mean", "proxy_seconds_std": "overhead_seconds_std"}
#: columns a summary.csv row must have (after the renames): what the report's table prints
SUMMARY_COLUMNS = ("label", "name", "runs", "distinct_archs_mean", "evaluations_mean", "evaluations_std",
                   "pool_draws_mean")
_CSV_FIX = "restore the file (e.g. git checkout), or rerun the experiment and its report"


def _csv_rows(path: Path) -> list[dict]:
    """The rows of a CSV nasearch wrote; unreadable or malformed is a one-line usage error."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            rows = list(reader)
            header = reader.fieldnames or []
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else \
            ("not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else str(exc))
        raise UsageError(f"{path}: cannot be read as CSV ({why}); {_CSV_FIX}") from None
    for number, row in enumerate(rows, start=2):
        if None in row or any(v is None for v in row.values()):
            raise UsageError(f"{path}: line {number} has {'more' if None in row else 'fewer'} cells than the header "
                             f"({len(header)}); {_CSV_FIX}")
    return rows


def _cell_number(path: Path, number: int, key: str, text: str, nan_ok: bool = True) -> float:
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or math.isinf(value) or (math.isnan(value) and not nan_ok):
        raise UsageError(f"{path}: line {number}, column {key!r} is {_shown(text)}, not a "
                         f"{'finite number (or nan)' if nan_ok else 'finite number'}; {_CSV_FIX}")
    return value


def read_stored_summary(path: Path) -> list[dict]:
    """``summary.csv``'s rows, typed: means and stds as floats (``nan``: no value), ``runs`` an integer
    >= 1, ``complete`` a bool, wall time and runs/s a number or ``""`` (not recorded); labels distinct.
    A missing column, a cell that is no number, a repeated label: one line naming file, line and column."""
    rows = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(_csv_rows(path), start=2):
        row: dict = {_STORED_RENAMES.get(k, k): v for k, v in raw.items()}
        missing = [c for c in SUMMARY_COLUMNS if c not in row]
        if missing:
            raise UsageError(f"{path}: no column {missing[0]!r}; {_CSV_FIX}")
        if not row["label"]:
            raise UsageError(f"{path}: line {number} has an empty label; {_CSV_FIX}")
        if row["label"] in seen:
            raise UsageError(f"{path}: line {number} repeats label {row['label']!r} of line {seen[row['label']]}; "
                             f"{_CSV_FIX}")
        seen[row["label"]] = number
        for key in list(row):
            if key.endswith(("_mean", "_std")):
                row[key] = _cell_number(path, number, key, row[key])
        runs = row["runs"]
        if not runs.isdigit() or int(runs) < 1:
            raise UsageError(f"{path}: line {number}, column 'runs' is {_shown(runs)}, not a whole number >= 1; "
                             f"{_CSV_FIX}")
        row["runs"] = int(runs)
        complete = row.get("complete", "False")
        if complete not in ("True", "False"):
            raise UsageError(f"{path}: line {number}, column 'complete' is {_shown(complete)}, not True or False; "
                             f"{_CSV_FIX}")
        row["complete"] = complete == "True"
        for key in ("wall_seconds", "runs_per_second"):
            text = row.get(key) or ""
            row[key] = _cell_number(path, number, key, text, nan_ok=False) if text else ""
            if row[key] != "" and row[key] < 0:
                raise UsageError(f"{path}: line {number}, column {key!r} is {text}, not a number >= 0; {_CSV_FIX}")
        rows.append(row)
    return rows


def read_stored_comparisons(path: Path, labels: Sequence[str], metrics: Sequence[str],
                            declared_roles: dict[tuple[str, str], str]) -> dict:
    """``comparisons.csv``, typed: ``{(Pair, metric): Comparison}``. Each row's pair must be of labels
    of ``summary.csv``, its role one of the roles (else the experiment's declared role), its counts
    integers and its statistics numbers; every pair has a row for each of ``metrics``."""
    from nasearch.analysis.stats import Comparison

    casts = {f.name: (f.type if isinstance(f.type, str) else f.type.__name__) for f in fields(Comparison)}
    comparisons: dict = {}
    for number, raw in enumerate(_csv_rows(path), start=2):
        missing = [name for name in casts if name not in raw]
        if missing:
            raise UsageError(f"{path} was written by an older nasearch (no {missing[0]}); its report cannot be "
                             "rewritten without the runs: rerun the experiment to report it")
        values: dict[str, Any] = {}
        for name, kind in casts.items():
            text = raw[name]
            if kind == "int":
                if not text.isdigit():
                    raise UsageError(f"{path}: line {number}, column {name!r} is {_shown(text)}, not a whole number "
                                     f">= 0; {_CSV_FIX}")
                values[name] = int(text)
            elif kind == "float":
                values[name] = _cell_number(path, number, name, text)
            else:
                values[name] = text
        for side in ("baseline", "treatment"):
            if values[side] not in labels:
                raise UsageError(f"{path}: line {number}: {side} {values[side]!r} is not a label of summary.csv "
                                 f"({', '.join(labels)}); {_CSV_FIX}")
        if values["metric"] not in metrics:
            raise UsageError(f"{path}: line {number}: metric {values['metric']!r} is not a metric of summary.csv "
                             f"({', '.join(metrics)}); {_CSV_FIX}")
        role = raw.get("role") or declared_roles.get((values["baseline"], values["treatment"]), "effect")
        try:
            role = check_role(role, f"{path}: line {number}")
        except UsageError as exc:
            raise UsageError(f"{exc}; {_CSV_FIX}") from None
        comparison = Comparison(**values)
        comparisons[Pair(comparison.baseline, comparison.treatment, role), comparison.metric] = comparison
    for pair in dict.fromkeys(pair for pair, _ in comparisons):
        absent = [m for m in metrics if (pair, m) not in comparisons]
        if absent:
            raise UsageError(f"{path}: pair {pair.baseline} -> {pair.treatment} has no row for metric {absent[0]!r}; "
                             f"{_CSV_FIX}")
    return comparisons
