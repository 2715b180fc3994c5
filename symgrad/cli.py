"""The command line: thin commands over the library, one clear line on bad input."""

from __future__ import annotations

import functools
import json
import math
import sys

import click
import numpy as np

from . import __version__
from .codegen import BACKENDS, compile
from .derivation import Derivation, derive
from .errors import SymgradError
from .loader import load_model
from .rendering import render, worked_example


class BadInput(click.ClickException):
    """Printed as one line on stderr; exit status 2, as for a usage error."""

    exit_code = 2


def reports_errors(command):
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except SymgradError as error:
            raise BadInput(str(error)) from None

    return wrapper


def parse_at(pairs: tuple[str, ...]) -> dict[str, float]:
    at: dict[str, float] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        name, text = name.strip(), text.strip()
        if not sep or not name:
            raise SymgradError(f"--at expects NAME=VALUE, got {pair!r}")
        try:
            value = float(text)
        except ValueError:
            raise SymgradError(f"--at {name}: {text!r} is not a number") from None
        if not math.isfinite(value):
            raise SymgradError(f"--at {name}: {text!r} is not a finite number")
        at[name] = value
    return at


def load_derivation(file: str, model_name: str | None, wrt: str | None) -> Derivation:
    return derive(load_model(file, model_name), wrt=wrt)


model_option = click.option(
    "--model", "model_name", metavar="NAME", help="The model to use when FILE defines several."
)
wrt_option = click.option(
    "--wrt", metavar="A,B", help="Variables to differentiate by (default: the parameters)."
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="symgrad")
def main():
    """Derive gradients by the chain rule, generate code for them, and show the working."""


@main.command("derive")
@click.argument("file", type=click.Path(dir_okay=False))
@model_option
@wrt_option
@click.option(
    "--at",
    "at",
    multiple=True,
    metavar="NAME=VALUE",
    help="A value for an input or parameter, overriding the example (repeatable).",
)
@click.option(
    "--text",
    "fmt",
    flag_value="text",
    default=True,
    help="The worked example for the terminal (the default).",
)
@click.option("--json", "fmt", flag_value="json", help="Values and gradients as JSON.")
@click.option(
    "--digits",
    type=click.IntRange(1, 17),
    default=4,
    show_default=True,
    help="Decimals of the printed numbers.",
)
@click.option("--symbolic", is_flag=True, help="Leave the numbers out.")
@reports_errors
def derive_command(file, model_name, wrt, at, fmt, digits, symbolic):
    """Derive the gradient of the loss in FILE and show the working."""
    derivation = load_derivation(file, model_name, wrt)
    point = parse_at(at)
    if fmt == "json":
        click.echo(json.dumps(derivation_json(derivation, point), indent=2, ensure_ascii=False))
    else:
        click.echo(render(derivation, "text", at=point, digits=digits, symbolic=symbolic), nl=False)


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
    source = compile(load_derivation(file, model_name, wrt), backend, reduction=reduction).source
    if output:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(source)
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(source, nl=False)


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
        "symbolic": {name: str(derivation.closed_form(name)) for name in derivation.wrt},
    }
    if example.values is not None:
        out["point"] = {name: _plain(value) for name, value in example.point.items()}
        out["values"] = {
            node.name: _plain(example.loss if node.is_loss else example.values[node.name])
            for node in derivation.nodes
        }
        out["gradient"] = {name: _plain(example.gradients[name]) for name in derivation.wrt}
    return out


def _plain(value):
    """A number or nested list for JSON; a non-finite number becomes null."""
    array = np.asarray(value, dtype=np.float64)
    if array.ndim == 0:
        number = float(array)
        return number if math.isfinite(number) else None
    return [_plain(item) for item in array]


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
