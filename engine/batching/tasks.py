"""What a batch task runs, and every way a task can end turned into circuits' results.

A task is one circuit (`evaluate_task`) or a chunk of small ones
(`evaluate_chunk`). Workers get each file's bytes rather than its path, so a
cluster needs no shared file system and relative paths mean the same everywhere.

A task ends in one of these ways, and each circuit gets its own `Result`:

* it returns: an invalid file or an evaluation fault is already the circuit's
  ``invalid`` / ``error`` result (`evaluate_file` turns user errors into results);
* the worker pool stopped it at the time limit (`TimeoutError`): ``error[timeout]``;
* its worker process died (`pebble.ProcessExpired`: killed, out of memory, a crash
  in C code): ``error[worker-died]``;
* Dask gave up on it after its workers kept dying (``KilledWorker``): ``error[worker-died]``;
* anything else (a bug, a lost cluster worker): ``error[internal]``.

A chunk that ends in any way but returning is not blamed on any one circuit:
`chunk_outcome` says to run each of its circuits again as a task of its own.
"""

from __future__ import annotations

import signal
import time
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from pebble import ProcessExpired

from engine.batching.deadline import Expired, run_with_deadline
from engine.circuit import DEFAULT_CHECK_TOLERANCE
from engine.errors import Issue
from engine.evaluating import evaluate_file
from engine.result import Result


def evaluate_task(
    path: str,
    source: bytes,
    check: bool,
    deadline: float | None,
    check_tolerance: float = DEFAULT_CHECK_TOLERANCE,
    *,
    root: str | None = None,
) -> Result:
    """Evaluate one file, given its bytes: what every worker runs.

    Args:
        deadline: seconds after which the evaluation is interrupted in the thread
            running it (for executors that cannot stop a task themselves); None
            when the executor enforces the time limit, or there is none.
        root: the folder ``use:`` must stay inside (files named by ``use:`` are read
            from the folder, not sent).
    """
    started = time.perf_counter()
    try:
        return run_with_deadline(
            lambda: evaluate_file(path, check=check, check_tolerance=check_tolerance, source=source, root=root),
            deadline,
        )
    except Expired:
        return timeout_result(path, deadline or 0.0, (time.perf_counter() - started) * 1000)


def evaluate_chunk(
    paths: tuple[str, ...],
    sources: tuple[bytes, ...],
    check: bool,
    deadline: float | None,
    check_tolerance: float = DEFAULT_CHECK_TOLERANCE,
    stop_on_failure: bool = False,
    *,
    root: str | None = None,
) -> list[Result]:
    """Evaluate several files one after the other, each under its own `deadline`.

    Args:
        stop_on_failure: stop after the first result that is not ``ok`` (``fail_fast``);
            the results then cover only the files evaluated.
        root: the folder ``use:`` must stay inside.

    Returns:
        The results, in order.
    """
    results = []
    for path, source in zip(paths, sources, strict=True):
        result = evaluate_task(path, source, check, deadline, check_tolerance, root=root)
        results.append(result)
        if stop_on_failure and not result.ok:
            break
    return results


def timeout_result(path: str, timeout: float, elapsed_ms: float) -> Result:
    """The result of a circuit stopped at the time limit."""
    return _error_result(
        path,
        "timeout",
        f"evaluation took longer than the {timeout:g} s limit",
        "raise --timeout, or split the circuit",
        elapsed_ms,
    )


def _worker_died_result(path: str, how: str) -> Result:
    """The result of a circuit whose worker process died while evaluating it."""
    return _error_result(
        path,
        "worker-died",
        f"the worker process evaluating this circuit died ({how})",
        "it may have run out of memory or been killed; the other circuits were not affected",
    )


def describe_exit(exitcode: int | None) -> str:
    """How a process ended, in words: ``killed by SIGKILL``, ``exit code 3``."""
    if exitcode is None:
        return "ended for an unknown reason"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"killed by {name}"
    return f"exit code {exitcode}"


def _error_result(path: str, code: str, message: str, hint: str, elapsed_ms: float = 0.0) -> Result:
    return Result(
        path, Path(path).stem, "error", errors=(Issue(code, message, path, hint=hint),), elapsed_ms=elapsed_ms
    )


def outcome(future: Future[Any], path: str, timeout: float | None) -> Result:
    """The result a finished task of one circuit stands for, whatever way it ended.

    Args:
        timeout: the limit the executor enforces itself (its `TimeoutError` means the
            circuit ran past it); None if it enforces none.
    """
    try:
        result: Result = future.result()
    except TimeoutError as exc:
        return timeout_result(path, timeout, timeout * 1000) if timeout is not None else _internal_result(path, exc)
    except ProcessExpired as died:
        return _worker_died_result(path, describe_exit(died.exitcode))
    except Exception as exc:  # noqa: BLE001 - one circuit's trouble must not end the batch
        if type(exc).__name__ == "KilledWorker":  # Dask gave up after its workers kept dying on this task
            return _worker_died_result(path, "the cluster's workers kept dying on it")
        return _internal_result(path, exc)
    return result


def _internal_result(path: str, exc: BaseException) -> Result:
    return _error_result(
        path,
        "internal",
        f"{type(exc).__name__}: {exc}",
        "this is a bug in circuitflow or in the executor; please report it with the circuit file",
    )


def chunk_outcome(future: Future[Any], count: int) -> tuple[list[Result], list[int] | None]:
    """The results a finished chunk's task stands for, and the positions to run again.

    Returns:
        Results for the first circuits of the chunk, in order, and the positions
        (in the chunk) still to run (those after a ``fail_fast`` stop); None when
        the chunk did not return (time limit, dead worker, lost cluster worker):
        nobody knows which circuit is to blame, so each must run again on its own.
    """
    try:
        results = list(future.result())
    except Exception:  # noqa: BLE001 - each circuit runs again alone, and gets its own outcome there
        return [], None
    return results, list(range(len(results), count))
