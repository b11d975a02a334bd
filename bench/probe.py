"""Child side of :func:`bench.measure.probe`: one measurement in a fresh interpreter, printed as
a JSON line. Not meant to be run by hand.

- ``compile``: seconds to import spikesim, and the first and second runs of a small network on
  the serial and on the parallel kernel (the difference is the JIT compile or cache-load time).
- ``cuba engine|reference JSON``: peak RSS of a CUBA run (``JSON``: fields of
  :class:`bench.workloads.Cuba`), after warming the kernels up on a small instance.
- ``peer NAME``: W1 with a peer simulator (see :mod:`bench.peers`).
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import replace


def _status_mib(key: str) -> float:
    """A memory figure of this process from /proc/self/status (MiB): "VmRSS" (resident now) or
    "VmHWM" (peak resident since this program started; ``ru_maxrss`` would also count the
    parent's peak, which Linux carries across fork and exec)."""
    with open("/proc/self/status") as f:
        line = next(ln for ln in f if ln.startswith(key + ":"))
    return int(line.split()[1]) / 1024


def compile_times() -> dict:
    """Import time and first/second run times of W1b (serial kernel) and of a 20,000-neuron
    W2 (parallel kernel), 10 steps each."""
    t0 = time.perf_counter()
    from . import workloads as W
    out = {"import_s": time.perf_counter() - t0}
    for name, fn in (("serial", lambda: W.w1_engine(W.W1(steps=10), None, W.MEMORY)),
                     ("parallel", lambda: W.w2_engine(W.W2(n=20_000, steps=10)))):
        for run in ("first", "again"):
            t0 = time.perf_counter()
            fn()
            out[f"{name}_{run}_s"] = time.perf_counter() - t0
    return out


def cuba_memory(side: str, params: dict) -> dict:
    """Peak RSS (MiB) of one CUBA run on the engine or the reference; ``base_mib`` is the RSS
    after the warm-up, before building."""
    from . import references as R
    from . import workloads as W
    c = W.Cuba(**params)
    small = replace(c, n=min(c.n, 20_000), duration=10 * c.dt)  # same kernel variant as c

    def run(cc: W.Cuba) -> int:
        if side == "engine":
            return W.cuba_engine(cc).spikes
        return R.cuba_csr(cc, *R.cuba_connectivity(cc))

    run(small)
    base = _status_mib("VmRSS")
    t0 = time.perf_counter()
    spikes = run(c)
    return {"base_mib": base, "peak_mib": _status_mib("VmHWM"), "wall_s": time.perf_counter() - t0,
            "spikes": spikes}


def main(argv: list[str]) -> dict:
    if argv[0] == "compile":
        return compile_times()
    if argv[0] == "cuba":
        return cuba_memory(argv[1], json.loads(argv[2]))
    if argv[0] == "peer":
        from .peers import run_peer
        return run_peer(argv[1])
    raise SystemExit(f"unknown probe {argv[0]!r}")


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:])))
