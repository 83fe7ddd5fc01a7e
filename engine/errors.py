"""Located diagnostics: the `Issue` record and the `CircuitError` exception tree.

Every user-facing problem is an `Issue` (code, message, path, line, column, hint,
severity). A stage collects all the issues it finds and raises them at once::

    CircuitError              any problem with a circuit; carries .issues
    ├── LoadError             bytes → document: size, encoding, YAML syntax, hostile YAML
    ├── SchemaError           document → spec: unknown/missing keys, bad numbers, unknown ops
    ├── GraphError            spec → program: unknown wires, arity, cycles, output
    └── EvaluationError       program → values: domain faults (log(0), overflow, NaN)

Rendering follows the compiler convention ``path:line:col: error[code] message``
with an indented ``help:`` line for the hint.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Issue:
    """One diagnostic, placed in a file (line and column are 1-based)."""

    code: str
    message: str
    path: str | None = None
    line: int | None = None
    column: int | None = None
    hint: str | None = None
    severity: Severity = "error"

    def at(self, path: str | None) -> Issue:
        """The same issue, attributed to `path` (kept if already set)."""
        return self if self.path is not None or path is None else replace(self, path=path)

    def location(self) -> str:
        """``path:line:col`` (missing parts left out)."""
        parts = [self.path or "<string>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def render(self) -> str:
        """The diagnostic as text, with its hint on a second line."""
        text = f"{self.location()}: {self.severity}[{self.code}] {self.message}"
        if self.hint:
            text += f"\n  help: {self.hint}"
        return text

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of an entry in a result's ``errors`` / ``warnings``."""
        return {
            "code": self.code,
            "message": self.message,
            "line": self.line,
            "column": self.column,
            "hint": self.hint,
        }


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
    """A ``did you mean 'x'?`` hint for a misspelt name, or None when nothing is close."""
    names = list(candidates)
    # Names are case-sensitive: `NEG` or `Weight` is most likely the same name in other case.
    same_but_case = [name for name in names if name.lower() == word.lower()]
    matches = same_but_case or difflib.get_close_matches(word, names, n=1, cutoff=0.6)
    return f"did you mean '{matches[0]}'?" if matches else None


def github_escape(text: str, *, prop: bool = False) -> str:
    """Escape text for a GitHub workflow command (``%``, newlines; ``:`` and ``,`` in properties)."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def github_annotation(issue: Issue) -> str:
    """``::error file=…,line=…,col=…,title=…::message`` for one issue."""
    kind = "error" if issue.severity == "error" else "warning"
    props = [f"file={github_escape(issue.path or '', prop=True)}"]
    if issue.line is not None:
        props.append(f"line={issue.line}")
        if issue.column is not None:
            props.append(f"col={issue.column}")
    props.append(f"title={github_escape(issue.code, prop=True)}")
    message = issue.message + (f" (help: {issue.hint})" if issue.hint else "")
    return f"::{kind} {','.join(props)}::{github_escape(message)}"
