"""Benchmark: how long a picture takes, against its peers in the same run.

Run from the repository root::

    python benchmarks/bench_draw.py            # writes its table into docs/performance.md

For layered random circuits of 100 to 3,000 gates it measures, as medians:
drawing the whole circuit as SVG (layout, routing, labels, text), the default
drawing (above 300 gates: the output's neighbourhood), DOT and Mermaid text;
and, as peers, grandalf's Sugiyama layout of the same boxes and edges (the same
job without the text: layers, crossing reduction, coordinates, routes; when
grandalf is installed, up to 1,000 gates), networkx's `multipartite_layout`
(positions by layer only) and one evaluation of the circuit (forward and
backward). The target — a 1,000-gate circuit drawn whole in at most 2 s — is
checked against the measured median.

The table goes between ``<!-- bench:draw -->`` and ``<!-- /bench:draw -->`` in
docs/performance.md (the section is added when missing); ``--no-docs`` only prints it.
"""

from __future__ import annotations

import argparse
import functools
import math
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import networkx as nx  # noqa: E402

import engine  # noqa: E402
from benchmarks.docs import PERFORMANCE, write_section  # noqa: E402
from engine.drawing.layout import SWEEPS, _layers  # noqa: E402
from engine.drawing.scene import build_scene  # noqa: E402
from engine.drawing.svg import node_size  # noqa: E402
from tests.drawkit import layered_circuit  # noqa: E402

TARGET_GATES = 1000
TARGET_S = 2.0
GRANDALF_MAX = 1000  # above, grandalf takes minutes


def median_time(fn: Callable[[], object], budget: float, at_least: int = 3, at_most: int = 50) -> float:
    """Median seconds of `fn()` over repeats filling about `budget` seconds."""
    times: list[float] = []
    while len(times) < at_least or (sum(times) < budget and len(times) < at_most):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def networkx_layout(circuit: engine.Circuit, result: engine.Result) -> Callable[[], object]:
    """The peer: networkx places the same nodes in the same layers (no crossing reduction, no routes)."""
    scene = build_scene(circuit, result, whole=True)
    sizes = {node.id: node_size(node) for node in scene.nodes}
    edges = [(e.source, e.target) for e in scene.edges]
    layers = _layers(sizes, edges)

    def run() -> object:
        graph = nx.DiGraph()
        graph.add_nodes_from((node, {"layer": layer}) for node, layer in layers.items())
        graph.add_edges_from(edges)
        return nx.multipartite_layout(graph, subset_key="layer")

    return run


class _View:
    """What grandalf needs of a box: its size (and it sets `xy`)."""

    def __init__(self, w: float, h: float) -> None:
        self.w, self.h = w, h
        self.xy = (0.0, 0.0)


def grandalf_layout(circuit: engine.Circuit, result: engine.Result) -> Callable[[], object] | None:
    """The peer that does the same job: grandalf's Sugiyama layout (layers, ordering, positions, routes)."""
    try:
        from grandalf.graphs import Edge, Graph, Vertex
        from grandalf.layouts import SugiyamaLayout
    except ImportError:
        return None
    scene = build_scene(circuit, result, whole=True)
    sizes = {node.id: node_size(node) for node in scene.nodes}
    edges = [(e.source, e.target) for e in scene.edges]

    def run() -> object:
        vertices = {}
        for node, (w, h) in sizes.items():
            vertices[node] = Vertex(node)
            vertices[node].view = _View(w, h)
        graph = Graph(list(vertices.values()), [Edge(vertices[a], vertices[b]) for a, b in edges])
        for component in graph.C:
            layout = SugiyamaLayout(component)
            layout.init_all()
            layout.draw(SWEEPS)
        return graph

    return run


def measure(sizes: list[int], budget: float) -> list[dict[str, float]]:
    rows = []
    for n in sizes:
        circuit = engine.parse_circuit(layered_circuit(n, seed=n), f"layered{n}")
        result = circuit.evaluate()
        draw = functools.partial(engine.draw, circuit, result)
        row = {
            "gates": float(n),
            "svg whole": median_time(functools.partial(draw, whole=True), budget),
            "svg default": median_time(draw, budget),
            "dot": median_time(functools.partial(draw, format="dot", whole=True), budget),
            "mermaid": median_time(functools.partial(draw, format="mermaid", whole=True), budget),
            "networkx layout": median_time(networkx_layout(circuit, result), budget),
            "evaluate": median_time(circuit.evaluate, budget / 4, at_most=200),
        }
        peer = grandalf_layout(circuit, result) if n <= GRANDALF_MAX else None
        row["grandalf"] = median_time(peer, budget, at_least=1, at_most=5) if peer else math.nan
        rows.append(row)
        print(f"  {n} gates: done", file=sys.stderr)
    return rows


def table(rows: list[dict[str, float]]) -> str:
    lines = [
        "| gates | SVG, whole | SVG, default | DOT | Mermaid | grandalf Sugiyama layout (peer) | grandalf / SVG "
        "| networkx multipartite positions | evaluate |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['gates']:,.0f} | {_ms(r['svg whole'])} | {_ms(r['svg default'])} | {_ms(r['dot'])} | "
            f"{_ms(r['mermaid'])} | {_ms(r['grandalf'])} | {_ratio(r['grandalf'], r['svg whole'])} | "
            f"{_ms(r['networkx layout'])} | {_ms(r['evaluate'])} |"
        )
    target = next((r for r in rows if r["gates"] == TARGET_GATES), None)
    if target is not None:
        verdict = "met" if target["svg whole"] <= TARGET_S else "NOT met"
        lines.append("")
        lines.append(
            f"Target: a {TARGET_GATES:,}-gate circuit drawn whole as SVG in ≤ {TARGET_S:g} s — "
            f"{_ms(target['svg whole'])}: {verdict}."
        )
    lines.append("")
    lines.append(
        f"Medians of repeated runs; Python {platform.python_version()} on {platform.machine()}, "
        f'{time.strftime("%Y-%m-%d")}. "Default" draws the output\'s neighbourhood above 300 gates.'
    )
    return "\n".join(lines)


def _ms(seconds: float) -> str:
    if math.isnan(seconds):
        return "n/a"
    return f"{seconds * 1000:,.1f} ms" if seconds >= 0.001 else f"{seconds * 1e6:,.0f} µs"


def _ratio(a: float, b: float) -> str:
    return "n/a" if math.isnan(a) else f"{a / b:.1f}×"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 300, 1000, 3000])
    parser.add_argument("--budget", type=float, default=2.0, help="seconds of repeats per measurement")
    parser.add_argument("--doc", type=Path, default=PERFORMANCE)
    parser.add_argument("--no-docs", action="store_true", help="print the table instead of writing the doc")
    args = parser.parse_args()
    rendered = table(measure(args.sizes, args.budget))
    if args.no_docs:
        print(rendered)
    else:
        write_section("draw", rendered, args.doc)
        print(f"wrote the drawing section of {args.doc}", file=sys.stderr)


if __name__ == "__main__":
    main()
