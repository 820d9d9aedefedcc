"""Where proxy scores live between runs: a persistent SQLite cache and packaged tables.

A score is keyed by (space, proxy, dataset, batch size, seed, arch id), so repeated runs
never recompute it; data-free proxies have batch size 0 in the key. Which images a score saw
is kept in its record (``data``: source name and batch digest), and the scorer refuses to mix
two image sets under one key. Each score keeps the seconds it took to compute and where, because the
simulated clock's ``measured`` policy charges those seconds on every later lookup too.
SQLite gives atomic, multi-process-safe writes without a home-made file format.

Nothing read back is trusted: a score must be a number (not text, NULL or NaN; +-inf is a
proxy's verdict, e.g. NASWOT's singular kernel) and its seconds finite and >= 0 (negative
seconds would run the simulated clock backwards), in the cache and in a table alike; a cache
file that is not SQLite, or a table whose gzip, CSV or JSON is damaged, is a one-line
:class:`~nasearch.errors.UsageError` naming the file and the fix, and so is a cache that
cannot be opened or written (a full disk, a read-only folder).
"""
from __future__ import annotations

import csv
import gzip
import io
import json
import math
import os
import sqlite3
import zlib
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Iterator

CACHE_ENV = "NASEARCH_CACHE_DIR"
TABLES_DIR = Path(__file__).resolve().parent.parent / "data" / "proxy_tables"
#: the first row of every table's CSV
TABLE_HEADER = ["arch_id", "score", "seconds"]


@dataclass(frozen=True)
class ScoreKey:
    space: str  # "name@version"
    proxy: str
    dataset: str
    batch_size: int
    seed: int

    def table_stem(self) -> str:
        space = self.space.replace("@", "-v")
        return f"{space}_{self.proxy}_{self.dataset}_b{self.batch_size}_s{self.seed}"


@dataclass(frozen=True)
class ScoreRecord:
    score: float
    seconds: float
    hardware: str = ""
    data: str = ""


def default_cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "nasearch")


class ScoreCache:
    """Persistent per-score cache; safe to share between processes."""

    def __init__(self, directory: str | Path | None = None) -> None:
        if directory is not None and not str(directory).strip():  # '' would silently mean the default
            from nasearch.errors import UsageError

            raise UsageError(f"--cache-dir: an empty path; give a folder, or leave the flag out for ${CACHE_ENV}"
                             " (default ~/.cache/nasearch)")
        self.path = Path(directory or default_cache_dir()) / "scores.sqlite"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # a file in the way, no permission, read-only disk
            from nasearch.errors import UsageError

            raise UsageError(
                f"score cache directory {self.path.parent} cannot be created ({exc.strerror or type(exc).__name__});"
                f" set cache_dir (or ${CACHE_ENV}) to a writable directory"
            ) from None
        self._connection: sqlite3.Connection | None = None
        self._pid = -1

    @property
    def connection(self) -> sqlite3.Connection:
        # A connection must not cross a fork: reopen in each process.
        if self._connection is None or self._pid != os.getpid():
            with self._errors():
                connection = sqlite3.connect(self.path, timeout=120)
                try:
                    connection.execute("PRAGMA journal_mode=WAL")
                    connection.execute(
                        "CREATE TABLE IF NOT EXISTS scores (space TEXT, proxy TEXT, dataset TEXT, batch_size INTEGER,"
                        " seed INTEGER, arch_id TEXT, score REAL, seconds REAL, hardware TEXT, data TEXT,"
                        " PRIMARY KEY (space, proxy, dataset, batch_size, seed, arch_id))"
                    )
                except BaseException:
                    connection.close()
                    raise
            self._connection, self._pid = connection, os.getpid()
        return self._connection

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """SQLite's and the OS's errors on the cache file, as the one line naming it and the fix."""
        from nasearch.errors import UsageError, os_error_line

        elsewhere = f"set cache_dir (or --cache-dir, ${CACHE_ENV}) to another folder"
        try:
            yield
        except sqlite3.DatabaseError as exc:
            text = str(exc)
            if "not a database" in text or "malformed" in text:
                raise UsageError(f"{self.path} is not a score cache ({text}); delete it (its scores are recomputed)"
                                 f" or {elsewhere}") from None
            if "unable to open" in text:
                raise UsageError(f"{self.path}: the score cache cannot be opened ({text}); move what is in the way"
                                 f" or {elsewhere}") from None
            raise UsageError(f"{self.path}: the score cache cannot be used ({text}); free some space if the disk is"
                             f" full, or {elsewhere}") from None
        except OSError as exc:
            raise UsageError(os_error_line(exc, self.path)) from None

    def _record(self, key: ScoreKey, arch_id: str, row: tuple) -> ScoreRecord:
        """A stored row, checked: a number for a score (not text, NULL or NaN), finite seconds >= 0."""
        score, seconds = row[0], row[1]
        problem = _bad_score(score) or _bad_seconds(seconds)
        if problem:
            from nasearch.errors import UsageError

            raise UsageError(f"{self.path}: the cached {key.proxy} score of {arch_id} {problem}; delete {self.path}"
                             f" (its scores are recomputed) or set cache_dir (or ${CACHE_ENV}) to another folder")
        return ScoreRecord(float(score), float(seconds), *row[2:])

    def __getstate__(self) -> dict:
        return {"path": self.path}

    def __setstate__(self, state: dict) -> None:
        self.path, self._connection, self._pid = state["path"], None, -1

    def get(self, key: ScoreKey, arch_id: str) -> ScoreRecord | None:
        with self._errors():
            row = self.connection.execute(
                "SELECT score, seconds, hardware, data FROM scores WHERE space=? AND proxy=? AND dataset=?"
                " AND batch_size=? AND seed=? AND arch_id=?",
                (*_key_tuple(key), arch_id),
            ).fetchone()
        return None if row is None else self._record(key, arch_id, row)

    def put(self, key: ScoreKey, arch_id: str, record: ScoreRecord) -> None:
        """First write wins, so a score's charged seconds never change once stored. A NaN score (a
        proxy that found nothing to measure) is not stored: it would read back as a damaged cache."""
        if isinstance(record.score, float) and math.isnan(record.score):
            return
        with self._errors(), self.connection:
            self.connection.execute(
                "INSERT OR IGNORE INTO scores VALUES (?,?,?,?,?,?,?,?,?,?)",
                (*_key_tuple(key), arch_id, record.score, record.seconds, record.hardware, record.data),
            )

    def items(self, key: ScoreKey) -> Iterator[tuple[str, ScoreRecord]]:
        with self._errors():
            rows = self.connection.execute(
                "SELECT arch_id, score, seconds, hardware, data FROM scores WHERE space=? AND proxy=? AND dataset=?"
                " AND batch_size=? AND seed=? ORDER BY arch_id",
                _key_tuple(key),
            ).fetchall()
        for arch_id, *values in rows:
            yield arch_id, self._record(key, arch_id, tuple(values))


def _key_tuple(key: ScoreKey) -> tuple:
    return (key.space, key.proxy, key.dataset, key.batch_size, key.seed)


def _bad_score(score: object) -> str | None:
    """Why a stored score is unusable, or None (+-inf is allowed: a proxy's verdict)."""
    if isinstance(score, bool) or not isinstance(score, (int, float)):
        return f"is {score!r}, not a number"
    if math.isnan(score):
        return "is nan, not a number"
    return None


def _bad_seconds(seconds: object) -> str | None:
    """Why a stored score's seconds are unusable, or None: the clock charges them, so finite and >= 0."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not math.isfinite(seconds) or seconds < 0:
        return f"has seconds {seconds!r}; a score costs finite seconds >= 0"
    return None


# -- packaged tables -----------------------------------------------------------------------
def table_paths(key: ScoreKey, directory: Path = TABLES_DIR) -> tuple[Path, Path]:
    stem = key.table_stem()
    return directory / f"{stem}.csv.gz", directory / f"{stem}.json"


def write_table(
    key: ScoreKey, rows: Iterable[tuple[str, ScoreRecord]], metadata: dict, directory: Path = TABLES_DIR
) -> Path:
    """Write a table atomically (temp file + rename): a reader never sees half a table."""
    directory.mkdir(parents=True, exist_ok=True)
    data_path, meta_path = table_paths(key, directory)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(TABLE_HEADER)
    count = 0
    for arch_id, record in rows:
        writer.writerow([arch_id, repr(record.score), f"{record.seconds:.6f}"])
        count += 1
    from nasearch.errors import os_errors

    temporary = data_path.with_suffix(".tmp")
    with os_errors(data_path):  # a full disk, a read-only folder: one line naming the table
        with gzip.GzipFile(temporary, "wb", mtime=0) as handle:
            handle.write(buffer.getvalue().encode())
        os.replace(temporary, data_path)
    metadata = {**metadata, "key": asdict(key), "count": count}
    temporary = meta_path.with_suffix(".tmp")
    with os_errors(meta_path):
        temporary.write_text(json.dumps(metadata, indent=2, sort_keys=True) + "\n")
        os.replace(temporary, meta_path)
    return data_path


def read_table(key: ScoreKey, directory: Path = TABLES_DIR) -> tuple[dict[str, ScoreRecord], dict] | None:
    """A packaged table whose key matches exactly, or None. Every row is checked (a score that is a
    number, not NaN; finite seconds >= 0) and so is the whole file: damage is a one-line error."""
    from nasearch.errors import UsageError

    data_path, meta_path = table_paths(key, directory)
    if not data_path.is_file() or not meta_path.is_file():
        return None
    fix = ("restore it (reinstall nasearch for a packaged table; nasearch precompute --export writes one anew)"
           " or move the table away")
    try:
        metadata = json.loads(meta_path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        reason = f"line {exc.lineno}: {exc.msg}" if isinstance(exc, json.JSONDecodeError) else type(exc).__name__
        raise UsageError(f"{meta_path} is not valid JSON ({reason}); {fix}") from None
    if not isinstance(metadata, dict):
        raise UsageError(f"{meta_path} is not a table's metadata (a JSON object with its key); {fix}")
    if metadata.get("key") != asdict(key):
        return None
    hardware, data = metadata.get("hardware", ""), metadata.get("data", "")
    if metadata.get("data_digest"):  # the identity of the batch the table was computed on
        data = f"{data}#{metadata['data_digest']}"
    try:
        with gzip.open(data_path, "rt", encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))
    except (OSError, EOFError, zlib.error, UnicodeDecodeError, csv.Error) as exc:  # gzip.BadGzipFile is an OSError
        raise UsageError(f"{data_path} is not a readable table ({exc}); {fix}") from None
    if not rows or rows[0] != TABLE_HEADER:
        raise UsageError(f"{data_path} does not start with the header {','.join(TABLE_HEADER)}; {fix}")
    table = {}
    for number, row in enumerate(rows[1:], start=2):  # row 1 is the header
        if len(row) != 3:
            raise UsageError(f"{data_path} row {number}: expected 3 fields (arch_id, score, seconds), got {len(row)}; {fix}")
        arch_id, score_text, seconds_text = row
        score, seconds = _table_number(score_text), _table_number(seconds_text)
        if _bad_score(score):  # the rule a cached score is held to (None: not a number)
            problem = f"score {score_text!r} is not a number"
        elif seconds is None:
            problem = f"seconds {seconds_text!r} is not a number"
        elif _bad_seconds(seconds):
            problem = f"seconds {seconds} is not finite seconds >= 0 (the clock charges them)"
        else:
            problem = None
        if problem:
            raise UsageError(f"{data_path} row {number}: {problem}; {fix}")
        table[arch_id] = ScoreRecord(score, seconds, hardware, data)
    count = metadata.get("count")
    if isinstance(count, int) and not isinstance(count, bool) and count != len(rows) - 1:
        raise UsageError(f"{data_path} holds {len(rows) - 1} rows, its {meta_path.name} says {count}; {fix}")
    return table, metadata


def _table_number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None
