"""jacob_cov: the correlation of input Jacobians across a batch (Mellor et al. 2020, NASWOT v1).

``J`` holds, per sample, the gradient of the summed network output w.r.t. that sample's
input pixels (one backward of ``sum(f(x))`` over the batch, BatchNorm in training mode, as
the zero-cost-proxies reference). With ``C = corrcoef(J)`` (N x N) and its eigenvalues
``v``, ``score = -sum(log(v + k) + 1/(v + k))``, ``k = 1e-5``. Higher = the Jacobians of
different samples are less correlated, i.e. the untrained net tells the inputs apart.

Two deliberate choices (the reference uses ``np.linalg.eig``, and returns NaN on failure):
``C`` is symmetric, so we use ``eigvalsh`` and clip its round-off negatives to 0; and a
network whose output does not depend on its input (e.g. an NB201 cell of only ``none``
edges: zero Jacobian, undefined correlation) scores ``-inf``, the worst possible value,
rather than NaN, so that ranking and selection stay well-defined.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from nasearch.proxies.registry import ProxySpec

RIDGE = 1e-5


def jacobian_score(jacobians: np.ndarray, ridge: float = RIDGE) -> float:
    """The score of an (N, D) matrix of per-sample Jacobians."""
    if np.any(np.std(jacobians, axis=1) == 0) or not np.all(np.isfinite(jacobians)):
        return float("-inf")
    values = np.clip(np.linalg.eigvalsh(np.corrcoef(jacobians)), 0.0, None)
    return float(-np.sum(np.log(values + ridge) + 1.0 / (values + ridge)))


def jacob_cov(network: nn.Module, inputs: torch.Tensor, labels=None) -> float:
    network.train()
    x = inputs.detach().clone().requires_grad_(True)
    (jacobian,) = torch.autograd.grad(network(x).sum(), x)
    return jacobian_score(jacobian.reshape(len(x), -1).double().cpu().numpy())


SPEC = ProxySpec(
    name="jacob_cov",
    fn=jacob_cov,
    needs_data=True,
    needs_labels=False,
    higher_is_better=True,
    description="-sum(log(v+k)+1/(v+k)) over eigenvalues v of the batch's input-Jacobian correlation",
)
