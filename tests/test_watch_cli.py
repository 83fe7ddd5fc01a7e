"""`circuit watch` run as the installed command in a subprocess: JSON lines, text, signals."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any

import pytest

from tests.watchkit import WAIT, save_atomic, save_in_place, seed, value_of

pytestmark = pytest.mark.timeout(60)
CIRCUIT = str(Path(sys.executable).parent / "circuit")


class Watch:
    """A running ``circuit watch``, its stdout lines readable with a timeout."""

    def __init__(self, *args: str, cwd: Path) -> None:
        env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120"}
        self.proc = subprocess.Popen(
            [CIRCUIT, "watch", *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.errors: queue.Queue[str | None] = queue.Queue()
        for stream, sink in ((self.proc.stdout, self.lines), (self.proc.stderr, self.errors)):
            threading.Thread(target=self._pump, args=(stream, sink), daemon=True).start()

    @staticmethod
    def _pump(stream: IO[str], sink: queue.Queue[str | None]) -> None:
        for line in stream:
            sink.put(line)
        sink.put(None)

    def line(self) -> str:
        try:
            line = self.lines.get(timeout=WAIT)
        except queue.Empty:
            raise AssertionError("no output from circuit watch in time") from None
        assert line is not None, "circuit watch ended early"
        return line

    def event(self) -> dict[str, Any]:
        return json.loads(self.line())

    def until(self, text: str) -> list[str]:
        """Stdout lines up to and including the first containing `text`."""
        seen = [self.line()]
        while text not in seen[-1]:
            seen.append(self.line())
        return seen

    def error_lines(self, count: int) -> list[str]:
        return [self.errors.get(timeout=WAIT) or "" for _ in range(count)]

    def finish(self, signum: int) -> tuple[int, str]:
        self.proc.send_signal(signum)
        code = self.proc.wait(timeout=WAIT)
        rest = []
        while (item := self.errors.get(timeout=WAIT)) is not None:
            rest.append(item)
        return code, "".join(rest)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_json_lines_then_a_signal_ends_cleanly(folder: Path, signum: int) -> None:
    watch = Watch("--format", "json", "circuits", cwd=folder.parent)
    initial = watch.event()
    assert (initial["event"], initial["path"], initial["result"]["value"]) == ("initial", "circuits/seed.yaml", -12.0)
    assert initial["result"]["grads"] == {"x": -4.0, "y": -4.0, "z": 3.0, "q": -4.0, "f": 1.0}
    assert set(initial) == {"event", "path", "result", "latency_ms"}
    save_atomic(folder / "seed.yaml", seed(1))
    changed = watch.event()
    assert (changed["event"], changed["result"]["value"], changed["result"]["status"]) == ("changed", -24.0, "ok")
    assert isinstance(changed["latency_ms"], float) and changed["latency_ms"] >= 0
    code, stderr = watch.finish(signum)
    assert code == 0
    assert "Traceback" not in stderr and stderr == ""


def test_syntax_error_then_fix(folder: Path) -> None:
    watch = Watch("--format", "json", "circuits", cwd=folder.parent)
    watch.event()
    save_in_place(folder / "seed.yaml", seed(1).replace("x: 1", "x: [1"))
    stale = watch.event()
    assert stale["event"] == "changed" and stale["stale"] is True
    assert stale["result"]["value"] == -12.0 and stale["result"]["status"] == "ok"
    assert [(e["code"], e["line"], e["column"]) for e in stale["errors"]] == [("yaml-syntax", 3, 4)]
    assert watch.error_lines(2) == [
        "circuits/seed.yaml:3:4: error[yaml-syntax] did not find expected ',' or ']'\n",
        "  help: close the list with ']' or separate items with ','\n",
    ]
    save_in_place(folder / "seed.yaml", seed(1))
    fixed = watch.event()
    assert fixed["result"]["value"] == value_of(1) and "stale" not in fixed
    code, stderr = watch.finish(signal.SIGINT)
    assert code == 0 and "Traceback" not in stderr


def test_removed_and_added_events(folder: Path) -> None:
    watch = Watch("--format", "json", "circuits", cwd=folder.parent)
    watch.event()
    (folder / "seed.yaml").unlink()
    assert watch.event() == {
        "event": "removed",
        "path": "circuits/seed.yaml",
        "result": None,
        "latency_ms": pytest.approx(0, abs=5000),
    }
    (folder / "new").mkdir()
    (folder / "new" / "n.yml").write_text(seed(2))
    added = watch.event()
    assert (added["event"], added["path"], added["result"]["value"]) == ("added", "circuits/new/n.yml", value_of(2))
    assert watch.finish(signal.SIGTERM)[0] == 0


def test_poll(folder: Path) -> None:
    watch = Watch(
        "--poll", "--poll-interval", "0.05", "--debounce-ms", "20", "--format", "json", "circuits", cwd=folder.parent
    )
    watch.event()
    save_in_place(folder / "seed.yaml", seed(3))
    assert watch.event()["result"]["value"] == value_of(3)
    assert watch.finish(signal.SIGINT)[0] == 0


def test_text_view_shows_old_and_new(folder: Path) -> None:
    watch = Watch("circuits", cwd=folder.parent)
    first = watch.until("q ")
    assert "initial circuits/seed.yaml" in first[0]
    assert "seed: f = -12" in first[1]
    save_in_place(folder / "seed.yaml", seed(-3))
    lines = watch.until("q ")
    text = "".join(lines)
    assert "changed circuits/seed.yaml" in lines[0]
    assert "seed: f = -12 → -8" in text
    assert "-2 → -3" in text and "3 → 2" in text
    save_in_place(folder / "seed.yaml", seed(-3).replace("op: add", "op: ad"))
    stale = watch.until("stale")
    assert stale[-1].strip() == "broken: keeping the last good result (stale): f = -8"
    assert watch.error_lines(1) == ["circuits/seed.yaml:6:11: error[unknown-op] unknown op 'ad'\n"]
    code, stderr = watch.finish(signal.SIGINT)
    assert code == 0 and "Traceback" not in stderr


def test_reader_closing_the_pipe_ends_the_watch(folder: Path) -> None:
    proc = subprocess.Popen(
        [CIRCUIT, "watch", "--format", "json", str(folder)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None
    proc.stdout.readline()
    proc.stdout.close()
    save_in_place(folder / "seed.yaml", seed(5))
    assert proc.wait(timeout=WAIT) == 0
    assert b"Traceback" not in proc.stderr.read()


def test_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    done = subprocess.run([CIRCUIT, "watch", str(tmp_path / "nope")], capture_output=True, text=True, timeout=WAIT)
    assert done.returncode == 2
    assert done.stderr == (
        f"error: no such file or folder: '{tmp_path / 'nope'}'\n"
        "  help: check the path (it is relative to the current folder)\n"
    )
    assert done.stdout == ""


def test_changes_are_highlighted_on_a_terminal(folder: Path) -> None:
    import pty

    leader, follower = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"} | {"TERM": "xterm-256color", "COLUMNS": "100"}
    proc = subprocess.Popen(
        [CIRCUIT, "watch", "circuits"], cwd=folder.parent, stdout=follower, stderr=subprocess.PIPE, env=env
    )
    os.close(follower)
    chunks: queue.Queue[bytes] = queue.Queue()

    def pump() -> None:
        while True:
            try:
                data = os.read(leader, 4096)
            except OSError:
                return
            if not data:
                return
            chunks.put(data)

    threading.Thread(target=pump, daemon=True).start()

    def read_until(marker: bytes) -> bytes:
        seen = b""
        while marker not in seen:
            seen += chunks.get(timeout=WAIT)
        return seen

    read_until(b"initial")
    save_in_place(folder / "seed.yaml", seed(-3))
    screen = read_until("-2 → -3".encode())
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=WAIT) == 0
    os.close(leader)
    # the changed cell is styled (bold yellow), the unchanged ones are not
    assert re.search("\x1b\\[1;33m *-2 → -3\x1b\\[0m".encode(), screen)
    assert re.search("│ +5 │ +-4\r\n".encode(), screen)  # y: neither value nor gradient changed
    assert b"Traceback" not in proc.stderr.read()


def test_ctrl_c_during_the_first_scan(tmp_path: Path) -> None:
    gates = "".join(f"  g{i}: {{op: add, in: [{'x' if i == 0 else f'g{i - 1}'}, 1]}}\n" for i in range(200))
    for n in range(300):
        (tmp_path / f"c{n:03}.yaml").write_text(f"inputs: {{x: {n}}}\ngates:\n{gates}")
    watch = Watch("--format", "json", ".", cwd=tmp_path)
    assert watch.event()["path"] == "c000.yaml"
    code, stderr = watch.finish(signal.SIGINT)
    assert code == 0 and stderr == ""
    lines = 1
    while watch.lines.get(timeout=WAIT) is not None:
        lines += 1
    assert lines < 300  # the scan stopped early
