"""A process pool that isolates every task: a `concurrent.futures.Executor` whose
workers can die or be killed without losing anyone else's work.

`concurrent.futures.ProcessPoolExecutor` cannot stop one task, and when one
worker dies it breaks the whole pool: every queued and running future fails
with ``BrokenProcessPool`` and nobody can tell which task was to blame. Batch
evaluation needs the opposite, so this pool keeps its own bookkeeping:

* each worker has a short queue of tasks (``depth``, default 2, so it never idles
  waiting for the parent) and runs them in order, so the parent always knows
  which task a worker is running and since when;
* a worker that dies (killed, out of memory, a crash in C code) fails exactly the
  task it was running with `WorkerDied`; the tasks queued behind it are handed to
  other workers, and a fresh worker replaces it;
* with ``kill_after``, a task still running that many seconds after it started is
  ended by killing its worker, and fails with `TaskTimeout`;
* a task may deliver its result in parts (`emit`), e.g. one per circuit of a
  chunk: each part restarts the task's ``kill_after`` clock, and a task that
  dies or is killed hands the parts it delivered to its `WorkerDied` /
  `TaskTimeout` (``done``), so the caller knows exactly where it stopped.

Workers start from a fork server that has already imported the engine, so a new
worker is ready in milliseconds, and forking never copies a parent's threads
(a progress bar, a Dask client). A single manager thread owns all the state;
`submit` only appends to a queue and wakes it up.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import queue
import signal
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

#: Modules the fork server imports once, so that workers start warm.
PRELOAD = ["engine.circuit"]
#: Workers in a row that may die before becoming ready before the pool gives up.
MAX_FAILED_STARTS = 3

# In a worker process, the pipe and id of the task being run (for `emit`).
_running: tuple[Connection, int] | None = None


class WorkerDied(Exception):
    """The worker process running the task exited before finishing it."""

    def __init__(self, exitcode: int | None, done: tuple[Any, ...] = ()) -> None:
        self.exitcode = exitcode
        self.done = done  # the parts the task delivered before its worker died
        super().__init__(describe_exit(exitcode))

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (self.exitcode, self.done)


class TaskTimeout(Exception):
    """The task ran past the pool's ``kill_after`` limit and its worker was killed."""

    def __init__(self, seconds: float, done: tuple[Any, ...] = ()) -> None:
        self.seconds = seconds
        self.done = done  # the parts the task delivered before it ran out of time
        super().__init__(f"task exceeded {seconds:g} s and its worker was killed")

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (self.seconds, self.done)


def emit(part: Any) -> bool:
    """Deliver `part` of the running task's result to the parent now.

    Called by a task running in a `ProcessPool` worker, the part goes to the
    parent at once and the task's ``kill_after`` clock restarts; the task's
    future then holds the parts emitted followed by the items of the list the
    task returns. Anywhere else (in-process, on a Dask worker) nothing is sent.

    Returns:
        Whether the part was delivered (if not, the task should return it).
    """
    if _running is None:
        return False
    conn, task_id = _running
    conn.send((task_id, None, part))
    return True


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


def _context() -> Any:
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" in methods:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        return context
    return multiprocessing.get_context("spawn")


def _worker_main(conn: Connection) -> None:
    """Run tasks from `conn` one by one until told to stop or the parent goes away."""
    # Ctrl-C reaches the whole process group: the parent decides what stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A reader thread drains the pipe at all times: were the parent blocked sending
    # a large task while this process is blocked sending a large result, both
    # pipes would fill and neither side would ever read.
    global _running
    inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
    threading.Thread(target=_read_tasks, args=(conn, inbox), daemon=True).start()
    try:
        conn.send(None)  # ready: from here on, a death is the running task's doing
        while (message := inbox.get()) is not None:
            task_id, fn, args, kwargs = message
            _running = (conn, task_id)
            try:
                reply = (task_id, True, fn(*args, **kwargs))
            except BaseException as exc:  # noqa: BLE001 - the task's failure is the parent's to report
                reply = (task_id, False, exc)
            _running = None
            try:
                conn.send(reply)
            except (OSError, EOFError):
                raise
            except Exception as exc:  # noqa: BLE001 - e.g. an unpicklable result
                conn.send((task_id, False, RuntimeError(f"cannot send the task's result: {exc!r}")))
    except (OSError, EOFError):  # the parent went away: nobody is waiting for results
        return


def _read_tasks(conn: Connection, inbox: queue.SimpleQueue[Any]) -> None:
    try:
        while (message := conn.recv()) is not None:
            inbox.put(message)
    except (EOFError, OSError):
        pass
    inbox.put(None)


@dataclass(slots=True)
class _Task:
    id: int
    future: Future[Any]
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    claimed: bool = False  # its future was marked running (a requeued task already is)
    parts: list[Any] = field(default_factory=list)  # what it delivered with `emit` so far


@dataclass(slots=True)
class _Worker:
    process: Any
    conn: Connection
    queue: deque[_Task] = field(default_factory=deque)
    started_at: float = 0.0  # when the task at the head of `queue` started
    ready: bool = False  # the process came up and said so


class ProcessPool(Executor):
    """An executor of isolated worker processes (see the module docstring).

    Args:
        max_workers: worker processes (default: the number of CPUs).
        kill_after: seconds a task may run before its worker is killed (None: no limit).
        depth: tasks queued per worker, the running one included.
    """

    def __init__(self, max_workers: int | None = None, *, kill_after: float | None = None, depth: int = 2) -> None:
        if max_workers is not None and max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        self.max_workers = max_workers or os.cpu_count() or 1
        self.kill_after = kill_after
        self.depth = max(1, depth)
        self._context = _context()
        self._pending: deque[_Task] = deque()
        self._workers: list[_Worker] = []
        self._lock = threading.Lock()
        self._ids = itertools.count()
        self._closing = False
        self._terminate = False
        self._failed_starts = 0
        self._wake_r, self._wake_w = multiprocessing.Pipe(duplex=False)
        self._manager = threading.Thread(target=self._manage, name="circuitflow-pool", daemon=True)
        self._manager.start()

    # -- the Executor interface ------------------------------------------------
    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        with self._lock:
            if self._closing:
                raise RuntimeError("cannot submit to a pool that is shut down")
            future: Future[Any] = Future()
            self._pending.append(_Task(next(self._ids), future, fn, args, kwargs))
        self._wake()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._closing = True
            if cancel_futures:
                while self._pending:
                    self._pending.popleft().future.cancel()
        self._wake()
        if wait:
            self._manager.join()

    def terminate(self) -> None:
        """Cancel what has not started and kill every worker now (e.g. on Ctrl-C)."""
        with self._lock:
            self._terminate = True
        self.shutdown(wait=True, cancel_futures=True)

    def running(self) -> list[tuple[int, tuple[Any, ...]]]:
        """``(pid, args)`` of every task being run now (for monitoring)."""
        return [(pid, args) for pid, args, _ in self.progress()]

    def progress(self) -> list[tuple[int, tuple[Any, ...], int]]:
        """``(pid, args, parts delivered)`` of every task being run now (for monitoring)."""
        with self._lock:
            return [
                (w.process.pid, w.queue[0].args, len(w.queue[0].parts)) for w in self._workers if w.ready and w.queue
            ]

    # -- the manager thread ----------------------------------------------------
    def _wake(self) -> None:
        try:
            self._wake_w.send_bytes(b"")
        except OSError:  # the manager already finished
            pass

    def _manage(self) -> None:
        try:
            while True:
                with self._lock:
                    if self._terminate:
                        break
                    self._dispatch()
                    if self._closing and not self._pending and not any(w.queue for w in self._workers):
                        break
                    waitables: list[Any] = [self._wake_r]
                    for worker in self._workers:
                        waitables += (worker.conn, worker.process.sentinel)
                ready = set(wait(waitables, self._next_deadline()))
                if self._wake_r in ready:
                    while self._wake_r.poll():
                        self._wake_r.recv_bytes()
                with self._lock:
                    for worker in list(self._workers):
                        self._service(worker, ready)
                    self._expire()
        finally:
            self._stop_workers()

    def _dispatch(self) -> None:
        idle_slots = sum(self.depth - len(w.queue) for w in self._workers)
        while len(self._workers) < self.max_workers and len(self._pending) > idle_slots:
            self._workers.append(self._start_worker())
            idle_slots += self.depth
        for worker in sorted(self._workers, key=lambda w: len(w.queue)):
            while self._pending and len(worker.queue) < self.depth:
                task = self._pending.popleft()
                if not task.claimed:
                    if not task.future.set_running_or_notify_cancel():
                        continue
                    task.claimed = True
                try:
                    worker.conn.send((task.id, task.fn, task.args, task.kwargs))
                except OSError:
                    # the worker is gone (its death is noticed by its sentinel): the task
                    # never reached it, so it waits for another worker
                    self._pending.appendleft(task)
                    break
                except Exception as exc:  # noqa: BLE001 - unpicklable arguments fail that task only
                    task.future.set_exception(exc)
                    continue
                if not worker.queue:
                    worker.started_at = time.monotonic()
                worker.queue.append(task)

    def _start_worker(self) -> _Worker:
        parent, child = self._context.Pipe(duplex=True)
        process = self._context.Process(target=_worker_main, args=(child,), daemon=True, name="circuitflow-worker")
        process.start()
        child.close()
        return _Worker(process, parent)

    def _service(self, worker: _Worker, ready: set[Any]) -> None:
        dead = False
        if worker.conn in ready:
            try:
                while worker.conn.poll():
                    message = worker.conn.recv()
                    if message is None:
                        worker.ready, self._failed_starts = True, 0
                        worker.started_at = time.monotonic()
                        continue
                    task_id, ok, payload = message
                    worker.started_at = time.monotonic()
                    if ok is None:  # a part: the task goes on
                        assert worker.queue[0].id == task_id, "parts belong to the running task"
                        worker.queue[0].parts.append(payload)
                        continue
                    task = worker.queue.popleft()
                    assert task.id == task_id, "a worker answers its tasks in order"
                    if ok:
                        task.future.set_result(task.parts + list(payload) if task.parts else payload)
                    else:
                        task.future.set_exception(payload)
            except (EOFError, OSError):
                dead = True
            except Exception as exc:  # noqa: BLE001 - a result that cannot be unpickled here
                # the message was read whole, so the pipe is still in step: fail that task only
                task = worker.queue.popleft()
                worker.started_at = time.monotonic()
                task.future.set_exception(RuntimeError(f"cannot receive the task's result: {exc!r}"))
        if dead or worker.process.sentinel in ready:
            worker.process.join(timeout=5)
            if worker.ready:
                self._retire(worker, lambda done: WorkerDied(worker.process.exitcode, done))
            else:
                self._failed_start(worker)

    def _failed_start(self, worker: _Worker) -> None:
        """A worker died before it was ready: its tasks are not to blame, unless no worker can start."""
        self._workers.remove(worker)
        worker.conn.close()
        self._pending.extendleft(reversed(worker.queue))
        self._failed_starts += 1
        if self._failed_starts >= MAX_FAILED_STARTS:
            error = RuntimeError(f"worker processes cannot start ({describe_exit(worker.process.exitcode)})")
            while self._pending:
                task = self._pending.popleft()
                if task.claimed or task.future.set_running_or_notify_cancel():
                    task.future.set_exception(error)

    def _next_deadline(self) -> float | None:
        if self.kill_after is None:
            return None
        with self._lock:
            starts = [w.started_at for w in self._workers if w.ready and w.queue]
        if not starts:
            return None
        return max(0.0, min(starts) + self.kill_after - time.monotonic())

    def _expire(self) -> None:
        if self.kill_after is None:
            return
        now = time.monotonic()
        for worker in list(self._workers):
            if worker.ready and worker.queue and now - worker.started_at >= self.kill_after:
                worker.process.kill()
                worker.process.join(timeout=5)
                self._retire(worker, lambda done: TaskTimeout(self.kill_after or 0.0, done))

    def _retire(self, worker: _Worker, failure: Callable[[tuple[Any, ...]], Exception]) -> None:
        """Fail the worker's running task with `failure(its parts)`; give its queued tasks to others."""
        self._workers.remove(worker)
        worker.conn.close()
        if worker.queue:
            task = worker.queue.popleft()
            task.future.set_exception(failure(tuple(task.parts)))
        # tasks queued behind it never started: they go back, ahead of later submissions
        self._pending.extendleft(reversed(worker.queue))

    def _stop_workers(self) -> None:
        with self._lock:
            workers, self._workers = self._workers, []
            self._closing = True
            leftovers = [t for w in workers for t in w.queue] + list(self._pending)
            self._pending.clear()
        for worker in workers:
            try:
                worker.conn.send(None)
            except OSError:
                pass
        for worker in workers:
            if self._terminate:
                worker.process.kill()
            worker.process.join(timeout=None if not self._terminate else 5)
            worker.conn.close()
        for task in leftovers:
            if not task.future.done():
                if task.future.running():
                    task.future.set_exception(RuntimeError("the pool was terminated"))
                else:
                    task.future.cancel()
        self._wake_r.close()
