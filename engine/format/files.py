"""Finding circuit files (which paths are circuits, walking folders for them), and
writing the files users name with ``--output`` (`write_output`, `write_atomic`)."""

from __future__ import annotations

import errno
import fnmatch
import os
import stat
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

CIRCUIT_SUFFIXES = (".yaml", ".yml")


def is_circuit_file(path: Path) -> bool:
    """A YAML file that is not hidden (editors' temp files often are)."""
    return path.suffix in CIRCUIT_SUFFIXES and not path.name.startswith(".")


def discover(paths: Iterable[str | Path], exclude: Iterable[str] = ()) -> list[Path]:
    """Circuit files named by `paths` (files as given; folders searched recursively).

    Args:
        paths: files and folders.
        exclude: glob patterns matched against each file's path and name.

    Returns:
        Unique files, sorted by path. A file named explicitly is kept whatever its
        suffix; a missing path is kept too, so that loading it reports the problem.
    """
    patterns = tuple(exclude)
    found: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.update(
                p
                for p in path.rglob("*")
                if is_circuit_file(p)
                and p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts[:-1])
            )
        else:
            found.add(path)
    return sorted(p for p in found if not _excluded(p, patterns))


def common_folder(paths: Iterable[str | Path]) -> str | None:
    """The folder holding every one of `paths` (a file stands for its own folder); None for no paths.

    Watch and batch let ``use:`` reach only files inside it.
    """
    folders = [str(Path(p).resolve() if Path(p).is_dir() else Path(p).resolve().parent) for p in paths]
    return os.path.commonpath(folders) if folders else None


def _excluded(path: Path, patterns: tuple[str, ...]) -> bool:
    text = path.as_posix()
    return any(fnmatch.fnmatch(text, pattern) or fnmatch.fnmatch(path.name, pattern) for pattern in patterns)


def write_atomic(path: str | os.PathLike[str], data: str | bytes) -> None:
    """Write `data` to `path` so that readers see the old file or the whole new one, never a part.

    The text goes to a temporary file in the same folder, is flushed to disk, and
    then renamed over `path` (a rename within one file system is atomic).
    """
    target = Path(path)
    try:
        mode = target.stat().st_mode & 0o777
    except FileNotFoundError:
        mask = os.umask(0)
        os.umask(mask)
        mode = 0o666 & ~mask
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        if isinstance(data, str):
            data = data.encode("utf-8")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def write_output(path: str | os.PathLike[str], data: str) -> None:
    """Write `data` to the file a user named, never replacing what the name stands for.

    * The name of this process's own stdout or stderr (``/dev/stdout``, ``/dev/fd/2``,
      or the very file stdout is redirected to) writes through that stream.
    * A symbolic link is followed, and its target written (a dangling link's target
      is created): the link stays.
    * A regular file, or a new one, is replaced atomically (`write_atomic`).
    * Anything else (a character device such as ``/dev/null``, a FIFO, a socket) is
      opened and written to, never renamed over.
    * Missing parent folders are created, as pytest's ``--junitxml`` does.

    Raises:
        OSError: the file cannot be written (e.g. `IsADirectoryError` for a folder).
    """
    try:
        found = os.stat(path)
    except FileNotFoundError:
        found = None
    if found is not None:
        stream = _std_stream(found)
        if stream is not None:
            stream.write(data)
            stream.flush()
            return
        if stat.S_ISDIR(found.st_mode):
            raise IsADirectoryError(errno.EISDIR, "it is a folder", str(path))
        if not stat.S_ISREG(found.st_mode):
            with open(path, "w", encoding="utf-8", newline="") as handle:
                handle.write(data)
            return
    target = Path(os.path.realpath(path))  # a link's target: replacing it leaves the link in place
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(target, data)


def _std_stream(found: os.stat_result) -> TextIO | None:
    """stdout or stderr, if `found` is the file it writes to."""
    for stream in (sys.stdout, sys.stderr):
        try:
            if os.path.samestat(found, os.fstat(stream.fileno())):
                return stream
        except (AttributeError, OSError, ValueError):  # replaced by an object with no file (e.g. captured)
            continue
    return None
