"""Spec → networkx DAG → semantic checks → `Program`.

The only module that imports networkx. Nodes are wires, edges run from each gate
input to the gate. networkx gives the topological order, the cycle (as an ordered
loop for the message) and the ancestors of the output (for unused-wire warnings).
Every problem found is collected and raised at once as a `GraphError`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import networkx as nx
from pydantic import ValidationError

from engine.errors import GraphError, Issue, Suggester, did_you_mean
from engine.format.model import CircuitSpec, GateSpec, InputSpec, Loc
from engine.ops import OPS
from engine.program import Program, Step

Placer = Callable[[Issue, Loc, bool], Issue]


def structure_key(spec: CircuitSpec) -> str:
    """A hash of everything a `Program` depends on — never of input values."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(repr((tuple(spec.inputs), spec.output)).encode())
    for name, gate in spec.gates.items():
        digest.update(repr((name, gate.op, gate.in_)).encode())
    return digest.hexdigest()


def _build_graph(spec: CircuitSpec) -> nx.DiGraph:
    """The wiring as a DiGraph: a node per wire, an edge per (known) gate input."""
    graph = nx.DiGraph()
    graph.add_nodes_from(spec.inputs)
    graph.add_nodes_from(spec.gates)
    graph.add_edges_from(
        (ref, name) for name, gate in spec.gates.items() for ref in gate.in_ if isinstance(ref, str) and ref in graph
    )
    return graph


def build_program(spec: CircuitSpec, place: Placer, key: str | None = None) -> tuple[Program, list[Issue]]:
    """Check the wiring and compile the evaluation plan.

    Args:
        spec: a schema-valid circuit.
        place: positions an issue at a loc of the YAML (``key=True`` for the key).
        key: ``structure_key(spec)``, when the caller has it already.

    Returns:
        The program and the warnings (unused inputs and gates).

    Raises:
        GraphError: every wiring error found (duplicate or unknown wires, arity,
            cycles, a missing or ambiguous output, unknown wires in ``expect``).
    """
    errors = _check_names(spec, place)
    graph = _build_graph(spec)
    try:
        order = [node for node in nx.topological_sort(graph) if node in spec.gates]
    except nx.NetworkXUnfeasible:
        errors.append(_cycle_issue(spec, graph, place))
        order = []
    output, output_issue = _output(spec, graph, place)
    # With a cycle or unknown wires the "which gate is last" question is moot.
    if output_issue and not (errors and spec.output is None):
        errors.append(output_issue)
    errors += _check_expect(spec, graph, place)
    if errors:
        raise GraphError(sorted(errors, key=lambda i: (i.line or 0, i.column or 0)))
    assert output is not None  # no errors means an output was found
    return _program(spec, order, output, key or structure_key(spec)), _unused(spec, graph, output, place)


_SALVAGED = frozenset({"unknown-wire", "cycle", "duplicate-wire", "arity"})


def salvage_issues(data: Any, place: Placer) -> list[Issue]:
    """Wiring issues among the schema-valid parts of a document that failed the schema.

    Invalid gates stand in as wires with no inputs, so references to them are not
    reported as unknown; output inference is skipped (it depends on every gate).
    """
    if not isinstance(data, dict) or not isinstance(data.get("gates"), dict):
        return []
    raw_inputs: dict[str, Any] = data["inputs"] if isinstance(data.get("inputs"), dict) else {}
    gates = {}
    for name, raw in data["gates"].items():
        try:
            gates[name] = GateSpec.model_validate(raw)
        except ValidationError:
            gates[name] = GateSpec.model_construct(op="neg", in_=[0.0])
    output = data.get("output") if isinstance(data.get("output"), str) else None
    partial = CircuitSpec.model_construct(
        inputs={n: InputSpec.model_construct(value=0.0) for n in raw_inputs}, gates=gates, output=output, expect=None
    )
    return wiring_issues(partial, place)


def wiring_issues(spec: CircuitSpec, place: Placer) -> list[Issue]:
    """The wiring issues of a circuit whose other parts failed (unknown wires, cycles, names, arity)."""
    try:
        build_program(spec, place)
    except GraphError as error:
        return [i for i in error.issues if i.code in _SALVAGED]
    return []


def _check_names(spec: CircuitSpec, place: Placer) -> list[Issue]:
    errors = []
    wires = [*spec.inputs, *spec.gates]
    suggest = Suggester(wires)
    for name, gate in spec.gates.items():
        if name in spec.inputs:
            errors.append(
                place(
                    Issue(
                        "duplicate-wire",
                        f"gate '{name}' has the same name as an input",
                        hint="inputs and gates share one namespace; rename one of them",
                    ),
                    ("gates", name),
                    True,
                )
            )
        op = OPS[gate.op]
        if not op.accepts(len(gate.in_)):
            wanted = op.arity_text()
            inputs = f"{wanted} input{'s' if wanted != '1' else ''}"
            errors.append(
                place(
                    Issue(
                        "arity", f"op '{gate.op}' takes {inputs}, got {len(gate.in_)}", hint=f"give '{name}' {inputs}"
                    ),
                    ("gates", name, "in"),
                    False,
                )
            )
        for index, ref in enumerate(gate.in_):
            if isinstance(ref, str) and ref not in spec.inputs and ref not in spec.gates:
                hint = suggest.hint(ref) or "declare it under `inputs:` or as a gate"
                errors.append(
                    place(
                        Issue("unknown-wire", f"unknown wire '{ref}' in gate '{name}'", hint=hint),
                        ("gates", name, "in", index),
                        False,
                    )
                )
    return errors


def _cycle_issue(spec: CircuitSpec, graph: nx.DiGraph, place: Placer) -> Issue:
    edges = nx.find_cycle(graph)
    loop = [source for source, _ in edges]
    # Start the loop at the gate written first in the file, and point there.
    file_order = {name: i for i, name in enumerate(spec.gates)}
    start = min(range(len(loop)), key=lambda i: file_order.get(loop[i], len(file_order)))
    loop = loop[start:] + loop[:start]
    text = " -> ".join([*loop, loop[0]])
    return place(
        Issue(
            "cycle",
            f"cycle: {text}",
            hint=f"a gate cannot depend on its own output; break the loop at one of: {', '.join(loop)}",
        ),
        ("gates", loop[0]),
        True,
    )


def _output(spec: CircuitSpec, graph: nx.DiGraph, place: Placer) -> tuple[str | None, Issue | None]:
    if spec.output is not None:
        if spec.output in graph:
            return spec.output, None
        hint = did_you_mean(spec.output, graph.nodes) or "name an input or a gate"
        return None, place(Issue("unknown-wire", f"unknown output wire '{spec.output}'", hint=hint), ("output",), False)
    sinks = [name for name in spec.gates if graph.out_degree(name) == 0]
    if len(sinks) == 1:
        return sinks[0], None
    if not sinks:
        return None, place(
            Issue(
                "no-output",
                "no gate is left unread, so the output is unclear",
                hint="add `output: <wire>` naming the wire to differentiate",
            ),
            ("gates",),
            True,
        )
    listed = ", ".join(f"'{s}'" for s in sinks)
    return None, place(
        Issue(
            "ambiguous-output",
            f"several gates are read by no other gate: {listed}",
            hint=f"add `output: {sinks[0]}` (or another of them) to choose one",
        ),
        ("gates",),
        True,
    )


def _check_expect(spec: CircuitSpec, graph: nx.DiGraph, place: Placer) -> list[Issue]:
    if spec.expect is None:
        return []
    errors = []
    suggest = Suggester(graph.nodes)
    for section, table in (("values", spec.expect.values), ("grads", spec.expect.grads)):
        for name in table:
            if name not in graph:
                hint = suggest.hint(name) or "expectations name inputs or gates"
                errors.append(
                    place(
                        Issue("unknown-wire", f"unknown wire '{name}' in expect.{section}", hint=hint),
                        ("expect", section, name),
                        True,
                    )
                )
    return errors


def _unused(spec: CircuitSpec, graph: nx.DiGraph, output: str, place: Placer) -> list[Issue]:
    used = nx.ancestors(graph, output) | {output}
    warnings = []
    for section, names, what in (("inputs", spec.inputs, "input"), ("gates", spec.gates, "gate")):
        for name in names:
            if name not in used:
                warnings.append(
                    place(
                        Issue(
                            f"unused-{what}",
                            f"{what} '{name}' does not affect the output '{output}'",
                            hint="remove it, or wire it into the circuit",
                            severity="warning",
                        ),
                        (section, name),
                        True,
                    )
                )
    return warnings


def _program(spec: CircuitSpec, order: list[str], output: str, key: str) -> Program:
    # Live gates (those the output depends on) first, then the others: both keep
    # the topological order, since nothing live reads a gate that is not.
    live = set(_ancestry(spec, order, output))
    order = [name for name in order if name in live] + [name for name in order if name not in live]
    wires = [*spec.inputs, *order]
    slot = {name: i for i, name in enumerate(wires)}
    varying = [True] * len(spec.inputs)  # by slot: depends on an input
    constants: list[float] = []
    constant_slot: dict[str, int] = {}  # keyed by repr so 0.0 and -0.0 stay apart
    steps = []
    for name in order:
        gate = spec.gates[name]
        args = []
        for ref in gate.in_:
            if isinstance(ref, str):
                args.append(slot[ref])
            else:
                text = repr(ref)
                if text not in constant_slot:
                    constant_slot[text] = len(wires) + len(constants)
                    constants.append(ref)
                args.append(constant_slot[text])
        partials = tuple(i for i, a in enumerate(args) if a < len(wires) and varying[a])
        varying.append(bool(partials))
        steps.append(Step(OPS[gate.op], slot[name], tuple(args), partials))
    return Program(
        tuple(wires), len(spec.inputs), tuple(constants), tuple(steps), slot[output], key, len(live), index=slot
    )


def _ancestry(spec: CircuitSpec, order: list[str], output: str) -> list[str]:
    """The gates the output depends on (itself included), by a reverse sweep."""
    needed = {output}
    for name in reversed(order):
        if name in needed:
            needed.update(ref for ref in spec.gates[name].in_ if isinstance(ref, str))
    return [name for name in order if name in needed]
