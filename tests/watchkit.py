"""Shared pieces of the watch tests: circuit texts, the ways editors save, and an event log to wait on."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from engine.watching.session import WatchEvent

WAIT = 10.0  # seconds an expected event may take before the test fails


def seed(x: float = -2, *, op: str = "mul", name: str | None = None) -> str:
    """f = (x + y) · z with a chosen x (and op of the last gate)."""
    head = f"name: {name}\n" if name else ""
    return (
        f"{head}inputs:\n  x: {x}\n  y: 5\n  z: -4\n"
        f"gates:\n  q: {{op: add, in: [x, y]}}\n  f: {{op: {op}, in: [q, z]}}\noutput: f\n"
    )


def value_of(x: float) -> float:
    return (x + 5) * -4


def save_in_place(path: Path, text: str) -> None:
    """Truncate and write, as most editors (and VS Code) do."""
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def save_atomic(path: Path, text: str) -> None:
    """Write a temporary file next to the target, then rename it over the target."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def save_like_vim(path: Path, text: str) -> None:
    """vim with backup and rename: probe file 4913, move the target to a backup, write, drop the backup."""
    probe = path.with_name("4913")
    probe.write_text("")
    probe.unlink()
    backup = path.with_name(path.name + "~")
    os.rename(path, backup)
    path.write_text(text, encoding="utf-8")
    backup.unlink()


def save_like_jetbrains(path: Path, text: str) -> None:
    """JetBrains "safe write": write a temp, move the original away, move the temp in, delete the original."""
    tmp = path.with_name(path.name + "___jb_tmp___")
    old = path.with_name(path.name + "___jb_old___")
    tmp.write_text(text, encoding="utf-8")
    os.rename(path, old)
    os.rename(tmp, path)
    old.unlink()


class EventLog:
    """Collects watch events (from the watcher's thread) and lets a test wait for them."""

    def __init__(self) -> None:
        self.events: list[WatchEvent] = []
        self._cond = threading.Condition()
        self._seen = 0

    def __call__(self, event: WatchEvent) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def mark(self) -> None:
        """Only events after this point count for `next`/`until`."""
        with self._cond:
            self._seen = len(self.events)

    def next(self, timeout: float = WAIT) -> WatchEvent:
        """The next event after the mark (which then moves past it)."""
        return self.until(lambda e: True, timeout)

    def until(self, predicate: Callable[[WatchEvent], bool], timeout: float = WAIT) -> WatchEvent:
        """The first event after the mark satisfying `predicate`; the mark moves past it."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for index in range(self._seen, len(self.events)):
                    if predicate(self.events[index]):
                        self._seen = index + 1
                        return self.events[index]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no matching watch event within {timeout} s; got {self.since_mark()}")
                self._cond.wait(left)

    def through(self, predicate: Callable[[WatchEvent], bool], timeout: float = WAIT) -> list[WatchEvent]:
        """Every event after the mark up to the first satisfying `predicate` (left out); the mark moves past it."""
        with self._cond:
            start = self._seen
        self.until(predicate, timeout)
        with self._cond:
            return [e for e in self.events[start : self._seen - 1]]

    def since_mark(self) -> list[tuple[str, str, float | None]]:
        with self._cond:
            return [(e.kind, e.path, e.result.value if e.result else None) for e in self.events[self._seen :]]
