"""Names of model quantities: which are allowed, and how each is typeset.

A name is a plain identifier (``sigma1``, ``net_h1``, ``x_hat``, ``E_total``) so that it can be a
variable in generated code; the typesetting reads it the way a lecture writes it:

====================  ==================  =========
name                  LaTeX               text
====================  ==================  =========
``sigma1``            ``\\sigma_{1}``       σ₁
``W1``                ``W_{1}``            W₁
``x_hat``             ``\\hat{x}``          x̂
``net_h1``            ``net_{h1}``         netₕ₁
``E_total``           ``E_{total}``        Eₜₒₜₐₗ
====================  ==================  =========
"""

from __future__ import annotations

import keyword
import re
import unicodedata
from functools import lru_cache

from .errors import SymgradError

# Names the generated code uses for itself inside its functions.
RESERVED = frozenset({"np", "torch", "device", "dtype"})

GREEK = [
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "varepsilon",
    "zeta",
    "eta",
    "theta",
    "vartheta",
    "iota",
    "kappa",
    "mu",
    "nu",
    "xi",
    "omicron",
    "pi",
    "rho",
    "sigma",
    "tau",
    "upsilon",
    "phi",
    "varphi",
    "chi",
    "psi",
    "omega",
    "Gamma",
    "Delta",
    "Theta",
    "Lambda",
    "Xi",
    "Pi",
    "Sigma",
    "Upsilon",
    "Phi",
    "Psi",
    "Omega",
]
_GREEK_UNICODE = dict(
    zip(
        GREEK,
        [
            "α",
            "β",
            "γ",
            "δ",
            "ϵ",
            "ε",
            "ζ",
            "η",
            "θ",
            "ϑ",
            "ι",
            "κ",
            "μ",
            "ν",
            "ξ",
            "ο",
            "π",
            "ρ",
            "σ",
            "τ",
            "υ",
            "ϕ",
            "φ",
            "χ",
            "ψ",
            "ω",
            "Γ",
            "Δ",
            "Θ",
            "Λ",
            "Ξ",
            "Π",
            "Σ",
            "Υ",
            "Φ",
            "Ψ",
            "Ω",
        ],
        strict=True,
    )
)
_GREEK_LATEX = {g: ("o" if g == "omicron" else "\\" + g) for g in GREEK}

# Accents written as a suffix: ``x_hat`` is x with a hat.
_ACCENTS_LATEX = {
    "hat": r"\hat",
    "bar": r"\bar",
    "tilde": r"\tilde",
    "dot": r"\dot",
    "ddot": r"\ddot",
    "vec": r"\vec",
    "check": r"\check",
}
_ACCENTS_UNICODE = {
    "hat": "\u0302",
    "bar": "\u0304",
    "tilde": "\u0303",
    "dot": "\u0307",
    "ddot": "\u0308",
    "vec": "\u20d7",
    "check": "\u030c",
}
_SUBSCRIPT = dict(
    zip(
        "0123456789aehijklmnoprstuvxβγρφχ+-=()",
        "₀₁₂₃₄₅₆₇₈₉ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓᵦᵧᵨᵩᵪ₊₋₌₍₎",
        strict=True,
    )
)
_TRAILING_DIGITS = re.compile(r"^(.*?[A-Za-z])(\d+)$")


def check_name(name: object, what: str, where: str | None = None) -> str:
    """Return ``name`` if it can name a model quantity, else raise a one-line SymgradError."""
    if not isinstance(name, str):
        raise SymgradError(f"a {what} name must be a string, got {name!r}", where)
    problem = None
    if not name:
        problem = "is empty"
    elif not name.isascii() or not name.isidentifier():
        problem = "is not an identifier (use ASCII letters, digits and underscores)"
    elif keyword.iskeyword(name):
        problem = "is a Python keyword"
    elif name.startswith("_") or name.endswith("_") or "__" in name:
        problem = "has a leading, trailing or doubled underscore"
    elif name in RESERVED:
        problem = "is reserved for the generated code"
    if problem:
        raise SymgradError(f"{what} name {name!r} {problem}", where)
    return name


@lru_cache(maxsize=4096)
def _parts(name: str) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """Split a name into (base, accents, subscripts)."""
    base, *rest = name.split("_")
    subscripts: list[str] = []
    match = _TRAILING_DIGITS.match(base)
    if match and match.group(1) not in ("", "_"):
        base, digits = match.groups()
        subscripts.append(digits)
    accents = tuple(part for part in rest if part in _ACCENTS_LATEX)
    subscripts.extend(part for part in rest if part not in _ACCENTS_LATEX)
    return base, accents, tuple(subscripts)


def _latex_word(word: str) -> str:
    """A word of a name in math: Greek as its letter, one letter in italic (a variable), a
    longer word upright (``\\mathrm{loss}``), as a textbook sets ``loss`` or ``pred``: in italic
    it would read as the product l·o·s·s."""
    if word in _GREEK_LATEX:
        return _GREEK_LATEX[word]
    match = _TRAILING_DIGITS.match(word)
    if match and match.group(1) in _GREEK_LATEX:  # a subscript such as ``alpha2``
        return _GREEK_LATEX[match.group(1)] + " " + match.group(2)
    letters = match.group(1) if match else word
    if len(letters) > 1 and letters.isalpha():
        return r"\mathrm{" + word + "}"
    return word


def _entry_of(name: str) -> tuple[str, tuple[str, ...]] | None:
    """``W1_1_2`` (entry (1, 2) of the matrix W1, as ``--unroll`` names it) → ("W1", ("1", "2")):
    a name with a numbered base followed by numeric parts only."""
    base, *rest = name.split("_")
    if rest and all(part.isdigit() for part in rest) and _TRAILING_DIGITS.match(base):
        return base, tuple(rest)
    return None


@lru_cache(maxsize=4096)
def _module_path(name: str) -> tuple[str, ...] | None:
    """``layer1_0_weight`` (``layer1.0.weight`` in PyTorch code, as from_torch names it) → its
    parts: a word of three letters or more followed by a numbered part (``net_0``,
    ``layer1_0``), or a name ending in ``weight`` or ``bias`` (``fc1_weight``). ``W1_1_2``,
    ``z1_1`` and ``sigma1_2`` stay entries of W₁, z₁ and σ₁."""
    parts = tuple(name.split("_"))
    if len(parts) < 2 or not all(parts):
        return None
    if parts[-1] in ("weight", "bias"):
        return parts
    if not any(part.isdigit() for part in parts[1:]):
        return None
    head = _TRAILING_DIGITS.match(parts[0])
    letters = head.group(1) if head else parts[0]
    if len(letters) < 3 or letters in _GREEK_LATEX:
        return None
    return parts


def latex_name(name: str) -> str:
    """``sigma1`` → ``\\sigma_{1}``, ``x_hat`` → ``\\hat{x}``, ``net_h1`` → ``net_{h1}``,
    ``W1_1_2`` → ``(W_{1})_{1,2}``, ``layer1_0_weight`` → ``\\mathrm{layer1.0.weight}``."""
    path = _module_path(name)
    if path:
        return r"\mathrm{" + ".".join(path) + "}"
    entry = _entry_of(name)
    if entry:
        return f"({latex_name(entry[0])})_{{{','.join(entry[1])}}}"
    base, accents, subscripts = _parts(name)
    out = _latex_word(base)
    for accent in accents:
        out = f"{_ACCENTS_LATEX[accent]}{{{out}}}"
    if subscripts:
        out += "_{" + ",".join(_latex_word(s) for s in subscripts) + "}"
    return out


def _unicode_word(word: str) -> str:
    return _GREEK_UNICODE.get(word, word)


def _subscript(text: str) -> str:
    if all(ch in _SUBSCRIPT for ch in text):
        return "".join(_SUBSCRIPT[ch] for ch in text)
    return "_" + text


@lru_cache(maxsize=2**16)  # a worked example writes each name many times
def text_name(name: str) -> str:
    """``sigma1`` → ``σ₁``, ``x_hat`` → ``x̂``, ``E_total`` → ``Eₜₒₜₐₗ``,
    ``W1_1_2`` → ``(W₁)₁,₂``, ``layer1_0_weight`` → ``layer1.0.weight``."""
    path = _module_path(name)
    if path:
        return ".".join(path)
    entry = _entry_of(name)
    if entry:
        return f"({text_name(entry[0])})" + ",".join(_subscript(i) for i in entry[1])
    base, accents, subscripts = _parts(name)
    out = _unicode_word(base)
    for accent in accents:
        out += _ACCENTS_UNICODE[accent]
    for sub in subscripts:
        match = _TRAILING_DIGITS.match(sub)
        if sub in _GREEK_UNICODE:
            sub = _GREEK_UNICODE[sub]
        elif match and match.group(1) in _GREEK_UNICODE:
            sub = _GREEK_UNICODE[match.group(1)] + match.group(2)
        out += _subscript(sub)
    return unicodedata.normalize("NFC", out)  # y + combining hat → ŷ
