"""Bytes → validated `CircuitFile` plus a `SourceMap` of every node's line and column.

The loader is the only module that touches YAML. It reads with PyYAML's safe C
parser when available, and builds the document itself in one iterative pass over
the parser's *events* (never ``yaml.load``), which lets it:

* refuse hostile input before anything is constructed — anchors and aliases (the
  "billion laughs"), explicit tags (``!!python/object``…), nesting deeper than
  `MAX_DEPTH`, files over a size limit — without recursion, so no file can hit
  Python's recursion limit;
* resolve plain scalars by YAML 1.2's core schema rather than PyYAML's YAML 1.1
  defaults (``1e3`` is a number; ``yes``/``on`` are text; ``010`` and ``12:30``
  are not numbers);
* report duplicate keys (PyYAML silently keeps the last one) naming both lines;
* record the position of every key and value, so schema and graph issues point
  at the offending spot.
"""

from __future__ import annotations

import gc
import re
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import yaml

from engine.errors import Issue, LoadError, SchemaError
from engine.format.model import CircuitFile, Loc
from engine.format.reading import DEFAULT_MAX_BYTES as DEFAULT_MAX_BYTES  # where callers have long found them
from engine.format.reading import read_bytes as read_bytes
from engine.format.scalars import resolve_plain
from engine.format.validation import validate

MAX_DEPTH = 64
_FULL_MAP_BELOW = 256 * 1024
"""Files smaller than this (in characters) get a full source map while loading."""
_MAX_CHAR_ISSUES = 10

try:  # the C parser is ~10x faster; fall back to the pure-Python one
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Loader = yaml.SafeLoader

Position = tuple[int, int]


class SourceMap:
    """Where each node of a document sits in its file (1-based line and column).

    ``values`` maps a loc (the path of keys and indexes from the root) to the
    position of that value; ``keys`` maps it to the position of its mapping key.

    A map made by `deferred` holds only the text (compressed), and parses it
    again the first time a position is asked for (when an issue must be placed).
    Large files load that way: a full map costs ~1.5 KB per gate, and a valid
    file never needs it.
    """

    __slots__ = ("_values", "_keys", "_text", "_path")

    def __init__(self, values: dict[Loc, Position], keys: dict[Loc, Position]) -> None:
        self._values: dict[Loc, Position] | None = values
        self._keys: dict[Loc, Position] | None = keys
        self._text: bytes | None = None
        self._path: str | None = None

    @classmethod
    def deferred(cls, text: str, path: str | None = None) -> SourceMap:
        """A map of `text` built on first use (the text must parse)."""
        source = cls.__new__(cls)
        source._values = source._keys = None
        source._text, source._path = zlib.compress(text.encode("utf-8"), 1), path
        return source

    def _build(self) -> None:
        _, full, _ = parse_document(zlib.decompress(self._text or b"").decode("utf-8"), self._path)
        self._values, self._keys, self._text = full.values, full.keys, None

    @property
    def values(self) -> dict[Loc, Position]:
        if self._values is None:
            self._build()
        return self._values  # type: ignore[return-value]

    @property
    def keys(self) -> dict[Loc, Position]:
        if self._keys is None:
            self._build()
        return self._keys  # type: ignore[return-value]

    def locate(self, loc: Loc, *, key: bool = False) -> Position:
        """The position of `loc` (its key when `key`), or of its nearest ancestor.

        A missing field resolves to the mapping that should hold it.
        """
        if key and loc in self.keys:
            return self.keys[loc]
        while loc:
            if loc in self.values:
                return self.values[loc]
            loc = loc[:-1]
        return self.values.get((), (1, 1))

    def place(self, issue: Issue, loc: Loc, *, key: bool = False) -> Issue:
        """`issue` positioned at `loc`."""
        line, column = self.locate(loc, key=key)
        return replace(issue, line=line, column=column)


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while building large acyclic structures.

    Loading creates millions of small acyclic objects; the collector's passes over
    them are pure waste. It is restored afterwards, also when loading fails.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


_UTF16_32_BOMS = (
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\xfe\xff", "UTF-16"),
    (b"\xff\xfe", "UTF-16"),
)


def decode(data: bytes, path: str | None = None) -> str:
    """UTF-8 text of `data` (a UTF-8 byte-order mark is dropped).

    Raises:
        LoadError: another encoding, or bytes that are not UTF-8.
    """
    for bom, name in _UTF16_32_BOMS:
        if data.startswith(bom):
            raise LoadError(
                [Issue("encoding", f"file is encoded as {name}, not UTF-8", path, 1, 1, hint="save the file as UTF-8")]
            )
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        # YAML's line breaks (CRLF, CR, LF), as in every other position reported
        line = data.count(b"\n", 0, exc.start) + data.count(b"\r", 0, exc.start) - data.count(b"\r\n", 0, exc.start) + 1
        line_start = max(data.rfind(b"\n", 0, exc.start), data.rfind(b"\r", 0, exc.start)) + 1
        column = len(data[line_start : exc.start].decode("utf-8", errors="replace")) + 1
        raise LoadError(
            [
                Issue(
                    "encoding",
                    f"invalid UTF-8 byte 0x{data[exc.start]:02x}",
                    path,
                    line,
                    column,
                    hint="save the file as UTF-8",
                )
            ]
        ) from None


_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ufffe\uffff]")
_SURROGATE = re.compile("[\ud800-\udfff]")  # only in text that was decoded wrongly
_TAB_INDENT = re.compile(r"(?:^|(?<=\r)) *(\t)[ \t]*\S", re.MULTILINE)


def _scan_text(text: str, path: str | None = None) -> list[Issue]:
    """Control characters and tab indentation, which YAML forbids, with positions."""
    issues: list[Issue] = []
    for match in _SURROGATE.finditer(text):
        issues.append(
            Issue(
                "encoding",
                f"lone surrogate U+{ord(match.group()):04X} is not a character",
                path,
                *_line_column(text, match.start()),
                hint="the text was decoded wrongly; save the file as UTF-8",
            )
        )
        if len(issues) >= _MAX_CHAR_ISSUES:
            return issues
    for match in _CONTROL.finditer(text):
        line, column = _line_column(text, match.start())
        issues.append(
            Issue(
                "control-char",
                f"control character U+{ord(match.group()):04X} is not allowed",
                path,
                line,
                column,
                hint="delete it, or write it as an escape inside double quotes",
            )
        )
        if len(issues) >= _MAX_CHAR_ISSUES:
            break
    for match in _TAB_INDENT.finditer(text):
        line, column = _line_column(text, match.start(1))
        issues.append(
            Issue(
                "tab-indent",
                "tab character used for indentation",
                path,
                line,
                column,
                hint="YAML indents with spaces only; replace the tab with spaces",
            )
        )
        if len(issues) >= 2 * _MAX_CHAR_ISSUES:
            break
    return issues


def _line_column(text: str, offset: int) -> Position:
    """The 1-based line and column of `offset` in `text`.

    The one definition of a line used for every position: YAML 1.2's, where a line
    ends at CRLF, CR or LF. NEL, LS and PS are ordinary characters in YAML 1.2 (YAML
    1.1 and the parser took them for line breaks; `parse_document` hides them from it).
    """
    line = text.count("\n", 0, offset) + text.count("\r", 0, offset) - text.count("\r\n", 0, offset) + 1
    return line, offset - (max(text.rfind("\n", 0, offset), text.rfind("\r", 0, offset)) + 1) + 1


_YAML11_BREAKS = "\x85\u2028\u2029"
_HAS_YAML11_BREAK = re.compile(f"[{_YAML11_BREAKS}]")


def _hide_yaml11_breaks(text: str) -> tuple[str, dict[int, int] | None]:
    """`text` with NEL, LS and PS swapped for unused private-use characters, and the table that swaps them back.

    One character for one, so every position stays the same; the parser, which
    follows YAML 1.1 there, then sees no line break YAML 1.2 does not have.
    """
    if _HAS_YAML11_BREAK.search(text) is None:
        return text, None
    used = set(text)
    spare = (chr(c) for c in range(0xE000, 0xF900) if chr(c) not in used)
    hide = {ord(b): ord(next(spare)) for b in _YAML11_BREAKS}
    return text.translate(hide), {v: k for k, v in hide.items()}


_ScalarEvent = yaml.ScalarEvent
_MappingStart = yaml.MappingStartEvent
_SequenceStart = yaml.SequenceStartEvent
_CollectionEnd = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


def parse_document(text: str, path: str | None = None, *, positions: bool = True) -> tuple[Any, SourceMap, list[Issue]]:
    """Build the document from parser events; refuse hostile YAML on the way.

    Args:
        text: the YAML text.
        path: the file, for issues.
        positions: record every node's position; when False the source map is
            `SourceMap.deferred` (a second parse, only if a position is needed).

    Returns:
        The data (dicts, lists, str, int, float, bool, None), its source map, and
        the non-fatal issues found (duplicate keys).

    Raises:
        LoadError: YAML syntax errors, aliases, anchors, tags, excessive nesting,
            several documents, or an empty file.
    """
    values: dict[Loc, Position] = {}
    keys: dict[Loc, Position] = {}
    issues: list[Issue] = []
    # Each frame: [container, loc, pending key (maps only), key lines (maps only)]
    stack: list[list[Any]] = []
    root: Any = None
    documents = 0
    has_root = False

    def fail(code: str, message: str, mark: Any, hint: str) -> LoadError:
        return LoadError([Issue(code, message, path, mark.line + 1, mark.column + 1, hint)])

    text, restore = _hide_yaml11_breaks(text)
    try:
        event: Any  # PyYAML's event classes carry their fields untyped
        for event in yaml.parse(text, Loader=_Loader):
            cls = type(event)
            if cls is _ScalarEvent or cls is _MappingStart or cls is _SequenceStart:
                mark = event.start_mark
                if event.anchor is not None:
                    raise fail(
                        "yaml-anchor",
                        f"anchor '&{event.anchor}' is not allowed",
                        mark,
                        "write the value out in full; anchors and aliases are refused for safety",
                    )
                if event.tag is not None:
                    raise fail(
                        "yaml-tag",
                        f"tag '{_short_tag(event.tag)}' is not allowed",
                        mark,
                        "remove the tag; circuit files hold plain data only",
                    )
                position = (mark.line + 1, mark.column + 1)
                if stack:
                    frame = stack[-1]
                    container = frame[0]
                    if frame[2] is _NO_KEY:  # this node is a mapping key
                        if cls is not _ScalarEvent:
                            raise fail(
                                "yaml-key", "a mapping key must be a plain name", mark, "use a simple name as the key"
                            )
                        key = event.value if restore is None else event.value.translate(restore)
                        seen = frame[3]
                        if key in seen:
                            first = seen[key]
                            issues.append(
                                Issue(
                                    "duplicate-key",
                                    f"duplicate key '{key}' (first defined on line {first})",
                                    path,
                                    *position,
                                    hint="remove one of them; only one value is allowed",
                                )
                            )
                            frame[2] = _DUPLICATE
                        else:
                            seen[key] = position[0]
                            frame[2] = key
                            if positions:
                                keys[frame[1] + (key,)] = position
                        continue
                    if type(container) is dict:
                        key = frame[2]
                        frame[2] = _NO_KEY
                    else:
                        key = len(container)
                    loc = frame[1] + (key,) if positions else ()
                else:  # the document's root (a second document is refused at its start)
                    key, loc, container = None, (), None
                if cls is _ScalarEvent:
                    raw = event.value if restore is None else event.value.translate(restore)
                    value = resolve_plain(raw) if event.style in (None, "") else raw
                else:
                    value = {} if cls is _MappingStart else []
                    if len(stack) >= MAX_DEPTH:
                        raise fail(
                            "yaml-depth",
                            f"nesting deeper than {MAX_DEPTH} levels",
                            mark,
                            "circuit files are shallow; check for runaway brackets",
                        )
                if container is None:
                    root, has_root = value, True
                elif key is not _DUPLICATE:
                    if type(container) is dict:
                        container[key] = value
                    else:
                        container.append(value)
                if positions or container is None:
                    values[loc] = position
                if cls is not _ScalarEvent:
                    stack.append([value, loc, _NO_KEY, {}] if cls is _MappingStart else [value, loc, None, None])
            elif cls in _CollectionEnd:
                stack.pop()
            elif cls is yaml.AliasEvent:
                raise fail(
                    "yaml-alias",
                    f"alias '*{event.anchor}' is not allowed",
                    event.start_mark,
                    "write the value out in full; anchors and aliases are refused for safety",
                )
            elif cls is yaml.DocumentStartEvent:
                documents += 1
                if documents > 1:
                    raise fail(
                        "yaml-multiple",
                        "a second YAML document in the file",
                        event.start_mark,
                        "a file holds one circuit; remove the '---' and what follows, or split the file",
                    )
    except yaml.MarkedYAMLError as exc:
        raise LoadError([_syntax_issue(exc, path)]) from None

    if not has_root or root is None:
        raise LoadError(
            [
                Issue(
                    "empty-file",
                    "file holds no circuit",
                    path,
                    1,
                    1,
                    hint="a circuit needs at least `gates:`; see `circuit schema`",
                )
            ]
        )
    if not isinstance(root, dict):
        kind = "a list" if isinstance(root, list) else "a single value"
        raise LoadError(
            [
                Issue(
                    "not-a-mapping",
                    f"top level is {kind}, not a mapping",
                    path,
                    *values[()],
                    hint="start with keys like `inputs:`, `gates:` and `output:`",
                )
            ]
        )
    return root, SourceMap(values, keys) if positions else SourceMap.deferred(text, path), issues


def _short_tag(tag: str) -> str:
    return "!!" + tag[len("tag:yaml.org,2002:") :] if tag.startswith("tag:yaml.org,2002:") else tag


class _Marker:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return self.name


_NO_KEY = _Marker("<no key yet>")
_DUPLICATE = _Marker("<duplicate key>")

_SYNTAX_HINTS = (
    ("mapping values are not allowed", "quote the value if it contains ': ', or fix the indentation"),
    ("could not find expected ':'", "a key needs ': ' after it; check indentation and quotes"),
    ("found character '\\t'", "YAML indents with spaces only; replace the tab with spaces"),
    ("did not find expected key", "check the indentation of this line against the keys above"),
    ("did not find expected ',' or ']'", "close the list with ']' or separate items with ','"),
    ("did not find expected ',' or '}'", "close the mapping with '}' or separate items with ','"),
    ("found unexpected end of stream", "a quote or bracket is not closed"),
    ("found undefined tag handle", "remove the tag; circuit files hold plain data only"),
    ("expected <block end>", "check the indentation of this line against the lines above"),
    ("special characters are not allowed", "quote the text, or remove the special character"),
)


def _syntax_issue(exc: yaml.MarkedYAMLError, path: str | None) -> Issue:
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or "invalid YAML"
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (None, None)
    if "maximum nesting depth" in problem:  # libyaml's own limit, met while scanning ahead
        return Issue(
            "yaml-depth",
            f"nesting deeper than {MAX_DEPTH} levels",
            path,
            line,
            column,
            "circuit files are shallow; check for runaway brackets",
        )
    hint = next((h for text, h in _SYNTAX_HINTS if text in problem), "check the quoting and indentation near here")
    return Issue("yaml-syntax", problem, path, line, column, hint)


def load_spec(
    text: str, path: str | None = None, salvage: Callable[[Any, SourceMap], list[Issue]] | None = None
) -> tuple[CircuitFile, SourceMap]:
    """Text → a validated spec and its source map.

    Args:
        text: the YAML document.
        path: the file name issues are reported against.
        salvage: when the schema fails, finds further issues in the raw document
            (wiring problems in the gates that are valid), so that a file's errors
            are reported together rather than one stage at a time.

    Raises:
        LoadError: unreadable or hostile YAML.
        SchemaError: the document does not follow the format (every issue at once,
            duplicate keys included).
    """
    issues = _scan_text(text, path)
    if issues:
        raise LoadError(issues)
    with paused_gc():
        # Large files keep no positions unless an issue must be placed (see SourceMap).
        data, source, duplicates = parse_document(text, path, positions=len(text) < _FULL_MAP_BELOW)
        spec, problems = validate(data)
    placed = duplicates + [source.place(issue.at(path), loc, key=is_key) for loc, issue, is_key in problems]
    if spec is None and salvage is not None:
        seen = {(i.line, i.column, i.code) for i in placed}
        placed += [i for i in salvage(data, source) if (i.line, i.column, i.code) not in seen]
    if spec is None or duplicates:
        raise SchemaError(sorted(placed, key=lambda i: (i.line or 0, i.column or 0)))
    return spec, source
