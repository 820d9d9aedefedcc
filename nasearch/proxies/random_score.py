"""random: a proxy that knows nothing -- the control for every proxy-assisted searcher.

The score is a uniform number in [0, 1) derived from SHA-256 of ``"<arch id>|<seed>"``: the
same architecture always gets the same score under one seed (so caching and determinism
hold, and a pool's choice is reproducible), different architectures get independent scores,
and a different seed gives a fresh, independent draw. It needs neither data nor a network
(the scorer passes ``arch_id``/``seed`` because of ``needs_arch_id``), so its cost is ~0 s.

What it controls for, and what it does not: for a pool of candidates drawn independently
from a fixed distribution (random search, a policy sample, Hyperband's random configs),
picking the best by this score is picking uniformly, so the G-searcher matches its vanilla
twin in expectation. The score is, however, a *fixed* random landscape (one per seed): when
pools are drawn again and again from the same neighbourhood (REA mutating the same parent),
the same high-hash neighbours keep winning, so the search explores less than vanilla REA.
The controls experiment (docs/results/controls) measured G-REA+random below REA. A control
that is exact for every searcher needs a fresh uniform choice per pool, drawn from the run's
own generator, i.e. in the pool hook rather than in a cached per-architecture score: that
is the hook's ``select: uniform`` (nasearch/hook.py).
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
