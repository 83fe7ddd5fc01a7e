"""The isolating process pool: a dead or overrunning worker fails its own task only."""

from __future__ import annotations

import operator
import os
import signal
import threading
import time
from concurrent.futures import CancelledError

import pytest

from engine.batching.deadline import Expired, run_with_deadline
from engine.batching.pool import ProcessPool, TaskTimeout, WorkerDied, describe_exit


def wait_for_running(pool: ProcessPool, count: int = 1, seconds: float = 30) -> list[tuple[int, tuple]]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        running = pool.running()
        if len(running) >= count:
            return running
        time.sleep(0.01)
    raise AssertionError("tasks never started")


@pytest.mark.timeout(60)
def test_results_and_exceptions_come_back() -> None:
    with ProcessPool(2) as pool:
        futures = [pool.submit(operator.mul, i, i) for i in range(50)]
        assert [f.result() for f in futures] == [i * i for i in range(50)]
        with pytest.raises(ZeroDivisionError):
            pool.submit(operator.truediv, 1, 0).result()
        assert list(pool.map(abs, [-1, -2])) == [1, 2]


@pytest.mark.timeout(60)
def test_killed_worker_fails_its_task_and_the_queued_one_reruns() -> None:
    with ProcessPool(1, depth=2) as pool:
        long = pool.submit(time.sleep, 30)
        behind = pool.submit(operator.add, 1, 2)  # queued to the same worker, behind `long`
        [(pid, args)] = wait_for_running(pool)
        assert args == (30,)
        os.kill(pid, signal.SIGKILL)
        with pytest.raises(WorkerDied, match="^killed by SIGKILL$") as died:
            long.result(timeout=30)
        assert died.value.exitcode == -signal.SIGKILL
        assert behind.result(timeout=30) == 3  # re-run on a fresh worker
        assert pool.submit(operator.add, 2, 2).result(timeout=30) == 4


@pytest.mark.timeout(60)
def test_a_worker_that_exits_fails_its_task() -> None:
    with ProcessPool(2) as pool:
        with pytest.raises(WorkerDied, match="^exit code 3$"):
            pool.submit(os._exit, 3).result(timeout=30)
        assert pool.submit(operator.neg, 5).result(timeout=30) == -5


@pytest.mark.timeout(60)
def test_a_task_past_kill_after_is_killed() -> None:
    with ProcessPool(1, kill_after=0.5) as pool:
        started = time.monotonic()
        with pytest.raises(TaskTimeout, match=r"^task exceeded 0.5 s and its worker was killed$"):
            pool.submit(time.sleep, 30).result(timeout=30)
        assert time.monotonic() - started < 10
        assert pool.submit(operator.add, 1, 1).result(timeout=30) == 2


@pytest.mark.timeout(60)
def test_shutdown_cancels_pending_and_terminate_kills() -> None:
    pool = ProcessPool(1, depth=1)
    running = pool.submit(time.sleep, 30)
    pending = pool.submit(time.sleep, 30)
    wait_for_running(pool)
    started = time.monotonic()
    pool.terminate()
    assert time.monotonic() - started < 10
    assert pending.cancelled()
    with pytest.raises(RuntimeError, match="the pool was terminated"):
        running.result(timeout=1)
    with pytest.raises(RuntimeError, match="shut down"):
        pool.submit(abs, 1)


def test_cancelled_before_dispatch() -> None:
    with ProcessPool(1, depth=1) as pool:
        first = pool.submit(time.sleep, 0.5)
        second = pool.submit(abs, -1)
        assert second.cancel()
        with pytest.raises(CancelledError):
            second.result()
        assert first.result(timeout=30) is None


def test_describe_exit() -> None:
    assert describe_exit(-9) == "killed by SIGKILL"
    assert describe_exit(-11) == "killed by SIGSEGV"
    assert describe_exit(1) == "exit code 1"
    assert describe_exit(None) == "ended for an unknown reason"


def spin(seconds: float) -> int:
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        n += 1
    return n


def test_deadline_interrupts_the_main_thread() -> None:
    started = time.monotonic()
    with pytest.raises(Expired):
        run_with_deadline(lambda: spin(30), 0.2)
    assert time.monotonic() - started < 5


def test_deadline_interrupts_another_thread() -> None:
    outcome: list[str] = []

    def work() -> None:
        try:
            run_with_deadline(lambda: spin(30), 0.2)
            outcome.append("finished")
        except Expired:
            outcome.append("expired")

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(10)
    assert outcome == ["expired"]


def test_deadline_returns_and_leaves_nothing_pending() -> None:
    assert run_with_deadline(lambda: 42, None) == 42
    assert run_with_deadline(lambda: 42, 5) == 42
    # calls that end right at their deadline: any late exception stays inside the call
    for _ in range(50):
        try:
            run_with_deadline(lambda: spin(0.002), 0.002)
        except Expired:
            pass
    spin(0.05)  # a stray pending exception would surface here


@pytest.mark.timeout(60)
def test_a_crash_in_native_code_fails_its_task_only() -> None:
    import ctypes

    with ProcessPool(2) as pool:
        crash = pool.submit(ctypes.string_at, 0)  # reads address 0: a segmentation fault in C
        fine = [pool.submit(operator.add, i, 1) for i in range(10)]
        with pytest.raises(WorkerDied, match="^killed by SIGSEGV$"):
            crash.result(timeout=30)
        assert [f.result(timeout=30) for f in fine] == list(range(1, 11))


def test_unpicklable_arguments_fail_their_task_only() -> None:
    with ProcessPool(1) as pool:
        bad = pool.submit(len, threading.Lock())
        with pytest.raises(TypeError, match="pickle"):
            bad.result(timeout=30)
        assert pool.submit(len, [1, 2]).result(timeout=30) == 2
