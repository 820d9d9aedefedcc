"""The contract every search space honours.

Searchers, proxies and the runner talk to spaces only through this protocol, so a user's
own space plugs in without touching nasearch. The protocol is *declared* once here
(:data:`REQUIRED`, :data:`CAPABILITY_DECLARATIONS`, :data:`OPTIONAL_MEMBERS`): the loader's
checks, their messages and the tutorial's tables are all derived from it. Randomness always arrives as an explicit
``numpy.random.Generator`` so that a run is a pure function of its seed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Hashable, Mapping

import numpy as np

Arch = Hashable
"""An architecture as the space represents it; must be hashable and picklable."""


@dataclass(frozen=True)
class Evaluation:
    """What one simulated training of an architecture returned.

    ``fitness`` is what the searcher optimises (higher is better); ``cost_seconds`` is what
    that training would have cost in wall time, charged to the run's simulated clock.
    """

    fitness: float
    cost_seconds: float
    extras: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class CodeReference:
    """A space argument that names user code (``"pkg.mod:function"`` / ``"file.py:function"``).

    A space declares such arguments in a class attribute ``code_arguments`` (argument name ->
    what the code is, e.g. ``{"builder": "network builder"}``); the loader
    (:func:`nasearch.loading.load_space`) resolves each one under the same rule as every other
    reference, *before* anything is called, and passes this object in place of the string. A
    space never imports user code itself. ``text`` is what the config said (it keys caches).
    """

    text: str
    target: object

    def __call__(self, *args, **kwargs):
        return self.target(*args, **kwargs)


# -- the one declaration ------------------------------------------------------------------
# Everything nasearch asks of a space is declared once, below: the checks (protocol_problems,
# capabilities, has_capability), their error messages, and the tables of docs/custom_space.md
# (capability_tables(); tests/test_protocol.py checks the doc equals them) all come from it.


@dataclass(frozen=True)
class Method:
    """A method nasearch calls as ``name(*arguments)`` (after ``self``)."""

    name: str
    arguments: tuple[str, ...]
    description: str

    @property
    def call(self) -> str:
        return f"{self.name}({', '.join(self.arguments)})"


@dataclass(frozen=True)
class Attribute:
    """A data attribute; with ``minimum``, a value below it means "not offered"."""

    name: str
    kind: type
    description: str
    minimum: int | None = None

    def problem(self, space: object) -> str | None:
        """Why the attribute's value is unusable (wrong type), or None (absent or fine)."""
        value = getattr(space, self.name, None)
        if value is None:
            return None
        if self.kind is int:
            ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
        else:
            ok = isinstance(value, self.kind)
        if not ok:
            return f"{self.name} = {value!r} must be {'an integer' if self.kind is int else 'a ' + self.kind.__name__}"
        return None

    def given(self, space: object) -> bool:
        value = getattr(space, self.name, None)
        if value is None or self.problem(space):
            return False
        return self.minimum is None or value >= self.minimum


@dataclass(frozen=True)
class Capability:
    """An optional capability: offered when every method is callable and every required attribute given."""

    name: str
    methods: tuple[Method, ...]
    description: str
    used_by: str
    attributes: tuple[Attribute, ...] = ()  # needed: the capability is not offered without them
    extras: tuple[Attribute, ...] = ()  # read when present, with a default

    @property
    def members(self) -> str:
        parts = [m.call for m in self.methods]
        parts += [a.name + (f" >= {a.minimum}" if a.minimum is not None else "") for a in self.attributes]
        return " + ".join(parts)


#: The methods every space must have, with the arguments nasearch passes, positionally.
REQUIRED: tuple[Method, ...] = (
    Method("sample", ("rng",), "draws a random architecture (`rng` is a `numpy.random.Generator`: use only it, "
           "so runs are reproducible)"),
    Method("mutate", ("arch", "rng"), "evolution's mutation: a neighbour of `arch`"),
    Method("query", ("arch", "rng"), "\"trains\" `arch`: returns `Evaluation(fitness, cost_seconds)`; fitness is "
           "maximised, cost is charged to the run's simulated clock"),
    Method("final_metrics", ("arch",), "what the run reports for its best architecture, e.g. test accuracy"),
    Method("arch_id", ("arch",), "a stable text id for caches and result files"),
    Method("from_id", ("arch_id",), "the architecture of an id (`arch_id`'s inverse)"),
    Method("build_network", ("arch", "num_classes"), "a `torch.nn.Module` at initialisation, for zero-cost proxies "
           "such as GradSign"),
)
#: The attributes every space must have: ``name@version`` keys every cache and result.
REQUIRED_ATTRIBUTES: tuple[Attribute, ...] = (
    Attribute("name", str, "keys every cache and result, with `version`: two spaces never share scores"),
    Attribute("version", str, "bump it whenever your networks or results change"),
)

#: Optional capabilities, each a set of members that only mean something together.
CAPABILITY_DECLARATIONS: tuple[Capability, ...] = (
    Capability(
        "encoding",
        (Method("choices", (), "the options of each position"), Method("encode", ("arch",), "arch -> option indices"),
         Method("decode", ("indices",), "option indices -> arch")),
        "the space is a product of categorical choices", "reinforce, bohb, hb"),
    Capability(
        "fidelity",
        (Method("query_at", ("arch", "epochs", "rng"), "the result after `epochs` epochs (1..max_epochs)"),),
        "results after fewer epochs (multi-fidelity)",
        "hb, bohb: real budgets of 1..max_epochs epochs (without it they run single-fidelity)",
        (Attribute("max_epochs", int, "the top fidelity: the epochs `query` reports", minimum=1),)),
    Capability(
        "learning_curves",
        (Method("learning_curve", ("arch", "epochs", "rng"),
                "one trial's first `epochs` epochs: `{\"valid_acc\": [...], \"train_loss\": [...], \"seconds\": s}` "
                "(per-epoch lists; `seconds` is what that partial training cost)"),),
        "per-epoch learning curves", "learning-curve predictors (early_stop@E, sotl@E, sotle@E, lce@E)",
        (Attribute("max_epochs", int, "the top fidelity: the epochs `query` reports", minimum=1),)),
    Capability(
        "neighbours", (Method("neighbours", ("arch",), "every one-step neighbour of `arch`"),),
        "lists one-step neighbours", "ls (local search, G-LS)"),
    Capability(
        "vector_encodings",
        (Method("vector_encoding", ("arch", "kind"), "the arch as a 1-D float array under encoding `kind`, one of "
                "`vector_encodings` (e.g. 'path', 'adjacency')"),),
        "fixed-length vector encodings of an architecture, beyond the categorical one-hot",
        "predictors (bananas' path encoding, the MLP/GCN/tree predictors' features)",
        (Attribute("vector_encodings", tuple, "the names of the encodings `vector_encoding` accepts"),)),
    Capability(
        "result_keys", (Method("arch_from_key", ("key",), "the architecture of a cell as results files write it "
                                                          "(e.g. NASLib's zero-cost benchmark keys)"),),
        "reads the cell notation of published results files", "correlate --accuracies"),
    Capability(
        "proxy_batch", (Method("proxy_batch", ("batch_size", "seed"), "(inputs, labels) torch tensors"),),
        "the data proxies run on, when CIFAR-10 images do not fit the space's networks (default: CIFAR-10)",
        "every data proxy (gradsign, snip, ...)",
        extras=(Attribute("num_classes", int, "the networks' output classes for proxies (default 10)", minimum=1),)),
    Capability(
        "proxy_score", (Method("proxy_score", ("proxy", "arch"), "`(score, seconds)` or None"),),
        "precomputed proxy scores, for spaces without networks (a table)", "the pool hook, correlate"),
)

#: Optional single members: used when present, never required.
OPTIONAL_MEMBERS: tuple[Method, ...] = (
    Method("all_archs", (), "every architecture of the space (`nasearch precompute`; counting packaged scores)"),
    Method("preload", (), "load lazily-read data once per process, before its first run (every worker process calls it)"),
    Method("model_size_mb", ("arch",), "the network's size in MB (the official NB201 backends report it)"),
)

# Plain-name views of the declaration.
REQUIRED_METHODS: tuple[str, ...] = tuple(m.name for m in REQUIRED)
_BY_NAME: dict[str, Capability] = {c.name: c for c in CAPABILITY_DECLARATIONS}


def missing_methods(space: object) -> list[str]:
    """Names of required protocol methods that ``space`` lacks or that are not callable."""
    return [name for name in REQUIRED_METHODS if not callable(getattr(space, name, None))]


def _call_problem(space: object, method: str, arguments: tuple[str, ...]) -> str | None:
    """Why ``space.method(*arguments)`` cannot be called, or None when it can."""
    import inspect

    value = getattr(space, method, None)
    if value is None:
        return f"missing {method}({', '.join(arguments)})"
    if not callable(value):
        shown = repr(value) if len(repr(value)) <= 40 else f"<{type(value).__name__}>"
        return f"{method} = {shown} is not a method; nasearch calls {method}({', '.join(arguments)})"
    try:
        signature = inspect.signature(value)
    except (TypeError, ValueError):  # builtins without signatures: trust them
        return None
    try:
        signature.bind(*arguments)
    except TypeError:
        shown = ", ".join(n for n in signature.parameters)
        return f"{method}({shown}) cannot be called as {method}({', '.join(arguments)})"
    return None


def protocol_problems(space: object) -> list[str]:
    """Every way ``space`` breaks the protocol, in declaration order: missing, non-callable or
    mistyped required methods; optional methods present with the wrong arguments; optional
    attributes of the wrong type."""
    problems = [p for m in REQUIRED if (p := _call_problem(space, m.name, m.arguments))]
    optional, seen = [], set()
    for member in (m for c in CAPABILITY_DECLARATIONS for m in (*c.methods, *c.attributes, *c.extras)):
        if member.name not in seen:  # a member two capabilities share (max_epochs) is checked once
            seen.add(member.name)
            optional.append(member)
    for member in (*optional, *OPTIONAL_MEMBERS):
        if isinstance(member, Attribute):
            problem = member.problem(space)
        elif getattr(space, member.name, None) is not None:
            problem = _call_problem(space, member.name, member.arguments)
        else:
            problem = None
        if problem:
            problems.append(problem)
    return problems


def has_capability(space: object, name: str) -> bool:
    """Whether ``space`` offers capability ``name``: every method callable, every needed attribute given."""
    capability = _BY_NAME[name]
    return all(callable(getattr(space, m.name, None)) for m in capability.methods) and all(
        a.given(space) for a in capability.attributes
    )


def capabilities(space: object) -> list[str]:
    """The optional capabilities ``space`` offers, in declaration order."""
    return [c.name for c in CAPABILITY_DECLARATIONS if has_capability(space, c.name)]


def capability_of(member: str) -> str | None:
    """The capability a method or attribute belongs to, for error messages."""
    for c in CAPABILITY_DECLARATIONS:
        if any(m.name == member for m in (*c.methods, *c.attributes)):
            return c.name
    return None


def capability_tables() -> str:
    """The markdown tables of docs/custom_space.md (between its ``protocol-tables`` markers)."""
    lines = ["| required | what nasearch does with it |", "| --- | --- |"]
    lines += [f"| `{m.call}` | {m.description} |" for m in REQUIRED]
    lines += [f"| `{a.name}` ({a.kind.__name__}) | {a.description} |" for a in REQUIRED_ATTRIBUTES]
    lines += ["", "| capability | members | what it gives | used by |", "| --- | --- | --- | --- |"]
    lines += [f"| {c.name} | `{c.members}` | {c.description} | {c.used_by} |" for c in CAPABILITY_DECLARATIONS]
    lines += ["", "| optional member | what nasearch does with it |", "| --- | --- |"]
    lines += [f"| `{m.call}` | {m.description} |" for m in OPTIONAL_MEMBERS]
    attributes: dict[str, tuple[Attribute, list[str]]] = {}  # one row per attribute, naming every capability
    for c in CAPABILITY_DECLARATIONS:
        for a in (*c.attributes, *c.extras):
            attributes.setdefault(a.name, (a, []))[1].append(c.name)
    lines += [f"| `{a.name}` ({a.kind.__name__}, {', '.join(names)}) | {a.description} |" for a, names in attributes.values()]
    return "\n".join(lines) + "\n"
