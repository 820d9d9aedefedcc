"""random: a proxy that knows nothing -- the control for every proxy-assisted searcher.

The score is a uniform number in [0, 1) derived from SHA-256 of ``"<arch id>|<seed>"``: the
same architecture always gets the same score under one seed (so caching and determinism
hold, and a pool's choice is reproducible), different architectures get independent scores,
and a different seed gives a fresh, independent draw. Choosing the best of a pool by it is
therefore choosing uniformly at random, so a G-searcher with this proxy must match its
vanilla searcher in expectation. It needs neither data nor a network (the scorer passes
``arch_id``/``seed`` because of ``needs_arch_id``), so its cost is ~0 seconds.
"""
from __future__ import annotations

import hashlib

from nasearch.proxies.registry import ProxySpec


def random_score(network=None, inputs=None, labels=None, *, arch_id: str, seed: int) -> float:
    digest = hashlib.sha256(f"{arch_id}|{seed}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


SPEC = ProxySpec(
    name="random",
    fn=random_score,
    needs_data=False,
    needs_labels=False,
    higher_is_better=True,
    needs_arch_id=True,
    needs_network=False,
    description="uniform [0,1) from a hash of (arch id, seed): the no-information control",
)
