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
``per_sample: fast`` (default) gets the per-sample gradients from one batched pass, as fast
GradSign does (about 2x less CPU than the ``loop`` reference on NB201 at batch 64); the two are
equal in float64. In float32 neither is exact where the score is near zero: a BatchNorm whose
output gradient is spatially constant passes back a gradient that is zero in exact arithmetic
and rounding noise in float32 (tests/test_gradalign.py bounds both at 1e-4 absolute).
Range [-1/(N-1), 1]; higher = less conflict = better, as the GradSign paper argues. Measured
on 3,000 NB201 archs (docs/correlation.md) it is *anti*-correlated with accuracy (rho ~ -0.43):
the direction was kept as the hypothesis says, not flipped to fit the data.
"""
from __future__ import annotations

import torch
from torch import nn

from nasearch.errors import UsageError
from nasearch.proxies.gradsign import scored_weights
from nasearch.proxies.registry import ProxySpec


def mean_pairwise_cosine(unit_sum_sq: float, nonzero: int, n: int) -> float:
    """Mean of ``cos(g_i, g_j)`` over ordered pairs ``i != j`` from ``||sum u_i||^2``."""
    if n < 2:
        raise ValueError("gradalign needs a batch of at least 2 samples")
    return (unit_sum_sq - nonzero) / (n * (n - 1))


def gradalign_loop(network: nn.Module, inputs: torch.Tensor, labels: torch.Tensor) -> float:
    """Reference mode: one batch-1 forward/backward per sample."""
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


def gradalign_fast(network: nn.Module, inputs: torch.Tensor, labels: torch.Tensor) -> float:
    """One batched pass (per-sample BatchNorm, per-layer per-sample weight gradients, as fast
    GradSign); the normalisation and the unit-vector sum run in float64 as in the loop, because
    the score is a small difference of large sums and float32 accumulation would eat it."""
    from nasearch.proxies.gradsign_fast import per_sample_gradients

    grads = list(per_sample_gradients(network, inputs, labels).values())
    n = inputs.shape[0]
    if not grads:
        return mean_pairwise_cosine(0.0, 0, n)
    sq_norms = sum(g.reshape(n, -1).double().pow(2).sum(1) for g in grads)
    nonzero = sq_norms > 0
    inverse = torch.where(nonzero, sq_norms.rsqrt(), torch.zeros_like(sq_norms))
    unit_sum_sq = float(sum((inverse @ g.reshape(n, -1).double()).pow(2).sum() for g in grads))
    return mean_pairwise_cosine(unit_sum_sq, int(nonzero.sum()), n)


PER_SAMPLE_MODES = ("fast", "loop")


def gradalign(network: nn.Module, inputs: torch.Tensor, labels: torch.Tensor, per_sample: str = "fast") -> float:
    """Mean pairwise cosine of per-sample gradients; ``fast`` and ``loop`` agree to float rounding."""
    if per_sample == "fast":
        return gradalign_fast(network, inputs, labels)
    if per_sample == "loop":
        return gradalign_loop(network, inputs, labels)
    raise UsageError(f"gradalign option per_sample must be one of {PER_SAMPLE_MODES}, got {per_sample!r}")


SPEC = ProxySpec(
    name="gradalign",
    fn=gradalign,
    needs_data=True,
    needs_labels=True,
    higher_is_better=True,
    options={"per_sample": "fast"},
    option_choices={"per_sample": PER_SAMPLE_MODES},
    description="mean pairwise cosine of per-sample weight gradients (cosine stiffness, Fort et al. 2019)",
)
