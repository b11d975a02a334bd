"""Child side of :func:`bench.measure.probe`: one measurement in a fresh interpreter, printed as
a JSON line. Not meant to be run by hand.

- ``compile``: seconds to import spikesim, and the first and second runs of a small network on
  the serial and on the parallel kernel (the difference is the JIT compile or cache-load time).
- ``memory w1|w2|cuba engine|reference JSON``: peak RSS of a run (``JSON``: fields of the
  workload's dataclass in :mod:`bench.workloads`), after warming the kernels up on a small
  instance.
- ``peer WORKLOAD NAME``: a workload with a peer simulator (see :mod:`bench.peers`).
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


def peak_memory(workload: str, side: str, params: dict) -> dict:
    """Peak RSS (MiB) of one run of ``workload`` ("w1": W1b, spikes in memory; "w2"; "cuba")
    with parameters ``params`` (fields of its dataclass in :mod:`bench.workloads`), on the
    engine or (CUBA only) the reference, after a warm-up on a small instance that uses the same
    kernel variant; ``base_mib`` is the RSS after the warm-up, before building."""
    from . import references as R
    from . import workloads as W
    if workload == "w1":
        w = W.W1(**params)
        small, run = replace(w, steps=10), (lambda x: W.w1_engine(x, None, W.MEMORY).spikes)
    elif workload == "w2":
        w = W.W2(**params)
        small, run = replace(w, n=min(w.n, 20_000), steps=10), (lambda x: W.w2_engine(x))
    else:
        w = W.Cuba(**params)
        small = replace(w, n=min(w.n, 20_000), duration=10 * w.dt)
        run = (lambda x: W.cuba_engine(x).spikes) if side == "engine" else (
            lambda x: R.cuba_csr(x, *R.cuba_connectivity(x)))
    run(small)
    base = _status_mib("VmRSS")
    t0 = time.perf_counter()
    run(w)
    return {"base_mib": base, "peak_mib": _status_mib("VmHWM"), "wall_s": time.perf_counter() - t0}


def main(argv: list[str]) -> dict:
    if argv[0] == "compile":
        return compile_times()
    if argv[0] == "memory":
        return peak_memory(argv[1], argv[2], json.loads(argv[3]))
    if argv[0] == "peer":
        from .peers import run_peer
        return run_peer(argv[1], argv[2])
    raise SystemExit(f"unknown probe {argv[0]!r}")


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:])))
