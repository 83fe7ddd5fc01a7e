"""Benchmark of `circuit batch`: throughput, per-circuit overhead, start-up time.

Generates 2,000 small circuits (10–50 gates) and 20 large ones (10,000 gates) in a
temporary folder, then measures:

* pure evaluation: `evaluate_file` on every file in a plain loop (the floor);
* the batch runner with ``jobs=1`` (in-process) and ``jobs=2`` (process pool):
  circuits per second, and the overhead per circuit above pure evaluation;
* ``jobs=2`` with one circuit per task (no chunks), to show what chunking buys;
* ``circuit --help`` start-up time against a bare ``python -c pass``.

Targets on a 2-core machine: overhead ≤ 2 ms per small circuit; ``jobs=2`` ≥ 1.7×
``jobs=1`` on the large set; ``circuit --help`` ≤ 150 ms.

Run: ``python benchmarks/bench_batch.py`` (``--small/--large/--gates`` shrink it).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout: `benchmarks` is a package

from benchmarks.docs import add_docs_option, machine, write_section  # noqa: E402

BINARY = ("add", "sub", "mul", "max", "min")
UNARY = ("tanh", "sigmoid")


def circuit_text(gates: int, rng: random.Random) -> str:
    """A valid circuit of about `gates` gates whose every wire reaches the output.

    Binary gates read only inputs and unary gates (values in [-1, 1]), and each
    unary gate squashes the binary gate before it, so nothing overflows.
    """
    n_inputs = rng.randint(2, 4)
    lines = ["inputs:", *(f"  x{i}: {rng.uniform(-1, 1):.6f}" for i in range(n_inputs)), "gates:"]
    bounded = [f"x{i}" for i in range(n_inputs)]
    previous = "x0"
    for j in range(max(1, gates // 2)):
        other = bounded[j + 1] if j + 1 < n_inputs else rng.choice(bounded[-20:])
        lines.append(f"  b{j}: {{op: {rng.choice(BINARY)}, in: [{previous}, {other}]}}")
        lines.append(f"  u{j}: {{op: {rng.choice(UNARY)}, in: [b{j}]}}")
        previous = f"u{j}"
        bounded.append(previous)
    for i in range(max(1, gates // 2) + 1, n_inputs):  # tiny circuits: use every input
        lines.append(f"  e{i}: {{op: add, in: [{previous}, x{i}]}}")
        previous = f"e{i}"
    lines.append(f"output: {previous}")
    return "\n".join(lines) + "\n"


def generate(folder: Path, count: int, low: int, high: int, seed: int) -> list[Path]:
    rng = random.Random(seed)
    folder.mkdir(parents=True)
    paths = []
    for i in range(count):
        path = folder / f"c{i:05d}.yaml"
        path.write_text(circuit_text(rng.randint(low, high), rng))
        paths.append(path)
    return paths


def best_times(calls: dict[str, Any], repeat: int) -> dict[str, float]:
    """Best wall-clock time of each call over `repeat` rounds.

    The calls take turns within each round, so that a burst of load from elsewhere
    on the machine slows all of them rather than one.
    """
    best = dict.fromkeys(calls, float("inf"))
    for _ in range(repeat):
        for name, fn in calls.items():
            started = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - started)
    return best


def startup_ms(argv: list[str], runs: int = 15) -> float:
    """Median wall-clock time of running `argv`."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def measure(name: str, folder: Path, count: int, repeat: int) -> dict[str, float]:
    import engine
    from engine.batching.runner import ONE_PER_TASK
    from engine.evaluating import evaluate_file

    files = sorted(folder.glob("*.yaml"))
    best = best_times(
        {
            "pure": lambda: [evaluate_file(p) for p in files],
            "jobs1": lambda: engine.batch([folder], jobs=1),
            "jobs2": lambda: engine.batch([folder], jobs=2),
            "jobs2_unchunked": lambda: engine.batch([folder], jobs=2, chunking=ONE_PER_TASK),
        },
        repeat,
    )
    pure, one, two, unchunked = best["pure"], best["jobs1"], best["jobs2"], best["jobs2_unchunked"]
    report = engine.batch([folder], jobs=2)
    assert report.summary["ok"] == count, report.summary
    row = {
        "pure_s": pure,
        "jobs1_s": one,
        "jobs2_s": two,
        "pure_cps": count / pure,
        "jobs1_cps": count / one,
        "jobs2_cps": count / two,
        "overhead1_ms": (one - pure) / count * 1000,
        "speedup": one / two,
        "unchunked_speedup": one / unchunked,
    }
    print(
        f"{name:6} {count:5d} circuits | pure {row['pure_cps']:8.1f}/s | jobs 1 {row['jobs1_cps']:8.1f}/s "
        f"(overhead {row['overhead1_ms']:+.3f} ms/circuit) | jobs 2 {row['jobs2_cps']:8.1f}/s "
        f"| jobs 2 / jobs 1 = {row['speedup']:.2f}x (one circuit per task: {row['unchunked_speedup']:.2f}x)"
    )
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", type=int, default=2000, help="small circuits (10–50 gates)")
    parser.add_argument("--large", type=int, default=20, help="large circuits")
    parser.add_argument("--gates", type=int, default=10_000, help="gates per large circuit")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    add_docs_option(parser)
    args = parser.parse_args(argv)
    where = machine()

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        generate(root / "small", args.small, 10, 50, seed=1)
        generate(root / "large", args.large, args.gates, args.gates, seed=2)
        print(
            f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; "
            f"{args.small} small circuits (10-50 gates), {args.large} large ({args.gates} gates); "
            f"best of {args.repeat}"
        )
        small = measure("small", root / "small", args.small, args.repeat) if args.small else None
        large = measure("large", root / "large", args.large, args.repeat) if args.large else None

    circuit = str(Path(sys.executable).with_name("circuit"))
    bare = startup_ms([sys.executable, "-c", "pass"])
    helped = startup_ms([circuit, "--help"])
    print(f"start-up: circuit --help {helped:.0f} ms (python -c pass {bare:.0f} ms)")

    verdicts = [("circuit --help <= 150 ms", helped <= 150.0)]
    if small:
        verdicts.append(("overhead per small circuit (jobs 1) <= 2 ms", small["overhead1_ms"] <= 2.0))
    if large:
        verdicts.append(("jobs 2 >= 1.7x jobs 1 on the large set", large["speedup"] >= 1.7))
    for what, met in verdicts:
        print(f"  {'met    ' if met else 'MISSED '} {what}")
    if not args.no_docs:
        given = sys.argv[1:] if argv is None else argv
        command = " ".join(["python benchmarks/bench_batch.py", *given])
        rows = [(name, count, row) for name, count, row in (("small", args.small, small), ("large", args.large, large))]
        table = [
            "| circuits | plain loop /s | jobs 1 /s | overhead per circuit (jobs 1) | jobs 2 /s | jobs 2 ÷ jobs 1 | "
            "one circuit per task: jobs 2 ÷ jobs 1 |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for name, count, row in rows:
            if row:
                table.append(
                    f"| {count:,} {name} | {row['pure_cps']:.1f} | {row['jobs1_cps']:.1f} | "
                    f"{row['overhead1_ms']:+.3f} ms | {row['jobs2_cps']:.1f} | {row['speedup']:.2f}× | "
                    f"{row['unchunked_speedup']:.2f}× |"
                )
        table += [
            "",
            f"Start-up: `circuit --help` {helped:.0f} ms (`python -c pass` {bare:.0f} ms).",
            "",
            *(f"- {'met' if met else 'NOT met'}: {what}" for what, met in verdicts),
        ]
        write_section("batch", f"{where} `{command}`, best of {args.repeat}:\n\n" + "\n".join(table), args.docs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
