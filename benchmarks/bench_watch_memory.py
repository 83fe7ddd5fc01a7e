"""Memory of a long-running watch under structural edits of a big file.

A watch keeps compiled programs so that an edit back to a known structure skips compiling; this
measures that the memory they take stays bounded: the resident size of the process after every
block of structural saves of one big circuit (each save changes ops, so each is a new structure).
The table goes into ``docs/performance.md`` between the ``bench:watch-memory`` markers.

    python benchmarks/bench_watch_memory.py [--gates 10000] [--saves 80]
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import engine  # noqa: E402
from benchmarks.docs import write_section  # noqa: E402


def _rss_mb() -> float:
    with open("/proc/self/statm", encoding="ascii") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _circuit(gates: int, variant: int) -> str:
    # gate number `variant` is a max: every variant is a structure of its own
    lines = ["inputs: {x: 1.0001, y: 2}", "gates:", "  g0: {op: add, in: [x, y]}"]
    lines += [
        f"  g{i}: {{op: {'max' if i == variant else 'mul' if i % 2 else 'add'}, in: [g{i - 1}, x]}}"
        for i in range(1, gates)
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gates", type=int, default=10_000)
    parser.add_argument("--saves", type=int, default=80)
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-watch-memory-"))
    target = folder / "big.yaml"
    target.write_text(_circuit(args.gates, 0))
    arrived = threading.Semaphore(0)
    rows = []
    with engine.watch([folder], lambda event: arrived.release()):
        arrived.acquire()
        gc.collect()
        rows.append((0, _rss_mb()))
        for save in range(1, args.saves + 1):
            target.write_text(_circuit(args.gates, save))
            if not arrived.acquire(timeout=120):
                raise SystemExit(f"no event for save {save}")
            if save % max(args.saves // 8, 1) == 0 or save == args.saves:
                gc.collect()
                rows.append((save, _rss_mb()))
    table = "\n".join(
        [
            f"One {args.gates:,}-gate circuit, {args.saves} structural saves, `engine.watch` in this process; "
            f"resident size after each block of saves (Python {sys.version.split()[0]}).",
            "",
            "| saves | resident MB |",
            "|---:|---:|",
            *(f"| {save} | {mb:.0f} |" for save, mb in rows),
        ]
    )
    if not args.no_write:
        write_section("watch-memory", table)
    print(table)


if __name__ == "__main__":
    main()
