"""NASWOT: the log-determinant of the ReLU binary-code kernel (Mellor et al., ICML 2021).

Each sample's activation pattern is the binary code ``c_i = [x > 0]`` of the input of
every ReLU, over all units. With ``N_A`` units, the kernel is
``K_ij = N_A - Hamming(c_i, c_j)`` (the number of units on which samples i and j agree),
accumulated over all ReLUs in one batched forward pass (BatchNorm in training mode, as the
authors' code, which hooks the inputs of every ``nn.ReLU``). ``score = log|det K|``
(``slogdet``). Higher = more distinct codes = a more expressive untrained net. Identical
codes make ``K`` singular and give ``-inf``. Kernels are accumulated in float64 so the
integer counts stay exact.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from nasearch.proxies.registry import ProxySpec


def code_kernel(codes: torch.Tensor) -> torch.Tensor:
    """``K_ij`` = number of positions on which binary rows ``i`` and ``j`` agree."""
    codes = codes.double()
    return codes @ codes.T + (1.0 - codes) @ (1.0 - codes).T


def naswot(network: nn.Module, inputs: torch.Tensor, labels=None) -> float:
    network.train()
    n = inputs.shape[0]
    kernel = torch.zeros((n, n), dtype=torch.float64)

    def on_forward(module: nn.Module, args, output) -> None:
        nonlocal kernel
        kernel = kernel + code_kernel((args[0].detach().reshape(n, -1) > 0))

    handles = [m.register_forward_hook(on_forward) for m in network.modules() if isinstance(m, nn.ReLU)]
    try:
        with torch.no_grad():
            network(inputs)
    finally:
        for handle in handles:
            handle.remove()
    sign, logdet = np.linalg.slogdet(kernel.numpy())
    return float(logdet) if sign > 0 else float("-inf")


SPEC = ProxySpec(
    name="naswot",
    fn=naswot,
    needs_data=True,
    needs_labels=False,
    higher_is_better=True,
    description="log det of the ReLU binary-code agreement kernel (Mellor et al. 2021)",
)
