"""NAS-Bench-101: cells, the official module hash, the space, the benchmark network."""
from __future__ import annotations

import itertools
import pickle

import numpy as np
import pytest

from nasearch.spaces.nb101.cell import (CONV1X1, CONV3X3, INPUT, MAXPOOL3X3, OUTPUT, CellError, is_valid, labels,
                                        make_cell, module_hash, try_cell)

#: the Inception-like cell of the nasbench README / colab
INCEPTION_MATRIX = [[0, 1, 1, 1, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 1, 0, 0],
                    [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0]]
INCEPTION_OPS = [INPUT, CONV1X1, CONV3X3, CONV3X3, CONV3X3, MAXPOOL3X3, OUTPUT]
#: the same cell as the benchmark's query printed it back (module_adjacency / module_operations): the
#: file stores it in another vertex order
INCEPTION_FILE_MATRIX = [[0, 1, 1, 1, 1, 0, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1],
                         [0, 0, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0]]
INCEPTION_FILE_OPS = [INPUT, CONV3X3, CONV1X1, MAXPOOL3X3, CONV3X3, CONV3X3, OUTPUT]
#: google-research/google-research unified_functional_hashing/nasbench/python/evaluator_test.py gives
#: this cell (as original_matrix/original_ops) the graph_hash below, the key of its computed_stats
INCEPTION_HASH = "28cfc7874f6d200472e1a9dcd8650aa0"


def permute(matrix, ops, perm):
    """Vertex perm[v] of the new graph is vertex v of the old one (graph_util.permute_graph)."""
    n = len(ops)
    inverse = [0] * n
    for v, p in enumerate(perm):
        inverse[p] = v
    return [[matrix[inverse[i]][inverse[j]] for j in range(n)] for i in range(n)], [ops[inverse[i]] for i in range(n)]


def test_the_published_hash_of_the_inception_cell():
    cell = make_cell(INCEPTION_MATRIX, INCEPTION_OPS)
    assert cell.hash == INCEPTION_HASH
    assert make_cell(INCEPTION_FILE_MATRIX, INCEPTION_FILE_OPS).hash == INCEPTION_HASH
    assert make_cell(INCEPTION_FILE_MATRIX, INCEPTION_FILE_OPS) != cell  # isomorphic, in another vertex order
    assert cell.num_vertices == 7 and cell.num_edges == 9


def test_hash_of_the_smallest_cell_follows_graph_util():
    """input->output only: two vertices, labels -1/-2; the hash written out from graph_util.hash_module's steps."""
    import hashlib

    md5 = lambda s: hashlib.md5(s.encode("utf-8")).hexdigest()
    h = [md5(str((1, 0, -1))), md5(str((0, 1, -2)))]
    for _ in range(2):
        h = [md5("" + "|" + h[1] + "|" + h[0]), md5(h[0] + "|" + "" + "|" + h[1])]
    expected = md5(str(sorted(h)))
    cell = make_cell([[0, 1], [0, 0]], [INPUT, OUTPUT])
    assert cell.hash == expected == module_hash([[0, 1], [0, 0]], [-1, -2])
    # a 7-vertex spec whose only input->output path is the direct edge prunes to that cell
    matrix = [[0] * 7 for _ in range(7)]
    matrix[0][6] = matrix[0][1] = matrix[2][6] = 1
    assert make_cell(matrix, [INPUT] + [CONV3X3] * 5 + [OUTPUT]).hash == expected


def test_isomorphic_pairs_hash_equal_and_non_isomorphic_differ():
    base = make_cell(INCEPTION_MATRIX, INCEPTION_OPS)
    seen = 0
    for order in itertools.permutations(range(1, 6)):
        matrix, ops = permute(INCEPTION_MATRIX, INCEPTION_OPS, (0, *order, 6))
        if any(matrix[i][j] for i in range(7) for j in range(i + 1)):
            continue  # not upper triangular: not a spec
        seen += 1
        cell = make_cell(matrix, ops)
        assert cell.hash == INCEPTION_HASH
    assert seen > 1
    # one op changed: not isomorphic
    ops = list(INCEPTION_OPS)
    ops[1] = MAXPOOL3X3
    assert make_cell(INCEPTION_MATRIX, ops).hash != INCEPTION_HASH
    # same ops, one edge moved (3->4 becomes 2->4): differs
    matrix = [row[:] for row in INCEPTION_MATRIX]
    matrix[3][4], matrix[2][4] = 0, 1
    assert make_cell(matrix, INCEPTION_OPS).hash != INCEPTION_HASH
    # graph_util_test's pair: two chains in different orders of conv1x1/conv3x3
    chain = [[0, 1, 0], [0, 0, 1], [0, 0, 0]]
    a = make_cell([[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]], [INPUT, CONV1X1, CONV3X3, OUTPUT])
    b = make_cell([[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]], [INPUT, CONV3X3, CONV1X1, OUTPUT])
    assert a.hash != b.hash
    assert make_cell(chain, [INPUT, CONV3X3, OUTPUT]).hash != make_cell(chain, [INPUT, CONV1X1, OUTPUT]).hash


def test_pruning_as_model_spec():
    # vertex 2 is reached from the input but reaches nothing; vertex 3 reaches the output but not from the input
    matrix = [[0, 1, 1, 0, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]]
    cell = make_cell(matrix, [INPUT, CONV3X3, MAXPOOL3X3, CONV1X1, OUTPUT])
    assert cell.matrix == ((0, 1, 0), (0, 0, 1), (0, 0, 0)) and cell.ops == (INPUT, CONV3X3, OUTPUT)
    assert labels(cell.ops) == [-1, 0, -2]


def test_invalid_cells():
    assert not is_valid([[0, 0], [0, 0]], [INPUT, OUTPUT])  # disconnected
    full = [[int(j > i) for j in range(7)] for i in range(7)]  # 21 edges
    assert not is_valid(full, [INPUT] + [CONV3X3] * 5 + [OUTPUT])
    assert try_cell(full, [INPUT] + [CONV3X3] * 5 + [OUTPUT]) is None
    for matrix, ops, words in [
        ([[0, 1], [1, 0]], [INPUT, OUTPUT], "upper triangular"),
        ([[0, 2], [0, 0]], [INPUT, OUTPUT], "0 or 1"),
        ([[0, 1], [0, 0]], [INPUT, "conv5x5", OUTPUT], "one op per vertex"),
        ([[0, 1, 0], [0, 0, 1], [0, 0, 0]], [INPUT, "conv5x5", OUTPUT], "unknown op"),
        ([[0, 1], [0, 0]], [OUTPUT, INPUT], "first op"),
        ([[0] * 8 for _ in range(8)], [INPUT] * 8, "at most 7"),
        ([[0, 0], [0, 0]], [INPUT, OUTPUT], "not connected"),
        (full, [INPUT] + [CONV3X3] * 5 + [OUTPUT], "at most 9"),
    ]:
        with pytest.raises(CellError, match=words):
            make_cell(matrix, ops)


def test_cells_are_hashable_and_picklable():
    cell = make_cell(INCEPTION_MATRIX, INCEPTION_OPS)
    _ = cell.hash
    again = pickle.loads(pickle.dumps(cell))
    assert again == cell and hash(again) == hash(cell) and again.hash == INCEPTION_HASH
    assert {cell: 1}[again] == 1
    matrix, ops = cell.padded()
    assert len(matrix) == 7 and make_cell(matrix, ops) == cell
