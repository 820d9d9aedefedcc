"""The report of an experiment: markdown, CSV and figures from its typed records.

``write_report(RESULTS_DIR)`` reads the experiment (:func:`nasearch.analysis.reading.load_experiment`)
and writes, next to its runs: ``report.md`` (the results table, the references the experiment declares,
every declared baseline/treatment pair with a verdict phrased from its role), ``summary.csv``,
``comparisons.csv``, ``anytime.png`` and ``final_accuracy.png``. It does only what the experiment
declares (``report:`` and ``pairs:`` in its config, recorded in ``experiment.json``): no paper section
without a declared reference, no pair that is not declared, the declared headline metric.

Where things go: a new statistic in :mod:`nasearch.analysis.stats`, a new figure in
:mod:`nasearch.analysis.plots`, a published table in ``nasearch/data/papers`` (read by
:mod:`nasearch.analysis.reference`), a new section of the report here; what a pair is for (its role)
is :mod:`nasearch.analysis.pairs`.
"""
from __future__ import annotations

import csv
import math
from dataclasses import asdict, dataclass, fields
from typing import Any
from pathlib import Path
from typing import Sequence

import numpy as np

from nasearch.analysis.pairs import ROLES, Pair
from nasearch.analysis.reading import Experiment, SearcherResults, load_experiment, metric_values, metrics_present
from nasearch.analysis.reference import Stats, search_section
from nasearch.analysis.stats import (ALPHA, BOOTSTRAP_RESAMPLES, Comparison, bonferroni_threshold, compare,
                                     distinct_fractions, mean_std)
from nasearch.errors import UsageError


def metric_array(records, metric: str) -> np.ndarray:
    return np.array(list(metric_values(records, metric).values()), dtype=float)


# -- phrasing -------------------------------------------------------------------------------
def format_p(p: float) -> str:
    if math.isnan(p):
        return "n/a"
    if p == 0:
        return "< 1e-300"
    if p < 1e-3:
        mantissa, exponent = f"{p:.0e}".split("e")
        return f"{mantissa}e{int(exponent)}"
    return f"{p:.3f}" if p < 0.1 else f"{p:.2f}"


def evidence(c: Comparison) -> str:
    """The numbers behind a verdict: the difference's CI and both tests."""
    ci = f"95% CI {c.ci_low:+.2f} to {c.ci_high:+.2f}"
    if c.paired:
        return (f"{ci}; Wilcoxon signed-rank p = {format_p(c.p_wilcoxon)} over {c.n_pairs} pairs, "
                f"Mann–Whitney p = {format_p(c.p_mannwhitney)}")
    return f"{ci}; Mann–Whitney p = {format_p(c.p_mannwhitney)}, no runs to pair"


def plain_statement(c: Comparison, baseline_name: str, treatment_name: str, alpha: float = ALPHA) -> str:
    """One sentence a reader can repeat: who wins, by how much, and how sure we are (the paired
    test's p where runs pair up)."""
    if c.p_value >= alpha:
        return f"{treatment_name} and {baseline_name} do not differ detectably: {c.difference:+.2f} pt ({evidence(c)})."
    verb = "beats" if c.difference > 0 else "is worse than"
    return f"{treatment_name} {verb} {baseline_name} by {abs(c.difference):.2f} pt ({evidence(c)})."


def verdict(role: str, c: Comparison, baseline_name: str, treatment_name: str, alpha: float = ALPHA) -> str:
    """The sentence for a pair, phrased from what the pair is for (:data:`nasearch.analysis.pairs.ROLES`)."""
    detected = c.p_value < alpha
    if role == "exact_control":
        if not detected:
            ci, tests = evidence(c).split("; ", 1)
            return (f"{treatment_name} matches {baseline_name} ({tests}; {c.difference:+.2f} pt, {ci}): "
                    f"the control behaves as it must.")
        return (f"{treatment_name} differs from {baseline_name} by {c.difference:+.2f} pt ({evidence(c)}): an exact "
                f"control must match the vanilla searcher in distribution, so something (the hook, the seed stream, "
                f"the clock) is wrong; distrust this searcher's other pairs until it is found.")
    if role == "trivial_proxy":
        if detected and c.difference > 0:
            return (f"{treatment_name} beats the trivial proxy {baseline_name} by {c.difference:.2f} pt "
                    f"({evidence(c)}): the proxy does more than the trivial one.")
        if detected:
            return (f"The trivial proxy {baseline_name} beats {treatment_name} by {-c.difference:.2f} pt "
                    f"({evidence(c)}): the proxy does worse than the trivial one.")
        return (f"{treatment_name} does not beat the trivial proxy {baseline_name} detectably: {c.difference:+.2f} pt "
                f"({evidence(c)}); what the proxy adds here, the trivial one gives too.")
    return plain_statement(c, baseline_name, treatment_name, alpha)


#: the report's subsection per role, in this order
ROLE_SECTIONS = {
    "effect": "The method against vanilla (effect)",
    "exact_control": "Exact controls: must match vanilla",
    "trivial_proxy": "Is the proxy doing the work? Against a trivial proxy",
    "proxy_vs_proxy": "Proxy against proxy",
}
assert set(ROLE_SECTIONS) == set(ROLES)


# -- summary table ----------------------------------------------------------------------------
def _fmt(pair: tuple[float, float], digits: int = 2) -> str:
    mean, std = pair
    return "n/a" if math.isnan(mean) else f"{mean:.{digits}f} ± {std:.{digits}f}"


def summary_rows(results: Sequence[SearcherResults], metrics: Sequence[str]) -> list[dict]:
    rows = []
    for res in results:
        row: dict = {"label": res.label, "name": res.display, "searcher": res.searcher,
                     "selection": res.selection or "", "runs": len(res.records), "complete": res.complete}
        for metric in metrics:
            row[f"{metric}_mean"], row[f"{metric}_std"] = mean_std(metric_array(res.records, metric))
        row["distinct_archs_mean"], row["distinct_archs_std"] = mean_std(distinct_fractions(res.records))
        for field_name in ("evaluations", "pool_draws", "overhead_seconds"):
            row[f"{field_name}_mean"], row[f"{field_name}_std"] = mean_std(
                np.array([getattr(r, field_name) for r in res.records], dtype=float))
        row["wall_seconds"] = res.wall_seconds if res.wall_seconds is not None else ""
        row["runs_per_second"] = (round(res.runs_computed / res.wall_seconds, 2)
                                  if res.wall_seconds and res.runs_computed else "")
        rows.append(row)
    return rows


def _write_csv(path: Path, rows: list[dict]) -> None:
    if not rows:
        path.write_text("")
        return
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})


def write_report(results_dir: str | Path, out_dir: str | Path | None = None, seed: int = 0,
                 resamples: int = BOOTSTRAP_RESAMPLES) -> Path:
    """Write report.md, summary.csv, comparisons.csv, anytime.png and final_accuracy.png; return report.md's path.
    A folder that keeps only a report's CSVs (no runs) gets its report.md rewritten from them (:func:`render_stored`)."""
    root = Path(results_dir)
    try:
        experiment = load_experiment(root)
    except UsageError:
        if root.is_dir() and (root / "summary.csv").is_file() and (root / "comparisons.csv").is_file() \
                and not any(root.glob("*/runs.jsonl")) and not any(root.glob("*/progress.jsonl")):
            return render_stored(root, out_dir)
        raise
    return render(experiment, out_dir, seed, resamples)


def render(experiment: Experiment, out_dir: str | Path | None = None, seed: int = 0,
           resamples: int = BOOTSTRAP_RESAMPLES) -> Path:
    """The report of an experiment already read (the Python API's ``exp.report()`` passes one)."""
    from nasearch.analysis.plots import plot_anytime, plot_final

    results, info, timing, root = experiment.results, experiment.info, experiment.timing, experiment.root
    spec = info.report
    out = Path(out_dir) if out_dir else root
    out.mkdir(parents=True, exist_ok=True)
    by_label = {res.label: res for res in results}
    metrics = metrics_present(results, spec.metric)
    if not metrics:
        raise UsageError(f"{root}: no run found any architecture (empty 'final'); is the budget too small?")
    primary = metrics[0]
    pairs = [p for p in info.pairs if p.baseline in by_label and p.treatment in by_label]
    budget = float(info.budget_seconds or max(r.simulated_seconds for res in results for r in res.records))

    rows = summary_rows(results, metrics)
    _write_csv(out / "summary.csv", rows)
    comparisons = pair_comparisons(experiment, pairs, metrics, seed, resamples)
    _write_csv(out / "comparisons.csv", [{"role": pair.role, **asdict(c)} for (pair, _), c in comparisons.items()])
    families: dict[str, list[tuple[str, list]]] = {}
    for res in results:
        families.setdefault(_family(res), []).append((res.display, res.records))
    plot_anytime(families, primary, budget, out / "anytime.png")
    plot_final([(res.display, metric_array(res.records, primary)) for res in results],
               primary, out / "final_accuracy.png")
    # multi-objective searchers' records carry their Pareto fronts (RunRecord.pareto); others draw nothing
    fronts = [(res.display, [p for r in res.records for p in (r.pareto or [])]) for res in results
              if any(r.pareto for r in res.records)]
    if fronts:
        from nasearch.analysis.plots import plot_pareto

        plot_pareto(fronts, out / "pareto.png")

    names = {res.label: res.display for res in results}
    runs = sorted({len(res.records) for res in results})
    incomplete = [res.label for res in results if not res.complete]
    lines = _markdown(info, root.name, rows, metrics, budget, timing, runs, incomplete,
                      stats_from_results(results, metrics), pairs, comparisons, names, resamples,
                      [name for name, _ in fronts])
    report = out / "report.md"
    report.write_text("\n".join(lines))
    return report


def _markdown(info, root_name: str, rows: list[dict], metrics: Sequence[str], budget: float, timing: dict,
              runs: list[int], incomplete: list[str], stats: Stats, pairs: Sequence[Pair],
              comparisons: dict, names: dict, resamples: int, front_names: Sequence[str] = ()) -> list[str]:
    """report.md's lines from what the report computed (or what a stored report's CSVs hold)."""
    spec = info.report
    primary = metrics[0]
    lines: list[str] = []
    title = info.label or root_name
    lines += [f"# Experiment report: {title}", ""]
    if info.description:
        lines += [info.description, ""]
    total_wall = sum(float(t.get("wall_seconds") or 0) for t in timing.values())
    lines += [
        f"- Runs per searcher: {', '.join(map(str, runs))}; simulated budget per run: {budget:g} s; "
        f"base seed: {info.seed if info.seed is not None else 'n/a'} (run i of every searcher uses the same seed stream).",
        f"- Experiment wall time: {total_wall:.1f} s of computation in all"
        + (f" ({', '.join(sorted({str(t.get('backend'))+' x'+str(t.get('workers')) for t in timing.values()}))})"
           if timing else "") + ".",
        f"- Accuracies are those of each run's final incumbent (best fitness found); headline metric: `{primary}`"
        + (" (declared by the experiment)." if spec.metric else "."),
    ]
    if incomplete:
        lines.append(f"- **Incomplete** (finished runs only): {', '.join(incomplete)}.")
    lines.append("")

    lines += ["## Results (mean ± std over runs)", ""]
    header = ["searcher", "runs", *metrics, "evaluations/run", "distinct %", "pool draws/run", "wall s", "runs/s"]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [row["name"], str(row["runs"])]
        cells += [_fmt((row[f"{m}_mean"], row[f"{m}_std"])) for m in metrics]
        cells += [_fmt((row["evaluations_mean"], row["evaluations_std"]), 1),
                  "n/a" if math.isnan(row["distinct_archs_mean"]) else f"{100 * row['distinct_archs_mean']:.0f}",
                  f"{row['pool_draws_mean']:.0f}",
                  f"{row['wall_seconds']:.1f}" if row["wall_seconds"] != "" else "n/a",
                  f"{row['runs_per_second']:.1f}" if row["runs_per_second"] != "" else "n/a"]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "std: sample standard deviation (ddof = 1). Distinct %: share of a run's evaluations that trained "
              "an architecture new to that run. Pool draws: candidates the hook drew into its pools and the budget "
              "paid for (a uniform pick draws but scores nothing). Wall time is the computation this experiment spent "
              "on that searcher (summed over resumed sessions); runs/s = runs computed / wall time.", ""]

    lines += search_section(spec.references, stats, names, spec.note)
    lines += pairs_section(pairs, comparisons, primary, names, metrics, resamples)
    lines += ["## Figures", "", "![anytime](anytime.png)", "",
              f"Anytime curves: mean `{primary}` of the incumbent against simulated time, with a 95% normal band "
              "for the mean; a curve starts once half of the runs have an incumbent.", "",
              "![final](final_accuracy.png)", "",
              *(["![pareto](pareto.png)", "", "Pareto fronts of the multi-objective searchers ("
                 + ", ".join(front_names) + "): each run's non-dominated trained architectures "
                 "(dots) and the front of all runs pooled (line).", ""] if front_names else []),
              "Files: `summary.csv` (this table, unrounded), `comparisons.csv` (every pair, every metric, both "
              "tests, role).", ""]
    return lines


def render_stored(root: str | Path, out: str | Path | None = None) -> Path:
    """Rewrite the report of a results folder that keeps its report's CSVs but not its runs (as the
    committed ``docs/results/*``): the table from ``summary.csv``, the declared references from its
    statistics, the pairs from ``comparisons.csv``, what ``experiment.json`` declares; the figures are
    kept as they are (they need the runs). Numbers are the CSVs' (6 significant digits)."""
    from nasearch.analysis.reading import (RUN_FIELDS, ExperimentInfo, read_stored_comparisons, read_stored_summary,
                                           read_timing)
    from nasearch.results import EXPERIMENT, TIMING, read_json

    root = Path(root)
    out = Path(out) if out else root
    info = ExperimentInfo.from_dict(read_json(root / EXPERIMENT, "experiment description", default={}), root / EXPERIMENT)
    timing = read_timing(root / TIMING)
    rows = read_stored_summary(root / "summary.csv")
    if not rows:
        raise UsageError(f"{root / 'summary.csv'} holds no searcher; rerun the experiment")
    found = [key[: -len("_mean")] for key in rows[0] if key.endswith("_mean") and key[: -len("_mean")] not in RUN_FIELDS]
    metrics = sorted(found, key=lambda m: (m != info.report.metric, m))
    if info.report.metric is not None and info.report.metric not in found:
        raise UsageError(f"report.metric: {info.report.metric!r} is not in {root / 'summary.csv'}")
    by_label = {row["label"]: row for row in rows}
    names = {label: info.report.names.get(label) or row["name"] for label, row in by_label.items()}
    for row in rows:
        row["name"] = names[row["label"]]
    declared_roles = {(p.baseline, p.treatment): p.role for p in info.pairs}
    comparisons = read_stored_comparisons(root / "comparisons.csv", list(by_label), metrics, declared_roles)
    pairs = list(dict.fromkeys(pair for pair, _ in comparisons))
    declared = [p for p in info.pairs if (p, metrics[0]) in comparisons] or pairs
    stats: Stats = {label: {m: (row[f"{m}_mean"], row[f"{m}_std"], row["runs"]) for m in metrics
                            if not math.isnan(row[f"{m}_mean"]) and row["runs"] > 1} for label, row in by_label.items()}
    budget = float(info.budget_seconds or 0)
    runs = sorted({row["runs"] for row in rows})
    incomplete = [row["label"] for row in rows if not row["complete"]]
    out.mkdir(parents=True, exist_ok=True)
    lines = _markdown(info, root.name, rows, metrics, budget, timing, runs, incomplete, stats, declared, comparisons,
                      names, BOOTSTRAP_RESAMPLES)
    report = out / "report.md"
    report.write_text("\n".join(lines))
    return report


def pair_comparisons(experiment: Experiment, pairs: Sequence[Pair], metrics: Sequence[str], seed: int = 0,
                     resamples: int = BOOTSTRAP_RESAMPLES) -> dict[tuple[Pair, str], Comparison]:
    """Every declared pair on every metric (the i-th pair's bootstrap seeded ``seed + i``)."""
    comparisons: dict[tuple[Pair, str], Comparison] = {}
    for index, pair in enumerate(pairs):
        baseline, treatment = experiment.searcher(pair.baseline), experiment.searcher(pair.treatment)
        for metric in metrics:
            comparisons[pair, metric] = compare(
                metric_values(baseline.records, metric), metric_values(treatment.records, metric),
                seed=seed + index, resamples=resamples, labels=(pair.baseline, pair.treatment), metric=metric)
    return comparisons


def _family(res: SearcherResults) -> str:
    return {"hb": "bohb"}.get(res.searcher, res.searcher) or res.label


def stats_from_results(results: Sequence[SearcherResults], metrics: Sequence[str]) -> Stats:
    """Per label and metric (mean, sample std, runs), for the reference tables."""
    out: Stats = {}
    for res in results:
        out[res.label] = {}
        for metric in metrics:
            values = metric_array(res.records, metric)
            if len(values) > 1:
                out[res.label][metric] = (*mean_std(values), len(values))
    return out


def pairs_section(pairs: Sequence[Pair], comparisons: dict[tuple[Pair, str], Comparison], primary: str,
                  names: dict, metrics: Sequence[str], resamples: int = BOOTSTRAP_RESAMPLES) -> list[str]:
    """Every pair on the headline metric (a table with both tests), then one verdict per pair,
    grouped and phrased by role; the other metrics in a last table."""
    if not pairs:
        return ["## Baseline vs treatment", "", "The experiment declares no baseline/treatment pairs.", ""]
    lines = ["## Baseline vs treatment", "",
             f"Difference of means (treatment − baseline) of `{primary}` with a 95% bootstrap CI (BCa, {resamples} "
             "resamples, seeded, the two samples resampled independently). Run i of both sides shares the seed stream, "
             "so runs pair by index: the Wilcoxon signed-rank test on the per-run differences is the primary test "
             "(zero differences left out of the ranks), the Mann–Whitney U test of the two samples stands beside it; "
             f"both two-sided. Verdicts use the Wilcoxon p (Mann–Whitney where no runs pair up); \"do not differ "
             f"detectably\" means p ≥ {ALPHA}. Roles say what a pair is for (`experiment.json`).", "",
             "| role | baseline → treatment | Δ mean (pt) | 95% CI | Wilcoxon p | Mann–Whitney p | pairs (ties) |",
             "|---|---|---|---|---|---|---|"]
    for pair in pairs:
        c = comparisons[pair, primary]
        lines.append(f"| {pair.role} | {names[pair.baseline]} → {names[pair.treatment]} | {c.difference:+.2f} | "
                     f"{c.ci_low:+.2f} to {c.ci_high:+.2f} | {format_p(c.p_wilcoxon)} | {format_p(c.p_mannwhitney)} | "
                     f"{c.n_pairs} ({c.n_ties}) |")
    lines.append("")
    unequal = [(pair, comparisons[pair, primary]) for pair in pairs
               if comparisons[pair, primary].n_pairs < max(comparisons[pair, primary].n_baseline,
                                                           comparisons[pair, primary].n_treatment)]
    if unequal:
        lines += ["Only run indices both sides have are paired: " + "; ".join(
            f"{names[p.baseline]} → {names[p.treatment]}: {c.n_pairs} pairs of {c.n_baseline} and {c.n_treatment} runs"
            for p, c in unequal) + " (the CI and Mann–Whitney use all runs).", ""]
    for role in ROLES:
        members = [pair for pair in pairs if pair.role == role]
        if not members and role != "trivial_proxy":
            continue
        lines += [f"### {ROLE_SECTIONS[role]}", ""]
        if not members:
            lines += ["- No trivial-proxy pair in this experiment, so whether the proxy beats a trivial one "
                      "(model size) is not tested here.", ""]
            continue
        for pair in members:
            c = comparisons[pair, primary]
            lines.append(f"- {verdict(role, c, names[pair.baseline], names[pair.treatment])}")
        lines.append("")
    if len(pairs) > 1:
        lines += [f"{len(pairs)} pairs are tested on `{primary}`: with a Bonferroni correction a difference is "
                  f"significant at p < {bonferroni_threshold(len(pairs)):.2g}; the sentences above use the unadjusted p.",
                  ""]
    others = [m for m in metrics if m != primary]
    if others:
        lines += ["Other metrics (difference of means in pt; Wilcoxon p / Mann–Whitney p):", "",
                  "| role | baseline → treatment | " + " | ".join(others) + " |", "|---|---|" + "---|" * len(others)]
        for pair in pairs:
            cells = []
            for metric in others:
                c = comparisons[pair, metric]
                cells.append(f"{c.difference:+.2f} ({format_p(c.p_wilcoxon)} / {format_p(c.p_mannwhitney)})")
            lines.append(f"| {pair.role} | {names[pair.baseline]} → {names[pair.treatment]} | " + " | ".join(cells) + " |")
        lines.append("")
    return lines
