"""GradSign (Zhang & Jia, ICLR 2022, Algorithm 1).

score = sum_k | sum_i sign(d loss_i / d theta_k) |, over the weights of every Conv2d and
Linear layer, at the network's initialisation. Higher means the per-sample gradients agree
more in sign, which the paper ties to a smoother, better-trainable loss landscape.

The paper's code runs each sample as its own batch-1 forward/backward with BatchNorm in
training mode, so every sample is normalised by its own statistics; every mode here keeps
that definition.
"""
from __future__ import annotations

import torch
from torch import nn

from nasearch.errors import UsageError
from nasearch.proxies.registry import ProxySpec

SCORED_LAYERS = (nn.Conv2d, nn.Linear)


def scored_weights(network: nn.Module) -> list[nn.Parameter]:
    """The parameters GradSign sums over, in module order; a weight tied between layers counts once."""
    unique: dict[int, nn.Parameter] = {}
    for module in network.modules():
        if isinstance(module, SCORED_LAYERS):
            unique.setdefault(id(module.weight), module.weight)
    return list(unique.values())


def gradsign_loop(network: nn.Module, inputs: torch.Tensor, labels: torch.Tensor) -> float:
    """Reference mode: one batch-1 forward/backward per sample, as the paper's code."""
    network.train()
    weights = scored_weights(network)
    sign_sums = [torch.zeros_like(w, dtype=torch.int32) for w in weights]
    loss_fn = nn.CrossEntropyLoss()
    for i in range(inputs.shape[0]):
        grads = torch.autograd.grad(
            loss_fn(network(inputs[i : i + 1]), labels[i : i + 1]), weights, allow_unused=True
        )
        for total, grad in zip(sign_sums, grads):
            if grad is not None:
                total += torch.sign(grad).to(torch.int32)
    return float(sum(int(total.abs().sum()) for total in sign_sums))


PER_SAMPLE_MODES = ("fast", "loop", "vmap")


def gradsign(network: nn.Module, inputs: torch.Tensor, labels: torch.Tensor, per_sample: str = "fast") -> float:
    """GradSign of ``network`` on one batch; every mode computes the same definition.

    ``fast`` (default) is one batched pass with per-sample BatchNorm and per-layer
    per-sample weight gradients; ``loop`` is the paper's batch-1 reference; ``vmap`` is the
    ``torch.func`` formulation. They agree up to float rounding (exactly in float64).
    """
    if per_sample == "loop":
        return gradsign_loop(network, inputs, labels)
    if per_sample == "fast":
        from nasearch.proxies.gradsign_fast import gradsign_fast

        return gradsign_fast(network, inputs, labels)
    if per_sample == "vmap":
        from nasearch.proxies.gradsign_fast import gradsign_vmap

        return gradsign_vmap(network, inputs, labels)
    raise UsageError(f"gradsign option per_sample must be one of {PER_SAMPLE_MODES}, got {per_sample!r}")


SPEC = ProxySpec(
    name="gradsign",
    fn=gradsign,
    needs_data=True,
    needs_labels=True,
    higher_is_better=True,
    options={"per_sample": "fast"},
    option_choices={"per_sample": PER_SAMPLE_MODES},
    exact_options=("per_sample",),  # the three modes give the same score: not part of the score key
    description="sum over weights of |sum over samples of sign(per-sample gradient)|",
)
