"""Evaluations asked for over HTTP: what-if at chosen inputs, circuit text, pictures — each within a time limit.

`Limits.call` keeps the event loop free: work bigger than a few hundred gate
evaluations runs on a worker thread under `run_with_deadline` (the thread is
interrupted at the limit, so a huge circuit cannot pile up threads), while
the loop only waits for it — other requests and the event streams carry on.
Small work runs inline: for a circuit like the seed, the hop to a thread costs
more than the evaluation itself.

User errors never raise out of here: they become a `Result` with status
``invalid`` or ``error`` and located issues, exactly as ``circuit eval`` reports them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from engine.batching.deadline import Expired, run_with_deadline
from engine.batching.tasks import timeout_result
from engine.circuit import Circuit
from engine.errors import CircuitError, Issue
from engine.evaluating import evaluate_source
from engine.result import Result

T = TypeVar("T")

DEFAULT_TIMEOUT = 5.0
_INLINE_COST = 512
"""Gate evaluations (gates × passes) cheap enough to run on the event loop itself."""
_PLAYGROUND = "<request>"
"""The file name a circuit sent in a request body is reported under."""


class _TimedOut(Exception):
    """The work ran past the time limit."""


@dataclass(slots=True)
class Limits:
    """Where and how long a request's work may run.

    Attributes:
        timeout: seconds a request's evaluation may take.
        threads: worker threads for work too big for the event loop.
    """

    timeout: float = DEFAULT_TIMEOUT
    threads: int = 4
    _limiter: anyio.CapacityLimiter | None = field(default=None, repr=False)

    async def call(self, fn: Callable[[], T], cost: int) -> T:
        """``fn()`` inline when `cost` is small, else on a worker thread; within `timeout` either way.

        Raises:
            TimedOut: the time limit passed (waiting for a free thread counts).
        """
        if cost <= _INLINE_COST:
            return fn()
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.threads)
        limiter = self._limiter
        with anyio.move_on_after(self.timeout + 1.0):  # a thread stuck in C code is left behind, not waited for
            try:
                return await anyio.to_thread.run_sync(
                    lambda: run_with_deadline(fn, self.timeout), limiter=limiter, abandon_on_cancel=True
                )
            except Expired:
                raise _TimedOut from None
        raise _TimedOut


def cost_of(circuit: Circuit, check: bool) -> int:
    """Gate evaluations one what-if costs: forward and backward, plus two per input for the gradient check."""
    passes = 1 + (2 * circuit.program.n_inputs if check else 0)
    return len(circuit.program.steps) * passes


def what_if(circuit: Circuit, inputs: Mapping[str, float], check: bool) -> Result:
    """The circuit evaluated at `inputs` (the file is not changed); user errors become the result."""
    started = time.perf_counter()
    try:
        return circuit.evaluate(inputs, check=check)
    except CircuitError as error:
        return Result.from_error(error, circuit.path, circuit.name, (time.perf_counter() - started) * 1000)


def playground(text: bytes, check: bool) -> Result:
    """A circuit sent as YAML text, evaluated at its own inputs; nothing is stored."""
    result, _ = evaluate_source(text, _PLAYGROUND, check=check)
    return result


async def timed(limits: Limits, fn: Callable[[], T], cost: int, path: str | None) -> T | Result:
    """`Limits.call`, with the time limit reported as an ``error[timeout]`` result."""
    started = time.perf_counter()
    try:
        return await limits.call(fn, cost)
    except _TimedOut:
        return timeout_result(path or _PLAYGROUND, limits.timeout, (time.perf_counter() - started) * 1000)


def parse_overrides(query: Mapping[str, str], circuit: Circuit) -> dict[str, float]:
    """Query parameters ``x=1.5&y=-2`` as input overrides.

    Raises:
        CircuitError: a parameter names no input or is not a finite number.
    """
    values: dict[str, float] = {}
    for name, text in query.items():
        if name not in circuit.defaults:
            raise circuit.unknown_input(name)
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise CircuitError(
                [
                    Issue(
                        "invalid-number",
                        f"input '{name}' must be a finite number, got {text!r:.60}",
                        circuit.path,
                        hint=f"e.g. ?{name}=1.5",
                    )
                ]
            )
        values[name] = value
    return values


def request_error(where: str, message: str, hint: str) -> Issue:
    """A part of a request the API cannot read (bad JSON, wrong types): ``body.inputs.x: …``."""
    text = message[:1].lower() + message[1:]
    return Issue("invalid-request", f"{where}: {text}", hint=hint)


def with_trace(result: Result, trace: list[dict[str, Any]] | None) -> dict[str, Any]:
    """The result contract, with the chain rule's ``trace`` when it was asked for."""
    data = result.to_dict()
    if trace is not None:
        data["trace"] = trace
    return data
