"""Shared helpers: the example models, and PyTorch when it is installed."""

from __future__ import annotations

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
