"""The terminal side of watch: events as JSON lines or as a text view of what changed
(old → new), and `run_watch`, which runs a watch until Ctrl-C or SIGTERM.

Data goes to stdout (flushed per event, so a pipe can follow it); diagnostics
— ``path:line:col: error[code] message`` with a ``help:`` line — go to
stderr. Colour only on a terminal and never with NO_COLOR (rich honours both).
"""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import IO, Any

from engine.cli.render import console, render_issues, result_issues
from engine.cli.streams import Glyphs, ReaderGone, glyphs, silence_stdout
from engine.errors import printable
from engine.format.loader import DEFAULT_MAX_BYTES
from engine.result import Result, fmt, to_json
from engine.watching.events import DEFAULT_DEBOUNCE_MS, DEFAULT_POLL_INTERVAL
from engine.watching.session import WatchEvent, WatchHandle, watch

_MAX_ROWS = 40
"""Larger circuits show the output and the wires that changed, not every wire."""
_CHANGED = "bold yellow"
_NEW = "green"


class _Terminate(Exception):
    """SIGTERM, raised in the main thread like Ctrl-C's KeyboardInterrupt."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise _Terminate


def run_watch(
    paths: Sequence[Path],
    *,
    json: bool = False,
    poll: bool = False,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    debounce_ms: float = DEFAULT_DEBOUNCE_MS,
    max_bytes: int = DEFAULT_MAX_BYTES,
    graph: Path | None = None,
) -> int:
    """Watch `paths`, printing every event, until Ctrl-C or SIGTERM; return the exit code.

    Both signals end the watch cleanly with exit code 0. A reader that closes
    the pipe ends it too (also 0). A missing path is a usage error (2). With
    `graph`, each event also rewrites that folder's ``<circuit>.svg``.
    """
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        print(f"error: no such file or folder: {', '.join(repr(m) for m in missing)}", file=sys.stderr)
        return 2
    if graph is not None and not graph.is_dir():
        print(f"error: --graph needs an existing folder, got '{graph}'", file=sys.stderr)
        return 2
    show = _with_graph(write_json if json else write_text, graph)
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    handle: WatchHandle | None = None
    code = 0
    try:
        handle = watch(
            paths, show, debounce_ms=debounce_ms, poll=poll, poll_interval=poll_interval, max_bytes=max_bytes
        )
        handle.wait()
    except (KeyboardInterrupt, _Terminate):
        pass
    except (BrokenPipeError, ReaderGone):
        # the reader is gone: nothing more can be shown, and Python's final flush must not complain
        silence_stdout()
    except OSError as exc:  # e.g. the system's limit of native watches is exhausted
        print(f"error: cannot watch: {exc}", file=sys.stderr)
        print("  help: try --poll, or raise fs.inotify.max_user_watches", file=sys.stderr)
        code = 2
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not interrupt the cleanup
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if handle is not None:
            handle.stop()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, previous)
    return code


def _with_graph(show: Callable[[WatchEvent], None], graph: Path | None) -> Callable[[WatchEvent], None]:
    if graph is None:
        return show
    from engine.cli.graph import graph_writer

    draw = graph_writer(graph)

    def both(event: WatchEvent) -> None:
        draw(event)  # the picture first: whoever reads the printed event finds it up to date
        show(event)

    return both


def write_json(event: WatchEvent, stream: IO[str] | None = None, errors: IO[str] | None = None) -> None:
    """The event as one JSON line, flushed at once; its diagnostics on stderr, as with ``circuit eval``."""
    out = stream or sys.stdout
    out.write(to_json(event.to_dict()) + "\n")
    out.flush()
    _write_issues(event, errors)


def _write_issues(event: WatchEvent, stream: IO[str] | None = None) -> None:
    """The event's errors, failed checks and warnings as ``path:line:col: error[code] message`` + hint."""
    result = event.result
    issues = [i.at(event.path) for i in event.errors] if event.stale else result_issues(result) if result else []
    if issues:
        render_issues(issues, stream or sys.stderr)


def write_text(event: WatchEvent, stream: IO[str] | None = None, errors: IO[str] | None = None) -> None:
    """The event for people: a header, the values and gradients with changes marked, issues on stderr."""
    out = console(stream or sys.stdout)
    head = f"{time.strftime('%H:%M:%S')} {event.kind} {printable(event.path)}"
    if event.kind != "initial":
        head += f" ({event.latency_ms:.1f} ms)"
    result = event.result
    out.print(head, style="dim", markup=False)
    if event.kind == "rearmed":
        out.print("the folder was deleted and is back: watching it again", markup=False)
    elif event.kind == "removed" or result is None:
        pass
    elif event.stale:
        out.print(
            f"broken: keeping the last good result (stale): {result.output} = {fmt(result.value)}",
            style="bold red",
            markup=False,
        )
    elif result.broken:
        out.print(f"{printable(result.circuit)}: {result.status}", style="bold red", markup=False)
    else:
        _table(out, result, event.previous if event.kind != "initial" else None, glyphs(stream or sys.stdout))
    (stream or sys.stdout).flush()
    _write_issues(event, errors)


def _table(out: Any, result: Result, previous: Result | None, marks: Glyphs) -> None:
    from rich.table import Table
    from rich.text import Text

    same_output = previous is not None and previous.output == result.output
    arrow = marks.arrow
    title = Text(f"{printable(result.circuit)}: {result.output} = ")
    title.append_text(
        _cell(result.value, previous.value if same_output and previous else None, compare=same_output, arrow=arrow)
    )
    order = [result.output or "", *(w for w in result.values if w != result.output)]
    changed = [w for w in order if previous is not None and _differs(result, previous, w, same_output)]
    if len(order) <= _MAX_ROWS:
        shown = order
    elif previous is None:
        shown = order[:_MAX_ROWS]
    else:  # a large circuit: the output and what changed
        shown = [result.output or "", *[w for w in changed if w != result.output]][:_MAX_ROWS]
    table = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
    table.add_column("wire")
    table.add_column("value", justify="right")
    table.add_column(f"{marks.partial}{result.output}/{marks.partial}wire", justify="right")
    for wire in shown:
        known = previous is not None and wire in previous.values
        table.add_row(
            Text(wire, style="bold" if wire == result.output else ""),
            _cell(
                result.values[wire],
                previous.values.get(wire) if known and previous else None,
                compare=previous is not None,
                added=previous is not None and not known,
                arrow=arrow,
            ),
            _cell(
                result.grads[wire],
                previous.grads.get(wire) if known and same_output and previous else None,
                compare=same_output,
                added=previous is not None and not known,
                arrow=arrow,
            ),
        )
    out.print(table)
    hidden = len(order) - len(shown)
    if hidden:
        note = f"{marks.ellipsis} {hidden} more wire{'s' if hidden != 1 else ''} not shown"
        if previous is not None:
            note += f" ({len(set(changed) - set(shown))} of them changed)"
        out.print(note, style="dim", markup=False)
    if previous is not None and not changed:
        out.print("no value or gradient changed", style="dim", markup=False)
    if result.checks:
        passed = sum(c.passed for c in result.checks)
        out.print(
            f"checks: {passed}/{len(result.checks)} passed",
            markup=False,
            style=None if passed == len(result.checks) else "bold red",
        )


def _differs(result: Result, previous: Result, wire: str, same_output: bool) -> bool:
    if wire not in previous.values:
        return True
    return result.values[wire] != previous.values[wire] or (same_output and result.grads[wire] != previous.grads[wire])


def _cell(value: float | None, old: float | None, *, compare: bool, added: bool = False, arrow: str = "→") -> Any:
    """``old → new`` highlighted when the number changed; a wire that did not exist before is marked new."""
    from rich.text import Text

    if added:
        return Text(f"{fmt(value)} (new)", style=_NEW)
    if compare and old is not None and old != value:
        return Text(f"{fmt(old)} {arrow} {fmt(value)}", style=_CHANGED)
    return Text(fmt(value))
