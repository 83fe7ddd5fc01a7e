"""The CLI's one exit-code rule, and the usage errors every command shares.

* 0 — everything ran and is ok;
* 1 — a circuit is invalid, fails its expectations or gradient check, or faults
  (also a dataset whose rows cannot be read);
* 2 — usage: bad flags or values, an unknown input or wire named on the command
  line, a path given on the command line that does not exist, output that cannot
  be written (a report file, stdout), a bad configuration file.

A usage error is printed as ``error: message`` plus a ``help:`` line.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from pathlib import Path

from engine.errors import printable


class ExitCode(enum.IntEnum):
    OK = 0
    FAILED = 1
    USAGE = 2


class UsageError(Exception):
    """A bad command line (exit 2)."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint

    def render(self) -> str:
        """``error: message`` and the hint, control characters escaped."""
        text = f"error: {printable(str(self))}\n"
        return text + (f"  help: {printable(self.hint)}\n" if self.hint else "")


STDIN = "-"
"""The path that names standard input (``circuit eval -``)."""


def require_paths(paths: Iterable[Path | str]) -> None:
    """Refuse paths named on the command line that do not exist (exit 2), all of them at once.

    Raises:
        UsageError: one or more paths do not exist.
    """
    missing = [str(p) for p in paths if str(p) != STDIN and not Path(p).exists() and not Path(p).is_symlink()]
    if missing:
        names = ", ".join(f"'{m}'" for m in missing)
        raise UsageError(f"no such file or folder: {names}", "check the path (it is relative to the current folder)")


def write_failed(target: str, exc: OSError) -> UsageError:
    """The usage error for output that cannot be written (a report file, stdout)."""
    hint = (
        "stdout is closed or full; redirect it elsewhere" if target == "stdout" else "check the path and the free space"
    )
    return UsageError(f"cannot write to '{target}': {exc.strerror or exc}", hint)
