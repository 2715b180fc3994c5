"""The documentation site: it builds with --strict, every example has its page (and the seeds
002 and 003 a Korean one), the rule table lists every primitive, no formula on the site was
typed by hand, and in a real browser (headless Chromium) every formula renders without an
error and no page logs one."""

from __future__ import annotations

import functools
import html
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from symgrad.rules import records

from .conftest import EXAMPLES, KATEX, ROOT

# minutes of sweeps: CI runs them (python -m pytest -m slow); the everyday run leaves them out
pytestmark = pytest.mark.slow


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
EXAMPLE_NAMES = sorted(path.stem for path in EXAMPLES.glob("*.py"))


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    pytest.importorskip("mkdocs")
    pytest.importorskip("material")
    if not (KATEX / "dist" / "katex.min.js").is_file():
        pytest.skip(f"KaTeX is not installed in {KATEX} (see .ci/run)")
    out = tmp_path_factory.mktemp("docs") / "site"
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return out


def page(site: Path, uri: str) -> str:
    return (site / f"{uri}.html").read_text(encoding="utf-8")


def test_every_example_has_a_page_with_its_derivation_graph_and_code(site):
    for name in EXAMPLE_NAMES:
        text = page(site, f"examples/{name}")
        assert "Forward pass" in text and "Backward pass" in text, name
        assert "Generated code" in text and "loss_and_grad" in text, name
        if shutil.which("dot"):
            assert (site / "examples" / f"{name}.svg").read_text().lstrip().startswith("<?xml")
            assert f'src="{name}.svg"' in text and f'href="{name}.svg"' in text  # full size


def test_a_display_too_wide_for_a_phone_comes_twice(site):
    """Note 003's forward pass breaks at = on a laptop and again on a phone: its page holds
    both renderings, each a formula of its own, and the stylesheet shows one."""
    text = page(site, "examples/seed003_two_layer_sigmoid")
    wide = re.findall(
        r'<div class="symgrad-wide">\s*<div class="arithmatex">(.*?)</div>', text, re.S
    )
    narrow = re.findall(
        r'<div class="symgrad-narrow">\s*<div class="arithmatex">(.*?)</div>', text, re.S
    )
    assert len(wide) == len(narrow) >= 3
    assert all(
        w != n and n.count(r"\\") > w.count(r"\\") for w, n in zip(wide, narrow, strict=True)
    )
    css = (site / "stylesheets" / "math.css").read_text()
    assert "div.symgrad-narrow" in css and "@media" in css


def test_korean_pages(site):
    for name in ("seed002_chain_rule", "seed003_two_layer_sigmoid"):
        text = page(site, f"ko/{name}")
        assert "순전파" in text and "역전파" in text


def test_the_rule_table_lists_every_primitive(site):
    text = page(site, "rules")
    for rule in records():
        assert f"<code>{rule.name}</code>" in text, rule.name


def test_the_command_line_page_documents_every_command(site):
    from symgrad.cli import main

    text = page(site, "cli")
    for name in main.commands:
        assert f"symgrad {name}" in text and "Usage:" in text


def test_the_verification_page_shows_real_reports(site):
    text = html.unescape(page(site, "verification"))
    assert "two_layer_sigmoid: all gradients agree" in text
    assert "3 of 9 gradients wrong (W1, W2, b1)" in text and "first wrong node sigma1" in text


FORMULA = re.compile(r'<(?:span|div) class="arithmatex">(.*?)</(?:span|div)>', re.S)


def test_no_formula_on_the_site_was_typed_by_hand(site):
    generated = set(json.loads((site / "symgrad-math.json").read_text(encoding="utf-8")))
    seen = 0
    for path in site.rglob("*.html"):
        for raw in FORMULA.findall(path.read_text(encoding="utf-8")):
            tex = html.unescape(raw).strip()
            tex = re.sub(r"^\\[(\[]|\\[)\]]$", "", tex).strip()
            assert " ".join(tex.split()) in generated, (path, tex)
            seen += 1
    assert seen > 100


def test_changing_an_example_changes_its_page(tmp_path):
    """The page is made from the example at build time: rendered from a changed copy, the
    new numbers appear."""
    pytest.importorskip("mkdocs")
    sys.path.insert(0, str(ROOT / "docs"))
    try:
        import hooks
    finally:
        sys.path.pop(0)
    source = (EXAMPLES / "seed002_chain_rule.py").read_text()
    copy = tmp_path / "examples"
    copy.mkdir()
    (copy / "seed002_chain_rule.py").write_text(
        source.replace("m.example(x=1, w=1, y=2)", "m.example(x=3, w=1, y=2)")
    )
    before = hooks.example_page("seed002_chain_rule", "en")
    original = hooks.EXAMPLES
    hooks.EXAMPLES = copy
    try:
        after = hooks.example_page("seed002_chain_rule", "en")
    finally:
        hooks.EXAMPLES = original
    assert before != after
    assert "x w = 3 \\times 1 = 3" in after and "x w = 1 \\times 1 = 1" in before


# --- in a real browser ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def served(site):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    playwright = pytest.importorskip("playwright.sync_api")
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (Debian: chromium)")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


def pages_of(site: Path) -> list[str]:
    return sorted(
        "/" + path.relative_to(site).as_posix()
        for path in site.rglob("*.html")
        if "assets" not in path.parts and path.name != "404.html"
    )


def test_every_link_works_from_disk_without_a_server(site):
    """Opened as files, a link must land on a page, not on a folder listing."""
    checked = 0
    for path in site.rglob("*.html"):
        if "assets" in path.parts or path.name == "404.html":  # served from the root only
            continue
        for href in re.findall(r'href="([^"#?]+)', path.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+:", href) or href.startswith("//"):
                continue  # another site
            target = (path.parent / html.unescape(href)).resolve()
            assert target.is_file(), (path.relative_to(site).as_posix(), href)
            checked += 1
    assert checked > 100


def test_every_page_renders_its_math_in_chromium_without_errors(site, served, browser, tmp_path):
    uris = pages_of(site)
    assert len(uris) >= len(EXAMPLE_NAMES) + 8
    for uri in uris:
        tab = browser.new_page()
        problems = []
        tab.on(
            "console", lambda m, seen=problems: seen.append(m.text) if m.type == "error" else None
        )
        tab.on("pageerror", lambda e, seen=problems: seen.append(str(e)))
        tab.goto(served + uri)
        tab.wait_for_function("document.body.dataset.mathRendered === 'true'", timeout=30_000)
        formulas = tab.locator(".arithmatex").count()
        rendered = tab.locator(".arithmatex .katex").count()
        errors = tab.locator(".katex-error").count()
        assert errors == 0, (uri, tab.locator(".katex-error").first.inner_text())
        assert rendered >= formulas, (uri, formulas, rendered)
        assert not problems, (uri, problems)
        for width in (1280, 390):  # a laptop and a phone: the page never scrolls sideways
            tab.set_viewport_size({"width": width, "height": 900})
            overflow = tab.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, (uri, width, overflow)
            # and no formula scrolls in its box: a worked example's rows break to fit the column
            scrolling = tab.evaluate(SCROLLING_DISPLAYS)
            assert not scrolling, (uri, width, scrolling)
            if uri in SCREENSHOTS:
                shot = (
                    ROOT / "site-screenshots" if os.environ.get("SYMGRAD_SCREENSHOTS") else tmp_path
                )
                shot.mkdir(exist_ok=True)
                tab.screenshot(path=str(shot / f"{SCREENSHOTS[uri]}-{width}.png"), full_page=True)
        tab.close()


# The displayed formulas the reader must scroll sideways to read (a hidden one is the other
# width's rendering of the same display).
SCROLLING_DISPLAYS = """() => Array.from(document.querySelectorAll("div.arithmatex"))
    .filter((d) => d.offsetParent !== null && d.scrollWidth > d.clientWidth + 1)
    .map((d) => d.textContent.slice(0, 60))"""

SCREENSHOTS = {  # the pages whose screenshots a release note looks at
    "/examples/seed003_two_layer_sigmoid.html": "seed003",
    "/verification.html": "verification",
    "/rules.html": "rules",
}
