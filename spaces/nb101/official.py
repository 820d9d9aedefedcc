"""NAS-Bench-101's official result files, read without TensorFlow, behind a compact cached index.

The benchmark ships ``nasbench_only108.tfrecord`` (every cell trained for 108 epochs) and
``nasbench_full.tfrecord`` (4, 12, 36 and 108 epochs), 3 repeats per (cell, epochs). Each
TFRecord payload (framing: :mod:`.tfrecord`) is one UTF-8 JSON row::

    [module_hash, epochs, raw_adjacency, raw_operations, raw_metrics]

``module_hash`` is the benchmark's ``hash_module`` of the pruned cell, ``raw_adjacency`` its
pruned matrix as a row-major string of 0/1 digits, ``raw_operations`` the comma-separated vertex
labels, and ``raw_metrics`` a base64 ``ModelMetrics`` protobuf (:mod:`.metrics`) whose
``evaluation_data`` holds three evaluations: at the start of training (unused), the halfway
point and the end. As the benchmark's own ``api.NASBench`` does, the first record of a hash gives
its matrix, ops and ``trainable_parameters``, and each record is one repeat, numbered in file
order.

**The index.** Reading the JSON and protobufs of 1.27 M (only108) or 5.08 M (full) records takes
minutes, so the first use streams the file once into a compact binary index (numpy arrays,
memory-mapped on later loads, so worker processes share its pages) and later uses read only
that. Per hash: the padded 7x7 matrix, vertex count, op codes and trainable parameters; per
(hash, epochs, repeat): the final and halfway validation / test accuracy and training time. The
index lives under ``$NASEARCH_CACHE_DIR/nb101/`` (default ``~/.cache/nasearch/nb101/``) or where
``index=`` says, and records the file's size, modification time and a CRC of its first and last
MiB; an index whose key differs, whose CRCs do not match its arrays, or that cannot be read is
rebuilt, never trusted.

**The query protocol** (as NB201's official backend): ``query`` draws one of the repeats at the
queried epoch budget with the run's generator; fitness is that repeat's final validation
accuracy in percent, cost its training seconds at that budget (``training_time``: the simulated
clock the NB101 paper's search experiments charge). ``final_metrics`` are the repeat means of the
validation and test accuracy at 108 epochs.
"""
from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import math
import os
import re
import struct
import time
from pathlib import Path
from collections.abc import Set
from typing import Iterator

import numpy as np

from nasearch.errors import UsageError
from nasearch.spaces.nb101.metrics import decode_error, message_classes
from nasearch.spaces.nb101.tfrecord import iter_records, masked_crc32c
from nasearch.spaces.protocol import Evaluation

CACHE_ENV = "NASEARCH_CACHE_DIR"
#: vertex labels as the files write them; index codes are positions in this tuple
OP_NAMES: tuple[str, ...] = ("input", "output", "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3")
MAX_VERTICES = 7
#: the per-(hash, epochs, repeat) columns of the index, as the file holds them (accuracies as fractions, seconds)
RECORD_COLUMNS: tuple[str, ...] = (
    "final_validation_accuracy", "final_test_accuracy", "final_training_time",
    "halfway_validation_accuracy", "halfway_test_accuracy", "halfway_training_time",
)
INDEX_FORMAT = 2
_MAGIC = b"NASEARCH-NB101-INDEX\n"
_ALIGN = 64
_HASH_RE = re.compile(r"^[0-9a-f]{32}$")
_FINGERPRINT_BYTES = 1 << 20


class NB101FileError(UsageError):
    """An official NAS-Bench-101 file with a record that is not in the official format."""


class UnknownCell(UsageError, ValueError):
    """A module hash the file has no results for."""


# -- the file and its index -------------------------------------------------------------------
def resolve_path(path: str | os.PathLike | None) -> Path:
    """The official file named by ``space.args.path``; a one-line UsageError if it is not a file.

    There is deliberately no environment-variable fallback: a run's resume key is its config
    (nasearch/execution.py's fingerprint), so the file must be named in the config, or runs on
    ``only108`` and ``full`` (whose BOHB results differ) could resume into one output directory.
    """
    if path is None or str(path) == "":
        raise UsageError(
            "NB101 results need the official nasbench_only108.tfrecord or nasbench_full.tfrecord: set space.args.path"
        )
    file = Path(path).expanduser()
    if not file.is_file():
        raise UsageError(f"NB101 file {file} (space.args.path) not found; point it at the downloaded .tfrecord")
    return file


def default_index_path(file: Path) -> Path:
    """Where the index of ``file`` is cached: the cache dir, named by the file's stem and absolute path."""
    cache = Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "nasearch") / "nb101"
    digest = hashlib.sha1(str(file.resolve()).encode()).hexdigest()[:12]
    return cache / f"{file.stem}-{digest}.nb101index"


def source_key(file: Path) -> dict:
    """What the index must agree with: size, modification time and a CRC of the first and last MiB."""
    stat = file.stat()
    with open(file, "rb") as handle:
        head = handle.read(_FINGERPRINT_BYTES)
        handle.seek(max(0, stat.st_size - _FINGERPRINT_BYTES))
        tail = handle.read(_FINGERPRINT_BYTES)
    return {"format": INDEX_FORMAT, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
            "fingerprint": masked_crc32c(head + tail)}


def _bad_row(where: str, what: str) -> NB101FileError:
    return NB101FileError(f"{where}: {what}")


def parse_row(payload: bytes, where: str):
    """``(module_hash, epochs, raw_adjacency, raw_operations, metrics message)`` of one record, checked."""
    shape = "a JSON row [module_hash, epochs, raw_adjacency, raw_operations, raw_metrics]"
    try:
        row = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise _bad_row(where, f"is not {shape} ({_short(exc)})") from None
    if not isinstance(row, list) or len(row) != 5:
        raise _bad_row(where, f"is not {shape} (got {_short(row)})")
    module_hash, epochs, raw_adjacency, raw_operations, raw_metrics = row
    if not isinstance(module_hash, str) or not _HASH_RE.match(module_hash):
        raise _bad_row(where, f"module_hash {_short(module_hash)} is not 32 hex digits")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise _bad_row(where, f"epochs {_short(epochs)} is not a positive integer")
    if not isinstance(raw_adjacency, str) or not isinstance(raw_operations, str) or not isinstance(raw_metrics, str):
        raise _bad_row(where, f"is not {shape}: raw_adjacency, raw_operations and raw_metrics must be strings")
    dim = math.isqrt(len(raw_adjacency))
    if dim * dim != len(raw_adjacency) or not 2 <= dim <= MAX_VERTICES or raw_adjacency.strip("01"):
        raise _bad_row(where, f"raw_adjacency {_short(raw_adjacency)} is not a square 0/1 matrix of 2..7 vertices")
    ops = raw_operations.split(",")
    if len(ops) != dim or ops[0] != "input" or ops[-1] != "output" or any(op not in OP_NAMES[2:] for op in ops[1:-1]):
        raise _bad_row(where, f"raw_operations {_short(raw_operations)} are not {dim} labels input, "
                              f"{{{', '.join(OP_NAMES[2:])}}}..., output")
    metrics = decode_metrics(raw_metrics, where)
    return module_hash, epochs, raw_adjacency, raw_operations, metrics


def decode_metrics(raw_metrics: str, where: str):
    """The ``ModelMetrics`` of a base64 string, checked to hold what the benchmark's API reads."""
    model_metrics, _evaluation = message_classes()
    try:
        blob = base64.b64decode(raw_metrics, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _bad_row(where, f"raw_metrics is not base64 ({_short(exc)})") from None
    try:
        metrics = model_metrics.FromString(blob)
    except decode_error() as exc:
        raise _bad_row(where, f"raw_metrics is not a serialized ModelMetrics protobuf ({_short(exc)})") from None
    data = metrics.evaluation_data
    if len(data) < 3 or not metrics.HasField("trainable_parameters"):
        raise _bad_row(
            where, f"raw_metrics is not a NAS-Bench-101 ModelMetrics: {len(data)} evaluations (need start, halfway, end)"
                   f"{'' if metrics.HasField('trainable_parameters') else ' and no trainable_parameters'}"
        )
    for name, evaluation in (("halfway", data[1]), ("final", data[2])):
        for field in ("training_time", "validation_accuracy", "test_accuracy"):
            if not evaluation.HasField(field):
                raise _bad_row(where, f"raw_metrics' {name} evaluation has no {field}")
    return metrics


def _short(value: object) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= 60 else text[:57] + "..."


def build_index(file: Path) -> tuple[dict, dict[str, np.ndarray]]:
    """Stream ``file`` once into the index arrays; ``(meta, arrays)``. Bad records raise one line."""
    started = time.perf_counter()
    rows: dict[str, int] = {}
    adjacency: list[str] = []
    operations: list[str] = []
    parameters: list[int] = []
    chunks: list[np.ndarray] = []
    pending: list[tuple] = []
    count = 0
    for index, offset, payload in iter_records(file):
        where = f"{file}: record {index} (byte {offset})"
        module_hash, epochs, raw_adjacency, raw_operations, metrics = parse_row(payload, where)
        row = rows.get(module_hash)
        params = int(metrics.trainable_parameters)
        if row is None:
            row = rows[module_hash] = len(adjacency)
            adjacency.append(raw_adjacency)
            operations.append(raw_operations)
            parameters.append(params)
        elif adjacency[row] != raw_adjacency or operations[row] != raw_operations or parameters[row] != params:
            raise _bad_row(where, f"module {module_hash} has another cell or parameter count than its first record")
        half, final = metrics.evaluation_data[1], metrics.evaluation_data[2]
        pending.append((row, epochs, final.validation_accuracy, final.test_accuracy, final.training_time,
                        half.validation_accuracy, half.test_accuracy, half.training_time))
        count += 1
        if len(pending) >= 65536:
            chunks.append(np.array(pending, dtype=np.float64))
            pending = []
    if pending:
        chunks.append(np.array(pending, dtype=np.float64))
    if not count:
        raise NB101FileError(f"{file} holds no records; is it the official .tfrecord?")
    records = np.concatenate(chunks)
    del chunks
    record_rows = records[:, 0].astype(np.int64)
    record_epochs = records[:, 1].astype(np.int64)
    levels, level_of = np.unique(record_epochs, return_inverse=True)
    group = record_rows * len(levels) + level_of
    order = np.argsort(group, kind="stable")  # repeats in file order, as the benchmark's API appends them
    sorted_group = group[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_group)) + 1]
    sizes = np.diff(np.r_[starts, len(sorted_group)])
    repeat = np.arange(len(sorted_group)) - np.repeat(starts, sizes)
    num_hashes, num_levels, num_repeats = len(adjacency), len(levels), int(sizes.max())

    hashes = np.array(list(rows), dtype="S32")
    by_hash = np.argsort(hashes)  # rows sorted by hash, for a binary search at query time
    new_row = np.empty(num_hashes, dtype=np.int64)
    new_row[by_hash] = np.arange(num_hashes)

    arrays: dict[str, np.ndarray] = {"hashes": hashes[by_hash], "epochs": levels.astype(np.int64)}
    matrices = np.zeros((num_hashes, MAX_VERTICES, MAX_VERTICES), dtype=np.uint8)
    vertices = np.zeros(num_hashes, dtype=np.uint8)
    ops = np.full((num_hashes, MAX_VERTICES), 255, dtype=np.uint8)
    op_codes: dict[str, np.ndarray] = {}
    for old, (raw_adjacency, raw_operations) in enumerate(zip(adjacency, operations)):
        dim = math.isqrt(len(raw_adjacency))
        at = new_row[old]
        matrices[at, :dim, :dim] = (np.frombuffer(raw_adjacency.encode(), dtype=np.uint8) - 48).reshape(dim, dim)
        vertices[at] = dim
        codes = op_codes.get(raw_operations)
        if codes is None:
            codes = op_codes[raw_operations] = np.array([OP_NAMES.index(op) for op in raw_operations.split(",")], np.uint8)
        ops[at, :dim] = codes
    arrays.update(matrices=matrices, vertices=vertices, ops=ops,
                  parameters=np.asarray(parameters, dtype=np.int64)[by_hash])
    counts = np.zeros((num_hashes, num_levels), dtype=np.uint32)
    np.add.at(counts, (new_row[record_rows], level_of), 1)
    arrays["repeats"] = counts
    target = (new_row[record_rows[order]], level_of[order], repeat)
    for column, name in enumerate(RECORD_COLUMNS, start=2):
        values = np.full((num_hashes, num_levels, num_repeats), np.nan)
        values[target] = records[order, column]
        arrays[name] = values
    meta = {"records": count, "hashes": num_hashes, "epochs": [int(e) for e in levels], "repeats": num_repeats,
            "op_names": list(OP_NAMES), "build_seconds": round(time.perf_counter() - started, 3)}
    return meta, arrays


def write_index(path: Path, key: dict, meta: dict, arrays: dict[str, np.ndarray]) -> None:
    """Write the index atomically: magic, header length, JSON header, then each array 64-byte aligned."""
    layout, offset, end = {}, 0, 0
    for name, array in arrays.items():
        array = np.ascontiguousarray(array)
        arrays[name] = array
        layout[name] = {"dtype": array.dtype.str, "shape": list(array.shape), "offset": offset,
                        "crc": masked_crc32c(memoryview(array) if array.size else b"")}
        end = offset + array.nbytes
        offset += -(-array.nbytes // _ALIGN) * _ALIGN
    header = json.dumps({"key": key, "meta": meta, "arrays": layout}, sort_keys=True).encode()
    start = -(-(len(_MAGIC) + 8 + len(header)) // _ALIGN) * _ALIGN
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as handle:
            handle.write(_MAGIC + struct.pack("<Q", len(header)) + header)
            handle.write(b"\0" * (start - handle.tell()))
            for name, array in arrays.items():
                handle.seek(start + layout[name]["offset"])
                handle.write(array.tobytes())
            handle.truncate(start + end)
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


def read_index(path: Path, key: dict) -> tuple[dict, dict[str, np.ndarray]] | None:
    """The index at ``path`` if it is whole, consistent and built from the file ``key`` describes, else None."""
    try:
        with open(path, "rb") as handle:
            if handle.read(len(_MAGIC)) != _MAGIC:
                return None
            (length,) = struct.unpack("<Q", handle.read(8))
            if length > 1 << 24:
                return None
            header = json.loads(handle.read(length).decode())
        if header.get("key") != key:
            return None
        start = -(-(len(_MAGIC) + 8 + length) // _ALIGN) * _ALIGN
        size = path.stat().st_size
        arrays = {}
        for name, spec in header["arrays"].items():
            dtype, shape = np.dtype(spec["dtype"]), tuple(int(n) for n in spec["shape"])
            if dtype.hasobject or start + spec["offset"] + dtype.itemsize * math.prod(shape) > size:
                return None
            array = np.memmap(path, dtype=dtype, mode="r", offset=start + spec["offset"], shape=shape) if math.prod(
                shape) else np.zeros(shape, dtype)
            if masked_crc32c(memoryview(array) if array.size else b"") != spec["crc"]:
                return None
            arrays[name] = array
        needed = {"hashes", "epochs", "matrices", "vertices", "ops", "parameters", "repeats", *RECORD_COLUMNS}
        if not needed <= set(arrays):
            return None
        return header["meta"], arrays
    except (OSError, ValueError, KeyError, TypeError, struct.error, UnicodeDecodeError):
        return None


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path``.lock (POSIX), so concurrent workers build the index once."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def load_index(file: Path, index: Path | None = None) -> tuple[dict, dict[str, np.ndarray], bool]:
    """``(meta, arrays, built)``: the cached index of ``file``, rebuilt first when absent, stale or corrupt."""
    path = Path(index).expanduser() if index is not None else default_index_path(file)
    key = source_key(file)
    found = read_index(path, key)
    if found is not None:
        return (*found, False)
    try:
        lock = _locked(path)
        lock.__enter__()
    except OSError as exc:
        raise UsageError(f"cannot write the NB101 index {path} ({exc.strerror or exc}); set ${CACHE_ENV} or "
                         "space.args.index to a writable place") from None
    try:
        found = read_index(path, key)  # another process may have built it while we waited
        if found is not None:
            return (*found, False)
        meta, arrays = build_index(file)
        if source_key(file) != key:
            raise UsageError(f"NB101 file {file} changed while its index was being built; run again")
        try:
            write_index(path, key, meta, arrays)
        except OSError as exc:
            raise UsageError(f"cannot write the NB101 index {path} ({exc.strerror or exc}); set ${CACHE_ENV} or "
                             "space.args.index to a writable place") from None
        found = read_index(path, key)
        if found is None:  # pragma: no cover - the disk lost what we wrote
            raise UsageError(f"the NB101 index {path} did not read back after writing; check the disk")
        return (*found, True)
    finally:
        lock.__exit__(None, None, None)


# -- the backend ------------------------------------------------------------------------------
def load_backend(path: str | os.PathLike | None, **args) -> "OfficialNB101Backend":
    """The backend ``NB101Space(path=..., **args)`` opens; ``args`` may be ``index`` (where to cache the index)."""
    unknown = sorted(set(args) - {"index"})
    if unknown:
        raise UsageError(f"space.args: unknown NB101 argument {unknown[0]!r}; the results file takes path and index")
    return OfficialNB101Backend(path, **args)


class HashView(Set):
    """The file's module hashes as a read-only set: ``in`` is a binary search of the index, no copy."""

    def __init__(self, backend: "OfficialNB101Backend") -> None:
        self._backend = backend

    def __contains__(self, cell_hash: object) -> bool:
        return self._backend.find(cell_hash) is not None

    def __iter__(self) -> Iterator[str]:
        return (h.decode() for h in self._backend._hashes)

    def __len__(self) -> int:
        return len(self._backend._hashes)


class OfficialNB101Backend:
    """Results from ``nasbench_only108.tfrecord`` or ``nasbench_full.tfrecord``, by module hash.

    ``epochs`` are the budgets the file holds ((108,) or (4, 12, 36, 108)); ``max_epochs`` the
    top one, which ``query`` reports by default and ``final_metrics`` averages.
    """

    name = "official"

    def __init__(self, path: str | os.PathLike | None = None, index: str | os.PathLike | None = None) -> None:
        self.path = resolve_path(path)
        self.index_path = Path(index).expanduser() if index is not None else default_index_path(self.path)
        self.meta, self._arrays, self.built_index = load_index(self.path, self.index_path)
        self.epochs: tuple[int, ...] = tuple(int(e) for e in self._arrays["epochs"])
        self.max_epochs: int = max(self.epochs)
        self._level = {e: i for i, e in enumerate(self.epochs)}
        self._hashes = self._arrays["hashes"]
        self._rows: dict[str, int] = {}

    def __getstate__(self) -> dict:  # memory maps travel as the path; the worker maps the index itself
        state = dict(self.__dict__)
        state["_arrays"] = state["_hashes"] = None
        state["_rows"] = {}
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        _meta, self._arrays, _built = load_index(self.path, self.index_path)
        self._hashes = self._arrays["hashes"]

    # -- lookups ----------------------------------------------------------------------------
    def find(self, cell_hash: object) -> int | None:
        """The hash's row in the index, or None when the file lacks it."""
        row = self._rows.get(cell_hash) if isinstance(cell_hash, str) else None
        if row is None and isinstance(cell_hash, str) and len(cell_hash) == 32:
            key = cell_hash.encode()
            at = int(np.searchsorted(self._hashes, key))
            if at < len(self._hashes) and self._hashes[at] == key:
                row = self._rows[cell_hash] = at
        return row

    def row(self, cell_hash: str) -> int:
        """The hash's row in the index; :class:`UnknownCell` (a ValueError) when the file lacks it."""
        row = self.find(cell_hash)
        if row is None:
            raise UnknownCell(f"NB101 file {self.path} has no results for module hash {cell_hash!r}")
        return row

    def hashes(self) -> "HashView":
        """Every module hash in the file (a set view: iteration in sorted order, ``in`` by binary search)."""
        return HashView(self)

    def __len__(self) -> int:
        return len(self._hashes)

    def cell(self, cell_hash: str) -> tuple[tuple[tuple[int, ...], ...], tuple[str, ...]]:
        """The pruned cell as the file records it: (matrix as a tuple of rows, op labels)."""
        row = self.row(cell_hash)
        dim = int(self._arrays["vertices"][row])
        matrix = tuple(tuple(int(v) for v in line[:dim]) for line in self._arrays["matrices"][row, :dim])
        return matrix, tuple(OP_NAMES[int(code)] for code in self._arrays["ops"][row, :dim])

    def trainable_parameters(self, cell_hash: str) -> int:
        return int(self._arrays["parameters"][self.row(cell_hash)])

    def _level_of(self, epochs: int) -> int:
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or int(epochs) not in self._level:
            raise UsageError(
                f"NB101 file {self.path.name} has results at {', '.join(map(str, self.epochs))} epochs, not {epochs!r}"
                + (" (with hb/bohb set searcher.args.min_budget: 4, eta: 3 for budgets 4/12/36/108)"
                   if len(self.epochs) > 1 else "")
            )
        return self._level[int(epochs)]

    def repeats(self, cell_hash: str, epochs: int) -> int:
        """How many repeats the file holds for (hash, epochs)."""
        return int(self._arrays["repeats"][self.row(cell_hash), self._level_of(epochs)])

    def record(self, cell_hash: str, epochs: int, repeat: int) -> dict[str, float]:
        """One repeat's numbers as the file holds them (accuracies as fractions, times in seconds)."""
        row, level = self.row(cell_hash), self._level_of(epochs)
        count = int(self._arrays["repeats"][row, level])
        if not 0 <= repeat < count:
            raise UnknownCell(f"NB101 file {self.path} has {count} repeats of {cell_hash} at {epochs} epochs, "
                              f"not repeat {repeat}")
        return {name: float(self._arrays[name][row, level, repeat]) for name in RECORD_COLUMNS}

    # -- the protocol's queries -------------------------------------------------------------
    def query(self, cell_hash: str, epochs: int | None, rng: np.random.Generator) -> Evaluation:
        """One repeat (drawn with ``rng``) after ``epochs`` (default ``max_epochs``): validation accuracy in
        percent, and that repeat's training seconds."""
        epochs = self.max_epochs if epochs is None else epochs
        row, level = self.row(cell_hash), self._level_of(epochs)
        count = int(self._arrays["repeats"][row, level])
        if count == 0:
            raise UnknownCell(f"NB101 file {self.path} has no {epochs}-epoch results for module hash {cell_hash}")
        repeat = int(rng.integers(count))
        return Evaluation(
            fitness=100.0 * float(self._arrays["final_validation_accuracy"][row, level, repeat]),
            cost_seconds=float(self._arrays["final_training_time"][row, level, repeat]),
            extras={"epochs": float(epochs), "repeat": float(repeat)},
        )

    def final_metrics(self, cell_hash: str) -> dict[str, float]:
        """Repeat means at ``max_epochs`` (108): validation and test accuracy in percent."""
        row, level = self.row(cell_hash), self._level[self.max_epochs]
        count = int(self._arrays["repeats"][row, level])
        if count == 0:
            raise UnknownCell(f"NB101 file {self.path} has no {self.max_epochs}-epoch results for module hash {cell_hash}")
        valid = self._arrays["final_validation_accuracy"][row, level, :count]
        test = self._arrays["final_test_accuracy"][row, level, :count]
        return {"cifar10_valid": 100.0 * float(np.mean(valid)), "cifar10_test": 100.0 * float(np.mean(test))}
