"""``circuit optimize --plot``: the objective (and the gradient norm) against the step, as SVG or PNG.

matplotlib is an optional extra (``circuitflow[plot]``), imported only when a plot
is asked for; without it the command says which extra to install.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from engine.optimizing import OptimizeResult

FORMATS = (".svg", ".png")


def check_plot_target(target: Path) -> None:
    """Refuse a plot file of another kind, or a plot without matplotlib, before any work is done.

    Raises:
        typer.BadParameter: not .svg or .png, or matplotlib is not installed.
    """
    if target.suffix.lower() not in FORMATS:
        raise typer.BadParameter(f"'{target}' is neither .svg nor .png", param_hint="'--plot'")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise typer.BadParameter(
            "plots need matplotlib, from the optional 'plot' extra: pip install 'circuitflow[plot]'",
            param_hint="'--plot'",
        ) from None


def plot_trace(result: OptimizeResult, target: Path) -> None:
    """Draw the objective per step (and below it the gradient norm, when there is one) into `target`."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed
    matplotlib.rcParams["svg.hashsalt"] = "circuitflow"  # fixed element ids: the same run draws the same file
    from matplotlib.figure import Figure

    from engine.format.files import write_atomic
    from engine.run.optimize import grad_norm

    steps = [point.step for point in result.trace]
    norms = [(point.step, grad_norm(point.grads)) for point in result.trace if point.grads is not None]
    figure = Figure(figsize=(7, 5 if norms else 3.5), layout="constrained")
    axes = figure.subplots(2 if norms else 1, 1, sharex=True, squeeze=False)[:, 0]
    marker = "o" if len(steps) <= 50 else None  # a short run's points are worth seeing one by one
    axes[0].plot(steps, [point.value for point in result.trace], color="tab:blue", marker=marker, markersize=3)
    axes[0].set_ylabel("objective")
    axes[0].set_title(f"{result.circuit}: {result.direction}, {result.strategy} {result.optimizer or ''}".rstrip())
    if norms:
        axes[1].plot([s for s, _ in norms], [n for _, n in norms], color="tab:orange", marker=marker, markersize=3)
        axes[1].set_ylabel("gradient norm")
        if all(n > 0 for _, n in norms):
            axes[1].set_yscale("log")
    axes[-1].set_xlabel("step")
    kind = target.suffix.lower()[1:]
    buffer = io.BytesIO()
    # no creation date in the file: the same run draws the same bytes
    figure.savefig(buffer, format=kind, metadata={"Date": None} if kind == "svg" else {"Software": None})
    write_atomic(target, buffer.getvalue())
