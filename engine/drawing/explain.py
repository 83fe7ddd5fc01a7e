"""The chain rule on the user's own circuit, as text: ``circuit eval --explain``.

The forward pass one gate per line (``q = x + y = -2 + 5 = 3``), then the backward
pass in reverse topological order, one line per edge: the upstream gradient, the
local derivative as a formula and in numbers, and their product. A wire read by
several gate inputs gets one line per contribution (``via`` the gate) and then a
line adding them up. Kinks and ties say which convention applied.
"""

from __future__ import annotations

from engine.circuit import Circuit
from engine.drawing.formulas import forward_text, local_text
from engine.drawing.trace import Link, argument_names, argument_values, has_numbers, trace
from engine.result import Result, fmt


def explain(circuit: Circuit, result: Result) -> str:
    """The derivation of every value and gradient of `result`, as lines of text.

    Args:
        circuit: the circuit `result` was evaluated from.
        result: an evaluated result; a broken one explains nothing but why.

    Returns:
        The text, ending with a newline.
    """
    if result.broken:
        return f"{result.circuit}: {result.status}: nothing to explain (see the errors)\n"
    out = result.output or circuit.output
    lines = [f"{result.circuit}: {circuit.spec.description}" if circuit.spec.description else result.circuit]
    inputs = circuit.program.inputs
    if inputs:
        lines.append("inputs: " + ", ".join(f"{name} = {fmt(result.values[name])}" for name in inputs))
    lines.append("forward, inputs to output:")
    for step in circuit.program.steps:
        gate = circuit.program.wires[step.out]
        names = argument_names(circuit, gate)
        op = step.op.name
        if not has_numbers(circuit, result, gate):
            lines.append(
                f"  {gate} = {forward_text(op, names)}: no value (a fault on a branch {out} does not depend on)"
            )
            continue
        shown = [fmt(v) for v in argument_values(circuit, result, gate)]
        lines.append(f"  {gate} = {forward_text(op, names)} = {forward_text(op, shown)} = {fmt(result.values[gate])}")
    lines.append(f"backward, {out} to inputs (chain rule: ∂{out}/∂wire = Σ ∂{out}/∂gate · ∂gate/∂wire):")
    lines += _backward(circuit, result, trace(circuit, result), out)
    return "\n".join(lines) + "\n"


def _backward(circuit: Circuit, result: Result, links: list[Link], out: str) -> list[str]:
    readers: dict[str, list[Link]] = {}
    for link in links:
        readers.setdefault(link.source, []).append(link)
    lines = [f"  ∂{out}/∂{out} = 1"]
    done = {out}
    for step in reversed(circuit.program.steps):
        gate = circuit.program.wires[step.out]
        if gate not in result.grads:
            continue  # a dead gate: no numbers (see the forward pass)
        if gate not in done:
            lines += _total(gate, readers.get(gate, []), result, out)
            done.add(gate)
        for link in (k for k in links if k.target == gate):
            lines.append(_edge(circuit, result, link, out, fanout=len(readers[link.source]) > 1))
    for name in circuit.program.inputs:
        lines += _total(name, readers.get(name, []), result, out)
    return lines


def _total(wire: str, reads: list[Link], result: Result, out: str) -> list[str]:
    grad = fmt(result.grads[wire])
    if not reads:
        return [f"  ∂{out}/∂{wire} = 0 ('{wire}' does not reach '{out}')"]
    if len(reads) == 1:
        return []  # its one edge line already said it
    terms = " + ".join(fmt(link.contribution) for link in reads)
    return [f"  ∂{out}/∂{wire} = {terms} = {grad} (the {len(reads)} contributions add up)"]


def _edge(circuit: Circuit, result: Result, link: Link, out: str, *, fanout: bool) -> str:
    gate, source = link.target, link.source
    args = circuit.spec.gates[gate].in_
    mark = "|local" if gate == out else ""
    head = f"∂{out}/∂{source}"
    if fanout:
        which = f", input {link.position + 1}" if sum(1 for a in args if a == source) > 1 else ""
        head += f" (via {gate}{which})"
    chain = f"∂{out}/∂{gate} · ∂{gate}/∂{source}{mark}"
    upstream = fmt(link.upstream)
    steps = [chain, f"{upstream} · {_grouped(link.formula)}"]
    if link.local is None:
        steps.append("not finite here; nothing flows back through this gate")
    else:
        numeric = _substituted(circuit, result, link)
        if numeric != link.formula:
            steps.append(f"{upstream} · {_grouped(numeric)}")
        if numeric != fmt(link.local):
            steps.append(f"{upstream} · {fmt(link.local)}")
        steps.append(fmt(link.contribution))
    text = f"  {head} = " + " = ".join(steps)
    return text + f" [{link.note}]" if link.note else text


def _substituted(circuit: Circuit, result: Result, link: Link) -> str:
    """The local derivative's formula with every name replaced by its value."""
    gate = link.target
    step = circuit.program.steps[circuit.program.index[gate] - circuit.program.n_inputs]
    values = argument_values(circuit, result, gate)
    y = result.values[gate]
    names = argument_names(circuit, gate)
    bare = [fmt(v) for v in values]
    if link.formula in (*names, gate):  # the formula is one name: its value, as printed
        return dict(zip([*names, gate], [*bare, fmt(y)], strict=True))[link.formula]
    # inside a longer formula a negative number is bracketed: 1 - (-0.5)^2
    shown = [f"({text})" if text.startswith("-") else text for text in bare]
    y_text = f"({fmt(y)})" if y < 0 else fmt(y)
    return local_text(step.op.name, shown, y_text, link.position, values, y)


def _grouped(formula: str) -> str:
    """A compound formula in brackets, so that ``upstream · (1 - h^2)`` multiplies all of it."""
    return f"({formula})" if " " in formula else formula
