"""grad_norm: the summed L2 norms of the loss gradient of every Conv2d/Linear weight.

Definition as the zero-cost-proxies reference (Abdelfattah et al., ICLR 2021,
``foresight/pruners/measures/grad_norm.py``): one forward/backward of the whole batch with
BatchNorm in training mode (batch statistics), mean cross-entropy, and
``score = sum_l ||dL/dW_l||_2`` over the weight tensors of Conv2d and Linear layers (biases
and BatchNorm affine parameters excluded). Higher = larger gradient signal at init.
"""
from __future__ import annotations

import torch
from torch import nn

from nasearch.proxies.gradsign import scored_weights
from nasearch.proxies.registry import ProxySpec


def weight_gradients(network: nn.Module, inputs: torch.Tensor, labels: torch.Tensor) -> tuple[list, list]:
    """(weights, gradients of the mean cross-entropy) over Conv2d/Linear weights, BN in train mode.

    Shared by grad_norm and snip, which differ only in how they reduce the gradient.
    """
    network.train()
    weights = scored_weights(network)
    loss = nn.functional.cross_entropy(network(inputs), labels)
    grads = torch.autograd.grad(loss, weights, allow_unused=True)
    return weights, [torch.zeros_like(w) if g is None else g for w, g in zip(weights, grads)]


def grad_norm(network: nn.Module, inputs: torch.Tensor, labels: torch.Tensor) -> float:
    _, grads = weight_gradients(network, inputs, labels)
    return float(sum(g.norm() for g in grads))


SPEC = ProxySpec(
    name="grad_norm",
    fn=grad_norm,
    needs_data=True,
    needs_labels=True,
    higher_is_better=True,
    description="sum over Conv2d/Linear weights of ||dL/dW||_2 (Abdelfattah et al. 2021)",
)
