"""Cell genotypes of the DARTS family: DARTS / NAS-Bench-301 and NDS's NASNet, Amoeba, PNAS, ENAS, DARTS.

A :class:`Genotype` is what the DARTS repository's ``Genotype`` namedtuple holds, made immutable and
hashable: per cell (normal, reduce) a tuple of ``(op, input)`` pairs, two per intermediate node, and
the tuple of states the cell concatenates. States are numbered as DARTS numbers them: 0 is the
output of the cell two back, 1 the previous cell's, 2.. the cell's intermediate nodes, so node ``i``
(0-based) may read states ``0..i+1``.

A :class:`Design` says what a design space allows (its op set, node count, output rule). The op
sets and node counts are NDS's (Radosavovic et al. 2019, Table 1, and the op lists of pycls's
``models/nas/genotypes.py`` with which the NDS networks were trained):

========  =====  =====  =====================================================
design    ops    nodes  cell output
========  =====  =====  =====================================================
nasnet    13     5      the loose ends (nodes no other node reads)
amoeba    8      5      the loose ends
pnas      8      5      all nodes
enas      5      5      the loose ends
darts     8      4      all nodes (NDS's DARTS op set includes ``none``)
nb301     7      4      all nodes; the two inputs of a node differ (NASLib)
========  =====  =====  =====================================================

``nb301`` is the DARTS space as NAS-Bench-301 and NASLib define it: the seven DARTS ops in NASLib's
order (the op indices of the compact form), no ``none``, two *different* inputs per node.

Notations read and written here (all without ``eval``):

* the DARTS repository's ``Genotype(normal=[('sep_conv_3x3', 0), ...], normal_concat=range(2, 6), ...)``
  (:func:`from_darts_string` / :func:`to_darts_string`),
* NDS's JSON ``genotype`` object ``{"normal": [["sep_conv_3x3", 0], ...], "normal_concat": [...],
  "reduce": ..., "reduce_concat": ...}`` (:func:`from_nds` / :func:`to_nds`),
* NASLib's compact form ``((input, op_index) x 8, (input, op_index) x 8)`` with op indices into
  :data:`NB301_OPS` and concat ``[2, 3, 4, 5]`` (:func:`from_compact` / :func:`to_compact`), and its
  ``zc_nasbench301.json`` key, ``str()`` of the compact lists (:func:`to_compact_key`).
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from nasearch.errors import UsageError

CELLS = ("normal", "reduce")

#: the DARTS / NB301 ops, in NASLib's order: the op indices of the compact form
NB301_OPS: tuple[str, ...] = (
    "max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5",
)
#: NDS's op sets, in pycls's order
NASNET_OPS: tuple[str, ...] = (
    "skip_connect", "conv_3x1_1x3", "conv_7x1_1x7", "dil_conv_3x3", "avg_pool_3x3", "max_pool_3x3", "max_pool_5x5",
    "max_pool_7x7", "conv_1x1", "conv_3x3", "sep_conv_3x3", "sep_conv_5x5", "sep_conv_7x7",
)
AMOEBA_OPS: tuple[str, ...] = (
    "skip_connect", "sep_conv_3x3", "sep_conv_5x5", "sep_conv_7x7", "avg_pool_3x3", "max_pool_3x3",
    "dil_sep_conv_3x3", "conv_7x1_1x7",
)
PNAS_OPS: tuple[str, ...] = (
    "sep_conv_3x3", "sep_conv_5x5", "sep_conv_7x7", "conv_7x1_1x7", "skip_connect", "avg_pool_3x3", "max_pool_3x3",
    "dil_conv_3x3",
)
ENAS_OPS: tuple[str, ...] = ("skip_connect", "sep_conv_3x3", "sep_conv_5x5", "avg_pool_3x3", "max_pool_3x3")
NDS_DARTS_OPS: tuple[str, ...] = (
    "none", "max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3",
    "dil_conv_5x5",
)


class InvalidGenotype(UsageError, ValueError):
    """Not a genotype of the design: one line naming what is wrong (a ValueError too)."""


@dataclass(frozen=True)
class Design:
    """What a design space allows: ``ops``, ``nodes`` intermediate nodes per cell, the output rule
    (``concat``: ``"all"`` nodes or the ``"loose"`` ends) and whether a node's two inputs must differ."""

    name: str
    ops: tuple[str, ...]
    nodes: int
    concat: str
    distinct_inputs: bool = False

    @property
    def pairs(self) -> int:
        """(op, input) pairs per cell."""
        return 2 * self.nodes

    def inputs_of(self, pair: int) -> int:
        """How many states pair ``pair`` may read (node ``pair // 2`` reads ``0..pair // 2 + 1``)."""
        return pair // 2 + 2


DESIGNS: dict[str, Design] = {
    "nasnet": Design("nasnet", NASNET_OPS, 5, "loose"),
    "amoeba": Design("amoeba", AMOEBA_OPS, 5, "loose"),
    "pnas": Design("pnas", PNAS_OPS, 5, "all"),
    "enas": Design("enas", ENAS_OPS, 5, "loose"),
    "darts": Design("darts", NDS_DARTS_OPS, 4, "all"),
    "nb301": Design("nb301", NB301_OPS, 4, "all", distinct_inputs=True),
}
NB301 = DESIGNS["nb301"]
#: every op any design uses (the network builder knows each of them)
ALL_OPS: tuple[str, ...] = tuple(sorted({op for d in DESIGNS.values() for op in d.ops}))


def design(name: str) -> Design:
    if name not in DESIGNS:
        raise InvalidGenotype(f"unknown DARTS-family design {name!r}; use one of {sorted(DESIGNS)}")
    return DESIGNS[name]


Cell = tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Genotype:
    """A normal and a reduction cell: ``(op, input)`` pairs and concatenated states, as tuples.

    Lists are accepted and stored as tuples, so a Genotype is hashable and compares by value.
    Construction checks only the shape (pairs of a string and an integer); :func:`check` checks a
    genotype against a design.
    """

    normal: Cell
    normal_concat: tuple[int, ...]
    reduce: Cell
    reduce_concat: tuple[int, ...]

    def __post_init__(self) -> None:
        for cell in CELLS:
            object.__setattr__(self, cell, _pairs(getattr(self, cell), cell))
            object.__setattr__(self, cell + "_concat", _ints(getattr(self, cell + "_concat"), cell + "_concat"))

    def cell(self, name: str) -> Cell:
        return getattr(self, name)

    def concat(self, name: str) -> tuple[int, ...]:
        return getattr(self, name + "_concat")

    def __str__(self) -> str:
        return to_darts_string(self)


def _is_int(value: Any) -> bool:
    return not isinstance(value, bool) and (isinstance(value, int) or type(value).__name__.startswith(("int", "uint")))


def _pairs(value: Any, what: str) -> Cell:
    try:
        items = tuple(value)
    except TypeError:
        raise InvalidGenotype(f"genotype {what} must be a list of (op, input) pairs, got {value!r}") from None
    out = []
    for item in items:
        try:
            op, source = item
        except (TypeError, ValueError):
            raise InvalidGenotype(f"genotype {what}: {item!r} is not an (op, input) pair") from None
        if not isinstance(op, str) or not _is_int(source):
            raise InvalidGenotype(f"genotype {what}: {item!r} must be (op name, input index)")
        out.append((op, int(source)))
    return tuple(out)


def _ints(value: Any, what: str) -> tuple[int, ...]:
    if isinstance(value, range):
        return tuple(value)
    try:
        items = tuple(value)
    except TypeError:
        raise InvalidGenotype(f"genotype {what} must be a list of state indices, got {value!r}") from None
    if not all(_is_int(v) for v in items):
        raise InvalidGenotype(f"genotype {what} must be a list of state indices, got {value!r}")
    return tuple(int(v) for v in items)


# -- checks -----------------------------------------------------------------------------


def loose_ends(cell: Cell, nodes: int) -> tuple[int, ...]:
    """The intermediate nodes no other node of ``cell`` reads (NASNet/Amoeba/ENAS's cell output)."""
    used = {source for _, source in cell}
    return tuple(s for s in range(2, nodes + 2) if s not in used)


def default_concat(cell: Cell, spec: Design) -> tuple[int, ...]:
    """The states a cell of ``spec`` concatenates: all nodes, or its loose ends."""
    if spec.concat == "loose":
        return loose_ends(cell, spec.nodes)
    return tuple(range(2, spec.nodes + 2))


def check(genotype: Genotype, spec: Design | str = NB301) -> Genotype:
    """``genotype`` if it belongs to design ``spec``, else :class:`InvalidGenotype` naming the first problem:
    an unknown op, an input out of range, a wrong node count, a repeated input (where the design forbids
    it), or a concat naming states the cell does not have."""
    spec = design(spec) if isinstance(spec, str) else spec
    if not isinstance(genotype, Genotype):
        raise InvalidGenotype(f"not a {spec.name} genotype: {genotype!r}")
    for name in CELLS:
        cell = genotype.cell(name)
        if len(cell) != spec.pairs:
            raise InvalidGenotype(
                f"{spec.name} {name} cell must have {spec.nodes} nodes ({spec.pairs} (op, input) pairs), got {len(cell)} pairs"
            )
        for index, (op, source) in enumerate(cell):
            if op not in spec.ops:
                raise InvalidGenotype(f"unknown op {op!r} in the {name} cell; {spec.name} ops are {list(spec.ops)}")
            if not 0 <= source < spec.inputs_of(index):
                raise InvalidGenotype(
                    f"input {source} of node {index // 2 + 2} in the {name} cell is out of range: "
                    f"node {index // 2 + 2} reads states 0..{spec.inputs_of(index) - 1}"
                )
        if spec.distinct_inputs:
            for node in range(spec.nodes):
                if cell[2 * node][1] == cell[2 * node + 1][1]:
                    raise InvalidGenotype(
                        f"node {node + 2} of the {name} cell reads state {cell[2 * node][1]} twice; "
                        f"{spec.name} nodes take two different inputs"
                    )
        concat = genotype.concat(name)
        states = range(2, spec.nodes + 2)
        if not concat or len(set(concat)) != len(concat) or not all(s in states for s in concat):
            raise InvalidGenotype(
                f"{name}_concat {list(concat)} must name distinct intermediate states in {states.start}..{states.stop - 1}"
            )
    return genotype


# -- the DARTS repository's notation ------------------------------------------------------

_FIELDS = ("normal", "normal_concat", "reduce", "reduce_concat")


def _literal(node: ast.AST, field: str) -> Any:
    """A field's value: a literal, or ``range(a[, b[, c]])`` with integer literals."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range" and not node.keywords:
        try:
            args = [ast.literal_eval(a) for a in node.args]
        except ValueError:
            args = None
        if args and len(args) <= 3 and all(_is_int(a) for a in args):
            return range(*args)
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise InvalidGenotype(
            f"genotype field {field} must be a list literal (or range(a, b) for a concat), got {ast.unparse(node)!r}"
        ) from None


def from_darts_string(text: str) -> Genotype:
    """Parse ``Genotype(normal=[...], normal_concat=..., reduce=[...], reduce_concat=...)`` as the DARTS
    repository writes it (``genotypes.py`` or a training log), also as ``NAME = Genotype(...)``; never
    evaluates it."""
    if not isinstance(text, str):
        raise InvalidGenotype(f"a DARTS genotype string is text such as \"Genotype(normal=[...], ...)\", got {text!r}")
    try:
        tree = ast.parse(text.strip())
    except SyntaxError as error:
        raise InvalidGenotype(f"not a DARTS genotype string ({error.msg}): {text.strip()[:80]!r}") from None
    if len(tree.body) != 1 or not isinstance(tree.body[0], (ast.Expr, ast.Assign)):
        raise InvalidGenotype(f"a DARTS genotype string is one Genotype(...) expression, got {text.strip()[:80]!r}")
    call = tree.body[0].value
    name = getattr(getattr(call, "func", None), "id", None) or getattr(getattr(call, "func", None), "attr", None)
    if not isinstance(call, ast.Call) or name != "Genotype":
        raise InvalidGenotype(f"a DARTS genotype string is a Genotype(...) call, got {text.strip()[:80]!r}")
    if len(call.args) > len(_FIELDS):
        raise InvalidGenotype(f"Genotype(...) takes {len(_FIELDS)} fields {_FIELDS}, got {len(call.args)} positional")
    values: dict[str, Any] = {}
    for field, arg in zip(_FIELDS, call.args):
        values[field] = _literal(arg, field)
    for keyword in call.keywords:
        if keyword.arg not in _FIELDS or keyword.arg in values:
            raise InvalidGenotype(f"Genotype(...) field {keyword.arg!r} is unknown or repeated; fields are {_FIELDS}")
        values[keyword.arg] = _literal(keyword.value, keyword.arg)
    missing = [f for f in _FIELDS if f not in values]
    if missing:
        raise InvalidGenotype(f"Genotype(...) lacks {missing}; it needs {_FIELDS}")
    return Genotype(**values)


def _cell_text(cell: Cell) -> str:
    return "[" + ", ".join(f"({op!r}, {source})" for op, source in cell) + "]"


def to_darts_string(genotype: Genotype) -> str:
    """The DARTS repository's notation (what ``print(genotype)`` shows in its logs)."""
    return (
        f"Genotype(normal={_cell_text(genotype.normal)}, normal_concat={list(genotype.normal_concat)}, "
        f"reduce={_cell_text(genotype.reduce)}, reduce_concat={list(genotype.reduce_concat)})"
    )


# -- NDS's JSON genotype objects -----------------------------------------------------------


def from_nds(obj: Mapping[str, Any]) -> Genotype:
    """An NDS record's ``net.genotype`` object (``{"normal": [[op, input], ...], "normal_concat": [...],
    "reduce": ..., "reduce_concat": ...}``); a whole record (``{"net": {"genotype": ...}}``) or its
    ``net`` object is accepted too."""
    if isinstance(obj, Mapping) and "net" in obj and isinstance(obj["net"], Mapping):
        obj = obj["net"]
    if isinstance(obj, Mapping) and "genotype" in obj and isinstance(obj["genotype"], Mapping):
        obj = obj["genotype"]
    if not isinstance(obj, Mapping):
        raise InvalidGenotype(f"an NDS genotype is a JSON object with keys {list(_FIELDS)}, got {obj!r:.80}")
    missing = [f for f in _FIELDS if f not in obj]
    if missing:
        raise InvalidGenotype(f"NDS genotype object lacks {missing}; it needs {list(_FIELDS)}")
    return Genotype(**{f: obj[f] for f in _FIELDS})


def to_nds(genotype: Genotype) -> dict[str, list]:
    """The NDS JSON ``genotype`` object (pairs as two-element lists, as JSON writes tuples)."""
    out: dict[str, list] = {}
    for name in CELLS:
        out[name] = [[op, source] for op, source in genotype.cell(name)]
        out[name + "_concat"] = list(genotype.concat(name))
    return out


# -- NASLib's compact form -------------------------------------------------------------------


def from_compact(compact: Any) -> Genotype:
    """NASLib's compact NB301 genotype: ``[normal, reduce]``, each 8 ``(input, op_index)`` pairs, op
    indices into :data:`NB301_OPS`, inputs numbered as in the genotype (0, 1: the previous cells;
    2..: the nodes), concat ``[2, 3, 4, 5]``. Also its text (a ``zc_nasbench301.json`` key), read
    with ``ast.literal_eval``. Does not check the design beyond op indices: call :func:`check`."""
    if isinstance(compact, str):
        try:
            compact = ast.literal_eval(compact.strip())
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            raise InvalidGenotype(f"not a NASLib compact genotype: {compact[:80]!r}") from None
    try:
        cells = tuple(compact)
    except TypeError:
        cells = ()
    if len(cells) != 2:
        raise InvalidGenotype(f"a NASLib compact genotype is [normal, reduce], each of (input, op_index) pairs; got {compact!r:.80}")
    converted = []
    for name, cell in zip(CELLS, cells):
        pairs = []
        try:
            items = tuple(cell)
        except TypeError:
            raise InvalidGenotype(f"compact {name} cell must be a list of (input, op_index) pairs, got {cell!r}") from None
        for item in items:
            try:
                source, op = item
            except (TypeError, ValueError):
                raise InvalidGenotype(f"compact {name} cell: {item!r} is not an (input, op_index) pair") from None
            if not (_is_int(source) and _is_int(op)):
                raise InvalidGenotype(f"compact {name} cell: {item!r} must be two integers (input, op_index)")
            if not 0 <= int(op) < len(NB301_OPS):
                raise InvalidGenotype(
                    f"compact {name} cell: op index {op} is out of range 0..{len(NB301_OPS) - 1} {list(NB301_OPS)}"
                )
            pairs.append((NB301_OPS[int(op)], int(source)))
        converted.append(tuple(pairs))
    concat = tuple(range(2, NB301.nodes + 2))
    return Genotype(converted[0], concat, converted[1], concat)


def to_compact(genotype: Genotype) -> tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]:
    """NASLib's compact form (tuples, as ``make_compact_immutable`` gives); only for NB301-op genotypes
    that concatenate all four nodes."""
    cells = []
    for name in CELLS:
        if genotype.concat(name) != tuple(range(2, NB301.nodes + 2)):
            raise InvalidGenotype(f"the compact form concatenates nodes 2..5; this {name} cell concatenates {list(genotype.concat(name))}")
        pairs = []
        for op, source in genotype.cell(name):
            if op not in NB301_OPS:
                raise InvalidGenotype(f"op {op!r} has no index in the compact form; its ops are {list(NB301_OPS)}")
            pairs.append((source, NB301_OPS.index(op)))
        cells.append(tuple(pairs))
    return cells[0], cells[1]


def to_compact_key(genotype: Genotype) -> str:
    """The key ``zc_nasbench301.json`` files a genotype under: ``str()`` of the compact lists,
    ``[[(0, 4), (1, 3), ...], [(0, 3), ...]]``."""
    return str([list(cell) for cell in to_compact(genotype)])


# -- convenience ---------------------------------------------------------------------------


def read(value: Any) -> Genotype:
    """A genotype from any notation above: a Genotype, a DARTS string, an NDS object or a compact form."""
    if isinstance(value, Genotype):
        return value
    if isinstance(value, Mapping):
        return from_nds(value)
    if isinstance(value, str):
        text = value.strip()
        return from_compact(text) if text.startswith(("[", "(")) else from_darts_string(text)
    if isinstance(value, Sequence) and len(value) == 2:
        return from_compact(value)
    if isinstance(value, Sequence) and len(value) == 4:  # a DARTS namedtuple or its fields
        return Genotype(*value)
    raise InvalidGenotype(f"cannot read a genotype from {value!r:.80}")


def iter_states(cell: Cell) -> Iterable[tuple[int, str, int]]:
    """``(node, op, input)`` for each pair, nodes numbered from 2 as states."""
    for index, (op, source) in enumerate(cell):
        yield index // 2 + 2, op, source
