"""The watch text view and JSON line, rendered from real catalog updates of real files."""

from __future__ import annotations

import io
import json
from pathlib import Path

from engine.cli.watchview import write_json, write_text
from engine.watching.catalog import Catalog, Update
from engine.watching.session import WatchEvent


def event(update: Update, kind: str | None = None) -> WatchEvent:
    return WatchEvent(
        kind or update.kind,
        update.path,
        update.result,
        update.previous,
        update.stale,  # type: ignore[arg-type]
        update.errors,
        2.5,
        update.circuit,
    )


def render(ev: WatchEvent) -> tuple[list[str], str]:
    out, err = io.StringIO(), io.StringIO()
    write_text(ev, out, err)
    return out.getvalue().splitlines(), err.getvalue()


def chain(n: int, x: float) -> str:
    gates = "".join(
        f"  g{i}: {{op: add, in: [{'x' if i == 0 else f'g{i - 1}'}, {1 if i != 30 else x}]}}\n" for i in range(n)
    )
    return f"inputs: {{x: {x}}}\ngates:\n{gates}"


def test_large_circuits_show_only_what_changed(tmp_path: Path) -> None:
    target = tmp_path / "chain.yaml"
    target.write_text(chain(60, 1))
    catalog = Catalog()
    first, _ = render(event(catalog.reload(target), "initial"))
    assert first[1] == "chain: g59 = 61" and len(first) == 4 + 40 + 1
    assert first[-1] == "… 21 more wires not shown"
    target.write_text(chain(60, 1).replace("x: 1}", "x: 2}", 1))  # every value changes, no gradient
    lines, err = render(event(catalog.reload(target)))
    assert lines[0].endswith(f"changed {target} (2.5 ms)")
    assert lines[1] == "chain: g59 = 61 → 62"
    rows = [[cell.strip() for cell in line.split("│")] for line in lines[4:-1]]
    assert rows[:3] == [["g59", "61 → 62", "1"], ["x", "1 → 2", "1"], ["g0", "2 → 3", "1"]]
    assert len(rows) == 40 and lines[-1] == "… 21 more wires not shown (21 of them changed)"
    target.write_text(chain(60, 1).replace("x: 1}", "x: 2}", 1).replace("[g9, 1]", "[g9, 2]"))
    lines, err = render(event(catalog.reload(target)))  # only g10 … g59 change
    rows = [[cell.strip() for cell in line.split("│")] for line in lines[4:-1]]
    assert [r[0] for r in rows] == ["g59", *(f"g{i}" for i in range(10, 49))]
    assert lines[-1] == "… 21 more wires not shown (10 of them changed)"
    assert err == ""


def test_an_edit_that_changes_no_number_says_so(tmp_path: Path) -> None:
    target = tmp_path / "seed.yaml"
    target.write_text("inputs: {x: 2}\ngates:\n  f: {op: neg, in: [x]}\n")
    catalog = Catalog()
    catalog.reload(target)
    target.write_text("description: only words changed\ninputs: {x: 2}\ngates:\n  f: {op: neg, in: [x]}\n")
    lines, _ = render(event(catalog.reload(target)))
    assert lines[1:] == [
        "seed: f = -2",
        "wire ┃ value ┃ ∂f/∂wire",
        "━━━━━╇━━━━━━━╇━━━━━━━━━",
        "f    │    -2 │        1",
        "x    │     2 │       -1",
        "no value or gradient changed",
    ]


def test_stale_event_text_and_json(tmp_path: Path) -> None:
    target = tmp_path / "seed.yaml"
    target.write_text("inputs: {x: 2}\ngates:\n  f: {op: log, in: [x]}\n")
    catalog = Catalog()
    catalog.reload(target)
    target.write_text("inputs: {x: 0}\ngates:\n  f: {op: log, in: [x]}\n")
    ev = event(catalog.reload(target))
    lines, err = render(ev)
    assert lines[1] == "broken: keeping the last good result (stale): f = 0.6931471805599453"
    assert err.startswith(f"{target}:3:3: error[domain] ")
    out = io.StringIO()
    write_json(ev, out, io.StringIO())
    data = json.loads(out.getvalue())
    assert (data["event"], data["stale"], data["result"]["status"]) == ("changed", True, "ok")
    assert [(e["code"], e["line"], e["column"]) for e in data["errors"]] == [("domain", 3, 3)]
    assert out.getvalue().count("\n") == 1


def test_removed_event(tmp_path: Path) -> None:
    target = tmp_path / "seed.yaml"
    target.write_text("inputs: {x: 2}\ngates:\n  f: {op: neg, in: [x]}\n")
    catalog = Catalog()
    catalog.reload(target)
    target.unlink()
    lines, err = render(event(catalog.reload(target)))
    assert len(lines) == 1 and lines[0].endswith(f"removed {target} (2.5 ms)") and err == ""
