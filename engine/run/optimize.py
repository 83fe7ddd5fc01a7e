"""Optimisers and search strategies: pure maths over lists of parameter values.

The three strategies of the hacker's guide to neural networks, all asking how the
parameters should change to move an objective the wanted way:

* ``random`` — random local search: try the current point plus a uniform nudge of
  at most the step size per parameter, keep it if the objective improved;
* ``numerical`` — centred finite differences for the gradient, then an optimiser step;
* ``analytic`` — the gradient by backpropagation, then an optimiser step.

The optimisers repeat `torch.optim`'s update formulas operation for operation
(``SGD``, ``SGD`` with momentum, ``Adam``; maximising negates the gradient, as
torch's ``maximize=True`` does), so a trajectory can be cross-checked with PyTorch.

`descend` runs a strategy against an objective given as a function; it knows
nothing of circuits or data (the caller's function evaluates, and raises
`EvaluationError` at a domain fault, which ends the run with the last good point).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from engine.errors import EvaluationError

Strategy = Literal["analytic", "numerical", "random"]
OptimizerName = Literal["sgd", "momentum", "adam"]
Stopped = Literal["steps", "grad_norm", "fault"]
STRATEGIES: tuple[Strategy, ...] = ("analytic", "numerical", "random")
OPTIMIZERS: tuple[OptimizerName, ...] = ("sgd", "momentum", "adam")
_MOMENTUM = 0.9
_ADAM_BETAS = (0.9, 0.999)
_ADAM_EPS = 1e-8
_RELATIVE_STEP = 1e-6
"""Finite-difference step per parameter, relative to max(1, |value|)."""

Objective = Callable[[Sequence[float], int, bool], tuple[float, Sequence[float] | None]]
"""``objective(params, step, grads)`` → (value, gradient by parameter or None when not asked).

`step` names the step the evaluation is for (which minibatch); -1 asks for the whole data.
"""


class Optimizer(Protocol):
    """Turns the current parameters and the objective's gradient into the next parameters."""

    def step(self, params: Sequence[float], grads: Sequence[float]) -> list[float]: ...


@dataclass(slots=True)
class SGD:
    """``torch.optim.SGD(lr, momentum, dampening=0, nesterov=False, weight_decay=0, maximize)``."""

    lr: float
    momentum: float = 0.0
    maximize: bool = False
    buffers: list[float] | None = None

    def step(self, params: Sequence[float], grads: Sequence[float]) -> list[float]:
        if self.maximize:
            grads = [-g for g in grads]
        if self.momentum != 0.0:
            if self.buffers is None:  # torch starts the buffer as a copy of the first gradient
                self.buffers = list(grads)
            else:
                m = self.momentum
                self.buffers = [b * m + g for b, g in zip(self.buffers, grads)]
            grads = self.buffers
        neg_lr = -self.lr
        return [p + neg_lr * g for p, g in zip(params, grads)]


@dataclass(slots=True)
class Adam:
    """``torch.optim.Adam(lr, betas, eps, weight_decay=0, amsgrad=False, maximize)``, single-tensor form."""

    lr: float
    betas: tuple[float, float] = _ADAM_BETAS
    eps: float = _ADAM_EPS
    maximize: bool = False
    t: int = 0
    m: list[float] = field(default_factory=list)
    v: list[float] = field(default_factory=list)

    def step(self, params: Sequence[float], grads: Sequence[float]) -> list[float]:
        if self.maximize:
            grads = [-g for g in grads]
        if not self.m:
            self.m = [0.0] * len(params)
            self.v = [0.0] * len(params)
        beta1, beta2 = self.betas
        self.t += 1
        w1, w2 = 1 - beta1, 1 - beta2
        # exp_avg.lerp_(grad, 1 - beta1): torch's lerp is a + w·(b − a) for weights under ½
        self.m = [m + w1 * (g - m) if w1 < 0.5 else g - (g - m) * (1 - w1) for m, g in zip(self.m, grads)]
        # exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        self.v = [v * beta2 + w2 * g * g for v, g in zip(self.v, grads)]
        step_size = self.lr / (1 - beta1**self.t)
        correction2_sqrt = (1 - beta2**self.t) ** 0.5
        # param.addcdiv_(exp_avg, sqrt(exp_avg_sq) / correction2_sqrt + eps, value=-step_size)
        return [
            p + -step_size * (m / (math.sqrt(v) / correction2_sqrt + self.eps))
            for p, m, v in zip(params, self.m, self.v)
        ]


def make_optimizer(name: OptimizerName, lr: float, *, maximize: bool) -> Optimizer:
    """The named optimiser with torch's defaults (momentum 0.9; Adam betas 0.9/0.999, eps 1e-8)."""
    if name == "sgd":
        return SGD(lr, maximize=maximize)
    if name == "momentum":
        return SGD(lr, _MOMENTUM, maximize=maximize)
    if name == "adam":
        return Adam(lr, maximize=maximize)
    raise ValueError(f"unknown optimizer {name!r}")


def _centred_gradient(
    objective: Objective, params: Sequence[float], step: int, relative_step: float = _RELATIVE_STEP
) -> list[float]:
    """``(f(p + h·e_i) − f(p − h·e_i)) / 2h`` for every parameter i, with h relative to |p_i|."""
    point = list(params)
    grads = []
    for i, x in enumerate(params):
        h = relative_step * max(1.0, abs(x))
        point[i] = x + h
        above = objective(point, step, False)[0]
        point[i] = x - h
        below = objective(point, step, False)[0]
        point[i] = x
        grads.append((above - below) / (2.0 * h))
    return grads


def grad_norm(grads: Sequence[float]) -> float:
    """The Euclidean norm of a gradient."""
    return math.sqrt(math.fsum(g * g for g in grads))


@dataclass(frozen=True, slots=True)
class TracePoint:
    """The parameters after `step` steps, the objective there, and its gradient (None where none was computed)."""

    step: int
    value: float
    params: tuple[float, ...]
    grads: tuple[float, ...] | None


@dataclass(frozen=True, slots=True)
class Descent:
    """How a run went: every point visited, why it stopped, and the fault that stopped it.

    Attributes:
        points: one per step, from the start (step 0) to the last good point.
        stopped: ``steps``, ``grad_norm`` or ``fault``.
        fault: the error of the evaluation that faulted (``stopped == "fault"``).
        fault_step: the step whose evaluation faulted.
    """

    points: list[TracePoint]
    stopped: Stopped
    fault: EvaluationError | None = None
    fault_step: int | None = None

    @property
    def last(self) -> TracePoint:
        return self.points[-1]

    @property
    def grad_norm(self) -> float | None:
        """The norm of the last gradient computed (at the point the last step was taken from)."""
        grads = next((p.grads for p in reversed(self.points) if p.grads is not None), None)
        return None if grads is None else grad_norm(grads)


def descend(
    objective: Objective,
    start: Sequence[float],
    *,
    strategy: Strategy,
    optimizer: Optimizer | None,
    steps: int,
    step_size: float,
    maximize: bool,
    until_grad_norm: float | None = None,
    seed: int = 0,
    batched: bool = False,
    on_point: Callable[[TracePoint], None] | None = None,
) -> Descent:
    """Run `strategy` from `start` for `steps` steps (fewer when the gradient norm or a fault stops it).

    Args:
        objective: evaluates the objective (and its gradient on request) at a point.
        start: the starting parameters.
        strategy: ``analytic``, ``numerical`` or ``random``.
        optimizer: the update rule of the gradient strategies (unused by ``random``).
        steps: how many steps to take.
        step_size: the random strategy's largest nudge per parameter.
        maximize: whether larger objective values are better.
        until_grad_norm: stop once the gradient's norm falls under this.
        seed: seeds the random strategy's nudges.
        batched: successive steps see different data (minibatches), so the random strategy
            evaluates the current point again on each step's batch.
        on_point: called with each point as it is reached (progress).

    Returns:
        The points visited and why the run stopped. The last point's objective is
        computed without a gradient (none is needed there).
    """
    points: list[TracePoint] = []

    def reach(point: TracePoint) -> None:
        points.append(point)
        if on_point is not None:
            on_point(point)

    try:
        if strategy == "random":
            _random_search(objective, start, steps, step_size, maximize, seed, batched, reach)
            return Descent(points, "steps")
        if optimizer is None:
            raise ValueError("a gradient strategy needs an optimizer")
        params = list(start)
        for k in range(steps + 1):
            if k == steps:
                reach(TracePoint(k, objective(params, k, False)[0], tuple(params), None))
                return Descent(points, "steps")
            value, grads = objective(params, k, strategy == "analytic")
            if grads is None:
                grads = _centred_gradient(objective, params, k)
            reach(TracePoint(k, value, tuple(params), tuple(grads)))
            if until_grad_norm is not None and grad_norm(grads) < until_grad_norm:
                return Descent(points, "grad_norm")
            params = optimizer.step(params, grads)
    except EvaluationError as error:
        return Descent(points, "fault", error, len(points))  # the step after the last good point
    raise AssertionError("unreachable")  # pragma: no cover


def _random_search(
    objective: Objective,
    start: Sequence[float],
    steps: int,
    step_size: float,
    maximize: bool,
    seed: int,
    batched: bool,
    reach: Callable[[TracePoint], None],
) -> None:
    rng = random.Random(seed)
    params = list(start)
    value = objective(params, 0, False)[0]
    reach(TracePoint(0, value, tuple(params), None))
    for k in range(steps):
        if batched and k:
            value = objective(params, k, False)[0]
        # the guide's nudge: x + tweak · (random() · 2 − 1)
        candidate = [p + step_size * (rng.random() * 2 - 1) for p in params]
        tried = objective(candidate, k, False)[0]
        if tried > value if maximize else tried < value:
            params, value = candidate, tried
        reach(TracePoint(k + 1, value, tuple(params), None))
