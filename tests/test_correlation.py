"""The correlation study: outputs, agreement with scipy, resumability and the Table-5 logic."""
from __future__ import annotations

import csv

import numpy as np
import pytest
from scipy import stats

from nasearch.cli import main
from nasearch.correlation import correlate, sample_arch_ids, selection_experiment


def read_csv(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def space():
    from nasearch.spaces.nb201.space import NB201Space

    return NB201Space()


def test_correlate_cli_writes_outputs_that_match_scipy(tmp_path, space):
    out = tmp_path / "study"
    code = main(["correlate", "--proxies", "params,flops,random", "--n", "8", "--pool", "5", "--repeats", "20", "--bootstrap", "50",
                 "--out", str(out), "--cache-dir", str(tmp_path / "cache"), "--no-progress"])
    assert code == 0
    for name in ("scores.csv", "correlation.csv", "correlation.md", "selection.csv", "selection.md",
                 "scatter_params.png", "scatter_flops.png", "scatter_random.png"):
        assert (out / name).stat().st_size > 0, name
    rows = read_csv(out / "scores.csv")
    assert len(rows) == 8 and len({r["arch_id"] for r in rows}) == 8
    from nasearch.proxies.params import params

    first = space.from_id(rows[0]["arch_id"])
    assert float(rows[0]["params"]) == params(space.build_network(first, 10))
    assert float(rows[0]["cifar100_valid"]) == space.final_metrics(first)["cifar100_valid"]
    table = {(r["proxy"], r["metric"]): r for r in read_csv(out / "correlation.csv")}
    for proxy in ("params", "flops", "random"):
        x = np.array([float(r[proxy]) for r in rows])
        for metric in ("cifar10_valid", "cifar100_valid", "imagenet16_valid"):
            y = np.array([float(r[metric]) for r in rows])
            assert float(table[proxy, metric]["spearman"]) == pytest.approx(stats.spearmanr(x, y).statistic)
            assert float(table[proxy, metric]["kendall"]) == pytest.approx(stats.kendalltau(x, y).statistic)
    assert "| params | 8 |" in (out / "correlation.md").read_text()


def test_study_resumes_from_the_cache_and_a_larger_n_extends_the_same_sample(tmp_path, space):
    from nasearch.proxies.store import ScoreCache, ScoreKey

    args = ["correlate", "--proxies", "flops", "--pool", "4", "--repeats", "3", "--bootstrap", "0", "--cache-dir", str(tmp_path / "c"),
            "--no-progress"]
    assert main([*args, "--n", "6", "--out", str(tmp_path / "a")]) == 0
    assert main([*args, "--n", "9", "--out", str(tmp_path / "b")]) == 0
    small = [r["arch_id"] for r in read_csv(tmp_path / "a" / "scores.csv")]
    large = [r["arch_id"] for r in read_csv(tmp_path / "b" / "scores.csv")]
    assert large[:6] == small
    key = ScoreKey("nb201@1", "flops", "cifar10", 0, 0)  # data-free: keyed without a batch size
    assert len(list(ScoreCache(tmp_path / "c").items(key))) == 9  # 6 reused, 3 new
    assert sample_arch_ids(space, 9, 0) == large  # deterministic in the seed
    assert sample_arch_ids(space, 9, 1) != large


def test_correlate_drops_nan_keeps_minus_inf_and_agrees_with_scipy():
    scores = np.array([np.nan, -np.inf, 1.0, 3.0, 2.0, 5.0])
    accuracy = np.array([50.0, 10.0, 20.0, 40.0, 30.0, 35.0])
    (row,) = correlate("p", scores, {"acc": accuracy})
    assert row.n == 5
    ranks = np.array([0.0, 1.0, 3.0, 2.0, 4.0])  # -inf ranks lowest
    assert row.spearman == pytest.approx(stats.spearmanr(ranks, accuracy[1:]).statistic)
    assert row.kendall == pytest.approx(stats.kendalltau(ranks, accuracy[1:]).statistic)


def test_selection_experiment_on_a_synthetic_table_with_known_answers():
    accuracy = np.arange(10, dtype=float)
    scores = {
        "oracle": accuracy.copy(),  # higher is better: always picks the pool's best
        "loss": -accuracy,  # lower is better (declared so): also the best
        "anti": -accuracy,  # declared higher-is-better: always picks the pool's worst
        "nan_at_best": np.where(accuracy == 9, np.nan, accuracy),  # NaN never wins
    }
    better = {"oracle": True, "loss": False, "anti": True, "nan_at_best": True}
    rows = {(s.method, s.metric): s for s in selection_experiment(scores, better, {"acc": accuracy}, pool_size=10,
                                                                   repeats=7, seed=0)}
    assert rows["oracle", "acc"].mean == 9 and rows["oracle", "acc"].std == 0
    assert rows["loss", "acc"].mean == 9
    assert rows["optimal", "acc"].mean == 9
    assert rows["anti", "acc"].mean == 0
    assert rows["nan_at_best", "acc"].mean == 8
    assert rows["random choice", "acc"].repeats == 7


def test_selection_pools_are_random_subsets_and_oracle_matches_optimal():
    rng = np.random.default_rng(3)
    accuracy = rng.normal(size=400)
    rows = {(s.method, s.metric): s for s in selection_experiment(
        {"oracle": accuracy}, {"oracle": True}, {"acc": accuracy}, pool_size=100, repeats=200, seed=1)}
    assert rows["oracle", "acc"].mean == rows["optimal", "acc"].mean
    # a random pick from a pool has the population's mean: within 4 standard errors
    assert abs(rows["random choice", "acc"].mean - accuracy.mean()) < 4 * accuracy.std() / np.sqrt(200)
    assert rows["optimal", "acc"].mean > np.quantile(accuracy, 0.9)


@pytest.mark.parametrize("argv, message", [
    (["--proxies", "nosuch"], "unknown proxy"),
    (["--n", "0"], "--n must be >= 1"),
    (["--proxies", "naswot"], "need images"),
])
def test_correlate_usage_errors_exit_2(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.delenv("NASEARCH_CIFAR10_NPZ", raising=False)
    assert main(["correlate", "--out", str(tmp_path / "o"), "--no-progress", *argv]) == 2
    assert message in capsys.readouterr().err


def test_bootstrap_interval_brackets_rho_and_shrinks_with_n():
    from nasearch.correlation import bootstrap_spearman

    rng = np.random.default_rng(0)
    widths = []
    for n in (50, 800):
        x = rng.normal(size=n)
        y = x + rng.normal(size=n)
        low, high = bootstrap_spearman(x, y, resamples=300)
        assert low < stats.spearmanr(x, y).statistic < high
        widths.append(high - low)
    assert widths[1] < widths[0] / 2  # ~ 1/sqrt(n)


def test_paper_values_are_matched_by_metric_name_with_any_number_of_metrics():
    """Issue 17: a space with more than three final metrics must not crash the markdown (the paper's
    values were looked up by position); each value goes to its dataset, unknown metrics get none.
    The values are data (nasearch/data/papers), chosen by the space a table was measured on."""
    from nasearch.analysis.reference import correlation_tables, published_correlation
    from nasearch.correlation import Correlation, correlation_markdown

    tables = correlation_tables("nb201")
    assert [t.name for t in tables] == ["gradsign_iclr2022#table3"]
    assert published_correlation(tables, "spearman", "gradsign", "cifar100_valid") == "0.793"
    assert published_correlation(tables, "spearman", "gradsign", "imagenet16_test") == "0.783"
    assert published_correlation(tables, "spearman", "gradsign", "cifar10_valid") == "0.765"
    assert published_correlation(tables, "spearman", "gradsign", "svhn_valid") == ""
    assert published_correlation(tables, "spearman", "snip", "svhn_valid") == "≈0.60"
    assert published_correlation(tables, "kendall", "gradsign", "cifar10_valid") == ""
    metrics = ["svhn_valid", "cifar10_valid", "cifar100_valid", "imagenet16_valid", "x_valid"]
    rows = [Correlation("gradsign", m, 0.5, 0.4, 10) for m in metrics]
    text = correlation_markdown(rows, metrics, "header", space_name="nb201")
    assert "(0.765)" in text and "(0.793)" in text and "(0.783)" in text
    assert text.count("(0.") == 3  # svhn and x get no paper value
    assert "(0." not in correlation_markdown(rows, metrics, "header", space_name="my_space")  # nothing published


def test_provenance_never_names_a_missing_npz(tmp_path):
    from nasearch.correlation import _provenance
    from nasearch.proxies.data import DataSource

    missing = DataSource(npz=str(tmp_path / "missing.npz"))
    assert "does not exist" in _provenance(missing) and "no image was read" in _provenance(missing)
    present = tmp_path / "real.npz"
    present.write_bytes(b"x")
    assert _provenance(DataSource(npz=str(present))) == "npz:real.npz"
