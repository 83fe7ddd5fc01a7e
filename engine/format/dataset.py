"""Datasets of input samples as CSV: reading them (located errors), and writing
per-sample results as CSV or JSON (to a file with `engine.format.files.write_output`).

A dataset's header row names circuit inputs; each further row is one sample.
Inputs without a column keep the file's values. Rows are named by their line in
the file (the header is line 1), which is how faults and errors point at them.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import Issue, LoadError, Suggester, listing
from engine.format.scalars import parse_number, resolve_plain


@dataclass(frozen=True, slots=True)
class Dataset:
    """Columns of a CSV file.

    Attributes:
        path: where it came from.
        columns: header name → numpy array of one float per row.
        lines: the file line of each row (for messages).
    """

    path: str
    columns: dict[str, Any]  # numpy arrays, imported lazily
    lines: list[int]

    def __len__(self) -> int:
        return len(self.lines)

    def row_label(self, index: int) -> str:
        """How sample `index` is named in messages: its line in the file."""
        return f"row {self.lines[index]} of '{self.path}'"


def read_csv(path: str | Path, known: Sequence[str]) -> Dataset:
    """Read a dataset whose header names inputs among `known`.

    Raises:
        LoadError: unreadable file, no header, unknown or repeated columns, rows
            of the wrong length, cells that are not finite numbers (up to 20
            issues, each at its line and column).
    """
    where = str(path)
    try:
        # Streamed from the file: a copy of the whole text (in a StringIO, 4 bytes per
        # character) would outweigh the numbers read from it.
        with open(path, encoding="utf-8-sig", newline="") as handle:
            return _parse(csv.reader(handle), known, where)
    except FileNotFoundError:
        raise LoadError([Issue("io", "no such file", where, hint="check the path given to --inputs")]) from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise LoadError([Issue("io", f"cannot read dataset: {exc}", where, hint="a UTF-8 CSV file")]) from None


def _parse(reader: Any, known: Sequence[str], where: str) -> Dataset:
    header = next(reader, None)
    if not header or not any(cell.strip() for cell in header):
        raise LoadError(
            [
                Issue(
                    "empty-dataset",
                    "dataset has no header row",
                    where,
                    1,
                    1,
                    hint="the first row names inputs, e.g. `x,y`",
                )
            ]
        )
    names = [cell.strip() for cell in header]
    issues: list[Issue] = []
    seen: set[str] = set()
    inputs = set(known)
    suggest = Suggester(known)
    every_input = "inputs: " + listing(known)
    columns = _columns(header)
    for index, name in enumerate(names):
        column = columns[index]
        if name not in inputs:
            hint = suggest.hint(name) or every_input
            issues.append(
                Issue("unknown-input", f"column '{name}' names no input of the circuit", where, 1, column, hint=hint)
            )
        elif name in seen:
            issues.append(
                Issue("duplicate-column", f"column '{name}' appears twice", where, 1, column, hint="keep one of them")
            )
        seen.add(name)
    rows: list[list[float]] = []
    lines: list[int] = []
    width = len(names)
    for row in reader:
        if not row:
            continue  # an empty line
        line = reader.line_num
        if len(row) == width and _PLAIN_ROW.fullmatch(",".join(row)):
            try:  # the common case, a row of finite decimal numbers, at the speed of `map`
                numbers = list(map(float, row))
                if math.isfinite(sum(numbers)):  # else a NaN or an infinity among them (or a sum that overflows)
                    rows.append(numbers)
                    lines.append(line)
                    continue
            except ValueError:
                pass
        if all(not cell.strip() for cell in row):
            continue  # blank lines are not samples
        if len(row) != width:
            issues.append(
                Issue(
                    "row-length",
                    f"row has {len(row)} cells, the header has {width}",
                    where,
                    line,
                    1,
                    hint="give every row one value per column",
                )
            )
        else:
            rows.append(_cells(row, names, where, line, issues))
        lines.append(line)
        if len(issues) >= 20:
            break
    if issues:
        raise LoadError(issues)
    if not lines:
        raise LoadError(
            [
                Issue(
                    "empty-dataset",
                    "dataset has a header but no rows",
                    where,
                    2,
                    1,
                    hint="add one row of numbers per sample",
                )
            ]
        )
    import numpy  # only datasets need it: imported on first use

    by_column = numpy.array(rows, dtype=float).T  # one row per column: what evaluation takes
    return Dataset(where, {name: by_column[index] for index, name in enumerate(names)}, lines)


def _cells(row: Sequence[str], names: Sequence[str], where: str, line: int, issues: list[Issue]) -> list[float]:
    # One row, cell by cell: each cell that is not a finite number becomes an issue
    # at its column (while fewer than 20 issues are on record).
    numbers: list[float] = []
    for index, (name, cell) in enumerate(zip(names, row)):
        number = parse_number(cell)
        if number is None and not _non_finite(cell):
            value = math.nan
            if len(issues) < 20:
                issues.append(
                    Issue(
                        "invalid-number",
                        f"{_shown(cell)} in column '{name}' is not a number",
                        where,
                        line,
                        _column(row, index),
                        hint="write a plain number like 2.5",
                    )
                )
                numbers.append(value)
                continue
        value = math.nan if number is None else number
        if number is None and len(issues) < 20:
            issues.append(
                Issue(
                    "invalid-number",
                    f"{_shown(cell)} in column '{name}' is not a finite number",
                    where,
                    line,
                    _column(row, index),
                    hint="NaN and infinities are not allowed",
                )
            )
        numbers.append(value)
    return numbers


# Decimal numbers as the format writes them (no leading zeros, underscores or other
# scripts' digits): a row of only these is read by `float` at once; any other row cell
# by cell with the format's own grammar, so that `0x10` is 16 here as in a file.
_DECIMAL = r" *[-+]?(?:\.[0-9]+|(?:0|[1-9][0-9]*)(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)? *"
_PLAIN_ROW = re.compile(f"{_DECIMAL}(?:,{_DECIMAL})*")


def _non_finite(cell: str) -> bool:
    # `.inf`, `1e400`, and the spellings other tools write (nan, inf, Infinity)
    text = cell.strip(" ")
    value = resolve_plain(text)
    return (isinstance(value, float) and not math.isfinite(value)) or text.lstrip("+-").lower() in _WORDS


_WORDS = frozenset({"nan", "inf", "infinity"})


def _shown(cell: str) -> str:
    # A cell as quoted in a message: control characters (a NUL, a tab) escaped, long ones cut.
    text = cell.strip()
    shown = f"'{text}'" if text.isprintable() else repr(text)
    return shown if len(shown) <= 40 else shown[:36] + "…" + shown[0]


def _columns(row: Sequence[str]) -> list[int]:
    # 1-based character column of every cell (exact for unquoted cells), in one pass.
    columns, at = [], 1
    for cell in row:
        columns.append(at)
        at += len(cell) + 1
    return columns


def _column(row: Sequence[str], index: int) -> int:
    # 1-based character column of cell `index` (exact for unquoted cells).
    return sum(len(cell) + 1 for cell in row[:index]) + 1
