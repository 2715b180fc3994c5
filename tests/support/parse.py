"""Reading the equations back out of a rendered worked example, to check what was printed."""

from __future__ import annotations

import ast
import html
import re

import numpy as np

DECIMAL = re.compile(r"(?<![\w.])-?\d+\.\d+(?:e-?\d+)?(?!\.?\d)")  # not 0.1 of 0.1.0


def latex_equations(latex: str) -> list[tuple[str, str, list[str]]]:
    """Each equation of every ``align*`` (or ``$$`` display) as (lhs, relation, parts), where
    the parts are what follows the relation, split at each top-level ``=``."""
    bodies = re.findall(r"\\begin\{align\*\}\n(.*?)\n\\end\{align\*\}", latex, flags=re.S)
    for display in re.findall(r"^\$\$\n(.*?)\n\$\$$", latex, flags=re.S | re.M):
        inner = re.search(r"\\begin\{aligned\}\n(.*?)\n\\end\{aligned\}", display, flags=re.S)
        if inner is None:  # one line: the relation is the first = or ←
            bodies.append(re.sub(r" (=|\\leftarrow) ", r" &\1 ", display, count=1))
        else:
            bodies.append(inner.group(1))
    equations = []
    for body in bodies:
        body = body.replace(r"\displaybreak[0]", "")
        rows = [row.strip() for row in re.split(r"\\\\(?:\[\d+pt\])?\n", body)]  # \\[3pt]
        current = None
        for row in rows:
            if row.startswith("&") and current is not None:
                current += " " + row[1:].replace(r"\qquad", "").strip()
                continue
            if current is not None:
                equations.append(current)
            current = row
        if current is not None:
            equations.append(current)
    out = []
    for equation in equations:
        lhs, _, rest = equation.partition("&")
        relation = r"\leftarrow" if rest.startswith(r"\leftarrow") else "="
        rest = rest[len(relation) :].strip()
        parts = [part.strip() for part in re.split(r" = ", rest)]
        out.append((lhs.strip(), relation, parts))
    return out


def text_equations(text: str) -> list[tuple[str, str, list[str]]]:
    """The same for the terminal surface: one equation a line, ``lhs = … = value``."""
    out = []
    for line in text.splitlines():
        match = re.match(r"^  (\S+) (=|←) (.*)$", line)
        if match:
            lhs, relation, rest = match.groups()
            out.append((lhs, relation, [p.strip() for p in rest.split(" = ")]))
    return out


def decimals(text: str) -> list[str]:
    """Every decimal number printed in ``text`` (with the ASCII minus)."""
    return DECIMAL.findall(text.replace("−", "-"))


def printed_value(text: str):
    """A value as the text surfaces print it (a number, a list, a small matrix), as an array;
    None for a matrix shown by its shape alone."""
    text = text.strip().replace("−", "-")
    if text.endswith("matrix)"):
        return None
    return np.array(ast.literal_eval(text), dtype=np.float64)


def agrees_printed(shown, expected) -> bool:
    """Printed with four decimals (three in scientific notation): within their rounding.
    ``shown`` None (a matrix too large to print) agrees with anything."""
    if shown is None:
        return True
    expected = np.asarray(expected, dtype=np.float64)
    return shown.size == expected.size and np.allclose(
        shown.reshape(expected.shape), expected, rtol=5.1e-4, atol=5.1e-5
    )


def label_value(parts: list[str], start: str):
    """The value on the row of a graph label (its ``|``-separated parts) that starts with
    ``start``: on the row itself (``∂L/∂b = 0.0496``, ``◀ 1``) or in the matrix drawn beside it
    (its entries, row by row); None for a matrix shown by its shape alone."""
    start = start.replace("−", "-")
    head = next(part for part in parts if part.startswith(start))
    if head.endswith("=") or head == "◀":
        entries = []
        for part in parts[parts.index(head) + 1 :]:
            try:
                entries.append(float(part))
            except ValueError:
                break
        assert entries, parts
        return np.array(entries)
    if head.startswith("◀ "):
        return printed_value(head[2:])
    if "= " in head:
        return printed_value(head.rsplit("= ", 1)[1])
    return None  # ∂L/∂x ∈ ℝ³²ˣ¹⁰⁰⁰: too large to draw


def graph_rows(dot: str) -> dict[str, list[str]]:
    """Node id or ``parent->child`` → the text pieces of its DOT label, split at the HTML tags
    (rows, and a matrix's entries), unescaped, minus signs made ASCII."""
    out = {}
    for match in re.finditer(r'^  "([^"]+)"(?: -> "([^"]+)")? \[(.*)\];$', dot, flags=re.M):
        key = match.group(1) if match.group(2) is None else f"{match.group(1)}->{match.group(2)}"
        label = re.search(r"label=<(.*)>", match.group(3))
        text = "" if label is None else label.group(1)
        pieces = [html.unescape(p).strip() for p in re.split(r"<[^>]+>", text)]
        out[key] = [p.replace("−", "-") for p in pieces if p.strip()]
    return out
