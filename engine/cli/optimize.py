"""``circuit optimize``: change a circuit's inputs to make its output larger or smaller.

The command parses its options, runs `Circuit.optimize`, shows a progress bar on
a terminal, prints the parameters and the objective from start to end (a table,
or JSON), and on request writes the trace (CSV or JSON), a plot (`engine.cli.plot`)
and the final parameters back into the file.
"""

# No `from __future__ import annotations` here: typer reads every command's annotations on each
# run, and objects cost it far less than strings it must evaluate (part of the start-up figure).

import enum
import math
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from engine.circuit import Circuit
    from engine.optimizing import OptimizeResult
    from engine.run.optimize import TracePoint

_PROGRESS_AFTER = 0.5
"""Seconds a run must last before a progress bar appears."""


class StrategyChoice(enum.StrEnum):
    analytic = "analytic"
    numerical = "numerical"
    random = "random"


class OptimizerChoice(enum.StrEnum):
    sgd = "sgd"
    momentum = "momentum"
    adam = "adam"


class OutputFormat(enum.StrEnum):
    text = "text"
    json = "json"


def optimize_command(
    path: Annotated[Path, typer.Argument(help="The circuit file.")],
    maximize: Annotated[bool, typer.Option("--maximize", help="Make the output larger.")] = False,
    minimize: Annotated[bool, typer.Option("--minimize", help="Make the output smaller.")] = False,
    params: Annotated[
        str | None,
        typer.Option("--params", metavar="a,b,...", help="Inputs to change (default: every input not in --data)."),
    ] = None,
    strategy: Annotated[
        StrategyChoice, typer.Option("--strategy", help="How to find a better point.")
    ] = StrategyChoice.analytic,
    optimizer: Annotated[
        OptimizerChoice, typer.Option("--optimizer", help="Update rule of the gradient strategies (as torch.optim).")
    ] = OptimizerChoice.sgd,
    steps: Annotated[int | None, typer.Option("--steps", min=0, help="Steps to take [default: 100].")] = None,
    step_size: Annotated[float, typer.Option("--step-size", help="Learning rate (random: largest nudge).")] = 0.01,
    seed: Annotated[int, typer.Option("--seed", help="Seeds random nudges and minibatch shuffles.")] = 0,
    until_grad_norm: Annotated[
        float | None,
        typer.Option("--until-grad-norm", metavar="TOL", min=0.0, help="Stop once the gradient norm is under TOL."),
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option("--data", metavar="FILE.csv", help="Examples: each column binds the input of its name."),
    ] = None,
    batch_size: Annotated[
        int | None, typer.Option("--batch-size", min=1, help="Examples per step (default: all), shuffled per epoch.")
    ] = None,
    epochs: Annotated[
        int | None, typer.Option("--epochs", min=0, help="Passes over --data (instead of --steps).")
    ] = None,
    trace: Annotated[
        Path | None, typer.Option("--trace", metavar="FILE.csv|FILE.json", help="Write every step to FILE.")
    ] = None,
    plot: Annotated[
        Path | None,
        typer.Option(
            "--plot", metavar="FILE.svg|FILE.png", help="Plot the objective and gradient norm (needs [plot])."
        ),
    ] = None,
    write: Annotated[bool, typer.Option("--write", help="Write the final parameters back into the file.")] = False,
    format_: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = OutputFormat.text,
) -> None:
    """Change inputs to make the output larger or smaller: random search, numerical or analytic gradient."""
    if not (step_size > 0 and math.isfinite(step_size)):
        raise typer.BadParameter(f"{step_size:g} is not a positive number", param_hint="'--step-size'")
    if maximize == minimize:
        raise typer.BadParameter("give exactly one of --maximize and --minimize", param_hint="'--maximize'")
    if strategy is StrategyChoice.random and until_grad_norm is not None:
        raise typer.BadParameter("random search computes no gradient", param_hint="'--until-grad-norm'")
    if data is None and (batch_size is not None or epochs is not None):
        raise typer.BadParameter("goes with --data", param_hint="'--batch-size' / '--epochs'")
    if data is not None and epochs is not None and steps is not None:
        raise typer.BadParameter("give --steps or --epochs, not both", param_hint="'--epochs'")
    if trace is not None and trace.suffix.lower() not in (".csv", ".json"):
        raise typer.BadParameter(f"'{trace}' is neither .csv nor .json", param_hint="'--trace'")
    if plot is not None:
        from engine.cli.plot import check_plot_target

        check_plot_target(plot)
    raise typer.Exit(
        _run(
            path,
            "maximize" if maximize else "minimize",
            None if params is None else [p.strip() for p in params.split(",") if p.strip()],
            {
                "strategy": strategy.value,
                "optimizer": optimizer.value,
                "steps": 100 if steps is None else steps,
                "step_size": step_size,
                "seed": seed,
                "until_grad_norm": until_grad_norm,
                "batch_size": batch_size,
                "epochs": epochs,
            },
            data,
            trace,
            plot,
            write=write,
            as_json=format_ is OutputFormat.json,
        )
    )


def _run(
    path: Path,
    direction: str,
    params: list[str] | None,
    settings: dict[str, Any],
    data: Path | None,
    trace: Path | None,
    plot: Path | None,
    *,
    write: bool,
    as_json: bool,
) -> int:
    from engine.circuit import parse_circuit
    from engine.cli.render import render_issues
    from engine.errors import CircuitError
    from engine.format.dataset import read_csv
    from engine.format.edit import write_inputs
    from engine.format.loader import decode
    from engine.format.reading import read_bytes
    from engine.result import to_json

    try:
        original = read_bytes(path)  # kept: --write refuses a file that changed since
        circuit = parse_circuit(decode(original, str(path)), path.stem, path=str(path))
        render_issues([w.at(circuit.path) for w in circuit.warnings], sys.stderr)
        dataset = None if data is None else read_csv(data, circuit.program.inputs)
        with _progress(settings, sys.stderr) as on_point:
            result = circuit.optimize(direction, params, data=dataset, on_point=on_point, **settings)  # type: ignore[arg-type]
        if as_json:
            print(to_json(result.to_dict()), flush=True)
        else:
            _render(result, circuit.output, data)
        render_issues(result.errors, sys.stderr)
        if trace is not None:
            _write_trace(result, trace)
        if plot is not None:
            from engine.cli.plot import plot_trace

            plot_trace(result, plot)
        if write and result.ok:
            _check_writable(circuit, result.params)
            write_inputs(path, original, circuit.source, circuit.defaults, result.params)
    except CircuitError as error:
        render_issues(error.issues, sys.stderr)
        return 1
    return 0 if result.ok else 1


def _check_writable(circuit: "Circuit", params: Mapping[str, float]) -> None:
    """--write changes numbers of this file only: a sub-circuit's parameter lives elsewhere."""
    from engine.errors import CircuitError, Issue

    own = circuit.source.root.spec.inputs
    foreign = [name for name in params if name not in own]
    if foreign:
        raise CircuitError(
            [
                Issue(
                    "edit",
                    f"cannot write '{foreign[0]}': it is a parameter of a sub-circuit, not an input of this file",
                    circuit.path,
                    hint="choose this file's own inputs with --params, or edit the used file",
                )
            ]
        )


@contextmanager
def _progress(settings: dict[str, Any], stream: Any) -> Iterator[Callable[["TracePoint"], None] | None]:
    """A rich progress bar on `stream` once a run has lasted half a second (on a terminal only)."""
    if not (hasattr(stream, "isatty") and stream.isatty()):
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("step"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("objective {task.fields[value]}  grad norm {task.fields[norm]}"),
        TimeElapsedColumn(),
        console=Console(file=stream),
        transient=True,
    )
    total = settings["steps"] if settings["epochs"] is None else None
    task = bar.add_task("optimize", total=total, value="-", norm="-")
    started = time.monotonic()
    shown = [False, 0.0]  # whether the bar is up, and when it was last updated

    def on_point(point: "TracePoint") -> None:
        now = time.monotonic()
        if now - shown[1] < 0.05 or now - started < _PROGRESS_AFTER:
            return  # updating costs more than a step of a small circuit: ~20 times a second is plenty
        if not shown[0]:
            bar.start()
            shown[0] = True
        from engine.result import fmt
        from engine.run.optimize import grad_norm

        norm = "-" if point.grads is None else f"{grad_norm(point.grads):.3g}"
        bar.update(task, completed=point.step, value=fmt(point.value), norm=norm)
        shown[1] = now

    try:
        yield on_point
    finally:
        if shown[0]:
            bar.stop()


def _render(result: "OptimizeResult", output: str, data: Path | None) -> None:
    from rich.table import Table

    from engine.cli.render import console
    from engine.result import fmt

    how = "random search" if result.optimizer is None else f"{result.strategy} gradient, {result.optimizer}"
    over = "" if data is None else f" (mean over '{data}')"
    stopped = {
        "steps": f"after {result.steps} step{'' if result.steps == 1 else 's'}",
        "grad_norm": f"at step {result.steps}: gradient norm under the tolerance",
        "fault": f"at step {result.steps}: a domain fault at the next step",
    }[result.stopped]
    table = Table(
        title=f"{result.circuit}: {result.direction} '{output}'{over} by {how}",
        title_justify="left",
        show_edge=False,
        pad_edge=False,
    )
    for name, right in (("", False), ("start", True), ("end", True)):
        table.add_column(name, justify="right" if right else "left")
    for name, end in result.params.items():
        table.add_row(name, fmt(result.start_params[name]), fmt(end))
    table.add_row("objective", fmt(result.start_value), fmt(result.value), style="bold")
    out = console()
    out.print(table)
    norm = "" if result.grad_norm is None else f"; gradient norm {result.grad_norm:.6g}"
    out.print(f"stopped {stopped}{norm}", markup=False)


def _write_trace(result: "OptimizeResult", target: Path) -> None:
    import csv
    import io
    import json

    from engine.errors import CircuitError, Issue
    from engine.format.files import write_atomic

    names = list(result.params)
    if target.suffix.lower() == ".json":
        text = json.dumps(
            [
                {
                    "step": point.step,
                    "objective": point.value,
                    "params": dict(zip(names, point.params)),
                    "grads": None if point.grads is None else dict(zip(names, point.grads)),
                }
                for point in result.trace
            ],
            allow_nan=False,
        )
    else:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["step", "objective", *names, *(f"grad_{name}" for name in names)])
        for point in result.trace:  # the final point has no gradient: empty cells
            grads = [repr(g) for g in point.grads] if point.grads is not None else [""] * len(names)
            writer.writerow([point.step, repr(point.value), *map(repr, point.params), *grads])
        text = buffer.getvalue()
    try:
        write_atomic(target, text + ("\n" if target.suffix.lower() == ".json" else ""))
    except OSError as exc:
        raise CircuitError([Issue("io", f"cannot write the trace: {exc.strerror or exc}", str(target))]) from None
