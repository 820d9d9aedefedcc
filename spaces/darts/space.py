"""The DARTS / NAS-Bench-301 space (``space: {name: darts}``) as a search space.

Architectures are :class:`~nasearch.spaces.darts.genotype.Genotype` s of the ``nb301`` design: a
normal and a reduction cell of four nodes, each node two different earlier states through two of
the seven DARTS ops, all four nodes concatenated. Sampling and mutation are NASLib's
(``naslib/search_spaces/nasbench301/graph.py``): a uniform random op per pair and two different
random inputs per node; a mutation changes one op or one input of one pair, redrawn until the
genotype differs. The networks are the DARTS evaluation network at NB301's width and depth
(C = 32, 8 cells) unless ``width`` / ``depth`` say otherwise.

Results come from a backend (``backend: nb301`` = the NAS-Bench-301 surrogate, in
``spaces/darts/nb301.py``); without one the space still samples, mutates, encodes and builds
networks (all that zero-cost proxies and ``nasearch correlate --accuracies`` need), and ``query``
says in one line what is missing.
"""
from __future__ import annotations

import itertools
import re
from typing import Any, Sequence

import numpy as np

from nasearch.errors import UsageError
from nasearch.spaces.darts.genotype import (
    CELLS, NB301, NB301_OPS, Genotype, InvalidGenotype, check, from_compact, read, to_compact,
)

NUM_NODES = NB301.nodes
NUM_OPS = len(NB301_OPS)
#: per node, the ordered pairs of different inputs it may read (node i reads states 0..i+1)
INPUT_PAIRS: tuple[tuple[tuple[int, int], ...], ...] = tuple(
    tuple(p for p in itertools.product(range(i + 2), repeat=2) if p[0] != p[1]) for i in range(NUM_NODES)
)
#: NASLib's DARTS adjacency: 7 vertices per cell (2 inputs, 4 nodes, the output)
_VERTICES = NUM_NODES + 3
#: NASLib's path encoding: per cell and input, every op sequence of length 0..4 (7^0 + ... + 7^4)
_MAX_PATHS = sum(NUM_OPS ** i for i in range(NUM_NODES + 1))

_ID = re.compile(r"^(\d\d(?:-\d\d){7})_(\d\d(?:-\d\d){7})$")


def _compact_id(genotype: Genotype) -> str:
    return "_".join("-".join(f"{source}{op}" for source, op in cell) for cell in to_compact(genotype))


class DartsSpace:
    """The DARTS / NAS-Bench-301 cell space.

    ``width`` / ``depth``: the network's C and number of cells (NB301: 32, 8). ``op_affine``: False
    builds the ops' BatchNorms without scale and shift, as NASLib's NB301 graph (on which its
    ``zc_nasbench301.json`` scores were computed) does. ``backend``: where ``query`` results come
    from (``nb301``: the NAS-Bench-301 surrogate; ``path`` its model files).
    """

    name = "darts"

    def __init__(self, width: int = 32, depth: int = 8, op_affine: bool = True, backend: str | None = None,
                 path: str | None = None) -> None:
        for label, value in (("width", width), ("depth", depth)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise UsageError(f"darts space: {label} must be a positive integer, got {value!r}")
        if width % 2:
            raise UsageError(f"darts space: width must be even (factorized reductions halve it), got {width}")
        if not isinstance(op_affine, bool):
            raise UsageError(f"darts space: op_affine must be true or false, got {op_affine!r}")
        self.width, self.depth, self.op_affine = width, depth, op_affine
        # the networks (hence every proxy score) depend on these: they key the caches through the version
        network = "" if (width, depth, op_affine) == (32, 8, True) else f"-C{width}-L{depth}" + ("" if op_affine else "-naslib")
        self.version = "1" + network
        self.backend_name = backend
        self.backend = _make_backend(backend, path) if backend is not None else None

    # -- protocol -------------------------------------------------------------------------
    def sample(self, rng: np.random.Generator) -> Genotype:
        """NASLib's uniform sample: per node four ops (two per cell) and, per cell, two different inputs."""
        cells: list[list[tuple[str, int]]] = [[], []]
        for node in range(NUM_NODES):
            ops = rng.integers(NUM_OPS, size=4)
            inputs = [rng.choice(node + 2, size=2, replace=False) for _ in CELLS]
            for c in range(2):
                cells[c] += [(NB301_OPS[int(ops[2 * c])], int(inputs[c][0])), (NB301_OPS[int(ops[2 * c + 1])], int(inputs[c][1]))]
        concat = tuple(range(2, NUM_NODES + 2))
        return Genotype(tuple(cells[0]), concat, tuple(cells[1]), concat)

    def mutate(self, arch: Genotype, rng: np.random.Generator) -> Genotype:
        """NASLib's NB301 mutation: one cell, one pair, its op or its input redrawn uniformly (an input
        never equal to the node's other input), repeated until the genotype changes."""
        compact = [list(cell) for cell in to_compact(self._check(arch))]
        while True:
            c, pair, what = int(rng.integers(2)), int(rng.integers(2 * NUM_NODES)), int(rng.integers(2))
            source, op = compact[c][pair]
            if what == 1:
                new = (source, int(rng.integers(NUM_OPS)))
            else:
                choice = int(rng.integers(pair // 2 + 2))
                sibling = compact[c][pair + 1 if pair % 2 == 0 else pair - 1][0]
                new = (choice, op) if choice != sibling else (source, op)
            if new != (source, op):
                compact[c][pair] = new
                return from_compact(compact)

    def query(self, arch: Genotype, rng: np.random.Generator):
        genotype = self._check(arch)  # a bad genotype is named before a missing backend
        return self._backend().query(genotype, rng)

    def final_metrics(self, arch: Genotype) -> dict[str, float]:
        genotype = self._check(arch)
        return self._backend().final_metrics(genotype)

    def arch_id(self, arch: Genotype) -> str:
        """A canonical compact id: per cell the 8 pairs as two digits (input, NASLib op index), joined by
        ``-``, the two cells by ``_`` (``03-13-...-25_00-10-...-10``)."""
        return _compact_id(self._check(arch))

    def from_id(self, arch_id: str) -> Genotype:
        """The genotype of an id; the other notations (a NASLib compact key, a DARTS ``Genotype(...)``
        string) are read too."""
        if not isinstance(arch_id, str):
            raise InvalidGenotype(f"a darts arch id is text such as {_compact_id(self.sample(np.random.default_rng(0)))!r}, got {arch_id!r}")
        match = _ID.match(arch_id.strip())
        if match:
            compact = [[(int(t[0]), int(t[1])) for t in cell.split("-")] for cell in match.groups()]
            return self._check(from_compact(compact))
        return self._check(read(arch_id))

    def build_network(self, arch: Genotype, num_classes: int = 10):
        from nasearch.spaces.darts.network import DartsNetwork

        return DartsNetwork(self._check(arch), self.width, self.depth, num_classes, op_affine=self.op_affine)

    # -- capabilities -------------------------------------------------------------------------
    def choices(self) -> Sequence[Sequence[str]]:
        """Per cell and node: its ordered pair of different inputs, then the op of each of its two pairs."""
        out: list[Sequence[str]] = []
        for _ in CELLS:
            for node in range(NUM_NODES):
                out.append(tuple(f"{a},{b}" for a, b in INPUT_PAIRS[node]))
                out += [NB301_OPS, NB301_OPS]
        return out

    def encode(self, arch: Genotype) -> tuple[int, ...]:
        out: list[int] = []
        for cell in to_compact(self._check(arch)):
            for node in range(NUM_NODES):
                (a, op_a), (b, op_b) = cell[2 * node], cell[2 * node + 1]
                out += [INPUT_PAIRS[node].index((a, b)), op_a, op_b]
        return tuple(out)

    def decode(self, indices: Sequence[int]) -> Genotype:
        sizes = [len(c) for c in self.choices()]
        try:
            values = [int(v) for v in indices]
        except (TypeError, ValueError):
            raise InvalidGenotype(f"darts encoding must be {len(sizes)} option indices, got {indices!r}") from None
        if len(values) != len(sizes) or not all(0 <= v < s for v, s in zip(values, sizes)):
            raise InvalidGenotype(f"darts encoding must be {len(sizes)} option indices within {sizes}, got {list(indices)!r}")
        compact, position = [], 0
        for _ in CELLS:
            cell = []
            for node in range(NUM_NODES):
                a, b = INPUT_PAIRS[node][values[position]]
                cell += [(a, values[position + 1]), (b, values[position + 2])]
                position += 3
            compact.append(cell)
        return from_compact(compact)

    def neighbours(self, arch: Genotype) -> list[Genotype]:
        """NASLib's NB301 neighbourhood: every genotype one op or one input away (an input differing
        from both the pair's own and its sibling's), in cell, pair, op-then-input order."""
        compact = to_compact(self._check(arch))
        out = []
        for c, cell in enumerate(compact):
            for pair, (source, op) in enumerate(cell):
                sibling = cell[pair + 1 - 2 * (pair % 2)][0]
                changes = [(source, o) for o in range(NUM_OPS) if o != op]
                changes += [(s, op) for s in range(pair // 2 + 2) if s not in (source, sibling)]
                for change in changes:
                    new = [list(x) for x in compact]
                    new[c][pair] = change
                    out.append(from_compact(new))
        return out

    #: NASLib's encodings of the DARTS space (``naslib/search_spaces/nasbench301/encodings.py``)
    vector_encodings = ("adjacency", "path")

    def vector_encoding(self, arch: Genotype, kind: str) -> np.ndarray:
        """``adjacency``: NASLib's ``encode_adj``, per cell a 7x7 adjacency (inputs 0-1, nodes 2-5,
        output 6; every node feeds the output) flattened, then the 8 op indices: 114 values.
        ``path``: NASLib's ``encode_paths``, one bit per input->node op sequence (per cell and input,
        7^0 + ... + 7^4 = 2801 slots): 11,204 values. NASLib's ``get_paths`` loops over the first 7
        of the 8 pairs only (``range(len(OPS))``); here every pair contributes its paths."""
        compact = to_compact(self._check(arch))
        if kind == "adjacency":
            parts = []
            for cell in compact:
                matrix = np.zeros((_VERTICES, _VERTICES), dtype=np.float32)
                for pair, (source, _) in enumerate(cell):
                    matrix[source, pair // 2 + 2] = 1.0
                matrix[2:_VERTICES - 1, _VERTICES - 1] = 1.0
                parts += [matrix.ravel(), np.array([op for _, op in cell], dtype=np.float32)]
            return np.concatenate(parts)
        if kind == "path":
            out = np.zeros(4 * _MAX_PATHS, dtype=np.float32)
            for c, cell in enumerate(compact):
                paths: list[list[tuple[int, tuple[int, ...]]]] = [[] for _ in range(NUM_NODES)]  # per node: (input, ops)
                for pair, (source, op) in enumerate(cell):
                    node = pair // 2
                    if source < 2:
                        new = [(source, (op,))]
                    else:
                        new = [(start, ops + (op,)) for start, ops in paths[source - 2]]
                    paths[node] += new
                    for start, ops in new:
                        index = c * 2 * _MAX_PATHS + start * _MAX_PATHS
                        index += sum(NUM_OPS ** j * (o + 1) for j, o in enumerate(ops))
                        out[index] = 1.0
            return out
        raise ValueError(f"the darts space offers the encodings {list(self.vector_encodings)}, not {kind!r}")

    def arch_from_key(self, key: str) -> Genotype:
        """A ``zc_nasbench301.json`` key (NASLib's compact genotype as text, ``[[(0, 4), ...], [...]]``)."""
        return self._check(from_compact(key))

    # -- helpers ----------------------------------------------------------------------------------
    def _check(self, arch: Any) -> Genotype:
        return check(arch if isinstance(arch, Genotype) else read(arch), NB301)

    def _backend(self):
        if self.backend is None:
            raise UsageError(
                "the darts space has no results without a backend: give space args "
                "{backend: nb301, path: <NAS-Bench-301 model dir>} (needs the nasbench301 package), or score "
                "genotypes against a results file with `nasearch correlate --accuracies FILE`"
            )
        return self.backend


def _make_backend(name: str, path: str | None):
    if name == "nb301":
        try:
            from nasearch.spaces.darts.nb301 import NB301Backend
        except ImportError as error:
            raise UsageError(f"darts backend 'nb301' is not available here ({error})") from None
        return NB301Backend(path)
    raise UsageError(f"unknown darts backend {name!r}; use 'nb301' (the NAS-Bench-301 surrogate) or none")
