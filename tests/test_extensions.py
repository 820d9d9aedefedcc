"""Extension points: user proxies and searchers by file, module or entry point; and what a config may load."""
from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from nasearch.results import read_runs
from nasearch.errors import UsageError
from nasearch.loading import load_space, searcher_class
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


# -- one loader rule for every kind, entry points included (real distributions on sys.path) ---------------
_PLUGIN = """
from nasearch.predictors.zero_cost import ZeroCostPredictor
from nasearch.proxies.registry import ProxySpec
from nasearch.searchers.random_search import RandomSearch

SPEC = ProxySpec(name="plug_params", fn=lambda net, x, y: float(sum(p.numel() for p in net.parameters())),
                 needs_data=False, needs_labels=False)


class PlugSearch(RandomSearch):
    name = "plug_rs"


def make_predictor(name, space, features=None, seed=0):
    return ZeroCostPredictor("params", features)


from textwrap import dedent  # imported, not defined here: an entry point may not name it
"""
_ENTRY_POINTS = """[nasearch.proxies]
plug_params = fakeplug:SPEC
[nasearch.searchers]
plug_rs = fakeplug:PlugSearch
[nasearch.predictors]
plug = fakeplug:make_predictor
evil = textwrap:dedent
reexported = fakeplug:dedent
"""


@pytest.fixture
def installed_plugin(tmp_path, monkeypatch):
    """A distribution installed the way pip leaves one (a module and its dist-info with entry_points.txt),
    found by importlib.metadata through sys.path: the real discovery path, not a stand-in registry."""
    site = tmp_path / "site"
    (site / "fakeplug-0.1.dist-info").mkdir(parents=True)
    (site / "fakeplug.py").write_text(_PLUGIN)
    (site / "fakeplug-0.1.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: fakeplug\nVersion: 0.1\n")
    (site / "fakeplug-0.1.dist-info" / "entry_points.txt").write_text(_ENTRY_POINTS)
    monkeypatch.syspath_prepend(str(site))
    yield site


def test_entry_points_register_names_for_every_kind(installed_plugin):
    from nasearch.predictors import make_predictor
    from nasearch.predictors.registry import available_predictors
    from nasearch.spaces.nb201.space import NB201Space

    assert get_proxy("plug_params").name == "plug_params"
    assert searcher_class("plug_rs").__name__ == "PlugSearch"
    assert "plug" in available_predictors()
    predictor = make_predictor("plug", NB201Space())
    assert type(predictor).__name__ == "ZeroCostPredictor"
    with pytest.raises(UsageError, match="unknown predictor 'nope'"):
        make_predictor("nope", NB201Space())


@pytest.mark.parametrize("name, refusal", [("evil", "names the standard library's 'textwrap'"),
                                           ("reexported", "imported into 'fakeplug' from elsewhere")])
def test_an_entry_point_into_other_code_is_refused_before_it_is_called(installed_plugin, name, refusal, monkeypatch):
    import textwrap

    from nasearch.predictors import make_predictor
    from nasearch.predictors.registry import check_predictor_name
    from nasearch.spaces.nb201.space import NB201Space

    called = []
    monkeypatch.setattr(textwrap, "dedent", lambda *a, **k: called.append(a))
    for attempt in (lambda: make_predictor(name, NB201Space()), lambda: check_predictor_name(name)):
        with pytest.raises(UsageError, match=refusal):
            attempt()
    assert not called


@pytest.mark.parametrize("reference", ["textwrap:dedent", "numpy:savez", "os:system",
                                       "setuptools._distutils.spawn:spawn"])
def test_a_predictor_reference_follows_the_loader_rule_and_is_never_called_at_parse_time(reference, tmp_path):
    from nasearch.experiments import parse_experiment
    from nasearch.predictors import make_predictor
    from nasearch.spaces.nb201.space import NB201Space

    with pytest.raises(UsageError, match="standard library|installed package"):
        make_predictor(reference, NB201Space())
    raw = {"runs": 1, "budget_seconds": 100, "out": str(tmp_path / "o"),
           "searchers": [{"config": str(ROOT / "configs" / "g_rea.yaml"), "hook": {"predictor": reference}}]}
    with pytest.raises(UsageError, match="standard library|installed package"):
        parse_experiment(raw)


def test_a_users_own_predictor_factory_is_loaded_at_parse_time_and_called_only_when_runs_start(tmp_path, monkeypatch):
    from nasearch.predictors.registry import check_predictor_name

    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine.py").write_text("CALLS = []\ndef make(name, space, features=None, seed=0):\n"
                                      "    CALLS.append(name)\n    raise RuntimeError('called')\n")
    check_predictor_name("mine.py:make")  # loaded and checked
    import sys

    module = next(m for n, m in sys.modules.items()
                  if n.startswith("nasearch_user_mine_") and getattr(m, "__file__", "") == str(tmp_path / "mine.py"))
    assert module.CALLS == []


@pytest.mark.parametrize("opt_in", [False, True])
def test_installed_packages_need_an_explicit_opt_in_from_the_environment(opt_in, monkeypatch):
    from nasearch.loading import TRUSTED_MODULES_ENV, check_location

    if opt_in:
        monkeypatch.setenv(TRUSTED_MODULES_ENV, "numpy")
        check_location("numpy:savez", "space.class", "space")  # the user said so, outside any config
    else:
        monkeypatch.delenv(TRUSTED_MODULES_ENV, raising=False)
        with pytest.raises(UsageError, match=f"{TRUSTED_MODULES_ENV}=numpy"):
            check_location("numpy:savez", "space.class", "space")
    with pytest.raises(UsageError, match="standard library"):  # never, even when opted in
        check_location("os:system", "space.class", "space")


def test_a_file_path_into_the_standard_library_runs_nothing(tmp_path):
    import subprocess as subprocess_module
    import shutil as shutil_module

    victim = tmp_path / "victim"
    victim.mkdir()
    for reference, args in ((f"{subprocess_module.__file__}:run", {"args": ["touch", str(tmp_path / "x")]}),
                            (f"{shutil_module.__file__}:rmtree", {"path": str(victim)})):
        with pytest.raises(UsageError, match="a file of the standard library"):
            load_space({"class": reference, "args": args})
    assert victim.is_dir() and not (tmp_path / "x").exists()


def test_a_space_class_is_checked_against_the_protocol_before_it_is_instantiated(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "half.py").write_text("import pathlib\nclass Half:\n    def __init__(self):\n"
                                      "        pathlib.Path('made').touch()\n    def sample(self, rng):\n        return 0\n")
    with pytest.raises(UsageError, match=r"breaks the protocol: missing mutate\(arch, rng\).*nothing was instantiated"):
        load_space({"class": "half.py:Half"})
    assert not (tmp_path / "made").exists()
