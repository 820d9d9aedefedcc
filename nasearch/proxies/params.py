"""params: the number of trainable parameters -- the simplest baseline every proxy must beat.

Counts every parameter with ``requires_grad`` (conv/linear weights and biases and the
BatchNorm affine weights), the same count NAS-Bench-201 records as a cell's model size, so
the score can be checked against the benchmark. Needs no data; higher = bigger net.
"""
from __future__ import annotations

from torch import nn

from nasearch.proxies.registry import ProxySpec


def params(network: nn.Module, inputs=None, labels=None) -> float:
    return float(sum(p.numel() for p in network.parameters() if p.requires_grad))


SPEC = ProxySpec(
    name="params",
    fn=params,
    needs_data=False,
    needs_labels=False,
    higher_is_better=True,
    trivial=True,
    description="number of trainable parameters",
)
