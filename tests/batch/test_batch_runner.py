"""The batch runner through its Python API: in-process, the process pool and a
real Dask LocalCluster give the same results, whatever way each circuit ends."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from mixed_suite import EXPECTED_FAILURES, EXPECTED_STATUS, REPO, TIMEOUT, comparable
from workerkit import busy_child, child_pids

import engine
from engine.batching.runner import BatchReport, InlineExecutor
from engine.batching.tasks import evaluate_task
from engine.evaluating import evaluate_file


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


def batch_in_thread(
    paths: list[Any], watched: str, **kwargs: Any
) -> tuple[threading.Thread, dict[str, BatchReport], threading.Event, threading.Event]:
    """`engine.batch` running in a thread; events set once every circuit but `watched`
    has its result, and once `watched` has its own."""
    box: dict[str, BatchReport] = {}
    others_done, watched_done = threading.Event(), threading.Event()
    expected = set(EXPECTED_STATUS) - {watched}
    seen: set[str] = set()

    def note(result: Any) -> None:
        seen.add(result.path)
        if result.path == watched:
            watched_done.set()
        if expected <= seen:
            others_done.set()

    runner = threading.Thread(target=lambda: box.update(report=engine.batch(paths, on_result=note, **kwargs)))
    runner.start()
    return runner, box, others_done, watched_done


@pytest.mark.timeout(120)
def test_killed_worker_fails_its_circuit_only(suite: Path) -> None:
    before = child_pids()  # e.g. a Dask cluster's processes
    runner, box, others_done, _ = batch_in_thread([suite], "suite/slow.yaml", jobs=2, check=True)
    assert others_done.wait(60), "the other circuits never finished"
    os.kill(busy_child(ignore=before), signal.SIGKILL)  # the only task still running: slow.yaml's
    runner.join(60)
    report = box["report"]
    assert {r.path: r.status for r in report.results} == EXPECTED_STATUS  # slow.yaml: error; the rest as usual
    slow = report.results[-1]
    assert [e.render() for e in slow.errors] == [
        "suite/slow.yaml: error[worker-died] the worker process evaluating this circuit died (killed by SIGKILL)"
        "\n  help: it may have run out of memory or been killed; the other circuits were not affected"
    ]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("scheduler", ["jobs 1", "jobs 2", "dask"])
def test_a_runaway_circuit_is_stopped_at_the_timeout(
    suite: Path, scheduler: str, request: pytest.FixtureRequest
) -> None:
    """The fence: with a 0.5 s limit, the slow circuit (its gradient check takes many
    seconds) is an error within 3 s, on every scheduler, and nothing else changes."""
    if scheduler == "dask":
        options: dict[str, Any] = {"jobs": 2, "executor": request.getfixturevalue("dask_client").get_executor()}
        # the cluster's worker processes import the engine on their first task: warm them up first, so
        # the bound measures the time limit, not a cold start
        engine.batch([suite / "good"], **options)
    else:
        options = {"jobs": int(scheduler.split()[1])}
    runner, box, _, stopped = batch_in_thread([suite], "suite/slow.yaml", check=True, timeout=0.5, **options)
    assert stopped.wait(3), f"{scheduler}: the runaway circuit was not stopped within 3 s"
    runner.join(60)
    check_suite_report(box["report"])
    [slow] = [r for r in box["report"].results if r.path == "suite/slow.yaml"]
    assert [e.render() for e in slow.errors] == [
        "suite/slow.yaml: error[timeout] evaluation took longer than the 0.5 s limit"
        "\n  help: raise --timeout, or split the circuit"
    ]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("jobs", [1, 2])
@pytest.mark.parametrize("timeout", [2_200_000, 1e10, 1e300])
def test_a_huge_timeout_is_no_limit(suite: Path, jobs: int, timeout: float) -> None:
    report = engine.batch([suite / "good", suite / "fault.yaml"], jobs=jobs, timeout=timeout)
    assert [(r.path, r.status) for r in report.results] == [
        ("suite/fault.yaml", "error"),
        ("suite/good/neuron.yaml", "ok"),
        ("suite/good/seed.yaml", "ok"),
    ]
    assert report.args["timeout"] == timeout


@pytest.mark.timeout(120)
def test_a_huge_timeout_on_dask(suite: Path, dask_client: Any) -> None:
    report = engine.batch([suite / "good"], executor=dask_client.get_executor(), jobs=2, timeout=1e10)
    assert [r.status for r in report.results] == ["ok", "ok"]


def test_evaluate_task_times_out_in_process(suite: Path) -> None:
    # the in-thread limit, for executors that cannot stop a task (Dask)
    result = evaluate_task("suite/slow.yaml", Path("suite/slow.yaml").read_bytes(), True, 0.2)
    assert result.status == "error" and result.circuit == "slow"
    assert result.errors[0].message == "evaluation took longer than the 0.2 s limit"
    assert 150 <= result.elapsed_ms


def test_inline_executor_delivers_exceptions() -> None:
    future = InlineExecutor().submit(int, "x")
    assert isinstance(future.exception(), ValueError)
    assert InlineExecutor().submit(int, "7").result() == 7


@pytest.mark.parametrize("timeout", [0, -1, math.inf, -math.inf, math.nan])
def test_a_bad_timeout_is_refused(suite: Path, timeout: float) -> None:
    with pytest.raises(ValueError, match="^timeout must be a finite positive number of seconds, got "):
        engine.batch([suite], timeout=timeout)


README_BATCH = """\
import engine
report = engine.batch(["circuits/"], jobs=2)
print(report.summary)
"""


def run_script(text: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "example.py"
    script.write_text(text)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    # the bound is the fence: a script that hangs fails here instead of hanging the suite
    return subprocess.run([sys.executable, str(script)], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)


def test_the_readme_example_runs_as_a_script_without_a_main_guard(tmp_path: Path) -> None:
    done = run_script(README_BATCH, tmp_path)
    count = len(list((REPO / "circuits").glob("*.yaml")))
    assert (done.returncode, done.stderr) == (0, "")
    expected = {"total": count, "ok": count, "failed": 0, "invalid": 0, "error": 0, "skipped": 0}
    assert done.stdout == f"{expected}\n"


def test_workers_that_cannot_start_fail_fast_naming_the_fix(tmp_path: Path) -> None:
    # where workers start by spawn (macOS, Windows), they import the script again and
    # exit at once without the guard: the batch says so instead of starting workers forever
    forced = README_BATCH.replace(
        "import engine\n",
        "import engine\nimport engine.batching.workers\nengine.batching.workers.START_METHOD = 'spawn'\n",
    )
    done = run_script(forced, tmp_path)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.splitlines()[-1] == (
        "engine.batching.workers.WorkersFailed: the worker processes exited before running any circuit; "
        'a script that calls engine.batch must call it under `if __name__ == "__main__":` when workers start '
        "by 'spawn' (they import the script again), or pass jobs=1"
    )
