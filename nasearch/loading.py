"""Turns names in a config into objects: spaces, searchers, proxies (and predictors), built-in or the user's own.

Every kind of extension is named the same three ways, through one :class:`Registry` per kind:

* a plain name (``nb201``, ``rea``, ``gradsign``): a built-in, or one an installed package
  registered under the kind's entry-point group (``nasearch.spaces``, ``nasearch.searchers``,
  ``nasearch.proxies``, ``nasearch.predictors``);
* ``"my_pkg.my_module:Name"``: an object of an importable module;
* ``"path/to/file.py:Name"``: an object of a plain file, relative to the working directory,
  so a tutorial space or proxy needs no package or install.

A reference in a config is code the config asks to run, so one rule holds for every kind (space,
searcher, proxy, predictor, a space's code arguments such as the tabular ``builder``, the CLI's
``--predictors``), all through :func:`load_reference`, and it is checked *before* anything is
imported or called:

1. where the code lives (:func:`check_location`): the user's own files and modules only, never the
   standard library or an installed third-party package, whether named by module (``os:system``,
   ``numpy:savez``, ``setuptools._distutils.spawn:spawn``) or by file path (``/usr/lib/python3/
   subprocess.py:run``), nor nasearch's own modules (built-ins are used by name). Installed code
   is used through its entry points, or by opting in: ``NASEARCH_TRUSTED_MODULES=pkg[,pkg]`` in
   the environment (never in a config);
2. what it is (:func:`check_reference`): a class or a factory function *defined* by the named module
   (not imported into it from elsewhere), or, for kinds that are data, what that kind declares (a
   proxy is a :class:`~nasearch.proxies.registry.ProxySpec`); a space class must have the protocol's
   methods with their arguments before it is instantiated.

Built-in names and entry points are trusted: they are installed code, registered by its own package.

A space is then checked against the protocol; every gap (missing, non-callable or mistyped
method) is reported in one line before any run starts.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib
import importlib.metadata
import importlib.util
import inspect
import traceback
import math
import os
import site
import sys
import sysconfig
from pathlib import Path
from typing import Any, Iterator

from nasearch.errors import UsageError
from nasearch.spaces.protocol import REQUIRED_ATTRIBUTES, CodeReference, capabilities, capability_of, protocol_problems

SPACES: dict[str, str] = {
    "nb201": "nasearch.spaces.nb201.space:NB201Space",
    "nb101": "nasearch.spaces.nb101.space:NB101Space",
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
    "ls": "nasearch.searchers.local_search:LocalSearch",
    "optuna": "nasearch.searchers.optuna_sampler:OptunaSearcher",
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
        with _import_errors(what, str(file), f"python {path}"):
            spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module


@contextlib.contextmanager
def _import_errors(what: str, name: str, retry: str) -> Iterator[None]:
    """A user's module that does not import (a syntax error, an exception at import) is one line naming
    the file and line and how to see the whole traceback; code nasearch runs later keeps its traceback."""
    try:
        yield
    except SyntaxError as exc:
        raise UsageError(f"{what}: {exc.filename or name} line {exc.lineno}: {exc.msg}; fix the syntax") from None
    except UsageError:
        raise
    except ModuleNotFoundError as exc:
        if exc.name and (name == exc.name or name.startswith(exc.name + ".")):
            raise  # the named module itself is not there: the caller says so
        _raise_import_error(what, name, retry, exc)
    except Exception as exc:
        _raise_import_error(what, name, retry, exc)


def _raise_import_error(what: str, name: str, retry: str, exc: Exception) -> None:
    frames = traceback.extract_tb(exc.__traceback__)
    where = next((f"{f.filename}:{f.lineno}" for f in reversed(frames) if not f.filename.startswith("<frozen")), name)
    message = str(exc).splitlines()[0] if str(exc) else ""
    raise UsageError(f"{what}: importing {name} raised {type(exc).__name__}: {message} (at {where}); fix the module "
                     f"(`{retry}` shows the whole traceback)") from None


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
            with _import_errors(what, module_name, f"python -c 'import {module_name}'"):
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


#: the environment variable that opts installed packages in as reference targets (comma-separated
#: top-level package names); a config cannot set it
TRUSTED_MODULES_ENV = "NASEARCH_TRUSTED_MODULES"


def _installed_roots() -> tuple[list[Path], list[Path]]:
    """(standard-library folders, third-party package folders) of this interpreter."""
    paths = sysconfig.get_paths()
    stdlib = {Path(paths[k]).resolve() for k in ("stdlib", "platstdlib") if paths.get(k)}
    packages = {Path(paths[k]).resolve() for k in ("purelib", "platlib") if paths.get(k)}
    for folder in [*getattr(site, "getsitepackages", lambda: [])(), site.getusersitepackages()]:
        packages.add(Path(folder).resolve())
    packages |= {Path(p).resolve() for p in sys.path if p and Path(p).name in ("site-packages", "dist-packages")}
    return sorted(stdlib), sorted(packages)


def _under(path: Path, roots: list[Path]) -> bool:
    return any(path == root or root in path.parents for root in roots)


def _trusted(top: str) -> bool:
    return top in {t.strip() for t in os.environ.get(TRUSTED_MODULES_ENV, "").split(",") if t.strip()}


def check_location(reference: str, what: str, kind: str) -> None:
    """Refuse a reference into the standard library, an installed package or nasearch itself, by
    module name or by file path, before anything of it is imported (rule 1 of this module)."""
    module_name = reference.rpartition(":")[0] if _is_file_path(reference) else reference.partition(":")[0]
    own = f"a {kind} must come from your own module or file ('my_pkg.mod:Name' or 'path/to/file.py:Name')"
    stdlib, packages = _installed_roots()
    if _is_file_path(module_name):
        file = Path(module_name).expanduser().resolve()
        if _under(file, stdlib) and not _under(file, packages):
            raise UsageError(f"{what}: {reference!r} is a file of the standard library; {own}")
        if _under(file, packages):
            raise UsageError(f"{what}: {reference!r} is a file of an installed package; {own}, or use the package's "
                             f"registered name (an entry point)")
        return
    top = module_name.split(".")[0]
    if _stdlib_module(module_name):
        raise UsageError(f"{what}: {reference!r} names the standard library's {module_name!r}; {own}")
    if top == "nasearch":
        raise UsageError(f"{what}: {reference!r} names nasearch's own module; use the built-in by its name "
                         f"(see `nasearch --help`), or {own}")
    if _trusted(top):
        return
    try:
        spec = importlib.util.find_spec(top)  # a top-level name: finds it without importing it
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        return  # import_object says it is not found
    origin = spec.origin if spec.origin not in (None, "namespace", "built-in", "frozen") else None
    locations = [Path(origin)] if origin else [Path(p) for p in (spec.submodule_search_locations or [])]
    resolved = [p.resolve() for p in locations]
    if origin in ("built-in", "frozen") or any(_under(p, stdlib) and not _under(p, packages) for p in resolved):
        raise UsageError(f"{what}: {reference!r} names the standard library's {top!r}; {own}")
    if any(_under(p, packages) for p in resolved):
        raise UsageError(f"{what}: {reference!r} names the installed package {top!r}; {own}. Installed code is "
                         f"used through its entry points, or opted in with {TRUSTED_MODULES_ENV}={top} in the environment")


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


def load_reference(reference: str, what: str, kind: str, accept: Any = None, data: bool = False) -> Any:
    """The object a user's ``module:attr`` / ``file.py:attr`` names, checked before anything calls it.

    Where it lives is checked before it is imported (:func:`check_location`); then a class or a
    function must be defined by the named module (:func:`check_reference`), unless ``data`` (a
    kind whose references are objects, as a proxy's ``ProxySpec``); ``accept(obj)`` is the kind's
    own check, returning why not, or None.
    """
    check_location(reference, what, kind)
    obj = import_object(reference, what)
    if not data:
        check_reference(obj, _module_of(reference, what), reference, what, kind)
    if accept is not None:
        problem = accept(obj)
        if problem:
            raise UsageError(f"{what}: {reference!r} {problem}")
    return obj


def _module_of(reference: str, what: str) -> Any:
    module_name = reference.rpartition(":")[0] if _is_file_path(reference) else reference.partition(":")[0]
    if _is_file_path(module_name):
        return import_file(module_name, what)
    with _import_errors(what, module_name, f"python -c 'import {module_name}'"):
        return importlib.import_module(module_name)


class Registry:
    """Names -> objects for one kind of extension: built-ins, entry points, and user references.

    ``builtins`` maps names to ``module:attr`` of nasearch's own objects; installed packages add
    names under the entry-point ``group``; anything else with a ``:`` is a user reference,
    loaded through :func:`load_reference` (so under the same security rule for every kind).
    """

    def __init__(self, kind: str, builtins: dict[str, str], group: str, accept: Any = None, data: bool = False) -> None:
        self.kind, self.builtins, self.group, self.accept, self.data = kind, builtins, group, accept, data

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
                return self._load_entry_point(entry, what)
        if is_reference(name):
            return load_reference(name, what, self.kind, self.accept, self.data)
        raise UsageError(
            f"{what}: unknown {self.kind} {name!r}; use one of {sorted(self.names())},"
            f" 'my_pkg.module:Name' or 'path/to/file.py:Name'"
        )

    def _load_entry_point(self, entry: Any, what: str) -> Any:
        """An installed package's registered object, under the same checks as a reference except where
        it lives (a package's own entry point is installed code): never the standard library, a class
        or function its module defines, what the kind declares; nothing is called."""
        reference = str(entry.value)
        where = f"{what} (entry point {entry.name!r} = {reference!r} in group {self.group})"
        module_name = reference.partition(":")[0].strip()
        if _stdlib_module(module_name):
            raise UsageError(f"{where}: names the standard library's {module_name!r}; the package that registered it "
                             f"must point at its own code (uninstall it, or ask its authors)")
        obj = entry.load()
        if not self.data:
            check_reference(obj, importlib.import_module(module_name), reference, where, self.kind)
        if self.accept is not None and (problem := self.accept(obj)):
            raise UsageError(f"{where}: {problem}")
        return obj


class _ClassView:
    """A space class seen as its instances would be, without making one: methods bound to nothing
    (``sample(self, rng)`` reads as ``sample(rng)``), class attributes as they are, and what only an
    instance can say (properties, attributes set in ``__init__``) unknown."""

    def __init__(self, cls: type) -> None:
        self._cls = cls

    def __getattr__(self, name: str) -> Any:
        try:
            raw = inspect.getattr_static(self._cls, name)
        except AttributeError:
            return None
        if isinstance(raw, staticmethod):
            return raw.__func__
        if isinstance(raw, classmethod):
            return getattr(self._cls, name)
        if inspect.isfunction(raw):
            return functools.partial(raw, None)
        if isinstance(raw, property) or hasattr(raw, "__get__") and not callable(raw):
            return None  # only an instance knows
        return raw


def _space_class_problem(obj: Any) -> str | None:
    """Why a space class breaks the protocol, judged on the class before any instance is made (the
    same checks and messages as for an instance, :func:`check_space`); a factory function is the
    user's own code and is checked once it has returned a space."""
    if not inspect.isclass(obj):
        return None
    problems = protocol_problems(_ClassView(obj))
    if problems:
        return f"breaks the protocol: {'; '.join(problems)}; see docs/custom_space.md (nothing was instantiated)"
    return None


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
    from nasearch.searchers.base import declared_bounds

    for name, bound in declared_bounds(factory).items():
        if name in args and (problem := bound.problem(args[name])):
            raise UsageError(f"{what}.args.{name}: {problem}")
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
    wanted = " or ".join({int: "an integer", float: "a number", bool: "true or false", str: "a string"}[k]
                         for k in (int, float, bool, str) if k in kinds)
    hint = "; write true or false without quotes" if bool in kinds and isinstance(value, str) else ""
    raise UsageError(f"{where}: expected {wanted}{' or null' if none_ok else ''}, got {value!r}{hint}")


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
        factory = load_reference(label, "space.class", "space", accept=_space_class_problem)
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
    if name not in SEARCHER_REGISTRY.builtins:  # a reference or an installed package's entry point
        problem = _searcher_problem(cls)
        if problem:
            raise UsageError(f"searcher.name: {name!r} {problem}")
    return cls


def check_capabilities(searcher_cls: Any, space: Any) -> None:
    """One line naming every capability a searcher's ``requires`` declares and the space lacks.

    ``requires`` names capabilities of :data:`~nasearch.spaces.protocol.CAPABILITY_DECLARATIONS`
    (``("encoding",)``); a member's name (``"choices"``), as older user searchers wrote it, stands for
    its capability."""
    from nasearch.spaces.protocol import CAPABILITY_DECLARATIONS, has_capability

    declared = {c.name: c for c in CAPABILITY_DECLARATIONS}
    needed = []
    for name in getattr(searcher_cls, "requires", ()):
        capability = name if name in declared else capability_of(name)
        if capability is None:
            raise UsageError(f"searcher {searcher_cls.name!r} requires {name!r}, which is no capability of the space "
                             f"protocol; declare one of {', '.join(declared)}")
        if capability not in needed:
            needed.append(capability)
    missing = [c for c in needed if not has_capability(space, c)]
    if missing:
        what = "; ".join(f"the {c} capability ({declared[c].members})" for c in missing)
        raise UsageError(f"searcher {searcher_cls.name!r} needs {what}; space {space.name!r} lacks it; "
                         "see docs/custom_space.md")