"""`engine.draw`: a circuit and its result → a picture as text (SVG, DOT or Mermaid).

The drawing never evaluates on its own: given a `Circuit` without a result, this
front evaluates it once (a fault becomes a picture of the circuit with the gate
marked); given a `Result`, it draws those numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Literal

from engine.circuit import Circuit, load_circuit
from engine.drawing.scene import Scene, build_scene
from engine.errors import EvaluationError
from engine.result import Result

Format = Literal["svg", "dot", "mermaid"]
FORMATS: tuple[Format, ...] = ("svg", "dot", "mermaid")


def draw(
    subject: Circuit | Result,
    result: Result | None = None,
    *,
    format: Format = "svg",
    focus: str | None = None,
    depth: int | None = None,
    inputs: Mapping[str, float] | None = None,
    notes: Sequence[str] = (),
    whole: bool = False,
) -> str:
    """The circuit as a picture with every value and gradient.

    Args:
        subject: a circuit (evaluated here unless `result` is given), or a result
            (its circuit is loaded from ``result.path`` for the structure; an
            ``invalid`` result has none, and its picture holds only its errors).
        result: the evaluation to draw, when `subject` is a circuit.
        format: ``svg`` (self-contained), ``dot`` (Graphviz) or ``mermaid``.
        focus: draw the neighbourhood of this wire only.
        depth: how many edges from `focus` the neighbourhood reaches (default 3).
            Circuits above 300 gates get the output's neighbourhood unless `focus` or `whole` is given.
        inputs: input overrides, when the circuit is evaluated here.
        notes: more lines for the caption.
        whole: draw every gate, however many (a big picture, no longer legible at a glance).

    Returns:
        The picture's text.

    Raises:
        CircuitError: `focus` names no wire, an input override is wrong, or a
            result's file can no longer be loaded.
        ValueError: an unknown `format`.
    """
    render = _renderer(format)
    if isinstance(subject, Result) and subject.status == "invalid":
        return render(_errors_scene(subject, notes))
    circuit, result = _pair(subject, result, inputs)
    return render(build_scene(circuit, result, focus, depth, whole=whole, notes=notes))


def _renderer(format: str) -> Callable[[Scene], str]:
    """The function that writes a scene in `format`.

    Raises:
        ValueError: an unknown format.
    """
    if format == "svg":
        from engine.drawing.svg import to_svg

        return to_svg
    if format == "dot":
        from engine.drawing.dot import to_dot

        return to_dot
    if format == "mermaid":
        from engine.drawing.mermaid import to_mermaid

        return to_mermaid
    raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")


def evaluated(circuit: Circuit, inputs: Mapping[str, float] | None = None) -> Result:
    """`circuit` evaluated once; a domain fault becomes its ``error`` result (drawn with the gate marked)."""
    try:
        return circuit.evaluate(inputs)
    except EvaluationError as error:
        return Result.from_error(error, circuit.path, circuit.name, warnings=circuit.warnings)


def _pair(
    subject: Circuit | Result, result: Result | None, inputs: Mapping[str, float] | None
) -> tuple[Circuit, Result]:
    if isinstance(subject, Result):
        if subject.path is None:
            raise ValueError("a result without a path cannot be drawn alone: pass its circuit too")
        return load_circuit(Path(subject.path)), subject
    return subject, result if result is not None else evaluated(subject, inputs)


def _errors_scene(result: Result, notes: Sequence[str]) -> Scene:
    """A circuit that could not be built: its name and its errors, nothing to draw."""
    caption = [f"{i.location()}: error[{i.code}] {i.message}" for i in result.errors]
    return Scene(result.circuit, None, result.output or "", result.status, [], [], [*caption, *notes])
