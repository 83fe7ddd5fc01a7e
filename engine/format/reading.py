"""Files and streams → bytes: only regular files, never more than a size limit.

A FIFO, socket or device would block or never end, so `read_bytes` refuses
anything but a regular file before its first read; `read_limited` reads a stream
(stdin) up to the limit.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import IO

from engine.errors import Issue, LoadError

DEFAULT_MAX_BYTES = 100 * 1024 * 1024


def read_bytes(path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """The file's bytes, refusing files over `max_bytes` before reading them.

    Only regular files are read: a FIFO, socket or device would block or never end,
    so it is refused without waiting (the file is opened non-blocking and checked
    before the first read).

    Raises:
        LoadError: the file is missing, unreadable, not a regular file, or too large.
    """
    where = str(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except IsADirectoryError:
        raise LoadError([_directory(where)]) from None
    except FileNotFoundError:
        raise LoadError([Issue("io", "no such file", where, hint="check the path")]) from None
    except OSError as exc:
        raise LoadError([Issue("io", f"cannot read file: {exc.strerror or exc}", where)]) from None
    info = os.fstat(fd)
    if stat.S_ISDIR(info.st_mode):
        os.close(fd)
        raise LoadError([_directory(where)])
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(info.st_mode):
            raise LoadError(
                [
                    Issue(
                        "io",
                        f"is not a regular file (it is a {_kind(info.st_mode)})",
                        where,
                        hint="circuits are read from regular files; for a stream use `circuit eval -`",
                    )
                ]
            )
        if info.st_size > max_bytes:
            raise LoadError([_too_large(where, info.st_size, max_bytes)])
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        try:
            return read_limited(handle, where, max_bytes)
        except OSError as exc:
            raise LoadError([Issue("io", f"cannot read file: {exc.strerror or exc}", where)]) from None


def read_limited(stream: IO[bytes], where: str, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """At most `max_bytes` bytes of `stream` (a file, or stdin).

    Raises:
        LoadError: there are more.
    """
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:  # it grew while we looked, or a stream has no size to look at
        raise LoadError(
            [
                Issue(
                    "too-large",
                    f"more than {max_bytes:,} bytes, over the limit",
                    where,
                    hint="raise the limit with --max-bytes if the input is trusted",
                )
            ]
        )
    return data


def _directory(where: str) -> Issue:
    return Issue(
        "io",
        "is a directory, not a circuit file",
        where,
        hint="pass a .yaml file, or use `circuit batch` for folders",
    )


def _kind(mode: int) -> str:
    kinds = ((stat.S_ISFIFO, "FIFO"), (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "character device"))
    return next((name for test, name in kinds if test(mode)), "block device" if stat.S_ISBLK(mode) else "special file")


def _too_large(where: str, size: int, limit: int) -> Issue:
    return Issue(
        "too-large",
        f"file is {size:,} bytes, over the {limit:,}-byte limit",
        where,
        hint="raise the limit with --max-bytes if the file is trusted",
    )
