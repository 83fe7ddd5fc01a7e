"""Editing input values in a circuit file's text, leaving every other character as it was.

Only the number of each input named is rewritten, at the position the loader
recorded for it (`SourceMap`): comments, key order, quoting and layout are kept
byte for byte. The number found there must be the value the file was loaded with,
so a stale map can never overwrite the wrong text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from engine.errors import Issue, LoadError
from engine.format.loader import SourceMap
from engine.format.scalars import resolve_plain

# What YAML counts as a line break (columns restart after each): CR LF, CR, LF, NEL, LS, PS.
_LINE_BREAK = re.compile("\r\n|\r|\n|\x85|\u2028|\u2029")
# A plain numeric scalar as YAML 1.2's core schema reads it (see engine.format.scalars).
_NUMBER = re.compile(r"[-+]?(0x[0-9a-fA-F]+|0o[0-7]+|\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_AFTER_NUMBER = frozenset(" \t\r\n,]}\x85\u2028\u2029")


def number_text(value: float) -> str:
    """`value` as a YAML 1.2 number that reads back as exactly the same float."""
    text = repr(float(value))
    if resolve_plain(text) != value:  # pragma: no cover - repr of a finite float always reads back
        raise ValueError(f"{value!r} has no YAML number")
    return text


def set_inputs(
    text: str, source: SourceMap, values: Mapping[str, float], current: Mapping[str, float], path: str | None = None
) -> str:
    """`text` with the value of each input in `values` replaced.

    Args:
        text: the file's text, as loaded.
        source: its source map.
        values: input name → new value.
        current: input name → the value the file holds now (what must be found there).
        path: the file, for errors.

    Raises:
        LoadError: an input's number is not where the map says (the text is not the one loaded).
    """
    starts = [0] + [match.end() for match in _LINE_BREAK.finditer(text)]
    edits: list[tuple[int, int, str]] = []
    for name, value in values.items():
        loc = ("inputs", name, "value")
        line, column = source.locate(loc if loc in source.values else ("inputs", name))
        offset = starts[line - 1] + column - 1 if line <= len(starts) else len(text)
        found = _NUMBER.match(text, offset)
        end = found.end() if found else offset
        if (
            found is None
            or (end < len(text) and text[end] not in _AFTER_NUMBER)
            or resolve_plain(found.group()) != current[name]
        ):
            raise LoadError(
                [
                    Issue(
                        "edit",
                        f"the value of input '{name}' is not where the file was read",
                        path,
                        line,
                        column,
                        hint="load the file again and retry",
                    )
                ]
            )
        edits.append((offset, end, number_text(value)))
    for start, end, new in sorted(edits, reverse=True):
        text = text[:start] + new + text[end:]
    return text
