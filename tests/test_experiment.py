"""Experiments: config validation, worker-count invariance, SIGKILL resume, Ray."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from nasearch.results import RunRecord
from nasearch.errors import UsageError
from nasearch.experiments import (ENTRY_KEYS, describe, infer_pairs, load_experiment, parse_experiment,
                                 run_experiment)
from nasearch.analysis.pairs import ROLES, Pair

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"


def _write(tmp_path: Path, raw: dict, name: str = "exp.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(raw))
    return path


def _experiment(tmp_path: Path, out: Path, runs: int = 6, budget: float = 3000, **extra) -> dict:
    return {
        "label": "tiny", "runs": runs, "budget_seconds": budget, "seed": 3, "out": str(out),
        "searchers": [
            {"config": str(CONFIGS / "rs.yaml")},
            {"config": str(CONFIGS / "rea.yaml")},
            {"config": str(CONFIGS / "rea.yaml"), "label": "rea_t2", "searcher": {"args": {"tournament_size": 2}}},
        ],
        **extra,
    }


def _results(out: Path) -> dict[str, bytes]:
    return {p.parent.name: p.read_bytes() for p in sorted(out.glob("*/runs.jsonl"))}


# -- config --------------------------------------------------------------------------------
def test_entries_get_the_experiment_settings_and_their_overrides(tmp_path):
    config = parse_experiment(_experiment(tmp_path, tmp_path / "out", runs=4, budget=500, workers=1))
    assert config.labels == ["rs", "rea", "rea_t2"]
    for searcher in config.searchers:
        assert (searcher.runs, searcher.seed, searcher.budget_seconds) == (4, 3, 500.0)
        assert Path(searcher.out) == tmp_path / "out" / searcher.label
    assert config.searcher("rea_t2").searcher["args"] == {"population_size": 10, "tournament_size": 2}
    assert config.pairs == ()  # no assisted searcher: nothing to pair


def test_hook_override_and_inferred_pairs(tmp_path):
    raw = {"searchers": [str(CONFIGS / "rea.yaml"), str(CONFIGS / "g_rea.yaml"),
                         {"config": str(CONFIGS / "g_rea.yaml"), "label": "g_rea_k3", "hook": {"k": 3}},
                         {"config": str(CONFIGS / "g_rea.yaml"), "label": "rea_again", "hook": None}]}
    config = parse_experiment(raw, workers=1)
    assert config.searcher("g_rea_k3").hook.k == 3 and config.searcher("g_rea_k3").hook.proxy == "gradsign"
    assert config.searcher("rea_again").hook is None
    assert config.pairs == (Pair("rea", "g_rea", "effect"), Pair("rea", "g_rea_k3", "effect"))
    assert infer_pairs(list(config.searchers)) == config.pairs


def test_inferred_pairs_get_their_roles_from_the_hooks():
    g_rea = str(CONFIGS / "g_rea.yaml")
    raw = {"searchers": [str(CONFIGS / "rea.yaml"), g_rea,
                         {"config": g_rea, "label": "g_rea_lookup", "hook": {"cost": "lookup"}},
                         {"config": g_rea, "label": "g_rea_params", "hook": {"proxy": "params", "cost": "lookup"}},
                         {"config": g_rea, "label": "g_rea_uniform", "hook": {"select": "uniform", "cost": "lookup"}},
                         {"config": g_rea, "label": "g_rea_flops", "hook": {"proxy": "flops", "k": 3}}]}
    config = parse_experiment(raw, workers=1)
    assert config.pairs == (
        Pair("rea", "g_rea", "effect"), Pair("rea", "g_rea_lookup", "effect"), Pair("rea", "g_rea_params", "effect"),
        Pair("rea", "g_rea_uniform", "exact_control"), Pair("rea", "g_rea_flops", "effect"),
        # the proxy twin with the same hook but for the proxy; else the first proxy twin
        Pair("g_rea_params", "g_rea_lookup", "trivial_proxy"), Pair("g_rea_flops", "g_rea", "trivial_proxy"))


def test_declared_pairs_keep_their_role_and_the_rest_are_inferred(tmp_path):
    g_rea = str(CONFIGS / "g_rea.yaml")
    searchers = [str(CONFIGS / "rea.yaml"), g_rea,
                 {"config": g_rea, "label": "g_rea_params", "hook": {"proxy": "params"}},
                 {"config": g_rea, "label": "g_rea_uniform", "hook": {"select": "uniform"}}]
    pairs = [["rea", "g_rea_uniform"], ["g_rea_params", "g_rea"],
             {"baseline": "rea", "treatment": "g_rea"},
             {"baseline": "g_rea_uniform", "treatment": "g_rea", "role": "proxy_vs_proxy"}]
    config = parse_experiment({"searchers": searchers, "pairs": pairs, "out": str(tmp_path / "out")}, workers=1)
    assert config.pairs == (Pair("rea", "g_rea_uniform", "exact_control"), Pair("g_rea_params", "g_rea", "trivial_proxy"),
                            Pair("rea", "g_rea", "effect"), Pair("g_rea_uniform", "g_rea", "proxy_vs_proxy"))
    # experiment.json records the roles, so the report reads them instead of guessing
    assert describe(config)["pairs"][3] == {"baseline": "g_rea_uniform", "treatment": "g_rea", "role": "proxy_vs_proxy"}
    # roles never reach a searcher's fingerprint: an out dir run before roles existed still resumes
    from nasearch.execution import config_fingerprint

    plain = parse_experiment({"searchers": searchers, "out": str(tmp_path / "out")}, workers=1)
    assert [config_fingerprint(s) for s in config.searchers] == [config_fingerprint(s) for s in plain.searchers]


def test_every_shipped_experiment_declares_a_role_for_each_pair():
    for path in sorted((CONFIGS / "experiments").glob("*.yaml")):
        raw = yaml.safe_load(path.read_text())
        for pair in raw.get("pairs") or []:
            assert isinstance(pair, dict) and pair.get("role") in ROLES, (path.name, pair)
    config = load_experiment(CONFIGS / "experiments" / "table6.yaml", workers=1)
    roles = {(p.baseline, p.treatment): p.role for p in config.pairs}
    assert roles["rea", "g_rea"] == "effect" and roles["rea", "g_rea_uniform"] == "exact_control"
    assert roles["g_rea_params", "g_rea_lookup"] == "trivial_proxy"


@pytest.mark.parametrize("change, message", [
    ({"bogus": 1}, "unknown key 'bogus'"),
    ({"searchers": []}, "non-empty list"),
    ({"searchers": [{"config": "configs/nope.yaml"}]}, "does not exist"),
    ({"searchers": [{"config": str(CONFIGS / "rs.yaml"), "runs": 3}]}, "set it once for the whole experiment"),
    ({"searchers": [str(CONFIGS / "rs.yaml"), str(CONFIGS / "rs.yaml")]}, "used twice"),
    ({"searchers": [{"config": str(CONFIGS / "rs.yaml"), "label": "a/b"}]}, "plain name"),
    ({"pairs": [["rs", "missing"]]}, "unknown label 'missing'"),
    ({"pairs": [["rs"]]}, "pair"),
    ({"pairs": [{"baseline": "rs", "treatment": "rea", "role": "control"}]},
     "role 'control' is not one of effect, exact_control, trivial_proxy, proxy_vs_proxy"),
    ({"pairs": [{"baseline": "rs", "treatment": "rea", "kind": "effect"}]}, "unknown key 'kind'"),
    ({"pairs": [{"baseline": "rs"}]}, "needs both 'baseline' and 'treatment'"),
    ({"pairs": [{"baseline": "rs", "treatment": "nope", "role": "effect"}]}, "unknown label 'nope'"),
    ({"runs": 0}, "runs: must be >= 1"),
    ({"searchers": [{"config": str(CONFIGS / "rs.yaml"), "searcher": {"name": "nope"}}]}, "unknown searcher"),
])
def test_config_errors_are_one_line_usage_errors(tmp_path, change, message):
    raw = {**_experiment(tmp_path, tmp_path / "out"), **change}
    with pytest.raises(UsageError, match=message) as info:
        parse_experiment(raw)
    assert "\n" not in str(info.value)


def test_entry_keys_are_documented_in_the_table6_config():
    raw = yaml.safe_load((CONFIGS / "experiments" / "table6.yaml").read_text())
    assert all(set(entry) <= ENTRY_KEYS for entry in raw["searchers"] if isinstance(entry, dict))
    labels = {e if isinstance(e, str) else e.get("label") or Path(e["config"]).stem for e in raw["searchers"]}
    assert {pair[side] for pair in raw["pairs"] for side in ("baseline", "treatment")} <= labels


def test_cli_reports_a_bad_experiment_with_exit_code_2(tmp_path):
    path = _write(tmp_path, {"searchers": [{"config": "configs/nope.yaml"}]})
    result = subprocess.run([sys.executable, "run_search.py", str(path)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 2
    assert "does not exist" in result.stderr and "Traceback" not in result.stderr


def test_cli_names_the_allowed_roles_for_a_bad_one(tmp_path):
    raw = {"searchers": [str(CONFIGS / "rs.yaml"), str(CONFIGS / "g_rs.yaml")],
           "pairs": [{"baseline": "rs", "treatment": "g_rs", "role": "baseline"}], "out": str(tmp_path / "out")}
    result = subprocess.run([sys.executable, "run_search.py", str(_write(tmp_path, raw))], cwd=ROOT,
                            capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "nasearch: error: experiment.pairs: rs -> g_rs: role 'baseline' is not one of effect, exact_control, trivial_proxy, "
        "proxy_vs_proxy"]
    assert not (tmp_path / "out").exists()


# -- execution ------------------------------------------------------------------------------
def test_results_are_byte_identical_whatever_the_worker_count(tmp_path):
    outputs = {}
    for workers in (1, 2):
        out = tmp_path / f"w{workers}"
        config = parse_experiment(_experiment(tmp_path, out), workers=workers)
        run_experiment(config, show_progress=False)
        outputs[workers] = _results(out)
    assert list(outputs[1]) == ["rea", "rea_t2", "rs"]
    assert outputs[1] == outputs[2]
    timing = json.loads((tmp_path / "w2" / "timing.json").read_text())
    assert timing["rs"]["runs_computed"] == 6 and timing["rs"]["workers"] == 2


def test_rerun_recomputes_nothing_and_a_changed_config_is_refused(tmp_path):
    out = tmp_path / "out"
    config = parse_experiment(_experiment(tmp_path, out), workers=1)
    run_experiment(config, show_progress=False)
    before = {p: p.stat().st_mtime_ns for p in out.glob("*/progress.jsonl")}
    timing = json.loads((out / "timing.json").read_text())
    run_experiment(config, show_progress=False)
    assert {p: p.stat().st_mtime_ns for p in out.glob("*/progress.jsonl")} == before
    assert json.loads((out / "timing.json").read_text())["rs"]["runs_computed"] == timing["rs"]["runs_computed"]
    changed = parse_experiment(_experiment(tmp_path, out, budget=2000), workers=1)
    with pytest.raises(UsageError, match="different config"):
        run_experiment(changed, show_progress=False)


def test_sigkill_mid_experiment_then_rerun_equals_an_uninterrupted_run(tmp_path):
    runs = 150
    path = _write(tmp_path, _experiment(tmp_path, tmp_path / "killed", runs=runs, budget=12000))
    command = [sys.executable, "run_search.py", str(path), "--workers", "2"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    first = tmp_path / "killed" / "rs" / "progress.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if first.is_file() and first.read_bytes().count(b"\n") >= 20:
            break
        time.sleep(0.005)
    os.killpg(process.pid, signal.SIGKILL)  # the parent and its pool workers, mid-write or not
    process.wait()
    progress = {p.parent.name: p.read_bytes() for p in (tmp_path / "killed").glob("*/progress.jsonl")}
    finished_before = sum(b.count(b"\n") for b in progress.values())
    assert 0 < finished_before < 3 * runs, "the kill must land mid-experiment"
    assert not (tmp_path / "killed" / "rea_t2" / "runs.jsonl").exists()

    rerun = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    for label, before in progress.items():
        after = (tmp_path / "killed" / label / "progress.jsonl").read_bytes()
        kept = before[: before.rfind(b"\n") + 1]  # a torn last line may be cut, nothing else
        assert after.startswith(kept), f"{label}: finished runs were rewritten"
    for p in (tmp_path / "killed").glob("*/progress.jsonl"):
        indices = [json.loads(line)["run"] for line in p.read_text().splitlines()]
        assert sorted(indices) == list(range(runs)), f"{p.parent.name}: a run was lost or duplicated"

    reference = parse_experiment(_experiment(tmp_path, tmp_path / "clean", runs=runs, budget=12000), workers=1)
    run_experiment(reference, show_progress=False)
    assert _results(tmp_path / "killed") == _results(tmp_path / "clean")


def test_run_search_dispatches_an_experiment_config(tmp_path):
    path = _write(tmp_path, _experiment(tmp_path, tmp_path / "out", runs=2, budget=1000))
    result = subprocess.run([sys.executable, "run_search.py", str(path), "--workers", "1", "--report"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert sorted(_results(tmp_path / "out")) == ["rea", "rea_t2", "rs"]
    assert (tmp_path / "out" / "report.md").is_file()


def test_ray_backend_gives_the_local_bytes(tmp_path):
    pytest.importorskip("ray")
    local = parse_experiment(_experiment(tmp_path, tmp_path / "local", runs=5), workers=1)
    run_experiment(local, show_progress=False)
    on_ray = parse_experiment(_experiment(tmp_path, tmp_path / "ray", runs=5), workers=2)
    import ray

    try:
        run_experiment(on_ray, show_progress=False, backend="ray")
    finally:
        ray.shutdown()
    assert _results(tmp_path / "ray") == _results(tmp_path / "local")


def test_assisted_runs_are_identical_with_a_cold_or_a_warm_score_cache(tmp_path):
    """The parent copies cached scores into the scorer before forking; that must not change a byte."""
    raw = {"runs": 4, "budget_seconds": 3000, "seed": 1, "searchers": [
        {"config": str(CONFIGS / "g_rea.yaml"), "label": "g_rea_random", "hook": {"proxy": "random", "cost": "lookup", "k": 3}},
    ]}
    outputs = []
    for workers, name in ((1, "cold"), (2, "warm")):  # the first run fills the (per-test) score cache
        config = parse_experiment({**raw, "out": str(tmp_path / name)}, workers=workers)
        run_experiment(config, show_progress=False)
        outputs.append(_results(tmp_path / name))
    assert outputs[0] == outputs[1] and outputs[0]
    record = RunRecord.from_dict(json.loads(outputs[0]["g_rea_random"].splitlines()[0]))
    assert record.selection == "random" and record.pool_draws > 0


def test_shipped_experiments_load_and_controls_share_table6_results():
    """controls.yaml is table6.yaml minus GradSign: its searchers must be table6's, config for config,
    so that running table6 into the same directory reuses every finished control run."""
    from nasearch.execution import config_fingerprint

    table6 = load_experiment(CONFIGS / "experiments" / "table6.yaml", workers=1)
    controls = load_experiment(CONFIGS / "experiments" / "controls.yaml", workers=1)
    assert table6.runs == controls.runs == 500 and table6.budget_seconds == controls.budget_seconds == 12000
    from nasearch.hook import selection_label

    assert {selection_label(s.hook) for s in controls.searchers if s.hook} == {"params", "random", "uniform"}
    for searcher in controls.searchers:
        assert config_fingerprint(searcher) == config_fingerprint(table6.searcher(searcher.label)), searcher.label
