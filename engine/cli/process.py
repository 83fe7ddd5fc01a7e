"""The `circuit` process around a command: the garbage collector's settings and the exit code.

A command first imports what it uses — typer, pydantic, networkx, yaml and the engine: tens of
thousands of objects that live until the process ends — and Python's cyclic collector walks them
again and again while they are built, finding nothing. So the process starts with a young
generation large enough that start-up runs no collection, and at exit everything is frozen out
of the interpreter's last collection (which would walk it all once more); a command that runs on
(watch, serve, batch) calls `steady` once its modules are imported, which restores the usual
thresholds. Kept for the saving measured on `circuit eval` of the seed: docs/performance.md,
section "internals". In-process use (`engine.cli.app.main`, the tests) never changes the collector.
"""

from __future__ import annotations

import gc
import sys

_START_THRESHOLD = 100_000
"""Allocations before a young collection while a command starts (more than start-up makes)."""
_USUAL = gc.get_threshold()
_starting = False


def console_main() -> None:
    """Console-script entry point (like pytest's): exits with `engine.cli.app.main`'s code."""
    global _starting
    _starting = True
    gc.set_threshold(_START_THRESHOLD, *_USUAL[1:])
    from engine.cli.app import main

    code = main()
    gc.freeze()
    sys.exit(code)


def steady() -> None:
    """For a command that runs on: collections as usual from now on."""
    global _starting
    if _starting:
        _starting = False
        gc.set_threshold(*_USUAL)
