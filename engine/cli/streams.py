"""The standard streams as the CLI finds them: closed, piped, redirected, full, or not UTF-8.

`prepare` makes every stream safe to write to before a command runs: characters the
encoding lacks are written as escapes; a failed write to stdout becomes `ReaderGone`
(the reader closed the pipe: a normal end) or `OutputFailed` (closed, full: an I/O
error), exceptions no library on the way up mistakes for its own; a closed stderr
swallows what is written. `glyphs` picks the characters a table may use on a
stream; `is_terminal` says whether a person reads it.
"""

from __future__ import annotations

import errno
import io
import os
import sys
from dataclasses import dataclass
from typing import IO, Any


class _ClosedStream(io.TextIOBase):
    """Stands in for a standard stream whose file descriptor was closed before the start."""

    def __init__(self, name: str) -> None:
        self.name = name

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, f"{self.name} is closed")


class ReaderGone(Exception):
    """stdout's reader closed the pipe (``circuit … | head -1``)."""


class OutputFailed(Exception):
    """stdout cannot be written (closed, a full disk, /dev/full)."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


class _Guarded:
    """stdout, with write errors turned into `ReaderGone` / `OutputFailed`.

    The CLI library turns a closed pipe into exit code 1 and lets other write errors
    look like bugs; these exceptions pass through it to `engine.cli.app.main`.
    """

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return int(self._stream.write(text))
        except BrokenPipeError:
            raise ReaderGone from None
        except OSError as exc:
            raise OutputFailed(exc) from None

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            raise ReaderGone from None
        except OSError as exc:
            raise OutputFailed(exc) from None

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


def prepare() -> tuple[IO[str] | None, IO[str] | None]:
    """Make stdout and stderr safe to write to (see the module docstring).

    Returns:
        The streams as they were, for `restore`.
    """
    saved = (sys.stdout, sys.stderr)
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # nowhere to say anything
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            # A non-UTF-8 stream (PYTHONIOENCODING=ascii, a Latin-1 terminal) gets escapes, never a crash.
            stream.reconfigure(errors="backslashreplace")
    guarded: Any = _Guarded(sys.stdout if sys.stdout is not None else _ClosedStream("stdout"))
    sys.stdout = guarded
    return saved


def restore(saved: tuple[IO[str] | None, IO[str] | None]) -> None:
    """Put back the streams `prepare` replaced (for callers of `main` in the same process)."""
    restored: tuple[Any, Any] = saved
    sys.stdout, sys.stderr = restored


def silence_stdout() -> None:
    """Point stdout at the null device: the reader went away, and nothing buffered may fail again at exit."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.close(null)
    except OSError:
        pass


def is_terminal(stream: IO[str]) -> bool:
    """Whether a person reads `stream` (a TTY)."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False


@dataclass(frozen=True, slots=True)
class Glyphs:
    """The characters a rendering may use on one stream.

    Attributes:
        unicode: whether box-drawing characters can be written.
        partial: the sign of a partial derivative (``∂``, or ``d``).
        arrow: old → new.
        ellipsis: what marks a shortened name.
    """

    unicode: bool
    partial: str
    arrow: str
    ellipsis: str


UNICODE = Glyphs(True, "∂", "→", "…")
ASCII = Glyphs(False, "d", "->", "...")
_PROBE = "┃━╇│∂→…"


def glyphs(stream: IO[str] | None) -> Glyphs:
    """`UNICODE` when `stream`'s encoding can write every glyph, else `ASCII`."""
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        _PROBE.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return ASCII
    return UNICODE
