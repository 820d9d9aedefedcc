"""Runs of one config as Ray tasks: the same runner, on one machine or a cluster.

Ray is an optional extra (``pip install .[ray]``). Ray only moves work; everything that
makes results trustworthy stays where it is: a run is a pure function of (config, index),
the parent process writes ``progress.jsonl``, and ``runs.jsonl`` is sorted at the end, so
results on Ray are byte-identical to local ones. Each Ray worker process builds the search
context once per config and reuses it for every run it is given.
"""
from __future__ import annotations

import os
from typing import Any, Iterator

from nasearch.config import SearchConfig
from nasearch.errors import UsageError

#: (config, context) of the last config this Ray worker process ran, reused across tasks
_cached: tuple[SearchConfig, Any] | None = None
ADDRESS_ENV = "NASEARCH_RAY_ADDRESS"


def _run_batch(config: SearchConfig, indices: list[int]) -> list[tuple[int, str]]:
    """Executed inside a Ray worker: several runs per task, to amortise Ray's per-task cost."""
    global _cached
    import sys

    from nasearch.results import encode_run
    from nasearch.runner import SearchContext, run_one

    if "torch" in sys.modules:  # the local pool's rule: one torch thread per worker
        sys.modules["torch"].set_num_threads(1)
    if _cached is None or _cached[0] != config:
        _cached = (config, SearchContext.build(config))
        _cached[1].preload()  # load lazily-read data and warm the score memo, as the local pool does
    context = _cached[1]
    return [(index, encode_run(run_one(context, index))) for index in indices]


def _import_ray():
    try:
        import ray
    except ImportError:
        raise UsageError("--backend ray needs Ray: pip install 'nasearch[ray]' (or pip install ray)") from None
    return ray


def ensure_ray(address: str | None = None, num_cpus: int | None = None) -> Any:
    """Connect to ``address`` (an existing cluster, e.g. ``ray://head:10001`` or ``auto``), else start a local Ray."""
    ray = _import_ray()
    if ray.is_initialized():
        return ray
    address = address or os.environ.get(ADDRESS_ENV)
    if address:
        ray.init(address=address, log_to_driver=False)
    else:
        ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)
    return ray


def execute_on_ray(
    config: SearchConfig, pending: list[int], address: str | None = None, batch_size: int | None = None
) -> Iterator[tuple[int, str]]:
    """Yield ``(run index, encoded record)`` as Ray tasks finish, in whatever order they finish."""
    ray = ensure_ray(address, num_cpus=config.workers if not address else None)
    remote = ray.remote(num_cpus=1)(_run_batch)
    if batch_size is None:
        slots = max(1, int(ray.cluster_resources().get("CPU", 1)))
        batch_size = max(1, min(50, len(pending) // (4 * slots)))  # ~4 tasks per CPU, at most 50 runs each
    config_ref = ray.put(config)
    waiting = [remote.remote(config_ref, pending[i : i + batch_size]) for i in range(0, len(pending), batch_size)]
    try:
        while waiting:
            ready, waiting = ray.wait(waiting, num_returns=1)
            for result in ray.get(ready):
                yield from result
    finally:
        for ref in waiting:  # interrupted: don't leave the cluster busy with runs nobody will record
            ray.cancel(ref, force=True)
