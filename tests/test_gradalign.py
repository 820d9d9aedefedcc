"""gradalign: the batched path computes the loop's batch-1 definition.

In float64 the two must agree to rounding. In float32 neither is exact (see the float32 test),
so there the check is against the float64 score.
"""
from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from nasearch.errors import UsageError
from nasearch.proxies.gradalign import gradalign, gradalign_fast, gradalign_loop
from nasearch.spaces.nb201.network import NB201Network
from fakes import TiedLinears
from test_gradsign import NB201_CASES, _batch


@pytest.mark.parametrize("ops", NB201_CASES)
def test_fast_equals_loop_in_float64(ops):
    torch.manual_seed(0)
    network = NB201Network(ops, 10, channels=4, cells_per_stage=1).double()
    x, y = _batch(5, dtype=torch.float64)
    assert gradalign_fast(network, x, y) == pytest.approx(gradalign_loop(network, x, y), rel=1e-9, abs=1e-15)


def test_weight_tied_between_two_layers_is_one_gradient():
    torch.manual_seed(0)
    network = TiedLinears().double()
    x, y = _batch(5, dtype=torch.float64)
    assert gradalign_fast(network, x, y) == pytest.approx(gradalign_loop(network, x, y), rel=1e-9)


def test_fast_float32_is_within_1e4_of_the_float64_score():
    """A BatchNorm whose output gradient is spatially constant passes back a gradient that is
    zero in exact arithmetic and rounding noise in float32, so neither float32 mode is exact;
    both stay within 1e-4 of the float64 score on a scale of [-1/(N-1), 1]. (On 12 NB201 nets
    with real images the loop's worst relative error was 23%, the fast path's 5%, both on
    scores within 6e-4 of zero, which barely moves a rank.)"""
    x, y = _batch(16)
    for seed, ops in enumerate(NB201_CASES[:4]):
        torch.manual_seed(seed)
        network = NB201Network(ops, 10, channels=8, cells_per_stage=2)
        truth = gradalign_loop(copy.deepcopy(network).double(), x.double(), y)
        assert gradalign_fast(network, x, y) == pytest.approx(truth, abs=1e-4)
        assert gradalign_loop(network, x, y) == pytest.approx(truth, abs=1e-4)


def test_unknown_mode_is_a_usage_error():
    x, y = _batch(2)
    with pytest.raises(UsageError, match="per_sample"):
        gradalign(nn.Sequential(nn.Flatten(), nn.Linear(3072, 10)), x, y, per_sample="batched")


# -- GradAlign-i / -ii (Li & Guo) ------------------------------------------------------------
import math

from nasearch.proxies.gradalign_li_guo import alignment_with_mean, gradalign_i, gradalign_ii, log_gram_determinant
from nasearch.proxies.gradsign import scored_weights
from nasearch.proxies.registry import get_proxy


def _loop_gradients(network, x, y):
    """Per-sample gradients the slow way (batch-1 passes), flattened over all scored weights."""
    network.train()
    weights = scored_weights(network)
    rows = []
    for i in range(x.shape[0]):
        loss = nn.functional.cross_entropy(network(x[i:i + 1]), y[i:i + 1])
        grads = torch.autograd.grad(loss, weights, allow_unused=True)
        rows.append(torch.cat([(torch.zeros_like(w) if g is None else g).reshape(-1) for w, g in zip(weights, grads)]))
    return torch.stack(rows).double()


@pytest.mark.parametrize("ops", NB201_CASES[:4])
def test_gradalign_i_and_ii_equal_their_definitions_from_batch1_gradients(ops):
    torch.manual_seed(0)
    network = NB201Network(ops, 10, channels=4, cells_per_stage=1).double()
    x, y = _batch(6, dtype=torch.float64)
    g = _loop_gradients(copy.deepcopy(network), x, y)
    mean = g.mean(0)
    expected_i = float(torch.nn.functional.cosine_similarity(g, mean.expand_as(g), dim=1).mean())
    unit = g / g.norm(dim=1, keepdim=True)
    expected_ii = float(torch.logdet(unit @ unit.T))
    assert gradalign_i(network, x, y) == pytest.approx(expected_i, rel=1e-8)
    assert gradalign_ii(network, x, y) == pytest.approx(expected_ii, rel=1e-8, abs=1e-10)


def test_gram_scores_on_known_geometry():
    orthogonal = torch.eye(4, dtype=torch.float64) * 3.0
    assert log_gram_determinant(orthogonal) == pytest.approx(0.0)
    assert alignment_with_mean(orthogonal) == pytest.approx(0.5)  # cos(e_i, sum e_j / 4) = 1/2
    parallel = torch.ones(4, 4, dtype=torch.float64)
    assert log_gram_determinant(parallel) == -math.inf  # linearly dependent: det 0
    assert alignment_with_mean(parallel) == pytest.approx(1.0)
    assert alignment_with_mean(torch.zeros(3, 3, dtype=torch.float64)) == -math.inf


def test_registered_with_their_directions():
    assert get_proxy("gradalign_i").higher_is_better is True
    assert get_proxy("gradalign_ii").higher_is_better is False
    assert get_proxy("gradalign").name == "gradalign"  # today's name still works
