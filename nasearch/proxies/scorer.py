"""Scores architectures with a proxy, looking in every store before computing.

A scorer is built from one :class:`ScorerSpec` (proxy, dataset, batch size, seeds, options,
tables, device), the same way in the hook, ``nasearch correlate`` and ``nasearch precompute``.
Order of lookup: this process's memo, a packaged table with the same key, the persistent
cache, and only then a live computation on a real network at PyTorch default init (whose
score and seconds are written back to the cache).

Which images a score was computed on is part of its record (``data``: the source's name and
a digest of the batch's pixels and labels, :func:`nasearch.proxies.data.batch_digest`), and
a scorer refuses, in one line, to mix scores of two different batches under one key: scores
of the 4,660-image CIFAR-10 sample (the packaged tables) and of full CIFAR-10 never meet
silently. Data-free proxies (``needs_data=False``: params, flops, synflow, random) are keyed
without a batch size (0), since none is involved.
"""
from __future__ import annotations

import functools
import platform
from dataclasses import dataclass
from typing import Any, Iterable

from nasearch.errors import UsageError
from nasearch.proxies.data import DataSource, batch_digest, load_batch
from nasearch.proxies.registry import ProxySpec, get_proxy, key_name
from nasearch.proxies.store import ScoreCache, ScoreKey, ScoreRecord, read_table

NUM_CLASSES = {"cifar10": 10, "cifar100": 100, "ImageNet16-120": 120}
PROXY_DATASETS = ("cifar10",)
#: the key's dataset when the space supplies the proxy batch itself
SPACE_DATASET = "space"


#: torch threads of every live CPU score (its measured seconds are charged to the clock)
MEASURE_THREADS = 1


def hardware_tag() -> str:
    import torch

    return f"{platform.processor() or platform.machine()} cpu x{torch.get_num_threads()} threads, torch {torch.__version__}"


@dataclass(frozen=True)
class ScorerSpec:
    """Everything that decides which score an architecture gets: one spec, one way to build a scorer.

    ``seeds`` with more than one entry averages the proxy over that many initialisations
    (and batches); the seconds charged are the sum. ``device`` is where the proxy runs
    (the key does not depend on it).
    """

    proxy: str
    dataset: str = "cifar10"
    batch_size: int = 128
    seeds: tuple[int, ...] = (0,)
    options: tuple[tuple[str, Any], ...] = ()
    tables: bool = True
    device: str = "cpu"

    def __post_init__(self) -> None:
        if isinstance(self.options, dict):
            object.__setattr__(self, "options", tuple(sorted(self.options.items())))
        object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))
        if not self.seeds:
            raise UsageError("hook.seeds: give at least one seed, e.g. [0, 1, 2]")

    @classmethod
    def from_hook(cls, hook: Any) -> "ScorerSpec":
        """The spec of a config's ``hook:`` section (:class:`nasearch.config.HookConfig`)."""
        seeds = tuple(hook.seeds) if getattr(hook, "seeds", None) else (hook.seed,)
        return cls(hook.proxy, hook.dataset, hook.batch_size, seeds, tuple(sorted(dict(hook.options).items())),
                   hook.tables, getattr(hook, "device", "cpu"))

    @property
    def seed(self) -> int:
        return self.seeds[0]

    def build(self, space: Any, data: DataSource | None = None, cache: ScoreCache | None = None) -> "ProxyScorer":
        """A scorer for ``space``: one seed's :class:`ProxyScorer`, or their average over ``seeds``."""
        scorers = [
            ProxyScorer(space, self.proxy, self.dataset, self.batch_size, seed, data=data, cache=cache,
                        options=dict(self.options), use_tables=self.tables, device=self.device)
            for seed in self.seeds
        ]
        return scorers[0] if len(scorers) == 1 else SeedAveragedScorer(scorers)


def _data_name(label: str) -> str:
    return label.split("#", 1)[0]


def _data_digest(label: str) -> str | None:
    return label.split("#", 1)[1] if "#" in label else None


def same_data(a: str, b: str) -> bool:
    """Whether two records' ``data`` labels name the same images (digests when both have one)."""
    if a == b or "none" in (a, b):
        return True
    digest_a, digest_b = _data_digest(a), _data_digest(b)
    if digest_a and digest_b:
        return digest_a == digest_b
    return _data_name(a) == _data_name(b)


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
        batch_seed: int | None = None,
    ) -> None:
        """``seed`` seeds every network's initialisation and, unless ``batch_seed`` is given, the
        draw of the proxy batch; a ``batch_seed`` different from ``seed`` decouples the two (the
        key's proxy name then says ``[batch_seed=N]``, so such scores never share a key with the
        usual ones)."""
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
        self.spec.check_options(options)  # names and values, before any score (a table's included)
        self.options = {**self.spec.options, **(options or {})}
        # data-free proxies (synflow, flops) take an input shape: a space with its own data
        # gets its own shape unless the user set one
        self._shape_from_space = self.space_data and "input_shape" in self.spec.options and "input_shape" not in (options or {})
        self.num_classes = int(getattr(space, "num_classes", 10)) if self.space_data else NUM_CLASSES[dataset]
        self.batch_size = int(batch_size)
        key_batch = self.batch_size if self.spec.needs_data else 0  # no batch, no batch size in the key
        self.batch_seed = int(seed) if batch_seed is None or not self.spec.needs_data else int(batch_seed)
        name = key_name(self.spec, options)
        if self.batch_seed != int(seed):
            name += f"[batch_seed={self.batch_seed}]"
        self.key = ScoreKey(f"{space.name}@{space.version}", name, dataset, key_batch, int(seed))
        self.data = data or DataSource()
        self.cache = cache
        self._memo: dict[str, ScoreRecord] = {}
        found = read_table(self.key) if use_tables else None
        self._table: dict[str, ScoreRecord] = found[0] if found else {}
        self.live_computations = 0
        self._space_batch = None
        self._data_seen: str | None = None  # the data label of the scores this scorer has handed out

    @property
    def higher_is_better(self) -> bool:
        return self.spec.higher_is_better

    # -- the public view of what is stored ---------------------------------------------------
    def stored(self, arch_id: str) -> bool:
        """Whether a score for ``arch_id`` exists without computing (memo, table, the space's own or cache)."""
        return (arch_id in self._memo or arch_id in self._table
                or (self.space_scores and self.space.proxy_score(self.spec.name, self.space.from_id(arch_id)) is not None)
                or (self.cache is not None and self.cache.get(self.key, arch_id) is not None))

    def known_count(self) -> int:
        """How many architectures already have a score in this process (packaged or warmed)."""
        return len(self._table) + sum(1 for arch_id in self._memo if arch_id not in self._table)

    def warm(self) -> None:
        """Read every cached score of this key into the memo now (one query, not one per lookup).

        Archs a packaged table covers are skipped, since the table wins over the cache there;
        results are unchanged: the same records, read earlier.
        """
        if self.cache is None:
            return
        for arch_id, record in self.cache.items(self.key):
            if arch_id not in self._table:
                self._memo.setdefault(arch_id, record)

    def check_data(self) -> None:
        """Load the proxy batch now, so bad data fails here with a usage error, not in a worker."""
        if self.spec.needs_data:
            self._batch()

    # -- scoring ---------------------------------------------------------------------------
    def score(self, arch: Any) -> ScoreRecord:
        arch_id = self.space.arch_id(arch)
        record = self._memo.get(arch_id)
        if record is not None:
            return record
        record = self._table.get(arch_id)
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
        self._check_same_data(record)
        self._memo[arch_id] = record
        return record

    def _check_same_data(self, record: ScoreRecord) -> None:
        if not self.spec.needs_data or not record.data:
            return
        if self._data_seen is None:
            self._data_seen = record.data
        elif not same_data(self._data_seen, record.data):
            raise UsageError(
                f"proxy scores for {self.key.table_stem()} come from two different image sets ({self._data_seen!r} and "
                f"{record.data!r}); refusing to mix them: use the data the stored scores used, or hook.tables: false"
                " with a separate cache_dir"
            )

    def compute(self, arch: Any) -> ScoreRecord:
        """Compute live, timing only the proxy itself (network build and scoring).

        The seconds are this process's CPU seconds (``time.process_time``), not wall time:
        on a shared or niced machine wall time measures the contention, CPU time measures
        the proxy. ``nasearch precompute`` calls this same method, so live and packaged
        seconds mean the same thing. On the CPU a live score is always computed with
        :data:`MEASURE_THREADS` torch thread(s), whatever the process's own setting (the local
        pool and Ray already run one thread per worker; ``--workers 1`` runs in-process with
        torch's default), so the seconds a run is charged do not depend on the worker count;
        the record's hardware field says ``x1 threads``.

        On a GPU (``device: cuda``) the network is still built and initialised on the CPU
        under the seed, then moved with the batch; kernels are deterministic where torch has
        such kernels, and the seconds are GPU seconds: wall time between two
        ``cuda.synchronize`` calls. The hardware field names the GPU and that clock.
        """
        import torch

        inputs = labels = None
        if self.spec.needs_data:
            inputs, labels = self._device_batch()
        options = self.options
        if self._shape_from_space:
            options = {**options, "input_shape": tuple(self._batch()[0].shape[1:])}
        on_cpu = self.device == "cpu"
        threads = torch.get_num_threads()
        if on_cpu and threads != MEASURE_THREADS:
            torch.set_num_threads(MEASURE_THREADS)
        try:
            return self._compute_timed(arch, inputs, labels, options, on_cpu)
        finally:
            if on_cpu and threads != MEASURE_THREADS:
                torch.set_num_threads(threads)

    def _compute_timed(self, arch: Any, inputs: Any, labels: Any, options: dict, on_cpu: bool) -> ScoreRecord:
        import torch

        from nasearch.device import Stopwatch, deterministic, device_tag

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
        return ScoreRecord(value, seconds, hardware_tag() if on_cpu else device_tag(self.device), self.data_label())

    def data_label(self) -> str:
        """How a live score's ``data`` names its batch: ``none``, ``space:NAME`` or ``SOURCE#DIGEST``."""
        if not self.spec.needs_data:
            return "none"
        if self.space_data:
            return f"space:{self.space.name}"
        return f"{self.data.describe()}#{_cached_digest(self.data, self.batch_size, self.batch_seed)}"

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
                self._space_batch = self.space.proxy_batch(self.batch_size, self.batch_seed)
            return self._space_batch
        return _cached_batch(self.data, self.batch_size, self.batch_seed)


class SeedAveragedScorer:
    """The mean of one proxy over several seeds (initialisations and batches); seconds add up."""

    def __init__(self, scorers: Iterable[ProxyScorer]) -> None:
        self.scorers = list(scorers)
        first = self.scorers[0]
        self.space, self.spec, self.key = first.space, first.spec, first.key

    @property
    def higher_is_better(self) -> bool:
        return self.spec.higher_is_better

    def score(self, arch: Any) -> ScoreRecord:
        records = [scorer.score(arch) for scorer in self.scorers]
        hardware = "; ".join(sorted({r.hardware for r in records}))
        data = records[0].data
        return ScoreRecord(sum(r.score for r in records) / len(records), sum(r.seconds for r in records), hardware, data)

    def stored(self, arch_id: str) -> bool:
        return all(scorer.stored(arch_id) for scorer in self.scorers)

    def known_count(self) -> int:
        return min(scorer.known_count() for scorer in self.scorers)

    def warm(self) -> None:
        for scorer in self.scorers:
            scorer.warm()

    def check_data(self) -> None:
        for scorer in self.scorers:
            scorer.check_data()


@functools.lru_cache(maxsize=8)
def _cached_batch(data: DataSource, batch_size: int, seed: int):
    return load_batch(data, batch_size, seed)


@functools.lru_cache(maxsize=8)
def _cached_digest(data: DataSource, batch_size: int, seed: int) -> str:
    return batch_digest(*_cached_batch(data, batch_size, seed))
