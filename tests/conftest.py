"""Shared helpers: the example models, and PyTorch when it is installed."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from symgrad.loader import load_model

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def example_path(name: str) -> str:
    return str(EXAMPLES / name)


def load_example(name: str):
    return load_model(example_path(name))


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


# --- real renderers: pdflatex, KaTeX on Node.js, Graphviz --------------------------------------
# CI installs them (.ci/run); where one is absent its tests skip, saying which.

KATEX = ROOT / ".ci" / "node" / "node_modules" / "katex"
KATEX_CHECK = ROOT / "tests" / "support" / "katex_check.cjs"


@pytest.fixture(scope="session")
def pdflatex():
    """Compile a LaTeX document in a folder; returns (returncode, log text, pdf path)."""
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex is not installed (Debian: texlive-latex-base)")

    def run(source: str, folder: Path, name: str = "doc"):
        tex = folder / f"{name}.tex"
        tex.write_text(source, encoding="utf-8")
        result = subprocess.run(
            ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape",
             tex.name],
            cwd=folder, capture_output=True, text=True, errors="replace", timeout=300,
        )  # fmt: skip
        log = (folder / f"{name}.log").read_text(encoding="utf-8", errors="replace")
        return result.returncode, log, folder / f"{name}.pdf"

    return run


def _needs_tex_file(pdflatex, name: str, package: str, debian: str):
    """``pdflatex``, or a skip naming what to install when TeX cannot find ``name``."""
    found = subprocess.run(["kpsewhich", name], capture_output=True, text=True)
    if not found.stdout.strip():
        pytest.skip(f"{package} is not installed (Debian: {debian})")
    return pdflatex


@pytest.fixture(scope="session")
def kotex(pdflatex):
    return _needs_tex_file(pdflatex, "kotex.sty", "kotex", "texlive-lang-korean")


@pytest.fixture(scope="session")
def katex():
    """Parse TeX with KaTeX: takes [(tex, display)], returns the error (or None) of each."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed (Debian: nodejs)")
    if not (KATEX / "package.json").is_file():
        pytest.skip(f"KaTeX is not installed in {KATEX.parent} (see .ci/run)")

    def parse(items):
        result = subprocess.run(
            [node, str(KATEX_CHECK), str(KATEX)],
            input=json.dumps([[tex, display] for tex, display in items]),
            capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip
        return json.loads(result.stdout)

    return parse


@pytest.fixture(scope="session")
def graphviz():
    if shutil.which("dot") is None:
        pytest.skip("Graphviz is not installed (Debian: graphviz)")
    return shutil.which("dot")


def math_blocks(markdown: str) -> list[tuple[str, bool]]:
    """Every ``$$ … $$`` display and ``$ … $`` inline math of a Markdown page, in order."""
    found = []
    for block in re.finditer(r"^\$\$\n(.*?)\n\$\$$", markdown, flags=re.S | re.M):
        found.append((block.group(1), True))
    prose = re.sub(r"^\$\$\n.*?\n\$\$$", "", markdown, flags=re.S | re.M)
    for inline in re.finditer(r"(?<![\\$])\$(?!\$)(.+?)(?<!\\)\$", prose):
        found.append((inline.group(1), False))
    return found


@pytest.fixture(scope="session")
def beamer(pdflatex):
    return _needs_tex_file(pdflatex, "beamer.cls", "beamer", "texlive-latex-recommended")
