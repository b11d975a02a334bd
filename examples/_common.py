"""Shared by the example scripts: where figures go."""

from __future__ import annotations

import argparse
from pathlib import Path

from matplotlib.figure import Figure


def arguments(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """Parse ``--out DIR`` (default ``out/<script>``; created) and the script's own options,
    those of ``parser``."""
    parser.add_argument("--out", type=Path, default=None, help="folder for the PNG figures")
    args = parser.parse_args()
    args.out = args.out or Path("out") / Path(__import__("__main__").__file__).stem
    args.out.mkdir(parents=True, exist_ok=True)
    return args


def output_dir(description: str) -> Path:
    """Parse ``--out DIR`` (default ``out/<script>``) and create it."""
    return arguments(argparse.ArgumentParser(description=description)).out


def figure(rows: int = 1, cols: int = 1, size=(6.4, 3.6)) -> tuple[Figure, list]:
    """A headless figure with a grid of axes (flattened)."""
    fig = Figure(figsize=(size[0] * cols, size[1] * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel().tolist()
    return fig, axes
