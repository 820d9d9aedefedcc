"""Whole-space proxy tables: score every architecture of a space once, resumably.

Each score is committed to the SQLite :class:`ScoreCache` by the worker that computed it,
so a job killed at any moment keeps every finished score, and a restart computes only what
is missing. Scores already in a packaged table for the same key count as done too (they are
merged into the cache first), so a partial table committed on one machine carries its
progress to another. Every score comes from :meth:`ProxyScorer.compute`, the method a live
search uses, so a packaged score equals the score a search would have computed: same
network init per (arch, seed), same batch, same CPU-seconds measure.

Architectures are computed in a fixed pseudo-random order (not index order), so a partial
table is a uniform sample of the space, and ``--limit N`` always means the same N archs.

:func:`compute_scores` is the one scoring path (``nasearch correlate`` uses it too): the
workers of an :class:`nasearch.executor.Executor`, one torch thread each, or one per GPU.
"""
from __future__ import annotations

import datetime
import os
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from nasearch.errors import UsageError
from nasearch.executor import Executor, make_executor
from nasearch.proxies.data import DataSource
from nasearch.proxies.store import TABLES_DIR, ScoreCache, ScoreKey, ScoreRecord, read_table, table_paths, write_table

#: Fixed seed of the computation order; independent of the proxy seed so that tables of
#: different batch sizes and seeds cover the same architectures first.
ORDER_SEED = 201
SECONDS_MEANING = (
    "CPU seconds (time.process_time delta) of building the network at its seeded init and "
    "computing the proxy on the batch, one torch thread per worker process; data loading excluded"
)
GPU_SECONDS_MEANING = (
    "GPU seconds (wall time between two torch.cuda.synchronize calls) of building the network at its "
    "seeded init on the CPU, moving it to the GPU and computing the proxy there, one worker process per GPU; "
    "data loading excluded"
)


@dataclass(frozen=True)
class PrecomputeJob:
    """What to compute: picklable, so that spawned workers rebuild everything from it."""

    #: as config's ``space:`` (workers load it); or a loaded space, for an in-process or picklable one
    space: Any = field(default_factory=lambda: {"name": "nb201"})
    proxy: str = "gradsign"
    dataset: str = "cifar10"
    batch_size: int = 128
    seed: int = 0
    data: DataSource = field(default_factory=DataSource)
    cache_dir: str | None = None
    options: tuple[tuple[str, Any], ...] = ()
    device: str = "cpu"  # "cpu" or "cuda:N"; with several GPUs each worker gets its own (see precompute)

    def full_options(self) -> dict:
        """The proxy's options with this job's overrides: part of a table's provenance."""
        from nasearch.proxies.registry import get_proxy

        return {**get_proxy(self.proxy).options, **dict(self.options)}

    def scorer_spec(self):
        """The one scorer spec (no tables: precompute computes, and writes the cache itself)."""
        from nasearch.proxies.scorer import ScorerSpec

        return ScorerSpec(self.proxy, self.dataset, self.batch_size, (self.seed,), tuple(self.options), tables=False,
                          device=self.device)

    def scorer(self, space: Any = None):
        """A scorer that always computes (no tables, no cache): the cache is written here."""
        from nasearch.loading import load_space

        if space is None:
            space = load_space(self.space) if isinstance(self.space, dict) else self.space
        return self.scorer_spec().build(space, self.data, None)


@dataclass(frozen=True)
class PrecomputeResult:
    key: ScoreKey
    total: int  # architectures targeted (the space, or the first --limit of the order)
    done_before: int
    computed: int
    cpu_seconds: float  # sum of the newly computed scores' seconds

    @property
    def done(self) -> int:
        return self.done_before + self.computed


def computation_order(space: Any) -> list[str]:
    """Every arch id of ``space`` in the fixed pseudo-random order of computation."""
    all_archs = getattr(space, "all_archs", None)
    if not callable(all_archs):
        raise UsageError(
            f"space {space.name!r} cannot enumerate its architectures: precompute needs an all_archs() method"
        )
    ids = [space.arch_id(arch) for arch in all_archs()]
    permutation = np.random.default_rng(ORDER_SEED).permutation(len(ids))
    return [ids[i] for i in permutation]


def merge_packaged_table(scorer: Any, cache: ScoreCache, job: PrecomputeJob, directory: Path = TABLES_DIR) -> int:
    """Copy a packaged table's scores into the cache (first write wins); returns rows read."""
    key = scorer.key
    found = read_table(key, directory)
    if found is None:
        return 0
    table, metadata = found
    from nasearch.proxies.scorer import same_data

    expected = scorer.data_label() if scorer.spec.needs_data and job.data.available else None
    stored = next(iter(table.values())).data if table else metadata.get("data", "")
    if (expected is not None and not same_data(stored, expected)) or metadata.get("options", {}) != job.full_options():
        raise UsageError(
            f"packaged table {table_paths(key, directory)[0]} was computed with data {metadata.get('data')!r} and "
            f"options {metadata.get('options')}, this job uses {expected!r} and {job.full_options()}; "
            "use the same --data/--option or move the table away"
        )
    for arch_id, record in table.items():
        cache.put(key, arch_id, record)
    return len(table)


# -- workers ---------------------------------------------------------------------------------
_WORKER: dict[str, Any] = {}


def _init_worker(job: PrecomputeJob, device: str | None = None) -> None:
    """Once per worker process and job: its scorer and its own cache connection.
    ``device``: this worker's own, when the executor runs one worker per GPU."""
    if device is not None:
        from dataclasses import replace

        job = replace(job, device=device)
    _WORKER.update(scorer=job.scorer(), cache=ScoreCache(job.cache_dir))


def _compute_one(arch_id: str) -> tuple[str, float]:
    """Score one arch and commit it before returning: a kill after this loses nothing."""
    scorer, cache = _WORKER["scorer"], _WORKER["cache"]
    record = scorer.compute(scorer.space.from_id(arch_id))
    cache.put(scorer.key, arch_id, record)
    return arch_id, record.seconds


def compute_scores(job: PrecomputeJob, arch_ids: list[str], executor: Executor) -> Iterator[tuple[str, float]]:
    """Compute ``job``'s score of each arch with :meth:`ProxyScorer.compute` and commit it to the
    job's cache, in ``executor``'s workers; yield ``(arch_id, seconds)`` as each is committed."""
    try:
        yield from executor.map_unordered(_compute_one, arch_ids, init=_init_worker, init_args=(job,))
    finally:
        _WORKER.clear()  # an in-process executor ran here: drop the scorer and its connection


def precompute(
    job: PrecomputeJob,
    workers: int = 1,
    limit: int | None = None,
    progress: bool = True,
    tables_dir: Path = TABLES_DIR,
    devices: list[str] | None = None,
    backend: str = "local",
    ray_address: str | None = None,
) -> PrecomputeResult:
    """Compute every missing score of the space (or of the first ``limit`` archs of the order).

    ``devices`` (e.g. every visible GPU) runs one worker per device instead of ``workers``
    CPU workers; which worker computes which arch changes nothing in the scores (each is
    built from its own seed), and a killed job resumes from the cache as on the CPU.
    """
    if devices:
        from dataclasses import replace

        job, workers = replace(job, device=devices[0]), len(devices)
    if workers < 1:
        raise UsageError(f"--workers must be >= 1, got {workers}")
    if limit is not None and limit < 0:
        raise UsageError(f"--limit must be >= 0, got {limit}")
    scorer = job.scorer()  # validates proxy, dataset, batch size and options before any work
    if scorer.spec.needs_data and not getattr(scorer, "space_data", False) and not job.data.available:
        raise UsageError("this proxy needs images: give --data PATH.npz (or set $NASEARCH_CIFAR10_NPZ)")
    key = scorer.key
    cache = ScoreCache(job.cache_dir)
    merge_packaged_table(scorer, cache, job, tables_dir)
    order = computation_order(scorer.space)
    targets = order if limit is None else order[:limit]
    done = {arch_id for arch_id, _ in cache.items(key)}
    todo = [arch_id for arch_id in targets if arch_id not in done]
    done_before = len(targets) - len(todo)
    if todo:
        scorer.check_data()  # fail on bad data here, with a usage error, not inside a worker
    computed, cpu_seconds = 0, 0.0
    if todo:
        from tqdm import tqdm

        executor = make_executor(backend, workers, ray_address=ray_address,
                                 devices=devices if devices and len(devices) > 1 else None)
        bar = tqdm(total=len(targets), initial=done_before, unit="arch", disable=not progress, smoothing=0.05,
                   desc=f"{key.proxy} b{key.batch_size} s{key.seed}")
        with bar, executor:
            for _, seconds in compute_scores(job, todo, executor):
                computed += 1
                cpu_seconds += seconds
                bar.update(1)
                bar.set_postfix(cpu_s_per_arch=f"{cpu_seconds / computed:.2f}", refresh=False)
    return PrecomputeResult(key, len(targets), done_before, computed, cpu_seconds)


# -- export ----------------------------------------------------------------------------------
def _count_images(data: DataSource) -> int | None:
    if not data.npz or not Path(data.npz).is_file():
        return None
    from nasearch.proxies.data import _read_npz

    return int(len(_read_npz(Path(data.npz))[1]))  # a damaged npz is a one-line error, never unpickled


def _cpu_model() -> str:
    """The CPU's marketing name where Linux tells it (platform.processor() often says only x86_64)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def table_metadata(job: PrecomputeJob, key: ScoreKey, records: list[ScoreRecord], space_size: int, data: str) -> dict:
    """Provenance of a table: everything needed to reproduce or judge it, but not the data."""
    import torch

    name, _, digest = data.partition("#")
    return {
        "data": name,
        "data_digest": digest or None,
        "data_images": _count_images(job.data) if name == job.data.describe() else None,
        "batch_size": key.batch_size,
        "seed": key.seed,
        "options": job.full_options(),
        "mode": job.full_options().get("per_sample", "n/a"),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "hardware": "; ".join(sorted({record.hardware for record in records})),
        "cpu": f"{_cpu_model()}, {os.cpu_count()} logical cores",
        "seconds": GPU_SECONDS_MEANING if any("gpu seconds" in r.hardware for r in records) else SECONDS_MEANING,
        "space_size": space_size,
        "complete": len(records) == space_size,
        "order_seed": ORDER_SEED,
        "exported": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "init": "PyTorch default init after torch.manual_seed(seed), per architecture",
    }


def export_table(job: PrecomputeJob, tables_dir: Path = TABLES_DIR) -> tuple[Path, int]:
    """Write the packaged table of every score computed so far (atomically); returns (path, rows)."""
    scorer = job.scorer()
    key = scorer.key
    cache = ScoreCache(job.cache_dir)
    merge_packaged_table(scorer, cache, job, tables_dir)
    rows = list(cache.items(key))
    if not rows:
        raise UsageError(f"no scores for {key.table_stem()} in the cache {cache.path}; run precompute first")
    from nasearch.proxies.scorer import same_data

    expected = scorer.data_label() if (not scorer.spec.needs_data or job.data.available) else rows[0][1].data
    foreign = sorted({record.data for _, record in rows if not same_data(record.data, expected)})
    if foreign:
        raise UsageError(
            f"the cache {cache.path} holds {key.table_stem()} scores computed on {foreign}, not {expected!r}; "
            "export from a cache of one data source (--cache-dir)"
        )
    space_size = len(computation_order(scorer.space))
    metadata = table_metadata(job, key, [record for _, record in rows], space_size, expected)
    return write_table(key, rows, metadata, tables_dir), len(rows)
