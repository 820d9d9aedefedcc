"""The test doubles shared by every test module (one set: add new fakes here, not in a test file)."""
import torch
from torch import nn

from nasearch.clock import ProxyCostPolicy
from nasearch.config import HookConfig, SearchConfig
from nasearch.proxies.store import ScoreRecord
from nasearch.runner import SearchContext
from nasearch.spaces.protocol import Evaluation


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


class ToySpace:
    """``edges`` categorical choices over ``ops`` options; fitness rewards op ``target`` on edge 0."""

    name = "toy"
    version = "1"

    def __init__(self, edges: int = 2, ops: int = 3, target: int = 2) -> None:
        self.edges, self.ops, self.target = edges, ops, target

    def sample(self, rng):
        return tuple(int(i) for i in rng.integers(self.ops, size=self.edges))

    def mutate(self, arch, rng):
        edge = int(rng.integers(self.edges))
        new = int(rng.integers(self.ops - 1))
        new += new >= arch[edge]
        return arch[:edge] + (new,) + arch[edge + 1:]

    def fitness(self, arch) -> float:
        return 90.0 + 5.0 * (arch[0] == self.target) + 0.1 * sum(arch)

    def query(self, arch, rng):
        return Evaluation(self.fitness(arch), 10.0)

    def final_metrics(self, arch):
        return {"toy_valid": self.fitness(arch)}

    def arch_id(self, arch):
        return "-".join(map(str, arch))

    def from_id(self, arch_id):
        return tuple(int(p) for p in arch_id.split("-"))

    def build_network(self, arch, num_classes):
        raise NotImplementedError("toy space has no networks")

    def choices(self):
        return [[f"op{j}" for j in range(self.ops)]] * self.edges

    def encode(self, arch):
        return tuple(arch)

    def decode(self, indices):
        return tuple(int(i) for i in indices)


def search_context(space, searcher: str, budget: float = 3000.0, scorer=None, k: int = 5, seed: int = 0,
                   args=None, cost=ProxyCostPolicy("lookup")) -> SearchContext:
    """A context for ``space`` (an object) and a registered searcher, built by
    :meth:`SearchContext.build` like every real run (capabilities and arguments checked); with a
    ``scorer`` the hook selects by it (the config names ``params`` only as a label)."""
    hook = HookConfig(proxy="params", k=k, cost=cost) if scorer is not None else None
    config = SearchConfig(space={"name": space.name}, searcher={"name": searcher, "args": args or {}},
                          hook=hook, budget_seconds=budget, seed=seed, label="t")
    return SearchContext.build(config, space=space, scorer=scorer)


class FakeDartsBackend:
    """A results backend for the DARTS space (``backend.query(genotype, rng)`` /
    ``backend.final_metrics(genotype)``) with a known fitness: the number of separable convolutions
    in both cells plus seeded noise, 100 s per query."""

    def fitness(self, genotype) -> float:
        return float(sum(op.startswith("sep_conv") for op, _ in genotype.normal + genotype.reduce))

    def query(self, genotype, rng):
        return Evaluation(self.fitness(genotype) + float(rng.normal(0, 0.1)), 100.0)

    def final_metrics(self, genotype):
        return {"fake_test": self.fitness(genotype)}
