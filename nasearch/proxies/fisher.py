"""Fisher: channel saliency from activation x gradient (Theis et al. 2018; Turner et al. 2020).

For every Conv2d/Linear layer output ``a`` (shape N x C x ...) and its loss gradient
``g = dL/da``: ``fisher_c = 0.5 * mean_n (sum_spatial a_nc * g_nc)^2``. The loss is the
batch-mean cross-entropy of one batch; ``a`` is the layer's output (bias included), captured
with forward hooks and ``g`` with tensor hooks instead of monkey-patched forwards (same numbers).

Two details of the zero-cost-proxies reference (Abdelfattah et al. 2021, ``fisher.py`` and
``p_utils.reshape_elements`` in SamsungLabs/zero-cost-nas), which earlier versions of this
module missed, are now followed by default (``reference=True``):

* **no BatchNorm**: the reference registers fisher with ``bn=False``, i.e. it scores a copy of
  the network built *without* BatchNorm layers. We score a deep copy whose BatchNorms are
  replaced by the identity (the caller's network is untouched), as ``synflow`` does.
* **per-weight broadcast**: the reference computes fisher per output channel (``mode='channel'``)
  and then broadcasts each channel's value to the shape of that channel's weights
  (``weight.shape[1:]``) before summing, so a channel counts ``C_in * k_h * k_w`` times (its
  fan-in). The score is ``sum_layers sum_c fan_in(layer) * fisher_c``.

``reference=False`` gives the earlier definition (BatchNorm in training mode, each channel
counted once), kept for comparison: on NB201 it ranked CIFAR-10 accuracy at rho 0.39 (N = 3,000).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from nasearch.proxies.gradsign import SCORED_LAYERS
from nasearch.proxies.registry import ProxySpec


def fisher(network: nn.Module, inputs: torch.Tensor, labels: torch.Tensor, reference: bool = True) -> float:
    if reference:
        from nasearch.proxies.synflow import without_batchnorm

        network = without_batchnorm(network)
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
    # version 2: the reference definition (no-BN copy, per-weight channel count); scores cached
    # by earlier versions under plain "fisher" are never read for it
    version="2",
    description="sum over Conv2d/Linear output channels of fan_in*0.5*mean_n(sum a*dL/da)^2, BN removed, as the zero-cost reference (Turner et al. 2020)",
)
