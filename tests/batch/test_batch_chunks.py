"""Small circuits travel in chunks, and a chunk changes nothing a user can see: each
circuit keeps its own result, time limit and worker death, in path order."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from mixed_suite import CYCLE, FAILING, FAULT, INVALID, comparable, slow_circuit

import engine
from engine.batching.pool import ProcessPool
from engine.batching.runner import Chunking, kill_margin, run
from engine.result import Result

#: Everything in one chunk: with a window of one task and tail 1, the first chunk takes all files.
ONE_CHUNK = Chunking(max_count=1000, max_bytes=1 << 24, solo_bytes=1 << 24, tail=1)


def small(k: int) -> str:
    return f"inputs: {{x: {k}, y: 2}}\ngates:\n  p: {{op: mul, in: [x, y]}}\n  f: {{op: add, in: [p, 1]}}\n"


def folder_with(root: Path, special: dict[str, str], count: int) -> list[str]:
    """`count` small good circuits c00.yaml… plus `special` files; all paths, sorted."""
    root.mkdir()
    for k in range(count):
        (root / f"c{k:02d}.yaml").write_text(small(k))
    for name, text in special.items():
        (root / name).write_text(text)
    return sorted(str(p) for p in root.iterdir())


def watch_pids(pool: ProcessPool, stop: threading.Event, seen: set[int]) -> None:
    while not stop.is_set():
        seen.update(pid for pid, _ in pool.running())
        time.sleep(0.005)


@pytest.mark.timeout(120)
def test_a_killed_worker_fails_only_the_circuit_it_was_running(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    files = folder_with(Path("f"), {"c04x.yaml": slow_circuit()}, 8)
    victim_path = "f/c04x.yaml"
    arrived: list[str] = []
    box: dict[str, Any] = {}
    pool = ProcessPool(1)
    runner = threading.Thread(
        target=lambda: box.update(
            out=run(files, pool, window=1, check=True, chunking=ONE_CHUNK, on_result=lambda r: arrived.append(r.path))
        )
    )
    runner.start()
    victim, deadline = None, time.monotonic() + 60
    while victim is None and time.monotonic() < deadline:
        for pid, args, done in pool.progress():
            assert len(args[0]) == 9  # the whole folder is one task
            if args[0][done] == victim_path:
                victim = pid
        time.sleep(0.005)
    assert victim is not None, "the slow circuit never started"
    os.kill(victim, signal.SIGKILL)
    runner.join(60)
    pool.shutdown()
    results, skipped = box["out"]
    assert skipped == []
    assert [r.path for r in results] == files
    assert {r.path: r.status for r in results} == {p: "error" if p == victim_path else "ok" for p in files}
    assert [e.render() for e in results[5].errors] == [
        "f/c04x.yaml: error[worker-died] the worker process evaluating this circuit died (killed by SIGKILL)"
        "\n  help: it may have run out of memory or been killed; the other circuits were not affected"
    ]
    assert [r.value for r in results if r.ok] == [2 * k + 1 for k in range(8)]
    # each circuit reported once: those before the victim as they finished, then the victim, then the re-run rest
    assert arrived == files


@pytest.mark.timeout(120)
def test_the_time_limit_is_per_circuit_inside_a_chunk(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    timeout = 0.5
    slow = {f"c{k:02d}s.yaml": slow_circuit() for k in range(4)}
    files = folder_with(Path("f"), slow, 4)
    # the chunk runs for more than 4 x 0.5 s, longer than the pool's kill limit of 1.5 s: only a
    # clock restarted at each circuit keeps the worker alive
    pool = ProcessPool(1, kill_after=timeout + kill_margin(timeout))
    stop, pids = threading.Event(), set[int]()
    watcher = threading.Thread(target=watch_pids, args=(pool, stop, pids))
    watcher.start()
    started = time.monotonic()
    results, skipped = run(files, pool, window=1, check=True, timeout=timeout, chunking=ONE_CHUNK)
    took = time.monotonic() - started
    stop.set()
    watcher.join()
    pool.shutdown()
    assert took > 2.0 and len(pids) == 1  # one task, one worker, never killed
    assert [r.path for r in results] == files and skipped == []
    for result in results:
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
    with ProcessPool(1) as pool:
        results, skipped = run(files, pool, window=1, fail_fast=True, chunking=ONE_CHUNK)
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
        "c50e.yaml": slow_circuit(3000),
    }  # large enough to be a task of its own
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
    files = folder_with(Path("f"), {"c01x.yaml": slow_circuit(3000)}, 4)
    seen: list[tuple[Any, ...]] = []

    class Recording(ProcessPool):
        def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
            seen.append(args[0] if isinstance(args[0], tuple) else (args[0],))
            return super().submit(fn, *args, **kwargs)

    with Recording(1) as pool:
        results, _ = run(files, pool, window=1, chunking=Chunking(tail=1))
    assert [tuple(paths) for paths in seen] == [
        ("f/c00.yaml", "f/c01.yaml"),
        ("f/c01x.yaml",),
        ("f/c02.yaml", "f/c03.yaml"),
    ]
    assert all(isinstance(r, Result) and r.status == "ok" for r in results)
