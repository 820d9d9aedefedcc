"""The official NAS-Bench-201 / NATS-Bench backends, on tiny files in the official formats.

The files are written with the benchmarks' own result classes and read back through the
real ``NASBench201API`` and ``nats_bench.create`` code, so these tests check our protocol
(seed choice from the run's rng, the 12-epoch fitness and cost, per-epoch fidelities, the
200-epoch final metrics) against the numbers we wrote, computed without the APIs.
"""
from __future__ import annotations

import copy
import pickle
import random
import re
import shutil
import sys

import numpy as np
import pytest
import torch

from nb201_fixtures import (
    FIXTURE_ARCHS,
    SEEDS,
    expected_final,
    expected_query,
    expected_sparse_query,
    make_spec,
    write_nats_dir,
    write_nb201_file,
)
from nasearch.errors import UsageError
from nasearch.spaces.nb201.genotype import to_arch_str, to_index
from nasearch.spaces.nb201.official import (
    NATS_TSS_DIR,
    NB201_FILES,
    MissingArchitecture,
    OfficialBackend,
    _HandOver,
    load_nb201_api,
)

WITH_RESULTS = FIXTURE_ARCHS[:3]
NO_RESULTS = FIXTURE_ARCHS[3]  # listed in meta_archs, results left out of the file
VARIANTS = ("nb201", "nb201-legacy", "nats")


@pytest.fixture(scope="session")
def spec():
    return make_spec(without_results=(NO_RESULTS,))


@pytest.fixture(scope="session")
def files(spec, tmp_path_factory):
    root = tmp_path_factory.mktemp("official")
    return {
        "nb201": write_nb201_file(spec, root / NB201_FILES[0]),
        "nb201-legacy": write_nb201_file(spec, root / "legacy" / NB201_FILES[0], legacy_format=True),
        "nb201-numpy": write_nb201_file(spec, root / "numpy" / NB201_FILES[0], numpy_scalars=True),
        "nats": write_nats_dir(spec, root / NATS_TSS_DIR),
    }


def _kind(variant: str) -> str:
    return "nats" if variant == "nats" else "nb201"


@pytest.fixture(scope="module", params=VARIANTS)
def variant(request):
    return request.param


@pytest.fixture(scope="module")
def backend(variant, files):
    return OfficialBackend(kind=_kind(variant), dataset="cifar10", path=files[variant])


def _drawn_seed(rng_seed: int, seeds: tuple[int, ...]) -> int:
    """The seed our protocol picks: one integer from the run's generator, over the sorted seeds."""
    return sorted(seeds)[int(np.random.default_rng(rng_seed).integers(len(seeds)))]


# -- query ---------------------------------------------------------------------------------
@pytest.mark.parametrize("rng_seed", [0, 1, 2, 3])
def test_query_returns_the_drawn_trials_12_epoch_accuracy_and_cost(backend, spec, rng_seed):
    for arch in WITH_RESULTS:
        evaluation = backend.query(arch, np.random.default_rng(rng_seed))
        seed = _drawn_seed(rng_seed, SEEDS["12"]["cifar10-valid"])
        accuracy, cost = expected_query(spec, arch, "cifar10-valid", seed)
        assert evaluation.fitness == pytest.approx(accuracy, abs=1e-9)
        assert evaluation.cost_seconds == pytest.approx(cost, rel=1e-12)
        assert evaluation.extras["seed"] == seed


def test_query_draws_only_from_the_run_rng(backend):
    """Same rng seed, same trials, whatever Python's global ``random`` holds; and it is not touched."""
    arch = WITH_RESULTS[1]
    random.seed(1)
    state = random.getstate()
    rng = np.random.default_rng(7)
    first = [backend.query(arch, rng).extras["seed"] for _ in range(20)]
    assert random.getstate() == state
    random.seed(12345)
    rng = np.random.default_rng(7)
    second = [backend.query(arch, rng).extras["seed"] for _ in range(20)]
    assert first == second
    assert set(first) == set(SEEDS["12"]["cifar10-valid"])  # both recorded trials get drawn


def test_query_consumes_one_draw_per_call_like_the_embedded_backend(backend):
    """Runs stay aligned across backends: each query takes exactly one integer from the rng."""
    rng, twin = np.random.default_rng(5), np.random.default_rng(5)
    for arch in WITH_RESULTS * 3:
        backend.query(arch, rng)
        twin.integers(2)
    assert rng.integers(1 << 30) == twin.integers(1 << 30)


@pytest.mark.parametrize("dataset", ["cifar100", "ImageNet16-120"])
def test_other_datasets_search_their_own_validation_split(variant, files, spec, dataset):
    backend = OfficialBackend(kind=_kind(variant), dataset=dataset, path=files[variant])
    arch = WITH_RESULTS[2]
    evaluation = backend.query(arch, np.random.default_rng(11))
    seed = _drawn_seed(11, SEEDS["12"][dataset])
    accuracy, cost = expected_query(spec, arch, dataset, seed)
    assert (evaluation.fitness, evaluation.cost_seconds) == (pytest.approx(accuracy), pytest.approx(cost))


# -- multi-fidelity ------------------------------------------------------------------------------
def test_query_at_reports_each_epoch_of_the_12_epoch_schedule(backend, spec):
    arch = WITH_RESULTS[0]
    assert backend.max_epochs == 12
    for epochs in range(1, 13):
        evaluation = backend.query_at(arch, epochs, np.random.default_rng(epochs))
        seed = _drawn_seed(epochs, SEEDS["12"]["cifar10-valid"])
        accuracy, cost = expected_query(spec, arch, "cifar10-valid", seed, epochs)
        assert evaluation.fitness == pytest.approx(accuracy, abs=1e-9)
        assert evaluation.cost_seconds == pytest.approx(cost, rel=1e-12)
    full = backend.query(arch, np.random.default_rng(9))
    assert backend.query_at(arch, 12, np.random.default_rng(9)) == full


@pytest.mark.parametrize("kind", ["nb201", "nats"])
@pytest.mark.parametrize("dataset", ["cifar100", "ImageNet16-120"])
def test_query_at_without_intermediate_validation_falls_back_as_nats_does(spec, tmp_path, kind, dataset):
    """No validation record at an epoch: the valid+test accuracy and the last epoch's validation time."""
    path = (write_nb201_file(spec, tmp_path / "sparse.pth", sparse_valid=True) if kind == "nb201"
            else write_nats_dir(spec, tmp_path / "sparse", sparse_valid=True))
    backend = OfficialBackend(kind=kind, dataset=dataset, path=path)
    arch = WITH_RESULTS[1]
    for epochs in (1, 6, 11):
        evaluation = backend.query_at(arch, epochs, np.random.default_rng(epochs))
        seed = _drawn_seed(epochs, SEEDS["12"][dataset])
        accuracy, cost = expected_sparse_query(spec, arch, dataset, seed, epochs)
        assert (evaluation.fitness, evaluation.cost_seconds) == (pytest.approx(accuracy), pytest.approx(cost))
    evaluation = backend.query(arch, np.random.default_rng(0))
    accuracy, cost = expected_query(spec, arch, dataset, _drawn_seed(0, SEEDS["12"][dataset]))
    assert (evaluation.fitness, evaluation.cost_seconds) == (pytest.approx(accuracy), pytest.approx(cost))


@pytest.mark.parametrize("epochs", [0, 13, -1, 2.5, True, "12"])
def test_query_at_rejects_epochs_outside_the_schedule(backend, epochs):
    with pytest.raises(ValueError, match=r"1\.\.12"):
        backend.query_at(WITH_RESULTS[0], epochs, np.random.default_rng(0))


# -- final metrics and size ------------------------------------------------------------------------
def test_final_metrics_are_seed_mean_200_epoch_accuracies(backend, spec):
    for arch in WITH_RESULTS:
        got = backend.final_metrics(arch)
        want = expected_final(spec, arch)
        assert set(got) == set(want)
        for key in want:
            assert got[key] == pytest.approx(want[key], abs=1e-9), key
    assert backend.has_test_accuracy


def test_final_metrics_are_cached_per_architecture(variant, files, monkeypatch):
    backend = OfficialBackend(kind=_kind(variant), dataset="cifar10", path=files[variant])
    calls = []
    original = backend.api.get_more_info
    monkeypatch.setattr(backend.api, "get_more_info", lambda *a, **k: calls.append(a) or original(*a, **k))
    first = backend.final_metrics(WITH_RESULTS[0])
    count = len(calls)
    assert count == 4  # one per split
    first["cifar10_valid"] = -1.0  # callers get a copy, not the cache
    assert backend.final_metrics(WITH_RESULTS[0])["cifar10_valid"] != -1.0
    assert len(calls) == count


def test_model_size_is_the_recorded_parameter_count(backend, spec):
    for arch in WITH_RESULTS:
        assert backend.model_size_mb(arch) == pytest.approx(spec.trial(arch, "200", "cifar10-valid", 777).params)


def test_official_index_comes_from_the_file_not_our_base5_rank(backend, spec):
    for arch in WITH_RESULTS:
        assert backend.index(arch) == spec.index(arch)
    assert any(spec.index(a) != to_index(a) for a in WITH_RESULTS)


# -- errors ----------------------------------------------------------------------------------------
def test_arch_without_results_is_a_clear_error(backend):
    with pytest.raises(MissingArchitecture, match=r"no hp=12 results for arch \|none~0\|"):
        backend.query(NO_RESULTS, np.random.default_rng(0))
    with pytest.raises(MissingArchitecture, match="no hp=200 results"):
        backend.final_metrics(NO_RESULTS)


def test_arch_not_listed_in_the_file_is_a_clear_error(spec, tmp_path):
    short = make_spec(archs=WITH_RESULTS[:1])
    short.meta_archs = [to_arch_str(WITH_RESULTS[0])]
    path = write_nb201_file(short, tmp_path / "short.pth")
    backend = OfficialBackend(kind="nb201", path=path)
    with pytest.raises(MissingArchitecture, match="does not list arch"):
        backend.query(WITH_RESULTS[1], np.random.default_rng(0))
    assert isinstance(MissingArchitecture("x"), UsageError)  # the CLI prints it in one line, exit 2


def test_missing_paths_name_the_file_and_the_config_key(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(UsageError, match=rf"no {NB201_FILES[0]}.*\$TORCH_HOME \({tmp_path}\).*space\.args\.path"):
        OfficialBackend(kind="nb201")
    with pytest.raises(UsageError, match=rf"{NATS_TSS_DIR}.*space\.args\.path"):
        OfficialBackend(kind="nats")
    with pytest.raises(UsageError, match=r"space\.args\.path: .*nope\.pth is not"):
        OfficialBackend(kind="nb201", path=tmp_path / "nope.pth")


def test_default_names_under_torch_home_and_directories_are_found(files, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    shutil.copy(files["nb201"], tmp_path / NB201_FILES[1])  # the v1_0 name is accepted too
    shutil.copytree(files["nats"], tmp_path / NATS_TSS_DIR)
    assert OfficialBackend(kind="nb201").path.name == NB201_FILES[1]
    assert OfficialBackend(kind="nats").path.name == NATS_TSS_DIR
    shutil.copy(files["nb201"], tmp_path / NB201_FILES[0])
    assert OfficialBackend(kind="nb201").path.name == NB201_FILES[0]  # newest first
    assert OfficialBackend(kind="nb201", path=tmp_path).path.name == NB201_FILES[0]


def test_wrong_files_give_one_line_errors(files, tmp_path):
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a benchmark")
    with pytest.raises(UsageError, match="is not a NAS-Bench-201 benchmark file") as info:
        OfficialBackend(kind="nb201", path=garbage)
    assert "\n" not in str(info.value)
    wrong_dict = tmp_path / "dict.pth"
    torch.save({"meta_archs": []}, wrong_dict)
    with pytest.raises(UsageError, match="is not a NAS-Bench-201 benchmark file"):
        OfficialBackend(kind="nb201", path=wrong_dict)
    with pytest.raises(UsageError, match="backend 'nats' reads the .* directory"):
        OfficialBackend(kind="nats", path=files["nb201"])
    with pytest.raises(ValueError, match="unknown NB201 dataset"):
        OfficialBackend(kind="nb201", dataset="mnist", path=files["nb201"])


@pytest.mark.parametrize("kind,module,package", [("nb201", "nas_201_api", "nas-bench-201"), ("nats", "nats_bench", "nats_bench")])
def test_missing_package_says_what_to_install(files, monkeypatch, kind, module, package):
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(UsageError, match=rf"needs the '{package}' package: pip install {package}"):
        OfficialBackend(kind=kind, path=files["nats" if kind == "nats" else "nb201"])


# -- torch >= 2.6 compatibility shim -----------------------------------------------------------------
def test_shim_loads_files_that_plain_torch_load_now_refuses(files, spec):
    """``nas-bench-201==2.1`` calls ``torch.load(path)``; torch >= 2.6 makes that weights-only.

    A file holding a numpy scalar (as a pickle of results may) is refused that way; the shim
    loads it and hands the dict over, and the numbers come out right.
    """
    from nas_201_api import NASBench201API

    major, minor = (int(x) for x in torch.__version__.split(".")[:2])
    if (major, minor) >= (2, 6):
        with pytest.raises(pickle.UnpicklingError):
            NASBench201API(str(files["nb201-numpy"]), verbose=False)
    backend = OfficialBackend(kind="nb201", path=files["nb201-numpy"])
    arch = WITH_RESULTS[0]
    assert backend.final_metrics(arch) == pytest.approx(expected_final(spec, arch))
    assert backend.model_size_mb(arch) == pytest.approx(spec.trial(arch, "200", "cifar10-valid", 777).params)


def test_handover_skips_the_apis_deep_copy(files):
    data = _HandOver({"a": [1, 2]})
    assert copy.deepcopy(data) is data
    api = load_nb201_api(files["nb201"])
    assert api.filename == NB201_FILES[0] and len(api) == len(api.meta_archs) == 15625


# -- through the space, the loader and the runner ---------------------------------------------------
def test_nb201_space_over_the_official_backends(variant, files, spec):
    from nasearch.spaces.nb201.space import NB201Space
    from nasearch.spaces.protocol import has_capability, missing_methods

    space = NB201Space(backend=_kind(variant), path=str(files[variant]))
    assert missing_methods(space) == []
    arch = WITH_RESULTS[1]
    seed = _drawn_seed(4, SEEDS["12"]["cifar10-valid"])
    assert space.query(arch, np.random.default_rng(4)).fitness == pytest.approx(
        expected_query(spec, arch, "cifar10-valid", seed)[0])
    assert space.final_metrics(arch) == pytest.approx(expected_final(spec, arch))
    assert has_capability(space, "fidelity") and space.max_epochs == 12
    assert space.query_at(arch, 3, np.random.default_rng(4)).fitness == pytest.approx(
        expected_query(spec, arch, "cifar10-valid", seed, 3)[0])


def test_space_config_errors_are_usage_errors(tmp_path, monkeypatch):
    from nasearch.loading import load_space

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(UsageError, match=r"space\.args\.path"):
        load_space({"name": "nb201", "args": {"backend": "nb201"}})
    with pytest.raises(UsageError, match="unknown NB201 dataset"):
        load_space({"name": "nb201", "args": {"backend": "nats", "dataset": "svhn"}})


@pytest.mark.parametrize("searcher", ["rs", "rea"])
def test_search_runs_end_to_end_over_a_fixture(files, spec, searcher):
    """A real run (runner, clock, searcher) over the fixture archs: values are the file's, runs repeat."""
    from nasearch.config import parse_search_config
    from nasearch.runner import SearchContext, run_one

    args = {"population_size": 3, "tournament_size": 2} if searcher == "rea" else {}
    config = parse_search_config({
        "space": {"class": "nb201_fixtures:FixtureNB201Space", "args": {"backend": "nb201", "path": str(files["nb201"])}},
        "searcher": {"name": searcher, "args": args},
        "budget_seconds": 3000, "seed": 3,
    })
    context = SearchContext.build(config)
    record = run_one(context, 0)
    assert record == run_one(SearchContext.build(config), 0)
    trajectory = record.trajectory
    assert record.evaluations == len(trajectory.fitness) >= 5
    possible = {expected_query(spec, a, "cifar10-valid", s)[0] for a in WITH_RESULTS for s in SEEDS["12"]["cifar10-valid"]}
    assert all(any(f == pytest.approx(p) for p in possible) for f in trajectory.fitness)
    assert 3000 - 400 < record.simulated_seconds <= 3000  # each 12-epoch query costs ~250-400 s here
    best = context.space.from_id(record.best_arch)
    assert record.final == pytest.approx(expected_final(spec, best))


def test_shipped_config_uses_the_file_in_torch_home(files, tmp_path, monkeypatch, capsys):
    """configs/rea_nb201_official.yaml finds the default file name; a partial file stops the run in one line."""
    from pathlib import Path

    from nasearch.cli import main
    from nasearch.config import load_search_config
    from nasearch.loading import load_space

    config_path = Path(__file__).resolve().parents[1] / "configs" / "rea_nb201_official.yaml"
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    shutil.copy(files["nb201"], tmp_path / NB201_FILES[0])
    space = load_space(load_search_config(config_path).space)
    assert isinstance(space.backend, OfficialBackend) and space.backend.path == tmp_path / NB201_FILES[0]
    code = main(["run", str(config_path), "--runs", "1", "--out", str(tmp_path / "out")])
    last = capsys.readouterr().err.strip().splitlines()[-1]  # after the progress bar
    assert code == 2 and last.startswith("nasearch: error: ") and "no hp=12 results for arch" in last  # 3 of 15,625


def test_cli_run_over_a_fixture_prints_test_accuracies_and_repeats(files, tmp_path, capsys):
    """``nasearch run`` on the official backend, two workers vs one: identical JSON Lines."""
    import yaml

    from nasearch.cli import main

    config = tmp_path / "fixture_rea.yaml"
    config.write_text(yaml.safe_dump({
        "label": "fixture_rea",
        "space": {"class": "nb201_fixtures:FixtureNB201Space", "args": {"backend": "nats", "path": str(files["nats"])}},
        "searcher": {"name": "rea", "args": {"population_size": 3, "tournament_size": 2}},
        "budget_seconds": 2000, "runs": 3, "seed": 1,
    }))
    assert main(["run", str(config), "--out", str(tmp_path / "a")]) == 0
    out = capsys.readouterr().out
    assert "fixture_rea: 3 runs" in out and "cifar10_test" in out and "imagenet16_test" in out
    assert main(["run", str(config), "--out", str(tmp_path / "b"), "--workers", "2"]) == 0
    from nasearch.execution import RESULTS

    results = [(tmp_path / d / RESULTS).read_text() for d in "ab"]
    assert results[0] == results[1] and results[0].count("\n") == 3


# -- no code runs from a benchmark file --------------------------------------------------------------
class _MarkerMaker:
    """Unpickling this runs code: it creates ``marker`` (what a crafted benchmark file could do)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').close()",))


def _crafted_nb201(tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "crafted" / NB201_FILES[0]
    path.parent.mkdir()
    torch.save({"meta_archs": [], "arch2infos": {0: _MarkerMaker(marker)}, "evaluated_indexes": []}, path)
    return path, marker


def _crafted_nats(tmp_path, files, in_meta):
    """A copy of the NATS fixture with the meta file or one architecture's file replaced by a crafted pickle."""
    import bz2

    marker = tmp_path / "ran"
    directory = tmp_path / "crafted" / NATS_TSS_DIR
    shutil.copytree(files["nats"], directory)
    if in_meta:
        target = directory / "meta.pickle.pbz2"
    else:
        target = sorted(p for p in directory.iterdir() if p.name != "meta.pickle.pbz2")[0]
    with bz2.BZ2File(target, "wb") as handle:
        pickle.dump({"meta_archs": _MarkerMaker(marker)} if in_meta else {"12": _MarkerMaker(marker)}, handle)
    return directory, marker


def test_crafted_nb201_file_is_refused_without_running_code(tmp_path, monkeypatch):
    monkeypatch.delenv("NASEARCH_TRUST_PICKLE", raising=False)
    path, marker = _crafted_nb201(tmp_path)
    with pytest.raises(UsageError, match=r"exec, outside the benchmark's allow-list.*NASEARCH_TRUST_PICKLE=1") as info:
        OfficialBackend(kind="nb201", path=path)
    assert "\n" not in str(info.value)
    assert not marker.exists()


def test_trust_pickle_opt_in_loads_as_the_nb201_tools_do(tmp_path, monkeypatch):
    """With the opt-in the file is fully unpickled (the code runs: that is what trusting it means)."""
    monkeypatch.setenv("NASEARCH_TRUST_PICKLE", "1")
    path, marker = _crafted_nb201(tmp_path)
    with pytest.raises(UsageError):
        OfficialBackend(kind="nb201", path=path)  # the crafted dict is no benchmark either
    assert marker.exists()


@pytest.mark.parametrize("in_meta", [True, False], ids=["meta", "arch-file"])
def test_crafted_nats_archive_is_refused_without_running_code(files, tmp_path, monkeypatch, in_meta):
    monkeypatch.delenv("NASEARCH_TRUST_PICKLE", raising=False)
    directory, marker = _crafted_nats(tmp_path, files, in_meta)
    with pytest.raises(UsageError, match=r"exec, outside the benchmark's allow-list.*NASEARCH_TRUST_PICKLE=1") as info:
        backend = OfficialBackend(kind="nats", path=directory)
        for arch in WITH_RESULTS:  # fast mode reads an architecture's file on first use
            backend.final_metrics(arch)
    assert "\n" not in str(info.value)
    assert not marker.exists()


def test_fixture_files_load_without_the_opt_in(files, spec, monkeypatch):
    monkeypatch.delenv("NASEARCH_TRUST_PICKLE", raising=False)
    for variant in ("nb201", "nb201-legacy", "nb201-numpy", "nats"):
        backend = OfficialBackend(kind=_kind(variant), path=files[variant])
        assert backend.final_metrics(WITH_RESULTS[0]) == pytest.approx(expected_final(spec, WITH_RESULTS[0]))


# -- learning curves (the learning_curves capability, for early_stop@E / sotl@E / sotle@E / lce@E) -----
def test_learning_curve_is_the_drawn_trials_per_epoch_validation_accuracy_and_training_loss(backend, spec):
    arch = WITH_RESULTS[1]
    for epochs in (1, 5, 12):
        curve = backend.learning_curve(arch, epochs, np.random.default_rng(epochs))
        seed = _drawn_seed(epochs, SEEDS["12"]["cifar10-valid"])
        trial = spec.trial(arch, "12", "cifar10-valid", seed)
        valid = trial.evals["x-valid"]
        assert curve["valid_acc"] == pytest.approx(valid.acc[:epochs], abs=1e-9)
        assert curve["train_loss"] == pytest.approx(trial.train.loss[:epochs], abs=1e-9)
        # training of those epochs plus one validation pass per epoch
        assert curve["seconds"] == pytest.approx(sum(trial.train.time[:epochs]) + sum(valid.time[:epochs]), rel=1e-12)
        # its last point is what query_at reports after that many epochs (same draw, same trial)
        assert curve["valid_acc"][-1] == pytest.approx(backend.query_at(arch, epochs, np.random.default_rng(epochs)).fitness)


@pytest.mark.parametrize("epochs", [0, 13, 2.5, True])
def test_learning_curve_rejects_epochs_outside_the_schedule(backend, epochs):
    with pytest.raises(ValueError, match=r"1\.\.12"):
        backend.learning_curve(WITH_RESULTS[0], epochs, np.random.default_rng(0))


@pytest.mark.parametrize("kind", ["nb201", "nats"])
def test_learning_curve_without_intermediate_validation_falls_back_as_query_at_does(spec, tmp_path, kind):
    path = (write_nb201_file(spec, tmp_path / "sparse.pth", sparse_valid=True) if kind == "nb201"
            else write_nats_dir(spec, tmp_path / "sparse", sparse_valid=True))
    backend = OfficialBackend(kind=kind, dataset="cifar100", path=path)
    arch = WITH_RESULTS[2]
    curve = backend.learning_curve(arch, 6, np.random.default_rng(3))
    trial = spec.trial(arch, "12", "cifar100", _drawn_seed(3, SEEDS["12"]["cifar100"]))
    assert curve["valid_acc"] == pytest.approx(trial.evals["ori-test"].acc[:6])
    valid = trial.evals["x-valid"].time
    assert curve["seconds"] == pytest.approx(sum(trial.train.time[:6]) + 6 * sum(valid) / len(valid))


def test_the_learning_curves_capability_is_the_official_backends_only(files):
    from nasearch.spaces.nb201.space import NB201Space
    from nasearch.spaces.protocol import capabilities

    assert "learning_curves" in capabilities(NB201Space(backend="nats", path=str(files["nats"])))
    assert "learning_curves" not in capabilities(NB201Space())


def test_predictor_study_runs_curve_predictors_on_the_fixture_and_refuses_the_embedded_default(files, tmp_path, capsys):
    import csv

    from nasearch.cli import main

    assert main(["predictors", "--space", "nb201_fixtures:FixtureNB201Space", "--backend", "nb201",
                 "--path", str(files["nb201"]), "--predictors", "early_stop@12,sotle@12", "--trials", "2",
                 "--test-size", "3", "--out", str(tmp_path / "lc"), "--no-progress"]) == 0  # the fixture's 3 archs
    with (tmp_path / "lc" / "results.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert sorted({r["predictor"] for r in rows}) == ["early_stop@12", "sotle@12"] and len(rows) == 4
    # the 12-epoch accuracy ranks the fixture's three archs as their 200-epoch accuracy does
    assert all(float(r["kendall"]) == 1.0 for r in rows if r["predictor"] == "early_stop@12")
    assert all(float(r["query_seconds"]) > 100 for r in rows)  # 12 epochs of partial training per arch
    capsys.readouterr()
    assert main(["predictors", "--space", "nb201", "--predictors", "early_stop@12", "--out", str(tmp_path / "no")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and re.search(r"predictor 'early_stop@12' needs learning curves .*space 'nb201'", err[0])
    assert not (tmp_path / "no").exists()  # refused before any work
