"""How well does a proxy rank architectures? Rank correlations and the best-of-N selection test.

A proxy is only worth its compute if its ranking agrees with what training would have
found. This module scores a seeded sample of architectures with each proxy (through
:class:`ProxyScorer` and the persistent cache, so an interrupted study resumes and a rerun
is free), correlates the scores with the benchmark's final accuracies (Spearman rho and
Kendall tau from ``scipy.stats``), and repeats the GradSign paper's Table-5 experiment:
pick the best of ``pool_size`` random architectures by the proxy, many times, and compare
the chosen architecture's accuracy with a random pick and with the best of the pool.
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
from scipy import stats

from nasearch.errors import UsageError

def sample_arch_ids(space: Any, n: int, seed: int, max_draws: int | None = None) -> list[str]:
    """``n`` distinct architectures, drawn by ``space.sample`` from ``default_rng(seed)``.

    Rejection of repeats keeps a prefix property: the first 300 of a 1000-sample are the
    300-sample, so extending a study reuses every score already cached.
    """
    if n < 1:
        raise UsageError(f"--n must be >= 1, got {n}")
    from nasearch.predictor_study import space_size

    total = space_size(space) if n > 1000 else None  # a small n is drawn (or refused) in moments anyway
    if total is not None and n > total:
        raise UsageError(f"--n {n} is more than the {total} architectures of {getattr(space, 'name', 'the space')}; "
                         f"give --n <= {total}")
    rng = np.random.default_rng(seed)
    seen: dict[str, None] = {}
    draws, limit = 0, max_draws or max(100 * n, 1_000_000)
    while len(seen) < n:
        if draws >= limit:
            raise UsageError(f"could only draw {len(seen)} distinct architectures of {n}; lower --n")
        seen.setdefault(space.arch_id(space.sample(rng)), None)
        draws += 1
    return list(seen)


# -- scoring -------------------------------------------------------------------------------
@dataclass(frozen=True)
class ScoreJob:
    """What the study's scorer is built from (the workers get the same as a :class:`PrecomputeJob`)."""

    proxy: str
    dataset: str
    batch_size: int
    seed: int
    data: Any  # DataSource
    cache_dir: str | None
    options: tuple[tuple[str, Any], ...] = ()  # the proxy's options, as ScorerSpec.options
    device: str = "cpu"  # where live scores run (nasearch correlate --device)


def _make_scorer(space: Any, job: ScoreJob):
    from nasearch.proxies.scorer import ScorerSpec
    from nasearch.proxies.store import ScoreCache

    spec = ScorerSpec(job.proxy, job.dataset, job.batch_size, (job.seed,), job.options, device=job.device)
    return spec.build(space, job.data, ScoreCache(job.cache_dir))


def score_archs(space: Any, arch_ids: Sequence[str], job: ScoreJob, workers: int = 1, progress: bool = True,
                space_spec: dict | None = None, backend: str = "local", ray_address: str | None = None) -> np.ndarray:
    """Scores of ``arch_ids`` by ``job.proxy``, computing (in parallel) only what no store holds.

    What is missing is computed by precompute's scoring path (:func:`nasearch.precompute.compute_scores`,
    committed to the cache); every score is then read through the scorer, so a packaged table
    and the cache are looked up exactly as a search looks them up. Worker processes load the
    space from ``space_spec`` (``{name: ...}`` or ``{class: ...}``), else receive ``space``
    pickled with every task (fine for a small space; ``nasearch correlate`` passes the spec);
    a GPU scores in-process.
    """
    from tqdm import tqdm

    from nasearch.executor import make_executor
    from nasearch.precompute import PrecomputeJob, compute_scores

    scorer = _make_scorer(space, job)
    missing = [a for a in arch_ids if not scorer.stored(a)]
    bar = tqdm(total=len(arch_ids), initial=len(arch_ids) - len(missing), desc=job.proxy, disable=not progress,
               unit="arch", dynamic_ncols=True)
    if missing:
        workers = workers if job.device == "cpu" else 1  # several processes are for the CPU; a GPU runs in-process
        parallel = workers > 1 and len(missing) > 1
        compute = PrecomputeJob(space=space_spec if parallel and space_spec is not None else space, proxy=job.proxy,
                                dataset=job.dataset, batch_size=job.batch_size, seed=job.seed, data=job.data,
                                cache_dir=job.cache_dir, options=job.options, device=job.device)
        with make_executor(backend, workers, ray_address=ray_address) as executor:
            for _ in compute_scores(compute, missing, executor):
                bar.update(1)
    bar.close()
    return np.array([scorer.score(space.from_id(a)).score for a in arch_ids], dtype=float)


def final_accuracies(space: Any, arch_ids: Sequence[str]) -> dict[str, np.ndarray]:
    """Every final metric the space reports, as one array per metric, in sample order."""
    rows = [space.final_metrics(space.from_id(a)) for a in arch_ids]
    names = [name for name in rows[0] if all(name in row for row in rows)]
    return {name: np.array([row[name] for row in rows], dtype=float) for name in names}


# -- statistics ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Correlation:
    proxy: str
    metric: str
    spearman: float
    kendall: float
    n: int  # archs with a defined (non-NaN) score
    spearman_low: float = float("nan")  # 95% percentile-bootstrap interval of rho
    spearman_high: float = float("nan")


def bootstrap_spearman(x: np.ndarray, y: np.ndarray, resamples: int = 1000, seed: int = 0) -> tuple[float, float]:
    """95% percentile-bootstrap interval of Spearman's rho over architectures.

    A sample of a few hundred archs estimates the whole-space rho only to a few hundredths;
    the interval says how far a difference from the paper's figure is beyond that noise.
    """
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(resamples):
        pick = rng.integers(len(x), size=len(x))
        if np.all(x[pick] == x[pick][0]):
            continue
        values.append(stats.spearmanr(x[pick], y[pick]).statistic)
    if not values:
        return float("nan"), float("nan")
    low, high = np.nanpercentile(values, [2.5, 97.5])
    return float(low), float(high)


def correlate(proxy: str, scores: np.ndarray, accuracies: dict[str, np.ndarray], resamples: int = 1000) -> list[Correlation]:
    """Spearman and Kendall of ``scores`` against each accuracy; NaN scores are left out.

    ``-inf`` scores (proxies undefined on nets whose output ignores the input) are kept: they
    rank last, which is what such a net deserves.
    """
    keep = ~np.isnan(scores)
    out = []
    for metric, accuracy in accuracies.items():
        x, y = scores[keep], accuracy[keep]
        if len(x) < 3 or np.all(x == x[0]):
            out.append(Correlation(proxy, metric, float("nan"), float("nan"), int(keep.sum())))
            continue
        rho = float(stats.spearmanr(x, y).statistic)
        tau = float(stats.kendalltau(x, y).statistic)
        low, high = bootstrap_spearman(x, y, resamples) if resamples else (float("nan"), float("nan"))
        out.append(Correlation(proxy, metric, rho, tau, int(keep.sum()), low, high))
    return out


@dataclass(frozen=True)
class Selection:
    method: str  # a proxy name, "random" pick or "optimal"
    metric: str
    mean: float
    std: float
    repeats: int


def selection_experiment(
    scores: dict[str, np.ndarray],
    higher_is_better: dict[str, bool],
    accuracies: dict[str, np.ndarray],
    pool_size: int = 100,
    repeats: int = 100,
    seed: int = 0,
) -> list[Selection]:
    """The paper's Table 5: the accuracy of the best-by-proxy of ``pool_size`` random archs.

    Each repeat draws one pool (without replacement) from the scored sample, shared by every
    method: each proxy picks its best (first on ties; NaN never wins), ``random choice`` takes
    one uniformly, ``optimal`` is the pool's best accuracy for that metric.
    """
    n = len(next(iter(accuracies.values())))
    if pool_size < 1 or pool_size > n:
        raise UsageError(f"--pool must be between 1 and the {n} scored archs, got {pool_size}")
    picked: dict[tuple[str, str], list[float]] = {}
    for repeat in range(repeats):
        rng = np.random.default_rng([seed, repeat])
        pool = rng.choice(n, size=pool_size, replace=False)
        lucky = pool[int(rng.integers(pool_size))]
        for metric, accuracy in accuracies.items():
            picked.setdefault(("random choice", metric), []).append(accuracy[lucky])
            picked.setdefault(("optimal", metric), []).append(accuracy[pool].max())
        for proxy, values in scores.items():
            signed = values[pool] if higher_is_better[proxy] else -values[pool]
            choice = pool[int(np.argmax(np.where(np.isnan(signed), -np.inf, signed)))]
            for metric, accuracy in accuracies.items():
                picked.setdefault((proxy, metric), []).append(accuracy[choice])
    from nasearch.analysis.stats import mean_std

    return [Selection(method, metric, *mean_std(v), len(v)) for (method, metric), v in picked.items()]


# -- outputs -------------------------------------------------------------------------------
def _fmt(value: float) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:.3f}"


def correlation_markdown(rows: list[Correlation], metrics: Sequence[str], header: str, space_name: str = "") -> str:
    """The table of ρ (with its interval and, in parentheses, the published ρ for this space from
    ``nasearch/data/papers``, where one is published) and τ per proxy and metric."""
    from nasearch.analysis.reference import correlation_tables, published_correlation

    references = correlation_tables(space_name) if space_name else []
    tag = " (paper)" if references else ""
    lines = [header, "", "| proxy | n | " + " | ".join(f"{m} ρ{tag} | {m} τ" for m in metrics) + " |",
             "|---|---:|" + "---:|---:|" * len(metrics)]
    by_proxy: dict[str, dict[str, Correlation]] = {}
    for row in rows:
        by_proxy.setdefault(row.proxy, {})[row.metric] = row
    for proxy, cells in by_proxy.items():
        n = next(iter(cells.values())).n
        parts = []
        for i, metric in enumerate(metrics):
            paper = published_correlation(references, "spearman", proxy, metric)
            cell = cells[metric]
            interval = f" [{_fmt(cell.spearman_low)}, {_fmt(cell.spearman_high)}]" if not math.isnan(cell.spearman_low) else ""
            parts.append(f"{_fmt(cell.spearman)}{interval}" + (f" ({paper})" if paper else "") + f" | {_fmt(cell.kendall)}")
        lines.append(f"| {proxy} | {n} | " + " | ".join(parts) + " |")
    return "\n".join(lines) + "\n"


def selection_markdown(rows: list[Selection], metrics: Sequence[str], header: str) -> str:
    lines = [header, "", "| method | " + " | ".join(metrics) + " |", "|---|" + "---:|" * len(metrics)]
    by_method: dict[str, dict[str, Selection]] = {}
    for row in rows:
        by_method.setdefault(row.method, {})[row.metric] = row
    for method, cells in by_method.items():
        lines.append(f"| {method} | " + " | ".join(f"{cells[m].mean:.2f} ± {cells[m].std:.2f}" for m in metrics) + " |")
    return "\n".join(lines) + "\n"


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    temporary = path.with_suffix(".tmp")
    with temporary.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    temporary.replace(path)


def scatter_plot(path: Path, proxy: str, scores: np.ndarray, accuracies: dict[str, np.ndarray],
                 correlations: list[Correlation]) -> None:
    """One panel per metric; a symmetric-log x-axis when |scores| span > 3 decades (synflow)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    finite = np.isfinite(scores)
    magnitudes = np.abs(scores[finite & (scores != 0)])
    log_x = magnitudes.size > 1 and magnitudes.max() / magnitudes.min() > 1e3
    rho = {c.metric: c for c in correlations}
    figure, axes = plt.subplots(1, len(accuracies), figsize=(4.2 * len(accuracies), 3.6), squeeze=False)
    for axis, (metric, accuracy) in zip(axes[0], accuracies.items()):
        axis.scatter(scores[finite], accuracy[finite], s=5, alpha=0.5)
        if log_x:
            axis.set_xscale("symlog", linthresh=float(magnitudes.min()))
            axis.tick_params(axis="x", labelsize=7, labelrotation=45)
        axis.set_xlabel(f"{proxy} score")
        axis.set_ylabel(f"{metric} accuracy (%)")
        axis.set_title(f"ρ={_fmt(rho[metric].spearman)}  τ={_fmt(rho[metric].kendall)}  n={rho[metric].n}", fontsize=9)
    hidden = int((~finite).sum())
    figure.suptitle(f"{proxy}" + (f" ({hidden} non-finite scores not drawn)" if hidden else ""), fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


# -- the whole study -----------------------------------------------------------------------
@dataclass(frozen=True)
class StudyResult:
    arch_ids: list[str]
    scores: dict[str, np.ndarray]
    accuracies: dict[str, np.ndarray]
    correlations: list[Correlation]
    selections: list[Selection]
    keys: list[str] | None = None  # the results table's keys of the cells (``--accuracies``)
    agreement: list[Correlation] | None = None  # per proxy: rho/tau of our scores with the table's own


def table_rows(table: Any, n: int, seed: int, order: str = "first") -> list:
    """The cells of a results table the study scores: the first ``n`` in file order (``order='first'``),
    or ``n`` drawn without replacement by ``default_rng(seed)``, kept in file order (``'random'``)."""
    if n < 1:
        raise UsageError(f"--n must be >= 1, got {n}")
    rows = table.rows
    if order == "first" or n >= len(rows):
        return rows[:n]
    if order != "random":
        raise UsageError(f"--table-sample must be 'first' or 'random', got {order!r}")
    picked = np.sort(np.random.default_rng(seed).choice(len(rows), size=n, replace=False))
    return [rows[i] for i in picked]


def agreement_markdown(rows: list[Correlation], header: str) -> str:
    lines = [header, "", "| proxy | n | ρ (ours vs file) | τ |", "|---|---:|---:|---:|"]
    lines += [f"| {r.proxy} | {r.n} | {_fmt(r.spearman)} | {_fmt(r.kendall)} |" for r in rows]
    return "\n".join(lines) + "\n"


def _provenance(data: Any) -> str:
    """What the images were: never name an npz that does not exist (every score then came from
    the packaged tables or the cache, computed on whatever images those record)."""
    from pathlib import Path as _Path

    if getattr(data, "npz", None) and not _Path(data.npz).is_file():
        return (f"{_Path(data.npz).name} does not exist: no image was read here; scores from the packaged "
                "tables or the score cache, see their provenance")
    return data.describe()


def run_study(
    space: Any,
    proxies: Sequence[str],
    out: Path,
    n: int,
    dataset: str = "cifar10",
    batch_size: int = 64,
    seed: int = 0,
    data: Any = None,
    cache_dir: str | None = None,
    workers: int = 1,
    pool_size: int = 100,
    repeats: int = 100,
    progress: bool = True,
    bootstrap: int = 1000,
    options: dict[str, dict] | None = None,
    device: str = "cpu",
    space_spec: dict | None = None,
    backend: str = "local",
    ray_address: str | None = None,
    table: Any = None,
    table_sample: str = "first",
) -> StudyResult:
    """Score, correlate, select, and write ``scores.csv``, ``correlation.{csv,md}``,
    ``selection.{csv,md}`` and ``scatter_<proxy>.png`` under ``out``. ``options`` maps a proxy to its options;
    ``space_spec`` is what ``space`` was loaded from (worker processes load it, see :func:`score_archs`).

    With ``table`` (an :class:`nasearch.accuracy_table.Table`, ``correlate --accuracies``) the cells
    are the table's (:func:`table_rows`), their accuracies the table's; ``scores.csv`` is keyed by
    the table's keys, and where the table carries its own score of a proxy, ``agreement.{csv,md}``
    give the rank agreement of ours with it. Rows that are one architecture (one ``arch_id``) are
    scored once."""
    from nasearch.proxies.data import DataSource
    from nasearch.proxies.registry import get_proxy

    specs = {name: get_proxy(name) for name in proxies}
    data = data or DataSource()
    if any(spec.needs_data for spec in specs.values()) and not data.available:
        missing = [name for name, spec in specs.items() if spec.needs_data]
        raise UsageError(f"proxies {missing} need images: pass --data PATH.npz (or set $NASEARCH_CIFAR10_NPZ)")
    cells = table_rows(table, n, seed, table_sample) if table is not None else None
    if cells is not None:
        arch_ids = [space.arch_id(row.arch) for row in cells]
        accuracies = {m: np.array([row.accuracies[m] for row in cells], dtype=float) for m in table.metrics}
    else:
        arch_ids = sample_arch_ids(space, n, seed)
        accuracies = final_accuracies(space, arch_ids)
    metrics = list(accuracies)
    out.mkdir(parents=True, exist_ok=True)
    scores: dict[str, np.ndarray] = {}
    correlations: list[Correlation] = []
    for name in proxies:
        job = ScoreJob(name, dataset, batch_size, seed, data, cache_dir,
                       tuple(sorted((options or {}).get(name, {}).items())), device)
        unique = list(dict.fromkeys(arch_ids))
        by_id = dict(zip(unique, score_archs(space, unique, job, workers=workers, progress=progress,
                                             space_spec=space_spec, backend=backend, ray_address=ray_address)))
        scores[name] = np.array([by_id[a] for a in arch_ids], dtype=float)
        label = specs[name].name  # a user's 'file.py:SPEC' is shown (and its plot named) by its spec's name
        rows = correlate(label, scores[name], accuracies, resamples=bootstrap)
        correlations.extend(rows)
        scatter_plot(out / f"scatter_{label}.png", label, scores[name], accuracies, rows)
    selections = selection_experiment(scores, {k: s.higher_is_better for k, s in specs.items()}, accuracies,
                                      pool_size=min(pool_size, len(arch_ids)), repeats=repeats, seed=seed)
    drawn = (f"{len(arch_ids)} cells of {Path(table.path).name} ("
             + ("the first in file order" if table_sample == "first" or len(arch_ids) >= len(table.rows)
                else f"drawn with seed {seed}") + f", of {len(table.rows)}), accuracies from the file"
             if cells is not None else f"{len(arch_ids)} archs sampled with seed {seed}")
    setting = (f"space {space.name}@{space.version}, {drawn}; "
               f"proxies on {dataset} images ({_provenance(data)}), batch {batch_size}, init seed {seed}")
    agreement: list[Correlation] | None = None
    if cells is not None:
        referenced = [p for p in proxies if any(specs[p].name in row.reference for row in cells)]
        reference = {p: np.array([row.reference.get(specs[p].name, np.nan) for row in cells], dtype=float)
                     for p in referenced}
        write_csv(out / "scores.csv", ["key", "arch_id", *proxies, *metrics, *(f"file_{p}" for p in referenced)],
                  ([row.key, a, *(repr(float(scores[p][i])) for p in proxies), *(accuracies[m][i] for m in metrics),
                    *(repr(float(reference[p][i])) for p in referenced)] for i, (row, a) in enumerate(zip(cells, arch_ids))))
        agreement = []
        for p in referenced:
            both = ~np.isnan(reference[p])
            agreement.extend(c for c in correlate(specs[p].name, np.where(both, scores[p], np.nan),
                                                  {"file": reference[p]}, resamples=0))
        for stale in ("agreement.csv", "agreement.md"):
            (out / stale).unlink(missing_ok=True)
        if agreement:
            write_csv(out / "agreement.csv", ["proxy", "spearman", "kendall", "n"],
                      ([c.proxy, c.spearman, c.kendall, c.n] for c in agreement))
            (out / "agreement.md").write_text(agreement_markdown(
                agreement, f"Rank agreement of our proxy scores with the scores {Path(table.path).name} records ({setting})."))
    else:
        write_csv(out / "scores.csv", ["arch_id", *proxies, *metrics],
                  ([a, *(repr(float(scores[p][i])) for p in proxies), *(accuracies[m][i] for m in metrics)]
                   for i, a in enumerate(arch_ids)))
    write_csv(out / "correlation.csv", ["proxy", "metric", "spearman", "kendall", "n", "spearman_ci_low", "spearman_ci_high"],
              ([c.proxy, c.metric, c.spearman, c.kendall, c.n, c.spearman_low, c.spearman_high] for c in correlations))
    write_csv(out / "selection.csv", ["method", "metric", "mean", "std", "repeats", "pool_size"],
              ([s.method, s.metric, s.mean, s.std, s.repeats, min(pool_size, len(arch_ids))] for s in selections))
    from nasearch.analysis.reference import correlation_tables

    note = ", the published ρ in parentheses (nasearch/data/papers)" if correlation_tables(space.name) else ""
    (out / "correlation.md").write_text(correlation_markdown(
        correlations, metrics, space_name=space.name, header=f"Rank correlation with final accuracy ({setting}). Spearman ρ with its 95% bootstrap interval over "
        f"architectures{note}, Kendall τ."))
    (out / "selection.md").write_text(selection_markdown(
        selections, metrics, f"Best of {min(pool_size, len(arch_ids))} random archs by each proxy, {repeats} repeats, "
        f"accuracy (%) mean ± sample std ({setting})."))
    return StudyResult(arch_ids, scores, accuracies, correlations, selections,
                       [row.key for row in cells] if cells is not None else None, agreement)
