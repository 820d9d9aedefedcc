"""Runs many seeded runs of one config: in parallel, resumable, identical whatever the workers.

Each finished run is appended to ``progress.jsonl`` as one line in one write, flushed and
fsynced, by the parent process only. A killed experiment loses at most the runs in flight;
rerunning the same command skips every finished run. When all runs are done, ``runs.jsonl``
is written sorted by run index (atomically), so its bytes do not depend on the number of
workers or on interruptions.
"""
from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
from dataclasses import asdict
from pathlib import Path
from typing import Iterable, Iterator

from tqdm import tqdm

from nasearch.config import SearchConfig
from nasearch.errors import UsageError
from nasearch.runner import SearchContext, run_one

PROGRESS = "progress.jsonl"
RESULTS = "runs.jsonl"
CONFIG = "config.json"

_worker_context: SearchContext | None = None


def config_fingerprint(config: SearchConfig) -> dict:
    """What determines a run's result (not how many runs or workers, nor where it is written)."""
    data = asdict(config)
    for volatile in ("runs", "workers", "out", "cache_dir"):
        data.pop(volatile)
    return data


def _fingerprint_hash(fingerprint: dict) -> str:
    return hashlib.sha256(json.dumps(fingerprint, sort_keys=True, default=str).encode()).hexdigest()[:16]


def read_progress(path: Path) -> dict[int, str]:
    """Finished runs by index; a torn last line (killed mid-write) is cut off the file."""
    done: dict[int, str] = {}
    if not path.exists():
        return done
    raw = path.read_bytes()
    good_end = 0
    for line in raw.splitlines(keepends=True):
        if not line.endswith(b"\n"):
            break
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            break
        done.setdefault(int(record["run"]), line.decode().rstrip("\n"))
        good_end += len(line)
    if good_end != len(raw):
        with path.open("r+b") as handle:
            handle.truncate(good_end)
    return done


def _init_worker(config: SearchConfig) -> None:
    global _worker_context
    import torch

    torch.set_num_threads(1)  # workers split the cores between them
    _worker_context = SearchContext.build(config)


def _run_in_worker(run_index: int) -> tuple[int, str]:
    assert _worker_context is not None
    return run_index, encode_run(run_one(_worker_context, run_index))


def encode_run(record: dict) -> str:
    return json.dumps(record, sort_keys=True, separators=(",", ":"))


def _execute(
    config: SearchConfig, pending: list[int], workers: int, context: SearchContext | None
) -> Iterator[tuple[int, str]]:
    if workers <= 1 or len(pending) <= 1:
        context = context or SearchContext.build(config)
        for index in pending:
            yield index, encode_run(run_one(context, index))
        return
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    with multiprocessing.get_context(method).Pool(workers, _init_worker, (config,)) as pool:
        yield from pool.imap_unordered(_run_in_worker, pending, chunksize=1)


def run_many(
    config: SearchConfig,
    out_dir: str | Path | None = None,
    show_progress: bool = False,
    backend: str = "local",
) -> list[dict]:
    """Run ``config.runs`` runs into ``out_dir`` (resuming), return the records sorted by run."""
    out = Path(out_dir or config.out)
    fingerprint = config_fingerprint(config)
    config_path = out / CONFIG
    if config_path.exists():
        stored = json.loads(config_path.read_text())
        if stored.get("hash") != _fingerprint_hash(fingerprint):
            raise UsageError(f"{out} holds runs of a different config; use another --out or delete {out} to start over")
    context = SearchContext.build(config)  # validates everything before anything is written
    out.mkdir(parents=True, exist_ok=True)
    if not config_path.exists():
        payload = {"hash": _fingerprint_hash(fingerprint), "config": fingerprint}
        config_path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    progress_path = out / PROGRESS
    done = read_progress(progress_path)
    pending = [i for i in range(config.runs) if i not in done]
    if pending:
        if backend == "ray":
            from nasearch.ray_backend import execute_on_ray

            stream: Iterable[tuple[int, str]] = execute_on_ray(config, pending)
        else:
            stream = _execute(config, pending, config.workers, context)
        bar = tqdm(total=config.runs, initial=config.runs - len(pending), desc=config.label, unit="run",
                   disable=not show_progress, dynamic_ncols=True)
        with progress_path.open("a") as log, bar:
            for index, line in stream:
                log.write(line + "\n")
                log.flush()
                os.fsync(log.fileno())
                done[index] = line
                bar.update(1)
    lines = [done[i] for i in range(config.runs)]
    results_path = out / RESULTS
    temporary = results_path.with_suffix(".tmp")
    temporary.write_text("".join(line + "\n" for line in lines))
    os.replace(temporary, results_path)
    return [json.loads(line) for line in lines]
