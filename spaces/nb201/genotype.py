"""NAS-Bench-201 cell genotypes: six edges, five candidate operations.

An architecture is a tuple of six op indices in the order the official arch strings list
their edges: (1<-0), (2<-0), (2<-1), (3<-0), (3<-1), (3<-2). That is also the order of the
``Op0..Op5`` keys of the embedded table, so no re-indexing happens anywhere.
"""
from __future__ import annotations

import re
from typing import Sequence

OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
NUM_EDGES = 6
NUM_ARCHS = len(OPS) ** NUM_EDGES  # 15,625
#: (target node, source node) for each edge, in arch-string order.
EDGES: tuple[tuple[int, int], ...] = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))

Genotype = tuple[int, int, int, int, int, int]

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
    names = [OPS[i] for i in ops]
    nodes = ["|" + "|".join(f"{names[e]}~{EDGES[e][1]}" for e in range(n0, n1)) + "|" for n0, n1 in ((0, 1), (1, 3), (3, 6))]
    text = "+".join(nodes)
    if isinstance(ops, tuple) and len(_ARCH_STRS) < len(OPS) ** NUM_EDGES:
        _ARCH_STRS[ops] = text
    return text


def from_arch_str(arch_str: str) -> Genotype:
    """Parse an official arch string; raises ValueError naming what is wrong."""
    nodes = arch_str.strip().split("+")
    if len(nodes) != 3:
        raise ValueError(f"NB201 arch string must have 3 nodes separated by '+', got {arch_str!r}")
    ops: list[int] = []
    for node_index, node in enumerate(nodes, start=1):
        tokens = [t for t in node.split("|") if t]
        if len(tokens) != node_index:
            raise ValueError(f"node {node_index} of {arch_str!r} must have {node_index} inputs")
        for source, token in enumerate(tokens):
            match = _TOKEN.match(token)
            if not match or match.group(1) not in OPS or int(match.group(2)) != source:
                raise ValueError(f"bad edge {token!r} in {arch_str!r}; expected '<op>~{source}' with op in {OPS}")
            ops.append(OPS.index(match.group(1)))
    return tuple(ops)  # type: ignore[return-value]


def to_index(ops: Sequence[int]) -> int:
    """Base-5 rank of a genotype (edge 0 most significant): a dense 0..15624 index."""
    index = 0
    for op in ops:
        index = index * len(OPS) + op
    return index


def from_index(index: int) -> Genotype:
    ops = []
    for _ in range(NUM_EDGES):
        index, op = divmod(index, len(OPS))
        ops.append(op)
    return tuple(reversed(ops))  # type: ignore[return-value]
