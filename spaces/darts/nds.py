"""A reader for the NDS sweep files (Radosavovic et al., "On Network Design Spaces for Visual Recognition").

NDS publishes one JSON file per sweep (``data.zip`` of facebookresearch/nds): ``DARTS.json``,
``Amoeba.json``, ``ENAS.json``, ``NASNet.json``, ``PNAS.json`` (CIFAR-10), their fixed
width/depth variants (``*_fix-w-d.json``), the learning-rate/weight-decay sweep
(``DARTS_lr-wd.json``) and the ImageNet sweeps (``*_in.json``). A file is a JSON list of job
records (some files instead hold ``{"top": [...], "mid": [...]}``, read as ``top + mid``); a
cell-space record reads::

    {"job_id": ..., "rng_seed": 1,
     "net": {"genotype": {"normal": [[op, input], ...], "normal_concat": [...],
                          "reduce": [[op, input], ...], "reduce_concat": [...]},
             "width": 32, "depth": 12, "aux": false, "drop_prob": 0.0},
     "optim": {"base_lr": 0.1, "wd": 0.0005, "max_ep": 100, ...},
     "params": 4190314, "flops": 664400586, "iter_time": 0.281, "prec_time": {...},
     "min_test_top1": 6.63, "test_ep_top1": [...per epoch, top-1 *error* %...],
     "train_ep_top1": [...], "train_ep_loss": [...], "train_it_loss": [...], ...}

(the layout pycls writes and NNI's ``nds`` database generator reads). Only what a search
needs is kept, in a compact :class:`Record` per job; the full file is parsed once and the
compact index cached under ``$NASEARCH_CACHE_DIR/nds/`` (else ``~/.cache/nasearch/nds/``),
keyed by the file's SHA-256, so a second process (every worker) reads a few hundred kB
instead of the sweep's tens of MB. A file that is not JSON, is truncated, or holds a record
without what is needed is refused in one line naming the record.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from nasearch.errors import UsageError

#: the index format; bump when Record changes so stale caches are ignored
INDEX_VERSION = 2
#: CIFAR-10 training images per epoch (pycls trains on the full 50,000-image train split)
CIFAR10_TRAIN_IMAGES = 50_000
#: pycls's TRAIN.BATCH_SIZE for the CIFAR NDS sweeps (configs/archive/cifar/*_nds_1gpu.yaml)
NDS_TRAIN_BATCH = 128

Cell = tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Record:
    """One trained network of a sweep file, as the search needs it."""

    index: int  # position in the file (top + mid for split files)
    normal: Cell
    normal_concat: tuple[int, ...]
    reduce: Cell
    reduce_concat: tuple[int, ...]
    width: int
    depth: int
    aux: bool
    params: int
    flops: float | None
    test_top1_error: tuple[float, ...]  # per epoch, top-1 error in %
    min_test_top1_error: float | None
    iter_time: float | None  # seconds per training iteration, as pycls measured it
    epochs: int  # optim.max_ep, else the length of test_ep_top1
    rng_seed: int | None
    train_loss: tuple[float, ...] = ()  # train_ep_loss per epoch (NaN where the file has NaN/null), () if absent

    @property
    def test_accuracy(self) -> float:
        """The final (last-epoch) test top-1 accuracy in %: ``100 - test_ep_top1[-1]``."""
        return 100.0 - self.test_top1_error[-1]

    @property
    def best_test_accuracy(self) -> float:
        return 100.0 - (self.min_test_top1_error if self.min_test_top1_error is not None else min(self.test_top1_error))

    def training_seconds(self, batch_size: int = NDS_TRAIN_BATCH, epochs: int | None = None) -> float | None:
        """``iter_time`` x iterations of the whole schedule (or of its first ``epochs`` epochs), or None
        when the record has no iter_time."""
        if self.iter_time is None:
            return None
        return self.iter_time * (self.epochs if epochs is None else epochs) * math.ceil(CIFAR10_TRAIN_IMAGES / batch_size)

    def genotype_json(self) -> dict:
        """The record's genotype as NDS writes it (lists of ``[op, input]``)."""
        return {"normal": [list(p) for p in self.normal], "normal_concat": list(self.normal_concat),
                "reduce": [list(p) for p in self.reduce], "reduce_concat": list(self.reduce_concat)}


# -- parsing --------------------------------------------------------------------------------
def _where(path: Path, index: int) -> str:
    return f"{path.name} record {index}"


def _number(value: Any, what: str, where: str, integer: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise UsageError(f"{where}: {what} is {value!r}, not a finite number; the file is not an NDS sweep or is damaged")
    if integer and float(value) != int(value):
        raise UsageError(f"{where}: {what} is {value!r}, not a whole number")
    return value


def _cell(value: Any, what: str, where: str) -> Cell:
    if not isinstance(value, list) or not value or len(value) % 2:
        raise UsageError(f"{where}: net.genotype.{what} must be a non-empty list of [op, input] pairs, two per node;"
                         f" got {str(value)[:80]}")
    out = []
    for pair in value:
        if (not isinstance(pair, (list, tuple)) or len(pair) != 2 or not isinstance(pair[0], str)
                or isinstance(pair[1], bool) or not isinstance(pair[1], int)):
            raise UsageError(f"{where}: net.genotype.{what} holds {pair!r}, not an [op, input] pair")
        out.append((pair[0], int(pair[1])))
    return tuple(out)


def _concat(value: Any, what: str, where: str) -> tuple[int, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise UsageError(f"{where}: net.genotype.{what} must be a non-empty list of node numbers, got {str(value)[:80]}")
    return tuple(int(v) for v in value)


def parse_record(job: Any, index: int, path: Path) -> Record:
    """One job of a sweep file as a :class:`Record`; a one-line UsageError for anything missing or malformed."""
    where = _where(path, index)
    if not isinstance(job, dict):
        raise UsageError(f"{where} is a {type(job).__name__}, not a job object; the file is not an NDS sweep")
    net = job.get("net")
    if not isinstance(net, dict) or not isinstance(net.get("genotype"), dict):
        kind = "a ResNet/AnyNet record (no net.genotype)" if isinstance(net, dict) else "no 'net' object"
        raise UsageError(f"{where} has {kind}; the nds space reads the cell sweeps (DARTS, Amoeba, ENAS, NASNet, PNAS)")
    genotype = net["genotype"]
    missing = [k for k in ("normal", "normal_concat", "reduce", "reduce_concat") if k not in genotype]
    if missing:
        raise UsageError(f"{where}: net.genotype lacks {missing}")
    for key in ("width", "depth"):
        if key not in net:
            raise UsageError(f"{where}: net has no {key!r}")
    if "params" not in job:
        raise UsageError(f"{where} has no 'params'")
    curve = job.get("test_ep_top1")
    if not isinstance(curve, list) or not curve:
        raise UsageError(f"{where}: test_ep_top1 must be a non-empty per-epoch list, got {str(curve)[:60]}")
    errors = tuple(float(_number(v, f"test_ep_top1[{i}]", where)) for i, v in enumerate(curve))
    if not all(0.0 <= e <= 100.0 for e in errors):
        raise UsageError(f"{where}: test_ep_top1 holds values outside 0..100 (top-1 error in %)")
    width = int(_number(net["width"], "net.width", where, integer=True))
    depth = int(_number(net["depth"], "net.depth", where, integer=True))
    if width < 1 or depth < 1:
        raise UsageError(f"{where}: net.width {width} / net.depth {depth} must be positive")
    optim = job.get("optim") if isinstance(job.get("optim"), dict) else {}
    epochs = optim.get("max_ep", len(errors))
    epochs = int(_number(epochs, "optim.max_ep", where, integer=True))
    iter_time = job.get("iter_time")
    iter_time = None if iter_time is None else float(_number(iter_time, "iter_time", where))
    flops = job.get("flops")
    flops = None if flops is None else float(_number(flops, "flops", where))
    best = job.get("min_test_top1")
    best = None if best is None else float(_number(best, "min_test_top1", where))
    seed = job.get("rng_seed")
    losses = job.get("train_ep_loss")
    train_loss = tuple(float("nan") if v is None else float(v) for v in losses) if isinstance(losses, list) and all(
        v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in losses) else ()
    return Record(
        index=index,
        normal=_cell(genotype["normal"], "normal", where),
        normal_concat=_concat(genotype["normal_concat"], "normal_concat", where),
        reduce=_cell(genotype["reduce"], "reduce", where),
        reduce_concat=_concat(genotype["reduce_concat"], "reduce_concat", where),
        width=width, depth=depth, aux=bool(net.get("aux", False)),
        params=int(_number(job["params"], "params", where, integer=True)),
        flops=flops, test_top1_error=errors, min_test_top1_error=best, iter_time=iter_time, epochs=epochs,
        rng_seed=int(seed) if isinstance(seed, int) and not isinstance(seed, bool) else None,
        train_loss=train_loss,
    )


def jobs_of(data: Any, path: Path) -> list:
    """The job list of a parsed sweep file: the list itself, or ``top + mid`` of a split file."""
    if isinstance(data, list):
        return data
    if isinstance(data, dict) and isinstance(data.get("top"), list) and isinstance(data.get("mid"), list):
        return data["top"] + data["mid"]
    raise UsageError(f"{path.name}: an NDS sweep is a JSON list of job records (or {{'top': [...], 'mid': [...]}}),"
                     f" not a {type(data).__name__}")


# -- the compact index ----------------------------------------------------------------------
def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def index_dir() -> Path:
    """Where compact indexes go: ``$NASEARCH_CACHE_DIR/nds`` or ``~/.cache/nasearch/nds``."""
    root = os.environ.get("NASEARCH_CACHE_DIR")
    return (Path(root) if root else Path.home() / ".cache" / "nasearch") / "nds"


def _to_json(record: Record) -> list:
    return [record.index, record.genotype_json(), record.width, record.depth, record.aux, record.params, record.flops,
            list(record.test_top1_error), record.min_test_top1_error, record.iter_time, record.epochs, record.rng_seed,
            [None if math.isnan(v) else v for v in record.train_loss]]


def _from_json(row: list) -> Record:
    index, genotype, width, depth, aux, params, flops, errors, best, iter_time, epochs, seed, losses = row
    return Record(index, tuple((op, int(i)) for op, i in genotype["normal"]), tuple(genotype["normal_concat"]),
                  tuple((op, int(i)) for op, i in genotype["reduce"]), tuple(genotype["reduce_concat"]),
                  width, depth, aux, params, flops, tuple(errors), best, iter_time, epochs, seed,
                  tuple(float("nan") if v is None else float(v) for v in losses))


_LOADED: dict[tuple[str, int, int], tuple[str, list[Record]]] = {}


def read_sweep(path: str | os.PathLike, use_index: bool = True) -> tuple[str, list[Record]]:
    """``(sha256 of the file, its records)``; parsed once per process, and through the compact
    index on disk when one exists for this file's digest (written after the first parse)."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise UsageError(f"space.args.path: NDS sweep {str(file)!r} not found; download data.zip from"
                         " facebookresearch/nds (dl.fbaipublicfiles.com/nds/data.zip) and point path at e.g. DARTS.json")
    stat = file.stat()
    key = (str(file.resolve()), stat.st_size, stat.st_mtime_ns)
    if key in _LOADED:
        return _LOADED[key]
    digest = file_digest(file)
    cached = index_dir() / f"{digest}.v{INDEX_VERSION}.json"
    records = None
    if use_index and cached.is_file():
        try:
            records = [_from_json(row) for row in json.loads(cached.read_text())]
        except (ValueError, TypeError, KeyError, OSError):
            records = None  # a damaged index is rebuilt from the file
    if records is None:
        try:
            with file.open("rb") as handle:
                data = json.load(handle)
        except UnicodeDecodeError as exc:
            raise UsageError(f"{file.name} is not UTF-8 JSON (byte {exc.start}); is it the zip instead of the extracted file?") from None
        except json.JSONDecodeError as exc:
            raise UsageError(f"{file.name} is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno});"
                             " the file is truncated or damaged, extract it again from data.zip") from None
        jobs = jobs_of(data, file)
        if not jobs:
            raise UsageError(f"{file.name} holds no records")
        records = [parse_record(job, i, file) for i, job in enumerate(jobs)]
        if use_index:
            try:
                cached.parent.mkdir(parents=True, exist_ok=True)
                temporary = cached.with_suffix(f".{os.getpid()}.tmp")
                temporary.write_text(json.dumps([_to_json(r) for r in records]))
                temporary.replace(cached)
            except OSError:
                pass  # an unwritable cache only costs the next process a full parse
    _LOADED[key] = (digest, records)
    return digest, records


def design_of(path: str | os.PathLike) -> str | None:
    """The design an NDS file name announces (``DARTS_fix-w-d.json`` -> ``darts``), or None."""
    stem = Path(path).name.split(".")[0].split("_")[0].lower()
    return {"darts": "darts", "amoeba": "amoeba", "enas": "enas", "nasnet": "nasnet", "pnas": "pnas"}.get(stem)


def variant_of(path: str | os.PathLike) -> str:
    """``random`` (the plain sweep), ``fix-w-d``, ``lr-wd`` or ``in`` (ImageNet), from the file name."""
    name = Path(path).name.split(".")[0]
    for tag in ("fix-w-d", "lr-wd"):
        if tag in name:
            return tag
    return "in" if name.endswith("_in") else "random"


def records_by_genotype(records: Sequence[Record]) -> dict[tuple, list[int]]:
    """(normal, normal_concat, reduce, reduce_concat, width, depth) -> record positions."""
    out: dict[tuple, list[int]] = {}
    for position, r in enumerate(records):
        out.setdefault((r.normal, r.normal_concat, r.reduce, r.reduce_concat, r.width, r.depth), []).append(position)
    return out
