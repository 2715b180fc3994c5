"""Reproducible performance comparisons; see README.md in this folder."""
