"""NAS-Bench-201 cell genotypes: six edges, five candidate operations.

An architecture is a tuple of six op indices in the order the official arch strings list
their edges: (1<-0), (2<-0), (2<-1), (3<-0), (3<-1), (3<-2). That is also the order of the
``Op0..Op5`` keys of the embedded table, so no re-indexing happens anywhere.
"""
from __future__ import annotations

import re
from typing import Any, Sequence

from nasearch.errors import UsageError

OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
NUM_EDGES = 6
NUM_ARCHS = len(OPS) ** NUM_EDGES  # 15,625
#: (target node, source node) for each edge, in arch-string order.
EDGES: tuple[tuple[int, int], ...] = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))

Genotype = tuple[int, int, int, int, int, int]

class InvalidArchitecture(UsageError, ValueError):
    """Not an NB201 genotype: one line naming what was given (a ValueError too, for callers that catch those)."""


def check_genotype(ops: Any) -> Genotype:
    """``ops`` as a tuple of six op indices in ``0..4``, or :class:`InvalidArchitecture`.

    Indices are never wrapped: ``-1`` or ``5`` is an error, not another cell.
    """
    try:
        values = tuple(ops)
    except TypeError:
        raise InvalidArchitecture(f"NB201 arch must be {NUM_EDGES} op indices in 0..{len(OPS) - 1}, got {ops!r}") from None
    if len(values) != NUM_EDGES or not all(
        isinstance(v, int) and not isinstance(v, bool) or type(v).__name__.startswith(("int", "uint")) for v in values
    ) or not all(0 <= int(v) < len(OPS) for v in values):
        raise InvalidArchitecture(
            f"NB201 arch must be {NUM_EDGES} op indices in 0..{len(OPS) - 1} (one per edge), got {ops!r}"
        )
    return tuple(int(v) for v in values)  # type: ignore[return-value]


_TOKEN = re.compile(r"^([a-z0-9_]+)~(\d+)$")


#: tuple genotype -> arch string, filled as strings are made (at most 15,625 entries): ids are
#: asked for several times per simulated evaluation (runner, hook, score cache), and building
#: one costs ~50x a dict lookup
_ARCH_STRS: dict[tuple, str] = {}


def to_arch_str(ops: Sequence[int]) -> str:
    """The official ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`` string."""
    try:
        return _ARCH_STRS[ops]  # type: ignore[index]
    except (KeyError, TypeError):  # not seen yet, or a list
        pass
    ops = check_genotype(ops)
    names = [OPS[i] for i in ops]
    nodes = ["|" + "|".join(f"{names[e]}~{EDGES[e][1]}" for e in range(n0, n1)) + "|" for n0, n1 in ((0, 1), (1, 3), (3, 6))]
    text = "+".join(nodes)
    if isinstance(ops, tuple) and len(_ARCH_STRS) < len(OPS) ** NUM_EDGES:
        _ARCH_STRS[ops] = text
    return text


def from_arch_str(arch_str: str) -> Genotype:
    """Parse an official arch string; raises ValueError naming what is wrong."""
    if not isinstance(arch_str, str):
        raise InvalidArchitecture(f"NB201 arch id must be an arch string such as {to_arch_str((0,) * NUM_EDGES)!r}, got {arch_str!r}")
    nodes = arch_str.strip().split("+")
    if len(nodes) != 3:
        raise ValueError(f"NB201 arch string must have 3 nodes separated by '+', got {arch_str!r}")
    ops: list[int] = []
    for node_index, node in enumerate(nodes, start=1):
        tokens = [t for t in node.split("|") if t]
        if len(tokens) != node_index:
            raise InvalidArchitecture(f"node {node_index} of {arch_str!r} must have {node_index} inputs")
        for source, token in enumerate(tokens):
            match = _TOKEN.match(token)
            if not match or match.group(1) not in OPS or int(match.group(2)) != source:
                raise InvalidArchitecture(f"bad edge {token!r} in {arch_str!r}; expected '<op>~{source}' with op in {OPS}")
            ops.append(OPS.index(match.group(1)))
    return tuple(ops)  # type: ignore[return-value]


def to_index(ops: Sequence[int]) -> int:
    """Base-5 rank of a genotype (edge 0 most significant): a dense 0..15624 index."""
    index = 0
    for op in check_genotype(ops):
        index = index * len(OPS) + op
    return index


def from_index(index: int) -> Genotype:
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < NUM_ARCHS:
        raise InvalidArchitecture(f"NB201 arch index must be an integer in 0..{NUM_ARCHS - 1}, got {index!r}")
    ops = []
    for _ in range(NUM_EDGES):
        index, op = divmod(index, len(OPS))
        ops.append(op)
    return tuple(reversed(ops))  # type: ignore[return-value]
