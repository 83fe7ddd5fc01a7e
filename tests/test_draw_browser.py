"""The seed's picture in a real headless browser: it renders, it is not blank, its text
shows the seed's numbers, and every text fits inside its box with the browser's own fonts."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browserkit import ARGS, CHROMIUM, needs_chromium

ROOT = Path(__file__).parent.parent
CIRCUIT = str(Path(sys.executable).parent / "circuit")

pytestmark = [needs_chromium, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright-python (pip install playwright)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def seed_svg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pictures") / "seed.svg"
    proc = subprocess.run([CIRCUIT, "graph", "circuits/seed.yaml", "-o", str(out)], cwd=ROOT, capture_output=True)
    assert proc.returncode == 0, proc.stderr
    return out


def test_the_svg_file_loads_and_its_text_shows_the_seed_numbers(browser: Any, seed_svg: Path) -> None:
    page = browser.new_page()
    page.goto(seed_svg.as_uri())
    rows = page.eval_on_selector_all(
        "g.node", "nodes => nodes.map(n => [n.dataset.wire, [...n.querySelectorAll('text')].map(t => t.textContent)])"
    )
    assert rows == [
        ["x", ["x", "value", "-2", "grad", "-4"]],
        ["y", ["y", "value", "5", "grad", "-4"]],
        ["z", ["z", "value", "-4", "grad", "3"]],
        ["q", ["q", "add", "value", "3", "grad", "-4"]],
        ["f", ["f", "mul", "value", "-12", "grad", "1"]],
    ]
    labels = page.eval_on_selector_all("text.label", "ts => ts.map(t => t.textContent).sort()")
    assert labels == ["-4", "-4", "-4", "3"]
    assert "output: f = -12" in page.text_content("svg")
    page.close()


@pytest.mark.parametrize("name", ["seed", "two_layer", "neuron"])
def test_every_text_fits_inside_its_box_in_the_browsers_fonts(browser: Any, name: str, tmp_path: Path) -> None:
    import engine

    picture = tmp_path / f"{name}.svg"
    picture.write_text(engine.draw(engine.load_circuit(ROOT / "circuits" / f"{name}.yaml")), encoding="utf-8")
    page = browser.new_page()
    page.goto(picture.as_uri())
    outside = page.evaluate(
        """() => [...document.querySelectorAll('g.node')].flatMap(n => {
            const box = n.querySelector('rect.box').getBBox();
            return [...n.querySelectorAll('text')].filter(t => {
                const b = t.getBBox();
                return b.x < box.x || b.y < box.y
                    || b.x + b.width > box.x + box.width || b.y + b.height > box.y + box.height;
            }).map(t => n.dataset.wire + ': ' + t.textContent);
        })"""
    )
    assert outside == []
    page.close()


def test_the_picture_is_not_blank(browser: Any, seed_svg: Path) -> None:
    image = pytest.importorskip("PIL.Image", reason="needs pillow to read the screenshot")
    svg = seed_svg.read_text(encoding="utf-8").split("?>", 1)[1]
    page = browser.new_page()
    page.set_content(f"<html><body style='margin:0'>{svg}</body></html>")
    shot = page.locator("svg").first.screenshot()
    page.close()
    picture = image.open(io.BytesIO(shot)).convert("RGB")
    width, height = picture.size
    assert width > 400 and height > 250
    colours = picture.getcolors(maxcolors=1 << 20)
    assert colours is not None
    inked = sum(count for count, rgb in colours if rgb != (255, 255, 255))
    assert inked > 0.05 * width * height  # boxes, edges and text, not an empty page
    blue, orange = (29, 78, 216), (194, 65, 12)  # the positive and negative gradients' colours
    near = {rgb for _, rgb in colours}
    assert blue in near and orange in near


@pytest.mark.parametrize("name", ["fanout", "two_layer"])
def test_every_text_is_inside_the_picture(browser: Any, name: str, tmp_path: Path) -> None:
    import engine

    picture = tmp_path / f"{name}.svg"
    picture.write_text(engine.draw(engine.load_circuit(ROOT / "circuits" / f"{name}.yaml")), encoding="utf-8")
    page = browser.new_page()
    page.goto(picture.as_uri())
    outside = page.evaluate(
        """() => {
            const view = document.documentElement.viewBox.baseVal;
            return [...document.querySelectorAll('text')].filter(t => {
                const b = t.getBoundingClientRect();
                return b.left < 0 || b.top < 0 || b.right > view.width || b.bottom > view.height;
            }).map(t => t.textContent);
        }"""
    )
    assert outside == []
    page.close()


MERMAID_JS = os.environ.get("MERMAID_JS", "")


@pytest.mark.skipif(
    not Path(MERMAID_JS).is_file(),
    reason="set MERMAID_JS to a mermaid.min.js (e.g. from `npm pack mermaid`) to render with the real Mermaid",
)
@pytest.mark.parametrize("name", ["seed", "fanout", "two_layer"])
def test_mermaid_renders_with_the_real_mermaid(browser: Any, name: str) -> None:
    import engine

    chart = engine.draw(engine.load_circuit(ROOT / "circuits" / f"{name}.yaml"), format="mermaid")
    page = browser.new_page()
    page.set_content("<html><body></body></html>")
    page.add_script_tag(path=MERMAID_JS)
    page.evaluate("mermaid.initialize({startOnLoad: false})")
    svg = page.evaluate(
        "async chart => { try { return (await mermaid.render('chart', chart)).svg }"
        " catch (e) { return 'ERROR ' + e } }",
        chart,
    )
    page.close()
    assert not svg.startswith("ERROR"), svg
    assert "value -2" in svg if name == "seed" else "grad" in svg
