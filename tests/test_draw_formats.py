"""DOT (parsed by pydot) and Mermaid (checked against the grammar of the constructs used)."""

from __future__ import annotations

import re
from pathlib import Path

import pydot
import pytest

import engine
from engine.drawing.mermaid import label, node_id
from engine.result import fmt

ROOT = Path(__file__).parent.parent
EXAMPLES = sorted((ROOT / "circuits").glob("*.yaml"))
KEYWORDS = (
    'description: "say \\"hi\\" \\\\ {x|y} <b>"\n'
    "inputs:\n  node: {value: 2, doc: 'a \"doc\" with \\ and |'}\n  edge: 3\n"
    "gates:\n  graph: {op: mul, in: [node, edge]}\n  end: {op: add, in: [graph, 1]}\n"
)


def unquote(value: str) -> str:
    return value[1:-1].replace('\\"', '"').replace("\\\\", "\\") if value.startswith('"') else value


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_dot_parses_with_every_wire_a_record_and_every_edge_labelled(path: Path) -> None:
    circuit = engine.load_circuit(path)
    result = circuit.evaluate()
    (graph,) = pydot.graph_from_dot_data(engine.draw(circuit, result, format="dot"))
    nodes = {unquote(n.get_name()): n for n in graph.get_nodes() if unquote(n.get_name()) not in ("node", "edge")}
    nodes = {name: node for name, node in nodes.items() if "#" not in name}  # constants are boxes of their own
    assert set(nodes) == set(circuit.program.wires)
    for wire, node in nodes.items():
        op = circuit.spec.gates[wire].op if wire in circuit.spec.gates else None
        head = f"{wire} ({op})" if op else wire
        assert node.get_shape() == "record"
        assert (
            unquote(node.get_label())
            == f"{{ {head} | value {fmt(result.values[wire])} | grad {fmt(result.grads[wire])} }}"
        )
    assert len(graph.get_edges()) == sum(len(g.in_) for g in circuit.spec.gates.values())


def test_seed_dot_holds_micrograd_style_records() -> None:
    dot = engine.draw(engine.load_circuit(ROOT / "circuits" / "seed.yaml"), format="dot")
    (graph,) = pydot.graph_from_dot_data(dot)
    labels = {unquote(n.get_name()): unquote(n.get_label()) for n in graph.get_nodes() if n.get_label()}
    assert labels["q"] == "{ q (add) | value 3 | grad -4 }"
    assert labels["x"] == "{ x | value -2 | grad -4 }"
    edges = {(unquote(e.get_source()), unquote(e.get_destination())): unquote(e.get_label()) for e in graph.get_edges()}
    assert edges == {("x", "q"): "-4", ("y", "q"): "-4", ("q", "f"): "-4", ("z", "f"): "3"}
    assert graph.get_rankdir() == "LR"


def test_dot_quotes_keywords_and_escapes_labels() -> None:
    circuit = engine.parse_circuit(KEYWORDS, "c")
    (graph,) = pydot.graph_from_dot_data(engine.draw(circuit, format="dot"))
    names = {unquote(n.get_name()) for n in graph.get_nodes()}
    assert {"node", "edge", "graph", "end", "end#1"} <= names
    assert unquote(graph.get_label()).startswith(
        'c: say \\"hi\\" \\\\ {x|y} <b>'.replace('\\"', '"').replace("\\\\", "\\")
    )


MERMAID_LINE = [
    re.compile(r"flowchart LR"),
    re.compile(r'  (w_\w+)\["([^"\[\]]*)"\]'),
    re.compile(r'  (w_\w+)\("([^"()]*)"\)'),
    re.compile(r'  (w_\w+) -->\|"([^"|]*)"\| (w_\w+)'),
    re.compile(r"  (w_\w+) -\.-> (w_\w+)"),
    re.compile(r"  classDef (\w+) ([\w-]+:[^,\s]+(?: [^,\s]+)*)(,[\w-]+:[^,\s]+(?: [^,\s]+)*)*"),
    re.compile(r"  class (w_\w+(?:,w_\w+)*) (\w+)"),
    re.compile(r"  linkStyle (\d+) ([\w-]+:[^,\s]+)(,[\w-]+:[^,\s]+)*"),
]
LABEL_TAGS = re.compile(r"</?b>|<br/>")


def check_mermaid(text: str) -> tuple[set[str], int]:
    """Every line one of the constructs used, labels free of syntax characters; (declared ids, edge count)."""
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    declared: set[str] = set()
    edges = 0
    styled = []
    for line in lines[1:]:
        match = next((m for pattern in MERMAID_LINE[1:] if (m := pattern.fullmatch(line))), None)
        assert match is not None, f"not in the grammar used: {line!r}"
        pattern = match.re
        if pattern in MERMAID_LINE[1:3]:
            declared.add(match.group(1))
            assert not re.search(r'[<>"]', LABEL_TAGS.sub("", match.group(2))), line
        elif pattern in MERMAID_LINE[3:5]:
            assert match.group(1) in declared and match.group(match.lastindex or 0) in declared, line
            edges += 1
        elif pattern is MERMAID_LINE[6]:
            assert set(match.group(1).split(",")) <= declared
        elif pattern is MERMAID_LINE[7]:
            styled.append(int(match.group(1)))
    assert styled == list(range(edges))
    return declared, edges


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_mermaid_follows_the_grammar(path: Path) -> None:
    circuit = engine.load_circuit(path)
    declared, edges = check_mermaid(engine.draw(circuit, format="mermaid"))
    assert declared >= {node_id(w) for w in circuit.program.wires}
    assert edges == sum(len(g.in_) for g in circuit.spec.gates.values())


def test_seed_mermaid_exactly() -> None:
    text = engine.draw(engine.load_circuit(ROOT / "circuits" / "seed.yaml"), format="mermaid")
    assert text.splitlines()[:10] == [
        "flowchart LR",
        '  w_x["<b>x</b><br/>value -2<br/>grad -4"]',
        '  w_y["<b>y</b><br/>value 5<br/>grad -4"]',
        '  w_z["<b>z</b><br/>value -4<br/>grad 3"]',
        '  w_q("<b>q</b> add<br/>value 3<br/>grad -4")',
        '  w_f("<b>f</b> mul<br/>value -12<br/>grad 1")',
        '  w_x -->|"-4"| w_q',
        '  w_y -->|"-4"| w_q',
        '  w_q -->|"-4"| w_f',
        '  w_z -->|"3"| w_f',
    ]


def test_mermaid_ids_never_clash_with_keywords_and_labels_use_entity_codes() -> None:
    check_mermaid(engine.draw(engine.parse_circuit(KEYWORDS, "c"), format="mermaid"))
    assert label('a "b" <c> & #d|') == "a #quot;b#quot; #lt;c#gt; #amp; #35;d#124;"
    ids = [node_id(w) for w in ("f.1", "f_1", "f#1", "f__d1", "end")]
    assert ids == ["w_f_d1", "w_f__1", "w_f_c1", "w_f____d1", "w_end"] and len(set(ids)) == len(ids)


def test_the_docs_mermaid_and_trace_are_what_the_seed_gives() -> None:
    import json
    import subprocess
    import sys

    doc = (ROOT / "docs" / "pictures.md").read_text(encoding="utf-8")
    (shown,) = re.findall(r"```mermaid\n(.*?)```", doc, re.S)
    assert shown == engine.draw(engine.load_circuit(ROOT / "circuits" / "seed.yaml"), format="mermaid")
    (trace,) = re.findall(r"```json\n(\"trace\": .*?)\n```", doc, re.S)
    circuit = str(Path(sys.executable).parent / "circuit")
    done = subprocess.run(
        [circuit, "eval", "circuits/seed.yaml", "--explain", "--format", "json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert json.loads("{" + trace + "}")["trace"] == json.loads(done.stdout)["trace"]
