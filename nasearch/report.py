"""The report of an experiment: what a reader needs to believe (or doubt) an assisted searcher.

``write_report(RESULTS_DIR)`` reads each searcher's ``runs.jsonl`` and writes, next to them:
``report.md`` (Table-6 style table, the paper's Table 6 side by side, every declared
baseline/treatment pair stated plainly, whether GradSign beats a trivial proxy),
``summary.csv``, ``comparisons.csv``, ``anytime.png`` and ``final_accuracy.png``.

Statistics are two-sample and unpaired, as the paper's mean ± std comparisons are: the
difference of means with a seeded 95% bootstrap CI (``scipy.stats.bootstrap``) and a
two-sided Mann-Whitney U p-value (``scipy.stats.mannwhitneyu``), which does not assume the
accuracies are normal (they are not: they pile up below the space's best architecture).
"""
from __future__ import annotations

import csv
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
from scipy import stats

from nasearch.errors import UsageError

from nasearch.results import EXPERIMENT, PROGRESS, RESULTS, TIMING, read_json, read_jsonl
ALPHA = 0.05
BOOTSTRAP_RESAMPLES = 10_000
CURVE_POINTS = 241

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
            runs_computed=entry.get("runs_computed"),
        ))
    if not results:
        raise UsageError(f"{root} holds no runs (no <label>/runs.jsonl); run an experiment into it first")
    return results, meta, timing


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


# -- statistics -----------------------------------------------------------------------------
def metric_values(records: Sequence[dict], metric: str) -> np.ndarray:
    return np.array([r["final"][metric] for r in records if metric in r.get("final", {})], dtype=float)


def metrics_present(results: Sequence[SearcherResults]) -> list[str]:
    found = {key for res in results for r in res.records for key in r.get("final", {})}
    return [m for m in METRIC_ORDER if m in found] + sorted(found - set(METRIC_ORDER))


def primary_metric(metrics: Sequence[str]) -> str:
    for candidate in ("cifar10_test", "cifar10_valid"):
        if candidate in metrics:
            return candidate
    return metrics[0]


@dataclass(frozen=True)
class Comparison:
    baseline: str
    treatment: str
    metric: str
    n_baseline: int
    n_treatment: int
    mean_baseline: float
    mean_treatment: float
    difference: float  # treatment - baseline
    ci_low: float
    ci_high: float
    p_value: float


def _difference_of_means(baseline: np.ndarray, treatment: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(treatment, axis=axis) - np.mean(baseline, axis=axis)


def compare(baseline: np.ndarray, treatment: np.ndarray, seed: int = 0, resamples: int = BOOTSTRAP_RESAMPLES,
            labels: tuple[str, str] = ("baseline", "treatment"), metric: str = "") -> Comparison:
    """Difference of means (treatment - baseline), its 95% bootstrap CI, and the Mann-Whitney U p-value."""
    baseline, treatment = np.asarray(baseline, float), np.asarray(treatment, float)
    if len(baseline) < 2 or len(treatment) < 2:
        raise UsageError(f"comparing {labels[0]} and {labels[1]} needs >= 2 runs each; run more runs")
    difference = float(treatment.mean() - baseline.mean())
    if np.ptp(baseline) == 0 and np.ptp(treatment) == 0:
        low = high = difference  # no spread: every resample gives the same difference
        p_value = 1.0 if difference == 0 else float(stats.mannwhitneyu(treatment, baseline).pvalue)
    else:
        ci = _bootstrap_ci(baseline, treatment, seed, resamples)
        low, high = float(ci.low), float(ci.high)
        p_value = float(stats.mannwhitneyu(treatment, baseline, alternative="two-sided").pvalue)
    return Comparison(labels[0], labels[1], metric, len(baseline), len(treatment), float(baseline.mean()),
                      float(treatment.mean()), difference, low, high, p_value)


def _bootstrap_ci(baseline: np.ndarray, treatment: np.ndarray, seed: int, resamples: int):
    """BCa interval (seeded); the percentile interval where BCa is undefined (tiny or tied samples)."""
    import warnings

    for method in ("BCa", "percentile"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = stats.bootstrap((baseline, treatment), _difference_of_means, n_resamples=resamples,
                                     confidence_level=0.95, method=method, vectorized=True,
                                     rng=np.random.default_rng(seed))
        interval = result.confidence_interval
        if np.isfinite(interval.low) and np.isfinite(interval.high):
            return interval
    return interval


def format_p(p: float) -> str:
    if p == 0:
        return "< 1e-300"
    if p < 1e-3:
        mantissa, exponent = f"{p:.0e}".split("e")
        return f"{mantissa}e{int(exponent)}"
    return f"{p:.3f}" if p < 0.1 else f"{p:.2f}"


def plain_statement(c: Comparison, baseline_name: str, treatment_name: str, alpha: float = ALPHA) -> str:
    """One sentence a reader can repeat: who wins, by how much, and how sure we are."""
    ci = f"95% CI {c.ci_low:+.2f} to {c.ci_high:+.2f}"
    p = format_p(c.p_value)
    if c.p_value >= alpha:
        return (f"{treatment_name} and {baseline_name} do not differ detectably: {c.difference:+.2f} pt "
                f"({ci}), p = {p}.")
    verb = "beats" if c.difference > 0 else "is worse than"
    return f"{treatment_name} {verb} {baseline_name} by {abs(c.difference):.2f} pt ({ci}), p = {p}."


# -- anytime curves -------------------------------------------------------------------------
def anytime_curve(records: Sequence[dict], metric: str, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean (and 95% normal band) over runs of the incumbent's final ``metric`` at each grid time.

    The incumbent is the best-fitness architecture found so far; it is known from the time
    its evaluation finished (``trajectory.t[step]``). Runs with no incumbent yet at a time
    are left out of that time's mean; ``count`` says how many runs each point averages.
    """
    values = np.full((len(records), len(grid)), np.nan)
    for row, record in enumerate(records):
        times = record["trajectory"]["t"]
        found = [(times[step], final[metric]) for step, _arch, final in record["incumbents"] if metric in final]
        if not found:
            continue
        at = np.array([t for t, _ in found])
        accuracy = np.array([a for _, a in found])
        position = np.searchsorted(at, grid, side="right") - 1
        known = position >= 0
        values[row, known] = accuracy[position[known]]
    count = np.sum(~np.isnan(values), axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, np.nansum(values, axis=0) / np.maximum(count, 1), np.nan)
        squared = np.nansum((values - mean) ** 2, axis=0)
        sd = np.sqrt(np.where(count > 1, squared / np.maximum(count - 1, 1), np.nan))
        half = 1.96 * sd / np.sqrt(np.maximum(count, 1))
    return mean, half, count


def _family(res: SearcherResults) -> str:
    return {"hb": "bohb"}.get(res.searcher, res.searcher) or res.label


def plot_anytime(results: Sequence[SearcherResults], metric: str, budget: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    families: dict[str, list[SearcherResults]] = {}
    for res in results:
        families.setdefault(_family(res), []).append(res)
    grid = np.linspace(0.0, budget, CURVE_POINTS)
    columns = min(2, len(families))
    rows = math.ceil(len(families) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(6.0 * columns, 4.0 * rows), squeeze=False)
    for ax, (family, members) in zip(axes.flat, families.items()):
        low_values, high_values = [], []
        for res in members:
            mean, half, count = anytime_curve(res.records, metric, grid)
            shown = count >= max(1, len(res.records) // 2)  # once most runs have an incumbent
            ax.plot(grid[shown], mean[shown], label=f"{res.display} (n={len(res.records)})")
            ax.fill_between(grid[shown], (mean - half)[shown], (mean + half)[shown], alpha=0.2)
            if shown.any():
                low_values.append(np.nanpercentile(mean[shown], 5))
                high_values.append(np.nanmax((mean + np.nan_to_num(half))[shown]))
        if low_values:  # the early climb would squash the differences that matter
            ax.set_ylim(min(low_values), max(high_values) + 0.05 * (max(high_values) - min(low_values)))
        ax.set_title(family.upper())
        ax.set_xlabel("simulated time (s)")
        ax.set_ylabel(f"incumbent {metric} (%)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    for ax in list(axes.flat)[len(families):]:
        ax.axis("off")
    fig.suptitle("Anytime performance: mean over runs, 95% band")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def plot_final(results: Sequence[SearcherResults], metric: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(results) + 2), 4.0))
    data = [metric_values(res.records, metric) for res in results]
    ax.boxplot(data, showmeans=True, widths=0.6)
    ax.set_xticks(range(1, len(results) + 1), [res.display for res in results], rotation=30, ha="right", fontsize=8)
    ax.set_ylabel(f"final {metric} (%)")
    ax.set_title("Final best architecture per run (box: quartiles, triangle: mean)")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


# -- writing ------------------------------------------------------------------------------
def _mean_std(values: np.ndarray) -> tuple[float, float]:
    """Mean and sample std (ddof=1), as a ``mean ± std over runs`` table means."""
    if len(values) == 0:
        return math.nan, math.nan
    return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0


def distinct_fractions(records: Sequence[dict]) -> np.ndarray:
    """Per run, the share of evaluations that trained an architecture not trained before in that run.

    A searcher that keeps re-proposing the same architectures wastes budget; this is how a
    proxy that narrows the search (even a random one) shows up.
    """
    shares = []
    for record in records:
        archs = record.get("trajectory", {}).get("arch") or []
        if archs:
            shares.append(len(set(archs)) / len(archs))
    return np.array(shares, dtype=float)


def _fmt(pair: tuple[float, float], digits: int = 2) -> str:
    mean, std = pair
    return "n/a" if math.isnan(mean) else f"{mean:.{digits}f} ± {std:.{digits}f}"


def summary_rows(results: Sequence[SearcherResults], metrics: Sequence[str]) -> list[dict]:
    rows = []
    for res in results:
        row: dict = {"label": res.label, "name": res.display, "searcher": res.searcher, "proxy": res.proxy or "",
                     "runs": len(res.records), "complete": res.complete}
        for metric in metrics:
            row[f"{metric}_mean"], row[f"{metric}_std"] = _mean_std(metric_values(res.records, metric))
        row["distinct_archs_mean"], row["distinct_archs_std"] = _mean_std(distinct_fractions(res.records))
        for field_name in ("evaluations", "proxy_scores", "proxy_seconds"):
            row[f"{field_name}_mean"], row[f"{field_name}_std"] = _mean_std(
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
    pairs = [tuple(p) for p in meta.get("pairs", [])] or infer_pairs_from_labels(by_label)
    pairs = [(b, t) for b, t in pairs if b in by_label and t in by_label]
    budget = float(meta.get("budget_seconds") or max(r["simulated_seconds"] for res in results for r in res.records))

    rows = summary_rows(results, metrics)
    _write_csv(out / "summary.csv", rows)
    comparisons: list[Comparison] = []
    for index, (base, treat) in enumerate(pairs):
        for metric in metrics:
            comparisons.append(compare(metric_values(by_label[base].records, metric),
                                       metric_values(by_label[treat].records, metric),
                                       seed=seed + index, resamples=resamples, labels=(base, treat), metric=metric))
    _write_csv(out / "comparisons.csv", [c.__dict__ for c in comparisons])
    plot_anytime(results, primary, budget, out / "anytime.png")
    plot_final(results, primary, out / "final_accuracy.png")

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
    lines += ["", "Distinct %: share of a run's evaluations that trained an architecture new to that run. "
              "Wall time is the computation this experiment spent on that searcher (summed over resumed "
              "sessions); runs/s = runs computed / wall time.", ""]

    lines += paper_section(stats_from_results(results, metrics))
    lines += _pairs_section(pairs, comparisons, primary, names, metrics, resamples)
    lines += _proxy_section(pairs, comparisons, primary, by_label, names)
    lines += ["## Figures", "", "![anytime](anytime.png)", "",
              f"Anytime curves: mean `{primary}` of the incumbent against simulated time, with a 95% normal band "
              "for the mean; a curve starts once half of the runs have an incumbent.", "",
              "![final](final_accuracy.png)", "",
              "Files: `summary.csv` (this table, unrounded), `comparisons.csv` (every pair, every metric).", ""]
    report = out / "report.md"
    report.write_text("\n".join(lines))
    return report


_STAR = " \\*"  # within two standard errors


def _within_two_se(stat: tuple[float, float, int], mean: float, std: float, runs: int) -> tuple[float, bool]:
    """Our mean minus the paper's and whether |diff| <= 2 SE of the difference, with
    ``SE = sqrt(s_ours^2/n_ours + s_paper^2/n_paper)`` (sample std, ddof=1, on our side)."""
    m, s, n = stat
    se = math.sqrt(s * s / n + std * std / runs)
    return m - mean, abs(m - mean) <= 2 * se


#: label -> metric -> (mean, sample std, runs)
Stats = dict[str, dict[str, tuple[float, float, int]]]


def stats_from_results(results: Sequence[SearcherResults], metrics: Sequence[str]) -> Stats:
    out: Stats = {}
    for res in results:
        out[res.label] = {}
        for metric in metrics:
            values = metric_values(res.records, metric)
            if len(values) > 1:
                out[res.label][metric] = (*_mean_std(values), len(values))
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
    diff, ok = _within_two_se(stat, ref[0], ref[1], RUNS_PAPER)
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
                diff, ok = _within_two_se(stat, ref[0], ref[1], runs)
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


def _pairs_section(pairs, comparisons: list[Comparison], primary: str, names: dict, metrics,
                   resamples: int = BOOTSTRAP_RESAMPLES) -> list[str]:
    if not pairs:
        return ["## Pairs", "", "No baseline/treatment pairs declared or inferred.", ""]
    lines = ["## Baseline vs treatment", "",
             f"Difference of means (treatment − baseline) of `{primary}` with a 95% bootstrap CI (BCa, "
             f"{resamples} resamples, seeded) and a two-sided Mann–Whitney U p-value; "
             f"\"do not differ detectably\" means p ≥ {ALPHA}.", ""]
    for c in comparisons:
        if c.metric == primary:
            lines.append(f"- {plain_statement(c, names[c.baseline], names[c.treatment])}")
    if len(pairs) > 1:
        lines += ["", f"{len(pairs)} pairs are tested on `{primary}`: with a Bonferroni correction a difference is "
                  f"significant at p < {ALPHA / len(pairs):.2g}; the sentences above use the unadjusted p."]
    others = [m for m in metrics if m != primary]
    if others:
        lines += ["", "Other metrics (difference of means in pt, p-value):", "",
                  "| baseline → treatment | " + " | ".join(others) + " |", "|---|" + "---|" * len(others)]
        for base, treat in pairs:
            cells = []
            for metric in others:
                c = next(c for c in comparisons if (c.baseline, c.treatment, c.metric) == (base, treat, metric))
                cells.append(f"{c.difference:+.2f} (p = {format_p(c.p_value)})")
            lines.append(f"| {names[base]} → {names[treat]} | " + " | ".join(cells) + " |")
    lines.append("")
    return lines


def _proxy_section(pairs, comparisons: list[Comparison], primary: str, by_label: dict, names: dict) -> list[str]:
    lines = ["## Is the proxy doing the work?", ""]
    proxy = {label: res.proxy for label, res in by_label.items()}
    found = False
    for c in comparisons:
        if c.metric != primary:
            continue
        base_proxy, treat_proxy = proxy.get(c.baseline), proxy.get(c.treatment)
        if base_proxy == "params" and treat_proxy == "gradsign":
            verdict = ("GradSign beats the trivial model-size proxy" if c.p_value < ALPHA and c.difference > 0 else
                       "the trivial model-size proxy beats GradSign" if c.p_value < ALPHA else
                       "GradSign does not beat the trivial model-size proxy detectably")
            lines.append(f"- {names[c.treatment]} vs {names[c.baseline]}: {verdict}: {c.difference:+.2f} pt "
                         f"(95% CI {c.ci_low:+.2f} to {c.ci_high:+.2f}), p = {format_p(c.p_value)}.")
            found = True
        elif base_proxy is None and treat_proxy == "random":
            # a fixed random ranking is not a no-information control: inside one run it keeps picking the
            # same highest-hashed neighbours and cuts diversity (REA: -0.29 pt); `uniform` is the exact control
            verdict = ("does not differ detectably from the vanilla searcher" if c.p_value >= ALPHA
                       else "differs from the vanilla searcher (a fixed random ranking is not the exact control; "
                            "`uniform` is)")
            distinct = [_mean_std(distinct_fractions(by_label[label].records))[0] for label in (c.treatment, c.baseline)]
            shares = (f"; distinct architectures per run {100 * distinct[0]:.0f}% vs {100 * distinct[1]:.0f}%"
                      if not any(math.isnan(d) for d in distinct) else "")
            lines.append(f"- Random-score control {names[c.treatment]} {verdict}: {c.difference:+.2f} pt "
                         f"(95% CI {c.ci_low:+.2f} to {c.ci_high:+.2f}), p = {format_p(c.p_value)}{shares}.")
            found = True
        elif base_proxy is None and treat_proxy == "params":
            lines.append(f"- Model size alone ({names[c.treatment]} vs {names[c.baseline]}): "
                         f"{c.difference:+.2f} pt (95% CI {c.ci_low:+.2f} to {c.ci_high:+.2f}), "
                         f"p = {format_p(c.p_value)}.")
            found = True
    if not any(proxy.get(label) == "gradsign" for label in by_label):
        lines.append("- No GradSign-assisted searcher was run in this experiment, so GradSign could not be "
                     "compared with the trivial proxy here.")
        found = True
    if not found:
        lines.append("- No control pairs (params or random proxy) in this experiment.")
    lines.append("")
    return lines
