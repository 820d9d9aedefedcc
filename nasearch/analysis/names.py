"""How a searcher's label is shown when its experiment declares no name for it (``report.names``)."""
from __future__ import annotations


def display_name(label: str, selection: str | None = None) -> str:
    """A label as a table shows it: ``g_rea`` -> ``G-REA``; ``g_rea_params`` -> ``G-REA (params)``;
    ``g_rea_lookup`` -> ``G-REA (proxy free)``. Only the default: ``report.names`` wins."""
    suffix = ""
    if label.endswith("_lookup"):  # the shipped experiments' convention for ``cost: lookup`` twins
        label, suffix = label[: -len("_lookup")], " (proxy free)"
    elif selection and label.endswith("_" + selection):
        label, suffix = label[: -len(selection) - 1], f" ({selection})"
    if label.startswith("g_"):
        return "G-" + label[2:].upper().replace("_", "-") + suffix
    return label.upper().replace("_", "-") + suffix
