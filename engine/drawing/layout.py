"""Where every box and edge goes: a layered left-to-right layout (Sugiyama style).

1. Layers: each node's topological generation (networkx), so every edge points
   right; an input or a constant sits one layer before the first gate that reads it.
2. Edges spanning several layers pass through a *waypoint* in each layer between,
   which takes a slot like a small box, so no edge crosses a box.
3. Order within layers: a few sweeps of the barycentre heuristic (each node moves
   to the mean position of its neighbours in the layer before, then after),
   keeping whichever order had the fewest crossings.
4. Heights: every layer is pulled towards its neighbours' heights while keeping
   its order and the gaps between boxes — an isotonic regression, solved exactly
   by pooling adjacent violators.
5. Routes: from the right side of a box to the left side of the next, with
   horizontal runs through waypoints and smooth curves in the gaps between
   columns, where there are no boxes.

Everything is plain arithmetic over lists; no recursion, so any depth works.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

import networkx as nx

_GAP_X = 110.0  # between columns: room for the edge labels
_GAP_Y = 26.0  # between boxes of one column
_WAY_GAP = 12.0  # around a waypoint
SWEEPS = 6


@dataclass(frozen=True, slots=True)
class Box:
    """A node's rectangle: top-left corner, width, height."""

    x: float
    y: float
    w: float
    h: float

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h


@dataclass(frozen=True, slots=True)
class Route:
    """An edge's path: a start, then (control 1, control 2, end) cubic segments or straight points."""

    points: list[tuple[float, float]]  # the polyline the curve follows: start, bends, end
    hop: tuple[tuple[float, float], tuple[float, float]]  # the last gap it crosses, where its label goes

    def along(self, t: float) -> tuple[float, float]:
        """The point at `t` (0 to 1) along the curve of the last gap (control points at mid-gap)."""
        (x0, y0), (x1, y1) = self.hop
        mid = (x0 + x1) / 2
        a, b, c, d = (1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t * t, t**3
        return a * x0 + (b + c) * mid + d * x1, (a + b) * y0 + (c + d) * y1


@dataclass(frozen=True, slots=True)
class Layout:
    """Boxes by node id, one route per edge (in the order given), and the extent."""

    boxes: dict[str, Box]
    routes: list[Route]
    width: float
    height: float


@dataclass(slots=True)
class _Slot:
    node: str | None  # None for a waypoint
    h: float
    y: float = 0.0
    up: list[int] | None = None  # indexes of neighbours in the layer before
    down: list[int] | None = None  # and after


def layout(sizes: dict[str, tuple[float, float]], edges: Sequence[tuple[str, str]]) -> Layout:
    """Place the nodes (by id, with their width and height) and route the edges.

    Args:
        sizes: node id → (width, height), in the order to start from (inputs first).
        edges: (source id, target id) pairs; the graph must be acyclic.

    Returns:
        Boxes from (0, 0), routes in the order of `edges`.
    """
    layer_of = _layers(sizes, edges)
    n_layers = max(layer_of.values(), default=0) + 1
    layers: list[list[_Slot]] = [[] for _ in range(n_layers)]
    where: dict[str, tuple[int, int]] = {}
    for node, (_, h) in sizes.items():
        k = layer_of[node]
        where[node] = (k, len(layers[k]))
        layers[k].append(_Slot(node, h, up=[], down=[]))
    chains = []  # per edge: (layer, index) of each slot it passes, source and target included
    for source, target in edges:
        chain = [where[source]]
        for k in range(layer_of[source] + 1, layer_of[target]):
            chain.append((k, len(layers[k])))
            layers[k].append(_Slot(None, 0.0, up=[], down=[]))
        chain.append(where[target])
        chains.append(chain)
    _order(layers, chains)
    widths = [max((sizes[s.node][0] for s in layer if s.node is not None), default=0.0) for layer in layers]
    lefts = [sum(widths[:k]) + _GAP_X * k for k in range(n_layers)]
    _heights(layers)
    top = min((s.y - s.h / 2 for layer in layers for s in layer), default=0.0)
    boxes = {}
    for k, layer in enumerate(layers):
        for slot in layer:
            slot.y -= top
            if slot.node is not None:
                w = sizes[slot.node][0]
                boxes[slot.node] = Box(lefts[k] + (widths[k] - w) / 2, slot.y - slot.h / 2, w, slot.h)
    routes = _routes(layers, chains, boxes, lefts, widths)
    height = max((b.bottom for b in boxes.values()), default=0.0)
    height = max(height, max((s.y for layer in layers for s in layer), default=0.0))
    return Layout(boxes, routes, lefts[-1] + widths[-1] if layers else 0.0, height)


def _layers(sizes: dict[str, tuple[float, float]], edges: Sequence[tuple[str, str]]) -> dict[str, int]:
    graph = nx.DiGraph()
    graph.add_nodes_from(sizes)
    graph.add_edges_from(edges)
    layer_of: dict[str, int] = {}
    for k, generation in enumerate(nx.topological_generations(graph)):
        for node in generation:
            layer_of[node] = k
    # A node that reads nothing (an input, a constant) sits right before its first reader,
    # not at the far left, so that it needs no long edge.
    for node in sizes:
        readers = [layer_of[s] for s in graph.successors(node)]
        if graph.in_degree(node) == 0 and readers:
            layer_of[node] = min(readers) - 1
    return layer_of


def _order(layers: list[list[_Slot]], chains: list[list[tuple[int, int]]]) -> None:
    """Reorder every layer by barycentres, keeping the order with the fewest crossings.

    Afterwards each layer's slots are in their final order, with `up`/`down` set.
    """
    links: dict[tuple[int, int, int], None] = {}  # (layer of the left end, its index, index of the right end)
    for chain in chains:
        for (k, i), (_, j) in zip(chain, chain[1:], strict=False):
            links[(k, i, j)] = None
    up: list[dict[int, list[int]]] = [{} for _ in layers]
    down: list[dict[int, list[int]]] = [{} for _ in layers]
    for k, i, j in links:
        down[k].setdefault(i, []).append(j)
        up[k + 1].setdefault(j, []).append(i)
    # positions[k][i]: the rank of original slot i of layer k
    positions = [list(range(len(layer))) for layer in layers]
    best, fewest = [p[:] for p in positions], _crossings(down, positions)
    for sweep in range(2 * SWEEPS):
        downward = sweep % 2 == 0
        span = range(1, len(layers)) if downward else range(len(layers) - 2, -1, -1)
        for k in span:
            near, other = (up[k], positions[k - 1]) if downward else (down[k], positions[k + 1])
            current = positions[k]
            keys = []
            for i in range(len(current)):
                neighbours = near.get(i)
                centre = sum(other[j] for j in neighbours) / len(neighbours) if neighbours else float(current[i])
                keys.append((centre, current[i], i))
            keys.sort()
            for rank, (_, _, i) in enumerate(keys):
                current[i] = rank
        crossings = _crossings(down, positions)
        if crossings < fewest:
            best, fewest = [p[:] for p in positions], crossings
    positions = best
    for k, layer in enumerate(layers):
        ranked = sorted(range(len(layer)), key=positions[k].__getitem__)
        layers[k] = [layer[old] for old in ranked]
        for slot, old in zip(layers[k], ranked, strict=True):
            slot.up = [positions[k - 1][j] for j in up[k].get(old, [])]
            slot.down = [positions[k + 1][j] for j in down[k].get(old, [])]
    for chain in chains:
        chain[:] = [(k, positions[k][i]) for k, i in chain]


def _crossings(down: list[dict[int, list[int]]], positions: list[list[int]]) -> int:
    """How many pairs of links between neighbouring layers cross."""
    total = 0
    for k in range(len(positions) - 1):
        pairs = sorted((positions[k][i], positions[k + 1][j]) for i, js in down[k].items() for j in js)
        # links cross when their left ends and right ends are in opposite orders: count
        # the inversions of the right ends, keeping a sorted list of those seen
        seen: list[int] = []
        for _, right in pairs:
            total += len(seen) - bisect.bisect_right(seen, right)
            bisect.insort(seen, right)
    return total


def _gap(a: _Slot, b: _Slot) -> float:
    gap = _GAP_Y if a.node is not None and b.node is not None else _WAY_GAP
    return (a.h + b.h) / 2 + gap


def _heights(layers: list[list[_Slot]]) -> None:
    for layer in layers:
        y = 0.0
        for i, slot in enumerate(layer):
            if i:
                y += _gap(layer[i - 1], slot)
            slot.y = y
    for sweep in range(2 * SWEEPS):
        downward = sweep % 2 == 0
        span = range(1, len(layers)) if downward else range(len(layers) - 2, -1, -1)
        for k in span:
            other = layers[k - 1] if downward else layers[k + 1]
            wanted = []
            for slot in layers[k]:
                near = slot.up if downward else slot.down
                wanted.append(sum(other[j].y for j in near) / len(near) if near else slot.y)
            _place(layers[k], wanted)


def _place(layer: list[_Slot], wanted: list[float]) -> None:
    """Heights closest to `wanted` (least squares) that keep the order and the gaps.

    With offsets c_i (the gaps summed), z_i = y_i − c_i must not decrease: pool
    adjacent violators over wanted_i − c_i, each block at its mean.
    """
    offsets = [0.0]
    for i in range(1, len(layer)):
        offsets.append(offsets[-1] + _gap(layer[i - 1], layer[i]))
    blocks: list[list[float]] = []  # [sum, count]
    for target, offset in zip(wanted, offsets, strict=True):
        blocks.append([target - offset, 1.0])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            total, count = blocks.pop()
            blocks[-1][0] += total
            blocks[-1][1] += count
    i = 0
    for total, count in blocks:
        for _ in range(int(count)):
            layer[i].y = total / count + offsets[i]
            i += 1


def _routes(
    layers: list[list[_Slot]],
    chains: list[list[tuple[int, int]]],
    boxes: dict[str, Box],
    lefts: list[float],
    widths: list[float],
) -> list[Route]:
    outs: dict[str, list[int]] = {}
    ins: dict[str, list[int]] = {}
    for e, chain in enumerate(chains):
        (ks, i), (kt, j) = chain[0], chain[-1]
        outs.setdefault(layers[ks][i].node or "", []).append(e)
        ins.setdefault(layers[kt][j].node or "", []).append(e)
    start: dict[int, float] = {}
    end: dict[int, float] = {}
    # Ports spread along a box's side, ordered by where the edge goes next, so edges do not cross there.
    for node, members in outs.items():
        members.sort(key=lambda e: (layers[chains[e][1][0]][chains[e][1][1]].y, e))
        _spread(boxes[node], members, start)
    for node, members in ins.items():
        members.sort(key=lambda e: (layers[chains[e][-2][0]][chains[e][-2][1]].y, e))
        _spread(boxes[node], members, end)
    routes = []
    for e, chain in enumerate(chains):
        (ks, i), (kt, j) = chain[0], chain[-1]
        source, target = boxes[layers[ks][i].node or ""], boxes[layers[kt][j].node or ""]
        points = [(source.right, start[e]), (lefts[ks] + widths[ks], start[e])]
        for k, index in chain[1:-1]:
            y = layers[k][index].y
            points += [(lefts[k], y), (lefts[k] + widths[k], y)]
        points += [(lefts[kt], end[e]), (target.x, end[e])]
        routes.append(Route(points, (points[-3], points[-2])))
    return routes


def _spread(box: Box, members: list[int], into: dict[int, float]) -> None:
    # within the middle 70 % of the side, so ports stay clear of the rounded corners
    n = len(members)
    for rank, e in enumerate(members):
        into[e] = box.y + box.h * (0.15 + 0.7 * (rank + 1) / (n + 1))
