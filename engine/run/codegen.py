"""Generated straight-line Python for a `Program`: the fast scalar path.

This module owns the code templates of every op (`TEMPLATES`: forward and
upstream-times-partial expressions, written to compute exactly the op table's
float operations) and strings them into functions with one statement per live
gate and one per gradient term, over local variables, compiled once per circuit
*structure* (`Program.key`), so value-only edits never recompile. Gates that do
not reach the output are left to `interpreter.forward_dead`.

* Small programs become one fused function (forward then backward, all locals).
  Larger ones are cut into chunks of `CHUNK` steps, each compiled on its own,
  so compile memory stays flat; chunks hand values and gradients over through
  two lists.
* The generated code performs exactly the interpreter's float operations in the
  same order (gradients are accumulated in the same reverse order, a step
  with a zero upstream gradient is skipped, and partials are taken only for
  `Step.partials`), and checks nothing per gate. Only ops that are not
  `Op.total` can turn finite numbers into non-finite ones, and a non-finite
  gradient flows down to the inputs unless a statement template (max, min,
  relu: `MASKING`) passes it to no input, so checking the sum of those ops'
  values, of the inputs' gradients and of masking gates' gradients finds any
  non-finite number. Then — or on any arithmetic exception — the
  interpreter reruns the evaluation and locates and reports the fault exactly
  (or finds none: an overflowing sum).
* Safety: nothing written in a circuit file reaches the generated source as
  text. Wires are numbered locals (``v3``, ``g3``) or list indexes, ops come
  from the op table's own templates, and constants are emitted as the repr of
  a finite float. Only this module's own code is ever compiled.
* Tiering: `evaluate` interprets a structure until the time spent interpreting
  it reaches the estimated cost of compiling it, then compiles (at most twice
  the cost of the better choice in hindsight), so a one-shot evaluation of a
  large circuit never pays for a compile it cannot earn back.
"""

from __future__ import annotations

import math
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import CodeType
from typing import Any

from engine.program import Program, Step
from engine.run import interpreter
from engine.run.templates import TEMPLATES

CHUNK = 1000
"""Steps per compiled function (bounds compile memory; larger fuse less)."""
COMPILE_SECONDS_PER_TERM = 13e-6
"""Estimated compile cost per term of generated code (a step or one of its operands), against which
interpreting time is weighed: priced by the code a program generates, not by its gates, since one
gate with 100,000 inputs generates as much code as 50,000 binary gates."""
CACHE_STEPS = 2_000_000
"""Total steps of compiled programs kept in memory (least recently used go first)."""

_GLOBALS: dict[str, object] = {
    "_exp": math.exp,
    "_log": math.log,
    "_sqrt": math.sqrt,
    "_tanh": math.tanh,
    "__builtins__": {"max": max, "min": min, "abs": abs},
}

Values = list[float]
# Helpers bound as default arguments: a local lookup is cheaper than a global one.
_LOCAL_HELPERS = ", ".join(f"{name}={name}" for name in _GLOBALS if name != "__builtins__")


@dataclass(frozen=True, slots=True)
class Compiled:
    """The compiled code of one program structure.

    Attributes:
        fused: forward+backward in one function of the inputs (small programs), else
            None; it also returns the numbers to check (see `run`).
        forward: chunk functions ``f(V)`` writing their gates' values into V, in order.
        backward: chunk functions ``b(V, G)`` accumulating gradients into G, in order.
        checked: value slots to check after a chunked run (gates of non-total ops).
        checked_grads: gradient slots to check after a chunked run.
    """

    key: str
    n_steps: int
    fused: Callable[[Sequence[float]], tuple[Values, Values, tuple[float, ...]]] | None
    forward: tuple[Callable[[Values], None], ...]
    backward: tuple[Callable[[Values, Values], None], ...]
    checked: tuple[int, ...] = ()
    checked_grads: tuple[int, ...] = ()


def _literal(x: float) -> str:
    # The only value from a circuit file that enters generated source. It is
    # forced to a finite float, whose repr is a numeric literal, never text.
    number = float(x)
    if not math.isfinite(number):
        raise ValueError(f"constant {number!r} is not finite")
    return f"({float.__repr__(number)})"


class _Namer:
    """Expressions for slots in one function: locals ``v{i}`` (value) and ``g{i}``
    (gradient), numbered in order of first use, and constants as literals.

    Numbering per function (not by slot) makes every chunk use the same few
    local names, which the compiler interns once: ~100 bytes less per gate.
    """

    def __init__(self, program: Program) -> None:
        self.n_wires = len(program.wires)
        self.constants = program.constants
        self.local: dict[int, int] = {}

    def _index(self, slot: int) -> int:
        index = self.local.get(slot)
        if index is None:
            index = self.local[slot] = len(self.local)
        return index

    def v(self, slot: int) -> str:
        return f"v{self._index(slot)}"

    def g(self, slot: int) -> str:
        return f"g{self._index(slot)}"

    def value(self, slot: int) -> str:
        return _literal(self.constants[slot - self.n_wires]) if slot >= self.n_wires else self.v(slot)


def _forward_line(program: Program, index: int, namer: _Namer, globals_: dict[str, object]) -> str:
    step = program.steps[index]
    args = [namer.value(s) for s in step.args]
    template = TEMPLATES.get(step.op.name)
    expr = template.forward(args) if template is not None else None
    if expr is None:
        name = f"_f_{step.op.name}"
        globals_[name] = step.op.forward
        expr = f"{name}({', '.join(args)})"
    return f"    {namer.v(step.out)} = {expr}"


def _backward_lines(program: Program, index: int, namer: _Namer, globals_: dict[str, object]) -> Iterator[str]:
    # Like the interpreter, a step whose upstream gradient is exactly 0 is
    # skipped, and only `Step.partials` get a term.
    step = program.steps[index]
    args = [namer.value(s) for s in step.args]
    y = namer.v(step.out)
    gy = namer.g(step.out)
    yield f"    if {gy}:"
    template = TEMPLATES.get(step.op.name)
    terms = template.grad(args, y, gy) if template is not None else None
    if isinstance(terms, str):  # a statement block adding into {d0}, {d1}, …
        # an argument that takes no partial (a constant) adds into a throwaway local
        block = terms.format(
            **{f"d{i}": namer.g(slot) if i in step.partials else "_k" for i, slot in enumerate(step.args)}
        )
        yield from ("        " + line for line in block.splitlines())
        return
    if terms is None:
        name = f"_g_{step.op.name}"
        globals_[name] = step.op.grad
        yield f"        _p = {name}(({', '.join(args)},), {y})"
        terms = tuple(f"{gy} * _p[{i}]" for i in range(len(args)))
    for position in step.partials:
        yield f"        {namer.g(step.args[position])} += {terms[position]}"


def _zeros(slots: Iterator[int] | Sequence[int], namer: _Namer) -> Iterator[str]:
    """``gA = gB = … = 0.0`` in statements of bounded length."""
    names = [namer.g(s) for s in slots]
    for start in range(0, len(names), 250):
        yield f"    {' = '.join(names[start : start + 250])} = 0.0"


def _checked_values(program: Program) -> list[int]:
    """Slots of live gates whose op can turn finite inputs into a non-finite result."""
    return [step.out for step in program.steps[: program.live] if not step.op.total]


def _masks(step: Step) -> bool:
    template = TEMPLATES.get(step.op.name)
    return template is not None and template.masks


def _checked_grads(program: Program) -> list[int]:
    """Slots where every non-finite gradient ends up: inputs, and gates whose
    gradient template may pass a non-finite upstream to no input (`Template.masks`)."""
    backward = _backward_steps(program)
    return [*range(program.n_inputs), *(program.steps[i].out for i in backward if _masks(program.steps[i]))]


def _backward_steps(program: Program) -> list[int]:
    """Steps the backward pass runs: live ones with at least one partial to take."""
    return [i for i in range(program.live) if program.steps[i].partials]


def _touched(program: Program, steps: Iterator[int] | Sequence[int]) -> set[int]:
    """Gradient slots `steps` add into."""
    return {program.steps[i].args[p] for i in steps for p in program.steps[i].partials}


def _fused_source(program: Program, globals_: dict[str, object]) -> str:
    namer = _Namer(program)
    n_in = program.n_inputs
    lines = [f"def run(I, {_LOCAL_HELPERS}):"]
    if n_in:
        lines.append(f"    {', '.join(namer.v(i) for i in range(n_in))}, = I")
    lines += [_forward_line(program, i, namer, globals_) for i in range(program.live)]
    backward = _backward_steps(program)
    touched = {program.output} | _touched(program, backward)
    lines += _zeros(sorted(touched), namer)
    lines.append("    _k = 0.0")
    lines.append(f"    {namer.g(program.output)} = 1.0")
    for index in reversed(backward):
        lines += _backward_lines(program, index, namer, globals_)
    first_dead, n_wires = program.n_inputs + program.live, len(program.wires)
    values = [namer.value(s) if not first_dead <= s < n_wires else "0.0" for s in range(program.n_slots)]
    grads = [namer.g(s) if s in touched else "0.0" for s in range(program.n_slots)]
    checked = [values[s] for s in _checked_values(program)] + [grads[s] for s in _checked_grads(program)]
    lines.append(f"    return [{', '.join(values)}], [{', '.join(grads)}], ({''.join(c + ', ' for c in checked)})")
    return "\n".join(lines) + "\n"


def _chunk_sources(program: Program, chunk: int, globals_: dict[str, object]) -> Iterator[tuple[str, str]]:
    """(forward source, backward source) per chunk of live steps, in program order."""
    n_in, n_wires = program.n_inputs, len(program.wires)
    steps = program.steps
    runs = [False] * len(steps)
    for index in _backward_steps(program):
        runs[index] = True
    # Which chunk touches each slot's gradient last in the backward sweep (lowest index).
    bounds = [(start, min(start + chunk, program.live)) for start in range(0, program.live, chunk)]
    first_toucher = [len(bounds)] * program.n_slots  # chunk processed first (highest index) per slot
    for c in range(len(bounds) - 1, -1, -1):
        start, stop = bounds[c]
        for index in range(start, stop):
            if runs[index]:
                for slot in (steps[index].args[p] for p in steps[index].partials):
                    if first_toucher[slot] == len(bounds):
                        first_toucher[slot] = c
    for c, (start, stop) in enumerate(bounds):
        lo, hi = n_in + start, n_in + stop  # this chunk's gate slots
        reads = sorted({s for i in range(start, stop) for s in steps[i].args if s < lo and s < n_wires})
        namer = _Namer(program)
        forward = [f"def f(V, {_LOCAL_HELPERS}):"]
        forward += [f"    {namer.v(s)} = V[{s}]" for s in reads]
        forward += [_forward_line(program, i, namer, globals_) for i in range(start, stop)]
        forward.append(f"    V[{lo}:{hi}] = [{', '.join(namer.v(s) for s in range(lo, hi))}]")
        backward = [f"def b(V, G, {_LOCAL_HELPERS}):"]
        backward.append(f"    {', '.join(namer.v(s) for s in range(lo, hi))}, = V[{lo}:{hi}]")
        backward += [f"    {namer.v(s)} = V[{s}]" for s in reads]
        touched: set[int] = set()
        fresh: list[int] = []  # first touched here: start at 0
        body: list[str] = []
        for index in range(stop - 1, start - 1, -1):
            if not runs[index]:
                continue
            out = steps[index].out
            if out not in touched:  # its gradient comes from later chunks (or the seed)
                touched.add(out)
                body.append(f"    {namer.g(out)} = G[{out}]")
            for slot in (steps[index].args[p] for p in steps[index].partials):
                if slot not in touched:
                    touched.add(slot)
                    if first_toucher[slot] != c or slot == program.output:
                        body.append(f"    {namer.g(slot)} = G[{slot}]")
                    else:
                        fresh.append(slot)
            body += _backward_lines(program, index, namer, globals_)
        backward += _zeros(fresh, namer)
        backward.append("    _k = 0.0")
        backward += body
        backward += [f"    G[{s}] = {namer.g(s)}" for s in sorted(touched)]
        yield "\n".join(forward) + "\n", "\n".join(backward) + "\n"


# Every character generated code may contain. There is no quote, backslash, brace
# or non-ASCII letter among them, so no string literal, f-string or escaped text
# can exist in what `exec` runs, whatever a template or a file did.
_SOURCE_CHARACTERS = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_ \n=+-*/%.,:()[]<>!"


def _compile_function(source: str, name: str, globals_: dict[str, object]) -> Callable[..., object]:
    # The exec below runs only what this module wrote (see "Safety" above), with
    # builtins cut down to max/min/abs; this check keeps it so.
    # (bytes.translate deletes the allowed bytes at C speed: ~1 ms per MB of source)
    stray = source.encode("utf-8").translate(None, _SOURCE_CHARACTERS)
    if stray:
        raise ValueError(f"generated code would contain {stray.decode('utf-8', 'replace')[:20]!r}: refused")
    namespace: dict[str, object] = {}
    exec(compile(source, f"<circuit {name}>", "exec"), globals_, namespace)  # noqa: S102 - checked generated code
    function: Any = namespace[name]
    function.__code__ = _without_positions(function.__code__)
    return function  # type: ignore[no-any-return]


def _without_positions(code: CodeType) -> CodeType:
    # Source positions of generated code are never shown (faults are located in
    # the YAML), yet cost ~115 bytes per gate: mark every instruction "no
    # location" (one byte per 8 code units) where the format allows.
    if sys.version_info[:2] != (3, 11):
        return code
    units = len(code.co_code) // 2
    table = bytes([0xF8 | 7]) * (units // 8) + (bytes([0xF8 | (units % 8 - 1)]) if units % 8 else b"")
    return code.replace(co_linetable=table)


def compile_program(program: Program, *, chunk: int = CHUNK) -> Compiled:
    """Generate and compile the code of `program` (no caching; see `compiled`)."""
    globals_ = dict(_GLOBALS)
    if program.live <= chunk:
        fused = _compile_function(_fused_source(program, globals_), "run", globals_)
        return Compiled(program.key, len(program.steps), fused, (), ())  # type: ignore[arg-type]
    forward: list[Any] = []
    backward: list[Any] = []
    for fsource, bsource in _chunk_sources(program, chunk, globals_):
        forward.append(_compile_function(fsource, "f", globals_))
        backward.append(_compile_function(bsource, "b", globals_))
    backward.reverse()
    return Compiled(
        program.key,
        len(program.steps),
        None,
        tuple(forward),
        tuple(backward),
        tuple(_checked_values(program)),
        tuple(_checked_grads(program)),
    )


_isfinite = math.isfinite


def run(program: Program, code: Compiled, inputs: Sequence[float]) -> tuple[Values, Values]:
    """Forward then backward with compiled code: (values, gradients) by slot.

    Exactly `interpreter.run`'s results (live gates only: see `interpreter.forward_dead`);
    on any non-finite value or arithmetic error the interpreter reruns the
    evaluation and reports the fault.

    Raises:
        DomainFault: as `interpreter.run`.
    """
    try:
        if code.fused is not None:
            values, grads, checked = code.fused(inputs)
            if _isfinite(sum(checked)):
                return values, grads
        else:
            values = [*inputs, *([0.0] * len(program.steps)), *program.constants]
            for f in code.forward:
                f(values)
            grads = [0.0] * len(values)
            grads[program.output] = 1.0
            for b in code.backward:
                b(values, grads)
            if _isfinite(sum(map(values.__getitem__, code.checked)) + sum(map(grads.__getitem__, code.checked_grads))):
                return values, grads
    except (ArithmeticError, ValueError):
        pass
    return interpreter.run(program, inputs)


class _Tier:
    """Per-structure bookkeeping: interpreting time so far, compiled code when earned."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.code: OrderedDict[str, Compiled] = OrderedDict()
        self.spent: dict[str, float] = {}
        self.steps = 0

    def get(self, key: str) -> Compiled | None:
        with self.lock:
            code = self.code.get(key)
            if code is not None:
                self.code.move_to_end(key)
            return code

    def put(self, code: Compiled) -> None:
        with self.lock:
            if code.key in self.code:
                return
            self.code[code.key] = code
            self.steps += code.n_steps
            self.spent.pop(code.key, None)
            while self.steps > CACHE_STEPS and len(self.code) > 1:
                _, old = self.code.popitem(last=False)
                self.steps -= old.n_steps

    def charge(self, key: str, seconds: float) -> float:
        with self.lock:
            if len(self.spent) > 4096:
                self.spent.clear()
            total = self.spent[key] = self.spent.get(key, 0.0) + seconds
            return total


_TIER = _Tier()


def _terms(program: Program) -> int:
    live = program.steps[: program.live]  # gates the output does not read are never compiled
    return len(live) + sum(len(step.args) for step in live)


def compiled(program: Program) -> Compiled:
    """The compiled code of `program`'s structure, from the cache or compiled now."""
    code = _TIER.get(program.key)
    if code is None:
        code = compile_program(program)
        _TIER.put(code)
    return code


def evaluate(program: Program, inputs: Sequence[float]) -> tuple[Values, Values]:
    """Forward then backward, interpreted or compiled, whichever has earned its place.

    Raises:
        DomainFault: as `interpreter.run`.
    """
    code = _TIER.get(program.key)
    if code is not None:
        return run(program, code, inputs)
    started = time.perf_counter()
    try:
        return interpreter.run(program, inputs)
    finally:
        spent = _TIER.charge(program.key, time.perf_counter() - started)
        if spent >= COMPILE_SECONDS_PER_TERM * _terms(program):
            try:
                _TIER.put(compile_program(program))
            except (RecursionError, MemoryError, SyntaxError, ValueError, OverflowError):
                # Code this program's shape cannot be compiled: keep interpreting it.
                _TIER.charge(program.key, -math.inf)
