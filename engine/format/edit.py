"""Editing input values in a circuit file's text, leaving every other character as it was.

Only the number of each input named is rewritten, at the position the loader
recorded for it (`SourceMap`): comments, key order, quoting and layout are kept
byte for byte. The number found there must be the value the file was loaded with,
so a stale map can never overwrite the wrong text; and a file that changed on disk since it
was read is not written at all.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from engine.errors import CircuitError, Issue, LoadError
from engine.format.files import write_atomic
from engine.format.loader import SourceMap, decode
from engine.format.placement import Placement
from engine.format.scalars import resolve_plain

# What YAML counts as a line break (columns restart after each): CR LF, CR, LF, NEL, LS, PS.
_LINE_BREAK = re.compile("\r\n|\r|\n|\x85|\u2028|\u2029")
# A plain numeric scalar as YAML 1.2's core schema reads it (see engine.format.scalars).
_NUMBER = re.compile(r"[-+]?(0x[0-9a-fA-F]+|0o[0-7]+|\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_AFTER_NUMBER = frozenset(" \t\r\n,]}\x85\u2028\u2029")


def _number_text(value: float) -> str:
    """`value` as a YAML 1.2 number that reads back as exactly the same float."""
    text = repr(float(value))
    if resolve_plain(text) != value:  # pragma: no cover - repr of a finite float always reads back
        raise ValueError(f"{value!r} has no YAML number")
    return text


def set_inputs(
    text: str,
    source: SourceMap | Placement,
    values: Mapping[str, float],
    current: Mapping[str, float],
    path: str | None = None,
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
    if isinstance(source, Placement):  # a loaded circuit's: the numbers are in its own file
        source = source.root.source
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
        edits.append((offset, end, _number_text(value)))
    for start, end, new in sorted(edits, reverse=True):
        text = text[:start] + new + text[end:]
    return text


def write_inputs(
    path: str | Path,
    original: bytes,
    source: SourceMap | Placement,
    current: Mapping[str, float],
    values: Mapping[str, float],
) -> None:
    """Put `values` into the file at `path`: only those numbers change, written atomically.

    Args:
        path: the circuit file.
        original: its bytes when it was read (and loaded, giving `source` and `current`).
        source: the loaded file's source map.
        current: input name → the value loaded.
        values: input name → new value.

    Raises:
        CircuitError: the file changed on disk since it was read, or cannot be written.
    """
    where = str(path)
    try:
        now = Path(path).read_bytes()
    except OSError:
        now = None
    if now != original:
        raise CircuitError(
            [
                Issue(
                    "changed-on-disk",
                    "file changed on disk since it was read; parameters not written",
                    where,
                    hint="run the optimisation again on the current file",
                )
            ]
        )
    text = set_inputs(decode(original, where), source, values, current, where)
    bom = "\ufeff" if original.startswith(b"\xef\xbb\xbf") else ""  # decode dropped it: put it back
    try:
        write_atomic(path, bom + text)
    except OSError as exc:
        raise CircuitError([Issue("io", f"cannot write file: {exc.strerror or exc}", where)]) from None
