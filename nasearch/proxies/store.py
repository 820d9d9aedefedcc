"""Where proxy scores live between runs: a persistent SQLite cache and packaged tables.

A score is keyed by (space, proxy, dataset, batch size, seed, arch id), so repeated runs
never recompute it; data-free proxies have batch size 0 in the key. Which images a score saw
is kept in its record (``data``: source name and batch digest), and the scorer refuses to mix
two image sets under one key. Each score keeps the seconds it took to compute and where, because the
simulated clock's ``measured`` policy charges those seconds on every later lookup too.
SQLite gives atomic, multi-process-safe writes without a home-made file format.
"""
from __future__ import annotations

import csv
import gzip
import io
import json
import os
import sqlite3
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Iterator

CACHE_ENV = "NASEARCH_CACHE_DIR"
TABLES_DIR = Path(__file__).resolve().parent.parent / "data" / "proxy_tables"


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
            connection = sqlite3.connect(self.path, timeout=120)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute(
                "CREATE TABLE IF NOT EXISTS scores (space TEXT, proxy TEXT, dataset TEXT, batch_size INTEGER,"
                " seed INTEGER, arch_id TEXT, score REAL, seconds REAL, hardware TEXT, data TEXT,"
                " PRIMARY KEY (space, proxy, dataset, batch_size, seed, arch_id))"
            )
            self._connection, self._pid = connection, os.getpid()
        return self._connection

    def __getstate__(self) -> dict:
        return {"path": self.path}

    def __setstate__(self, state: dict) -> None:
        self.path, self._connection, self._pid = state["path"], None, -1

    def get(self, key: ScoreKey, arch_id: str) -> ScoreRecord | None:
        row = self.connection.execute(
            "SELECT score, seconds, hardware, data FROM scores WHERE space=? AND proxy=? AND dataset=?"
            " AND batch_size=? AND seed=? AND arch_id=?",
            (*_key_tuple(key), arch_id),
        ).fetchone()
        return None if row is None else ScoreRecord(*row)

    def put(self, key: ScoreKey, arch_id: str, record: ScoreRecord) -> None:
        """First write wins, so a score's charged seconds never change once stored."""
        with self.connection:
            self.connection.execute(
                "INSERT OR IGNORE INTO scores VALUES (?,?,?,?,?,?,?,?,?,?)",
                (*_key_tuple(key), arch_id, record.score, record.seconds, record.hardware, record.data),
            )

    def items(self, key: ScoreKey) -> Iterator[tuple[str, ScoreRecord]]:
        rows = self.connection.execute(
            "SELECT arch_id, score, seconds, hardware, data FROM scores WHERE space=? AND proxy=? AND dataset=?"
            " AND batch_size=? AND seed=? ORDER BY arch_id",
            _key_tuple(key),
        )
        for arch_id, *values in rows:
            yield arch_id, ScoreRecord(*values)


def _key_tuple(key: ScoreKey) -> tuple:
    return (key.space, key.proxy, key.dataset, key.batch_size, key.seed)


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
    writer.writerow(["arch_id", "score", "seconds"])
    count = 0
    for arch_id, record in rows:
        writer.writerow([arch_id, repr(record.score), f"{record.seconds:.6f}"])
        count += 1
    temporary = data_path.with_suffix(".tmp")
    with gzip.GzipFile(temporary, "wb", mtime=0) as handle:
        handle.write(buffer.getvalue().encode())
    os.replace(temporary, data_path)
    metadata = {**metadata, "key": asdict(key), "count": count}
    temporary = meta_path.with_suffix(".tmp")
    temporary.write_text(json.dumps(metadata, indent=2, sort_keys=True) + "\n")
    os.replace(temporary, meta_path)
    return data_path


def read_table(key: ScoreKey, directory: Path = TABLES_DIR) -> tuple[dict[str, ScoreRecord], dict] | None:
    """A packaged table whose key matches exactly, or None."""
    data_path, meta_path = table_paths(key, directory)
    if not data_path.is_file() or not meta_path.is_file():
        return None
    metadata = json.loads(meta_path.read_text())
    if metadata.get("key") != asdict(key):
        return None
    hardware, data = metadata.get("hardware", ""), metadata.get("data", "")
    if metadata.get("data_digest"):  # the identity of the batch the table was computed on
        data = f"{data}#{metadata['data_digest']}"
    with gzip.open(data_path, "rt") as handle:
        reader = csv.reader(handle)
        next(reader)
        table = {arch_id: ScoreRecord(float(score), float(seconds), hardware, data) for arch_id, score, seconds in reader}
    return table, metadata
