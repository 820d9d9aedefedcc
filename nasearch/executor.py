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
  task; ``init_args`` travel with the tasks, so they should be small descriptions (a config,
  a job); big ones (a study's space and test set) reach a local pool's workers through a
  file each worker reads once, and Ray's as one stored object;
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

import contextlib
import os
import sys
from dataclasses import dataclass
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


#: prctl(2) option: the signal this process gets when its parent dies (Linux)
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Linux: have the kernel send this process SIGTERM when its parent dies, even by SIGKILL, so no
    orphaned worker computes on (or fills the terminal with BrokenPipeErrors). Elsewhere: nothing."""
    import signal

    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import multiprocessing

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0) != 0:
            return
    except (OSError, AttributeError):  # no libc prctl: the parent's own cleanup is all there is
        return
    parent = multiprocessing.parent_process()
    if parent is not None and os.getppid() != parent.pid:  # it died before the prctl: nobody will signal
        os.kill(os.getpid(), signal.SIGTERM)


def _bootstrap(devices: Any = None) -> None:
    """Pool-process initializer: the worker rules, dying with the parent, Ctrl-C and a closed
    terminal (SIGHUP) left to the parent, and this process's device from the queue when there is
    one worker per device."""
    global _device
    import signal

    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops the pool; no traceback per worker
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):  # held by the parent while it started this process (_signals_held)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _stop_signals())  # a SIGTERM sent meanwhile ends it now
    _worker_process_rules()
    if devices is not None:
        _device = devices.get()


def _stop_signals() -> set:
    import signal

    return {getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)}


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold Ctrl-C/SIGTERM/SIGHUP while pool processes are started: one arriving mid-start would leave
    a half-started worker reading a truncated pipe (``EOFError: Ran out of input``, a traceback per
    worker). The signal is handled as soon as the pool exists, so the caller stops it as usual; the
    workers inherit the hold and lift it in :func:`_bootstrap`, after they are set to die with the parent.

    Two holds, because a mask is per thread: this thread's mask (what the workers inherit), and, in
    the main thread, the Python handlers themselves. A signal sent to the process goes to any thread
    that does not block it (torch's, sqlite's, a progress bar's, all started before the hold), and
    Python then runs the handler in the main thread wherever it is; so while held, a handler only
    records the signal, and the command's own handler is called for it once the pool has started."""
    import signal
    import threading

    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    received: list[int] = []
    holding = [True]
    handlers: dict[int, Any] = {}

    def record(signum: int, frame: Any) -> None:
        if holding:
            received.append(signum)
        else:  # the hold is over but this one is not yet replaced: the command's handler, at once
            handlers[signum](signum, frame)

    if threading.current_thread() is threading.main_thread():
        for signum in sorted(_stop_signals()):
            handler = signal.getsignal(signum)
            if callable(handler):  # SIG_DFL/SIG_IGN (or a C handler) are the kernel's: the mask holds those
                handlers[signum] = handler
                signal.signal(signum, record)
    saved = signal.pthread_sigmask(signal.SIG_BLOCK, _stop_signals())
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, saved)  # one pending meanwhile arrives now, and is recorded
        holding.clear()
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
        for signum in received:  # the command's handler, now the pool exists (Ctrl-C's raises)
            handlers[signum](signum, None)


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


#: init_args bigger than this (pickled) go to the pool's workers through a file, once, not with each task
SHARED_ARGS_BYTES = 64 * 1024


@dataclass(frozen=True)
class _ArgsFile:
    """A local pool's ``init_args`` too big to travel with every task (a predictor study's space,
    features and test set: megabytes): pickled once per map call into a private temporary file that
    each worker reads once (and again only for another call's file)."""

    path: str
    digest: str


#: (digest, init_args) of the _ArgsFile this worker process read last
_loaded_args: tuple[str, tuple] | None = None


def _resolve_args(init_args: Any) -> tuple:
    global _loaded_args
    if not isinstance(init_args, _ArgsFile):
        return init_args
    if _loaded_args is None or _loaded_args[0] != init_args.digest:
        import pickle

        with open(init_args.path, "rb") as handle:  # written by this worker's parent, for it alone (0600)
            _loaded_args = (init_args.digest, pickle.load(handle))
    return _loaded_args[1]


@contextlib.contextmanager
def _shared_args(init_args: tuple) -> Iterator[Any]:
    """``init_args`` as the tasks of one local map call carry them: as they are when small, else an
    :class:`_ArgsFile` (removed when the call ends)."""
    import hashlib
    import pickle
    import tempfile

    data = pickle.dumps(init_args, protocol=pickle.HIGHEST_PROTOCOL)
    if len(data) <= SHARED_ARGS_BYTES:
        yield init_args
        return
    handle, path = tempfile.mkstemp(prefix="nasearch-init-", suffix=".pickle")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        yield _ArgsFile(path, hashlib.sha256(data).hexdigest())
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)


def _run_batch(init: Callable | None, init_args: tuple, task_fn: Callable, items: Sequence) -> tuple[list, str | None]:
    """A worker's unit of work: ``(results, None)``, or the results before a UsageError and its message."""
    results = []
    try:
        _worker_process_rules()
        _prepare(init, _resolve_args(init_args))
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


def max_local_workers() -> int:
    """The most worker processes a local pool starts: 8 per core, at least 16 (a worker is a whole
    interpreter with torch, so many more than the cores only cost memory)."""
    return max(16, 8 * (os.cpu_count() or 1))


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
        most = max_local_workers()
        if self.workers > most:  # each is an interpreter with torch (hundreds of MB): 500 of them exhaust memory
            raise UsageError(f"--workers {self.workers} is more than this machine can run ({os.cpu_count()} cores: at "
                             f"most {most} local processes); give --workers <= {most}, or --backend ray for a cluster")
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
        finished = False
        try:
            with _shared_args(tuple(init_args)) as shared:  # big init_args: once per worker, not per task
                tasks = [(init, shared, task_fn, batch) for batch in _batches(items, self.batch_size)]
                pool = self._get_pool(min(self.workers, len(items)))  # inside: a signal held while it starts stops it
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
        with _signals_held():
            self._pool = context.Pool(size, initializer=_bootstrap, initargs=(queue,))
            self._pool_size = size
        return self._pool

    def _stop(self, terminate: bool) -> None:
        pool, self._pool, self._pool_size = self._pool, None, 0
        if pool is None:
            return
        if terminate:
            _terminate(pool)
        else:
            pool.close()
            pool.join()

    def close(self) -> None:
        self._stop(terminate=False)


#: how long a stopped pool may take to go down before this process stops waiting for it
TERMINATE_SECONDS = 10.0


def _terminate(pool: Any) -> None:
    """``pool.terminate()``, without its hang: CPython's Pool kills its workers, then joins its
    task-feeding thread, which never returns when it was blocked writing a large task into the
    pipe the dead workers read (a big ``init_args``). Once the workers are gone this reads that
    pipe dry so the thread finishes; after :data:`TERMINATE_SECONDS` it stops waiting (the
    workers are dead by then; only the pool's daemon threads are left)."""
    import threading
    import time

    stopping = threading.Thread(target=pool.terminate, name="nasearch-pool-terminate", daemon=True)
    stopping.start()
    reader = getattr(getattr(pool, "_inqueue", None), "_reader", None)
    workers = getattr(pool, "_pool", None)  # the pool's own list: a worker it replaced is in it
    deadline = time.monotonic() + TERMINATE_SECONDS
    while stopping.is_alive() and time.monotonic() < deadline:
        stopping.join(0.05)
        if stopping.is_alive() and reader is not None and workers and all(w.exitcode is not None for w in list(workers)):
            try:  # nobody else reads it now: terminate() has stopped its own draining before killing workers
                while reader.poll(0):
                    reader.recv_bytes()
            except (OSError, EOFError):
                reader = None
    if not stopping.is_alive():
        pool.join()


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
        probe_ray_address(address or os.environ.get(ADDRESS_ENV))  # an unreachable cluster: one line, before any work
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


TIMEOUT_ENV = "NASEARCH_RAY_TIMEOUT"
#: seconds a Ray address gets to accept a connection and answer it (``$NASEARCH_RAY_TIMEOUT`` changes it)
RAY_TIMEOUT = 10.0
#: an HTTP/2 client's opening (the preface and an empty SETTINGS frame): what a gRPC client sends first
_HTTP2_HELLO = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])


def ray_timeout() -> float:
    """``$NASEARCH_RAY_TIMEOUT`` seconds, else :data:`RAY_TIMEOUT`."""
    import math

    text = os.environ.get(TIMEOUT_ENV)
    if text is None or not text.strip():
        return RAY_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise UsageError(f"${TIMEOUT_ENV}: {text!r} is not a number of seconds > 0; set it to e.g. 30 or unset it")
    return value


def probe_ray_address(address: str | None) -> None:
    """Refuse in one line, within ``ray_timeout()`` seconds, a Ray address nobody answers at.

    ``ray.init`` retries an unreachable head for minutes (and has no timeout argument in every
    version): a host that does not resolve, a closed port, or a server that accepts and never
    answers. Both of Ray's entry points (the GCS at ``host:port``, the client server at
    ``ray://host:port``) speak gRPC, whose server answers an HTTP/2 opening with a SETTINGS frame
    at once; that answer is what is waited for. ``auto``/``local`` are left to Ray."""
    import socket
    import time

    if not address or address in ("auto", "local"):
        return
    target = address.removeprefix("ray://").rstrip("/")
    host, sep, port_text = target.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise UsageError(f"--ray-address {address!r} is not HOST:PORT, ray://HOST:PORT or auto; "
                         f"e.g. --ray-address ray://head:10001")
    timeout = ray_timeout()
    fix = f"start the cluster (ray start --head) or correct --ray-address; ${TIMEOUT_ENV} waits longer"
    deadline = time.monotonic() + timeout
    try:
        connection = socket.create_connection((host, int(port_text)), timeout=timeout)
    except socket.gaierror as exc:
        raise UsageError(f"--ray-address {address!r}: host {host!r} is not known ({exc.strerror}); {fix}") from None
    except (TimeoutError, socket.timeout):
        raise UsageError(f"--ray-address {address!r}: no connection within {timeout:g} s; {fix}") from None
    except OSError as exc:
        raise UsageError(f"--ray-address {address!r}: cannot connect ({exc.strerror or exc}); {fix}") from None
    try:
        with connection:
            connection.sendall(_HTTP2_HELLO)
            answer = b""
            while len(answer) < 9:
                connection.settimeout(max(0.001, deadline - time.monotonic()))
                chunk = connection.recv(9 - len(answer))
                if not chunk:
                    break
                answer += chunk
    except (TimeoutError, socket.timeout):
        raise UsageError(f"--ray-address {address!r} accepted the connection but gave no answer within "
                         f"{timeout:g} s (not a Ray head, or a stuck one); {fix}") from None
    except OSError as exc:
        raise UsageError(f"--ray-address {address!r}: the connection failed ({exc.strerror or exc}); {fix}") from None
    if len(answer) < 9 or answer[3] != 4:  # frame type 4: SETTINGS
        raise UsageError(f"--ray-address {address!r} answered, but not as a Ray (gRPC) server does; "
                         f"give the head's GCS port (6379) or its client port (ray://HOST:10001)")


def ensure_ray(address: str | None = None, num_cpus: int | None = None) -> Any:
    """Connect to ``address`` (an existing cluster, e.g. ``ray://head:10001`` or ``auto``), else start a local Ray."""
    ray = _import_ray()
    if ray.is_initialized():
        return ray
    address = address or os.environ.get(ADDRESS_ENV)
    if address:  # probed by the RayExecutor that asks for it (probe_ray_address)
        try:
            ray.init(address=address, log_to_driver=False)
        except ConnectionError as exc:  # e.g. `auto` with no cluster running
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise UsageError(f"--ray-address {address!r}: {first}; start the cluster (ray start --head) "
                             f"or correct --ray-address") from None
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
