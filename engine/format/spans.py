"""Where each character of a scalar's value sits in the file: for errors inside expressions.

The loader records where a scalar starts; an expression's error is at a character
of the scalar's *value*. For a plain scalar on one line the two differ by a
constant, but quoted scalars have escapes (``\\t``, ``\\u00e9``, ``''``) and any
scalar may be folded over several lines. `value_positions` walks the raw text
the way YAML reads it and maps every value character to its line and column; if
its reading does not give back the value the parser produced (a form it does not
know), every character maps to the scalar's start instead: never a wrong column.
"""

from __future__ import annotations

Position = tuple[int, int]

_ESCAPE_LENGTH = {"x": 2, "u": 4, "U": 8}


def value_positions(text: str, start: Position, value: str) -> list[Position]:
    """The file position of each character of `value` (and one past its end).

    Args:
        text: the whole file.
        start: the scalar's 1-based line and column, as the loader recorded it.
        value: the scalar's value.
    """
    lines = text.split("\n")
    line, column = start
    if not 1 <= line <= len(lines):
        return [start] * (len(value) + 1)
    first = lines[line - 1]
    quote = first[column - 1] if column - 1 < len(first) else ""
    out: list[tuple[str, Position]] = []
    if quote and quote in "\"'":
        _quoted(lines, line, column, quote, out)
    elif quote and quote in "|>":
        _block(lines, line, quote, out)
    else:
        _plain(lines, line, column, len(value), out)
    chars = "".join(char for char, _ in out)
    if chars != value and chars.startswith(value) and not chars[len(value) :].strip():
        del out[len(value) :]  # line breaks a chomping indicator (`>-`, `|-`) leaves out
        chars = value
    if chars != value:
        return [start] * (len(value) + 1)
    positions = [position for _, position in out]
    end = positions[-1] if positions else start
    positions.append((end[0], end[1] + 1))
    return positions


def _quoted(lines: list[str], line: int, column: int, quote: str, out: list[tuple[str, Position]]) -> None:
    row, col = line - 1, column  # col: 0-based index just past the opening quote
    while row < len(lines):
        text = lines[row]
        while col < len(text):
            char = text[col]
            here = (row + 1, col + 1)
            if char == quote:
                if quote == "'" and text[col + 1 : col + 2] == "'":
                    out.append(("'", here))
                    col += 2
                    continue
                return
            if quote == '"' and char == "\\":
                if col + 1 >= len(text):  # an escaped line break: the value goes on without a break
                    row, col = row + 1, _indent(lines, row + 1)
                    break
                code = text[col + 1]
                width = _ESCAPE_LENGTH.get(code, 0)
                try:
                    decoded = chr(int(text[col + 2 : col + 2 + width], 16)) if width else _ESCAPES[code]
                except (KeyError, ValueError):
                    return
                out.append((decoded, here))
                col += 2 + width
                continue
            out.append((char, here))
            col += 1
        else:
            row, col = _fold(lines, row, out)


_ESCAPES = {
    "0": "\0",
    "a": "\a",
    "b": "\b",
    "t": "\t",
    "\t": "\t",
    "n": "\n",
    "v": "\v",
    "f": "\f",
    "r": "\r",
    "e": "\x1b",
    " ": " ",
    '"': '"',
    "/": "/",
    "\\": "\\",
    "N": "\x85",
    "_": "\xa0",
    "L": "\u2028",
    "P": "\u2029",
}


def _fold(lines: list[str], row: int, out: list[tuple[str, Position]]) -> tuple[int, int]:
    """A line break inside a flow scalar: trailing blanks dropped, one space (or a newline per empty line)."""
    while out and out[-1][0] in " \t" and out[-1][1][0] == row + 1:
        out.pop()
    breaks_at = (row + 1, len(lines[row]) + 1)
    row += 1
    empty = 0
    while row < len(lines) and not lines[row].strip():
        empty += 1
        row += 1
    col = _indent(lines, row)
    out.extend([("\n", breaks_at)] * empty if empty else [(" ", breaks_at)])
    return row, col


def _indent(lines: list[str], row: int) -> int:
    if row >= len(lines):
        return 0
    text = lines[row]
    return len(text) - len(text.lstrip(" \t"))


def _plain(lines: list[str], line: int, column: int, length: int, out: list[tuple[str, Position]]) -> None:
    row, col = line - 1, column - 1
    while row < len(lines) and len(out) < length:
        text = lines[row]
        end = text.find(" #", col)
        end = len(text) if end < 0 else end
        for index in range(col, end):
            out.append((text[index], (row + 1, index + 1)))
        if len(out) >= length:
            del out[length:]  # in a flow mapping the line goes on: `{expr: x + y, doc: …}`
            break
        row, col = _fold(lines, row, out)
    while out and out[-1][0] in " \t":
        out.pop()


def _block(lines: list[str], line: int, style: str, out: list[tuple[str, Position]]) -> None:
    """``|`` keeps line breaks, ``>`` folds single ones into spaces (clip chomping)."""
    row = line  # the content starts on the line after the header
    indent = None
    content: list[list[tuple[str, Position]]] = []
    while row < len(lines):
        text = lines[row]
        if text.strip():
            width = len(text) - len(text.lstrip(" "))
            if indent is None:
                indent = width
            if width < indent:
                break
        elif indent is None:
            content.append([])
            row += 1
            continue
        start = min(indent or 0, len(text))
        content.append([(char, (row + 1, index + 1)) for index, char in enumerate(text[start:], start)])
        row += 1
    while content and not content[-1]:
        content.pop()
    for index, chars in enumerate(content):
        out.extend(chars)
        end = (chars[-1][1][0], chars[-1][1][1] + 1) if chars else (line + index + 1, 1)
        folds = style == ">" and index + 1 < len(content) and chars and content[index + 1]
        out.append((" " if folds else "\n", end))
