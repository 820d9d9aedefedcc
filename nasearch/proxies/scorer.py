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
#: the key's dataset when the space supplies the proxy batch itself
SPACE_DATASET = "space"


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
        device: str = "cpu",
    ) -> None:
        from nasearch.device import resolve_device

        #: "cpu" or "cuda:N"; validated here, before any run
        self.device = resolve_device(device, "hook.device")
        self.space = space
        self.spec: ProxySpec = get_proxy(proxy)
        # A space whose networks do not take CIFAR-10 images supplies its own proxy batch
        # (capability ``proxy_batch``); the key then names the space's data, not a dataset.
        self.space_data = callable(getattr(space, "proxy_batch", None))
        self.space_scores = callable(getattr(space, "proxy_score", None))
        if self.space_data:
            dataset = SPACE_DATASET
        elif dataset not in PROXY_DATASETS:
            raise UsageError(f"hook.dataset: proxy data for {dataset!r} is not supported; use one of {PROXY_DATASETS}")
        if batch_size < 1:
            raise UsageError(f"hook.batch_size must be >= 1, got {batch_size}")
        unknown = set(options or {}) - set(self.spec.options)
        if unknown:
            raise UsageError(
                f"hook.options: {sorted(unknown)} not known to proxy {proxy!r}; known: {sorted(self.spec.options)}"
            )
        self.options = {**self.spec.options, **(options or {})}
        # data-free proxies (synflow, flops) take an input shape: a space with its own data
        # gets its own shape unless the user set one
        self._shape_from_space = self.space_data and "input_shape" in self.spec.options and "input_shape" not in (options or {})
        self.num_classes = int(getattr(space, "num_classes", 10)) if self.space_data else NUM_CLASSES[dataset]
        self.key = ScoreKey(f"{space.name}@{space.version}", proxy, dataset, int(batch_size), int(seed))
        self.data = data or DataSource()
        self.cache = cache
        self._memo: dict[str, ScoreRecord] = {}
        found = read_table(self.key) if use_tables else None
        self.table: dict[str, ScoreRecord] = found[0] if found else {}
        self.live_computations = 0
        self._space_batch = None

    @property
    def higher_is_better(self) -> bool:
        return self.spec.higher_is_better

    @property
    def uniform_pick(self) -> bool:
        return self.spec.uniform_pick

    def score(self, arch: Any) -> ScoreRecord:
        arch_id = self.space.arch_id(arch)
        record = self._memo.get(arch_id) or self.table.get(arch_id)
        if record is None and self.space_scores:  # scores the space precomputed (e.g. a table's column)
            found = self.space.proxy_score(self.spec.name, arch)
            if found is not None:
                record = ScoreRecord(float(found[0]), float(found[1]), "precomputed", f"space:{self.space.name}")
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
        """Compute live, timing only the proxy itself (network build and scoring).

        The seconds are this process's CPU seconds (``time.process_time``), not wall time:
        on a shared or niced machine wall time measures the contention, CPU time measures
        the proxy. ``nasearch precompute`` calls this same method, so live and packaged
        seconds mean the same thing (with several torch threads they add up).

        On a GPU (``device: cuda``) the network is still built and initialised on the CPU
        under the seed, then moved with the batch; kernels are deterministic where torch has
        such kernels, and the seconds are GPU seconds: wall time between two
        ``cuda.synchronize`` calls. The hardware field names the GPU and that clock.
        """
        import torch

        from nasearch.device import Stopwatch, deterministic, device_tag

        inputs = labels = None
        if self.spec.needs_data:
            inputs, labels = self._device_batch()
        options = self.options
        if self._shape_from_space:
            options = {**options, "input_shape": tuple(self._batch()[0].shape[1:])}
        on_cpu = self.device == "cpu"
        watch = Stopwatch(self.device)
        watch.start()
        extra = {"arch_id": self.space.arch_id(arch), "seed": self.key.seed} if self.spec.needs_arch_id else {}
        with torch.random.fork_rng(devices=[]), deterministic(self.device):
            torch.manual_seed(self.key.seed)  # one theta_0 per (arch, seed): same init on every rerun
            network = self.space.build_network(arch, self.num_classes) if self.spec.needs_network else None
            if network is not None and not on_cpu:
                network = network.to(self.device)  # moved after the CPU init: the same theta_0
            value = self.spec.fn(network, inputs, labels, **extra, **options)
            value = float(value)  # a tensor result is waited for inside the timed span
        seconds = watch.stop()
        self.live_computations += 1
        data = "none"
        if self.spec.needs_data:
            data = f"space:{self.space.name}" if self.space_data else self.data.describe()
        return ScoreRecord(value, seconds, hardware_tag() if on_cpu else device_tag(self.device), data)

    def _device_batch(self):
        inputs, labels = self._batch()
        if self.device == "cpu":
            return inputs, labels
        moved = getattr(self, "_moved_batch", None)
        if moved is None or moved[0] is not inputs:
            moved = self._moved_batch = (inputs, inputs.to(self.device), labels.to(self.device))
        return moved[1], moved[2]

    def _batch(self):
        if self.space_data:
            if self._space_batch is None:
                self._space_batch = self.space.proxy_batch(self.key.batch_size, self.key.seed)
            return self._space_batch
        return _cached_batch(self.data, self.key.batch_size, self.key.seed)


@functools.lru_cache(maxsize=8)
def _cached_batch(data: DataSource, batch_size: int, seed: int):
    return load_batch(data, batch_size, seed)
