"""A scene as a Mermaid flowchart, which GitHub renders inside Markdown (```mermaid blocks).

Only a few constructs are used, each checked by the tests against Mermaid's grammar:
``flowchart LR``, nodes ``id["label"]`` (rounded ``id("label")`` for gates), edges
``a -->|"label"| b``, ``classDef``/``class`` for the kinds and ``linkStyle`` for the
colour of each edge. Node ids are ``w_`` and the wire, spelt in letters, digits and
``_`` (a bare wire named ``end`` would end the chart); labels use entity codes
(``#quot;``, ``#lt;``, …) for characters that are syntax.
"""

from __future__ import annotations

import math

from engine.drawing.scene import Edge, Node, Scene
from engine.drawing.svg import NEGATIVE, POSITIVE, ZERO, short
from engine.result import fmt

_ENTITIES = {"&": "#amp;", '"': "#quot;", "<": "#lt;", ">": "#gt;", "#": "#35;", "|": "#124;"}

_CLASSES = (
    "classDef input fill:#e0f2fe,stroke:#0369a1",
    "classDef gate fill:#ffffff,stroke:#64748b",
    "classDef output fill:#fef3c7,stroke:#b45309,stroke-width:3px",
    "classDef constant fill:#f1f5f9,stroke:#94a3b8,stroke-dasharray:4 3",
    "classDef fault fill:#fee2e2,stroke:#b91c1c,stroke-width:3px",
)


def label(value: str) -> str:
    """`value` safe inside a double-quoted Mermaid label (one line)."""
    value = "".join(_ENTITIES.get(char, char) for char in value)
    return value.replace("\n", " ")


def node_id(node: str) -> str:
    """A node's Mermaid id: ``w_`` plus the wire, ``_`` doubled and ``.``/``#`` spelt ``_d``/``_c``
    (one id per wire: ``f.1`` is ``w_f_d1``, ``f_1`` is ``w_f__1``, the constant ``f#1`` is ``w_f_c1``)."""
    return "w_" + node.replace("_", "__").replace(".", "_d").replace("#", "_c")


def to_mermaid(scene: Scene) -> str:
    """The scene as a Mermaid flowchart, left to right."""
    lines = ["flowchart LR"]
    lines += (f"  {_node(node)}" for node in scene.nodes)
    for edge in scene.edges:
        lines.append(f"  {_edge(edge)}")
    lines += (f"  {line}" for line in _CLASSES)
    for kind in ("input", "gate", "output", "constant", "fault"):
        members = [node_id(n.id) for n in scene.nodes if (n.fault if kind == "fault" else n.kind == kind)]
        if members:
            lines.append(f"  class {','.join(members)} {kind}")
    scale = max((abs(e.contribution) for e in scene.edges if e.contribution is not None), default=0.0)
    for index, edge in enumerate(scene.edges):
        lines.append(f"  linkStyle {index} {_link_style(edge, scale)}")
    return "\n".join(lines) + "\n"


def _node(node: Node) -> str:
    if node.kind == "constant":
        return f'{node_id(node.id)}["{label(node.label)}"]'
    value = "fault" if node.fault else "?" if node.value is None else fmt(node.value)
    grad = "?" if node.grad is None else fmt(node.grad)
    head = f"<b>{label(node.label)}</b>" + (f" {label(node.op)}" if node.op else "")
    text = f"{head}<br/>value {label(value)}<br/>grad {label(grad)}"
    return f'{node_id(node.id)}("{text}")' if node.op else f'{node_id(node.id)}["{text}"]'


def _edge(edge: Edge) -> str:
    source, target = node_id(edge.source), node_id(edge.target)
    if edge.contribution is None:
        return f"{source} -.-> {target}"
    return f'{source} -->|"{label(short(edge.contribution))}"| {target}'


def _link_style(edge: Edge, scale: float) -> str:
    c = edge.contribution
    if c is None:
        return f"stroke:{ZERO}"
    colour = POSITIVE if c > 0 else NEGATIVE if c < 0 else ZERO
    width = 1.0 if scale == 0 else 1.0 + 3.0 * math.sqrt(abs(c) / scale)
    return f"stroke:{colour},stroke-width:{width:.1f}px"
