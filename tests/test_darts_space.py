"""The DARTS family: genotype notations, the one network builder, and the DARTS / NB301 space."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from nasearch.errors import UsageError
from nasearch.spaces.darts.genotype import (
    ALL_OPS, DESIGNS, NB301, NB301_OPS, Genotype, InvalidGenotype, check, default_concat, from_compact,
    from_darts_string, from_nds, loose_ends, read, to_compact, to_compact_key, to_darts_string, to_nds,
)
from nasearch.spaces.darts.network import AvgPool3x3, DartsNetwork, count_parameters, make_op
from nasearch.spaces.darts.space import DartsSpace

# Copied from quark0/darts cnn/genotypes.py (DARTS second order, the paper's cell).
DARTS_V2_TEXT = (
    "DARTS_V2 = Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
    "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], "
    "reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
    "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])"
)
# The same cell as an NDS record (DARTS.json layout: the network config under "net", its genotype as
# JSON lists) and as NASLib's compact form (inputs as in the genotype, op indices into NB301_OPS).
DARTS_V2_NDS_RECORD = """{"net": {"genotype": {"normal": [["sep_conv_3x3", 0], ["sep_conv_3x3", 1], ["sep_conv_3x3", 0],
  ["sep_conv_3x3", 1], ["sep_conv_3x3", 1], ["skip_connect", 0], ["skip_connect", 0], ["dil_conv_3x3", 2]],
  "normal_concat": [2, 3, 4, 5], "reduce": [["max_pool_3x3", 0], ["max_pool_3x3", 1], ["skip_connect", 2],
  ["max_pool_3x3", 1], ["max_pool_3x3", 0], ["skip_connect", 2], ["skip_connect", 2], ["max_pool_3x3", 1]],
  "reduce_concat": [2, 3, 4, 5]}, "width": 36, "depth": 20, "aux": false}, "params": 3349342}"""
DARTS_V2_COMPACT = [[(0, 3), (1, 3), (0, 3), (1, 3), (1, 3), (0, 2), (0, 2), (2, 5)],
                    [(0, 0), (1, 0), (2, 2), (1, 0), (0, 0), (2, 2), (2, 2), (1, 0)]]

# From quark0/darts cnn/genotypes.py: NASNet-A and AmoebaNet-A (5 nodes, loose-end concat).
NASNET_TEXT = """NASNet = Genotype(
  normal = [('sep_conv_5x5', 1), ('sep_conv_3x3', 0), ('sep_conv_5x5', 0), ('sep_conv_3x3', 0), ('avg_pool_3x3', 1),
    ('skip_connect', 0), ('avg_pool_3x3', 0), ('avg_pool_3x3', 0), ('sep_conv_3x3', 1), ('skip_connect', 1),],
  normal_concat = [2, 3, 4, 5, 6],
  reduce = [('sep_conv_5x5', 1), ('sep_conv_7x7', 0), ('max_pool_3x3', 1), ('sep_conv_7x7', 0), ('avg_pool_3x3', 1),
    ('sep_conv_5x5', 0), ('skip_connect', 3), ('avg_pool_3x3', 2), ('sep_conv_3x3', 2), ('max_pool_3x3', 1),],
  reduce_concat = [4, 5, 6],
)"""
AMOEBA_TEXT = """AmoebaNet = Genotype(
  normal = [('avg_pool_3x3', 0), ('max_pool_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_5x5', 2), ('sep_conv_3x3', 0),
    ('avg_pool_3x3', 3), ('sep_conv_3x3', 1), ('skip_connect', 1), ('skip_connect', 0), ('avg_pool_3x3', 1),],
  normal_concat = [4, 5, 6],
  reduce = [('avg_pool_3x3', 0), ('sep_conv_3x3', 1), ('max_pool_3x3', 0), ('sep_conv_7x7', 2), ('sep_conv_7x7', 0),
    ('avg_pool_3x3', 1), ('max_pool_3x3', 0), ('max_pool_3x3', 1), ('conv_7x1_1x7', 0), ('sep_conv_3x3', 5),],
  reduce_concat = [3, 4, 6]
)"""

# Three entries of NASLib's naslib/data/zc_nasbench301.json (key -> its "params", in millions).
ZC_PARAMS = {
    "[[(0, 4), (1, 3), (0, 2), (2, 3), (2, 3), (0, 3), (2, 6), (3, 5)], "
    "[(0, 3), (1, 3), (1, 1), (0, 5), (2, 3), (0, 2), (4, 4), (3, 1)]]": 1.204906,
    "[[(1, 1), (0, 6), (1, 1), (0, 3), (1, 1), (2, 5), (0, 1), (4, 4)], "
    "[(0, 1), (1, 1), (0, 4), (2, 4), (0, 4), (1, 5), (2, 4), (4, 0)]]": 0.920618,
    "[[(0, 1), (1, 0), (0, 2), (1, 4), (1, 2), (2, 6), (3, 4), (4, 3)], "
    "[(1, 1), (0, 1), (0, 3), (1, 5), (2, 6), (3, 0), (4, 0), (0, 1)]]": 0.84945,
}


@pytest.fixture(scope="module")
def space():
    return DartsSpace()


# -- the check of the issue -------------------------------------------------------------------------------------


def test_three_notations_of_darts_v2_load_equal_and_build_the_published_network():
    """A DARTS genotypes.py string, an NDS JSON record and a NASLib compact genotype of the same cell are one
    Genotype, and its network at C = 36, 20 cells, no auxiliary head has DARTS's 3,349,342 parameters."""
    from_string = from_darts_string(DARTS_V2_TEXT)
    record = json.loads(DARTS_V2_NDS_RECORD)
    from_record = from_nds(record)
    from_naslib = from_compact(DARTS_V2_COMPACT)
    assert from_string == from_record == from_naslib
    assert hash(from_string) == hash(from_record) == hash(from_naslib)
    for genotype in (from_string, from_record, from_naslib):
        check(genotype, NB301)
        check(genotype, "darts")  # NDS's DARTS design holds it too
    small = {count_parameters(DartsNetwork(g, 8, 5)) for g in (from_string, from_record, from_naslib)}
    assert len(small) == 1
    net = DartsNetwork(from_record, record["net"]["width"], record["net"]["depth"], auxiliary=record["net"]["aux"])
    assert count_parameters(net) == 3_349_342 == record["params"]


def test_naslib_zero_cost_benchmark_params_are_reproduced():
    """NASLib's zc_nasbench301.json counts its NB301 graph, whose op BatchNorms are not affine: op_affine=False
    reproduces its "params" exactly at NB301's C = 32, 8 cells; the trained network has more (affine BNs)."""
    for key, millions in ZC_PARAMS.items():
        genotype = DartsSpace().arch_from_key(key)
        assert count_parameters(DartsNetwork(genotype, 32, 8, op_affine=False)) == round(millions * 1e6)
        assert count_parameters(DartsNetwork(genotype, 32, 8)) > round(millions * 1e6)
    naslib = DartsSpace(op_affine=False)
    genotype = naslib.arch_from_key(next(iter(ZC_PARAMS)))
    assert count_parameters(naslib.build_network(genotype, 10)) == 1_204_906
    assert naslib.version != DartsSpace().version  # different networks never share cached scores


def test_writers_round_trip():
    genotype = from_darts_string(DARTS_V2_TEXT)
    assert from_darts_string(to_darts_string(genotype)) == genotype
    assert from_nds(json.loads(json.dumps(to_nds(genotype)))) == genotype
    assert from_compact(to_compact(genotype)) == genotype
    assert to_compact_key(genotype) == str(DARTS_V2_COMPACT)
    assert from_compact(to_compact_key(genotype)) == genotype
    assert read(to_compact_key(genotype)) == read(DARTS_V2_TEXT) == read(to_nds(genotype)) == genotype


def test_darts_strings_take_range_lists_tuples_and_positional_fields():
    text = DARTS_V2_TEXT.replace("normal_concat=[2, 3, 4, 5]", "normal_concat=range(2, 6)")
    assert from_darts_string(text) == from_darts_string(DARTS_V2_TEXT)
    positional = to_darts_string(from_darts_string(DARTS_V2_TEXT)).replace("normal=", "").replace(
        "normal_concat=", "").replace("reduce=", "").replace("reduce_concat=", "")
    assert from_darts_string("genotypes.Genotype" + positional[len("Genotype"):]) == from_darts_string(DARTS_V2_TEXT)


def test_nds_designs_and_the_loose_end_concat():
    nasnet, amoeba = from_darts_string(NASNET_TEXT), from_darts_string(AMOEBA_TEXT)
    check(nasnet, "nasnet")
    check(amoeba, "amoeba")
    for genotype, spec in ((nasnet, DESIGNS["nasnet"]), (amoeba, DESIGNS["amoeba"])):
        for cell in ("normal", "reduce"):  # their published concat lists are exactly the loose ends
            assert genotype.concat(cell) == loose_ends(genotype.cell(cell), spec.nodes) == default_concat(genotype.cell(cell), spec)
    assert [(d.name, len(d.ops), d.nodes) for d in DESIGNS.values()] == [
        ("nasnet", 13, 5), ("amoeba", 8, 5), ("pnas", 8, 5), ("enas", 5, 5), ("darts", 8, 4), ("nb301", 7, 4)]
    with pytest.raises(InvalidGenotype, match="unknown op 'sep_conv_7x7' in the reduce cell"):
        check(amoeba, "enas")  # Amoeba's reduction cell uses an op ENAS's space lacks
    with pytest.raises(InvalidGenotype, match="must have 4 nodes"):
        check(nasnet, NB301)


BAD_GENOTYPES = [
    (DARTS_V2_TEXT.replace("'dil_conv_3x3'", "'dil_conv_9x9'"), "unknown op 'dil_conv_9x9'"),
    (DARTS_V2_TEXT.replace("('dil_conv_3x3', 2)", "('dil_conv_3x3', 5)"), "input 5 of node 5 .* out of range"),
    (DARTS_V2_TEXT.replace("('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0)", "('sep_conv_3x3', 0)", 1),
     "must have 4 nodes"),
    (DARTS_V2_TEXT.replace("('sep_conv_3x3', 0), ('sep_conv_3x3', 1)", "('sep_conv_3x3', 0), ('sep_conv_3x3', 0)", 1),
     "reads state 0 twice"),
    (DARTS_V2_TEXT.replace("reduce_concat=[2, 3, 4, 5]", "reduce_concat=[2, 7]"), "reduce_concat .* must name"),
    (DARTS_V2_TEXT.replace("normal=[", "normal=[('sep_conv_3x3', 'x'), "), "must be \\(op name, input index\\)"),
    ("Genotype(normal=__import__('os').system('true'))", "must be a list literal"),
    ("print('hello')", "Genotype\\(...\\) call"),
    ("Genotype(normal=[], reduce=[])", "lacks"),
    ("[[(0, 9)] * 8, [(0, 1)] * 8]", "not a NASLib compact genotype|op index 9"),
    ("[[(0, 9), (1, 1), (0, 1), (1, 1), (0, 1), (1, 1), (0, 1), (1, 1)], [(0, 1), (1, 1)]]", "op index 9 is out of range"),
]


@pytest.mark.parametrize("text,message", BAD_GENOTYPES)
def test_bad_genotypes_get_one_line(space, text, message):
    with pytest.raises(InvalidGenotype, match=message) as caught:
        space.from_id(text)
    assert isinstance(caught.value, UsageError) and isinstance(caught.value, ValueError)
    assert "\n" not in str(caught.value)


def test_bad_nds_objects_and_compact_forms():
    with pytest.raises(InvalidGenotype, match="lacks \\['reduce_concat'\\]"):
        from_nds({"normal": [], "normal_concat": [], "reduce": []})
    with pytest.raises(InvalidGenotype, match="\\[normal, reduce\\]"):
        from_compact([[(0, 1)] * 8])
    with pytest.raises(InvalidGenotype, match="'none' has no index in the compact form"):
        to_compact(check(from_darts_string(DARTS_V2_TEXT.replace("'dil_conv_3x3'", "'none'")), "darts"))
    with pytest.raises(InvalidGenotype, match="concatenates nodes 2..5"):
        to_compact(from_darts_string(NASNET_TEXT))


# -- the space ------------------------------------------------------------------------------------------------------


def test_space_loads_by_name_and_offers_its_capabilities():
    from nasearch.loading import load_space
    from nasearch.spaces.protocol import capabilities, protocol_problems

    loaded = load_space({"name": "darts", "args": {"width": 16, "depth": 5}})
    assert isinstance(loaded, DartsSpace) and (loaded.width, loaded.depth) == (16, 5)
    assert protocol_problems(loaded) == []
    assert {"encoding", "neighbours", "vector_encodings", "result_keys"} <= set(capabilities(loaded))
    with pytest.raises(UsageError, match="width must be a positive integer"):
        DartsSpace(width=0)


def test_query_without_a_backend_says_what_is_needed(space):
    arch = space.sample(np.random.default_rng(0))
    for call in (lambda: space.query(arch, np.random.default_rng(0)), lambda: space.final_metrics(arch)):
        with pytest.raises(UsageError, match="no results without a backend.*nb301") as caught:
            call()
        assert "\n" not in str(caught.value)
    with pytest.raises(UsageError, match="unknown darts backend"):
        DartsSpace(backend="nb999")


def test_sample_is_seeded_valid_and_covers_the_choices(space):
    a = [space.sample(np.random.default_rng(3)) for _ in range(2)]
    assert a[0] == a[1]
    rng = np.random.default_rng(0)
    archs = [space.sample(rng) for _ in range(400)]
    ops, firsts = set(), set()
    for arch in archs:
        check(arch, NB301)
        ops |= {op for op, _ in arch.normal + arch.reduce}
        firsts.add(arch.reduce[6][1])
    assert ops == set(NB301_OPS) and firsts == {0, 1, 2, 3, 4}
    assert len(set(archs)) == len(archs)


def _differences(a: Genotype, b: Genotype) -> int:
    return sum(x != y for cell in ("normal", "reduce") for pa, pb in zip(a.cell(cell), b.cell(cell)) for x, y in zip(pa, pb))


def test_mutate_changes_one_op_or_one_input(space):
    rng = np.random.default_rng(1)
    arch = space.sample(rng)
    kinds = set()
    for _ in range(200):
        child = space.mutate(arch, rng)
        check(child, NB301)
        assert _differences(arch, child) == 1
        kinds.add("op" if any(pa[0] != pb[0] for c in ("normal", "reduce") for pa, pb in zip(arch.cell(c), child.cell(c))) else "input")
        arch = child
    assert kinds == {"op", "input"}


def test_neighbours_are_every_one_step_change(space):
    arch = from_darts_string(DARTS_V2_TEXT)
    neighbours = space.neighbours(arch)
    # per cell: 8 pairs x 6 other ops, plus per pair the inputs other than its own and its sibling's (0+1+2+3 per pair)
    assert len(neighbours) == len(set(neighbours)) == 2 * (8 * 6 + 2 * (0 + 1 + 2 + 3))
    assert all(_differences(arch, n) == 1 for n in neighbours)
    for n in neighbours:
        check(n, NB301)
    rng = np.random.default_rng(0)
    assert {space.mutate(arch, rng) for _ in range(3000)} == set(neighbours)  # mutation reaches exactly these


def test_encoding_round_trips_and_every_index_vector_is_a_genotype(space):
    sizes = [len(c) for c in space.choices()]
    assert len(sizes) == 24 and sizes[:3] == [2, 7, 7] and sizes[9] == 20
    rng = np.random.default_rng(0)
    for _ in range(100):
        arch = space.sample(rng)
        assert space.decode(space.encode(arch)) == arch
        indices = [int(rng.integers(s)) for s in sizes]
        decoded = space.decode(indices)
        check(decoded, NB301)
        assert list(space.encode(decoded)) == indices
    with pytest.raises(InvalidGenotype, match="option indices"):
        space.decode([0] * 23)
    with pytest.raises(InvalidGenotype, match="option indices"):
        space.decode([2] + [0] * 23)


def test_arch_id_is_canonical_and_invertible(space):
    arch = from_darts_string(DARTS_V2_TEXT)
    assert space.arch_id(arch) == "03-13-03-13-13-02-02-25_00-10-22-10-00-22-22-10"
    assert space.from_id(space.arch_id(arch)) == arch
    assert space.from_id(to_compact_key(arch)) == arch
    rng = np.random.default_rng(0)
    for _ in range(50):
        a = space.sample(rng)
        assert space.from_id(space.arch_id(a)) == a


def test_arch_from_key_reads_naslib_keys(space):
    for key in ZC_PARAMS:
        arch = space.arch_from_key(key)
        assert to_compact_key(arch) == key


def test_vector_encodings(space):
    arch = from_darts_string(DARTS_V2_TEXT)
    adjacency = space.vector_encoding(arch, "adjacency")
    assert adjacency.shape == (2 * (49 + 8),)
    normal = adjacency[:49].reshape(7, 7)
    # node 2 reads 0 and 1; node 5 reads 0 and 2; nodes 2..5 feed the output (vertex 6)
    assert normal[0, 2] == normal[1, 2] == normal[0, 5] == normal[2, 5] == 1 and normal[:, 6].tolist() == [0, 0, 1, 1, 1, 1, 0]
    assert normal.sum() == 8 + 4  # the 8 (input, node) edges (0,2),(1,2),(0,3),(1,3),(1,4),(0,4),(0,5),(2,5) + 4 to the output
    assert adjacency[49:57].tolist() == [3, 3, 3, 3, 3, 2, 2, 5]
    path = space.vector_encoding(arch, "path")
    assert path.shape == (4 * 2801,)
    # normal cell: the single-op paths 0-sep3, 1-sep3, 0-skip (7 pairs, 3 distinct) + node 2's two paths
    # extended by node 5's dil_conv from node 2
    assert path[: 2 * 2801].sum() == 3 + 2
    index_input0_sep3 = 1 * (NB301_OPS.index("sep_conv_3x3") + 1)
    assert path[index_input0_sep3] == 1
    two_op = index_input0_sep3 + 7 * (NB301_OPS.index("dil_conv_3x3") + 1)  # 0 -sep3-> node 2 -dil3-> node 5
    assert path[two_op] == 1
    with pytest.raises(ValueError, match="encodings"):
        space.vector_encoding(arch, "gcn")
    from nasearch.predictors.base import encode

    assert encode(space, [arch, arch], "onehot").shape == (2, sum(len(c) for c in space.choices()))


# -- the network ------------------------------------------------------------------------------------------------


def _random_genotype(spec, rng) -> Genotype:
    cells = []
    for _ in range(2):
        cells.append(tuple((spec.ops[int(rng.integers(len(spec.ops)))], int(rng.integers(p // 2 + 2))) for p in range(spec.pairs)))
    return Genotype(cells[0], default_concat(cells[0], spec), cells[1], default_concat(cells[1], spec))


def test_every_design_builds_and_runs_with_every_op():
    rng = np.random.default_rng(0)
    seen = set()
    x = torch.randn(1, 3, 16, 16)
    genotypes = [from_darts_string(NASNET_TEXT), from_darts_string(AMOEBA_TEXT)]
    genotypes += [_random_genotype(spec, rng) for spec in DESIGNS.values()]
    for genotype in genotypes:
        net = DartsNetwork(genotype, 4, 3)
        with torch.no_grad():
            assert net(x).shape == (1, 10)
        seen |= {op for op, _ in genotype.normal + genotype.reduce}
    for op in set(ALL_OPS) - seen:  # any op no random genotype drew: strided and not, on its own
        for stride in (1, 2):
            assert make_op(op, 4, stride)(torch.randn(1, 4, 8, 8)).shape == (1, 4, 8 // stride, 8 // stride)
    with pytest.raises(ValueError, match="unknown DARTS-family op"):
        make_op("conv_9x9", 4, 1)


def test_published_nds_cells_keep_pycls_structure():
    """pycls's/DARTS's NASNet and AmoebaNet at C = 36, 20 cells (the DARTS builder's counts), and the
    auxiliary head adds DARTS's CIFAR head on top (parameters only)."""
    nasnet = DartsNetwork(from_darts_string(NASNET_TEXT), 36, 20)
    amoeba = DartsNetwork(from_darts_string(AMOEBA_TEXT), 36, 20)
    assert (count_parameters(nasnet), count_parameters(amoeba)) == (3_830_950, 3_145_078)
    with_aux = DartsNetwork(from_darts_string(NASNET_TEXT), 36, 20, auxiliary=True)
    head = with_aux.auxiliary_head
    assert count_parameters(with_aux) - count_parameters(nasnet) == count_parameters(head)
    assert nasnet.cells[13].reduction and head.features[2].in_channels == len(nasnet.cells[13].concat) * 4 * 36 == 432


@pytest.mark.parametrize("stride", [1, 2])
def test_fast_avg_pool_equals_torch_pooling(stride):
    torch.manual_seed(0)
    x = torch.randn(2, 3, 8, 8, dtype=torch.float64, requires_grad=True)
    y = x.detach().clone().requires_grad_(True)
    fast, ref = AvgPool3x3(stride)(x), nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False)(y)
    assert torch.allclose(fast, ref)
    weight = torch.randn_like(ref)
    (fast * weight).sum().backward()
    (ref * weight).sum().backward()
    assert torch.allclose(x.grad, y.grad)


@pytest.mark.parametrize("proxy", ["params", "synflow", "grad_norm", "gradsign", "naswot"])
def test_every_proxy_runs_on_the_network(proxy, tiny_npz):
    from nasearch.proxies.data import DataSource
    from nasearch.proxies.scorer import ProxyScorer

    small = DartsSpace(width=4, depth=3)
    scorer = ProxyScorer(small, proxy, batch_size=4, data=DataSource(npz=str(tiny_npz)), use_tables=False)
    record = scorer.compute(small.sample(np.random.default_rng(0)))
    assert np.isfinite(record.score)


@pytest.mark.parametrize("searcher", ["rs", "rea", "reinforce", "npenas", pytest.param("bohb", marks=pytest.mark.slow),
                                      pytest.param("bananas", marks=pytest.mark.slow)])
def test_every_searcher_runs_on_the_space(searcher):
    """With a backend (here a fake one) every searcher runs: the encoding (reinforce, bohb) and the
    predictors' encodings (npenas, bananas) fit the space."""
    from nasearch.runner import run_one
    from tests.fakes import CountingScorer, FakeDartsBackend, search_context

    space = DartsSpace()
    space.backend = FakeDartsBackend()
    record = run_one(search_context(space, searcher, budget=2500.0), 0)
    assert record.evaluations >= 20 and record.final["fake_test"] >= 0
    scorer = CountingScorer(space, lambda arch: -space.backend.fitness(arch))
    g_record = run_one(search_context(space, searcher, budget=1000.0, scorer=scorer), 0)
    assert g_record.evaluations >= 5 and scorer.calls


def test_factorized_reduce_equals_darts_on_even_sizes():
    """pycls's pad-then-shift factorized reduce reads the pixels DARTS's ``x[:, :, 1:, 1:]`` reads."""
    import torch.nn.functional as F

    from nasearch.spaces.darts.network import FactorizedReduce

    torch.manual_seed(0)
    reduce = FactorizedReduce(3, 4).eval()
    x = torch.randn(2, 3, 8, 8)
    relu = F.relu(x)
    darts = reduce.bn(torch.cat([reduce.conv_1(relu), reduce.conv_2(relu[:, :, 1:, 1:])], dim=1))
    assert torch.allclose(reduce(x), darts)
