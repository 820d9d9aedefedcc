"""End to end through the command line: results, determinism, and one-line usage errors."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from nasearch.results import read_runs

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args, env=None, cwd=ROOT):
    return subprocess.run([sys.executable, str(ROOT / "run_search.py"), *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=600)


def write_config(tmp_path, **changes):
    config = yaml.safe_load((ROOT / "configs" / "rea.yaml").read_text())
    config.update(changes)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_rea_runs_write_jsonl_and_summary(tmp_path):
    config = write_config(tmp_path, budget_seconds=3000)
    result = run_cli(config, "--runs", 3, "--out", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert "rea: 3 runs" in result.stdout and "cifar10_valid" in result.stdout
    records = read_runs(tmp_path / "out" / "runs.jsonl")
    assert [r.run for r in records] == [0, 1, 2]
    for record in records:
        trajectory = record.trajectory
        assert record.evaluations == len(trajectory.t) > 5
        assert trajectory.t == sorted(trajectory.t) and trajectory.t[-1] <= 3000
        assert trajectory.best == list(__import__("itertools").accumulate(trajectory.fitness, max))
        assert record.best_fitness == max(trajectory.fitness)
        assert record.final == record.incumbents[-1].final


def test_same_config_and_seed_give_identical_results(tmp_path):
    config = write_config(tmp_path, budget_seconds=2000)
    outputs = []
    for name in ("a", "b"):
        assert run_cli(config, "--runs", 2, "--out", tmp_path / name).returncode == 0
        outputs.append((tmp_path / name / "runs.jsonl").read_bytes())
    assert outputs[0] == outputs[1]
    assert run_cli(config, "--runs", 2, "--seed", 5, "--out", tmp_path / "c").returncode == 0
    assert (tmp_path / "c" / "runs.jsonl").read_bytes() != outputs[0]


@pytest.mark.parametrize(
    "changes,message",
    [
        ({"budgett_seconds": 5}, "unknown key 'budgett_seconds'"),
        ({"budget_seconds": -5}, "budget_seconds: must be > 0"),
        ({"budget_seconds": 0}, "budget_seconds: must be > 0"),
        ({"budget_seconds": float("inf")}, "budget_seconds: must be a finite number"),
        ({"hook": {"proxy": "gradsign", "cost": float("nan")}}, "hook.cost: nan is not a finite number"),
        ({"searcher": {"name": "rea", "args": {"population_size": "ten"}}}, "population_size: expected an integer"),
        ({"searcher": {"name": "rea", "args": {"population_size": 10.5}}}, "population_size: expected an integer"),
        ({"searcher": {"name": "annealing"}}, "unknown searcher 'annealing'"),
        ({"space": {"name": "nb301"}}, "unknown space 'nb301'"),
        ({"hook": {"proxy": "magic"}}, "unknown proxy 'magic'"),
        ({"hook": {"proxy": "gradsign", "k": 0}}, "hook.k: must be >= 1"),
        ({"searcher": {"name": "rea", "args": {"population": 3}}}, "unknown ['population']"),
        ({"space": {"name": "nb201", "args": {"backend": "cloud"}}}, "unknown NB201 backend"),
    ],
)
def test_bad_config_is_one_line_exit_2(tmp_path, changes, message):
    result = run_cli(write_config(tmp_path, **changes), "--out", tmp_path / "out")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert not (tmp_path / "out").exists()  # nothing written for a config that cannot run


def test_missing_config_file_and_bad_flags(tmp_path):
    result = run_cli(tmp_path / "nope.yaml")
    assert result.returncode == 2 and "does not exist" in result.stderr
    result = run_cli(ROOT / "configs" / "rea.yaml", "--runs", 0)
    assert result.returncode == 2 and "--runs must be >= 1" in result.stderr
    result = run_cli(ROOT / "configs" / "rea.yaml", "--runz", 3)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) <= 2


def test_changed_config_into_existing_out_dir_is_refused(tmp_path):
    out = tmp_path / "out"
    assert run_cli(write_config(tmp_path, budget_seconds=1000), "--runs", 1, "--out", out).returncode == 0
    result = run_cli(write_config(tmp_path, budget_seconds=1500), "--runs", 1, "--out", out)
    assert result.returncode == 2 and "different config" in result.stderr


def test_assisted_search_without_data_or_scores_says_how_to_provide_data(tmp_path, monkeypatch):
    env = {k: v for k, v in __import__("os").environ.items() if k != "NASEARCH_CIFAR10_NPZ"}
    config = write_config(tmp_path, hook={"proxy": "gradsign", "k": 2, "batch_size": 4, "tables": False})
    result = run_cli(config, "--runs", 1, "--out", tmp_path / "out", env=env)
    assert result.returncode == 2
    assert "needs images" in result.stderr and "data.npz" in result.stderr


def test_g_rs_with_live_gradsign_on_real_networks(tmp_path, tiny_npz):
    config = write_config(
        tmp_path,
        searcher={"name": "rs"},
        hook={"proxy": "gradsign", "k": 3, "batch_size": 4, "tables": False, "cost": "measured"},
        data={"npz": str(tiny_npz)},
        budget_seconds=700,
        cache_dir=str(tmp_path / "cache"),
    )
    result = run_cli(config, "--runs", 1, "--out", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    record = read_runs(tmp_path / "out" / "runs.jsonl")[0]
    assert record.selection == "gradsign"
    # k scores per trained arch, plus at most one pool whose training the budget refused
    assert 3 * record.evaluations <= record.pool_draws <= 3 * (record.evaluations + 1)
    assert record.overhead_seconds > 0  # measured: the real compute time was charged
    # a rerun into a new directory reads every score from the persistent cache: same result
    result = run_cli(config, "--runs", 1, "--out", tmp_path / "again")
    assert (tmp_path / "again" / "runs.jsonl").read_bytes() == (tmp_path / "out" / "runs.jsonl").read_bytes()
