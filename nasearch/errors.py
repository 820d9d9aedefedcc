"""User-facing errors: one line that names the problem and the fix.

The CLI prints ``UsageError`` without a traceback and exits 2; anything else is a bug and
keeps its traceback. An ``OSError`` from reading or writing a file (a full disk, a read-only
file system, a file-size limit, a symbolic link loop, a name too long, ...) is the machine's
state, not a bug: :func:`os_error_line` turns it into the one line (path, what went wrong, the
fix), where it is caught (:func:`os_errors`) or, as a last resort, in the CLI.
"""
from __future__ import annotations

import errno
import os
from contextlib import contextmanager
from typing import Iterator


class UsageError(Exception):
    """Bad input from the user (config, flags, files, data)."""


class BudgetExhausted(Exception):
    """Raised inside a run when the simulated clock cannot pay for the next step."""


_SPACE = "free some space or write to another disk, then rerun the same command (what is written is kept)"
#: errno -> the fix the one line names
OS_FIXES = {
    errno.ENOSPC: _SPACE,
    errno.EDQUOT: _SPACE,
    errno.EFBIG: "a file-size limit (ulimit -f) stops the write; raise the limit (ulimit -f unlimited) or write elsewhere",
    errno.EROFS: "choose a writable folder",
    errno.EACCES: "choose a folder you may write to, or fix its permissions",
    errno.EPERM: "choose a folder you may write to, or fix its permissions",
    errno.ELOOP: "remove the link loop or choose another folder",
    errno.ENAMETOOLONG: "choose a shorter path",
    errno.ENOTDIR: "a file is where a folder should be; move it or choose another folder",
    errno.EISDIR: "a folder is where a file should be; move it or choose another path",
    errno.EEXIST: "something is in the way; move it or choose another path",
    errno.ENOENT: "check the path",
    errno.EIO: "the disk reports an I/O error; check it or write elsewhere",
}


def os_error_line(exc: OSError, path: object = None) -> str:
    """``PATH: what went wrong; the fix`` for an OS error (``path`` when the error names none)."""
    where = exc.filename if exc.filename is not None else path
    what = exc.strerror or (os.strerror(exc.errno) if exc.errno else str(exc) or type(exc).__name__)
    fix = OS_FIXES.get(exc.errno, "check the path or choose another one")
    return f"{where}: {what}; {fix}" if where is not None else f"{what}; {fix}"


@contextmanager
def os_errors(path: object) -> Iterator[None]:
    """Reading or writing ``path``: an ``OSError`` becomes the one-line :class:`UsageError`."""
    try:
        yield
    except OSError as exc:
        raise UsageError(os_error_line(exc, path)) from None
