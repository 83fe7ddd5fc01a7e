"""The worker processes of `engine.batch`: pebble's `ProcessPool` behind the
`concurrent.futures.Executor` interface the runner speaks.

Why pebble: every task runs in a worker process under its own time limit, and a
task past the limit (`TimeoutError`) or whose worker dies (`pebble.ProcessExpired`:
killed, out of memory, a crash in C code) fails alone while the pool replaces the
worker and goes on. The standard `ProcessPoolExecutor` can neither stop one task
nor survive a dead worker (every pending future fails with ``BrokenProcessPool``).

Why ``fork`` (where the platform has it, i.e. Linux): workers start in
milliseconds with the engine already imported, and, unlike ``spawn`` and
``forkserver``, they do not import the calling script again, so a script that calls
`engine.batch` needs no ``if __name__ == "__main__":`` guard. Elsewhere the
platform's own start method is used, and a script without the guard makes its
workers exit at start: the pool then raises `WorkersFailed`, naming the fix,
instead of starting workers forever.
"""

from __future__ import annotations

import multiprocessing
import signal
import sys
from collections.abc import Callable
from concurrent.futures import Executor, Future
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import pebble

#: How workers start: ``fork`` on Linux, the platform's default elsewhere (None).
START_METHOD: str | None = "fork" if sys.platform.startswith("linux") else None

_GUARD_HINT = (
    'a script that calls engine.batch must call it under `if __name__ == "__main__":` when workers start by '
    "'{method}' (they import the script again), or pass jobs=1"
)

_LIMITS_HINT = "check the limits on processes and memory, or pass jobs=1"


class WorkersFailed(RuntimeError):
    """The worker processes exited before running any task (they cannot start)."""


class WorkerPool(Executor):
    """Worker processes that each run one task at a time, under `task_timeout` seconds.

    Args:
        workers: how many worker processes.
        task_timeout: seconds a task may run before its worker is stopped and its
            future fails with `TimeoutError` (None: no limit).
    """

    def __init__(self, workers: int, task_timeout: float | None = None) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.workers = workers
        self.task_timeout = task_timeout
        self._method = START_METHOD or multiprocessing.get_start_method()
        self._pool = self._start()
        self._started_work = False  # a task of the current pool began: its workers do start

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        """Schedule ``fn(*args, **kwargs)`` on a worker.

        Raises:
            WorkersFailed: the pool broke before any of its workers took a task.
        """
        if not self._pool.active:
            # pebble stops a pool whose workers all exit while none runs a task: at
            # start (no guard, no resources), or killed together while idle
            if not self._started_work:
                self._halt()
                cause = _GUARD_HINT.format(method=self._method) if self._method != "fork" else _LIMITS_HINT
                raise WorkersFailed(f"the worker processes exited before running any circuit; {cause}")
            self._stop()
            self._pool, self._started_work = self._start(), False
        try:
            future = self._pool.schedule(fn, args, kwargs, timeout=self.task_timeout)
        except BrokenProcessPool as exc:  # no worker process could even be created
            self._halt()
            raise WorkersFailed(f"cannot start worker processes: {exc.__cause__ or exc}") from None
        future.add_done_callback(self._note_outcome)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop every worker now: the runner only shuts down once it has every result it waits for."""
        self._stop()

    def _start(self) -> pebble.ProcessPool:
        context = multiprocessing.get_context(START_METHOD)
        return pebble.ProcessPool(max_workers=self.workers, initializer=_prepare_worker, context=context)

    def _stop(self) -> None:
        self._halt()
        self._pool.join()

    def _halt(self) -> None:
        """Stop taking tasks and end the workers (`_stop` also waits for them)."""
        self._pool.stop()  # type: ignore[no-untyped-call]  # pebble leaves it unannotated

    def _note_outcome(self, future: Future[Any]) -> None:
        # a result, a time-out, a dead worker, the task's own exception: a worker took it
        if not future.cancelled() and not isinstance(future.exception(), BrokenProcessPool):
            self._started_work = True


def _prepare_worker() -> None:
    # pebble stops a timed-out worker with SIGTERM, whose Python handler only runs once
    # the current C call returns (then it waits 3 s before SIGKILL): the default action
    # ends the process at once, wherever it is
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
