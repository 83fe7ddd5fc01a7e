"""Generated straight-line Python for a `Program`: the fast scalar path.

This module owns the code templates of every op (`TEMPLATES`: forward and
upstream-times-partial expressions, written to compute exactly the op table's
float operations) and strings them into functions with one statement per live
gate and one per gradient term, over local variables, compiled once per circuit
*structure* (`Program.key`), so value-only edits never recompile. Gates that do
not reach the output are left to `interpreter.forward_dead`.

* Small programs become one fused function (forward then backward, all locals).
  Larger ones are cut into even chunks of at most `CHUNK` steps, each compiled
  on its own, so compile memory stays flat; chunks hand values and gradients
  over through two lists.
* The generated code performs exactly the interpreter's float operations in the
  same order (gradients are accumulated in the same reverse order, a step
  with a zero upstream gradient is skipped, and partials are taken only for
  `Step.partials`), and checks nothing per gate. Only ops that are not
  `Op.total` can turn finite numbers into non-finite ones, and a non-finite
  gradient flows down to the inputs unless a statement template (max, min,
  relu: `MASKING`) passes it to no input, so checking the sum of those ops'
  values (less the ones an add, sub or mul carries on: `engine.run.finite`), of
  the inputs' gradients and of masking gates' gradients finds any non-finite
  number. Then — or on any arithmetic exception — the interpreter reruns the
  evaluation and locates and reports the fault exactly (or finds none: an
  overflowing sum).
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
from engine.run.finite import checked_values
from engine.run.templates import TEMPLATES

CHUNK = 5000
"""Most steps per compiled function: compile memory grows with it, run time shrinks (a
chunk hands its values and gradients over through lists); docs/performance.md has the
measured trade."""
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
        chunks: generator functions ``c(V, G)``, one per chunk of steps, in order (large
            programs). A chunk's first step runs its forward (writing its gates' values
            into V) and yields its values to check (`engine.run.finite.checked_values`); its
            second runs its backward on the same locals (accumulating gradients into G)
            and yields its gradients to check (what it sent to literal constants, and its
            masking gates').
    """

    key: str
    n_steps: int
    fused: Callable[[Sequence[float]], tuple[Values, Values, tuple[float, ...]]] | None
    chunks: tuple[Callable[[Values, Values], Iterator[tuple[float, ...]]], ...]


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
    checked = [values[s] for s in checked_values(program)] + [grads[s] for s in _checked_grads(program)]
    lines.append(f"    return [{', '.join(values)}], [{', '.join(grads)}], ({''.join(c + ', ' for c in checked)})")
    return "\n".join(lines) + "\n"


def _runs(slots: Sequence[int], gap: int = 3) -> Iterator[range]:
    """Sorted `slots` as ranges that may include short gaps: one slice moves a range
    (a local store per item) more cheaply than an index per slot (four instructions)."""
    if not slots:
        return
    first = last = slots[0]
    for slot in slots[1:]:
        if slot - last > gap + 1:
            yield range(first, last + 1)
            first = slot
        last = slot
    yield range(first, last + 1)


def _load(target: str, slots: Sequence[int], local: Callable[[int], str]) -> Iterator[str]:
    """Statements copying `target`'s items at `slots` (and short gaps) into locals."""
    for run in _runs(slots):
        if len(run) == 1:
            yield f"    {local(run[0])} = {target}[{run[0]}]"
        else:
            yield f"    {', '.join(local(s) for s in run)}, = {target}[{run.start}:{run.stop}]"


def _store(target: str, slots: Sequence[int], local: Callable[[int], str]) -> Iterator[str]:
    """Statements copying locals back into `target` at `slots` (as loaded by `_load`)."""
    for run in _runs(slots):
        yield f"    {target}[{run.start}:{run.stop}] = [{', '.join(local(s) for s in run)}]"


def _chunk_sources(program: Program, chunk: int, globals_: dict[str, object]) -> Iterator[str]:
    """The source of one generator function per chunk of steps, in program order.

    Chunks hand values over in V and gradients in G (both indexed by slot). A
    chunk's backward runs in the same frame as its forward, after a yield, so its
    values are still locals; it starts its gates' and its arguments' gradients
    from G (0.0 where no later chunk sent any), so the additions happen in the
    interpreter's order.
    """
    n_in = program.n_inputs
    steps = program.steps
    backward = set(_backward_steps(program))  # live steps with a partial to take
    to_check = set(checked_values(program))  # values whose sum shows any forward fault
    for start in range(0, program.live, chunk):
        stop = min(start + chunk, program.live)
        lo, hi = n_in + start, n_in + stop  # this chunk's gate slots
        own = range(lo, hi)
        reads = sorted({s for i in range(start, stop) for s in steps[i].args if s < lo})  # constants are literals
        sent = sorted(
            {steps[i].args[p] for i in range(start, stop) if i in backward for p in steps[i].partials} - set(own)
        )
        namer = _Namer(program)
        lines = [f"def c(V, G, {_LOCAL_HELPERS}):"]
        lines += _load("V", reads, namer.v)
        lines += [_forward_line(program, i, namer, globals_) for i in range(start, stop)]
        lines += _store("V", own, namer.v)
        checked = [namer.v(steps[i].out) for i in range(start, stop) if steps[i].out in to_check]
        lines.append(f"    yield ({''.join(v + ', ' for v in checked)})")
        lines += _load("G", [*sent, *own], namer.g)
        lines.append("    _k = 0.0")
        for index in range(stop - 1, start - 1, -1):
            if index in backward:
                lines += _backward_lines(program, index, namer, globals_)
        lines += _store("G", [*sent, *own], namer.g)
        # every non-finite gradient reaches an input (checked after the run) or a masking gate
        masking = [namer.g(steps[i].out) for i in range(start, stop) if i in backward and _masks(steps[i])]
        lines.append(f"    yield ({''.join(g + ', ' for g in masking)})")
        yield "\n".join(lines) + "\n"


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
    # Kept for its measured saving: docs/performance.md, section "internals".
    # Source positions of generated code are never shown (faults are located in
    # the YAML), yet cost ~115 bytes per gate: mark every instruction "no
    # location" (one byte per 8 code units) where the format allows.
    if sys.version_info[:2] != (3, 11):
        return code
    units = len(code.co_code) // 2
    table = bytes([0xF8 | 7]) * (units // 8) + (bytes([0xF8 | (units % 8 - 1)]) if units % 8 else b"")
    return code.replace(co_linetable=table)


def compile_code(program: Program, *, chunk: int = CHUNK) -> Compiled:
    """Generate and compile the code of `program` (no caching; see `compiled`)."""
    globals_ = dict(_GLOBALS)
    n_steps = len(program.steps)
    if program.live <= chunk:
        fused = _compile_function(_fused_source(program, globals_), "run", globals_)
        return Compiled(program.key, n_steps, fused, ())  # type: ignore[arg-type]
    chunks = -(-program.live // chunk)
    sources = _chunk_sources(program, -(-program.live // chunks), globals_)  # chunks of even size
    functions = tuple(_compile_function(source, "c", globals_) for source in sources)
    return Compiled(program.key, n_steps, None, functions)  # type: ignore[arg-type]


_isfinite = math.isfinite


def run_compiled(program: Program, code: Compiled, inputs: Sequence[float]) -> tuple[Values, Values]:
    """Forward then backward with compiled code: (values, gradients) by slot.

    Exactly `interpreter.interpret`'s results (live gates only: see `interpreter.forward_dead`);
    on any non-finite value or arithmetic error the interpreter reruns the
    evaluation and reports the fault.

    Raises:
        DomainFault: as `interpreter.interpret`.
    """
    try:
        if code.fused is not None:
            values, grads, checked = code.fused(inputs)
            if _isfinite(sum(checked)):
                return values, grads
        else:
            values = [*inputs, *([0.0] * len(program.steps)), *program.constants]
            grads = [0.0] * len(values)
            total = 0.0  # of every number that may be the first non-finite one
            running = [chunk(values, grads) for chunk in code.chunks]
            for forward in running:
                total += sum(next(forward))
            grads[program.output] = 1.0
            for backward in reversed(running):
                total += sum(next(backward))
            if _isfinite(total + sum(grads[: program.n_inputs])):
                return values, grads
    except (ArithmeticError, ValueError):
        pass
    return interpreter.interpret(program, inputs)


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

    def charge(self, key: str, seconds: float) -> None:
        with self.lock:
            if len(self.spent) > 4096:
                self.spent.clear()
            self.spent[key] = self.spent.get(key, 0.0) + seconds

    def spent_on(self, key: str) -> float:
        """Seconds spent interpreting `key`'s structure; -inf when it cannot be compiled."""
        with self.lock:
            return self.spent.get(key, 0.0)


_TIER = _Tier()


def _terms(program: Program) -> int:
    live = program.steps[: program.live]  # gates the output does not read are never compiled
    return len(live) + sum(len(step.args) for step in live)


def compiled(program: Program) -> Compiled:
    """The compiled code of `program`'s structure, from the cache or compiled now."""
    code = _TIER.get(program.key)
    if code is None:
        code = compile_code(program)
        _TIER.put(code)
    return code


def is_compiled(program: Program) -> bool:
    """Whether `program`'s structure has earned its compiled code (and `evaluate` runs it)."""
    return _TIER.get(program.key) is not None


def evaluate(program: Program, inputs: Sequence[float]) -> tuple[Values, Values]:
    """Forward then backward, interpreted or compiled, whichever has earned its place.

    A structure's first evaluation is always interpreted, so it never costs more than the
    interpreter alone; a later one compiles first once the time spent interpreting the
    structure would have paid for compiling it.

    Raises:
        DomainFault: as `interpreter.interpret`.
    """
    code = _TIER.get(program.key)
    if code is None and _earned(program):
        code = _compile_once(program)
    if code is not None:
        return run_compiled(program, code, inputs)
    started = time.perf_counter()
    try:
        return interpreter.interpret(program, inputs)
    finally:
        _TIER.charge(program.key, time.perf_counter() - started)


def _earned(program: Program) -> bool:
    """Whether the time spent interpreting `program`'s structure pays for compiling it."""
    spent = _TIER.spent_on(program.key)
    # (a program has at least as many terms as steps: most calls need not count them)
    return spent >= COMPILE_SECONDS_PER_TERM * len(program.steps) and spent >= COMPILE_SECONDS_PER_TERM * _terms(
        program
    )


def _compile_once(program: Program) -> Compiled | None:
    """Compile `program` into the cache; None, and never tried again, when its shape cannot be."""
    try:
        code = compile_code(program)
    except (RecursionError, MemoryError, SyntaxError, ValueError, OverflowError):
        _TIER.charge(program.key, -math.inf)
        return None
    _TIER.put(code)
    return code
