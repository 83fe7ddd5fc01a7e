"""Near-linear or not: each input family that once hid a quadratic trap, timed at N and 8N.

Every family is measured through what users call (the public API, or the ``circuit`` command where
that is the entry point), best of a few runs, and reported as the ratio of the two times. Linear work
gives 8×; the target is ≤ 12× (some slack for caches and allocation). The table is written into
``docs/performance.md`` between the ``bench:scaling`` markers.

    python benchmarks/bench_scaling.py            # full sizes
    python benchmarks/bench_scaling.py --quick    # small sizes (the smoke test)
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import engine  # noqa: E402
from benchmarks.docs import write_section  # noqa: E402

TARGET = 12.0


def _misspelt(n: int) -> Callable[[], None]:
    lines = ["inputs:", *(f"  w{i}: 1" for i in range(n)), "gates:"]
    lines += [f"  g{i}: {{op: add, in: [w{i}, wx{i}]}}" for i in range(n)]
    text = "\n".join(lines) + "\n"

    def run() -> None:
        try:
            engine.parse_circuit(text, path="misspelt.yaml")
        except engine.CircuitError:
            return
        raise AssertionError("the misspelt file loaded")

    return run


def _wide_gate(n: int) -> Callable[[], None]:
    names = [f"x{i}" for i in range(n)]
    text = "inputs:\n" + "".join(f"  {x}: 1\n" for x in names) + f"gates:\n  f: {{op: add, in: [{', '.join(names)}]}}\n"

    def run() -> None:
        assert engine.parse_circuit(text).evaluate().value == n

    return run


def _chain(n: int) -> Callable[[], None]:
    text = "inputs: {x: 1.0001, y: 2}\ngates:\n  g0: {op: add, in: [x, y]}\n"
    text += "".join(f"  g{i}: {{op: {'mul' if i % 2 else 'add'}, in: [g{i - 1}, x]}}\n" for i in range(1, n))

    def run() -> None:
        assert engine.parse_circuit(text).evaluate().status == "ok"

    return run


def _csv_header(folder: Path, n: int, misspelt: bool) -> Callable[[], None]:
    names = [f"x{i}" for i in range(n)]
    circuit = folder / f"wide{n}.yaml"
    circuit.write_text("inputs:\n" + "".join(f"  {x}: 1\n" for x in names) + "gates:\n  f: {op: add, in: [x0, x1]}\n")
    data = folder / f"wide{n}{'-bad' if misspelt else ''}.csv"
    header = [f"q{x}" if misspelt else x for x in names]
    data.write_text(",".join(header) + "\n" + ",".join("1" for _ in names) + "\n")
    command = [
        sys.executable,
        "-m",
        "engine",
        "eval",
        str(circuit),
        "--inputs",
        str(data),
        "--output",
        str(folder / "out"),
    ]

    def run() -> None:
        done = subprocess.run(command, capture_output=True, text=True)
        assert done.returncode == (1 if misspelt else 0), done.stderr[-500:]

    return run


def _watch_files(folder: Path, n: int) -> Callable[[], None]:
    root = folder / f"watched{n}"
    root.mkdir()
    seed = (Path(__file__).resolve().parent.parent / "circuits" / "seed.yaml").read_text()
    for i in range(n):
        (root / f"c{i}.yaml").write_text(seed)

    def run() -> None:
        events: list[object] = []
        with engine.watch([root], events.append):
            pass  # watch returns once every initial event was delivered
        assert len(events) == n

    return run


def _best(run: Callable[[], None], repeat: int) -> float:
    run()  # warm-up: imports, caches
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one run each (smoke test)")
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    args = parser.parse_args()
    scale, repeat = (8, 1) if args.quick else (1, 3)
    folder = Path(tempfile.mkdtemp(prefix="bench-scaling-"))
    families: list[tuple[str, str, int, Callable[[int], Callable[[], None]]]] = [
        ("misspelt references", "references", 1_000, _misspelt),
        ("one wide gate (eval)", "inputs", 12_500, _wide_gate),
        ("long chain (load + eval)", "gates", 2_500, _chain),
        ("wide CSV header (`eval --inputs`)", "columns", 5_000, lambda n: _csv_header(folder, n, False)),
        ("misspelt CSV header (`eval --inputs`)", "columns", 2_000, lambda n: _csv_header(folder, n, True)),
        ("files in one watch (initial events)", "files", 50, lambda n: _watch_files(folder, n)),
    ]
    rows = []
    try:
        for name, unit, base, make in families:
            n = max(base // scale, 1)
            small, large = _best(make(n), repeat), _best(make(8 * n), repeat)
            ratio = large / small
            rows.append(
                f"| {name} | {n:,} → {8 * n:,} {unit} | {small * 1000:.1f} ms | {large * 1000:.1f} ms "
                f"| {ratio:.1f}× | {'met' if ratio <= TARGET else 'MISSED'} |"
            )
            print(rows[-1], flush=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    table = "\n".join(
        [
            f"Python {sys.version.split()[0]}, best of {repeat}{' (quick sizes)' if args.quick else ''}; "
            f"target: 8× the size costs ≤ {TARGET:.0f}× the time.",
            "",
            "| family | sizes | time at N | time at 8N | ratio | target |",
            "|---|---|---:|---:|---:|---|",
            *rows,
        ]
    )
    if not args.no_write:
        write_section("scaling", table)
    print(table)


if __name__ == "__main__":
    main()
