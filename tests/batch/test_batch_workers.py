"""The worker pool (pebble's, as batch sets it up): a task past its time limit, or whose
worker dies, fails alone and the pool goes on; and the in-thread deadline used on
executors that cannot stop a task (Dask)."""

from __future__ import annotations

import ctypes
import operator
import os
import signal
import threading
import time
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool

import psutil
import pytest
from pebble import ProcessExpired
from workerkit import busy_child, child_pids

from engine.batching.deadline import Expired, run_with_deadline
from engine.batching.tasks import describe_exit
from engine.batching.workers import WorkerPool


def spin(seconds: float) -> int:
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        n += 1
    return n


@pytest.mark.timeout(60)
def test_results_and_exceptions_come_back() -> None:
    pool = WorkerPool(2)
    try:
        futures = [pool.submit(operator.mul, i, i) for i in range(50)]
        assert [f.result(timeout=30) for f in futures] == [i * i for i in range(50)]
        with pytest.raises(ZeroDivisionError):
            pool.submit(operator.truediv, 1, 0).result(timeout=30)
    finally:
        pool.shutdown()


@pytest.mark.timeout(60)
def test_a_task_past_its_time_limit_fails_alone_and_the_pool_goes_on() -> None:
    pool = WorkerPool(1, task_timeout=0.5)
    try:
        slow = pool.submit(spin, 30)
        behind = pool.submit(operator.add, 1, 2)  # waits for the only worker
        with pytest.raises(TimeoutError):
            slow.result(timeout=30)
        assert behind.result(timeout=30) == 3
    finally:
        pool.shutdown()


@pytest.mark.timeout(60)
def test_a_time_limit_stops_a_task_stuck_in_one_c_call() -> None:
    pool = WorkerPool(1, task_timeout=0.5)
    try:
        stuck = pool.submit(sum, range(10**13))  # one C loop that never returns to the interpreter
        with pytest.raises(TimeoutError):
            stuck.result(timeout=30)
        assert pool.submit(operator.neg, 5).result(timeout=30) == -5
    finally:
        pool.shutdown()


@pytest.mark.timeout(60)
def test_a_killed_worker_fails_its_task_only() -> None:
    before = child_pids()
    pool = WorkerPool(2)
    try:
        victim = pool.submit(spin, 30)
        os.kill(busy_child(ignore=before), signal.SIGKILL)
        with pytest.raises(ProcessExpired) as died:
            victim.result(timeout=30)
        assert describe_exit(died.value.exitcode) == "killed by SIGKILL"
        assert [pool.submit(operator.add, i, 1).result(timeout=30) for i in range(4)] == [1, 2, 3, 4]
    finally:
        pool.shutdown()


@pytest.mark.timeout(60)
def test_a_crash_in_native_code_fails_its_task_only() -> None:
    pool = WorkerPool(2)
    try:
        crash = pool.submit(ctypes.string_at, 0)  # reads address 0: a segmentation fault in C
        fine = [pool.submit(operator.add, i, 1) for i in range(10)]
        with pytest.raises(ProcessExpired) as died:
            crash.result(timeout=30)
        assert describe_exit(died.value.exitcode) == "killed by SIGSEGV"
        assert [f.result(timeout=30) for f in fine] == list(range(1, 11))
    finally:
        pool.shutdown()


@pytest.mark.timeout(60)
def test_a_worker_that_exits_fails_its_task() -> None:
    pool = WorkerPool(2)
    try:
        busy: Future[int] = pool.submit(spin, 2)  # keeps a task running: pebble blames the exit on a task
        with pytest.raises(ProcessExpired) as died:
            pool.submit(os._exit, 3).result(timeout=30)
        assert describe_exit(died.value.exitcode) == "exit code 3"
        assert busy.result(timeout=30) > 0
    finally:
        pool.shutdown()


@pytest.mark.timeout(60)
def test_unpicklable_arguments_fail_their_task_only() -> None:
    pool = WorkerPool(1)
    try:
        with pytest.raises(TypeError, match="pickle"):
            pool.submit(len, threading.Lock()).result(timeout=30)
        assert pool.submit(len, [1, 2]).result(timeout=30) == 2
    finally:
        pool.shutdown()


@pytest.mark.timeout(60)
def test_shutdown_stops_running_workers_at_once() -> None:
    before = child_pids()
    pool = WorkerPool(2)
    pool.submit(spin, 60)
    worker = psutil.Process(busy_child(ignore=before))
    pool.shutdown()  # the runner shuts down once it has what it waits for, or on Ctrl-C
    assert psutil.wait_procs([worker], timeout=10)[1] == []


def test_describe_exit() -> None:
    assert describe_exit(-9) == "killed by SIGKILL"
    assert describe_exit(-11) == "killed by SIGSEGV"
    assert describe_exit(1) == "exit code 1"
    assert describe_exit(None) == "ended for an unknown reason"


def test_deadline_interrupts_the_main_thread() -> None:
    with pytest.raises(Expired):
        run_with_deadline(lambda: spin(30), 0.2)


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


@pytest.mark.parametrize("seconds", [2_200_000, 1e10, 1e300])
def test_a_huge_deadline_is_no_limit(seconds: float) -> None:
    assert run_with_deadline(lambda: 42, seconds) == 42


@pytest.mark.timeout(60)
def test_a_pool_whose_idle_workers_are_all_killed_starts_afresh() -> None:
    before = child_pids()
    pool = WorkerPool(2)
    try:
        assert pool.submit(abs, -1).result(timeout=30) == 1
        for pid in child_pids() - before:
            os.kill(pid, signal.SIGKILL)  # not reaped here: that is the pool's job
        # pebble gives up on a pool whose workers all die while none runs a task; tasks caught in
        # that fail with BrokenProcessPool (the runner queues them again) and the next submission
        # starts a fresh pool
        for _ in range(50):
            try:
                assert pool.submit(abs, -2).result(timeout=30) == 2
                break
            except BrokenProcessPool:
                continue
        else:
            raise AssertionError("the pool never started afresh")
    finally:
        pool.shutdown()
