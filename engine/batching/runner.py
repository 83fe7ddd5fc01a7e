"""Many circuits through one `concurrent.futures.Executor`: the batch runner.

One code path serves every way of running: in the calling thread
(`InlineExecutor`, ``--jobs 1`` without a time limit), in worker processes
(`WorkerPool`, pebble's pool), or on a Dask cluster (``client.get_executor()``).
The runner submits small files in chunks (`evaluate_chunk`, sized by `Chunking`:
a task costs about as much as evaluating a small circuit) and large ones alone
(`evaluate_task`), keeps a bounded window of tasks in flight (so ``fail_fast`` can
stop scheduling), and turns every way a task can end into each circuit's own
`Result` (`engine.batching.tasks`).

The time limit is per circuit. The worker pool enforces it itself, per task, by
stopping the worker process (which cannot miss, even inside a long C call); a
chunk gets the same limit as one circuit, and a chunk that runs past it, or whose
worker dies, runs again one circuit per task, so that only the circuit to blame
ends in error. An executor that cannot stop a task (Dask, the calling thread) gets
the limit inside the task instead (`engine.batching.deadline`). That is why a
timed batch never runs in the calling thread: ``--jobs 1 --timeout S`` runs on
one worker process.

Results come back in path order whatever order the workers finish in.
"""

from __future__ import annotations

import math
import os
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from engine.batching.tasks import chunk_outcome, evaluate_chunk, evaluate_task, outcome
from engine.batching.workers import WorkerPool
from engine.circuit import DEFAULT_CHECK_TOLERANCE
from engine.evaluating import read_source
from engine.format.files import common_folder, discover
from engine.format.loader import DEFAULT_MAX_BYTES
from engine.result import STATUSES, Result
from engine.version import __version__

#: Version of the batch report's JSON shape (`BatchReport.to_dict`).
_SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class Chunking:
    """How the runner groups circuits into tasks.

    A chunk holds at most `max_count` files and `max_bytes` bytes of source, and
    at most the remaining files / (`tail` × tasks in flight), so chunks shrink
    towards the end of the batch and the last ones keep every worker busy.

    Attributes:
        max_count: files per chunk (1: every circuit is its own task).
        max_bytes: bytes of source per chunk.
        solo_bytes: a file at least this large is always a task of its own.
        tail: how many chunks per task slot the remaining files are spread over.
    """

    max_count: int = 64
    max_bytes: int = 256 * 1024
    solo_bytes: int = 16 * 1024
    tail: int = 2

    def size(self, remaining: int, window: int) -> int:
        """Files in the next chunk, with `remaining` files left and `window` tasks in flight."""
        return max(1, min(self.max_count, math.ceil(remaining / (self.tail * max(1, window)))))


#: Every circuit its own task (in-process, where a task costs nothing).
ONE_PER_TASK = Chunking(max_count=1)


@dataclass(frozen=True, slots=True)
class BatchReport:
    """The outcome of a batch: one result per circuit, in path order.

    Attributes:
        results: the circuits that ran, sorted by path.
        skipped: paths not run because ``fail_fast`` stopped the batch.
        elapsed_s: wall-clock time of the whole batch.
        args: the options the batch ran with (for the report).
        generated_at: when the batch finished (UTC, ISO 8601).
    """

    results: tuple[Result, ...]
    skipped: tuple[str, ...] = ()
    elapsed_s: float = 0.0
    args: dict[str, Any] = field(default_factory=dict)
    generated_at: str = ""

    @property
    def summary(self) -> dict[str, int]:
        """``{"total", "ok", "failed", "invalid", "error", "skipped"}`` counts."""
        counts = {"total": len(self.results) + len(self.skipped)}
        counts.update((status, sum(r.status == status for r in self.results)) for status in STATUSES)
        counts["skipped"] = len(self.skipped)
        return counts

    @property
    def ok(self) -> bool:
        """Every circuit ran and is ``ok``."""
        return not self.skipped and all(r.ok for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        """The versioned JSON report (``circuit batch --format json``)."""
        return {
            "metadata": {
                "tool": "circuitflow",
                "version": __version__,
                "schema_version": _SCHEMA_VERSION,
                "generated_at": self.generated_at,
            },
            "args": self.args,
            "elapsed_s": round(self.elapsed_s, 3),
            "summary": self.summary,
            "results": [r.to_dict() for r in self.results],
            "skipped": list(self.skipped),
        }


class InlineExecutor(Executor):
    """Runs each task in the calling thread, at submission (``--jobs 1``)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        future.set_running_or_notify_cancel()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:  # noqa: BLE001 - delivered through the future, as any executor does
            future.set_exception(exc)
        return future


def run_files(
    files: list[str],
    executor: Executor,
    *,
    window: int,
    check: bool = False,
    timeout: float | None = None,
    check_tolerance: float = DEFAULT_CHECK_TOLERANCE,
    max_bytes: int = DEFAULT_MAX_BYTES,
    fail_fast: bool = False,
    on_result: Callable[[Result], None] | None = None,
    chunking: Chunking = ONE_PER_TASK,
    root: str | None = None,
) -> tuple[list[Result], list[str]]:
    """Evaluate `files` on `executor` with at most `window` tasks in flight.

    With `root`, the files' ``use:`` may reach only files inside that folder.

    Returns:
        The results in the order of `files`, and the files not run (``fail_fast``).
    """
    # a worker pool with this time limit enforces it itself; any other executor gets it inside each task
    stops_tasks = isinstance(executor, WorkerPool) and executor.task_timeout == timeout
    deadline = None if stops_tasks else timeout
    results: list[Result | None] = [None] * len(files)
    queue = _Queue(files, chunking, max_bytes, fail_fast)
    in_flight: dict[Future[Any], list[int]] = {}

    while queue.todo or in_flight:
        finished: list[tuple[int, Result]] = []
        while queue.todo and not queue.stopping and len(in_flight) < window:
            indices, sources = queue.take(window, finished)
            future: Future[Any]
            if len(indices) == 1:
                future = executor.submit(
                    evaluate_task, files[indices[0]], sources[0], check, deadline, check_tolerance, root=root
                )
            elif indices:
                paths = tuple(files[i] for i in indices)
                future = executor.submit(
                    evaluate_chunk, paths, tuple(sources), check, deadline, check_tolerance, fail_fast, root=root
                )
            else:
                continue
            queue.sent(indices, sources)
            in_flight[future] = indices
        if in_flight and not finished:
            done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in sorted(done, key=lambda f: in_flight[f][0]):
                indices = in_flight.pop(future)
                finished.extend(_settle(future, indices, files, queue, timeout if stops_tasks else None))
        for index, result in finished:
            results[index] = result
            if on_result is not None:
                on_result(result)
            if fail_fast and not result.ok:
                queue.stopping = True
        if queue.stopping:
            # tasks not yet started go back (and are reported skipped); started ones finish
            for future in [f for f in in_flight if not f.running() and f.cancel()]:
                queue.todo.extend(in_flight.pop(future))
            if not in_flight:
                break
    skipped = sorted(files[i] for i in queue.todo)
    return [r for r in results if r is not None], skipped


class _Queue:
    """The circuits still to run, in order, and the sources read for them."""

    def __init__(self, files: list[str], chunking: Chunking, max_bytes: int, fail_fast: bool) -> None:
        self.files = files
        self.chunking = chunking
        self.max_bytes = max_bytes
        self.fail_fast = fail_fast
        self.todo = deque(range(len(files)))
        self.stopping = False  # fail_fast saw a circuit that is not ok
        self.alone: set[int] = set()  # circuits whose chunk failed as a whole: each runs as its own task
        self._read: dict[int, bytes] = {}  # sources read but not yet settled (put back, or run again)

    def take(self, window: int, finished: list[tuple[int, Result]]) -> tuple[list[int], list[bytes]]:
        """The next task's circuits and their sources; unreadable files go to `finished`."""
        limit = self.chunking.size(len(self.todo), window)
        indices: list[int] = []
        sources: list[bytes] = []
        size = 0  # bytes of source in the chunk so far
        while self.todo and len(indices) < limit and not self.stopping:
            index = self.todo[0]
            source = self._read.pop(index) if index in self._read else read_source(self.files[index], self.max_bytes)
            if isinstance(source, Result):  # unreadable: nothing to send
                self.todo.popleft()
                finished.append((index, source))
                self.stopping = self.fail_fast  # no need to look further: this one is not ok
                continue
            solo = index in self.alone or len(source) >= self.chunking.solo_bytes
            if indices and (solo or size + len(source) > self.chunking.max_bytes):
                self._read[index] = source  # it starts the next task
                break
            self.todo.popleft()
            indices.append(index)
            sources.append(source)
            size += len(source)
            if solo:
                break
        return indices, sources

    def sent(self, indices: list[int], sources: list[bytes]) -> None:
        """Keep the sources of a task in flight until it is settled, in case it runs again."""
        self._read.update(zip(indices, sources, strict=True))

    def settled(self, indices: list[int], again: list[int]) -> None:
        """Put `again` (positions in `indices`) back at the front of the queue; forget the rest."""
        self.todo.extendleft(indices[i] for i in reversed(again))
        for index in set(indices) - {indices[i] for i in again}:
            self._read.pop(index, None)


def _settle(
    future: Future[Any], indices: list[int], files: list[str], queue: _Queue, timeout: float | None
) -> list[tuple[int, Result]]:
    """The results of a finished task; what it did not run goes back to `queue`."""
    finished: list[tuple[int, Result]] = []
    again: list[int] | None
    if future.cancelled() or isinstance(future.exception(), BrokenProcessPool):
        again = list(range(len(indices)))  # it never ran (the pool starts afresh, or says why it cannot)
    elif len(indices) == 1:
        finished.append((indices[0], outcome(future, files[indices[0]], timeout)))
        again = []
    else:
        ran, again = chunk_outcome(future, len(indices))
        finished.extend(zip(indices, ran, strict=False))
        if again is None:
            queue.alone.update(indices)
            again = list(range(len(indices)))
    queue.settled(indices, again)
    return finished


def batch(
    paths: Iterable[str | os.PathLike[str]],
    *,
    jobs: int | None = None,
    executor: Executor | None = None,
    check: bool = False,
    exclude: Iterable[str] = (),
    timeout: float | None = None,
    fail_fast: bool = False,
    check_tolerance: float = DEFAULT_CHECK_TOLERANCE,
    max_bytes: int = DEFAULT_MAX_BYTES,
    on_result: Callable[[Result], None] | None = None,
    args: dict[str, Any] | None = None,
    chunking: Chunking | None = None,
) -> BatchReport:
    """Evaluate every circuit under `paths` and report on all of them.

    Args:
        paths: files and folders (searched recursively for ``*.yaml`` / ``*.yml``); a
            circuit's ``use:`` may reach only files inside them (their common folder).
        jobs: worker processes (default: the number of CPUs; 1 runs in this thread,
            or, with `timeout`, on one worker process, which the limit can stop).
            With `executor`, how many tasks it runs at once.
        executor: run on this executor instead (e.g. a Dask client's ``get_executor()``).
        check: also run the numerical gradient check.
        exclude: glob patterns of files to leave out.
        timeout: seconds one circuit may take; past it the circuit is an ``error``.
            Any finite positive number (a huge one is no limit in practice).
        fail_fast: stop starting circuits after the first that is not ``ok``.
        check_tolerance: tolerance of the gradient check.
        max_bytes: refuse files larger than this.
        on_result: called with each result as it arrives (in completion order).
        args: options to record in the report (default: the ones above).
        chunking: how to group circuits into tasks (default: `Chunking()` on workers,
            one circuit per task in this thread).

    Returns:
        The report, results sorted by path.

    Raises:
        ValueError: `timeout` is not a finite positive number.
        WorkersFailed: the worker processes exit before running anything (e.g. a
            script without a main guard on a platform that starts workers by spawn).
    """
    started = time.perf_counter()
    if timeout is not None and not (timeout > 0 and math.isfinite(timeout)):
        raise ValueError(f"timeout must be a finite positive number of seconds, got {timeout!r}")
    given, patterns = [str(p) for p in paths], list(exclude)
    files = [str(p) for p in discover(given, patterns)]
    workers = jobs or os.cpu_count() or 1

    def run_on(runner: Executor, window: int, default: Chunking = Chunking()) -> tuple[list[Result], list[str]]:
        return run_files(
            files,
            runner,
            window=window,
            check=check,
            timeout=timeout,
            check_tolerance=check_tolerance,
            max_bytes=max_bytes,
            fail_fast=fail_fast,
            on_result=on_result,
            chunking=chunking or default,
            root=common_folder(given),
        )

    if executor is not None:
        results, skipped = run_on(executor, 2 * workers)
    elif not files or (timeout is None and (workers == 1 or len(files) == 1)):
        results, skipped = run_on(InlineExecutor(), 1, ONE_PER_TASK)
    else:
        pool = WorkerPool(min(workers, len(files)), task_timeout=timeout)
        try:
            results, skipped = run_on(pool, 2 * workers)
        finally:  # also on Ctrl-C: every worker is stopped before the batch returns or raises
            pool.shutdown()
    recorded = (
        args
        if args is not None
        else {
            "paths": given,
            "jobs": workers,
            "check": check,
            "exclude": patterns,
            "timeout": timeout,
            "fail_fast": fail_fast,
        }
    )
    return BatchReport(
        tuple(results),
        tuple(skipped),
        time.perf_counter() - started,
        recorded,
        datetime.now(UTC).isoformat(timespec="seconds"),
    )
