"""A scene as a self-contained SVG: boxes with every value and gradient, edges labelled
with the gradient they carry back, a title, a caption and a legend.

No external fonts, images or scripts: generic font families only, every text and
attribute escaped (a doc holding ``<script>`` stays text). Each box and edge has a
``<title>``, so hovering shows the full numbers; ``data-*`` attributes hold them for
programs. Text is monospace, so box widths follow from character counts.
"""

from __future__ import annotations

import math
import re

from engine.drawing.layout import Box, Route, layout
from engine.drawing.scene import Edge, Node, Scene
from engine.result import fmt

FONT = 13.0  # box text
SMALL = 12.0  # edge labels, legend and captions: never smaller than this
CHAR = 0.62  # a monospace character's width, in ems (DejaVu Sans Mono is 0.602)
LINE = 18.0
PAD = 9.0
MARGIN = 24.0
MONO = "ui-monospace, 'DejaVu Sans Mono', Menlo, Consolas, monospace"
SANS = "system-ui, 'DejaVu Sans', Helvetica, Arial, sans-serif"

POSITIVE = "#1d4ed8"
NEGATIVE = "#c2410c"
ZERO = "#94a3b8"

_STYLE = f"""
text {{ font-family: {MONO}; font-size: {FONT}px; fill: #0f172a; }}
.title {{ font-family: {SANS}; font-size: 17px; font-weight: 700; }}
.sub {{ font-family: {SANS}; font-size: 14px; fill: #334155; }}
.cap, .legend text {{ font-size: {SMALL}px; fill: #334155; }}
.cap.err {{ fill: #b91c1c; font-weight: 600; }}
rect.box {{ fill: #ffffff; stroke: #64748b; stroke-width: 1.5; }}
.input > rect.box {{ fill: #e0f2fe; stroke: #0369a1; }}
.output > rect.box {{ fill: #fef3c7; stroke: #b45309; stroke-width: 3; }}
.constant > rect.box {{ fill: #f1f5f9; stroke: #94a3b8; stroke-dasharray: 4 3; }}
.fault > rect.box {{ fill: #fee2e2; stroke: #b91c1c; stroke-width: 3; }}
.node .name {{ font-weight: 700; }}
.node .key {{ fill: #64748b; }}
.node .pos {{ fill: {POSITIVE}; }}
.node .neg {{ fill: {NEGATIVE}; }}
.node .zero {{ fill: #475569; }}
.op rect {{ fill: #334155; }}
.op text {{ fill: #ffffff; font-size: {SMALL}px; }}
.edge path {{ fill: none; }}
.edge text {{ font-size: {SMALL}px; font-weight: 700; paint-order: stroke; stroke: #ffffff; stroke-width: 4px;
  stroke-linejoin: round; }}
"""

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def text(value: str) -> str:
    """`value` safe inside an element or a double-quoted attribute (XML 1.0)."""
    value = _NOT_XML.sub("\ufffd", value)
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _width(chars: int, size: float = FONT) -> float:
    return chars * size * CHAR


def node_size(node: Node) -> tuple[float, float]:
    """A box's width and height from what it shows."""
    if node.kind == "constant":
        return _width(len(node.label)) + 2 * PAD, LINE + 2 * 4.0
    head = _width(len(node.label)) + (_width(len(node.op) + 2, SMALL) + 8 if node.op else 0)
    rows = [_width(6 + len(_number(node.value))), _width(6 + len(_number(node.grad)))]
    return max(head, *rows, 70.0) + 2 * PAD, 3 * LINE + 2 * PAD - 4


def _number(value: float | None) -> str:
    return "?" if value is None else fmt(value)


def short(value: float) -> str:
    """An edge label: four significant digits (the box and the hover text have them all)."""
    return f"{value:.4g}"


def _sign(value: float | None) -> str:
    return "zero" if not value else "pos" if value > 0 else "neg"


def to_svg(scene: Scene) -> str:
    """The scene as an SVG document (a string, UTF-8 text)."""
    sizes = {node.id: node_size(node) for node in scene.nodes}
    placed = layout(sizes, [(e.source, e.target) for e in scene.edges])
    head = _header(scene)
    top = MARGIN + LINE * len(head) + 12
    legend_h = LEGEND_ROWS * (SMALL + 8) + 10
    caption_h = (SMALL + 8) * len(scene.caption)
    width = max(placed.width + 2 * MARGIN, _legend_width(scene.output), *(_caption_width(c) for c in scene.caption))
    height = top + placed.height + 24 + caption_h + legend_h + MARGIN
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="{width:.0f}" height="{height:.0f}" role="img" aria-labelledby="circuit-title">\n',
        f'<title id="circuit-title">{text(_summary(scene))}</title>\n',
        f"<style>{_STYLE}</style>\n",
        _markers(),
        f'<rect width="{width:.0f}" height="{height:.0f}" fill="#ffffff"/>\n',
    ]
    for i, line in enumerate(head):
        cls = "title" if i == 0 else "sub"
        parts.append(f'<text class="{cls}" x="{MARGIN}" y="{MARGIN + 14 + LINE * i:.1f}">{text(line)}</text>\n')
    parts.append(f'<g transform="translate({MARGIN:.0f} {top:.1f})">\n')
    scale = max((abs(e.contribution) for e in scene.edges if e.contribution is not None), default=0.0)
    spots = _label_spots(scene.edges, placed.routes)
    for edge, route, spot in zip(scene.edges, placed.routes, spots, strict=True):
        parts.append(_edge(edge, route, spot, scale, scene.output))
    for node in scene.nodes:
        parts.append(_node(node, placed.boxes[node.id], scene.output))
    parts.append("</g>\n")
    y = top + placed.height + 24
    for line in scene.caption:
        err = " err" if "error[" in line or line.startswith(("gradient check", "value of", "gradient of")) else ""
        parts.append(f'<text class="cap{err}" x="{MARGIN}" y="{y + SMALL:.1f}">{text(line)}</text>\n')
        y += SMALL + 8
    parts.append(_legend(MARGIN, y + 6, scene.output))
    parts.append("</svg>\n")
    return "".join(parts)


def _header(scene: Scene) -> list[str]:
    lines = [scene.name]
    if scene.description:
        lines.append(scene.description)
    return lines


def _summary(scene: Scene) -> str:
    value = scene.value
    shown = f": {scene.output} = {fmt(value)}" if value is not None else f" ({scene.status})"
    return f"circuit {scene.name}{shown}"


def _caption_width(line: str) -> float:
    return _width(len(line), SMALL) + 2 * MARGIN


def _markers() -> str:
    defs = []
    for name, colour in (("pos", POSITIVE), ("neg", NEGATIVE), ("zero", ZERO)):
        defs.append(
            f'<marker id="arrow-{name}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="10" markerHeight="10" '
            f'markerUnits="userSpaceOnUse" orient="auto"><path d="M0,1 L9,5 L0,9 z" fill="{colour}"/></marker>'
        )
    return "<defs>" + "".join(defs) + "</defs>\n"


def _path(points: list[tuple[float, float]]) -> str:
    # straight runs through columns, S-curves with horizontal tangents across the gaps
    (x0, y0), rest = points[0], points[1:]
    d = [f"M{x0:.1f},{y0:.1f}"]
    for n, (x, y) in enumerate(rest):
        if n % 2 == 0:
            if (x, y) != points[n]:  # no zero-length runs: the arrowhead takes its direction from the last one
                d.append(f"L{x:.1f},{y:.1f}")
        else:
            px, py = rest[n - 1]
            mid = (px + x) / 2
            d.append(f"C{mid:.1f},{py:.1f} {mid:.1f},{y:.1f} {x:.1f},{y:.1f}")
    return " ".join(d)


_TRIES = (0.5, 0.35, 0.65, 0.25, 0.75, 0.42, 0.58)  # where along its last curve a label may sit, best first
_CELL = 64.0


def _label_spots(edges: list[Edge], routes: list[Route]) -> list[tuple[float, float]]:
    """A spot for each edge's label, on its curve, away from the labels already placed.

    Edges that cross in a gap do so at its middle, so the middle is tried first and,
    when taken, points nearer either end (never over a box); a grid of cells keeps
    the search local. With no free spot the label goes to the middle anyway.
    """
    grid: dict[tuple[int, int], list[_Rect]] = {}
    spots = []
    for edge, route in zip(edges, routes, strict=True):
        if edge.contribution is None:
            spots.append(route.along(0.5))
            continue
        half = _width(len(short(edge.contribution)), SMALL) / 2 + 2
        (left, _), (right, _) = route.hop
        tries = [(route.along(t), t) for t in _TRIES]
        fits = [(x, y) for (x, y), _ in tries if left <= x - half and x + half <= right]
        spot = next((xy for xy in fits if not _taken(grid, _label_rect(xy, half))), route.along(0.5))
        spots.append(spot)
        rect = _label_rect(spot, half)
        for cell in _cells(rect):
            grid.setdefault(cell, []).append(rect)
    return spots


_Rect = tuple[float, float, float, float]


def _label_rect(spot: tuple[float, float], half: float) -> _Rect:
    x, y = spot
    return (x - half, y - SMALL - 6, x + half, y - 2)  # the text sits above the line, clear of its width


def _cells(rect: _Rect) -> list[tuple[int, int]]:
    return [
        (i, j)
        for i in range(int(rect[0] // _CELL), int(rect[2] // _CELL) + 1)
        for j in range(int(rect[1] // _CELL), int(rect[3] // _CELL) + 1)
    ]


def _taken(grid: dict[tuple[int, int], list[_Rect]], rect: _Rect) -> bool:
    return any(_overlap(rect, other) for cell in _cells(rect) for other in grid.get(cell, ()))


def _overlap(a: _Rect, b: _Rect) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _edge(edge: Edge, route: Route, spot: tuple[float, float], scale: float, output: str) -> str:
    c = edge.contribution
    sign = _sign(c)
    colour = {"pos": POSITIVE, "neg": NEGATIVE, "zero": ZERO}[sign]
    width = 1.25 if c is None or scale == 0 else 1.25 + 3.75 * math.sqrt(abs(c) / scale)
    dash = ' stroke-dasharray="5 4"' if c is None else ""
    tip = f"{edge.source} → {edge.target} (input {edge.position + 1})"
    if c is not None:
        tip += (
            f"\ngradient carried back: {c!r}\n= ∂{output}/∂{edge.target} {edge.upstream!r}"
            f" × ∂{edge.target}/∂{edge.source} {edge.local!r}"
        )
        if edge.formula:
            tip += f"\nlocal derivative: {edge.formula}"
        if edge.note:
            tip += f"\n{edge.note}"
    data = f' data-contribution="{c!r}"' if c is not None else ""
    label = ""
    if c is not None:
        lx, ly = spot
        label = f'<text x="{lx:.1f}" y="{ly - 6:.1f}" text-anchor="middle" fill="{colour}">{text(short(c))}</text>'
    return (
        f'<g class="edge" data-from="{text(edge.source)}" data-to="{text(edge.target)}"{data}>'
        f"<title>{text(tip)}</title>"
        f'<path d="{_path(route.points)}" stroke="{colour}" stroke-width="{width:.2f}"{dash} '
        f'marker-end="url(#arrow-{sign})"/>{label}</g>\n'
    )


def _node(node: Node, box: Box, output: str) -> str:
    classes = f"node {node.kind}" + (" fault" if node.fault else "")
    data = f' data-wire="{text(node.id)}"'
    if node.value is not None:
        data += f' data-value="{node.value!r}"'
    if node.grad is not None:
        data += f' data-grad="{node.grad!r}"'
    rect = f'<rect class="box" x="{box.x:.1f}" y="{box.y:.1f}" width="{box.w:.1f}" height="{box.h:.1f}" rx="6"/>'
    tip = _node_tip(node, output)
    x, right = box.x + PAD, box.right - PAD
    if node.kind == "constant":
        cx, cy = box.x + box.w / 2, box.y + box.h / 2 + 4.5
        body = f'<text x="{cx:.1f}" y="{cy:.1f}" text-anchor="middle">{text(node.label)}</text>'
        return f'<g class="{classes}"{data}><title>{text(tip)}</title>{rect}{body}</g>\n'
    base = box.y + PAD + FONT - 1
    body = f'<text class="name" x="{x:.1f}" y="{base:.1f}">{text(node.label)}</text>'
    if node.op:
        pill = _width(len(node.op) + 2, SMALL)
        px = right - pill
        body += (
            f'<g class="op"><rect x="{px:.1f}" y="{base - FONT + 0.5:.1f}" width="{pill:.1f}" height="{LINE - 1:.1f}" '
            f'rx="8"/><text x="{px + pill / 2:.1f}" y="{base:.1f}" text-anchor="middle">{text(node.op)}</text></g>'
        )
    value = "fault" if node.fault else _number(node.value)
    rows = (("value", value, "value"), ("grad", _number(node.grad), f"grad {_sign(node.grad)}"))
    for n, (key, shown, cls) in enumerate(rows, start=1):
        y = base + LINE * n
        body += (
            f'<text class="key" x="{x:.1f}" y="{y:.1f}">{key}</text>'
            f'<text class="{cls}" x="{right:.1f}" y="{y:.1f}" text-anchor="end">{text(shown)}</text>'
        )
    return f'<g class="{classes}"{data}><title>{text(tip)}</title>{rect}{body}</g>\n'


def _node_tip(node: Node, output: str) -> str:
    if node.kind == "constant":
        return f"constant {node.label}"
    head = {"input": f"input {node.id}", "output": f"output {node.id} = {node.formula}"}.get(
        node.kind, f"{node.id} = {node.formula}"
    )
    lines = [head]
    if node.fault:
        lines.append("the evaluation stopped here (see the caption)")
    if node.value is not None:
        lines.append(f"value: {node.value!r}")
    if node.grad is not None:
        lines.append(f"∂{output}/∂{node.id}: {node.grad!r}")
    if node.doc:
        lines.append(node.doc)
    return "\n".join(lines)


def _legend_lines(output: str) -> tuple[str, str]:
    return (
        f"in a box: its value (forward) and grad = ∂{output}/∂wire (backward); arrows: values flow forward",
        "on an edge: the gradient it carries back = upstream × local derivative; its width grows with it",
    )


LEGEND_ROWS = 4


def _legend_width(output: str) -> float:
    return max(_width(len(line), SMALL) for line in _legend_lines(output)) + 2 * MARGIN


def _legend(x: float, y: float, output: str) -> str:
    row = SMALL + 8
    items = []
    cx = x
    for kind, label in (("input", "input"), ("gate", "gate (op)"), ("output", "output"), ("constant", "constant")):
        items.append(
            f'<g class="swatch {kind}"><rect class="box" x="{cx:.1f}" y="{y:.1f}" width="22" height="14" rx="3"/></g>'
            f'<text x="{cx + 28:.1f}" y="{y + 11:.1f}">{label}</text>'
        )
        cx += 28 + _width(len(label), SMALL) + 22
    y2 = y + row
    cx = x
    for colour, label in ((POSITIVE, "positive gradient"), (NEGATIVE, "negative gradient"), (ZERO, "zero")):
        items.append(
            f'<line x1="{cx:.1f}" y1="{y2 + 7:.1f}" x2="{cx + 24:.1f}" y2="{y2 + 7:.1f}" stroke="{colour}" '
            f'stroke-width="3"/><text x="{cx + 30:.1f}" y="{y2 + 11:.1f}">{label}</text>'
        )
        cx += 30 + _width(len(label), SMALL) + 22
    for n, line in enumerate(_legend_lines(output), start=2):
        items.append(f'<text x="{x:.1f}" y="{y + n * row + 11:.1f}">{text(line)}</text>')
    return f'<g class="legend">{"".join(items)}</g>\n'
