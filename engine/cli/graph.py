"""``circuit graph``: a circuit as a picture (SVG, DOT or Mermaid) with every value and
gradient; the pictures ``circuit watch --graph OUT_DIR`` keeps up to date; and the
chain rule that ``circuit eval --explain`` prints.

An invalid file gets its located errors and exit 1, as with ``eval``; a circuit
whose evaluation faults still gets its picture, the faulting gate marked, and exit 1.
"""

# No `from __future__ import annotations` here: typer reads every command's annotations on each
# run, and objects cost it far less than strings it must evaluate (part of the start-up figure).

import dataclasses
import enum
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from engine.result import Result

if TYPE_CHECKING:
    from engine.watching.session import WatchEvent


# engine.format.loader's, spelt out so that `circuit --help` need not import the loader; a test keeps them equal
DEFAULT_MAX_BYTES = 100 * 1024 * 1024


class GraphFormat(enum.StrEnum):
    svg = "svg"
    dot = "dot"
    mermaid = "mermaid"


def graph_command(
    path: Annotated[Path, typer.Argument(help="The circuit file.")],
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", metavar="NAME=VALUE", help="Override an input for this evaluation (repeatable)."),
    ] = None,
    format_: Annotated[GraphFormat, typer.Option("--format", help="Picture format.")] = GraphFormat.svg,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", metavar="FILE", help="Write the picture to FILE (atomically).")
    ] = None,
    focus: Annotated[
        str | None, typer.Option("--focus", metavar="WIRE", help="Draw only the neighbourhood of this wire.")
    ] = None,
    depth: Annotated[
        int | None,
        typer.Option("--depth", min=0, metavar="N", help="How many edges from the focus to draw (default 3)."),
    ] = None,
    whole: Annotated[
        bool, typer.Option("--whole", help="Draw every gate, even above 300 (a big picture, hard to read).")
    ] = False,
    max_bytes: Annotated[
        int, typer.Option("--max-bytes", min=1, help="Refuse files larger than this many bytes.")
    ] = DEFAULT_MAX_BYTES,
) -> None:
    """Draw a circuit with every value and gradient: SVG (default), Graphviz DOT or Mermaid."""
    from engine.circuit import load_circuit
    from engine.cli.app import ExitCode, UsageError, parse_assignments
    from engine.cli.render import render_issues, result_issues
    from engine.drawing.picture import draw, evaluated
    from engine.drawing.scene import DEFAULT_DEPTH, MAX_WHOLE
    from engine.errors import CircuitError
    from engine.format.files import write_atomic

    overrides = parse_assignments(set_ or [])
    if output is not None and not output.parent.is_dir():
        raise UsageError(f"cannot write the picture to '{output}': no folder '{output.parent}'")
    try:
        circuit = load_circuit(path, max_bytes=max_bytes)
        result = evaluated(circuit, overrides)
        picture = draw(circuit, result, format=format_.value, focus=focus, depth=depth, whole=whole)
    except CircuitError as error:
        render_issues([i.at(str(path)) for i in error.issues], sys.stderr)
        raise typer.Exit(ExitCode.FAILED) from None
    gates = len(circuit.program.steps)
    if focus is None and not whole and gates > MAX_WHOLE:
        print(
            f"note: {gates} gates are more than one picture shows legibly ({MAX_WHOLE}): drawing the "
            f"neighbourhood of '{circuit.output}' within {DEFAULT_DEPTH if depth is None else depth} edges",
            file=sys.stderr,
        )
        print("  help: choose another part with --focus WIRE --depth N, or draw it all with --whole", file=sys.stderr)
    if output is None:
        sys.stdout.write(picture)
    else:
        try:
            write_atomic(output, picture)
        except OSError as exc:
            raise UsageError(f"cannot write the picture to '{output}': {exc.strerror or exc}") from None
    render_issues(result_issues(result), sys.stderr)
    raise typer.Exit(ExitCode.OK if result.ok else ExitCode.FAILED)


def graph_writer(folder: Path) -> Callable[["WatchEvent"], None]:
    """What ``watch --graph FOLDER`` does after each event: rewrite ``FOLDER/<circuit>.svg`` atomically.

    A broken file keeps the picture of its last good result, captioned as stale; a
    file never good gets the picture of its fault, or of its errors when invalid; a
    removed file loses its picture.
    """
    from engine.format.files import write_atomic

    def write(event: "WatchEvent") -> None:
        target = folder / f"{Path(event.path).stem}.svg"
        try:
            if event.kind == "removed" or event.result is None:
                target.unlink(missing_ok=True)
            else:
                write_atomic(target, _watched_picture(event))
        except OSError as exc:  # a full disk or a deleted folder must not end the watch
            print(f"error: cannot write the picture '{target}': {exc.strerror or exc}", file=sys.stderr)

    return write


def _watched_picture(event: "WatchEvent") -> str:
    from engine.drawing.picture import draw
    from engine.errors import CircuitError

    assert event.result is not None  # a removed file has no picture
    if event.circuit is not None:
        notes = [f"{i.at(event.path).location()}: error[{i.code}] {i.message}" for i in event.errors]
        if event.stale:
            notes.insert(0, "stale: the file is broken now; this is its last good result")
        return draw(event.circuit, event.result, notes=notes)
    try:
        return draw(event.result)  # a fault: the file gives the structure, the gate is marked
    except CircuitError:  # the file changed again since: its errors alone
        return draw(dataclasses.replace(event.result, status="invalid"))


def explained(
    path: Path, overrides: dict[str, float], check: bool, tolerance: float, max_bytes: int, *, as_json: bool
) -> tuple[Result, str]:
    """``eval --explain``: the result, and the text to print (the derivation, or JSON with a ``trace``)."""
    from engine.cli.plain import checks_summary
    from engine.drawing.explain import explain
    from engine.drawing.trace import trace
    from engine.evaluating import evaluate_source, read_source
    from engine.result import to_json

    source = read_source(str(path), max_bytes)
    if isinstance(source, Result):
        result, circuit = source, None
    else:
        result, circuit = evaluate_source(source, str(path), overrides, check=check, check_tolerance=tolerance)
    links = trace(circuit, result) if circuit is not None else []
    if as_json:
        return result, to_json({**result.to_dict(), "trace": [link.to_dict() for link in links]}) + "\n"
    if circuit is None or result.broken:
        return result, ""
    summary = checks_summary(result)
    return result, explain(circuit, result) + (summary + "\n" if summary else "")
