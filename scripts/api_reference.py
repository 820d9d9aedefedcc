"""Write docs/api.md, the reference of nasearch's Python API, from the docstrings and signatures.

    python scripts/api_reference.py            # rewrites docs/api.md
    python scripts/api_reference.py --check    # exit 1 when docs/api.md is not what the code says

tests/test_api.py runs the check, so the page cannot drift from the code.
"""
from __future__ import annotations

import argparse
import inspect
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "api.md"
FUNCTIONS = ("search", "experiment", "report", "load_results", "space", "proxy", "search_config")
CLASSES = ("RunSet", "ExperimentResults", "Proxy")


def _doc(obj) -> str:
    return inspect.cleandoc(obj.__doc__ or "").strip()


def render() -> str:
    import nasearch
    from nasearch import api

    lines = ["# The Python API", "",
             "Generated from the code by `python scripts/api_reference.py` (a test keeps it equal). Every name is",
             "importable from `nasearch`; the command line is a thin layer over these functions.", "",
             "```python", "import nasearch as ns", "```", "", "## Module", "", _doc(api), "", "## Functions", ""]
    for name in FUNCTIONS:
        function = getattr(api, name)
        lines += [f"### `ns.{name}{inspect.signature(function)}`", "", _doc(function), ""]
    lines += ["## Results and proxies", ""]
    for name in CLASSES:
        cls = getattr(api, name)
        lines += [f"### `ns.{name}`", "", _doc(cls), ""]
        for member, value in inspect.getmembers(cls):
            if member.startswith("_") or not (inspect.isfunction(value) or isinstance(value, property)):
                continue
            target = value.fget if isinstance(value, property) else value
            signature = "" if isinstance(value, property) else str(inspect.signature(target))
            lines += [f"- `{member}{signature}`" + (f": {_doc(target).splitlines()[0]}" if _doc(target) else "")]
        lines.append("")
    lines += ["## Errors", "", f"`ns.UsageError`: {_doc(nasearch.UsageError)}", "",
              "## Also exported", "", ", ".join(f"`ns.{n}`" for n in sorted(nasearch.__all__)
                                                 if n not in FUNCTIONS + CLASSES + ("__version__", "UsageError")), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="write or check docs/api.md")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if not PAGE.is_file() or PAGE.read_text() != text:
            print(f"{PAGE} is out of date: run python scripts/api_reference.py", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(text)
    print(f"wrote {PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
