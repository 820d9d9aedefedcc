"""GradAlign-i and GradAlign-ii (Li & Guo, "GradAlign for Training-free Model Performance
Inference", 2024): two scores of the conflict among per-sample gradients at initialisation.

Both start from the per-sample gradients ``g_i`` (i = 1..N) of sample i's cross-entropy with
respect to the weights of every Conv2d/Linear layer, flattened and concatenated over the
*whole network* -- the same parameters and the same per-sample protocol (batch-1 BatchNorm in
training mode) as GradSign and ``gradalign``, obtained from one batched pass by
:func:`nasearch.proxies.gradsign_fast.per_sample_gradients`. Everything below is a function of
the N x N Gram matrix ``G_ij = <g_i, g_j>`` (float64), so memory beyond the gradients is O(N^2).

* **GradAlign-i** (``gradalign_i``): the mean cosine between each per-sample gradient and the
  mean gradient ``gbar = (1/N) sum_i g_i`` -- how well the samples agree with the direction a
  full-batch step takes. ``score = (1/N) sum_i <g_i, gbar> / (||g_i|| ||gbar||)``, in [-1, 1].
  Higher = more alignment = less conflict = better (the paper's hypothesis).
* **GradAlign-ii** (``gradalign_ii``): ``log det`` of the Gram matrix of the *unit* per-sample
  gradients, ``C_ij = cos(g_i, g_j)``, in (-inf, 0]. It is 0 when the per-sample gradients are
  mutually orthogonal and falls to -inf as they become linearly dependent (aligned). The log
  is taken because the determinant of a 64 x 64 matrix under- or overflows float64 across
  NB201's cells; it does not change the ranking. The cosine normalisation is ours: with raw
  gradients the determinant is dominated by the product of the gradient norms (a size signal),
  not by their geometry. Direction: *lower* = better, i.e. aligned gradients (small volume)
  are scored as good, consistently with GradAlign-i and the same conflict hypothesis. Both
  choices were made before measuring; see docs/correlation.md for what NB201 says.

Choices stated (the paper's text available here does not fix them): whole network, not per
layer (one gradient vector per sample, as GradSign's theory is stated for the whole weight
vector); unit-normalised gradients for -ii; a zero per-sample gradient (a sample no weight
responds to) makes the score undefined -> ``-inf`` for -ii's log det and is dropped from -i's
mean; a net with no gradient at all scores ``-inf`` (ranked last) for -i and ``+inf`` (ranked
last under lower-is-better) for -ii.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from nasearch.proxies.registry import ProxySpec


def gradient_gram(network: nn.Module, inputs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """``G_ij = <g_i, g_j>`` over all Conv2d/Linear weights, float64, per-sample BatchNorm."""
    from nasearch.proxies.gradsign_fast import per_sample_gradients

    n = inputs.shape[0]
    gram = torch.zeros(n, n, dtype=torch.float64, device=inputs.device)
    for grad in per_sample_gradients(network, inputs, labels).values():
        flat = grad.reshape(n, -1).double()
        gram += flat @ flat.T
    return gram


def alignment_with_mean(gram: torch.Tensor) -> float:
    """GradAlign-i from the Gram matrix: mean_i cos(g_i, mean_j g_j) over non-zero g_i."""
    n = gram.shape[0]
    norms = gram.diagonal().clamp_min(0).sqrt()
    mean_sq = float(gram.sum()) / (n * n)  # ||gbar||^2
    nonzero = norms > 0
    if mean_sq <= 0 or not bool(nonzero.any()):
        return -math.inf
    dots = gram.sum(1) / n  # <g_i, gbar>
    cosines = dots[nonzero] / (norms[nonzero] * math.sqrt(mean_sq))
    return float(cosines.mean())


def log_gram_determinant(gram: torch.Tensor) -> float:
    """GradAlign-ii from the Gram matrix: log det of the cosine matrix of the g_i."""
    norms = gram.diagonal().clamp_min(0).sqrt()
    if not bool((norms > 0).all()):
        return math.inf if not bool((norms > 0).any()) else -math.inf
    cosine = gram / torch.outer(norms, norms)
    sign, logdet = torch.linalg.slogdet(cosine)
    return float(logdet) if float(sign) > 0 else -math.inf


def gradalign_i(network: nn.Module, inputs: torch.Tensor, labels: torch.Tensor) -> float:
    if inputs.shape[0] < 2:
        raise ValueError("gradalign_i needs a batch of at least 2 samples")
    return alignment_with_mean(gradient_gram(network, inputs, labels))


def gradalign_ii(network: nn.Module, inputs: torch.Tensor, labels: torch.Tensor) -> float:
    if inputs.shape[0] < 2:
        raise ValueError("gradalign_ii needs a batch of at least 2 samples")
    return log_gram_determinant(gradient_gram(network, inputs, labels))


SPEC_I = ProxySpec(
    name="gradalign_i",
    fn=gradalign_i,
    needs_data=True,
    needs_labels=True,
    higher_is_better=True,
    description="GradAlign-i: mean cosine of per-sample gradients with their mean (Li & Guo 2024)",
)

SPEC_II = ProxySpec(
    name="gradalign_ii",
    fn=gradalign_ii,
    needs_data=True,
    needs_labels=True,
    higher_is_better=False,
    description="GradAlign-ii: log det of the cosine Gram matrix of per-sample gradients, lower=better (Li & Guo 2024)",
)
