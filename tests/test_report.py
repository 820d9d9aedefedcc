"""The report: statistics with known answers on synthetic records, and the files it writes."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from nasearch.errors import UsageError
from nasearch.analysis.pairs import Pair
from nasearch.analysis.reading import display_name, load_experiment
from nasearch.analysis.report import format_p, plain_statement, verdict, write_report
from nasearch.analysis.stats import anytime_curve, compare
from nasearch.results import RunRecord


def _record(run: int, accuracy: float, times=(100.0, 300.0, 600.0), incumbents=None, proxy=None, searcher="rs",
            label="rs"):
    """A minimal schema-1 run record (as nasearch wrote them before the typed record): trajectory times
    and incumbents [[step, arch, final], ...]; the readers migrate it."""
    if incumbents is None:
        incumbents = [[len(times) - 1, "a", {"cifar10_valid": accuracy, "cifar100_valid": accuracy - 20}]]
    return {"run": run, "seed": 0, "label": label, "searcher": searcher, "proxy": proxy,
            "best_arch": incumbents[-1][1] if incumbents else None, "best_fitness": accuracy if incumbents else None,
            "final": incumbents[-1][2] if incumbents else {},
            "evaluations": len(times), "proxy_scores": 0, "proxy_seconds": 0.0, "simulated_seconds": times[-1],
            "trajectory": {"t": list(times)}, "incumbents": incumbents}


def _typed(record: dict) -> RunRecord:
    return RunRecord.from_dict(record)


def _write_searcher(root: Path, label: str, records: list[dict]) -> None:
    (root / label).mkdir(parents=True)
    (root / label / "runs.jsonl").write_text("".join(json.dumps({**r, "label": label}) + "\n" for r in records))


def test_mann_whitney_and_difference_of_means_on_separated_samples():
    baseline, treatment = np.arange(5.0), np.arange(5.0) + 10
    c = compare(baseline, treatment, labels=("rs", "g_rs"), metric="m")
    assert c.difference == pytest.approx(10.0)
    # exact two-sided test, no ties, complete separation: 2 / C(10, 5)
    assert c.p_mannwhitney == pytest.approx(2 / 252)
    # paired by position: five differences of +10, exact signed-rank p = 2 / 2^5
    assert (c.n_pairs, c.n_ties) == (5, 0) and c.p_wilcoxon == pytest.approx(2 / 32)
    assert c.p_value == c.p_wilcoxon and c.test == "Wilcoxon signed-rank"
    # every bootstrap resample of separated samples differs by 10 +- (spread of the means)
    assert 6.0 <= c.ci_low <= 10.0 <= c.ci_high <= 14.0


def test_bootstrap_ci_is_seeded_and_covers_a_known_shift():
    rng = np.random.default_rng(1)
    baseline = rng.normal(90.0, 0.5, 400)
    treatment = rng.normal(90.3, 0.5, 400)
    first = compare(baseline, treatment, seed=7, resamples=2000)
    again = compare(baseline, treatment, seed=7, resamples=2000)
    assert (first.ci_low, first.ci_high) == (again.ci_low, again.ci_high)
    assert first.ci_low < 0.3 < first.ci_high
    # half-width ~ 1.96 * sqrt(2 * 0.25 / 400) = 0.069
    assert first.ci_high - first.ci_low == pytest.approx(2 * 0.0693, rel=0.2)
    assert first.p_mannwhitney < 1e-10 and first.p_wilcoxon < 1e-10


def test_identical_samples_do_not_differ():
    c = compare(np.full(4, 91.0), np.full(4, 91.0))
    assert (c.difference, c.ci_low, c.ci_high, c.p_mannwhitney, c.p_wilcoxon) == (0.0, 0.0, 0.0, 1.0, 1.0)
    assert c.n_ties == 4
    with pytest.raises(UsageError, match="needs >= 2 runs"):
        compare(np.array([1.0]), np.array([1.0, 2.0]))


def test_plain_statements():
    significant = compare(np.arange(6.0), np.arange(6.0) + 0.21 + 10)
    text = plain_statement(significant, "REA", "G-REA")
    assert text.startswith("G-REA beats REA by 10.21 pt")
    # six equal differences: Wilcoxon p = 2 / 2^6; Mann-Whitney (separated) p = 2 / C(12, 6)
    assert "Wilcoxon signed-rank p = 0.031 over 6 pairs, Mann–Whitney p = 0.002" in text
    worse = plain_statement(compare(np.arange(6.0) + 10, np.arange(6.0)), "REA", "G-REA")
    assert worse.startswith("G-REA is worse than REA by 10.00 pt")
    same = plain_statement(compare(np.array([1.0, 2, 3, 4]), np.array([1.0, 2, 3, 4.5])), "RS", "G-RS")
    assert same.startswith("G-RS and RS do not differ detectably")
    assert format_p(3.2e-5) == "3e-5" and format_p(0.0123) == "0.012" and format_p(0.5) == "0.50"


def test_default_display_names():
    assert display_name("g_rea") == "G-REA" and display_name("g_rea_params", "params") == "G-REA (params)"
    assert display_name("reinforce") == "REINFORCE" and display_name("g_hb_lookup", "gradsign") == "G-HB (proxy free)"


def test_anytime_curve_follows_the_incumbents():
    # run 0: incumbent 90 from t=100, 92 from t=600; run 1: 91 from t=300
    run0 = _record(0, 92.0, times=(100, 300, 600),
                   incumbents=[[0, "a", {"cifar10_valid": 90.0}], [2, "b", {"cifar10_valid": 92.0}]])
    run1 = _record(1, 91.0, times=(300, 500), incumbents=[[0, "c", {"cifar10_valid": 91.0}]])
    grid = np.array([0.0, 100.0, 299.0, 300.0, 600.0, 1000.0])
    mean, half, count = anytime_curve([_typed(run0), _typed(run1)], "cifar10_valid", grid)
    assert count.tolist() == [0, 1, 1, 2, 2, 2]
    assert np.isnan(mean[0])
    assert mean[1:].tolist() == pytest.approx([90.0, 90.0, 90.5, 91.5, 91.5])
    # two values 1 apart: sd = 0.7071, half-width = 1.96 * sd / sqrt(2) = 0.98
    assert half[3] == pytest.approx(0.98)


def test_write_report_produces_table_stats_and_figures(tmp_path):
    rng = np.random.default_rng(0)
    groups = {"rs": (90.0, None), "g_rs": (91.0, "gradsign"), "g_rs_params": (90.5, "params"),
              "g_rs_random": (90.0, "random")}
    values = {}
    for label, (level, proxy) in groups.items():
        values[label] = level + rng.normal(0, 0.3, 30)
        _write_searcher(tmp_path, label, [_record(i, float(v), proxy=proxy) for i, v in enumerate(values[label])])
    (tmp_path / "experiment.json").write_text(json.dumps({
        "label": "synthetic", "runs": 30, "budget_seconds": 1000, "seed": 0,
        "searchers": [{"label": label} for label in groups],
        "pairs": [["rs", "g_rs"], ["rs", "g_rs_params"], ["rs", "g_rs_random"], ["g_rs_params", "g_rs"]]}))
    (tmp_path / "timing.json").write_text(json.dumps({label: {"wall_seconds": 2.0, "runs_computed": 30,
                                                              "backend": "local", "workers": 2} for label in groups}))
    report = write_report(tmp_path, resamples=500)
    text = report.read_text()
    for name in ("summary.csv", "comparisons.csv", "anytime.png", "final_accuracy.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    difference = values["g_rs"].mean() - values["rs"].mean()
    assert f"- G-RS beats RS by {difference:.2f} pt (95% CI " in text
    assert "500 resamples" in text
    # an experiment.json without roles (written before them): roles inferred from the runs' proxies
    assert "- G-RS beats the trivial proxy G-RS (params) by" in text and "does more than the trivial one" in text
    assert "| trivial_proxy | G-RS (params) → G-RS |" in text and "| effect | RS → G-RS (random) |" in text
    assert "| 30 (0) |" in text  # 30 pairs, no tie
    assert "G-RS (random) and RS do not differ detectably" in text
    assert "as it must" not in text
    assert "Side by side" not in text  # no reference declared: no paper section

    with (tmp_path / "summary.csv").open() as handle:
        rows = {row["label"]: row for row in csv.DictReader(handle)}
    assert set(rows) == set(groups) and rows["rs"]["runs"] == "30" and rows["rs"]["runs_per_second"] == "15"
    with (tmp_path / "comparisons.csv").open() as handle:
        comparisons = list(csv.DictReader(handle))
    assert len(comparisons) == 4 * 2  # 4 pairs x 2 metrics
    assert {"role", "p_wilcoxon", "p_mannwhitney", "n_pairs", "n_ties"} <= set(comparisons[0])
    assert [c["role"] for c in comparisons if c["metric"] == "cifar10_valid"] == [
        "effect", "effect", "effect", "trivial_proxy"]


def _control_experiment(root: Path, pairs, shift: float = 0.0, uniform_runs: int = 40) -> None:
    rng = np.random.default_rng(3)
    base = 90.0 + rng.normal(0, 0.3, 40)
    levels = {"rs": (base, None), "g_rs": (base + 0.5, "gradsign"), "g_rs_params": (base + 0.5, "params"),
              "g_rs_uniform": (90.0 + shift + rng.normal(0, 0.3, 40), "uniform")}
    for label, (values, proxy) in levels.items():
        count = uniform_runs if label == "g_rs_uniform" else 40
        _write_searcher(root, label, [_record(i, float(v), proxy=proxy) for i, v in enumerate(values[:count])])
    (root / "experiment.json").write_text(json.dumps({
        "label": "roles", "budget_seconds": 1000, "seed": 0, "searchers": [{"label": label} for label in levels],
        "pairs": pairs}))


def test_report_phrases_verdicts_from_the_recorded_roles(tmp_path):
    pairs = [{"baseline": "rs", "treatment": "g_rs_uniform", "role": "exact_control"},
             {"baseline": "g_rs_params", "treatment": "g_rs", "role": "trivial_proxy"},
             # a role as written wins over what inference would say (trivial_proxy)
             {"baseline": "g_rs_params", "treatment": "g_rs", "role": "proxy_vs_proxy"}]
    _control_experiment(tmp_path / "same", pairs)
    text = write_report(tmp_path / "same", resamples=200).read_text()
    assert "the control behaves as it must" in text and "G-RS (uniform) matches RS (Wilcoxon signed-rank p = " in text
    # identical values run by run: all 40 differences are ties, p = 1 by both tests (the unpaired CI still has width)
    assert "G-RS does not beat the trivial proxy G-RS (params) detectably: +0.00 pt (95% CI " in text
    assert "Wilcoxon signed-rank p = 1.00 over 40 pairs, Mann–Whitney p = 1.00); what the proxy adds here" in text
    assert "| proxy_vs_proxy | G-RS (params) → G-RS | +0.00 |" in text and "40 (40) |" in text
    assert "G-RS and G-RS (params) do not differ detectably" in text
    assert "### Exact controls: must match vanilla" in text and "### Proxy against proxy" in text
    assert "### The method against vanilla" not in text  # no effect pair: no empty section

    _control_experiment(tmp_path / "shifted", pairs[:1], shift=0.6, uniform_runs=25)
    text = write_report(tmp_path / "shifted", resamples=200).read_text()
    assert "G-RS (uniform) differs from RS by +0.5" in text and "an exact control must match" in text
    assert "over 25 pairs" in text and "RS → G-RS (uniform): 25 pairs of 40 and 25 runs" in text
    assert "No trivial-proxy pair in this experiment" in text


def test_pairs_read_roles_and_fall_back_to_declared_properties_for_old_files(tmp_path):
    """Roles come from experiment.json; a file written before roles gets them from what each side's
    hook declared (select: uniform; a proxy spec that is `trivial`), never from label spellings."""
    for label, proxy in (("rea", None), ("g_rea", "gradsign"), ("g_rea_params", "params"),
                         ("g_rea_uniform", "uniform"), ("g_rea_flops", "flops")):
        _write_searcher(tmp_path, label, [_record(i, 90.0 + i, proxy=proxy, searcher="rea") for i in range(3)])
    old = {"searchers": [{"label": x} for x in ("rea", "g_rea", "g_rea_params", "g_rea_uniform", "g_rea_flops")],
           "pairs": [["rea", "g_rea"], ["rea", "g_rea_uniform"], ["g_rea_params", "g_rea"], ["g_rea_flops", "g_rea_params"]]}
    (tmp_path / "experiment.json").write_text(json.dumps(old))
    assert list(load_experiment(tmp_path).info.pairs) == [
        Pair("rea", "g_rea", "effect"), Pair("rea", "g_rea_uniform", "exact_control"),
        Pair("g_rea_params", "g_rea", "trivial_proxy"), Pair("g_rea_flops", "g_rea_params", "proxy_vs_proxy")]
    (tmp_path / "experiment.json").write_text(json.dumps({**old, "pairs": [
        {"baseline": "rea", "treatment": "g_rea", "role": "exact_control"}]}))
    assert list(load_experiment(tmp_path).info.pairs) == [Pair("rea", "g_rea", "exact_control")]
    # no experiment.json at all: nothing is declared, so nothing is paired (a plain report)
    (tmp_path / "experiment.json").unlink()
    assert load_experiment(tmp_path).info.pairs == ()
    assert "The experiment declares no baseline/treatment pairs." in write_report(tmp_path, resamples=100).read_text()
    (tmp_path / "experiment.json").write_text(json.dumps({**old, "pairs": [
        {"baseline": "rea", "treatment": "g_rea", "role": "control"}]}))
    with pytest.raises(UsageError, match=r"role 'control' is not one of effect, exact_control, trivial_proxy, "
                                         r"proxy_vs_proxy") as info:
        load_experiment(tmp_path)
    assert "\n" not in str(info.value)
    (tmp_path / "experiment.json").write_text(json.dumps({**old, "pairs": [["rea"]]}))
    with pytest.raises(UsageError, match="neither"):
        load_experiment(tmp_path)


def test_verdicts_by_role():
    shifted = compare(np.arange(8.0), np.arange(8.0) + 1.0)  # every pair +1: Wilcoxon p = 2/256
    assert verdict("exact_control", shifted, "REA", "G-REA (uniform)").startswith(
        "G-REA (uniform) differs from REA by +1.00 pt")
    assert verdict("trivial_proxy", shifted, "G-REA (params)", "G-REA").startswith(
        "G-REA beats the trivial proxy G-REA (params) by 1.00 pt")
    assert verdict("trivial_proxy", compare(np.arange(8.0) + 1, np.arange(8.0)), "G-REA (params)", "G-REA").startswith(
        "The trivial proxy G-REA (params) beats G-REA by 1.00 pt")
    assert verdict("effect", shifted, "REA", "G-REA").startswith("G-REA beats REA by 1.00 pt")


def test_report_on_an_empty_directory_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="holds no runs"):
        write_report(tmp_path)
    with pytest.raises(UsageError, match="not a directory"):
        write_report(tmp_path / "missing")


def test_distinct_share_counts_repeated_architectures():
    from nasearch.analysis.stats import distinct_fractions
    from nasearch.results import Trajectory

    records = [RunRecord(0, 0, "x", "rs", None, None, None, trajectory=Trajectory(arch=["a", "b", "a", "a"])),
               RunRecord(1, 0, "x", "rs", None, None, None, trajectory=Trajectory(arch=["x", "y"])),
               RunRecord(2, 0, "x", "rs", None, None, None)]
    assert distinct_fractions(records).tolist() == [0.5, 1.0]  # a run with no evaluation has no share


# -- the paper's reference numbers are data; the side-by-side section ----------------------
def test_paper_tables_are_data_with_every_table6_row():
    from nasearch.analysis.reference import load_table

    table = load_table("gradsign_iclr2022#table6")
    assert set(table.rows) == {"rea", "a_rea", "g_rea", "rs", "g_rs", "reinforce", "g_reinforce", "bohb", "g_hb"}
    assert table.rows["a_rea"]["imagenet16_valid"] == [45.70, 1.05] and table.runs == 500
    assert table.rows["g_hb"]["cifar10_test"][0] == 93.96
    assert load_table("nb201_iclr2020#table5").rows["reinforce"]["cifar10_valid"] == [91.09, 0.37]
    with pytest.raises(UsageError, match="has no table 'table99'; it has table2, table3, table4, table6"):
        load_table("gradsign_iclr2022#table99")
    with pytest.raises(UsageError, match="no paper 'nopaper'"):
        load_table("nopaper#t")
    with pytest.raises(UsageError, match="is not 'paper#table'"):
        load_table("gradsign_iclr2022")


def test_reference_section_difference_and_two_standard_errors():
    from nasearch.analysis.reference import search_section

    # RS paper 90.93 ± 0.37 (500 runs). SE = sqrt(0.3^2/500 + 0.37^2/500) = 0.0213: +0.04 is within 2 SE, +0.10 not
    refs = ["gradsign_iclr2022#table6"]
    near = "\n".join(search_section(refs, {"rs": {"cifar10_valid": (90.97, 0.30, 500)}}, {"rs": "RS"}, "A NOTE."))
    far = "\n".join(search_section(refs, {"rs": {"cifar10_valid": (91.03, 0.30, 500)}}, {"rs": "RS"}))
    assert "| 90.93 ± 0.37 | 90.97 ± 0.30 | +0.04 \\* |" in near
    assert "| 90.93 ± 0.37 | 91.03 ± 0.30 | +0.10 |" in far
    assert "A NOTE." in near and "A NOTE." not in far
    assert "also reports `cifar100_valid`, `imagenet16_valid`, `cifar10_test`" in near  # what our runs lack
    with_test = "\n".join(search_section(refs, {"rs": {"cifar10_test": (93.70, 0.30, 500)}}, {"rs": "RS"}))
    assert "| RS | 93.72 ± 0.38 | 93.70 ± 0.30 | -0.02 \\* |" in with_test
    assert "| REA | 93.85 ± 0.44 | not run |  |" in with_test and "| A-REA |" not in with_test


def test_a_declared_report_shows_its_metric_references_and_names(tmp_path):
    rng = np.random.default_rng(0)
    for label, level in (("rs", 90.9), ("g_rs", 91.2)):
        _write_searcher(tmp_path, label, [_record(i, float(v)) for i, v in enumerate(level + rng.normal(0, 0.3, 20))])
    meta = {"label": "declared", "budget_seconds": 1000, "seed": 0, "searchers": [{"label": "rs"}, {"label": "g_rs"}],
            "pairs": [{"baseline": "rs", "treatment": "g_rs", "role": "effect"}]}
    (tmp_path / "experiment.json").write_text(json.dumps(meta))
    plain = write_report(tmp_path, resamples=100).read_text()
    assert "headline metric: `cifar10_valid`." in plain and "Side by side" not in plain
    (tmp_path / "experiment.json").write_text(json.dumps({**meta, "report": {
        "metric": "cifar100_valid", "references": ["gradsign_iclr2022#table6"], "note": "NOTE HERE",
        "names": {"g_rs": "GradSign-RS"}}}))
    text = write_report(tmp_path, resamples=100).read_text()
    assert "headline metric: `cifar100_valid` (declared by the experiment)." in text
    assert "## Side by side with Zhang & Jia, GradSign, ICLR 2022, Table 6" in text and "NOTE HERE" in text
    assert "| GradSign-RS | 91.24 ± 0.21 |" in text and "GradSign-RS and RS" in text or "GradSign-RS beats RS" in text
    assert "Difference of means (treatment − baseline) of `cifar100_valid`" in text
    (tmp_path / "experiment.json").write_text(json.dumps({**meta, "report": {"metric": "svhn_test"}}))
    with pytest.raises(UsageError, match="'svhn_test' is not a metric these runs report"):
        write_report(tmp_path, resamples=100)
    (tmp_path / "experiment.json").write_text(json.dumps({**meta, "report": {"references": ["gradsign_iclr2022#nope"]}}))
    with pytest.raises(UsageError, match="has no table 'nope'"):
        write_report(tmp_path, resamples=100)


def test_old_schema_results_still_report_and_resume_into_the_current_schema(tmp_path):
    """A results folder written before the typed record (schema 1: `proxy`, `proxy_scores`,
    `proxy_seconds`, positional incumbents) reads as typed records with the honest names."""
    old = _record(0, 91.0, proxy="uniform")
    old["proxy_scores"], old["proxy_seconds"] = 120, 0.0
    typed = RunRecord.from_dict(old)
    assert (typed.selection, typed.pool_draws, typed.overhead_seconds, typed.schema) == ("uniform", 120, 0.0, 2)
    assert typed.incumbents[0].arch == "a" and typed.incumbents[0].step == 2
    again = RunRecord.from_dict(json.loads(typed.encode()))
    assert again == typed and '"selection":"uniform"' in typed.encode() and '"proxy"' not in typed.encode()
