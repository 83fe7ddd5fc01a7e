"""The batch runner through its Python API: in-process, the process pool and a
real Dask LocalCluster give the same results, whatever way each circuit ends."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from mixed_suite import EXPECTED_FAILURES, EXPECTED_STATUS, TIMEOUT, comparable, slow_circuit

import engine
from engine.batching.pool import ProcessPool
from engine.batching.runner import BatchReport, InlineExecutor, evaluate_task
from engine.circuit import evaluate_file


def first_failures(report: BatchReport) -> list[str]:
    lines = []
    for result in report.results:
        failures = result.failures()
        if failures:
            lines.append(failures[0].render().partition("\n")[0])
    return lines


def check_suite_report(report: BatchReport) -> None:
    assert {r.path: r.status for r in report.results} == EXPECTED_STATUS
    assert [r.path for r in report.results] == sorted(EXPECTED_STATUS)  # path order, whatever finished first
    assert report.summary == {"total": 7, "ok": 2, "failed": 1, "invalid": 2, "error": 2, "skipped": 0}
    assert first_failures(report) == EXPECTED_FAILURES
    assert not report.ok


@pytest.mark.timeout(120)
@pytest.mark.parametrize("jobs", [1, 2])
def test_suite_local(suite: Path, jobs: int) -> None:
    report = engine.batch([suite], jobs=jobs, check=True, timeout=TIMEOUT)
    check_suite_report(report)
    # every result is exactly what evaluating the file alone gives
    for result in report.results:
        if result.path != "suite/slow.yaml":
            assert comparable(result.to_dict()) == comparable(evaluate_file(result.path, check=True).to_dict())


@pytest.mark.timeout(120)
def test_suite_on_dask_equals_local_pool(suite: Path, dask_client: Any) -> None:
    on_dask = engine.batch([suite], executor=dask_client.get_executor(pure=False), jobs=2, check=True, timeout=TIMEOUT)
    check_suite_report(on_dask)
    local = engine.batch([suite], jobs=2, check=True, timeout=TIMEOUT)
    assert [comparable(r.to_dict()) for r in on_dask.results] == [comparable(r.to_dict()) for r in local.results]


def test_results_arrive_as_they_finish(suite: Path) -> None:
    seen: list[str] = []
    report = engine.batch([suite], jobs=1, exclude=["slow.yaml"], on_result=lambda r: seen.append(r.path))
    assert seen == [r.path for r in report.results] == sorted(p for p in EXPECTED_STATUS if p != "suite/slow.yaml")


def test_fail_fast_stops_scheduling(suite: Path) -> None:
    report = engine.batch([suite], jobs=1, fail_fast=True)
    # cycle.yaml comes first in path order and is invalid: nothing else starts
    assert [(r.path, r.status) for r in report.results] == [("suite/cycle.yaml", "invalid")]
    assert report.skipped == tuple(sorted(p for p in EXPECTED_STATUS if p != "suite/cycle.yaml"))
    assert report.summary == {"total": 7, "ok": 0, "failed": 0, "invalid": 1, "error": 0, "skipped": 6}


def test_fail_fast_on_a_pool_reports_everything_it_ran(suite: Path) -> None:
    report = engine.batch([suite], jobs=2, fail_fast=True, exclude=["slow.yaml"])
    ran = {r.path for r in report.results}
    assert ran | set(report.skipped) == set(EXPECTED_STATUS) - {"suite/slow.yaml"}
    assert "suite/cycle.yaml" in ran and not ran & set(report.skipped)
    assert report.summary["total"] == 6 and not report.ok


def test_exclude_and_all_ok(suite: Path) -> None:
    report = engine.batch([suite], jobs=2, exclude=["suite/good/*"])
    assert "suite/good/seed.yaml" not in {r.path for r in report.results}
    report = engine.batch([suite / "good"], jobs=2, check=True)
    assert [(r.path, r.status) for r in report.results] == [
        ("suite/good/neuron.yaml", "ok"),
        ("suite/good/seed.yaml", "ok"),
    ]
    assert report.ok and report.summary["ok"] == 2
    seed = report.results[1]
    assert seed.value == -12.0 and seed.grads == {"x": -4.0, "y": -4.0, "z": 3.0, "q": -4.0, "f": 1.0}
    assert [c.kind for c in seed.checks].count("grad_check") == 3


def test_empty_batch(tmp_path: Path) -> None:
    report = engine.batch([tmp_path])
    assert report.results == () and report.ok and report.summary["total"] == 0


def test_a_missing_file_is_its_own_invalid_result(suite: Path) -> None:
    report = engine.batch(["suite/good/seed.yaml", "suite/nope.yaml"], jobs=2)
    assert [(r.path, r.status) for r in report.results] == [
        ("suite/good/seed.yaml", "ok"),
        ("suite/nope.yaml", "invalid"),
    ]
    assert report.results[1].errors[0].render() == "suite/nope.yaml: error[io] no such file\n  help: check the path"


@pytest.mark.timeout(120)
def test_killed_worker_fails_its_circuit_only(suite: Path) -> None:
    (Path("suite") / "slow.yaml").write_text(slow_circuit())
    pool = ProcessPool(2)
    box: dict[str, BatchReport] = {}
    runner = threading.Thread(
        target=lambda: box.update(report=engine.batch([suite], executor=pool, jobs=2, check=True))
    )
    runner.start()
    deadline = time.monotonic() + 60
    victim = None
    while victim is None and time.monotonic() < deadline:
        victim = next((pid for pid, args in pool.running() if args[0] == "suite/slow.yaml"), None)
        time.sleep(0.01)
    assert victim is not None, "the slow circuit never started"
    os.kill(victim, signal.SIGKILL)
    runner.join(60)
    pool.shutdown()
    report = box["report"]
    statuses = {r.path: r.status for r in report.results}
    assert statuses == EXPECTED_STATUS  # slow.yaml: error; every other circuit as usual
    slow = report.results[-1]
    assert [e.render() for e in slow.errors] == [
        "suite/slow.yaml: error[worker-died] the worker process evaluating this circuit died (killed by SIGKILL)"
        "\n  help: it may have run out of memory or been killed; the other circuits were not affected"
    ]


def test_evaluate_task_times_out_in_process(suite: Path) -> None:
    result = evaluate_task("suite/slow.yaml", Path("suite/slow.yaml").read_bytes(), True, 0.2)
    assert result.status == "error" and result.circuit == "slow"
    assert result.errors[0].message == "evaluation took longer than the 0.2 s limit"
    assert 150 <= result.elapsed_ms


def test_inline_executor_delivers_exceptions() -> None:
    future = InlineExecutor().submit(int, "x")
    assert isinstance(future.exception(), ValueError)
    assert InlineExecutor().submit(int, "7").result() == 7


def test_a_bad_timeout_is_refused(suite: Path) -> None:
    with pytest.raises(ValueError, match="timeout must be positive"):
        engine.batch([suite], timeout=0)
