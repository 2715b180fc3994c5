"""MkDocs hooks: every generated page of the site, made from examples/ at build time.

The worked-example pages (English, and Korean for the seeds 002 and 003), the rule table, the
command-line reference, the reports on the verification page and the performance tables are
all written here by symgrad itself, so no formula on the site is typed by hand and changing an
example changes its page. Every formula the pages contain is recorded in
``symgrad-math.json`` in the built site; ``tests/test_docs.py`` checks that the built HTML holds
no other.

KaTeX (pinned, from npm: ``npm install --prefix .ci/node katex@0.16.22``) is copied into the
site, so the pages render their math with no network.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
import shutil
import subprocess
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
KATEX = Path(os.environ.get("SYMGRAD_KATEX", ROOT / ".ci" / "node" / "node_modules" / "katex"))
KOREAN = ("seed002_chain_rule", "seed003_two_layer_sigmoid")
# The update each page shows: the learning rate of the example's lecture note (0.01 where the
# note trains with another optimiser or says none).
LEARNING_RATES = {
    "seed000_linear_adam": 0.01,
    "seed001_linear_regression": 0.01,
    "seed002_chain_rule": 0.01,
    "seed003_layers": 1.0,
    "seed003_two_layer_sigmoid": 1.0,
    "seed004_relu_mlp": 1e-6,
}
# How many ems a displayed row may take: on a laptop's column (688 px at 1280) and a phone's
# (358 px at 390). KaTeX sets a display 19.4 px to the em on this theme, and about 1.2 times as
# wide as symgrad's estimate (measured over the seed 003 and 004 rows).
WIDTHS = (29, 15)
log = logging.getLogger("mkdocs.plugins.symgrad")

_formulas: set[str] = set()
_pages: dict[str, str] = {}


def example_names() -> list[str]:
    return sorted(path.stem for path in EXAMPLES.glob("*.py"))


# --- MkDocs events -------------------------------------------------------------------------------


def on_config(config):
    """The navigation, with one page per example file (so a new example gets a page)."""
    examples = [{name: f"examples/{name}.md"} for name in example_names()]
    korean = [{name: f"ko/{name}.md"} for name in KOREAN]
    config["nav"] = [
        {"Getting started": "index.md"},
        {"Model files": "model-files.md"},
        {"Worked examples": examples},
        {"한국어": korean},
        {"The rule table": "rules.md"},
        {"Verification": "verification.md"},
        {"Command line": "cli.md"},
        {"Performance": "performance.md"},
    ]
    return config


def on_files(files, config):
    _formulas.clear()
    _pages.clear()
    for name in example_names():
        _pages[f"examples/{name}.md"] = example_page(name, "en")
        svg = graph_svg(name)
        if svg is not None:
            files.append(File.generated(config, f"examples/{name}.svg", content=svg))
    for name in KOREAN:
        _pages[f"ko/{name}.md"] = example_page(name, "ko")
    _pages["rules.md"] = rules_page()
    _pages["cli.md"] = cli_page()
    _pages["performance.md"] = performance_page()
    for uri, text in _pages.items():
        _record_math(text)
        files.append(File.generated(config, uri, content=text))
    for png in sorted((ROOT / "benchmarks" / "results").glob("*.png")):
        files.append(File.generated(config, f"performance/{png.name}", content=png.read_bytes()))
    return files


def on_page_markdown(markdown, page, config, files):
    """Hand-written pages take generated pieces where they say ``<!-- symgrad: … -->``."""

    def replace(match):
        text = generated_piece(match.group(1).strip())
        _record_math(text)
        return text

    return re.sub(r"<!--\s*symgrad:(.*?)-->", replace, markdown)


def on_post_build(config):
    site = Path(config["site_dir"])
    if not (KATEX / "dist" / "katex.min.js").is_file():
        raise PluginError(
            f"KaTeX is not at {KATEX}; install it with "
            "npm install --prefix .ci/node katex@0.16.22 (or set SYMGRAD_KATEX)"
        )
    target = site / "assets" / "katex"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(KATEX / "dist", target, ignore=shutil.ignore_patterns("*.mjs", "*.ts"))
    (site / "symgrad-math.json").write_text(
        json.dumps(sorted(_formulas), ensure_ascii=False, indent=0), encoding="utf-8"
    )


# --- the generated pages -------------------------------------------------------------------------


def _load(name: str):
    import symgrad
    from symgrad.loader import load_model

    return symgrad.derive(load_model(str(EXAMPLES / f"{name}.py")))


def _docstring(name: str) -> str:
    import ast

    tree = ast.parse((EXAMPLES / f"{name}.py").read_text(encoding="utf-8"))
    return (ast.get_docstring(tree) or "").strip()


def _demote(markdown: str) -> str:
    """The worked example's headings one level down, under the page's own title; a formula in
    a heading written as plain text, since the table of contents shows headings as text."""

    def heading(match):
        text = re.sub(r"\$(.+?)\$", lambda m: _plain(m.group(1)), match.group(2))
        return f"#{match.group(1)} {text}"

    return re.sub(r"^(#+) (.*)$", heading, markdown, flags=re.M)


GREEK = {r"\alpha": "α", r"\eta": "η", r"\times": "×", r"\cdot": "·"}


def _plain(tex: str) -> str:
    for command, letter in GREEK.items():
        tex = tex.replace(command, letter)
    return tex.replace("{", "").replace("}", "").replace("\\", "")


def example_page(name: str, lang: str) -> str:
    import symgrad

    d = _load(name)
    lr = LEARNING_RATES.get(name, 0.01)
    worked = _fitted(*(symgrad.render(d, "markdown", lang=lang, lr=lr, width=w) for w in WIDTHS))
    worked = re.sub(r"\A# .*\n", "", worked)  # the page has its own title
    heading = "풀이" if lang == "ko" else "Worked example"
    parts = [f"# {name}", ""]
    doc = _docstring(name)
    if doc:
        source = f"examples/{name}.py"
        parts += [f"The model file `{source}` says:", ""]
        parts += ["```text", doc, "```", ""]
    parts += [f"## {heading}", "", _demote(worked).strip(), ""]
    if lang == "en":
        parts += ["## Computational graph", ""]
        if graph_svg(name) is not None:
            # the picture scaled to the column, and a link to it at full size
            image = f"![The computational graph of {name}]({name}.svg)"
            parts += [
                f"[{image}]({name}.svg)",
                "",
                f"[Open the graph at full size]({name}.svg)",
                "",
            ]
        else:
            log.info("Graphviz's dot is not installed: %s shows its graph as DOT", name)
            parts += ["```dot", _dot(name).strip(), "```", ""]
        parts += ["## Generated code", ""]
        for backend, label in (("numpy", "NumPy"), ("torch", "PyTorch")):
            try:
                source = symgrad.compile(d, backend).source
            except symgrad.SymgradError as error:  # torch not installed
                source = f"# {error}"
            parts += [f'??? example "{label}: `symgrad codegen examples/{name}.py --backend '
                      f'{backend}`"', "", "    ```python"]  # fmt: skip
            parts += [f"    {line}" if line else "" for line in source.rstrip().splitlines()]
            parts += ["    ```", ""]
    return "\n".join(parts)


def _fitted(wide: str, narrow: str) -> str:
    """The worked example with each display that breaks differently on a phone given twice,
    the stylesheet showing the one that fits the screen (``symgrad-wide``, ``symgrad-narrow``).
    The two renderings differ only inside their displays."""
    display = re.compile(r"^\$\$\n.*?\n\$\$$", re.S | re.M)
    narrow_displays = iter(display.findall(narrow))
    if display.sub("", wide) != display.sub("", narrow):
        raise PluginError("the wide and narrow worked examples differ outside their displays")

    def both(match):
        small = next(narrow_displays)
        if small == match.group():
            return small
        return "\n\n".join(
            f'<div class="symgrad-{fit}" markdown>\n\n{tex}\n\n</div>'
            for fit, tex in (("wide", match.group()), ("narrow", small))
        )

    return display.sub(both, wide)


def _dot(name: str) -> str:
    from symgrad import graph_dot

    return graph_dot(_load(name))


def graph_svg(name: str) -> bytes | None:
    dot = shutil.which("dot")
    if dot is None:
        return None
    done = subprocess.run([dot, "-Tsvg"], input=_dot(name).encode(), capture_output=True)
    if done.returncode != 0:
        raise PluginError(f"Graphviz could not draw {name}: {done.stderr.decode().strip()}")
    return done.stdout


def rules_page() -> str:
    from symgrad.rendering.rules import render_rules

    return "\n".join([
        "# The rule table",
        "",
        "Every primitive symgrad differentiates is one row of `symgrad/rules.py`. This page is "
        "that table, printed by `symgrad rules --markdown`: each derivative is the row's own "
        "rule applied to symbols, in the textbook form the worked examples use.",
        "",
        render_rules("markdown"),
    ])  # fmt: skip


def cli_page() -> str:
    import click

    from symgrad.cli import main

    parts = ["# Command line", "", "Each command with an example run on the lecture notes' "
             "models, then its options (generated from the commands themselves).", ""]  # fmt: skip
    root = click.Context(main, info_name="symgrad")
    parts += ["## symgrad", "", "```text", main.get_help(root), "```", ""]
    for name in sorted(main.commands):
        command = main.commands[name]
        context = click.Context(command, info_name=name, parent=root)
        parts += [f"## symgrad {name}", ""]
        for example in CLI_EXAMPLES.get(name, ()):
            parts += [generated_piece(f"run {example}"), ""]
        parts += ['??? note "Options"', "", "    ```text"]
        parts += [f"    {line}" if line else "" for line in command.get_help(context).splitlines()]
        parts += ["    ```", ""]
    return "\n".join(parts)


CLI_EXAMPLES = {  # what each command prints, run at build time
    "derive": ["derive examples/seed002_chain_rule.py --only backward"],
    "codegen": ["codegen examples/seed002_chain_rule.py"],
    "graph": ["graph examples/seed002_chain_rule.py --symbolic"],
    "rules": [],  # the rule table has a page of its own
    "verify": ["verify examples/seed002_chain_rule.py --points 3"],
}


def performance_page() -> str:
    results = ROOT / "benchmarks" / "results"
    parts = ["# Performance", "", "The tables `python -m benchmarks` writes under "
             "`benchmarks/results/`, as they stand in the repository.", ""]  # fmt: skip
    for table in sorted(results.glob("*.md")):
        text = table.read_text(encoding="utf-8")
        parts += [_demote(text).strip(), ""]
    for png in sorted(results.glob("*.png")):
        parts += [f"![{png.stem}](performance/{png.name})", ""]
    readme = (ROOT / "benchmarks" / "README.md").read_text(encoding="utf-8")
    parts += ["## How they are run", "", _demote(re.sub(r"\A# .*\n", "", readme)).strip(), ""]
    return "\n".join(parts)


def generated_piece(spec: str) -> str:
    """What a ``<!-- symgrad: … -->`` marker asks for: ``run ARGS`` (the output of
    ``symgrad ARGS``, as a text block) or ``file PATH`` (a file's code, without its docstring)."""
    kind, _, rest = spec.partition(" ")
    if kind == "report":  # a verify report as the HTML table Jupyter shows, with its command
        return f"```text\n$ symgrad verify {rest}\n```\n\n" + _report_html(rest)
    if kind == "run":
        return "```text\n$ symgrad " + rest + "\n" + _run(rest).rstrip() + "\n```"
    if kind == "file":  # a model file's code, its docstring left out
        source = (ROOT / rest).read_text(encoding="utf-8")
        source = re.sub(r'\A""".*?"""\n+', "", source, flags=re.S)
        return "```python\n" + source.rstrip() + "\n```"
    raise PluginError(f"unknown generated piece {spec!r}")


def _report_html(arguments: str) -> str:
    """``symgrad verify ARGUMENTS`` run in this process, its report as an HTML table."""
    import shlex

    from symgrad.checking.verify import verify
    from symgrad.cli import load_derivation, main
    from symgrad.loader import load_function

    command = main.commands["verify"]
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        options = command.make_context("verify", shlex.split(arguments)).params
        d = load_derivation(options["file"], options["model_name"], options["wrt"])
        against = load_function(options["against"]) if options["against"] else None
        report = verify(d, against=against, points=options["points"], seed=options["seed"])
    finally:
        os.chdir(cwd)
    return report._repr_html_()


def _run(arguments: str) -> str:
    import shlex

    from click.testing import CliRunner

    from symgrad.cli import main

    cwd = os.getcwd()
    os.chdir(ROOT)  # the commands name files relative to the repository
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            result = CliRunner().invoke(main, shlex.split(arguments), catch_exceptions=False)
    finally:
        os.chdir(cwd)
    return result.output


def _record_math(markdown: str) -> None:
    """Every formula in generated Markdown: ``$$ … $$`` blocks and ``$ … $`` inline."""
    for tex in re.findall(r"\$\$(.+?)\$\$", markdown, flags=re.S):
        _formulas.add(normalise(tex))
    inline = re.sub(r"\$\$(.+?)\$\$", "", markdown, flags=re.S)
    inline = re.sub(r"```.*?```", "", inline, flags=re.S)
    for tex in re.findall(r"(?<![\\$])\$(?!\s)(.+?)(?<![\\\s])\$", inline):
        _formulas.add(normalise(tex))


def normalise(tex: str) -> str:
    return " ".join(tex.split())
