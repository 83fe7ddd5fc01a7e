"""Finding the worker process that is running a task: the one child using the CPU."""

from __future__ import annotations

import time

import psutil


def busy_child(parent: int | None = None, seconds: float = 60) -> int:
    """The pid of the one child of `parent` (default: this process) that keeps a CPU busy.

    Idle workers wait on a pipe; the one evaluating a circuit uses most of a core.
    """
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            children = psutil.Process(parent).children()
            for child in children:
                child.cpu_percent(None)
            time.sleep(0.3)
            usage = {child.pid: child.cpu_percent(None) for child in children}
        except psutil.NoSuchProcess:  # a worker came or went meanwhile: look again
            continue
        busy = [pid for pid, percent in usage.items() if percent > 20]
        if len(busy) == 1:
            return busy[0]
    raise AssertionError("no single child process became busy")
