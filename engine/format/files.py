"""Finding circuit files (which paths are circuits, walking folders for them), and
writing the files users name with ``--output`` (`write_output`, `write_atomic`)."""

from __future__ import annotations

import errno
import os
import stat
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

CIRCUIT_SUFFIXES = (".yaml", ".yml")


def _is_circuit_file(path: Path) -> bool:
    """A YAML file that is not hidden (editors' temp files often are)."""
    return path.suffix in CIRCUIT_SUFFIXES and not path.name.startswith(".")


def discover(paths: Iterable[str | Path], exclude: Iterable[str] = ()) -> list[Path]:
    """Circuit files named by `paths` (files as given; folders searched recursively).

    Hidden folders (``.git``, ``.venv``) and excluded ones are pruned before they
    are walked, not filtered afterwards.

    Args:
        paths: files and folders.
        exclude: ``.gitignore``-style patterns: a name matches that component
            anywhere (``good``), a pattern with a ``/`` is anchored at the folder
            searched (``good/*``), ``**`` spans folders (``**/tmp_*``). Each file is
            also matched by its path as given.

    Returns:
        Unique files, sorted by path. A file named explicitly is kept whatever its
        suffix; a missing path is kept too, so that loading it reports the problem.
    """
    spec = _exclusions(exclude)
    found: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.update(_walk(path, spec))
        elif spec is None or not _matches(spec, path.as_posix()):
            found.add(path)
    return sorted(found)


def common_folder(paths: Iterable[str | Path]) -> str | None:
    """The folder holding every one of `paths` (a file stands for its own folder); None for no paths.

    Watch and batch let ``use:`` reach only files inside it.
    """
    folders = [str(Path(p).resolve() if Path(p).is_dir() else Path(p).resolve().parent) for p in paths]
    return os.path.commonpath(folders) if folders else None


def _exclusions(patterns: Iterable[str]) -> Any:
    lines = [p for p in patterns if p.strip()]
    if not lines:
        return None
    import pathspec  # only when something is excluded

    return pathspec.GitIgnoreSpec.from_lines(lines)


def _matches(spec: Any, relative: str) -> bool:
    return bool(spec.match_file(relative))


def _walk(root: Path, spec: Any) -> Iterator[Path]:
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        inner = here.relative_to(root).as_posix()
        prefix = "" if inner == "." else inner + "/"
        # pruned in place, so os.walk never enters them
        dirs[:] = [
            d
            for d in dirs
            if not d.startswith(".")
            and (spec is None or not (_matches(spec, f"{prefix}{d}/") or _matches(spec, (here / d).as_posix() + "/")))
        ]
        for name in files:
            if name.endswith(CIRCUIT_SUFFIXES) and not name.startswith("."):
                path = here / name
                if spec is not None and (_matches(spec, prefix + name) or _matches(spec, path.as_posix())):
                    continue
                if path.is_file():  # not a FIFO, socket or dangling link
                    yield path


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
