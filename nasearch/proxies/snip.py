"""SNIP: connection sensitivity summed over the network (Lee et al., ICLR 2019).

Per weight, SNIP's saliency is ``|dL/dc|`` for a multiplicative mask ``c`` at ``c = 1``,
which equals ``|w * dL/dw|``. As the zero-cost-proxies reference (Abdelfattah et al. 2021)
uses it as a network score: ``score = sum |w * dL/dw|`` over Conv2d and Linear weights, one
forward/backward of the whole batch, BatchNorm in training mode, mean cross-entropy. We take
``dL/dw`` directly instead of adding mask parameters: same numbers, less machinery.
"""
from __future__ import annotations

import torch
from torch import nn

from nasearch.proxies.grad_norm import weight_gradients
from nasearch.proxies.registry import ProxySpec


def snip(network: nn.Module, inputs: torch.Tensor, labels: torch.Tensor) -> float:
    weights, grads = weight_gradients(network, inputs, labels)
    with torch.no_grad():
        return float(sum((w * g).abs().sum() for w, g in zip(weights, grads)))


SPEC = ProxySpec(
    name="snip",
    fn=snip,
    needs_data=True,
    needs_labels=True,
    higher_is_better=True,
    description="sum over Conv2d/Linear weights of |w * dL/dw| (Lee et al. 2019)",
)
