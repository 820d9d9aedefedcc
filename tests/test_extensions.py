"""Extension points: user proxies and searchers by file, module or entry point; and what a config may load."""
from __future__ import annotations

import importlib.metadata
import json
import shlex
from pathlib import Path

import pytest

from nasearch.results import read_runs
from nasearch.errors import UsageError
from nasearch.loading import PREDICTOR_ENTRY_POINTS, Registry, load_space, searcher_class
from nasearch.proxies.registry import get_proxy

from test_custom_space import nasearch_cli, tutorial_steps

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "docs" / "custom_proxy.md"


def test_proxy_tutorial_runs_as_written(tmp_path):
    steps = tutorial_steps(TUTORIAL.read_text())
    assert [k for k, _, _ in steps].count("run") == 3
    env = {"NASEARCH_CACHE_DIR": str(tmp_path / "cache")}
    outputs = []
    for kind, argument, body in steps:
        if kind == "file":
            with (tmp_path / argument).open("a") as handle:
                handle.write(body)
        elif kind == "run":
            argv = shlex.split(body.strip())
            assert argv[0] == "nasearch"
            result = nasearch_cli(*argv[1:], cwd=tmp_path, env=env)
            assert result.returncode == 0, result.stderr
            outputs.append(result.stdout)
    correlation = (tmp_path / "corr" / "correlation.md").read_text()
    assert "| conv_weights | 40 |" in correlation and "| params | 40 |" in correlation
    assert (tmp_path / "corr" / "scatter_conv_weights.png").is_file()
    runs = read_runs(tmp_path / "results" / "my_g_rea" / "runs.jsonl")
    assert len(runs) == 2 and all(r.pool_draws > 0 and r.evaluations > 0 for r in runs)
    assert "conv_weights@1" in outputs[-1] and "20/20 archs done" in outputs[-1]


def test_os_system_in_a_config_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    config = tmp_path / "evil.yaml"
    config.write_text(f'space: {{class: "os:system", args: {{command: "touch {marker}"}}}}\nsearcher: {{name: rs}}\n')
    result = nasearch_cli("run", str(config), "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert result.returncode == 2 and not marker.exists()
    assert "standard library" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("reference", ["os:system", "builtins:eval", "subprocess:run", "shutil:rmtree",
                                       "numpy:save", "nasearch.loading:import_file"])
def test_class_refuses_callables_that_are_not_the_modules_own(reference):
    with pytest.raises(UsageError):
        load_space({"class": reference, "args": {}})


def test_class_refuses_an_object_imported_into_the_users_file(tmp_path, monkeypatch):
    (tmp_path / "mine.py").write_text("from collections import OrderedDict as Space\nfrom os import system\nVALUE = 3\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match="imported into .* from elsewhere"):
        load_space({"class": "mine.py:Space"})
    with pytest.raises(UsageError, match="not a space class or factory"):  # a builtin function
        load_space({"class": "mine.py:system", "args": {"command": "true"}})
    with pytest.raises(UsageError, match="not a space class or factory"):
        load_space({"class": "mine.py:VALUE"})


def test_searcher_and_proxy_references_follow_the_same_rule(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for reference in ("os:system", "subprocess:Popen"):
        with pytest.raises(UsageError):
            searcher_class(reference)
        with pytest.raises(UsageError):
            get_proxy(reference)
    (tmp_path / "mine.py").write_text(
        "from nasearch.searchers.random_search import RandomSearch\n"
        "class MySearch(RandomSearch):\n    name = 'mine'\n"
        "class NotASearcher:\n    pass\n"
        "SPEC = 42\n")
    assert searcher_class("mine.py:MySearch").__name__ == "MySearch"
    with pytest.raises(UsageError, match="imported into"):
        searcher_class("mine.py:RandomSearch")
    with pytest.raises(UsageError, match="not a searcher class"):
        searcher_class("mine.py:NotASearcher")
    with pytest.raises(UsageError, match="not a nasearch.proxies.registry.ProxySpec"):
        get_proxy("mine.py:SPEC")


def test_a_user_proxy_may_not_take_a_builtin_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "fake.py").write_text(
        "from nasearch.proxies.registry import ProxySpec\n"
        "SPEC = ProxySpec(name='gradsign', fn=lambda n, i, l: 0.0, needs_data=False)\n")
    with pytest.raises(UsageError, match="like the built-in proxy"):
        get_proxy("fake.py:SPEC")


def test_entry_points_register_names_for_every_kind(monkeypatch):
    class Entry:
        def __init__(self, name, value):
            self.name, self.value = name, value

        def load(self):
            return importlib.import_module(self.value.split(":")[0]).__dict__[self.value.split(":")[1]]

    import importlib

    groups = {"nasearch.proxies": [Entry("params_again", "nasearch.proxies.params:SPEC")],
              "nasearch.searchers": [Entry("rs2", "nasearch.searchers.random_search:RandomSearch")],
              PREDICTOR_ENTRY_POINTS: [Entry("p", "nasearch.proxies.params:params")]}
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group=None: groups.get(group, []))
    assert get_proxy("params_again").name == "params"
    assert searcher_class("rs2").__name__ == "RandomSearch"
    predictors = Registry("predictor", {}, PREDICTOR_ENTRY_POINTS)
    assert "p" in predictors.names() and callable(predictors.load("p", "predictor"))
    with pytest.raises(UsageError, match="unknown predictor"):
        predictors.load("nope", "predictor")
