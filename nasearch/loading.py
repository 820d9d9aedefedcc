"""Turns names in a config into objects: spaces and searchers, built-in or the user's own.

A space is named in one of three ways, all going through :func:`load_space` (the built-in
NB201 space included, so the user's path is the tested path):

* ``{name: nb201}``: a built-in, or a space another package registered under the
  ``nasearch.spaces`` entry-point group;
* ``{class: "my_pkg.my_module:MySpace"}``: anything importable;
* ``{class: "path/to/file.py:MySpace"}``: a plain file, relative to the working directory,
  so a tutorial space needs no package or install.

The space is then checked against the protocol; every gap (missing, non-callable or
mistyped method) is reported in one line before any run starts.
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import importlib.util
import inspect
import sys
from pathlib import Path
from typing import Any

from nasearch.errors import UsageError
from spaces.protocol import CAPABILITIES, capabilities, protocol_problems

SPACES: dict[str, str] = {
    "nb201": "spaces.nb201.space:NB201Space",
    "tabular": "spaces.tabular:TabularSpace",
}
SEARCHERS: dict[str, str] = {
    "rs": "searchers.random_search:RandomSearch",
    "rea": "searchers.evolution:RegularizedEvolution",
    "reinforce": "searchers.reinforce:Reinforce",
    "bohb": "searchers.bohb:BOHB",
    "hb": "searchers.bohb:Hyperband",
    "bananas": "searchers.bananas:Bananas",
    "npenas": "searchers.npenas:NPENAS",
}
#: entry-point group under which installed packages register their spaces
SPACE_ENTRY_POINTS = "nasearch.spaces"


def _is_file_path(module_name: str) -> bool:
    return module_name.endswith(".py") or "/" in module_name or "\\" in module_name


def import_file(path: str, what: str) -> Any:
    """Import a ``.py`` file as a module (once per process per file, whatever the spelling)."""
    file = Path(path).expanduser().resolve()
    if not file.is_file():
        raise UsageError(f"{what}: file {path!r} not found (relative to {Path.cwd()}); check the path")
    digest = hashlib.sha1(str(file).encode()).hexdigest()[:10]
    module_name = f"nasearch_user_{file.stem}_{digest}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, file)
    if spec is None or spec.loader is None:
        raise UsageError(f"{what}: cannot import {path!r} as Python; give a .py file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # before exec, so dataclasses and pickle can find it
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module


def import_object(path: str, what: str) -> Any:
    """``"pkg.module:Name"`` or ``"path/to/file.py:Name"`` -> the object."""
    module_name, _, attribute = path.rpartition(":") if _is_file_path(path) else path.partition(":")
    if not module_name or not attribute:
        raise UsageError(
            f"{what}: {path!r} is not 'package.module:Name' or 'file.py:Name'; write it as e.g. 'my_pkg.spaces:MySpace'"
        )
    if _is_file_path(module_name):
        module = import_file(module_name, what)
    else:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                raise UsageError(
                    f"{what}: module {module_name!r} not found; check the name and that it is importable"
                    " (or give a file: 'path/to/file.py:Name')"
                ) from exc
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


def registered_spaces() -> dict[str, str]:
    """Built-in spaces plus those installed packages registered as entry points."""
    found = dict(SPACES)
    for entry in importlib.metadata.entry_points(group=SPACE_ENTRY_POINTS):
        found.setdefault(entry.name, entry.value)
    return found


def check_space(space: Any, label: str) -> None:
    """Raise a one-line :class:`UsageError` listing every protocol problem of ``space``."""
    problems = protocol_problems(space)
    for attribute in ("name", "version"):
        if not isinstance(getattr(space, attribute, None), str):
            problems.append(f"needs a string attribute {attribute!r} (it keys caches and results)")
    if problems:
        raise UsageError(f"space {label} breaks the protocol: {'; '.join(problems)}; see docs/custom_space.md")


def load_space(spec: dict) -> Any:
    """Build the space named by ``{name: ...}`` or ``{class: ...}``, checked against the protocol."""
    if spec.get("class"):
        factory = import_object(spec["class"], "space.class")
        label = spec["class"]
    else:
        name = spec.get("name")
        known = registered_spaces()
        if name not in known:
            raise UsageError(f"space.name: unknown space {name!r}; use one of {sorted(known)} or space.class")
        factory = import_object(known[name], "space.name")
        label = name
    space = construct(factory, dict(spec.get("args") or {}), "space")
    check_space(space, label)
    return space


def describe_space(space: Any) -> str:
    """One line for logs: the space's key and the optional capabilities it offers."""
    offered = capabilities(space)
    return f"{space.name}@{space.version} (capabilities: {', '.join(offered) if offered else 'none'})"


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
    """One line naming every method a searcher's ``requires`` needs and the space lacks."""
    missing = [m for m in getattr(searcher_cls, "requires", ()) if not callable(getattr(space, m, None))]
    if missing:
        groups = [name for name, methods in CAPABILITIES.items() if set(methods) & set(missing)]
        which = f" (the {'/'.join(groups)} capability)" if groups else ""
        raise UsageError(
            f"searcher {searcher_cls.name!r} needs the space to provide {', '.join(m + '()' for m in missing)}{which};"
            f" space {space.name!r} lacks it; see docs/custom_space.md"
        )
