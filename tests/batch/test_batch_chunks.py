"""Small circuits travel in chunks, and a chunk changes nothing a user can see: each
circuit keeps its own result and time limit, in path order. A chunk that runs past
the limit, or whose worker dies, runs again one circuit per task."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from typing import Any

import pytest
from mixed_suite import CYCLE, FAILING, FAULT, INVALID, comparable, slow_circuit
from workerkit import busy_child, child_pids

import engine
from engine.batching.runner import Chunking, run_files
from engine.batching.workers import WorkerPool
from engine.evaluating import evaluate_file
from engine.result import Result

#: Everything in one chunk: with a window of one task and tail 1, the first chunk takes all files.
ONE_CHUNK = Chunking(max_count=1000, max_bytes=1 << 24, solo_bytes=1 << 24, tail=1)


def small(k: int) -> str:
    return f"inputs: {{x: {k}, y: 2}}\ngates:\n  p: {{op: mul, in: [x, y]}}\n  f: {{op: add, in: [p, 1]}}\n"


def padded(k: int) -> str:
    """A small circuit made large by a comment: over the runner's solo size, yet evaluated in no time."""
    return small(k) + "# " + "padding " * (Chunking().solo_bytes // 8) + "\n"


def folder_with(root: Path, special: dict[str, str], count: int) -> list[str]:
    """`count` small good circuits c00.yaml… plus `special` files; all paths, sorted."""
    root.mkdir()
    for k in range(count):
        (root / f"c{k:02d}.yaml").write_text(small(k))
    for name, text in special.items():
        (root / name).write_text(text)
    return sorted(str(p) for p in root.iterdir())


@pytest.mark.timeout(120)
def test_a_chunk_whose_worker_is_killed_runs_again_one_circuit_per_task(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    # c00x's gradient check takes a couple of seconds: its chunk (the first: c00, c00x, c01, as
    # two workers get a window of 4 tasks and tail 1 spreads 9 files over them) is the last running
    files = folder_with(Path("f"), {"c00x.yaml": slow_circuit(1500)}, 8)
    arrived: list[str] = []
    others_done = threading.Event()
    box: dict[str, Any] = {}

    def note(result: Result) -> None:
        arrived.append(result.path)
        if len(arrived) == 6:  # every circuit but those of c00x's chunk
            others_done.set()

    before = child_pids()  # e.g. a Dask cluster's processes
    runner = threading.Thread(
        target=lambda: box.update(report=engine.batch(["f"], jobs=2, check=True, chunking=ONE_CHUNK, on_result=note))
    )
    runner.start()
    assert others_done.wait(60), "the other chunks never finished"
    os.kill(busy_child(ignore=before), signal.SIGKILL)
    runner.join(60)
    report = box["report"]
    assert [r.path for r in report.results] == files
    # every circuit of the killed chunk ran again on its own, and is what evaluating it alone gives
    assert [comparable(r.to_dict()) for r in report.results] == [
        comparable(evaluate_file(path, check=True).to_dict()) for path in files
    ]
    assert sorted(arrived) == files  # each circuit reported once


@pytest.mark.timeout(120)
def test_the_time_limit_is_per_circuit_inside_a_chunk(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    slow = {f"c{k:02d}s.yaml": slow_circuit() for k in range(4)}
    files = folder_with(Path("f"), slow, 4)
    # one worker, one chunk: the chunk runs past the 0.5 s limit, then each circuit runs alone under it
    report = engine.batch(["f"], jobs=1, check=True, timeout=0.5, chunking=ONE_CHUNK)
    assert [r.path for r in report.results] == files and report.skipped == ()
    for result in report.results:
        if result.path.endswith("s.yaml"):
            assert [e.render() for e in result.errors] == [
                f"{result.path}: error[timeout] evaluation took longer than the 0.5 s limit"
                "\n  help: raise --timeout, or split the circuit"
            ]
        else:
            assert result.status == "ok"


@pytest.mark.timeout(60)
def test_fail_fast_stops_inside_a_chunk(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    files = folder_with(Path("f"), {"c02x.yaml": FAULT}, 9)
    pool = WorkerPool(1)
    try:
        results, skipped = run_files(files, pool, window=1, fail_fast=True, chunking=ONE_CHUNK)
    finally:
        pool.shutdown()
    assert [(r.path, r.status) for r in results] == [
        ("f/c00.yaml", "ok"),
        ("f/c01.yaml", "ok"),
        ("f/c02.yaml", "ok"),
        ("f/c02x.yaml", "error"),
    ]
    assert skipped == files[4:]


def mixed_folder(root: Path) -> Path:
    special = {
        "c10a.yaml": INVALID,
        "c20b.yaml": CYCLE,
        "c30c.yaml": FAULT,
        "c40d.yaml": FAILING,
        "c50e.yaml": padded(50),  # large enough to be a task of its own
    }
    folder_with(root, special, 90)
    return root


def run_and_track(**kwargs: Any) -> tuple[list[dict[str, Any]], list[str]]:
    arrived: list[str] = []
    report = engine.batch(["m"], on_result=lambda r: arrived.append(r.path), **kwargs)
    assert [r.path for r in report.results] == sorted(arrived)  # once each, sorted by path
    return [comparable(r.to_dict()) for r in report.results], arrived


@pytest.mark.timeout(180)
def test_chunked_pool_and_dask_equal_one_job(tmp_path: Path, monkeypatch: Any, dask_client: Any) -> None:
    monkeypatch.chdir(tmp_path)
    mixed_folder(Path("m"))
    alone, _ = run_and_track(jobs=1, check=True)
    statuses = [r["status"] for r in alone]
    assert len(alone) == 95 and statuses.count("ok") == 91 and statuses.count("invalid") == 2
    pooled, _ = run_and_track(jobs=2, check=True)
    assert pooled == alone
    on_dask, _ = run_and_track(jobs=2, check=True, executor=dask_client.get_executor(pure=False))
    assert on_dask == alone


def test_chunk_sizes_shrink_towards_the_end() -> None:
    policy = Chunking()
    assert policy.size(2000, 4) == 64
    assert policy.size(100, 4) == 13
    assert policy.size(8, 4) == 1 and policy.size(1, 4) == 1
    assert Chunking(max_count=1).size(2000, 4) == 1


@pytest.mark.timeout(60)
def test_a_file_too_large_for_a_chunk_runs_alone(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    files = folder_with(Path("f"), {"c01x.yaml": padded(1)}, 4)
    seen: list[tuple[Any, ...]] = []

    class Recording(WorkerPool):
        def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
            seen.append(args[0] if isinstance(args[0], tuple) else (args[0],))
            return super().submit(fn, *args, **kwargs)

    pool = Recording(1)
    try:
        results, _ = run_files(files, pool, window=1, chunking=Chunking(tail=1))
    finally:
        pool.shutdown()
    assert [tuple(paths) for paths in seen] == [
        ("f/c00.yaml", "f/c01.yaml"),
        ("f/c01x.yaml",),
        ("f/c02.yaml", "f/c03.yaml"),
    ]
    assert all(isinstance(r, Result) and r.status == "ok" for r in results)
