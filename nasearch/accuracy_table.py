"""Results tables keyed by cell: the input of ``nasearch correlate --accuracies FILE``.

A table lists trained cells with their accuracy, and maybe a published proxy score per cell;
the correlation study then scores exactly those cells with nasearch's proxies. Two formats:

* **NASLib's zero-cost benchmark JSON** (``naslib/data/zc_<space>.json``). The released files are
  ``{dataset: {key: {"val_accuracy": acc, "<proxy>": {"score": s, "time": t}, ...}}}`` (what
  ``naslib.utils.get_zc_benchmark_api`` indexes by dataset); the first commit of
  ``zc_nasbench101.json`` nests one level deeper, ``{"nasbench101": {"cifar10": {key:
  {"val_accuracy": acc, "<proxy>": s, ...}}}}``, with bare numbers as scores. Both are read: the
  records are the mapping (at depth 1 or 2) whose values carry ``val_accuracy``; with several,
  the one under ``--dataset``. ``val_accuracy`` (and ``test_accuracy`` where every row has it) are
  the accuracies; every other numeric entry, or ``{"score": ...}``, is NASLib's score of that
  proxy, under our name (:data:`NASLIB_NAMES`: ``jacov`` is our ``jacob_cov``, ``nwot`` our
  ``naswot``; scale does not matter to a rank agreement).
* **CSV** with a key column ``arch`` (anything the space's ``arch_from_key`` reads, e.g. an NB201
  arch string or an NB101 id), or ``matrix`` and ``ops`` columns (NB101: a nested list or a
  row-major 0/1 string, and the op names); an ``accuracy`` column (or ``val_accuracy`` /
  ``test_accuracy``, each a metric); any other numeric column named after a proxy is a reference
  score of that proxy.

Rows keep the file's order and its keys, so the study writes its scores keyed as the input is.
A row whose key the space cannot read is an error (one line, with the key), never skipped.
"""
from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from nasearch.errors import UsageError

#: NASLib's proxy names -> ours, where they differ
NASLIB_NAMES = {"jacov": "jacob_cov", "nwot": "naswot"}
ACCURACY_KEYS = ("val_accuracy", "test_accuracy")
CSV_ACCURACY = ("accuracy", "val_accuracy", "test_accuracy")
CSV_KEYS = ("arch", "matrix", "ops", "key")


@dataclass(frozen=True)
class Row:
    key: str  # the cell as the file writes it
    arch: Any  # the space's architecture
    accuracies: Mapping[str, float]
    reference: Mapping[str, float] = field(default_factory=dict)  # published proxy scores, by our proxy name


@dataclass(frozen=True)
class Table:
    path: str
    rows: list[Row]
    metrics: list[str]  # accuracies every row has, in file order of appearance

    def reference_proxies(self) -> list[str]:
        names: dict[str, None] = {}
        for row in self.rows:
            for name in row.reference:
                names.setdefault(name, None)
        return list(names)


def _number(value: Any) -> float | None:
    if isinstance(value, Mapping):
        value = value.get("score")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _is_records(mapping: Any) -> bool:
    return (isinstance(mapping, Mapping) and bool(mapping)
            and all(isinstance(v, Mapping) and "val_accuracy" in v for v in mapping.values()))


def _records(data: Any, dataset: str, name: str) -> Mapping[str, Mapping]:
    if _is_records(data):
        return data
    if not isinstance(data, Mapping):
        raise UsageError(f"{name}: expected a JSON object of cells (NASLib's zero-cost benchmark layout)")
    found: list[tuple[str, Mapping]] = []
    for outer, inner in data.items():
        if _is_records(inner):
            found.append((str(outer), inner))
        elif isinstance(inner, Mapping):
            found.extend((f"{outer}/{k}", v) for k, v in inner.items() if _is_records(v))
    if not found:
        raise UsageError(f"{name}: no cells with 'val_accuracy' found at depth 1 or 2; expected NASLib's "
                         "{dataset: {cell key: {val_accuracy: ..., proxy: {score: ...}}}}")
    if len(found) > 1:
        chosen = [(p, r) for p, r in found if p.split("/")[-1] == dataset]
        if len(chosen) != 1:
            raise UsageError(f"{name} holds several datasets ({', '.join(p for p, _ in found)}); pick one with --dataset")
        found = chosen
    return found[0][1]


def _arch(space: Any, key: Any, shown: str, name: str) -> Any:
    try:
        return space.arch_from_key(key)
    except UsageError as exc:
        raise UsageError(f"{name}: cell {shown[:90]!r}: {exc}") from None
    except (ValueError, TypeError, KeyError) as exc:
        raise UsageError(f"{name}: cell {shown[:90]!r} is not a cell of space {space.name!r} ({exc})") from None


def read_json(path: Path, space: Any, dataset: str = "cifar10") -> Table:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"--accuracies {path}: not a JSON file ({exc.__class__.__name__}: {exc})") from None
    records = _records(data, dataset, str(path))
    rows = []
    for key, record in records.items():
        accuracies = {}
        for metric in ACCURACY_KEYS:
            if metric in record:
                value = _number(record[metric])
                if value is None or not math.isfinite(value):
                    raise UsageError(f"{path}: cell {key[:90]!r} has {metric} = {record[metric]!r}, not a number")
                accuracies[metric] = value
        reference = {}
        for name, value in record.items():
            if name in ACCURACY_KEYS:
                continue
            score = _number(value)
            if score is not None:
                reference[NASLIB_NAMES.get(name, name)] = score
        rows.append(Row(str(key), _arch(space, key, str(key), str(path)), accuracies, reference))
    return _table(path, rows)


def read_csv(path: Path, space: Any) -> Table:
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            records = list(csv.DictReader(handle))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise UsageError(f"--accuracies {path}: not a readable UTF-8 CSV ({exc})") from None
    if not records:
        raise UsageError(f"--accuracies {path}: no rows")
    columns = list(records[0])
    if "arch" not in columns and not {"matrix", "ops"} <= set(columns):
        raise UsageError(f"--accuracies {path}: needs an 'arch' column, or 'matrix' and 'ops' columns; has {columns}")
    metrics = [c for c in CSV_ACCURACY if c in columns]
    if not metrics:
        raise UsageError(f"--accuracies {path}: needs an 'accuracy' (or val_accuracy/test_accuracy) column; has {columns}")
    rows = []
    for number, record in enumerate(records, start=2):
        if "arch" in columns:
            key = record["arch"]
            arch = _arch(space, key, key, f"{path} line {number}")
        else:
            key = f"{record['matrix']};{record['ops']}"
            arch = _arch(space, {"matrix": record["matrix"], "ops": record["ops"]}, key, f"{path} line {number}")
        accuracies = {}
        for metric in metrics:
            try:
                accuracies[metric] = float(record[metric])
            except (TypeError, ValueError):
                raise UsageError(f"{path} line {number}: {metric} = {record[metric]!r} is not a number") from None
            if not math.isfinite(accuracies[metric]):
                raise UsageError(f"{path} line {number}: {metric} = {record[metric]!r} is not finite")
        reference = {}
        for column in columns:
            if column in CSV_KEYS or column in CSV_ACCURACY or not record.get(column):
                continue
            try:
                reference[NASLIB_NAMES.get(column, column)] = float(record[column])
            except ValueError:
                continue  # a text column: not a score
        rows.append(Row(key, arch, accuracies, reference))
    return _table(path, rows)


def _table(path: Path, rows: list[Row]) -> Table:
    if not rows:
        raise UsageError(f"--accuracies {path}: no cells")
    metrics = [m for m in ACCURACY_KEYS + ("accuracy",) if all(m in row.accuracies for row in rows)]
    if not metrics:
        raise UsageError(f"--accuracies {path}: no accuracy that every cell has (val_accuracy, test_accuracy or accuracy)")
    return Table(str(path), rows, metrics)


def read_table(path: str | Path, space: Any, dataset: str = "cifar10") -> Table:
    """The rows of a results table (JSON by NASLib's layout, else CSV), with the space's archs."""
    from nasearch.spaces.protocol import has_capability

    path = Path(path)
    if not path.is_file():
        raise UsageError(f"--accuracies {path}: no such file")
    if not has_capability(space, "result_keys"):
        raise UsageError(f"space {getattr(space, 'name', '?')!r} cannot read results-file keys (it has no "
                         "arch_from_key); --accuracies needs a space with the result_keys capability")
    if path.suffix.lower() == ".json":
        return read_json(path, space, dataset)
    return read_csv(path, space)
