"""Fuzz the loader: mutated valid circuits through `engine.parse_circuit`.

The fence: whatever the bytes, only `CircuitError` may escape, and no file under
10 KB may take more than 2 s of CPU time. Mutants are the example circuits (and a
generated one near 10 KB) with byte flips, truncations, inserted YAML syntax and
unicode oddities; the same generator serves the bounded test in the default suite
(``tests/edges/test_fuzz_fence.py``) and this script, which runs for longer::

    python benchmarks/fuzz_loader.py --seconds 600 --seed 1

It prints how many mutants were tried, how many loaded, how many were refused, and
the slowest; it exits 1 on the first violation, with the mutant saved for replay.
"""

from __future__ import annotations

import argparse
import random
import signal
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

import engine  # noqa: E402
from engine.format.loader import decode  # noqa: E402

LIMIT_BYTES = 10 * 1024
LIMIT_SECONDS = 2.0
HANG_SECONDS = 30  # wall clock: past this the loader is stuck, not slow

# What YAML gives meaning to, and what a schema or a terminal cares about.
SYNTAX = [
    ":",
    ": ",
    "- ",
    "[",
    "]",
    "{",
    "}",
    ",",
    "#",
    "&a ",
    "*a",
    "!!str ",
    "!x ",
    "'",
    '"',
    "? ",
    "| ",
    "> ",
    "\t",
    "%YAML 1.2\n",
    "---\n",
    "...\n",
    "@",
    "`",
    "\\",
    "\n",
    "\n  ",
    "\n    - ",
    "~",
    "null",
    "true",
    "no",
    "010",
    "0x1F",
    "0o17",
    "1e400",
    ".nan",
    "-.inf",
    "12:30",
    "1_000",
    "9" * 5000,
    "0x" + "f" * 3000,
    "[" * 80,
    "{a: " * 40,
    "op",
    "in",
    "gates",
    "inputs",
    "output",
    "expect",
    "values",
    "grads",
    "tolerance",
    "add",
    "mul",
    "max",
    "log",
    "pow",
    "x",
    "q",
    "f",
]
UNICODE = [
    "\x85",
    "\u2028",
    "\u2029",
    "\r",
    "\r\n",
    "\ufeff",
    "\u202e",
    "\u200b",
    "\u0301",
    "\x00",
    "\x1b[2J",
    "\x7f",
    "\x9b",
    "\ud800",
    "\udfff",
    "\U0001f600",
    "\uff11",
    "\u0661\u0662",
    "é",
    "ß",
    "İ",
    "\ufffe",
    "\uffff",
]


def seeds() -> list[str]:
    """The valid circuits mutants start from: the examples that stand alone (``use:`` needs their folder),
    and one generated near the size limit."""
    texts = []
    for path in sorted((ROOT / "circuits").glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        try:
            engine.parse_circuit(text, path.stem)
        except engine.CircuitError:
            continue
        texts.append(text)
    lines = ["inputs:"] + [f"  x{i}: {i % 5 - 2}" for i in range(60)] + ["gates:"]
    ops = ("add", "mul", "max", "min")
    lines += [f"  g{i}: {{op: {ops[i % 4]}, in: [x{i % 60}, x{(i * 7) % 60}]}}" for i in range(1, 200)]
    lines += ["  f: {op: add, in: [" + ", ".join(f"g{i}" for i in range(1, 200)) + "]}", "output: f"]
    texts.append("\n".join(lines) + "\n")
    return texts


def mutate(rng: random.Random, text: str) -> str:
    """`text` with one to six random mutations (as text: unicode oddities may not survive UTF-8)."""
    for _ in range(rng.randint(1, 6)):
        kind = rng.choice(["flip", "truncate", "syntax", "unicode", "delete", "duplicate", "swap", "indent"])
        at = rng.randint(0, len(text))
        if kind == "flip" and text:
            data = bytearray(text.encode("utf-8", "surrogatepass"))
            i = rng.randrange(len(data))
            data[i] ^= 1 << rng.randrange(8)
            text = data.decode("utf-8", "replace")
        elif kind == "truncate":
            text = text[:at]
        elif kind == "syntax":
            text = text[:at] + rng.choice(SYNTAX) + text[at:]
        elif kind == "unicode":
            text = text[:at] + rng.choice(UNICODE) + text[at:]
        elif kind == "delete":
            text = text[:at] + text[at + rng.randint(1, 12) :]
        else:
            lines = text.splitlines(keepends=True) or [""]
            i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
            if kind == "duplicate":
                lines.insert(j, lines[i])
            elif kind == "swap":
                lines[i], lines[j] = lines[j], lines[i]
            else:
                lines[i] = " " * rng.randint(1, 9) + lines[i]
            text = "".join(lines)
    return text


def mutants(seed: int, base: list[str]) -> Iterator[tuple[int, str]]:
    """(number, mutant) pairs, reproducible from `seed`."""
    rng = random.Random(seed)
    number = 0
    while True:
        yield number, mutate(rng, rng.choice(base))
        number += 1


@dataclass
class Outcome:
    """What one mutant did: loaded, refused (CircuitError), and the CPU seconds it took."""

    loaded: bool
    seconds: float


class Hang(Exception):
    """The loader ran past `HANG_SECONDS` of wall-clock time."""


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise Hang


def check_one(text: str) -> Outcome:
    """Run one mutant through the loader, as text and as the bytes of a file.

    Raises:
        AssertionError: an exception other than `CircuitError`, or too slow for its size.
        Hang: stuck for `HANG_SECONDS`.
    """
    # A timer already running (pytest-timeout's) is put back afterwards, less the time spent.
    outer, _ = signal.getitimer(signal.ITIMER_REAL)
    previous = signal.signal(signal.SIGALRM, _alarm) if outer == 0 or outer > HANG_SECONDS else None
    if previous is not None:
        signal.setitimer(signal.ITIMER_REAL, HANG_SECONDS)
    wall = time.monotonic()
    started = time.thread_time()
    loaded = True
    try:
        for attempt in (text, text.encode("utf-8", "surrogatepass")):
            try:
                source = decode(attempt, "fuzz.yaml") if isinstance(attempt, bytes) else attempt
                engine.parse_circuit(source, "fuzz")
            except engine.CircuitError as error:
                loaded = False
                assert error.issues and all(issue.code and issue.message for issue in error.issues)
            except Hang:
                raise
            except Exception as exc:  # noqa: BLE001 - the fence: name what escaped
                raise AssertionError(f"{type(exc).__name__} escaped the loader: {exc}") from exc
    finally:
        if previous is not None:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
            if outer:
                signal.setitimer(signal.ITIMER_REAL, max(outer - (time.monotonic() - wall), 0.001))
    seconds = time.thread_time() - started
    size = len(text.encode("utf-8", "surrogatepass"))
    if size < LIMIT_BYTES:
        assert seconds <= LIMIT_SECONDS, f"{seconds:.2f} s of CPU for a {size:,}-byte file"
    return Outcome(loaded, seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to fuzz")
    parser.add_argument("--seed", type=int, default=0, help="the random seed (mutants are reproducible)")
    parser.add_argument("--save", type=Path, default=Path("fuzz-failure.yaml"), help="where a failing mutant goes")
    args = parser.parse_args(argv)
    base = seeds()
    deadline = time.monotonic() + args.seconds
    tried = loaded = 0
    slowest = (0.0, -1)
    for number, text in mutants(args.seed, base):
        if time.monotonic() > deadline:
            break
        try:
            outcome = check_one(text)
        except (AssertionError, Hang) as failure:
            args.save.write_text(text, encoding="utf-8", errors="surrogatepass")
            print(f"mutant {number} (seed {args.seed}): {failure or 'hang'}; saved to {args.save}")
            return 1
        tried += 1
        loaded += outcome.loaded
        slowest = max(slowest, (outcome.seconds, number))
    print(
        f"{tried:,} mutants in {args.seconds:g} s (seed {args.seed}): {loaded:,} loaded, {tried - loaded:,} refused "
        f"with CircuitError, none escaped; slowest {slowest[0] * 1000:.1f} ms CPU (mutant {slowest[1]})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
