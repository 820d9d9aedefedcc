"""Test doubles shared by several test modules."""
import torch
from torch import nn

from nasearch.proxies.store import ScoreRecord


class TiedLinears(nn.Module):
    """Two Linear layers sharing one weight: a per-sample proxy must treat it as one parameter."""

    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Linear(4, 4, bias=False), nn.Linear(4, 4, bias=False)
        self.b.weight = self.a.weight
        self.head = nn.Linear(4, 10)

    def forward(self, x):
        return self.head(torch.tanh(self.b(torch.tanh(self.a(x.flatten(1)[:, :4])))))


class CountingScorer:
    """The ProxyScorer interface PoolSelector uses; the score is a fixed function of the arch."""

    higher_is_better = True

    def __init__(self, space, fn):
        self.space, self.fn, self.calls = space, fn, []

    def score(self, arch):
        self.calls.append(arch)
        return ScoreRecord(float(self.fn(arch)), 0.0, "test", "none")
