"""Nothing lost, nothing duplicated: torn and corrupt files, a second writer, bad --out paths."""
from __future__ import annotations

import ast
import fcntl
import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from nasearch.results import LOCK, Incumbent, RunRecord, Trajectory, encode_run, read_jsonl

ROOT = Path(__file__).resolve().parents[1]
RS = ROOT / "configs" / "rs.yaml"


def _cli(*args, cwd=ROOT):
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "run_search.py", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, env=env)


def _report(*args):
    code = "import sys; from nasearch.cli import main; sys.exit(main(['report', *sys.argv[1:]]))"
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


def _one_line_exit_2(result):
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file() and p.name != LOCK}


def test_a_record_round_trips_through_its_encoding():
    record = RunRecord(run=3, seed=1, label="x", searcher="rs", selection=None, best_arch="a", best_fitness=0.5,
                       final={"m": 1.0}, evaluations=2, trajectory=Trajectory(t=[1.0, 2.0], arch=["a", "b"]),
                       incumbents=[Incumbent(0, "a", {"m": 1.0})])
    line = record.encode()
    assert RunRecord.from_dict(json.loads(line)) == record
    assert line == encode_run(json.loads(line))


def test_mid_file_corruption_keeps_every_valid_line_and_names_the_bad_one(tmp_path):
    path = tmp_path / "progress.jsonl"
    lines = [RunRecord(i, 0, "rs", "rs", None, None, None).encode() for i in range(5)]
    stranger = encode_run({"run": 7, "note": "valid JSON, but not a run record"})
    path.write_text(lines[0] + "\n" + lines[1] + "\n{garbage\n" + "\n".join(lines[2:]) + "\n" + stranger + "\n"
                    + '{"run": 9')
    found = read_jsonl(path)
    assert sorted(found.records) == [0, 1, 2, 3, 4]  # the stranger is not taken for run 7
    assert found.bad_lines == [3, 7] and found.torn and not found.complete
    assert "line 3" in found.problem() and "(and 1 more)" in found.problem()


def test_resume_after_mid_file_corruption_recomputes_nothing(tmp_path):
    out = tmp_path / "out"
    assert _cli(RS, "--runs", 4, "--budget", 2000, "--out", out).returncode == 0
    progress = out / "progress.jsonl"
    good = progress.read_text().splitlines()
    progress.write_text(good[0] + "\nnot json\n" + "\n".join(good[1:]) + "\n")
    before = (out / "runs.jsonl").read_bytes()
    result = _cli(RS, "--runs", 4, "--budget", 2000, "--out", out)
    assert result.returncode == 0, result.stderr
    assert "line 2" in result.stderr
    assert (out / "runs.jsonl").read_bytes() == before
    assert len(progress.read_text().splitlines()) == 5  # nothing appended: nothing recomputed


def test_an_edited_value_in_progress_is_recomputed_not_copied(tmp_path):
    out = tmp_path / "out"
    assert _cli(RS, "--runs", 3, "--budget", 2000, "--out", out).returncode == 0
    before = (out / "runs.jsonl").read_bytes()
    progress = out / "progress.jsonl"
    lines = progress.read_text().splitlines()
    assert all(json.loads(line)["sha"] for line in lines)  # every progress line carries its checksum
    assert b'"sha"' not in before  # runs.jsonl does not
    edited = json.loads(lines[1])
    edited["best_fitness"] += 1.0  # a valid value, of the right type: only the checksum tells
    lines[1] = json.dumps(edited)
    progress.write_text("\n".join(lines) + "\n")
    (out / "runs.jsonl").unlink()
    result = _cli(RS, "--runs", 3, "--budget", 2000, "--out", out)
    assert result.returncode == 0, result.stderr
    assert "line 2" in result.stderr and "checksum does not match" in result.stderr
    assert (out / "runs.jsonl").read_bytes() == before  # the run was recomputed, the edit never copied
    assert len(progress.read_text().splitlines()) == 4


def test_progress_written_before_checksums_still_resumes_byte_identically(tmp_path):
    out = tmp_path / "out"
    assert _cli(RS, "--runs", 3, "--budget", 2000, "--out", out).returncode == 0
    before = (out / "runs.jsonl").read_bytes()
    progress = out / "progress.jsonl"
    old = [{k: v for k, v in json.loads(line).items() if k != "sha"} for line in progress.read_text().splitlines()]
    progress.write_text("".join(encode_run(record) + "\n" for record in old))
    (out / "runs.jsonl").unlink()
    result = _cli(RS, "--runs", 3, "--budget", 2000, "--out", out)
    assert result.returncode == 0 and "warning" not in result.stderr, result.stderr
    assert (out / "runs.jsonl").read_bytes() == before
    assert len(progress.read_text().splitlines()) == 3  # nothing recomputed


def test_fewer_runs_than_stored_says_what_runs_jsonl_shows(tmp_path):
    out = tmp_path / "out"
    assert _cli(RS, "--runs", 5, "--budget", 2000, "--out", out).returncode == 0
    result = _cli(RS, "--runs", 2, "--budget", 2000, "--out", out)
    assert result.returncode == 0 and "5 runs are stored" in result.stderr
    assert len((out / "runs.jsonl").read_text().splitlines()) == 2
    assert len((out / "progress.jsonl").read_text().splitlines()) == 5


def test_an_out_dir_holding_no_runs_accepts_any_config(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "config.json").write_text(json.dumps({"hash": "0000", "config": {}}))
    result = _cli(RS, "--runs", 2, "--budget", 2000, "--out", out)
    assert result.returncode == 0, result.stderr


def test_a_second_writer_is_refused_in_one_line(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    with (out / LOCK).open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        before = _snapshot(out)
        result = _cli(RS, "--runs", 2, "--budget", 2000, "--out", out)
    _one_line_exit_2(result)
    assert "another nasearch process" in result.stderr
    assert _snapshot(out) == before


def _make_file_out(tmp_path):
    target = tmp_path / "afile"
    target.write_text("keep")
    return target


@pytest.mark.parametrize("under", [False, True], ids=["is-a-file", "under-a-file"])
def test_out_naming_a_file_is_one_line(tmp_path, under):
    target = _make_file_out(tmp_path)
    out = target / "sub" if under else target
    _one_line_exit_2(_cli(RS, "--runs", 1, "--out", out))
    _one_line_exit_2(_report(tmp_path, "--out", out))
    assert target.read_text() == "keep"


@pytest.mark.parametrize("name, content", [
    ("config.json", "{not json"),
])
def test_corrupt_out_config_in_run_is_one_line(tmp_path, name, content):
    out = tmp_path / "out"
    out.mkdir()
    (out / name).write_text(content)
    (out / "progress.jsonl").write_text("")
    before = _snapshot(out)
    _one_line_exit_2(_cli(RS, "--runs", 1, "--out", out))
    assert _snapshot(out) == before


def _experiment_dir(tmp_path) -> Path:
    root = tmp_path / "exp"
    (root / "rs").mkdir(parents=True)
    record = {"run": 0, "seed": 0, "label": "rs", "searcher": "rs", "proxy": None, "best_arch": "a",
              "best_fitness": 1.0, "final": {"m": 1.0}, "evaluations": 1, "trajectory": {"t": [1.0], "best": [1.0]}}
    (root / "rs" / "runs.jsonl").write_text(encode_run(record) + "\n")
    return root


@pytest.mark.parametrize("name, content", [
    ("experiment.json", '{"label": "x", "searc'),
    ("timing.json", "{"),
    ("rs/progress.jsonl", "garbage\nmore garbage\n"),
])
def test_report_on_a_corrupt_file_is_one_line(tmp_path, name, content):
    root = _experiment_dir(tmp_path)
    if name == "rs/progress.jsonl":
        (root / "rs" / "runs.jsonl").unlink()
    (root / name).write_text(content)
    before = _snapshot(root)
    _one_line_exit_2(_report(root))
    assert _snapshot(root) == before


def test_report_marks_a_torn_runs_jsonl_incomplete(tmp_path):
    from nasearch.analysis.reading import read_records

    root = _experiment_dir(tmp_path)
    path = root / "rs" / "runs.jsonl"
    path.write_text(path.read_text() + '{"run": 1, "se')
    records, complete = read_records(root / "rs")
    assert len(records) == 1 and not complete


def _imports(path: Path, package: str = "nasearch") -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name == package or name.startswith(package + ".")}


#: the checkout's folders and the package each installs as (setup.py's package_dir)
PACKAGE_FOLDERS = {"nasearch": "nasearch", "nasearch.spaces": "spaces", "nasearch.searchers": "searchers"}


def _package_modules() -> dict[str, Path]:
    modules = {}
    for package, folder in PACKAGE_FOLDERS.items():
        base = ROOT / folder
        for path in base.rglob("*.py"):
            name = ".".join((package, *path.relative_to(base).with_suffix("").parts))
            modules[name.removesuffix(".__init__")] = path
    return modules


def test_no_import_cycles_among_nasearch_modules():
    modules = _package_modules()
    graph = {name: {m for m in _imports(path) if m in modules and m != name} for name, path in modules.items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " -> ".join(stack[stack.index(nxt):] + [nxt]))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)


def test_spaces_import_only_the_protocol_and_errors():
    """A space is one folder under spaces/ that needs nothing of the engine: the protocol, the errors,
    and its own modules (the design card's rule, so a new space cannot grow a tie to the runner)."""
    allowed = ("nasearch.errors", "nasearch.spaces")
    for name, path in _package_modules().items():
        if name.startswith("nasearch.spaces"):
            bad = {m for m in _imports(path) if not any(m == a or m.startswith(a + ".") for a in allowed)}
            assert not bad, f"{path} imports {sorted(bad)}"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
def test_a_signal_mid_run_is_one_line_kills_the_workers_and_the_rerun_resumes(tmp_path, signum):
    """Stopped by SIGTERM (or Ctrl-C's SIGINT) mid-run with two workers: one line, exit 128 + N, no
    worker outlives the parent, and the rerun finishes the rest into the bytes of an uninterrupted run."""
    import os
    import time

    from tests.test_bad_input_catalogue import NOISE, _descendants, _survivors

    out, clean = tmp_path / "out", tmp_path / "clean"
    command = [sys.executable, "run_search.py", str(RS), "--runs", "60", "--budget", "12000", "--workers", "2"]
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    process = subprocess.Popen([*command, "--out", str(out)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    progress, seen, deadline = out / "progress.jsonl", {}, time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        seen.update(_descendants(process.pid))
        if progress.is_file() and progress.read_bytes().count(b"\n") >= 3:
            break
        time.sleep(0.01)
    seen.update(_descendants(process.pid))
    process.send_signal(signum)
    stderr = process.communicate(timeout=60)[1]
    assert process.returncode == 128 + signum, stderr
    lines = [line for line in stderr.splitlines() if line.strip() and not any(n.search(line) for n in NOISE)]
    assert len(lines) == 1 and "finished runs are kept, rerun the same command to resume" in lines[0], stderr
    assert seen and not _survivors(seen), "a worker outlived its parent"
    finished = progress.read_bytes()
    assert 0 < finished.count(b"\n") < 60, "the signal must land mid-run"

    rerun = subprocess.run([*command, "--out", str(out)], cwd=ROOT, env=env, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert progress.read_bytes().startswith(finished[: finished.rfind(b"\n") + 1]), "finished runs were rewritten"
    assert subprocess.run([*command, "--out", str(clean)], cwd=ROOT, env=env, capture_output=True).returncode == 0
    assert (out / "runs.jsonl").read_bytes() == (clean / "runs.jsonl").read_bytes()


# -- a disk that fills up mid-run (#25) --------------------------------------------------------------
#: a prelude for the command: ``PROGRESS_ROOM`` bytes of progress.jsonl fit, then the write fails.
#: ``efbig``: the kernel's own file-size limit (``ulimit -f``; a partial write, then EFBIG);
#: ``enospc``: the run log's writes stop with ENOSPC once the room is used up (a full disk)
_DISK_FULL = {
    "efbig": ("import os, resource, signal\nsignal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
              "room = int(os.environ['PROGRESS_ROOM'])\n"
              "resource.setrlimit(resource.RLIMIT_FSIZE, (room, resource.RLIM_INFINITY))\n"),
    "enospc": ("import errno, io, os, builtins\n_open = io.open\nroom = [int(os.environ['PROGRESS_ROOM'])]\n"
               "class Disk:\n"
               "    def __init__(self, handle):\n        self.handle = handle\n"
               "    def write(self, text):\n"
               "        if len(text) > room[0]:\n"
               "            self.handle.write(text[:room[0]]); self.handle.flush(); room[0] = 0\n"
               "            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))\n"
               "        room[0] -= len(text)\n        return self.handle.write(text)\n"
               "    def __getattr__(self, name):\n        return getattr(self.handle, name)\n"
               "def _full(file, mode='r', *args, **kwargs):\n"
               "    handle = _open(file, mode, *args, **kwargs)\n"
               "    return Disk(handle) if str(file).endswith('progress.jsonl') and 'a' in mode else handle\n"
               "io.open = builtins.open = _full\n"),
}


@pytest.mark.parametrize("how", sorted(_DISK_FULL))
def test_a_disk_full_mid_run_keeps_the_finished_runs_and_the_rerun_resumes(tmp_path, how):
    """The second run's line does not fit: one line naming progress.jsonl, exit 2, the first run kept
    (the torn rest is cut off on resume), and the rerun's runs.jsonl is a fresh run's, byte for byte."""
    reference = tmp_path / "reference"
    assert _cli(RS, "--runs", 3, "--budget", 2000, "--out", reference).returncode == 0
    first, second = (reference / "progress.jsonl").read_text().splitlines(keepends=True)[:2]
    out = tmp_path / "out"
    code = ("import os, sys\nexec(os.environ['PRELUDE'])\nfrom nasearch.cli import run_search_main\n"
            "sys.exit(run_search_main(sys.argv[1:]))\n")
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "PRELUDE": _DISK_FULL[how],
           "PROGRESS_ROOM": str(len(first) + len(second) // 2)}
    full = subprocess.run([sys.executable, "-c", code, str(RS), "--runs", "3", "--budget", "2000", "--out", str(out),
                           "--workers", "1"], cwd=ROOT, capture_output=True, text=True, env=env)
    assert full.returncode == 2 and "Traceback" not in full.stderr, full.stderr
    messages = [line for line in full.stderr.splitlines() if line.strip() and "run/s]" not in line]  # not the bar
    reason = "File too large" if how == "efbig" else "No space left on device"
    assert len(messages) == 1 and messages[0].startswith(f"nasearch: error: {out / 'progress.jsonl'}: {reason}; "), messages
    kept = (out / "progress.jsonl").read_text()
    assert kept.startswith(first) and len(kept) < len(first) + len(second)  # run 0 whole, run 1 torn
    assert not (out / "runs.jsonl").exists()
    resumed = _cli(RS, "--runs", 3, "--budget", 2000, "--out", out)
    assert resumed.returncode == 0, resumed.stderr
    assert (out / "runs.jsonl").read_bytes() == (reference / "runs.jsonl").read_bytes()
    assert (out / "progress.jsonl").read_text().startswith(first)  # run 0 was not recomputed
    assert len((out / "progress.jsonl").read_text().splitlines()) == 3
