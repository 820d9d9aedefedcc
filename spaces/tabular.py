"""A search space read from a file: your own precomputed benchmark, no Python class needed.

Why: many users already have a table of trained architectures (accuracy and training cost
per architecture). Pointing nasearch at that file makes every searcher, and every proxy
whose scores are in the file, usable on it::

    space: {name: tabular, args: {path: my_results.csv}}

The table (CSV; Parquet when pandas and pyarrow are installed) has one row per training:

* the architecture as an op list, either one column (``arch``: ``conv3x3-skip-pool``, split
  on ``separator``) or one column per position (``choice_columns: [op1, op2, op3]``);
* ``accuracy`` (the fitness searched, higher is better) and ``cost`` (training seconds
  charged per query); both column names are arguments;
* optional final metrics (any other numeric columns, or ``final_columns``);
* optional precomputed proxy scores ``proxy_<name>`` (e.g. ``proxy_gradsign``), with their
  seconds in ``proxy_<name>_seconds``: a hooked search reads them instead of building
  networks.

Rows with the same architecture are repeated trainings (seeds): ``query`` draws one of
them with the run's generator, final metrics average them.

The space is exactly the set of architectures in the table: ``sample`` draws uniformly from
them, and ``mutate`` changes one position to another value that position takes in the table,
chosen among the changes that land on an architecture present in the table (if none does,
it returns a fresh sample). ``query`` or ``from_id`` of an absent architecture is an error.
When the table holds the full product of its choices, the space also offers the
categorical encoding that REINFORCE and BOHB need.
"""
from __future__ import annotations

import csv
import hashlib
import json
import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from nasearch.errors import UsageError
from nasearch.spaces.protocol import CodeReference, Evaluation

Arch = tuple[str, ...]
PROXY_PREFIX = "proxy_"
SECONDS_SUFFIX = "_seconds"


def read_rows(path: Path) -> list[dict[str, str]]:
    """The table as a list of ``{column: text}``, from CSV or (with pandas) Parquet."""
    if not path.is_file():
        raise UsageError(f"space.args.path: table {str(path)!r} not found; give the path to a CSV or Parquet file")
    if path.suffix.lower() in (".parquet", ".pq"):
        try:
            import pandas as pd

            frame = pd.read_parquet(path)
        except ImportError as exc:
            raise UsageError(f"reading {path.name} needs pandas and pyarrow: pip install pandas pyarrow (or use a CSV)") from exc
        return [{str(k): "" if v is None else str(v) for k, v in row.items()} for row in frame.to_dict("records")]
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            return [dict(row) for row in csv.DictReader(handle)]
    except UnicodeDecodeError as exc:
        raise UsageError(f"space.args.path: {path} is not UTF-8 text (byte {exc.start}); save the table as a UTF-8 CSV") from None
    except csv.Error as exc:
        raise UsageError(f"space.args.path: {path} is not a readable CSV ({exc}); fix the table") from None


def _number(text: str, column: str, row: int, path: Path) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise UsageError(f"{path.name} row {row}: column {column!r} holds {text!r}, not a number; fix the table") from None
    if not math.isfinite(value):
        raise UsageError(f"{path.name} row {row}: column {column!r} is {text!r}; give a finite number")
    return value


class TabularSpace:
    """The architectures of one table; see the module docstring for the file format."""

    version: str
    name: str

    #: arguments naming user code, resolved by the loader before the space is built (protocol.CodeReference)
    code_arguments = {"builder": "network builder"}

    def __init__(
        self,
        path: str,
        arch_column: str = "arch",
        separator: str = "-",
        choice_columns: Sequence[str] | None = None,
        fitness_column: str = "accuracy",
        cost_column: str = "cost",
        final_columns: Sequence[str] | None = None,
        builder: CodeReference | None = None,
        name: str | None = None,
    ) -> None:
        self.path = Path(path)
        rows = read_rows(self.path)
        if not rows:
            raise UsageError(f"{self.path.name}: the table has no rows")
        columns = list(rows[0])
        arch_columns = list(choice_columns) if choice_columns else [arch_column]
        needed = [*arch_columns, fitness_column, cost_column, *(final_columns or [])]
        absent = [c for c in needed if c not in columns]
        if absent:
            raise UsageError(f"{self.path.name}: no column(s) {absent}; the table has {columns} (set the *_column args)")
        if not separator:
            raise UsageError("space.args.separator must be a non-empty string")
        self.separator = separator
        self.fitness_column, self.cost_column = fitness_column, cost_column
        used = set(arch_columns) | {fitness_column, cost_column}
        proxy_columns = [c for c in columns if c.startswith(PROXY_PREFIX) and not c.endswith(SECONDS_SUFFIX)]
        if final_columns is None:  # every other numeric column, the fitness first
            final_columns = [fitness_column] + [
                c for c in columns if c not in used and not c.startswith(PROXY_PREFIX) and _numeric(rows, c)
            ]
        self.final_columns = list(final_columns)

        self._rows: dict[Arch, list[dict[str, float]]] = {}
        width = None
        for number, row in enumerate(rows, start=2):  # row 1 is the header
            if choice_columns:
                ops = tuple(str(row[c]).strip() for c in arch_columns)
            else:
                ops = tuple(op.strip() for op in str(row[arch_column]).split(separator))
            if width is None:
                width = len(ops)
            if len(ops) != width or not all(ops):
                raise UsageError(f"{self.path.name} row {number}: op list {ops} has {len(ops)} ops, expected {width} non-empty ones")
            if choice_columns and any(separator in op for op in ops):
                raise UsageError(f"{self.path.name} row {number}: an op contains the separator {separator!r}; set args.separator")
            values = {c: _number(row[c], c, number, self.path) for c in (fitness_column, cost_column, *self.final_columns)}
            if values[cost_column] < 0:
                raise UsageError(f"{self.path.name} row {number}: cost {values[cost_column]} is negative")
            for column in proxy_columns:
                seconds = column + SECONDS_SUFFIX
                if str(row.get(column, "")).strip() not in ("", "nan", "None"):
                    values[column] = _number(row[column], column, number, self.path)
                    values[seconds] = _number(row[seconds], seconds, number, self.path) if row.get(seconds) else 0.0
                    if values[seconds] < 0:  # charged by the clock: negative seconds would run it backwards
                        raise UsageError(f"{self.path.name} row {number}: column {seconds!r} is {row[seconds]}; "
                                         "give the seconds the score took, >= 0")
            self._rows.setdefault(ops, []).append(values)
        self.archs: list[Arch] = list(self._rows)  # in first-appearance order: sampling is deterministic
        self._choices: list[list[str]] = [sorted({a[p] for a in self.archs}) for p in range(width or 0)]
        self._neighbours: dict[Arch, list[list[Arch]]] = {}
        self.proxies = [c[len(PROXY_PREFIX):] for c in proxy_columns]
        if builder is not None and not isinstance(builder, CodeReference):
            raise UsageError("space.args.builder: load the space through nasearch (a config or nasearch.loading.load_space),"
                             " which checks the builder reference before anything calls it")
        self.builder = builder
        digest = hashlib.sha256(self.path.read_bytes())
        digest.update(json.dumps([arch_columns, separator, fitness_column, cost_column, self.final_columns, builder and builder.text]).encode())
        self.name = name or f"tabular-{self.path.stem}"
        self.version = digest.hexdigest()[:12]  # a new table (or reading of it) never reuses old scores
        if type(self) is TabularSpace and len(self.archs) == int(np.prod([len(v) for v in self._choices])):
            # Only a full product can be encoded categorically: REINFORCE or BOHB could
            # otherwise propose an arch that was never trained.
            self.__class__ = CompleteTabularSpace

    # -- protocol -----------------------------------------------------------------------
    def sample(self, rng: np.random.Generator) -> Arch:
        return self.archs[int(rng.integers(len(self.archs)))]

    def mutate(self, arch: Arch, rng: np.random.Generator) -> Arch:
        """Change one position to another value, landing on an arch in the table."""
        by_position = [options for options in self._neighbours_of(self._present(arch)) if options]
        if not by_position:
            return self.sample(rng)  # no one-op change of this arch was trained
        options = by_position[int(rng.integers(len(by_position)))]
        return options[int(rng.integers(len(options)))]

    def query(self, arch: Arch, rng: np.random.Generator) -> Evaluation:
        rows = self._rows[self._present(arch)]
        row = rows[int(rng.integers(len(rows)))] if len(rows) > 1 else rows[0]
        return Evaluation(row[self.fitness_column], row[self.cost_column])

    def final_metrics(self, arch: Arch) -> dict[str, float]:
        rows = self._rows[self._present(arch)]
        return {c: float(np.mean([r[c] for r in rows])) for c in self.final_columns}

    def arch_id(self, arch: Arch) -> str:
        return self.separator.join(arch)

    def from_id(self, arch_id: str) -> Arch:
        return self._present(tuple(arch_id.split(self.separator)))

    def build_network(self, arch: Arch, num_classes: int = 10) -> Any:
        if self.builder is None:
            proxies = ", ".join(f"{PROXY_PREFIX}{p}" for p in self.proxies) or f"{PROXY_PREFIX}<name>"
            raise UsageError(
                f"space {self.name} is a table and has no networks; add precomputed proxy columns ({proxies}) "
                "and use that proxy, or pass space.args.builder: 'pkg.mod:function' taking (ops, num_classes)"
            )
        return self.builder(self._present(arch), num_classes)

    # -- optional capabilities ----------------------------------------------------------
    def proxy_score(self, proxy: str, arch: Arch) -> tuple[float, float] | None:
        """A precomputed ``(score, seconds)`` from the table's ``proxy_<name>`` column, or None."""
        column = PROXY_PREFIX + proxy
        rows = [r for r in self._rows[self._present(arch)] if column in r]
        if not rows:
            return None
        return float(np.mean([r[column] for r in rows])), float(np.mean([r[column + SECONDS_SUFFIX] for r in rows]))

    def neighbours(self, arch: Arch) -> list[Arch]:
        return [n for options in self._neighbours_of(self._present(arch)) for n in options]

    # -- helpers ------------------------------------------------------------------------
    def _present(self, arch: Sequence[str]) -> Arch:
        arch = tuple(arch)
        if arch not in self._rows:
            raise ValueError(f"arch {self.separator.join(map(str, arch))!r} is not in {self.path.name}; "
                             "a tabular space holds only the architectures its table lists")
        return arch

    def _neighbours_of(self, arch: Arch) -> list[list[Arch]]:
        """Per position, the one-op changes of ``arch`` that the table holds."""
        if arch not in self._neighbours:
            self._neighbours[arch] = [
                [c for v in values if v != arch[p] and (c := arch[:p] + (v,) + arch[p + 1 :]) in self._rows]
                for p, values in enumerate(self._choices)
            ]
        return self._neighbours[arch]


class CompleteTabularSpace(TabularSpace):
    """A table holding every combination of its choices: it can also be encoded categorically."""

    def choices(self) -> Sequence[Sequence[str]]:
        return self._choices

    def encode(self, arch: Arch) -> tuple[int, ...]:
        return tuple(values.index(op) for op, values in zip(self._present(arch), self._choices))

    def decode(self, indices: Sequence[int]) -> Arch:
        return tuple(values[int(i)] for i, values in zip(indices, self._choices))


def _numeric(rows: list[dict[str, str]], column: str) -> bool:
    try:
        [float(r[column]) for r in rows]
    except (TypeError, ValueError):
        return False
    return True
