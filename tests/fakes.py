"""The test doubles shared by every test module (one set: add new fakes here, not in a test file)."""
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
    """The scorer interface the hook uses (``score``, ``higher_is_better``, ``space``, and the public
    store view ``stored`` / ``known_count`` / ``warm`` / ``check_data``), with a known score per arch:
    ``fn(arch)``, costing ``seconds``. Every request is recorded in ``calls``."""

    higher_is_better = True

    def __init__(self, space, fn, seconds: float = 0.0):
        self.space, self.fn, self.seconds, self.calls = space, fn, seconds, []

    def score(self, arch):
        self.calls.append(arch)
        return ScoreRecord(float(self.fn(arch)), self.seconds, "test", "none")

    def stored(self, arch_id):
        return True

    def known_count(self):
        return 0

    def warm(self):
        pass

    def check_data(self):
        pass
