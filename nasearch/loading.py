"""Turns names in a config into objects: spaces, searchers, proxies (and predictors), built-in or the user's own.

Every kind of extension is named the same three ways, through one :class:`Registry` per kind:

* a plain name (``nb201``, ``rea``, ``gradsign``): a built-in, or one an installed package
  registered under the kind's entry-point group (``nasearch.spaces``, ``nasearch.searchers``,
  ``nasearch.proxies``, ``nasearch.predictors``);
* ``"my_pkg.my_module:Name"``: an object of an importable module;
* ``"path/to/file.py:Name"``: an object of a plain file, relative to the working directory,
  so a tutorial space or proxy needs no package or install.

A reference in a config is code the config asks to run, so it is loaded only when it names
what the kind needs, defined by the named module itself (:func:`check_reference`): a class
or a factory function *defined* there (not imported into it from elsewhere: ``os:system``,
``builtins:eval`` or ``subprocess:run`` are refused), never from the standard library; a
proxy must be a :class:`~nasearch.proxies.registry.ProxySpec`. Built-in names and entry
points are trusted: they are installed code, registered by its own package.

A space is then checked against the protocol; every gap (missing, non-callable or mistyped
method) is reported in one line before any run starts.
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import importlib.util
import inspect
import math
import sys
from pathlib import Path
from typing import Any

from nasearch.errors import UsageError
from nasearch.spaces.protocol import REQUIRED_ATTRIBUTES, CodeReference, capabilities, capability_of, protocol_problems

SPACES: dict[str, str] = {
    "nb201": "nasearch.spaces.nb201.space:NB201Space",
    "darts": "nasearch.spaces.darts.space:DartsSpace",
    "tabular": "nasearch.spaces.tabular:TabularSpace",
    "nds": "nasearch.spaces.darts.nds_space:NDSSpace",
}
SEARCHERS: dict[str, str] = {
    "rs": "nasearch.searchers.random_search:RandomSearch",
    "rea": "nasearch.searchers.evolution:RegularizedEvolution",
    "reinforce": "nasearch.searchers.reinforce:Reinforce",
    "bohb": "nasearch.searchers.bohb:BOHB",
    "hb": "nasearch.searchers.bohb:Hyperband",
    "bananas": "nasearch.searchers.bananas:Bananas",
    "npenas": "nasearch.searchers.npenas:NPENAS",
}
#: entry-point groups under which installed packages register their extensions
SPACE_ENTRY_POINTS = "nasearch.spaces"
SEARCHER_ENTRY_POINTS = "nasearch.searchers"
PROXY_ENTRY_POINTS = "nasearch.proxies"
PREDICTOR_ENTRY_POINTS = "nasearch.predictors"


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


def is_reference(name: str) -> bool:
    """``module:attr`` or ``file.py:attr`` (a user's object), as opposed to a registered name."""
    return ":" in name


def _stdlib_module(module_name: str) -> bool:
    top = module_name.split(".")[0]
    return top in sys.stdlib_module_names or top in sys.builtin_module_names


def check_reference(obj: Any, module: Any, reference: str, what: str, kind: str) -> None:
    """Refuse ``obj`` unless the named module itself defines it as a class or function.

    This is what stops a config from calling an arbitrary callable (``os:system``): the
    object's ``__module__`` must be the named module, and a function's code must live in
    that module's own file (some libraries re-label functions they re-export).
    """
    name = getattr(module, "__name__", "")
    if inspect.isclass(obj):
        defined_here = obj.__module__ == name
    elif inspect.isfunction(obj):
        file = getattr(module, "__file__", None)
        defined_here = obj.__module__ == name and file is not None and (
            Path(obj.__code__.co_filename).resolve() == Path(file).resolve())
    else:
        raise UsageError(
            f"{what}: {reference!r} is a {type(obj).__name__}, not a {kind} class or factory function;"
            f" name a class (or a function returning a {kind}) that your module defines"
        )
    if not defined_here:
        raise UsageError(
            f"{what}: {reference!r} is {obj.__module__}.{obj.__qualname__}, imported into {name!r} from elsewhere;"
            f" nasearch only loads a {kind} the named module defines itself (see docs/custom_space.md)"
        )


def load_reference(reference: str, what: str, kind: str, accept: Any = None) -> Any:
    """The object a user's ``module:attr`` / ``file.py:attr`` names, checked before anything calls it.

    Standard-library modules are refused before import; ``accept(obj)`` replaces the
    class-or-function rule for kinds that are data (a proxy's ``ProxySpec``), returning why
    not, or None.
    """
    module_name = reference.rpartition(":")[0] if _is_file_path(reference) else reference.partition(":")[0]
    if module_name and not _is_file_path(module_name) and _stdlib_module(module_name):
        raise UsageError(
            f"{what}: {reference!r} names the standard library's {module_name!r}; a {kind} must come from your own"
            f" module or file ('my_pkg.mod:Name' or 'path/to/file.py:Name')"
        )
    obj = import_object(reference, what)
    module = _module_of(reference, what)
    if accept is not None:
        problem = accept(obj)
        if problem:
            raise UsageError(f"{what}: {reference!r} {problem}")
        return obj
    check_reference(obj, module, reference, what, kind)
    return obj


def _module_of(reference: str, what: str) -> Any:
    module_name = reference.rpartition(":")[0] if _is_file_path(reference) else reference.partition(":")[0]
    return import_file(module_name, what) if _is_file_path(module_name) else importlib.import_module(module_name)


class Registry:
    """Names -> objects for one kind of extension: built-ins, entry points, and user references.

    ``builtins`` maps names to ``module:attr`` of nasearch's own objects; installed packages add
    names under the entry-point ``group``; anything else with a ``:`` is a user reference,
    loaded through :func:`load_reference` (so under the same security rule for every kind).
    """

    def __init__(self, kind: str, builtins: dict[str, str], group: str, accept: Any = None) -> None:
        self.kind, self.builtins, self.group, self.accept = kind, builtins, group, accept

    def names(self) -> dict[str, str]:
        """Built-ins plus what installed packages registered (a built-in name wins)."""
        found = dict(self.builtins)
        for entry in importlib.metadata.entry_points(group=self.group):
            found.setdefault(entry.name, entry.value)
        return found

    def load(self, name: str, what: str) -> Any:
        if name in self.builtins:
            try:
                return import_object(self.builtins[name], what)
            except UsageError:
                raise UsageError(f"{self.kind} {name!r} is registered but not installed in this version of nasearch") from None
        for entry in importlib.metadata.entry_points(group=self.group):
            if entry.name == name:
                return entry.load()  # installed code, registered by its own package
        if is_reference(name):
            return load_reference(name, what, self.kind, self.accept)
        raise UsageError(
            f"{what}: unknown {self.kind} {name!r}; use one of {sorted(self.names())},"
            f" 'my_pkg.module:Name' or 'path/to/file.py:Name'"
        )


SPACE_REGISTRY = Registry("space", SPACES, SPACE_ENTRY_POINTS)
SEARCHER_REGISTRY = Registry("searcher", SEARCHERS, SEARCHER_ENTRY_POINTS)


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
        args = {name: _checked_arg(params[name], value, f"{what}.args.{name}") if name in params else value
                for name, value in args.items()}
    try:
        return factory(*leading, **args)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"{what}: {exc}") from exc


#: annotation text -> the scalar kind an argument must have (others are not checked here)
_SCALAR_KINDS = {"int": int, "float": float, "bool": bool, "str": str}


def _declared_kinds(param: inspect.Parameter) -> tuple[set, bool] | None:
    """(scalar kinds the parameter accepts, whether None is accepted), or None if not knowable.

    From its annotation when that names only int/float/bool/str/None (``"int | None"``,
    ``Optional[int]``), else from a scalar default's type.
    """
    annotation = param.annotation
    if annotation is not param.empty:
        text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", str(annotation))
        text = text.replace("typing.", "").strip()
        if text.startswith("Optional[") and text.endswith("]"):
            text = text[len("Optional["):-1] + " | None"
        names = [part.strip() for part in text.split("|")]
        if names and all(n in _SCALAR_KINDS or n == "None" for n in names):
            return {_SCALAR_KINDS[n] for n in names if n != "None"}, "None" in names or param.default is None
    default = param.default
    if default is not param.empty and type(default) in _SCALAR_KINDS.values():
        return {type(default)}, False
    return None


def _checked_arg(param: inspect.Parameter, value: Any, where: str) -> Any:
    """``value`` if it has the parameter's declared scalar kind (an integral float becomes an int)."""
    declared = _declared_kinds(param)
    if declared is None:
        return value
    kinds, none_ok = declared
    if value is None and none_ok:
        return value
    if bool in kinds and isinstance(value, bool):
        return value
    if int in kinds and isinstance(value, int) and not isinstance(value, bool):
        return value
    if float in kinds and isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise UsageError(f"{where}: must be a finite number, got {value!r}")
        return value
    if int in kinds and isinstance(value, float) and value.is_integer():
        return int(value)
    if str in kinds and isinstance(value, str):
        return value
    wanted = " or ".join({int: "an integer", float: "a number", bool: "true/false", str: "a string"}[k]
                         for k in (int, float, bool, str) if k in kinds)
    raise UsageError(f"{where}: expected {wanted}{' or null' if none_ok else ''}, got {value!r}")


def registered_spaces() -> dict[str, str]:
    """Built-in spaces plus those installed packages registered as entry points."""
    return SPACE_REGISTRY.names()


def check_space(space: Any, label: str) -> None:
    """Raise a one-line :class:`UsageError` listing every protocol problem of ``space``."""
    problems = protocol_problems(space)
    for attribute in REQUIRED_ATTRIBUTES:
        if not isinstance(getattr(space, attribute.name, None), attribute.kind):
            problems.append(f"needs a string attribute {attribute.name!r} (it keys caches and results)")
    if problems:
        raise UsageError(f"space {label} breaks the protocol: {'; '.join(problems)}; see docs/custom_space.md")


def load_space(spec: dict) -> Any:
    """Build the space named by ``{name: ...}`` or ``{class: ...}``, checked against the protocol."""
    if spec.get("class"):
        label = str(spec["class"])
        factory = load_reference(label, "space.class", "space")
    else:
        name = spec.get("name")
        known = registered_spaces()
        if not isinstance(name, str) or name not in known:
            raise UsageError(f"space.name: unknown space {name!r}; use one of {sorted(known)} or space.class")
        factory = SPACE_REGISTRY.load(name, "space.name")
        label = name
    args = dict(spec.get("args") or {})
    for argument, kind in dict(getattr(factory, "code_arguments", None) or {}).items():
        reference = args.get(argument)
        if reference is None:
            continue
        if not isinstance(reference, str) or not is_reference(reference):
            raise UsageError(f"space.args.{argument}: expected 'pkg.module:function' or 'file.py:function', got {reference!r}")
        args[argument] = CodeReference(reference, load_reference(reference, f"space.args.{argument}", kind))
    space = construct(factory, args, "space")
    check_space(space, label)
    return space


def describe_space(space: Any) -> str:
    """One line for logs: the space's key and the optional capabilities it offers."""
    offered = capabilities(space)
    return f"{space.name}@{space.version} (capabilities: {', '.join(offered) if offered else 'none'})"


def _searcher_problem(obj: Any) -> str | None:
    if not inspect.isclass(obj) or not all(callable(getattr(obj, m, None)) for m in ("propose", "observe")):
        return "is not a searcher class (one with propose(rng) and observe(trial, evaluation), e.g. a nasearch.searchers.base.Searcher)"
    return None


def searcher_class(name: str) -> Any:
    """A searcher class by registered name, entry point (``nasearch.searchers``) or ``module:Class``."""
    if not isinstance(name, str):
        raise UsageError(f"searcher.name: expected a name such as 'rea', got {name!r}")
    cls = SEARCHER_REGISTRY.load(name, "searcher.name")
    if is_reference(name) and name not in SEARCHER_REGISTRY.names():
        problem = _searcher_problem(cls)
        if problem:
            raise UsageError(f"searcher.name: {name!r} {problem}")
    return cls


def check_capabilities(searcher_cls: Any, space: Any) -> None:
    """One line naming every method a searcher's ``requires`` needs and the space lacks."""
    missing = [m for m in getattr(searcher_cls, "requires", ()) if not callable(getattr(space, m, None))]
    if missing:
        groups = list(dict.fromkeys(g for m in missing if (g := capability_of(m))))
        which = f" (the {'/'.join(groups)} capability)" if groups else ""
        raise UsageError(
            f"searcher {searcher_cls.name!r} needs the space to provide {', '.join(m + '()' for m in missing)}{which};"
            f" space {space.name!r} lacks it; see docs/custom_space.md"
        )
