"""The ``nasearch`` command line.

``nasearch run CONFIG`` (also ``python run_search.py CONFIG``) runs a search config; the other
subcommands live in their own modules and are imported only when used. Usage errors print
one line and exit 2, and so does an ``OSError`` no writer turned into one (a full disk, a
read-only file system, ...: :func:`nasearch.errors.os_error_line`); a Ctrl-C keeps every
finished run on disk.
"""
from __future__ import annotations

import argparse
import importlib
import math
import sys
from typing import Sequence

from nasearch.errors import UsageError, os_error_line

#: subcommand -> module with ``add_arguments(parser)`` and ``main(args) -> int``
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("nasearch.commands.run", "run a search or experiment config"),
    "precompute": ("nasearch.commands.precompute", "compute a proxy for every architecture of a space"),
    "correlate": ("nasearch.commands.correlate", "rank correlation of proxies with final accuracy"),
    "experiment": ("nasearch.commands.experiment", "run a vanilla-vs-assisted experiment config"),
    "report": ("nasearch.commands.report", "write the report of an experiment's results"),
    "predictors": ("nasearch.commands.predictors", "performance-predictor study (White et al. 2021)"),
}


def finite_float(text: str) -> float:
    """An argparse ``type`` for seconds and other real flags: a finite number (``nan``/``inf`` refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number; give seconds such as 12000")
    return value


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="nasearch", description="Neural architecture search with proxy-assisted optimizers.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name, (module_name, help_text) in COMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue  # a subcommand not in this version
            raise
        module.add_arguments(sub.add_parser(name, help=help_text, description=module.__doc__))
        sub.choices[name].set_defaults(_main=module.main)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if isinstance(getattr(args, "config", None), str):  # a shipped config by name: `nasearch run g_rea`
            from nasearch.config import resolve_config

            args.config = str(resolve_config(args.config))
        return int(args._main(args) or 0)
    except UsageError as exc:
        print(f"nasearch: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the machine's state (a full disk, a read-only folder, ...), not a bug: one line
        print(f"nasearch: error: {os_error_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("nasearch: interrupted; finished runs are kept, rerun the same command to resume", file=sys.stderr)
        return 130


def run_search_main(argv: Sequence[str] | None = None) -> int:
    """``python run_search.py CONFIG ...`` is ``nasearch run CONFIG ...``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    return main(["run", *argv])


if __name__ == "__main__":  # python -m nasearch.cli works like python -m nasearch
    sys.exit(main())
