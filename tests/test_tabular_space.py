"""The tabular space: a CSV of (op list, accuracy, cost) is a full search space, no class needed."""
from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from nasearch.results import read_runs
from nasearch.config import parse_search_config
from nasearch.errors import UsageError
from nasearch.execution import run_many
from nasearch.loading import load_space
from nasearch.spaces.protocol import capabilities, protocol_problems
from nasearch.spaces.tabular import CompleteTabularSpace, TabularSpace

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "examples" / "tabular_demo.csv"


def write_csv(path: Path, rows: list[dict]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def grid_rows() -> list[dict]:
    """All 3 x 2 x 2 op lists, accuracy = a simple function of the ops (a synthetic test table)."""
    rows = []
    for a in ("conv3x3", "conv1x1", "skip"):
        for b in ("pool", "none"):
            for c in ("relu", "tanh"):
                accuracy = {"conv3x3": 90, "conv1x1": 80, "skip": 70}[a] + (5 if b == "pool" else 0) + (1 if c == "relu" else 0)
                rows.append({"arch": f"{a}-{b}-{c}", "accuracy": accuracy, "cost": 10 + len(a), "test": accuracy - 1})
    return rows


@pytest.fixture
def grid(tmp_path) -> Path:
    return write_csv(tmp_path / "grid.csv", grid_rows())


def test_demo_table_loads_by_name_with_every_capability_it_can_have():
    space = load_space({"name": "tabular", "args": {"path": str(DEMO)}})
    assert protocol_problems(space) == []
    assert isinstance(space, CompleteTabularSpace) and len(space.archs) == 162
    assert set(capabilities(space)) == {"encoding", "neighbours", "proxy_score"}
    assert space.name == "tabular-tabular_demo" and len(space.version) == 12
    arch = space.from_id("d3-w32-k3-relu-bn")
    assert space.final_metrics(arch) == {"accuracy": 99.0, "test_accuracy": 98.7406, "params": 20202.0}
    assert space.query(arch, np.random.default_rng(0)).fitness == 99.0
    score, seconds = space.proxy_score("gradsign", arch)
    assert score > 0 and seconds > 0
    assert space.proxy_score("synflow", arch) is None
    assert space.decode(space.encode(arch)) == arch


def test_sample_and_mutate_stay_in_the_table_and_mutate_changes_one_op(grid):
    space = load_space({"name": "tabular", "args": {"path": str(grid), "final_columns": ["test"]}})
    rng = np.random.default_rng(0)
    counts = Counter(space.sample(rng) for _ in range(1200))
    assert set(counts) == set(space.archs) and min(counts.values()) > 60  # uniform over the 12 rows
    for _ in range(300):
        parent = space.sample(rng)
        child = space.mutate(parent, rng)
        assert child in space.archs and sum(p != c for p, c in zip(parent, child)) == 1


def test_incomplete_table_mutates_within_the_table_and_offers_no_encoding(tmp_path):
    rows = [r for r in grid_rows() if not r["arch"].startswith("conv1x1")]
    rows.append({"arch": "conv1x1-none-tanh", "accuracy": 50, "cost": 1, "test": 49})  # isolated: no neighbour
    rows = [r for r in rows if r["arch"] not in ("skip-none-tanh", "conv3x3-none-tanh")]
    space = TabularSpace(str(write_csv(tmp_path / "part.csv", rows)))
    assert type(space) is TabularSpace and "encoding" not in capabilities(space)
    rng = np.random.default_rng(1)
    isolated = ("conv1x1", "none", "tanh")
    assert space.neighbours(isolated) == []
    assert {space.mutate(isolated, rng) for _ in range(200)} <= set(space.archs)  # falls back to a sample
    for arch in space.archs:
        for _ in range(20):
            assert space.mutate(arch, rng) in space.archs
    with pytest.raises(ValueError, match="not in part.csv"):
        space.query(("conv1x1", "pool", "relu"), rng)
    with pytest.raises(ValueError, match="not in part.csv"):
        space.from_id("conv1x1-pool-relu")


def test_repeated_rows_are_seeds(tmp_path):
    rows = [{"arch": "a-b", "accuracy": 90, "cost": 5}, {"arch": "a-b", "accuracy": 94, "cost": 7},
            {"arch": "a-c", "accuracy": 80, "cost": 5}]
    space = TabularSpace(str(write_csv(tmp_path / "seeds.csv", rows)))
    rng = np.random.default_rng(0)
    drawn = {space.query(("a", "b"), rng).fitness for _ in range(50)}
    assert drawn == {90.0, 94.0}
    assert space.final_metrics(("a", "b")) == {"accuracy": 92.0}


def test_one_column_per_choice(tmp_path):
    rows = [{"op1": a, "op2": b, "acc": 50 + i, "seconds": 1} for i, (a, b) in enumerate(
        [("conv", "pool"), ("conv", "skip"), ("skip", "pool"), ("skip", "skip")])]
    space = load_space({"name": "tabular", "args": {
        "path": str(write_csv(tmp_path / "cols.csv", rows)), "choice_columns": ["op1", "op2"],
        "fitness_column": "acc", "cost_column": "seconds"}})
    assert space.arch_id(("skip", "pool")) == "skip-pool" and space.from_id("skip-skip") == ("skip", "skip")
    assert space.choices() == [["conv", "skip"], ["pool", "skip"]]
    assert space.query(("skip", "skip"), np.random.default_rng(0)).fitness == 53.0


@pytest.mark.parametrize(
    "rows, args, message",
    [
        ([{"arch": "a-b", "acc": 1, "cost": 1}], {}, r"no column\(s\) \['accuracy'\]"),
        ([{"arch": "a-b", "accuracy": "high", "cost": 1}], {}, r"row 2: column 'accuracy' holds 'high', not a number"),
        ([{"arch": "a-b", "accuracy": 1, "cost": 1}, {"arch": "a-b-c", "accuracy": 1, "cost": 1}], {},
         r"row 3: op list .* has 3 ops, expected 2"),
        ([{"arch": "a-b", "accuracy": 1, "cost": -1}], {}, "cost -1.0 is negative"),
        ([{"arch": "a-b", "accuracy": 1, "cost": 1}], {"colour": "red"}, r"unknown \['colour'\]"),
    ],
)
def test_bad_tables_fail_in_one_line(tmp_path, rows, args, message):
    path = write_csv(tmp_path / "bad.csv", rows)
    with pytest.raises(UsageError, match=message) as caught:
        load_space({"name": "tabular", "args": {"path": str(path), **args}})
    assert "\n" not in str(caught.value)


def test_missing_file_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="table 'nope.csv' not found"):
        load_space({"name": "tabular", "args": {"path": "nope.csv"}})


def test_no_networks_unless_a_builder_is_given(grid, tmp_path):
    space = TabularSpace(str(grid))
    with pytest.raises(UsageError, match="is a table and has no networks; add precomputed proxy columns"):
        space.build_network(space.archs[0], 10)
    builder = tmp_path / "builder.py"
    builder.write_text("import torch\ndef build(ops, num_classes):\n"
                       "    return torch.nn.Linear(len(ops) * 4, num_classes)\n")
    with_builder = load_space({"name": "tabular", "args": {"path": str(grid), "builder": f"{builder}:build"}})
    assert with_builder.build_network(space.archs[0], 7).out_features == 7
    assert with_builder.version != space.version  # the builder is part of what scores are keyed by
    with pytest.raises(UsageError, match="load the space through nasearch"):
        TabularSpace(str(grid), builder=f"{builder}:build")  # a string is never imported by the space itself


@pytest.mark.parametrize("builder, refusal", [
    ("os:getcwd", "standard library"),
    ("subprocess:call", "standard library"),
    ("getcwd", "expected 'pkg.module:function'"),
])
def test_a_builder_reference_is_checked_before_anything_runs(grid, builder, refusal):
    with pytest.raises(UsageError, match=refusal):
        load_space({"name": "tabular", "args": {"path": str(grid), "builder": builder}})


def test_version_follows_the_file_content(grid):
    before = TabularSpace(str(grid)).version
    grid.write_text(grid.read_text().replace("96", "97", 1))
    assert TabularSpace(str(grid)).version != before


def test_parquet_when_pandas_and_pyarrow_are_installed(tmp_path):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    path = tmp_path / "grid.parquet"
    pd.DataFrame(grid_rows()).to_parquet(path)
    space = TabularSpace(str(path))
    assert len(space.archs) == 12 and space.final_metrics(("skip", "pool", "relu"))["accuracy"] == 76.0


def test_short_searches_on_the_demo_table_use_its_proxy_column(tmp_path):
    """REA and G-REA run on the table; G-REA's scores come from proxy_gradsign, no network is built."""
    records = {}
    for hook in (None, {"proxy": "gradsign", "k": 10, "cost": "measured"}):
        raw = {"space": {"name": "tabular", "args": {"path": str(DEMO)}},
               "searcher": {"name": "rea", "args": {"population_size": 10, "tournament_size": 3}},
               "budget_seconds": 5, "runs": 3, "seed": 0, "label": "t", "cache_dir": str(tmp_path / "cache")}
        if hook:
            raw["hook"] = hook
        config = parse_search_config(raw)
        records[bool(hook)] = run_many(config, tmp_path / f"out{bool(hook)}")
    for assisted, runs in records.items():
        assert len(runs) == 3 and all(r.best_fitness >= 80 and "test_accuracy" in r.final for r in runs)
        assert all(0 < r.simulated_seconds <= 5 for r in runs)
        assert all((r.pool_draws > 0) == assisted for r in runs)
    assert not (tmp_path / "cache" / "scores.sqlite").exists() or _cache_rows(tmp_path / "cache") == 0


def _cache_rows(directory: Path) -> int:
    import sqlite3

    with sqlite3.connect(directory / "scores.sqlite") as connection:
        return connection.execute("SELECT COUNT(*) FROM scores").fetchone()[0]


def test_demo_table_holds_real_digits_training_results(tmp_path):
    """A row of the shipped table is what the digits space measures when it trains that arch."""
    pytest.importorskip("sklearn")
    from examples.digits_space import DigitsSpace

    space = DigitsSpace(epochs=4, cache=False)
    arch = ("d1", "w8", "k1", "relu", "plain")  # the cheapest arch: ~0.1 CPU seconds
    result = space.train(arch)
    row = next(r for r in csv.DictReader(DEMO.open()) if r["arch"] == "d1-w8-k1-relu-plain")
    assert float(row["accuracy"]) == round(result["valid_accuracy"], 4)
    assert float(row["test_accuracy"]) == round(result["test_accuracy"], 4)


def test_cli_runs_the_example_config(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "run_search.py"), "configs/examples/tabular_g_rea.yaml", "--runs", "2",
         "--out", str(tmp_path / "out")], cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**__import__("os").environ, "NASEARCH_CACHE_DIR": str(tmp_path / "cache")})
    assert result.returncode == 0, result.stderr
    assert "tabular_g_rea: 2 runs" in result.stdout
    runs = read_runs(tmp_path / "out" / "runs.jsonl")
    assert all(r.pool_draws > 0 for r in runs)


def test_a_table_that_is_not_utf8_text_names_the_file(tmp_path):
    from nasearch.spaces.tabular import TabularSpace

    table = tmp_path / "results.csv"
    table.write_bytes(b"arch,accuracy,cost\n" + bytes(range(128, 256)))
    with pytest.raises(UsageError, match=r"results\.csv is not UTF-8 text .*save the table as a UTF-8 CSV"):
        TabularSpace(str(table))
