"""Experiments: many searcher configs, each run N times with paired seeds, into one directory.

An experiment config names searcher configs (``configs/*.yaml``) and, per entry, what to
change (a label, a different ``hook.proxy``, ...). The experiment fixes what must be equal
for a comparison to mean anything: runs, budget and base seed, so run i of every searcher
starts from the same seed stream. Each searcher's runs go to ``OUT/<label>/`` through
:func:`nasearch.execution.run_many`, which makes them resumable and worker-count invariant;
this module adds the one progress bar, the wall-time bookkeeping and the vanilla/assisted
pairs that the report compares.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tqdm import tqdm

from nasearch.config import (SearchConfig, check_label, check_plain, check_types, checked_number, checked_seed,
                             parse_search_config, read_yaml)
from nasearch.errors import UsageError
from nasearch.execution import check_resumable, read_progress, run_many
from nasearch.executor import make_executor
from nasearch.analysis.pairs import ROLES, Pair, check_role, infer_role, is_trivial
from nasearch.analysis.reading import ReportSpec, read_timing
from nasearch.results import (EXPERIMENT, PROGRESS, TIMING, OutDirLock, atomic_write_text, check_out_dir,
                              make_out_dir)

EXPERIMENT_KEYS = {
    "label", "description", "out", "runs", "budget_seconds", "seed", "workers", "searchers", "pairs", "data", "cache_dir",
    "report",
}
#: what one entry of ``searchers:`` may set; runs/seed/budget are the experiment's, for pairing
ENTRY_KEYS = {"config", "label", "hook", "searcher", "space", "data", "cache_dir", "revisit"}
EXPERIMENT_FILE = EXPERIMENT
TIMING_FILE = TIMING
TIMING_INTERVAL = 1.0  # seconds between timing.json updates while a searcher runs


@dataclass(frozen=True)
class ExperimentConfig:
    """A validated experiment: one :class:`SearchConfig` per searcher, plus the pairs to compare."""

    label: str
    out: str
    runs: int
    budget_seconds: float
    seed: int
    workers: int
    searchers: tuple[SearchConfig, ...]
    pairs: tuple[Pair, ...]  # baseline, treatment and role (nasearch.analysis.pairs)
    description: str = ""
    sources: dict[str, str] = field(default_factory=dict)  # label -> searcher config path
    report: ReportSpec = field(default_factory=ReportSpec)  # what the report compares (``report:``)

    @property
    def labels(self) -> list[str]:
        return [s.label for s in self.searchers]

    def searcher(self, label: str) -> SearchConfig:
        for config in self.searchers:
            if config.label == label:
                return config
        raise KeyError(label)


def is_experiment_config(raw: dict) -> bool:
    """An experiment config is told apart from a search config by its ``searchers:`` list."""
    return isinstance(raw, dict) and "searchers" in raw


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def _deep_merge(base: Any, override: Any) -> Any:
    """``override`` wins; mappings merge key by key; ``None`` deletes (e.g. ``hook: null``)."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = _deep_merge(base.get(key), value)
        return merged
    return override


def _resolve_path(name: str, experiment_path: Path | None) -> Path:
    """A searcher config path: as given (from the working directory), else next to the experiment file."""
    path = Path(name)
    if path.is_absolute() or path.is_file() or experiment_path is None:
        return path
    for base in (experiment_path.parent, *experiment_path.resolve().parents):
        if (base / path).is_file():
            return base / path
    from nasearch.config import resolve_config

    return resolve_config(path)  # a shipped config by name (configs/rea.yaml, rea)


def parse_experiment(raw: dict, path: str | Path | None = None, **overrides: Any) -> ExperimentConfig:
    """Validate an experiment mapping; ``overrides`` (runs, seed, out, workers, budget_seconds) win over it."""
    experiment_path = Path(path) if path is not None else None
    check_plain(raw, "experiment")
    unknown = sorted(set(raw) - EXPERIMENT_KEYS)
    if unknown:
        raise UsageError(f"experiment: unknown key {unknown[0]!r}; allowed keys: {', '.join(sorted(EXPERIMENT_KEYS))}")
    check_types(raw, "experiment")
    # an explicit label names the default out folder (results/<label>): a plain name, as a search's
    label = (check_label(raw["label"], "experiment.label") if raw.get("label") not in (None, "")
             else experiment_path.stem if experiment_path else "experiment")
    settings = {
        "runs": raw.get("runs", 500),
        "seed": raw.get("seed", 0),
        "budget_seconds": raw.get("budget_seconds", 12000),
        "workers": raw["workers"] if raw.get("workers") is not None else default_workers(),
        "out": raw.get("out") or f"results/{label}",
    }
    settings.update({k: v for k, v in overrides.items() if v is not None})
    from nasearch.config import MAX_BUDGET_SECONDS, MAX_RUNS, _at_most

    runs = _at_most(checked_number(settings["runs"], "runs", int, 1), MAX_RUNS, "runs")
    seed = checked_seed(settings["seed"])
    budget = _at_most(checked_number(settings["budget_seconds"], "budget_seconds", float, 0, exclusive=True),
                      MAX_BUDGET_SECONDS, "budget_seconds")
    workers = checked_number(settings["workers"], "workers", int, 1)
    if not isinstance(settings["out"], str) or not settings["out"].strip():
        raise UsageError(f"out: expected a folder path such as results/{label}, got {settings['out']!r}")
    out = str(Path(settings["out"]).expanduser())
    entries = raw.get("searchers")
    if not isinstance(entries, list) or not entries:
        raise UsageError("experiment.searchers: expected a non-empty list of {config: configs/NAME.yaml, ...} entries")
    searchers: list[SearchConfig] = []
    sources: dict[str, str] = {}
    for position, entry in enumerate(entries):
        where = f"searchers[{position}]"
        if isinstance(entry, str):
            entry = {"config": entry}
        if not isinstance(entry, dict) or not entry.get("config"):
            raise UsageError(f"{where}: expected a mapping with 'config: configs/NAME.yaml'")
        bad = sorted(set(entry) - ENTRY_KEYS)
        if bad:
            hint = " (set it once for the whole experiment)" if bad[0] in ("runs", "seed", "budget_seconds", "workers", "out") else ""
            raise UsageError(f"{where}: key {bad[0]!r} not allowed here{hint}; allowed: {', '.join(sorted(ENTRY_KEYS))}")
        check_types(entry, "entry", f"{where}.")
        config_path = _resolve_path(str(entry["config"]), experiment_path)
        if not config_path.is_file():
            what = "is a directory, not a config file" if config_path.is_dir() else "does not exist"
            raise UsageError(f"{where}.config: {entry['config']} {what}; give a path such as configs/rea.yaml")
        base = read_yaml(config_path)
        if is_experiment_config(base):
            raise UsageError(f"{where}.config: {config_path} is itself an experiment; list searcher configs only")
        merged = _deep_merge(base, {k: v for k, v in entry.items() if k not in ("config",)})
        if "data" not in entry and raw.get("data") and not base.get("data"):
            merged["data"] = raw["data"]
        if "cache_dir" not in entry and raw.get("cache_dir") and not base.get("cache_dir"):
            merged["cache_dir"] = raw["cache_dir"]
        entry_label = check_label(str(merged.get("label") or config_path.stem), f"{where}.label")
        if entry_label in sources:
            raise UsageError(f"{where}: label {entry_label!r} is used twice; give each entry its own 'label'")
        merged.update(label=entry_label, runs=runs, seed=seed, budget_seconds=budget, workers=workers,
                      out=str(Path(out) / entry_label))
        try:
            config = parse_search_config(merged, default_label=entry_label)
        except UsageError as exc:
            raise UsageError(f"{where} ({entry_label}): {exc}") from None
        _check_names(config, f"{where} ({entry_label})")
        searchers.append(config)
        sources[entry_label] = str(config_path)
    pairs = _parse_pairs(raw.get("pairs"), searchers)
    report = ReportSpec.parse(raw.get("report"), "experiment.report")
    unknown_names = sorted(set(report.names) - set(sources))
    if unknown_names:
        raise UsageError(f"experiment.report.names: unknown label {unknown_names[0]!r}; labels are {', '.join(sources)}")
    return ExperimentConfig(label=label, out=out, runs=runs, budget_seconds=budget, seed=seed, workers=workers,
                            searchers=tuple(searchers), pairs=pairs, description=str(raw.get("description") or ""),
                            sources=sources, report=report)


def _check_names(config: SearchConfig, where: str) -> None:
    """Catch a misspelt searcher or proxy now, not after the searchers before it have run."""
    from nasearch.loading import searcher_class
    from nasearch.proxies.registry import get_proxy

    try:
        searcher_class(config.searcher["name"])
        if config.hook is not None and config.hook.select in ("proxy", "worst"):  # controls score nothing
            get_proxy(config.hook.proxy)
        if config.hook is not None and config.hook.predictor is not None:
            from nasearch.predictors.registry import check_predictor_name

            # the name and its library now, calling no plug-in; what it needs of the space is checked
            # when the experiment's entries are built
            check_predictor_name(config.hook.predictor)
    except UsageError as exc:
        raise UsageError(f"{where}: {exc}") from None


def _parse_pairs(raw_pairs: Any, searchers: list[SearchConfig]) -> tuple[Pair, ...]:
    """``pairs:`` entries, ``[baseline, treatment]`` or ``{baseline, treatment, role}``; without a
    role (or without ``pairs:``, see :func:`infer_pairs`) the role is inferred from the hooks, once, here."""
    from nasearch.hook import selection_label

    by_label = {s.label: s for s in searchers}
    if raw_pairs is None:
        return infer_pairs(searchers)
    example = "e.g. [[rea, g_rea]] or [{baseline: rea, treatment: g_rea, role: effect}]"
    if not isinstance(raw_pairs, list):
        raise UsageError(f"experiment.pairs: expected a list of [baseline, treatment] label pairs, {example}")
    pairs = []
    for pair in raw_pairs:
        role = None
        if isinstance(pair, dict):
            unknown = sorted(set(pair) - {"baseline", "treatment", "role"})
            if unknown or not {"baseline", "treatment"} <= set(pair):
                what = f"unknown key {unknown[0]!r}" if unknown else "needs both 'baseline' and 'treatment'"
                raise UsageError(f"experiment.pairs: {pair!r}: {what}; write {{baseline: A, treatment: B, role: "
                                 f"{'|'.join(ROLES)}}}")
            names = (pair["baseline"], pair["treatment"])
            if "role" in pair:
                role = check_role(pair["role"], f"experiment.pairs: {names[0]} -> {names[1]}")
        elif isinstance(pair, (list, tuple)) and len(pair) == 2:
            names = tuple(pair)
        else:
            raise UsageError(f"experiment.pairs: {pair!r} is not a [baseline, treatment] pair of labels "
                             f"nor a {{baseline, treatment, role}} mapping")
        for name in names:
            if str(name) not in by_label:
                raise UsageError(f"experiment.pairs: unknown label {name!r}; labels are {', '.join(sorted(by_label))}")
        base, treat = str(names[0]), str(names[1])
        if role is None:
            role = infer_role(selection_label(by_label[base].hook), selection_label(by_label[treat].hook))
        pairs.append(Pair(base, treat, role))
    return tuple(pairs)


def infer_pairs(searchers: list[SearchConfig]) -> tuple[Pair, ...]:
    """Without ``pairs:``: each assisted searcher against the vanilla one running the same searcher
    on the same space (an ``effect``, or the ``exact_control`` for ``select: uniform``), and each
    trivial-proxy twin (params, flops) against its proxy twin (``trivial_proxy``): the same hook
    but for the proxy, else the first assisted twin selecting by a real proxy."""
    from nasearch.hook import selection_label

    def same_search(a: SearchConfig, b: SearchConfig) -> bool:
        return a.space == b.space and a.searcher == b.searcher

    vanilla = [s for s in searchers if s.hook is None]
    pairs = []
    for assisted in searchers:
        if assisted.hook is None:
            continue
        for base in vanilla:
            if same_search(base, assisted):
                pairs.append(Pair(base.label, assisted.label, infer_role(None, selection_label(assisted.hook))))
                break
    for trivial in searchers:
        if trivial.hook is None or not is_trivial(selection_label(trivial.hook)):
            continue
        twins = [s for s in searchers if s.hook is not None and same_search(s, trivial)
                 and infer_role(selection_label(trivial.hook), selection_label(s.hook)) == "trivial_proxy"]
        exact = [s for s in twins if replace(s.hook, proxy=trivial.hook.proxy) == trivial.hook]
        for twin in exact or twins[:1]:
            pairs.append(Pair(trivial.label, twin.label, "trivial_proxy"))
    return tuple(pairs)


def describe(config: ExperimentConfig) -> dict:
    """What the report needs to know about the experiment (written to ``experiment.json``)."""
    from nasearch.hook import selection_label

    return {
        "label": config.label,
        "description": config.description,
        "runs": config.runs,
        "budget_seconds": config.budget_seconds,
        "seed": config.seed,
        "pairs": [p.as_json() for p in config.pairs],
        "report": config.report.as_json(),
        "searchers": [
            {
                "label": s.label,
                "config": config.sources.get(s.label, ""),
                "searcher": s.searcher["name"],
                "space": s.space,
                "selection": selection_label(s.hook),
                "k": s.hook.k if s.hook else None,
                "cost": (s.hook.cost.mode if s.hook.cost.mode != "fixed" else s.hook.cost.fixed_seconds) if s.hook else None,
                # only entries with an online predictor say so (other experiments keep their bytes)
                **({"predictor": s.hook.predictor} if s.hook is not None and s.hook.predictor is not None else {}),
            }
            for s in config.searchers
        ],
    }


def check_entries(config: ExperimentConfig) -> dict:
    """Build every entry (space, searcher and its arguments, proxy scorer and its data) before any run.

    Returns the built contexts by label, so nothing is built twice.
    """
    from nasearch.runner import SearchContext

    contexts = {}
    for searcher in config.searchers:
        try:
            contexts[searcher.label] = context = SearchContext.build(searcher)
            _check_scorer_data(context)
        except UsageError as exc:
            raise UsageError(f"{searcher.label}: {exc}") from None
    return contexts


def _check_scorer_data(context: Any) -> None:
    """Load the images of an entry whose proxy scores are not all packaged or cached, now: a
    missing npz or a download that cannot finish then stops the experiment before its first
    run, not after the earlier entries ran all theirs."""
    all_archs = getattr(context.space, "all_archs", None)
    for scorer in context.scorers():  # the hook's proxy and an online predictor's zero-cost features
        if not getattr(scorer.spec, "needs_data", False):
            continue
        if callable(all_archs):
            scorer.warm()  # the cache's scores count too (the run's preload does the same)
            if scorer.known_count() >= len(all_archs()):
                continue  # every score is stored: no image is ever needed
        scorer.check_data()


def run_experiment(
    config: ExperimentConfig, show_progress: bool = True, backend: str = "local", ray_address: str | None = None
) -> dict[str, list[dict]]:
    """Run (or resume) every searcher of the experiment; return the records per label.

    Wall time is kept apart from the results (``timing.json``, accumulated over resumed
    sessions) because it is the one thing that differs between two runs of the same config.
    """
    out = check_out_dir(config.out)
    executor = make_executor(backend, config.workers, ray_address=ray_address)  # a bad backend: one line, first
    contexts = check_entries(config)  # every mistake is found before the first run starts
    make_out_dir(out)
    with OutDirLock(out), executor:  # one set of workers for every searcher of the experiment
        return _run_experiment_locked(config, out, show_progress, backend, executor, contexts)


def _run_experiment_locked(config: ExperimentConfig, out: Path, show_progress: bool, backend: str,
                           executor: Any, contexts: dict) -> dict[str, list[dict]]:
    timing_path = out / TIMING_FILE
    timing = read_timing(timing_path)
    for searcher in config.searchers:  # a searcher's folder of another config is refused before anything is written
        try:
            check_resumable(searcher, searcher.out)
        except UsageError as exc:
            raise UsageError(f"{searcher.label}: {exc}") from None
    atomic_write_text(out / EXPERIMENT_FILE, json.dumps(describe(config), indent=2, default=str) + "\n")
    total = config.runs * len(config.searchers)
    # runs finished in an earlier session start the bar, so runs/s and the ETA count new runs only
    finished = sum(sum(1 for i in read_progress(Path(s.out) / PROGRESS, warn=False) if i < s.runs)
                   for s in config.searchers)
    results: dict[str, list[dict]] = {}
    bar = tqdm(total=total, initial=finished, desc=config.label, unit="run", disable=not show_progress,
               dynamic_ncols=True, smoothing=0.05)
    with bar:
        for searcher in config.searchers:
            bar.set_postfix_str(searcher.label)
            started = time.perf_counter()
            before = dict(timing.get(searcher.label, {}))
            before["wall_seconds"] = before.get("wall_seconds") or 0.0
            before["runs_computed"] = before.get("runs_computed") or 0
            state = {"new": 0, "saved": time.monotonic()}

            def record_timing(state=state, before=before, started=started, label=searcher.label) -> None:
                entry = dict(before)
                if state["new"]:
                    entry = {"wall_seconds": round(before["wall_seconds"] + time.perf_counter() - started, 3),
                             "runs_computed": before["runs_computed"] + state["new"]}
                entry["backend"] = backend
                entry["workers"] = config.workers if backend == "local" else None
                timing[label] = entry
                atomic_write_text(timing_path, json.dumps(timing, indent=2, sort_keys=True) + "\n")
                state["saved"] = time.monotonic()

            def on_run(_index: int, existing: bool, state=state, record_timing=record_timing) -> None:
                if not existing:
                    state["new"] += 1
                    bar.update(1)
                    if time.monotonic() - state["saved"] >= TIMING_INTERVAL:
                        record_timing()  # a kill loses at most this interval's wall time

            try:
                records = run_many(searcher, show_progress=False, on_run=on_run, context=contexts.get(searcher.label),
                                   executor=executor)
            finally:
                record_timing()
            results[searcher.label] = records
    return results


def load_experiment(path: str | Path, **overrides: Any) -> ExperimentConfig:
    return parse_experiment(read_yaml(path), path, **overrides)
