"""Where proxies run: ``device: auto | cpu | cuda[:N]``.

``auto`` picks CUDA when it is available and otherwise the CPU, saying so once per process;
an explicit ``cuda`` on a machine without CUDA is a usage error raised before any run.
Networks are always built and initialised on the CPU under the seed and only then moved, so a
GPU score starts from the same theta_0 as the CPU score of the same key.
"""
from __future__ import annotations

import contextlib
import os
import re
import sys
import time
from typing import Iterator

from nasearch.errors import UsageError

DEVICE_CHOICES = "auto, cpu, cuda or cuda:N"
_CUDA = re.compile(r"^cuda(?::(\d+))?$")
_noticed = False

#: which clock a score's seconds come from, by device kind (written into each score's provenance)
CPU_CLOCK = "cpu process time"
GPU_CLOCK = "gpu seconds: wall time between cuda synchronize calls"


def _cuda_available() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def resolve_device(spec: str | None, where: str = "device") -> str:
    """``'cpu'`` or ``'cuda:N'`` for a user's device string; usage errors name ``where``."""
    global _noticed
    text = "cpu" if spec is None else str(spec).strip().lower()
    if text == "cpu":
        return "cpu"
    if text == "auto":
        if _cuda_available():
            return _cuda_device(0, where)
        if not _noticed:
            print(f"nasearch: {where}: auto found no CUDA device; proxies run on the CPU", file=sys.stderr)
            _noticed = True
        return "cpu"
    match = _CUDA.match(text)
    if not match:
        raise UsageError(f"{where}: {spec!r} is not a device; use one of {DEVICE_CHOICES}")
    if not _cuda_available():
        import torch

        built = f"built with CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
        raise UsageError(
            f"{where}: {spec!r} asked for, but CUDA is not available here (torch {torch.__version__}, {built}); "
            "use device cpu or auto"
        )
    return _cuda_device(int(match.group(1) or 0), where)


def _cuda_device(index: int, where: str) -> str:
    import torch

    count = torch.cuda.device_count()
    if index >= count:
        raise UsageError(f"{where}: cuda:{index} does not exist; {count} CUDA device(s) visible (cuda:0..cuda:{count - 1})")
    # deterministic cuBLAS needs this before the first handle is created
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    return f"cuda:{index}"


def module_device(network):
    """The device a network's tensors are on (the CPU for a network without any)."""
    import torch

    for tensor in network.parameters():
        return tensor.device
    for tensor in network.buffers():
        return tensor.device
    return torch.device("cpu")


def is_cuda(device: str) -> bool:
    return device.startswith("cuda")


def device_tag(device: str) -> str:
    """The hardware field of a GPU score: the GPU's name, its index, torch, and which clock was measured."""
    import torch

    name = torch.cuda.get_device_name(torch.device(device))
    return f"{name} {device}, torch {torch.__version__}, {GPU_CLOCK}"


def visible_cuda_devices() -> list[str]:
    """Every visible CUDA device, for one precompute worker per GPU (empty without CUDA)."""
    if not _cuda_available():
        return []
    import torch

    return [f"cuda:{i}" for i in range(torch.cuda.device_count())]


@contextlib.contextmanager
def deterministic(device: str) -> Iterator[None]:
    """Deterministic kernels where they exist (cuDNN, torch's deterministic algorithms, warn only)."""
    if not is_cuda(device):
        yield
        return
    import torch

    saved = (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark,
             torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled(),
             torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    # TF32 would round convolutions and matmuls to 10 mantissa bits: keep full float32 as on the CPU
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = saved[0], saved[1]
        torch.use_deterministic_algorithms(saved[2], warn_only=saved[3])
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved[4], saved[5]


class Stopwatch:
    """Seconds of the work on ``device``: CPU process time on the CPU; on a GPU, wall time
    between two ``cuda.synchronize`` calls, so queued kernels are charged to the score that
    launched them (GPU seconds, not the launching thread's CPU time)."""

    def __init__(self, device: str) -> None:
        self.device = device
        self.cuda = is_cuda(device)
        self.started = 0.0

    def _now(self) -> float:
        if self.cuda:
            import torch

            torch.cuda.synchronize(torch.device(self.device))
            return time.perf_counter()
        return time.process_time()

    def start(self) -> None:
        self.started = self._now()

    def stop(self) -> float:
        return self._now() - self.started
