"""Predictors: protocol, encodings, bad input (one line, exit 2), and a small study."""
from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nasearch.errors import UsageError
from nasearch.loading import load_space
from nasearch.predictors import make_predictor
from nasearch.predictors.base import encode, onehot

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def space():
    return load_space({"name": "nb201"})


def test_encodings(space):
    arch = (3, 0, 1, 2, 4, 3)
    x = onehot(space, [arch])
    assert x.shape == (1, 30) and x.sum() == 6 and x[0, 3] == 1 and x[0, 5 + 0] == 1
    p = encode(space, [arch], "path")
    assert p.shape == (1, 155)
    # paths: (3,)=conv1x1 -> bit 2; (0,4)=conv3x3,avgpool -> 5+3*5+4; (1,5) has 'none'; (0,2,5)=3,1,3
    assert set(np.flatnonzero(p[0])) == {2, 5 + 3 * 5 + 4, 30 + 3 * 25 + 1 * 5 + 3}
    assert encode(space, [(0,) * 6], "path").sum() == 0


@pytest.mark.parametrize("name", ["xgb", "lgb", "rf", "gp", "ngb", "bananas", "xgb+params"])
def test_model_predictors_learn(space, name):
    rng = np.random.default_rng(0)
    train = [space.sample(rng) for _ in range(60)]
    test = [space.sample(rng) for _ in range(60)]
    y = [space.final_metrics(a)["cifar10_valid"] for a in train]
    yt = [space.final_metrics(a)["cifar10_valid"] for a in test]
    predictor = make_predictor(name, space, seed=0)
    if name == "bananas":
        predictor.members = 2
    predictor.fit(train, y)
    from scipy.stats import kendalltau

    assert kendalltau(yt, predictor.predict(test))[0] > 0.2
    mean, std = predictor.predict_dist(test)
    assert mean.shape == std.shape == (60,)


def test_log_gap_target_maps_back_to_the_label_scale_and_keeps_ranks(space):
    """The default target is -log(y_top - y): predictions come back on the label's scale, below
    y_top, and a perfectly separable fit keeps the training labels' order."""
    from nasearch.predictors.models import RFPredictor

    rng = np.random.default_rng(1)
    train = list({space.sample(rng) for _ in range(80)})
    y = np.array([space.final_metrics(a)["cifar10_valid"] for a in train])
    gap = RFPredictor("rf", space, seed=0)
    raw = RFPredictor("rf", space, seed=0, target="raw")
    for predictor in (gap, raw):
        predictor.fit(train, y)
    top = y.max() + 0.05 * (y.max() - y.min())
    predicted = gap.predict(train)
    assert predicted.max() < top and abs(np.median(predicted) - np.median(y)) < 5.0  # percent, not log units
    mean, std = gap.predict_dist(train)
    assert np.array_equal(mean, predicted) and np.all(std == 0)
    assert not np.allclose(predicted, raw.predict(train))  # the target really changes the fit
    with pytest.raises(UsageError, match="target must be one of log_gap, raw"):
        RFPredictor("rf", space, target="log")


def test_zero_cost_predictors_read_the_proxy_registry(space):
    rng = np.random.default_rng(1)
    archs = [space.sample(rng) for _ in range(20)]
    params = make_predictor("params", space)
    assert not params.trainable
    from nasearch.proxies.scorer import ProxyScorer

    scorer = ProxyScorer(space, "params", "cifar10", 128, 0)
    assert np.allclose(params.predict(archs), [scorer.score(a).score for a in archs])
    ranked = make_predictor("rank_avg:params+gradsign", space).predict(archs)
    assert ranked.shape == (20,) and ranked.min() > 0 and ranked.max() <= 1


@pytest.mark.parametrize("name, words", [
    ("nope", "unknown predictor 'nope'"),
    ("xgb+nope", "not a zero-cost proxy"),
    ("early_stop@3", "needs learning curves"),
    ("rank_avg:gradsign", "two or more proxies"),
])
def test_bad_names_fail_in_one_line(space, name, words):
    with pytest.raises(UsageError, match=words.replace("(", r"\(")):
        make_predictor(name, space)


def test_encoding_needed_on_a_space_without_one():
    from nasearch.predictors.base import PredictorNeeds, check_space

    class Bare:
        name = "bare"

    with pytest.raises(UsageError, match="needs an architecture encoding"):
        check_space(PredictorNeeds(encoding="onehot"), Bare(), "xgb")


def test_missing_library_names_the_extra(monkeypatch, space):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "xgboost" else real(n, *a))
    with pytest.raises(UsageError, match=r"nasearch\[predictors\]"):
        make_predictor("xgb", space)


def _cli(*args, cwd):
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    import os

    env = {**os.environ, **env}
    return subprocess.run([sys.executable, "-c", "import sys; from nasearch.cli import main; sys.exit(main())",
                           *args], cwd=cwd, env=env, capture_output=True, text=True)


def test_cli_bad_input_exit_2(tmp_path):
    for predictors in ("nope", "early_stop@3", "xgb+nope"):
        result = _cli("predictors", "--predictors", predictors, "--out", str(tmp_path / "o"), cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        assert not (tmp_path / "o").exists()


def test_study_small_and_resumable(tmp_path):
    out = tmp_path / "study"
    args = ("predictors", "--predictors", "xgb,params", "--train-sizes", "8,30", "--trials", "2", "--test-size",
            "50", "--out", str(out), "--no-progress")
    first = _cli(*args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert {(r["predictor"], r["train_size"]) for r in rows} == {("xgb", "8"), ("xgb", "30"), ("params", "0")}
    assert len(rows) == 6
    assert (out / "predictors.png").stat().st_size > 1000 and "Kendall" in (out / "predictors.md").read_text()
    second = _cli(*args, cwd=tmp_path)  # resume: nothing new to do
    assert second.returncode == 0
    assert len(list(csv.DictReader((out / "results.csv").open()))) == 6
    xgb30 = [float(r["kendall"]) for r in rows if r["train_size"] == "30"]
    assert all(t > 0.1 for t in xgb30)


def test_sparse_kendall_is_zero_not_nan_when_rounding_makes_predictions_constant():
    from nasearch.predictor_study import metrics

    y = np.array([90.0, 91.0, 92.0, 93.0])
    values = metrics(y, np.array([91.01, 91.02, 91.03, 91.04]))  # all round to 91.0
    assert values["kendall"] == pytest.approx(1.0) and values["sparse_kendall"] == 0.0


def test_study_resumes_after_a_torn_last_row(tmp_path):
    """A study killed mid-write leaves half a row: the resume drops it (one warning line), recomputes
    that task, and every task is in results.csv once."""
    out = tmp_path / "study"
    args = ("predictors", "--predictors", "params", "--trials", "3", "--test-size", "20", "--out", str(out),
            "--no-progress")
    assert _cli(*args, cwd=tmp_path).returncode == 0
    path = out / "results.csv"
    whole = path.read_text().splitlines()
    path.write_text("\n".join(whole[:-1]) + "\n" + whole[-1][: len(whole[-1]) // 2])  # the last row cut short
    result = _cli(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "the last row is cut short" in result.stderr
    rows = list(csv.DictReader(path.open()))
    assert sorted(int(r["trial"]) for r in rows) == [0, 1, 2]
    assert [r["kendall"] for r in rows] == [line.split(",")[3] for line in whole[1:]]  # deterministic: same tau
