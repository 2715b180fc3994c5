"""The command line: thin commands over the library, one clear line on bad input."""

from __future__ import annotations

import functools
import json
import math
import os
import sys
import time
from typing import ClassVar

import click
import numpy as np

from . import progress
from .budget import FORMULA_SECONDS, within
from .codegen import BACKENDS, compile
from .derivation import Derivation, derive
from .errors import SymgradError
from .loader import load_model, load_models
from .rendering import LANGUAGES, render, worked_example
from .rendering.graph import DOT_FORMATS, IMAGE_FORMATS, graph_dot, write_graph
from .rendering.words import words_for
from .rendering.worked import PARTS
from .version import __version__


class BadInput(click.ClickException):
    """Printed as one line on stderr; exit status 2, as for a usage error."""

    exit_code = 2


def reports_errors(command):
    """A command whose mistakes are one line, with a progress bar while it works."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            with Progress():
                return command(*args, **kwargs)
        except SymgradError as error:
            raise BadInput(one_line(str(error))) from None

    return wrapper


def say(text: str, *, err: bool = False, nl: bool = True) -> None:
    """click.echo, after the progress bar has made room."""
    for bar in Progress.active:
        bar.clear()
    click.echo(text, err=err, nl=nl)


def format_flags(*formats: tuple[str, str]):
    """``--text``, ``--latex``, … as one choice, passed on as ``fmt`` (None without a flag);
    two of them are a mistake to point out, not a choice of the last."""

    def decorate(command):
        @functools.wraps(command)
        def wrapper(*args, **kwargs):
            given = [name for name, _ in formats if kwargs.pop(f"as_{name}")]
            if len(given) > 1:
                flags = " and ".join(f"--{name}" for name in given)
                raise SymgradError(f"{flags}: choose one format")
            return command(*args, fmt=given[0] if given else None, **kwargs)

        for name, text in reversed(formats):
            wrapper = click.option(f"--{name}", f"as_{name}", is_flag=True, help=text)(wrapper)
        return wrapper

    return decorate


def check_output(output: str | None, suffixes: tuple[str, ...] = ()) -> None:
    """An ``-o`` the command can write, checked before any work: its folder exists, and its
    suffix is one the command writes (when ``suffixes`` names them)."""
    if not output:
        return
    suffix = os.path.splitext(output)[1].lower()
    if suffixes and suffix not in suffixes:
        raise SymgradError(
            f"-o {output}: this command writes {', '.join(suffixes)} files, "
            f"not {suffix or 'a name without a suffix'}"
        )
    if os.path.isdir(output):
        raise SymgradError(f"-o {output}: is a folder; give a file name")
    folder = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(folder):
        raise SymgradError(f"-o {output}: the folder {os.path.dirname(output)} does not exist")


def one_line(message: str) -> str:
    """A message on one line, whatever it quotes: a formula SymPy prints over several lines
    (a Matrix) is joined up, so the error stays one line a user can read."""
    return " ".join(message.split()) if "\n" in message else message


def parse_at(pairs: tuple[str, ...]) -> dict[str, float]:
    at: dict[str, float] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        name, text = name.strip(), text.strip()
        if not sep or not name:
            raise SymgradError(f"--at expects NAME=VALUE, got {pair!r}")
        at[name] = finite_number(text, f"--at {name}")
    return at


def finite_number(text: str, option: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise SymgradError(f"{option}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise SymgradError(f"{option}: {text!r} is not a finite number")
    return value


def load_derivation(
    file: str, model_name: str | None, wrt: str | None, *, unroll: bool = False
) -> Derivation:
    model = load_model(file, model_name)
    if unroll:
        model, wrt = unrolled(model, wrt)
    derivation = derive(model, wrt=wrt)
    for note in derivation.notes:
        say(f"{file}: note: {note}", err=True)
    return derivation


def unrolled(model, wrt: str | None):
    """The model entry by entry, and ``--wrt`` of a matrix as all its entries."""
    from .unroll import entry_names, unroll

    if wrt is None:
        return unroll(model), None
    names = []
    for name in wrt.replace(",", " ").split():
        names += entry_names(model, name)
    return unroll(model), names


model_option = click.option(
    "--model", "model_name", metavar="NAME", help="The model to use when FILE defines several."
)
wrt_option = click.option(
    "--wrt", metavar="A,B", help="Variables to differentiate by (default: the parameters)."
)


class Commands(click.Group):
    def invoke(self, ctx):
        """Ctrl-C ends a command with one line and the shell's code for an interrupt (130),
        not click's "Aborted!" and exit 1, the code of a wrong gradient. A usage mistake in a
        command's options is one line naming the option, not click's three."""
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("symgrad: interrupted", err=True)
            raise click.exceptions.Exit(130) from None
        except click.UsageError as error:
            command = error.ctx.command_path if error.ctx is not None else "symgrad"
            raise BadInput(f"{error.format_message()} (see {command} --help)") from None


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="symgrad")
def main():
    """Derive gradients by the chain rule, generate code for them, and show the working."""


SUFFIXES = {".tex": "latex", ".md": "markdown", ".markdown": "markdown", ".txt": "text"}
SUFFIXES_JSON = {**SUFFIXES, ".json": "json"}


def choose_format(fmt: str | None, output: str | None, standalone: bool) -> str:
    """The flag when one is given, else the suffix of ``-o``, else text (LaTeX for
    ``--standalone``)."""
    if fmt is None and output:
        suffix = os.path.splitext(output)[1].lower()
        if suffix not in SUFFIXES_JSON:
            raise SymgradError(
                f"-o {output}: cannot tell the format from {suffix or 'no suffix'!r}; use "
                ".tex, .md, .txt or .json, or say --latex, --markdown, --text or --json"
            )
        fmt = SUFFIXES_JSON[suffix]
    fmt = fmt or ("latex" if standalone else "text")
    if standalone and fmt != "latex":
        raise SymgradError(f"--standalone makes a LaTeX document; it does not apply to {fmt}")
    return fmt


def write_output(text: str, output: str | None) -> None:
    if not output:
        say(text, nl=False)
        return
    try:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as error:
        raise SymgradError(f"-o {output}: {error.strerror}") from None
    say(f"wrote {output}", err=True)


output_option = click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Write to FILE; without a format flag its suffix chooses (.tex, .md, .txt, .json).",
)
at_option = click.option(
    "--at",
    "at",
    multiple=True,
    metavar="NAME=VALUE",
    help="A value for an input or parameter, overriding the example (repeatable).",
)
digits_option = click.option(
    "--digits",
    type=click.IntRange(1, 17),
    default=4,
    show_default=True,
    help="Decimals of the printed numbers.",
)
symbolic_option = click.option("--symbolic", is_flag=True, help="Leave the numbers out.")


@main.command("derive")
@click.argument("file", type=click.Path(dir_okay=False))
@model_option
@wrt_option
@at_option
@click.option("--standalone", is_flag=True, help="A complete LaTeX document (implies --latex).")
@click.option(
    "--slides", is_flag=True, help="A beamer document, a frame per part (implies --latex)."
)
@click.option(
    "--only",
    type=click.Choice(PARTS),
    help="One part of the worked example alone (a slide's or a handout's).",
)
@output_option
@digits_option
@symbolic_option
@click.option("--lr", metavar="ALPHA", help="Show one update W <- W - ALPHA dL/dW.")
@click.option("--closed-form", is_flag=True, help="Show each gradient fully substituted.")
@click.option(
    "--hessian",
    is_flag=True,
    help="Show the second derivatives (a tensor model: its Hessian-vector products).",
)
@click.option(
    "--unroll", is_flag=True, help="Write a small tensor model out entry by entry, as scalars."
)
@click.option(
    "--lang",
    default="en",
    show_default=True,
    type=click.Choice(LANGUAGES),
    help="Language of the prose (ko: Korean).",
)
@reports_errors
@format_flags(
    ("text", "For the terminal (the default)."),
    ("latex", "A LaTeX fragment (needs amsmath)."),
    ("markdown", "Markdown with $$ math."),
    ("json", "Values and gradients as JSON."),
)
def derive_command(
    file,
    model_name,
    wrt,
    at,
    fmt,
    standalone,
    slides,
    only,
    output,
    digits,
    symbolic,
    lr,
    closed_form,
    hessian,
    unroll,
    lang,
):
    """Derive the gradient of the loss in FILE and show the working."""
    check_output(output)
    if slides and standalone:
        raise SymgradError("--slides makes a beamer document of its own; drop --standalone")
    if slides and fmt not in (None, "latex"):
        raise SymgradError(f"--slides makes a LaTeX (beamer) document; it does not apply to {fmt}")
    fmt = "latex" if slides else choose_format(fmt, output, standalone)
    if slides and output and not output.lower().endswith(".tex"):
        raise SymgradError(f"-o {output}: --slides writes a LaTeX document; name it .tex")
    if only is not None and fmt == "json":
        raise SymgradError("--only chooses a part of the worked example; --json has no parts")
    rate = None if lr is None else finite_number(lr, "--lr")
    words_for(lang)
    derivation = load_derivation(file, model_name, wrt, unroll=unroll)
    point = parse_at(at)
    if fmt == "json":
        text = json.dumps(derivation_json(derivation, point), indent=2, ensure_ascii=False) + "\n"
    else:
        text = render(
            derivation,
            fmt,
            at=point,
            digits=digits,
            symbolic=symbolic,
            lr=rate,
            closed_form=closed_form,
            hessian=hessian,
            lang=lang,
            standalone=standalone,
            only=only,
            slides=slides,
        )
    write_output(text, output)


@main.command("graph")
@click.argument("file", type=click.Path(dir_okay=False))
@model_option
@wrt_option
@at_option
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="graph.dot, graph.svg or graph.png (SVG and PNG need Graphviz); default: DOT on stdout.",
)
@digits_option
@symbolic_option
@reports_errors
def graph_command(file, model_name, wrt, at, output, digits, symbolic):
    """Draw the computational graph of FILE: each node's operation and value, each edge's local
    gradient and the gradient it carries back."""
    check_output(output, DOT_FORMATS + IMAGE_FORMATS)
    source = graph_dot(
        load_derivation(file, model_name, wrt), at=parse_at(at), digits=digits, symbolic=symbolic
    )
    if not output:
        say(source, nl=False)
        return
    for path in write_graph(source, output):
        say(f"wrote {path}", err=True)


@main.command("codegen")
@click.argument("file", type=click.Path(dir_okay=False))
@model_option
@wrt_option
@click.option("--backend", type=click.Choice(BACKENDS), default="numpy", show_default=True)
@click.option(
    "--reduction",
    type=click.Choice(["mean", "sum"]),
    help="Loss reduction over a batch (default: the model's).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    help="Write the module here instead of to standard output.",
)
@reports_errors
def codegen_command(file, model_name, wrt, backend, reduction, output):
    """Write a standalone NumPy or PyTorch module computing the loss and its gradient."""
    check_output(output, (".py",))
    source = compile(load_derivation(file, model_name, wrt), backend, reduction=reduction).source
    write_output(source, output)


@main.command("rules")
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Write to FILE; without a format flag its suffix chooses (.tex, .md, .txt).",
)
@reports_errors
@format_flags(
    ("text", "For the terminal (the default)."),
    ("markdown", "A Markdown table with $ math."),
    ("latex", "An align* block (needs amsmath)."),
)
def rules_command(file, fmt, output):
    """Print the rule table: every primitive with its derivative, kink and code spellings
    (with FILE, the primitives that model file declares with symgrad.primitive too)."""
    from .rendering.rules import render_rules

    check_output(output)
    fmt = choose_format(fmt, output, False)
    if fmt == "json":
        raise SymgradError(
            f"-o {output}: the rule table is text, Markdown or LaTeX (.txt, .md, .tex)"
        )
    if file is not None:
        load_models(file)  # its symgrad.primitive declarations join the table
    write_output(render_rules(fmt), output)


@main.command("verify")
@click.argument("file", type=click.Path(dir_okay=False))
@model_option
@wrt_option
@click.option(
    "--points",
    default=10,
    show_default=True,
    type=click.IntRange(min=0),
    help="Random points beside the example, drawn inside each variable's domain.",
)
@click.option(
    "--dtype",
    type=click.Choice(["float64", "float32"]),
    default="float64",
    show_default=True,
    help="Precision the checked gradient runs in.",
)
@click.option(
    "--device",
    default="cpu",
    show_default=True,
    metavar="cpu|cuda",
    help="Where the torch code runs.",
)
@click.option(
    "--against",
    metavar="FILE:FUNC",
    help="Check this function's gradient instead of symgrad's own code.",
)
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the random points.")
@click.option("--json", "as_json", is_flag=True, help="The report as JSON.")
@reports_errors
def verify_command(file, model_name, wrt, points, dtype, device, against, seed, as_json):
    """Prove the gradient right against autograd and finite differences.

    Exit status 0 when everything agrees, 1 when something does not, 2 on bad input."""
    from .checking.verify import verify
    from .loader import load_function

    derivation = load_derivation(file, model_name, wrt)
    function = load_function(against) if against else None
    report = verify(
        derivation, against=function, points=points, dtype=dtype, device=device, seed=seed
    )
    say(report.to_json(indent=2) if as_json else str(report))
    sys.exit(0 if report.ok else 1)


class Progress:
    """A progress bar on stderr for whatever the command's stages report, once the command has
    taken longer than a moment (and only on a terminal, or when SYMGRAD_PROGRESS=1 asks)."""

    MOMENT = 0.5  # seconds before a bar appears
    REDRAW = 0.1  # seconds between frames
    WIDTH = 24
    active: ClassVar[list[Progress]] = []  # the bars of the running commands

    def __init__(self):
        self.shown = 0  # the length of the line on screen
        self.drawn = 0.0  # when it was drawn
        self.enabled = sys.stderr.isatty() or os.environ.get("SYMGRAD_PROGRESS") == "1"

    def __enter__(self):
        self.started = time.perf_counter()
        self._listening = progress.listening(self)
        self._listening.__enter__()
        Progress.active.append(self)
        return self

    def __call__(self, stage: str, done: float, total: float, unit: str) -> None:
        now = time.perf_counter()
        if not self.enabled or now - self.started < self.MOMENT:
            return
        if now - self.drawn < self.REDRAW and done < total:
            return  # a terminal needs no more than ten frames a second
        self.drawn = now
        filled = round(self.WIDTH * min(done / total, 1.0)) if total else 0
        bar = "#" * filled + "." * (self.WIDTH - filled)
        line = f"{stage} [{bar}] {int(done)}/{int(total)} {unit}".rstrip()
        sys.stderr.write("\r" + line.ljust(self.shown))
        sys.stderr.flush()
        self.shown = len(line)

    def clear(self) -> None:
        """Take the bar off the screen (before the command writes, and at its end)."""
        if self.shown:
            sys.stderr.write("\r" + " " * self.shown + "\r")
            sys.stderr.flush()
            self.shown = 0

    def __exit__(self, *exc):
        Progress.active.remove(self)
        self._listening.__exit__(*exc)
        self.clear()
        return False


def derivation_json(derivation: Derivation, at: dict[str, float]) -> dict:
    """The JSON contract of ``symgrad derive --json``."""
    example = worked_example(derivation, at)
    out = {
        "model": derivation.model,
        "loss": derivation.loss.name,
        "wrt": list(derivation.wrt),
        "point": {},
        "values": {},
        "gradient": {},
        "symbolic": {name: None for name in derivation.wrt},
        "notes": [],
    }
    forms = within(FORMULA_SECONDS, _closed_form_strings, derivation)
    if forms is None:
        out["notes"].append(
            f"the closed forms were not written out within {FORMULA_SECONDS:g} s "
            "(SYMGRAD_FORMULA_SECONDS); symbolic gives none"
        )
    else:
        out["symbolic"] = forms
    if example.values is not None:
        out["point"] = {name: _plain(value) for name, value in example.point.items()}
        out["values"] = {
            node.name: _plain(example.loss if node.is_loss else example.values[node.name])
            for node in derivation.nodes
        }
        out["gradient"] = {name: _plain(example.gradients[name]) for name in derivation.wrt}
    return out


def _closed_form_strings(derivation: Derivation) -> dict[str, str]:
    return {name: str(derivation.closed_form(name)) for name in derivation.wrt}


def _plain(value):
    """A number or nested list for JSON; a non-finite number becomes null."""
    array = np.asarray(value, dtype=np.float64)
    if array.ndim == 0:
        number = float(array)
        return number if math.isfinite(number) else None
    return [_plain(item) for item in array]


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
