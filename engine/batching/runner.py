"""Many circuits through one `concurrent.futures.Executor`: the batch runner.

One code path serves every way of running: in the calling thread
(`InlineExecutor`, ``--jobs 1``), in isolated worker processes (`ProcessPool`),
or on a Dask cluster (``client.get_executor()``). The runner submits small
files in chunks (`evaluate_chunk`, sized by `Chunking`: a task costs about as
much as evaluating a small circuit) and large ones alone (`evaluate_task`), keeps
a bounded window of tasks in flight (so ``fail_fast`` can stop scheduling), and
turns *every* way a task can end into each circuit's own `Result`:

* an invalid file or an evaluation fault: ``invalid`` / ``error``, from
  `evaluate_file` itself;
* a circuit past the time limit: ``error[timeout]``, raised inside the task by
  `run_with_deadline`, or by the pool killing a worker stuck in C code;
* a worker that dies (killed, out of memory): ``error[worker-died]`` for the
  circuit it was running only; the pool re-runs the ones queued behind it, and
  the runner those of its chunk that it had not finished;
* anything else (a bug, a lost cluster worker): ``error[internal]``.

The time limit is per circuit, in a chunk as alone: each circuit runs under its
own deadline, and the pool restarts its kill clock with each circuit's result
(`engine.batching.pool.emit`). A chunk that fails as a whole (e.g. Dask's ``KilledWorker``)
runs again one circuit per task, so only the circuit to blame ends in error.

Results come back in path order whatever order the workers finish in.
"""

from __future__ import annotations

import math
import os
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.batching.deadline import Expired, run_with_deadline
from engine.batching.pool import ProcessPool, TaskTimeout, WorkerDied, emit
from engine.circuit import DEFAULT_CHECK_TOLERANCE, evaluate_file, read_source
from engine.errors import Issue
from engine.format.files import common_folder, discover
from engine.format.loader import DEFAULT_MAX_BYTES
from engine.result import STATUSES, Result
from engine.version import __version__

#: Version of the batch report's JSON shape (`BatchReport.to_dict`).
SCHEMA_VERSION = 1


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


def kill_margin(timeout: float) -> float:
    """How long past `timeout` the pool waits for a task to stop itself before killing its worker."""
    return max(1.0, 0.5 * timeout)


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
                "schema_version": SCHEMA_VERSION,
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


def evaluate_task(
    path: str,
    source: bytes,
    check: bool,
    timeout: float | None,
    check_tolerance: float = DEFAULT_CHECK_TOLERANCE,
    *,
    root: str | None = None,
) -> Result:
    """Evaluate one file, given its bytes, within `timeout` seconds: what every worker runs.

    Workers get the bytes rather than the path, so a cluster needs no shared file
    system and relative paths mean the same everywhere — except for files named by
    ``use:``, which are read from the folder (they must lie inside `root`).
    """
    started = time.perf_counter()
    try:
        return run_with_deadline(
            lambda: evaluate_file(path, check=check, check_tolerance=check_tolerance, source=source, root=root),
            timeout,
        )
    except Expired:
        return timeout_result(path, timeout or 0.0, (time.perf_counter() - started) * 1000)


def evaluate_chunk(
    paths: tuple[str, ...],
    sources: tuple[bytes, ...],
    check: bool,
    timeout: float | None,
    check_tolerance: float = DEFAULT_CHECK_TOLERANCE,
    stop_on_failure: bool = False,
    *,
    root: str | None = None,
) -> list[Result]:
    """Evaluate several files one after the other, each within its own `timeout`.

    In a `ProcessPool` worker each result goes to the parent as soon as it is
    known (`emit`), so a worker that dies loses nothing it finished; elsewhere
    the results are returned together.

    Args:
        stop_on_failure: stop after the first result that is not ``ok`` (``fail_fast``);
            the results then cover only the files evaluated.
        root: the folder ``use:`` must stay inside.

    Returns:
        The results not emitted, in order.
    """
    kept = []
    for path, source in zip(paths, sources, strict=True):
        result = evaluate_task(path, source, check, timeout, check_tolerance, root=root)
        if not emit(result):
            kept.append(result)
        if stop_on_failure and not result.ok:
            break
    return kept


def timeout_result(path: str, timeout: float, elapsed_ms: float) -> Result:
    """The result of a circuit stopped at the time limit."""
    return _error_result(
        path,
        "timeout",
        f"evaluation took longer than the {timeout:g} s limit",
        "raise --timeout, or split the circuit",
        elapsed_ms,
    )


def worker_died_result(path: str, how: str) -> Result:
    """The result of a circuit whose worker process died while evaluating it."""
    return _error_result(
        path,
        "worker-died",
        f"the worker process evaluating this circuit died ({how})",
        "it may have run out of memory or been killed; the other circuits were not affected",
    )


def _error_result(path: str, code: str, message: str, hint: str, elapsed_ms: float = 0.0) -> Result:
    return Result(
        path, Path(path).stem, "error", errors=(Issue(code, message, path, hint=hint),), elapsed_ms=elapsed_ms
    )


def _failure_result(path: str, failure: TaskTimeout | WorkerDied, timeout: float | None) -> Result:
    """The result of a circuit whose task the pool stopped (time limit) or lost (dead worker)."""
    if isinstance(failure, TaskTimeout):
        return timeout_result(path, timeout or 0.0, (timeout or 0.0) * 1000)
    return worker_died_result(path, str(failure))


def outcome(future: Future[Any], path: str, timeout: float | None) -> Result:
    """The result a finished future stands for, whatever way its task ended."""
    try:
        return future.result()
    except (TaskTimeout, WorkerDied) as failure:
        return _failure_result(path, failure, timeout)
    except Exception as exc:  # noqa: BLE001 - one circuit's trouble must not end the batch
        if type(exc).__name__ == "KilledWorker":  # Dask gave up after its workers kept dying on this task
            return worker_died_result(path, "the cluster's workers kept dying on it")
        return _error_result(
            path,
            "internal",
            f"{type(exc).__name__}: {exc}",
            "this is a bug in circuitflow or in the executor; please report it with the circuit file",
        )


def chunk_outcome(
    future: Future[Any], paths: tuple[str, ...], timeout: float | None
) -> tuple[list[Result], list[int] | None]:
    """The results a finished chunk's future stands for, and the positions to run again.

    Returns:
        Results for the first circuits of the chunk, in order, and the positions
        (in the chunk) still to run; None when the chunk failed as a whole, so
        that each of its circuits must run again on its own.
    """
    try:
        results = list(future.result())
    except (WorkerDied, TaskTimeout) as failure:  # the pool says how far it got
        results = list(failure.done)
        if len(results) >= len(paths):  # it had delivered every result already
            return results[: len(paths)], []
        results.append(_failure_result(paths[len(results)], failure, timeout))
    except Exception:  # noqa: BLE001 - e.g. Dask's KilledWorker: nobody knows which circuit is to blame
        return [], None
    return results, list(range(len(results), len(paths)))


def run(
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
    results: list[Result | None] = [None] * len(files)
    todo = deque(range(len(files)))
    read: dict[int, bytes] = {}  # sources read but not yet sent (put back, or run again)
    alone: set[int] = set()  # circuits whose chunk failed as a whole: each runs as its own task
    in_flight: dict[Future[Any], list[int]] = {}
    stopping = False

    def take_chunk(finished: list[tuple[int, Result]]) -> tuple[list[int], list[bytes]]:
        nonlocal stopping
        limit = chunking.size(len(todo), window)
        indices: list[int] = []
        sources: list[bytes] = []
        size = 0  # bytes of source in the chunk so far
        while todo and len(indices) < limit and not stopping:
            index = todo[0]
            source = read.pop(index) if index in read else read_source(files[index], max_bytes)
            if isinstance(source, Result):  # unreadable: nothing to send
                todo.popleft()
                finished.append((index, source))
                stopping = fail_fast  # no need to look further: this one is not ok
                continue
            solo = index in alone or len(source) >= chunking.solo_bytes
            if indices and (solo or size + len(source) > chunking.max_bytes):
                read[index] = source  # it starts the next task
                break
            todo.popleft()
            indices.append(index)
            sources.append(source)
            size += len(source)
            if solo:
                break
        return indices, sources

    while todo or in_flight:
        finished: list[tuple[int, Result]] = []
        while todo and not stopping and len(in_flight) < window:
            indices, sources = take_chunk(finished)
            if len(indices) == 1:
                future = executor.submit(
                    evaluate_task, files[indices[0]], sources[0], check, timeout, check_tolerance, root=root
                )
            elif indices:
                future = executor.submit(
                    evaluate_chunk,
                    tuple(files[i] for i in indices),
                    tuple(sources),
                    check,
                    timeout,
                    check_tolerance,
                    fail_fast,
                    root=root,
                )
            else:
                continue
            read.update(zip(indices, sources))  # kept until the task is settled, in case it runs again
            in_flight[future] = indices
        if in_flight and not finished:
            done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in sorted(done, key=lambda f: in_flight[f][0]):
                indices = in_flight.pop(future)
                again: list[int] | None
                if future.cancelled():
                    again = list(range(len(indices)))
                elif len(indices) == 1:
                    finished.append((indices[0], outcome(future, files[indices[0]], timeout)))
                    again = []
                else:
                    ran, again = chunk_outcome(future, tuple(files[i] for i in indices), timeout)
                    finished.extend(zip(indices, ran))
                    if again is None:
                        alone.update(indices)
                        again = list(range(len(indices)))
                todo.extendleft(indices[i] for i in reversed(again))
                for index in set(indices) - {indices[i] for i in again}:
                    read.pop(index, None)
        for index, result in finished:
            results[index] = result
            if on_result is not None:
                on_result(result)
            if fail_fast and not result.ok:
                stopping = True
        if stopping:
            for future in [f for f in in_flight if f.cancel()]:
                todo.extend(in_flight.pop(future))
            if not in_flight:
                break
    skipped = sorted(files[i] for i in todo)
    return [r for r in results if r is not None], skipped


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
        jobs: worker processes (default: the number of CPUs; 1 runs in this thread).
            With `executor`, how many tasks it runs at once.
        executor: run on this executor instead (e.g. a Dask client's ``get_executor()``).
        check: also run the numerical gradient check.
        exclude: glob patterns of files to leave out.
        timeout: seconds one circuit may take; past it the circuit is an ``error``.
        fail_fast: stop starting circuits after the first that is not ``ok``.
        check_tolerance: tolerance of the gradient check.
        max_bytes: refuse files larger than this.
        on_result: called with each result as it arrives (in completion order).
        args: options to record in the report (default: the ones above).
        chunking: how to group circuits into tasks (default: `Chunking()` on workers,
            one circuit per task in this thread).

    Returns:
        The report, results sorted by path.
    """
    started = time.perf_counter()
    given, patterns = [str(p) for p in paths], list(exclude)
    files = [str(p) for p in discover(given, patterns)]
    workers = jobs or os.cpu_count() or 1
    if timeout is not None and timeout <= 0:
        raise ValueError("timeout must be positive")

    def run_on(runner: Executor, window: int, default: Chunking = Chunking()) -> tuple[list[Result], list[str]]:
        return run(
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
    elif workers == 1 or len(files) <= 1:
        results, skipped = run_on(InlineExecutor(), 1, ONE_PER_TASK)
    else:
        pool = ProcessPool(
            min(workers, len(files)), kill_after=None if timeout is None else timeout + kill_margin(timeout)
        )
        try:
            results, skipped = run_on(pool, 2 * workers)
        except BaseException:
            pool.terminate()
            raise
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
