"""The report's figures (matplotlib, imported only when a figure is drawn, Agg backend).

A new figure goes here; its numbers come from :mod:`nasearch.analysis.stats`, and :mod:`nasearch.analysis.report`
decides which figures a report has. Inputs are plain data (names, per-run records or values),
so a figure can be drawn without a results directory.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from nasearch.analysis.stats import anytime_curve

CURVE_POINTS = 241


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_anytime(families: Mapping[str, Sequence[tuple[str, Sequence[dict]]]], metric: str, budget: float,
                 path: Path) -> None:
    """One panel per family (title -> [(searcher name, its run records)]): the mean incumbent
    ``metric`` against simulated time, with a 95% band, from when half of the runs have one."""
    plt = _pyplot()
    grid = np.linspace(0.0, budget, CURVE_POINTS)
    columns = max(1, min(2, len(families)))
    rows = max(1, math.ceil(len(families) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(6.0 * columns, 4.0 * rows), squeeze=False)
    for ax, (family, members) in zip(axes.flat, families.items()):
        low_values, high_values = [], []
        for name, records in members:
            mean, half, count = anytime_curve(records, metric, grid)
            shown = count >= max(1, len(records) // 2)  # once most runs have an incumbent
            ax.plot(grid[shown], mean[shown], label=f"{name} (n={len(records)})")
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


def plot_final(series: Sequence[tuple[str, np.ndarray]], metric: str, path: Path) -> None:
    """A box plot of the final ``metric`` per searcher ([(name, values over runs)])."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(series) + 2), 4.0))
    ax.boxplot([np.asarray(values, float) for _, values in series], showmeans=True, widths=0.6)
    ax.set_xticks(range(1, len(series) + 1), [name for name, _ in series], rotation=30, ha="right", fontsize=8)
    ax.set_ylabel(f"final {metric} (%)")
    ax.set_title("Final best architecture per run (box: quartiles, triangle: mean)")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def non_dominated(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """The points no other point dominates (first coordinate maximised, second minimised), by the second."""
    front: list[tuple[float, float]] = []
    for fitness, size in sorted(set(points), key=lambda p: (p[1], -p[0])):
        if not front or fitness > front[-1][0]:
            front.append((fitness, size))
    return front


def plot_pareto(series: Sequence[tuple[str, Sequence[dict]]], path: Path) -> None:
    """Multi-objective runs ([(searcher name, its runs' ``pareto`` lists)]): every run's front as dots,
    and the front of all runs together as a step line; fitness (up) against the second objective."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    second = "objective 2"
    for name, points in series:
        if not points:
            continue
        second = next(k for k in points[0] if k not in ("arch", "fitness"))
        xy = [(float(p["fitness"]), float(p[second])) for p in points]
        dots = ax.scatter([x for _, x in xy], [y for y, _ in xy], s=8, alpha=0.25)
        front = non_dominated(xy)
        ax.step([x for _, x in front], [y for y, _ in front], where="post", color=dots.get_facecolor()[0][:3],
                label=f"{name} ({len(xy)} front points)")
    ax.set_xlabel(f"{second} (lower is better)")
    ax.set_ylabel("search fitness (higher is better)")
    ax.set_title("Pareto fronts: each run's (dots) and all runs' together (line)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
