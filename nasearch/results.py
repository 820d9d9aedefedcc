"""The results of a search on disk: the typed run record, the file names, and the one reader.

Where a new field of the run record goes: :class:`RunRecord` (declare it, with its default, and
:func:`nasearch.runner.run_one` fills it); the report reads it from the same class. Every module that
writes or reads results uses the names and the readers here (:func:`read_runs`), never raw dicts.

Schema versions. A record carries ``"schema": 2``. Version 1 (no ``schema`` key, nasearch before the
typed record) named three fields after what they once meant rather than what they hold: ``proxy``
(the hook's *selection* label, e.g. ``uniform`` or ``worst:synflow``), ``proxy_scores`` (candidates
the hook *drew* into its pools and the budget paid for, uniform picks included, which score nothing)
and ``proxy_seconds`` (every non-training charge, predictor fits and queries included), plus
positional ``[step, arch, final]`` incumbents and ``proxy_device``/``proxy_clock``.
:meth:`RunRecord.from_dict` migrates such a record exactly (the values are the same; only names and
the incumbent's shape change), so results already on users' disks still resume and report.

Non-finite numbers. A run cannot produce a NaN or infinite final metric, fitness or time: the
benchmark tables a space reads are checked when loaded, and the runner checks every record before it
is written. So a NaN, inf or a string among a record's metrics is damage (an edited or broken file)
and is refused on read, naming the file, the line and the field; it is never reported as ``nan``.
The one non-finite value a record holds is ``-Infinity`` in ``trajectory.best``: the best
full-fidelity fitness before the first full-fidelity evaluation.

Checksums. Each line of ``progress.jsonl`` ends with ``"sha": <16 hex digits>``, the SHA-256 of the
line's record in its canonical encoding (:func:`encode_run`, without the ``sha`` key); a line whose
record was edited no longer matches and is not taken for a finished run (a resume recomputes that
run, which is deterministic; the report leaves it out and says so). Lines written before checksums
(no ``sha`` key) are read as they are. ``runs.jsonl`` holds the records without checksums: its bytes
are those of every earlier nasearch.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from nasearch.errors import UsageError, os_error_line, os_errors

#: version of the run record's fields; a record without a ``schema`` key is version 1
SCHEMA_VERSION = 2

PROGRESS = "progress.jsonl"  # one line per finished run, in finishing order (resumable)
RESULTS = "runs.jsonl"  # all runs sorted by index, written once they are all done
CONFIG = "config.json"  # the fingerprint of the config whose runs a directory holds
EXPERIMENT = "experiment.json"  # what the report needs to know about an experiment
TIMING = "timing.json"  # wall time per searcher, accumulated over sessions
LOCK = ".nasearch.lock"  # held (flock) by the one process writing a directory
CHECKSUM = "sha"  # the key of a progress line's checksum (not a record field)

#: version-1 field name -> its honest name in version 2
_RENAMED_IN_2 = {"proxy": "selection", "proxy_scores": "pool_draws", "proxy_seconds": "overhead_seconds",
                 "proxy_device": "score_device", "proxy_clock": "score_clock"}


class RecordError(ValueError):
    """A run record that does not have the declared fields and types (the message names the field)."""


@dataclass(frozen=True)
class Incumbent:
    """The run's best full-fidelity architecture from evaluation ``step`` on, and its final metrics."""

    step: int
    arch: str
    final: dict[str, float]

    def to_dict(self) -> dict:
        return {"step": self.step, "arch": self.arch, "final": self.final}


@dataclass(frozen=True)
class Trajectory:
    """Per evaluation, in order: the clock after it, the arch id, its fitness, its epochs (None = the
    space's search fidelity) and the best full-fidelity fitness so far."""

    t: list[float] = field(default_factory=list)
    arch: list[str] = field(default_factory=list)
    fitness: list[float] = field(default_factory=list)
    epochs: list[int | None] = field(default_factory=list)
    best: list[float] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"t": self.t, "arch": self.arch, "fitness": self.fitness, "epochs": self.epochs, "best": self.best}


@dataclass
class RunRecord:
    """One run's result: every field declared here, optional ones with ``None`` (then not written).

    ``selection``: what the hook's pools were picked by (``nasearch.hook.selection_label``: a proxy name,
    ``uniform``, ``oracle``, ``worst:<proxy>``; None for a vanilla searcher). ``pool_draws``: candidates
    the hook drew and the budget paid for (repeats included; a uniform pick draws but scores nothing).
    ``overhead_seconds``: simulated seconds of everything but training (proxy scores, predictor fits
    and queries); ``predictor_seconds`` is the predictors' part of it.
    """

    run: int
    seed: int
    label: str
    searcher: str
    selection: str | None
    best_arch: str | None
    best_fitness: float | None
    final: dict[str, float] = field(default_factory=dict)
    evaluations: int = 0
    pool_draws: int = 0
    simulated_seconds: float = 0.0
    overhead_seconds: float = 0.0
    trajectory: Trajectory = field(default_factory=Trajectory)
    incumbents: list[Incumbent] = field(default_factory=list)
    #: only with an online hook predictor (``hook.predictor``): its name, fits, and simulated seconds
    predictor: str | None = None
    predictor_fits: int | None = None
    predictor_seconds: float | None = None
    #: only when live proxy scores ran off the CPU: where, and which clock their seconds are
    score_device: str | None = None
    score_clock: str | None = None
    #: only with ``revisit: never``: proposals of a cell already trained in the run, answered with
    #: the recorded result at no cost (not evaluations: they are not in the trajectory)
    cached_answers: int | None = None
    #: only for multi-objective searchers: the non-dominated trained architectures, each
    #: ``{"arch": id, "<objective>": value, ...}`` (fitness first, e.g. ``params``)
    pareto: list[dict] | None = None
    schema: int = SCHEMA_VERSION

    def to_dict(self) -> dict:
        data = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None and f.default is None:
                continue  # an optional field that is not set is not written
            if f.name == "trajectory":
                value = value.to_dict()
            elif f.name == "incumbents":
                value = [i.to_dict() for i in value]
            data[f.name] = value
        return data

    def encode(self) -> str:
        return encode_run(self.to_dict())

    @property
    def distinct_fraction(self) -> float | None:
        """The share of evaluations that trained an architecture new to this run (None: no evaluation)."""
        archs = self.trajectory.arch
        return len(set(archs)) / len(archs) if archs else None

    @classmethod
    def from_dict(cls, data: Any) -> "RunRecord":
        """The typed record of a JSON object (any schema up to :data:`SCHEMA_VERSION`), checked field
        by field: a wrong type or a non-finite metric raises :class:`RecordError` naming the field."""
        if not isinstance(data, dict):
            raise RecordError(f"a run record is a JSON object, not {type(data).__name__}")
        schema = data.get("schema", 1)
        if not isinstance(schema, int) or isinstance(schema, bool) or schema < 1 or schema > SCHEMA_VERSION:
            raise RecordError(f"run record schema {schema!r} is not one this nasearch reads (1..{SCHEMA_VERSION})")
        if schema == 1:
            data = _migrate_1(data)
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise RecordError(f"unknown field(s) {unknown}")
        for name in ("run", "seed", "label", "searcher", "selection", "best_arch", "best_fitness"):
            if name not in data:
                raise RecordError(f"field {name!r} is missing")
        values = {}
        for name, value in data.items():
            values[name] = _checked(name, value)
        return cls(**values)


def _migrate_1(data: dict) -> dict:
    out = {_RENAMED_IN_2.get(k, k): v for k, v in data.items()}
    incumbents = out.get("incumbents", [])
    if isinstance(incumbents, list):
        out["incumbents"] = [{"step": i[0], "arch": i[1], "final": i[2]} if isinstance(i, list) and len(i) == 3 else i
                             for i in incumbents]
    out["schema"] = SCHEMA_VERSION
    return out


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _metrics(name: str, value: Any) -> dict[str, float]:
    if not isinstance(value, dict) or not all(isinstance(k, str) and _is_number(v) for k, v in value.items()):
        raise RecordError(f"field {name!r} must map metric names to numbers, got {_shown(value)}")
    bad = [k for k, v in value.items() if not math.isfinite(v)]
    if bad:
        raise RecordError(f"field {name!r}: metric {bad[0]!r} is {value[bad[0]]!r}, not a finite number")
    return value


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"a {type(value).__name__}"


def _checked(name: str, value: Any) -> Any:
    """``value`` as field ``name`` declares it, or RecordError."""
    def need(ok: bool, what: str) -> None:
        if not ok:
            raise RecordError(f"field {name!r} must be {what}, got {_shown(value)}")

    if name in ("run", "seed", "evaluations", "pool_draws", "schema"):
        need(_is_int(value) and value >= 0, "a non-negative integer")
    elif name in ("label", "searcher"):
        need(isinstance(value, str) and value != "", "a non-empty string")
    elif name in ("selection", "best_arch", "predictor", "score_device", "score_clock"):
        need(value is None or isinstance(value, str), "a string or null")
    elif name == "best_fitness":
        need(value is None or (_is_number(value) and math.isfinite(value)), "a finite number or null")
    elif name in ("simulated_seconds", "overhead_seconds"):
        need(_is_number(value) and math.isfinite(value) and value >= 0, "a finite number >= 0")
    elif name == "predictor_seconds":
        need(value is None or (_is_number(value) and math.isfinite(value) and value >= 0), "a finite number >= 0 or null")
    elif name in ("predictor_fits", "cached_answers"):
        need(value is None or (_is_int(value) and value >= 0), "a non-negative integer or null")
    elif name == "final":
        return _metrics(name, value)
    elif name == "pareto":
        need(value is None or (isinstance(value, list) and all(
            isinstance(p, dict) and isinstance(p.get("arch"), str) and len(p) >= 3 for p in value)),
             "null or a list of {arch, <objective>: number, ...} (two objectives at least)")
        for point in value or []:
            _metrics("pareto", {k: v for k, v in point.items() if k != "arch"})
        return value
    elif name == "trajectory":
        need(isinstance(value, dict), "a mapping of per-evaluation lists")
        lists = {k: value.get(k, []) for k in ("t", "arch", "fitness", "epochs", "best")}
        extra = sorted(set(value) - set(lists))
        need(not extra and all(isinstance(v, list) for v in lists.values()), "a mapping of per-evaluation lists")
        need(len({len(v) for v in lists.values() if v}) <= 1, "lists of one length")
        times = lists["t"]
        need(all(_is_number(t) and math.isfinite(t) and t >= 0 for t in times)
             and all(a <= b for a, b in zip(times, times[1:])), "finite times >= 0 that never decrease (the clock)")
        need(all(isinstance(a, str) for a in lists["arch"]), "archs as strings")
        need(all(_is_number(f) and not math.isnan(f) for f in lists["fitness"]), "fitness values as numbers")
        need(all(_is_number(b) and not math.isnan(b) and b != math.inf for b in lists["best"]),
             "best-so-far values as numbers (-Infinity before the first full-fidelity result)")
        need(all(e is None or (_is_int(e) and e >= 0) for e in lists["epochs"]), "epochs as whole numbers or null")
        return Trajectory(**lists)
    elif name == "incumbents":
        need(isinstance(value, list), "a list of {step, arch, final}")
        out = []
        for entry in value:
            need(isinstance(entry, dict) and set(entry) == {"step", "arch", "final"} and _is_int(entry["step"])
                 and entry["step"] >= 0 and isinstance(entry["arch"], str), "a list of {step >= 0, arch, final}")
            out.append(Incumbent(entry["step"], entry["arch"], _metrics("incumbents.final", entry["final"])))
        return out
    return value


def read_runs(path: str | Path) -> list[RunRecord]:
    """The typed records of a ``runs.jsonl`` or ``progress.jsonl`` (sorted by run index): the one
    reader every consumer uses. A line that is no run record is a one-line :class:`UsageError`
    naming the file, the line and the field."""
    found = read_jsonl(path)
    if found.bad_lines:
        raise UsageError(f"{found.problem()}; rerun that searcher into a fresh --out or remove the line")
    return [found.records[i] for i in sorted(found.records)]


def encode_run(record: dict) -> str:
    """The one JSON encoding of a run record (sorted keys, no spaces): what runs.jsonl holds."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"))


def _checksum(canonical: str) -> str:
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def progress_line(record: RunRecord) -> str:
    """A finished run as ``progress.jsonl`` holds it: the canonical record with its checksum last."""
    line = record.encode()
    return f'{line[:-1]},"{CHECKSUM}":"{_checksum(line)}"}}'


def decode_line(text: str | bytes) -> RunRecord:
    """The typed record of one line of ``runs.jsonl`` / ``progress.jsonl``; its checksum (if it has
    one) must match. ValueError (RecordError, or JSONDecodeError) otherwise."""
    # -Infinity is valid here: a trajectory's best-so-far before the first full-fidelity result
    data = json.loads(text)
    if isinstance(data, dict) and CHECKSUM in data:
        digest = data.pop(CHECKSUM)
        if digest != _checksum(encode_run(data)):
            raise RecordError("its checksum does not match its values: the line was edited or damaged")
    return RunRecord.from_dict(data)


@dataclass
class JsonLines:
    """What :func:`read_jsonl` found in a file of run records (JSON lines)."""

    path: Path
    records: dict[int, RunRecord]  # run index -> typed record (first occurrence wins)
    lines: dict[int, str]  # run index -> the line as written
    torn: bool = False  # the last line has no newline (a write cut short)
    bad_lines: list[int] = field(default_factory=list)  # 1-based numbers of corrupt complete lines
    complete_end: int = 0  # byte offset after the last line that ends in a newline
    first_bad_reason: str = ""  # why the first bad line is not a run record
    line_numbers: dict[int, int] = field(default_factory=dict)  # run index -> its 1-based line

    @property
    def complete(self) -> bool:
        return not self.torn and not self.bad_lines

    def bad_lines_text(self) -> str:
        """``PATH: line N is not a run record (why) (and k more)``: the first bad line, by number."""
        first = self.bad_lines[0]
        more = f" (and {len(self.bad_lines) - 1} more)" if len(self.bad_lines) > 1 else ""
        why = f" ({self.first_bad_reason})" if self.first_bad_reason else ""
        return f"{self.path}: line {first} is not a run record{why}{more}"

    def problem(self) -> str | None:
        """One sentence naming what is wrong, by file and line number, or None."""
        if self.bad_lines:
            return f"{self.bad_lines_text()}; the other lines were kept"
        if self.torn:
            return f"{self.path}: the last line is cut short (a write was interrupted)"
        return None


def read_jsonl(path: str | Path) -> JsonLines:
    """Every valid run record of ``path`` (typed, migrated to the current schema), and whether the
    file is whole.

    A line is kept only if it is a whole run record (:func:`decode_line`): valid JSON that is not one
    (another tool's line, an edited value of the wrong type, NaN, a checksum that does not match) counts
    as corrupt, and so do a second line for a run index already read and a run of another label or
    searcher than the file's first run (two configs' runs mixed). A corrupt line in the
    middle does not hide the lines after it; its number is reported. A missing file reads as empty and
    complete.
    """
    path = Path(path)
    found = JsonLines(path, {}, {})
    try:
        _check_regular(path)
        raw = path.read_bytes()
    except FileNotFoundError:
        return found
    except (IsADirectoryError, PermissionError, OSError) as exc:
        raise UsageError(f"{path}: cannot be read ({exc.strerror or exc}); point at an output directory nasearch wrote") from None
    offset = 0
    for number, line in enumerate(raw.splitlines(keepends=True), start=1):
        if not line.endswith(b"\n"):
            found.torn = True
            break
        offset += len(line)
        found.complete_end = offset
        try:
            record = decode_line(line)
            _belongs(record, found)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            if not found.bad_lines:
                found.first_bad_reason = str(exc) if isinstance(exc, RecordError) else "not valid JSON"
            found.bad_lines.append(number)
            continue
        found.records[record.run] = record
        found.lines[record.run] = line.decode().rstrip("\n")
        found.line_numbers[record.run] = number
    return found


def _belongs(record: RunRecord, found: JsonLines) -> None:
    """RecordError unless ``record`` is a new run of the same search as the file's first run."""
    if record.run in found.records:
        raise RecordError(f"run {record.run} is already on line {found.line_numbers[record.run]}")
    if found.records:
        first = next(iter(found.records.values()))  # the file's first kept line (dicts keep insertion order)
        for name in ("label", "searcher"):
            if getattr(record, name) != getattr(first, name):
                raise RecordError(f"a run of {name} {getattr(record, name)!r}, but line {found.line_numbers[first.run]} "
                                  f"holds one of {getattr(first, name)!r}: two searches' runs are mixed")


def read_json(path: str | Path, what: str, default: Any = None) -> Any:
    """A JSON file nasearch wrote, or ``default`` if absent; a corrupt one is a one-line usage error."""
    path = Path(path)
    try:
        _check_regular(path)
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
    except RecursionError:
        raise UsageError(f"{path}: the {what} nests too deeply to be one nasearch wrote; "
                         f"restore it or delete it to start over") from None


def _check_regular(path: Path) -> None:
    """Refuse a state file that is not a regular file: a device or a FIFO would be read forever."""
    import stat

    mode = os.stat(path).st_mode  # FileNotFoundError: the caller's "absent"
    if not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        kind = "a FIFO" if stat.S_ISFIFO(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a socket"
        raise UsageError(f"{path} is {kind}, not a file nasearch wrote; delete it or use another --out")


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temporary file and a rename, so a reader (or a resume) never sees half a file.
    A write that fails (a full disk, a file-size limit, a read-only file system) leaves the old file
    as it was, removes the temporary one, and is the one-line :class:`UsageError` naming ``path``."""
    temporary = path.with_name(path.name + f".{os.getpid()}.tmp")
    try:
        with os_errors(path):
            temporary.write_text(text)
            os.replace(temporary, path)
    except UsageError:
        temporary.unlink(missing_ok=True)
        raise


def make_out_dir(out: Path) -> Path:
    """``out`` made (with its parents), or the one-line error naming what stops it."""
    with os_errors(out):
        out.mkdir(parents=True, exist_ok=True)
    return out


def check_out_dir(out: str | Path, flag: str = "--out") -> Path:
    """An output directory that exists or can be made: a path (not empty, which would write into the
    working directory), not a file, not under a file, no symbolic link loop, no name too long."""
    if not str(out).strip():
        raise UsageError(f"{flag}: an empty path would write into the working directory; give a folder such as "
                         "results/my_run (or . to mean the working directory)")
    import stat

    out = Path(out)
    for part in (out, *out.parents):
        try:
            mode = os.stat(part).st_mode
        except (FileNotFoundError, NotADirectoryError):  # not there yet (or under a file: found further up)
            if os.path.islink(part):  # a link to nothing: mkdir would find it "in the way"
                where = "" if part == out else f"{out}: "
                raise UsageError(f"{flag} {where}{part} is a symbolic link to {os.readlink(part)}, which does not exist;"
                                 " make that folder or remove the link") from None
            continue
        except OSError as exc:  # a symbolic link loop, a name too long, no permission
            where = "" if part == out else f"{out}: "
            raise UsageError(f"{flag} {where}{os_error_line(exc, part)}") from None
        if not stat.S_ISDIR(mode):
            where = "is a file" if part == out else f"is under {part}, which is a file"
            raise UsageError(f"{flag} {out} {where}; give a directory path")
    return out


class OutDirLock:
    """An OS lock (flock) on ``OUT/.nasearch.lock``: one writer per directory (a search's runs, an
    experiment, a predictor study); it dies with its process. The holder writes its pid into the file,
    so a second writer's one-line refusal names the process to wait for."""

    def __init__(self, out: Path) -> None:
        self.path = Path(out) / LOCK
        self.handle = None

    def __enter__(self) -> "OutDirLock":
        import fcntl

        with os_errors(self.path):
            self.handle = self.path.open("a+")
        try:
            fcntl.flock(self.handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self.handle.seek(0)
            holder = self.handle.read(32).strip()
            self.handle.close()
            self.handle = None
            pid = f" (pid {holder})" if holder.isdigit() else ""
            raise UsageError(f"{self.path.parent} is being written by another nasearch process{pid}; "
                             f"wait for it to finish or use another --out") from None
        try:  # the pid is a courtesy to a second writer: a full disk here is met again, with its path, by the writes
            self.handle.seek(0)
            self.handle.truncate()
            os.write(self.handle.fileno(), f"{os.getpid()}\n".encode())
        except OSError:
            pass
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.handle is not None:
            self.handle.close()  # releases the lock
            self.handle = None
