"""The report of an experiment: reading its results and writing the markdown.

``write_report(RESULTS_DIR)`` reads each searcher's ``runs.jsonl`` and writes, next to them:
``report.md`` (Table-6 style table, the paper's Table 6 side by side, every baseline/treatment
pair with a verdict phrased from its role), ``summary.csv``, ``comparisons.csv``,
``anytime.png`` and ``final_accuracy.png``.

Where things go: a new statistic in :mod:`nasearch.stats` (which also states the std and
paired/unpaired conventions), a new figure in :mod:`nasearch.plots`, a new section of the
report here; what a pair is for (its role) is :mod:`nasearch.pairs`.
"""
from __future__ import annotations

import csv
import math
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from nasearch.errors import UsageError
from nasearch.pairs import ROLES, Pair, infer_role, pairs_from_json
from nasearch.results import EXPERIMENT, PROGRESS, RESULTS, TIMING, read_json, read_jsonl
from nasearch.stats import (ALPHA, BOOTSTRAP_RESAMPLES, Comparison, bonferroni_threshold, compare,
                            distinct_fractions, mean_std, within_two_se)

#: Paper reference tables (data, not code): ``nasearch/data/papers/<name>.yaml``.
PAPERS_DIR = Path(__file__).parent / "data" / "papers"
PAPER_MAIN = "gradsign_iclr2022"
PAPER_SECOND = "nb201_iclr2020"
PAPER_METRIC = "cifar10_test"


def load_paper(name: str) -> dict:
    """One paper's reference table: ``rows: {label: {valid|test: {metric: [mean, std]}, baseline}}``."""
    import yaml

    path = PAPERS_DIR / f"{name}.yaml"
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise UsageError(f"paper reference table {path} is missing; reinstall nasearch") from None
    if not isinstance(data, dict) or not isinstance(data.get("rows"), dict):
        raise UsageError(f"paper reference table {path} has no 'rows' mapping")
    return data
METRIC_ORDER = ("cifar10_test", "cifar10_valid", "cifar100_test", "cifar100_valid", "imagenet16_test", "imagenet16_valid")


# -- reading ------------------------------------------------------------------------------
@dataclass
class SearcherResults:
    label: str
    records: list[dict]
    complete: bool = True
    proxy: str | None = None
    searcher: str = ""
    wall_seconds: float | None = None
    runs_computed: int | None = None
    space: str = ""  # the searched space's name (config.json), "" when unknown

    @property
    def display(self) -> str:
        return display_name(self.label, self.proxy)


def display_name(label: str, proxy: str | None = None) -> str:
    """``g_rea`` -> ``G-REA``; ``g_rea_params`` -> ``G-REA (params)``; ``g_rea_lookup`` -> ``G-REA (proxy free)``."""
    suffix = ""
    if label.endswith("_lookup"):  # the table6 convention for ``cost: lookup`` twins
        label, suffix = label[: -len("_lookup")], " (proxy free)"
    elif proxy and label.endswith("_" + proxy):
        label, suffix = label[: -len(proxy) - 1], f" ({proxy})"
    if label.startswith("g_"):
        return "G-" + label[2:].upper().replace("_", "-") + suffix
    return label.upper().replace("_", "-") + suffix


def read_records(directory: Path) -> tuple[list[dict], bool]:
    """A searcher's records: ``runs.jsonl`` when finished, else the finished runs of ``progress.jsonl``.

    The flag is False for progress (unfinished) and for a torn or partly corrupt ``runs.jsonl``.
    """
    path = directory / RESULTS
    complete = path.is_file()
    found = read_jsonl(path if complete else directory / PROGRESS)
    if found.bad_lines and not found.records:
        raise UsageError(f"{found.path}: no line is a run record (line {found.bad_lines[0]} is the first bad one); "
                         f"rerun the searcher into a fresh --out")
    if found.problem() and (complete or found.bad_lines):
        print(f"nasearch: warning: {found.problem()}; reported as incomplete", file=sys.stderr)
    complete = complete and found.complete
    return [found.records[i] for i in sorted(found.records)], complete


def load_results(results_dir: str | Path) -> tuple[list[SearcherResults], dict, dict]:
    """Every searcher of an experiment directory, in the experiment's order, plus its metadata and timing."""
    root = Path(results_dir)
    if not root.is_dir():
        raise UsageError(f"{root} is not a directory; pass an experiment's output directory, e.g. results/table6")
    meta = read_json(root / EXPERIMENT, "experiment description", default={})
    timing = read_json(root / TIMING, "wall-time record", default={})
    for name, value in ((EXPERIMENT, meta), (TIMING, timing)):
        if not isinstance(value, dict):
            raise UsageError(f"{root / name}: expected a JSON mapping; restore it or delete it")
    if meta.get("searchers"):
        labels = [entry["label"] for entry in meta["searchers"]]
    else:
        labels = sorted(p.name for p in root.iterdir() if (p / RESULTS).is_file() or (p / PROGRESS).is_file())
    results = []
    for label in labels:
        directory = root / label
        if not (directory / RESULTS).is_file() and not (directory / PROGRESS).is_file():
            continue  # not started yet
        records, complete = read_records(directory)
        if not records:
            continue
        entry = timing.get(label, {})
        results.append(SearcherResults(
            label=label, records=records, complete=complete, proxy=records[0].get("proxy"),
            searcher=str(records[0].get("searcher", "")), wall_seconds=entry.get("wall_seconds"),
            runs_computed=entry.get("runs_computed"), space=_space_name(directory),
        ))
    if not results:
        raise UsageError(f"{root} holds no runs (no <label>/runs.jsonl); run an experiment into it first")
    return results, meta, timing


def _space_name(directory: Path) -> str:
    """The space a searcher's runs searched, from its ``config.json`` (``""`` when absent or unreadable)."""
    try:
        space = read_json(directory / "config.json", "run configuration", default={}).get("config", {}).get("space", {})
    except (UsageError, AttributeError):
        return ""
    return str(space.get("name") or space.get("class") or "") if isinstance(space, dict) else ""


def infer_pairs_from_labels(labels: Iterable[str]) -> list[tuple[str, str]]:
    """Without an experiment.json: ``g_X`` (and ``g_X_*``) against ``X``."""
    labels = list(labels)
    pairs = []
    for label in labels:
        if not label.startswith("g_"):
            continue
        for base in sorted(labels, key=len, reverse=True):
            if not base.startswith("g_") and (label[2:] == base or label[2:].startswith(base + "_")):
                pairs.append((base, label))
                break
    return pairs


def report_pairs(meta: dict, results: Sequence[SearcherResults]) -> list[Pair]:
    """The pairs to report, with their roles: as ``experiment.json`` records them; an older file
    (``[baseline, treatment]``) or none at all gets its roles from :func:`nasearch.pairs.infer_role`
    on what each searcher's runs selected by."""
    selections = {res.label: res.proxy for res in results}
    if meta.get("pairs"):
        pairs = pairs_from_json(meta["pairs"], selections)
    else:
        pairs = [Pair(b, t, infer_role(selections.get(b), selections.get(t)))
                 for b, t in infer_pairs_from_labels(selections)]
    return [p for p in pairs if p.baseline in selections and p.treatment in selections]


def metric_values(records: Sequence[dict], metric: str) -> dict[int, float]:
    """Each run's final ``metric`` by run index (runs that found nothing are left out)."""
    return {int(r.get("run", i)): float(r["final"][metric]) for i, r in enumerate(records)
            if metric in r.get("final", {})}


def metric_array(records: Sequence[dict], metric: str) -> np.ndarray:
    return np.array(list(metric_values(records, metric).values()), dtype=float)


def metrics_present(results: Sequence[SearcherResults]) -> list[str]:
    found = {key for res in results for r in res.records for key in r.get("final", {})}
    return [m for m in METRIC_ORDER if m in found] + sorted(found - set(METRIC_ORDER))


def primary_metric(metrics: Sequence[str]) -> str:
    for candidate in ("cifar10_test", "cifar10_valid"):
        if candidate in metrics:
            return candidate
    return metrics[0]


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
    """The sentence for a pair, phrased from what the pair is for (:data:`nasearch.pairs.ROLES`)."""
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
        row: dict = {"label": res.label, "name": res.display, "searcher": res.searcher, "proxy": res.proxy or "",
                     "runs": len(res.records), "complete": res.complete}
        for metric in metrics:
            row[f"{metric}_mean"], row[f"{metric}_std"] = mean_std(metric_array(res.records, metric))
        row["distinct_archs_mean"], row["distinct_archs_std"] = mean_std(distinct_fractions(res.records))
        for field_name in ("evaluations", "proxy_scores", "proxy_seconds"):
            row[f"{field_name}_mean"], row[f"{field_name}_std"] = mean_std(
                np.array([r.get(field_name, 0) for r in res.records], dtype=float))
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
    """Write report.md, summary.csv, comparisons.csv, anytime.png and final_accuracy.png; return report.md's path."""
    from nasearch.plots import plot_anytime, plot_final

    root = Path(results_dir)
    try:
        results, meta, timing = load_results(root)
    except UsageError:
        if root.is_dir() and (root / "summary.csv").is_file() and (root / "report.md").is_file():
            # a committed result folder whose runs are not kept: only the paper section can be redone
            report = refresh_paper_section(root)
            if out_dir and Path(out_dir) != root:
                Path(out_dir).mkdir(parents=True, exist_ok=True)
                (Path(out_dir) / "report.md").write_text(report.read_text())
                return Path(out_dir) / "report.md"
            return report
        raise
    out = Path(out_dir) if out_dir else root
    out.mkdir(parents=True, exist_ok=True)
    by_label = {res.label: res for res in results}
    metrics = metrics_present(results)
    if not metrics:
        raise UsageError(f"{root}: no run found any architecture (empty 'final'); is the budget too small?")
    primary = primary_metric(metrics)
    pairs = report_pairs(meta, results)
    budget = float(meta.get("budget_seconds") or max(r["simulated_seconds"] for res in results for r in res.records))

    rows = summary_rows(results, metrics)
    _write_csv(out / "summary.csv", rows)
    comparisons: dict[tuple[Pair, str], Comparison] = {}
    for index, pair in enumerate(pairs):
        for metric in metrics:
            comparisons[pair, metric] = compare(
                metric_values(by_label[pair.baseline].records, metric),
                metric_values(by_label[pair.treatment].records, metric),
                seed=seed + index, resamples=resamples, labels=(pair.baseline, pair.treatment), metric=metric)
    _write_csv(out / "comparisons.csv", [{"role": pair.role, **asdict(c)} for (pair, _), c in comparisons.items()])
    families: dict[str, list[tuple[str, list[dict]]]] = {}
    for res in results:
        families.setdefault(_family(res), []).append((res.display, res.records))
    plot_anytime(families, primary, budget, out / "anytime.png")
    plot_final([(res.display, metric_array(res.records, primary)) for res in results],
               primary, out / "final_accuracy.png")

    names = {res.label: res.display for res in results}
    lines: list[str] = []
    title = meta.get("label") or root.name
    lines += [f"# Experiment report: {title}", ""]
    if meta.get("description"):
        lines += [meta["description"], ""]
    runs = sorted({len(res.records) for res in results})
    total_wall = sum(float(t.get("wall_seconds") or 0) for t in timing.values())
    lines += [
        f"- Runs per searcher: {', '.join(map(str, runs))}; simulated budget per run: {budget:g} s; "
        f"base seed: {meta.get('seed', 'n/a')} (run i of every searcher uses the same seed stream).",
        f"- Experiment wall time: {total_wall:.1f} s of computation in all"
        + (f" ({', '.join(sorted({str(t.get('backend'))+' x'+str(t.get('workers')) for t in timing.values()}))})"
           if timing else "") + ".",
        f"- Accuracies are those of each run's final incumbent (best fitness found); headline metric: `{primary}`.",
    ]
    incomplete = [res.label for res in results if not res.complete]
    if incomplete:
        lines.append(f"- **Incomplete** (finished runs only): {', '.join(incomplete)}.")
    lines.append("")

    lines += ["## Results (mean ± std over runs)", ""]
    header = ["searcher", "runs", *metrics, "evaluations/run", "distinct %", "proxy scores/run", "wall s", "runs/s"]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [row["name"], str(row["runs"])]
        cells += [_fmt((row[f"{m}_mean"], row[f"{m}_std"])) for m in metrics]
        cells += [_fmt((row["evaluations_mean"], row["evaluations_std"]), 1),
                  "n/a" if math.isnan(row["distinct_archs_mean"]) else f"{100 * row['distinct_archs_mean']:.0f}",
                  f"{row['proxy_scores_mean']:.0f}",
                  f"{row['wall_seconds']:.1f}" if row["wall_seconds"] != "" else "n/a",
                  f"{row['runs_per_second']:.1f}" if row["runs_per_second"] != "" else "n/a"]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "std: sample standard deviation (ddof = 1). Distinct %: share of a run's evaluations that trained "
              "an architecture new to that run. Wall time is the computation this experiment spent on that searcher "
              "(summed over resumed sessions); runs/s = runs computed / wall time.", ""]

    spaces = sorted({res.space for res in results if res.space})
    if all(space == "nb201" for space in spaces):  # the paper's tables are NB201's
        lines += paper_section(stats_from_results(results, metrics))
    else:
        lines += [f"The paper's tables (GradSign Table 6, NB201 Table 5) are NB201 results; this experiment searched "
                  f"{', '.join(f'`{s}`' for s in spaces)}, so no paper figures stand beside it.", ""]
    lines += pairs_section(pairs, comparisons, primary, names, metrics, resamples)
    lines += ["## Figures", "", "![anytime](anytime.png)", "",
              f"Anytime curves: mean `{primary}` of the incumbent against simulated time, with a 95% normal band "
              "for the mean; a curve starts once half of the runs have an incumbent.", "",
              "![final](final_accuracy.png)", "",
              "Files: `summary.csv` (this table, unrounded), `comparisons.csv` (every pair, every metric, both "
              "tests, role).", ""]
    report = out / "report.md"
    report.write_text("\n".join(lines))
    return report


def _family(res: SearcherResults) -> str:
    return {"hb": "bohb"}.get(res.searcher, res.searcher) or res.label


_STAR = " \\*"  # within two standard errors


#: label -> metric -> (mean, sample std, runs)
Stats = dict[str, dict[str, tuple[float, float, int]]]


def stats_from_results(results: Sequence[SearcherResults], metrics: Sequence[str]) -> Stats:
    out: Stats = {}
    for res in results:
        out[res.label] = {}
        for metric in metrics:
            values = metric_array(res.records, metric)
            if len(values) > 1:
                out[res.label][metric] = (*mean_std(values), len(values))
    return out


def stats_from_summary(path: Path) -> Stats:
    """The same statistics from a report's own ``summary.csv`` (for result folders whose runs are not kept)."""
    out: Stats = {}
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            runs = int(row["runs"])
            out[row["label"]] = {key[: -len("_mean")]: (float(row[key]), float(row[key[:-5] + "_std"]), runs)
                                 for key in row if key.endswith("_mean") and row[key] not in ("", "nan")
                                 and key[: -len("_mean")] in METRIC_ORDER}
    return out


def _ref_row(name: str, ref, stat) -> str:
    if stat is None:
        return f"| {name} | {ref[0]:.2f} ± {ref[1]:.2f} | not run | |"
    diff, ok = within_two_se(stat, ref[0], ref[1], RUNS_PAPER)
    return f"| {name} | {ref[0]:.2f} ± {ref[1]:.2f} | {stat[0]:.2f} ± {stat[1]:.2f} | {diff:+.2f}{_STAR if ok else ''} |"


RUNS_PAPER = 500


def paper_section(stats: Stats) -> list[str]:
    """The paper's Table 6 validation columns (all three datasets) beside ours, with the difference
    and whether it lies within two standard errors; its test column where the backend has test
    accuracies; NB201's own Table 5 as a second reference. Numbers come from ``data/papers``."""
    paper, second = load_paper(PAPER_MAIN), load_paper(PAPER_SECOND)
    runs = int(paper.get("runs", RUNS_PAPER))
    rows = paper["rows"]
    valid_metrics = ["cifar10_valid", "cifar100_valid", "imagenet16_valid"]
    lines = [f"## Side by side with the paper ({paper['paper']})", "",
             "Validation accuracy (%) of the final architecture, mean ± std over runs (sample std, ddof = 1). "
             "Δ = ours − paper; \\* marks |Δ| within two standard errors of the difference "
             f"(ours over our runs, the paper's over its {runs} runs). Numbers: `nasearch/data/papers/{PAPER_MAIN}.yaml`.", "",
             "| searcher |" + "".join(f" paper `{m}` | ours | Δ |" for m in valid_metrics),
             "|---|" + "---|---|---|" * len(valid_metrics)]
    for label, row in rows.items():
        ours = stats.get(label)
        cells = []
        for metric in valid_metrics:
            ref = (row.get("valid") or {}).get(metric)
            stat = ours.get(metric) if ours else None
            if ref is None:
                cells += ["", "", ""]
            elif stat is None:
                cells += [f"{ref[0]:.2f} ± {ref[1]:.2f}", "not run" if ours is None else "", ""]
            else:
                diff, ok = within_two_se(stat, ref[0], ref[1], runs)
                cells += [f"{ref[0]:.2f} ± {ref[1]:.2f}", f"{stat[0]:.2f} ± {stat[1]:.2f}", f"{diff:+.2f}{_STAR if ok else ''}"]
        lines.append(f"| {display_name(label)} | " + " | ".join(cells) + " |")
    lines.append("")
    test_rows = {label: row["test"][PAPER_METRIC] for label, row in rows.items() if PAPER_METRIC in (row.get("test") or {})}
    if any(PAPER_METRIC in v for v in stats.values()):
        lines += [f"CIFAR-10 test accuracy (`{PAPER_METRIC}`), the paper's headline column:", "",
                  "| searcher | paper | ours | Δ |", "|---|---|---|---|"]
        lines += [_ref_row(display_name(k), ref, (stats.get(k) or {}).get(PAPER_METRIC)) for k, ref in test_rows.items()]
        lines.append("")
    else:
        lines += ["This backend has no test accuracies, so the paper's CIFAR-10 test column (" +
                  ", ".join(f"{display_name(k)} {v[0]:.2f}" for k, v in test_rows.items()) +
                  ") has nothing to stand beside; with the official files (`backend: nb201` or `nats`) it is "
                  f"compared as `{PAPER_METRIC}`.", ""]
    lines += ["**The one protocol difference.** The embedded default's `cifar10_valid` is the seed-mean 200-epoch "
              "validation accuracy on NB201's cifar10-valid split, the same quantity as the paper's first column. "
              "What differs is the search fitness: our searchers see one seed's 200-epoch validation accuracy, the "
              f"paper's saw {paper.get('search_fitness', '12-epoch validation accuracy')} (each query is charged "
              "12/200 of the 200-epoch training time in both). A higher-fidelity fitness makes the search's job "
              "easier, so levels somewhat above the paper's are expected.", ""]
    lines += [f"Second reference, {second['paper']} (CIFAR-10 validation):", "",
              "| searcher | reference | ours | Δ |", "|---|---|---|---|"]
    lines += [_ref_row(display_name(k), row["valid"]["cifar10_valid"], (stats.get(k) or {}).get("cifar10_valid"))
              for k, row in second["rows"].items()]
    lines.append("")
    return lines


def refresh_paper_section(directory: str | Path) -> Path:
    """Rewrite the paper section of ``directory/report.md`` from its ``summary.csv``: for result
    folders (as docs/results/table6) whose per-run files are not kept."""
    root = Path(directory)
    report, summary = root / "report.md", root / "summary.csv"
    if not report.is_file() or not summary.is_file():
        raise UsageError(f"{root} has no runs and no report.md + summary.csv to refresh; run an experiment into it")
    text = report.read_text().split("\n")
    start = next((i for i, line in enumerate(text) if line.startswith("## Side by side with the paper")), None)
    if start is None:
        raise UsageError(f"{report} has no paper section to refresh")
    end = next((i for i in range(start + 1, len(text)) if text[i].startswith("## ")), len(text))
    text[start:end] = paper_section(stats_from_summary(summary))
    report.write_text("\n".join(text))
    return report


def pairs_section(pairs: Sequence[Pair], comparisons: dict[tuple[Pair, str], Comparison], primary: str,
                  names: dict, metrics: Sequence[str], resamples: int = BOOTSTRAP_RESAMPLES) -> list[str]:
    """Every pair on the headline metric (a table with both tests), then one verdict per pair,
    grouped and phrased by role; the other metrics in a last table."""
    if not pairs:
        return ["## Baseline vs treatment", "", "No baseline/treatment pairs declared or inferred.", ""]
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
