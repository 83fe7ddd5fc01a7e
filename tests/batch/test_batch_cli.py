"""`circuit batch` as users run it: the installed command in a subprocess."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import psutil
import pytest
from mixed_suite import CIRCUIT, EXPECTED_FAILURES, EXPECTED_STATUS, REPO, comparable
from workerkit import busy_child

from engine.cli import app
from engine.format.loader import DEFAULT_MAX_BYTES


def circuit(
    *args: str, cwd: Path | str | None = None, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CIRCUIT, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}
    )


def test_circuits_folder_passes() -> None:
    done = circuit("batch", "circuits/", cwd=REPO)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["circuit", "status", "output", "time"]
    rows = [line.split()[:5] for line in lines[1:-1]]
    examples = sorted(str(p.relative_to(REPO)) for p in (REPO / "circuits").glob("*.yaml"))
    assert [row[:2] for row in rows] == [[path, "ok"] for path in examples], "sorted by path, all ok"
    assert ["circuits/seed.yaml", "ok", "f", "=", "-12"] in rows
    assert lines[-1].startswith(f"{len(examples)} circuits") and lines[-1].endswith(f"{len(examples)} ok")
    assert done.stderr == ""


@pytest.mark.timeout(120)
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_suite_text(suite: Path, jobs: str) -> None:
    done = circuit("batch", "suite", "--check", "--timeout", "0.5", "--jobs", jobs, cwd=Path.cwd())
    assert done.returncode == 1
    assert done.stderr == ""  # no progress bar off a terminal, no traceback
    heads = [line for line in done.stdout.splitlines() if line.startswith("suite/") and ": error[" in line]
    assert heads == EXPECTED_FAILURES
    assert done.stdout.splitlines()[-1].endswith(" s: 2 ok, 1 failed, 2 invalid, 2 error")


@pytest.mark.timeout(120)
def test_suite_json_matches_eval(suite: Path) -> None:
    done = circuit("batch", "suite", "--format", "json", "--exclude", "slow.yaml", cwd=Path.cwd())
    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert report["args"] == {
        "paths": ["suite"],
        "jobs": os.cpu_count(),
        "check": False,
        "check_tolerance": 1e-5,
        "exclude": ["slow.yaml"],
        "format": "json",
        "output": None,
        "timeout": None,
        "fail_fast": False,
        "scheduler": None,
    }
    assert [r["path"] for r in report["results"]] == sorted(set(EXPECTED_STATUS) - {"suite/slow.yaml"})
    for result in report["results"]:  # each entry is exactly what `circuit eval --format json` prints
        alone = circuit("eval", result["path"], "--format", "json", cwd=Path.cwd())
        assert comparable(result) == comparable(json.loads(alone.stdout))


@pytest.mark.timeout(120)
def test_output_file_junit(suite: Path) -> None:
    # the README's CI line in a fresh checkout: missing folders are created, as pytest's --junitxml does
    done = circuit("batch", "suite/good", "--format", "junit", "--output", "reports/circuits.xml", cwd=Path.cwd())
    assert (done.returncode, done.stderr) == (0, "")
    assert len(list(ET.parse("reports/circuits.xml").getroot().iter("testcase"))) == 2
    Path("out").mkdir()
    Path("out/report.xml").write_text("old report\n")
    done = circuit(
        "batch",
        "suite",
        "--format",
        "junit",
        "--output",
        "out/report.xml",
        "--timeout",
        "0.5",
        "--check",
        cwd=Path.cwd(),
    )
    assert done.returncode == 1
    assert done.stdout.startswith("7 circuits in ")
    root = ET.parse("out/report.xml").getroot()
    assert len(list(root.iter("testcase"))) == 7
    assert sorted(p.name for p in Path("out").iterdir()) == ["report.xml"]  # no temporary file left


def test_fail_fast_and_github(suite: Path) -> None:
    done = circuit("batch", "suite", "--jobs", "1", "--fail-fast", "--format", "github", cwd=Path.cwd())
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        "::error file=suite/cycle.yaml,line=3,col=3,title=cycle::cycle: a -> b -> c -> a "
        "(help: a gate cannot depend on its own output; break the loop at one of: a, b, c)",
        done.stdout.splitlines()[-1],
    ]
    assert done.stdout.splitlines()[-1].endswith(" s: 1 invalid, 6 skipped")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["empty"], "error: no circuit files found (looked for *.yaml and *.yml)\n"),
        (["suite", "--timeout", "0"], "error: --timeout must be a finite positive number of seconds, got 0\n"),
        (["suite", "--timeout", "-1"], "error: --timeout must be a finite positive number of seconds, got -1\n"),
        (["suite", "--timeout", "inf"], "error: --timeout must be a finite positive number of seconds, got inf\n"),
        (["suite", "--timeout", "nan"], "error: --timeout must be a finite positive number of seconds, got nan\n"),
    ],
)
def test_usage_errors(suite: Path, args: list[str], message: str) -> None:
    Path("empty").mkdir()
    done = circuit("batch", *args, cwd=Path.cwd())
    assert (done.returncode, done.stdout, done.stderr) == (2, "", message)


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    "args", [["--timeout", "2200000"], ["--timeout", "1e10"], ["--timeout", "1e10", "--jobs", "1"]]
)
def test_a_huge_timeout_is_no_limit(suite: Path, args: list[str]) -> None:
    # the attack run's examples: the first killed the old pool's manager thread, the others printed tracebacks
    done = circuit("batch", "suite/good", *args, cwd=Path.cwd())
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines()[-1].endswith(" s: 2 ok")


def test_bad_jobs_is_a_usage_error(suite: Path) -> None:
    done = circuit("batch", "suite", "--jobs", "0", cwd=Path.cwd())
    assert done.returncode == 2 and "Traceback" not in done.stderr and "--jobs" in done.stderr


def test_missing_dask_extra_gives_a_hint(suite: Path, tmp_path: Path) -> None:
    # a `distributed` package that fails to import stands in for an install without the extra
    shadow = tmp_path / "shadow" / "distributed"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError(\"No module named 'distributed'\")\n")
    path = os.pathsep.join(filter(None, [str(shadow.parent), os.environ.get("PYTHONPATH")]))
    done = circuit("batch", "suite", "--scheduler", "local", cwd=Path.cwd(), env={"PYTHONPATH": path})
    assert (done.returncode, done.stdout, done.stderr) == (
        2,
        "",
        "error: --scheduler needs the Dask extra: pip install -e '.[dask]'\n",
    )


def test_unreachable_scheduler_fails_within_3_s(suite: Path) -> None:
    # nothing listens on port 9 of this machine: the connection is refused
    done = circuit("batch", "suite", "--scheduler", "tcp://127.0.0.1:9", cwd=Path.cwd(), timeout=10)
    assert (done.returncode, done.stdout, done.stderr) == (
        2,
        "",
        "error: cannot reach the Dask scheduler at 'tcp://127.0.0.1:9': connection refused\n"
        "  help: check the address, and that 'dask scheduler' runs there (its default port is 8786)\n",
    )
    # in-process, without the interpreter's start-up: the 3 s of the promise
    from engine.batching import dask

    failed = threading.Event()

    def connect() -> None:
        try:
            with dask.dask_executor("tcp://127.0.0.1:9"):
                pass
        except dask.ClusterError:
            failed.set()

    threading.Thread(target=connect, daemon=True).start()
    assert failed.wait(3), "no clear failure within 3 s"


def test_a_malformed_scheduler_address(suite: Path) -> None:
    done = circuit("batch", "suite", "--scheduler", "tcp://host:port", cwd=Path.cwd())
    assert (done.returncode, done.stdout, done.stderr) == (
        2,
        "",
        "error: 'tcp://host:port' is not a scheduler address\n  help: write it as tcp://HOST:PORT\n",
    )


@pytest.mark.timeout(120)
def test_scheduler_address(suite: Path, dask_client: Any) -> None:
    done = circuit(
        "batch",
        "suite",
        "--check",
        "--timeout",
        "0.5",
        "--format",
        "json",
        "--scheduler",
        dask_client.scheduler.address,
        cwd=Path.cwd(),
    )
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert {r["path"]: r["status"] for r in report["results"]} == EXPECTED_STATUS
    assert report["args"]["scheduler"] == dask_client.scheduler.address


@pytest.mark.timeout(180)
def test_scheduler_local(suite: Path) -> None:
    done = circuit("batch", "suite/good", "--scheduler", "local", "--jobs", "1", cwd=Path.cwd())
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1].endswith(" s: 2 ok")


@pytest.mark.timeout(240)
def test_scheduler_local_stops_a_runaway_circuit(suite: Path) -> None:
    done = circuit(
        "batch",
        "suite",
        "--check",
        "--timeout",
        "0.5",
        "--scheduler",
        "local",
        "--jobs",
        "2",
        "--format",
        "json",
        cwd=Path.cwd(),
    )
    assert done.returncode == 1, done.stderr
    results = json.loads(done.stdout)["results"]
    assert {r["path"]: r["status"] for r in results} == EXPECTED_STATUS
    [slow] = [r for r in results if r["path"] == "suite/slow.yaml"]
    assert [e["message"] for e in slow["errors"]] == ["evaluation took longer than the 0.5 s limit"]


def test_help_imports_nothing_heavy() -> None:
    code = (
        "import sys, engine.cli.app; print(sorted(m for m in ('yaml', 'pydantic', 'networkx', 'rich', 'dask', "
        "'distributed', 'engine.circuit', 'engine.batching.runner') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout == "[]\n"


def test_cli_max_bytes_default_matches_the_loader() -> None:
    assert app.DEFAULT_MAX_BYTES == DEFAULT_MAX_BYTES


def test_cli_check_tolerance_default_matches_the_api() -> None:
    from engine.circuit import DEFAULT_CHECK_TOLERANCE

    assert app.DEFAULT_CHECK_TOLERANCE == DEFAULT_CHECK_TOLERANCE


def test_output_to_a_folder_is_a_usage_error(suite: Path) -> None:
    done = circuit("batch", "suite/good", "--output", "suite", cwd=Path.cwd())
    assert (done.returncode, done.stdout, done.stderr) == (
        2,
        "",
        "error: cannot write the report to 'suite': it is a folder\n",
    )


@pytest.mark.timeout(120)
def test_ctrl_c_stops_the_batch_quietly_and_keeps_the_old_report(suite: Path) -> None:
    Path("report.json").write_text("old report\n")
    running = subprocess.Popen(
        [CIRCUIT, "batch", "suite", "--check", "--jobs", "2", "--output", "report.json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    worker = psutil.Process(busy_child(running.pid))  # slow.yaml's gradient check takes many seconds
    running.send_signal(signal.SIGINT)
    out, err = running.communicate(timeout=30)
    assert (running.returncode, out, err) == (130, "", "")
    assert Path("report.json").read_text() == "old report\n"
    assert sorted(p.name for p in Path.cwd().iterdir()) == ["report.json", "suite"]  # no temporary file
    assert psutil.wait_procs([worker], timeout=10)[1] == []  # no worker left behind
