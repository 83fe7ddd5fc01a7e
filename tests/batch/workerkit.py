"""Finding the worker process that is running a task: the one new child using the CPU."""

from __future__ import annotations

import time
from collections.abc import Collection

import psutil


def child_pids(parent: int | None = None) -> set[int]:
    """The pids of the children of `parent` (default: this process) now."""
    return {child.pid for child in psutil.Process(parent).children()}


def busy_child(parent: int | None = None, ignore: Collection[int] = (), seconds: float = 60) -> int:
    """The pid of the one child of `parent` (default: this process) that keeps a CPU busy.

    Idle workers wait on a pipe; the one evaluating a circuit uses the CPU. Children in
    `ignore` (e.g. a Dask cluster's processes, started before the batch) are left out.
    """
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            children = [c for c in psutil.Process(parent).children() if c.pid not in ignore]
            for child in children:
                child.cpu_percent(None)
            time.sleep(0.3)
            usage = {child.pid: child.cpu_percent(None) for child in children}
        except psutil.NoSuchProcess:  # a worker came or went meanwhile: look again
            continue
        busy = [pid for pid, percent in usage.items() if percent > 5]
        if len(busy) == 1:
            return busy[0]
    raise AssertionError("no single child process became busy")
