"""gradalign: how well per-sample gradients agree in direction (mean pairwise cosine).

The GradSign paper motivates its score by per-sample gradient *conflict*: samples whose
gradients point in different directions make the loss landscape rough. I could not pin down
one published formula under the name "gradient alignment" in that paper's related work, so
this implements the most defensible published one: the *cosine stiffness* of Fort et al.
("Stiffness: A New Perspective on Generalization in Neural Networks", 2019), the mean over
pairs ``i != j`` of ``cos(g_i, g_j)``; its pessimistic cousin is the *gradient confusion*
of Sankararaman et al. (ICML 2020, ``min_{i!=j} <g_i, g_j>``), which a single outlier pair
decides and which is therefore noisier as a ranking signal.

Precisely: ``g_i`` is the gradient of sample i's cross-entropy w.r.t. the weights of every
Conv2d/Linear layer, flattened and concatenated -- the same parameters and the same
per-sample protocol as GradSign (each sample its own batch-1 forward/backward, BatchNorm in
training mode, so each sample is normalised by its own statistics). With unit vectors
``u_i = g_i / ||g_i||`` (``u_i = 0`` for a zero gradient, counted as orthogonal to all),
``score = (||sum_i u_i||^2 - M) / (N (N - 1))`` where M is the number of non-zero
gradients: exactly the mean pairwise cosine, in O(#params) memory instead of O(N^2).
Range [-1/(N-1), 1]; higher = less conflict = better, as the GradSign paper argues. Measured
on 300 NB201 archs (docs/correlation.md) it is *anti*-correlated with accuracy (rho ~ -0.54):
the direction was kept as the hypothesis says, not flipped to fit the data.
"""
from __future__ import annotations

import torch
from torch import nn

from nasearch.proxies.gradsign import scored_weights
from nasearch.proxies.registry import ProxySpec


def mean_pairwise_cosine(unit_sum_sq: float, nonzero: int, n: int) -> float:
    """Mean of ``cos(g_i, g_j)`` over ordered pairs ``i != j`` from ``||sum u_i||^2``."""
    if n < 2:
        raise ValueError("gradalign needs a batch of at least 2 samples")
    return (unit_sum_sq - nonzero) / (n * (n - 1))


def gradalign(network: nn.Module, inputs: torch.Tensor, labels: torch.Tensor) -> float:
    network.train()
    weights = scored_weights(network)
    unit_sum = [torch.zeros_like(w, dtype=torch.float64) for w in weights]
    nonzero = 0
    for i in range(inputs.shape[0]):
        loss = nn.functional.cross_entropy(network(inputs[i : i + 1]), labels[i : i + 1])
        grads = [torch.zeros_like(w) if g is None else g for w, g in
                 zip(weights, torch.autograd.grad(loss, weights, allow_unused=True))]
        norm = torch.sqrt(sum(g.double().pow(2).sum() for g in grads))
        if norm == 0:
            continue
        nonzero += 1
        for total, g in zip(unit_sum, grads):
            total += g.double() / norm
    unit_sum_sq = float(sum(t.pow(2).sum() for t in unit_sum))
    return mean_pairwise_cosine(unit_sum_sq, nonzero, inputs.shape[0])


SPEC = ProxySpec(
    name="gradalign",
    fn=gradalign,
    needs_data=True,
    needs_labels=True,
    higher_is_better=True,
    description="mean pairwise cosine of per-sample weight gradients (cosine stiffness, Fort et al. 2019)",
)
