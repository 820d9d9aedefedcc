"""NAS-Bench-201 as a :class:`~nasearch.spaces.protocol.SearchSpace`, over one of three backends.

The space owns what is the same for every backend (genotypes, ids, mutation, the torch
network); a backend owns only the recorded results, so searching the embedded table and
the official file differ in nothing but the numbers they return.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from nasearch.spaces.nb201.genotype import NUM_ARCHS, NUM_EDGES, OPS, Genotype, check_genotype, from_arch_str, from_index, to_arch_str
from nasearch.spaces.protocol import Evaluation

BACKENDS = ("embedded", "nb201", "nats")


def make_backend(backend: str, dataset: str, path: str | None):
    if backend == "embedded":
        from nasearch.spaces.nb201.embedded import EmbeddedBackend

        return EmbeddedBackend(dataset)
    if backend in ("nb201", "nats"):
        from nasearch.spaces.nb201.official import OfficialBackend

        return OfficialBackend(kind=backend, dataset=dataset, path=path)
    raise ValueError(f"unknown NB201 backend {backend!r}; use one of {BACKENDS}")


#: the cell's input->output paths as edge indices (edges in arch-string order (1<-0), (2<-0), (2<-1),
#: (3<-0), (3<-1), (3<-2)), and where each path length's block starts in the path encoding
_CELL_PATHS = ((3,), (0, 4), (1, 5), (0, 2, 5))
_PATH_OFFSETS = {1: 0, 2: 5, 3: 30}


class NB201Space:
    """NAS-Bench-201's 15,625 cells. ``dataset`` is the one whose validation accuracy is searched."""

    name = "nb201"
    version = "1"

    def __init__(self, backend: str = "embedded", dataset: str = "cifar10", path: str | None = None) -> None:
        if path is not None and backend == "embedded":
            from nasearch.errors import UsageError

            # the embedded tables are in the package: a path would be silently ignored
            raise UsageError(f"space.args.path: the embedded nb201 backend reads no file; add backend: nb201 (a .pth)"
                             f" or nats (a NATS-Bench folder) to read {path!r}, or drop path")
        self.backend_name = backend
        self.dataset = dataset
        self.backend = make_backend(backend, dataset, path)

    # -- protocol -----------------------------------------------------------------------
    def sample(self, rng: np.random.Generator) -> Genotype:
        return tuple(int(op) for op in rng.integers(len(OPS), size=NUM_EDGES))  # type: ignore[return-value]

    def mutate(self, arch: Genotype, rng: np.random.Generator) -> Genotype:
        """Change one random edge to a *different* op, as AutoDL's REA does."""
        edge = int(rng.integers(NUM_EDGES))
        new_op = int(rng.integers(len(OPS) - 1))
        if new_op >= arch[edge]:
            new_op += 1
        ops = list(arch)
        ops[edge] = new_op
        return tuple(ops)  # type: ignore[return-value]

    def neighbours(self, arch: Genotype) -> list[Genotype]:
        """Every one-op change of one of the 6 edges (24 cells), edge by edge, ops in index order:
        the cells :meth:`mutate` can reach (NASLib's NB201 neighbourhood, unshuffled)."""
        out = []
        for edge in range(NUM_EDGES):
            for op in range(len(OPS)):
                if op != arch[edge]:
                    out.append(arch[:edge] + (op,) + arch[edge + 1:])
        return out  # type: ignore[return-value]

    def query(self, arch: Genotype, rng: np.random.Generator) -> Evaluation:
        return self.backend.query(arch, rng)

    def final_metrics(self, arch: Genotype) -> dict[str, float]:
        return self.backend.final_metrics(arch)

    def arch_id(self, arch: Genotype) -> str:
        return to_arch_str(arch)

    def from_id(self, arch_id: str) -> Genotype:
        return from_arch_str(arch_id)

    def build_network(self, arch: Genotype, num_classes: int = 10):
        from nasearch.spaces.nb201.network import NB201Network

        return NB201Network(arch, num_classes)

    # -- optional capabilities ------------------------------------------------------------
    def all_archs(self) -> list[Genotype]:
        """Every architecture, in index order: lets ``nasearch precompute`` cover the space."""
        return [from_index(i) for i in range(NUM_ARCHS)]

    def choices(self) -> Sequence[Sequence[str]]:
        return [OPS] * NUM_EDGES

    def encode(self, arch: Genotype) -> tuple[int, ...]:
        return tuple(arch)

    def decode(self, indices: Sequence[int]) -> Genotype:
        return check_genotype(indices)

    @property
    def max_epochs(self) -> int | None:
        """12 (the search schedule) on the official backends; None on the embedded table, which has
        final results only: the space then does not offer the ``fidelity`` capability at all."""
        return getattr(self.backend, "max_epochs", None) if hasattr(self.backend, "query_at") else None

    def query_at(self, arch: Genotype, epochs: int, rng: np.random.Generator) -> Evaluation:
        if not hasattr(self.backend, "query_at"):
            raise NotImplementedError(
                f"NB201 backend {self.backend_name!r} has no per-epoch results; use backend 'nb201' or 'nats'"
            )
        return self.backend.query_at(arch, epochs, rng)

    def learning_curve(self, arch: Genotype, epochs: int, rng: np.random.Generator) -> dict:
        """Per-epoch validation accuracy / training loss of one trial (official backends only; the
        embedded table has no curves, so the space then lacks the ``learning_curves`` capability)."""
        if not hasattr(self.backend, "learning_curve"):
            raise NotImplementedError(
                f"NB201 backend {self.backend_name!r} has no per-epoch results; use backend 'nb201' or 'nats'"
            )
        return self.backend.learning_curve(arch, epochs, rng)

    #: fixed-length encodings beyond the one-hot (the ``vector_encodings`` capability)
    vector_encodings = ("path",)

    def vector_encoding(self, arch: Genotype, kind: str) -> np.ndarray:
        """BANANAS' path encoding: one bit per op sequence on an input->output path of the cell,
        5 + 25 + 125 = 155 dims; paths through 'none' carry nothing and are left out."""
        if kind != "path":
            raise ValueError(f"NB201 offers the encodings {list(self.vector_encodings)}, not {kind!r}")
        out = np.zeros(5 + 25 + 125, dtype=np.float32)
        ops = tuple(arch)
        for path in _CELL_PATHS:
            seq = [int(ops[e]) for e in path]
            if 0 in seq:  # 'none' cuts the path
                continue
            index = 0
            for op in seq:
                index = index * len(OPS) + op
            out[_PATH_OFFSETS[len(seq)] + index] = 1.0
        return out

    def model_size_mb(self, arch: Genotype) -> float:
        return self.backend.model_size_mb(arch)
