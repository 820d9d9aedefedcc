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
    """``K_ij`` = number of positions on which binary rows ``i`` and ``j`` agree.

    With signs ``s = 2c - 1``, ``s_i . s_j`` = agreements - disagreements, so one matmul
    gives ``K = (s s^T + N_A) / 2``. Entries are +-1 and sums stay below 2^24, so float32
    is exact.
    """
    signs = codes.float() * 2.0 - 1.0
    return ((signs @ signs.T).double() + codes.shape[1]) / 2.0


def naswot(network: nn.Module, inputs: torch.Tensor, labels=None) -> float:
    network.train()
    n = inputs.shape[0]
    kernel = torch.zeros((n, n), dtype=torch.float64, device=inputs.device)
    # An NB201 node feeds several ReLUs (one per outgoing conv edge); each ReLU counts, as in
    # the authors' code, but the kernel of one tensor is computed once. Holding the recent
    # tensors keeps their ids from being reused while they are in this small memo.
    recent: list[tuple[torch.Tensor, torch.Tensor]] = []

    def on_forward(module: nn.Module, args, output) -> None:
        nonlocal kernel
        tensor = args[0]
        for seen, k in recent:
            if seen is tensor:
                break
        else:
            k = code_kernel(tensor.detach().reshape(n, -1) > 0)
            recent.append((tensor, k))
            del recent[:-4]
        kernel = kernel + k

    handles = [m.register_forward_hook(on_forward) for m in network.modules() if isinstance(m, nn.ReLU)]
    try:
        with torch.no_grad():
            network(inputs)
    finally:
        for handle in handles:
            handle.remove()
    sign, logdet = np.linalg.slogdet(kernel.cpu().numpy())
    return float(logdet) if sign > 0 else float("-inf")


SPEC = ProxySpec(
    name="naswot",
    fn=naswot,
    needs_data=True,
    needs_labels=False,
    higher_is_better=True,
    description="log det of the ReLU binary-code agreement kernel (Mellor et al. 2021)",
)
