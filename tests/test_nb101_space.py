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


# -- the space --------------------------------------------------------------------------------
import json
import math
import os
from pathlib import Path

from nasearch.errors import UsageError
from nasearch.spaces.nb101.network import NB101Network, trainable_parameters, vertex_channels
from nasearch.spaces.nb101.space import NB101Space, cell_code
from nasearch.spaces.protocol import Evaluation, capabilities, protocol_problems

#: NASLib's key of the Inception-like cell: 49 adjacency entries, then ops in NASLib's order
#: (input 0, output 1, maxpool3x3 2, conv1x1 3, conv3x3 4)
INCEPTION_KEY = str(tuple(sum(INCEPTION_MATRIX, [])) + (0, 3, 4, 4, 4, 2, 1))


@pytest.fixture
def space():
    return NB101Space()


def test_protocol_and_capabilities_without_a_file(space):
    assert protocol_problems(space) == []
    assert capabilities(space) == ["encoding", "neighbours", "vector_encodings", "result_keys"]
    cell = make_cell(INCEPTION_MATRIX, INCEPTION_OPS)
    for call in (lambda: space.query(cell, np.random.default_rng(0)), lambda: space.final_metrics(cell),
                 lambda: space.all_archs()):
        with pytest.raises(UsageError, match="nasbench_only108.tfrecord"):
            call()


def test_loaded_by_name():
    from nasearch.loading import load_space

    assert isinstance(load_space({"name": "nb101"}), NB101Space)
    with pytest.raises(UsageError, match="identity"):
        load_space({"name": "nb101", "args": {"identity": "md5"}})


def test_sample_is_the_benchmarks_random_spec_and_seeded(space):
    a = [space.sample(np.random.default_rng(3)) for _ in range(2)]
    assert a[0] == a[1]
    cells = [space.sample(rng) for rng in [np.random.default_rng(7)] for _ in range(400)]
    assert all(is_valid(c.matrix, c.ops) and c.num_edges <= 9 for c in cells)
    assert len({c.hash for c in cells}) > 150  # small cells recur: ~10% are input->output alone
    # uniform ops: each op is about a third of the interior vertices
    ops = [op for c in cells for op in c.ops[1:-1]]
    for op in (CONV3X3, CONV1X1, MAXPOOL3X3):
        assert abs(ops.count(op) / len(ops) - 1 / 3) < 0.05


def test_mutate_is_the_benchmarks_and_valid(space):
    rng = np.random.default_rng(0)
    parent = make_cell(INCEPTION_MATRIX, INCEPTION_OPS)
    children = [space.mutate(parent, rng) for _ in range(300)]
    assert all(is_valid(c.matrix, c.ops) for c in children)
    changed = [c for c in children if c.hash != parent.hash]
    assert len(changed) / len(children) > 0.9  # rate 1: 3 edges and 1 op flip in expectation
    gentle = NB101Space(mutation_rate=0.05)  # P(no flip) = (1 - 0.05/7)^21 (1 - 0.01)^5 ~ 0.82
    kept = sum(gentle.mutate(parent, rng).hash == parent.hash for _ in range(300)) / 300
    assert 0.7 < kept < 0.95
    # op-only mutation (no edge flips): the graph is kept, ops change to *other* ops
    ops_only = NB101Space(mutation_rate=1e-9, op_mutation=1.0)
    child = ops_only.mutate(parent, rng)
    assert child.matrix == parent.matrix and all(a != b for a, b in zip(child.ops[1:-1], parent.ops[1:-1]))
    again = [space.mutate(parent, np.random.default_rng(5)) for _ in range(2)]
    assert again[0] == again[1]


def test_ids_round_trip_without_a_file(space):
    rng = np.random.default_rng(1)
    for _ in range(50):
        cell = space.sample(rng)
        arch_id = space.arch_id(cell)
        assert arch_id.startswith(cell.hash + ":") and NB101Space().from_id(arch_id) == cell
    cell = make_cell(INCEPTION_MATRIX, INCEPTION_OPS)
    assert space.arch_id(cell) == INCEPTION_HASH + ":" + cell_code(cell)
    hashed = NB101Space(identity="hash")
    assert hashed.arch_id(cell) == INCEPTION_HASH and hashed.from_id(INCEPTION_HASH) == cell
    with pytest.raises(UsageError, match="unknown here"):
        NB101Space(identity="hash").from_id(INCEPTION_HASH)
    for bad in ("nonsense", INCEPTION_HASH + ":01-00:zz", "0" * 32 + ":" + cell_code(cell), INCEPTION_HASH + ":011-000-000:c3"):
        with pytest.raises(UsageError):
            space.from_id(bad)


def test_encoding_round_trips_and_decode_repairs(space):
    rng = np.random.default_rng(2)
    sizes = [len(c) for c in space.choices()]
    assert sizes == [2] * 21 + [3] * 5
    for _ in range(100):
        cell = space.sample(rng)
        code = space.encode(cell)
        assert space.decode(code) == cell
    # every choice vector decodes to a valid cell (REINFORCE / BOHB keep running)
    for _ in range(300):
        code = [*rng.integers(0, 2, size=21), *rng.integers(0, 3, size=5)]
        cell = space.decode(code)
        assert is_valid(cell.matrix, cell.ops)
    assert space.decode([0] * 26) == make_cell([[0, 1], [0, 0]], [INPUT, OUTPUT])  # disconnected -> input->output
    full = space.decode([1] * 21 + [0] * 5)
    assert full.num_edges <= 9 and full.num_vertices == 7


def test_neighbours_are_one_edit_valid_and_distinct(space):
    cell = make_cell(INCEPTION_MATRIX, INCEPTION_OPS)
    neighbours = space.neighbours(cell)
    hashes = [n.hash for n in neighbours]
    assert len(hashes) == len(set(hashes)) and cell.hash not in hashes
    assert all(is_valid(n.matrix, n.ops) for n in neighbours)
    # the inception cell has 9 edges: no edge can be added; 5 ops x 2 others, and removals that keep it connected
    op_changes = [n for n in neighbours if n.matrix == cell.matrix]
    assert len(op_changes) == 10
    for n in neighbours:
        diff = sum(a != b for a, b in zip(space.encode(n), space.encode(cell)))
        assert diff == 1 or n.num_vertices < cell.num_vertices  # a removed edge can prune a vertex


def test_vector_encodings_follow_naslib(space):
    cell = make_cell(INCEPTION_MATRIX, INCEPTION_OPS)
    adjacency = space.vector_encoding(cell, "adjacency")
    bits = [1, 1, 1, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 1]
    ops = [0, 0, 1] + [0, 1, 0] * 3 + [1, 0, 0]  # encode_adj: conv1x1 001, conv3x3 010, maxpool 100
    assert adjacency.tolist() == bits + ops
    path = space.vector_encoding(cell, "path")
    # paths c1 (index 2), c3 (1), mp (3), c3->c3 (1 + 3*1 = 4)
    assert path.shape == (364,) and np.flatnonzero(path).tolist() == [1, 2, 3, 4]
    direct = make_cell([[0, 1], [0, 0]], [INPUT, OUTPUT])
    assert np.flatnonzero(space.vector_encoding(direct, "path")).tolist() == [0]
    with pytest.raises(ValueError):
        space.vector_encoding(cell, "gcn")


def test_naslib_keys(space):
    cell = space.arch_from_key(INCEPTION_KEY)
    assert cell.hash == INCEPTION_HASH and cell.ops == tuple(INCEPTION_OPS)
    assert space.arch_from_key({"matrix": "".join(str(b) for b in sum(INCEPTION_MATRIX, [])),
                                "ops": ",".join(INCEPTION_OPS)}).hash == INCEPTION_HASH
    assert space.arch_from_key({"matrix": str(INCEPTION_MATRIX), "ops": str(INCEPTION_OPS)}).hash == INCEPTION_HASH
    assert space.arch_from_key(space.arch_id(cell)) == cell
    disconnected = str(tuple([0] * 49) + (0, 4, 4, 4, 4, 4, 1))
    for bad, words in [("(0, 1, 2)", "entries"), ("hello", "NASLib"), (INCEPTION_KEY[:-2] + "7)", "op indices"),
                       (disconnected, "not connected"), (str(tuple([0] * 49) + (1, 4, 4, 4, 4, 4, 0)), "first op")]:
        with pytest.raises(UsageError, match=words):
            space.arch_from_key(bad)


# -- the network --------------------------------------------------------------------------------
def test_inception_cell_has_the_benchmarks_parameter_count(space):
    network = space.build_network(make_cell(INCEPTION_MATRIX, INCEPTION_OPS), 10)
    assert trainable_parameters(network) == 2_694_282  # nasbench README / colab: trainable_parameters
    bn = next(m for m in network.modules() if isinstance(m, torch.nn.BatchNorm2d))
    assert math.isclose(bn.momentum, 0.003) and bn.eps == 1e-5
    assert all(m.bias is None for m in network.modules() if isinstance(m, torch.nn.Conv2d))


import torch  # noqa: E402


def test_vertex_channels_and_vertex_order():
    """The output's remainder channel goes to the first vertices feeding it, so two orders of one
    cell build different networks; NASLib's zc_nasbench101.json records 1.749031 M parameters for
    this key's order (input, conv3x3, maxpool3x3, conv1x1, conv1x1, maxpool3x3, output)."""
    key = ("(0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 1, "
           "0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 2, 3, 3, 2, 1)")
    space = NB101Space()
    cell = space.arch_from_key(key)
    assert trainable_parameters(NB101Network(cell)) == 1_749_031
    assert vertex_channels(128, 128, cell.matrix) == [128, 43, 43, 42, 128]
    # the same cell with its two output-feeding maxpool/conv1x1 vertices swapped: isomorphic, other split
    n = cell.num_vertices
    perm = [0, 1, 3, 2, 4] if n == 5 else None
    assert perm is not None
    matrix, ops = permute([list(r) for r in cell.matrix], list(cell.ops), perm)
    other = make_cell(matrix, ops)
    assert other.hash == cell.hash
    assert trainable_parameters(NB101Network(other)) != 1_749_031
    assert vertex_channels(128, 256, [[0, 1], [0, 0]]) == [128, 256]


def test_smallest_cell_network_is_a_projection():
    network = NB101Network(make_cell([[0, 1], [0, 0]], [INPUT, OUTPUT]))
    # stem 3*9*128 + 256 BN; per module one 1x1 projection + BN; dense 512*10 + 10
    expected = 3 * 9 * 128 + 256 + 3 * (128 * 128 + 256) + (128 * 256 + 512) + 2 * (256 * 256 + 512) \
        + (256 * 512 + 1024) + 2 * (512 * 512 + 1024) + 512 * 10 + 10
    assert trainable_parameters(network) == expected
    assert network(torch.randn(1, 3, 32, 32)).shape == (1, 10)


@pytest.mark.slow
def test_every_naslib_cell_has_naslibs_parameter_count():
    """Set NASEARCH_ZC_NB101 to NASLib's naslib/data/zc_nasbench101.json (500 cells; not shipped)."""
    path = os.environ.get("NASEARCH_ZC_NB101")
    if not path or not Path(path).is_file():
        pytest.skip("NASEARCH_ZC_NB101 (NASLib's zc_nasbench101.json) not set")
    from nasearch.accuracy_table import read_table

    space = NB101Space()
    table = read_table(path, space)
    assert len(table.rows) == 500
    for row in table.rows:
        assert trainable_parameters(NB101Network(row.arch)) == round(row.reference["params"] * 1e6), row.key


def test_every_proxy_runs_on_an_nb101_network(tiny_npz):
    from nasearch.proxies.data import DataSource
    from nasearch.proxies.registry import available_proxies
    from nasearch.proxies.scorer import ProxyScorer

    space = NB101Space()
    cell = make_cell([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]], [INPUT, CONV1X1, MAXPOOL3X3, OUTPUT])
    data = DataSource.from_config({"npz": str(tiny_npz)})
    for proxy in available_proxies():
        value = ProxyScorer(space, proxy, batch_size=2, data=data).score(cell).score
        assert isinstance(value, float) and not math.isnan(value), proxy


# -- with a backend ------------------------------------------------------------------------------
class FakeBackend:
    """The backend interface of spaces/nb101/space.py over a few cells (stored in their own order)."""

    max_epochs = 108

    def __init__(self, cells, epochs=(108,)):
        self.stored = {c.hash: c for c in cells}
        self.epochs = epochs
        self.queries = []

    def hashes(self):
        return set(self.stored)

    def cell(self, cell_hash):
        c = self.stored[cell_hash]
        return [list(r) for r in c.matrix], list(c.ops)

    def query(self, cell_hash, epochs, rng):
        self.queries.append((cell_hash, epochs))
        return Evaluation(90.0 + rng.random(), 100.0 * epochs)

    def final_metrics(self, cell_hash):
        return {"cifar10_valid": 91.0, "cifar10_test": 90.5}


def test_with_a_backend_ids_are_hashes_and_cells_the_files_order():
    stored = make_cell(INCEPTION_FILE_MATRIX, INCEPTION_FILE_OPS)
    small = make_cell([[0, 1, 0], [0, 0, 1], [0, 0, 0]], [INPUT, CONV3X3, OUTPUT])
    backend = FakeBackend([stored, small], epochs=(4, 12, 36, 108))
    space = NB101Space(backend=backend)
    assert "fidelity" in capabilities(space) and space.max_epochs == 108
    given = make_cell(INCEPTION_MATRIX, INCEPTION_OPS)
    assert space.arch_from_key(INCEPTION_KEY) == stored  # the file's vertex order, not the key's
    assert space.arch_id(stored) == INCEPTION_HASH and space.from_id(INCEPTION_HASH) == stored
    assert space.from_id(space.arch_id(given)) == stored
    rng = np.random.default_rng(0)
    assert {space.arch_id(space.sample(rng)) for _ in range(20)} <= backend.hashes()
    assert space.query(given, rng).cost_seconds == 10800.0 and backend.queries[-1] == (INCEPTION_HASH, 108)
    assert space.query_at(given, 12, rng).cost_seconds == 1200.0
    assert space.final_metrics(given)["cifar10_test"] == 90.5
    assert sorted(space.arch_id(a) for a in space.all_archs()) == sorted(backend.hashes())
    with pytest.raises(UsageError, match="not in the results file"):
        space.from_id("0" * 32)
    single = NB101Space(backend=FakeBackend([stored]))
    assert single.max_epochs is None and "fidelity" not in capabilities(single)


def test_predictor_encodings_and_pickling(space):
    from nasearch.predictors.base import encode

    rng = np.random.default_rng(4)
    cells = [space.sample(rng) for _ in range(5)]
    assert encode(space, cells, "onehot").shape == (5, 21 * 2 + 5 * 3)
    assert encode(space, cells, "path").shape == (5, 364)
    assert encode(space, cells, "adjacency").shape == (5, 36)
    again = pickle.loads(pickle.dumps(space))
    assert [again.arch_id(c) for c in cells] == [space.arch_id(c) for c in cells]
