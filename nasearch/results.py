"""The results of a search on disk: the run record, the file names, and the one reader.

Where a new field of the run record goes: :class:`RunRecord` (and :func:`nasearch.runner.run_one`,
which fills it). Every module that writes or reads results uses the names and the reader here.

The schema version is kept out of each record's bytes (``runs.jsonl`` of existing configs stays
byte-identical); it is :data:`SCHEMA_VERSION`, and a record that carries a ``schema`` key newer
than this code is refused by :func:`RunRecord.from_dict`.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from nasearch.errors import UsageError

#: version of the run record's fields; a record without a ``schema`` key is version 1
SCHEMA_VERSION = 1

PROGRESS = "progress.jsonl"  # one line per finished run, in finishing order (resumable)
RESULTS = "runs.jsonl"  # all runs sorted by index, written once they are all done
CONFIG = "config.json"  # the fingerprint of the config whose runs a directory holds
EXPERIMENT = "experiment.json"  # what the report needs to know about an experiment
TIMING = "timing.json"  # wall time per searcher, accumulated over sessions
LOCK = ".nasearch.lock"  # held (flock) by the one process writing a directory


#: record fields written only when set (see :class:`RunRecord`)
OPTIONAL_FIELDS = ("predictor", "predictor_fits", "predictor_seconds", "cached_answers")


@dataclass
class RunRecord:
    """One run's result. Field order is the JSON key order after ``sort_keys`` anyway."""

    run: int
    seed: int
    label: str
    searcher: str
    proxy: str | None
    best_arch: str | None
    best_fitness: float | None
    final: dict = field(default_factory=dict)
    evaluations: int = 0
    proxy_scores: int = 0
    simulated_seconds: float = 0.0
    proxy_seconds: float = 0.0
    trajectory: dict = field(default_factory=dict)
    incumbents: list = field(default_factory=list)
    #: only with an online hook predictor (``hook.predictor``); absent from every other record, so
    #: their bytes are unchanged: its name, how many fits it made, and the simulated seconds of
    #: its fits and queries (declared cost model; part of ``proxy_seconds``, as every non-training charge)
    predictor: str | None = None
    predictor_fits: int | None = None
    predictor_seconds: float | None = None
    #: only with ``revisit: never``: proposals of a cell already trained in the run, answered with
    #: the recorded result at no cost (not evaluations: they are not in the trajectory)
    cached_answers: int | None = None

    def to_dict(self) -> dict:
        data = asdict(self)
        for optional in OPTIONAL_FIELDS:
            if data[optional] is None:
                del data[optional]
        return data

    def encode(self) -> str:
        return encode_run(self.to_dict())

    @classmethod
    def from_dict(cls, data: dict) -> "RunRecord":
        schema = data.get("schema", 1)
        if not isinstance(schema, int) or schema > SCHEMA_VERSION:
            raise ValueError(f"run record schema {schema!r} is newer than this nasearch's ({SCHEMA_VERSION})")
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        return cls(**known)


def encode_run(record: dict) -> str:
    """The one JSON encoding of a run record (sorted keys, no spaces): what runs.jsonl holds."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"))


@dataclass
class JsonLines:
    """What :func:`read_jsonl` found in a file of JSON lines."""

    path: Path
    records: dict[int, dict]  # run index -> record (first occurrence wins)
    lines: dict[int, str]  # run index -> the line as written
    torn: bool = False  # the last line has no newline (a write cut short)
    bad_lines: list[int] = field(default_factory=list)  # 1-based numbers of corrupt complete lines
    complete_end: int = 0  # byte offset after the last line that ends in a newline

    @property
    def complete(self) -> bool:
        return not self.torn and not self.bad_lines

    def problem(self) -> str | None:
        """One sentence naming what is wrong, by file and line number, or None."""
        if self.bad_lines:
            first = self.bad_lines[0]
            more = f" (and {len(self.bad_lines) - 1} more)" if len(self.bad_lines) > 1 else ""
            return f"{self.path}: line {first} is not a run record{more}; the other lines were kept"
        if self.torn:
            return f"{self.path}: the last line is cut short (a write was interrupted)"
        return None


def read_jsonl(path: str | Path) -> JsonLines:
    """Every valid run record of ``path``, and whether the file is whole.

    A corrupt line in the middle does not hide the lines after it; its number is reported.
    A missing file reads as empty and complete.
    """
    path = Path(path)
    found = JsonLines(path, {}, {})
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return found
    except (IsADirectoryError, PermissionError) as exc:
        raise UsageError(f"{path}: cannot be read ({exc.strerror}); point at an output directory nasearch wrote") from None
    offset = 0
    for number, line in enumerate(raw.splitlines(keepends=True), start=1):
        if not line.endswith(b"\n"):
            found.torn = True
            break
        offset += len(line)
        found.complete_end = offset
        try:
            record = json.loads(line)
            index = int(record["run"])
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            found.bad_lines.append(number)
            continue
        if index not in found.records:
            found.records[index] = record
            found.lines[index] = line.decode().rstrip("\n")
    return found


def read_json(path: str | Path, what: str, default: Any = None) -> Any:
    """A JSON file nasearch wrote, or ``default`` if absent; a corrupt one is a one-line usage error."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        return default
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read the {what} ({exc}); delete it or point at another directory") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}: the {what} is not valid JSON (line {exc.lineno}: {exc.msg}); "
                         f"restore it or delete it to start over") from None


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temporary file and a rename, so a reader (or a resume) never sees half a file."""
    temporary = path.with_name(path.name + f".{os.getpid()}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


def check_out_dir(out: str | Path, flag: str = "--out") -> Path:
    """An output directory that exists or can be made: not a file, not under a file."""
    out = Path(out)
    for part in (out, *out.parents):
        if part.exists() and not part.is_dir():
            where = "is a file" if part == out else f"is under {part}, which is a file"
            raise UsageError(f"{flag} {out} {where}; give a directory path")
    return out


class OutDirLock:
    """An OS lock (flock) on ``OUT/.nasearch.lock``: one writer per directory; it dies with its process."""

    def __init__(self, out: Path) -> None:
        self.path = Path(out) / LOCK
        self.handle = None

    def __enter__(self) -> "OutDirLock":
        import fcntl

        self.handle = self.path.open("a")
        try:
            fcntl.flock(self.handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self.handle.close()
            self.handle = None
            raise UsageError(f"{self.path.parent} is being written by another nasearch process; "
                             f"wait for it to finish or use another --out") from None
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.handle is not None:
            self.handle.close()  # releases the lock
            self.handle = None
