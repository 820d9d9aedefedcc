"""Baseline/treatment pairs and their roles: what a comparison is for, so the report can say what it means.

An experiment config lists ``pairs:`` as ``[baseline, treatment]`` or as
``{baseline: rea, treatment: g_rea, role: effect}``. The role is one of :data:`ROLES`:

* ``effect``: the method against the vanilla searcher (does pool selection by this proxy help?);
* ``exact_control``: a control that must match the vanilla searcher in distribution
  (``hook.select: uniform``); a difference means something is broken;
* ``trivial_proxy``: a real proxy (treatment) against a trivial one (baseline, e.g. model size):
  is the proxy doing more than counting parameters?
* ``proxy_vs_proxy``: two proxies (or two assisted searchers) against each other.

A pair without a role gets one from :func:`infer_role` when the experiment is parsed, from what
each side's hook *declares* (its ``select:``, and whether its proxy's :class:`ProxySpec` is
``trivial``), never from a label's or a proxy's spelling; ``experiment.json`` records it, so the
report reads roles instead of working them out; the report calls the same function for an
``experiment.json`` written before roles existed.
"""
from __future__ import annotations

from dataclasses import dataclass

from nasearch.errors import UsageError
from nasearch.hook import is_control_label

ROLES = ("effect", "exact_control", "trivial_proxy", "proxy_vs_proxy")
#: selection labels (a run record's ``selection``) of the exact no-information control
EXACT_CONTROLS = ("uniform",)


def is_trivial(selection: str | None) -> bool:
    """Whether a selection label names a proxy whose spec declares itself ``trivial`` (model size)."""
    if selection is None or is_control_label(selection):
        return False
    from nasearch.proxies.registry import get_proxy

    try:
        return bool(get_proxy(selection).trivial)
    except UsageError:
        return False  # a proxy no longer installed: nothing declares it trivial


@dataclass(frozen=True)
class Pair:
    baseline: str
    treatment: str
    role: str

    def as_json(self) -> dict:
        return {"baseline": self.baseline, "treatment": self.treatment, "role": self.role}


def infer_role(baseline: str | None, treatment: str | None) -> str:
    """The role of a pair from what each side selects by (``nasearch.hook.selection_label``:
    None for a vanilla searcher, the proxy's name, or ``uniform``/``oracle``/``worst:<proxy>``).

    The one place roles are derived: the uniform control against vanilla is the exact control;
    a real proxy against one whose spec is ``trivial`` (params, flops) is the trivial-proxy test;
    anything against vanilla (or against its exact control) is an effect; the rest is proxy vs proxy.
    """
    if baseline is None and treatment in EXACT_CONTROLS:
        return "exact_control"
    if is_trivial(baseline) and treatment is not None and not is_trivial(treatment) \
            and not is_control_label(treatment):
        return "trivial_proxy"
    if baseline is None or baseline in EXACT_CONTROLS or treatment is None:
        return "effect"
    return "proxy_vs_proxy"


def check_role(role, where: str) -> str:
    if role not in ROLES:
        raise UsageError(f"{where}: role {role!r} is not one of {', '.join(ROLES)}")
    return str(role)


def pairs_from_json(entries, selections: dict[str, str | None]) -> list[Pair]:
    """The pairs of an ``experiment.json``: ``{baseline, treatment, role}`` mappings, or (files
    written before roles) ``[baseline, treatment]`` lists whose role :func:`infer_role` gives from
    ``selections`` (label -> what its runs select by)."""
    if not isinstance(entries, list):
        raise UsageError(f"experiment.json: 'pairs' is {type(entries).__name__}, not a list; restore it or delete it")
    pairs = []
    for entry in entries:
        if isinstance(entry, dict) and {"baseline", "treatment"} <= set(entry):
            base, treat = str(entry["baseline"]), str(entry["treatment"])
            role = entry.get("role") or infer_role(selections.get(base), selections.get(treat))
            pairs.append(Pair(base, treat, check_role(role, f"experiment.json: pair {base} -> {treat}")))
        elif isinstance(entry, (list, tuple)) and len(entry) == 2:
            base, treat = str(entry[0]), str(entry[1])
            pairs.append(Pair(base, treat, infer_role(selections.get(base), selections.get(treat))))
        else:
            raise UsageError(f"experiment.json: pair {entry!r} is neither [baseline, treatment] nor "
                             f"{{baseline, treatment, role}}; restore it or delete the file")
    return pairs
