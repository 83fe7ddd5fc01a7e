"""The ``circuit`` command: argv → exit code, a thin layer over the Python API.

Exit codes: 0 success; 1 a circuit is invalid, fails its expectations or
gradient check, or faults; 2 usage or internal error. Data goes to stdout,
diagnostics to stderr; no user error ever prints a traceback.
"""

from __future__ import annotations

import enum
import gc
import math
import sys
from pathlib import Path
from typing import Annotated

import typer

from engine.cli.graph import graph_command
from engine.cli.optimize import optimize_command
from engine.cli.serve import serve_command

# engine.format.loader.DEFAULT_MAX_BYTES and engine.circuit.DEFAULT_CHECK_TOLERANCE, spelt out
# so that `circuit --help` need not import the loader (and with it yaml and pydantic);
# a test keeps them equal
DEFAULT_MAX_BYTES = 100 * 1024 * 1024
DEFAULT_CHECK_TOLERANCE = 1e-5


class ExitCode(enum.IntEnum):
    OK = 0
    FAILED = 1
    USAGE = 2


class Format(enum.StrEnum):
    text = "text"
    json = "json"


class CheckFormat(enum.StrEnum):
    text = "text"
    json = "json"
    github = "github"


app = typer.Typer(
    name="circuit",
    help="Evaluate YAML circuits forward (values) and backward (gradients).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

MaxBytes = Annotated[int, typer.Option("--max-bytes", min=1, help="Refuse files larger than this many bytes.")]
CheckTolerance = Annotated[
    float, typer.Option("--check-tolerance", min=0.0, help="Relative+absolute tolerance of --check.")
]


class UsageError(Exception):
    """A bad command line (exit 2), with an optional hint (printed as ``help:``)."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


def parse_assignments(items: list[str]) -> dict[str, float]:
    """``["x=1.5", "y=-2"]`` → ``{"x": 1.5, "y": -2.0}``.

    Raises:
        UsageError: an item is not NAME=NUMBER with a finite number.
    """
    values: dict[str, float] = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not sep or not name or not math.isfinite(value):
            raise UsageError(f"--set expects NAME=NUMBER with a finite number, got '{item}' (e.g. --set x=1.5)")
        values[name] = value
    return values


@app.command("eval")
def eval_command(
    path: Annotated[Path, typer.Argument(help="The circuit file.")],
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", metavar="NAME=VALUE", help="Override an input for this evaluation (repeatable)."),
    ] = None,
    check: Annotated[bool, typer.Option("--check", help="Compare gradients with centred finite differences.")] = False,
    check_tolerance: CheckTolerance = DEFAULT_CHECK_TOLERANCE,
    format_: Annotated[
        Format, typer.Option("--format", help="Output format (CSV as text with --inputs).")
    ] = Format.text,
    all_wires: Annotated[
        bool, typer.Option("--all", help="Also list expressions' intermediate wires (f.1, f.2, …) in the table.")
    ] = False,
    max_bytes: MaxBytes = DEFAULT_MAX_BYTES,
    inputs: Annotated[
        Path | None,
        typer.Option(
            "--inputs", metavar="DATA.csv", help="Evaluate every row of a CSV file whose header names inputs."
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", metavar="FILE", help="With --inputs: write the results to FILE (atomically), not stdout."
        ),
    ] = None,
    explain: Annotated[
        bool, typer.Option("--explain", help="Show the chain rule edge by edge (json: adds a 'trace' list).")
    ] = False,
) -> None:
    """Evaluate a circuit forward and backward: every wire's value and gradient."""
    overrides = parse_assignments(set_ or [])
    if explain and inputs is not None:
        raise UsageError("--explain evaluates one point; it does not combine with --inputs")
    if inputs is None and output is not None:
        raise UsageError("--output goes with --inputs (e.g. --inputs data.csv --output results.csv)")
    if inputs is not None:
        if check:
            raise UsageError("--check evaluates one point; it does not combine with --inputs")
        from engine.cli.dataset import evaluate_dataset

        raise typer.Exit(
            evaluate_dataset(
                path, inputs, overrides, as_json=format_ is Format.json, output=output, max_bytes=max_bytes
            )
        )
    from engine.circuit import evaluate_file
    from engine.cli.render import render_issues, render_result, result_issues
    from engine.result import to_json

    if explain:
        from engine.cli.graph import explained

        result, text = explained(path, overrides, check, check_tolerance, max_bytes, as_json=format_ is Format.json)
        sys.stdout.write(text)
        sys.stdout.flush()
        render_issues(result_issues(result), sys.stderr)
        raise typer.Exit(ExitCode.OK if result.ok else ExitCode.FAILED)
    result = evaluate_file(path, overrides, check=check, check_tolerance=check_tolerance, max_bytes=max_bytes)
    if format_ is Format.json:
        print(to_json(result.to_dict()), flush=True)
    else:
        render_result(result, all_wires=all_wires)
    render_issues(result_issues(result), sys.stderr)
    raise typer.Exit(ExitCode.OK if result.ok else ExitCode.FAILED)


@app.command("check")
def check_command(
    paths: Annotated[list[Path], typer.Argument(help="Circuit files and folders (searched recursively).")],
    format_: Annotated[CheckFormat, typer.Option("--format", help="Output format.")] = CheckFormat.text,
    max_bytes: MaxBytes = DEFAULT_MAX_BYTES,
) -> None:
    """Validate circuits (YAML, schema, wiring) without evaluating them, like a linter."""
    from engine.circuit import load_circuit
    from engine.cli.render import render_issues
    from engine.errors import CircuitError, Issue, github_annotation
    from engine.format.files import discover
    from engine.result import to_json

    files = discover(paths)
    if not files:
        raise UsageError("no circuit files found (looked for *.yaml and *.yml)")
    reports: list[tuple[Path, list[Issue], list[Issue]]] = []
    for file in files:
        try:
            circuit = load_circuit(file, max_bytes=max_bytes)
            reports.append((file, [], [w.at(str(file)) for w in circuit.warnings]))
        except CircuitError as error:
            reports.append((file, [i.at(str(file)) for i in error.issues], []))
    invalid = sum(1 for _, errors, _ in reports if errors)
    if format_ is CheckFormat.json:
        print(
            to_json(
                [
                    {
                        "path": str(f),
                        "status": "invalid" if e else "valid",
                        "errors": [i.to_dict() for i in e],
                        "warnings": [i.to_dict() for i in w],
                    }
                    for f, e, w in reports
                ]
            )
        )
    elif format_ is CheckFormat.github:
        for _, errors, warnings in reports:
            for issue in [*errors, *warnings]:
                print(github_annotation(issue))
    else:
        for _, errors, warnings in reports:
            render_issues([*errors, *warnings], sys.stderr)
        print(
            f"{len(files)} file{'s' if len(files) != 1 else ''} checked: "
            f"{len(files) - invalid} valid, {invalid} invalid"
        )
    raise typer.Exit(ExitCode.FAILED if invalid else ExitCode.OK)


@app.command("watch")
def watch_command(
    paths: Annotated[list[Path], typer.Argument(help="Circuit files and folders (folders recursively).")],
    poll: Annotated[
        bool, typer.Option("--poll", help="Poll the filesystem instead of native events (network drives, containers).")
    ] = False,
    poll_interval: Annotated[
        float, typer.Option("--poll-interval", min=0.01, help="Seconds between polls with --poll.")
    ] = 0.25,
    debounce_ms: Annotated[
        int, typer.Option("--debounce-ms", min=0, help="Quiet period that coalesces the events of one save.")
    ] = 50,
    format_: Annotated[
        Format, typer.Option("--format", help="Output format (json: one object per line).")
    ] = Format.text,
    max_bytes: MaxBytes = DEFAULT_MAX_BYTES,
    graph: Annotated[
        Path | None,
        typer.Option(
            "--graph", metavar="OUT_DIR", help="Keep OUT_DIR/<circuit>.svg, a picture of each circuit, current."
        ),
    ] = None,
) -> None:
    """Evaluate circuits, then re-evaluate each one on every save until Ctrl-C."""
    from engine.cli.watchview import run_watch

    raise typer.Exit(
        run_watch(
            paths,
            json=format_ is Format.json,
            poll=poll,
            poll_interval=poll_interval,
            debounce_ms=debounce_ms,
            max_bytes=max_bytes,
            graph=graph,
        )
    )


class BatchFormat(enum.StrEnum):
    text = "text"
    json = "json"
    junit = "junit"
    github = "github"


@app.command("batch")
def batch_command(
    paths: Annotated[list[Path], typer.Argument(help="Circuit files and folders (searched recursively).")],
    jobs: Annotated[
        int | None,
        typer.Option("--jobs", "-j", min=1, help="Worker processes (default: the number of CPUs; 1 runs in-process)."),
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Also compare gradients with centred finite differences.")
    ] = False,
    check_tolerance: CheckTolerance = DEFAULT_CHECK_TOLERANCE,
    exclude: Annotated[
        list[str] | None,
        typer.Option("--exclude", metavar="GLOB", help="Leave out files whose path or name matches (repeatable)."),
    ] = None,
    format_: Annotated[BatchFormat, typer.Option("--format", help="Report format.")] = BatchFormat.text,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Write the report to FILE instead of stdout (a regular file atomically).",
        ),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option("--timeout", metavar="SECONDS", help="Time limit per circuit; past it the circuit is an error."),
    ] = None,
    fail_fast: Annotated[
        bool, typer.Option("--fail-fast", help="Stop handing out circuits after the first that is not ok.")
    ] = False,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            metavar="tcp://HOST:8786|local",
            help="Run on a Dask cluster ('local' starts one on this machine); needs circuitflow[dask].",
        ),
    ] = None,
    max_bytes: MaxBytes = DEFAULT_MAX_BYTES,
) -> None:
    """Evaluate every circuit under PATHS in parallel; report for people (text) or CI (json, junit, github)."""
    import contextlib
    import os

    from engine.batching import reports
    from engine.batching.runner import batch
    from engine.batching.workers import WorkersFailed
    from engine.cli import batchview
    from engine.format.files import discover, write_output

    if timeout is not None and not (timeout > 0 and math.isfinite(timeout)):
        raise UsageError(f"--timeout must be a finite positive number of seconds, got {timeout:g}")
    if output is not None and output.is_dir():
        raise UsageError(f"cannot write the report to '{output}': it is a folder")
    files = discover(paths, exclude or [])
    if not files:
        raise UsageError("no circuit files found (looked for *.yaml and *.yml)")
    if jobs is None and scheduler is None:
        jobs = os.cpu_count() or 1
    args = {
        "paths": [str(p) for p in paths],
        "jobs": jobs,
        "check": check,
        "check_tolerance": check_tolerance,
        "exclude": exclude or [],
        "format": format_.value,
        "output": None if output is None else str(output),
        "timeout": timeout,
        "fail_fast": fail_fast,
        "scheduler": scheduler,
    }
    with contextlib.ExitStack() as stack:
        executor, capacity = None, jobs
        if scheduler is not None:
            from engine.batching.dask import ClusterError, dask_executor

            try:
                executor, capacity = stack.enter_context(dask_executor(scheduler, jobs))
            except ClusterError as exc:
                raise UsageError(str(exc), exc.hint) from None
        on_result = stack.enter_context(batchview.progress(len(files), sys.stderr))
        try:
            report = batch(
                files,
                jobs=capacity,
                executor=executor,
                check=check,
                timeout=timeout,
                fail_fast=fail_fast,
                check_tolerance=check_tolerance,
                max_bytes=max_bytes,
                on_result=on_result,
                args=args,
            )
        except WorkersFailed as exc:
            raise UsageError(str(exc)) from None
    color = output is None and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    rendered = batchview.batch_text(report, format_.value, color=color)
    if output is None:
        sys.stdout.write(rendered)
    else:
        try:
            write_output(output, rendered)
        except OSError as exc:
            raise UsageError(f"cannot write the report to '{output}': {exc.strerror or exc}") from None
        print(reports.summary_line(report))
    raise typer.Exit(reports.exit_code(report))


app.command("optimize")(optimize_command)
app.command("serve")(serve_command)


@app.command("schema")
def schema_command() -> None:
    """Print the JSON Schema of the circuit format."""
    from engine.format.model import json_schema_text

    sys.stdout.write(json_schema_text())


app.command("graph")(graph_command)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI on `argv` (default: ``sys.argv[1:]``) and return the exit code."""
    command = typer.main.get_command(app)
    try:
        # standalone mode: the CLI library reports usage errors itself (exit 2)
        command.main(args=argv, prog_name="circuit", standalone_mode=True)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else ExitCode.USAGE)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        if exc.hint:
            print(f"  help: {exc.hint}", file=sys.stderr)
        return ExitCode.USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return ExitCode.OK
    except Exception as exc:  # noqa: BLE001 - the last line of defence: never a traceback
        print(f"internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        print("  help: this is a bug in circuitflow; please report it with the circuit file", file=sys.stderr)
        return ExitCode.USAGE
    return ExitCode.OK


def run() -> None:
    """Console-script entry point."""
    code = main()
    # At exit the interpreter's last garbage collections walk every object the
    # imports built (~40 ms for pydantic's and networkx's); nothing is left to
    # collect that matters, so they are frozen out of those passes.
    # Kept for its measured saving: docs/performance.md, section "internals".
    gc.freeze()
    sys.exit(code)
