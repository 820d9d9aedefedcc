"""One registry for every zero-cost proxy.

Each proxy is a :class:`ProxySpec` living in its own module; the registry maps names to
``module:attribute`` so that importing nasearch does not import every proxy (or torch).
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable

from nasearch.errors import UsageError

ProxyFn = Callable[..., float]


@dataclass(frozen=True)
class ProxySpec:
    """A proxy and what it needs.

    ``fn(network, inputs, labels, **options) -> float`` scores a freshly initialised
    network; ``inputs``/``labels`` are ``None`` when the proxy declares it needs no data.
    A proxy with ``needs_arch_id`` also gets ``arch_id=`` and ``seed=`` keywords, because a
    score that must differ per architecture (the ``random`` control) cannot be derived from
    the network alone; with ``needs_network=False`` it gets ``None`` instead of a network.
    A spec with ``uniform_pick`` is no score at all: the pool hook picks a candidate uniformly
    with the run's own generator (the exact no-information control for every searcher).
    """

    name: str
    fn: ProxyFn
    needs_data: bool = True
    needs_labels: bool = True
    higher_is_better: bool = True
    needs_arch_id: bool = False
    needs_network: bool = True
    uniform_pick: bool = False
    options: dict[str, Any] = field(default_factory=dict)
    description: str = ""


PROXIES: dict[str, str] = {
    "gradsign": "nasearch.proxies.gradsign:SPEC",
    "grad_norm": "nasearch.proxies.grad_norm:SPEC",
    "snip": "nasearch.proxies.snip:SPEC",
    "grasp": "nasearch.proxies.grasp:SPEC",
    "fisher": "nasearch.proxies.fisher:SPEC",
    "synflow": "nasearch.proxies.synflow:SPEC",
    "jacob_cov": "nasearch.proxies.jacob_cov:SPEC",
    "naswot": "nasearch.proxies.naswot:SPEC",
    "gradalign": "nasearch.proxies.gradalign:SPEC",
    "gradalign_i": "nasearch.proxies.gradalign_li_guo:SPEC_I",
    "gradalign_ii": "nasearch.proxies.gradalign_li_guo:SPEC_II",
    "params": "nasearch.proxies.params:SPEC",
    "flops": "nasearch.proxies.flops:SPEC",
    "random": "nasearch.proxies.random_score:SPEC",
    "uniform": "nasearch.proxies.random_score:UNIFORM",
}


def available_proxies() -> list[str]:
    return sorted(PROXIES)


def get_proxy(name: str) -> ProxySpec:
    if name not in PROXIES:
        raise UsageError(f"unknown proxy {name!r}; choose one of {', '.join(available_proxies())}")
    module_name, attribute = PROXIES[name].split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            raise UsageError(f"proxy {name!r} is registered but not installed in this version of nasearch") from exc
        raise
    return getattr(module, attribute)
