"""SynFlow: synaptic flow at initialisation (Tanaka et al., NeurIPS 2020), as a network score.

Every parameter and buffer is replaced by its absolute value, the network runs in float64
on a single all-ones input, ``R = sum(output)`` is back-propagated, and the score is
``sum |w * dR/dw|`` over the weights of every Conv2d and Linear layer. No data is needed.

BatchNorm: the zero-cost-proxies reference (Abdelfattah et al. 2021) computes ``synflow``
on a copy of the network *without* BatchNorm (``bn=False``); Tanaka et al. run the model in
eval mode, where a fresh BN (running mean 0, var 1, weight 1, bias 0) is the identity up to
a factor ``(1+eps)^-1/2``. We follow the reference: every BatchNorm of a deep copy is
replaced by ``nn.Identity`` (the caller's network is not modified). Float64 is required:
the products over ~20 layers overflow float32 for the larger NB201 cells.
"""
from __future__ import annotations

import copy

import torch
from torch import nn

from nasearch.proxies.gradsign import scored_weights
from nasearch.device import module_device
from nasearch.proxies.registry import ProxySpec

BATCHNORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


def without_batchnorm(network: nn.Module) -> nn.Module:
    """A deep copy of ``network`` with every BatchNorm module replaced by the identity."""
    clone = copy.deepcopy(network)
    for module in list(clone.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, BATCHNORMS):
                setattr(module, name, nn.Identity())
    return clone


def synflow(
    network: nn.Module, inputs=None, labels=None, input_shape: tuple[int, ...] = (3, 32, 32)
) -> float:
    clone = without_batchnorm(network).double()
    with torch.no_grad():
        for tensor in clone.state_dict().values():
            if tensor.is_floating_point():
                tensor.abs_()
    clone.eval()
    weights = scored_weights(clone)
    output = clone(torch.ones((1, *input_shape), dtype=torch.float64, device=module_device(clone)))
    grads = torch.autograd.grad(output.sum(), weights, allow_unused=True)
    with torch.no_grad():
        return float(sum((w * g).abs().sum() for w, g in zip(weights, grads) if g is not None))


SPEC = ProxySpec(
    name="synflow",
    fn=synflow,
    needs_data=False,
    needs_labels=False,
    higher_is_better=True,
    options={"input_shape": (3, 32, 32)},
    description="sum |w * dR/dw| for R = sum(f_|theta|(1)), float64, BN removed (Tanaka et al. 2020)",
)
