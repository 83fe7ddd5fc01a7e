"""Located diagnostics: the `Issue` record and the `CircuitError` exception tree.

Every user-facing problem is an `Issue` (code, message, path, line, column, hint,
severity). A stage collects all the issues it finds and raises them at once::

    CircuitError              any problem with a circuit; carries .issues
    ├── LoadError             bytes → document: size, encoding, YAML syntax, hostile YAML
    ├── SchemaError           document → spec: unknown/missing keys, bad numbers, unknown ops
    ├── GraphError            spec → program: unknown wires, arity, cycles, output
    └── EvaluationError       program → values: domain faults (log(0), overflow, NaN)

Rendering follows the compiler convention ``path:line:col: error[code] message``
with an indented ``help:`` line for the hint, and a ``note:`` line per `Note`
(where a used file was used from, like a compiler's include stack).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Note:
    """A place that explains an issue, e.g. ``used from layer.yaml:5:7``."""

    message: str
    path: str | None = None
    line: int | None = None
    column: int | None = None

    def location(self) -> str:
        """``path:line:col`` (missing parts left out)."""
        return _location(self.path, self.line, self.column)

    def render(self) -> str:
        """``note: used from layer.yaml:5:7``."""
        return f"note: {self.message} {self.location()}"

    def to_dict(self) -> dict[str, Any]:
        return {"message": self.message, "path": self.path, "line": self.line, "column": self.column}


def _location(path: str | None, line: int | None, column: int | None) -> str:
    parts = [path or "<string>"]
    if line is not None:
        parts.append(str(line))
        if column is not None:
            parts.append(str(column))
    return ":".join(parts)


@dataclass(frozen=True, slots=True)
class Issue:
    """One diagnostic, placed in a file (line and column are 1-based).

    ``notes`` say how the file was reached when it is not the one being evaluated
    (a sub-circuit used by it): innermost use first.
    """

    code: str
    message: str
    path: str | None = None
    line: int | None = None
    column: int | None = None
    hint: str | None = None
    severity: Severity = "error"
    notes: tuple[Note, ...] = ()

    def at(self, path: str | None) -> Issue:
        """The same issue, attributed to `path` (kept if already set)."""
        return self if self.path is not None or path is None else replace(self, path=path)

    def location(self) -> str:
        """``path:line:col`` (missing parts left out)."""
        return _location(self.path, self.line, self.column)

    def render(self) -> str:
        """The diagnostic as text, with its hint and notes on further lines (control characters escaped)."""
        text = f"{printable(self.location())}: {self.severity}[{self.code}] {printable(self.message)}"
        if self.hint:
            text += f"\n  help: {printable(self.hint)}"
        for note in self.notes:
            text += f"\n  {printable(note.render())}"
        return text

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of an entry in a result's ``errors`` / ``warnings``.

        An issue in a used file also names that file (``path``) and how it was
        reached (``notes``); the others are in the result's own file.
        """
        data: dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "line": self.line,
            "column": self.column,
            "hint": self.hint,
        }
        if self.notes:
            data["path"] = self.path
            data["notes"] = [note.to_dict() for note in self.notes]
        return data


class CircuitError(Exception):
    """A circuit could not be loaded, validated or evaluated; carries every issue found."""

    def __init__(self, issues: Sequence[Issue]) -> None:
        if not issues:
            raise ValueError("a CircuitError needs at least one issue")
        self.issues: tuple[Issue, ...] = tuple(issues)
        super().__init__("\n".join(issue.render() for issue in self.issues))

    @property
    def first(self) -> Issue:
        """The first issue (the one a one-line summary shows)."""
        return self.issues[0]

    @property
    def path(self) -> str | None:
        return self.first.path

    @property
    def line(self) -> int | None:
        return self.first.line

    @property
    def column(self) -> int | None:
        return self.first.column

    def at(self, path: str | None) -> CircuitError:
        """The same error with every issue attributed to `path`."""
        return type(self)([issue.at(path) for issue in self.issues])

    def __reduce__(self) -> tuple[Any, ...]:
        # Errors cross process boundaries in batch runs: pickle by issues.
        return (type(self), (self.issues,))


class LoadError(CircuitError):
    """The file is not a readable, safe, well-formed YAML mapping."""


class SchemaError(CircuitError):
    """The YAML does not follow the circuit format."""


class GraphError(CircuitError):
    """The wiring is wrong: unknown wires, wrong arity, cycles, no single output."""


class EvaluationError(CircuitError):
    """A gate hit a domain fault (log of 0, division by zero, overflow, NaN)."""


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """A ``did you mean 'x'?`` hint for a misspelt name, or None when nothing is close.

    For one lookup; a loop over many names builds one `Suggester` instead.
    """
    return Suggester(candidates).hint(word)


class Suggester:
    """Did-you-mean over a fixed set of names, for many lookups in near-linear time.

    Names differing only in case are found through a dict. Otherwise only names of a
    similar length can reach difflib's 0.6 similarity, so each lookup compares at most
    `PER_LOOKUP` of them, the closest in length first; and after `LOOKUPS` fuzzy
    lookups (a file with thousands of misspelt names) the rest get no suggestion, so a
    hostile file costs linear time, not names × misspellings.
    """

    PER_LOOKUP = 500
    LOOKUPS = 200

    def __init__(self, candidates: Iterable[str]) -> None:
        self._names = list(dict.fromkeys(candidates))
        self._folded: dict[str, str] = {}
        self._by_length: dict[int, list[str]] = {}
        for name in self._names:
            self._folded.setdefault(name.lower(), name)
            self._by_length.setdefault(len(name), []).append(name)
        self._lookups = 0

    def __bool__(self) -> bool:
        return bool(self._names)

    def hint(self, word: str) -> str | None:
        """``did you mean 'x'?``, or None when no name is close (or the budget is spent)."""
        same_but_case = self._folded.get(word.lower())
        if same_but_case is not None:  # `NEG` or `Weight` is most likely the same name in other case
            return f"did you mean '{same_but_case}'?"
        if self._lookups >= self.LOOKUPS:
            return None
        self._lookups += 1
        matches = difflib.get_close_matches(word, self._near(word), n=1, cutoff=0.6)
        return f"did you mean '{matches[0]}'?" if matches else None

    def _near(self, word: str) -> list[str]:
        # similarity 2·matches/(a+b) ≥ 0.6 needs the shorter name to be ≥ 3/7 of the longer
        size = len(word)
        lengths = sorted(self._by_length, key=lambda n: abs(n - size))
        near: list[str] = []
        for length in lengths:
            if 7 * min(length, size) < 3 * max(length, size):
                continue
            near.extend(self._by_length[length][: self.PER_LOOKUP - len(near)])
            if len(near) >= self.PER_LOOKUP:
                break
        return near


def listing(names: Sequence[str], limit: int = 10) -> str:
    """``a, b, c`` — at most `limit` names, then how many more."""
    more = len(names) - limit
    return ", ".join(names[:limit]) + (f" and {more} more" if more > 0 else "")


# What must never reach a terminal or a report as itself: C0 and C1 controls (escape
# sequences, carriage returns that overwrite lines), DEL, line and paragraph separators,
# bidirectional overrides (text that reads differently from what it is), lone surrogates
# (which no encoder accepts), the byte-order mark and the noncharacters XML refuses.
_UNPRINTABLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff\ufeff\ufffe\uffff]"
)
_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_char(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _SHORT_ESCAPES.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def printable(text: str) -> str:
    """`text` with every control character written as an escape (``\\x1b``, ``\\n``, ``\\u202e``).

    Every message, table cell and report field that shows user text (names, keys,
    paths) goes through this, so a file cannot clear a screen, forge lines or make
    an XML report unreadable.
    """
    return text if _UNPRINTABLE.search(text) is None else _UNPRINTABLE.sub(_escape_char, text)


def _github_escape(text: str, *, prop: bool = False) -> str:
    """Escape text for a GitHub workflow command (``%``, line breaks; ``:`` and ``,`` in properties)."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def github_annotation(issue: Issue) -> str:
    """``::error file=…,line=…,col=…,title=…::message`` for one issue."""
    kind = "error" if issue.severity == "error" else "warning"
    props = [f"file={_github_escape(printable(issue.path or ''), prop=True)}"]
    if issue.line is not None:
        props.append(f"line={issue.line}")
        if issue.column is not None:
            props.append(f"col={issue.column}")
    props.append(f"title={_github_escape(printable(issue.code), prop=True)}")
    # user text is escaped; the line breaks between the message and its notes are GitHub's to show
    message = printable(issue.message) + (f" (help: {printable(issue.hint)})" if issue.hint else "")
    message += "".join(f"\n{printable(note.render())}" for note in issue.notes)
    return f"::{kind} {','.join(props)}::{_github_escape(message)}"
