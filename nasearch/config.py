"""Search configs: YAML in, a validated :class:`SearchConfig` out.

Every problem is reported as one line naming the key and the fix, because a typo in a
500-run experiment should cost seconds, not a run.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from nasearch.clock import PredictorCostModel, ProxyCostPolicy
from nasearch.errors import UsageError
from nasearch.hook import SELECTIONS as HOOK_SELECTIONS  # hook.select values: the proxy's best, or a control

TOP_KEYS = {"space", "searcher", "hook", "budget_seconds", "runs", "seed", "out", "data", "cache_dir", "label", "workers",
            "revisit"}
#: ``revisit``: ``allow`` (the paper's protocol: a re-proposed cell is trained again, another seed's
#: result, another training's cost) or ``never`` (a cell trained in this run is not drawn into a
#: pool again, and a searcher that proposes one gets the recorded result at no cost)
REVISIT_POLICIES = ("allow", "never")
SPACE_KEYS = {"name", "class", "args"}
SEARCHER_KEYS = {"name", "args"}
HOOK_KEYS = {"proxy", "k", "batch_size", "seed", "seeds", "dataset", "cost", "options", "tables", "select", "device",
             "predictor", "warmup", "refit_every", "predictor_cost"}
#: the online-predictor keys, which mean nothing without ``hook.predictor``
PREDICTOR_KEYS = ("warmup", "refit_every", "predictor_cost")
#: defaults: the predictor picks once this many full-fidelity evaluations are observed (the
#: hook's proxy, or a uniform pick, before), and is refitted every this many new ones
DEFAULT_WARMUP = 20
DEFAULT_REFIT_EVERY = 20
DATA_KEYS = {"npz", "torchvision_root", "download"}


@dataclass(frozen=True)
class HookConfig:
    proxy: str = "gradsign"
    k: int = 10
    batch_size: int = 128
    seed: int = 0
    dataset: str = "cifar10"
    cost: ProxyCostPolicy = ProxyCostPolicy()
    options: dict = field(default_factory=dict)
    tables: bool = True  # use packaged score tables when their key matches
    select: str = "proxy"  # how the hook picks from its pool: proxy | uniform | oracle | worst
    seeds: tuple[int, ...] | None = None  # average the proxy over these seeds (None: `seed` alone)
    device: str = "cpu"  # where live proxy scores are computed: auto, cpu, cuda or cuda:N
    #: an online predictor (any name of nasearch.predictors) that picks from the pool once
    #: ``warmup`` evaluations are observed, refitted every ``refit_every`` new ones (None: off)
    predictor: str | None = None
    warmup: int = DEFAULT_WARMUP
    refit_every: int = DEFAULT_REFIT_EVERY
    predictor_cost: PredictorCostModel = PredictorCostModel()


@dataclass(frozen=True)
class SearchConfig:
    space: dict
    searcher: dict
    hook: HookConfig | None = None
    budget_seconds: float = 12000.0
    runs: int = 1
    seed: int = 0
    out: str = "results/search"
    data: dict = field(default_factory=dict)
    cache_dir: str | None = None
    label: str = ""
    workers: int = 1
    revisit: str = "allow"

    def with_overrides(self, **overrides: Any) -> "SearchConfig":
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


def _check_keys(section: dict, allowed: set[str], where: str) -> None:
    if not isinstance(section, dict):
        raise UsageError(f"{where}: expected a mapping, got {section!r}")
    unknown = sorted(set(section) - allowed)
    if unknown:
        raise UsageError(f"{where}: unknown key {unknown[0]!r}; allowed keys: {', '.join(sorted(allowed))}")


@dataclass(frozen=True)
class Kind:
    """What a config value must be: ``test`` says whether it is, ``what`` names it in the message."""

    what: str
    test: Any
    hint: str = ""


MAPPING = Kind("a mapping", lambda v: isinstance(v, dict))
TEXT = Kind("a string", lambda v: isinstance(v, str))
FILE = Kind("a file path", lambda v: isinstance(v, str) and bool(v.strip()))
FOLDER = Kind("a folder path", lambda v: isinstance(v, str) and bool(v.strip()))
BOOLEAN = Kind("true or false", lambda v: isinstance(v, bool), "; write true or false without quotes")
LIST = Kind("a list", lambda v: isinstance(v, list))

#: the type of every config key that is not a number (numbers go through :func:`checked_number`,
#: and keys with a message of their own -- label, hook.device, hook.cost, ... -- through their parser):
#: section -> key -> (kind, whether null is accepted, a hint after the message). One message form:
#: ``<key>: expected <kind>, got <value>``.
KEY_TYPES: dict[str, dict[str, tuple[Kind, bool, str]]] = {
    "": {
        "space": (MAPPING, False, "; write it as space: {name: nb201}"),
        "searcher": (MAPPING, False, "; write it as searcher: {name: rea}"),
        "hook": (MAPPING, True, "; write it as hook: {proxy: gradsign}"),
        "data": (MAPPING, True, "; write it as data: {npz: path/to/images.npz}"),
        "out": (FOLDER, True, ""),
        "cache_dir": (FOLDER, True, ""),
        "revisit": (TEXT, False, ""),
    },
    "space": {"name": (TEXT, True, ""), "class": (TEXT, True, ""), "args": (MAPPING, True, "")},
    "searcher": {"name": (TEXT, True, ""), "args": (MAPPING, True, "")},
    "hook": {
        "proxy": (TEXT, False, ""), "dataset": (TEXT, False, ""), "select": (TEXT, False, ""),
        "options": (MAPPING, True, ""), "tables": (BOOLEAN, False, ""),
    },
    "data": {"npz": (FILE, True, ""), "torchvision_root": (FOLDER, True, ""), "download": (BOOLEAN, False, "")},
    "experiment": {
        "label": (TEXT, True, ""), "description": (TEXT, True, ""), "searchers": (LIST, False, ""),
        "pairs": (LIST, True, ""), "data": (MAPPING, True, ""), "cache_dir": (FOLDER, True, ""),
    },
    "entry": {"config": (FILE, False, ""), "label": (TEXT, True, ""), "hook": (MAPPING, True, ""),
              "searcher": (MAPPING, True, ""), "space": (MAPPING, True, ""), "data": (MAPPING, True, ""),
              "cache_dir": (FOLDER, True, ""), "revisit": (TEXT, True, "")},
}


def expect(value: Any, kind: Kind, where: str, hint: str = "") -> Any:
    """``value`` if it is a ``kind``, else the one-line ``<where>: expected <kind>, got <value>``."""
    if not kind.test(value):
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        raise UsageError(f"{where}: expected {kind.what}, got {shown}{kind.hint}{hint}")
    return value


def check_types(section: Any, name: str, where: str = "") -> None:
    """Check every key of ``section`` that :data:`KEY_TYPES` declares for section ``name``; ``where``
    prefixes the key in the message (``hook.``, ``searchers[0].``)."""
    if not isinstance(section, dict):
        return  # the section's own check (a mapping) says so
    for key, (kind, nullable, hint) in KEY_TYPES[name].items():
        if key in section and not (nullable and section[key] is None):
            expect(section[key], kind, f"{where}{key}", hint)


def checked_number(value: Any, where: str, kind: type, minimum: float, exclusive: bool = False) -> Any:
    """``value`` as ``kind``, finite and >= ``minimum`` (> with ``exclusive``), else a one-line error."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UsageError(f"{where}: expected {'an integer' if kind is int else 'a number'}, got {value!r}")
    if not math.isfinite(value):
        raise UsageError(f"{where}: must be a finite number, got {value!r}; give a value such as 12000")
    if kind is int and not float(value).is_integer():
        raise UsageError(f"{where}: expected an integer, got {value!r}")
    if value < minimum or (exclusive and value == minimum):
        raise UsageError(f"{where}: must be {'>' if exclusive else '>='} {minimum}, got {value}")
    return kind(value)


def shipped_configs_dir() -> Path:
    """The configs nasearch ships: ``nasearch/configs`` in an installed wheel, ``configs/`` in a checkout."""
    package = Path(__file__).resolve().parent
    installed = package / "configs"
    return installed if installed.is_dir() else package.parent / "configs"


def resolve_config(path: str | Path) -> Path:
    """``path`` itself when it exists; else the shipped config of that name, so ``g_rea``,
    ``g_rea.yaml`` and ``configs/g_rea.yaml`` work from any directory and in any install; a bare name
    that is no search config is looked up among the shipped experiments (``table6``)."""
    given = Path(path)
    if given.is_file() or given.is_absolute():
        return given
    shipped = shipped_configs_dir()
    relative = given.relative_to("configs") if given.parts[:1] == ("configs",) else given
    candidates = [shipped / relative, shipped / relative.with_name(relative.name + ".yaml")]
    if len(relative.parts) == 1:
        candidates += [shipped / "experiments" / relative, shipped / "experiments" / (relative.name + ".yaml")]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    return given


#: bounds on a config file, so that a hostile one is refused cheaply before it is expanded
MAX_CONFIG_BYTES = 1_000_000
MAX_YAML_DEPTH = 64
MAX_YAML_ALIASES = 100
#: sane-run bounds: what no real search asks for, refused instead of silently clipped
MAX_RUNS = 1_000_000
MAX_BUDGET_SECONDS = 1e9  # ~32 years of simulated training
MAX_POOL = 10_000
MAX_SEED = 2**63 - 1  # what the score cache (SQLite INTEGER) can key
MAX_BATCH = 4096  # images per proxy batch (the papers use 64 and 128; correlate --batch-size has the same bound)
_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


class _ConfigLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a duplicate key (YAML lets the last win, silently), nesting deeper
    than :data:`MAX_YAML_DEPTH` and more than :data:`MAX_YAML_ALIASES` aliases (a billion-laughs bomb),
    all while composing, before anything is expanded."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._aliases = 0

    def compose_node(self, parent, index):  # type: ignore[override]
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_YAML_ALIASES:
                raise _Refused(f"more than {MAX_YAML_ALIASES} YAML aliases (*name); write the values out")
        self._depth += 1
        if self._depth > MAX_YAML_DEPTH:
            raise _Refused(f"nesting deeper than {MAX_YAML_DEPTH} levels; a config is a few levels deep")
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node, deep=False):  # type: ignore[override]
        seen: dict = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, (str, int, float, bool)) or key is None:
                if key in seen:
                    raise _Refused(f"key {key!r} is given twice (lines {seen[key] + 1} and {key_node.start_mark.line + 1});"
                                   " keep one")
                seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


class _Refused(Exception):
    pass


def load_yaml_text(text: str, where: str) -> Any:
    """``text`` as YAML plain values, refused in one line when it is too big, too deep, an alias bomb,
    repeats a key, or carries a Python tag."""
    if len(text) > MAX_CONFIG_BYTES:
        raise UsageError(f"{where}: {len(text)} characters; a config is at most {MAX_CONFIG_BYTES}")
    try:
        return yaml.load(text, Loader=_ConfigLoader)  # noqa: S506 (a SafeLoader subclass)
    except _Refused as exc:
        raise UsageError(f"{where}: {exc}") from None
    except RecursionError:
        raise UsageError(f"{where}: nesting too deep; a config is a few levels deep") from None


def read_yaml(path: str | Path) -> dict:
    path = resolve_config(path)
    if path.is_dir():
        raise UsageError(f"config file {path} is a directory; pass a YAML file such as configs/g_rea.yaml")
    if not path.is_file():
        raise UsageError(f"config file {path} does not exist; pass a path such as configs/g_rea.yaml")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not UTF-8 text (byte {exc.start}); save the config as UTF-8 YAML") from None
    except OSError as exc:
        raise UsageError(f"config file {path} cannot be read ({exc.strerror or type(exc).__name__}); check its permissions") from None
    try:
        raw = load_yaml_text(text, str(path))
    except yaml.constructor.ConstructorError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        tag = str(exc.problem or "")
        if "python/" in tag:
            raise UsageError(f"{path}: Python tags (!!python/...) are refused{where}; configs hold plain values only") from None
        raise UsageError(f"{path}: unsupported YAML tag{where} ({' '.join(tag.split())}); use plain values") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise UsageError(f"{path}: not valid YAML{where}; fix the syntax") from None
    if not isinstance(raw, dict):
        raise UsageError(f"{path}: expected a mapping of config keys at the top level")
    return raw


#: values in a config counted as expanded (a YAML alias or a shared Python list counts each time it is used)
MAX_CONFIG_NODES = 100_000


def check_plain(value: Any, where: str) -> None:
    """Refuse, in milliseconds, a config structure (read from YAML, or given to the API as a dict) deeper
    than :data:`MAX_YAML_DEPTH` or with more than :data:`MAX_CONFIG_NODES` values once expanded: a few
    anchors used twice each (``b: &b [*a, *a]``, ...) or a list shared in Python double at every level,
    and whatever copies or serialises the config (``asdict``, ``config.json``) would expand them."""
    count = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        count += 1
        if count > MAX_CONFIG_NODES:
            raise UsageError(f"{where}: more than {MAX_CONFIG_NODES} values once aliases and shared lists are expanded;"
                             " a config is a few dozen values: write them out")
        if depth > MAX_YAML_DEPTH:
            raise UsageError(f"{where}: nesting deeper than {MAX_YAML_DEPTH} levels; a config is a few levels deep")
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for pair in item.items() for child in pair)
        elif isinstance(item, (list, tuple, set, frozenset)):
            stack.extend((child, depth + 1) for child in item)


def yaml_value(text: str, where: str) -> Any:
    """A command-line value (``--option KEY=VALUE``, ``--space-arg``) read as YAML with the config file's
    bounds; ``where`` (the flag and what was given) names it in a one-line error."""
    try:
        value = load_yaml_text(text, where)
    except yaml.YAMLError:
        raise UsageError(f"{where}: the value is not valid YAML; quote it or fix the syntax") from None
    check_plain(value, where)
    return value


def checked_seed(value: Any, where: str = "seed") -> int:
    """A seed: a whole number in 0..2**63-1 (the score cache keys seeds as SQLite INTEGERs)."""
    seed = checked_number(value, where, int, 0)
    if seed > MAX_SEED:
        raise UsageError(f"{where}: {seed} is more than a seed can be (at most 2**63-1); give a smaller seed")
    return seed


def _at_most(value: Any, limit: float, where: str) -> Any:
    if value > limit:
        raise UsageError(f"{where}: {value:g} is more than a search can use (at most {limit:g}); give a smaller value")
    return value


def check_label(label: Any, where: str = "label") -> str:
    """A label names folders and files: a plain name, short enough for any file system (no ``/``, no ``..``)."""
    if not isinstance(label, str) or not _LABEL.match(label):
        raise UsageError(f"{where}: {label!r} must be a plain name (letters, digits, _ . -, at most 100), e.g. g_rea; "
                         "it names folders")
    return label


def parse_search_config(raw: dict, default_label: str = "search") -> SearchConfig:
    check_plain(raw, "config")
    _check_keys(raw, TOP_KEYS, "config")
    for required in ("space", "searcher"):
        if required not in raw:
            raise UsageError(f"config: missing key {required!r}; see configs/rea.yaml for an example")
    check_types(raw, "")
    for section in ("space", "searcher", "hook", "data"):
        check_types(raw.get(section), section, f"{section}.")
    space = raw["space"]
    _check_keys(space, SPACE_KEYS, "space")
    if not space.get("name") and not space.get("class"):
        raise UsageError("space: give 'name' (e.g. nb201) or 'class' ('pkg.module:Class')")
    searcher = raw["searcher"]
    _check_keys(searcher, SEARCHER_KEYS, "searcher")
    if not searcher.get("name"):
        raise UsageError("searcher: missing 'name' (rs, rea, reinforce, bohb, hb)")
    hook = None
    if raw.get("hook") is not None:
        hook = parse_hook(raw["hook"])
    data = raw.get("data")
    data = {} if data is None else data
    _check_keys(data, DATA_KEYS, "data")
    label = check_label(raw.get("label") or default_label)
    out = raw.get("out")
    if out is not None and (not isinstance(out, str) or not out.strip()):
        raise UsageError(f"out: expected a folder path such as results/{label}, got {out!r}")
    cache_dir = raw.get("cache_dir")
    if cache_dir is not None and (not isinstance(cache_dir, str) or not cache_dir.strip()):
        raise UsageError(f"cache_dir: expected a folder path, got {cache_dir!r}")
    revisit = raw.get("revisit", "allow")
    if revisit not in REVISIT_POLICIES:
        raise UsageError(f"revisit: {revisit!r} is not one of {', '.join(REVISIT_POLICIES)}")
    return SearchConfig(
        space=dict(space),
        searcher=dict(searcher),
        hook=hook,
        budget_seconds=_at_most(checked_number(raw.get("budget_seconds", 12000), "budget_seconds", float, 0,
                                               exclusive=True), MAX_BUDGET_SECONDS, "budget_seconds"),
        runs=_at_most(checked_number(raw.get("runs", 1), "runs", int, 1), MAX_RUNS, "runs"),
        seed=checked_seed(raw.get("seed", 0)),
        out=str(Path(out).expanduser()) if out else f"results/{label}",
        data=dict(data),
        cache_dir=str(Path(cache_dir).expanduser()) if cache_dir else None,
        label=label,
        workers=checked_number(raw.get("workers", 1), "workers", int, 1),
        revisit=revisit,
    )


def parse_hook(hook: dict) -> HookConfig:
    import sys

    _check_keys(hook, HOOK_KEYS, "hook")
    check_types(hook, "hook", "hook.")
    options = hook.get("options") or {}
    proxy = hook.get("proxy", "gradsign")
    select = hook.get("select", "proxy")
    if select not in HOOK_SELECTIONS:
        raise UsageError(f"hook.select: {select!r} is not one of {', '.join(HOOK_SELECTIONS)}")
    if proxy == "uniform":
        raise UsageError("hook.proxy: 'uniform' is not a proxy but the hook's uniform-pick control; write "
                         "hook.select: uniform (result folders made with the old spelling still resume)")
    seeds = hook.get("seeds")
    if seeds is not None:
        if "seed" in hook:
            raise UsageError("hook: give seed or seeds, not both")
        if not isinstance(seeds, list) or not seeds:
            raise UsageError(f"hook.seeds: expected a non-empty list of seeds, e.g. [0, 1, 2], got {seeds!r}")
        seeds = tuple(checked_seed(s, "hook.seeds") for s in seeds)
        if len(set(seeds)) != len(seeds):
            raise UsageError(f"hook.seeds: {list(seeds)} repeats a seed; give distinct seeds")
    predictor = hook.get("predictor")
    if predictor is None:
        given = [key for key in PREDICTOR_KEYS if key in hook]
        if given:
            raise UsageError(f"hook.{given[0]}: only means something with hook.predictor (e.g. predictor: xgb+gradsign)")
    else:
        if not isinstance(predictor, str) or not predictor.strip():
            raise UsageError(f"hook.predictor: expected a predictor name such as xgb+gradsign, got {predictor!r}")
        predictor = predictor.strip()
        if select not in ("proxy", "uniform"):
            raise UsageError(f"hook.predictor with hook.select: {select}; the predictor picks after the warm-up, which "
                             "hook.select proxy (the proxy picks) or uniform (a uniform pick) decides")
    return HookConfig(
        predictor=predictor,
        warmup=checked_number(hook.get("warmup", DEFAULT_WARMUP), "hook.warmup", int, 0),
        refit_every=checked_number(hook.get("refit_every", DEFAULT_REFIT_EVERY), "hook.refit_every", int, 1),
        predictor_cost=PredictorCostModel.parse(hook.get("predictor_cost", {})),
        proxy=proxy,
        k=_at_most(checked_number(hook.get("k", 10), "hook.k", int, 1), MAX_POOL, "hook.k"),
        batch_size=_at_most(checked_number(hook.get("batch_size", 128), "hook.batch_size", int, 1), MAX_BATCH,
                            "hook.batch_size"),
        seed=seeds[0] if seeds else checked_seed(hook.get("seed", 0), "hook.seed"),
        dataset=hook.get("dataset", "cifar10"),
        cost=ProxyCostPolicy.parse(hook.get("cost", "measured")),
        options=dict(options),
        tables=hook.get("tables", True),
        select=select,
        seeds=seeds if seeds and len(seeds) > 1 else None,
        device=_checked_device(hook.get("device", "cpu")),
    )


def _checked_device(value: Any) -> str:
    """hook.device resolved now, so ``cuda`` without CUDA fails before any run."""
    from nasearch.device import resolve_device

    if not isinstance(value, str):
        raise UsageError(f"hook.device: expected auto, cpu, cuda or cuda:N, got {value!r}")
    return resolve_device(value, "hook.device")


def load_search_config(path: str | Path) -> SearchConfig:
    path = resolve_config(path)
    return parse_search_config(read_yaml(path), default_label=path.stem)
