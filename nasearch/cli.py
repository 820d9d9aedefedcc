"""The ``nasearch`` command line.

``nasearch run CONFIG`` (also ``python run_search.py CONFIG``) runs a search config; the other
subcommands live in their own modules and are imported only when used. Usage errors print
one line and exit 2, and so does an ``OSError`` no writer turned into one (a full disk, a
read-only file system, ...: :func:`nasearch.errors.os_error_line`); a Ctrl-C, SIGTERM or SIGHUP
(a closed terminal) keeps every finished run on disk, prints one line and exits 128 + the
signal's number (130, 143, 129).
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import math
import signal
import sys
import threading
from typing import Iterator, Sequence

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


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where the command is, so it stops as a Ctrl-C does: the same
    cleanup (pool workers stopped, finished runs kept), then one line and exit 128 + the signal."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


#: the signals that stop a command as Ctrl-C does (SIGINT itself is Python's KeyboardInterrupt)
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


def _stop(signum: int, frame) -> None:
    for other in STOP_SIGNALS:  # a second signal during the cleanup ends the process at once
        signal.signal(other, signal.SIG_DFL)
    raise Terminated(signum)


@contextlib.contextmanager
def _stop_signals_interrupt() -> Iterator[None]:
    """While a command runs, SIGTERM/SIGHUP raise :class:`Terminated` (restored after: main may be called in-process)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread can handle signals
        return
    saved = {signum: signal.signal(signum, _stop) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)


def _say(line: str) -> None:
    try:
        print(line, file=sys.stderr)
    except (OSError, ValueError):  # a closed terminal (SIGHUP) has no stderr left to write to
        pass


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        with _stop_signals_interrupt():
            if isinstance(getattr(args, "config", None), str):  # a shipped config by name: `nasearch run g_rea`
                from nasearch.config import resolve_config

                args.config = str(resolve_config(args.config))
            return int(args._main(args) or 0)
    except UsageError as exc:
        _say(f"nasearch: error: {exc}")
        return 2
    except OSError as exc:  # the machine's state (a full disk, a read-only folder, ...), not a bug: one line
        _say(f"nasearch: error: {os_error_line(exc)}")
        return 2
    except KeyboardInterrupt as exc:
        signum = exc.signum if isinstance(exc, Terminated) else signal.SIGINT
        how = "interrupted" if signum == signal.SIGINT else f"stopped by {signal.Signals(signum).name}"
        _say(f"nasearch: {how}; finished runs are kept, rerun the same command to resume")
        return 128 + signum


def run_search_main(argv: Sequence[str] | None = None) -> int:
    """``python run_search.py CONFIG ...`` is ``nasearch run CONFIG ...``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    return main(["run", *argv])


if __name__ == "__main__":  # python -m nasearch.cli works like python -m nasearch
    sys.exit(main())
