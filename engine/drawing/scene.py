"""What a picture shows, whatever its format: nodes, edges and captions from a circuit and its result.

A node per wire (input, gate, output) and per literal constant; an edge per gate
input, carrying the gradient it sends back (from `engine.drawing.trace`). A result
that faulted still has every wire, without numbers, the faulting gate marked and
the error in the caption. Above `MAX_WHOLE` gates, or when asked, the scene holds
only the neighbourhood of one wire.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

from engine.circuit import Circuit
from engine.drawing.formulas import forward_text
from engine.drawing.trace import argument_names, trace
from engine.errors import CircuitError, Issue, did_you_mean
from engine.result import Result, fmt

MAX_WHOLE = 300
"""Up to this many gates a picture shows the whole circuit; above, a neighbourhood."""
DEFAULT_DEPTH = 3
"""How many edges away from the focus a neighbourhood reaches, unless told."""

NodeKind = Literal["input", "gate", "output", "constant"]


@dataclass(frozen=True, slots=True)
class Node:
    """A box: a wire or a literal constant.

    Attributes:
        id: the wire's name; for a constant ``<gate>#<position>`` (``#`` is in no wire name).
        kind: ``input``, ``gate``, ``output`` or ``constant``.
        label: what the box is called (a constant's number).
        op: a gate's op.
        value: the wire's value (None when not evaluated).
        grad: ∂output/∂wire (None when not evaluated, and for constants).
        doc: the wire's ``doc``.
        fault: the evaluation stopped at this gate.
        formula: a gate's rule over its inputs (``x + y``).
        hidden_inputs: inputs left out of a neighbourhood's picture.
        hidden_readers: gate inputs it feeds that a neighbourhood's picture leaves out.
    """

    id: str
    kind: NodeKind
    label: str
    op: str | None = None
    value: float | None = None
    grad: float | None = None
    doc: str | None = None
    fault: bool = False
    formula: str | None = None
    hidden_inputs: int = 0
    hidden_readers: int = 0


@dataclass(frozen=True, slots=True)
class Edge:
    """A gate input: `source` feeds argument `position` of gate `target`.

    `contribution` is the gradient it carries back (``upstream · local``); None for
    constants and when there are no numbers.
    """

    source: str
    target: str
    position: int
    contribution: float | None = None
    upstream: float | None = None
    local: float | None = None
    formula: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Scene:
    """Everything a picture holds, in drawing order (inputs, then gates topologically)."""

    name: str
    description: str | None
    output: str
    status: str
    nodes: list[Node]
    edges: list[Edge]
    caption: list[str]

    @property
    def value(self) -> float | None:
        return next((n.value for n in self.nodes if n.id == self.output), None)


def build_scene(
    circuit: Circuit,
    result: Result,
    focus: str | None = None,
    depth: int | None = None,
    *,
    whole: bool = False,
    notes: Sequence[str] = (),
) -> Scene:
    """The scene of `circuit` with the numbers of `result`.

    Args:
        circuit: the circuit.
        result: its evaluation (``ok``/``failed``), or the ``error`` result of a fault.
        focus: draw only the wires within `depth` edges of this one.
        depth: how far the neighbourhood reaches (default `DEFAULT_DEPTH`).
        whole: draw every gate even above `MAX_WHOLE` (unless `focus` is given).
        notes: more lines for the caption.

    Raises:
        CircuitError: `focus` names no wire.
    """
    program = circuit.program
    output = program.output_name
    numbers = not result.broken and bool(result.values)
    nodes, edges = _wires(circuit, result, numbers)
    caption = [*_caption(result, numbers), *notes]
    if focus is None and not whole and len(program.steps) > MAX_WHOLE:
        focus = output
        caption.append(
            f"{len(program.steps)} gates are too many for one legible picture: showing the neighbourhood of "
            f"'{output}'; choose another part with --focus WIRE --depth N"
        )
    scene = Scene(circuit.name, circuit.spec.description, output, result.status, nodes, edges, caption)
    if focus is not None:
        return _neighbourhood(scene, circuit, focus, DEFAULT_DEPTH if depth is None else depth)
    return scene


def _wires(circuit: Circuit, result: Result, numbers: bool) -> tuple[list[Node], list[Edge]]:
    """A node per wire and constant, an edge per gate input (with its gradient when there are numbers)."""
    program = circuit.program
    faulty = _faulting_gate(circuit, result)
    nodes: list[Node] = []
    for name in program.inputs:
        doc = circuit.spec.inputs[name].doc
        nodes.append(Node(name, "input", name, None, *_numbers(result, name, numbers), doc))
    edges: list[Edge] = []
    links = {(k.target, k.position): k for k in trace(circuit, result)} if numbers else {}
    for step in program.steps:
        gate = program.wires[step.out]
        spec = circuit.spec.gates[gate]
        for position, ref in enumerate(spec.in_):
            if isinstance(ref, str):
                link = links.get((gate, position))
                if link is None:
                    edges.append(Edge(ref, gate, position))
                else:
                    edges.append(
                        Edge(ref, gate, position, link.contribution, link.upstream, link.local, link.formula, link.note)
                    )
            else:
                constant = f"{gate}#{position}"
                nodes.append(Node(constant, "constant", fmt(ref), value=float(ref)))
                edges.append(Edge(constant, gate, position))
        kind: NodeKind = "output" if step.out == program.output else "gate"
        formula = forward_text(step.op.name, argument_names(circuit, gate))
        nodes.append(
            Node(gate, kind, gate, step.op.name, *_numbers(result, gate, numbers), spec.doc, gate == faulty, formula)
        )
    return nodes, edges


def _numbers(result: Result, wire: str, numbers: bool) -> tuple[float | None, float | None]:
    # a dead gate (it faults, and the output does not depend on it) has no numbers
    return (result.values.get(wire), result.grads.get(wire)) if numbers else (None, None)


def _faulting_gate(circuit: Circuit, result: Result) -> str | None:
    """The gate an evaluation fault was placed at.

    A fault is an issue placed at its gate (the gate's key, or the operator inside an
    expression, in whichever file it was written and through which ``use:``); the gate
    placed at the same file, line, column and notes is the one.
    """
    if result.status != "error":
        return None
    for issue in result.errors:
        for gate in circuit.spec.gates:
            placed = circuit.source.place(Issue(issue.code, ""), ("gates", gate), key=True).at(circuit.path)
            if (placed.path, placed.line, placed.column, placed.notes) == (
                issue.path,
                issue.line,
                issue.column,
                issue.notes,
            ):
                return gate
    return None


def _caption(result: Result, numbers: bool) -> list[str]:
    lines = []
    if numbers:
        lines.append(f"output: {result.output} = {fmt(result.value)}")
    for issue in result.errors:
        lines.append(f"{issue.location()}: error[{issue.code}] {issue.message}")
    for check in result.checks:
        if not check.passed and not check.skipped:  # skipped: a what-if's expectations
            lines.append(check.describe())
    return lines


def _neighbourhood(scene: Scene, circuit: Circuit, focus: str, depth: int) -> Scene:
    if focus not in circuit.program.index:
        hint = did_you_mean(focus, circuit.program.wires) or "wires: " + ", ".join(circuit.program.wires[:10])
        raise CircuitError([Issue("unknown-wire", f"no wire named '{focus}' to focus on", circuit.path, hint=hint)])
    near: dict[str, list[str]] = {}
    for edge in scene.edges:
        near.setdefault(edge.source, []).append(edge.target)
        near.setdefault(edge.target, []).append(edge.source)
    reached = {focus: 0}
    queue = deque([focus])
    while queue:
        node = queue.popleft()
        if reached[node] == depth:
            continue
        for other in near.get(node, []):
            if other not in reached:
                reached[other] = reached[node] + 1
                queue.append(other)
    hidden_inputs: dict[str, int] = {}
    hidden_readers: dict[str, int] = {}
    for edge in scene.edges:
        if edge.target in reached and edge.source not in reached:
            hidden_inputs[edge.target] = hidden_inputs.get(edge.target, 0) + 1
        elif edge.source in reached and edge.target not in reached:
            hidden_readers[edge.source] = hidden_readers.get(edge.source, 0) + 1
    wires = sum(1 for n in scene.nodes if n.kind != "constant")
    kept = [
        replace(n, hidden_inputs=hidden_inputs.get(n.id, 0), hidden_readers=hidden_readers.get(n.id, 0))
        for n in scene.nodes
        if n.id in reached
    ]
    shown = sum(1 for n in kept if n.kind != "constant")
    caption = [
        *scene.caption,
        f"neighbourhood of '{focus}' within {depth} edge{'s' if depth != 1 else ''}: {shown} of {wires} wires",
    ]
    edges = [e for e in scene.edges if e.source in reached and e.target in reached]
    return Scene(scene.name, scene.description, scene.output, scene.status, kept, edges, caption)
