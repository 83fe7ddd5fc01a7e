"""Where each wire of a flat circuit was written: the `Document` it came from and its `Origin`
in it, and the `Placement` that places issues there.

Expressions and sub-circuits give the compiler wires the user never wrote
(``f.1``, ``n1.s``); an issue about one belongs at a character inside an
expression, or at a line of a used file followed by a ``used from`` note for
each file on the way (innermost first, like a compiler's include stack).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from engine.errors import Issue, Note
from engine.format.loader import SourceMap
from engine.format.model import CircuitFile, ExprGate, Loc
from engine.format.spans import Position, value_positions


@dataclass(slots=True)
class Document:
    """One loaded circuit file: its text, validated content and node positions."""

    path: str | None
    text: str
    spec: CircuitFile
    source: SourceMap
    _spans: dict[Loc, list[Position]] = field(default_factory=dict)

    def position_in(self, loc: Loc, offset: int) -> Position:
        """Where character `offset` of the string at `loc` sits in the file."""
        spans = self._spans.get(loc)
        if spans is None:
            value = _string_at(self.spec, loc)
            spans = self._spans[loc] = value_positions(self.text, self.source.locate(loc), value)
        return spans[min(offset, len(spans) - 1)]


def _string_at(spec: CircuitFile, loc: Loc) -> str:
    gate = spec.gates[str(loc[1])]
    return gate if isinstance(gate, str) else gate.expr if isinstance(gate, ExprGate) else ""


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a wire of the flat circuit was written.

    Attributes:
        doc: the file.
        loc: its gate or input in that file, e.g. ``("gates", "s")``.
        label: the name messages give it (an expression's intermediates take their gate's).
        notes: the ``used from`` chain, innermost first (empty in the circuit's own file).
        expr: the loc of the expression it comes from, if any.
        at: offset in the expression of its operator.
        refs: offset in the expression of each input (None where not written there).
        inner: an intermediate of an expression (placed at its operator, not the gate's key).
        prefix: the instance names its file's wires got on the way (``n1.``), taken off
            again in messages placed in that file.
    """

    doc: Document
    loc: Loc
    label: str
    notes: tuple[Note, ...] = ()
    expr: Loc | None = None
    at: int = 0
    refs: tuple[int | None, ...] = ()
    inner: bool = False
    prefix: str = ""

    def position(self, rest: Loc, key: bool) -> Position:
        """The position of `rest` (``()``, ``("in",)`` or ``("in", i)``) of this wire in its file."""
        if self.expr is None:
            return self.doc.source.locate(self.loc + rest, key=key)
        if rest[:1] == ("in",) and len(rest) == 2 and isinstance(rest[1], int) and rest[1] < len(self.refs):
            offset = self.refs[rest[1]]
            return self.doc.position_in(self.expr, self.at if offset is None else offset)
        if not rest and not self.inner:
            return self.doc.source.locate(self.loc, key=key)
        return self.doc.position_in(self.expr, self.at)

    def used(self, note: Note, prefix: str) -> Origin:
        """This origin seen through one more `use:`."""
        return replace(self, label=prefix + self.label, notes=(*self.notes, note), prefix=prefix + self.prefix)


class Placement:
    """Places issues about wires of the flat circuit where they were written.

    ``place`` gives an issue its file, line, column and notes; ``locate`` gives a
    position in the circuit's own file (for a wire of a used file: the ``use:``
    it came through).
    """

    def __init__(
        self,
        root: Document,
        gates: dict[str, Origin] | None = None,
        inputs: dict[str, Origin] | None = None,
        renamed: dict[Loc, Loc] | None = None,
    ) -> None:
        self.root = root
        self._origins = {"gates": gates or {}, "inputs": inputs or {}}
        self._renamed = renamed or {}

    def _origin(self, loc: Loc) -> Origin | None:
        if len(loc) >= 2 and loc[0] in self._origins:
            return self._origins[str(loc[0])].get(str(loc[1]))
        return None

    def place(self, issue: Issue, loc: Loc, *, key: bool = False) -> Issue:
        """`issue` at `loc` of the flat circuit."""
        origin = self._origin(loc)
        if origin is None:
            return self.root.source.place(issue.at(self.root.path), self._renamed.get(loc, loc), key=key)
        line, column = origin.position(loc[2:], key)
        message, hint = issue.message, issue.hint
        if origin.label != loc[1]:
            message = message.replace(f"'{loc[1]}'", f"'{origin.label}'")
        if origin.prefix:  # in the used file's own terms: 's', not 'n1.s'
            message = message.replace(f"'{origin.prefix}", "'")
            hint = hint.replace(f"'{origin.prefix}", "'") if hint else hint
        notes = origin.notes + issue.notes
        return replace(issue, message=message, hint=hint, path=origin.doc.path, line=line, column=column, notes=notes)

    def locate(self, loc: Loc, *, key: bool = False) -> Position:
        """The position of `loc` in the circuit's own file."""
        origin = self._origin(loc)
        if origin is None:
            return self.root.source.locate(self._renamed.get(loc, loc), key=key)
        if origin.notes:
            outer = origin.notes[-1]
            return (outer.line or 1, outer.column or 1)
        return origin.position(loc[2:], key)
