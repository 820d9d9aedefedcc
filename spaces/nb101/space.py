"""NAS-Bench-101 as a search space (``space: {name: nb101, args: {path: ...}}``).

Architectures are :class:`~nasearch.spaces.nb101.cell.Cell` values: a pruned upper-triangular
adjacency matrix and its vertex ops, valid as the benchmark's ``NASBench.is_valid`` requires
(input connected to output, at most 7 vertices and 9 edges after pruning).

Results come from a *backend*; the space owns everything else (sampling, mutation, encodings,
ids, the network). A backend is any object with

* ``query(cell_hash, epochs, rng) -> Evaluation``: one training of the cell for ``epochs`` epochs
  (fitness = one repeat's validation accuracy, drawn with ``rng``; cost = its training seconds);
* ``final_metrics(cell_hash) -> dict``: mean validation / test accuracy (%) at 108 epochs, keys
  ``cifar10_valid`` and ``cifar10_test``;
* ``max_epochs`` (108) and ``epochs`` (the budgets it has, e.g. ``(108,)`` or ``(4, 12, 36, 108)``);
* ``cell(cell_hash) -> (matrix, ops)``: the cell as the file stores it (raises ``KeyError`` for a
  hash it lacks);
* ``hashes()``: the hashes it holds, a collection supporting ``in`` and ``len``.

``NB101Space(path=...)`` opens the official files through
``nasearch.spaces.nb101.official.load_backend(path, **backend_args)``; ``NB101Space(backend=obj)``
takes a ready backend (tests, other formats).

**Identity.** With a backend, ``arch_id`` is the benchmark's module hash, and every cell the
space hands out (sample, mutate, decode, neighbours, ``from_id``, ``arch_from_key``) is the file's
stored vertex order of that hash, so the network built is the one the benchmark trained.
Sampling and mutation retry until the cell is in the file (on the official files every valid
cell is). Without a backend there is no stored order, and the order matters to the network (the
output's channel remainder goes to the first vertices feeding it), so ``arch_id`` is
``<hash>:<matrix rows>:<op codes>``, e.g.
``28cfc7874f6d200472e1a9dcd8650aa0:0111010-0000001-...:c1.c3.c3.c3.mp`` (no commas or spaces: CSV- and
shell-safe): the hash is its first 32
characters, and ``from_id`` rebuilds the cell from the rest, so ids work in any process without a
file or memo. ``identity: hash`` forces hash ids without a file; ``from_id`` of a bare hash then
knows only the cells this process has seen (built, sampled, or read from a results table).

**Sampling and mutation** are the benchmark's own (its colab ``random_spec`` / ``mutate_spec``,
which the NB101 paper's regularized evolution ran): sample each upper-triangle bit and each op
uniformly until valid; mutate flips each of the 21 edge bits with probability
``mutation_rate / 7`` and resamples each of the 5 interior ops to a *different* op with
probability ``mutation_rate / 5``, retried until valid. The mutation acts on the cell padded to 7
vertices (pruned vertices first, unused ones unconnected, as NASLib pads); it can return the
same cell, as the benchmark's can. (NASLib's ``mutate`` uses op probability 1/3; ``op_mutation``
sets it.)

**Encodings.** Categorical (REINFORCE, BOHB): the 21 upper-triangle bits of the padded matrix
(row-major) then the 5 interior ops (:data:`~nasearch.spaces.nb101.cell.OPS` order).
``decode`` of choices that are not a valid cell *repairs* them instead of failing, so those
searchers keep running: a disconnected cell gets the input->output edge, then while more than 9
edges survive pruning the longest edges (largest dst - src, later sources first) are dropped,
skipping any whose removal disconnects the cell (all choices decode; a full matrix becomes the
7-vertex chain with three skip edges). Vector encodings (predictors): ``adjacency``, NASLib's ``encode_adj``
(21 bits + a one-hot of each interior op, 36 dims) and ``path``, BANANAS' path encoding as NASLib's
``encode_paths`` (one bit per op sequence on an input->output path, 3^0 + ... + 3^5 = 364 dims).
"""
from __future__ import annotations

import ast
import re
from typing import Any, Mapping, Sequence

import numpy as np

from nasearch.errors import UsageError
from nasearch.spaces.nb101.cell import (CONV1X1, CONV3X3, EDGE_POSITIONS, INPUT, MAX_EDGES, MAXPOOL3X3,
                                        NUM_VERTICES, OPS, OUTPUT, Cell, CellError, make_cell, prune, spec_problem,
                                        try_cell)
from nasearch.spaces.protocol import Evaluation

#: op codes in ``arch_id`` strings
OP_CODES = {CONV3X3: "c3", CONV1X1: "c1", MAXPOOL3X3: "mp"}
CODE_OPS = {code: op for op, code in OP_CODES.items()}
#: NASLib's op indices in its keys (``conversions.all_ops``)
NASLIB_OPS = (INPUT, OUTPUT, MAXPOOL3X3, CONV1X1, CONV3X3)
#: NASLib's ``encode_adj`` one-hot of each op
ADJACENCY_ONE_HOT = {CONV1X1: (0, 0, 1), CONV3X3: (0, 1, 0), MAXPOOL3X3: (1, 0, 0)}
PATH_OP_INDEX = {CONV3X3: 0, CONV1X1: 1, MAXPOOL3X3: 2}
NUM_PATHS = sum(3 ** i for i in range(NUM_VERTICES - 1))  # 364
NEEDS_FILE = ("NAS-Bench-101 results need the official file: set space.args.path to nasbench_only108.tfrecord "
              "or nasbench_full.tfrecord (https://storage.googleapis.com/nasbench/)")
_HASH = re.compile(r"^[0-9a-f]{32}$")
MAX_TRIES = 1_000_000


def cell_code(cell: Cell) -> str:
    """``<matrix rows>:<op codes>`` of a cell, e.g. ``0110-0001-0001-0000:c3.mp``."""
    rows = "-".join("".join(str(b) for b in row) for row in cell.matrix)
    return rows + ":" + ".".join(OP_CODES[op] for op in cell.ops[1:-1])


def _flip_repair(matrix: list[list[int]], ops: list[str]) -> Cell:
    """``decode``'s repair of a choice vector that is not a valid cell (see the module docstring)."""
    cell = try_cell(matrix, ops)
    if cell is not None:
        return cell
    matrix = [row[:] for row in matrix]
    if prune(matrix, ops) is None:
        matrix[0][NUM_VERTICES - 1] = 1
    for src, dst in sorted(EDGE_POSITIONS, key=lambda e: (e[0] - e[1], -e[0])):  # longest first
        pruned, problem = spec_problem(matrix, ops)
        if problem is None:
            break
        if not matrix[src][dst]:
            continue
        matrix[src][dst] = 0
        if prune(matrix, ops) is None:
            matrix[src][dst] = 1
    return make_cell(matrix, ops)


class NB101Space:
    """NAS-Bench-101's cells over an optional results backend (see the module docstring)."""

    name = "nb101"
    version = "1"
    #: fixed-length encodings beyond the categorical one (the ``vector_encodings`` capability)
    vector_encodings = ("adjacency", "path")

    def __init__(self, path: str | None = None, backend: Any = None, identity: str = "auto",
                 mutation_rate: float = 1.0, op_mutation: float | None = None, **backend_args: Any) -> None:
        if identity not in ("auto", "hash", "ordered"):
            raise UsageError(f"space.args.identity must be auto, hash or ordered, got {identity!r}")
        if not 0 < float(mutation_rate) <= NUM_VERTICES:
            raise UsageError(f"space.args.mutation_rate must be in (0, 7], got {mutation_rate!r}")
        if op_mutation is not None and not 0 <= float(op_mutation) <= 1:
            raise UsageError(f"space.args.op_mutation must be a probability, got {op_mutation!r}")
        if path is not None and backend is not None:
            raise UsageError("give space.args.path or a backend object, not both")
        if path is not None:
            try:
                from nasearch.spaces.nb101 import official
            except ImportError as exc:
                raise UsageError(f"the NAS-Bench-101 file reader is not available ({exc})") from None
            backend = official.load_backend(path, **backend_args)
        elif backend_args:
            raise UsageError(f"space.args {sorted(backend_args)} are for the results file; give space.args.path too")
        self.backend = backend
        self.identity = ("hash" if backend is not None else "ordered") if identity == "auto" else identity
        self.edge_probability = float(mutation_rate) / NUM_VERTICES
        self.op_probability = float(mutation_rate) / (NUM_VERTICES - 2) if op_mutation is None else float(op_mutation)
        self._hashes = backend.hashes() if backend is not None else None
        self._memo: dict[str, Cell] = {}  # hash -> a cell seen here (from_id of a bare hash without a file)
        self._stored_cells: dict[str, Cell] = {}  # hash -> the file's order of it

    # -- cells as the space hands them out -----------------------------------------------
    def _in_space(self, cell: Cell | None) -> Cell | None:
        """``cell`` as the space represents it (the file's order of its hash), or None when the
        backend lacks it."""
        if cell is None:
            return None
        if self.backend is None:
            return cell
        if cell.hash not in self._hashes:
            return None
        return self._stored(cell.hash)

    def _stored(self, cell_hash: str) -> Cell:
        cell = self._stored_cells.get(cell_hash)
        if cell is None:
            matrix, ops = self.backend.cell(cell_hash)
            cell = make_cell(matrix, ops)
            self._stored_cells[cell_hash] = cell
        return cell

    def cell(self, matrix: Sequence[Sequence[int]], ops: Sequence[str]) -> Cell:
        """The architecture of ``ModelSpec(matrix, ops)``; :class:`UsageError` if not a benchmark cell."""
        try:
            cell = make_cell(matrix, ops)
        except CellError as exc:
            raise UsageError(str(exc)) from None
        found = self._in_space(cell)
        if found is None:
            raise UsageError(f"cell {cell_code(cell)} (hash {cell.hash}) is not in the results file")
        return found

    # -- protocol -----------------------------------------------------------------------
    def sample(self, rng: np.random.Generator) -> Cell:
        """The benchmark's ``random_spec``: uniform edge bits (upper triangle) and ops, until valid."""
        for _ in range(MAX_TRIES):
            bits = np.triu(rng.integers(0, 2, size=(NUM_VERTICES, NUM_VERTICES)), 1)
            ops = [OPS[int(i)] for i in rng.integers(len(OPS), size=NUM_VERTICES)]
            ops[0], ops[-1] = INPUT, OUTPUT
            cell = self._in_space(try_cell(bits.tolist(), ops))
            if cell is not None:
                return cell
        raise UsageError(f"no valid cell of the results file in {MAX_TRIES} random specs: is the file complete?")

    def mutate(self, arch: Cell, rng: np.random.Generator) -> Cell:
        """The benchmark's ``mutate_spec`` (rate ``mutation_rate``), retried until valid."""
        matrix, ops = arch.padded()
        for _ in range(MAX_TRIES):
            new_matrix = [row[:] for row in matrix]
            new_ops = list(ops)
            for src, dst in EDGE_POSITIONS:
                if rng.random() < self.edge_probability:
                    new_matrix[src][dst] = 1 - new_matrix[src][dst]
            for vertex in range(1, NUM_VERTICES - 1):
                if rng.random() < self.op_probability:
                    others = [op for op in OPS if op != new_ops[vertex]]
                    new_ops[vertex] = others[int(rng.integers(len(others)))]
            cell = self._in_space(try_cell(new_matrix, new_ops))
            if cell is not None:
                return cell
        raise UsageError(f"no valid mutation of {cell_code(arch)} in the results file after {MAX_TRIES} tries")

    def _hash_of(self, arch: Cell) -> str:
        if self.backend is None:
            raise UsageError(NEEDS_FILE)
        return arch.hash

    def query(self, arch: Cell, rng: np.random.Generator) -> Evaluation:
        cell_hash = self._hash_of(arch)
        return self.backend.query(cell_hash, self.backend.max_epochs, rng)

    def final_metrics(self, arch: Cell) -> dict[str, float]:
        cell_hash = self._hash_of(arch)
        return self.backend.final_metrics(cell_hash)

    def arch_id(self, arch: Cell) -> str:
        self._memo.setdefault(arch.hash, arch)
        return arch.hash if self.identity == "hash" else f"{arch.hash}:{cell_code(arch)}"

    def from_id(self, arch_id: str) -> Cell:
        text = str(arch_id).strip()
        cell_hash, sep, code = text.partition(":")
        if not _HASH.match(cell_hash):
            raise UsageError(f"{text!r} is not an NB101 id: expected a 32-hex-digit module hash, optionally "
                             "followed by ':<matrix rows>:<op codes>'")
        if sep:
            cell = self._from_code(code, text)
            if cell.hash != cell_hash:
                raise UsageError(f"NB101 id {text!r}: the cell's module hash is {cell.hash}, not {cell_hash}")
            found = self._in_space(cell)
            if found is None:
                raise UsageError(f"NB101 id {text!r}: the cell is not in the results file")
            return found
        if self.backend is not None:
            if cell_hash not in self._hashes:
                raise UsageError(f"NB101 hash {cell_hash} is not in the results file")
            return self._stored(cell_hash)
        if cell_hash in self._memo:
            return self._memo[cell_hash]
        raise UsageError(f"NB101 hash {cell_hash} is unknown here: without the results file a bare hash names only "
                         "cells this process has seen; use the '<hash>:<matrix>:<ops>' id or set space.args.path")

    @staticmethod
    def _from_code(code: str, text: str) -> Cell:
        rows, sep, ops = code.partition(":")
        try:
            matrix = [[int(c) for c in row] for row in rows.split("-")]
            names = [INPUT] + [CODE_OPS[c] for c in ops.split(".") if c] + [OUTPUT]
            if not sep:
                raise KeyError(ops)
        except (ValueError, KeyError):
            raise UsageError(f"NB101 id {text!r}: expected '<hash>:<matrix rows, e.g. 011-001-000>:<ops among "
                             f"{'/'.join(CODE_OPS)}, dot-separated>'") from None
        try:
            return make_cell(matrix, names)
        except CellError as exc:
            raise UsageError(f"NB101 id {text!r}: {exc}") from None

    def build_network(self, arch: Cell, num_classes: int = 10):
        from nasearch.spaces.nb101.network import NB101Network

        return NB101Network(arch, num_classes)

    # -- optional members ---------------------------------------------------------------
    def preload(self) -> None:
        if self.backend is not None and callable(getattr(self.backend, "preload", None)):
            self.backend.preload()

    def all_archs(self) -> list[Cell]:
        """Every cell of the results file (``nasearch precompute``); needs the file."""
        if self.backend is None:
            raise UsageError(NEEDS_FILE)
        return [self._stored(h) for h in sorted(self._hashes)]

    @property
    def max_epochs(self) -> int | None:
        """The top budget when the backend has several (``nasbench_full``: 4/12/36/108) — the
        ``fidelity`` capability; None (single fidelity) otherwise."""
        if self.backend is None or len(tuple(self.backend.epochs)) < 2:
            return None
        return int(self.backend.max_epochs)

    def query_at(self, arch: Cell, epochs: int, rng: np.random.Generator) -> Evaluation:
        if self.max_epochs is None:
            raise NotImplementedError("this NB101 backend has one epoch budget; use nasbench_full.tfrecord")
        cell_hash = self._hash_of(arch)
        return self.backend.query(cell_hash, int(epochs), rng)

    # -- categorical encoding (reinforce, bohb) -------------------------------------------
    def choices(self) -> list[tuple[str, ...]]:
        return [("0", "1")] * len(EDGE_POSITIONS) + [OPS] * (NUM_VERTICES - 2)

    def encode(self, arch: Cell) -> tuple[int, ...]:
        matrix, ops = arch.padded()
        return (*(matrix[s][d] for s, d in EDGE_POSITIONS), *(OPS.index(op) for op in ops[1:-1]))

    def decode(self, indices: Sequence[int]) -> Cell:
        """The cell of a choice vector; an invalid one is repaired (module docstring), so it never fails."""
        values = [int(i) for i in indices]
        if len(values) != len(EDGE_POSITIONS) + NUM_VERTICES - 2:
            raise ValueError(f"NB101 choices have {len(EDGE_POSITIONS) + NUM_VERTICES - 2} positions, got {len(values)}")
        matrix = [[0] * NUM_VERTICES for _ in range(NUM_VERTICES)]
        for (src, dst), bit in zip(EDGE_POSITIONS, values):
            matrix[src][dst] = 1 if bit else 0
        ops = [INPUT, *(OPS[i] for i in values[len(EDGE_POSITIONS):]), OUTPUT]
        cell = _flip_repair(matrix, ops)
        found = self._in_space(cell)
        if found is None:
            raise UsageError(f"cell {cell_code(cell)} (hash {cell.hash}) is not in the results file")
        return found

    # -- neighbours (local search) ----------------------------------------------------------
    def neighbours(self, arch: Cell) -> list[Cell]:
        """Every valid cell one edit away: one edge bit flipped or one interior op changed (on the
        7-vertex padding), in that order, without the cell itself and without repeated hashes."""
        matrix, ops = arch.padded()
        seen, out = {arch.hash}, []

        def consider(new_matrix, new_ops):
            cell = self._in_space(try_cell(new_matrix, new_ops))
            if cell is not None and cell.hash not in seen:
                seen.add(cell.hash)
                out.append(cell)

        for src, dst in EDGE_POSITIONS:
            new_matrix = [row[:] for row in matrix]
            new_matrix[src][dst] = 1 - new_matrix[src][dst]
            consider(new_matrix, ops)
        for vertex in range(1, NUM_VERTICES - 1):
            for op in OPS:
                if op != ops[vertex]:
                    consider(matrix, [*ops[:vertex], op, *ops[vertex + 1:]])
        return out

    # -- vector encodings (predictors) ------------------------------------------------------
    def vector_encoding(self, arch: Cell, kind: str) -> np.ndarray:
        if kind == "adjacency":
            matrix, ops = arch.padded()
            bits = [matrix[s][d] for s, d in EDGE_POSITIONS]
            for op in ops[1:-1]:
                bits.extend(ADJACENCY_ONE_HOT[op])
            return np.asarray(bits, dtype=np.float32)
        if kind == "path":
            out = np.zeros(NUM_PATHS, dtype=np.float32)
            for path in _paths(arch):
                index = sum(3 ** i * (PATH_OP_INDEX[op] + 1) for i, op in enumerate(path))
                out[index] = 1.0
            return out
        raise ValueError(f"NB101 offers the encodings {list(self.vector_encodings)}, not {kind!r}")

    # -- results files' cell notation --------------------------------------------------------
    def arch_from_key(self, key: Any) -> Cell:
        """The cell of a results file's key: NASLib's zero-cost benchmark key (``str`` of a tuple of
        the 49 adjacency entries, row-major, then the 7 op indices in NASLib's order input, output,
        maxpool3x3, conv1x1-bn-relu, conv3x3-bn-relu), a mapping with ``matrix`` and ``ops`` (a
        CSV's columns: a nested list or a row-major 0/1 digit string, and op names as a list or
        comma-separated), or an id of this space."""
        if isinstance(key, Mapping):
            return self._from_columns(key.get("matrix"), key.get("ops"))
        text = key if isinstance(key, str) else repr(tuple(key))
        if _HASH.match(text.strip().partition(":")[0]):
            return self.from_id(text)
        try:
            values = ast.literal_eval(text.strip())
        except (ValueError, SyntaxError):
            values = None
        if not isinstance(values, (tuple, list)) or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            raise UsageError(f"NB101 key {text[:80]!r} is not NASLib's '(49 adjacency entries, 7 op indices)' tuple")
        n = int(round((-1 + (1 + 4 * len(values)) ** 0.5) / 2))  # n*n + n values
        if n * n + n != len(values) or not 2 <= n <= NUM_VERTICES:
            raise UsageError(f"NB101 key {text[:80]!r} has {len(values)} entries; NASLib's keys have n*n adjacency "
                             "entries then n op indices (56 for 7 vertices)")
        if any(v < 0 or v >= len(NASLIB_OPS) for v in values[n * n:]):
            raise UsageError(f"NB101 key {text[:80]!r}: op indices must be 0..4 ({', '.join(NASLIB_OPS)})")
        matrix = [list(values[i * n:(i + 1) * n]) for i in range(n)]
        ops = [NASLIB_OPS[v] for v in values[n * n:]]
        try:
            return self.cell(matrix, ops)
        except UsageError as exc:
            raise UsageError(f"NB101 key {text[:80]!r}: {exc}") from None

    def _from_columns(self, matrix: Any, ops: Any) -> Cell:
        if matrix is None or ops is None:
            raise UsageError("an NB101 table row needs 'matrix' and 'ops' columns")
        if isinstance(matrix, str):
            text = matrix.strip()
            if text and set(text) <= {"0", "1"}:
                n = int(round(len(text) ** 0.5))
                if n * n != len(text):
                    raise UsageError(f"matrix {text!r}: a row-major 0/1 string must have n*n digits")
                matrix = [[int(c) for c in text[i * n:(i + 1) * n]] for i in range(n)]
            else:
                try:
                    matrix = ast.literal_eval(text)
                except (ValueError, SyntaxError):
                    raise UsageError(f"matrix {text[:80]!r} is neither a nested list nor a 0/1 digit string") from None
        if isinstance(ops, str):
            text = ops.strip()
            ops = ast.literal_eval(text) if text.startswith("[") else [o.strip() for o in text.split(",")]
        try:
            return self.cell(matrix, ops)
        except (TypeError, ValueError) as exc:
            raise UsageError(f"bad NB101 cell (matrix {str(matrix)[:60]}, ops {ops}): {exc}") from None


def _paths(cell: Cell) -> list[tuple[str, ...]]:
    """The op sequences of every input->output path (NASLib's ``get_paths``, on the pruned cell)."""
    n = cell.num_vertices
    paths: list[list[tuple[str, ...]]] = [[] for _ in range(n)]
    paths[0] = [()]
    for j in range(1, n):
        for i in range(j):
            if cell.matrix[i][j]:
                step = () if i == 0 else (cell.ops[i],)
                paths[j].extend(p + step for p in paths[i])
    return paths[n - 1]
