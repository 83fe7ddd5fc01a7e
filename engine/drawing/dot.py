"""A scene as Graphviz DOT, for people who have graphviz: ``dot -Tsvg seed.dot``.

Each wire is a record ``{ name | value | grad }`` (micrograd's ``draw_dot`` style),
a gate's op next to its name; constants are dashed boxes; edges are labelled with
the gradient they carry back and coloured by its sign. Every identifier and label is
a quoted DOT string, escaped.
"""

from __future__ import annotations

import math

from engine.drawing.scene import Edge, Node, Scene
from engine.drawing.svg import NEGATIVE, POSITIVE, ZERO, short
from engine.result import fmt

_FILL = {"input": "#e0f2fe", "gate": "#ffffff", "output": "#fef3c7", "constant": "#f1f5f9"}


def quoted(value: str) -> str:
    """`value` as a DOT double-quoted string."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _record(value: str) -> str:
    # inside a record label these characters are structure unless escaped
    for char in '\\{}|<>"':
        value = value.replace(char, "\\" + char)
    return value


def to_dot(scene: Scene) -> str:
    """The scene as a DOT digraph, laid out left to right."""
    lines = [
        f"digraph {quoted(scene.name)} {{",
        "  rankdir=LR;",
        f"  label={quoted(_label(scene))};",
        "  labelloc=t;",
        '  node [fontname="monospace", fontsize=11];',
        '  edge [fontname="monospace", fontsize=10];',
    ]
    lines += (_node(node, scene.output) for node in scene.nodes)
    scale = max((abs(e.contribution) for e in scene.edges if e.contribution is not None), default=0.0)
    lines += (_edge(edge, scale) for edge in scene.edges)
    lines.append("}")
    return "\n".join(lines) + "\n"


def _label(scene: Scene) -> str:
    return "\n".join([scene.name + (f": {scene.description}" if scene.description else ""), *scene.caption])


def _node(node: Node, output: str) -> str:
    fill = "#fee2e2" if node.fault else _FILL[node.kind]
    if node.kind == "constant":
        return (
            f'  {quoted(node.id)} [shape=box, style="dashed,filled", fillcolor={quoted(fill)}, '
            f"label={quoted(node.label)}, tooltip={quoted('constant ' + node.label)}];"
        )
    name = node.label + (f" ({node.op})" if node.op else "")
    value = "fault" if node.fault else _number(node.value)
    label = f"{{ {_record(name)} | value {_record(value)} | grad {_record(_number(node.grad))} }}"
    tip = f"{node.id}: value {node.value!r}, ∂{output}/∂{node.id} {node.grad!r}" + (f"\n{node.doc}" if node.doc else "")
    width = ", penwidth=3" if node.kind == "output" or node.fault else ""
    return (
        f'  {quoted(node.id)} [shape=record, style="rounded,filled", fillcolor={quoted(fill)}{width}, '
        f"label={quoted(label)}, tooltip={quoted(tip)}];"
    )


def _number(value: float | None) -> str:
    return "?" if value is None else fmt(value)


def _edge(edge: Edge, scale: float) -> str:
    c = edge.contribution
    if c is None:
        return f"  {quoted(edge.source)} -> {quoted(edge.target)} [style=dashed, color={quoted(ZERO)}];"
    colour = POSITIVE if c > 0 else NEGATIVE if c < 0 else ZERO
    width = 1.0 if scale == 0 else 1.0 + 3.0 * math.sqrt(abs(c) / scale)
    return (
        f"  {quoted(edge.source)} -> {quoted(edge.target)} [label={quoted(short(c))}, color={quoted(colour)}, "
        f"fontcolor={quoted(colour)}, penwidth={width:.2f}, tooltip={quoted('gradient carried back: ' + repr(c))}];"
    )
