"""Each proxy against a value derived by hand or by an independent (numpy) computation."""
from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest
import torch
from scipy import stats
from torch import nn

from nasearch.proxies.registry import available_proxies, get_proxy

N, D, C = 6, 5, 4


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


@pytest.fixture
def linear_case():
    """A bias-free 1-layer linear classifier, a batch, and numpy copies in float64."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(D, C, bias=False)).double()
    x = torch.randn(N, D, dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 3, 1, 0])
    W = net[0].weight.detach().numpy().copy()
    X, Y = x.numpy(), np.eye(C)[y.numpy()]
    return net, x, y, W, X, Y


def mean_ce_grad(W: np.ndarray, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """dL/dW of the batch-mean cross-entropy of z = X W^T: (P - Y)^T X / N."""
    return (softmax(X @ W.T) - Y).T @ X / len(X)


def test_registry_maps_every_proxy_to_a_spec_with_its_own_name():
    for name in available_proxies():
        spec = get_proxy(name)
        assert spec.name == name
        assert spec.needs_data or not spec.needs_labels


def test_grad_norm_is_the_norm_of_the_closed_form_gradient(linear_case):
    net, x, y, W, X, Y = linear_case
    expected = np.linalg.norm(mean_ce_grad(W, X, Y))
    assert get_proxy("grad_norm").fn(net, x, y) == pytest.approx(expected, rel=1e-10)


def test_grad_norm_sums_per_layer_norms_not_the_global_norm():
    torch.manual_seed(1)
    net = nn.Sequential(nn.Linear(D, 3, bias=False), nn.Linear(3, C, bias=False)).double()
    x, y = torch.randn(N, D, dtype=torch.float64), torch.tensor([0, 1, 2, 3, 0, 1])
    grads = torch.autograd.grad(nn.functional.cross_entropy(net(x), y), [net[0].weight, net[1].weight])
    expected = float(grads[0].norm() + grads[1].norm())
    assert get_proxy("grad_norm").fn(net, x, y) == pytest.approx(expected, rel=1e-10)


def test_snip_is_sum_abs_w_times_closed_form_gradient(linear_case):
    net, x, y, W, X, Y = linear_case
    expected = np.abs(W * mean_ce_grad(W, X, Y)).sum()
    assert get_proxy("snip").fn(net, x, y) == pytest.approx(expected, rel=1e-10)


def test_grasp_is_minus_w_dot_hessian_gradient_product(linear_case):
    net, x, y, W, X, Y = linear_case
    G = mean_ce_grad(W, X, Y)
    # Hessian-vector product along G: d/dt grad(W + tG), softmax Jacobian diag(p) - p p^T.
    P, dZ = softmax(X @ W.T), X @ G.T
    dP = P * dZ - P * (P * dZ).sum(1, keepdims=True)
    HG = dP.T @ X / len(X)
    # ... and by central finite differences, independently of the closed form.
    eps = 1e-5
    HG_fd = (mean_ce_grad(W + eps * G, X, Y) - mean_ce_grad(W - eps * G, X, Y)) / (2 * eps)
    np.testing.assert_allclose(HG, HG_fd, rtol=1e-5, atol=1e-10)
    expected = float(-(W * HG).sum())
    assert get_proxy("grasp").fn(net, x, y) == pytest.approx(expected, rel=1e-8)


def test_grasp_single_pass_equals_the_reference_two_pass_with_batchnorm():
    """The reference takes g from a first forward and Hg from a second, graph-building one;
    with BatchNorm in training mode both see the same batch statistics, so one pass is exact."""
    torch.manual_seed(5)
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3)).double()
    x, y = torch.randn(6, 3, 5, 5, dtype=torch.float64), torch.tensor([0, 1, 2, 0, 1, 2])
    weights = [m.weight for m in net if isinstance(m, (nn.Conv2d, nn.Linear))]
    first = torch.autograd.grad(nn.functional.cross_entropy(net(x), y), weights)
    grads = torch.autograd.grad(nn.functional.cross_entropy(net(x), y), weights, create_graph=True)
    hg = torch.autograd.grad(sum((a * b).sum() for a, b in zip(first, grads)), weights)
    expected = float(sum((-w * h).sum() for w, h in zip(weights, hg)).detach())
    assert get_proxy("grasp").fn(net, x, y) == pytest.approx(expected, rel=1e-12)


def test_fisher_two_linear_layers_closed_form():
    torch.manual_seed(2)
    net = nn.Sequential(nn.Linear(D, 3, bias=False), nn.Linear(3, C, bias=False)).double()
    x, y = torch.randn(N, D, dtype=torch.float64), torch.tensor([0, 1, 2, 3, 0, 1])
    W1, W2, X = net[0].weight.detach().numpy(), net[1].weight.detach().numpy(), x.numpy()
    A1 = X @ W1.T
    A2 = A1 @ W2.T
    G2 = (softmax(A2) - np.eye(C)[y.numpy()]) / N
    G1 = G2 @ W2
    # the reference broadcasts each output unit's value over its fan-in (D inputs, then 3)
    expected = sum(0.5 * ((a * g) ** 2).mean(0).sum() * fan for a, g, fan in ((A1, G1, D), (A2, G2, 3)))
    assert get_proxy("fisher").fn(net, x, y) == pytest.approx(expected, rel=1e-10)
    unweighted = sum(0.5 * ((a * g) ** 2).mean(0).sum() for a, g in ((A1, G1), (A2, G2)))
    assert get_proxy("fisher").fn(net, x, y, reference=False) == pytest.approx(unweighted, rel=1e-10)


def test_fisher_keeps_batchnorm_as_the_reference_registration_bn_true():
    """The reference scores the network as built (``@measure("fisher", bn=True)``): BatchNorm in
    training mode stays between the conv and the classifier. Checked against autograd."""
    torch.manual_seed(4)
    net = nn.Sequential(nn.Conv2d(2, 3, 1, bias=False), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(),
                        nn.Linear(3 * 4, C, bias=False)).double()
    x, y = torch.randn(N, 2, 2, 2, dtype=torch.float64), torch.tensor([0, 1, 2, 3, 0, 1])
    net.train()
    a1 = net[0](x)
    a1.retain_grad()
    a2 = net[4](net[3](net[2](net[1](a1))))
    a2.retain_grad()
    nn.functional.cross_entropy(a2, y).backward()
    conv_part = 0.5 * ((a1 * a1.grad).sum((2, 3)) ** 2).mean(0).sum().item()
    linear_part = 0.5 * ((a2 * a2.grad) ** 2).mean(0).sum().item()
    net.zero_grad(set_to_none=True)
    assert get_proxy("fisher").fn(net, x, y) == pytest.approx(2 * conv_part + 12 * linear_part, rel=1e-10)
    assert get_proxy("fisher").version == "3"


def test_fisher_sums_activation_times_gradient_over_space_before_squaring():
    torch.manual_seed(3)
    net = nn.Sequential(nn.Conv2d(2, 3, 1, bias=False), nn.Flatten(), nn.Linear(3 * 4, C, bias=False)).double()
    x, y = torch.randn(N, 2, 2, 2, dtype=torch.float64), torch.tensor([0, 1, 2, 3, 0, 1])
    W1 = net[0].weight.detach().numpy()[:, :, 0, 0]
    W2 = net[2].weight.detach().numpy()
    A1 = np.einsum("ci,nihw->nchw", W1, x.numpy())
    A2 = A1.reshape(N, -1) @ W2.T
    G2 = (softmax(A2) - np.eye(C)[y.numpy()]) / N
    G1 = (G2 @ W2).reshape(A1.shape)
    conv_part = 0.5 * ((A1 * G1).sum((2, 3)) ** 2).mean(0).sum()
    linear_part = 0.5 * ((A2 * G2) ** 2).mean(0).sum()
    # fan-in broadcast as the reference: conv 2*1*1, linear 12
    assert get_proxy("fisher").fn(net, x, y) == pytest.approx(2 * conv_part + 12 * linear_part, rel=1e-10)
    assert get_proxy("fisher").fn(net, x, y, reference=False) == pytest.approx(conv_part + linear_part, rel=1e-10)


def test_synflow_two_layer_linear_product_formula_and_batchnorm_removed():
    torch.manual_seed(4)
    net = nn.Sequential(nn.Linear(D, 3, bias=False), nn.BatchNorm1d(3), nn.ReLU(), nn.Linear(3, C, bias=False))
    with torch.no_grad():  # a BN that would change the answer if it were kept
        net[1].weight.fill_(-3.0)
        net[1].bias.fill_(5.0)
        net[1].running_var.fill_(9.0)
    before = [p.detach().clone() for p in net.parameters()]
    W1, W2 = (np.abs(net[i].weight.detach().numpy().astype(np.float64)) for i in (0, 3))
    R = np.ones(C) @ W2 @ W1 @ np.ones(D)  # sum of outputs of |theta| on an all-ones input
    # Each bias-free layer contributes sum |w * dR/dw| = R, so two layers give 2R.
    assert get_proxy("synflow").fn(net, None, None, input_shape=(D,)) == pytest.approx(2 * R, rel=1e-12)
    for old, new in zip(before, net.parameters()):
        assert torch.equal(old, new.detach())  # the caller's network is untouched


def test_synflow_is_computed_in_double_precision():
    """Forty 32-wide layers of weight ~8: R ~ 256^40 overflows float32 (3e38) but not float64."""
    layers = [nn.Linear(32, 32, bias=False) for _ in range(40)]
    for layer in layers:
        nn.init.constant_(layer.weight, 8.0)
    value = get_proxy("synflow").fn(nn.Sequential(*layers), None, None, input_shape=(32,))
    R = 32 * 256.0**40
    assert math.isfinite(value) and value == pytest.approx(40 * R, rel=1e-9)


def test_naswot_log_det_of_hand_computed_code_kernel():
    # Codes 1100, 1010, 0001: agreements K = [[4,2,1],[2,4,1],[1,1,4]], det 44.
    x = torch.tensor([[1.0, 2.0, -1.0, -3.0], [0.5, -2.0, 1.0, -1.0], [-1.0, -1.0, -0.5, 2.0]])
    net = nn.Sequential(nn.ReLU())
    assert get_proxy("naswot").fn(net, x, None) == pytest.approx(math.log(44.0), rel=1e-12)


def test_naswot_accumulates_kernels_over_relus_and_identical_codes_give_minus_inf():
    x = torch.tensor([[1.0, -1.0], [-1.0, 1.0]])
    net = nn.Sequential(nn.ReLU(), nn.Identity(), nn.ReLU())  # second ReLU sees codes 10 / 01 again
    # First ReLU: K = [[2,0],[0,2]]; second ReLU sees relu(x): codes 10 / 01 again -> K = [[4,0],[0,4]].
    assert get_proxy("naswot").fn(net, x, None) == pytest.approx(math.log(16.0))
    same = torch.tensor([[1.0, -1.0], [2.0, -5.0]])
    assert get_proxy("naswot").fn(nn.Sequential(nn.ReLU()), same, None) == float("-inf")


class HalfSquare(nn.Module):
    """f(x) = ||x||^2 / 2 per sample, so the input Jacobian of sample n is x_n itself."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 0.5 * x.pow(2).sum(1, keepdim=True)


def test_jacob_cov_matches_reference_eig_formula_on_known_jacobians():
    x = torch.randn(8, 10, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    eigenvalues = np.linalg.eig(np.corrcoef(x.numpy()))[0].real  # the reference's formula
    k = 1e-5
    expected = -np.sum(np.log(np.clip(eigenvalues, 0, None) + k) + 1.0 / (np.clip(eigenvalues, 0, None) + k))
    assert get_proxy("jacob_cov").fn(HalfSquare(), x, None) == pytest.approx(expected, rel=1e-6)


def test_jacob_cov_identical_jacobians_hand_value_and_constant_net_is_minus_inf():
    # A linear net has the same Jacobian for every sample: corrcoef = all-ones, eigenvalues (N, 0, ..., 0).
    torch.manual_seed(6)
    x = torch.randn(5, D)
    k = 1e-5
    expected = -(math.log(5 + k) + 1 / (5 + k) + 4 * (math.log(k) + 1 / k))
    assert get_proxy("jacob_cov").fn(nn.Linear(D, C), x, None) == pytest.approx(expected, rel=1e-6)

    class Constant(nn.Module):
        def forward(self, x):
            return x.mul(0.0).sum(1, keepdim=True) + 1.0

    assert get_proxy("jacob_cov").fn(Constant(), x, None) == float("-inf")


def test_gradalign_is_mean_pairwise_cosine_of_per_sample_gradients(linear_case):
    net, x, y, W, X, Y = linear_case
    per_sample = [np.outer(softmax(X[i : i + 1] @ W.T)[0] - Y[i], X[i]).ravel() for i in range(N)]
    cosines = [per_sample[i] @ per_sample[j] / np.linalg.norm(per_sample[i]) / np.linalg.norm(per_sample[j])
               for i in range(N) for j in range(N) if i != j]
    assert get_proxy("gradalign").fn(net, x, y) == pytest.approx(np.mean(cosines), rel=1e-9)


def test_gradalign_uses_per_sample_batchnorm_statistics():
    """Per-sample BN makes x and 2x indistinguishable after the BN, so their gradients are
    parallel (the conv's is halved, the linear's equal): cosine 1 exactly. A shared batch BN
    would normalise them differently and give less than 1."""
    torch.manual_seed(7)
    net = nn.Sequential(nn.Conv2d(2, 3, 1, bias=False), nn.BatchNorm2d(3), nn.Flatten(), nn.Linear(12, C)).double()
    x = torch.randn(1, 2, 2, 2, dtype=torch.float64)
    assert get_proxy("gradalign").fn(net, torch.cat([x, 2 * x]), torch.tensor([1, 1])) == pytest.approx(1.0, abs=1e-6)  # BN eps: not exactly


def test_params_counts_by_hand_and_matches_nb201_recorded_sizes():
    net = nn.Sequential(nn.Conv2d(2, 5, 3, bias=False), nn.BatchNorm2d(5), nn.Flatten(), nn.Linear(3, 4))
    assert get_proxy("params").fn(net, None, None) == 2 * 5 * 9 + 2 * 5 + 3 * 4 + 4
    from nasearch.spaces.nb201.space import NB201Space

    space = NB201Space()
    for arch in [(3, 3, 3, 3, 3, 3), (0, 0, 0, 0, 0, 0), (1, 2, 0, 4, 3, 1)]:
        count = get_proxy("params").fn(space.build_network(arch, 10), None, None)
        assert count / 1e6 == pytest.approx(space.model_size_mb(arch), abs=1e-6)


def test_flops_counts_conv_and_linear_macs_by_hand():
    net = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
        nn.Conv2d(8, 4, 1, stride=2), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 10),
    )
    expected = 32 * 32 * 8 * 3 * 9 + 16 * 16 * 4 * 8 + 4 * 10
    assert get_proxy("flops").fn(net, None, None) == expected
    assert net.training  # mode restored


def test_flops_reproduces_nb201_published_extremes():
    """NAS-Bench-201 reports CIFAR-10 FLOPs from 7.78M (all 'none') to 220.11M (all 3x3 conv)."""
    from nasearch.spaces.nb201.space import NB201Space

    space = NB201Space()
    assert get_proxy("flops").fn(space.build_network((0,) * 6, 10), None, None) / 1e6 == pytest.approx(7.78, abs=0.01)
    assert get_proxy("flops").fn(space.build_network((3,) * 6, 10), None, None) / 1e6 == pytest.approx(220.11, abs=0.01)


def test_random_is_a_deterministic_uniform_hash_of_arch_id_and_seed():
    fn = get_proxy("random").fn
    ids = [f"arch-{i}" for i in range(3000)]
    values = np.array([fn(arch_id=a, seed=0) for a in ids])
    expected = int.from_bytes(hashlib.sha256(b"arch-7|0").digest()[:8], "big") / 2**64
    assert values[7] == expected and fn(arch_id="arch-7", seed=0) == expected
    assert fn(arch_id="arch-7", seed=1) != expected
    assert len(set(values)) == len(values) and values.min() >= 0 and values.max() < 1
    assert stats.kstest(values, "uniform").pvalue > 0.01  # deterministic inputs: not flaky


def test_random_through_the_scorer_needs_no_network_or_data(tmp_path):
    from nasearch.proxies.scorer import ProxyScorer
    from nasearch.spaces.nb201.space import NB201Space

    space = NB201Space()
    scorer = ProxyScorer(space, "random", seed=3)
    arch = (1, 2, 0, 4, 3, 1)
    expected = get_proxy("random").fn(arch_id=space.arch_id(arch), seed=3)
    assert scorer.score(arch).score == expected
    assert scorer.score((1, 2, 0, 4, 3, 2)).score != expected


@pytest.mark.slow
def test_every_proxy_scores_an_nb201_network_through_the_scorer(tiny_npz):
    from nasearch.proxies.data import DataSource
    from nasearch.proxies.scorer import ProxyScorer
    from nasearch.spaces.nb201.space import NB201Space

    space = NB201Space()
    arch = (1, 2, 0, 4, 1, 2)  # small: no 3x3 convs
    for name in available_proxies():
        if name == "gradsign":
            continue  # tested by its owner
        scorer = ProxyScorer(space, name, batch_size=8, seed=0, data=DataSource(npz=str(tiny_npz)))
        first = scorer.compute(arch).score
        assert math.isfinite(first), name
        assert scorer.compute(arch).score == pytest.approx(first, rel=1e-9), name  # same seed, same score
