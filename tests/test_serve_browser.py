"""The live page of ``circuit serve`` in a real headless browser (Debian's chromium, driven by playwright).

Set ``CIRCUITFLOW_SCREENSHOTS=DIR`` to keep the screenshots the tests take (the
ones in ``docs/`` come from here).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browserkit import ARGS, CHROMIUM
from tests.servekit import ROOT, Server, serving
from tests.watchkit import save_in_place

pytestmark = pytest.mark.timeout(300)
WAIT_MS = 30_000
XSS = "<img src=x onerror=alert(1)>"

sync_api = pytest.importorskip("playwright.sync_api")
if not CHROMIUM.exists():  # pragma: no cover - .ci/run installs it
    pytest.skip("needs Debian's chromium at /usr/bin/chromium", allow_module_level=True)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("page") / "circuits"
    root.mkdir()
    shutil.copy(ROOT / "circuits" / "seed.yaml", root / "seed.yaml")
    shutil.copy(ROOT / "circuits" / "neuron.yaml", root / "neuron.yaml")
    (root / "xss.yaml").write_text(
        f'name: "<script>alert(2)</script>"\ndescription: "{XSS}"\n'
        f'inputs:\n  x: {{value: 1, doc: "{XSS}"}}\n'
        f'gates:\n  f: {{op: mul, in: [x, 2], doc: "{XSS}"}}\noutput: f\n'
    )
    (root / "wide.yaml").write_text(wide_circuit(200))
    return root


def wide_circuit(gates: int) -> str:
    """A circuit of `gates` gates over three inputs: each gate reads the wires one and three before
    it (and sometimes a constant, whose edge has no gradient), through ops whose numbers stay finite."""
    ops = ["add", "mul", "tanh", "sub", "max", "add", "sigmoid", "mul"]
    lines = ["inputs: {a: 0.5, b: -1.25, c: 2}", "gates:"]
    wires = ["a", "b", "c"]
    for k in range(gates):
        op, left, right = ops[k % len(ops)], wires[-1], wires[-3]
        args = [left] if op in ("tanh", "sigmoid") else [left, right, 0.5] if op == "mul" else [left, right]
        lines.append(f"  g{k}: {{op: {op}, in: [{', '.join(map(str, args))}]}}")
        wires.append(f"g{k}")
    return "\n".join([*lines, f"output: g{gates - 1}", ""])


@pytest.fixture(scope="module")
def server(folder: Path) -> Iterator[Server]:
    with serving(folder, relative=True) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, server: Server) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    opened = context.new_page()
    opened.set_default_timeout(WAIT_MS)
    dialogs: list[str] = []
    opened.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    outside: list[str] = []

    def only_the_service(route: Any) -> None:
        # nothing may be fetched from elsewhere: the page has to work without a network
        if route.request.url.startswith(server.url) or route.request.url.startswith("data:"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_the_service)
    opened.dialogs = dialogs
    opened.errors = errors
    opened.outside = outside
    opened.goto(server.url)
    yield opened
    context.close()


def shoot(page: Any, name: str) -> None:
    folder = os.environ.get("CIRCUITFLOW_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / name))


def fmt(x: float) -> str:
    """Numbers as the page shows them (10 significant digits, no trailing zeros)."""
    text = f"{float(f'{x:.10g}')!r}"
    return text[:-2] if text.endswith(".0") else text


def cell(page: Any, wire: str, column: str) -> str:
    return str(page.locator(f'#wires tr[data-wire="{wire}"] td.{column}').text_content())


def wait_cell(page: Any, wire: str, column: str, text: str) -> None:
    page.wait_for_function(
        "([wire, column, text]) => { const c = document.querySelector(`#wires tr[data-wire='${wire}'] td.${column}`);"
        " return c !== null && c.textContent === text; }",
        arg=[wire, column, text],
    )


def choose(page: Any, name: str) -> None:
    page.locator(f'.circuit-button[data-name="{name}"]').click()
    page.wait_for_selector("#circuit:not([hidden])")


def test_choose_the_seed_and_see_minus_12(page: Any) -> None:
    choose(page, "seed")
    wait_cell(page, "f", "value", "-12")
    assert page.locator("#output").text_content() == "f = -12"
    assert [cell(page, w, "grad") for w in ("x", "y", "z", "q", "f")] == ["-4", "-4", "3", "-4", "1"]
    assert page.locator("#status").text_content() == "ok"
    assert page.locator("#checks li.pass").count() == 6
    assert page.dialogs == [] and page.errors == [] and page.outside == []


def test_moving_x_shows_the_apis_numbers(page: Any, server: Server) -> None:
    choose(page, "seed")
    wait_cell(page, "f", "value", "-12")
    page.locator('.input[data-input="x"] .number').fill("1.5")
    with httpx.Client(base_url=server.url) as client:
        answer = client.post("/api/circuits/seed/evaluate", json={"inputs": {"x": 1.5}}).json()
    wait_cell(page, "f", "value", fmt(answer["value"]))
    page.wait_for_function(  # the picture follows: its boxes show the new numbers
        "text => { const svg = document.querySelector('#picture svg'); return svg && svg.textContent.includes(text); }",
        arg=f"f = {fmt(answer['value'])}",
    )
    for wire in answer["values"]:
        assert cell(page, wire, "value") == fmt(answer["values"][wire])
        assert cell(page, wire, "grad") == fmt(answer["grads"][wire])
    slider = page.locator('.input[data-input="z"] input[type=range]')
    slider.focus()
    for _ in range(5):
        slider.press("ArrowRight")  # the keyboard moves the slider
    z = float(slider.input_value())
    assert z != -4
    with httpx.Client(base_url=server.url) as client:
        answer = client.post("/api/circuits/seed/evaluate", json={"inputs": {"x": 1.5, "z": z}}).json()
    wait_cell(page, "f", "value", fmt(answer["value"]))
    assert cell(page, "z", "grad") == fmt(answer["grads"]["z"]) == "6.5"  # ∂f/∂z = q = x + y
    # a what-if skips the file's expectations: none is shown failed, in the list or the picture
    assert (page.locator("#checks li.skip").count(), page.locator("#checks li.fail").count()) == (6, 0)
    assert "expected" not in str(page.locator("#picture svg").text_content())
    assert page.errors == [] and page.outside == []
    shoot(page, "serve-seed.png")


def test_a_save_updates_the_page_and_a_broken_save_shows_its_line(page: Any, folder: Path) -> None:
    original = (folder / "seed.yaml").read_text()
    try:
        choose(page, "seed")
        wait_cell(page, "f", "value", "-12")
        page.evaluate("window.notReloaded = true")
        page.locator('.input[data-input="x"] .number').fill("1")
        wait_cell(page, "f", "value", fmt((1 + 5) * -4))
        save_in_place(folder / "seed.yaml", original.replace("y: 5", "y: 6"))
        # the file's new y, and the user's x kept: (1 + 6) · -4
        wait_cell(page, "f", "value", fmt((1 + 6) * -4))
        assert page.evaluate("window.notReloaded") is True
        assert page.locator('.input[data-input="y"] .file-value').text_content() == "file: 6"
        save_in_place(folder / "seed.yaml", original.replace("op: add", "op: ad"))
        page.wait_for_selector("#problems:not([hidden])")
        error = str(page.locator("#errors li code").first.text_content())
        assert error == "circuits/seed.yaml:9:11: error[unknown-op] unknown op 'ad'"
        assert page.locator("#status").text_content() == "broken"
        assert "is-stale" in str(page.locator("#circuit").get_attribute("class"))
        assert page.evaluate("window.notReloaded") is True
        shoot(page, "serve-broken.png")
    finally:
        save_in_place(folder / "seed.yaml", original)
    page.wait_for_selector("#problems[hidden]", state="attached")


def test_circuit_text_is_shown_as_text_and_never_run(page: Any) -> None:
    choose(page, "xss")
    wait_cell(page, "f", "value", "2")
    assert page.locator("#title").text_content() == "<script>alert(2)</script>"
    assert page.locator("#description").text_content() == XSS
    assert cell(page, "f", "doc") == XSS
    assert cell(page, "x", "doc") == XSS
    assert page.locator("#main img").count() == 0
    assert page.locator("#main script").count() == 0
    page.wait_for_timeout(500)  # an onerror handler would have fired by now
    assert page.dialogs == []


def test_the_api_docs_work_offline(page: Any, server: Server) -> None:
    page.goto(server.url + "docs")
    page.wait_for_selector(".swagger-ui .info .title")
    assert str(page.locator(".swagger-ui .info .title").text_content()).startswith("circuitflow")
    page.get_by_text("/api/circuits/{name}/evaluate", exact=True).wait_for()
    assert page.errors == [] and page.outside == []


def short(x: float) -> str:
    """An edge's label, as the picture writes it (engine.drawing.svg.short)."""
    return f"{x:.4g}"


def full(x: float) -> str:
    """A box's number, as the picture writes it (engine.result.fmt)."""
    text = repr(float(x))
    return text[:-2] if text.endswith(".0") else text


PICTURE_NUMBERS = """() => {
  const svg = document.querySelector('#picture svg');
  const boxes = {};
  for (const g of svg.querySelectorAll('g.node[data-wire]')) {
    const [v, d] = [g.querySelector('text.value'), g.querySelector('text.grad')];
    if (v) boxes[g.dataset.wire] = [v.textContent, d.textContent, d.getAttribute('class')];
  }
  const labels = {};
  for (const t of svg.querySelectorAll('text.label')) {
    labels[`${t.dataset.from} ${t.dataset.to} ${t.dataset.position}`] = t.textContent;
  }
  return {boxes, labels, width: svg.querySelector('g.edge path').getAttribute('stroke-width')};
}"""


def sign(x: float) -> str:
    return "zero" if not x else "pos" if x > 0 else "neg"


def test_a_what_if_renumbers_the_picture_in_the_frame_that_shows_the_table(page: Any, server: Server) -> None:
    # the fresh picture from the server is held back: the numbers the picture shows when the
    # table shows the answer were written by the page, in the same animation frame, as Python would
    choose(page, "wide")
    page.wait_for_selector("#picture svg g.node[data-wire='g199']")
    held: list[Any] = []
    page.route("**/graph.svg*", lambda route: held.append(route))
    page.locator('.input[data-input="a"] .number').fill("0.7")
    with httpx.Client(base_url=server.url) as client:
        answer = client.post("/api/circuits/wide/evaluate", json={"inputs": {"a": 0.7}, "explain": True}).json()
    wait_cell(page, "g199", "value", fmt(answer["value"]))
    shown = page.evaluate(PICTURE_NUMBERS)
    for _ in range(200):  # the page asked for a fresh picture: its request is held until released below
        if held:
            break
        page.wait_for_timeout(50)
    assert len(held) == 1
    wires = answer["values"]
    assert len(wires) == 203 and shown["boxes"] == {
        w: [full(wires[w]), full(answer["grads"][w]), f"grad {sign(answer['grads'][w])}"] for w in wires
    }
    links = answer["trace"]
    assert len(links) == 350 and shown["labels"] == {
        f"{link['from']} {link['to']} {link['position']}": short(link["contribution"]) for link in links
    }
    applied = page.evaluate("performance.getEntriesByName('what-if applied').length")
    assert applied >= 1
    page.evaluate("document.querySelector('#picture svg').dataset.renumbered = 'yes'")
    for route in held:
        route.continue_()
    page.unroute("**/graph.svg*")
    # the server's picture, when it comes, shows the very same numbers
    page.wait_for_selector("#picture svg:not([data-renumbered])")
    assert page.evaluate(PICTURE_NUMBERS) == shown
    assert page.errors == [] and page.outside == []


def test_the_page_writes_numbers_as_the_picture_does(page: Any) -> None:
    # box numbers as engine.result.fmt, edge labels as f"{x:.4g}" — exact halves, tiny, huge and signed zeros included
    import random
    import struct

    rng = random.Random(3)
    numbers = [1.0625, -12345.0, 99995.0, 0.5, 1e16, 1e15, 1e-5, 1e-4, -0.0, 0.0, 5e-324, 1.7976931348623157e308]
    numbers += [struct.unpack("d", struct.pack("Q", rng.getrandbits(64)))[0] for _ in range(1500)]
    numbers += [rng.randint(-(10**6), 10**6) / rng.choice([1, 2, 16, 1024]) for _ in range(1500)]
    numbers = [x for x in numbers if x == x and abs(x) != float("inf")]
    shown = page.evaluate("xs => xs.map(s => [pyFull(Number(s)), pyShort(Number(s))])", [repr(x) for x in numbers])
    assert shown == [[full(x), short(x)] for x in numbers]
