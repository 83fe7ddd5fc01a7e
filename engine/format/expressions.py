"""Arithmetic expressions in gates: a small hand-written parser, and their lowering to gates.

Grammar (nothing else: no attributes, subscripts, keywords, comparisons, strings)::

    expr   := term (('+' | '-') term)*
    term   := factor (('*' | '/') factor)*
    factor := ('-' | '+') factor | power
    power  := atom ('**' factor)?                 # right-associative, binds tighter than unary minus
    atom   := NUMBER | NAME | NAME '(' expr (',' expr)* ')' | '(' expr ')'
    NAME   := identifier ('.' part)*              # qualified: n1.s

The text is never evaluated: it is read character by character into `Node`s, with
bounded length (`MAX_CHARS`) and nesting (`MAX_DEPTH`), so a hostile expression
fails fast with an `ExprError` at its offset. `lower` turns a tree into `Lowered`
gates: ``a + b + c`` is one variadic ``add`` (as one writes it by hand), calls are
ops, unary minus is ``neg`` (folded into a number literal), and subtrees of
constants only fold to a number when the op is defined there (no gradient is lost:
constants have none). Intermediate results are named ``<gate>.1``, ``<gate>.2``, …
in evaluation order; the expression's root is the gate itself.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from engine.errors import did_you_mean
from engine.format.scalars import resolve_plain
from engine.ops import OPS

MAX_CHARS = 10_000
MAX_DEPTH = 64

_TOKEN = re.compile(
    r"(?P<space>[ \t\r\n]+)"
    r"|(?P<number>(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)"
    r"|(?P<op>\*\*|[-+*/(),])"
)
_NUMBER_TAIL = re.compile(r"[A-Za-z0-9_.]")


class ExprError(Exception):
    """A problem in an expression, at a character offset of its text."""

    def __init__(self, code: str, message: str, offset: int, hint: str) -> None:
        super().__init__(message)
        self.code, self.message, self.offset, self.hint = code, message, offset, hint


@dataclass(frozen=True, slots=True)
class Num:
    value: float
    at: int


@dataclass(frozen=True, slots=True)
class Name:
    name: str
    at: int


@dataclass(frozen=True, slots=True)
class Apply:
    """An op applied to operands; ``at`` is the operator's (or function name's) offset."""

    op: str
    args: tuple[Node, ...]
    at: int
    grouped: bool = False  # written in parentheses: not merged into an enclosing chain


Node = Num | Name | Apply


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # number, name, op, end
    text: str
    at: int


def _tokenize(text: str) -> list[_Token]:
    """The expression's tokens, ending with an ``end`` token.

    Raises:
        ExprError: an over-long expression or a character outside the grammar.
    """
    if len(text) > MAX_CHARS:
        raise ExprError(
            "expr-too-long",
            f"expression is {len(text):,} characters, over the {MAX_CHARS:,}-character limit",
            0,
            "split it into several gates",
        )
    tokens: list[_Token] = []
    at = 0
    while at < len(text):
        match = _TOKEN.match(text, at)
        if match is None:
            raise _unexpected_char(text, at)
        kind = match.lastgroup or ""
        if kind == "number" and _NUMBER_TAIL.match(text, match.end()):
            end = match.end()
            while end < len(text) and _NUMBER_TAIL.match(text, end):
                end += 1
            raise ExprError(
                "expr-syntax",
                f"'{text[at:end]}' is not a number",
                at,
                "write numbers like 2, 0.5 or 1e-3, and names starting with a letter",
            )
        if kind == "name" and match.group() == "lambda":
            raise ExprError(
                "expr-syntax", "'lambda' is not allowed in an expression", at, "expressions hold arithmetic only"
            )
        if kind != "space":
            tokens.append(_Token(kind, match.group(), at))
        at = match.end()
    tokens.append(_Token("end", "", len(text)))
    return tokens


def _unexpected_char(text: str, at: int) -> ExprError:
    char = text[at]
    if char in "'\"":
        hint = "expressions hold no strings: write wire names and numbers"
    elif char == "^":
        hint = "write powers as a ** b"
    elif char in "[]{}":
        hint = "group with ( and ) only"
    else:
        hint = "expressions use + - * / **, parentheses, numbers, wire names and op calls like exp(x)"
    return ExprError("expr-syntax", f"unexpected character '{char}'", at, hint)


def parse(text: str) -> Node:
    """The expression's tree.

    Raises:
        ExprError: a syntax error, an unknown function, a wrong number of
            arguments, or an expression over the length or nesting limit.
    """
    parser = _Parser(_tokenize(text))
    node = parser.expr(0)
    if parser.peek().kind != "end":
        raise parser.unexpected(parser.take())
    return node


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.index = 0

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def take(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def deeper(self, depth: int, token: _Token) -> int:
        # Every level of recursion goes through here, so no input can reach Python's recursion limit.
        if depth >= MAX_DEPTH:
            raise ExprError(
                "expr-too-deep",
                f"expression nested deeper than {MAX_DEPTH} levels",
                token.at,
                "split it into several gates",
            )
        return depth + 1

    def expr(self, depth: int) -> Node:
        return self._chain(depth, self.term, {"+": "add", "-": "sub"})

    def term(self, depth: int) -> Node:
        return self._chain(depth, self.factor, {"*": "mul", "/": "div"})

    def _chain(self, depth: int, operand: Callable[[int], Node], ops: dict[str, str]) -> Node:
        node = operand(depth)
        while self.peek().kind == "op" and self.peek().text in ops:
            token = self.take()
            right = operand(depth)
            op = ops[token.text]
            if op in ("add", "mul") and isinstance(node, Apply) and node.op == op and not node.grouped:
                node = Apply(op, (*node.args, right), node.at)  # a + b + c: one variadic gate
            else:
                node = Apply(op, (node, right), token.at)
        return node

    def factor(self, depth: int) -> Node:
        token = self.peek()
        if token.kind == "op" and token.text in "-+":
            self.take()
            operand = self.factor(self.deeper(depth, token))
            if token.text == "+":
                return operand
            if isinstance(operand, Num):
                return Num(-operand.value, token.at)  # a negative literal, not a gate
            return Apply("neg", (operand,), token.at)
        return self.power(depth)

    def power(self, depth: int) -> Node:
        base = self.atom(depth)
        token = self.peek()
        if token.kind == "op" and token.text == "**":
            self.take()
            exponent = self.factor(self.deeper(depth, token))
            return Apply("pow", (base, exponent), token.at)
        return base

    def atom(self, depth: int) -> Node:
        token = self.take()
        if token.kind == "number":
            return Num(_number(token), token.at)
        if token.kind == "name":
            if self.peek().kind == "op" and self.peek().text == "(":
                return self.call(token, depth)
            return Name(token.text, token.at)
        if token.kind == "op" and token.text == "(":
            inner = self.expr(self.deeper(depth, token))
            self.close(token)
            return Apply(inner.op, inner.args, inner.at, grouped=True) if isinstance(inner, Apply) else inner
        raise self.unexpected(token)

    def unexpected(self, token: _Token) -> ExprError:
        # `lambda x: x`, `x if y else z`: name the keyword rather than what follows it.
        before = self.tokens[self.index - 2] if self.index >= 2 else None
        if before is not None and before.kind == "name" and before.text in _KEYWORDS:
            return ExprError(
                "expr-syntax",
                f"'{before.text}' is not allowed in an expression",
                before.at,
                "expressions hold arithmetic only",
            )
        return _unexpected(token)

    def call(self, name: _Token, depth: int) -> Node:
        op = OPS.get(name.text)
        if op is None:
            hint = did_you_mean(name.text, OPS) or "functions are the ops: " + ", ".join(OPS)
            raise ExprError("unknown-function", f"unknown function '{name.text}'", name.at, hint)
        opening = self.take()
        inner = self.deeper(depth, opening)
        args = [self.expr(inner)]
        while self.peek().kind == "op" and self.peek().text == ",":
            self.take()
            args.append(self.expr(inner))
        self.close(opening)
        if not op.accepts(len(args)):
            wanted = op.arity_text()
            inputs = f"{wanted} argument{'s' if wanted != '1' else ''}"
            raise ExprError(
                "arity", f"'{op.name}' takes {inputs}, got {len(args)}", name.at, f"call it as {_example(op.name)}"
            )
        return Apply(op.name, tuple(args), name.at, grouped=True)

    def close(self, opening: _Token) -> None:
        token = self.take()
        if token.kind != "op" or token.text != ")":
            if token.kind == "end":
                raise ExprError("expr-syntax", "'(' is never closed", opening.at, "add the missing ')'")
            raise self.unexpected(token)


def _example(op: str) -> str:
    arity = OPS[op].min_arity
    return f"{op}(" + ", ".join("abcd"[:arity]) + (", …" if OPS[op].max_arity is None else "") + ")"


def _number(token: _Token) -> float:
    value = resolve_plain(token.text)
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        hint = "a leading zero is ambiguous; drop it" if isinstance(value, str) else "use a finite number"
        raise ExprError("invalid-number", f"'{token.text}' is not a finite number", token.at, hint)
    return float(value)


def _unexpected(token: _Token) -> ExprError:
    if token.kind == "end":
        return ExprError("expr-syntax", "the expression ends too early", token.at, "complete the expression")
    what = "number" if token.kind == "number" else "name" if token.kind == "name" else "'" + token.text + "'"
    return ExprError(
        "expr-syntax",
        f"unexpected {what}" + (f" '{token.text}'" if token.kind in ("number", "name") else ""),
        token.at,
        "check for a missing operator or parenthesis",
    )


_KEYWORDS = frozenset({"lambda", "if", "else", "for", "in", "not", "and", "or", "import", "is", "None"})


@dataclass(frozen=True, slots=True)
class Lowered:
    """One gate an expression becomes.

    Attributes:
        name: the gate's wire (``f`` for the root, ``f.1``, ``f.2``, … for intermediates).
        op: the op.
        in_: wire names and constants.
        at: offset of the operator or function name.
        refs: offset of each input in the expression (None for intermediates and folded constants).
    """

    name: str
    op: str
    in_: tuple[str | float, ...]
    at: int
    refs: tuple[int | None, ...]


def lower(node: Node, gate: str) -> list[Lowered]:
    """The gates computing `node`, the last one named `gate`.

    Raises:
        ExprError: the expression is a single name or number (it computes nothing).
    """
    if not isinstance(node, Apply):
        raise ExprError(
            "expr-trivial",
            "the expression computes nothing: it is a single " + ("number" if isinstance(node, Num) else "name"),
            node.at,
            "a gate applies an op, e.g. `2 * x`; a fixed value is an input, and `n1.s` can be read where it is used",
        )
    gates: list[Lowered] = []
    # An explicit stack rather than recursion (the parser bounds the depth, but this keeps it flat).
    stack: list[tuple[Apply, list[tuple[str | float, int | None]]]] = [(node, [])]
    while stack:
        apply, done = stack[-1]
        if len(done) < len(apply.args):
            arg = apply.args[len(done)]
            if isinstance(arg, Num):
                done.append((arg.value, None))
            elif isinstance(arg, Name):
                done.append((arg.name, arg.at))
            else:
                stack.append((arg, []))
            continue
        stack.pop()
        values = tuple(value for value, _ in done)
        folded = _fold(apply.op, values) if stack else None
        if folded is not None:
            stack[-1][1].append((folded, None))
            continue
        name = f"{gate}.{len(gates) + 1}" if stack else gate
        gates.append(Lowered(name, apply.op, values, apply.at, tuple(at for _, at in done)))
        if stack:
            stack[-1][1].append((name, None))
    return gates


def _fold(op_name: str, values: tuple[str | float, ...]) -> float | None:
    """The value of an op of constants, or None when an input is a wire or the op is not defined there."""
    if not all(isinstance(v, float) for v in values):
        return None
    numbers = tuple(float(v) for v in values)
    op = OPS[op_name]
    try:
        if op.fault(numbers) is not None:
            return None
        result = op.forward(*numbers)
    except (ArithmeticError, ValueError):
        return None
    return result if math.isfinite(result) else None
