"""The public `Circuit`: a loaded, validated, compiled circuit file, ready to evaluate.

``load_circuit(path)`` / ``parse_circuit(text)`` run the whole pipeline
(bytes → spec → program) and raise `CircuitError` on any user error;
``Circuit.evaluate()`` runs forward and backward and checks ``expect`` (and the
numerical gradient check on request). Turning user errors into results instead
is `engine.evaluating`'s job.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine import sampling
from engine.compile.graph import Placer, build_program, salvage_issues, wiring_issues
from engine.errors import CircuitError, EvaluationError, GraphError, Issue, SchemaError, did_you_mean
from engine.format.compose import Uses, expand
from engine.format.loader import DEFAULT_MAX_BYTES, SourceMap, decode, load_spec, paused_gc
from engine.format.model import CircuitFile, CircuitSpec
from engine.format.placement import Document, Placement
from engine.format.reading import read_bytes
from engine.program import Program
from engine.result import Array, Check, GradsWanted, Result, Samples, Status, WireNumbers, sample_label
from engine.run import codegen, interpreter
from engine.run.interpreter import DomainFault

if TYPE_CHECKING:
    from engine.optimizing import Data, Direction, OptimizeResult
    from engine.run.optimize import OptimizerName, Strategy, TracePoint

DEFAULT_CHECK_TOLERANCE = 1e-5


@dataclass(frozen=True, slots=True)
class Circuit:
    """A validated circuit and its compiled program.

    Attributes:
        name: the ``name:`` key, else the file name without extension.
        path: the file it came from (None for text).
        spec: the flat circuit: expressions and sub-circuits expanded into gates
            (wire names qualified: ``n1.s``, ``f.1``).
        program: the evaluation plan (shared by every evaluation).
        defaults: input values (sub-circuit parameters included, e.g. ``n1.a``), by name.
        warnings: unused inputs and gates.
        source: where each wire was written, for locating later problems.
        uses: every file reached through ``use:`` (resolved paths).
    """

    name: str
    path: str | None
    spec: CircuitSpec
    program: Program
    defaults: dict[str, float]
    warnings: tuple[Issue, ...]
    source: Placement
    uses: tuple[str, ...] = ()

    @property
    def output(self) -> str:
        return self.program.output_name

    def input_values(self, inputs: Mapping[str, float] | None = None) -> list[float]:
        """Input values in slot order: the file's, overridden by `inputs`.

        Raises:
            CircuitError: an override names no input or is not a finite number.
        """
        values = dict(self.defaults)
        for name, value in (inputs or {}).items():
            if name not in values:
                raise self.unknown_input(name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise CircuitError(
                    [
                        Issue(
                            "invalid-number",
                            f"input '{name}' must be a finite number, got {value!r}",
                            self.path,
                            hint="e.g. --set x=1.5",
                        )
                    ]
                )
            values[name] = float(value)
        return [values[name] for name in self.program.inputs]

    def unknown_input(self, name: str) -> CircuitError:
        """The error for an override naming no input, with a did-you-mean."""
        hint = (
            (did_you_mean(name, self.defaults) or "inputs: " + ", ".join(self.defaults))
            if self.defaults
            else "the circuit has no inputs"
        )
        return CircuitError([Issue("unknown-input", f"no input named '{name}'", self.path, hint=hint)])

    def evaluate(
        self,
        inputs: Mapping[str, float] | None = None,
        *,
        check: bool = False,
        check_tolerance: float = DEFAULT_CHECK_TOLERANCE,
        expect: bool | None = None,
    ) -> Result:
        """Forward values and backward gradients of every wire.

        Args:
            inputs: values overriding the file's inputs for this evaluation.
            check: also compare every input's gradient with centred finite differences.
            check_tolerance: relative+absolute tolerance of that comparison.
            expect: check the file's ``expect`` section. By default it is checked only
                when no input is overridden: expectations describe the file's own inputs,
                so with `inputs` they are reported as skipped.

        Returns:
            The result; status ``failed`` when an expectation or the gradient check fails.

        Raises:
            EvaluationError: a domain fault, located at the faulting gate.
            CircuitError: an unknown or non-finite override.
        """
        started = time.perf_counter()
        point = self.input_values(inputs)
        program = self.program
        try:
            with paused_gc():  # evaluation builds no cycles; a collection over a big circuit is waste
                values, grads = codegen.evaluate(program, point)
            warnings = list(self.warnings)
            dead = program.live < len(program.steps) and interpreter.forward_dead(program, values)
            if dead:
                warnings += [self.dead_gate_warning(fault) for fault in dead]
            checks = self._expectations(values, grads, skip=not (expect if expect is not None else not inputs))
            if check:
                checks += self._gradient_check(point, values, grads, check_tolerance, warnings)
        except DomainFault as fault:
            raise self.locate_fault(fault) from None
        names, index = program.wires, program.index
        if dead:  # a faulting gate the output does not depend on, and those reading it, have no numbers
            first = program.n_inputs + program.live
            names = tuple(w for slot, w in enumerate(names) if slot < first or not math.isnan(values[slot]))
            index = {w: program.index[w] for w in names}
        status: Status = "ok" if all(c.passed or c.skipped for c in checks) else "failed"
        return Result(
            self.path,
            self.name,
            status,
            program.output_name,
            values[program.output],
            WireNumbers(names, index, values),
            WireNumbers(names, index, grads),
            tuple(checks),
            (),
            tuple(warnings),
            (time.perf_counter() - started) * 1000,
        )

    def evaluate_samples(
        self, inputs: Mapping[str, Any], *, label: Callable[[int], str] | None = None, grads: GradsWanted = "inputs"
    ) -> Samples:
        """Values of every wire and gradients for a batch of samples (numpy arrays).

        Args:
            inputs: input name → a number or a sequence/array with one number per
                sample; inputs not given keep the file's values.
            label: names a sample by its index in messages (default ``sample N``).
            grads: ``"inputs"`` (default) for ∂output/∂input, ``"all"`` for the
                gradient of every wire (one more array per gate: over big batches,
                about twice the time and memory).

        Returns:
            Arrays of values by wire name, and of ∂output/∂wire by input (or wire) name.

        Raises:
            CircuitError: unknown inputs, mismatched lengths, non-finite numbers.
            EvaluationError: a domain fault, located at the gate, naming the first faulting sample.
        """
        return sampling.evaluate_samples(self, inputs, label or sample_label, grads)

    def input_matrix(self, inputs: Mapping[str, Any], label: Callable[[int], str] = sample_label) -> Array:
        """The (n_inputs, n_samples) array of inputs `evaluate_samples` runs on (same checks and errors)."""
        return sampling.input_matrix(self, inputs, label)

    def optimize(
        self,
        direction: Direction = "maximize",
        params: Sequence[str] | None = None,
        strategy: Strategy = "analytic",
        optimizer: OptimizerName = "sgd",
        steps: int = 100,
        step_size: float = 0.01,
        data: Data | None = None,
        *,
        seed: int = 0,
        until_grad_norm: float | None = None,
        batch_size: int | None = None,
        epochs: int | None = None,
        on_point: Callable[[TracePoint], None] | None = None,
    ) -> OptimizeResult:
        """Change inputs to make the output (its mean over `data`) larger or smaller.

        The strategies are ``analytic``, ``numerical`` and ``random``; the optimisers ``sgd``,
        ``momentum`` and ``adam`` follow torch.optim. See `engine.optimizing.optimize` and
        docs/optimize.md. A fault during the run is the result's status ``error``.

        Raises:
            CircuitError: bad parameters or data.
            ValueError: settings out of range.
        """
        from engine.optimizing import optimize

        return optimize(
            self,
            direction,
            params,
            strategy,
            optimizer,
            steps,
            step_size,
            data,
            seed=seed,
            until_grad_norm=until_grad_norm,
            batch_size=batch_size,
            epochs=epochs,
            on_point=on_point,
        )

    def locate_fault(self, fault: DomainFault, where: str = "") -> EvaluationError:
        """`fault` as an error at its gate's line (`where`, e.g. " in sample 3", ends the message)."""
        issue = fault.first
        return EvaluationError(
            [
                self.source.place(
                    Issue(issue.code, issue.message + where, self.path, hint=issue.hint),
                    ("gates", fault.gate),
                    key=True,
                )
            ]
        )

    def dead_gate_warning(self, fault: DomainFault, where: str = "") -> Issue:
        """The warning for a fault of a gate the output does not depend on (it gets no value)."""
        hint = f"the output '{self.output}' does not depend on '{fault.gate}', so it has no value; "
        return replace(
            self.locate_fault(fault, where).first,
            severity="warning",
            hint=hint + "remove the gate or change its inputs",
        )

    def _expectations(self, values: list[float], grads: list[float], skip: bool = False) -> list[Check]:
        expect = self.spec.expect
        if expect is None:
            return []
        index = self.program.index
        tolerance = expect.tolerance
        checks = []
        for kind, section, table, actual in (
            ("expect_value", "values", expect.values, values),
            ("expect_grad", "grads", expect.grads, grads),
        ):
            for wire, expected in table.items():
                slot = index[wire]
                line, column = self.source.locate(("expect", section, wire))
                if math.isnan(values[slot]):  # a gate without a value (see dead_gate_warning)
                    checks.append(Check(kind, wire, expected, None, False, line, column, reason="it has no value"))
                    continue
                got = actual[slot]
                passed = not skip and close(got, expected, tolerance)
                checks.append(Check(kind, wire, expected, got, passed, line, column, skipped=skip))
        return checks

    def _gradient_check(
        self, point: list[float], values: list[float], grads: list[float], tolerance: float, warnings: list[Issue]
    ) -> list[Check]:
        program = self.program
        kinks = interpreter.kinked_steps(program, values)
        on_kink = interpreter.upstream_inputs(program, kinks)
        for index in kinks:
            gate = program.gate_of(index)
            line, column = self.source.locate(("gates", gate), key=True)
            warnings.append(
                Issue(
                    "kink",
                    f"gate '{gate}' ({program.steps[index].op.name}) sits exactly on a kink; "
                    "finite differences are unreliable here",
                    self.path,
                    line,
                    column,
                    hint="move the inputs off the kink (e.g. with --set) to check this gate",
                    severity="warning",
                )
            )
        checks = []
        for entry in interpreter.numerical_gradients(program, point, grads):
            wire = program.wires[entry.slot]
            line, column = self.source.locate(("inputs", wire), key=True)
            # no finite estimate: nothing was checked, which is a failure even on a kink
            passed = entry.numeric is not None and (
                close(entry.analytic, entry.numeric, tolerance) or entry.slot in on_kink
            )
            checks.append(
                Check(
                    "grad_check",
                    wire,
                    entry.numeric,
                    entry.analytic,
                    passed,
                    line,
                    column,
                    entry.abs_error,
                    entry.rel_error,
                    entry.slot in on_kink,
                    entry.reason,
                )
            )
        return checks


def close(actual: float, expected: float, tolerance: float) -> bool:
    """Relative+absolute comparison: ``|actual − expected| ≤ tol · (1 + |expected|)``."""
    return abs(actual - expected) <= tolerance * (1.0 + abs(expected))


Compiler = Callable[[CircuitSpec, Placer], tuple[Program, list[Issue]]]


def parse_circuit(
    text: str,
    name: str | None = None,
    *,
    path: str | None = None,
    compile: Compiler = build_program,
    uses: Uses | None = None,
) -> Circuit:
    """Validate and compile a circuit from YAML text.

    Args:
        text: the YAML document.
        name: the circuit's name when the document has no ``name:`` key.
        path: the file name to report issues against (``use:`` paths are relative
            to its folder; without a path, to the working directory).
        compile: turns the validated spec into a program (watch passes a cache that
            reuses the programs of known structures).
        uses: reads the files named by ``use:`` (watch and batch pass one that
            keeps them inside the folder, and read which files were used).

    Raises:
        CircuitError: a `LoadError`, `SchemaError` or `GraphError` with every issue found.
    """
    uses = uses if uses is not None else Uses()
    with paused_gc():
        doc, source = load_spec(
            text, path, salvage=lambda data, source: salvage_issues(data, _placer(Placement(_bare(source, path))))
        )
        expansion = expand(Document(path, text, doc, source), uses)
        place = _placer(expansion.placement)
        if expansion.issues:
            issues = list(expansion.issues)
            if expansion.whole:
                seen = {(i.path, i.line, i.column) for i in issues}
                issues += [i for i in wiring_issues(expansion.spec, place) if (i.path, i.line, i.column) not in seen]
            raise SchemaError(sorted(_once(issues), key=_file_order))
        spec, placement = expansion.spec, expansion.placement
        try:
            program, warnings = compile(spec, place)
        except GraphError as error:
            raise GraphError(_once(error.issues)) from None
        warnings = _once(warnings)
    defaults = {name: item.value for name, item in spec.inputs.items()}
    return Circuit(
        doc.name or name or "circuit", path, spec, program, defaults, tuple(warnings), placement, tuple(uses.files)
    )


def _once(issues: Sequence[Issue]) -> list[Issue]:
    """Issues without repeats: a used file's problem shows once, not once per instance of it."""
    seen: set[tuple[str | None, int | None, int | None, str, str]] = set()
    kept = []
    for issue in issues:
        key = (issue.path, issue.line, issue.column, issue.code, issue.message)
        if key not in seen:
            seen.add(key)
            kept.append(issue)
    return kept


def _file_order(issue: Issue) -> tuple[int, int, int]:
    # Issues in the circuit's own file first, by position; then those of used files.
    return (1 if issue.notes else 0, issue.line or 0, issue.column or 0)


def _bare(source: SourceMap, path: str | None) -> Document:
    # A document for placing issues only (the salvage of a file that failed the schema).
    return Document(path, "", CircuitFile.model_construct(gates={}), source)


def _placer(placement: Placement) -> Placer:
    return lambda issue, loc, key: placement.place(issue, loc, key=key)


def load_circuit(path: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Circuit:
    """Read, validate and compile a circuit file (and the files it uses).

    Raises:
        CircuitError: the file is unreadable or invalid (every issue carries its line and column).
    """
    where = str(path)
    text = decode(read_bytes(Path(path), max_bytes), where)
    return parse_circuit(text, Path(path).stem, path=where, uses=Uses(max_bytes=max_bytes))
