"""The optional NAS-Bench-301 backend: its one-line refusals, and the adapter against a fake surrogate with NB301's call shape."""
from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from nasearch.errors import UsageError
from nasearch.loading import load_space
from nasearch.spaces.darts.genotype import from_darts_string
from nasearch.spaces.darts.nb301 import NB301Backend

DARTS_V2 = from_darts_string(
    "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
    "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], "
    "reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
    "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])")


class FakeSurrogate:
    """NB301's SurrogateAPI call shape: ``predict(config=, representation="genotype", with_noise=)``; reads the
    genotype by attribute as the package's converter does, and draws its noise from numpy's global generator."""

    def __init__(self, kind: str) -> None:
        self.kind, self.calls = kind, []

    def predict(self, config, representation, with_noise=True):
        assert representation == "genotype"
        self.calls.append(with_noise)
        convs = 0
        for cell in ("normal", "reduce"):
            pairs = getattr(config, cell)
            assert list(getattr(config, cell + "_concat")) == [2, 3, 4, 5] and len(pairs) == 8
            convs += sum(op.startswith("sep_conv") for op, node in pairs)
        if self.kind == "runtime":
            return 3000.0 + 100.0 * convs
        mean = 90.0 + 0.5 * convs
        return mean + (np.random.normal(0, 0.3) if with_noise else 0.0)


def _model_dir(tmp_path, names=("xgb_v1.0", "lgb_runtime_v1.0")):
    for name in names:
        member = tmp_path / "models" / name / "surrogate_model_0"
        member.mkdir(parents=True)
        (member / "surrogate_model.model").write_bytes(b"x")
    return tmp_path / "models"


@pytest.fixture
def fake_package(monkeypatch):
    loaded = []

    def load_ensemble(directory):
        loaded.append(directory)
        return FakeSurrogate("runtime" if "lgb_runtime" in directory else "performance")

    module = types.ModuleType("nasbench301")
    module.load_ensemble = load_ensemble
    monkeypatch.setitem(sys.modules, "nasbench301", module)
    return loaded


def test_without_the_package_the_backend_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "nasbench301", None)  # as if not installed
    for spec in ({"backend": "nb301", "path": str(_model_dir(tmp_path))}, {"backend": "nb301"}):
        with pytest.raises(UsageError, match="needs the nasbench301 package: pip install nasbench301") as caught:
            load_space({"name": "darts", "args": spec})
        assert "\n" not in str(caught.value) and "nasbench301_models_v1_0.zip" in str(caught.value)


@pytest.mark.parametrize("make,message", [
    (lambda tmp: None, "needs space.args.path"),
    (lambda tmp: tmp / "absent", "is not a directory"),
    (lambda tmp: _model_dir(tmp, ("xgb_v1.0",)), r"has no xgb_v1.0/ .*\(it holds \['xgb_v1.0'\]\)"),
    (lambda tmp: tmp, r"\(it holds no directories\)"),
])
def test_without_the_model_files_the_backend_says_what_to_download(tmp_path, fake_package, make, message):
    path = make(tmp_path)
    with pytest.raises(UsageError, match=message) as caught:
        NB301Backend(None if path is None else str(path))
    assert "\n" not in str(caught.value) and not fake_package


def test_the_backend_loads_both_ensembles_and_queries_them_as_the_package_expects(tmp_path, fake_package):
    backend = NB301Backend(str(_model_dir(tmp_path)))
    assert [p.rsplit("/", 1)[-1] for p in fake_package] == ["xgb_v1.0", "lgb_runtime_v1.0"]
    state = np.random.get_state()
    first = backend.query(DARTS_V2, np.random.default_rng(7))
    assert np.random.get_state()[1].tolist() == state[1].tolist()  # the global generator is left as found
    assert backend.query(DARTS_V2, np.random.default_rng(7)) == first  # the noise is the run's
    assert backend.query(DARTS_V2, np.random.default_rng(8)).fitness != first.fitness
    assert first.cost_seconds == 3000.0 + 100.0 * 5 and abs(first.fitness - 92.5) < 2.0
    assert backend.final_metrics(DARTS_V2) == {"cifar10_valid": 92.5}
    assert backend.performance.calls[-1] is False  # final metrics are the noise-free mean


def test_the_darts_space_searches_through_the_backend(tmp_path, fake_package):
    space = load_space({"name": "darts", "args": {"backend": "nb301", "path": str(_model_dir(tmp_path))}})
    rng = np.random.default_rng(0)
    arch = space.sample(rng)
    evaluation = space.query(arch, rng)
    assert 85 < evaluation.fitness < 100 and evaluation.cost_seconds >= 3000
    assert set(space.final_metrics(arch)) == {"cifar10_valid"}
    noiseless = NB301Backend.from_models(FakeSurrogate("performance"), FakeSurrogate("runtime"), noise=False)
    assert noiseless.query(DARTS_V2, rng).fitness == 92.5
