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
import textwrap

from engine.drawing.layout import Box, Route, layout
from engine.drawing.scene import Edge, Node, Scene
from engine.result import fmt

FONT = 13.0  # box text
SMALL = 12.0  # edge labels, legend and captions: never smaller than this
HEAD = 14.0  # the description under the title
_TITLE = 17.0
_CHAR = 0.62  # a monospace character's width, in ems (DejaVu Sans Mono is 0.602)
LINE = 18.0
_PAD = 9.0
_MARGIN = 24.0
_STUB = 20.0  # a left-out edge's stub (less than MARGIN, so the leftmost one stays inside)
_MONO = "ui-monospace, 'DejaVu Sans Mono', Menlo, Consolas, monospace"
_SANS = "system-ui, 'DejaVu Sans', Helvetica, Arial, sans-serif"

POSITIVE = "#1d4ed8"
NEGATIVE = "#c2410c"
ZERO = "#94a3b8"

_STYLE = f"""
text {{ font-family: {_MONO}; font-size: {FONT}px; fill: #0f172a; }}
.title {{ font-family: {_SANS}; font-size: {_TITLE}px; font-weight: 700; }}
.sub {{ font-family: {_SANS}; font-size: {HEAD}px; fill: #334155; }}
.cap, .legend text {{ font-size: {SMALL}px; fill: #334155; }}
.cap.err {{ fill: #b91c1c; font-weight: 600; }}
rect.box {{ fill: #ffffff; stroke: #64748b; stroke-width: 1.5; }}
.input > rect.box {{ fill: #e0f2fe; stroke: #0369a1; }}
.output > rect.box {{ fill: #fef3c7; stroke: #b45309; stroke-width: 3; }}
.constant > rect.box {{ fill: #f1f5f9; stroke: #94a3b8; stroke-dasharray: 4 3; }}
.fault > rect.box {{ fill: #fee2e2; stroke: #b91c1c; stroke-width: 3; }}
.node .name {{ font-weight: 700; }}
.node .key {{ fill: #64748b; }}
.node .pos, .label.pos {{ fill: {POSITIVE}; }}
.node .neg, .label.neg {{ fill: {NEGATIVE}; }}
.node .zero {{ fill: #475569; }}
.label.zero {{ fill: {ZERO}; }}
.cut line {{ stroke: #94a3b8; stroke-width: 2; stroke-dasharray: 3 3; }}
.cut text {{ font-size: {SMALL}px; fill: #64748b; }}
.op rect {{ fill: #334155; }}
.op text {{ fill: #ffffff; font-size: {SMALL}px; }}
.edge path {{ fill: none; }}
.label {{ font-size: {SMALL}px; font-weight: 700; paint-order: stroke; stroke: #ffffff; stroke-width: 4px;
  stroke-linejoin: round; }}
"""

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def text(value: str) -> str:
    """`value` safe inside an element or a double-quoted attribute (XML 1.0)."""
    value = _NOT_XML.sub("\ufffd", value)
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _width(chars: int, size: float = FONT) -> float:
    return chars * size * _CHAR


def node_size(node: Node) -> tuple[float, float]:
    """A box's width and height from what it shows."""
    if node.kind == "constant":
        return _width(len(node.label)) + 2 * _PAD, LINE + 2 * 4.0
    head = _width(len(node.label)) + (_width(len(node.op) + 2, SMALL) + 8 if node.op else 0)
    rows = [_width(6 + len(_number(node.value))), _width(6 + len(_number(node.grad)))]
    return max(head, *rows, 70.0) + 2 * _PAD, 3 * LINE + 2 * _PAD - 4


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
    width = max(placed.width + 2 * _MARGIN, _legend_width(scene.output), *(_caption_width(c) for c in scene.caption))
    head = _header(scene, width - 2 * _MARGIN)
    width = max(width, *(_width(len(line), _TITLE if i == 0 else HEAD) + 2 * _MARGIN for i, line in enumerate(head)))
    top = _MARGIN + LINE * len(head) + 12
    legend_h = _LEGEND_ROWS * (SMALL + 8) + 10
    caption_h = (SMALL + 8) * len(scene.caption)
    height = top + placed.height + 24 + caption_h + legend_h + _MARGIN
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
        parts.append(f'<text class="{cls}" x="{_MARGIN}" y="{_MARGIN + 14 + LINE * i:.1f}">{text(line)}</text>\n')
    parts.append(f'<g transform="translate({_MARGIN:.0f} {top:.1f})">\n')
    scale = max((abs(e.contribution) for e in scene.edges if e.contribution is not None), default=0.0)
    spots = _label_spots(scene.edges, placed.routes)
    labels = []
    for edge, route, spot in zip(scene.edges, placed.routes, spots, strict=True):
        parts.append(_edge(edge, route, scale, scene.output))
        labels.append(_label(edge, spot))
    parts.append(f'<g class="labels">{"".join(labels)}</g>\n')  # above every edge, so none hides a label
    for node in scene.nodes:
        parts.append(_node(node, placed.boxes[node.id], scene.output))
    parts.append("</g>\n")
    y = top + placed.height + 24
    for line in scene.caption:
        err = " err" if "error[" in line or line.startswith(("gradient check", "value of", "gradient of")) else ""
        parts.append(f'<text class="cap{err}" x="{_MARGIN}" y="{y + SMALL:.1f}">{text(line)}</text>\n')
        y += SMALL + 8
    parts.append(_legend(_MARGIN, y + 6, scene.output))
    parts.append("</svg>\n")
    return "".join(parts)


def _header(scene: Scene, width: float) -> list[str]:
    """The title, then the description wrapped to the picture's width (at least 60 characters a line)."""
    lines = [scene.name]
    if scene.description:
        chars = max(60, int(width / (HEAD * _CHAR)))
        lines += textwrap.wrap(scene.description, chars) or [""]
    return lines


def _summary(scene: Scene) -> str:
    value = scene.value
    shown = f": {scene.output} = {fmt(value)}" if value is not None else f" ({scene.status})"
    return f"circuit {scene.name}{shown}"


def _caption_width(line: str) -> float:
    return _width(len(line), SMALL) + 2 * _MARGIN


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


_TRIES = (0.5, 0.36, 0.64, 0.25, 0.75)  # where along its last curve a label may sit, best first
_CELL = 64.0
_Rect = tuple[float, float, float, float]  # left, top, right, bottom


def _label_spots(edges: list[Edge], routes: list[Route]) -> list[_Rect]:
    """A box for each edge's label beside its curve, clear of the labels already placed.

    A label sits in a corner the curve leaves free — above and to the right of a point
    on a descending curve, below and to the left of it, and so on — so the text never
    lies on its own line. The middle of the gap is tried first, then points nearer
    either end (never over a box); a grid of cells keeps the search local. With no
    free place the label goes above the middle anyway.
    """
    grid: dict[tuple[int, int], list[_Rect]] = {}
    spots = []
    for edge, route in zip(edges, routes, strict=True):
        if edge.contribution is None:
            spots.append(_beside(route.along(0.5), 0.0, 0.0, 0))
            continue
        width = _width(len(short(edge.contribution)), SMALL) + 4
        (left, y0), (right, y1) = route.hop
        slope = 0 if abs(y1 - y0) < 6 else 1 if y1 > y0 else -1
        fallback = _beside(route.along(0.5), width, 0.0, 0)
        tries = [_beside(route.along(t), width, side, slope) for t in _TRIES for side in (1.0, -1.0)]
        fits = [r for r in tries if left <= r[0] and r[2] <= right]
        spot = next((r for r in fits if not _taken(grid, r)), fallback)
        spots.append(spot)
        for cell in _cells(spot):
            grid.setdefault(cell, []).append(spot)
    return spots


def _beside(point: tuple[float, float], width: float, side: float, slope: int) -> _Rect:
    """A label's box next to `point` of a curve: centred above a flat one; otherwise in the
    free corner on `side` (1: right, -1: left) — above right or below left of a descending
    curve, below right or above left of a rising one."""
    x, y = point
    h = SMALL + 2
    if slope == 0:
        return (x - width / 2, y - h - 4, x + width / 2, y - 4)
    above = (side > 0) == (slope > 0)
    x0 = x + 3 if side > 0 else x - 3 - width
    y0 = y - h - 3 if above else y + 3
    return (x0, y0, x0 + width, y0 + h)


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


def _colour(value: float | None) -> str:
    return {"pos": POSITIVE, "neg": NEGATIVE, "zero": ZERO}[_sign(value)]


def _label(edge: Edge, spot: _Rect) -> str:
    """The gradient an edge carries back, as text in its spot (nothing for a constant's edge)."""
    c = edge.contribution
    if c is None:
        return ""
    x, y = (spot[0] + spot[2]) / 2, spot[3] - 3.5
    return (
        f'<text class="label {_sign(c)}" data-from="{text(edge.source)}" data-to="{text(edge.target)}" '
        f'data-position="{edge.position}" '
        f'x="{x:.1f}" y="{y:.1f}" text-anchor="middle">{text(short(c))}</text>'
    )


def _edge(edge: Edge, route: Route, scale: float, output: str) -> str:
    c = edge.contribution
    sign = _sign(c)
    colour = _colour(c)
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
    return (
        f'<g class="edge" data-from="{text(edge.source)}" data-to="{text(edge.target)}" '
        f'data-position="{edge.position}"{data}>'
        f"<title>{text(tip)}</title>"
        f'<path d="{_path(route.points)}" stroke="{colour}" stroke-width="{width:.2f}"{dash} '
        f'marker-end="url(#arrow-{sign})"/></g>\n'
    )


def _node(node: Node, box: Box, output: str) -> str:
    classes = f"node {node.kind}" + (" fault" if node.fault else "")
    data = f' data-wire="{text(node.id)}"'
    if node.value is not None:
        data += f' data-value="{node.value!r}"'
    if node.grad is not None:
        data += f' data-grad="{node.grad!r}"'
    if node.hidden_inputs or node.hidden_readers:
        data += f' data-hidden-inputs="{node.hidden_inputs}" data-hidden-readers="{node.hidden_readers}"'
    rect = f'<rect class="box" x="{box.x:.1f}" y="{box.y:.1f}" width="{box.w:.1f}" height="{box.h:.1f}" rx="6"/>'
    tip = _node_tip(node, output)
    x, right = box.x + _PAD, box.right - _PAD
    if node.kind == "constant":
        cx, cy = box.x + box.w / 2, box.y + box.h / 2 + 4.5
        body = f'<text x="{cx:.1f}" y="{cy:.1f}" text-anchor="middle">{text(node.label)}</text>'
        return f'<g class="{classes}"{data}><title>{text(tip)}</title>{rect}{body}</g>\n'
    base = box.y + _PAD + FONT - 1
    body = _stubs(node, box) + f'<text class="name" x="{x:.1f}" y="{base:.1f}">{text(node.label)}</text>'
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


def _stubs(node: Node, box: Box) -> str:
    """Short dashed lines (``+N``) where a neighbourhood's picture leaves out inputs or readers."""
    stubs = ""
    y = box.y + box.h - _PAD
    for count, x0, x1, anchor in (
        (node.hidden_inputs, box.x - _STUB, box.x, "start"),
        (node.hidden_readers, box.right, box.right + _STUB, "end"),
    ):
        if count:
            tx = x0 if anchor == "start" else x1
            stubs += (
                f'<g class="cut"><line x1="{x0:.1f}" y1="{y:.1f}" x2="{x1:.1f}" y2="{y:.1f}"/>'
                f'<text x="{tx:.1f}" y="{y - 4:.1f}" text-anchor="{anchor}">+{count}</text></g>'
            )
    return stubs


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
    if node.hidden_inputs or node.hidden_readers:
        lines.append(f"not shown: {node.hidden_inputs} of its inputs, {node.hidden_readers} of its readers")
    if node.doc:
        lines.append(node.doc)
    return "\n".join(lines)


def _legend_lines(output: str) -> tuple[str, str]:
    return (
        f"in a box: its value (forward) and grad = ∂{output}/∂wire (backward); arrows: values flow forward",
        "on an edge: the gradient it carries back = upstream × local derivative; its width grows with it",
    )


_LEGEND_ROWS = 4


def _legend_width(output: str) -> float:
    return max(_width(len(line), SMALL) for line in _legend_lines(output)) + 2 * _MARGIN


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
