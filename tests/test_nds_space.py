"""The NDS design spaces over NDS-format sweep files: reader, space semantics, every searcher, experiment, correlate."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from nasearch.cli import main
from nasearch.config import parse_search_config
from nasearch.errors import UsageError
from nasearch.execution import run_many
from nasearch.loading import load_space
from nasearch.spaces.darts import nds
from nasearch.spaces.darts.genotype import Genotype, from_nds
from nasearch.spaces.darts.network import DartsNetwork, count_parameters
from nasearch.spaces.protocol import capabilities, protocol_problems
from tests.nds_fixtures import FILE_NAMES, job, sweep_jobs, write_sweep

DESIGNS = ("darts", "amoeba", "enas", "nasnet", "pnas")


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory):
    """One NDS-format file per design (24 records each; params counted by the builder)."""
    directory = tmp_path_factory.mktemp("nds")
    return {name: write_sweep(directory, name, n=24) for name in DESIGNS}


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("NASEARCH_CACHE_DIR", str(tmp_path / "cache"))
    nds._LOADED.clear()
    return tmp_path / "cache"


def space_of(path, **args):
    return load_space({"name": "nds", "args": {"path": str(path), **args}})


# -- the real thing: a published NDS record ------------------------------------------------
#: An Amoeba record of NDS's Amoeba.json as NNI's NDS benchmark prints it (microsoft/nni,
#: docs/en_US/NAS/BenchmarksExample.ipynb): width 32, depth 12, no auxiliary head, 4.190314 M parameters.
REAL_AMOEBA = {
    "normal": [["avg_pool_3x3", 0], ["conv_7x1_1x7", 1], ["sep_conv_3x3", 2], ["sep_conv_5x5", 0],
               ["dil_sep_conv_3x3", 2], ["dil_sep_conv_3x3", 2], ["skip_connect", 4], ["dil_sep_conv_3x3", 4],
               ["conv_7x1_1x7", 2], ["sep_conv_3x3", 4]],
    "normal_concat": [3, 5, 6],
    "reduce": [["avg_pool_3x3", 0], ["dil_sep_conv_3x3", 1], ["sep_conv_3x3", 0], ["sep_conv_3x3", 0],
               ["skip_connect", 2], ["sep_conv_7x7", 0], ["conv_7x1_1x7", 4], ["skip_connect", 4],
               ["conv_7x1_1x7", 0], ["conv_7x1_1x7", 5]],
    "reduce_concat": [3, 6],
}


def test_a_published_nds_record_builds_to_its_recorded_parameter_count(tmp_path):
    """The record's own params (4,190,314) is reproduced exactly, through the space's reader and builder."""
    record = job(from_nds(REAL_AMOEBA), 32, 12, 0, np.random.default_rng(0), params=4190314)
    record.update({"flops": 664400586.0, "iter_time": 0.281})
    path = tmp_path / "Amoeba.json"
    path.write_text(json.dumps([record]))
    space = space_of(path)
    assert space.name == "nds-amoeba" and space.genotype(0).normal_concat == (3, 5, 6)
    assert count_parameters(space.record_network(0)) == 4190314 == space.record(0).params
    # the proxies' network is the same one (this record has no auxiliary head)
    assert count_parameters(space.build_network(0, 10)) == 4190314


# -- the reader -----------------------------------------------------------------------------
def test_the_reader_keeps_what_the_file_says(sweeps):
    jobs = json.loads(sweeps["darts"].read_text())
    _, records = nds.read_sweep(sweeps["darts"])
    assert len(records) == len(jobs) == 24
    for written, record in zip(jobs, records):
        assert record.genotype_json() == written["net"]["genotype"]
        assert (record.width, record.depth, record.params) == (written["net"]["width"], written["net"]["depth"], written["params"])
        assert record.test_accuracy == 100 - written["test_ep_top1"][-1]
        assert record.epochs == written["optim"]["max_ep"] and record.iter_time == written["iter_time"]


def test_a_compact_index_is_written_once_and_read_back(sweeps, cache_dir):
    digest, first = nds.read_sweep(sweeps["enas"])
    index = cache_dir / "nds" / f"{digest}.v{nds.INDEX_VERSION}.json"
    assert index.is_file() and index.stat().st_size < sweeps["enas"].stat().st_size
    nds._LOADED.clear()
    assert nds.read_sweep(sweeps["enas"]) == (digest, first)
    index.write_text("not json")  # a damaged index is rebuilt from the file
    nds._LOADED.clear()
    assert nds.read_sweep(sweeps["enas"]) == (digest, first)


def test_split_files_read_top_then_mid(tmp_path):
    jobs = sweep_jobs("enas", n=4)
    path = tmp_path / "ENAS.json"
    path.write_text(json.dumps({"top": jobs[:1], "mid": jobs[1:]}))
    _, records = nds.read_sweep(path)
    assert [r.genotype_json() for r in records] == [j["net"]["genotype"] for j in jobs]


def _damaged(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content)
    return path


@pytest.mark.parametrize("name,mutation,message", [
    ("DARTS.json", lambda text, jobs: text[: len(text) // 2], "not valid JSON .* truncated or damaged"),
    ("DARTS.json", lambda text, jobs: json.dumps({"jobs": jobs}), "a JSON list of job records"),
    ("DARTS.json", lambda text, jobs: json.dumps([{k: v for k, v in jobs[0].items() if k != "params"}]), "record 0 has no 'params'"),
    ("DARTS.json", lambda text, jobs: json.dumps([{**jobs[0], "net": {"ds": [1], "ws": [16]}}]), "ResNet/AnyNet record"),
    ("DARTS.json", lambda text, jobs: json.dumps([{**jobs[0], "test_ep_top1": []}]), "test_ep_top1 must be a non-empty"),
    ("DARTS.json", lambda text, jobs: json.dumps([{**jobs[0], "test_ep_top1": [5, "x"]}]), r"test_ep_top1\[1\] is 'x'"),
    ("DARTS.json", lambda text, jobs: json.dumps([jobs[0], {**jobs[1], "net": {**jobs[1]["net"], "width": 0}}]), "record 1: net.width 0"),
    ("Amoeba.json", lambda text, jobs: text, "record 0 is not an NDS amoeba genotype: amoeba normal cell must have 5 nodes"),
    ("DARTS_in.json", lambda text, jobs: text, "is an ImageNet sweep"),
    ("DARTS.json", lambda text, jobs: json.dumps([{k: v for k, v in jobs[0].items() if k != "iter_time"}]), "set space.args.cost_seconds"),
    ("DARTS.json", lambda text, jobs: "", "not valid JSON"),
])
def test_bad_files_are_refused_in_one_line(tmp_path, name, mutation, message):
    jobs = sweep_jobs("darts", n=3)
    path = _damaged(tmp_path, name, mutation(json.dumps(jobs), jobs))
    with pytest.raises(UsageError, match=message) as caught:
        space_of(path)
    assert "\n" not in str(caught.value)


def test_a_bad_genotype_names_the_record_and_the_problem(tmp_path):
    jobs = sweep_jobs("darts", n=3)
    jobs[2]["net"]["genotype"]["normal"][5][1] = 9  # node 4 reads states 0..3
    with pytest.raises(UsageError, match="record 2 is not an NDS darts genotype: input 9 of node 4"):
        space_of(_damaged(tmp_path, "DARTS.json", json.dumps(jobs)))
    jobs = sweep_jobs("enas", n=2)
    jobs[1]["net"]["genotype"]["reduce"] = jobs[1]["net"]["genotype"]["reduce"][:8]  # 4 nodes, ENAS has 5
    with pytest.raises(UsageError, match="record 1 .* must have 5 nodes"):
        space_of(_damaged(tmp_path, "ENAS.json", json.dumps(jobs)))


def test_a_missing_file_says_where_to_get_it(tmp_path):
    with pytest.raises(UsageError, match="not found; download data.zip from facebookresearch/nds"):
        space_of(tmp_path / "DARTS.json")
    with pytest.raises(UsageError, match="design: 'resnet' is not an NDS cell design"):
        space_of(tmp_path / "x.json", design="resnet")


def test_cli_exits_2_with_one_line_on_a_truncated_file(tmp_path, capsys):
    path = _damaged(tmp_path, "DARTS.json", json.dumps(sweep_jobs("darts", n=2))[:-40])
    config = tmp_path / "c.yaml"
    config.write_text(json.dumps({"label": "x", "space": {"name": "nds", "args": {"path": str(path)}},
                                  "searcher": {"name": "rs"}, "budget_seconds": 100, "runs": 1}))
    assert main(["run", str(config), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert "DARTS.json is not valid JSON" in err and len(err.splitlines()) == 1


# -- the space ------------------------------------------------------------------------------
@pytest.mark.parametrize("design", DESIGNS)
def test_every_design_loads_and_its_networks_have_the_records_parameter_counts(sweeps, design):
    space = space_of(sweeps[design])
    assert protocol_problems(space) == []
    assert capabilities(space) == ["learning_curves", "neighbours", "vector_encodings"]
    assert space.name == f"nds-{design}"
    for arch in (0, 7, 23):
        record = space.record(arch)
        assert count_parameters(space.build_network(arch, 10)) == record.params
        assert isinstance(space.genotype(arch), Genotype)


def test_query_is_the_final_test_accuracy_at_the_records_training_time(sweeps):
    space = space_of(sweeps["pnas"])
    jobs = json.loads(sweeps["pnas"].read_text())
    rng = np.random.default_rng(0)
    for arch in range(5):
        evaluation = space.query(arch, rng)
        assert evaluation.fitness == 100 - jobs[arch]["test_ep_top1"][-1]
        assert evaluation.cost_seconds == pytest.approx(jobs[arch]["iter_time"] * 10 * math.ceil(50000 / 128))
        assert space.final_metrics(arch) == {"cifar10_test": evaluation.fitness}
    assert space_of(sweeps["pnas"], batch_size=256).query(0, rng).cost_seconds == pytest.approx(
        jobs[0]["iter_time"] * 10 * math.ceil(50000 / 256))


def test_learning_curves_are_the_records_per_epoch_test_accuracy_and_training_loss(sweeps, tmp_path):
    from nasearch.predictors import make_predictor

    space = space_of(sweeps["darts"])
    jobs = json.loads(sweeps["darts"].read_text())
    assert space.max_epochs == 10
    curve = space.learning_curve(4, 3, np.random.default_rng(0))
    assert curve["valid_acc"] == [100 - e for e in jobs[4]["test_ep_top1"][:3]]
    assert curve["train_loss"] == jobs[4]["train_ep_loss"][:3]
    assert curve["seconds"] == pytest.approx(space.query(4, np.random.default_rng(0)).cost_seconds * 3 / 10)
    predictor = make_predictor("early_stop@2", space)
    assert list(predictor.predict([0, 1])) == [100 - jobs[a]["test_ep_top1"][1] for a in (0, 1)]
    with pytest.raises(ValueError, match="1..10"):
        space.learning_curve(0, 11, np.random.default_rng(0))
    for job_ in jobs:
        del job_["train_ep_loss"]
    bare = space_of(_damaged(tmp_path, "DARTS.json", json.dumps(jobs)))
    assert "learning_curves" not in capabilities(bare) and bare.max_epochs is None


def test_records_without_iter_time_are_charged_the_stated_seconds(tmp_path):
    jobs = sweep_jobs("darts", n=2)
    del jobs[1]["iter_time"]
    space = space_of(_damaged(tmp_path, "DARTS.json", json.dumps(jobs)), cost_seconds=777)
    rng = np.random.default_rng(0)
    assert space.query(1, rng).cost_seconds == 777 and space.query(0, rng).cost_seconds != 777


def test_ids_round_trip_and_an_id_from_another_file_is_refused(sweeps):
    darts, pnas = space_of(sweeps["darts"]), space_of(sweeps["pnas"])
    for arch in darts.all_archs():
        assert darts.from_id(darts.arch_id(arch)) == arch
    assert darts.from_id("5") == 5
    with pytest.raises(ValueError, match="another sweep file"):
        darts.from_id(pnas.arch_id(3))
    with pytest.raises(ValueError, match="record number 0..23"):
        darts.from_id("99:x")
    assert darts.version != pnas.version


def _one_edit_file(tmp_path):
    """Records: A, B = A with one op changed, C and D far from both (all at one width and depth)."""
    rng = np.random.default_rng(3)
    from tests.nds_fixtures import random_genotype

    a = random_genotype("darts", rng)
    normal = list(a.normal)
    normal[3] = ("sep_conv_5x5" if normal[3][0] != "sep_conv_5x5" else "sep_conv_3x3", normal[3][1])
    b = Genotype(tuple(normal), a.normal_concat, a.reduce, a.reduce_concat)
    far = [random_genotype("darts", rng) for _ in range(2)]
    jobs = [job(g, 4, 3, i, rng) for i, g in enumerate([a, b, *far])]
    return _damaged(tmp_path, "DARTS.json", json.dumps(jobs))


def test_mutate_moves_to_the_record_nearest_the_mutated_genotype(tmp_path):
    space = space_of(_one_edit_file(tmp_path))
    assert space.neighbours(0) == [1] and space.neighbours(1) == [0]
    distance = lambda x, y: int((space._matrix[x] != space._matrix[y]).sum())
    assert distance(0, 1) == 1 and min(distance(0, 2), distance(0, 3)) > 4
    picks = {space.mutate(0, np.random.default_rng(seed)) for seed in range(40)}
    assert picks == {1}  # a one-edit child of A is within 2 of B, far from C and D
    rng = np.random.default_rng(0)
    assert all(space.mutate(arch, rng) != arch for arch in range(4) for _ in range(10))


def test_mutation_and_sampling_are_functions_of_the_generator(sweeps):
    space = space_of(sweeps["nasnet"])
    draws = [[space.mutate(space.sample(rng), rng) for _ in range(30)] for rng in
             (np.random.default_rng(5), np.random.default_rng(5))]
    assert draws[0] == draws[1] and len(set(draws[0])) > 5


def test_the_adjacency_encoding_has_one_length_and_reads_the_genotype(sweeps):
    space = space_of(sweeps["amoeba"])
    vectors = np.stack([space.vector_encoding(a, "adjacency") for a in space.all_archs()])
    spec = space.spec
    per_pair = len(spec.ops) + spec.nodes + 1
    assert vectors.shape[1] == 2 * (spec.pairs * per_pair + spec.nodes) + len(space._widths) + len(space._depths)
    assert len({v.tobytes() for v in vectors}) == len(vectors)
    first = space.genotype(0).normal[0]
    assert vectors[0][spec.ops.index(first[0])] == 1 and vectors[0][len(spec.ops) + first[1]] == 1
    with pytest.raises(ValueError, match="offers the encodings"):
        space.vector_encoding(0, "path")


# -- every searcher and its G-twin -------------------------------------------------------------
def _run(path, searcher, tmp_path, hook=None, runs=2, budget=6000, label="t"):
    raw = {"label": label, "space": {"name": "nds", "args": {"path": str(path)}}, "searcher": searcher,
           "budget_seconds": budget, "runs": runs, "seed": 0, "cache_dir": str(tmp_path / "scores")}
    if hook:
        raw["hook"] = hook
    return run_many(parse_search_config(raw), tmp_path / f"out_{label}")


SEARCHERS = {
    "rs": {"name": "rs"},
    "rea": {"name": "rea", "args": {"population_size": 4, "tournament_size": 2}},
    "bananas": {"name": "bananas", "args": {"predictor": "bananas/adjacency", "num_init": 3, "num_candidates": 10, "k": 3, "ensemble": 2}},
    "npenas": {"name": "npenas", "args": {"predictor": "xgb/adjacency", "num_init": 3, "num_candidates": 10, "k": 3}},
}


@pytest.mark.parametrize("design", DESIGNS)
def test_rs_and_rea_and_their_g_twins_run_on_every_design(sweeps, tmp_path, design):
    accuracies = {r.test_accuracy for r in nds.read_sweep(sweeps[design])[1]}
    for name in ("rs", "rea"):
        for hook in (None, {"proxy": "params", "k": 3, "cost": "lookup"}):
            runs = _run(sweeps[design], SEARCHERS[name], tmp_path, hook, label=f"{name}{bool(hook)}")
            assert len(runs) == 2
            for run in runs:
                assert run.final["cifar10_test"] in accuracies and run.best_fitness == run.final["cifar10_test"]
                assert 0 < run.simulated_seconds <= 6000 and (run.pool_draws > 0) == bool(hook)


@pytest.mark.parametrize("name", ["bananas", "npenas"])
def test_predictor_guided_searchers_and_g_twins_run_on_the_adjacency_encoding(sweeps, tmp_path, name):
    pytest.importorskip("xgboost" if name == "npenas" else "torch")
    for hook in (None, {"proxy": "params", "k": 3, "cost": "lookup"}):
        runs = _run(sweeps["darts"], SEARCHERS[name], tmp_path, hook, runs=1, budget=250, label=f"{name}{bool(hook)}")
        assert runs[0].evaluations > 3 and (runs[0].pool_draws > 0) == bool(hook)


@pytest.mark.parametrize("searcher", [{"name": "reinforce"}, {"name": "bohb"}, {"name": "hb"}])
def test_searchers_needing_the_categorical_encoding_are_refused_in_one_line(sweeps, tmp_path, searcher):
    with pytest.raises(UsageError, match=r"needs the encoding capability \(choices\(\) \+ encode\(arch\) \+ decode\(indices\)\)"):
        _run(sweeps["enas"], searcher, tmp_path)


def test_a_predictor_on_an_encoding_the_space_lacks_is_refused(sweeps, tmp_path):
    with pytest.raises(UsageError, match="needs an architecture encoding"):
        _run(sweeps["darts"], {"name": "npenas", "args": {"predictor": "xgb"}}, tmp_path)
    with pytest.raises(UsageError, match="uses the 'path' encoding, which space 'nds-darts' does not offer"):
        _run(sweeps["darts"], {"name": "bananas"}, tmp_path)


def test_runs_are_byte_identical_whatever_the_worker_count(sweeps, tmp_path):
    outputs = []
    for workers in (1, 2):
        config = tmp_path / f"c{workers}.json"
        config.write_text(json.dumps({"label": "g", "space": {"name": "nds", "args": {"path": str(sweeps["darts"])}},
                                      "searcher": SEARCHERS["rea"], "hook": {"proxy": "params", "k": 3, "cost": "lookup"},
                                      "budget_seconds": 1000, "runs": 2, "seed": 0, "cache_dir": str(tmp_path / "s")}))
        assert main(["run", str(config), "--workers", str(workers), "--out", str(tmp_path / f"w{workers}")]) == 0
        lines = sorted((tmp_path / f"w{workers}" / "runs.jsonl").read_text().splitlines())
        outputs.append([{k: v for k, v in json.loads(line).items() if k not in ("wall_seconds", "proxy_seconds_measured")}
                        for line in lines])
    assert outputs[0] == outputs[1]


# -- experiment + report, correlate ----------------------------------------------------------------
def test_experiment_and_report_on_an_nds_file(sweeps, tmp_path):
    base = {"space": {"name": "nds", "args": {"path": str(sweeps["darts"])}}, "searcher": SEARCHERS["rea"],
            "budget_seconds": 2000, "runs": 2, "seed": 0}
    (tmp_path / "rea.json").write_text(json.dumps({**base, "label": "rea"}))
    (tmp_path / "g_rea.json").write_text(json.dumps({**base, "label": "g_rea", "hook": {"proxy": "params", "k": 3, "cost": "lookup"}}))
    experiment = {"label": "nds_exp", "runs": 2, "budget_seconds": 2000, "seed": 0, "out": str(tmp_path / "exp"),
                  "searchers": [{"config": str(tmp_path / "rea.json")}, {"config": str(tmp_path / "g_rea.json")}],
                  "pairs": [{"baseline": "rea", "treatment": "g_rea", "role": "effect"}]}
    config = tmp_path / "exp.json"
    config.write_text(json.dumps(experiment))
    assert main(["run", str(config), "--workers", "1"]) == 0
    assert main(["report", str(tmp_path / "exp")]) == 0
    report = (tmp_path / "exp" / "report.md").read_text()
    assert "cifar10_test" in report and "| G-REA | 2 |" in report
    assert "Side by side" not in report  # the experiment declares no reference: no paper section


def test_correlate_reports_kendall_tau_against_the_final_test_accuracy(sweeps, tmp_path):
    from scipy import stats

    out = tmp_path / "corr"
    code = main(["correlate", "--space", "nds", "--space-arg", f"path={sweeps['nasnet']}", "--proxies", "params,flops",
                 "--n", "20", "--pool", "5", "--repeats", "5", "--bootstrap", "0", "--out", str(out),
                 "--cache-dir", str(tmp_path / "scores"), "--no-progress"])
    assert code == 0
    import csv

    rows = list(csv.DictReader((out / "scores.csv").open()))
    space = space_of(sweeps["nasnet"])
    assert len(rows) == 20
    for row in rows:
        arch = space.from_id(row["arch_id"])
        assert float(row["params"]) == space.record(arch).params and float(row["cifar10_test"]) == space.record(arch).test_accuracy
    table = {(r["proxy"], r["metric"]): r for r in csv.DictReader((out / "correlation.csv").open())}
    tau = stats.kendalltau([float(r["params"]) for r in rows], [float(r["cifar10_test"]) for r in rows]).statistic
    assert float(table["params", "cifar10_test"]["kendall"]) == pytest.approx(tau)


def test_correlate_refuses_a_bad_space_argument(tmp_path):
    assert main(["correlate", "--space", "nds", "--space-arg", "path", "--out", str(tmp_path), "--no-progress"]) == 2


@pytest.mark.parametrize("name", ["darts_rea", "darts_g_rea", "darts_bananas", "darts_npenas"])
def test_the_shipped_darts_configs_run_on_an_nds_darts_file(sweeps, tmp_path, tiny_npz, name):
    """Each config as shipped, with its path pointed at the fixture, a short budget and (G-REA) test images."""
    import yaml

    pytest.importorskip("xgboost" if name == "darts_npenas" else "torch")
    raw = yaml.safe_load((Path(__file__).resolve().parents[1] / "configs" / f"{name}.yaml").read_text())
    assert raw["space"] == {"name": "nds", "args": {"design": "darts", "path": "~/data/nds/DARTS.json"}}
    raw["space"]["args"]["path"] = str(sweeps["darts"])
    raw.update({"budget_seconds": 250, "runs": 1, "cache_dir": str(tmp_path / "scores")})
    if "hook" in raw:  # the config's proxy and cost accounting, on a smaller pool and population
        raw["data"] = {"npz": str(tiny_npz)}
        raw["hook"]["k"] = 2
        raw["searcher"]["args"]["population_size"] = 3
    if raw["searcher"]["name"] in ("bananas", "npenas"):
        raw["searcher"]["args"].update({"num_init": 3, "num_candidates": 10, "k": 3})
    if raw["searcher"]["name"] == "bananas":
        raw["searcher"]["args"]["ensemble"] = 1
    runs = run_many(parse_search_config(raw), tmp_path / "out")
    assert runs[0].evaluations >= 3 and (runs[0].pool_draws > 0) == ("hook" in raw)


def test_the_table4_script_writes_our_tau_beside_the_papers(sweeps, tmp_path, tiny_npz):
    import csv
    import importlib.util

    from scipy import stats

    spec = importlib.util.spec_from_file_location("nds_table4", Path(__file__).resolve().parents[1] / "scripts" / "nds_table4.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    out = tmp_path / "t4"
    assert script.main(["--nds-dir", str(sweeps["darts"].parent), "--data", str(tiny_npz), "--out", str(out),
                        "--designs", "enas", "--proxies", "grad_norm,synflow", "--n", "8", "--batch-size", "16",
                        "--cache-dir", str(tmp_path / "scores")]) == 0
    rows = list(csv.DictReader((out / "table4.csv").open()))
    assert [(r["proxy"], r["design"]) for r in rows] == [("grad_norm", "enas"), ("synflow", "enas")]
    scores = list(csv.DictReader((out / "enas" / "scores.csv").open()))
    tau = stats.kendalltau([float(r["synflow"]) for r in scores], [float(r["cifar10_test"]) for r in scores]).statistic
    assert float(rows[1]["kendall"]) == pytest.approx(tau) and rows[1]["n"] == "8"
    text = (out / "table4.md").read_text()
    assert "| synflow |" in text and "(?)" in text  # the paper's figures are not in the data file yet
    assert "(paper)" not in (out / "enas" / "correlation.md").read_text().split("\n")[2]  # no NB201 figures beside NDS
