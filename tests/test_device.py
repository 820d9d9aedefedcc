"""Device handling: ``device: auto | cpu | cuda[:N]``, and every proxy free of CPU-only code.

Without a GPU the device-independence of each proxy is checked on the CPU: the network and
the batch live on the CPU while torch's *default* device is ``meta``, so a tensor a proxy
creates without ``device=`` lands on ``meta`` and the first operation mixing it with the
network's tensors fails. The same proxies then run through ``ProxyScorer`` with a device
string. The ``gpu`` tests compare CPU and CUDA scores per proxy and skip without CUDA.
"""
from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import stats

from nasearch.device import Stopwatch, deterministic, resolve_device
from nasearch.errors import UsageError
from nasearch.proxies.registry import available_proxies, get_proxy
from nasearch.spaces.nb201.network import NB201Network

PROXY_DIR = Path(__file__).resolve().parents[1] / "nasearch" / "proxies"
HAS_CUDA = torch.cuda.is_available()
SCORING = available_proxies()  # every score (uniform is a selection of the hook, not a proxy)
CASES = [(3, 3, 3, 3, 3, 3), (0, 1, 2, 3, 4, 0), (1, 1, 1, 1, 1, 1), (3, 2, 4, 1, 2, 0), (2, 3, 1, 3, 2, 3)]


def _network(ops, seed: int = 0):
    torch.manual_seed(seed)
    return NB201Network(ops, 10, channels=4, cells_per_stage=1)


def _batch(n: int = 8, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, 32, 32, generator=generator), torch.randint(0, 10, (n,), generator=generator)


def _score(name: str, network, inputs, labels) -> float:
    spec = get_proxy(name)
    extra = {"arch_id": "x", "seed": 0} if spec.needs_arch_id else {}
    return float(spec.fn(network if spec.needs_network else None, inputs, labels, **extra, **spec.options))


def test_cpu_is_cpu_and_none_means_cpu():
    assert resolve_device("cpu") == "cpu"
    assert resolve_device(" CPU ") == "cpu"
    assert resolve_device(None) == "cpu"


@pytest.mark.parametrize("bad", ["gpu", "cuda:x", "cuda:-1", "mps", ""])
def test_unknown_device_is_one_usage_error(bad):
    with pytest.raises(UsageError, match=r"hook\.device: .* is not a device; use one of auto, cpu, cuda"):
        resolve_device(bad, "hook.device")


@pytest.mark.skipif(HAS_CUDA, reason="checks the machine without CUDA")
@pytest.mark.parametrize("asked", ["cuda", "cuda:0", "cuda:3"])
def test_cuda_without_cuda_fails_in_one_line(asked):
    with pytest.raises(UsageError) as info:
        resolve_device(asked, "--device")
    message = str(info.value)
    assert "\n" not in message and "CUDA is not available" in message and "use device cpu or auto" in message


@pytest.mark.skipif(HAS_CUDA, reason="checks the machine without CUDA")
def test_auto_falls_back_to_the_cpu_with_exactly_one_notice(capsys, monkeypatch):
    import nasearch.device as device

    monkeypatch.setattr(device, "_noticed", False)
    assert [resolve_device("auto", "hook.device") for _ in range(3)] == ["cpu"] * 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "auto found no CUDA device" in err


def test_missing_cuda_index_is_named(monkeypatch):
    import nasearch.device as device

    monkeypatch.setattr(device, "_cuda_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert resolve_device("cuda:1") == "cuda:1"
    assert resolve_device("auto") == "cuda:0"
    with pytest.raises(UsageError, match=r"cuda:2 does not exist; 2 CUDA device\(s\) visible"):
        resolve_device("cuda:2")


def test_cpu_stopwatch_measures_process_time_and_deterministic_is_a_no_op_on_cpu():
    flags = (torch.backends.cudnn.deterministic, torch.are_deterministic_algorithms_enabled())
    with deterministic("cpu"):
        assert (torch.backends.cudnn.deterministic, torch.are_deterministic_algorithms_enabled()) == flags
    watch = Stopwatch("cpu")
    watch.start()
    sum(i * i for i in range(200_000))
    assert 0 < watch.stop() < 5


@pytest.mark.parametrize("name", SCORING)
def test_every_proxy_creates_its_tensors_on_the_networks_device(name):
    """Default device ``meta``, network and batch on the CPU: a forgotten ``device=`` fails."""
    network, (inputs, labels) = _network(CASES[1]), _batch()
    reference = _score(name, _network(CASES[1]), inputs, labels)
    with torch.device("meta"):
        moved = _score(name, network, inputs, labels)
    assert moved == reference or (math.isnan(moved) and math.isnan(reference))


def test_no_proxy_converts_to_numpy_without_moving_to_the_cpu_first():
    offenders = []
    for path in sorted(PROXY_DIR.glob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"(?<!\.cpu\(\))\.numpy\(\)", line) and ".cpu()" not in line.split(".numpy()")[0]:
                offenders.append(f"{path.name}:{number}: {line.strip()}")
    assert not offenders, "tensor.numpy() of a possibly-GPU tensor:\n" + "\n".join(offenders)


def test_scorer_with_a_device_string_gives_the_cpu_scores_and_names_the_clock(tiny_npz):
    from nasearch.loading import load_space
    from nasearch.proxies.data import DataSource
    from nasearch.proxies.scorer import ProxyScorer

    space = load_space({"name": "nb201"})
    arch = space.from_id(space.arch_id(space.sample(np.random.default_rng(3))))
    data = DataSource(npz=str(tiny_npz))
    for name in ("synflow", "naswot", "gradsign"):
        plain = ProxyScorer(space, name, batch_size=8, data=data, use_tables=False).compute(arch)
        explicit = ProxyScorer(space, name, batch_size=8, data=data, use_tables=False, device="cpu").compute(arch)
        assert explicit.score == plain.score and explicit.hardware == plain.hardware
        assert "cpu" in plain.hardware


@pytest.mark.skipif(HAS_CUDA, reason="checks the machine without CUDA")
def test_scorer_asked_for_cuda_without_cuda_fails_before_any_work():
    from nasearch.loading import load_space
    from nasearch.proxies.scorer import ProxyScorer

    with pytest.raises(UsageError, match="hook.device: 'cuda' asked for, but CUDA is not available"):
        ProxyScorer(load_space({"name": "nb201"}), "synflow", device="cuda")


# -- on a GPU ----------------------------------------------------------------------------------
@pytest.mark.gpu
@pytest.mark.skipif(not HAS_CUDA, reason="needs CUDA")
@pytest.mark.parametrize("name", SCORING)
def test_cuda_scores_agree_with_cpu_scores(name):
    """Same CPU init moved to the GPU: rho >= 0.999 over a few NB201 cells, max rel diff printed."""
    inputs, labels = _batch(32)
    cpu, gpu = [], []
    for ops in CASES:
        cpu.append(_score(name, _network(ops), inputs, labels))
        with deterministic("cuda:0"):
            gpu.append(_score(name, _network(ops).to("cuda:0"), inputs.to("cuda:0"), labels.to("cuda:0")))
    cpu_a, gpu_a = np.array(cpu), np.array(gpu)
    finite = np.isfinite(cpu_a) & np.isfinite(gpu_a)
    assert (np.isfinite(cpu_a) == np.isfinite(gpu_a)).all(), (cpu, gpu)
    rel = np.abs(gpu_a[finite] - cpu_a[finite]) / np.maximum(np.abs(cpu_a[finite]), 1e-12)
    print(f"{name}: max rel diff cpu vs cuda {rel.max() if rel.size else 0:.3g} over {finite.sum()} nets")
    if np.ptp(cpu_a[finite]) > 0:
        assert stats.spearmanr(cpu_a[finite], gpu_a[finite])[0] >= 0.999
    assert rel.max() < 1e-2 if rel.size else True


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_CUDA, reason="needs CUDA")
def test_cuda_scorer_records_the_gpu_and_gpu_seconds(tiny_npz):
    from nasearch.loading import load_space
    from nasearch.proxies.data import DataSource
    from nasearch.proxies.scorer import ProxyScorer

    space = load_space({"name": "nb201"})
    arch = space.from_id(space.arch_id(space.sample(np.random.default_rng(3))))
    data = DataSource(npz=str(tiny_npz))
    for name in ("synflow", "gradsign"):
        cpu = ProxyScorer(space, name, batch_size=8, data=data, use_tables=False).compute(arch)
        gpu = ProxyScorer(space, name, batch_size=8, data=data, use_tables=False, device="cuda").compute(arch)
        assert torch.cuda.get_device_name(0) in gpu.hardware and "gpu seconds" in gpu.hardware
        assert gpu.score == pytest.approx(cpu.score, rel=1e-3) and gpu.seconds > 0


@pytest.mark.skipif(HAS_CUDA, reason="checks the machine without CUDA")
@pytest.mark.parametrize("command", [["correlate", "--n", "3"], ["precompute", "--limit", "1"]])
def test_cli_device_cuda_without_cuda_exits_2(command, capsys, tmp_path):
    from nasearch import cli

    assert cli.main([*command, "--device", "cuda", "--cache-dir", str(tmp_path)]) == 2
    assert "CUDA is not available" in capsys.readouterr().err


@pytest.mark.skipif(HAS_CUDA, reason="checks the machine without CUDA")
def test_config_hook_device_cuda_without_cuda_is_one_usage_error():
    from nasearch.config import parse_hook

    assert parse_hook({"device": "cpu"}).device == "cpu"
    with pytest.raises(UsageError, match="hook.device: 'cuda:1' asked for"):
        parse_hook({"device": "cuda:1"})
    with pytest.raises(UsageError, match="hook.device: expected auto, cpu, cuda or cuda:N"):
        parse_hook({"device": 0})
