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
        return ["nasearch", "correlate", "--proxies", "gradsign", "--option", f"gradsign.{value}", "--n", "2",
                "--out", ws.root / "corr", "--no-progress"]
    return setup


def _experiment_value(**content):
    def setup(ws: Workspace) -> list:
        path = ws.root / "exp.yaml"
        path.write_text(yaml.safe_dump({"runs": 1, "budget_seconds": 3000, "out": str(ws.root / "out"),
                                        "searchers": [str(ROOT / "configs" / "rs.yaml")], **content}))
        return [path]
    return setup


_LOOKUP = {"cost": "lookup"}
#: 80 aliases (under the loader's 100), each anchor used twice: 2**40 values once expanded, in searcher.args
_DOUBLING_BOMB = (_BASE_YAML.replace("searcher: {name: rea}\n", "") + "searcher: {name: rea, args: {population_size: ["
                  + "&a0 [1, 1], " + ", ".join(f"&a{i} [*a{i - 1}, *a{i - 1}]" for i in range(1, 40)) + "]}}\n")


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
