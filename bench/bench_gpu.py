"""GPU benchmarks: W2 and W3 of ``shared/workloads.md`` on ``Network(backend="cuda")``.

Usage: ``python -m bench.bench_gpu [--quick] [--only BW,W2,W3,CHECK] [--json FILE]
[--repeats N]``. Without an NVIDIA GPU it says so and exits 0 (``--simulator`` runs tiny sizes
on the CUDA simulator instead, to exercise this script; its timings mean nothing).

* BW: the device memory bandwidth, measured in the same run by a STREAM triad kernel
  ``a = b + s·c`` over 2e8 float32 (12 bytes per element) on the device.
* W2: 1e6 independent RC/LIF neurons, float32 and float64, with and without Gaussian noise,
  1000 steps. Throughput in neuron-steps/s, and its fraction of the bandwidth ceiling of a
  per-step update (16 bytes per neuron-step in float32, 32 in float64; ``bench.references``).
  Independent neurons run a whole chunk per launch with the state in registers, so the engine
  may exceed that ceiling (fraction > 1): its real traffic is one read and write of the state
  per chunk, and the random numbers are computed, not loaded.
* W3: CUBA at 4,000 neurons (p = 0.02) and, with in-degree 80, at 40,000 and 400,000 neurons,
  the single-time-constant variant, float64: wall seconds per simulated second, mean rate,
  synaptic events per second, and an estimate of the bandwidth fraction (bytes per step below).
  Coupled networks launch 2–3 kernels per step, so small networks are bound by launch latency.
* CHECK: the same networks (smaller) on the CPU and the GPU: identical spikes expected.

Times are medians of warmed-up repeats of ``net.run`` (device upload, kernels, copies back).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import replace
from functools import partial

import numpy as np

import spikesim as ss

from . import references as R
from . import workloads as W
from .measure import measure
from .run import _to_json, format_row, row, selected_suites

SUITE_NAMES = ("BW", "W2", "W3", "CHECK")
DTYPES = (np.float32, np.float64)


def gpu_missing(simulator: bool) -> str | None:
    """Why the benchmarks cannot run on a GPU here (None: they can)."""
    try:
        from numba import cuda
        from spikesim.kernels import cuda as KG
    except ImportError as e:
        return f"numba-cuda is not importable ({e}); install with pip install spikesim[cuda]"
    if KG.SIMULATOR:
        return None if simulator else "NUMBA_ENABLE_CUDASIM=1: the CUDA simulator is no GPU"
    if not cuda.is_available():
        return "no NVIDIA GPU with a CUDA driver is available"
    return None


def device_name() -> str:
    from numba import cuda
    from spikesim.kernels import cuda as KG

    if KG.SIMULATOR:
        return "CUDA simulator"
    dev = cuda.get_current_device()
    return f"{dev.name.decode() if isinstance(dev.name, bytes) else dev.name}"


def device_bandwidth(n: int, repeats: int = 5) -> float:
    """STREAM-triad bandwidth (GB/s) of the device over ``n`` float32: the median of
    ``repeats`` timed launches after an untimed one."""
    from numba import cuda
    from spikesim.kernels import cuda as KG

    a = cuda.device_array(n, np.float32)
    b = cuda.to_device(np.full(n, 1.0, np.float32))
    c = cuda.to_device(np.full(n, 2.0, np.float32))
    s = np.float32(3.0)
    times = []
    for r in range(repeats + 1):
        cuda.synchronize()
        t0 = time.perf_counter()
        KG.launch(KG.triad, n, a, b, c, s)
        cuda.synchronize()
        if r:
            times.append(time.perf_counter() - t0)
    return R.TRIAD_BYTES * n / statistics.median(times) / 1e9


# --- networks ---------------------------------------------------------------------------------
def w2_network(w: W.W2, backend: str):
    """W2 as in ``bench.workloads.w2_engine``, on ``backend``."""
    net = ss.Network(dt=w.dt, seed=w.seed, dtype=w.dtype, backend=backend)
    rc = net.add(ss.RC(w.n, R=w.R, tau=w.tau, E_L=w.E_L, v_th=w.v_th, v_reset=w.v_reset,
                       refractory=w.refractory, method="exact"))
    net.add(ss.NoiseCurrent(rc, mean=w.mean, std=w.std) if w.noise
            else ss.ConstantCurrent(rc, w.mean))
    return net, rc


def _build(net: ss.Network, backend: str) -> None:
    """Build ``net`` and, on the GPU, upload its tables (done at the first run otherwise): the
    timed simulation then holds no host-side preparation (for CUBA at 400,000 neurons, the
    by-target copy of 32 million synapses takes seconds)."""
    net.build()
    if backend == "cuda":
        from spikesim.cuda import device_network

        device_network(net)


def w2_run(w: W.W2, backend: str = "cuda", record: bool = False) -> W.Run:
    t0 = time.perf_counter()
    net, rc = w2_network(w, backend)
    mon = net.add(ss.SpikeMonitor(rc)) if record else None
    _build(net, backend)
    t1 = time.perf_counter()
    net.run(w.steps * w.dt)
    t2 = time.perf_counter()
    return W.Run(t2 - t0, t1 - t0, t2 - t1, len(mon.spikes) if record else None,
                 {"v": net.state["v"][0].copy(), "mon": mon})


def cuba_network(c: W.Cuba, backend: str):
    """W3 as in ``bench.workloads.cuba_engine`` (single time constant), on ``backend``."""
    net = ss.Network(dt=c.dt, seed=c.seed, dtype=c.dtype, backend=backend)
    lif = dict(tau_mem=c.taum, tau_syn=c.taue, v_leak=c.E_L, v_th=c.v_th, v_reset=c.v_reset,
               R=1.0, refractory=c.refractory, method="exact",
               v_init=ss.Uniform(c.v_reset, c.v_th))
    exc = net.add(ss.LIF(c.n_exc, **lif), name="exc")
    inh = net.add(ss.LIF(c.n - c.n_exc, **lif), name="inh")
    k = c.indegrees() if c.indegree else (None, None)
    for pre, weight, k_pre in ((exc, c.we, k[0]), (inh, c.wi, k[1])):
        for post in (exc, inh):
            if c.indegree:
                net.connect(pre, post, "fixed_indegree", k=k_pre, weight=weight)
            else:
                net.connect(pre, post, "random", p=c.p, weight=weight)
    mons = [net.add(ss.SpikeMonitor(pop)) for pop in (exc, inh)]
    return net, mons


def cuba_run(c: W.Cuba, backend: str = "cuda") -> W.Run:
    t0 = time.perf_counter()
    net, mons = cuba_network(c, backend)
    _build(net, backend)
    t1 = time.perf_counter()
    net.run(c.duration)
    t2 = time.perf_counter()
    spikes = [m.spikes for m in mons]
    return W.Run(t2 - t0, t1 - t0, t2 - t1, sum(len(s) for s in spikes),
                 {"synapses": int(net.tables.col.size), "spikes": spikes})


def cuba_bytes_per_step(c: W.Cuba, spikes_per_step: float, synapses: int) -> float:
    """Estimated device-memory bytes of one coupled step: per neuron, v, i and refc read and
    written by the update plus the spike flag, the gather's flag reads (2 bytes); per spike,
    the targets' marks and their incoming synapses scanned (unit 4 B, weight, code 4 B) and
    their v, i read and written."""
    item = np.dtype(c.dtype).itemsize
    per_neuron = 2 * (2 * item + 4) + 1 + 2
    k = synapses / c.n
    per_spike = k * (1 + k * (8 + item) + 4 * item)
    return c.n * per_neuron + spikes_per_step * per_spike


# --- suites -----------------------------------------------------------------------------------
class Ctx:
    def __init__(self, quick: bool, repeats: int, tiny: bool):
        self.quick, self.repeats, self.tiny = quick, repeats, tiny
        self.gbs: float | None = None


def bw_suite(ctx: Ctx) -> list[dict]:
    n = int(1e4 if ctx.tiny else 2e7 if ctx.quick else 2e8)
    ctx.gbs = device_bandwidth(n, repeats=2 if ctx.tiny else 5)
    return [row("BW", f"device STREAM triad a = b + s·c, {n:.0e} float32, {device_name()}",
                R.TRIAD_BYTES * n / (ctx.gbs * 1e9), ctx.gbs, "GB/s",
                ceiling_f32=R.lif_ceiling(ctx.gbs, np.float32),
                ceiling_f64=R.lif_ceiling(ctx.gbs, np.float64))]


def w2_suite(ctx: Ctx) -> list[dict]:
    n, steps = (50, 10) if ctx.tiny else (100_000, 200) if ctx.quick else (1_000_000, 1000)
    rows = []
    for dtype in DTYPES:
        ceiling = R.lif_ceiling(ctx.gbs, dtype)
        for noise in (False, True):
            w = W.W2(n=n, steps=steps, dtype=dtype, noise=noise)
            t = measure(partial(w2_run, w), repeats=ctx.repeats, seconds=lambda r: r.sim_s,
                        warmup=partial(w2_run, replace(w, steps=2)), min_total_s=0.5)
            tp = w.n * w.steps / t.median_s
            rows.append(row(
                "W2", f"cuda engine, {np.dtype(dtype).name}, {'noise' if noise else 'no noise'},"
                f" {n:,} neurons × {steps} steps", t.median_s, tp, "neuron-steps/s",
                {"ceiling": tp / ceiling}, spread=t.spread, fraction_of_ceiling=tp / ceiling,
                note="one launch per chunk, state in registers: the ceiling of a per-step "
                     "update does not bound it"))
    return rows


def w3_suite(ctx: Ctx) -> list[dict]:
    if ctx.tiny:
        sizes = [W.Cuba(n=40, p=0.2, duration=20 * 1e-4)]
    elif ctx.quick:
        sizes = [W.Cuba(duration=0.05)]
    else:
        sizes = [W.Cuba(), W.Cuba(n=40_000, indegree=80),
                 W.Cuba(n=400_000, indegree=80, duration=0.2)]
    rows = []
    for c in sizes:
        one = c.single_tau()
        warm = replace(one, n=min(one.n, 4000), duration=10 * one.dt)
        t = measure(partial(cuba_run, one), repeats=ctx.repeats, seconds=lambda r: r.sim_s,
                    warmup=partial(cuba_run, warm), min_total_s=0.5)
        spikes, synapses = t.result.spikes, t.result.extra["synapses"]
        steps_per_s = one.steps / t.median_s
        bytes_step = cuba_bytes_per_step(one, spikes / one.steps, synapses)
        size = f"N={c.n:,}, " + (f"k={c.indegree}" if c.indegree else f"p={c.p}")
        rows.append(row(
            "W3", f"cuda engine, one tau, {size}, {one.duration:g} s", t.median_s,
            one.duration / t.median_s, "sim s per wall s", spread=t.spread,
            wall_per_sim_s=t.median_s / one.duration, rate_hz=spikes / (c.n * one.duration),
            events_per_s=spikes * synapses / c.n / t.median_s, steps_per_s=steps_per_s,
            est_bandwidth_fraction=bytes_step * steps_per_s / (ctx.gbs * 1e9),
            build_s=statistics.median(t.build_times)))
    return rows


def check_suite(ctx: Ctx) -> list[dict]:
    """CPU and GPU runs of the same networks: spikes (and W2's final v) identical?"""
    rows = []
    n, steps = (50, 10) if ctx.tiny else (10_000, 200)
    for dtype in DTYPES:
        w = W.W2(n=n, steps=steps, dtype=dtype, noise=True)
        a, b = w2_run(w, "cpu", record=True), w2_run(w, "cuda", record=True)
        sa, sb = a.extra["mon"].spikes, b.extra["mon"].spikes
        same = (np.array_equal(sa.times, sb.times) and np.array_equal(sa.ids, sb.ids)
                and np.array_equal(a.extra["v"], b.extra["v"]))
        dv = float(np.max(np.abs(a.extra["v"].astype(float) - b.extra["v"])))
        rows.append(row("CHECK", f"W2 cpu vs cuda, {np.dtype(dtype).name}, noise, {n:,} × "
                        f"{steps}", check=("identical spikes and final v" if same else
                                           f"spikes cpu {len(sa)} / cuda {len(sb)}, final v "
                                           f"differs by up to {dv:.3g} V")))
        c = (W.Cuba(n=40, p=0.2, duration=20 * 1e-4) if ctx.tiny
             else W.Cuba(duration=0.1)).single_tau()
        c = replace(c, dtype=dtype)
        a, b = cuba_run(c, "cpu"), cuba_run(c, "cuda")
        same = all(np.array_equal(x.times, y.times) and np.array_equal(x.ids, y.ids)
                   for x, y in zip(a.extra["spikes"], b.extra["spikes"]))
        rows.append(row("CHECK", f"W3 cpu vs cuda, {np.dtype(dtype).name}, N={c.n:,}, "
                        f"{c.duration:g} s", check=("identical spikes" if same else
                                                    f"spikes cpu {a.spikes} / cuda {b.spikes}")))
    return rows


SUITES = {"BW": bw_suite, "W2": w2_suite, "W3": w3_suite, "CHECK": check_suite}


def main(argv: list[str] | None = None) -> int:
    """Run the selected suites on the GPU and print the table (JSON with --json); returns 0,
    also when there is no GPU (after saying so)."""
    parser = argparse.ArgumentParser(prog="python -m bench.bench_gpu",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="reduced sizes")
    parser.add_argument("--only", default=",".join(SUITE_NAMES),
                        help=f"comma-separated suites among {','.join(SUITE_NAMES)}")
    parser.add_argument("--json", metavar="FILE", help="write the rows as JSON to FILE")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats (at least)")
    parser.add_argument("--simulator", action="store_true",
                        help="allow the CUDA simulator (tiny sizes; timings meaningless)")
    args = parser.parse_args(argv)
    selected = selected_suites(parser, args.only, SUITE_NAMES)
    missing = gpu_missing(args.simulator)
    if missing:
        print(f"bench_gpu: skipped: {missing}")
        return 0
    from spikesim.kernels import cuda as KG

    ctx = Ctx(args.quick, args.repeats, tiny=KG.SIMULATOR)
    if ("W2" in selected or "W3" in selected) and "BW" not in selected:
        selected.append("BW")  # the bandwidth fractions need it
    print(f"spikesim bench_gpu{' --quick' if args.quick else ''} on {device_name()}")
    rows = []
    for name in SUITE_NAMES:
        if name in selected:
            for r in SUITES[name](ctx):
                print(format_row(r), flush=True)
                for key in ("fraction_of_ceiling", "est_bandwidth_fraction", "steps_per_s"):
                    if r.get(key) is not None:
                        print(f"       {key} {r[key]:.3g}")
                rows.append(_to_json(r))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
