"""Runs many seeded runs of one config: in parallel, resumable, identical whatever the workers.

Each finished run is appended to ``progress.jsonl`` as one line in one write and flushed to
the operating system, by the parent process only, so a ``kill -9`` loses at most the runs in
flight; rerunning the same command skips every finished run. The file is also fsynced, at
most once per :data:`FSYNC_INTERVAL` seconds and at the end: an fsync costs ~3 ms here, more
than a whole simulated run, and what it guards against (the machine itself crashing) only
costs the last second's runs, which the resume recomputes. A torn last line is cut off on
resume. Each line carries a checksum of its record (:func:`nasearch.results.progress_line`): a
line edited by hand fails it and that run is recomputed, never copied. When all runs are done, ``runs.jsonl`` is written sorted by run index (atomically),
so its bytes do not depend on the number of workers, the backend or interruptions.

Where the runs execute is an :class:`nasearch.executor.Executor` (local processes or Ray):
each worker process builds the config's search context once and preloads it.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Callable, Iterator

from tqdm import tqdm

from nasearch.config import SearchConfig
from nasearch.errors import UsageError, os_errors
from nasearch.executor import BACKENDS, Executor, make_executor
from nasearch.results import (CONFIG, PROGRESS, RESULTS, OutDirLock, RecordError, RunRecord, atomic_write_text,
                              check_out_dir, decode_line, make_out_dir, progress_line, read_json, read_jsonl)
from nasearch.runner import SearchContext, run_one

FSYNC_INTERVAL = 1.0  # seconds

#: the context this process runs its runs with: a worker's own, or the parent's when in-process
_worker_context: SearchContext | None = None


def config_fingerprint(config: SearchConfig) -> dict:
    """What determines a run's result (not how many runs or workers, nor where it is written).

    The proxy data source is left out like the cache: scores are cached and packaged by
    (space, proxy, dataset, batch, seed), so where the images would come from for a missing
    score does not change which score a run sees.
    """
    data = asdict(config)
    for volatile in ("runs", "workers", "out", "cache_dir", "data"):
        data.pop(volatile)
    if data.get("revisit") == "allow":  # added later, left out at its default: old out dirs resume
        data.pop("revisit")
    hook = data.get("hook")
    if hook is not None:  # hook keys added later are left out at their defaults: old out dirs resume
        if hook.get("select") == "proxy":
            hook.pop("select")
        elif hook.get("select") == "uniform":  # a uniform pick reads no proxy: one spelling, the old one
            hook.pop("select")  # (``hook.proxy: uniform``), so folders made with it still resume
            hook["proxy"] = "uniform"
        if hook.get("seeds") is None:
            hook.pop("seeds", None)
        if hook.get("device") == "cpu":
            hook.pop("device")
        from nasearch.config import HookConfig

        defaults = asdict(HookConfig())
        for key in ("predictor", "warmup", "refit_every", "predictor_cost"):
            if hook.get(key) == defaults[key]:
                hook.pop(key)
    return data


def _fingerprint_hash(fingerprint: dict) -> str:
    return hashlib.sha256(json.dumps(fingerprint, sort_keys=True, default=str).encode()).hexdigest()[:16]


def read_progress(path: Path, warn: bool = True) -> dict[int, RunRecord]:
    """Finished runs by index. A torn last line (killed mid-write) is cut off the file; a corrupt
    line in the middle (not a record, an edited value that fails its checksum, a second copy of a
    run) is reported (file and line) and skipped, so its run is recomputed; every valid line is kept."""
    found = read_jsonl(path)
    if found.bad_lines and warn:
        print(f"nasearch: warning: {found.problem()}; the runs of bad lines are recomputed", file=sys.stderr)
    if found.torn:
        with path.open("r+b") as handle:
            handle.truncate(found.complete_end)
    return found.records


def _init_worker(config: SearchConfig) -> None:
    """Once per worker process and config (the executor also gives it one torch thread): reuse the
    context this process already holds for ``config`` (the parent's, when in-process), else build
    one; then preload it (lazily-read data, the score memo)."""
    global _worker_context
    if _worker_context is None or _worker_context.config != config:
        _worker_context = SearchContext.build(config)
    _worker_context.preload()


def _warn_if_live(context: SearchContext) -> None:
    """Say up front when proxy scores will be computed live: a GradSign score costs ~1 s, a run asks ~1000."""
    scorer = context.scorer
    if scorer is None or not getattr(scorer.spec, "needs_network", True):
        return
    known = scorer.known_count()
    all_archs = getattr(context.space, "all_archs", None)
    total = len(all_archs()) if callable(all_archs) else None
    if (total is not None and known >= total) or (total is None and known):
        return
    have = f"{known} of {total}" if total is not None else "no"
    print(f"nasearch: {context.config.label}: {have} {scorer.spec.name} scores are packaged or cached for "
          f"{scorer.key}; the others will be computed live (slow; see nasearch precompute)", file=sys.stderr)


def _run_in_worker(run_index: int) -> tuple[int, str]:
    assert _worker_context is not None
    return run_index, run_one(_worker_context, run_index).encode()


def _execute(
    config: SearchConfig, pending: list[int], executor: Executor, context: SearchContext | None = None
) -> Iterator[tuple[int, str]]:
    """``(run index, encoded record)`` of each pending run, as the executor's workers finish them."""
    global _worker_context
    _worker_context = context  # an in-process executor runs with it: nothing is built twice
    try:
        yield from executor.map_unordered(_run_in_worker, pending, init=_init_worker, init_args=(config,))
    finally:
        _worker_context = None


def run_many(
    config: SearchConfig,
    out_dir: str | Path | None = None,
    show_progress: bool = False,
    backend: str = "local",
    ray_address: str | None = None,
    on_run: Callable[[int, bool], None] | None = None,
    context: SearchContext | None = None,
    executor: Executor | None = None,
) -> list[RunRecord]:
    """Run ``config.runs`` runs into ``out_dir`` (resuming), return the records sorted by run.

    ``on_run(index, existing)`` is called once per run: first for the runs already on disk
    (``existing=True``), then as each new one finishes; the experiment's progress bar uses it.
    ``executor`` (an experiment passes one for all its configs, so workers start once) wins
    over ``backend``, ``ray_address`` and ``config.workers``.
    """
    if executor is None and backend not in BACKENDS:
        raise UsageError(f"unknown backend {backend!r}; use one of {', '.join(BACKENDS)}")
    out = check_out_dir(out_dir or config.out)
    fingerprint = config_fingerprint(config)
    if context is None or context.config != config:
        context = SearchContext.build(config)  # validates everything before anything is written
    make_out_dir(out)
    with OutDirLock(out):
        if executor is not None:
            return _run_locked(config, out, context, fingerprint, show_progress, executor, on_run)
        with make_executor(backend, config.workers, ray_address=ray_address) as own:
            return _run_locked(config, out, context, fingerprint, show_progress, own, on_run)


def check_resumable(config: SearchConfig, out: str | Path) -> bool:
    """Raise a one-line UsageError unless ``out`` is empty of runs or holds runs of this very config
    (its ``config.json`` fingerprint matches); True when it holds runs to resume. Nothing is written.
    Runs whose fingerprint is missing (``config.json`` deleted, empty or ``null``) are never resumed:
    which config made them cannot be told, and mixing two configs in one ``runs.jsonl`` loses both."""
    out = Path(out)
    stored = read_json(out / CONFIG, "config fingerprint")
    if not read_jsonl(out / PROGRESS).records and not read_jsonl(out / RESULTS).records:
        return False
    if not isinstance(stored, dict) or not isinstance(stored.get("hash"), str):
        raise UsageError(f"{out} holds runs but its {CONFIG} is missing or empty, so which config made them cannot be "
                         f"told; restore {out / CONFIG}, or use another --out (or delete {out}) to start over")
    if stored["hash"] != _fingerprint_hash(config_fingerprint(config)):
        raise UsageError(f"{out} holds runs of a different config; use another --out or delete {out} to start over")
    return True


def _close_log(log) -> None:
    """Flush, fsync and close the run log on the way out of an error: a disk that is still full
    drops the unwritten rest (the run is recomputed on resume), never the error being raised."""
    for step in (log.flush, lambda: os.fsync(log.fileno()), log.close):
        try:
            step()
        except (OSError, ValueError):
            pass
    if not log.closed:
        try:
            log.close()
        except OSError:
            pass


def _checked_record(config: SearchConfig, index: int, line: str) -> RunRecord:
    """A worker's record as it will be read back, before it is written: a record nasearch could not
    read (a space's NaN metric, a clock run backwards) is refused here, not stored."""
    try:
        return decode_line(line)
    except RecordError as exc:
        raise UsageError(f"{config.label}: run {index} made a record that is not valid ({exc}); the space or "
                         "searcher returned it: fix the values it reports") from None


def _run_locked(config, out, context, fingerprint, show_progress, executor, on_run) -> list[RunRecord]:
    config_path = out / CONFIG
    progress_path = out / PROGRESS
    if not check_resumable(config, out):
        payload = {"hash": _fingerprint_hash(fingerprint), "config": fingerprint}
        atomic_write_text(config_path, json.dumps(payload, indent=2, default=str) + "\n")
    done = read_progress(progress_path)
    stored_beyond = sorted(i for i in done if i >= config.runs)
    if stored_beyond:
        print(f"nasearch: {config.label}: {len(done)} runs are stored in {progress_path}; runs.jsonl holds "
              f"the {config.runs} asked for (runs 0-{config.runs - 1})", file=sys.stderr)
    if on_run is not None:
        for index in sorted(i for i in done if i < config.runs):
            on_run(index, True)
    pending = [i for i in range(config.runs) if i not in done]
    if pending:
        _warn_if_live(context)
        stream = _execute(config, pending, executor, context)
        bar = tqdm(total=config.runs, initial=config.runs - len(pending), desc=config.label, unit="run",
                   disable=not show_progress, dynamic_ncols=True)
        with os_errors(progress_path):
            log = progress_path.open("a")
        with bar:
            last_sync = time.monotonic()
            try:
                for index, line in stream:
                    record = _checked_record(config, index, line)
                    with os_errors(progress_path):  # a full disk, a file-size limit: one line; runs logged stay
                        log.write(progress_line(record) + "\n")
                        log.flush()  # in the OS's hands: survives kill -9 of this process
                        if time.monotonic() - last_sync >= FSYNC_INTERVAL:
                            os.fsync(log.fileno())
                            last_sync = time.monotonic()
                    done[index] = record
                    bar.update(1)
                    if on_run is not None:
                        on_run(index, False)
            except BaseException:
                _close_log(log)  # what can still be written is; a line cut short is cut off on resume
                raise
            with os_errors(progress_path):
                log.flush()
                os.fsync(log.fileno())
                log.close()
    records = [done[i] for i in range(config.runs)]
    # re-encoded from the typed records: a run stored by an older nasearch (schema 1) is written in
    # the current schema, so a resumed directory holds the same bytes as a fresh one
    atomic_write_text(out / RESULTS, "".join(record.encode() + "\n" for record in records))
    return records
