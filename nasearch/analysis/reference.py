"""Published numbers beside ours. The numbers are data (``nasearch/data/papers/<paper>.yaml``), never code.

A paper file holds ``paper`` (how to cite it) and ``tables``, each by name with a ``kind``:

* ``search``: rows by searcher label, each ``{metric: [mean, std]}`` over ``runs`` runs; an experiment
  sets it beside its results by declaring ``report: {references: [paper#table]}``;
* ``correlation``: rows by proxy, each ``{dataset: value}`` (``any`` for one value the paper gives for
  every dataset), with ``statistic`` (spearman or kendall) and the ``space`` it was measured on;
  ``nasearch correlate`` shows it beside its own figures for that space.

A new paper's table is one YAML file; nothing here changes.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

from nasearch.analysis.names import display_name
from nasearch.analysis.stats import within_two_se
from nasearch.errors import UsageError

PAPERS_DIR = Path(__file__).resolve().parent.parent / "data" / "papers"
KINDS = ("search", "correlation")
#: label -> metric -> (mean, sample std, runs): our side of a search table
Stats = dict[str, dict[str, tuple[float, float, int]]]
_STAR = " \\*"  # within two standard errors


@dataclass(frozen=True)
class ReferenceTable:
    name: str  # paper#table
    paper: str  # the citation
    title: str
    kind: str
    rows: dict[str, dict[str, Any]]
    runs: int | None = None
    space: str | None = None
    statistic: str | None = None
    search_fitness: str | None = None

    @property
    def citation(self) -> str:
        return f"{self.paper}, {self.title}"


@lru_cache(maxsize=None)
def _paper(name: str) -> dict:
    import yaml

    path = PAPERS_DIR / f"{name}.yaml"
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        known = sorted(p.stem for p in PAPERS_DIR.glob("*.yaml"))
        raise UsageError(f"no paper {name!r} in {PAPERS_DIR}; known: {', '.join(known)}") from None
    if not isinstance(data, dict) or not isinstance(data.get("tables"), dict):
        raise UsageError(f"paper reference file {path} has no 'tables' mapping")
    return data


def load_table(reference: str, where: str = "reference") -> ReferenceTable:
    """``paper#table`` -> the table, checked."""
    paper_name, sep, table_name = str(reference).partition("#")
    if not sep or not paper_name or not table_name:
        raise UsageError(f"{where}: {reference!r} is not 'paper#table', e.g. gradsign_iclr2022#table6")
    paper = _paper(paper_name)
    table = paper["tables"].get(table_name)
    if not isinstance(table, dict):
        raise UsageError(f"{where}: paper {paper_name!r} has no table {table_name!r}; it has "
                         f"{', '.join(sorted(paper['tables']))}")
    if table.get("kind") not in KINDS or not isinstance(table.get("rows"), dict):
        raise UsageError(f"{PAPERS_DIR / paper_name}.yaml: table {table_name!r} needs kind ({'/'.join(KINDS)}) and rows")
    return ReferenceTable(reference, str(paper.get("paper", paper_name)), str(table.get("title", table_name)),
                          table["kind"], table["rows"], table.get("runs"), table.get("space"), table.get("statistic"),
                          table.get("search_fitness"))


def correlation_tables(space_name: str) -> list[ReferenceTable]:
    """Every published correlation table measured on ``space_name``."""
    found = []
    for path in sorted(PAPERS_DIR.glob("*.yaml")):
        for table_name, table in _paper(path.stem)["tables"].items():
            if isinstance(table, dict) and table.get("kind") == "correlation" and table.get("space") == space_name:
                found.append(load_table(f"{path.stem}#{table_name}"))
    return found


def published_correlation(tables: Sequence[ReferenceTable], statistic: str, proxy: str, metric: str) -> str:
    """The published ``statistic`` for ``proxy`` on ``metric``'s dataset (``cifar100_valid`` -> cifar100),
    as text ("0.793", "≈0.59" for a one-value-for-all figure), or "" where none is published."""
    dataset = metric.split("_")[0]
    for table in tables:
        if table.statistic != statistic:
            continue
        row = table.rows.get(proxy) or {}
        if dataset in row:
            return f"{float(row[dataset]):.3f}"
        if "any" in row:
            return f"≈{float(row['any']):.2f}"
    return ""


def _cell(value: Any) -> tuple[float, float] | None:
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, (int, float)) for v in value):
        return float(value[0]), float(value[1])
    return None


def search_section(references: Sequence[str], stats: Stats, names: dict[str, str], note: str = "") -> list[str]:
    """Each declared search table beside our results: per row and metric, the paper's mean ± std,
    ours, Δ and whether |Δ| lies within two standard errors; metrics the table has and our runs do
    not report are named once, not shown as empty columns."""
    lines: list[str] = []
    for reference in references:
        table = load_table(reference, "report.references")
        if table.kind != "search":
            raise UsageError(f"report.references: {reference} is a {table.kind} table, not a search table")
        metrics = list(dict.fromkeys(m for row in table.rows.values() for m in row))
        ours_metrics = {m for s in stats.values() for m in s}
        shown = [m for m in metrics if m in ours_metrics]
        runs = int(table.runs) if table.runs else None
        lines += [f"## Side by side with {table.citation}", ""]
        intro = ("Accuracy (%) of the final architecture, mean ± std over runs (sample std, ddof = 1). "
                 "Δ = ours − paper")
        if runs:
            intro += (f"; \\* marks |Δ| within two standard errors of the difference (ours over our runs, the paper's "
                      f"over its {runs} runs)")
        lines += [intro + f". Numbers: `nasearch/data/papers/{reference.split('#')[0]}.yaml`.", ""]
        if shown:
            lines += ["| searcher |" + "".join(f" paper `{m}` | ours | Δ |" for m in shown),
                      "|---|" + "---|---|---|" * len(shown)]
            for label, row in table.rows.items():
                ours = stats.get(label)
                cells = []
                for metric in shown:
                    ref, stat = _cell(row.get(metric)), (ours or {}).get(metric)
                    if ref is None:
                        cells += ["", "", ""]
                    elif stat is None:
                        cells += [f"{ref[0]:.2f} ± {ref[1]:.2f}", "not run" if ours is None else "", ""]
                    elif runs:
                        diff, ok = within_two_se(stat, ref[0], ref[1], runs)
                        cells += [f"{ref[0]:.2f} ± {ref[1]:.2f}", f"{stat[0]:.2f} ± {stat[1]:.2f}",
                                  f"{diff:+.2f}{_STAR if ok else ''}"]
                    else:
                        cells += [f"{ref[0]:.2f} ± {ref[1]:.2f}", f"{stat[0]:.2f} ± {stat[1]:.2f}",
                                  f"{stat[0] - ref[0]:+.2f}"]
                if any(cells):  # a row the paper has no shown metric for is left out
                    lines.append(f"| {names.get(label) or display_name(label)} | " + " | ".join(cells) + " |")
            lines.append("")
        absent = [m for m in metrics if m not in ours_metrics]
        if absent:
            lines += [f"The paper also reports {', '.join(f'`{m}`' for m in absent)}, which these runs do not, "
                      "so that has nothing to stand beside here.", ""]
    if note and lines:
        lines += [note, ""]
    return lines
