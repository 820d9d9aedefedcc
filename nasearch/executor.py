"""Where work runs: one executor interface, a local and a Ray implementation.

A new backend is a class in nasearch/executor.py registered in BACKENDS.

An :class:`Executor` maps a module-level ``task_fn`` over items and yields each result as
soon as it is ready, in whatever order the items finish; callers that need an order (the
sorted ``runs.jsonl``) sort afterwards, and only the calling process writes files from the
results. Seeded runs (:mod:`nasearch.execution`), whole-space proxy tables
(:mod:`nasearch.precompute`) and the correlation study's scores all go through it.

Every backend follows the same rules in every process that does work:

* **one torch thread**: workers split the cores between them, and a proxy's CPU seconds
  mean one core's work (a thread count set before torch is imported holds once it is);
* **init once per process**: ``init(*init_args)`` builds what the tasks share (a search
  context, a scorer) and preloads it, once per worker process and ``init_args``, not per
  task; ``init_args`` travel with the tasks, so they are small descriptions (a config, a
  job), never loaded data;
* **one clear line**: a :class:`UsageError` raised in a worker reaches the caller as a
  :class:`UsageError` with the same message (results finished before it are yielded first);
  so does an ``OSError`` (a full disk, a read-only folder), as :func:`nasearch.errors.os_error_line`.

``LocalExecutor`` runs in this process when one worker (or one item) is asked, else in a
pool of ``spawn``-ed processes (not ``fork``: a forked torch can deadlock, CUDA cannot fork,
and spawn works on every OS), kept for every call until :meth:`Executor.close`, so an
experiment starts its workers once. ``RayExecutor`` sends batches of items as Ray tasks, on
one machine or a cluster (``pip install '.[ray]'``; ``NASEARCH_RAY_ADDRESS`` may name it).
This module imports nothing heavier than the standard library; Ray and torch only when used.
"""
from __future__ import annotations

import os
import sys
from typing import Any, Callable, Iterable, Iterator, Sequence

from nasearch.errors import UsageError, os_error_line

ADDRESS_ENV = "NASEARCH_RAY_ADDRESS"


# -- what every worker process does ---------------------------------------------------------------
#: (init, init_args) this process last initialised for; a worker reuses it across tasks and calls
_initialised: tuple[Any, tuple] | None = None
#: the device this worker process was given (one worker per device), passed to init as ``device=``
_device: str | None = None


def one_torch_thread() -> int | None:
    """Give torch one thread in this process; returns the count it had (None: torch not imported, left so)."""
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    before = torch.get_num_threads()
    if before != 1:
        torch.set_num_threads(1)
    return before


def _worker_process_rules() -> None:
    """In a worker process: one thread now, and for a torch imported later (it reads these at import)."""
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = "1"
    one_torch_thread()


def _bootstrap(devices: Any = None) -> None:
    """Pool-process initializer: the worker rules, Ctrl-C left to the parent, and this process's
    device from the queue when there is one worker per device."""
    global _device
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops the pool; no traceback per worker
    _worker_process_rules()
    if devices is not None:
        _device = devices.get()


def _call_init(init: Callable, init_args: tuple) -> None:
    if _device is not None:
        init(*init_args, device=_device)
    else:
        init(*init_args)


def _prepare(init: Callable | None, init_args: tuple) -> None:
    """Run ``init`` unless this worker process already ran it with equal ``init_args``."""
    global _initialised
    if init is not None and not (_initialised is not None and _initialised[0] is init
                                 and _initialised[1] == init_args):
        _initialised = None  # a failing init is retried by the next task, not taken as done
        _call_init(init, init_args)
        _initialised = (init, init_args)


def _run_batch(init: Callable | None, init_args: tuple, task_fn: Callable, items: Sequence) -> tuple[list, str | None]:
    """A worker's unit of work: ``(results, None)``, or the results before a UsageError and its message."""
    results = []
    try:
        _worker_process_rules()
        _prepare(init, init_args)
        for item in items:
            one_torch_thread()  # init or an earlier task may have imported torch (a live proxy score)
            results.append(task_fn(item))
    except UsageError as exc:
        return results, str(exc)
    except OSError as exc:  # a full disk, a read-only cache folder, ...: the same one line as in the parent
        return results, os_error_line(exc)
    return results, None


def _unpack(outcome: tuple[list, str | None]) -> Iterator:
    results, error = outcome
    yield from results
    if error is not None:
        raise UsageError(error)


def _batches(items: Sequence, size: int) -> list[list]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


# -- the interface ---------------------------------------------------------------------------------
class Executor:
    """Maps a task over items in worker processes; results are yielded as they finish.

    ``task_fn`` and ``init`` must be module-level functions (workers import them by name);
    items, ``init_args`` and results must pickle. Use as a context manager, or call
    :meth:`close`, so that workers are stopped.
    """

    name = "executor"
    #: the command-line settings this backend takes (the others are refused in one line by :meth:`create`)
    takes_address = False
    takes_devices = False

    def __init__(self, workers: int = 1) -> None:
        if workers < 1:
            raise UsageError(f"--workers must be >= 1, got {workers}")
        self.workers = int(workers)

    @classmethod
    def create(cls, workers: int, *, ray_address: str | None = None,
               devices: Sequence[str] | None = None) -> "Executor":
        """Build from the command line's settings (:func:`make_executor`); refuse the ones this backend lacks."""
        if ray_address and not cls.takes_address:
            raise UsageError("--ray-address needs --backend ray")
        if devices and not cls.takes_devices:
            raise UsageError(f"--backend {cls.name} cannot pin one worker per device; use --backend local")
        return cls._from_settings(workers, ray_address, devices)

    @classmethod
    def _from_settings(cls, workers: int, ray_address: str | None, devices: Sequence[str] | None) -> "Executor":
        """The instance for settings :meth:`create` has already checked; a backend that takes more overrides it."""
        return cls(workers)

    def map_unordered(self, task_fn: Callable[[Any], Any], items: Iterable, *,
                      init: Callable | None = None, init_args: tuple = ()) -> Iterator:
        """Yield ``task_fn(item)`` for every item, as each finishes; ``init(*init_args)`` first in each worker."""
        raise NotImplementedError

    def close(self) -> None:
        """Stop the workers (a later call starts new ones)."""

    def __enter__(self) -> "Executor":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class LocalExecutor(Executor):
    """This machine: in-process for one worker, else a pool of spawned processes.

    ``devices`` (e.g. ``["cuda:0", "cuda:1"]``) gives each pool process its own device
    (``init`` is then called with ``device=``); the pool then has one process per device.
    """

    name = "local"
    START_METHOD = "spawn"
    takes_devices = True

    def __init__(self, workers: int = 1, devices: Sequence[str] | None = None, batch_size: int = 1) -> None:
        self.devices = list(devices) if devices else None
        super().__init__(len(self.devices) if self.devices else workers)
        self.batch_size = max(1, int(batch_size))
        self._pool: Any = None
        self._pool_size = 0

    @classmethod
    def _from_settings(cls, workers, ray_address, devices):
        return cls(workers, devices=devices)

    def map_unordered(self, task_fn, items, *, init=None, init_args=()):
        items = list(items)
        if not items:
            return
        if self.workers <= 1 or len(items) <= 1:
            yield from self._in_process(task_fn, items, init, tuple(init_args))
            return
        pool = self._get_pool(min(self.workers, len(items)))
        tasks = [(init, tuple(init_args), task_fn, batch) for batch in _batches(items, self.batch_size)]
        finished = False
        try:
            for outcome in pool.imap_unordered(_star_run_batch, tasks, chunksize=1):
                yield from _unpack(outcome)
            finished = True
        finally:
            if not finished:  # an error or an interrupted caller: drop what is still queued or running
                self._stop(terminate=True)

    def _in_process(self, task_fn, items, init, init_args) -> Iterator:
        """This process as the one worker: the same rules, and torch's thread count restored after."""
        saved: list[int] = []

        def pin() -> None:
            before = one_torch_thread()
            if before is not None and not saved:
                saved.append(before)  # what torch had when first seen (its default if init imported it)

        try:
            pin()
            if init is not None:
                init(*init_args)  # every call: this process's state may have changed since the last
            for item in items:
                pin()
                yield task_fn(item)
        finally:
            if saved:
                sys.modules["torch"].set_num_threads(saved[0])

    def _get_pool(self, size: int) -> Any:
        if self._pool is not None and self._pool_size >= size:
            return self._pool
        self._stop(terminate=False)
        import multiprocessing

        context = multiprocessing.get_context(self.START_METHOD)
        queue = None
        if self.devices:  # one process per device, each pinned to its own by the queue
            queue = context.Queue()
            for device in self.devices[:size]:
                queue.put(device)
        self._pool = context.Pool(size, initializer=_bootstrap, initargs=(queue,))
        self._pool_size = size
        return self._pool

    def _stop(self, terminate: bool) -> None:
        pool, self._pool, self._pool_size = self._pool, None, 0
        if pool is None:
            return
        if terminate:
            pool.terminate()
        else:
            pool.close()
        pool.join()

    def close(self) -> None:
        self._stop(terminate=False)


def _star_run_batch(task: tuple) -> tuple[list, str | None]:
    return _run_batch(*task)


class RayExecutor(Executor):
    """Ray tasks, each a batch of items (about four tasks per CPU, at most 50 items each).

    ``address`` (or ``$NASEARCH_RAY_ADDRESS``) joins an existing cluster (``auto``,
    ``ray://head:10001``); without one a local Ray with ``workers`` CPUs is started. Each Ray
    worker process runs ``init`` once per ``init_args`` and reuses it for every task it gets.
    """

    name = "ray"
    takes_address = True

    def __init__(self, workers: int = 1, address: str | None = None, batch_size: int | None = None) -> None:
        super().__init__(workers)
        self.address = address
        self.batch_size = batch_size

    @classmethod
    def create(cls, workers, *, ray_address=None, devices=None):
        if devices:  # a more specific line than the base class's
            raise UsageError("--backend ray schedules devices itself; one worker per device needs --backend local")
        return super().create(workers, ray_address=ray_address)

    @classmethod
    def _from_settings(cls, workers, ray_address, devices):
        _import_ray()  # the one-line error before any work, not at the first task
        return cls(workers, address=ray_address)

    def map_unordered(self, task_fn, items, *, init=None, init_args=()):
        items = list(items)
        if not items:
            return
        ray = ensure_ray(self.address, num_cpus=self.workers if not self.address else None)
        remote = ray.remote(num_cpus=1)(_run_batch)
        size = self.batch_size
        if size is None:
            slots = max(1, int(ray.cluster_resources().get("CPU", 1)))
            size = max(1, min(50, len(items) // (4 * slots)))
        args_ref = ray.put(tuple(init_args))  # stored once, not once per task
        waiting = [remote.remote(init, args_ref, task_fn, batch) for batch in _batches(items, size)]
        try:
            while waiting:
                ready, waiting = ray.wait(waiting, num_returns=1)
                for outcome in ray.get(ready):
                    yield from _unpack(outcome)
        finally:
            for ref in waiting:  # interrupted: don't leave the cluster busy with work nobody will record
                ray.cancel(ref, force=True)


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


#: backend name -> executor class; ``--backend`` offers these names
BACKENDS: dict[str, type[Executor]] = {"local": LocalExecutor, "ray": RayExecutor}


def make_executor(backend: str = "local", workers: int = 1, *, ray_address: str | None = None,
                  devices: Sequence[str] | None = None) -> Executor:
    """The executor of ``backend`` with ``workers`` workers (``devices``: one local worker per device)."""
    found = BACKENDS.get(backend)
    if found is None:
        raise UsageError(f"unknown backend {backend!r}; use one of {', '.join(BACKENDS)}")
    return found.create(workers, ray_address=ray_address, devices=devices)
