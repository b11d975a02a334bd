"""Time ``spikesim.plot.raster`` in image mode, and writing its PNG, for many random spikes.

Usage: python bench/bench_plot.py [--n 1000000] [--neurons 10000] [--realizations 4]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from spikesim import plot
from spikesim.results import Spikes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="number of spikes")
    parser.add_argument("--neurons", type=int, default=10_000)
    parser.add_argument("--realizations", type=int, default=4)
    parser.add_argument("--t-stop", type=float, default=10.0, help="duration, s")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    spikes = Spikes(np.sort(rng.uniform(0, args.t_stop, args.n)),
                    rng.integers(0, args.neurons, args.n),
                    rng.integers(0, args.realizations, args.n),
                    args.neurons, args.realizations, 0.0, args.t_stop)
    start = time.perf_counter()
    ax = plot.raster(spikes, mode="image")
    drawn = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        plot.save(ax, Path(tmp) / "raster.png")
    saved = time.perf_counter()
    print(f"raster of {args.n} spikes (image mode): {drawn - start:.3f} s; "
          f"save PNG: {saved - drawn:.3f} s; total {saved - start:.3f} s")


if __name__ == "__main__":
    main()
