"""A user's own space plugs in by file, module or entry point; protocol gaps fail in one line."""
from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from nasearch.results import read_runs
from nasearch.errors import UsageError
from nasearch.loading import check_capabilities, describe_space, load_space
from nasearch.spaces.protocol import capabilities, protocol_problems

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "docs" / "custom_space.md"

TOY_SPACE = '''
import numpy as np
from nasearch.spaces.protocol import Evaluation

class ToySpace:
    """8-bit strings; fitness = number of ones (+ a per-arch constant cost)."""
    name = "toy"
    version = "1"
    num_classes = 2

    def __init__(self, bits=8, name=None):
        self.bits = bits
        if name:
            self.name = name

    def sample(self, rng):
        return tuple(int(b) for b in rng.integers(0, 2, self.bits))

    def mutate(self, arch, rng):
        i = int(rng.integers(self.bits))
        return arch[:i] + (1 - arch[i],) + arch[i + 1:]

    def query(self, arch, rng):
        return Evaluation(float(sum(arch)), 1.0)

    def final_metrics(self, arch):
        return {"ones": float(sum(arch))}

    def arch_id(self, arch):
        return "".join(map(str, arch))

    def from_id(self, arch_id):
        return tuple(int(c) for c in arch_id)

    def build_network(self, arch, num_classes=2):
        import torch
        width = 2 + sum(arch)
        return torch.nn.Sequential(torch.nn.Linear(4, width), torch.nn.ReLU(), torch.nn.Linear(width, num_classes))

    def proxy_batch(self, batch_size, seed):
        import torch
        g = torch.Generator().manual_seed(seed)
        return torch.randn(batch_size, 4, generator=g), torch.randint(0, 2, (batch_size,), generator=g)
'''


def write_toy(directory: Path, body: str = TOY_SPACE, name: str = "toy_space.py") -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(body))
    return path


def nasearch_cli(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """``nasearch ARGS`` in ``cwd`` (through python, so no install is needed)."""
    code = "import sys; from nasearch.cli import main; sys.exit(main())"
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, env=environment,
                          capture_output=True, text=True, timeout=600)


# -- loading -------------------------------------------------------------------------------
def test_space_loads_from_a_file_path_relative_to_cwd(tmp_path, monkeypatch):
    write_toy(tmp_path)
    monkeypatch.chdir(tmp_path)
    space = load_space({"class": "toy_space.py:ToySpace", "args": {"bits": 5}})
    arch = space.sample(np.random.default_rng(0))
    assert len(arch) == 5 and space.from_id(space.arch_id(arch)) == arch
    assert capabilities(space) == ["proxy_batch"]
    assert describe_space(space) == "toy@1 (capabilities: proxy_batch)"
    # the same file twice is one module, so both spaces are of one class
    assert type(load_space({"class": str(tmp_path / "toy_space.py") + ":ToySpace"})) is type(space)


def test_space_loads_by_module_colon_class(tmp_path, monkeypatch):
    package = tmp_path / "my_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    write_toy(package, name="spaces_mod.py")
    monkeypatch.syspath_prepend(str(tmp_path))
    space = load_space({"class": "my_pkg.spaces_mod:ToySpace"})
    assert space.name == "toy" and protocol_problems(space) == []


def test_space_loads_by_entry_point(tmp_path, monkeypatch):
    write_toy(tmp_path, name="toy_ep_mod.py")
    dist = tmp_path / "toy_ep-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-ep\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[nasearch.spaces]\ntoyspace = toy_ep_mod:ToySpace\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    space = load_space({"name": "toyspace", "args": {"bits": 3}})
    assert space.bits == 3
    with pytest.raises(UsageError, match=r"unknown space 'nope'.*'toyspace'"):
        load_space({"name": "nope"})


def test_nb201_goes_through_the_same_path():
    space = load_space({"name": "nb201"})
    assert protocol_problems(space) == [] and "encoding" in capabilities(space)


@pytest.mark.parametrize(
    "edit, message",
    [
        (("    def sample(self, rng):", "    def sample(self):"), "sample() cannot be called as sample(rng)"),
        (("    def mutate(self, arch, rng):", "    mutate = 3\n    def _unused(self, arch, rng):"),
         "mutate = 3 is not a method; nasearch calls mutate(arch, rng)"),
        (("    def build_network(self, arch, num_classes=2):", "    def _no_build(self, arch, num_classes=2):"),
         "missing build_network(arch, num_classes)"),
        (("    def query(self, arch, rng):", "    def query(self, arch, rng, epochs):"),
         "query(arch, rng, epochs) cannot be called as query(arch, rng)"),
        (('    version = "1"', "    version = 1"), "needs a string attribute 'version'"),
        (("    def proxy_batch(self, batch_size, seed):", "    def proxy_batch(self, batch_size):"),
         "proxy_batch(batch_size) cannot be called as proxy_batch(batch_size, seed)"),
    ],
)
def test_protocol_violations_are_named_in_one_line(tmp_path, edit, message):
    old, new = edit
    assert old in TOY_SPACE
    write_toy(tmp_path, TOY_SPACE.replace(old, new), name="bad.py")
    with pytest.raises(UsageError) as caught:
        load_space({"class": f"{tmp_path / 'bad.py'}:ToySpace"})
    text = str(caught.value)
    assert message in text and "\n" not in text and "see docs/custom_space.md" in text


def test_bad_class_paths_are_usage_errors(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_toy(tmp_path)
    for spec, pattern in [
        ({"class": "missing_file.py:X"}, "file 'missing_file.py' not found"),
        ({"class": "toy_space.py:Nope"}, "has no 'Nope'"),
        ({"class": "no_such_module_xyz:Space"}, "module 'no_such_module_xyz' not found"),
        ({"class": "NoColon"}, "is not 'package.module:Name'"),
        ({"class": "toy_space.py:ToySpace", "args": {"colour": 1}}, r"unknown \['colour'\]; allowed: \['bits', 'name'\]"),
    ]:
        with pytest.raises(UsageError, match=pattern):
            load_space(spec)


def test_searcher_needing_a_missing_capability_says_so(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    space = load_space({"class": f"{write_toy(tmp_path)}:ToySpace"})

    class NeedsEncoding:
        name = "needs"
        requires = ("choices",)

    with pytest.raises(UsageError, match=r"needs the encoding capability \(choices\(\) \+ encode\(arch\) \+ decode\(indices\)\); space 'toy' lacks it"):
        check_capabilities(NeedsEncoding, space)
    NeedsEncoding.requires = ("encoding", "choices", "encode")  # capability names; members stand for theirs
    with pytest.raises(UsageError, match=r"needs the encoding capability \(choices\(\)[^;]*\); space 'toy'"):
        check_capabilities(NeedsEncoding, space)
    NeedsEncoding.requires = ("teleport",)
    with pytest.raises(UsageError, match=r"requires 'teleport', which is no capability of the space protocol"):
        check_capabilities(NeedsEncoding, space)
    NeedsEncoding.requires = ("encoding",)
    tabular_demo = load_space({"name": "tabular", "args": {"path": str(ROOT / "examples" / "tabular_demo.csv")}})
    check_capabilities(NeedsEncoding, tabular_demo)  # a complete table can be encoded


def test_cli_exits_2_with_one_line_on_a_protocol_violation(tmp_path):
    write_toy(tmp_path, TOY_SPACE.replace("    def sample(self, rng):", "    def sample(self):"), name="bad.py")
    (tmp_path / "bad.yaml").write_text("space: {class: bad.py:ToySpace}\nsearcher: {name: rs}\n")
    result = subprocess.run([sys.executable, str(ROOT / "run_search.py"), "bad.yaml"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "sample() cannot be called as sample(rng)" in lines[0]
    assert not (tmp_path / "results").exists()  # nothing written before the check


# -- scores never cross spaces -------------------------------------------------------------
def test_two_spaces_never_share_cached_scores(tmp_path, monkeypatch):
    from nasearch.proxies.scorer import ProxyScorer
    from nasearch.proxies.store import ScoreCache

    monkeypatch.chdir(tmp_path)
    write_toy(tmp_path)
    first = load_space({"class": "toy_space.py:ToySpace"})
    second = load_space({"class": "toy_space.py:ToySpace", "args": {"name": "toy-other"}})
    cache = ScoreCache(tmp_path / "cache")
    arch = (1, 0, 1, 1, 0, 0, 1, 0)
    a = ProxyScorer(first, "gradsign", batch_size=16, cache=cache, options={"per_sample": "loop"})
    a.score(arch)
    b = ProxyScorer(second, "gradsign", batch_size=16, cache=cache, options={"per_sample": "loop"})
    b.score(arch)
    assert a.live_computations == 1 and b.live_computations == 1  # b did not read a's score
    assert a.key.space == "toy@1" and b.key.space == "toy-other@1" and a.key.dataset == "space"
    assert [i for i, _ in cache.items(a.key)] == ["10110010"] == [i for i, _ in cache.items(b.key)]
    again = ProxyScorer(first, "gradsign", batch_size=16, cache=cache, options={"per_sample": "loop"})
    assert again.score(arch) == a.score(arch) and again.live_computations == 0  # same space: reused


# -- the tutorial --------------------------------------------------------------------------
def tutorial_steps(text: str) -> list[tuple[str, str, str]]:
    """``(kind, argument, body)`` for each marked fenced block of the tutorial, in order."""
    pattern = re.compile(r"<!-- (file|run|stderr)(?:: ([^>]*?))? -->\n```[a-z]*\n(.*?)```", re.S)
    return [(kind, (arg or "").strip(), body) for kind, arg, body in pattern.findall(text)]


def test_tutorial_runs_as_written(tmp_path):
    """Every file the tutorial writes, and every command it runs, from an empty directory."""
    steps = tutorial_steps(TUTORIAL.read_text())
    assert [k for k, _, _ in steps].count("run") == 3
    env = {"NASEARCH_CACHE_DIR": str(tmp_path / "cache")}
    last = None
    for kind, argument, body in steps:
        if kind == "file":
            with (tmp_path / argument).open("a") as handle:
                handle.write(body)
        elif kind == "run":
            for line in body.strip().splitlines():
                argv = shlex.split(line)
                assert argv[0] == "nasearch"
                last = nasearch_cli(*argv[1:], cwd=tmp_path, env=env)
                expected = int(argument.split()[-1]) if argument.startswith("exit") else 0
                assert last.returncode == expected, last.stderr
        else:
            assert last is not None and last.stderr.strip() == body.strip()
    for label in ("my_rea", "my_g_rea"):
        runs = read_runs(tmp_path / "results" / label / "runs.jsonl")
        assert len(runs) == 5 and all(r.evaluations > 0 and "spirals_test" in r.final for r in runs)
    g_runs = read_runs(tmp_path / "results" / "my_g_rea" / "runs.jsonl")
    assert all(r.pool_draws > 0 and r.overhead_seconds > 0 for r in g_runs)


def test_a_query_that_returns_none_is_named_in_one_line(tmp_path):
    """The protocol method and what it returned are named; no traceback into the runner."""
    write_toy(tmp_path, TOY_SPACE.replace("return Evaluation(float(sum(arch)), 1.0)", "return None"))
    (tmp_path / "c.yaml").write_text(
        "space: {class: toy_space.py:ToySpace}\nsearcher: {name: rs}\nbudget_seconds: 10\nruns: 1\nout: out\n")
    done = nasearch_cli("run", "c.yaml", cwd=tmp_path)
    lines = [line for line in done.stderr.splitlines() if line.strip() and "it/s" not in line and "run/s" not in line]
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert any("query(arch, rng) returned None" in line and "Evaluation(fitness, cost_seconds)" in line for line in lines)
