"""Fisher: channel saliency from activation x gradient (Theis et al. 2018; Turner et al. 2020).

For every Conv2d/Linear layer output ``a`` (shape N x C x ...) and its loss gradient
``g = dL/da``: ``fisher_c = 0.5 * mean_n (sum_spatial a_nc * g_nc)^2``. The loss is the
batch-mean cross-entropy of one batch; ``a`` is the layer's output (bias included), captured
with forward hooks and ``g`` with tensor hooks instead of monkey-patched forwards (same numbers).

One detail of the zero-cost-proxies reference (Abdelfattah et al. 2021, ``fisher.py`` and
``p_utils.reshape_elements`` in SamsungLabs/zero-cost-nas), which earlier versions of this
module missed, is followed by default (``reference=True``):

* **per-weight broadcast**: the reference computes fisher per output channel (``mode='channel'``)
  and then broadcasts each channel's value to the shape of that channel's weights
  (``weight.shape[1:]``) before summing, so a channel counts ``C_in * k_h * k_w`` times (its
  fan-in). The score is ``sum_layers sum_c fan_in(layer) * fisher_c``.

BatchNorm stays in training mode on the batch: the reference registers fisher with
``@measure("fisher", bn=True, mode="channel")`` (the scored network keeps its BatchNorms).
Version 2 of this proxy removed them, reading the registration wrongly as ``bn=False``; on
300 NB201 cells that version ranked CIFAR-10 accuracy at rho -0.43, and it is withdrawn
(version 3 is this definition; scores cached under ``fisher@2`` are never read for it).

``reference=False`` gives the earliest definition (BatchNorm in training mode, each channel
counted once), kept for comparison: on NB201 it ranked CIFAR-10 accuracy at rho 0.39 (N = 3,000).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from nasearch.proxies.gradsign import SCORED_LAYERS
from nasearch.proxies.registry import ProxySpec


def fisher(network: nn.Module, inputs: torch.Tensor, labels: torch.Tensor, reference: bool = True) -> float:
    network.train()
    totals: list[torch.Tensor] = []

    def on_forward(module: nn.Module, args, output: torch.Tensor) -> None:
        activation = output.detach()
        fan_in = math.prod(module.weight.shape[1:]) if reference else 1

        def on_grad(grad: torch.Tensor) -> None:
            product = activation * grad
            per_channel = product.sum(dim=tuple(range(2, product.dim()))) if product.dim() > 2 else product
            totals.append(per_channel.pow(2).mean(0).mul(0.5).sum() * fan_in)

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
    options={"reference": True},
    # version 3: the reference definition (BN kept, per-weight channel count); scores cached by
    # earlier versions ("fisher", "fisher@2") are never read for it
    version="3",
    description="sum over Conv2d/Linear output channels of fan_in*0.5*mean_n(sum a*dL/da)^2, BN in training mode, as the zero-cost reference (Turner et al. 2020)",
)
