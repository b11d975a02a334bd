"""Recording cost of the HDF5 recorders (:mod:`spikesim.recorders`): memory and time.

1. **Memory** (bar: peak RSS with recorders ≤ 1.5 × without). W1 scaled to 100,000 neurons
   (LIF, each driven by its own Bernoulli input p = 0.01 per step — about 2.6 Hz at dt = 1 ms;
   float32; the serial kernel, faster than the parallel one on the 2 shared cores this was
   measured on) run for ``--duration`` simulated seconds at ``--dt``, each
   configuration in a fresh interpreter (after one that warms the kernel cache up), which
   reports its peak resident set size (VmHWM: ``ru_maxrss`` would count the parent's peak
   too, see :mod:`bench.probe`): no recorders at all, versus all spikes
   plus the membrane potential of ``--v-neurons`` neurons every ``--every`` steps streamed to an
   HDF5 file. The recorded run is repeated for a tenth of the duration: the peak must not grow
   with duration (data goes to the file chunk by chunk).
2. **W1** (bar: ≤ 1.2 × recording off). W1b (1000 LIF neurons, Bernoulli input p = 0.01,
   1000 steps, see ``shared/workloads.md``) end to end — network built, run, file closed — with
   every spike recorded to a new HDF5 file, against no recording, timed in turns (median).
   Also in memory, and W1b with 10 × the steps (fixed per-file costs amortised).

Usage: ``python -m bench.bench_recording [--quick] [--json FILE] [--only mem,w1]
[--dt 1e-3] [--duration 100] [--v-neurons 1000] [--every 10]``. ``--quick``: 2 s of simulated
time and fewer repeats (a smoke test, not the bar).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import spikesim as ss

from . import workloads as W
from .measure import interleaved
from .probe import _status_mib

BENCH_ROOT = Path(__file__).resolve().parents[1]
N_MEMORY = 100_000


def row(workload, variant, median_s=None, throughput=None, unit=None, ratios=None, bar=None,
        bar_met=None, **extra) -> dict:
    """A result row with the keys of shared/workloads.md's JSON output."""
    return {"workload": workload, "variant": variant, "median_s": median_s,
            "throughput": throughput, "unit": unit, "ratios": ratios or {}, "bar": bar,
            "bar_met": bar_met, "load1": os.getloadavg()[0], **extra}


# --- HDF5 recording for the workloads ---------------------------------------------------------
def hdf5_recording(folder: str, **output_kw) -> W.Recording:
    """A :class:`bench.workloads.Recording` that streams to a new HDF5 file in ``folder`` for
    each monitor made; ``collect`` returns the spikes written (a range of that length) or the
    samples written, without reading the file back."""
    counter = itertools.count()

    def output():
        return ss.H5Output(os.path.join(folder, f"rec{next(counter)}.h5"), **output_kw)

    def collect(mon):
        if isinstance(mon, ss.SpikeRecorder):
            return range(mon.n_written)
        return mon

    return W.Recording("hdf5", lambda pop: ss.SpikeRecorder(output(), pop),
                       lambda pop, ids, every: ss.StateRecorder(output(), pop, "v", ids=ids,
                                                                every=every), collect)


# --- 1. memory --------------------------------------------------------------------------------
def memory_network(dt: float):
    """The 100,000-neuron network of the memory measurement: W1 scaled up."""
    w = W.W1(n=N_MEMORY)
    net = ss.Network(dt=dt, seed=3, dtype=np.float32, parallel=False)
    pop = net.add(ss.LIF(w.n, tau_mem=w.tau_mem, tau_syn=w.tau_syn, v_leak=w.v_leak,
                         v_th=w.v_th, v_reset=w.v_reset, method="euler"), name="lif")
    inp = net.add(ss.BernoulliInput(w.n, p=w.p), name="input")
    net.connect(inp, pop, "one_to_one", weight=w.weight)
    return net, pop


def memory_child(cfg: dict) -> dict:
    """One configuration, in this (fresh) process: peak RSS and what was written."""
    def rss_mib():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * resource.getpagesize() / 2**20

    net, pop = memory_network(cfg["dt"])
    rec = None
    if cfg["record"]:
        out = ss.H5Output(cfg["path"], overwrite=True)
        rec = net.add(ss.SpikeRecorder(out, pop))
        ids = np.linspace(0, N_MEMORY - 1, cfg["v_neurons"]).astype(np.int64)
        net.add(ss.StateRecorder(out, pop, "v", ids=ids, every=cfg["every"]))
    net.build()
    net.run(10 * cfg["dt"])  # load the compiled kernels
    before = rss_mib()
    t0 = time.perf_counter()
    net.run(cfg["duration"])
    wall = time.perf_counter() - t0
    peak = _status_mib("VmHWM")  # not ru_maxrss: it holds the parent's peak RSS as well
    out = {"peak_mib": peak, "rss_before_run_mib": before, "rss_after_mib": rss_mib(),
           "wall_s": wall, "neuron_steps_per_s": N_MEMORY * cfg["duration"] / cfg["dt"] / wall}
    if rec is not None:
        out["spikes"] = rec.n_written
        out["file_mib"] = os.path.getsize(cfg["path"]) / 2**20
    return out


def run_child(cfg: dict) -> dict:
    paths = [str(Path(ss.__file__).parents[1]), str(BENCH_ROOT)]
    old = os.environ.get("PYTHONPATH")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths + ([old] if old else []))}
    proc = subprocess.run([sys.executable, "-m", "bench.bench_recording", "--child",
                           json.dumps(cfg)], env=env, capture_output=True, text=True,
                          cwd=Path(ss.__file__).parents[1], timeout=7200)
    if proc.returncode != 0:
        raise RuntimeError(f"child {cfg} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def memory_suite(args, folder: str) -> list[dict]:
    base = {"dt": args.dt, "duration": args.duration, "v_neurons": args.v_neurons,
            "every": args.every, "path": os.path.join(folder, "memory.h5")}
    run_child({**base, "record": True, "duration": 0.01})  # compile / cache the kernels
    off = run_child({**base, "record": False})
    on = run_child({**base, "record": True})
    os.remove(base["path"])
    short = run_child({**base, "record": True, "duration": args.duration / 10})
    os.remove(base["path"])
    ratio = on["peak_mib"] / off["peak_mib"]
    what = (f"{N_MEMORY:,} neurons, {args.duration:g} s at dt {args.dt:g} s; all spikes + v of "
            f"{args.v_neurons} neurons every {args.every} steps")
    return [
        row("REC-MEM", f"no recorders: {what}", off["wall_s"], off["neuron_steps_per_s"],
            "neuron-steps/s", peak_mib=off["peak_mib"], detail=off),
        row("REC-MEM", f"HDF5 recorders: {what}", on["wall_s"], on["neuron_steps_per_s"],
            "neuron-steps/s", {"peak_rss_vs_no_recorders": ratio},
            "peak RSS with recorders <= 1.5 x without", ratio <= 1.5, peak_mib=on["peak_mib"],
            detail=on),
        row("REC-MEM", f"HDF5 recorders, {args.duration / 10:g} s (duration independence)",
            short["wall_s"], short["neuron_steps_per_s"], "neuron-steps/s",
            {"peak_rss_vs_full_duration": short["peak_mib"] / on["peak_mib"]},
            peak_mib=short["peak_mib"], detail=short),
    ]


# --- 2. W1 ------------------------------------------------------------------------------------
def w1_suite(args, folder: str) -> list[dict]:
    rows = []
    h5 = hdf5_recording(folder)
    for steps in (1000, 10_000):
        w = W.W1(steps=steps)
        fns = {"off": lambda w=w: W.w1_engine(w, None, None),
               "memory": lambda w=w: W.w1_engine(w, None, W.MEMORY),
               "hdf5": lambda w=w: W.w1_engine(w, None, h5)}
        t = interleaved(fns, repeats=5 if args.quick else 15,
                        min_total_s=0.2 if args.quick else 2.0, max_repeats=200)
        off = t["off"].median_s
        for name in ("memory", "hdf5"):
            ratio = t[name].median_s / off
            bar = steps == 1000 and name == "hdf5"
            rows.append(row(
                "REC-W1", f"W1b {steps} steps, spikes recorded ({name}) vs off",
                t[name].median_s, w.n * steps / t[name].median_s, "neuron-steps/s",
                {"time_vs_off": ratio}, "W1b with all spikes to HDF5 <= 1.2 x recording off"
                if bar else None, ratio <= 1.2 if bar else None, off_s=off,
                overhead_ms=(t[name].median_s - off) * 1e3, spikes=t[name].result.spikes,
                repeats=len(t[name].times), spread=t[name].spread))
        for p in os.listdir(folder):
            os.remove(os.path.join(folder, p))
    # reading back, for reference
    path = os.path.join(folder, "w1.h5")
    W.w1_engine(W.W1(), None, W.Recording("one", lambda pop: ss.SpikeRecorder(
        ss.H5Output(path), pop), None, lambda m: range(m.n_written)))
    t0 = time.perf_counter()
    n = len(ss.load(path).spikes())
    rows.append(row("REC-W1", "W1b: reading the spikes back (spikesim.load(path).spikes())",
                    time.perf_counter() - t0, spikes=n))
    return rows


def print_table(rows: list[dict]) -> None:
    print(f"{'workload':8s}  {'median s':>9s}  {'ratio':>7s}  {'bar met':7s}  variant")
    for r in rows:
        ratio = next(iter(r["ratios"].values()), None)
        met = {True: "yes", False: "NO", None: ""}[r["bar_met"]]
        extra = f"  peak {r['peak_mib']:.0f} MiB" if "peak_mib" in r else ""
        extra += f"  +{r['overhead_ms']:.2f} ms" if "overhead_ms" in r else ""
        print(f"{r['workload']:8s}  {r['median_s'] or 0:9.4f}  "
              f"{'' if ratio is None else f'{ratio:.3f}':>7s}  {met:7s}  {r['variant']}{extra}")


def main(argv=None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json")
    ap.add_argument("--only", default="mem,w1")
    ap.add_argument("--dt", type=float, default=1e-3, help="s (memory measurement)")
    ap.add_argument("--duration", type=float, default=None,
                    help="simulated s (memory measurement; default 100, 2 with --quick)")
    ap.add_argument("--v-neurons", type=int, default=1000)
    ap.add_argument("--every", type=int, default=10)
    ap.add_argument("--dir", default=None, help="where to write the files (default: a temp dir)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(memory_child(json.loads(args.child))))
        return []
    if args.duration is None:
        args.duration = 2.0 if args.quick else 100.0
    folder = tempfile.mkdtemp(prefix="bench_recording_", dir=args.dir)
    rows = []
    try:
        suites = {"w1": w1_suite, "mem": memory_suite}
        for name in args.only.split(","):
            rows += suites[name.strip()](args, folder)
            print_table(rows)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1, default=float)
    return rows


if __name__ == "__main__":
    main()
