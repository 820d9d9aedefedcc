"""One registry for every zero-cost proxy.

Each proxy is a :class:`ProxySpec` living in its own module; the registry maps names to
``module:attribute`` so that importing nasearch does not import every proxy (or torch).
"""
from __future__ import annotations

import importlib
import math
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
    Pool-selection controls that are not scores (``uniform``, ``oracle``, ``worst``) are the
    hook's ``select:``, not proxies (nasearch/hook.py).

    A user's proxy (``hook.proxy: "my_pkg.mod:SPEC"`` or ``"path/to/file.py:SPEC"``, or a
    ``nasearch.proxies`` entry point) is a ``ProxySpec`` like these; its scores are cached
    under ``name`` (``name@version`` when ``version`` is set): change the version whenever the
    function changes, and pick a name no built-in proxy has.
    """

    name: str
    fn: ProxyFn
    needs_data: bool = True
    needs_labels: bool = True
    higher_is_better: bool = True
    needs_arch_id: bool = False
    needs_network: bool = True
    options: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    version: str = ""
    #: options that change only how the score is computed, never its value (left out of the key)
    exact_options: tuple[str, ...] = ()
    #: the score measures only the network's size (params, flops): the floor a real proxy must beat.
    #: An experiment pairs a real proxy against such a twin as a ``trivial_proxy`` comparison.
    trivial: bool = False
    #: the values an option may take, where they are a few names (``{"per_sample": ("fast", "loop")}``);
    #: any other option must have its default's type (see :meth:`check_options`)
    option_choices: dict[str, tuple] = field(default_factory=dict)

    def check_options(self, options: dict | None, where: str = "hook.options.") -> dict:
        """``options`` if every name is one of :attr:`options` and every value is one of its
        :attr:`option_choices`, or else of its default's type (true/false; a finite number; as many
        positive integers as the default holds), before anything is scored; else one line naming
        the option (``where`` + name), the value and what it may be."""
        options = dict(options or {})
        unknown = sorted(set(options) - set(self.options), key=str)
        if unknown:
            known = ", ".join(sorted(self.options)) or "none"
            raise UsageError(f"{where}{unknown[0]}: not known to proxy {self.name!r}; its options: {known}")
        for name, value in options.items():
            problem = _option_problem(value, self.options[name], self.option_choices.get(name))
            if problem:
                raise UsageError(f"{where}{name}: {problem} (proxy {self.name})")
        return options


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _option_problem(value: Any, default: Any, choices: tuple | None) -> str | None:
    if choices is not None:
        if isinstance(value, (str, int, float, bool)) and value in choices and type(value) is type(choices[0]):
            return None
        return f"{value!r} is not one of {', '.join(map(str, choices))}"
    if isinstance(default, bool):
        return None if isinstance(value, bool) else f"expected true or false, got {value!r}"
    if isinstance(default, (int, float)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"expected a number, got {value!r}"
        return None if math.isfinite(value) else f"expected a finite number, got {value!r}"
    if isinstance(default, (tuple, list)) and default and all(_is_number(d) for d in default):
        integers = all(isinstance(d, int) for d in default)
        positive = integers and all(d >= 1 for d in default)
        good = isinstance(value, (tuple, list)) and len(value) == len(default) and all(
            _is_number(v) and math.isfinite(v) and (not integers or isinstance(v, int)) and (not positive or v >= 1)
            for v in value)
        what = "positive integers" if positive else "integers" if integers else "numbers"
        return None if good else f"expected {len(default)} {what} such as {list(default)}, got {value!r}"
    if isinstance(default, str):
        return None if isinstance(value, str) else f"expected a string, got {value!r}"
    return None


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
}


def available_proxies() -> list[str]:
    """Built-in proxies and those installed packages registered (``nasearch.proxies``)."""
    return sorted(_registry().names())


def _registry():
    from nasearch.loading import PROXY_ENTRY_POINTS, Registry

    return Registry("proxy", PROXIES, PROXY_ENTRY_POINTS, accept=_spec_problem, data=True)


def _spec_problem(obj: Any) -> str | None:
    if not isinstance(obj, ProxySpec):
        return f"is a {type(obj).__name__}, not a nasearch.proxies.registry.ProxySpec; see docs/custom_proxy.md"
    if obj.name in PROXIES:
        return f"is named {obj.name!r} like the built-in proxy: give your ProxySpec a name of its own (its scores are cached by name)"
    return None


def key_name(spec: ProxySpec, options: dict | None = None) -> str:
    """The proxy's name in score keys, caches and tables: ``name[@version]``, plus every option
    set away from its default that can change the score (``flops[input_shape=(3, 16, 16)]``),
    so scores computed with different options never share a key."""
    name = f"{spec.name}@{spec.version}" if spec.version else spec.name
    varied = sorted((k, v) for k, v in (options or {}).items()
                    if k not in spec.exact_options and (k not in spec.options or spec.options[k] != v))
    if not varied:
        return name
    return name + "[" + ",".join(f"{k}={tuple(v) if isinstance(v, list) else v!r}" for k, v in varied) + "]"


def get_proxy(name: str) -> ProxySpec:
    """A proxy by name, entry point, ``module:SPEC`` or ``path/to/file.py:SPEC``."""
    if name == "uniform":
        raise UsageError("'uniform' is not a proxy but the hook's uniform-pick control: write hook.select: uniform")
    if not isinstance(name, str):
        raise UsageError(f"hook.proxy: expected a proxy name such as 'gradsign', got {name!r}")
    if name not in PROXIES and ":" not in name and name not in _registry().names():
        raise UsageError(f"unknown proxy {name!r}; choose one of {', '.join(available_proxies())},"
                         " or give your own as 'my_pkg.mod:SPEC' / 'path/to/file.py:SPEC'")
    spec = _registry().load(name, "hook.proxy")
    if not isinstance(spec, ProxySpec):
        raise UsageError(f"proxy {name!r} (an entry point) is not a ProxySpec")
    return spec
