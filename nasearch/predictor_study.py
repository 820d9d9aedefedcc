"""White et al. (2021)'s predictor study: fit each predictor on ``n`` labelled random
architectures, rank a fixed test set of 200, repeat over seeded trials and train sizes.

Rows (one per predictor, train size and trial) are appended to ``results.csv`` as they finish,
so an interrupted study resumes; the markdown table and figure are rebuilt from the CSV. A row cut
short by an interruption (the last line without its newline) is dropped and recomputed; any other row
that is not a study row, or repeats one, is refused in one line naming its line (:func:`read_csv`). One
study writes an ``--out`` at a time: a second one is refused (an OS lock, :class:`OutDirLock`).
Initialisation time is the benchmark's training seconds of the labelled archs (zero for
zero-cost and learning-curve predictors); fit seconds and query seconds are measured apart.
"""
from __future__ import annotations

import csv
import io
import math
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from scipy import stats

from nasearch.analysis.stats import mean_std
from nasearch.errors import UsageError
from nasearch.results import OutDirLock, check_out_dir, make_out_dir

DEFAULT_SIZES = (5, 8, 14, 24, 42, 71, 121, 205, 347, 589, 1000)
FIELDS = ["predictor", "train_size", "trial", "kendall", "sparse_kendall", "spearman", "pearson", "precision10",
          "precision20", "init_seconds", "fit_seconds", "query_seconds"]


#: the most labelled archs a train size may ask for (a fit on more is not the study's question)
MAX_TRAIN_SIZE = 100_000


def parse_sizes(text: str) -> list[int]:
    """``--train-sizes``: distinct whole numbers >= 2, in the order given."""
    try:
        sizes = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise UsageError(f"--train-sizes must be comma-separated whole numbers, got {text!r}") from None
    if not sizes or min(sizes) < 2:
        raise UsageError(f"--train-sizes needs whole numbers >= 2, e.g. 14,121,1000; got {text!r}")
    repeated = sorted({s for s in sizes if sizes.count(s) > 1})
    if repeated:
        raise UsageError(f"--train-sizes repeats {repeated[0]}; give each size once, e.g. 14,121,1000")
    if max(sizes) > MAX_TRAIN_SIZE:
        raise UsageError(f"--train-sizes: {max(sizes)} is more than a study can use (at most {MAX_TRAIN_SIZE}); "
                         "give smaller sizes")
    return sizes


def space_size(space: Any) -> int | None:
    """How many architectures ``space`` holds, where it says (``all_archs``: a table's rows, a
    benchmark's cells); None where it cannot (no such member, or it needs a file not given)."""
    all_archs = getattr(space, "all_archs", None)
    if callable(all_archs):
        try:
            return len(all_archs())
        except (TypeError, NotImplementedError, UsageError):
            return None
    return None


def check_sizes(space: Any, sizes: Sequence[int], test_size: int, trainable: bool = True) -> None:
    """Refuse train / test sizes the space cannot supply: the test set and every training set are
    distinct architectures, and a training set excludes the test set (``trainable``: some predictor
    of the study is fitted; zero-cost and learning-curve ones rank the test set alone)."""
    total = space_size(space)
    if total is None:
        return
    name = getattr(space, "name", "the space")
    if test_size > total:
        raise UsageError(f"--test-size {test_size} is more than the {total} architectures of {name}; "
                         f"give --test-size <= {total}")
    if not trainable:
        return
    if test_size >= total:
        raise UsageError(f"--test-size {test_size} leaves no architecture of {name}'s {total} to train on; "
                         f"give --test-size < {total}")
    too_big = [s for s in sizes if s > total - test_size]
    if too_big:
        raise UsageError(f"--train-sizes: {too_big[0]} is more than the {total - test_size} architectures of {name} "
                         f"outside the test set ({total} - --test-size {test_size}); give sizes <= {total - test_size}")


def metric_name(space: Any) -> str:
    return getattr(space, "dataset", "cifar10") + "_valid" if getattr(space, "name", "") == "nb201" else \
        next(iter(space.final_metrics(space.sample(np.random.default_rng(0)))))


def sample_unique(space: Any, n: int, rng: np.random.Generator, exclude: set) -> list:
    archs, seen = [], set(exclude)
    for _ in range(50 * n + 100):
        if len(archs) == n:
            break
        arch = space.sample(rng)
        key = space.arch_id(arch)
        if key not in seen:
            seen.add(key)
            archs.append(arch)
    return archs


def metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    def precision(k: int) -> float:
        k = min(k, len(y_true))
        return len(set(np.argsort(-y_true)[:k]) & set(np.argsort(-y_pred)[:k])) / k

    constant = np.all(y_pred == y_pred[0])
    rounded = np.round(y_pred, 1)
    return {
        "kendall": 0.0 if constant else float(stats.kendalltau(y_true, y_pred)[0]),
        # NASLib's sparse tau: predictions rounded to 0.1; rounding can make them constant (tau undefined): 0
        "sparse_kendall": 0.0 if constant or np.all(rounded == rounded[0]) else float(stats.kendalltau(y_true, rounded)[0]),
        "spearman": 0.0 if constant else float(stats.spearmanr(y_true, y_pred)[0]),
        "pearson": 0.0 if constant else float(stats.pearsonr(y_true, y_pred)[0]),
        "precision10": precision(10),
        "precision20": precision(20),
    }


def _train_seconds(space: Any, archs: Sequence[Any]) -> float:
    """The benchmark's training seconds of ``archs`` (what labelling them cost)."""
    backend = getattr(space, "backend", None)
    table = getattr(backend, "_search", None)
    if table is not None and hasattr(table, "train_seconds"):  # embedded NB201: 200-epoch training time
        from nasearch.spaces.nb201.genotype import to_index

        return float(sum(table.train_seconds[to_index(a)] for a in archs))
    rng = np.random.default_rng(0)
    return float(sum(space.query(a, rng).cost_seconds for a in archs))


#: what every task of a study shares, set once per worker process by :func:`_init_worker`
_shared: dict[str, Any] = {}


def _init_worker(space: Any, features: Any, test: list, y_test: list) -> None:
    _shared.update(space=space, features=features, test=test, y_test=y_test)


def run_one(task: tuple) -> dict:
    """One (predictor, size, trial): a pure function of its inputs (seeded), returns a CSV row."""
    name, size, trial, seed = task
    space, features, test, y_test = _shared["space"], _shared["features"], _shared["test"], _shared["y_test"]
    from nasearch.predictors import make_predictor

    metric = metric_name(space)
    predictor = make_predictor(name, space, features=features, seed=seed + trial, check=False)
    init = fit = 0.0
    if predictor.trainable:
        rng = np.random.default_rng([seed, trial, size])
        exclude = {space.arch_id(a) for a in test}
        train = sample_unique(space, size, rng, exclude)
        if len(train) < size:  # a space that does not say its size (check_sizes) and holds fewer archs
            raise UsageError(f"could draw only {len(train)} distinct architectures of {getattr(space, 'name', 'the space')} "
                             f"outside the test set for train size {size}; give --train-sizes <= {len(train)}")
        y = [space.final_metrics(a)[metric] for a in train]
        init = _train_seconds(space, train)
        start = time.process_time()
        predictor.fit(train, y)
        fit = time.process_time() - start
    start = time.process_time()
    pred = np.asarray(predictor.predict(test), dtype=float)
    query = (time.process_time() - start + float(getattr(predictor, "query_seconds", 0.0))) / len(test)
    row = {"predictor": name, "train_size": size if predictor.trainable else 0, "trial": trial,
           **metrics(np.asarray(y_test, float), pred), "init_seconds": init, "fit_seconds": fit,
           "query_seconds": query}
    return row


def run_tasks(tasks: list[tuple], executor: Any, shared: tuple, on_row) -> None:
    """Run tasks on the executor (in-process for one worker, spawned processes or Ray otherwise; never a
    fork of a process holding torch); each worker gets ``shared`` once; ``on_row`` gets each row as it finishes."""
    for row in executor.map_unordered(run_one, tasks, init=_init_worker, init_args=shared):
        on_row(row)


def run_study(space: Any, names: Sequence[str], out: Path, features: Any, sizes: Sequence[int] = DEFAULT_SIZES,
              trials: int = 20, test_size: int = 200, seed: int = 0, workers: int = 1, progress: bool = True,
              backend: str = "local", ray_address: str | None = None) -> list[dict]:
    out = make_out_dir(check_out_dir(out))
    with OutDirLock(out):  # from reading what is done to the last row: two studies would double the rows
        return _run_study_locked(space, names, out, features, sizes, trials, test_size, seed, workers, progress,
                                 backend, ray_address)


def _run_study_locked(space, names, out, features, sizes, trials, test_size, seed, workers, progress, backend,
                      ray_address) -> list[dict]:
    from nasearch.executor import make_executor
    from nasearch.predictors import make_predictor

    metric = metric_name(space)
    test = sample_unique(space, test_size, np.random.default_rng([seed, 10**6]), set())
    if len(test) < test_size:
        raise UsageError(f"could draw only {len(test)} distinct architectures of {getattr(space, 'name', 'the space')} "
                         f"for the test set; give --test-size <= {len(test)}")
    y_test = [space.final_metrics(a)[metric] for a in test]
    path = out / "results.csv"
    done = {(r["predictor"], int(r["train_size"]), int(r["trial"])) for r in read_csv(path, repair=True)}
    tasks = []
    for name in names:
        trainable = make_predictor(name, space, features=features, seed=seed).trainable
        for size in (sizes if trainable else [0]):
            for trial in range(trials):
                if (name, size, trial) not in done:
                    tasks.append((name, size, trial, seed))
    # zero-cost scores computed once, here, so every worker receives them with the shared state
    for name in names:
        predictor = make_predictor(name, space, features=features, seed=seed, check=False)
        for proxy in predictor.needs.zero_cost:
            features.scores(proxy, test)
    new_file = not path.is_file() or path.stat().st_size == 0
    with path.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        if new_file:
            writer.writeheader()
        count = [0]

        def on_row(row: dict) -> None:
            writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
            handle.flush()
            count[0] += 1
            if progress:
                print(f"[{count[0]}/{len(tasks)}] {row['predictor']} n={row['train_size']} trial={row['trial']} "
                      f"tau={row['kendall']:.3f}", flush=True)

        with make_executor(backend, workers, ray_address=ray_address) as executor:
            run_tasks(tasks, executor, (space, features, test, y_test), on_row)
    rows = read_rows(path, names)
    (out / "predictors.md").write_text(markdown(rows, space, metric))
    figure(rows, out / "predictors.png")
    return rows


def read_csv(path: Path, repair: bool = False) -> list[dict]:
    """Every row of a study's ``results.csv``, typed (sizes and trials ints, the rest floats), checked:
    the header must be :data:`FIELDS`, each row a predictor name, whole numbers and numbers (``nan``
    allowed), no (predictor, size, trial) twice. A last row cut short (no newline: a write was
    interrupted) is left out; with ``repair`` it is also cut off the file (so appending resumes on a
    line of its own) and its task recomputed. Absent: no rows."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise UsageError(f"{path}: cannot be read ({exc.strerror or exc}); use another --out") from None
    fix = "delete that line to recompute its task, or use another --out"
    if raw and not raw.endswith(b"\n"):
        keep = raw.rfind(b"\n") + 1
        if repair:
            print(f"nasearch: warning: {path}: the last row is cut short (a write was interrupted); it is dropped "
                  "and its task recomputed", file=sys.stderr)
            with path.open("r+b") as handle:
                handle.truncate(keep)
        raw = raw[:keep]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not UTF-8 text (byte {exc.start}); it is not a study's results.csv: use another "
                         "--out or delete it") from None
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        header = reader.fieldnames
        raw_rows = list(reader)
    except csv.Error as exc:
        raise UsageError(f"{path}: not a CSV ({exc}); use another --out or delete it") from None
    if header is None:
        return []
    if list(header) != FIELDS:
        raise UsageError(f"{path}: its columns are not a predictor study's ({', '.join(FIELDS[:3])}, ...); "
                         "use another --out or delete it")
    rows, seen = [], {}
    for number, r in enumerate(raw_rows, start=2):
        def bad(what: str) -> UsageError:
            return UsageError(f"{path}: line {number} is not a study row ({what}); {fix}")

        if None in r or any(v is None for v in r.values()):
            raise bad(f"{'more' if None in r else 'fewer'} cells than the {len(FIELDS)} columns")
        if not r["predictor"]:
            raise bad("no predictor name")
        for key in ("train_size", "trial"):
            if not r[key].isdigit():
                raise bad(f"{key} is {r[key]!r}, not a whole number >= 0")
            r[key] = int(r[key])
        for key in FIELDS[3:]:
            try:
                r[key] = float(r[key])
            except ValueError:
                raise bad(f"{key} is {r[key]!r}, not a number") from None
            if math.isinf(r[key]):
                raise bad(f"{key} is {r[key]!r}, not a finite number")
        task = (r["predictor"], r["train_size"], r["trial"])
        if task in seen:
            raise bad(f"predictor {task[0]} n={task[1]} trial={task[2]} is already on line {seen[task]}")
        seen[task] = number
        rows.append(r)
    return rows


def read_rows(path: Path, names: Sequence[str]) -> list[dict]:
    """The checked rows (:func:`read_csv`) of the predictors ``names``, sizes as floats (as summarised)."""
    wanted = set(names)
    rows = [r for r in read_csv(path) if r["predictor"] in wanted]
    for r in rows:
        for key in ("train_size", "trial"):
            r[key] = float(r[key])
    return rows


def summarise(rows: list[dict]) -> list[dict]:
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["predictor"], int(r["train_size"])), []).append(r)
    out = []
    for (name, size), items in groups.items():
        summary = {"predictor": name, "train_size": size, "trials": len(items)}
        for key in FIELDS[3:]:
            values = np.array([i[key] for i in items])
            summary[key], summary[key + "_sd"] = mean_std(values)
        out.append(summary)
    order = {n: i for i, n in enumerate(dict.fromkeys(r["predictor"] for r in rows))}
    return sorted(out, key=lambda s: (order[s["predictor"]], s["train_size"]))


def markdown(rows: list[dict], space: Any, metric: str) -> str:
    lines = [f"Predictor study on {space.name} ({metric}); mean ± sd over trials; test set of 200 archs.", "",
             "| predictor | train size | trials | Kendall τ | sparse τ | Spearman | Pearson | prec@10 | prec@20 | init s | fit s | query s/arch |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for s in summarise(rows):
        lines.append(f"| {s['predictor']} | {s['train_size']} | {s['trials']} | {s['kendall']:.3f} ± {s['kendall_sd']:.3f} "
                     f"| {s['sparse_kendall']:.3f} | {s['spearman']:.3f} | {s['pearson']:.3f} | {s['precision10']:.2f} "
                     f"| {s['precision20']:.2f} | {s['init_seconds']:.3g} | {s['fit_seconds']:.3g} | {s['query_seconds']:.3g} |")
    return "\n".join(lines) + "\n"


def figure(rows: list[dict], path: Path) -> None:
    """White et al.'s figure: Kendall τ against initialisation time; zero-cost as points."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    summaries = summarise(rows)
    for name in dict.fromkeys(s["predictor"] for s in summaries):
        items = [s for s in summaries if s["predictor"] == name]
        x = [max(s["init_seconds"], 1.0) for s in items]
        y = [s["kendall"] for s in items]
        if len(items) == 1 and items[0]["train_size"] == 0:
            ax.scatter(x, y, marker="*", s=80, label=name, zorder=3)
        else:
            ax.plot(x, y, marker="o", label=name)
    ax.set_xscale("log")
    ax.set_xlabel("initialisation time (benchmark training seconds of labelled archs)")
    ax.set_ylabel("Kendall τ on 200 test archs")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
