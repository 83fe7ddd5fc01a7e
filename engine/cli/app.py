"""The ``circuit`` command: argv → exit code, a thin layer over the Python API.

Exit codes (one rule for every command, see `engine.cli.usage`): 0 success; 1 a
circuit is invalid, fails its expectations or gradient check, or faults; 2 a usage
error (bad flags, unknown inputs or wires, missing paths named on the command line,
output that cannot be written) or an internal error. Data goes to stdout,
diagnostics to stderr; no user error ever prints a traceback. Defaults come from
``[tool.circuitflow]`` in ``pyproject.toml`` (`engine.cli.config`); flags override them.
"""

# No `from __future__ import annotations` here: typer reads every command's annotations on each
# run, and objects cost it far less than strings it must evaluate (part of the start-up figure).

import enum
import math
import sys
from pathlib import Path
from typing import Annotated

import typer

from engine.cli.graph import graph_command
from engine.cli.optimize import optimize_command
from engine.cli.serve import serve_command
from engine.cli.usage import ExitCode as ExitCode  # re-exported: commands elsewhere import them from here
from engine.cli.usage import UsageError as UsageError

# engine.format.loader.DEFAULT_MAX_BYTES and engine.circuit.DEFAULT_CHECK_TOLERANCE, spelt out
# so that `circuit --help` need not import the loader (and with it yaml and pydantic);
# a test keeps them equal
DEFAULT_MAX_BYTES = 100 * 1024 * 1024
DEFAULT_CHECK_TOLERANCE = 1e-5


class Format(enum.StrEnum):
    text = "text"
    json = "json"


class _CheckFormat(enum.StrEnum):
    text = "text"
    json = "json"
    github = "github"


app = typer.Typer(
    name="circuit",
    help="Evaluate YAML circuits forward (values) and backward (gradients).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        from engine.version import __version__

        print(f"circuitflow {__version__}")
        raise typer.Exit(ExitCode.OK)


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option("--version", is_eager=True, callback=_print_version, help="Show the version and exit."),
    ] = False,
) -> None:
    """Evaluate YAML circuits forward (values) and backward (gradients)."""


_MaxBytes = Annotated[
    int, typer.Option("--max-bytes", min=1, metavar="BYTES", help="Refuse files larger than this many bytes.")
]
_CheckTolerance = Annotated[
    float,
    typer.Option("--check-tolerance", min=0.0, metavar="TOL", help="Relative+absolute tolerance of --check."),
]
Paths = Annotated[
    list[Path] | None,
    typer.Argument(
        metavar="paths", help="Circuit files and folders (searched recursively; default: paths in pyproject.toml)."
    ),
]
_Exclude = Annotated[
    list[str] | None,
    typer.Option(
        "--exclude",
        metavar="PATTERN",
        help="Leave out files and folders, as .gitignore does: 'tmp', 'good/*', '**/tmp_*' (repeatable).",
    ),
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Show only failures and the summary.")]
Wires = Annotated[list[str] | None, typer.Option("--wire", metavar="NAME", help="Show only this wire (repeatable).")]


def parse_assignments(items: list[str]) -> dict[str, float]:
    """``["x=1.5", "y=-2"]`` → ``{"x": 1.5, "y": -2.0}``, numbers read as the circuit format reads them.

    Raises:
        UsageError: an item is not NAME=NUMBER with a finite number.
    """
    from engine.format.scalars import parse_number

    values: dict[str, float] = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        value = parse_number(text)
        if not sep or not name or value is None:
            raise UsageError(
                f"--set expects NAME=NUMBER with a finite number, got '{item}'",
                "e.g. --set x=1.5 (numbers are written as in circuit files: 2, -0.5, 1e-3, 0x10)",
            )
        values[name] = value
    return values


def _given(paths: list[Path] | None) -> list[Path]:
    if not paths:
        raise UsageError("no paths given", "name files or folders, or set `paths` under [tool.circuitflow]")
    return paths


@app.command("eval")
def _eval_command(
    path: Annotated[Path, typer.Argument(metavar="path", help="The circuit file ('-' reads it from stdin).")],
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", metavar="NAME=VALUE", help="Override an input for this evaluation (repeatable)."),
    ] = None,
    expect: Annotated[
        bool, typer.Option("--expect", help="Check the file's expectations even with --set (skipped otherwise).")
    ] = False,
    check: Annotated[bool, typer.Option("--check", help="Compare gradients with centred finite differences.")] = False,
    check_tolerance: _CheckTolerance = DEFAULT_CHECK_TOLERANCE,
    format_: Annotated[
        Format, typer.Option("--format", help="Output format (CSV as text with --inputs).")
    ] = Format.text,
    all_wires: Annotated[
        bool, typer.Option("--all", help="Also list expressions' intermediate wires (f.1, f.2, …) in the table.")
    ] = False,
    quiet: Quiet = False,
    wire: Wires = None,
    max_bytes: _MaxBytes = DEFAULT_MAX_BYTES,
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
        raise UsageError("--output goes with --inputs", "e.g. --inputs data.csv --output results.csv")
    if inputs is not None:
        if check:
            raise UsageError("--check evaluates one point; it does not combine with --inputs")
        if wire:
            raise UsageError("--wire shows wires of one evaluation; with --inputs every row has its inputs and output")
        from engine.cli.dataset import evaluate_dataset
        from engine.cli.usage import require_paths

        require_paths([path, inputs])
        raise typer.Exit(
            evaluate_dataset(
                path, inputs, overrides, as_json=format_ is Format.json, output=output, max_bytes=max_bytes
            )
        )
    from engine.cli.evaluate import run_eval

    if explain:
        from engine.cli.graph import explained
        from engine.cli.render import render_issues, result_issues

        result, text = explained(path, overrides, check, check_tolerance, max_bytes, as_json=format_ is Format.json)
        sys.stdout.write(text)
        sys.stdout.flush()
        render_issues(result_issues(result), sys.stderr)
        raise typer.Exit(ExitCode.OK if result.ok else ExitCode.FAILED)
    raise typer.Exit(
        run_eval(
            path,
            overrides,
            check=check,
            check_tolerance=check_tolerance,
            as_json=format_ is Format.json,
            max_bytes=max_bytes,
            expect=True if expect else None,
            quiet=quiet,
            wires=wire or [],
            all_wires=all_wires,
        )
    )


@app.command("check")
def _check_command(
    paths: Paths = None,
    exclude: _Exclude = None,
    format_: Annotated[_CheckFormat, typer.Option("--format", help="Output format.")] = _CheckFormat.text,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Show only errors and the summary.")] = False,
    max_bytes: _MaxBytes = DEFAULT_MAX_BYTES,
) -> None:
    """Validate circuits (YAML, schema, wiring) without evaluating them, like a linter."""
    from engine.cli.checkview import run_check

    raise typer.Exit(
        run_check(_given(paths), exclude=exclude or [], format_=format_.value, max_bytes=max_bytes, quiet=quiet)
    )


@app.command("watch")
def _watch_command(
    paths: Paths = None,
    poll: Annotated[
        bool, typer.Option("--poll", help="Poll the filesystem instead of native events (network drives, containers).")
    ] = False,
    poll_interval: Annotated[
        float,
        typer.Option("--poll-interval", min=0.01, metavar="SECONDS", help="Seconds between polls with --poll."),
    ] = 0.25,
    debounce_ms: Annotated[
        int,
        typer.Option("--debounce-ms", min=0, metavar="MS", help="Quiet period that coalesces the events of one save."),
    ] = 50,
    format_: Annotated[
        Format, typer.Option("--format", help="Output format (json: one object per line).")
    ] = Format.text,
    max_bytes: _MaxBytes = DEFAULT_MAX_BYTES,
    graph: Annotated[
        Path | None,
        typer.Option(
            "--graph", metavar="OUT_DIR", help="Keep OUT_DIR/<circuit>.svg, a picture of each circuit, current."
        ),
    ] = None,
) -> None:
    """Evaluate circuits, then re-evaluate each one on every save until Ctrl-C."""
    from engine.cli.process import steady
    from engine.cli.usage import require_paths
    from engine.cli.watchview import run_watch

    steady()
    paths = _given(paths)
    require_paths(paths)
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


class _BatchFormat(enum.StrEnum):
    text = "text"
    json = "json"
    junit = "junit"
    github = "github"


@app.command("batch")
def _batch_command(
    paths: Paths = None,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            "-j",
            min=1,
            metavar="N",
            help="Worker processes (default: the number of CPUs; 1 runs in-process).",
        ),
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Also compare gradients with centred finite differences.")
    ] = False,
    check_tolerance: _CheckTolerance = DEFAULT_CHECK_TOLERANCE,
    exclude: _Exclude = None,
    format_: Annotated[_BatchFormat, typer.Option("--format", help="Report format.")] = _BatchFormat.text,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Text: list only the circuits that are not ok, then the summary.")
    ] = False,
    wire: Annotated[
        list[str] | None,
        typer.Option("--wire", metavar="NAME", help="Show this wire's value for each circuit (repeatable)."),
    ] = None,
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
            help="Run on a Dask cluster ('local' starts one on this machine); needs the dask extra.",
        ),
    ] = None,
    max_bytes: _MaxBytes = DEFAULT_MAX_BYTES,
) -> None:
    """Evaluate every circuit under PATHS in parallel; report for people (text) or CI (json, junit, github)."""
    import contextlib
    import os

    from engine.batching import reports
    from engine.batching.runner import batch
    from engine.batching.workers import WorkersFailed
    from engine.cli import batchview
    from engine.cli.process import steady
    from engine.cli.usage import require_paths, write_failed
    from engine.format.files import discover, write_output

    steady()
    paths = _given(paths)
    require_paths(paths)
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
    rendered = batchview.batch_text(report, format_.value, color=color, quiet=quiet, wires=wire or [])
    if output is None:
        sys.stdout.write(rendered)
    else:
        try:
            write_output(output, rendered)
        except OSError as exc:
            raise write_failed(str(output), exc) from None
        print(reports.summary_line(report))
    raise typer.Exit(reports.exit_code(report))


app.command("optimize")(optimize_command)
app.command("serve")(serve_command)


@app.command("schema")
def _schema_command() -> None:
    """Print the JSON Schema of the circuit format."""
    from engine.format.model import json_schema_text

    sys.stdout.write(json_schema_text())


app.command("graph")(graph_command)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI on `argv` (default: ``sys.argv[1:]``) and return the exit code."""
    from engine.cli import streams

    saved = streams.prepare()
    try:
        return _main(argv)
    finally:
        streams.restore(saved)


def _main(argv: list[str] | None) -> int:
    from engine.cli import helptext, streams

    try:
        command = helptext.tidy(typer.main.get_command(app))
        # standalone mode: the CLI library reports usage errors itself (exit 2)
        command.main(args=argv, prog_name="circuit", standalone_mode=True, default_map=_defaults(argv))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else ExitCode.USAGE)
        return _flushed(code)
    except UsageError as exc:
        sys.stderr.write(exc.render())
        return ExitCode.USAGE
    except KeyboardInterrupt:
        return 130
    except streams.ReaderGone:  # the reader went away (`| head`): a normal end
        streams.silence_stdout()
        return ExitCode.OK
    except streams.OutputFailed as exc:  # stdout closed or full: an I/O error, not a bug
        return _io_error(exc.error)
    except Exception as exc:  # noqa: BLE001 - the last line of defence: never a traceback
        print(f"internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        print("  help: this is a bug in circuitflow; please report it with the circuit file", file=sys.stderr)
        return ExitCode.USAGE
    return _flushed(ExitCode.OK)


def _defaults(argv: list[str] | None) -> dict[str, dict[str, object]]:
    """The commands' defaults from ``[tool.circuitflow]``; a broken file still lets -h and --version answer."""
    from engine.cli import config

    try:
        return config.default_map()
    except UsageError:
        if {"-h", "--help", "--version"} & set(sys.argv[1:] if argv is None else argv):
            return {}
        raise


def _flushed(code: int) -> int:
    """`code` once stdout is flushed; a write error there is an I/O error, a closed pipe a normal end."""
    from engine.cli import streams

    try:
        sys.stdout.flush()
    except streams.ReaderGone:
        streams.silence_stdout()
    except streams.OutputFailed as exc:
        return _io_error(exc.error)
    return code


def _io_error(exc: OSError) -> int:
    from engine.cli import streams
    from engine.cli.usage import write_failed

    streams.silence_stdout()  # what is still buffered must not fail again at exit
    where = exc.filename if isinstance(exc.filename, str) else "stdout"
    try:
        sys.stderr.write(write_failed(where, exc).render())
        sys.stderr.flush()
    except OSError:
        pass
    return ExitCode.USAGE
