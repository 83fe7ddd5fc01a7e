"""YAML 1.2 core-schema resolution of plain (unquoted) scalars.

PyYAML resolves plain scalars by YAML 1.1 rules, under which ``1e3`` is a string
and ``yes``/``on``/``no`` are booleans. Circuit files follow YAML 1.2's core
schema instead — with one deliberate narrowing: integers with a leading zero
(``010``: octal 8 in YAML 1.1, 10 in YAML 1.2) stay strings, so the schema can
explain the ambiguity rather than guess.
"""

from __future__ import annotations

import math
import re
from typing import Any

_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
# Decimal integers without leading zeros: YAML 1.1 read `010` as octal 8, 1.2 as 10;
# such ambiguous text stays a string and the schema explains it.
_INT = re.compile(r"[-+]?(0|[1-9][0-9]*)\Z")
_INT_OCT = re.compile(r"0o[0-7]+\Z")
_INT_HEX = re.compile(r"0x[0-9a-fA-F]+\Z")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\Z")
_INF = re.compile(r"[-+]?\.(inf|Inf|INF)\Z")
_NAN = re.compile(r"\.(nan|NaN|NAN)\Z")
_NUMBER_START = frozenset("0123456789+-.")


def resolve_plain(text: str) -> Any:
    """The value of a plain (unquoted) scalar under YAML 1.2's core schema."""
    if text and text[0] not in _NUMBER_START:
        if text in _BOOLS:
            return _BOOLS[text]
        return None if text in _NULLS else text
    if text in _NULLS:
        return None
    if _INT.match(text):
        # more digits than any finite float has: out of range (and past Python's int-string limit)
        return OutOfRange(text) if len(text.lstrip("+-")) > _MAX_FLOAT_DIGITS else int(text)
    if _INT_OCT.match(text):
        return _in_range(int(text[2:], 8), text)
    if _INT_HEX.match(text):
        return _in_range(int(text[2:], 16), text)
    if _FLOAT.match(text) and not _leading_zero(text):
        number = float(text)
        return number if math.isfinite(number) else OutOfRange(text)
    if _INF.match(text):
        return -math.inf if text[0] == "-" else math.inf
    if _NAN.match(text):
        return math.nan
    return text


_MAX_FLOAT_DIGITS = 309  # 1.8e308 has 309 digits
_FLOAT_LIMIT = 2**1024  # every integer at least this large rounds to infinity


def _in_range(value: int, text: str) -> int | OutOfRange:
    return value if value < _FLOAT_LIMIT else OutOfRange(text)


class OutOfRange(float):
    """A numeric literal too large for a float (``1e400``, ``0x`` and 300 digits): infinite, shown as written."""

    text: str

    def __new__(cls, text: str) -> OutOfRange:
        self = super().__new__(cls, "-inf" if text.startswith("-") else "inf")
        self.text = text
        return self

    def __repr__(self) -> str:
        return str(self.text)


def _leading_zero(text: str) -> bool:
    digits = text.lstrip("+-")
    return len(digits) > 1 and digits[0] == "0" and digits[1].isdigit()


def parse_number(text: str) -> float | None:
    """`text` as a finite number by the format's grammar (YAML 1.2 core: ``1.5``, ``-2``,
    ``1e3``, ``0x10``, ``0o17``), or None.

    The one number grammar for files, ``--set`` values and dataset cells: Python's
    ``float()`` would also take ``1_000``, ``infinity`` and digits of other scripts.
    """
    value = resolve_plain(text.strip(" "))
    if isinstance(value, bool) or not isinstance(value, int | float) or isinstance(value, OutOfRange):
        return None
    number = float(value)
    return number if math.isfinite(number) else None
