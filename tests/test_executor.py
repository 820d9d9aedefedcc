"""The one executor interface: local (in-process or spawned workers) and Ray give the same results,
init runs once per worker process, one torch thread per worker, a worker's UsageError is the parent's."""
from __future__ import annotations

import os
import sys

import pytest
import yaml

from nasearch.errors import UsageError
from nasearch.executor import BACKENDS, Executor, LocalExecutor, make_executor

#: set by _init in whichever process runs the tasks
_STATE: dict = {}


def _init(offset: int, fail: bool = False) -> None:
    if fail:
        raise UsageError(f"init refused offset {offset}")
    _STATE["offset"] = offset
    inits = _STATE.setdefault("inits", {})
    inits[offset] = inits.get(offset, 0) + 1


def _task(item: int) -> tuple[int, int, int, int]:
    """(item, a value of it and of the init's state, this process's id, how often init ran here with these args)."""
    if item == 13:
        raise UsageError("item 13 is unlucky; use another")
    return item, _STATE["offset"] + item * item, os.getpid(), _STATE["inits"][_STATE["offset"]]


def _threads(_item: int) -> int:
    import torch  # imported by the task, after the worker started: the rule must hold anyway

    return torch.get_num_threads()


def _values(results) -> list[tuple[int, int]]:
    return sorted((item, value) for item, value, _pid, _inits in results)


def test_one_and_two_local_workers_give_the_same_results():
    items = [i for i in range(30) if i != 13]
    with make_executor("local", 1) as single:
        alone = list(single.map_unordered(_task, items, init=_init, init_args=(7,)))
    with make_executor("local", 2) as pool:
        pooled = list(pool.map_unordered(_task, items, init=_init, init_args=(7,)))
        again = list(pool.map_unordered(_task, items, init=_init, init_args=(7,)))  # the same workers, reused
        other = list(pool.map_unordered(_task, items[:6], init=_init, init_args=(100,)))
    assert _values(alone) == _values(pooled) == _values(again) == [(i, 7 + i * i) for i in items]
    assert {pid for *_, pid, _ in alone} == {os.getpid()}
    pids = {pid for *_, pid, _ in pooled}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2
    # init ran once per worker process and init_args, not per task nor per call with the same init_args,
    # and again (once) when they change
    assert {inits for *_, inits in pooled + again + other} == {1}
    assert {pid for *_, pid, _ in again + other} <= pids
    assert _values(other) == [(i, 100 + i * i) for i in items[:6]]


class _Payload:
    """Big shared state (a study's space and test set stand-in); counts its unpickles in each process."""

    def __init__(self) -> None:
        self.blob = bytes(range(256)) * 4096  # 1 MiB

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        _STATE["unpickles"] = _STATE.get("unpickles", 0) + 1

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Payload) and other.blob == self.blob


def _init_payload(payload: _Payload) -> None:
    _STATE["payload"] = payload


def _payload_task(item: int) -> tuple[int, int, int, int]:
    return item, len(_STATE["payload"].blob), os.getpid(), _STATE.get("unpickles", 0)


def test_big_init_args_reach_each_worker_once_not_with_every_task(tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the shared file goes, to see it removed
    with LocalExecutor(2) as pool:
        results = list(pool.map_unordered(_payload_task, range(40), init=_init_payload, init_args=(_Payload(),)))
    assert sorted(item for item, *_ in results) == list(range(40))
    assert {size for _, size, _, _ in results} == {256 * 4096}
    # 40 tasks over 2 workers: each worker read the payload once (sending it per task: up to 20 each)
    assert {unpickles for *_, unpickles in results} == {1}
    assert not list(tmp_path.iterdir()), "the shared init_args file outlived the call"


@pytest.mark.parametrize("workers", [1, 2])
def test_a_usage_error_in_a_worker_reaches_the_parent_with_its_message(workers):
    with make_executor("local", workers) as executor:
        with pytest.raises(UsageError) as raised:
            list(executor.map_unordered(_task, list(range(20)), init=_init, init_args=(0,)))
        assert str(raised.value) == "item 13 is unlucky; use another"
        with pytest.raises(UsageError) as raised:
            list(executor.map_unordered(_task, [1, 2, 3], init=_init, init_args=(5, True)))
        assert str(raised.value) == "init refused offset 5"
        # the executor still works after an error (a pool that failed is replaced)
        assert _values(executor.map_unordered(_task, [2, 3], init=_init, init_args=(1,))) == [(2, 5), (3, 10)]


def _full_disk(item: int) -> int:
    """A task whose write meets a full disk (as a score cache's or a run log's would) at item 3."""
    import errno

    if item == 3:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "/data/cache/scores.sqlite")
    return item


def test_an_os_error_in_a_worker_reaches_the_parent_as_one_line_naming_the_file():
    """A pool worker's OSError (a full disk, a read-only folder) is the parent's one-line UsageError,
    naming the file and the fix, after the results finished before it (#25)."""
    with make_executor("local", 2) as executor:
        seen = []
        with pytest.raises(UsageError) as raised:
            for value in executor.map_unordered(_full_disk, [1, 2, 3, 4]):
                seen.append(value)
    assert str(raised.value).startswith("/data/cache/scores.sqlite: No space left on device; free some space")
    assert set(seen) <= {1, 2, 4}


def test_workers_run_one_torch_thread_and_in_process_restores_the_count():
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    with LocalExecutor(2) as pool:
        assert set(pool.map_unordered(_threads, range(4))) == {1}
    with LocalExecutor(1) as alone:
        assert list(alone.map_unordered(_threads, range(2))) == [1, 1]
    assert torch.get_num_threads() == before


def test_devices_give_each_worker_its_own():
    with LocalExecutor(devices=["cpu:a", "cpu:b"]) as pool:
        assert pool.workers == 2
        found = set(pool.map_unordered(_device_of, range(8), init=_remember_device, init_args=()))
    assert found <= {"cpu:a", "cpu:b"} and found


def _remember_device(device: str | None = None) -> None:
    _STATE["device"] = device


def _device_of(_item: int) -> str:
    return _STATE["device"]


def test_backends_are_executors_and_bad_settings_are_one_line():
    assert set(BACKENDS) >= {"local", "ray"} and all(issubclass(cls, Executor) for cls in BACKENDS.values())
    with pytest.raises(UsageError, match="unknown backend 'dask'; use one of local, ray"):
        make_executor("dask", 2)
    with pytest.raises(UsageError, match="--workers must be >= 1"):
        make_executor("local", 0)
    with pytest.raises(UsageError, match="--ray-address needs --backend ray"):
        make_executor("local", 2, ray_address="auto")
    from nasearch.cli import build_parser

    experiment = build_parser()._subparsers._group_actions[0].choices["experiment"]
    backend = next(action for action in experiment._actions if action.dest == "backend")
    assert tuple(backend.choices) == tuple(BACKENDS)  # a backend registered in BACKENDS is on the command line


def test_ray_missing_is_one_usage_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails as if it were not installed
    with pytest.raises(UsageError) as raised:
        make_executor("ray", 2)
    assert str(raised.value) == "--backend ray needs Ray: pip install 'nasearch[ray]' (or pip install ray)"


def test_ray_gives_the_local_results_and_the_usage_error(monkeypatch):
    pytest.importorskip("ray")
    import ray

    here = os.path.dirname(os.path.abspath(__file__))  # Ray's workers import this module's tasks by name
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH")) if p))
    if ray.is_initialized():
        ray.shutdown()
    items = [i for i in range(30) if i != 13]
    try:
        with make_executor("ray", 2) as executor:
            results = list(executor.map_unordered(_task, items, init=_init, init_args=(7,)))
            threads = set(executor.map_unordered(_threads, range(4)))
            with pytest.raises(UsageError) as raised:
                list(executor.map_unordered(_task, list(range(20)), init=_init, init_args=(0,)))
    finally:
        ray.shutdown()
    assert _values(results) == [(i, 7 + i * i) for i in items]
    assert {inits for *_, inits in results} == {1}  # once per Ray worker process, not per task
    assert threads == {1}
    assert str(raised.value) == "item 13 is unlucky; use another"


BROKEN_SPACE = '''
from nasearch.spaces.nb201.space import NB201Space


class Broken(NB201Space):
    """query answers a bare number for some archs: the runner's one-line UsageError, inside a worker."""

    def query(self, arch, rng):
        evaluation = super().query(arch, rng)
        return 42.0 if evaluation.fitness > 80 else evaluation
'''


def test_a_run_failing_in_a_worker_is_one_line_and_exit_2(tmp_path, capsys):
    from nasearch.cli import main

    (tmp_path / "broken.py").write_text(BROKEN_SPACE)
    config = tmp_path / "broken.yaml"
    config.write_text(yaml.safe_dump({
        "label": "broken", "space": {"class": f"{tmp_path / 'broken.py'}:Broken", "args": {"backend": "embedded"}},
        "searcher": {"name": "rs"}, "budget_seconds": 3000, "runs": 4, "seed": 0,
    }))
    lines = {}
    for workers in (1, 2):
        code = main(["run", str(config), "--workers", str(workers), "--out", str(tmp_path / f"w{workers}")])
        err = capsys.readouterr().err
        assert code == 2 and "Traceback" not in err
        lines[workers] = err.strip().splitlines()[-1]
    assert lines[1] == lines[2]
    assert lines[1].startswith("nasearch: error: space") and "returned 42.0" in lines[1]


@pytest.mark.parametrize("name", ["SIGTERM", "SIGINT"])
def test_a_signal_while_a_pool_starts_is_handled_after_it_even_when_another_thread_takes_it(name):
    """A signal sent to the process goes to any thread that does not block it (torch's, sqlite's, tqdm's):
    the main thread's hold alone did not defer its Python handler, which then raised in the middle of
    starting a worker (the half-started worker printed 'EOFError: Ran out of input')."""
    import signal
    import threading
    import time

    from nasearch.executor import _signals_held

    class Stopped(Exception):
        pass

    def stop(signum, frame):
        raise Stopped(signum)

    release = threading.Event()
    other = threading.Thread(target=release.wait, daemon=True)  # started before the hold: takes the signal
    other.start()
    signum = getattr(signal, name)
    saved = signal.signal(signum, stop)
    reached_the_end = False
    try:
        with pytest.raises(Stopped):
            with _signals_held():
                os.kill(os.getpid(), signum)
                for _ in range(20):  # bytecode boundaries, where the handler would run
                    time.sleep(0.01)
                reached_the_end = True
        assert reached_the_end
        assert signal.getsignal(signum) is stop  # the command's own handler is back
    finally:
        signal.signal(signum, saved)
        release.set()
        other.join()


def test_a_stop_signal_while_workers_start_leaves_no_half_started_worker(monkeypatch, capfd):
    """The signal lands just after a worker process is spawned and before it is sent its preparation
    data: the command stops (its handler raises once the pool exists, which is then terminated), and
    no worker prints a traceback."""
    import signal
    import threading
    import time
    from multiprocessing import popen_spawn_posix

    class Stopped(Exception):
        pass

    def stop(signum, frame):
        raise Stopped(signum)

    spawned: list[int] = []
    real_spawn = popen_spawn_posix.util.spawnv_passfds

    def spawn_then_signal(*args, **kwargs):
        pid = real_spawn(*args, **kwargs)
        if "spawn_main" not in " ".join(map(str, args[1])):
            return pid  # the resource tracker
        spawned.append(pid)
        if len(spawned) == 1:
            os.kill(os.getpid(), signal.SIGTERM)  # to the process: the thread below takes it
            time.sleep(0.05)  # where the handler would run, before the worker's data is written
        return pid

    release = threading.Event()
    other = threading.Thread(target=release.wait, daemon=True)
    other.start()
    monkeypatch.setattr(popen_spawn_posix.util, "spawnv_passfds", spawn_then_signal)
    saved = signal.signal(signal.SIGTERM, stop)
    executor = LocalExecutor(2)
    try:
        with pytest.raises(Stopped):
            list(executor.map_unordered(_task, [1, 2, 3], init=_init, init_args=(7,)))
        assert executor._pool is None  # stopped and terminated
    finally:
        signal.signal(signal.SIGTERM, saved)
        release.set()
        other.join()
        executor.close()
    for pid in spawned:  # a worker the pool did not reap (a half-started one) ends by itself
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
    err = capfd.readouterr().err
    assert "Traceback" not in err and "Ran out of input" not in err, err
