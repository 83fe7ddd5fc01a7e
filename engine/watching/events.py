"""Filesystem → debounced batches of changed paths. The only module that imports watchdog.

It knows nothing of circuits: it watches files and folders (folders
recursively, new sub-folders included), keeps the paths whose names a caller
cares about (by suffix), drops editor droppings, and hands over *batches* of
paths once each path has been quiet for a while.

Two layers, so the timing logic can be tested without an operating system:

* `Debouncer` — pure: raw ``(path, time)`` observations in, due batches out.
  Each path is coalesced on its own with a *quiet period* (flushed once no
  event arrived for it for ``quiet`` seconds) and a *maximum wait* (flushed
  ``max_wait`` seconds after its first event even if events keep coming), as
  watchfiles does.
* `Watcher` — the I/O: a watchdog observer (native, or polling with
  ``poll=True``) feeds a queue; one worker thread drains it into a `Debouncer`
  and calls ``on_batch`` with every due batch, strictly one at a time.

A save fires several events (an in-place write: modified, modified, closed; a
"safe write": created tmp, modified tmp, moved tmp → target; vim: moved target
→ backup, created target, deleted backup), so a move counts for both ends: its
destination changed and its source is gone. Folder events are passed on too
(a folder moved out of the tree only reports the folder), so a caller can
rescan or forget what lies below.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_DEBOUNCE_MS = 50
DEFAULT_POLL_INTERVAL = 0.25
_MIN_MAX_WAIT_MS = 500
_DROPPING_SUFFIXES = ("~", ".swp", ".swx", ".swo", ".tmp", ".bak", ".orig", "___jb_tmp___", "___jb_old___")


def is_dropping(name: str) -> bool:
    """An editor's temporary or backup file name, never a user's file.

    Hidden names (``.#lock`` files of Emacs, ``.x.yaml.swp`` of vim, dot-prefixed
    temp files), backup and swap suffixes, JetBrains' safe-write names, and vim's
    ``4913`` write probe (it counts up when that name is taken).
    """
    return name.startswith(".") or name.endswith(_DROPPING_SUFFIXES) or (name.isdigit() and 4913 <= int(name) < 5913)


@dataclass(slots=True)
class Debouncer:
    """Per-path coalescing of raw events with a quiet period and a maximum wait.

    Pure: the caller passes the clock in, so tests drive it with a fake one.

    Attributes:
        quiet: seconds without a new event after which a path is due.
        max_wait: seconds after a path's first event after which it is due regardless.
    """

    quiet: float
    max_wait: float
    _first: dict[str, float] = field(default_factory=dict)
    _last: dict[str, float] = field(default_factory=dict)

    def add(self, path: str, now: float) -> None:
        """Record an event for `path` at time `now`."""
        self._first.setdefault(path, now)
        self._last[path] = now

    def pending(self, path: str) -> bool:
        """Whether `path` has events not yet handed out."""
        return path in self._first

    def first_seen(self, path: str) -> float | None:
        """When the pending events of `path` began."""
        return self._first.get(path)

    def _due_at(self, path: str) -> float:
        return min(self._last[path] + self.quiet, self._first[path] + self.max_wait)

    def deadline(self) -> float | None:
        """The earliest time a pending path becomes due (None when nothing is pending)."""
        return min((self._due_at(p) for p in self._first), default=None)

    def pop_due(self, now: float) -> dict[str, float]:
        """Remove and return the due paths (sorted), each with the time of its first event."""
        due = sorted(p for p in self._first if self._due_at(p) <= now)
        batch = {p: self._first.pop(p) for p in due}
        for path in due:
            del self._last[path]
        return batch


@dataclass(frozen=True, slots=True)
class Root:
    """A watched file or folder: as the user wrote it, and as an absolute path."""

    shown: Path
    absolute: str
    is_dir: bool

    def display(self, absolute: str) -> Path | None:
        """`absolute` in the user's terms (under `shown`), or None when outside this root."""
        if not self.is_dir:
            return self.shown if absolute == self.absolute else None
        if absolute == self.absolute:
            return self.shown
        prefix = self.absolute.rstrip(os.sep) + os.sep
        if not absolute.startswith(prefix):
            return None
        parts = absolute[len(prefix) :].split(os.sep)
        if any(part.startswith(".") for part in parts[:-1]):
            return None  # inside a hidden folder (.git, editor state)
        return self.shown.joinpath(*parts)


Batch = dict[Path, float]
"""Due paths (in the user's terms, sorted) → `time.monotonic()` of each one's first event."""


def _observer(sink: Callable[[str, bool], None], poll: bool, poll_interval: float) -> tuple[Any, Any, list[Any]]:
    """A watchdog observer (not started), the handler feeding `sink` with ``(absolute path, is folder)``,
    and the event types to subscribe to."""
    # watchdog is imported here, not at module level, so `import engine` stays cheap.
    from watchdog.events import (
        DirCreatedEvent,
        DirDeletedEvent,
        DirMovedEvent,
        FileClosedEvent,
        FileCreatedEvent,
        FileDeletedEvent,
        FileModifiedEvent,
        FileMovedEvent,
        FileSystemEvent,
        FileSystemEventHandler,
    )
    from watchdog.observers import Observer
    from watchdog.observers.polling import PollingObserver

    class Handler(FileSystemEventHandler):
        # Runs on the observer's thread: only translate and enqueue.
        def on_any_event(self, event: FileSystemEvent) -> None:
            is_dir = event.is_directory
            sink(os.fsdecode(event.src_path), is_dir)
            if event.dest_path:  # a move: the destination changed, the source is gone
                sink(os.fsdecode(event.dest_path), is_dir)

    # Our own reads of a file fire open / close-without-write events on Linux: not
    # subscribing to them is what keeps the watcher from triggering itself.
    types: list[type[FileSystemEvent]] = [
        FileCreatedEvent,
        FileModifiedEvent,
        FileClosedEvent,
        FileDeletedEvent,
        FileMovedEvent,
        DirCreatedEvent,
        DirDeletedEvent,
        DirMovedEvent,
    ]
    # `mkdir -p a/b` races watchdog's own recursive registration of the new folders; it then
    # warns that it re-registered a folder, which is harmless and not the user's concern.
    warnings.filterwarnings("ignore", message="Callback with id .* already exists", category=RuntimeWarning)
    observer = PollingObserver(timeout=poll_interval) if poll else Observer()
    return observer, Handler(), types


class Watcher:
    """Watch files and folders; call ``on_batch`` with each debounced batch of changed paths.

    ``on_batch`` and ``on_start`` run on the watcher's own worker thread, one at a
    time. A batch holds file paths with a wanted suffix (or a watched file
    itself, whatever its name) and folder paths (created, deleted or moved), in
    the user's terms: under each root as it was given.
    """

    def __init__(
        self,
        roots: Iterable[str | Path],
        on_batch: Callable[[Batch], None],
        *,
        debounce_ms: float = DEFAULT_DEBOUNCE_MS,
        max_wait_ms: float | None = None,
        poll: bool = False,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        suffixes: Sequence[str] = (".yaml", ".yml"),
        on_start: Callable[[], None] | None = None,
    ) -> None:
        """Prepare a watcher (nothing is watched before `start`).

        Args:
            roots: existing files and folders to watch (folders recursively).
            on_batch: called with every due batch.
            debounce_ms: the quiet period of each path.
            max_wait_ms: the longest a busy path is held back (default: 10 quiet periods, at least 500 ms).
            poll: use watchdog's polling observer instead of the native one.
            poll_interval: seconds between polls when polling.
            suffixes: file name endings to keep (inside folders).
            on_start: called once on the worker thread before the first batch.

        Raises:
            FileNotFoundError: a root does not exist.
        """
        self._roots = [self._root(Path(raw)) for raw in roots]
        quiet = max(debounce_ms, 0.0) / 1000
        max_wait = max_wait_ms / 1000 if max_wait_ms is not None else max(_MIN_MAX_WAIT_MS / 1000, 10 * quiet)
        self._debouncer = Debouncer(quiet, max(max_wait, quiet))
        self._on_batch = on_batch
        self._on_start = on_start
        self._suffixes = tuple(suffixes)
        self._queue: queue.SimpleQueue[tuple[str, float] | None] = queue.SimpleQueue()  # None: stop
        self._poll = poll
        self._poll_interval = poll_interval
        self._observer: Any = None
        self._handler: Any = None
        self._types: list[Any] = []
        self._watches: dict[str, Any] = {}  # absolute folder root → its recursive watch
        self.on_rearm: Callable[[Path], None] | None = None
        """Called (on the worker thread) with a folder root that was deleted and has come back."""
        self._thread = threading.Thread(target=self._run, name="circuit-watcher", daemon=True)
        self.started = threading.Event()
        """Set once ``on_start`` has returned (or failed)."""
        self.stopped = threading.Event()
        """Set when the worker has ended: after `stop`, or when a callback raised."""
        self.error: BaseException | None = None
        """What a callback raised, if one did (the watcher then stops)."""
        self._stopping = False

    @staticmethod
    def _root(path: Path) -> Root:
        if not path.exists():
            raise FileNotFoundError(f"no such file or folder: '{path}'")
        # The real path: some native observers (FSEvents) report resolved paths, and a symlinked
        # root must still match the events of its target.
        return Root(path, os.path.realpath(path), path.is_dir())

    @property
    def stopping(self) -> bool:
        """Whether `stop` was called: a long callback may end early."""
        return self._stopping

    def start(self) -> None:
        """Establish the OS watches (before returning), then start the worker thread.

        A folder root's parent is watched too (not recursively): when the root is deleted its own
        watch dies with it, and the parent's events are how its return is noticed (``rm -rf`` and
        ``mkdir`` again, as a checkout or a generator does), so that it can be watched again.
        """
        self._observer, self._handler, self._types = _observer(self._observe, self._poll, self._poll_interval)
        for root in self._roots:
            if root.is_dir:
                self._watches[root.absolute] = self._schedule(root.absolute, True)
        parents = [os.path.dirname(root.absolute) for root in self._roots]
        for parent in dict.fromkeys(parents):
            if parent not in self._watches:
                self._schedule(parent, False)
        self._observer.start()  # emitters set up their watches (or first snapshot) synchronously here
        self._thread.start()

    def _schedule(self, path: str, recursive: bool) -> Any:
        return self._observer.schedule(self._handler, path, recursive=recursive, event_filter=self._types)

    def _rearm(self, due: dict[str, float]) -> None:
        """Watch again each folder root in `due` that had been deleted and exists again."""
        observer = self._observer
        for root in self._roots:
            if not root.is_dir or str(root.shown) not in due or not os.path.isdir(root.absolute):
                continue
            # Its events name the root itself only when it was created, deleted or moved: the watch
            # made on the folder that was there before is dead (or, on a slow machine, still dying).
            old = self._watches.get(root.absolute)
            if old is not None:
                with contextlib.suppress(KeyError):
                    observer.unschedule(old)
            self._watches[root.absolute] = self._schedule(root.absolute, True)
            if self.on_rearm is not None:
                self.on_rearm(root.shown)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop observing and end the worker (idempotent; safe from any thread but the worker's)."""
        self._stopping = True
        observer = self._observer
        self._observer = None
        if observer is not None:
            observer.stop()
        self._queue.put(None)
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)
        if observer is not None:
            observer.join(timeout)
        self.stopped.set()

    def has_pending(self, path: Path) -> bool:
        """Whether new events for `path` arrived since its batch was handed out.

        Only meaningful from within ``on_batch`` (on the worker thread): lets a
        caller who read a half-written file leave it to the next batch.
        """
        if not self._drain(block_until=None):
            self._stopping = True
        return self._debouncer.pending(str(path))

    # ---- internals ----

    def _observe(self, absolute: str, is_dir: bool) -> None:
        now = time.monotonic()
        for root in self._roots:
            shown = root.display(absolute)
            if shown is None:
                continue
            if root.is_dir and shown != root.shown:
                name = shown.name
                if is_dropping(name) or (not is_dir and not name.endswith(self._suffixes)):
                    continue
            self._queue.put((str(shown), now))
            return

    def _drain(self, block_until: float | None) -> bool:
        """Move queued observations into the debouncer; False when asked to stop.

        With `block_until`, wait for the first item until that monotonic time
        (forever when it is ``inf``).
        """
        while True:
            try:
                if block_until is None:
                    item = self._queue.get_nowait()
                else:
                    timeout = None if block_until == float("inf") else max(0.0, block_until - time.monotonic())
                    item = self._queue.get(timeout=timeout)
                    block_until = None
            except queue.Empty:
                return True
            if item is None:
                return False
            self._debouncer.add(*item)

    def _run(self) -> None:
        try:
            try:
                if self._on_start is not None:
                    self._on_start()
            finally:
                self.started.set()
            while not self._stopping:
                deadline = self._debouncer.deadline()
                if not self._drain(float("inf") if deadline is None else deadline):
                    return
                due = self._debouncer.pop_due(time.monotonic())
                if due and self._observer is not None:
                    self._rearm(due)
                if due:
                    self._on_batch({Path(p): seen for p, seen in due.items()})
        except BaseException as exc:  # noqa: BLE001 - handed to whoever waits on the watcher
            self.error = exc
        finally:
            self.stopped.set()
