"""The SVG picture read back with an XML parser: numbers as ``eval`` prints them, geometry, escaping."""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

import engine
from engine.drawing.svg import FONT, SMALL
from tests.drawkit import SVG, Picture, eval_table, layered_circuit, parse

ROOT = Path(__file__).parent.parent
EXAMPLES = sorted((ROOT / "circuits").glob("*.yaml"))
CIRCUIT = str(Path(sys.executable).parent / "circuit")


def picture_of(text: str, **options: object) -> Picture:
    return parse(engine.draw(engine.parse_circuit(text, "c"), **options))  # type: ignore[arg-type]


def assert_geometry(picture: Picture) -> None:
    """No two boxes overlap, every box is inside the viewBox, every edge runs from a box's right to a
    box's left and through no box on the way."""
    boxes = list(picture.boxes.items())
    for i, (a, ra) in enumerate(boxes):
        for b, rb in boxes[i + 1 :]:
            assert not ra.overlaps(rb), f"boxes '{a}' and '{b}' overlap"
    view = picture.view
    for wire, r in picture.boxes.items():
        assert view.x <= r.x and r.x + r.w <= view.x + view.w, f"'{wire}' sticks out sideways"
        assert view.y <= r.y and r.y + r.h <= view.y + view.h, f"'{wire}' sticks out vertically"
    for route in picture.routes:
        for wire, box in picture.boxes.items():
            assert not any(box.holds(point) for point in route), f"an edge passes through '{wire}'"
    for g, (x0, y0), (x1, y1) in picture.edges:
        source, target = picture.boxes[g.attrib["data-from"]], picture.boxes[g.attrib["data-to"]]
        assert math.isclose(x0, source.x + source.w, abs_tol=0.11) and source.y < y0 < source.y + source.h
        assert math.isclose(x1, target.x, abs_tol=0.11) and target.y < y1 < target.y + target.h


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_wire_shows_its_value_and_gradient_as_eval_prints_them(path: Path) -> None:
    printed = subprocess.run(
        [CIRCUIT, "eval", "--all", str(path)],
        capture_output=True,
        text=True,
        env={"NO_COLOR": "1", "COLUMNS": "200", **_env()},
    )
    table = eval_table(printed.stdout)
    picture = parse(engine.draw(engine.load_circuit(path)))
    wires = {w for w, n in picture.nodes.items() if "constant" not in n.attrib["class"]}
    assert wires == set(table)
    for wire, (value, grad) in table.items():
        assert picture.texts(wire) == [wire, *picture.texts(wire)[1:-4], "value", value, "grad", grad]


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS")}


def test_seed_picture_holds_the_numbers_kinds_and_edge_gradients() -> None:
    picture = parse(engine.draw(engine.load_circuit(ROOT / "circuits" / "seed.yaml")))
    kinds = {w: n.attrib["class"] for w, n in picture.nodes.items()}
    assert kinds == {"x": "node input", "y": "node input", "z": "node input", "q": "node gate", "f": "node output"}
    assert [(n.attrib["data-value"], n.attrib["data-grad"]) for n in picture.nodes.values()] == [
        ("-2.0", "-4.0"),
        ("5.0", "-4.0"),
        ("-4.0", "3.0"),
        ("3.0", "-4.0"),
        ("-12.0", "1.0"),
    ]
    assert picture.texts("q") == ["q", "add", "value", "3", "grad", "-4"]
    edges = [(g.attrib["data-from"], g.attrib["data-to"], g.attrib["data-contribution"]) for g, _, _ in picture.edges]
    assert sorted(edges) == [("q", "f", "-4.0"), ("x", "q", "-4.0"), ("y", "q", "-4.0"), ("z", "f", "3.0")]
    assert sorted(picture.labels) == [("q", "f", "-4"), ("x", "q", "-4"), ("y", "q", "-4"), ("z", "f", "3")]
    colours = {g.attrib["data-from"]: g.find(f"{SVG}path").attrib["stroke"] for g, _, _ in picture.edges}  # type: ignore[union-attr]
    assert colours["z"] != colours["x"] == colours["q"]
    titles = [t.text for t in picture.root.iter(f"{SVG}title")]
    assert titles[0] == "circuit seed: f = -12"
    assert "q = x + y\nvalue: 3.0\n∂f/∂q: -4.0\nq = x + y" in titles
    assert_geometry(picture)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_pictures_have_no_overlaps_and_stay_inside(path: Path) -> None:
    assert_geometry(parse(engine.draw(engine.load_circuit(path))))


def test_constants_are_boxes_of_their_own_without_a_gradient() -> None:
    picture = picture_of("inputs: {x: 2}\ngates:\n  y: {op: pow, in: [x, 3]}\n  f: {op: mul, in: [y, 0.5]}\n")
    assert picture.texts("y#1") == ["3"] and picture.texts("f#1") == ["0.5"]
    assert picture.nodes["y#1"].attrib == {"class": "node constant", "data-wire": "y#1", "data-value": "3.0"}
    assert [g.attrib.get("data-contribution") for g, _, _ in picture.edges] == ["6.0", None, "0.5", None]
    assert_geometry(picture)


def test_names_docs_and_descriptions_are_escaped() -> None:
    text = (
        "description: '<script>alert(\"x & y\")</script>'\n"
        "inputs:\n  x: {value: 1, doc: \"a 'quoted' <b>doc</b> & more\"}\n"
        "gates:\n  f: {op: exp, in: [x], doc: '</title><script>bad()</script>'}\n"
    )
    svg = engine.draw(engine.parse_circuit(text, "c"))
    picture = parse(svg)  # well-formed XML
    assert not list(picture.root.iter(f"{SVG}script"))
    assert "<script>" not in svg and "&lt;script&gt;alert(&quot;x &amp; y&quot;)&lt;/script&gt;" in svg
    subtitle = [t.text for t in picture.root.iter(f"{SVG}text") if t.attrib.get("class") == "sub"]
    assert subtitle == ['<script>alert("x & y")</script>']
    tips = [t.text or "" for t in picture.root.iter(f"{SVG}title")]
    assert any(tip.endswith("a 'quoted' <b>doc</b> & more") for tip in tips)
    assert any(tip.endswith("</title><script>bad()</script>") for tip in tips)


def test_text_that_xml_cannot_hold_is_replaced() -> None:
    svg = engine.draw(
        engine.parse_circuit('description: "bell\\a here"\ninputs: {x: 1}\ngates:\n  f: {op: neg, in: [x]}\n')
    )
    assert "bell\ufffd here" in [t.text for t in parse(svg).root.iter(f"{SVG}text")]


def test_a_faulting_circuit_is_drawn_with_the_gate_marked_and_the_error_in_the_caption() -> None:
    text = "inputs: {x: 0}\ngates:\n  l: {op: log, in: [x]}\n  f: {op: neg, in: [l]}\n"
    picture = picture_of(text)
    assert picture.nodes["l"].attrib["class"] == "node gate fault"
    assert picture.texts("l") == ["l", "log", "value", "fault", "grad", "?"]
    assert picture.texts("f") == ["f", "neg", "value", "?", "grad", "?"]
    captions = [t.text for t in picture.root.iter(f"{SVG}text") if "cap" in t.attrib.get("class", "")]
    assert captions == ["<string>:3:3: error[domain] gate 'l' log(0.0): log of a non-positive number"]
    assert_geometry(picture)


def test_a_failed_expectation_is_in_the_caption() -> None:
    picture = picture_of("inputs: {x: 1}\ngates:\n  f: {op: neg, in: [x]}\nexpect: {values: {f: 2}}\n")
    captions = [t.text for t in picture.root.iter(f"{SVG}text") if "cap" in t.attrib.get("class", "")]
    assert captions == ["output: f = -1", "value of 'f' is -1.0, expected 2.0"]


def test_fan_out_edges_each_carry_their_own_contribution() -> None:
    picture = parse(engine.draw(engine.load_circuit(ROOT / "circuits" / "fanout.yaml")))
    assert sorted(
        (g.attrib["data-from"], g.attrib["data-to"], g.attrib["data-contribution"]) for g, _, _ in picture.edges
    ) == [
        ("sq", "f", "1.0"),
        ("x", "f", "1.0"),
        ("x", "sq", "3.0"),
        ("x", "sq", "3.0"),
    ]
    ends = [end for g, _, end in picture.edges if g.attrib["data-to"] == "sq"]
    assert ends[0] != ends[1]  # two ports, not one point
    assert_geometry(picture)


def test_no_text_is_smaller_than_the_legend() -> None:
    svg = engine.draw(engine.load_circuit(ROOT / "circuits" / "two_layer.yaml"))
    sizes = [float(s) for s in re.findall(r"font-size: ([\d.]+)px", svg)]
    assert min(sizes) == SMALL and FONT >= SMALL


def test_three_hundred_gates_are_drawn_whole_and_legible() -> None:
    circuit = engine.parse_circuit(layered_circuit(300, seed=3), "big")
    picture = parse(engine.draw(circuit))
    assert len([n for n in picture.nodes.values() if "constant" not in n.attrib["class"]]) == len(circuit.program.wires)
    assert_geometry(picture)


def test_above_three_hundred_gates_the_outputs_neighbourhood_is_drawn() -> None:
    circuit = engine.parse_circuit(layered_circuit(400, seed=5), "big")
    picture = parse(engine.draw(circuit))
    captions = [t.text or "" for t in picture.root.iter(f"{SVG}text") if "cap" in t.attrib.get("class", "")]
    shown = sum(1 for n in picture.nodes.values() if "constant" not in n.attrib["class"])
    assert captions[1:] == [
        "400 gates are too many for one legible picture: showing the neighbourhood of "
        f"'{circuit.output}'; choose another part with --focus WIRE --depth N",
        f"neighbourhood of '{circuit.output}' within 3 edges: {shown} of {len(circuit.program.wires)} wires",
    ]
    assert circuit.output in picture.nodes and shown < 150
    assert_geometry(picture)


def test_focus_and_depth_choose_the_neighbourhood() -> None:
    picture = parse(engine.draw(engine.load_circuit(ROOT / "circuits" / "two_layer.yaml"), focus="h1", depth=1))
    assert sorted(picture.nodes) == ["h1", "q1", "z1"]
    cut = {
        w: (n.attrib.get("data-hidden-inputs"), n.attrib.get("data-hidden-readers")) for w, n in picture.nodes.items()
    }
    assert cut == {"z1": ("3", "0"), "h1": (None, None), "q1": ("1", "1")}  # stubs where edges are left out
    assert picture.texts("z1")[0] == "+3" and picture.texts("q1")[:2] == ["+1", "+1"]
    assert_geometry(picture)
    with pytest.raises(engine.CircuitError) as caught:
        engine.draw(engine.load_circuit(ROOT / "circuits" / "seed.yaml"), focus="qq")
    assert [i.render() for i in caught.value.issues] == [
        f"{ROOT / 'circuits' / 'seed.yaml'}: error[unknown-wire] no wire named 'qq' to focus on\n"
        "  help: did you mean 'q'?"
    ]


def test_a_result_is_drawn_as_given_without_evaluating_again() -> None:
    circuit = engine.load_circuit(ROOT / "circuits" / "seed.yaml")
    result = circuit.evaluate({"x": 1})
    assert parse(engine.draw(circuit, result)).texts("q")[3] == "6"
    assert parse(engine.draw(result)).texts("f")[3] == "-24"
    with pytest.raises(ValueError, match="format must be one of svg, dot, mermaid, got 'png'"):
        engine.draw(circuit, format="png")  # type: ignore[arg-type]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_pictures_are_self_contained_with_a_title_on_every_box_and_edge(path: Path) -> None:
    svg = engine.draw(engine.load_circuit(path))
    picture = parse(svg)
    assert not list(picture.root.iter(f"{SVG}script")) and not list(picture.root.iter(f"{SVG}image"))
    assert set(re.findall(r"url\(([^)]*)\)", svg)) <= {"#arrow-pos", "#arrow-neg", "#arrow-zero"}
    assert "href" not in svg and "@import" not in svg and "@font-face" not in svg
    for element in [*picture.nodes.values(), *(g for g, _, _ in picture.edges)]:
        assert element[0].tag == f"{SVG}title" and element[0].text


def test_layers_are_ordered_to_avoid_crossings() -> None:
    from engine.drawing.layout import layout

    # Given crossed (a feeds the last gate of the next layer, d the first), the sweeps untangle them.
    sizes = dict.fromkeys(["a", "b", "c", "d", "gd", "gc", "gb", "ga", "f"], (80.0, 60.0))
    edges = [("a", "ga"), ("b", "gb"), ("c", "gc"), ("d", "gd"), ("ga", "f"), ("gb", "f"), ("gc", "f"), ("gd", "f")]
    placed = layout(sizes, edges)
    inputs = sorted("abcd", key=lambda n: placed.boxes[n].y)
    gates = sorted(["ga", "gb", "gc", "gd"], key=lambda n: placed.boxes[n].y)
    assert gates == [f"g{n}" for n in inputs]


def test_expressions_and_sub_circuits_are_drawn_as_their_gates(tmp_path: Path) -> None:
    picture = parse(engine.draw(engine.load_circuit(ROOT / "circuits" / "seed_expr.yaml")))
    assert picture.texts("f.1") == ["f.1", "add", "value", "3", "grad", "-4"]
    network = parse(engine.draw(engine.load_circuit(ROOT / "circuits" / "network.yaml")))
    assert {"h1.f", "h2.f", "o.f", "h1.a", "o.a"} <= set(network.nodes)  # an instance is named by its output
    assert network.nodes["h1.a"].attrib["class"] == "node input"
    assert_geometry(network)


def test_the_faulting_gate_is_found_inside_an_expression_and_a_used_file(tmp_path: Path) -> None:
    text = "inputs: {x: 0}\ngates:\n  f: 2 * log(x)\n"
    picture = picture_of(text)
    assert [w for w, n in picture.nodes.items() if "fault" in n.attrib["class"]] == ["f.1"]
    (tmp_path / "unit.yaml").write_text("inputs: {x: 1}\ngates:\n  l: {op: log, in: [x]}\n  out: {op: neg, in: [l]}\n")
    (tmp_path / "main.yaml").write_text(
        "inputs: {a: 1, b: 0}\ngates:\n  n1: {use: unit.yaml, with: {x: a}}\n  n2: {use: unit.yaml, with: {x: b}}\n"
        "  f: {op: add, in: [n1, n2]}\n"
    )
    picture = parse(engine.draw(engine.load_circuit(tmp_path / "main.yaml")))
    assert [w for w, n in picture.nodes.items() if "fault" in n.attrib["class"]] == ["n2.l"]
