"""Test doubles shared by several test modules."""
from nasearch.proxies.store import ScoreRecord


class CountingScorer:
    """The ProxyScorer interface PoolSelector uses; the score is a fixed function of the arch."""

    higher_is_better = True

    def __init__(self, space, fn):
        self.space, self.fn, self.calls = space, fn, []

    def score(self, arch):
        self.calls.append(arch)
        return ScoreRecord(float(self.fn(arch)), 0.0, "test", "none")
