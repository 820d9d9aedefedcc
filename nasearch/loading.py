"""Turns names in a config into objects: spaces and searchers, built-in or the user's own.

Built-ins are looked up by name; anything else is ``"package.module:Class"``. Protocol
gaps are reported by name in one line, before any run starts.
"""
from __future__ import annotations

import importlib
import inspect
from typing import Any

from nasearch.errors import UsageError
from spaces.protocol import missing_methods

SPACES: dict[str, str] = {"nb201": "spaces.nb201.space:NB201Space"}
SEARCHERS: dict[str, str] = {
    "rs": "searchers.random_search:RandomSearch",
    "rea": "searchers.evolution:RegularizedEvolution",
    "reinforce": "searchers.reinforce:Reinforce",
    "bohb": "searchers.bohb:BOHB",
    "hb": "searchers.bohb:Hyperband",
}


def import_object(path: str, what: str) -> Any:
    module_name, _, attribute = path.partition(":")
    if not module_name or not attribute:
        raise UsageError(f"{what}: {path!r} is not 'package.module:Name'; write it as e.g. 'my_pkg.spaces:MySpace'")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise UsageError(f"{what}: module {module_name!r} not found; check the name and that it is importable") from exc
        raise
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise UsageError(f"{what}: module {module_name!r} has no {attribute!r}; check the name after ':'") from None


def construct(factory: Any, args: dict, what: str, *leading: Any) -> Any:
    """Call ``factory(*leading, **args)``, turning a wrong argument into a one-line error."""
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        signature = None
    if signature is not None:
        params = signature.parameters
        takes_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
        unknown = sorted(set(args) - set(params)) if not takes_any else []
        if unknown:
            allowed = [n for n, p in params.items() if p.kind is p.POSITIONAL_OR_KEYWORD or p.kind is p.KEYWORD_ONLY]
            allowed = [n for n in allowed if n not in ("self", "space", "pool")]
            raise UsageError(f"{what}.args: unknown {unknown}; allowed: {allowed}")
    try:
        return factory(*leading, **args)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"{what}: {exc}") from exc


def load_space(spec: dict) -> Any:
    """Build the space named by ``{name: ...}`` or ``{class: 'pkg.mod:Class'}``, checked against the protocol."""
    if spec.get("class"):
        factory = import_object(spec["class"], "space.class")
        label = spec["class"]
    else:
        name = spec.get("name")
        if name not in SPACES:
            raise UsageError(f"space.name: unknown space {name!r}; use one of {sorted(SPACES)} or space.class")
        factory = import_object(SPACES[name], "space.name")
        label = name
    space = construct(factory, dict(spec.get("args") or {}), "space")
    missing = missing_methods(space)
    if missing:
        raise UsageError(f"space {label}: missing protocol method(s) {', '.join(missing)}; see docs/custom_space.md")
    for attribute in ("name", "version"):
        if not isinstance(getattr(space, attribute, None), str):
            raise UsageError(f"space {label}: needs a string attribute {attribute!r} (it keys caches and results)")
    return space


def searcher_class(name: str) -> Any:
    if name in SEARCHERS:
        try:
            return import_object(SEARCHERS[name], "searcher.name")
        except UsageError:
            raise UsageError(f"searcher {name!r} is registered but not installed in this version of nasearch") from None
    if ":" in name:
        return import_object(name, "searcher.name")
    raise UsageError(f"searcher.name: unknown searcher {name!r}; use one of {sorted(SEARCHERS)} or 'pkg.mod:Class'")


def check_capabilities(searcher_cls: Any, space: Any) -> None:
    for capability in getattr(searcher_cls, "requires", ()):
        if not callable(getattr(space, capability, None)):
            raise UsageError(
                f"searcher {searcher_cls.name!r} needs the space to provide {capability}(); space {space.name!r} lacks it"
            )
