"""Expressions and sub-circuits → one flat `CircuitSpec` of ordinary gates, and where each came from.

`expand` turns a validated `CircuitFile` into the circuit the compiler sees:

* an expression gate becomes the gates `engine.format.expressions.lower` makes;
* ``n1: {use: neuron.yaml, with: {x: x1}}`` copies neuron.yaml's (expanded) gates in
  under qualified names (``n1.s``, ``n1.out``); a bound input reads the parent's
  wire, any other input becomes a parameter of the parent (``n1.a``, with the used
  file's value, or the number given under ``with:``); ``n1`` itself names the
  instance's output. Names are qualified by prefixing, so the instance a wire
  belongs to is the part of its name before the last dot.

The `engine.format.placement.Placement` it returns places every issue the
compiler or evaluator raises about a flat wire back where the user wrote it.
`Uses` reads the used files, refuses cycles, depth beyond `MAX_USE_DEPTH` and —
in watch and batch — paths outside the folder, and records every file it
reached, so watchers know what each circuit depends on.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from engine.errors import CircuitError, Issue, LoadError, Note, did_you_mean
from engine.format.expressions import ExprError, lower, parse
from engine.format.loader import DEFAULT_MAX_BYTES, decode, load_spec
from engine.format.model import CircuitSpec, ExprGate, GateSpec, InputSpec, Loc, UseGate
from engine.format.placement import Document, Origin, Placement
from engine.format.reading import read_bytes

MAX_USE_DEPTH = 32


class Uses:
    """The files one circuit reaches through ``use:``.

    Attributes:
        root: when set, a used file must lie inside this folder (watch, batch).
        files: every file asked for (resolved paths; missing ones too), so that
            a watcher knows which saves concern the circuit.
    """

    def __init__(self, root: str | Path | None = None, *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.root = Path(root).resolve() if root is not None else None
        self.max_bytes = max_bytes
        self.files: list[str] = []
        self._done: dict[Path, _Flat | tuple[Issue, ...]] = {}
        self._stack: list[tuple[Path, str]] = []

    def enter(self, doc: Document) -> None:
        """Start expanding the circuit's own file."""
        if doc.path is not None:
            self._stack.append((Path(doc.path).resolve(), doc.path))

    def load(self, parent: Document, name: str, gate: UseGate, note: Note) -> _Flat | list[Issue]:
        """The expanded sub-circuit `gate` uses, or the issues that stop it (placed, with notes)."""
        base = Path(parent.path).parent if parent.path else Path()
        shown = os.path.normpath(base / gate.use)
        resolved = Path(shown).resolve()
        at = ("gates", name, "use")
        if str(resolved) not in self.files:
            self.files.append(str(resolved))
        chain = [shown_path for path, shown_path in self._stack]
        if any(path == resolved for path, _ in self._stack):
            loop = chain[[p for p, _ in self._stack].index(resolved) :] + [shown]
            return [
                _issue(
                    parent,
                    at,
                    "use-cycle",
                    f"'{shown}' uses itself: " + " -> ".join(loop),
                    "a circuit cannot contain itself; remove one of these `use:` keys",
                )
            ]
        if len(self._stack) > MAX_USE_DEPTH:
            return [
                _issue(
                    parent,
                    at,
                    "use-depth",
                    f"sub-circuits nested deeper than {MAX_USE_DEPTH} levels",
                    "check for a runaway chain of `use:`",
                )
            ]
        if self.root is not None and not resolved.is_relative_to(self.root):
            return [
                _issue(
                    parent,
                    at,
                    "use-outside",
                    f"'{gate.use}' is outside the folder '{self.root.name}'",
                    "watch and batch use only files inside the folder they run on; "
                    "copy the file in, or run on a folder that holds both",
                )
            ]
        done = self._done.get(resolved)
        if done is None:
            done = self._expand_file(shown, resolved)
            self._done[resolved] = done
        if isinstance(done, tuple):
            if len(done) == 1 and done[0].line is None:  # the file itself: missing, a folder, unreadable
                problem = done[0]
                message = f"cannot use '{gate.use}': {problem.message}"
                hint = "the path is relative to this file" + (f" (it names {shown})" if shown != gate.use else "")
                return [_issue(parent, at, problem.code, message, hint)]
            return [replace(issue, notes=(*issue.notes, note)) for issue in done]
        return done

    def _expand_file(self, shown: str, resolved: Path) -> _Flat | tuple[Issue, ...]:
        try:
            text = decode(read_bytes(Path(shown), self.max_bytes), shown)
            spec, source = load_spec(text, shown)
        except LoadError as error:
            issue = error.first
            if issue.code == "io" and issue.line is None:
                return (replace(issue, code="use-missing" if issue.message == "no such file" else "io"),)
            return error.issues
        except CircuitError as error:
            return error.issues
        self._stack.append((resolved, shown))
        try:
            flat = _expand(Document(shown, text, spec, source), self)
        finally:
            self._stack.pop()
        return tuple(flat.issues) if flat.issues else flat


def _issue(doc: Document, loc: Loc, code: str, message: str, hint: str) -> Issue:
    return doc.source.place(Issue(code, message, doc.path, hint=hint), loc)


@dataclass(slots=True)
class _Flat:
    """One file expanded: flat gates and inputs, aliases, and where each was written."""

    doc: Document
    inputs: dict[str, InputSpec] = field(default_factory=dict)
    gates: dict[str, GateSpec] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    gate_origins: dict[str, Origin] = field(default_factory=dict)
    input_origins: dict[str, Origin] = field(default_factory=dict)
    bindings: list[tuple[str, str, str]] = field(default_factory=list)  # instance, input, wire bound to
    issues: list[Issue] = field(default_factory=list)
    output: str | None = None
    whole: bool = True  # every sub-circuit was expanded

    def resolve(self, name: str) -> str | None:
        """`name` through the aliases (an instance → its output, a bound input → its wire); None on a loop."""
        for _ in range(len(self.aliases) + 1):
            if name not in self.aliases:
                return name
            name = self.aliases[name]
        return None

    def has(self, name: str) -> bool:
        return name in self.inputs or name in self.gates


@dataclass(frozen=True, slots=True)
class Expansion:
    """A file expanded into its flat circuit.

    Attributes:
        spec: the flat circuit (failed expressions stand in as gates with no inputs).
        placement: where each wire was written.
        issues: every problem found (in this file or a used one, with notes).
        whole: no sub-circuit failed, so the wiring of `spec` is worth checking
            for more issues even when there are some.
    """

    spec: CircuitSpec
    placement: Placement
    issues: tuple[Issue, ...] = ()
    whole: bool = True


def expand(doc: Document, uses: Uses) -> Expansion:
    """The flat circuit of `doc`, the placement of its wires, and the issues found on the way.

    The issues are expression errors and every problem with a ``use:``, each
    located in the file where it is, with its ``used from`` notes.
    """
    spec = doc.spec
    if all(type(gate) is GateSpec for gate in spec.gates.values()):  # nothing to expand: the common case
        gates: dict[str, GateSpec] = spec.gates  # type: ignore[assignment]
        flat_spec = CircuitSpec.model_construct(
            name=spec.name,
            description=spec.description,
            inputs=spec.inputs,
            gates=gates,
            output=spec.output,
            expect=spec.expect,
        )
        return Expansion(flat_spec, Placement(doc))
    uses.enter(doc)
    flat = _expand(doc, uses)
    renamed: dict[Loc, Loc] = {}
    expect = spec.expect
    if expect is not None:
        tables: dict[str, dict[str, float]] = {}
        for section, table in (("values", expect.values), ("grads", expect.grads)):
            tables[section] = {}
            for wire, number in table.items():
                target = flat.resolve(wire) or wire
                tables[section][target] = number
                renamed[("expect", section, target)] = ("expect", section, wire)
        expect = expect.model_copy(update=tables)
    flat_spec = CircuitSpec.model_construct(
        name=spec.name,
        description=spec.description,
        inputs=flat.inputs,
        gates=flat.gates,
        output=flat.output,
        expect=expect,
    )
    placement = Placement(doc, flat.gate_origins, flat.input_origins, renamed)
    return Expansion(flat_spec, placement, tuple(flat.issues), flat.whole)


def _expand(doc: Document, uses: Uses) -> _Flat:
    flat = _Flat(doc, dict(doc.spec.inputs))
    for name, gate in doc.spec.gates.items():
        if isinstance(gate, GateSpec):
            flat.gates[name] = gate
        elif isinstance(gate, UseGate):
            _instance(flat, name, gate, uses)
        else:
            _expression(flat, name, gate)
    _resolve(flat)
    return flat


_STAND_IN = GateSpec.model_construct(op="neg", in_=[0.0])


def _expression(flat: _Flat, name: str, gate: str | ExprGate) -> None:
    text, loc, doc = (
        (gate, ("gates", name), None) if isinstance(gate, str) else (gate.expr, ("gates", name, "expr"), gate.doc)
    )
    try:
        lowered = lower(parse(text), name)
    except ExprError as error:
        line, column = flat.doc.position_in(loc, error.offset)
        flat.issues.append(Issue(error.code, error.message, flat.doc.path, line, column, error.hint))
        flat.gates[name] = _STAND_IN  # so that the wiring of the rest can still be checked
        return
    for part in lowered:
        inner = part.name != name
        flat.gates[part.name] = GateSpec.model_construct(op=part.op, in_=list(part.in_), doc=None if inner else doc)
        flat.gate_origins[part.name] = Origin(flat.doc, ("gates", name), name, (), loc, part.at, part.refs, inner)


def _instance(flat: _Flat, name: str, gate: UseGate, uses: Uses) -> None:
    doc = flat.doc
    if name in flat.inputs:
        flat.issues.append(
            _issue(
                doc,
                ("gates", name),
                "duplicate-wire",
                f"sub-circuit '{name}' has the same name as an input",
                "inputs and gates share one namespace; rename one of them",
            )
        )
        return
    line, column = doc.source.locate(("gates", name))
    note = Note("used from", doc.path, line, column)
    sub = uses.load(doc, name, gate, note)
    if isinstance(sub, list):
        flat.issues += sub
        flat.whole = False
        return
    known = sub.doc.spec.inputs
    for key in gate.with_:
        if key not in known:
            hint = did_you_mean(key, known) or (
                "its inputs: " + ", ".join(known) if known else "it has no inputs to bind"
            )
            flat.issues.append(
                doc.source.place(
                    Issue("unknown-input", f"'{gate.use}' has no input '{key}'", doc.path, hint=hint),
                    ("gates", name, "with", key),
                    key=True,
                )
            )
    output = _sub_output(sub, doc, name, gate.use, note)
    if isinstance(output, Issue):
        flat.issues.append(output)
        flat.whole = False
        return
    prefix = name + "."
    for wire, spec in sub.inputs.items():
        bound = gate.with_.get(wire) if wire in known else None
        if isinstance(bound, str):
            flat.aliases[prefix + wire] = bound
            flat.bindings.append((name, wire, bound))
            continue
        if isinstance(bound, float):
            flat.inputs[prefix + wire] = InputSpec.model_construct(value=bound, doc=spec.doc)
            flat.input_origins[prefix + wire] = Origin(doc, ("gates", name, "with", wire), prefix + wire)
            continue
        flat.inputs[prefix + wire] = spec
        origin = sub.input_origins.get(wire) or Origin(sub.doc, ("inputs", wire), wire)
        flat.input_origins[prefix + wire] = origin.used(note, prefix)
    for wire, sub_gate in sub.gates.items():
        refs = [prefix + ref if isinstance(ref, str) else ref for ref in sub_gate.in_]
        flat.gates[prefix + wire] = GateSpec.model_construct(op=sub_gate.op, in_=refs, doc=sub_gate.doc)
        origin = sub.gate_origins.get(wire) or Origin(sub.doc, ("gates", wire), wire)
        flat.gate_origins[prefix + wire] = origin.used(note, prefix)
    for alias, target in sub.aliases.items():
        flat.aliases[prefix + alias] = prefix + target
    flat.aliases[name] = prefix + output


def _sub_output(sub: _Flat, parent: Document, name: str, use: str, note: Note) -> str | Issue:
    """The used circuit's output wire, or the issue saying it has no single one."""
    if sub.output is not None:
        if sub.has(sub.output):
            return sub.output
        wires = [*sub.inputs, *sub.gates]
        hint = did_you_mean(sub.output, wires) or "name an input or a gate"
        issue = Issue("unknown-wire", f"unknown output wire '{sub.output}'", sub.doc.path, hint=hint, notes=(note,))
        return sub.doc.source.place(issue, ("output",))
    sinks = _own_sinks(sub)
    if len(sinks) == 1:
        return sinks[0]
    what = (
        "no gate is left unread"
        if not sinks
        else "several gates are read by no other: " + ", ".join(f"'{s}'" for s in sinks)
    )
    return _issue(
        parent,
        ("gates", name, "use"),
        "use-output",
        f"'{use}' has no single output: {what}",
        f"add `output: <wire>` to '{use}' to say which wire '{name}' stands for",
    )


def _own_sinks(flat: _Flat) -> list[str]:
    """The file's own gates that no gate reads; sub-circuit instances only when no other gate is left.

    A used circuit's gates that its user leaves unread (``n1.out`` when only
    ``n1.s`` is read) make no output unclear: they are reported as unused instead.
    """
    read = {ref for gate in flat.gates.values() for ref in gate.in_ if isinstance(ref, str)}
    own: list[str] = []
    instances: list[str] = []
    for name, gate in flat.doc.spec.gates.items():
        wire = flat.resolve(name)
        if wire is not None and flat.has(wire) and wire not in read:
            (instances if isinstance(gate, UseGate) else own).append(name)
    return own or instances


def _resolve(flat: _Flat) -> None:
    """Read every alias through: gates read the wires they mean; the output and bindings are checked."""
    for wire, gate in list(flat.gates.items()):
        if any(isinstance(ref, str) and ref in flat.aliases for ref in gate.in_):
            refs = [(flat.resolve(ref) or ref) if isinstance(ref, str) else ref for ref in gate.in_]
            flat.gates[wire] = GateSpec.model_construct(op=gate.op, in_=refs, doc=gate.doc)
    output = flat.doc.spec.output
    if output is None and flat.whole:
        sinks = _own_sinks(flat)
        output = sinks[0] if len(sinks) == 1 else None  # else the compiler says which gates compete
    if output is not None:
        target = flat.resolve(output)
        flat.output = target if target is not None and flat.has(target) else output
    for instance, wire, bound in flat.bindings:
        target = flat.resolve(bound)
        if target is None or not flat.has(target):
            names = [*flat.inputs, *flat.gates, *flat.aliases]
            hint = did_you_mean(bound, names) or "bind it to an input or a gate of this circuit, or to a number"
            message = (
                f"unknown wire '{bound}' bound to '{instance}.{wire}'"
                if target is not None
                else f"bindings read each other in a loop at '{instance}.{wire}'"
            )
            flat.issues.append(
                flat.doc.source.place(
                    Issue("unknown-wire" if target is not None else "cycle", message, flat.doc.path, hint=hint),
                    ("gates", instance, "with", wire),
                )
            )
