"""Hot reload: `watch()` ties a `Watcher` to a `Catalog` and turns changes into `WatchEvent`s.

On start every circuit under the watched paths is evaluated once (``initial``
events); afterwards each debounced batch of changed paths is reloaded —
only those files — and every real change becomes one event: ``added``,
``changed`` or ``removed``. A save that leaves the bytes as they were emits
nothing. A circuit that uses a changed file through ``use:`` (directly or not)
is evaluated again after it, with an event of its own — one per circuit, even
when several of the files it uses changed together.

A file can be caught half-written (an editor that truncates, then writes). A
version that fails to load is therefore not reported at once: the reloader
waits one more quiet period, and if the file got new events meanwhile it leaves
it to the next batch; if its bytes changed it evaluates them instead. Only a
file that stays broken is reported — with the last good result kept, marked
stale.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from engine.circuit import Circuit
from engine.errors import Issue, LoadError
from engine.format.files import CIRCUIT_SUFFIXES, discover
from engine.format.loader import DEFAULT_MAX_BYTES
from engine.result import Result
from engine.watching.catalog import Catalog, Update
from engine.watching.events import DEFAULT_DEBOUNCE_MS, DEFAULT_POLL_INTERVAL, Batch, Watcher

EventKind = Literal["initial", "changed", "added", "removed", "rearmed"]
_SETTLE_ATTEMPTS = 3
_MIN_SETTLE_S = 0.02


@dataclass(frozen=True, slots=True)
class WatchEvent:
    """One change of one circuit file, as `watch` delivers it.

    Attributes:
        kind: ``initial`` (first evaluation), ``changed``, ``added`` or ``removed``; ``rearmed``
            when a watched folder that had been deleted is back and watched again (its circuits
            then follow as ``added``).
        path: the file, under the watched path as it was given.
        result: the same `Result` as ``circuit eval``; when `stale`, the last good
            result; None when removed.
        previous: the last good result before this event (None on the first).
        stale: the file is broken now: `result` is the last good one, `errors` say why.
        errors: the errors of the broken file when `stale`.
        latency_ms: from the first filesystem event of this change (for ``initial``:
            from the start of watching) to the delivery of this event.
        circuit: the compiled circuit behind `result` (None when broken or removed).
    """

    kind: EventKind
    path: str
    result: Result | None
    previous: Result | None = None
    stale: bool = False
    errors: tuple[Issue, ...] = ()
    latency_ms: float = 0.0
    circuit: Circuit | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON line of ``circuit watch --format json``."""
        data: dict[str, Any] = {
            "event": self.kind,
            "path": self.path,
            "result": self.result.to_dict() if self.result else None,
            "latency_ms": round(self.latency_ms, 3),
        }
        if self.stale:
            data["stale"] = True
            data["errors"] = [issue.to_dict() for issue in self.errors]
        return data


class WatchHandle:
    """A running watch: `stop` it, or use it as a context manager."""

    def __init__(self, watcher: Watcher, catalog: Catalog) -> None:
        self._watcher = watcher
        self.catalog = catalog
        """The files being watched and their last good circuits (read it from `on_event` only)."""

    @property
    def running(self) -> bool:
        return not self._watcher.stopped.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the watch ends (it runs until `stop`, unless ``on_event`` raises).

        Returns:
            False when `timeout` passed first.

        Raises:
            Exception: whatever ``on_event`` raised, which ended the watch.
        """
        if not self._watcher.stopped.wait(timeout):
            return False
        if self._watcher.error is not None:
            raise self._watcher.error
        return True

    def stop(self) -> None:
        """Stop watching; returns once no more events will be delivered (idempotent)."""
        self._watcher.stop()

    def __enter__(self) -> WatchHandle:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class _Reloader:
    # Lives on the watcher's worker thread: the catalog is only touched there.
    def __init__(
        self, paths: list[Path], on_event: Callable[[WatchEvent], None], catalog: Catalog, settle: float
    ) -> None:
        self.paths = paths
        self.on_event = on_event
        self.catalog = catalog
        self.settle = settle
        self.watcher: Watcher | None = None
        self.started = time.monotonic()

    def initial(self) -> None:
        for path in discover(self.paths):
            if self.watcher is not None and self.watcher.stopping:
                return  # stopped (Ctrl-C) while a large folder was still being read
            update = self._reload(path)
            if update is not None:
                self._emit(update, self.started, "initial")

    def batch(self, batch: Batch) -> None:
        changed: dict[str, float] = {}  # files updated by this batch, and when each was first seen
        for path, seen in batch.items():
            try:
                updates = self._changed(path)
            except OSError:
                continue  # it changed again under us (a folder removed mid-scan): its own events follow
            for update in updates:
                if update is not None:
                    changed.setdefault(update.path, seen)
                self._emit(update, seen)
        if not changed:
            return
        seen_first = min(changed.values())
        for dependent in self.catalog.dependents(list(changed)):
            if self.watcher is not None and self.watcher.stopping:
                return
            self._emit(self.catalog.refresh(dependent), seen_first)

    def rearmed(self, root: Path) -> None:
        if self.watcher is None or not self.watcher.stopping:
            self.on_event(WatchEvent("rearmed", str(root), None))

    def _changed(self, path: Path) -> list[Update | None]:
        if path.is_dir():
            files = discover([path])
            present = {str(f) for f in files}
            below = self.catalog.below(path)
            if str(path) in self.catalog:
                below = [str(path), *below]  # a file replaced by a folder of the same name
            gone = [self.catalog.remove(p) for p in below if p not in present]
            return [*gone, *(self._reload(file) for file in files)]
        if path.exists():
            return [self._reload(path)]
        return [self.catalog.remove(p) for p in [str(path), *self.catalog.below(path)]]

    def _reload(self, path: Path) -> Update | None:
        return self.catalog.reload(path, lambda: self._settled(path), _SETTLE_ATTEMPTS)

    def _settled(self, path: Path) -> bytes | LoadError | None:
        """After a broken read: the bytes once the file has been quiet, or None if more
        events came (the next batch reads the finished file)."""
        time.sleep(self.settle)
        if self.watcher is not None and self.watcher.has_pending(path):
            return None
        return self.catalog.read(path)

    def _emit(self, update: Update | None, seen: float, kind: EventKind | None = None) -> None:
        if update is None or (self.watcher is not None and self.watcher.stopping):
            return  # nothing changed, or the watch was stopped: deliver nothing more
        self.on_event(
            WatchEvent(
                kind or update.kind,
                update.path,
                update.result,
                update.previous,
                update.stale,
                update.errors,
                (time.monotonic() - seen) * 1000,
                update.circuit,
            )
        )


def watch(
    paths: Iterable[str | Path],
    on_event: Callable[[WatchEvent], None],
    *,
    debounce_ms: float = DEFAULT_DEBOUNCE_MS,
    poll: bool = False,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> WatchHandle:
    """Watch circuit files and folders; call `on_event` for each initial result and each change.

    Returns once the initial results have been delivered. `on_event` runs on the
    watcher's thread, one event at a time; if it raises, the watch stops and
    `WatchHandle.wait` re-raises.

    Args:
        paths: circuit files and folders (folders recursively, ``*.yaml`` and ``*.yml``).
            A circuit's ``use:`` may reach only files inside them (their common folder).
        on_event: receives every `WatchEvent`.
        debounce_ms: quiet period that coalesces the events of one save.
        poll: use the polling observer (network drives, containers) instead of native events.
        poll_interval: seconds between polls when polling.
        max_bytes: refuse files larger than this.

    Returns:
        A handle with ``stop()``; also a context manager.

    Raises:
        FileNotFoundError: a path does not exist.
    """
    roots = [Path(p) for p in paths]
    catalog = Catalog(max_bytes=max_bytes, roots=roots)
    reloader = _Reloader(roots, on_event, catalog, max(debounce_ms / 1000, _MIN_SETTLE_S))
    watcher = Watcher(
        roots,
        reloader.batch,
        debounce_ms=debounce_ms,
        poll=poll,
        poll_interval=poll_interval,
        suffixes=CIRCUIT_SUFFIXES,
        on_start=reloader.initial,
    )
    reloader.watcher = watcher
    watcher.on_rearm = reloader.rearmed
    watcher.start()
    handle = WatchHandle(watcher, catalog)
    try:
        watcher.started.wait()
    except BaseException:
        watcher.stop()
        raise
    if watcher.error is not None:
        watcher.stop()
        raise watcher.error
    return handle
