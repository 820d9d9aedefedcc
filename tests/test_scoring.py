"""One scorer spec; scores know their images; data-free keys; packaging entry points."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from nasearch.errors import UsageError
from nasearch.proxies.data import DataSource
from nasearch.proxies.scorer import ProxyScorer, ScorerSpec, same_data
from nasearch.proxies.store import ScoreCache, ScoreKey, ScoreRecord
from nasearch.spaces.nb201.space import NB201Space

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_B128 = "npz:cifar10_sample.npz#sha256:c763a914e5e610d3"  # the packaged GradSign b128 table's images


@pytest.fixture(scope="module")
def space():
    return NB201Space()


def test_scores_of_two_image_sets_never_mix_under_one_key(space, tiny_npz, tmp_path):
    cache = ScoreCache(tmp_path / "c")
    scorer = ProxyScorer(space, "grad_norm", batch_size=8, data=DataSource(npz=str(tiny_npz)), cache=cache)
    stored, fresh = (0, 1, 2, 3, 4, 0), (1, 1, 1, 1, 1, 1)
    cache.put(scorer.key, space.arch_id(stored), ScoreRecord(1.0, 0.1, "x", "npz:cifar10.npz#sha256:0000000000000000"))
    assert scorer.score(stored).score == 1.0  # a stored score is used as it is ...
    with pytest.raises(UsageError, match="two different image sets"):
        scorer.score(fresh)  # ... but a live one on other images would mix with it: refused


def test_live_scores_on_the_sample_match_the_packaged_tables_identity(space, cifar_npz):
    scorer = ScorerSpec("gradsign", batch_size=128).build(space, DataSource(npz=str(cifar_npz)))
    record = scorer.score((0, 1, 2, 3, 4, 0))  # from the packaged table
    assert record.data == SAMPLE_B128 == scorer.data_label()
    assert same_data(record.data, "npz:cifar10_sample.npz")  # older records without a digest: by name


def test_data_free_proxies_are_keyed_without_a_batch_size(space):
    assert ProxyScorer(space, "params", batch_size=64).key == ProxyScorer(space, "params", batch_size=128).key
    assert ProxyScorer(space, "params").key.batch_size == 0
    assert ProxyScorer(space, "gradsign", batch_size=64).key.batch_size == 64
    assert ProxyScorer(space, "params").score((0, 1, 2, 3, 4, 0)).hardware != "test"  # the renamed b0 table is found


def test_one_spec_builds_the_scorer_everywhere(space):
    from nasearch.config import parse_hook

    hook = parse_hook({"proxy": "gradsign", "batch_size": 64, "seed": 0, "options": {"per_sample": "loop"}})
    spec = ScorerSpec.from_hook(hook)
    assert spec == ScorerSpec("gradsign", "cifar10", 64, (0,), (("per_sample", "loop"),), True, "cpu")
    scorer = spec.build(space)
    assert scorer.options["per_sample"] == "loop" and scorer.key == ScoreKey("nb201@1", "gradsign", "cifar10", 64, 0)
    with pytest.raises(UsageError, match="not known to proxy"):
        ScorerSpec("gradsign", options={"nope": 1}).build(space)


def _python(*args, cwd):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("module", ["nasearch", "nasearch.cli"])
def test_python_dash_m_runs_the_command_line(module, tmp_path):
    result = _python("-m", module, "--help", cwd=tmp_path)
    assert result.returncode == 0 and "precompute" in result.stdout
    result = _python("-m", module, "run", "nope.yaml", cwd=tmp_path)
    assert result.returncode == 2 and "nope.yaml" in result.stderr


def test_shipped_configs_are_found_by_name_from_anywhere(tmp_path):
    from nasearch.config import resolve_config

    for name in ("g_rea", "g_rea.yaml", "configs/g_rea.yaml", "experiments/table6.yaml"):
        assert resolve_config(name).is_file(), name
    result = _python("-m", "nasearch", "run", "rea", "--runs", "1", "--budget", "500", "--out", str(tmp_path / "o"),
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "o" / "runs.jsonl").is_file()


def test_every_package_directory_is_a_package():
    """A folder of modules without __init__.py is left out of wheels (``packages = find:``)."""
    for top in ("nasearch", "searchers", "spaces"):
        for folder in [ROOT / top, *(p for p in (ROOT / top).rglob("*") if p.is_dir())]:
            if folder.name == "__pycache__" or not any(folder.glob("*.py")):
                continue
            assert (folder / "__init__.py").is_file(), f"{folder} has modules but no __init__.py"


def test_correlate_passes_proxy_options(tmp_path, capsys):
    from nasearch.cli import main

    base = ["correlate", "--n", "5", "--pool", "3", "--repeats", "2", "--bootstrap", "0", "--no-progress",
            "--cache-dir", str(tmp_path / "c")]
    assert main([*base, "--proxies", "flops", "--option", "flops.nope=1", "--out", str(tmp_path / "a")]) == 2
    assert "not known to proxy 'flops'" in capsys.readouterr().err  # the option reached the scorer
    assert main([*base, "--proxies", "flops", "--option", "flops.input_shape=[3, 16, 16]", "--out", str(tmp_path / "b")]) == 0
    small = (tmp_path / "b" / "scores.csv").read_text()
    assert main([*base, "--proxies", "flops", "--out", str(tmp_path / "d")]) == 0
    assert small != (tmp_path / "d" / "scores.csv").read_text()  # 16x16 inputs: fewer FLOPs
    assert main([*base, "--proxies", "flops", "--option", "bad", "--out", str(tmp_path / "e")]) == 2


def test_live_cpu_scores_are_measured_on_one_thread_whatever_the_process_uses(space, tiny_npz):
    """--workers 1 runs in-process with torch's default threads, the pool with one each: a
    live score's charged seconds must not depend on which (issue 17)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        scorer = ProxyScorer(space, "grad_norm", batch_size=8, data=DataSource(npz=str(tiny_npz)))
        seen = []
        original = scorer.spec.fn

        def spy(*args, **kwargs):
            seen.append(torch.get_num_threads())
            return original(*args, **kwargs)

        scorer.spec = type(scorer.spec)(**{**scorer.spec.__dict__, "fn": spy})
        record = scorer.compute((0, 1, 2, 3, 4, 0))
        assert seen == [1] and "x1 threads" in record.hardware
        assert torch.get_num_threads() == 2  # the process's own setting is restored
    finally:
        torch.set_num_threads(before)


def test_batch_seed_decouples_the_batch_draw_from_the_init_and_gets_its_own_key(space, tiny_npz):
    data = DataSource(npz=str(tiny_npz))
    same = ProxyScorer(space, "grad_norm", batch_size=8, seed=1, data=data)
    explicit = ProxyScorer(space, "grad_norm", batch_size=8, seed=1, batch_seed=1, data=data)
    other = ProxyScorer(space, "grad_norm", batch_size=8, seed=1, batch_seed=2, data=data)
    arch = (0, 1, 2, 3, 4, 0)
    assert same.key == explicit.key and "[batch_seed=2]" in other.key.proxy
    assert same.data_label() != other.data_label()  # other images: another digest
    assert same.compute(arch).score != other.compute(arch).score
    init_two = ProxyScorer(space, "grad_norm", batch_size=8, seed=2, batch_seed=1, data=data)
    assert init_two.data_label() == same.data_label()  # the same images, another initialisation
    assert ProxyScorer(space, "params", seed=0, batch_seed=5).key == ProxyScorer(space, "params").key  # no data: no batch
