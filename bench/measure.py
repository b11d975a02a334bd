"""Measuring: warmed-up repeated timings (medians, and ratios of calls timed in turns),
Python-side peak memory (tracemalloc), and probes run in a fresh interpreter (peak RSS, JIT
compile time), whose child side is ``python -m bench.probe``.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import spikesim

BENCH_ROOT = Path(__file__).resolve().parents[1]  # the directory holding the bench package


@dataclass
class Timing:
    """Seconds of each timed call (after the warm-up), the build seconds of each call whose
    result has a ``build_s`` (a :class:`bench.workloads.Run`), and the last call's result.
    Earlier results are dropped at once, so that each call reuses memory as a loop would."""

    times: list[float] = field(default_factory=list)
    build_times: list[float] = field(default_factory=list)
    result: object = None
    block: int = 1  # calls in a row per turn of :func:`interleaved`

    @property
    def median_s(self) -> float:
        return statistics.median(self.times)

    @property
    def spread(self) -> float:
        """(max − min) / median of the timed calls: a noise indicator."""
        return (max(self.times) - min(self.times)) / self.median_s

    def turns(self) -> list[float]:
        """The median time of each turn's ``block`` calls (s)."""
        return [statistics.median(self.times[i:i + self.block])
                for i in range(0, len(self.times), self.block)]


def paired_ratio(engine: Timing, reference: Timing) -> float:
    """The engine's speed relative to the reference's, from two timings of one
    :func:`interleaved` call: the median over turns of (reference time / engine time) in the
    same turn. Each turn's two times are seconds apart, so the machine's slow drifts (up to
    2× over minutes here) cancel in each quotient; a ratio of the two overall medians mixes
    times taken in different phases whenever a drift falls between them."""
    quotients = [r / e for e, r in zip(engine.turns(), reference.turns())]
    return statistics.median(quotients)


def interleaved(fns: dict[str, Callable[[], object]], *, repeats: int = 3,
                min_total_s: float = 1.0, max_repeats: int = 30,
                seconds: Callable[[object], float] | None = None,
                warmup: dict[str, Callable[[], object]] | None = None,
                block: int = 1) -> dict[str, Timing]:
    """Time several callables in turns (so that slow drifts of the machine affect all alike).

    Each is called once untimed (or its ``warmup`` callable is), then all are called in turns,
    ``block`` calls in a row each turn, at least ``repeats`` times, and more while the first
    one's timed calls total less than ``min_total_s`` (at most ``max_repeats``, rounded up to
    whole turns). ``seconds(result)`` gives the seconds to count from a call's result; by
    default (or where it returns None) the call's wall time. (Blocks of a few calls keep the
    caches of a call warm as in a loop, while the turns still spread every callable over the
    same minutes.)
    """
    for name, fn in fns.items():
        (warmup or {}).get(name, fn)()
    out = {name: Timing(block=block) for name in fns}
    first = out[next(iter(fns))]
    while len(first.times) < repeats or (sum(first.times) < min_total_s
                                         and len(first.times) < max_repeats):
        for name, fn in fns.items():
            timing = out[name]
            for _ in range(block):
                timing.result = None  # free the previous result before the call
                t0 = time.perf_counter()
                timing.result = fn()
                wall = time.perf_counter() - t0
                counted = seconds(timing.result) if seconds else None
                timing.times.append(wall if counted is None else counted)
                if hasattr(timing.result, "build_s"):
                    timing.build_times.append(timing.result.build_s)
    return out


def measure(fn: Callable[[], object], **kw) -> Timing:
    """:func:`interleaved` for one callable (keywords as there; ``warmup`` a callable)."""
    warm = kw.pop("warmup", None)
    return interleaved({"": fn}, warmup={"": warm} if warm else None, **kw)[""]


def traced_peak_mib(fn: Callable[[], object]) -> float:
    """Peak of the memory allocated through Python and NumPy while ``fn()`` runs (MiB)."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def probe(args: list[str], env: dict[str, str] | None = None, timeout: float = 900) -> dict:
    """Run ``python -m bench.probe ARGS`` in a fresh interpreter (importing the same spikesim
    and bench as this one) and return the JSON object it prints last."""
    paths = [str(Path(spikesim.__file__).parents[1]), str(BENCH_ROOT)]
    old = os.environ.get("PYTHONPATH")
    full_env = {**os.environ, **(env or {}),
                "PYTHONPATH": os.pathsep.join(paths + ([old] if old else []))}
    proc = subprocess.run([sys.executable, "-m", "bench.probe", *args], env=full_env,
                          capture_output=True, text=True, timeout=timeout,
                          cwd=Path(spikesim.__file__).parents[1])
    if proc.returncode != 0:
        raise RuntimeError(f"bench.probe {' '.join(args)} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])
