"""Reading the pictures back: the SVG's boxes, edges and texts, in picture coordinates."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

NS = {"svg": "http://www.w3.org/2000/svg"}
SVG = "{http://www.w3.org/2000/svg}"


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float

    def holds(self, point: tuple[float, float], margin: float = 0.5) -> bool:
        """Whether `point` is inside, more than `margin` from every side."""
        x, y = point
        return self.x + margin < x < self.x + self.w - margin and self.y + margin < y < self.y + self.h - margin

    def overlaps(self, other: Rect) -> bool:
        return (
            self.x < other.x + other.w
            and other.x < self.x + self.w
            and self.y < other.y + other.h
            and other.y < self.y + self.h
        )


def path_samples(d: str, steps: int = 12) -> list[tuple[float, float]]:
    """Points along an SVG path of M, L and C commands (absolute coordinates), ends included."""
    tokens = re.findall(r"[MLC]|-?\d+(?:\.\d+)?", d)
    points: list[tuple[float, float]] = []
    command, numbers = "", []
    for token in [*tokens, "M"]:
        if token in "MLC":
            if command == "M":
                points.append((numbers[0], numbers[1]))
            elif command == "L":
                (x0, y0), (x1, y1) = points[-1], (numbers[0], numbers[1])
                points += [(x0 + (x1 - x0) * t / steps, y0 + (y1 - y0) * t / steps) for t in range(1, steps + 1)]
            elif command == "C":
                p0, p1, p2, p3 = points[-1], numbers[0:2], numbers[2:4], numbers[4:6]
                for i in range(1, steps + 1):
                    t = i / steps
                    a, b, c, e = (1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t * t, t**3
                    points.append(tuple(a * p0[k] + b * p1[k] + c * p2[k] + e * p3[k] for k in (0, 1)))  # type: ignore[arg-type]
            command, numbers = token, []
        else:
            numbers.append(float(token))
    return points


@dataclass(frozen=True)
class Picture:
    root: ET.Element
    view: Rect
    boxes: dict[str, Rect]
    nodes: dict[str, ET.Element]
    edges: list[tuple[ET.Element, tuple[float, float], tuple[float, float]]]
    routes: list[list[tuple[float, float]]]  # points along each edge, in the order of `edges`
    labels: list[tuple[str, str, str]]  # (from, to, text) of each edge label

    def texts(self, wire: str) -> list[str]:
        """The texts shown in a wire's box, in order."""
        return [t.text or "" for t in self.nodes[wire].iter(f"{SVG}text")]


def parse(svg: str) -> Picture:
    """Parse the SVG (a strict XML parser) and collect boxes and edge end points."""
    root = ET.fromstring(svg.encode("utf-8"))
    vx, vy, vw, vh = (float(v) for v in root.attrib["viewBox"].split())
    group = next(g for g in root.findall("svg:g", NS) if "transform" in g.attrib)
    dx, dy = (float(v) for v in re.findall(r"[-\d.]+", group.attrib["transform"]))
    boxes, nodes, edges, routes, labels = {}, {}, [], [], []
    for g in group.findall("svg:g", NS):
        classes = g.attrib.get("class", "").split()
        if "node" in classes:
            r = g.find("svg:rect", NS)
            assert r is not None
            wire = g.attrib["data-wire"]
            boxes[wire] = Rect(
                float(r.attrib["x"]) + dx,
                float(r.attrib["y"]) + dy,
                float(r.attrib["width"]),
                float(r.attrib["height"]),
            )
            nodes[wire] = g
        elif "labels" in classes:
            labels += [(t.attrib["data-from"], t.attrib["data-to"], t.text or "") for t in g.findall("svg:text", NS)]
        elif "edge" in classes:
            path = g.find("svg:path", NS)
            assert path is not None
            samples = [(x + dx, y + dy) for x, y in path_samples(path.attrib["d"])]
            edges.append((g, samples[0], samples[-1]))
            routes.append(samples)
    return Picture(root, Rect(vx, vy, vw, vh), boxes, nodes, edges, routes, labels)


def eval_table(stdout: str) -> dict[str, tuple[str, str]]:
    """``circuit eval``'s plain table: wire → (value, gradient) exactly as printed."""
    rows = {}
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.split("│")]
        if len(cells) == 3:
            rows[cells[0]] = (cells[1], cells[2])
    return rows


def layered_circuit(n_gates: int, seed: int = 0, width: int = 24) -> str:
    """A random circuit of `n_gates` gates in layers of `width`, each reading the last three
    layers (fan-out, edges spanning layers, a few constants), summed into one output."""
    import random

    rng = random.Random(seed)
    lines = ["inputs:"] + [f"  x{i}: {rng.uniform(-1, 1):.3f}" for i in range(width)]
    layers = [[f"x{i}" for i in range(width)]]
    lines.append("gates:")
    count = 0
    unread = dict.fromkeys(layers[0])
    while count < n_gates - 1:
        layer = []
        firsts = layers[-1][:]
        rng.shuffle(firsts)  # every wire of the layer before is read, so every gate reaches the output
        pool = [w for recent in layers[-3:] for w in recent]
        for first in firsts[: min(width, n_gates - 1 - count)]:
            op = rng.choice(("add", "mul", "tanh", "sigmoid", "max", "relu"))
            if op in ("tanh", "sigmoid", "relu"):
                args = [first]
            else:
                args = [first, rng.choice(pool) if rng.random() > 0.1 else "0.5"]
            name = f"g{count}"
            lines.append(f"  {name}: {{op: {op}, in: [{', '.join(args)}]}}")
            for arg in args:
                unread.pop(arg, None)
            unread[name] = None
            layer.append(name)
            count += 1
        layers.append(layer)
    last = list(unread)
    lines.append(
        f"  out: {{op: add, in: [{', '.join(last)}]}}" if len(last) > 1 else f"  out: {{op: neg, in: [{last[0]}]}}"
    )
    lines.append("output: out")
    return "\n".join(lines) + "\n"
