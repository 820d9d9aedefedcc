"""Fisher: channel saliency from activation x gradient (Theis et al. 2018; Turner et al. 2020).

For every Conv2d/Linear layer output ``a`` (shape N x C x ...) and its loss gradient
``g = dL/da``: ``fisher_c = 0.5 * mean_n (sum_spatial a_nc * g_nc)^2``; the score is the sum
over all channels of all such layers. This is the zero-cost-proxies reference's definition
(Abdelfattah et al. 2021, ``fisher.py``: the activation is the layer's output before any
BatchNorm, the loss is the batch-mean cross-entropy, BatchNorm in training mode, one batch).
Biases are included in the layer output, as there. We capture ``a`` with forward hooks and
``g`` with tensor hooks instead of monkey-patching forwards: same numbers.
"""
from __future__ import annotations

import torch
from torch import nn

from nasearch.proxies.gradsign import SCORED_LAYERS
from nasearch.proxies.registry import ProxySpec


def fisher(network: nn.Module, inputs: torch.Tensor, labels: torch.Tensor) -> float:
    network.train()
    totals: list[torch.Tensor] = []

    def on_forward(module: nn.Module, args, output: torch.Tensor) -> None:
        activation = output.detach()

        def on_grad(grad: torch.Tensor) -> None:
            product = activation * grad
            per_channel = product.sum(dim=tuple(range(2, product.dim()))) if product.dim() > 2 else product
            totals.append(per_channel.pow(2).mean(0).mul(0.5).sum())

        if output.requires_grad:
            output.register_hook(on_grad)

    handles = [m.register_forward_hook(on_forward) for m in network.modules() if isinstance(m, SCORED_LAYERS)]
    try:
        loss = nn.functional.cross_entropy(network(inputs), labels)
        loss.backward()
    finally:
        for handle in handles:
            handle.remove()
    network.zero_grad(set_to_none=True)
    return float(sum(t.item() for t in totals))


SPEC = ProxySpec(
    name="fisher",
    fn=fisher,
    needs_data=True,
    needs_labels=True,
    higher_is_better=True,
    description="sum over Conv2d/Linear output channels of 0.5*mean_n(sum a*dL/da)^2 (Turner et al. 2020)",
)
