"""NAS-Bench-101 cells: validity, pruning and the benchmark's module hash.

A cell is a DAG of at most 7 vertices given as an upper-triangular 0/1 adjacency matrix and one
label per vertex: ``input`` first, ``output`` last, and one of :data:`OPS` in between. As the
benchmark's ``ModelSpec`` does, a cell is first *pruned*: every vertex that is not on some
input->output path is deleted (its rows and columns, and its label); a cell whose input does not
reach its output is invalid. The benchmark's ``NASBench.is_valid`` then also requires at most
:data:`MAX_EDGES` edges in the pruned matrix and at most :data:`NUM_VERTICES` vertices.

Identity is the benchmark's ``graph_util.hash_module`` of the pruned graph (:func:`module_hash`),
computed with the labels ``ModelSpec.hash_spec`` gives it: -1 for the input, -2 for the output and
the op's index in the benchmark's ``available_ops`` order (:data:`OPS`) otherwise. Isomorphic cells
have equal hashes, so the results files key them once.

A :class:`Cell` holds the pruned matrix and ops in the vertex order it was given (pruning keeps the
order, as ``ModelSpec`` does); isomorphic cells share a module hash but are different values,
because the order matters to the network:
the benchmark splits the output's channels among the vertices feeding it and gives the remainder
to the first of them (``compute_vertex_channels``), so two orders of one cell can build networks
that differ by a few channels. The benchmark trained, and its file stores, one order per hash;
:class:`~nasearch.spaces.nb101.space.NB101Space` decides what identifies an architecture (the
hash with a results file, whose stored order it uses; the hash and the order without one).
"""
from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from typing import Sequence

import numpy as np

INPUT = "input"
OUTPUT = "output"
CONV3X3 = "conv3x3-bn-relu"
CONV1X1 = "conv1x1-bn-relu"
MAXPOOL3X3 = "maxpool3x3"
#: the interior ops in the benchmark's ``available_ops`` order: their index is the hash label
OPS: tuple[str, ...] = (CONV3X3, CONV1X1, MAXPOOL3X3)
NUM_VERTICES = 7
MAX_EDGES = 9
#: the upper-triangle positions (src, dst) of a 7-vertex matrix, in row-major order (21 of them)
EDGE_POSITIONS: tuple[tuple[int, int], ...] = tuple(
    (src, dst) for src in range(NUM_VERTICES - 1) for dst in range(src + 1, NUM_VERTICES))

Matrix = tuple[tuple[int, ...], ...]


class CellError(ValueError):
    """A matrix/ops pair that is not a NAS-Bench-101 cell (the message says why, in one line)."""


@dataclass(frozen=True)
class Cell:
    """A valid, pruned NAS-Bench-101 cell in a given vertex order (hashable and picklable).

    Build one with :func:`make_cell`; the constructor does not check its arguments.
    """

    matrix: Matrix
    ops: tuple[str, ...]

    @property
    def num_vertices(self) -> int:
        return len(self.ops)

    @property
    def num_edges(self) -> int:
        return sum(map(sum, self.matrix))

    @functools.cached_property
    def hash(self) -> str:
        """The benchmark's module hash (what the official files key results by)."""
        return module_hash(self.matrix, labels(self.ops))

    def padded(self) -> tuple[list[list[int]], list[str]]:
        """The cell as a 7-vertex matrix and ops list, as the benchmark's API and NASLib hold cells:
        the pruned vertices first, the output last and unused vertices (no edges, labelled
        ``conv3x3-bn-relu``, as NASLib's ``convert_to_cell`` fills them) in between."""
        n = self.num_vertices
        matrix = [[0] * NUM_VERTICES for _ in range(NUM_VERTICES)]
        position = list(range(n - 1)) + [NUM_VERTICES - 1]
        for i in range(n):
            for j in range(n):
                if self.matrix[i][j]:
                    matrix[position[i]][position[j]] = 1
        ops = [CONV3X3] * NUM_VERTICES
        for i in range(n):
            ops[position[i]] = self.ops[i]
        return matrix, ops

    def __repr__(self) -> str:
        rows = ",".join("".join(str(b) for b in row) for row in self.matrix)
        return f"Cell({rows}; {','.join(self.ops)})"


#: 1 on and below the diagonal: what an upper-triangular matrix keeps at 0
_LOWER = np.tril(np.ones((7, 7), dtype=int))


def labels(ops: Sequence[str]) -> list[int]:
    """``ModelSpec.hash_spec``'s vertex labels: -1 input, -2 output, else the op's index in :data:`OPS`."""
    return [-1] + [OPS.index(op) for op in ops[1:-1]] + [-2]


def module_hash(matrix: Sequence[Sequence[int]], labeling: Sequence[int]) -> str:
    """``graph_util.hash_module``: an isomorphism-invariant md5 of a labelled DAG.

    Each vertex starts from the md5 of ``str((out_degree, in_degree, label))``; then, as many times
    as there are vertices, a vertex's hash becomes the md5 of its sorted in-neighbours' hashes,
    ``|``, its sorted out-neighbours' hashes, ``|``, its own hash. The fingerprint is the md5 of
    ``str`` of the sorted list of vertex hashes. Degrees and labels must be Python ints so that
    ``str`` of the tuple reads as it did for the benchmark (``(2, 0, -1)``).
    """
    n = len(labeling)
    rows = [[int(bool(matrix[i][j])) for j in range(n)] for i in range(n)]
    in_edges = [sum(rows[i][j] for i in range(n)) for j in range(n)]
    out_edges = [sum(rows[i]) for i in range(n)]

    def md5(text: str) -> str:
        return hashlib.md5(text.encode("utf-8")).hexdigest()

    hashes = [md5(str((out_edges[v], in_edges[v], int(labeling[v])))) for v in range(n)]
    for _ in range(n):
        hashes = [md5("".join(sorted(hashes[w] for w in range(n) if rows[w][v])) + "|"
                      + "".join(sorted(hashes[w] for w in range(n) if rows[v][w])) + "|" + hashes[v])
                  for v in range(n)]
    return md5(str(sorted(hashes)))


def check_raw(matrix: Sequence[Sequence[int]], ops: Sequence[str]) -> tuple[list[list[int]], list[str]]:
    """The checks of ``ModelSpec.__init__`` and ``NASBench._check_spec`` that precede pruning:
    a square 0/1 upper-triangular matrix of at most 7 vertices, one op per vertex, ``input``
    first, ``output`` last, benchmark ops between. Raises :class:`CellError`."""
    try:
        rows = [[int(value) for value in row] for row in matrix]
    except (TypeError, ValueError):
        raise CellError(f"matrix must be a list of rows of 0/1 integers, got {matrix!r}") from None
    n = len(rows)
    if n < 2 or any(len(row) != n for row in rows):
        raise CellError(f"matrix must be square with at least 2 vertices, got {len(rows)} rows of lengths "
                        f"{[len(r) for r in rows]}")
    if n > NUM_VERTICES:
        raise CellError(f"a NAS-Bench-101 cell has at most {NUM_VERTICES} vertices, got {n}")
    if any(value not in (0, 1) for row in rows for value in row):
        raise CellError("matrix entries must be 0 or 1")
    if any(rows[i][j] for i in range(n) for j in range(i + 1)):
        raise CellError("matrix must be upper triangular (no edge from a vertex to itself or an earlier one)")
    ops = [str(op) for op in ops]
    if len(ops) != n:
        raise CellError(f"{len(ops)} ops for a {n}-vertex matrix: give one op per vertex")
    if ops[0] != INPUT or ops[-1] != OUTPUT:
        raise CellError(f"the first op must be {INPUT!r} and the last {OUTPUT!r}, got {ops[0]!r} and {ops[-1]!r}")
    for op in ops[1:-1]:
        if op not in OPS:
            raise CellError(f"unknown op {op!r}; NAS-Bench-101's ops are {list(OPS)}")
    return rows, ops


def prune(matrix: list[list[int]], ops: list[str]) -> tuple[list[list[int]], list[str]] | None:
    """``ModelSpec._prune``: keep the vertices reachable from the input *and* reaching the output;
    None when the input does not reach the output (an invalid spec)."""
    n = len(ops)
    forward, frontier = {0}, [0]
    while frontier:
        top = frontier.pop()
        for v in range(top + 1, n):
            if matrix[top][v] and v not in forward:
                forward.add(v)
                frontier.append(v)
    backward, frontier = {n - 1}, [n - 1]
    while frontier:
        top = frontier.pop()
        for v in range(top):
            if matrix[v][top] and v not in backward:
                backward.add(v)
                frontier.append(v)
    keep = sorted(forward & backward)
    if len(keep) < 2:  # ModelSpec: more than n - 2 extraneous vertices
        return None
    return [[matrix[i][j] for j in keep] for i in keep], [ops[i] for i in keep]


def spec_problem(matrix: Sequence[Sequence[int]], ops: Sequence[str]) -> tuple[object, str | None]:
    """(the pruned ``(matrix, ops)`` or None, why the cell is outside the benchmark or None).

    Raises :class:`CellError` for a matrix/ops pair that is malformed (see :func:`check_raw`); a
    well-formed pair whose input does not reach the output or that keeps more than 9 edges after
    pruning is *outside the benchmark* (``NASBench.is_valid`` is False), which the second item says."""
    rows, names = check_raw(matrix, ops)
    pruned = prune(rows, names)
    if pruned is None:
        return None, "the input is not connected to the output"
    edges = sum(map(sum, pruned[0]))
    if edges > MAX_EDGES:
        return pruned, f"{edges} edges after pruning; NAS-Bench-101 cells have at most {MAX_EDGES}"
    return pruned, None


def is_valid(matrix: Sequence[Sequence[int]], ops: Sequence[str]) -> bool:
    """``NASBench.is_valid`` of ``ModelSpec(matrix, ops)`` (malformed pairs are not valid)."""
    try:
        return spec_problem(matrix, ops)[1] is None
    except CellError:
        return False


def make_cell(matrix: Sequence[Sequence[int]], ops: Sequence[str]) -> Cell:
    """The benchmark cell of ``ModelSpec(matrix, ops)``: checked and pruned (vertex order kept).
    Raises :class:`CellError` (one line) for anything ``NASBench.is_valid`` would reject."""
    pruned, problem = spec_problem(matrix, ops)
    if problem:
        raise CellError(f"not a NAS-Bench-101 cell: {problem}")
    matrix, ops = pruned
    return Cell(tuple(tuple(row) for row in matrix), tuple(ops))


def try_cell(matrix: Sequence[Sequence[int]], ops: Sequence[str]) -> Cell | None:
    """:func:`make_cell`, or None where the pair is not a valid benchmark cell."""
    try:
        return make_cell(matrix, ops)
    except CellError:
        return None


def distinct_random_cells(count: int, rng) -> list[tuple[str, tuple, tuple]]:
    """``count`` distinct valid cells as ``(module hash, pruned matrix, pruned ops)``, each drawn as the
    benchmark's random spec (an upper-triangular 0/1 matrix, random interior ops; redrawn until valid),
    distinct by hash: synthetic official-format files (the fixtures, benchmarks/nb101_load.py) use it."""
    cells, seen = [], set()
    while len(cells) < count:
        matrix = [[int(v) for v in row] for row in (rng.integers(0, 2, size=(7, 7)) * (1 - _LOWER)).tolist()]
        ops = ["input", *(OPS[int(i)] for i in rng.integers(0, 3, size=5)), "output"]
        pruned, problem = spec_problem(matrix, ops)
        if problem:
            continue
        rows, names = pruned
        digest = module_hash(rows, labels(names))
        if digest not in seen:
            seen.add(digest)
            cells.append((digest, tuple(tuple(r) for r in rows), tuple(names)))
    return cells
