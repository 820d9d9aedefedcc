"""A catalogue of bad input, each tried through the real command line as a new user would.

Every case must end with exit status 2 (or the case's ``status``), exactly one line on stderr that
names the problem (no traceback), and every file that existed before the command byte-identical after it.
A case with ``signal_after`` is stopped by a signal once it has started work: it must end with
``status`` 128 + the signal's number and one line, and no process it started may outlive it.

Cases run as children forked from one interpreter that has imported the command line (and torch)
once (:class:`ForkServer`); each child first takes the case's environment, working directory,
``sys.path`` and prelude, as a fresh ``python -c`` would. Cases with a signal, their own
``PYTHONPATH`` or a ``CATALOGUE_PRELUDE`` run in a fresh interpreter (``Case.fresh`` forces either).

To add a case, append a :class:`Case` to ``CASES``: ``setup(ws)`` writes what the case needs
into the workspace and returns the command line (``run_search.py`` arguments, or ``["nasearch",
subcommand, ...]`` for another subcommand); ``expect`` is a regular expression the one stderr
line must match. Workspaces share the read-only fixtures of :class:`Workspace`.
"""
from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
#: the ``nasearch`` entry point, with a hook for cases that must patch a library first (``$CATALOGUE_PRELUDE``)
NASEARCH = (
    "import os, sys\n"
    "exec(os.environ.get('CATALOGUE_PRELUDE', ''))\n"
    "from nasearch.cli import main, run_search_main\n"
    "sys.exit(main(sys.argv[2:]) if sys.argv[1:2] == ['nasearch'] else run_search_main(sys.argv[1:]))\n"
)
PER_CASE_TIMEOUT = 60  # a hang is a failure, not a stuck suite
#: the catalogue's fork server: imports the command line (and torch) once, then runs each case in a
#: forked child that first makes itself what ``python -c NASEARCH`` would be: the case's environment,
#: working directory, ``sys.path`` and prelude, stdout/stderr to files, its own process group; it
#: exits with main's status (or 1 and the traceback, as the interpreter would). One job per line.
FORK_SERVER = r"""
import atexit, importlib, json, os, sys, traceback
requests, replies = os.fdopen(int(sys.argv[1]), "r"), os.fdopen(int(sys.argv[2]), "w")
tail = sys.path[1 + len([p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]):]
import nasearch.cli
from nasearch.cli import main, run_search_main
for module, _help in nasearch.cli.COMMANDS.values():
    importlib.import_module(module)
import torch
torch.set_num_threads(1)  # no torch op runs here: a forked child must not inherit a started thread pool
for line in requests:
    job = json.loads(line)
    sys.stdout.flush(), sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.setpgid(0, 0)
            requests.close(), replies.close()
            for fd, name, flags in ((0, os.devnull, os.O_RDONLY), (1, job["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
                                    (2, job["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)):
                os.dup2(os.open(name, flags, 0o644), fd)
            os.chdir(job["cwd"])
            os.environ.clear()
            os.environ.update(job["env"])
            sys.path[:] = ["", *[p for p in job["env"].get("PYTHONPATH", "").split(os.pathsep) if p], *tail]
            importlib.invalidate_caches()
            sys.argv = ["-c", *job["argv"]]
            exec(job["env"].get("CATALOGUE_PRELUDE", ""), {"__name__": "__main__"})
            argv = job["argv"]
            code = main(argv[1:]) if argv[:1] == ["nasearch"] else run_search_main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else (print(exc.code, file=sys.stderr), 1)[1]
        except BaseException:
            traceback.print_exc()
        finally:
            try:
                atexit._run_exitfuncs()
                sys.stdout.flush(), sys.stderr.flush()
            finally:
                os._exit(code if isinstance(code, int) else 1)
    replies.write(json.dumps({"pid": pid}) + "\n"), replies.flush()
    _, status = os.waitpid(pid, 0)
    replies.write(json.dumps({"status": os.waitstatus_to_exitcode(status)}) + "\n"), replies.flush()
"""


@dataclass
class Workspace:
    """A case's directory and how the command will be run there."""

    root: Path
    env: dict = field(default_factory=dict)

    def config(self, name: str = "config.yaml", **content) -> Path:
        base = {"space": {"name": "nb201"}, "searcher": {"name": "rea"}, "runs": 1, "budget_seconds": 3000,
                "out": str(self.root / "out")}
        base.update(content)
        path = self.root / name
        path.write_text(yaml.safe_dump(base))
        return path

    def text(self, name: str, content: str) -> Path:
        path = self.root / name
        path.write_text(content)
        return path

    def binary(self, name: str, content: bytes) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        return path


@dataclass(frozen=True)
class Case:
    id: str
    setup: Callable[[Workspace], list]
    expect: str  # regex the single stderr line must match
    #: extra check after the command (e.g. a marker file a crafted pickle would create is absent)
    after: Callable[[Workspace], None] | None = None
    #: the exit status the command must end with: 2 for refused input, 128 + N when stopped by signal N
    status: int = 2
    #: run in a fresh interpreter rather than a child of the fork server (:class:`ForkServer`); None: fresh
    #: when the case needs it (a signal, its own PYTHONPATH or CATALOGUE_PRELUDE), else forked
    fresh: bool | None = None
    #: ``(signal, glob)``: send the signal once a non-empty file matching ``glob`` (under the workspace)
    #: exists and the command has started a worker process, i.e. once it is at work; it must not finish first
    signal_after: tuple[int, str] | None = None


# -- shared fixtures ------------------------------------------------------------------------------------
RANDOM_BYTES = bytes(np.random.default_rng(17).integers(0, 256, 4096, dtype=np.uint8)) + b"\xff\xfe"
#: a proxy that needs images, with no packaged table: its first score reads the data
PROXY_HOOK = {"proxy": "grad_norm", "tables": False, "batch_size": 8}


class _Marker:
    """Unpickling this creates ``path``: what a crafted benchmark file could do instead."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (exec, (f"open({self.path!r}, 'w').close()",))


def _marker_absent(ws: Workspace) -> None:
    assert not (ws.root / "code_ran").exists(), "a crafted pickle ran code"


class SilentServer:
    """A loopback server that accepts connections and never answers (stops with the test session)."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(16)
        self.socket.settimeout(0.2)
        self.port = self.socket.getsockname()[1]
        self.held: list[socket.socket] = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                connection, _ = self.socket.accept()
            except (TimeoutError, OSError):
                continue
            self.held.append(connection)  # read nothing, answer nothing

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(5)
        for connection in self.held:
            connection.close()
        self.socket.close()


_SERVER: SilentServer | None = None


def silent_server() -> SilentServer:
    global _SERVER
    if _SERVER is None:
        _SERVER = SilentServer()
    return _SERVER


# -- the cases ---------------------------------------------------------------------------------------------
def _not_utf8(ws):
    return [ws.binary("latin1.yaml", "label: caf\xe9\n".encode("latin-1") + b"space: {name: nb201}\n")]


def _config_dir(ws):
    (ws.root / "configs_dir").mkdir()
    return [ws.root / "configs_dir"]


def _python_tag(ws):
    return [ws.text("tag.yaml", f"space: !!python/object/apply:os.system ['touch {ws.root / 'code_ran'}']\n")]


def _bad_npz_run(ws):
    npz = ws.binary("images.npz", RANDOM_BYTES)
    return [ws.config(hook=PROXY_HOOK, data={"npz": str(npz)}, cache_dir=str(ws.root / "cache"))]


def _bad_npz_precompute(ws):
    npz = ws.binary("images.npz", RANDOM_BYTES)
    return ["nasearch", "precompute", "--proxy", "grad_norm", "--batch-size", "8", "--data", npz, "--limit", "1",
            "--workers", "1", "--quiet", "--cache-dir", ws.root / "cache", "--tables-dir", ws.root / "tables"]


def _silent_download(ws):
    server = silent_server()
    ws.env["CATALOGUE_PRELUDE"] = (
        "import torchvision.datasets\n"
        f"torchvision.datasets.CIFAR10.url = 'http://127.0.0.1:{server.port}/cifar-10-python.tar.gz'\n"
    )
    ws.env["NASEARCH_DOWNLOAD_TIMEOUT"] = "0.5"
    data = {"torchvision_root": str(ws.root / "cifar"), "download": True}
    return [ws.config(hook=PROXY_HOOK, data=data, cache_dir=str(ws.root / "cache"))]


def _cache_dir_under_file(ws):
    blocker = ws.text("blocker", "a file where the cache directory should go\n")
    return [ws.config(hook=PROXY_HOOK, cache_dir=str(blocker / "cache"))]


def _random_csv(ws):
    table = ws.binary("table.csv", RANDOM_BYTES)
    return [ws.config(space={"name": "tabular", "args": {"path": str(table)}})]


def _searcher_arg(value):
    return lambda ws: [ws.config(searcher={"name": "rea", "args": {"population_size": value}})]


def _budget_flag(value):
    return lambda ws: [ws.config(), "--budget", value]


def _budget_yaml(text):
    def setup(ws):
        path = ws.config()
        content = yaml.safe_load(path.read_text())
        del content["budget_seconds"]
        path.write_text(yaml.safe_dump(content) + f"budget_seconds: {text}\n")
        return [path]
    return setup


def _hook_cost(text):
    def setup(ws):
        path = ws.config()
        path.write_text(path.read_text() + f"hook: {{proxy: synflow, cost: {text}}}\n")
        return [path]
    return setup


OUTSIDE_SEARCHER = '''
from nasearch.searchers.base import Searcher, Trial


class Outside(Searcher):
    name = "outside"
    arch = {arch!r}

    def propose(self, rng):
        return Trial(self.arch)

    def observe(self, trial, evaluation):
        pass
'''


def _outside_arch(arch):
    def setup(ws):
        module = ws.text("outside.py", OUTSIDE_SEARCHER.format(arch=arch))
        return [ws.config(searcher={"name": f"{module}:Outside"})]
    return setup


def _nds_file(damage, name="DARTS.json"):
    """A two-record NDS DARTS sweep (official layout), damaged by ``damage(text)``, searched by RS."""
    def setup(ws):
        from tests.nds_fixtures import job
        from nasearch.spaces.darts.genotype import from_nds

        cell = [["max_pool_3x3", 0], ["skip_connect", 1], ["max_pool_3x3", 2], ["max_pool_3x3", 1],
                ["skip_connect", 0], ["avg_pool_3x3", 3], ["max_pool_3x3", 3], ["avg_pool_3x3", 4]]
        first = {"normal": cell, "normal_concat": [2, 3, 4, 5], "reduce": cell, "reduce_concat": [2, 3, 4, 5]}
        second = {**first, "normal": [["sep_conv_3x3", 0], *cell[1:]]}
        rng = np.random.default_rng(0)
        jobs = [job(from_nds(g), 8, 5, i, rng, params=1000 + i) for i, g in enumerate((first, second))]
        path = ws.text(name, damage(json.dumps(jobs)))
        return [ws.config(space={"name": "nds", "args": {"path": str(path)}}, searcher={"name": "rs"})]
    return setup


def _darts_outside(genotype_text):
    """A searcher proposing a DARTS genotype (in the DARTS repository's notation) the space refuses."""
    def setup(ws):
        module = ws.text("outside.py", OUTSIDE_SEARCHER.format(arch=genotype_text))
        return [ws.config(space={"name": "darts"}, searcher={"name": f"{module}:Outside"})]
    return setup


_DARTS_V2 = ("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
             "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], "
             "reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
             "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])")


def _later_entry_missing_images(hook):
    """An experiment whose second entry needs live NASWOT scores (the hook's proxy, or an online
    predictor's zero-cost feature) from an npz that is not there: refused before the first entry
    runs anything."""
    def setup(ws):
        first = ws.config("first.yaml", label="first", out=str(ws.root / "unused1"))
        second = ws.config("second.yaml", label="second", out=str(ws.root / "unused2"), hook=hook,
                           data={"npz": str(ws.root / "missing.npz")})
        experiment = ws.root / "experiment.yaml"
        experiment.write_text(yaml.safe_dump({"label": "exp", "runs": 2, "budget_seconds": 2000,
                                              "out": str(ws.root / "exp"),
                                              "searchers": [{"config": str(first)}, {"config": str(second)}]}))
        return [experiment]
    return setup


def _no_runs_started(ws):
    assert not list(ws.root.glob("exp/**/progress.jsonl")) and not list(ws.root.glob("exp/**/runs.jsonl"))


def _crafted_nb201(ws):
    import torch

    path = ws.root / "bench" / "NAS-Bench-201-v1_1-096897.pth"
    path.parent.mkdir()
    torch.save({"meta_archs": [], "arch2infos": {0: _Marker(ws.root / "code_ran")}, "evaluated_indexes": []}, path)
    return [ws.config(space={"name": "nb201", "args": {"backend": "nb201", "path": str(path)}})]


def _crafted_nats(ws):
    import bz2

    directory = ws.root / "NATS-tss-v1_0-3ffb9-simple"
    directory.mkdir()
    with bz2.BZ2File(directory / "meta.pickle.pbz2", "wb") as handle:
        pickle.dump({"meta_archs": _Marker(ws.root / "code_ran")}, handle)
    return [ws.config(space={"name": "nb201", "args": {"backend": "nats", "path": str(directory)}})]


def _experiment_bad_role(ws: Workspace) -> list:
    configs = ROOT / "configs"
    path = ws.root / "exp.yaml"
    path.write_text(yaml.safe_dump({"runs": 1, "budget_seconds": 3000, "out": str(ws.root / "out"),
                                    "searchers": [str(configs / "rs.yaml"), str(configs / "g_rs.yaml")],
                                    "pairs": [{"baseline": "rs", "treatment": "g_rs", "role": "vanilla"}]}))
    return [path]


def _report_bad_role(ws: Workspace) -> list:
    import json

    results = ws.root / "results"
    for label in ("rs", "g_rs"):
        (results / label).mkdir(parents=True)
        record = {"run": 0, "seed": 0, "label": label, "searcher": "rs", "proxy": None, "best_arch": "a",
                  "best_fitness": 90.0, "final": {"cifar10_valid": 90.0}, "evaluations": 1,
                  "proxy_scores": 0, "proxy_seconds": 0.0, "simulated_seconds": 10.0, "trajectory": {"t": [10.0]},
                  "incumbents": [[0, "a", {"cifar10_valid": 90.0}]]}
        (results / label / "runs.jsonl").write_text(json.dumps(record) + "\n")
    (results / "experiment.json").write_text(json.dumps(
        {"searchers": [{"label": "rs"}, {"label": "g_rs"}],
         "pairs": [{"baseline": "rs", "treatment": "g_rs", "role": "vanilla"}]}))
    return ["nasearch", "report", results]


def _hook_predictor(**hook):
    return lambda ws: [ws.config(hook={"proxy": "gradsign", "cost": "lookup", **hook})]


#: a user's space with the required members only: no encoding, no learning curves
PLAIN_SPACE = '''
import numpy as np
from nasearch.spaces.protocol import Evaluation


class PlainSpace:
    name = "plain"
    version = "1"

    def sample(self, rng):
        return int(rng.integers(100))

    def mutate(self, arch, rng):
        return (arch + 1) % 100

    def query(self, arch, rng):
        return Evaluation(float(arch), 10.0)

    def final_metrics(self, arch):
        return {"value": float(arch)}

    def arch_id(self, arch):
        return str(arch)

    def from_id(self, arch_id):
        return int(arch_id)

    def build_network(self, arch, num_classes=10):
        import torch
        return torch.nn.Linear(4, num_classes)
'''


def _plain_space_predictor(predictor):
    def setup(ws):
        module = ws.text("plain_space.py", PLAIN_SPACE)
        return [ws.config(space={"class": f"{module}:PlainSpace"}, hook={"select": "uniform", "predictor": predictor})]
    return setup


def _missing_library(module, predictor):
    def setup(ws):
        ws.env["CATALOGUE_PRELUDE"] = (
            "import importlib.util as u; _find = u.find_spec; "
            f"u.find_spec = lambda name, *a, **k: None if name == {module!r} else _find(name, *a, **k)")
        return [ws.config(hook={"proxy": "gradsign", "cost": "lookup", "predictor": predictor})]
    return setup


# -- code named in a config, a data file or on the command line: never run (one loader rule) ----------
def _no_new_files(pattern: str):
    def check(ws: Workspace) -> None:
        made = sorted(str(p.relative_to(ws.root)) for p in ws.root.rglob(pattern))
        assert not made, f"code ran: it wrote {made}"
    return check


def _marker_call(reference: str, key: str):
    """A config whose `key` names `reference` with arguments that would create the marker file."""
    def setup(ws: Workspace) -> list:
        marker = str(ws.root / "code_ran")
        if key == "space.class":
            args = {"args": ["touch", marker]} if reference.endswith(":run") else {"cmd": ["touch", marker]}
            return [ws.config(space={"class": reference, "args": args})]
        if key == "builder":
            table = ws.text("table.csv", "arch,accuracy,cost\na-b,90,10\nb-a,91,10\n")
            return [ws.config(space={"name": "tabular", "args": {"path": str(table), "builder": reference}},
                              hook={"proxy": "params", "cost": "lookup"})]
        return [ws.config(hook={"select": "uniform", "predictor": reference})]
    return setup


#: a distribution (dist-info with entry points) whose entry points name the standard library
EVIL_PLUGIN_ENTRY_POINTS = """[nasearch.predictors]
evil_predictor = textwrap:dedent
[nasearch.spaces]
evil_space = os:getcwd
"""


def _evil_plugin(key: str):
    def setup(ws: Workspace) -> list:
        site = ws.root / "site"
        ws.binary("site/evilplug-0.1.dist-info/METADATA", b"Metadata-Version: 2.1\nName: evilplug\nVersion: 0.1\n")
        ws.binary("site/evilplug-0.1.dist-info/entry_points.txt", EVIL_PLUGIN_ENTRY_POINTS.encode())
        ws.env["PYTHONPATH"] = os.pathsep.join([str(site), str(ROOT), str(TESTS)])
        if key == "space":
            return [ws.config(space={"name": "evil_space"})]
        return [ws.config(hook={"select": "uniform", "predictor": "evil_predictor"})]
    return setup


def _predictors_cli(reference: str):
    return lambda ws: ["nasearch", "predictors", "--predictors", reference, "--out", ws.root / "study",
                       "--trials", "1", "--train-sizes", "5"]


_STDLIB = Path(os.__file__).resolve().parent


def _yaml_text(text: str):
    def setup(ws: Workspace) -> list:
        return [ws.text("config.yaml", text)]
    return setup


_BASE_YAML = "space: {name: nb201}\nsearcher: {name: rea}\nruns: 1\nbudget_seconds: 3000\n"
#: a billion-laughs document: eleven levels of ten aliases each (10^11 nodes once expanded)
_ALIAS_BOMB = _BASE_YAML + "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(11))
_DEEP = _BASE_YAML + "searcher_extra: " + "[" * 20000 + "]" * 20000 + "\n"


def _config_value(**content):
    return lambda ws: [ws.config(**content)]


def _experiment_report(report):
    def setup(ws: Workspace) -> list:
        path = ws.root / "exp.yaml"
        path.write_text(yaml.safe_dump({"runs": 1, "budget_seconds": 3000, "out": str(ws.root / "out"), "report": report,
                                        "searchers": [str(ROOT / "configs" / "rs.yaml")]}))
        return [path]
    return setup


def _experiment_workers_zero(ws: Workspace) -> list:
    path = ws.root / "exp.yaml"
    path.write_text(yaml.safe_dump({"runs": 1, "budget_seconds": 3000, "workers": 0, "out": str(ws.root / "out"),
                                    "searchers": [str(ROOT / "configs" / "rs.yaml")]}))
    return [path]


# -- signals (#25) --
#: long enough that a signal lands mid-work: the first runs finish in about a second, all of them in minutes
_LONG_RUN = {"searcher": {"name": "rs"}, "runs": 400, "budget_seconds": 12000}
_STOPPED = r"^nasearch: stopped by {}; finished runs are kept, rerun the same command to resume$"


def _long_run(ws: Workspace) -> list:
    return [ws.config(**_LONG_RUN), "--workers", "2"]


def _long_experiment(ws: Workspace) -> list:
    path = ws.root / "exp.yaml"
    path.write_text(yaml.safe_dump({"runs": 400, "budget_seconds": 12000, "out": str(ws.root / "exp"),
                                    "searchers": [str(ROOT / "configs" / "rs.yaml"), str(ROOT / "configs" / "rea.yaml")]}))
    return [path, "--workers", "2"]


def _long_predictor_study(ws: Workspace) -> list:
    return ["nasearch", "predictors", "--predictors", "params", "--train-sizes", "5,8,14,24,42,71,121,205",
            "--trials", "50", "--test-size", "10", "--workers", "2", "--out", ws.root / "study", "--no-progress"]


def _ray_experiment(address, timeout: str | None = "0.5"):
    """An experiment sent to a Ray cluster at ``address`` (a callable: the silent server's)."""
    def setup(ws: Workspace) -> list:
        if timeout is not None:
            ws.env["NASEARCH_RAY_TIMEOUT"] = timeout
        path = ws.root / "exp.yaml"
        path.write_text(yaml.safe_dump({"runs": 1, "budget_seconds": 3000, "out": str(ws.root / "exp"),
                                        "searchers": [str(ROOT / "configs" / "rs.yaml")]}))
        return [path, "--backend", "ray", "--ray-address", address() if callable(address) else address]
    return setup


# -- locations (#25) --
#: cheap command lines of the other writing subcommands, each with its own output folder flag
def _correlate_out(out) -> list:
    return ["nasearch", "correlate", "--proxies", "params", "--n", "4", "--pool", "2", "--repeats", "2",
            "--bootstrap", "10", "--no-progress", "--out", out]


def _predictors_out(out) -> list:
    return ["nasearch", "predictors", "--predictors", "params", "--train-sizes", "5", "--trials", "1",
            "--test-size", "5", "--no-progress", "--out", out]


def _precompute(ws, tables, *extra) -> list:
    return ["nasearch", "precompute", "--proxy", "params", "--limit", "1", "--workers", "1", "--quiet",
            "--cache-dir", ws.root / "cache", "--tables-dir", tables, *extra]


def _experiment_at(ws, out) -> list:
    path = ws.root / "exp.yaml"
    path.write_text(yaml.safe_dump({"runs": 1, "budget_seconds": 2000, "out": str(out),
                                    "searchers": [str(ROOT / "configs" / "rs.yaml")]}))
    return [path]


def _loop(ws, name: str = "loop") -> Path:
    """A symbolic link loop: ``name`` -> ``name_b`` -> ``name``."""
    first, second = ws.root / name, ws.root / f"{name}_b"
    first.symlink_to(second)
    second.symlink_to(first)
    return first


def _dangling(ws) -> Path:
    """A symbolic link to nothing where the out folder goes."""
    link = ws.root / "dangling"
    link.symlink_to(ws.root / "nowhere")
    return link


def _a_file(ws, name: str = "afile") -> Path:
    return ws.text(name, "a file where a folder should go\n")


#: every file write of the command fails with EFBIG (a file-size limit of 0 bytes, as `ulimit -f 0`)
_FSIZE_ZERO = ("import resource, signal\nsignal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
               "resource.setrlimit(resource.RLIMIT_FSIZE, (0, resource.RLIM_INFINITY))\n")


def _read_only_under(root: Path) -> str:
    """A prelude: making a folder under ``root`` fails as on a read-only file system (EROFS)."""
    return ("import errno, os\n_mkdir = os.mkdir\n"
            "def _read_only(path, *args, **kwargs):\n"
            f"    if str(path).startswith({str(root)!r}):\n"
            "        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))\n"
            "    return _mkdir(path, *args, **kwargs)\n"
            "os.mkdir = _read_only\n")


#: the run log is opened on a full disk: appending to any progress.jsonl writes to /dev/full (ENOSPC)
_PROGRESS_ON_FULL_DISK = ("import builtins, io\n_open = io.open\n"
                          "def _full(file, mode='r', *args, **kwargs):\n"
                          "    if str(file).endswith('progress.jsonl') and 'a' in mode:\n"
                          "        file = '/dev/full'\n"
                          "    return _open(file, mode, *args, **kwargs)\n"
                          "io.open = builtins.open = _full\n")


def _run_with_prelude(prelude: Callable[[Workspace], str], **content):
    def setup(ws: Workspace) -> list:
        ws.env["CATALOGUE_PRELUDE"] = prelude(ws)
        return [ws.config(**content)]
    return setup


def _out_at(where: Callable[[Workspace], Path], command: str):
    """``command`` (run, experiment, correlate, predictors, precompute, report) writing into ``where(ws)``."""
    def setup(ws: Workspace) -> list:
        out = where(ws)
        if command == "run":
            return [ws.config(out=str(out))]
        if command == "experiment":
            return _experiment_at(ws, out)
        if command == "correlate":
            return _correlate_out(out)
        if command == "predictors":
            return _predictors_out(out)
        if command == "precompute":
            return _precompute(ws, out)
        return ["nasearch", "report", _report_results(ws), "--out", out]
    return setup


def _report_results(ws: Workspace) -> Path:
    """A one-searcher results folder (one run) that `nasearch report` reads."""
    results = ws.root / "results" / "rs"
    results.mkdir(parents=True)
    record = {"run": 0, "seed": 0, "label": "rs", "searcher": "rs", "proxy": None, "best_arch": "a",
              "best_fitness": 90.0, "final": {"cifar10_valid": 90.0}, "evaluations": 1, "proxy_scores": 0,
              "proxy_seconds": 0.0, "simulated_seconds": 10.0, "trajectory": {"t": [10.0]},
              "incumbents": [[0, "a", {"cifar10_valid": 90.0}]]}
    (results / "runs.jsonl").write_text(json.dumps(record) + "\n")
    return results


_LONG_NAME = "x" * 300  # longer than a file name may be (255 bytes)

#: the hook of the score-cache cases: a data-free proxy read from the cache, not a packaged table
CACHE_HOOK = {"proxy": "params", "tables": False, "cost": "measured"}


def _cache_with(score, seconds=0.01, raw: bytes | None = None):
    """A score cache holding one nb201 `params` score (``score``, ``seconds`` as SQLite stores them),
    or ``raw`` bytes where the database goes."""
    def setup(ws: Workspace) -> list:
        import sqlite3

        from nasearch.proxies.store import ScoreCache, ScoreKey, ScoreRecord

        cache = ws.root / "cache"
        if raw is not None:
            ws.binary("cache/scores.sqlite", raw)
        else:
            key = ScoreKey("nb201@1", "params", "cifar10", 0, 0)
            store = ScoreCache(cache)
            store.put(key, "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|skip_connect~1|skip_connect~2|",
                      ScoreRecord(1.0, 0.01, "test", "none"))
            with store.connection:
                store.connection.execute("UPDATE scores SET score = ?, seconds = ?", (score, seconds))
            store.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            store.connection.close()
        return [ws.config(hook=CACHE_HOOK, cache_dir=str(cache))]
    return setup


def _cache_db_is_a_folder(ws: Workspace) -> list:
    (ws.root / "cache" / "scores.sqlite").mkdir(parents=True)
    return [ws.config(hook=CACHE_HOOK, cache_dir=str(ws.root / "cache"))]


_PARAMS_TABLE = ROOT / "nasearch" / "data" / "proxy_tables" / "nb201-v1_params_cifar10_b0_s0"


def _damaged_table(ws: Workspace, csv_damage=None, json_damage=None, gzip_damage=None) -> Path:
    """A copy of the packaged nb201 `params` table in ``ws/tables``, damaged: the CSV text, the JSON
    sidecar text or the gzip bytes."""
    import gzip

    tables = ws.root / "tables"
    tables.mkdir(exist_ok=True)
    text = gzip.decompress(Path(f"{_PARAMS_TABLE}.csv.gz").read_bytes()).decode()
    data = gzip.compress((csv_damage(text) if csv_damage else text).encode(), mtime=0)
    ws.binary("tables/" + _PARAMS_TABLE.name + ".csv.gz", gzip_damage(data) if gzip_damage else data)
    sidecar = Path(f"{_PARAMS_TABLE}.json").read_text()
    ws.text("tables/" + _PARAMS_TABLE.name + ".json", json_damage(sidecar) if json_damage else sidecar)
    return tables


def _first_row(change):
    """A CSV damage: ``change(arch_id, score, seconds)`` gives the table's first data row anew."""
    def damage(text: str) -> str:
        header, first, rest = text.split("\n", 2)
        return "\n".join([header, ",".join(change(*first.split(","))), rest])
    return damage


def _table_case(command: str, **damage):
    """A search (the packaged tables redirected to the damaged copy) or `precompute --tables-dir` on it."""
    def setup(ws: Workspace) -> list:
        tables = _damaged_table(ws, **damage)
        if command == "precompute":
            return _precompute(ws, tables)
        ws.env["CATALOGUE_PRELUDE"] = ("import pathlib, nasearch.proxies.store as store\n"
                                       f"store.read_table.__defaults__ = (pathlib.Path({str(tables)!r}),)\n")
        return [ws.config(hook={"proxy": "params", "cost": "measured"}, cache_dir=str(ws.root / "cache"))]
    return setup


def _tabular_proxy_seconds(seconds: str):
    def setup(ws: Workspace) -> list:
        table = ws.text("table.csv", "arch,accuracy,cost,proxy_params,proxy_params_seconds\n"
                                     f"a-b,90,10,5,{seconds}\nb-a,91,10,6,0.1\n")
        return [ws.config(space={"name": "tabular", "args": {"path": str(table)}}, hook={"proxy": "params"})]
    return setup


#: a guard for cases that would hang without their fix (a FIFO read blocks): the command dies in 20 s
_ALARM = "import signal\nsignal.alarm(20)\n"


def _state_file_not_regular(name: str):
    """An existing out dir whose ``name`` is not a regular file: ``/dev/null`` (a device) for the run log,
    a FIFO for the config fingerprint (reading it would block forever)."""
    def setup(ws: Workspace) -> list:
        out = ws.root / "out"
        out.mkdir()
        if name == "config.json":
            os.mkfifo(out / name)
        else:
            (out / name).symlink_to(os.devnull)
        ws.env["CATALOGUE_PRELUDE"] = _ALARM
        return [ws.config()]
    return setup


def _cache_file_size_limit(ws: Workspace) -> list:
    ws.env["CATALOGUE_PRELUDE"] = _FSIZE_ZERO
    return _precompute(ws, ws.root / "tables")


def _report_file_size_limit(ws: Workspace) -> list:
    ws.env["CATALOGUE_PRELUDE"] = _FSIZE_ZERO
    return ["nasearch", "report", _report_results(ws), "--out", ws.root / "report"]


def _experiment_label(label: str):
    """An experiment without ``out`` (so its folder is results/<label>) whose label is ``label``."""
    def setup(ws: Workspace) -> list:
        path = ws.root / "exp.yaml"
        path.write_text(yaml.safe_dump({"label": label, "runs": 1, "budget_seconds": 2000,
                                        "searchers": [{"config": str(ROOT / "configs" / "rs.yaml")}]}))
        return [path]
    return setup


# -- values (#25) --
def _good_images(n: int = 20, size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    return rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8), (np.arange(n) % 10).astype(np.int64)


def _npz_run(damage):
    """A live-scored hook (grad_norm, batch 8) on an npz of 20 CIFAR-shaped images, damaged by
    ``damage(images, labels) -> dict of arrays`` (or bytes: the file itself)."""
    def setup(ws: Workspace) -> list:
        images, labels = _good_images()
        content = damage(images, labels)
        path = ws.root / "images.npz"
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            np.savez(path, **content)
        return [ws.config(hook=PROXY_HOOK, data={"npz": str(path)}, cache_dir=str(ws.root / "cache"))]
    return setup


def _corrupt_member(images, labels) -> bytes:
    """A valid zip (np.savez_compressed) whose compressed 'train_images' member is damaged."""
    import io
    import zipfile

    buffer = io.BytesIO()
    np.savez_compressed(buffer, train_images=images, train_labels=labels)
    raw = bytearray(buffer.getvalue())
    with zipfile.ZipFile(io.BytesIO(bytes(raw))) as archive:
        info = archive.getinfo("train_images.npy")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    for i in range(start + 20, start + info.compress_size - 20):
        raw[i] ^= 0x5A
    return bytes(raw)


def _option_flag(command: str, value: str):
    """``precompute`` / ``correlate`` with one ``--option`` whose value is ``value``."""
    def setup(ws: Workspace) -> list:
        if command == "precompute":
            return ["nasearch", "precompute", "--proxy", "gradsign", "--option", value, "--limit", "1", "--workers", "1",
                    "--quiet", "--cache-dir", ws.root / "cache", "--tables-dir", ws.root / "tables"]
        return ["nasearch", "correlate", "--proxies", "gradsign", "--option", f"gradsign.{value}", "--n", "2", "--pool", "2",
                "--out", ws.root / "corr", "--no-progress"]
    return setup


def _experiment_value(**content):
    def setup(ws: Workspace) -> list:
        path = ws.root / "exp.yaml"
        path.write_text(yaml.safe_dump({"runs": 1, "budget_seconds": 3000, "out": str(ws.root / "out"),
                                        "searchers": [str(ROOT / "configs" / "rs.yaml")], **content}))
        return [path]
    return setup


# -- records (#25) -------------------------------------------------------------------------------------------
def _record(run: int, label: str, **changes) -> dict:
    """A finished run record as runs.jsonl holds it (schema 2), with ``changes`` applied."""
    from nasearch.results import Incumbent, RunRecord, Trajectory

    fitness = 90.0 + run
    record = RunRecord(run=run, seed=run, label=label, searcher="rs", selection=None, best_arch=f"a{run}",
                       best_fitness=fitness, final={"cifar10_valid": fitness}, evaluations=2, simulated_seconds=20.0,
                       trajectory=Trajectory(t=[10.0, 20.0], arch=[f"b{run}", f"a{run}"], fitness=[80.0, fitness],
                                             epochs=[None, None], best=[80.0, fitness]),
                       incumbents=[Incumbent(1, f"a{run}", {"cifar10_valid": fitness})]).to_dict()
    record.update(changes)
    return record


def _results_folder(ws: Workspace, damage=None, runs: int = 3) -> Path:
    """An experiment's results (rs and g_rs, ``runs`` runs each, experiment.json, timing.json), then
    ``damage(root)``: what ``nasearch report`` is given."""
    from nasearch.results import encode_run

    root = ws.root / "results"
    for label in ("rs", "g_rs"):
        (root / label).mkdir(parents=True)
        (root / label / "runs.jsonl").write_text("".join(encode_run(_record(i, label)) + "\n" for i in range(runs)))
    (root / "experiment.json").write_text(json.dumps({
        "label": "exp", "description": "", "runs": runs, "budget_seconds": 3000.0, "seed": 0,
        "pairs": [{"baseline": "rs", "treatment": "g_rs", "role": "effect"}],
        "searchers": [{"label": "rs"}, {"label": "g_rs"}]}))
    (root / "timing.json").write_text(json.dumps({label: {"backend": "local", "runs_computed": runs, "wall_seconds": 1.5,
                                                          "workers": 1} for label in ("rs", "g_rs")}))
    if damage is not None:
        damage(root)
    return root


def _report_of(damage, runs: int = 3):
    return lambda ws: ["nasearch", "report", _results_folder(ws, damage, runs), "--out", ws.root / "report"]


def _edit_json(name: str, edit):
    def damage(root: Path) -> None:
        path = root / name
        path.write_text(json.dumps(edit(json.loads(path.read_text()))))
    return damage


def _edit_run(line: int, edit, name: str = "rs/runs.jsonl"):
    """Replace line ``line`` (0-based) of a runs file by ``edit(record)`` (a dict, or text as is)."""
    def damage(root: Path) -> None:
        path = root / name
        lines = path.read_text().splitlines()
        new = edit(json.loads(lines[line]))
        lines[line] = new if isinstance(new, str) else json.dumps(new)
        path.write_text("\n".join(lines) + "\n")
    return damage


def _timing_entry(**changes):
    return _edit_json("timing.json", lambda t: {**t, "rs": {**t["rs"], **changes}})


def _trajectory(**changes):
    return _edit_run(0, lambda r: {**r, "trajectory": {**r["trajectory"], **changes}})


#: a stored report (the CSVs a results folder keeps without its runs, as docs/results/*)
_STORED_SUMMARY = (
    "label,name,searcher,selection,runs,complete,cifar10_valid_mean,cifar10_valid_std,distinct_archs_mean,"
    "distinct_archs_std,evaluations_mean,evaluations_std,pool_draws_mean,pool_draws_std,overhead_seconds_mean,"
    "overhead_seconds_std,wall_seconds,runs_per_second\n"
    "rs,RS,rs,,3,True,90.1,1.2,1,0,25,1.4,0,0,0,0,1.5,2\n"
    "g_rs,G-RS,rs,gradsign,3,True,91.2,0.1,1,0,17.5,0.7,185,7.1,270.2,8.5,2.8,1.07\n")
_STORED_COMPARISONS = (
    "role,baseline,treatment,metric,n_baseline,n_treatment,mean_baseline,mean_treatment,difference,ci_low,ci_high,"
    "p_mannwhitney,p_wilcoxon,n_pairs,n_ties\n"
    "effect,rs,g_rs,cifar10_valid,3,3,90.1,91.2,1.1,0.1,1.9,0.33,0.5,3,0\n")


def _stored_report(summary=lambda t: t, comparisons=lambda t: t, timing: str | None = None):
    """``nasearch report`` on a folder keeping a report's CSVs only, each edited by its function
    (which may return bytes), and ``timing`` as timing.json."""
    def setup(ws: Workspace) -> list:
        root = ws.root / "stored"
        root.mkdir()
        for name, text in (("summary.csv", summary(_STORED_SUMMARY)), ("comparisons.csv", comparisons(_STORED_COMPARISONS))):
            (root / name).write_bytes(text if isinstance(text, bytes) else text.encode())
        if timing is not None:
            (root / "timing.json").write_text(timing)
        (root / "experiment.json").write_text(json.dumps({"label": "exp", "runs": 3, "budget_seconds": 3000.0,
                                                          "searchers": [{"label": "rs"}, {"label": "g_rs"}]}))
        return ["nasearch", "report", root, "--out", ws.root / "report"]
    return setup


def _study(*flags, csv_text: str | None = None):
    """A cheap predictor study (params: zero-cost, no fit) into OUT=ws/study, whose results.csv is
    ``csv_text`` beforehand (a resumed study), with ``flags`` last (they win)."""
    def setup(ws: Workspace) -> list:
        out = ws.root / "study"
        if csv_text is not None:
            out.mkdir()
            (out / "results.csv").write_text(csv_text)
        return ["nasearch", "predictors", "--predictors", "params", "--trials", "1", "--train-sizes", "5",
                "--test-size", "20", "--no-progress", "--out", out, *flags]
    return setup


_STUDY_HEADER = ("predictor,train_size,trial,kendall,sparse_kendall,spearman,pearson,precision10,precision20,"
                 "init_seconds,fit_seconds,query_seconds\n")
_STUDY_ROW = "params,0,{trial},0.5,0.5,0.6,0.6,0.3,0.4,0,0,1e-05\n"


def _correlate(*flags):
    return lambda ws: ["nasearch", "correlate", "--proxies", "params", "--n", "20", "--pool", "5", "--repeats", "5",
                       "--bootstrap", "0", "--no-progress", "--out", ws.root / "corr", "--cache-dir", ws.root / "cache",
                       *flags]


#: lock files this test process holds (flock) while a case's command runs; released by _release_locks
_HELD: list = []


def _locked(setup):
    """``setup``'s command, run while this process holds the lock of its --out (as a running study or
    search would): the command must refuse, naming this process."""
    def locked_setup(ws: Workspace) -> list:
        import fcntl

        argv = setup(ws)
        out = Path(argv[argv.index("--out") + 1]) if "--out" in argv else Path(yaml.safe_load(Path(argv[0]).read_text())["out"])
        out.mkdir(parents=True, exist_ok=True)
        handle = (out / ".nasearch.lock").open("a+")
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        _HELD.append(handle)
        return argv
    return locked_setup


def _release_locks(ws: Workspace) -> None:
    while _HELD:
        _HELD.pop().close()


def _space_reporting(final: str, cost: str = "10.0"):
    """A run of a user's space whose final metrics are ``final`` and query cost ``cost`` (Python text)."""
    def setup(ws: Workspace) -> list:
        module = ws.text("plain_space.py", PLAIN_SPACE.replace('return {"value": float(arch)}', f'return {final}')
                         .replace("Evaluation(float(arch), 10.0)", f"Evaluation(float(arch), {cost})"))
        return [ws.config(space={"class": f"{module}:PlainSpace"}, searcher={"name": "rs"})]
    return setup


def _nothing_stored(ws: Workspace) -> None:
    stored = [p for p in ws.root.glob("out/*.jsonl") if p.read_text()]
    assert not stored, f"an invalid record was stored: {stored}"


def _progress_edited(root: Path) -> None:
    """rs is unfinished (progress.jsonl only), and every line's final metric was edited after it was written."""
    from nasearch.results import RunRecord, progress_line

    lines = [json.loads(progress_line(RunRecord.from_dict(_record(i, "rs")))) for i in range(3)]
    for line in lines:
        line["final"]["cifar10_valid"] = 99.0
    (root / "rs" / "runs.jsonl").unlink()
    (root / "rs" / "progress.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))


_LOOKUP = {"cost": "lookup"}
#: 80 aliases (under the loader's 100), each anchor used twice: 2**40 values once expanded, in searcher.args
_DOUBLING_BOMB = (_BASE_YAML.replace("searcher: {name: rea}\n", "") + "searcher: {name: rea, args: {population_size: ["
                  + "&a0 [1, 1], " + ", ".join(f"&a{i} [*a{i - 1}, *a{i - 1}]" for i in range(1, 40)) + "]}}\n")


# -- sigpre (#25) --
def _long_precompute(ws: Workspace) -> list:
    return ["nasearch", "precompute", "--proxy", "params", "--workers", "2", "--quiet",
            "--cache-dir", ws.root / "cache", "--tables-dir", ws.root / "tables"]


def _long_correlate(ws: Workspace) -> list:
    """flops: no packaged table answers it (params' would, and no worker would start); 1000 archs take a minute."""
    return ["nasearch", "correlate", "--proxies", "flops", "--n", "1000", "--pool", "5", "--repeats", "5",
            "--bootstrap", "0", "--workers", "2", "--no-progress", "--out", ws.root / "corr", "--cache-dir", ws.root / "cache"]


# -- a user's module that does not import; an entry that is a folder (#25) --
def _user_module(source: str):
    """A config whose space class lives in a file holding ``source`` (which fails to import)."""
    def setup(ws: Workspace) -> list:
        module = ws.text("user_space.py", source)
        return [ws.config(space={"class": f"{module}:UserSpace"})]
    return setup


def _experiment_entry_folder(ws: Workspace) -> list:
    (ws.root / "entry_dir").mkdir()
    path = ws.root / "exp.yaml"
    path.write_text(yaml.safe_dump({"runs": 1, "budget_seconds": 3000, "out": str(ws.root / "out"),
                                    "searchers": [{"config": str(ws.root / "entry_dir")}]}))
    return [path]


CASES: list[Case] = [
    Case("yaml-duplicate-key", _yaml_text(_BASE_YAML + "runs: 2\n"), r"key 'runs' is given twice \(lines 3 and 5\); keep one"),
    Case("yaml-alias-bomb", _yaml_text(_ALIAS_BOMB), r"more than 100 YAML aliases"),
    Case("yaml-deep-nesting", _yaml_text(_DEEP), r"nesting deeper than 64 levels"),
    Case("runs-trillion", _config_value(runs=10**12), r"runs: 1e\+12 is more than a search can use"),
    Case("budget-1e15", _config_value(budget_seconds=1e15), r"budget_seconds: 1e\+15 is more than a search can use"),
    Case("hook-k-ten-million", _config_value(hook={"proxy": "params", "k": 10**7, "cost": "lookup"}),
         r"hook\.k: 1e\+07 is more than a search can use"),
    Case("label-path-traversal", _config_value(label="../../x"), r"label: '\.\./\.\./x' must be a plain name"),
    Case("label-not-text", _config_value(label=5), r"label: 5 must be a plain name"),
    Case("out-not-text", _config_value(out=5), r"out: expected a folder path"),
    Case("cache-dir-not-text", _config_value(cache_dir=5), r"cache_dir: expected a folder path, got 5"),
    Case("experiment-workers-zero", _experiment_workers_zero, r"workers: must be >= 1, got 0"),
    Case("experiment-report-not-a-mapping", _experiment_report(5), r"experiment\.report: expected a mapping"),
    Case("experiment-report-unknown-paper", _experiment_report({"references": ["nopaper#t1"]}),
         r"no paper 'nopaper' in .*papers; known: gradsign_iclr2022, nb201_iclr2020"),
    Case("experiment-report-unknown-key", _experiment_report({"headline": "x"}), r"experiment\.report: unknown key 'headline'"),
    Case("experiment-report-names-unknown-label", _experiment_report({"names": {"nobody": "X"}}),
         r"experiment\.report\.names: unknown label 'nobody'"),
    Case("hook-predictor-stdlib-function", _marker_call("textwrap:dedent", "predictor"),
         r"predictor.*'textwrap:dedent' names the standard library's 'textwrap'"),
    Case("hook-predictor-installed-package", _marker_call("numpy:savez", "predictor"),
         r"'numpy:savez' names the installed package 'numpy'.*NASEARCH_TRUSTED_MODULES=numpy", after=_no_new_files("*.npz")),
    Case("hook-predictor-os-system", _marker_call("os:system", "predictor"), r"'os:system' names the standard library's 'os'"),
    Case("predictors-cli-installed-package", _predictors_cli("numpy:savez"),
         r"'numpy:savez' names the installed package 'numpy'", after=_no_new_files("*.npz")),
    Case("tabular-builder-stdlib", _marker_call("os:getcwd", "builder"),
         r"space\.args\.builder: 'os:getcwd' names the standard library's 'os'"),
    Case("tabular-builder-subprocess", _marker_call("subprocess:call", "builder"),
         r"space\.args\.builder: 'subprocess:call' names the standard library's 'subprocess'", after=_marker_absent),
    Case("space-class-stdlib-file-run", _marker_call(f"{_STDLIB / 'subprocess.py'}:run", "space.class"),
         r"space\.class: '.*subprocess\.py:run' is a file of the standard library", after=_marker_absent),
    Case("space-class-installed-package-spawn", _marker_call("setuptools._distutils.spawn:spawn", "space.class"),
         r"names the installed package 'setuptools'", after=_marker_absent),
    Case("space-class-nasearch-own-module", _marker_call("nasearch.loading:import_file", "space.class"),
         r"names nasearch's own module; use the built-in by its name"),
    Case("entry-point-predictor-stdlib", _evil_plugin("predictor"),
         r"entry point 'evil_predictor' = 'textwrap:dedent'.*names the standard library's 'textwrap'"),
    Case("entry-point-space-stdlib", _evil_plugin("space"),
         r"entry point 'evil_space' = 'os:getcwd'.*names the standard library's 'os'"),
    Case("config-not-utf8", _not_utf8, r"latin1\.yaml: not UTF-8 .*save the config as UTF-8"),
    Case("config-is-a-directory", _config_dir, r"configs_dir is a directory; pass a YAML file"),
    Case("yaml-python-tag", _python_tag, r"Python tags \(!!python/\.\.\.\) are refused", after=_marker_absent),
    Case("npz-not-an-npz-run", _bad_npz_run, r"images\.npz is not a readable npz"),
    Case("npz-not-an-npz-precompute", _bad_npz_precompute, r"images\.npz is not a readable npz"),
    Case("cifar10-download-never-answers", _silent_download, r"CIFAR-10 download .* got no answer within 0\.5 s"),
    Case("cache-dir-cannot-be-created", _cache_dir_under_file, r"score cache directory .*blocker/cache cannot be created"),
    Case("tabular-csv-random-bytes", _random_csv, r"table\.csv is not UTF-8 text"),
    Case("revisit-unknown-policy", lambda ws: [ws.config(revisit="sometimes")],
         r"revisit: 'sometimes' is not one of allow, never"),
    Case("bananas-unknown-acquisition", lambda ws: [ws.config(searcher={"name": "bananas", "args": {"acquisition": "evolution"}})],
         r"acquisition must be one of mutation, random"),
    Case("population-size-text", _searcher_arg("ten"), r"searcher\.args\.population_size: expected an integer, got 'ten'"),
    Case("population-size-fraction", _searcher_arg(10.5), r"searcher\.args\.population_size: expected an integer, got 10\.5"),
    Case("budget-flag-nan", _budget_flag("nan"), r"--budget: 'nan' is not a finite number"),
    Case("budget-flag-inf", _budget_flag("inf"), r"--budget: 'inf' is not a finite number"),
    Case("budget-flag-zero", _budget_flag("0"), r"--budget must be > 0 seconds"),
    Case("budget-yaml-inf", _budget_yaml(".inf"), r"budget_seconds: must be a finite number, got inf"),
    Case("budget-yaml-nan", _budget_yaml(".nan"), r"budget_seconds: must be a finite number, got nan"),
    Case("budget-yaml-zero", _budget_yaml("0"), r"budget_seconds: must be > 0"),
    Case("hook-cost-inf", _hook_cost(".inf"), r"hook\.cost: inf is not a finite number"),
    Case("hook-cost-nan", _hook_cost(".nan"), r"hook\.cost: nan is not a finite number"),
    Case("hook-predictor-unknown", _hook_predictor(predictor="xgboostt"), r"unknown predictor 'xgboostt'; choose one of"),
    Case("hook-predictor-needs-fidelity", _hook_predictor(predictor="sotle@3"),
         r"predictor 'sotle@3' needs learning curves .*space 'nb201' with this backend lacks"),
    Case("hook-predictor-needs-curves-custom-space", _plain_space_predictor("early_stop@2"),
         r"predictor 'early_stop@2' needs learning curves .*space 'plain'"),
    Case("hook-predictor-needs-encoding", _plain_space_predictor("xgb"),
         r"predictor 'xgb' needs an architecture encoding .*space 'plain' lacks"),
    Case("hook-predictor-missing-xgboost", _missing_library("xgboost", "xgb+gradsign"),
         r"predictor 'xgb\+gradsign' needs the 'xgboost' library; install it with pip install 'nasearch\[predictors\]'"),
    Case("hook-predictor-missing-lightgbm", _missing_library("lightgbm", "lgb"), r"predictor 'lgb' needs the 'lightgbm' library"),
    Case("hook-warmup-negative", _hook_predictor(predictor="xgb", warmup=-3), r"hook\.warmup: must be >= 0, got -3"),
    Case("hook-warmup-fraction", _hook_predictor(predictor="xgb", warmup=2.5), r"hook\.warmup: expected an integer, got 2\.5"),
    Case("hook-warmup-text", _hook_predictor(predictor="xgb", warmup="many"), r"hook\.warmup: expected an integer, got 'many'"),
    Case("hook-warmup-too-small-to-fit", _hook_predictor(predictor="xgb", warmup=1),
         r"hook\.warmup: 1; predictor 'xgb' learns from the run's evaluations, so it needs warmup >= 2"),
    Case("hook-refit-every-zero", _hook_predictor(predictor="xgb", refit_every=0), r"hook\.refit_every: must be >= 1, got 0"),
    Case("hook-refit-every-fraction", _hook_predictor(predictor="xgb", refit_every=0.5),
         r"hook\.refit_every: expected an integer, got 0\.5"),
    Case("hook-warmup-without-predictor", _hook_predictor(warmup=5),
         r"hook\.warmup: only means something with hook\.predictor"),
    Case("nb201-op-index-5", _outside_arch((5, 0, 0, 0, 0, 0)), r"NB201 arch must be 6 op indices in 0\.\.4.*\(5, 0, 0, 0, 0, 0\)"),
    Case("nb201-negative-op", _outside_arch((-1, 0, 0, 0, 0, 0)), r"NB201 arch must be 6 op indices.*\(-1, 0"),
    Case("nb201-five-edges", _outside_arch((0, 1, 2, 3, 4)), r"NB201 arch must be 6 op indices.*\(0, 1, 2, 3, 4\)"),
    Case("nb201-seven-edges", _outside_arch((0, 1, 2, 3, 4, 0, 1)), r"NB201 arch must be 6 op indices"),
    Case("darts-unknown-op", _darts_outside(_DARTS_V2.replace("'dil_conv_3x3'", "'dil_conv_9x9'")),
         r"unknown op 'dil_conv_9x9' in the normal cell; nb301 ops are"),
    Case("darts-input-out-of-range", _darts_outside(_DARTS_V2.replace("('dil_conv_3x3', 2)", "('dil_conv_3x3', 6)")),
         r"input 6 of node 5 in the normal cell is out of range: node 5 reads states 0\.\.4"),
    Case("darts-wrong-node-count", _darts_outside(_DARTS_V2.replace("('skip_connect', 0), ('dil_conv_3x3', 2)", "")),
         r"nb301 normal cell must have 4 nodes \(8 \(op, input\) pairs\), got 6 pairs"),
    Case("darts-no-backend", _darts_outside(_DARTS_V2), r"the darts space has no results without a backend"),
    Case("darts-odd-width", lambda ws: [ws.config(space={"name": "darts", "args": {"width": 15}})],
         r"darts space: width must be even"),
    Case("nds-truncated-file", _nds_file(lambda text: text[: len(text) // 2]),
         r"DARTS\.json is not valid JSON \(.*\); the file is truncated or damaged"),
    Case("nds-record-unknown-op", _nds_file(lambda text: text.replace("sep_conv_3x3", "sep_conv_9x9")),
         r"DARTS\.json record 1 is not an NDS darts genotype: unknown op 'sep_conv_9x9' in the normal cell"),
    Case("nds-record-input-out-of-range", _nds_file(lambda text: text.replace('["max_pool_3x3", 3]', '["max_pool_3x3", 7]')),
         r"DARTS\.json record 0 is not an NDS darts genotype: input 7 of node 5 in the normal cell is out of range: node 5 reads states 0\.\.4"),
    Case("nds-imagenet-sweep", _nds_file(lambda text: text, name="DARTS_in.json"), r"is an ImageNet sweep"),
    Case("nds-correlate-space-arg-without-value", lambda ws: [
        "nasearch", "correlate", "--space", "nds", "--space-arg", "path", "--out", str(ws.root / "o"), "--no-progress"],
         r"--space-arg 'path' must look like KEY=VALUE"),
    Case("nb201-crafted-pth", _crafted_nb201, r"holds the Python object .*exec, outside the benchmark's allow-list.*"
         r"NASEARCH_TRUST_PICKLE=1", after=_marker_absent),
    Case("experiment-later-entry-missing-images", _later_entry_missing_images({"proxy": "naswot", "k": 2, "batch_size": 8}),
         r"second: .*missing\.npz", after=_no_runs_started),
    Case("experiment-later-entry-feature-missing-images",
         _later_entry_missing_images({"proxy": "params", "k": 2, "predictor": "xgb+naswot", "batch_size": 8}),
         r"second: .*missing\.npz", after=_no_runs_started),
    Case("experiment-pair-role-unknown", _experiment_bad_role,
         r"experiment\.pairs: rs -> g_rs: role 'vanilla' is not one of effect, exact_control, trivial_proxy, proxy_vs_proxy$"),
    Case("report-pair-role-unknown", _report_bad_role,
         r"experiment\.json: pair rs -> g_rs: role 'vanilla' is not one of effect, exact_control, trivial_proxy"),
    Case("nats-crafted-archive", _crafted_nats, r"holds the Python object builtins\.exec, outside the benchmark's"
         r" allow-list.*NASEARCH_TRUST_PICKLE=1", after=_marker_absent),
    # -- signals (#25) --
    Case("sigterm-run-workers-2", _long_run, _STOPPED.format("SIGTERM"), status=143,
         signal_after=(signal.SIGTERM, "out/progress.jsonl")),
    Case("sighup-run-workers-2", _long_run, _STOPPED.format("SIGHUP"), status=129,
         signal_after=(signal.SIGHUP, "out/progress.jsonl")),
    Case("sigterm-experiment-workers-2", _long_experiment, _STOPPED.format("SIGTERM"), status=143,
         signal_after=(signal.SIGTERM, "exp/rs/progress.jsonl")),
    Case("sigterm-predictors-workers-2", _long_predictor_study, _STOPPED.format("SIGTERM"), status=143,
         signal_after=(signal.SIGTERM, "study/results.csv")),
    Case("ray-address-never-answers", _ray_experiment(lambda: f"127.0.0.1:{silent_server().port}"),
         r"--ray-address '127\.0\.0\.1:\d+' accepted the connection but gave no answer within 0\.5 s.*NASEARCH_RAY_TIMEOUT",
         after=_no_runs_started),
    Case("ray-client-address-never-answers", _ray_experiment(lambda: f"ray://127.0.0.1:{silent_server().port}"),
         r"--ray-address 'ray://127\.0\.0\.1:\d+' accepted the connection but gave no answer within 0\.5 s"),
    Case("ray-address-port-closed", _ray_experiment("127.0.0.1:1"),
         r"--ray-address '127\.0\.0\.1:1': cannot connect \(Connection refused\); start the cluster"),
    Case("ray-address-host-unknown", _ray_experiment("ray://no-such-head.invalid:10001"),
         r"--ray-address 'ray://no-such-head\.invalid:10001': host 'no-such-head\.invalid' is not known"),
    Case("ray-address-not-host-port", _ray_experiment("ray://head"), r"--ray-address 'ray://head' is not HOST:PORT"),
    Case("ray-timeout-env-not-a-number", _ray_experiment("127.0.0.1:1", timeout="soon"),
         r"\$NASEARCH_RAY_TIMEOUT: 'soon' is not a number of seconds > 0"),
    # -- locations (#25) --
    Case("out-symlink-loop-run", _out_at(_loop, "run"), r"loop: Too many levels of symbolic links; remove the link"),
    Case("out-under-symlink-loop-run", _out_at(lambda ws: _loop(ws) / "sub", "run"), r"loop.*: Too many levels of symbolic"),
    Case("out-symlink-loop-experiment", _out_at(_loop, "experiment"), r"loop: Too many levels of symbolic links"),
    Case("out-symlink-loop-correlate", _out_at(_loop, "correlate"), r"loop: Too many levels of symbolic links"),
    Case("out-symlink-loop-predictors", _out_at(_loop, "predictors"), r"loop: Too many levels of symbolic links"),
    Case("out-symlink-loop-report", _out_at(_loop, "report"), r"loop: Too many levels of symbolic links"),
    Case("tables-dir-symlink-loop-precompute", _out_at(_loop, "precompute"), r"loop: Too many levels of symbolic links"),
    Case("out-dangling-symlink-run", _out_at(_dangling, "run"), r"--out .*dangling is a symbolic link to .*nowhere, which does not exist; make that folder or remove the link"),
    Case("out-is-a-file-correlate", _out_at(_a_file, "correlate"), r"afile is a file; give a directory path"),
    Case("out-is-a-file-predictors", _out_at(_a_file, "predictors"), r"afile is a file; give a directory path"),
    Case("tables-dir-is-a-file-precompute", _out_at(_a_file, "precompute"), r"--tables-dir .*afile is a file"),
    Case("out-under-a-file-correlate", _out_at(lambda ws: _a_file(ws) / "sub", "correlate"), r"which is a file"),
    Case("out-name-too-long-run", _out_at(lambda ws: ws.root / _LONG_NAME, "run"), r"x{300}: File name too long; choose a shorter"),
    Case("out-name-too-long-correlate", _out_at(lambda ws: ws.root / _LONG_NAME, "correlate"), r"File name too long"),
    Case("out-flag-empty-correlate", _out_at(lambda ws: "", "correlate"), r"--out: an empty path .*working directory"),
    Case("out-flag-empty-predictors", _out_at(lambda ws: "", "predictors"), r"--out: an empty path"),
    Case("out-flag-empty-report", _out_at(lambda ws: "", "report"), r"--out: an empty path"),
    Case("tables-dir-flag-empty-precompute", _out_at(lambda ws: "", "precompute"), r"--tables-dir: an empty path"),
    Case("out-read-only-fs-run", _run_with_prelude(lambda ws: _read_only_under(ws.root / "out")),
         r"out: Read-only file system; choose a writable folder"),
    Case("out-file-size-limit-run", _run_with_prelude(lambda ws: _FSIZE_ZERO), r"config\.json.*: File too large; .*ulimit -f"),
    Case("progress-on-full-disk-run", _run_with_prelude(lambda ws: _PROGRESS_ON_FULL_DISK),
         r"out/progress\.jsonl: No space left on device; free some space"),
    Case("cache-db-random-bytes", _cache_with(None, raw=RANDOM_BYTES), r"cache/scores\.sqlite is not a score cache .*delete it"),
    Case("cache-db-text-file", _cache_with(None, raw=b"scores, not a database\n" * 50), r"scores\.sqlite is not a score cache"),
    Case("cache-db-is-a-folder", _cache_db_is_a_folder, r"cache/scores\.sqlite.*cannot be opened.*cache_dir"),
    Case("cache-score-text", _cache_with("high"), r"scores\.sqlite: the cached params score of .* is 'high', not a number"),
    Case("cache-score-null", _cache_with(None), r"scores\.sqlite: the cached params score of .* is None, not a number"),
    Case("cache-seconds-negative", _cache_with(1.0, -5.0), r"scores\.sqlite: .* has seconds -5\.0; a score costs finite seconds >= 0"),
    Case("cache-seconds-text", _cache_with(1.0, "soon"), r"scores\.sqlite: .* seconds 'soon'"),
    Case("tables-gzip-corrupt-search", _table_case("run", gzip_damage=lambda data: data[:20] + b"\x00" * 40 + data[60:]),
         r"params_cifar10_b0_s0\.csv\.gz is not a readable table \(.*\); restore it"),
    Case("tables-gzip-truncated-search", _table_case("run", gzip_damage=lambda data: data[: len(data) // 2]),
         r"params_cifar10_b0_s0\.csv\.gz is not a readable table"),
    Case("tables-json-corrupt-search", _table_case("run", json_damage=lambda text: text[:40]),
         r"params_cifar10_b0_s0\.json is not valid JSON"),
    Case("tables-negative-seconds-search", _table_case("run", csv_damage=_first_row(lambda a, s, t: (a, s, "-5.0"))),
         r"params_cifar10_b0_s0\.csv\.gz row 2: seconds -5\.0 .*finite seconds >= 0"),
    Case("tables-nan-score-search", _table_case("run", csv_damage=_first_row(lambda a, s, t: (a, "nan", t))),
         r"params_cifar10_b0_s0\.csv\.gz row 2: score 'nan' is not a number"),
    Case("tables-gzip-truncated-precompute", _table_case("precompute", gzip_damage=lambda data: data[: len(data) // 2]),
         r"params_cifar10_b0_s0\.csv\.gz is not a readable table"),
    Case("tables-json-corrupt-precompute", _table_case("precompute", json_damage=lambda text: "{" + text),
         r"params_cifar10_b0_s0\.json is not valid JSON"),
    Case("tables-json-not-a-mapping-precompute", _table_case("precompute", json_damage=lambda text: "[1, 2]"),
         r"params_cifar10_b0_s0\.json is not a table's metadata"),
    Case("tables-short-row-precompute", _table_case("precompute", csv_damage=_first_row(lambda a, s, t: (a, s))),
         r"params_cifar10_b0_s0\.csv\.gz row 2: expected 3 fields"),
    Case("tables-text-seconds-precompute", _table_case("precompute", csv_damage=_first_row(lambda a, s, t: (a, s, "fast"))),
         r"params_cifar10_b0_s0\.csv\.gz row 2: seconds 'fast'"),
    Case("progress-is-a-device", _state_file_not_regular("progress.jsonl"),
         r"out/progress\.jsonl is a device, not a file nasearch wrote; delete it or use another --out"),
    Case("config-json-is-a-fifo", _state_file_not_regular("config.json"), r"out/config\.json is a FIFO, not a file"),
    Case("cache-file-size-limit-precompute", _cache_file_size_limit,
         r"cache/scores\.sqlite: the score cache cannot be used \(.*\); free some space"),
    Case("cache-dir-flag-empty-precompute", lambda ws: ["nasearch", "precompute", "--proxy", "params", "--limit", "1",
                                                         "--quiet", "--cache-dir", ""], r"--cache-dir: an empty path"),
    Case("report-file-size-limit", _report_file_size_limit, r"File too large; a file-size limit \(ulimit -f\)"),
    Case("experiment-label-too-long", _experiment_label("x" * 300), r"experiment\.label: 'x{300}' must be a plain name"),
    Case("experiment-label-path-traversal", _experiment_label("../x"), r"experiment\.label: '\.\./x' must be a plain name"),
    Case("tables-row-missing-precompute", _table_case("precompute", csv_damage=lambda text: text.rstrip("\n").rsplit("\n", 1)[0] + "\n"),
         r"params_cifar10_b0_s0\.csv\.gz holds 15624 rows, its nb201-v1_params_cifar10_b0_s0\.json says 15625"),
    Case("tables-no-header-search", _table_case("run", csv_damage=lambda text: text.split("\n", 1)[1]),
         r"params_cifar10_b0_s0\.csv\.gz does not start with the header arch_id,score,seconds"),
    Case("tabular-proxy-seconds-negative", _tabular_proxy_seconds("-3"), r"table\.csv row 2: column 'proxy_params_seconds' is -3"),
    # -- records (#25) --
    Case("report-experiment-json-null", _report_of(lambda root: (root / "experiment.json").write_text("null\n")),
         r"experiment\.json: expected a JSON mapping, got None; restore the file or delete it"),
    Case("report-timing-workers-text", _report_of(_timing_entry(workers="two")),
         r"timing\.json: rs\.workers is 'two', not an integer >= 1; delete the file"),
    Case("report-timing-backend-list", _report_of(_timing_entry(backend=["local"])),
         r"timing\.json: rs\.backend is \['local'\], not text; delete the file"),
    Case("report-timing-unknown-key", _report_of(_timing_entry(wall=3)),
         r"timing\.json: rs: unknown key 'wall'"),
    Case("report-runs-final-text", _report_of(_edit_run(1, lambda r: {**r, "final": {"cifar10_valid": "91"}})),
         r"rs/runs\.jsonl: line 2 is not a run record \(field 'final' must map metric names to numbers.*; restore "
         r"the file, or delete it and rerun the searcher's command to rewrite it from progress\.jsonl$"),
    Case("report-runs-final-nan", _report_of(_edit_run(0, lambda r: json.dumps({**r, "final": {"cifar10_valid": float("nan")}}))),
         r"rs/runs\.jsonl: line 1 is not a run record \(field 'final': metric 'cifar10_valid' is nan, not a finite number\)"),
    Case("report-runs-final-infinite", _report_of(_edit_run(2, lambda r: json.dumps({**r, "final": {"cifar10_valid": float("inf")}}))),
         r"rs/runs\.jsonl: line 3 is not a run record \(field 'final': metric 'cifar10_valid' is inf"),
    Case("report-runs-entry-without-label", _report_of(_edit_run(0, lambda r: {k: v for k, v in r.items() if k != "label"})),
         r"rs/runs\.jsonl: line 1 is not a run record \(field 'label' is missing\)"),
    Case("report-runs-list-not-mapping", _report_of(_edit_run(0, lambda r: [r])),
         r"rs/runs\.jsonl: line 1 is not a run record \(a run record is a JSON object, not list\)"),
    Case("report-runs-trajectory-fitness-text", _report_of(_trajectory(fitness=["x", "y"])),
         r"line 1 is not a run record \(field 'trajectory' must be .*fitness"),
    Case("report-runs-trajectory-best-text", _report_of(_trajectory(best=["x", "y"])),
         r"line 1 is not a run record \(field 'trajectory' must be .*best"),
    Case("report-runs-trajectory-time-nan", _report_of(_trajectory(t=[float("nan"), 20.0])),
         r"line 1 is not a run record \(field 'trajectory' must be .*times"),
    Case("report-runs-trajectory-time-backwards", _report_of(_trajectory(t=[20.0, 10.0])),
         r"line 1 is not a run record \(field 'trajectory' must be .*times"),
    Case("report-runs-trajectory-epochs-text", _report_of(_trajectory(epochs=["x", None])),
         r"line 1 is not a run record \(field 'trajectory' must be .*epochs"),
    Case("report-runs-incumbent-step-negative", _report_of(_edit_run(0, lambda r: {**r, "incumbents": [{**r["incumbents"][0], "step": -1}]})),
         r"line 1 is not a run record \(field 'incumbents' must be"),
    Case("report-runs-duplicate-run", _report_of(_edit_run(1, lambda r: {**r, "run": 0})),
         r"rs/runs\.jsonl: line 2 is not a run record \(run 0 is already on line 1"),
    Case("report-progress-edited-values", _report_of(_progress_edited),
         r"rs/progress\.jsonl: line 1 is not a run record \(its checksum does not match its values: the line was "
         r"edited or damaged\) \(and 2 more\).*rerun the searcher"),
    Case("report-experiment-json-unknown-key", _report_of(_edit_json("experiment.json", lambda e: {**e, "budget": 5})),
         r"experiment\.json: unknown key 'budget' \(known: label, .*\); restore the file or delete it"),
    Case("stored-summary-runs-text", _stored_report(lambda t: t.replace(",rs,,3,", ",rs,,three,")),
         r"summary\.csv: line 2, column 'runs' is 'three', not a whole number >= 1; restore the file"),
    Case("stored-summary-mean-text", _stored_report(lambda t: t.replace(",90.1,", ",high,")),
         r"summary\.csv: line 2, column 'cifar10_valid_mean' is 'high', not a finite number"),
    Case("stored-summary-mean-infinite", _stored_report(lambda t: t.replace(",90.1,", ",inf,")),
         r"summary\.csv: line 2, column 'cifar10_valid_mean' is 'inf', not a finite number"),
    Case("stored-summary-no-label-column", _stored_report(lambda t: t.replace("label,name,", "tag,name,", 1)),
         r"summary\.csv: no column 'label'; restore the file"),
    Case("stored-summary-repeated-label", _stored_report(lambda t: t.replace("g_rs,G-RS", "rs,G-RS")),
         r"summary\.csv: line 3 repeats label 'rs' of line 2"),
    Case("stored-summary-complete-odd", _stored_report(lambda t: t.replace(",3,True,90", ",3,yes,90")),
         r"summary\.csv: line 2, column 'complete' is 'yes', not True or False"),
    Case("stored-summary-short-row", _stored_report(lambda t: t.replace(",1.5,2\n", "\n")),
         r"summary\.csv: line 2 has fewer cells than the header"),
    Case("stored-summary-not-utf8", _stored_report(lambda t: t.encode().replace(b"G-RS", b"G-\xff")),
         r"summary\.csv: cannot be read as CSV \(not UTF-8 text\)"),
    Case("stored-comparisons-count-text", _stored_report(comparisons=lambda t: t.replace(",3,3,", ",three,3,")),
         r"comparisons\.csv: line 2, column 'n_baseline' is 'three', not a whole number"),
    Case("stored-comparisons-statistic-text", _stored_report(comparisons=lambda t: t.replace(",0.33,", ",low,")),
         r"comparisons\.csv: line 2, column 'p_mannwhitney' is 'low', not a finite number"),
    Case("stored-comparisons-unknown-role", _stored_report(comparisons=lambda t: t.replace("effect,", "vanilla,")),
         r"comparisons\.csv: line 2: role 'vanilla' is not one of effect, .*; restore the file"),
    Case("stored-comparisons-unknown-label", _stored_report(comparisons=lambda t: t.replace(",rs,g_rs,", ",nobody,g_rs,")),
         r"comparisons\.csv: line 2: baseline 'nobody' is not a label of summary\.csv \(rs, g_rs\)"),
    Case("stored-comparisons-unknown-metric", _stored_report(comparisons=lambda t: t.replace("cifar10_valid", "c100")),
         r"comparisons\.csv: line 2: metric 'c100' is not a metric of summary\.csv"),
    Case("stored-timing-text", _stored_report(timing='{"rs": {"wall_seconds": "fast"}}'),
         r"timing\.json: rs\.wall_seconds is 'fast', not a number >= 0; delete the file"),
    Case("predictors-trials-billion", _study("--trials", str(10**9)),
         r"--trials: 1e\+09 is more than this command can use \(at most 1000\); give a smaller value"),
    Case("predictors-test-size-billion", _study("--test-size", str(10**9)), r"--test-size: 1e\+09 is more than"),
    Case("predictors-workers-billion", _study("--workers", str(10**9)), r"--workers: 1e\+09 is more than"),
    Case("predictors-batch-size-billion", _study("--batch-size", str(10**9)), r"--batch-size: 1e\+09 is more than"),
    Case("predictors-seed-beyond-64-bits", _study("--seed", str(10**30)), r"--seed: 1e\+30 is more than .*2\*\*63-1"),
    Case("predictors-train-sizes-repeated", _study("--train-sizes", "14,5,14"), r"--train-sizes repeats 14; give each size once"),
    Case("predictors-train-size-larger-than-space", _study("--predictors", "xgb", "--train-sizes", "5,20000"),
         r"--train-sizes: 20000 is more than the 15605 architectures of nb201 outside the test set"),
    Case("predictors-train-size-huge", _study("--train-sizes", str(10**12)), r"--train-sizes: 1000000000000 is more than a study"),
    Case("predictors-test-size-whole-space", _study("--predictors", "xgb", "--test-size", "15625"),
         r"--test-size 15625 leaves no architecture of nb201's 15625 to train on"),
    Case("predictors-test-size-larger-than-space", _study("--test-size", "15626"),
         r"--test-size 15626 is more than the 15625 architectures of nb201; give --test-size <= 15625"),
    Case("predictors-csv-row-not-a-number", _study(csv_text=_STUDY_HEADER + _STUDY_ROW.format(trial=0).replace("0.5,0.5", "high,0.5")),
         r"study/results\.csv: line 2 is not a study row \(kendall is 'high', not a number\); delete that line"),
    Case("predictors-csv-row-repeated", _study(csv_text=_STUDY_HEADER + _STUDY_ROW.format(trial=0) * 2),
         r"results\.csv: line 3 is not a study row \(predictor params n=0 trial=0 is already on line 2\)"),
    Case("predictors-csv-row-short", _study(csv_text=_STUDY_HEADER + "params,0,0,0.5\n"),
         r"results\.csv: line 2 is not a study row \(fewer cells than the 12 columns\)"),
    Case("predictors-csv-foreign-columns", _study(csv_text="a,b\n1,2\n"),
         r"results\.csv: its columns are not a predictor study's .*; use another --out or delete it"),
    Case("predictors-csv-not-utf8",
         lambda ws: (ws.binary("study/results.csv", b"\xff\xfe" + _STUDY_HEADER.encode()), _study()(ws))[1],
         r"results\.csv: not UTF-8 text \(byte 0\)"),
    Case("predictors-second-study-same-out", _locked(_study()),
         r"study is being written by another nasearch process \(pid \d+\); wait for it to finish or use another --out",
         after=_release_locks),
    Case("run-second-search-same-out", _locked(lambda ws: [ws.config()]),
         r"out is being written by another nasearch process \(pid \d+\)", after=_release_locks),
    Case("correlate-bootstrap-billion", _correlate("--bootstrap", str(10**9)),
         r"--bootstrap: 1e\+09 is more than this command can use \(at most 100000\)"),
    Case("correlate-repeats-billion", _correlate("--repeats", str(10**9)), r"--repeats: 1e\+09 is more than"),
    Case("correlate-n-billion", _correlate("--n", str(10**9)), r"--n: 1e\+09 is more than"),
    Case("correlate-n-larger-than-space", _correlate("--n", "20000", "--pool", "5"),
         r"--n 20000 is more than the 15625 architectures of nb201; give --n <= 15625"),
    Case("correlate-pool-larger-than-n", _correlate("--pool", "50"),
         r"--pool 50 is more than the --n 20 scored archs a pool is drawn from"),
    Case("correlate-seed-beyond-64-bits", _correlate("--seed", str(10**30)), r"--seed: 1e\+30 is more than"),
    Case("correlate-workers-billion", _correlate("--workers", str(10**9)), r"--workers: 1e\+09 is more than"),
    Case("run-space-final-metric-nan", _space_reporting('{"value": float("nan")}'),
         r"run 0 made a record that is not valid \(field 'final': metric 'value' is nan, not a finite number\); the "
         r"space or searcher returned it", after=_nothing_stored),
    Case("run-space-final-metric-text", _space_reporting('{"value": "high"}'),
         r"run 0 made a record that is not valid \(field 'final' must map metric names to numbers", after=_nothing_stored),
    Case("report-experiment-json-deep-nesting", _report_of(lambda root: (root / "experiment.json").write_text("[" * 100000 + "]" * 100000)),
         r"experiment\.json: the experiment description nests too deeply to be one nasearch wrote; restore it or delete it"),
    Case("report-timing-json-deep-nesting", _report_of(lambda root: (root / "timing.json").write_text('{"rs": ' + "[" * 100000 + "]" * 100000 + "}")),
         r"timing\.json: the wall-time record nests too deeply"),
    Case("report-experiment-searchers-repeated", _report_of(_edit_json("experiment.json", lambda e: {
        **e, "searchers": e["searchers"] + [{"label": "rs"}]})), r"experiment\.json: 'searchers' lists label 'rs' twice"),
    Case("report-runs-mixed-labels", _report_of(_edit_run(1, lambda r: {**r, "label": "other"})),
         r"rs/runs\.jsonl: line 2 is not a run record \(a run of label 'other', but line 1 holds one of 'rs': two "
         r"searches' runs are mixed\)"),
    # -- values (#25) --
    Case("values-data-npz-not-text", _config_value(data={"npz": 5}), r"^nasearch: error: data\.npz: expected a file path, got 5$"),
    Case("values-data-root-list", _config_value(data={"torchvision_root": []}),
         r"data\.torchvision_root: expected a folder path, got \[\]$"),
    Case("values-data-list", _config_value(data=[]), r"data: expected a mapping, got \[\]; write it as data: \{npz: path/to/images\.npz\}$"),
    Case("values-space-args-number", _config_value(space={"name": "nb201", "args": 5}),
         r"space\.args: expected a mapping, got 5$"),
    Case("values-space-name-number", _config_value(space={"name": 5}), r"space\.name: expected a string, got 5$"),
    Case("values-searcher-text", _config_value(searcher="rea"), r"searcher: expected a mapping, got 'rea'; write it as searcher: \{name: rea\}$"),
    Case("values-hook-list", _config_value(hook=[1]), r"hook: expected a mapping, got \[1\]; write it as hook: \{proxy: gradsign\}$"),
    Case("values-hook-proxy-number", _config_value(hook={"proxy": 5}), r"hook\.proxy: expected a string, got 5$"),
    Case("values-hook-dataset-list", _config_value(hook={"proxy": "params", "dataset": ["cifar10"], **_LOOKUP}),
         r"hook\.dataset: expected a string, got \['cifar10'\]$"),
    Case("values-experiment-label-list", _experiment_value(label=["t6"]), r"label: expected a string, got \['t6'\]$"),
    Case("values-experiment-description-mapping", _experiment_value(description={"a": 1}),
         r"description: expected a string, got \{'a': 1\}$"),
    Case("values-experiment-entry-label-number",
         _experiment_value(searchers=[{"config": str(ROOT / "configs" / "rs.yaml"), "label": 7}]),
         r"searchers\[0\]\.label: expected a string, got 7$"),
    Case("values-hook-tables-quoted", _config_value(hook={"proxy": "gradsign", "tables": "false", **_LOOKUP}),
         r"hook\.tables: expected true or false, got 'false'; write true or false without quotes$"),
    Case("values-data-download-quoted", _config_value(data={"torchvision_root": "cifar", "download": "false"}),
         r"data\.download: expected true or false, got 'false'; write true or false without quotes$"),
    Case("values-darts-op-affine-quoted", _config_value(space={"name": "darts", "args": {"op_affine": "false"}}),
         r"space\.args\.op_affine: expected true or false, got 'false'; write true or false without quotes$"),
    Case("values-option-per-sample-fastest", _config_value(hook={"proxy": "gradsign", "options": {"per_sample": "fastest"},
                                                                 **_LOOKUP}),
         r"hook\.options\.per_sample: 'fastest' is not one of fast, loop, vmap \(proxy gradsign\)$"),
    Case("values-option-temperature-text", _config_value(hook={"proxy": "grasp", "options": {"temperature": "hot"}, **_LOOKUP}),
         r"hook\.options\.temperature: expected a number, got 'hot' \(proxy grasp\)$"),
    Case("values-option-temperature-nan", _config_value(hook={"proxy": "grasp", "options": {"temperature": float("nan")},
                                                              **_LOOKUP}),
         r"hook\.options\.temperature: expected a finite number, got nan \(proxy grasp\)$"),
    Case("values-option-reference-quoted", _config_value(hook={"proxy": "fisher", "options": {"reference": "no"}, **_LOOKUP}),
         r"hook\.options\.reference: expected true or false, got 'no' \(proxy fisher\)"),
    Case("values-option-input-shape-two", _config_value(hook={"proxy": "synflow", "options": {"input_shape": [3, 32]},
                                                              **_LOOKUP}),
         r"hook\.options\.input_shape: expected 3 positive integers such as \[3, 32, 32\], got \[3, 32\] \(proxy synflow\)"),
    Case("values-precompute-option-fastest", _option_flag("precompute", "per_sample=fastest"),
         r"--option per_sample: 'fastest' is not one of fast, loop, vmap \(proxy gradsign\)$"),
    Case("values-precompute-option-bad-yaml", _option_flag("precompute", "per_sample=[fast"),
         r"--option 'per_sample=\[fast': the value is not valid YAML; quote it or fix the syntax$"),
    Case("values-correlate-option-bad-yaml", _option_flag("correlate", "per_sample={fast"),
         r"--option 'gradsign\.per_sample=\{fast': the value is not valid YAML; quote it or fix the syntax$"),
    Case("values-correlate-space-args-bad-yaml", lambda ws: ["nasearch", "correlate", "--space-args", "{path: [x",
                                                               "--out", ws.root / "corr", "--no-progress"],
         r"--space-args '\{path: \[x': the value is not valid YAML; quote it or fix the syntax$"),
    Case("values-correlate-space-arg-bad-yaml", lambda ws: ["nasearch", "correlate", "--space-arg", "path=[x",
                                                              "--out", ws.root / "corr", "--no-progress"],
         r"--space-arg 'path=\[x': the value is not valid YAML; quote it or fix the syntax$"),
    Case("values-precompute-option-alias-bomb",
         _option_flag("precompute", "per_sample=[" + ", ".join(f"&a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" if i else
                                                        "&a0 [x, x, x, x, x, x, x, x, x, x]" for i in range(12)) + "]"),
         r"--option .*more than 100 YAML aliases"),
    Case("values-yaml-doubling-aliases", _yaml_text(_DOUBLING_BOMB), r"more than 100000 values once aliases .* are expanded"),
    Case("values-bohb-min-bandwidth-negative", _config_value(searcher={"name": "bohb", "args": {"min_bandwidth": -1}}),
         r"searcher\.args\.min_bandwidth: must be > 0, got -1$"),
    Case("values-bohb-bandwidth-factor-zero", _config_value(searcher={"name": "bohb", "args": {"bandwidth_factor": 0}}),
         r"searcher\.args\.bandwidth_factor: must be > 0, got 0$"),
    Case("values-bohb-num-samples-billion", _config_value(searcher={"name": "bohb", "args": {"num_samples": 10**9}}),
         r"searcher\.args\.num_samples: must be in \[1, 10000\], got 1000000000$"),
    Case("values-rea-initial-sample-billion", _config_value(searcher={"name": "rea", "args": {"initial_sample": 10**9}},
                                                            hook={"proxy": "params", **_LOOKUP}),
         r"searcher\.args\.initial_sample: must be in \[0, 10000\], got 1000000000$"),
    Case("values-bananas-candidates-billion", _config_value(searcher={"name": "bananas", "args": {"num_candidates": 10**9}}),
         r"searcher\.args\.num_candidates: must be in \[1, 10000\], got 1000000000$"),
    Case("values-nb201-path-without-backend", _config_value(space={"name": "nb201", "args": {"path": "NAS-Bench-201.pth"}}),
         r"space\.args\.path: the embedded nb201 backend reads no file; add backend: nb201 \(a \.pth\) or nats"),
    Case("values-budget-nano-yaml", _config_value(budget_seconds=1e-9),
         r"budget 1e-09 s cannot pay for one evaluation \(the first costs [0-9.e+]+ s\); give budget_seconds \(or --budget\) of at least"),
    Case("values-budget-nano-flag", lambda ws: [ws.config(), "--budget", "1e-9"],
         r"budget 1e-09 s cannot pay for one evaluation \(the first costs [0-9.e+]+ s\); give budget_seconds \(or --budget\) of at least"),
    Case("values-npz-corrupt-member", _npz_run(_corrupt_member),
         r"images\.npz: its array 'train_images' is damaged \(.*\); the file is corrupt, write it again"),
    Case("values-npz-channels-first", _npz_run(lambda x, y: {"train_images": x.transpose(0, 3, 1, 2), "train_labels": y}),
         r"images\.npz: 'train_images' has shape \(20, 3, 32, 32\), channels first; give \(N, 32, 32, 3\)"),
    Case("values-npz-float-images", _npz_run(lambda x, y: {"train_images": x / 255.0, "train_labels": y}),
         r"images\.npz: 'train_images' is float64; give uint8 pixels 0\.\.255"),
    Case("values-npz-16x16", _npz_run(lambda x, y: {"train_images": x[:, :16, :16], "train_labels": y}),
         r"images\.npz: 'train_images' has shape \(20, 16, 16, 3\); give \(N, 32, 32, 3\)"),
    Case("values-npz-label-ten", _npz_run(lambda x, y: {"train_images": x, "train_labels": np.where(y == 3, 10, y)}),
         r"images\.npz: 'train_labels' holds 10, outside CIFAR-10's classes 0\.\.9"),
    Case("values-npz-label-negative", _npz_run(lambda x, y: {"train_images": x, "train_labels": y - 1}),
         r"images\.npz: 'train_labels' holds -1, outside CIFAR-10's classes 0\.\.9"),
    Case("values-npz-labels-shorter", _npz_run(lambda x, y: {"train_images": x, "train_labels": y[:12]}),
         r"images\.npz: 12 labels for 20 images; give one label per image"),
    Case("values-npz-labels-float", _npz_run(lambda x, y: {"train_images": x, "train_labels": y + 0.5}),
         r"images\.npz: 'train_labels' is float64; give integer class labels"),
    # -- workers beyond what the machine can run (#25) --
    Case("run-workers-hundred-thousand", lambda ws: [ws.config(runs=3), "--workers", "100000"],
         r"--workers 100000 is more than this machine can run \(\d+ cores: at most \d+ local processes\); give --workers <= \d+"),
    Case("experiment-workers-hundred-thousand", _experiment_value(workers=100000),
         r"--workers 100000 is more than this machine can run", after=_no_runs_started),
    Case("npz-env-is-a-directory", lambda ws: (ws.env.update(NASEARCH_CIFAR10_NPZ=str(ws.root)) or [
        "nasearch", "correlate", "--proxies", "grad_norm", "--n", "2", "--batch-size", "8", "--out", ws.root / "c",
        "--no-progress"]), r"proxy data file .* is a directory, not an npz file; fix data\.npz or \$NASEARCH_CIFAR10_NPZ"),
    Case("hook-batch-size-hundred-thousand", _config_value(hook={"proxy": "gradsign", "batch_size": 100000}),
         r"hook\.batch_size: 100000 is more than a search can use \(at most 4096\)"),
    Case("hook-seed-beyond-64-bits", _config_value(hook={"proxy": "params", "seed": 2**70}),
         r"hook\.seed: 1180591620717411303424 is more than a seed can be \(at most 2\*\*63-1\)"),
    Case("hook-seeds-beyond-64-bits", _config_value(hook={"proxy": "params", "seeds": [1, 2**64]}),
         r"hook\.seeds: 18446744073709551616 is more than a seed can be"),
    Case("seed-flag-beyond-64-bits", lambda ws: [ws.config(), "--seed", str(2**64)], r"seed: 18446744073709551616 is more than a seed can be"),
    Case("runs-flag-trillion", lambda ws: [ws.config(), "--runs", str(10**12)], r"runs: 1e\+12 is more than a search can use"),
    Case("budget-flag-1e15", lambda ws: [ws.config(), "--budget", "1e15"], r"budget_seconds: 1e\+15 is more than a search can use"),
    # -- sigpre (#25) --
    Case("sigterm-precompute-workers-2", _long_precompute, _STOPPED.format("SIGTERM"), status=143,
         signal_after=(signal.SIGTERM, "cache/*")),
    Case("sigterm-correlate-workers-2", _long_correlate, _STOPPED.format("SIGTERM"), status=143,
         signal_after=(signal.SIGTERM, "cache/*")),
    Case("user-module-syntax-error", _user_module("class UserSpace:\n    def sample(self, rng:\n"),
         r"space\.class: .*user_space\.py line 2: .*; fix the syntax$"),
    Case("user-module-raises-at-import", _user_module("raise RuntimeError('no GPU here')\n"),
         r"space\.class: importing .*user_space\.py raised RuntimeError: no GPU here \(at .*user_space\.py:1\); fix the module"),
    Case("user-module-missing-dependency", _user_module("import not_a_module_xyz\n"),
         r"raised ModuleNotFoundError: No module named 'not_a_module_xyz' \(at .*user_space\.py:1\)"),
    Case("experiment-entry-is-a-folder", _experiment_entry_folder,
         r"searchers\[0\]\.config: .*entry_dir is a directory, not a config file"),
]


#: stderr lines that are not messages: a run's progress bar, and the notice a hooked run prints
#: before it starts (how many scores are cached); an error found inside a run follows them
NOISE = (re.compile(r"^\S+:\s+\d+%\|[^|]*\| *\d+/\d+ \[[^]]*\]$"), re.compile(r"^nasearch: \S+: \d+ of \d+ \S+ scores are packaged or cached"))


def _snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*"))
            if p.is_file()}


def _process_table() -> dict[int, tuple[int, str, str]]:
    """pid -> (parent pid, start time, state) of every process now (Linux /proc)."""
    table = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone meanwhile
            table[int(entry.name)] = (int(fields[1]), fields[19], fields[0])
    return table


def _descendants(pid: int) -> dict[int, str]:
    """pid -> start time of every live descendant of ``pid`` (the start time tells a reused pid apart)."""
    table = _process_table()
    found, frontier = {}, [pid]
    while frontier:
        parent = frontier.pop()
        for child, (ppid, start, state) in table.items():
            if ppid == parent and child not in found and state not in "ZX":
                found[child] = start
                frontier.append(child)
    return found


def _survivors(processes: dict[int, str], grace: float = 5.0) -> list[str]:
    """Those of ``processes`` still running (not exited, not a zombie) after ``grace`` seconds."""
    deadline = time.monotonic() + grace
    while True:
        table = _process_table()
        alive = [pid for pid, start in processes.items()
                 if pid in table and table[pid][1] == start and table[pid][2] not in "ZX"]
        if not alive or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    names = []
    for pid in alive:
        try:
            names.append(f"{pid}: {Path(f'/proc/{pid}/cmdline').read_bytes().replace(bytes(1), b' ')[:200]!r}")
        except OSError:
            names.append(str(pid))
    return names


def _run_and_signal(command: list, case: Case, root: Path, env: dict) -> subprocess.CompletedProcess:
    """Start the command, send the case's signal once its glob matches, and check no process it
    started outlives it (pool workers must die with their parent)."""
    signum, pattern = case.signal_after
    with open(root.parent / f"{root.name}.stdout", "w+") as out, open(root.parent / f"{root.name}.stderr", "w+") as err:
        process = subprocess.Popen(command, stdout=out, stderr=err, cwd=root, env=env, text=True)
        seen: dict[int, str] = {}
        try:
            deadline = time.monotonic() + PER_CASE_TIMEOUT
            while not (seen and any(p.is_file() and p.stat().st_size for p in root.glob(pattern))):
                assert process.poll() is None, (f"the command ended (exit {process.returncode}) before {pattern} was "
                                                f"written{'' if seen else ' and before it started a worker process'}")
                assert time.monotonic() < deadline, f"no {pattern} or no worker process within {PER_CASE_TIMEOUT} s"
                seen.update(_descendants(process.pid))
                time.sleep(0.01)
            seen.update(_descendants(process.pid))
            process.send_signal(signum)
            try:
                process.wait(PER_CASE_TIMEOUT)
            except subprocess.TimeoutExpired:  # where it hangs: faulthandler prints every thread's stack on SIGABRT
                process.send_signal(signal.SIGABRT)
                process.wait(10)
                err.seek(0)
                raise AssertionError(f"no exit within {PER_CASE_TIMEOUT} s of the signal:\n{err.read()[-6000:]}") from None
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        survivors = _survivors(seen)
        out.seek(0), err.seek(0)
        result = subprocess.CompletedProcess(command, process.returncode, out.read(), err.read())
    assert not survivors, f"processes outlived the command: {survivors}"
    return result


class ForkServer:
    """One interpreter that has imported the command line, forking a child per case (see FORK_SERVER):
    a case costs a fork instead of an interpreter start and the torch import."""

    def __init__(self, env: dict) -> None:
        to_server, self._requests = os.pipe()
        self._replies, from_server = os.pipe()
        self.process = subprocess.Popen([sys.executable, "-c", FORK_SERVER, str(to_server), str(from_server)],
                                        pass_fds=(to_server, from_server), env=env, cwd=ROOT,
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        os.close(to_server), os.close(from_server)
        self.requests = os.fdopen(self._requests, "w")
        self.replies = os.fdopen(self._replies, "r")

    def _reply(self, timeout: float) -> dict:
        import select

        if not select.select([self.replies], [], [], timeout)[0]:
            raise TimeoutError
        line = self.replies.readline()
        assert line, f"the catalogue's fork server died (exit {self.process.poll()})"
        return json.loads(line)

    def run(self, argv: list, cwd: Path, env: dict, out: Path, err: Path, timeout: float) -> int:
        job = {"argv": argv, "cwd": str(cwd), "env": env, "stdout": str(out), "stderr": str(err)}
        self.requests.write(json.dumps(job) + "\n")
        self.requests.flush()
        child = self._reply(60)["pid"]
        try:
            return self._reply(timeout)["status"]
        except TimeoutError:
            try:
                os.killpg(child, signal.SIGKILL)  # the child and any worker it started
            except ProcessLookupError:
                pass
            self._reply(60)
            raise subprocess.TimeoutExpired(argv, timeout) from None

    def stop(self) -> None:
        self.requests.close()
        self.process.wait(30)
        self.replies.close()


_FORK_SERVER: ForkServer | None = None


def _fork_server(env: dict) -> ForkServer:
    global _FORK_SERVER
    if _FORK_SERVER is None or _FORK_SERVER.process.poll() is not None:
        _FORK_SERVER = ForkServer(env)
    return _FORK_SERVER


def _needs_fresh(case: Case, ws: Workspace) -> bool:
    if case.fresh is not None:
        return case.fresh
    return case.signal_after is not None or "PYTHONPATH" in ws.env or "CATALOGUE_PRELUDE" in ws.env


def _run_forked(argv: list, root: Path, env: dict) -> subprocess.CompletedProcess:
    out, err = root.parent / f"{root.name}.stdout", root.parent / f"{root.name}.stderr"
    server_env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(TESTS), os.environ.get("PYTHONPATH", "")])}
    status = _fork_server(server_env).run(argv, root, env, out, err, PER_CASE_TIMEOUT)
    return subprocess.CompletedProcess(argv, status, out.read_text(errors="replace"), err.read_text(errors="replace"))


def run_case(case: Case, root: Path) -> subprocess.CompletedProcess:
    ws = Workspace(root)
    argv = [str(a) for a in case.setup(ws)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(TESTS), os.environ.get("PYTHONPATH", "")]),
           "NASEARCH_CACHE_DIR": str(root / "default_cache")}
    env.pop("NASEARCH_TRUST_PICKLE", None)  # the user's opt-ins and data: a case sets its own
    env.pop("NASEARCH_CIFAR10_NPZ", None)
    env.update(ws.env)
    before = _snapshot(root)
    command = [sys.executable, "-c", NASEARCH, *argv]
    if case.signal_after is not None:
        result = _run_and_signal(command, case, root, {**env, "PYTHONFAULTHANDLER": "1"})
    elif _needs_fresh(case, ws):
        result = subprocess.run(command, capture_output=True, text=True, cwd=root, env=env, timeout=PER_CASE_TIMEOUT)
    else:
        result = _run_forked(argv, root, env)
    after = _snapshot(root)
    changed = sorted(name for name, digest in before.items() if after.get(name) != digest)
    assert not changed, f"files that existed before changed or vanished: {changed}"
    if case.after is not None:
        case.after(ws)
    return result


@pytest.fixture(scope="module", autouse=True)
def _stop_server():
    yield
    global _SERVER, _FORK_SERVER
    if _SERVER is not None:
        _SERVER.stop()
        _SERVER = None
    if _FORK_SERVER is not None:
        _FORK_SERVER.stop()
        _FORK_SERVER = None


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_and_exit_2(case, tmp_path):
    result = run_case(case, tmp_path)
    lines = [line for line in result.stderr.splitlines() if line.strip() and not any(n.search(line) for n in NOISE)]
    assert result.returncode == case.status, f"exit {result.returncode}, not {case.status}; stderr:\n{result.stderr}"
    assert "Traceback" not in result.stderr
    assert len(lines) == 1, f"expected one stderr line, got {len(lines)}:\n{result.stderr}"
    assert re.search(case.expect, lines[0]), f"{lines[0]!r} does not match {case.expect!r}"


def test_catalogue_ids_are_unique():
    assert len({c.id for c in CASES}) == len(CASES)
