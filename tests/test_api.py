"""The Python API: the issue's snippet as written (scaled to seconds), and that the CLI is the same code path."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import nasearch as ns
from nasearch.errors import UsageError

ROOT = Path(__file__).resolve().parents[1]


def test_the_snippet_runs_on_the_embedded_default(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runs = ns.search("g_rea", runs=4, workers=2)  # a shipped config by name, written where the config says
    assert len(runs) == 4 and (tmp_path / "results" / "g_rea" / "runs.jsonl").is_file()
    df = runs.to_pandas()
    assert list(df["run"]) == [0, 1, 2, 3] and (df["selection"] == "gradsign").all()
    assert {"final.cifar10_valid", "evaluations", "distinct", "pool_draws", "simulated_seconds"} <= set(df.columns)
    assert df["final.cifar10_valid"].tolist() == [r.final["cifar10_valid"] for r in runs]
    curve = runs.anytime("cifar10_valid")
    assert list(curve.columns) == ["seconds", "mean", "half_width", "runs"]
    assert curve["runs"].iloc[-1] == 4 and curve["mean"].iloc[-1] == pytest.approx(df["final.cifar10_valid"].mean())
    assert np.all(np.diff(curve["runs"].to_numpy()) >= 0)

    exp = ns.experiment("table6", runs=2, out="results/t6", workers=1)
    assert "g_rea_params" in exp.labels and len(exp["rea"]) == 2
    comparisons = exp.report(resamples=200)
    assert (tmp_path / "results" / "t6" / "report.md").is_file()
    assert {"role", "baseline", "treatment", "metric", "difference", "p_wilcoxon"} <= set(comparisons.columns)
    assert ("rea", "g_rea") in set(zip(comparisons["baseline"], comparisons["treatment"]))

    space = ns.space("nb201")
    rng = np.random.default_rng(0)
    arch = space.sample(rng)
    evaluation = space.query(arch, rng)
    assert isinstance(evaluation, ns.Evaluation) and evaluation.cost_seconds > 0
    score = ns.proxy("gradsign", space, batch_size=64).score(arch)  # the packaged b64 table: no images needed
    assert np.isfinite(score)
    again = ns.load_results("results/t6")
    assert isinstance(again, ns.ExperimentResults) and again.labels == exp.labels
    assert again["g_rea"].records == exp["g_rea"].records
    single = ns.load_results("results/g_rea")
    assert isinstance(single, ns.RunSet) and single.records == runs.records


def test_the_api_and_the_cli_write_the_same_bytes(tmp_path):
    from nasearch.cli import main

    ns.search("rea", runs=3, out=tmp_path / "api", budget_seconds=3000)
    assert main(["run", "rea", "--runs", "3", "--out", str(tmp_path / "cli"), "--budget", "3000"]) == 0
    assert (tmp_path / "api" / "runs.jsonl").read_bytes() == (tmp_path / "cli" / "runs.jsonl").read_bytes()


def test_a_mapping_or_a_parsed_config_is_a_config(tmp_path):
    raw = {"space": {"name": "nb201"}, "searcher": {"name": "rs"}, "budget_seconds": 2000, "runs": 2,
           "out": str(tmp_path / "m")}
    by_mapping = ns.search(raw)
    parsed = ns.search_config(raw)
    assert isinstance(parsed, ns.SearchConfig)
    by_config = ns.search(parsed, out=tmp_path / "c")
    assert [r.final for r in by_mapping] == [r.final for r in by_config]


@pytest.mark.parametrize("call, message", [
    (lambda: ns.search("no_such_config_xyz"), "does not exist"),
    (lambda: ns.search("rea", runs=0), "runs must be an integer >= 1"),
    (lambda: ns.search("rea", seed=-1), "seed must be an integer >= 0"),
    (lambda: ns.search("rea", budget_seconds=float("nan")), "budget_seconds must be a finite number > 0"),
    (lambda: ns.search("table6"), "is an experiment config"),
    (lambda: ns.experiment("rea"), "is a search config"),
    (lambda: ns.search(42), "expected a shipped config's name"),
    (lambda: ns.space("nb999"), "unknown space 'nb999'"),
    (lambda: ns.space("os:system"), "standard library"),
    (lambda: ns.proxy("gradsignn", ns.space("nb201")), "unknown proxy 'gradsignn'"),
    (lambda: ns.load_results("/nonexistent/results"), "neither a results folder nor a runs.jsonl"),
])
def test_errors_are_the_cli_s_one_line_usage_errors(call, message):
    with pytest.raises(UsageError, match=message) as caught:
        call()
    assert "\n" not in str(caught.value)


def test_anytime_of_an_unknown_metric_names_the_known_ones(tmp_path):
    runs = ns.search("rs", runs=2, out=tmp_path / "rs", budget_seconds=2000)
    with pytest.raises(UsageError, match="metric 'svhn' is not one these runs report; they report cifar100_valid"):
        runs.anytime("svhn")


def test_import_nasearch_is_cheap_and_names_are_typed():
    import subprocess
    import sys

    code = "import sys, nasearch; print('torch' in sys.modules, 'nasearch.api' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT).stdout.split()
    assert out == ["False", "False"]
    assert (ROOT / "nasearch" / "py.typed").is_file()
    import inspect

    for name in ("search", "experiment", "report", "load_results", "space", "proxy"):
        function = getattr(ns, name)
        assert function.__doc__ and inspect.signature(function).return_annotation is not inspect.Signature.empty, name
    with pytest.raises(AttributeError):
        ns.no_such_name  # noqa: B018


def test_quickstart_notebook_script_runs(tmp_path, monkeypatch):
    """examples/quickstart.py (a percent-format notebook: open it in Jupyter/VS Code as cells) runs as a script."""
    import runpy

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("QUICKSTART_RUNS", "6")
    runpy.run_path(str(ROOT / "examples" / "quickstart.py"), run_name="__main__")
    assert (tmp_path / "quickstart" / "anytime.png").stat().st_size > 0
    summary = json.loads((tmp_path / "quickstart" / "summary.json").read_text())
    assert set(summary) == {"rea", "g_rea"} and all(len(v) == 6 for v in summary.values())


def test_the_api_reference_page_is_what_the_code_says():
    import subprocess
    import sys

    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "api_reference.py"), "--check"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_a_config_dict_that_would_expand_is_refused_at_once(tmp_path):
    """The API takes a dict, which no YAML loader bounded: a list shared at every level (what YAML
    aliases make) is 2**40 values to asdict()/config.json; refused in milliseconds, as are typed keys."""
    import time

    bomb: list = [1, 1]
    for _ in range(40):
        bomb = [bomb, bomb]
    config = {"space": {"name": "nb201"}, "searcher": {"name": "rea", "args": {"population_size": bomb}},
              "runs": 1, "budget_seconds": 3000, "out": str(tmp_path / "out")}
    start = time.perf_counter()
    with pytest.raises(UsageError, match="more than 100000 values once aliases and shared lists are expanded"):
        ns.search(config)
    assert time.perf_counter() - start < 2 and not (tmp_path / "out").exists()
    deep: list = []
    for _ in range(100):
        deep = [deep]
    with pytest.raises(UsageError, match="nesting deeper than 64 levels"):
        ns.search({**config, "searcher": {"name": "rea", "args": {"population_size": deep}}})
    with pytest.raises(UsageError, match=r"hook\.tables: expected true or false, got 'no'"):
        ns.search({**config, "searcher": {"name": "rea"}, "hook": {"proxy": "gradsign", "tables": "no"}})
