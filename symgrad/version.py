"""The version, in a module of its own: the stages that print it (generated code, LaTeX, the
command line) import it from here, not from the package above them."""

__version__ = "0.1.0"
