"""flops: forward multiply-accumulates of the Conv2d and Linear layers at a 32x32 input.

Counted with forward hooks on one all-zeros input (eval mode, no gradient), so the count
follows the network as it actually runs (strides, padding, skipped modules) rather than a
parallel description of it: a Conv2d costs ``out_elements * (C_in / groups) * kH * kW``
MACs, a Linear ``out_elements * in_features``. Bias additions, BatchNorm, pooling and
element-wise ops are not counted (they are a few percent and the usual convention, e.g.
NAS-Bench-201's own FLOPs report conv/linear multiply-adds). The score is in MACs per image
(1 MAC = 2 FLOPs); higher = bigger net. Needs no data.
"""
from __future__ import annotations

import torch
from torch import nn

from nasearch.device import module_device
from nasearch.proxies.registry import ProxySpec


def layer_macs(module: nn.Module, output: torch.Tensor) -> int:
    """MACs of one Conv2d/Linear call for a batch-1 ``output``."""
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        return output.numel() * (module.in_channels // module.groups) * kh * kw
    if isinstance(module, nn.Linear):
        return output.numel() * module.in_features
    return 0


def flops(network: nn.Module, inputs=None, labels=None, input_shape: tuple[int, ...] = (3, 32, 32)) -> float:
    total = 0

    def on_forward(module: nn.Module, args, output: torch.Tensor) -> None:
        nonlocal total
        total += layer_macs(module, output)

    handles = [m.register_forward_hook(on_forward) for m in network.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    was_training = network.training
    try:
        network.eval()
        with torch.no_grad():
            network(torch.zeros((1, *input_shape), device=module_device(network)))
    finally:
        network.train(was_training)
        for handle in handles:
            handle.remove()
    return float(total)


SPEC = ProxySpec(
    name="flops",
    fn=flops,
    needs_data=False,
    needs_labels=False,
    higher_is_better=True,
    trivial=True,
    options={"input_shape": (3, 32, 32)},
    description="forward MACs of Conv2d/Linear layers at a 3x32x32 input",
)
