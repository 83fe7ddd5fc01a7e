"""A progress bar on stderr for one long step (``eval --inputs``, ``eval --check``).

It appears only on a terminal and only once the step has run for `_DELAY` seconds,
so quick runs and pipes never see it; it is cleared when the step ends.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

from engine.cli.streams import is_terminal

_DELAY = 0.5
"""Seconds a step runs before its bar appears."""


@contextmanager
def delayed_bar(label: str, stream: IO[str]) -> Iterator[None]:
    """Show a bar labelled `label` on `stream` while the block runs, after `_DELAY` seconds, on a terminal."""
    if not is_terminal(stream):
        yield
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        TimeElapsedColumn(),
        console=Console(file=stream),
        transient=True,
    )
    lock = threading.Lock()
    state: dict[str, Any] = {"done": False, "shown": False}

    def show() -> None:
        with lock:
            if not state["done"]:
                bar.add_task(label, total=None)
                bar.start()
                state["shown"] = True

    timer = threading.Timer(_DELAY, show)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        with lock:
            state["done"] = True
            if state["shown"]:
                bar.stop()
