"""A catalogue of bad input, each tried through the real command line as a new user would.

Every case must end with exit status 2, exactly one line on stderr that names the problem
(no traceback), and every file that existed before the command byte-identical after it.

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
import socket
import subprocess
import sys
import threading
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
]


#: stderr lines that are not messages: a run's progress bar, and the notice a hooked run prints
#: before it starts (how many scores are cached); an error found inside a run follows them
NOISE = (re.compile(r"^\S+:\s+\d+%\|.*run/s\]"), re.compile(r"^nasearch: \S+: \d+ of \d+ \S+ scores are packaged or cached"))


def _snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*"))
            if p.is_file()}


def run_case(case: Case, root: Path) -> subprocess.CompletedProcess:
    ws = Workspace(root)
    argv = [str(a) for a in case.setup(ws)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(TESTS), os.environ.get("PYTHONPATH", "")]),
           "NASEARCH_CACHE_DIR": str(root / "default_cache"), **ws.env}
    env.pop("NASEARCH_TRUST_PICKLE", None)
    env.pop("NASEARCH_CIFAR10_NPZ", None)
    before = _snapshot(root)
    result = subprocess.run([sys.executable, "-c", NASEARCH, *argv], capture_output=True, text=True, cwd=root, env=env,
                            timeout=PER_CASE_TIMEOUT)
    after = _snapshot(root)
    changed = sorted(name for name, digest in before.items() if after.get(name) != digest)
    assert not changed, f"files that existed before changed or vanished: {changed}"
    if case.after is not None:
        case.after(ws)
    return result


@pytest.fixture(scope="module", autouse=True)
def _stop_server():
    yield
    global _SERVER
    if _SERVER is not None:
        _SERVER.stop()
        _SERVER = None


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_and_exit_2(case, tmp_path):
    result = run_case(case, tmp_path)
    lines = [line for line in result.stderr.splitlines() if line.strip() and not any(n.search(line) for n in NOISE)]
    assert result.returncode == 2, f"exit {result.returncode}; stderr:\n{result.stderr}"
    assert "Traceback" not in result.stderr
    assert len(lines) == 1, f"expected one stderr line, got {len(lines)}:\n{result.stderr}"
    assert re.search(case.expect, lines[0]), f"{lines[0]!r} does not match {case.expect!r}"


def test_catalogue_ids_are_unique():
    assert len({c.id for c in CASES}) == len(CASES)
