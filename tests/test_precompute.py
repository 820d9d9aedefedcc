"""nasearch precompute: resumable, nothing recomputed, tables round-trip, writes kill-safe."""
from __future__ import annotations

import functools
import gzip
import json

import pytest

from nasearch import cli
from nasearch.errors import UsageError
from nasearch.precompute import PrecomputeJob, computation_order, export_table, precompute
from nasearch.proxies import scorer as scorer_module
from nasearch.proxies.data import DataSource
from nasearch.proxies.scorer import ProxyScorer
from nasearch.proxies.store import ScoreCache, ScoreRecord, read_table, write_table
from nasearch.spaces.nb201.genotype import NUM_ARCHS
from nasearch.spaces.nb201.space import NB201Space


@pytest.fixture
def job(tiny_npz, tmp_path) -> PrecomputeJob:
    return PrecomputeJob(batch_size=2, seed=3, data=DataSource(npz=str(tiny_npz)), cache_dir=str(tmp_path / "cache"))


@pytest.fixture
def live_calls(monkeypatch) -> list:
    """Every live computation, in this process (workers=1 runs in-process)."""
    calls: list = []
    original = ProxyScorer.compute

    def counting(self, arch):
        calls.append(arch)
        return original(self, arch)

    monkeypatch.setattr(ProxyScorer, "compute", counting)
    return calls


def test_order_is_a_fixed_permutation_of_the_whole_space():
    space = NB201Space()
    order = computation_order(space)
    assert len(order) == len(set(order)) == NUM_ARCHS
    assert order == computation_order(NB201Space())
    assert order[:50] != [space.arch_id(a) for a in space.all_archs()[:50]]  # not index order


def test_space_without_all_archs_is_a_usage_error():
    class Small:
        name = "small"

    with pytest.raises(UsageError, match="all_archs"):
        computation_order(Small())


def test_rerun_recomputes_nothing_and_extends_only_what_is_missing(job, live_calls, tmp_path):
    tables = tmp_path / "tables"
    first = precompute(job, workers=1, limit=3, progress=False, tables_dir=tables)
    assert (first.done_before, first.computed, len(live_calls)) == (0, 3, 3)
    stored = dict(ScoreCache(job.cache_dir).items(first.key))
    again = precompute(job, workers=1, limit=3, progress=False, tables_dir=tables)
    assert (again.done_before, again.computed, len(live_calls)) == (3, 0, 3)
    more = precompute(job, workers=1, limit=5, progress=False, tables_dir=tables)
    assert (more.done_before, more.computed, len(live_calls)) == (3, 2, 5)
    after = dict(ScoreCache(job.cache_dir).items(first.key))
    assert all(after[arch_id] == record for arch_id, record in stored.items())  # first write kept
    assert set(after) == set(computation_order(NB201Space())[:5])


def test_packaged_partial_table_carries_progress_to_a_fresh_cache(job, live_calls, tmp_path):
    tables = tmp_path / "tables"
    precompute(job, workers=1, limit=2, progress=False, tables_dir=tables)
    export_table(job, tables)
    elsewhere = PrecomputeJob(**{**vars(job), "cache_dir": str(tmp_path / "other-machine")})
    result = precompute(elsewhere, workers=1, limit=3, progress=False, tables_dir=tables)
    assert (result.done_before, result.computed, len(live_calls)) == (2, 1, 3)


def test_export_round_trip_and_provenance(job, tmp_path):
    tables = tmp_path / "tables"
    result = precompute(job, workers=1, limit=2, progress=False, tables_dir=tables)
    path, rows = export_table(job, tables)
    table, metadata = read_table(result.key, tables)
    cached = dict(ScoreCache(job.cache_dir).items(result.key))
    assert rows == 2 and set(table) == set(cached)
    for arch_id, record in table.items():
        assert record.score == cached[arch_id].score
        assert record.seconds == pytest.approx(cached[arch_id].seconds, abs=1e-6)
        assert record.seconds > 0
    assert metadata["data"] == "npz:tiny.npz" and metadata["data_images"] == 64
    assert (metadata["batch_size"], metadata["seed"], metadata["mode"]) == (2, 3, "fast")
    assert metadata["torch"] and "thread" in metadata["hardware"] and "CPU seconds" in metadata["seconds"]
    assert metadata["complete"] is False and metadata["space_size"] == NUM_ARCHS
    assert path.stat().st_size < 2000  # scores only, never the images


def test_table_from_other_data_is_refused(job, tmp_path):
    tables = tmp_path / "tables"
    precompute(job, workers=1, limit=1, progress=False, tables_dir=tables)
    export_table(job, tables)
    other = PrecomputeJob(**{**vars(job), "data": DataSource(npz="/elsewhere/other.npz"), "cache_dir": str(tmp_path / "c2")})
    with pytest.raises(UsageError, match="other.npz"):
        precompute(other, workers=1, limit=1, progress=False, tables_dir=tables)


def test_scorer_uses_partial_table_and_computes_the_rest_live(job, tmp_path, monkeypatch):
    tables = tmp_path / "tables"
    result = precompute(job, workers=1, limit=2, progress=False, tables_dir=tables)
    export_table(job, tables)
    monkeypatch.setattr(scorer_module, "read_table", functools.partial(read_table, directory=tables))
    space = NB201Space()
    scorer = ProxyScorer(space, "gradsign", batch_size=2, seed=3, data=job.data)
    in_table, *_ = computation_order(space)
    missing = computation_order(space)[10]
    assert scorer.score(space.from_id(in_table)).score == read_table(result.key, tables)[0][in_table].score
    assert scorer.live_computations == 0
    live = scorer.score(space.from_id(missing))
    assert scorer.live_computations == 1 and live.seconds > 0


def test_live_scorer_and_precompute_give_the_same_score(job, tmp_path):
    result = precompute(job, workers=1, limit=1, progress=False, tables_dir=tmp_path / "tables")
    arch_id, stored = next(iter(ScoreCache(job.cache_dir).items(result.key)))
    space = NB201Space()
    live = ProxyScorer(space, "gradsign", batch_size=2, seed=3, data=job.data, use_tables=False).compute(space.from_id(arch_id))
    assert live.score == stored.score


def test_interrupted_table_write_leaves_the_old_table_intact(job, tmp_path):
    key = job.scorer().key
    tmp_path = tmp_path / "tables"
    write_table(key, [("a", ScoreRecord(1.0, 0.5))], {"data": "x"}, tmp_path)

    def rows():
        yield "b", ScoreRecord(2.0, 0.5)
        raise KeyboardInterrupt  # killed while the new table is being produced

    with pytest.raises(KeyboardInterrupt):
        write_table(key, rows(), {"data": "x"}, tmp_path)
    table, metadata = read_table(key, tmp_path)
    assert set(table) == {"a"} and metadata["count"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"{key.table_stem()}.csv.gz", f"{key.table_stem()}.json"]
    )
    with gzip.open(tmp_path / f"{key.table_stem()}.csv.gz", "rt") as handle:
        assert handle.read().splitlines()[1:] == ["a,1.0,0.500000"]
    assert json.loads((tmp_path / f"{key.table_stem()}.json").read_text())["count"] == 1


def test_cli_two_workers_then_export(tiny_npz, tmp_path, capsys):
    args = ["precompute", "--data", str(tiny_npz), "--batch-size", "2", "--limit", "2", "--workers", "2", "--quiet",
            "--cache-dir", str(tmp_path / "cache"), "--tables-dir", str(tmp_path / "tables")]
    assert cli.main(args) == 0
    assert "2/2 archs done, 2 computed now" in capsys.readouterr().out
    assert cli.main([*args[:-4], "--limit", "0", "--export", *args[-4:]]) == 0  # export only
    out = capsys.readouterr().out
    assert "archs done" not in out and "exported 2 scores" in out


def test_one_worker_per_device_gives_the_single_worker_scores(job, tmp_path):
    """Multi-GPU precompute's device assignment, exercised with two 'devices' that are the CPU."""
    single = precompute(job, workers=1, limit=3, progress=False, tables_dir=tmp_path / "t1")
    from dataclasses import replace

    other = replace(job, cache_dir=str(tmp_path / "cache2"))
    pooled = precompute(other, workers=5, limit=3, progress=False, tables_dir=tmp_path / "t2", devices=["cpu", "cpu"])
    assert (single.computed, pooled.computed) == (3, 3)
    first = dict(ScoreCache(job.cache_dir).items(single.key))
    second = dict(ScoreCache(other.cache_dir).items(pooled.key))
    assert {a: r.score for a, r in first.items()} == {a: r.score for a, r in second.items()}
    again = precompute(other, workers=1, limit=4, progress=False, tables_dir=tmp_path / "t2", devices=["cpu", "cpu"])
    assert (again.done_before, again.computed) == (3, 1)  # resumable as on one worker


def test_cli_device_cuda_without_cuda_exits_2_in_one_line(tiny_npz, tmp_path, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("checks the machine without CUDA")
    args = ["precompute", "--data", str(tiny_npz), "--limit", "1", "--quiet", "--device", "cuda",
            "--cache-dir", str(tmp_path / "c"), "--tables-dir", str(tmp_path / "t")]
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--device: 'cuda' asked for, but CUDA is not available" in err


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--data", "/no/such.npz"], "does not exist"),
        (["--batch-size", "0"], "--batch-size"),
        (["--workers", "0"], "--workers"),
        (["--option", "per_sample"], "KEY=VALUE"),
        (["--option", "colour=red"], "colour"),
        (["--proxy", "nope"], "unknown proxy"),
    ],
)
def test_cli_usage_errors_exit_2(tiny_npz, tmp_path, capsys, flags, message):
    base = ["precompute", "--data", str(tiny_npz), "--limit", "1", "--cache-dir", str(tmp_path / "c"),
            "--tables-dir", str(tmp_path / "t"), "--quiet"]
    assert cli.main([*base, *flags]) == 2
    assert message in capsys.readouterr().err


USER_SPACE = '''
import numpy as np
import torch
from torch import nn
from nasearch.spaces.protocol import Evaluation


class Widths:
    """Three MLP widths on its own random data: the smallest space precompute can cover."""

    name = "widths"
    version = "1"
    num_classes = 3

    def all_archs(self):
        return [1, 2, 4]

    def sample(self, rng: np.random.Generator):
        return int(rng.choice(self.all_archs()))

    def mutate(self, arch, rng: np.random.Generator):
        return self.sample(rng)

    def query(self, arch, rng: np.random.Generator) -> Evaluation:
        return Evaluation(fitness=float(arch), cost_seconds=1.0)

    def final_metrics(self, arch) -> dict:
        return {"valid": float(arch)}

    def arch_id(self, arch) -> str:
        return str(arch)

    def from_id(self, arch_id: str):
        return int(arch_id)

    def build_network(self, arch, num_classes: int = 3):
        return nn.Sequential(nn.Linear(5, arch), nn.Tanh(), nn.Linear(arch, num_classes))

    def proxy_batch(self, batch_size: int, seed: int):
        generator = torch.Generator().manual_seed(seed)
        return torch.randn(batch_size, 5, generator=generator), torch.randint(0, 3, (batch_size,), generator=generator)
'''


def test_a_users_space_with_its_own_data_is_covered_whole(tmp_path, capsys):
    (tmp_path / "widths.py").write_text(USER_SPACE)
    args = ["precompute", "--space", f"{tmp_path / 'widths.py'}:Widths", "--batch-size", "4", "--workers", "1",
            "--quiet", "--export", "--cache-dir", str(tmp_path / "c"), "--tables-dir", str(tmp_path / "t")]
    assert cli.main(args) == 0
    assert "3/3 archs done, 3 computed now" in capsys.readouterr().out
    metadata = json.loads((tmp_path / "t" / "widths-v1_gradsign_space_b4_s0.json").read_text())
    assert metadata["complete"] is True and metadata["data"] == "space:widths" and metadata["data_images"] is None
