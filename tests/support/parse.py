"""Reading the equations back out of a rendered worked example, to check what was printed."""

from __future__ import annotations

import re

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
        rows = [row.strip() for row in re.split(r"\\\\\n", body.replace(r"\displaybreak[0]", ""))]
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
