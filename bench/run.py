"""Run the benchmark suite of ``shared/workloads.md`` and print a table (JSON with ``--json``).

Usage: ``python -m bench.run [--quick] [--only W1,W2] [--json FILE] [--repeats N]``.
Suites: BW (memory bandwidth, the LIF ceiling), W1 (Norse tutorial), W2 (large population), W3
(CUBA), W4 (recording cost), JIT (compile and cache-load times). W1–W3 end with the peer
simulators that are importable (:mod:`bench.peers`).

Every row's ``ratios`` are the engine's speed relative to a reference measured in the same run
(engine throughput / reference throughput; > 1: the engine is faster). Times are medians of
warmed-up repeats; ``spread`` is (max − min) / median over the repeats, a noise indicator.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from functools import partial
from pathlib import Path

import numba
import numpy as np
from llvmlite import binding as llvm

from . import peers
from . import references as R
from . import workloads as W
from .measure import Timing, interleaved, measure, paired_ratio, probe, traced_peak_mib

SUITE_NAMES = ("BW", "W1", "W2", "W3", "W4", "JIT")
W1_BLOCK = 10  # W1: calls in a row of each callable, per turn
W1_CALLS = 100  # W1: timed calls of each callable and case, at most
DTYPES = (np.float32, np.float64)
# W4, "peak memory independent of duration": the traced peaks compared, at these multiples of
# each workload's steps, and the growth allowed between them. W1b's spikes take about 31 kB per
# 1000 steps and the HDF5 recorders hold up to 256 KiB (recorders.FLUSH_BYTES) before writing,
# so W1b is compared past that point and over enough steps that a recording keeping every
# spike grows by about 0.9 MiB (at 1x and 4x it grew 0.1 MiB, under any threshold that noise
# allows); W2's 1000 voltages every 10 steps take 1.2 MB per 3000 steps.
PEAK_MULTIPLES = {"W1b": (10, 40), "W2": (1, 4)}
PEAK_GROWTH_MIB = 0.25  # allowed growth: this, or 1 % of the shorter run's peak if larger


def duration_independent(peak_mib: float, longer_peak_mib: float) -> bool:
    """W4's bar "peak memory independent of duration", from the traced peaks of a run and of
    a longer one (see :data:`PEAK_MULTIPLES`)."""
    return longer_peak_mib - peak_mib <= max(PEAK_GROWTH_MIB, 0.01 * peak_mib)


@dataclass
class Context:
    """Options of one benchmark run, and the bandwidth once measured (GB/s)."""

    quick: bool
    repeats: int
    recordings: tuple[W.Recording, ...] = W.RECORDINGS
    gbs: float | None = None

    @property
    def min_total_s(self) -> float:
        """Fast benchmarks repeat until their timed calls total this (s)."""
        return 0.1 if self.quick else 1.0


def row(workload: str, variant: str, median_s: float | None = None,
        throughput: float | None = None, unit: str | None = None, ratios: dict | None = None,
        bar: str | None = None, bar_met: bool | None = None, **extra) -> dict:
    """One result row (the keys of workloads.md's JSON output, then extras)."""
    return {"workload": workload, "variant": variant, "median_s": median_s,
            "throughput": throughput, "unit": unit, "ratios": ratios or {}, "bar": bar,
            "bar_met": bar_met, "load1": os.getloadavg()[0], **extra}


def _ratios(throughput: float, refs: dict[str, float]) -> dict[str, float]:
    return {name: throughput / ref for name, ref in refs.items()}


def _median_ratios(engine: Timing, refs: dict[str, Timing]) -> dict:
    """The ratios of the overall medians, beside a row's paired ``ratios`` (see
    :func:`~bench.measure.paired_ratio`): how much the machine drifted between turns."""
    return {"median_ratios": {name: ref.median_s / engine.median_s
                              for name, ref in refs.items()}}


# --- BW ---------------------------------------------------------------------------------------
def bw_suite(ctx: Context) -> list[dict]:
    """STREAM triad over 2e8 float32 (2e7 with --quick), and the LIF ceilings it implies."""
    n = int(2e7 if ctx.quick else 2e8)
    ctx.gbs = R.bandwidth(n)
    return [row("BW", f"STREAM triad a = b + s·c, {n:.0e} float32, {numba.get_num_threads()} "
                "threads", R.TRIAD_BYTES * n / (ctx.gbs * 1e9), ctx.gbs, "GB/s",
                ceiling_f32=R.lif_ceiling(ctx.gbs, np.float32),
                ceiling_f64=R.lif_ceiling(ctx.gbs, np.float64))]


# --- W1 ---------------------------------------------------------------------------------------
def w1_suite(ctx: Context) -> list[dict]:
    """W1a and W1b end to end, with and without recording, against the fused loop and NumPy;
    then the peers. Each engine case is timed in turns with its references, in blocks of
    W1_BLOCK calls, so that each case's ratios compare times taken over the same seconds (the
    machine's speed drifts over minutes) while each call runs with caches as warm as in a loop
    (calls taken one by one would time the engine with caches just filled by the fused loop's
    2 MB). References: the fused loop with the input given (both W1a and W1b, as the bars say);
    NumPy running the same workload: W1a with the input given, W1b drawing its input in NumPy
    (its ratio to NumPy with the input given, a stricter reading, is reported beside it as
    ``numpy_given``). The reference rows report the first case's of each."""
    w = W.W1(steps=200 if ctx.quick else 1000)
    inp = w.given_input()
    work = w.n * w.steps
    unit = "neuron-steps/s"
    references = {True: {"fused": partial(R.w1_fused, w, inp),
                         "numpy": partial(R.w1_numpy, w, inp)},
                  False: {"fused": partial(R.w1_fused, w, inp),
                          "numpy": partial(R.w1_numpy_drawn, w),
                          "numpy_given": partial(R.w1_numpy, w, inp)}}
    cases = [(given, rec) for given in (True, False) for rec in (*ctx.recordings, None)]
    timed = {c: interleaved({"engine": partial(W.w1_engine, w, inp if c[0] else None, c[1]),
                             **references[c[0]]},
                            repeats=ctx.repeats, min_total_s=ctx.min_total_s / 4,
                            max_repeats=W1_CALLS, block=W1_BLOCK)
             for c in cases}
    fused = timed[cases[0]]["fused"]
    n_fused = int(fused.result.sum())
    rows = [row("W1", f"reference: hand-fused Numba loop, input given, {_dt(w.dtype)}",
                fused.median_s, work / fused.median_s, unit, spread=fused.spread,
                spikes=n_fused)]
    for given, what in ((True, "input given"), (False, "input drawn in NumPy (W1b)")):
        t = timed[next(c for c in cases if c[0] == given)]["numpy"]
        rows.append(row("W1", f"reference: NumPy, {what}, {_dt(w.dtype)}", t.median_s,
                        work / t.median_s, unit, spread=t.spread))
    bars = {True: ("end to end within 1.5× of the fused loop (ratio ≥ 1/1.5 = 0.667) and "
                   "≥ 10× NumPy", 1 / 1.5),
            False: ("end to end within 2× of the fused loop with given input (ratio ≥ 0.5) "
                    "and ≥ 10× NumPy drawing its input", 1 / 2)}
    engine_rows = {}
    for given, rec in cases:
        t = timed[given, rec]["engine"]
        refs = {name: ref for name, ref in timed[given, rec].items() if name != "engine"}
        ratios = {name: paired_ratio(t, ref) for name, ref in refs.items()}
        # the bar is judged with the spikes returned in memory; a file's cost is W4's bar
        bar, low = bars[given] if rec is W.MEMORY else (None, None)
        extra = {} if rec in (None, W.MEMORY) else {"note": "recording to a file: its cost "
                                                             "is judged in W4"}
        if given and rec:
            same = t.result.spikes == n_fused
            extra["check"] = (f"spike count {n_fused} equals the fused loop's" if same else
                              f"MISMATCH: {t.result.spikes} spikes, fused loop {n_fused}")
        name = "W1a (input array given)" if given else "W1b (Bernoulli input in the kernel)"
        rows.append(row(
            "W1", f"engine {name}, {_rec(rec)}, {_dt(w.dtype)}", t.median_s,
            work / t.median_s, unit, ratios, bar,
            None if bar is None else ratios["fused"] >= low and ratios["numpy"] >= 10,
            spread=t.spread, spikes=t.result.spikes,
            build_s=statistics.median(t.build_times), **_median_ratios(t, refs), **extra,
            **(_rss(w) if not (given or rec or ctx.quick) else {})))
        engine_rows[given, rec] = rows[-1]
    return rows + _peer_rows(  # a peer counts its spikes, as the in-memory recording does
        ctx, "W1", lambda name: engine_rows.get((name in peers.INPUT_GIVEN, W.MEMORY))
        or engine_rows[name in peers.INPUT_GIVEN, None])


def _peer_rows(ctx: Context, workload: str, engine_row: Callable[[str], dict]) -> list[dict]:
    """The rows of ``workload`` run by each peer of :mod:`bench.peers`, each in its own
    interpreter ("not installed" or "skipped (--quick)" otherwise). The engine's row for the
    same work, ``engine_row(peer)``, gains the ratio named after the peer (spikesim's
    throughput over the peer's, as for any reference)."""
    amount, unit = peers.work(workload)
    rows = []
    for name in peers.RUNNERS[workload]:
        variant = f"peer: {name}, {peers.SIZES[workload]}"
        if not peers.installed(name):
            rows.append(row(workload, variant, note="not installed"))
            continue
        if ctx.quick:
            rows.append(row(workload, variant, note="skipped (--quick)"))
            continue
        try:
            out = probe(["peer", workload, name])
        except RuntimeError as err:
            rows.append(row(workload, variant, note=f"failed: {str(err).splitlines()[-1]}"))
            continue
        tp = amount / out["median_s"]
        engine = engine_row(name)
        engine["ratios"][name] = engine["throughput"] / tp
        rows.append(row(workload, variant, out["median_s"], tp, unit,
                        note=f"compared in: {engine['variant']}",
                        **{k: v for k, v in out.items() if k != "median_s"}))
    return rows


# --- W2 ---------------------------------------------------------------------------------------
def w2_suite(ctx: Context) -> list[dict]:
    """W2 with and without noise, float32 and float64, against the bandwidth ceiling, the fused
    loops (2 threads and serial) and NumPy. Noisy fused loops and NumPy run fewer steps
    (200; 10 with --quick, float32 only); ratios compare neuron-steps/s. --quick runs 200
    steps: the first spikes come at step 102, so the check of the final v covers threshold,
    reset and refractory period (not so in 50 steps)."""
    base = W.W2(n=20_000 if ctx.quick else 1_000_000, steps=200 if ctx.quick else 1000)
    short = 10 if ctx.quick else 200
    unit = "neuron-steps/s"
    rows, engine_rows = [], {}
    for dtype in DTYPES[:1] if ctx.quick else DTYPES:  # --quick: float32, fewer compilations
        ceiling = R.lif_ceiling(ctx.gbs, dtype)
        for noise in (False, True):
            w = replace(base, dtype=dtype, noise=noise)
            what = f"{_dt(dtype)}, {'noise' if noise else 'no noise'}"
            refs = {"ceiling": ceiling}
            ref_runs = {}
            for name, steps, fn in (
                    ("fused prange", short if noise else w.steps,
                     partial(R.w2_fused, w, parallel=True)),
                    ("fused serial", short if noise else w.steps,
                     partial(R.w2_fused, w, parallel=False)),
                    ("numpy", short, partial(R.w2_numpy, w))):
                t = measure(partial(fn, steps), repeats=ctx.repeats, warmup=partial(fn, 1),
                            min_total_s=ctx.min_total_s)
                refs[name] = w.n * steps / t.median_s
                ref_runs[name] = (steps, t.result)
                threads = numba.get_num_threads() if name == "fused prange" else 1
                rows.append(row("W2", f"reference: {name} ({threads} thr), {what}, {steps} steps",
                                t.median_s, refs[name], unit, spread=t.spread,
                                spikes=t.result[1]))
            t = measure(partial(W.w2_engine, w), repeats=ctx.repeats, seconds=lambda r: r.sim_s,
                        warmup=partial(W.w2_engine, replace(w, steps=10)),
                        min_total_s=ctx.min_total_s)
            tp = w.n * w.steps / t.median_s
            if noise:
                bar = "≥ 3e8 neuron-steps/s with Gaussian noise on 2 threads"
                met = tp >= 3e8 if numba.get_num_threads() <= 2 else None  # (not judged on more)
            else:
                bar, met = "≥ 0.7 × the bandwidth ceiling", tp / ceiling >= 0.7
            extra = {}
            steps, (v_ref, _) = ref_runs["fused prange"]
            if not noise and steps == w.steps:
                dv = float(np.max(np.abs(t.result.extra["v"] - v_ref)))
                extra["check"] = ("final v equals the fused loop's" if dv == 0 else
                                  f"final v differs from the fused loop's by up to {dv:.3g} V")
            rows.append(row("W2", f"engine, {what}, {numba.get_num_threads()} threads",
                            t.median_s, tp, unit, _ratios(tp, refs), bar, met, spread=t.spread,
                            build_s=statistics.median(t.build_times), **extra,
                            **({} if ctx.quick else _rss(w))))
            engine_rows[np.dtype(dtype), noise] = rows[-1]
            if not noise:
                rows.append(_per_neuron_row(ctx, w, tp, t.result.extra["v"]))
    return rows + _peer_rows(ctx, "W2", lambda name: engine_rows[
        np.dtype(np.float32 if name in peers.FLOAT32 else np.float64), True])


def _per_neuron_row(ctx: Context, w: W.W2, shared_tp: float, shared_v: np.ndarray) -> dict:
    """W2 with its parameters given per neuron (same values): ratio to the shared-parameter
    run, and the check that the final v is the same."""
    wp = replace(w, per_neuron=True)
    t = measure(partial(W.w2_engine, wp), repeats=ctx.repeats, seconds=lambda r: r.sim_s,
                warmup=partial(W.w2_engine, replace(wp, steps=10)),
                min_total_s=ctx.min_total_s)
    tp = wp.n * wp.steps / t.median_s
    same = np.array_equal(t.result.extra["v"], shared_v)
    return row("W2", f"engine, {_dt(w.dtype)}, no noise, parameters per neuron", t.median_s, tp,
               "neuron-steps/s", {"shared parameters": tp / shared_tp}, spread=t.spread,
               check="final v equals the shared-parameter run's" if same else
               "MISMATCH: final v differs from the shared-parameter run's")


# --- W3 ---------------------------------------------------------------------------------------
def w3_suite(ctx: Context) -> list[dict]:
    """CUBA at 4,000 neurons (p = 0.02) and, scaled with in-degree 80, at 40,000 and 400,000
    (0.2 s simulated), float64; with --quick 4,000 neurons for 50 ms in float32 (the kernel
    W1 compiled). Engine against the serial CSR reference (medians of at least 5 runs at
    400,000), with peak RSS (the reference's in full mode only)."""
    sizes = ([W.Cuba(duration=0.05, dtype=np.float32)] if ctx.quick else
             [W.Cuba(), W.Cuba(n=40_000, indegree=80), W.Cuba(n=400_000, indegree=80,
                                                              duration=0.2)])
    unit = "sim s per wall s"
    rows, engine_rows = [], {}
    for c in sizes:
        size = f"N={c.n:,}, " + (f"k={c.indegree}" if c.indegree else f"p={c.p}")
        big = c.n == 400_000 and c.indegree == 80
        conn_t = measure(partial(R.cuba_connectivity, c), repeats=ctx.repeats, min_total_s=0)
        conn = conn_t.result
        rows.append(row("W3", f"reference connectivity build (NumPy), {size}", conn_t.median_s,
                        spread=conn_t.spread, synapses=int(conn[1].size)))
        warm = replace(c, duration=10 * c.dt)  # the same size: the same kernel variant
        timed = interleaved(
            {"engine": partial(W.cuba_engine, c), "csr": partial(R.cuba_csr, c, *conn)},
            repeats=max(ctx.repeats, 5) if big else ctx.repeats, min_total_s=ctx.min_total_s,
            seconds=lambda r: getattr(r, "sim_s", None),  # the engine's run, the reference's call
            warmup={"engine": partial(W.cuba_engine, warm),
                    "csr": partial(R.cuba_csr, warm, *conn)})
        t, ref = timed["engine"], timed["csr"]
        ref_tp = c.duration / ref.median_s
        rows.append(row("W3", f"reference: serial Numba CSR, {size}, {c.duration} s",
                        ref.median_s, ref_tp, unit, spread=ref.spread,
                        **_cuba_figures(c, ref.median_s, ref.result, conn[1].size),
                        **({} if ctx.quick else _rss(c, "reference"))))
        tp = c.duration / t.median_s
        ratios = {"csr": paired_ratio(t, ref)}
        rows.append(row(
            "W3", f"engine networks.cuba, {size}, {c.duration} s", t.median_s, tp, unit, ratios,
            "≥ 2× the serial CSR reference at 400,000 neurons" if big else None,
            ratios["csr"] >= 2 if big else None, spread=t.spread,
            **_median_ratios(t, {"csr": ref}),
            **_cuba_figures(c, t.median_s, t.result.spikes, t.result.extra["synapses"]),
            **_rss(c)))
        engine_rows[c.n] = rows[-1]
        builds = t.build_times
        build = statistics.median(builds)
        rows.append(row("W3", f"engine network build (connectivity, tables), {size}", build,
                        bar="400,000 × 80 connectivity built in < 3 s" if big else None,
                        bar_met=build < 3 if big else None,
                        spread=(max(builds) - min(builds)) / build))
    return rows + _peer_rows(ctx, "W3", lambda name: engine_rows[peers.CUBA_N])


def _cuba_figures(c: W.Cuba, median_s: float, spikes: int, synapses: int) -> dict:
    return {"wall_per_sim_s": median_s / c.duration, "rate_hz": spikes / (c.n * c.duration),
            "events_per_s": spikes * synapses / c.n / median_s}


def _rss(w: W.W1 | W.W2 | W.Cuba, side: str = "engine") -> dict:
    """Peak RSS of a fresh interpreter running workload ``w`` on ``side`` ("engine" or, for
    CUBA, "reference")."""
    kind = {W.W1: "w1", W.W2: "w2", W.Cuba: "cuba"}[type(w)]
    out = probe(["memory", kind, side, json.dumps({**asdict(w),
                                                   "dtype": np.dtype(w.dtype).name})])
    return {"peak_rss_mib": out["peak_mib"], "base_rss_mib": out["base_mib"]}


# --- W4 ---------------------------------------------------------------------------------------
def w4_suite(ctx: Context) -> list[dict]:
    """Recording cost: W1b with all spikes recorded and W2 (float32, with and without noise)
    with v of 1000 neurons every 10 steps, each timed in turns with the same run unrecorded;
    then the Python-side peak memory of each recorded run at 1× and 4× its duration. To HDF5,
    W1b is also timed beside the least any HDF5 recording costs (``floor``: the same spikes
    written and read back with bare h5py), and with 10× the steps (a file's fixed costs
    amortised; reported, not judged)."""
    w1 = W.W1(steps=200 if ctx.quick else 1000)
    w2 = W.W2(n=20_000 if ctx.quick else 1_000_000, steps=50 if ctx.quick else 1000)
    bar = "≤ 20 % slower than the same run without recording (ratio ≥ 1/1.2 = 0.833)"
    unit = "neuron-steps/s"
    w1b = partial(W.w1_engine, given=None)
    rows = []
    for rec in ctx.recordings:
        to_file = rec is not W.MEMORY
        cases = [("W1b, all spikes", w1, w1b, "total_s", True),
                 *((f"W2 {'noise' if noise else 'no noise'} f32, v of 1000 neurons / 10 steps",
                    replace(w2, noise=noise), W.w2_engine, "sim_s", True)
                   for noise in (True, False))]
        if to_file:
            cases.insert(1, (f"W1b, all spikes, {10 * w1.steps} steps",
                             replace(w1, steps=10 * w1.steps), w1b, "total_s", False))
        for name, w, fn, field, judged in cases:
            fns = {"rec": partial(fn, w, recording=rec), "none": partial(fn, w, recording=None)}
            if to_file and w is w1:
                fns["floor"] = _h5py_floor(w)
            t = interleaved(fns, repeats=ctx.repeats, min_total_s=2 * ctx.min_total_s,
                            seconds=lambda r, field=field: getattr(r, field, None))
            work = w.n * w.steps
            tp = work / t["rec"].median_s
            ratios = {"no recording": paired_ratio(t["rec"], t["none"])}
            extra = {}
            if "floor" in t:
                floor = t["floor"].median_s
                best = t["none"].median_s / (t["none"].median_s + floor)
                extra = {"floor_s": floor, "best_ratio": best, "note": (
                    f"floor: these {t['floor'].result} spikes written to a new SONATA file "
                    f"with bare h5py and read back take {floor * 1e3:.3g} ms, so no HDF5 "
                    f"recording can reach a ratio above {best:.2f} here")}
            elif not judged:
                extra = {"note": "fixed costs of a file amortised over 10× the steps; not a bar"}
            rows.append(row("W4", f"{name} recorded ({rec.name})", t["rec"].median_s, tp, unit,
                            ratios, bar if judged else None,
                            ratios["no recording"] >= 1 / 1.2 if judged else None,
                            spread=t["rec"].spread, spread_unrecorded=t["none"].spread,
                            **_median_ratios(t["rec"], {"no recording": t["none"]}), **extra))
        for (name, w, fn, _, _), key in ((cases[0], "W1b"), (cases[-1], "W2")):  # W2: no noise
            multiples = PEAK_MULTIPLES[key]
            peaks = [traced_peak_mib(partial(fn, replace(w, steps=k * w.steps),
                                             recording=W.without_readback(rec)))
                     for k in multiples]
            lo, hi = (k * w.steps for k in multiples)
            rows.append(row(
                "W4", f"{name} ({rec.name}): traced peak, {lo} vs {hi} steps",
                bar="peak memory independent of duration",
                bar_met=duration_independent(*peaks) if to_file else None,
                peak_mib=peaks[0], peak_mib_longer=peaks[1],
                note=None if to_file else "in-memory monitors keep every sample: grows by design"))
    return rows


def _h5py_floor(w: W.W1):
    """A callable writing W1b's spikes to a new SONATA file with bare h5py and reading them
    back (:func:`references.sonata_spikes_h5py`)."""
    spikes = W.w1_spikes(w)
    fd, path = tempfile.mkstemp(prefix="spikesim-bench-floor-", suffix=".h5")
    os.close(fd)
    return partial(R.sonata_spikes_h5py, path, spikes.times * 1e3,
                   spikes.ids.astype(np.uint64))


# --- JIT --------------------------------------------------------------------------------------
def jit_suite(ctx: Context) -> list[dict]:
    """Import time, and compile (empty Numba cache) and cache-load times of the engine's serial
    and parallel kernels, each in a fresh interpreter. Skipped with --quick."""
    if ctx.quick:
        return [row("JIT", "compile and cache-load times", note="skipped (--quick)")]
    with tempfile.TemporaryDirectory() as cache:
        runs = {state: probe(["compile"], env={"NUMBA_CACHE_DIR": cache})
                for state in ("cold (empty cache)", "cached")}
    rows = []
    for state, out in runs.items():
        rows.append(row("JIT", f"import spikesim, {state}", out["import_s"]))
        for kernel in ("serial", "parallel"):
            rows.append(row("JIT", f"engine {kernel} kernel: first run − second run, {state}",
                            out[f"{kernel}_first_s"] - out[f"{kernel}_again_s"]))
    return rows


# --- driver -----------------------------------------------------------------------------------
SUITES = {"BW": bw_suite, "W1": w1_suite, "W2": w2_suite, "W3": w3_suite, "W4": w4_suite,
          "JIT": jit_suite}


def _dt(dtype) -> str:
    return "f32" if np.dtype(dtype) == np.float32 else "f64"


def _rec(rec: W.Recording | None) -> str:
    return f"spikes recorded ({rec.name})" if rec else "no recording"


def _seconds(s: float | None) -> str:
    if s is None:
        return ""
    return f"{s * 1e3:.3g} ms" if s < 1 else f"{s:.3g} s"


def format_row(r: dict) -> str:
    """One table line (and indented notes) for a row."""
    met = {True: "yes", False: "NO", None: "-"}[r["bar_met"]]
    tp = "" if r["throughput"] is None else f"{r['throughput']:.3g} {r['unit']}"
    ratios = ", ".join(f"{k} {v:.3g}" for k, v in r["ratios"].items())
    line = (f"{r['workload']:<4} {r['variant']:<70} {_seconds(r['median_s']):>9} {tp:>26}  "
            f"{met:<3}  {ratios}")
    notes = [f"bar: {r['bar']}"] if r["bar"] else []
    notes += [f"{k}: {r[k]}" for k in ("check", "note") if r.get(k)]
    notes += [f"{k} {r[k]:.4g}" for k in ("spread", "build_s", "compile_s", "rate_hz",
                                          "wall_per_sim_s", "events_per_s", "peak_rss_mib",
                                          "base_rss_mib", "peak_mib", "peak_mib_longer",
                                          "ceiling_f32", "ceiling_f64") if r.get(k) is not None]
    return line + ("\n       " + "; ".join(notes) if notes else "")


def _to_json(value):
    if isinstance(value, dict):
        return {k: _to_json(v) for k, v in value.items()}
    if isinstance(value, (np.floating, np.integer, np.bool_)):
        return value.item()
    return value


def suites_of(only: str, names: tuple[str, ...] = SUITE_NAMES) -> list[str]:
    """The suite names of a comma-separated ``--only`` value (any case); a ValueError naming
    the option for an empty value or an unknown name."""
    selected = [s.strip().upper() for s in only.split(",")]
    expected = f"give comma-separated suites among {', '.join(names)}"
    if not only.strip():
        raise ValueError(f"--only: no suite given; {expected}")
    unknown = [s for s in selected if s not in names]
    if unknown:
        raise ValueError(f"--only: unknown suite(s) {', '.join(map(repr, unknown))}; "
                         f"{expected}")
    return selected


def selected_suites(parser: argparse.ArgumentParser, only: str, names: tuple) -> list[str]:
    """:func:`suites_of`, its error reported by ``parser``."""
    try:
        return suites_of(only, names)
    except ValueError as e:
        parser.error(str(e))


def check_json_path(path: str) -> None:
    """A ValueError naming --json unless ``path`` can be written: not a folder, in an existing
    writable folder (checked before the benchmarks run, not after)."""
    file = Path(path)
    folder = file.parent
    if file.is_dir():
        raise ValueError(f"--json: cannot write {path}: it is a folder")
    if not folder.is_dir():
        raise ValueError(f"--json: cannot write {path}: the folder {folder} does not exist")
    if not os.access(file if file.exists() else folder, os.W_OK):
        raise ValueError(f"--json: cannot write {path}: permission denied")


def check_options(only: str | None, json_path: str | None, repeats: int | None) -> list[str]:
    """The suites to run, after checking the options of a run (``python -m bench.run`` and
    ``spikesim bench``): a ValueError naming the option otherwise. None: the default."""
    if repeats is not None and repeats < 1:
        raise ValueError(f"--repeats must be an integer >= 1, got {repeats}")
    if json_path is not None:
        check_json_path(json_path)
    return list(SUITE_NAMES) if only is None else suites_of(only)


def main(argv: list[str] | None = None) -> int:
    """Run the selected suites, print the table and optionally write the JSON rows; returns 0."""
    parser = argparse.ArgumentParser(prog="python -m bench.run",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="reduced sizes for smoke tests (bars reported as null)")
    parser.add_argument("--only", help=f"comma-separated suites among {','.join(SUITE_NAMES)} "
                                       "(default: all)")
    parser.add_argument("--json", metavar="FILE", help="write the rows as JSON to FILE")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats (at least; >= 1)")
    args = parser.parse_args(argv)
    try:
        selected = check_options(args.only, args.json, args.repeats)
    except ValueError as e:
        parser.error(str(e))
    if "W2" in selected and "BW" not in selected:
        selected.append("BW")  # W2's ceiling needs the bandwidth
    ctx = Context(quick=args.quick, repeats=args.repeats)
    print(f"spikesim benchmarks{' (quick: reduced sizes)' if args.quick else ''}: "
          f"{numba.get_num_threads()} Numba threads ({numba.threading_layer()} layer), "
          f"{os.cpu_count()} CPUs ({llvm.get_host_cpu_name()}), load average "
          f"{os.getloadavg()[0]:.2f}; ratios = engine speed / reference speed (> 1: engine "
          "faster)", flush=True)
    print("(the reference kernels compile at their first use on a machine, about a minute in "
          "all, before anything is timed; later runs load them from Numba's cache)", flush=True)
    print(f"{'':<4} {'variant':<70} {'median':>9} {'throughput':>26}  {'bar':<3}  ratios")
    rows = []
    for name in SUITE_NAMES:
        if name in selected:
            for r in SUITES[name](ctx):
                if args.quick:
                    r["bar"] = r["bar_met"] = None
                print(format_row(r), flush=True)
                rows.append(_to_json(r))
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
