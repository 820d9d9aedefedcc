"""Scores architectures with a proxy, looking in every store before computing.

Order: this process's memo, a packaged table with the same key, the persistent cache, and
only then a live computation on a real network at PyTorch default init (whose score and
seconds are written back to the cache).
"""
from __future__ import annotations

import functools
import platform
import time
from typing import Any

from nasearch.errors import UsageError
from nasearch.proxies.data import DataSource, load_batch
from nasearch.proxies.registry import ProxySpec, get_proxy
from nasearch.proxies.store import ScoreCache, ScoreKey, ScoreRecord, read_table

NUM_CLASSES = {"cifar10": 10, "cifar100": 100, "ImageNet16-120": 120}
PROXY_DATASETS = ("cifar10",)


def hardware_tag() -> str:
    import torch

    return f"{platform.processor() or platform.machine()} cpu x{torch.get_num_threads()} threads, torch {torch.__version__}"


class ProxyScorer:
    """Scores for one (space, proxy, dataset, batch size, seed) key."""

    def __init__(
        self,
        space: Any,
        proxy: str,
        dataset: str = "cifar10",
        batch_size: int = 128,
        seed: int = 0,
        data: DataSource | None = None,
        cache: ScoreCache | None = None,
        options: dict | None = None,
        use_tables: bool = True,
    ) -> None:
        self.space = space
        self.spec: ProxySpec = get_proxy(proxy)
        if dataset not in PROXY_DATASETS:
            raise UsageError(f"hook.dataset: proxy data for {dataset!r} is not supported; use one of {PROXY_DATASETS}")
        if batch_size < 1:
            raise UsageError(f"hook.batch_size must be >= 1, got {batch_size}")
        unknown = set(options or {}) - set(self.spec.options)
        if unknown:
            raise UsageError(
                f"hook.options: {sorted(unknown)} not known to proxy {proxy!r}; known: {sorted(self.spec.options)}"
            )
        self.options = {**self.spec.options, **(options or {})}
        self.key = ScoreKey(f"{space.name}@{space.version}", proxy, dataset, int(batch_size), int(seed))
        self.data = data or DataSource()
        self.cache = cache
        self._memo: dict[str, ScoreRecord] = {}
        found = read_table(self.key) if use_tables else None
        self.table: dict[str, ScoreRecord] = found[0] if found else {}
        self.live_computations = 0

    @property
    def higher_is_better(self) -> bool:
        return self.spec.higher_is_better

    def score(self, arch: Any) -> ScoreRecord:
        arch_id = self.space.arch_id(arch)
        record = self._memo.get(arch_id) or self.table.get(arch_id)
        if record is None and self.cache is not None:
            record = self.cache.get(self.key, arch_id)
        if record is None:
            record = self.compute(arch)
            if self.cache is not None:
                self.cache.put(self.key, arch_id, record)
                record = self.cache.get(self.key, arch_id) or record  # another process may have won
        self._memo[arch_id] = record
        return record

    def compute(self, arch: Any) -> ScoreRecord:
        """Compute live, timing only the proxy itself (network build and scoring)."""
        import torch

        inputs = labels = None
        if self.spec.needs_data:
            inputs, labels = self._batch()
        started = time.perf_counter()
        extra = {"arch_id": self.space.arch_id(arch), "seed": self.key.seed} if self.spec.needs_arch_id else {}
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.key.seed)  # one theta_0 per (arch, seed): same init on every rerun
            network = self.space.build_network(arch, NUM_CLASSES[self.key.dataset]) if self.spec.needs_network else None
            value = self.spec.fn(network, inputs, labels, **extra, **self.options)
        seconds = time.perf_counter() - started
        self.live_computations += 1
        data = self.data.describe() if self.spec.needs_data else "none"
        return ScoreRecord(float(value), seconds, hardware_tag(), data)

    def _batch(self):
        return _cached_batch(self.data, self.key.batch_size, self.key.seed)


@functools.lru_cache(maxsize=8)
def _cached_batch(data: DataSource, batch_size: int, seed: int):
    return load_batch(data, batch_size, seed)
