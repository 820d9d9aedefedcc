"""User-facing errors: one line that names the problem and the fix.

The CLI prints ``UsageError`` without a traceback and exits 2; anything else is a bug and
keeps its traceback.
"""
from __future__ import annotations


class UsageError(Exception):
    """Bad input from the user (config, flags, files, data)."""


class BudgetExhausted(Exception):
    """Raised inside a run when the simulated clock cannot pay for the next step."""
