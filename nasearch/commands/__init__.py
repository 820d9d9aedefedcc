"""The ``nasearch`` subcommands, one module each (see :data:`nasearch.cli.COMMANDS`)."""
from __future__ import annotations

import argparse

from nasearch.config import MAX_SEED  # noqa: F401  (the largest seed a command takes)


def check_counts(args: argparse.Namespace, bounds: dict[str, tuple[int, int]]) -> None:
    """Each count flag within ``bounds`` (flag attribute -> (least, most)), checked before any work:
    a count below the least, or so large that the command would run for days (or never return), is one
    line naming the flag, the value, the bound and the fix."""
    from nasearch.errors import UsageError

    for attribute, (least, most) in bounds.items():
        value = getattr(args, attribute)
        flag = "--" + attribute.replace("_", "-")
        if value < least:
            raise UsageError(f"{flag} must be >= {least}, got {value}")
        if value > most:
            shown = "2**63-1" if most == MAX_SEED else str(most)
            raise UsageError(f"{flag}: {value:g} is more than this command can use (at most {shown}); give a smaller value")
