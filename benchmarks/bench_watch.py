"""Save → event latency of `engine.watch`, above the debounce.

Saves a circuit repeatedly — in-place writes and atomic renames of value-only
edits (which reuse the compiled program), and structural edits (which recompile) —
at several sizes, and measures the time from the end of each save to the
delivery of its event, minus the debounce (the quiet period is waited on
purpose). Targets: median ≤ 30 ms and p95 ≤ 100 ms above the debounce for
circuits up to 1,000 gates.

    python benchmarks/bench_watch.py [--sizes 10 100 1000] [--saves 40] [--debounce-ms 50] [--poll] [--cli]

``--cli`` measures ``circuit watch --format json`` end to end, through its pipe.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import queue
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout: `benchmarks` and `tests` are packages

import engine  # noqa: E402
from benchmarks.docs import add_docs_option, machine, write_section  # noqa: E402
from tests.watchkit import save_atomic, save_in_place  # noqa: E402 - the saves the watch tests make

TARGET_MEDIAN_MS = 30.0
TARGET_P95_MS = 100.0


def circuit(gates: int, x0: float, *, structure: int = 0) -> str:
    """A circuit of `gates` gates with fan-out and bounded values.

    `x0` is a value (a value-only edit); `structure` changes a constant of the
    wiring, which is part of the structural key (every new one compiles afresh).
    """
    lines = ["inputs:"] + [f"  x{i}: {x0 if i == 0 else 0.1 * i}" for i in range(10)] + ["gates:"]
    lines.append(f"  g0: {{op: add, in: [{', '.join(f'x{i}' for i in range(10))}]}}")  # every input is used
    for i in range(1, gates):
        prev, far, x = f"g{i - 1}", f"g{i // 2}", f"x{i % 10}"
        kind = i % 4
        if kind == 0:
            lines.append(f"  g{i}: {{op: tanh, in: [{prev}]}}")
        elif kind == 1:
            lines.append(f"  g{i}: {{op: add, in: [{prev}, {x}]}}")
        elif kind == 2:
            lines.append(f"  g{i}: {{op: mul, in: [{prev}, {0.5 + 1e-6 * structure if i == 2 else 0.5}]}}")
        else:
            lines.append(f"  g{i}: {{op: add, in: [{prev}, {far}]}}")
    lines.append(f"output: g{gates - 1}")
    return "\n".join(lines) + "\n"


def percentile(data: list[float], q: float) -> float:
    ordered = sorted(data)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


class ApiWatch:
    """`engine.watch` in this process; events arrive as `Result` dicts."""

    def __init__(self, folder: str, debounce_ms: float, poll: bool) -> None:
        self.inbox: queue.SimpleQueue[tuple[float, dict[str, Any]]] = queue.SimpleQueue()
        self.handle = engine.watch(
            [folder],
            lambda e: self.inbox.put((time.perf_counter(), e.to_dict())),
            debounce_ms=debounce_ms,
            poll=poll,
            poll_interval=0.05,
        )

    def close(self) -> None:
        self.handle.stop()


class CliWatch:
    """``circuit watch --format json`` in a subprocess, read through its pipe."""

    def __init__(self, folder: str, debounce_ms: float, poll: bool) -> None:
        self.inbox: queue.SimpleQueue[tuple[float, dict[str, Any]]] = queue.SimpleQueue()
        command = [
            str(Path(sys.executable).parent / "circuit"),
            "watch",
            "--format",
            "json",
            "--debounce-ms",
            str(int(debounce_ms)),
            *(["--poll", "--poll-interval", "0.05"] if poll else []),
            folder,
        ]
        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.inbox.put((time.perf_counter(), json.loads(line)))

    def close(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout=30)


def measure(
    gates: int,
    save: Callable[[Path, str], None],
    saves: int,
    debounce_ms: float,
    poll: bool,
    structural: bool,
    cli: bool,
) -> tuple[list[float], list[float]]:
    """Latencies above the debounce (ms) and evaluation times (ms) of `saves` saves."""
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "bench.yaml"
        target.write_text(circuit(gates, 0.0))
        watch = (CliWatch if cli else ApiWatch)(tmp, debounce_ms, poll)
        try:
            watch.inbox.get(timeout=30)  # the initial event
            latencies, evals = [], []
            for k in range(1, saves + 1):
                save(target, circuit(gates, 0.001 * k, structure=k if structural else 0))
                saved = time.perf_counter()
                received, event = watch.inbox.get(timeout=30)
                result = event["result"]
                if result is None or result["status"] not in ("ok", "failed") or event.get("stale"):
                    raise RuntimeError(f"unexpected event {event['event']} {result and result['status']}")
                latencies.append((received - saved) * 1000 - debounce_ms)
                evals.append(result["elapsed_ms"])
                time.sleep(random.uniform(0.01, 0.03))  # let the editor "type" before the next save
        finally:
            watch.close()
    return latencies, evals


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--saves", type=int, default=40)
    parser.add_argument("--debounce-ms", type=float, default=50.0)
    parser.add_argument("--poll", action="store_true", help="use the polling observer (50 ms interval)")
    parser.add_argument("--cli", action="store_true", help="run `circuit watch --format json` and read its pipe")
    add_docs_option(parser)
    args = parser.parse_args(argv)
    random.seed(1)
    where = machine()
    table = [
        "| gates | save | median ms | p95 ms | max ms | evaluation ms | target |",
        "|---:|---|---:|---:|---:|---:|---|",
    ]
    print(
        f"# watch latency above a {args.debounce_ms:g} ms debounce; {args.saves} saves per row; "
        f"{'polling' if args.poll else 'native'} observer; {'CLI through a pipe' if args.cli else 'Python API'}; "
        f"Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs"
    )
    print(f"{'gates':>6} {'save':<22} {'median ms':>10} {'p95 ms':>8} {'max ms':>8} {'eval ms':>8}  target")
    ok = True
    modes = [
        ("in-place, values", save_in_place, False),
        ("atomic rename, values", save_atomic, False),
        ("in-place, structural", save_in_place, True),
    ]
    for gates in args.sizes:
        for label, save, structural in modes:
            latencies, evals = measure(gates, save, args.saves, args.debounce_ms, args.poll, structural, args.cli)
            median, p95 = statistics.median(latencies), percentile(latencies, 0.95)
            met = median <= TARGET_MEDIAN_MS and p95 <= TARGET_P95_MS
            ok &= met or args.poll
            print(
                f"{gates:>6} {label:<22} {median:>10.1f} {p95:>8.1f} {max(latencies):>8.1f} "
                f"{statistics.median(evals):>8.2f}  {'met' if met else 'MISSED'}",
                flush=True,
            )
            table.append(
                f"| {gates:,} | {label} | {median:.1f} | {p95:.1f} | {max(latencies):.1f} | "
                f"{statistics.median(evals):.2f} | {'met' if met else 'missed'} |"
            )
    if not args.no_docs:
        given = sys.argv[1:] if argv is None else argv
        command = " ".join(["python benchmarks/bench_watch.py", *given])
        how = (
            f"{args.saves} saves per row, {args.debounce_ms:g} ms debounce, "
            f"{'polling' if args.poll else 'native'} observer, {'CLI through a pipe' if args.cli else 'Python API'}"
        )
        targets = f"Targets: median ≤ {TARGET_MEDIAN_MS:g} ms and p95 ≤ {TARGET_P95_MS:g} ms above the debounce."
        write_section("watch", f"{where} `{command}` ({how}):\n\n" + "\n".join(table) + f"\n\n{targets}", args.docs)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
