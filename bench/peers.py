"""The workloads with other simulators, each case run in its own interpreter by
``python -m bench.probe peer WORKLOAD NAME`` when the peer is importable. Nothing is installed
for them. Each case returns the median seconds of three runs after a warm-up and the last
run's spike count.

- **W1** (1000 LIF neurons, 1000 steps of 1 ms, input spikes with probability 0.01 per step):
  timed end to end, network built and run, spikes counted, as the engine's W1 rows are.
  Norse's LIF (forward Euler, the tutorial itself, input array given); snnTorch's
  discrete-time ``Synaptic`` neuron (alpha 0.8, beta 0.9, input scaled by dt/tau_mem = 0.1,
  since it adds the synaptic current to the membrane unscaled, and ``reset_delay=False``: by
  default snnTorch zeroes v one step after the spike, discarding that step's input — 14 %
  fewer spikes than W1's neuron; so made, its spikes equal Norse's on the same input);
  Brian2's NeuronGroup with Euler and a PoissonGroup; NEST's ``iaf_psc_exp`` (exact; mV and
  pA with R = 1 GΩ) and a ``poisson_generator``.
- **W2** (:data:`W2_N` noisy LIF neurons, 1000 steps of 0.1 ms, 2 ms refractory period,
  float64; the engine's W2 rows use 1,000,000): the simulation alone is timed, the build is
  reported beside it. Brian2 with ``I = mean + std·randn() : amp (constant over dt)`` and
  exact integration; NEST's ``iaf_psc_exp`` driven by a ``noise_generator`` (a new Gaussian
  current every 0.1 ms, independent per neuron); Norse's ``LIFRefracCell`` in float32, its
  synaptic current made to follow the input (tau_syn = dt: Norse 1.1 adds a step's input
  before integrating, then the current decays to 0, so the current of step k is the input
  drawn at step k), which is W2's neuron (forward Euler, Norse's only method).
- **W3** (CUBA, 4000 neurons, p = 0.02, 1 s, exact integration): the simulation alone is
  timed, the build reported beside it. Brian2's own CUBA example with the workload's
  parameters; NEST's ``iaf_psc_exp`` with C_m = 250 pF, its synaptic jumps in pA
  (we·C_m/τ_m = 20.25 pA, wi·C_m/τ_m = −112.5 pA) and delays of one step.

Brian2 runs in runtime mode (Cython code generation) and as ``cpp_standalone`` (C++ compiled
once per process; ``compile_s`` is the first build, compilation included; each timed run
reruns the compiled program, whose own timing of the run is ``median_s`` for W2 and W3).
In runtime mode W2 and W3 are likewise timed by Brian2's own timing of its simulation loop
(``device._last_run_time``): ``Network.run`` first generates and loads the code of every
object (``before_run``, 0.1 s a run for CUBA, where the loop takes 0.23 s), which goes to
``build_s``. NEST's ``Simulate`` is split the same way: ``Prepare`` (buffers, connection
infrastructure; 0.4 s for W2's 100,000 neurons) is build, ``Run`` is timed.
NEST runs on 2 threads, Brian2's standalone program on 2 for W2 and 1 for W1 and W3
(:data:`BRIAN2_CPP_THREADS`).
"""

from __future__ import annotations

import importlib.util
import os
import statistics
import tempfile
import time
from collections.abc import Callable

N, STEPS, P = 1000, 1000, 0.01  # W1
W2_N, W2_STEPS = 100_000, 1000  # W2 (the engine's W2 rows run 1,000,000 neurons)
CUBA_N, CUBA_S = 4000, 1.0  # W3: neurons, simulated seconds
THREADS = 2
# Brian2 standalone's OpenMP threads (0: none), its faster setting here for each size: at 1000
# and 4000 neurons a step is too short for two threads to gain (anchors.md: CUBA 0.170 s per
# simulated s on one thread, 0.227 on two)
BRIAN2_CPP_THREADS = {"W1": 0, "W2": THREADS, "W3": 0}

SIZES = {"W1": f"{N:,} × {STEPS:,} steps", "W2": f"N={W2_N:,}, {W2_STEPS:,} steps, noise",
         "W3": f"N={CUBA_N:,}, p=0.02, {CUBA_S} s"}  # the variant's text
SHAPES = {"W1": (N, STEPS * 1e-3), "W2": (W2_N, W2_STEPS * 1e-4),
          "W3": (CUBA_N, CUBA_S)}  # neurons, simulated s
INPUT_GIVEN = {"norse", "snntorch"}  # W1: the input is a given array (else drawn by the peer)
FLOAT32 = {"norse"}  # W2: simulated in float32 (else float64)
PACKAGES = {"norse": "norse", "snntorch": "snntorch", "brian2": "brian2",
            "brian2 cpp_standalone": "brian2", "nest": "nest"}  # peer → package to import


def installed(name: str) -> bool:
    """Whether peer ``name``'s package can be imported here (without importing it)."""
    return importlib.util.find_spec(PACKAGES[name]) is not None


def work(workload: str) -> tuple[float, str]:
    """(what one run of ``workload`` does, its unit per second): neuron-steps for W1 and W2,
    simulated seconds for W3."""
    return {"W1": (N * STEPS, "neuron-steps/s"), "W2": (W2_N * W2_STEPS, "neuron-steps/s"),
            "W3": (CUBA_S, "sim s per wall s")}[workload]


def _median(run: Callable[[], tuple[float, int]]) -> dict:
    """Median of three timed calls of ``run`` after one untimed; ``run`` returns (seconds,
    spikes)."""
    run()
    times, spikes = [], 0
    for _ in range(3):
        seconds, spikes = run()
        times.append(seconds)
    return {"median_s": statistics.median(times), "spikes": int(spikes)}


def _timed(run: Callable[[], int]) -> Callable[[], tuple[float, int]]:
    """``run`` (returning spikes) timed whole."""
    def call() -> tuple[float, int]:
        t0 = time.perf_counter()
        spikes = run()
        return time.perf_counter() - t0, spikes
    return call


# --- Norse and snnTorch -----------------------------------------------------------------------
def _w1_norse() -> dict:
    import torch
    from norse.torch import LIFCell, LIFParameters

    p = LIFParameters(tau_syn_inv=torch.as_tensor(200.0), tau_mem_inv=torch.as_tensor(100.0),
                      v_leak=torch.as_tensor(0.0), v_th=torch.as_tensor(0.3),
                      v_reset=torch.as_tensor(0.0))
    data = (torch.rand(STEPS, N) < P).float()

    def run() -> int:
        cell, state, total = LIFCell(p=p, dt=1e-3), None, 0
        with torch.no_grad():
            for x in data:
                z, state = cell(x, state)
                total += int(z.sum())
        return total
    return _median(_timed(run))


def _w1_snntorch() -> dict:
    import snntorch as snn
    import torch

    data = (torch.rand(STEPS, N) < P).float() * 0.1  # weight 1 times dt/tau_mem

    def run() -> int:
        lif = snn.Synaptic(alpha=0.8, beta=0.9, threshold=0.3, reset_mechanism="zero",
                           reset_delay=False)  # v zeroed in the step of the spike, as Norse
        syn, mem = lif.init_synaptic()
        total = 0
        with torch.no_grad():
            for x in data:
                spk, syn, mem = lif(x, syn, mem)
                total += int(spk.sum())
        return total
    return _median(_timed(run))


def _w2_norse() -> dict:
    import torch
    from norse.torch import LIFParameters, LIFRefracCell, LIFRefracParameters

    torch.set_num_threads(THREADS)
    dt, r, mean, std = 1e-4, 1e8, 0.25e-9, 1e-9
    p = LIFRefracParameters(LIFParameters(
        tau_syn_inv=torch.as_tensor(1 / dt), tau_mem_inv=torch.as_tensor(1 / 20e-3),
        v_leak=torch.as_tensor(-60e-3), v_th=torch.as_tensor(-50e-3),
        v_reset=torch.as_tensor(-70e-3)), rho_reset=torch.as_tensor(2e-3 / dt))

    def run() -> int:
        cell, state, total = LIFRefracCell(p=p, dt=dt), None, 0
        with torch.no_grad():
            for _ in range(W2_STEPS):
                x = r * (mean + std * torch.randn(W2_N))  # R·I (V), drawn per step
                z, state = cell(x, state)
                total += int(z.sum())
        return total
    return _median(_timed(run))


# --- Brian2 -----------------------------------------------------------------------------------
def _brian2_w1(b2) -> tuple[list, float]:
    """W1 as Brian2 objects: ([spike monitor, …], run duration)."""
    b2.defaultclock.dt = 1 * b2.ms
    eqs = "dv/dt = (-v + isyn) * 100 / second : 1\ndisyn/dt = -isyn * 200 / second : 1"
    g = b2.NeuronGroup(N, eqs, threshold="v > 0.3", reset="v = 0", method="euler")
    src = b2.PoissonGroup(N, rates=P / b2.defaultclock.dt)
    syn = b2.Synapses(src, g, on_pre="isyn_post += 1")
    syn.connect(j="i")
    return [b2.SpikeMonitor(g), g, src, syn], STEPS * b2.defaultclock.dt


def _brian2_w2(b2) -> tuple[list, float]:
    """W2 at :data:`W2_N` neurons as Brian2 objects: ([spike monitor, …], duration)."""
    b2.defaultclock.dt = 0.1 * b2.ms
    ns = {"tau": 20 * b2.ms, "E_L": -60 * b2.mV, "R": 100 * b2.Mohm, "mean": 0.25 * b2.nA,
          "std": 1 * b2.nA}
    eqs = ("dv/dt = (E_L - v + R * I) / tau : volt (unless refractory)\n"
           "I = mean + std * randn() : amp (constant over dt)")
    g = b2.NeuronGroup(W2_N, eqs, threshold="v > -50*mV", reset="v = -70*mV",
                       refractory=2 * b2.ms, method="exact", namespace=ns)
    g.v = -60 * b2.mV
    return [b2.SpikeMonitor(g), g], W2_STEPS * b2.defaultclock.dt


def _brian2_w3(b2) -> tuple[list, float]:
    """CUBA at :data:`CUBA_N` neurons as Brian2 objects: ([spike monitor, …], duration)."""
    ms, mv = b2.ms, b2.mV
    b2.defaultclock.dt = 0.1 * ms
    ns = {"taum": 20 * ms, "taue": 5 * ms, "taui": 10 * ms, "El": -49 * mv,
          "we": 60 * 0.27 / 10 * mv, "wi": -20 * 4.5 / 10 * mv}
    eqs = ("dv/dt = (ge + gi - (v - El)) / taum : volt (unless refractory)\n"
           "dge/dt = -ge / taue : volt\ndgi/dt = -gi / taui : volt")
    g = b2.NeuronGroup(CUBA_N, eqs, threshold="v > -50*mV", reset="v = -60*mV",
                       refractory=5 * ms, method="exact", namespace=ns)
    g.v = "-60*mV + rand() * 10*mV"
    n_exc = CUBA_N * 4 // 5
    ce = b2.Synapses(g, g, on_pre="ge += we", namespace=ns)
    ci = b2.Synapses(g, g, on_pre="gi += wi", namespace=ns)
    ce.connect(f"i < {n_exc}", p=0.02)
    ci.connect(f"i >= {n_exc}", p=0.02)
    return [b2.SpikeMonitor(g), g, ce, ci], CUBA_S * b2.second


BRIAN2_NETWORKS = {"W1": _brian2_w1, "W2": _brian2_w2, "W3": _brian2_w3}


def _brian2(workload: str) -> dict:
    """Runtime mode; W1 timed whole, W2 and W3 by Brian2's timing of the simulation loop of
    their ``run`` (``build_s`` beside: the objects made and the run's code generated)."""
    import brian2 as b2

    b2.prefs.codegen.target = "cython"
    build_times = []

    def run() -> tuple[float, int]:
        t0 = time.perf_counter()
        objects, duration = BRIAN2_NETWORKS[workload](b2)
        net, mon = b2.Network(objects), objects[0]
        net.run(duration)
        t2 = time.perf_counter()
        loop = b2.get_device()._last_run_time  # the loop alone, not before_run's codegen
        build_times.append(t2 - t0 - loop)
        return (t2 - t0 if workload == "W1" else loop), int(mon.num_spikes)
    out = _median(run)
    return out if workload == "W1" else {**out, "build_s": statistics.median(build_times[1:])}


def _brian2_cpp(workload: str) -> dict:
    """C++ standalone: the program is generated and compiled once (``compile_s``), then rerun;
    W1 is timed as the program's whole run (network built and run), W2 and W3 by the
    program's own timing of the run."""
    import brian2 as b2

    b2.set_device("cpp_standalone", build_on_run=False)
    b2.prefs.devices.cpp_standalone.openmp_threads = BRIAN2_CPP_THREADS[workload]
    directory = tempfile.mkdtemp(prefix="spikesim-bench-brian2-")
    objects, duration = BRIAN2_NETWORKS[workload](b2)
    b2.Network(objects).run(duration)
    mon = objects[0]
    t0 = time.perf_counter()
    b2.device.build(directory=directory, compile=True, run=True, with_output=False)
    compile_s = time.perf_counter() - t0
    walls = []

    def run() -> tuple[float, int]:
        t0 = time.perf_counter()
        b2.device.run(directory=directory, with_output=False)
        walls.append(time.perf_counter() - t0)
        return (walls[-1] if workload == "W1" else b2.device._last_run_time), int(
            mon.num_spikes)
    out = {**_median(run), "compile_s": compile_s}
    if workload != "W1":
        out["build_s"] = statistics.median(walls[1:]) - out["median_s"]
    return out


# --- NEST -------------------------------------------------------------------------------------
def _nest(workload: str) -> dict:
    """W1 timed whole; W2 and W3 their ``Run`` alone (``build_s`` beside, ``Prepare``
    included)."""
    import nest

    nest.verbosity = nest.VerbosityLevel.ERROR
    build_times = []

    def run() -> tuple[float, int]:
        t0 = time.perf_counter()
        nest.ResetKernel()
        nest.resolution = 1.0 if workload == "W1" else 0.1  # ms
        nest.local_num_threads = THREADS
        rec = nest.Create("spike_recorder")
        duration = {"W1": _nest_w1, "W2": _nest_w2, "W3": _nest_w3}[workload](nest, rec)
        nest.Prepare()  # (what Simulate does before its loop: calibration, buffers)
        t1 = time.perf_counter()
        nest.Run(duration)
        t2 = time.perf_counter()
        nest.Cleanup()
        build_times.append(t1 - t0)
        return (t2 - t0 if workload == "W1" else t2 - t1), int(rec.n_events)
    out = _median(run)
    return out if workload == "W1" else {**out, "build_s": statistics.median(build_times[1:])}


def _nest_w1(nest, rec) -> float:
    neurons = nest.Create("iaf_psc_exp", N, params={
        "tau_m": 10.0, "tau_syn_ex": 5.0, "C_m": 10.0, "E_L": 0.0, "V_m": 0.0,
        "V_th": 0.3, "V_reset": 0.0, "t_ref": 0.0})
    gen = nest.Create("poisson_generator", params={"rate": P * 1000.0})
    nest.Connect(gen, neurons, syn_spec={"weight": 1.0, "delay": 1.0})
    nest.Connect(neurons, rec)
    return float(STEPS)  # ms


def _nest_w2(nest, rec) -> float:
    neurons = nest.Create("iaf_psc_exp", W2_N, params={
        "tau_m": 20.0, "C_m": 200.0, "E_L": -60.0, "V_m": -60.0, "V_th": -50.0,
        "V_reset": -70.0, "t_ref": 2.0})  # C_m = tau / R with R = 100 MΩ (pF)
    noise = nest.Create("noise_generator", params={"mean": 250.0, "std": 1000.0, "dt": 0.1})
    nest.Connect(noise, neurons)
    nest.Connect(neurons, rec)
    return W2_STEPS * 0.1  # ms


def _nest_w3(nest, rec) -> float:
    c_m, tau_m = 250.0, 20.0  # pF, ms: a jump of x mV in Brian's ge is x·C_m/τ_m pA
    neurons = nest.Create("iaf_psc_exp", CUBA_N, params={
        "tau_m": tau_m, "C_m": c_m, "tau_syn_ex": 5.0, "tau_syn_in": 10.0, "E_L": -49.0,
        "V_th": -50.0, "V_reset": -60.0, "t_ref": 5.0})
    neurons.V_m = nest.random.uniform(-60.0, -50.0)
    n_exc = CUBA_N * 4 // 5
    rule = {"rule": "pairwise_bernoulli", "p": 0.02}
    nest.Connect(neurons[:n_exc], neurons, rule,
                 {"weight": 60 * 0.27 / 10 * c_m / tau_m, "delay": 0.1})
    nest.Connect(neurons[n_exc:], neurons, rule,
                 {"weight": -20 * 4.5 / 10 * c_m / tau_m, "delay": 0.1})
    nest.Connect(neurons, rec)
    return CUBA_S * 1000.0  # ms


RUNNERS: dict[str, dict[str, Callable[[], dict]]] = {
    "W1": {"norse": _w1_norse, "snntorch": _w1_snntorch, "brian2": lambda: _brian2("W1"),
           "brian2 cpp_standalone": lambda: _brian2_cpp("W1"), "nest": lambda: _nest("W1")},
    "W2": {"norse": _w2_norse, "brian2": lambda: _brian2("W2"),
           "brian2 cpp_standalone": lambda: _brian2_cpp("W2"), "nest": lambda: _nest("W2")},
    "W3": {"brian2": lambda: _brian2("W3"), "brian2 cpp_standalone": lambda: _brian2_cpp("W3"),
           "nest": lambda: _nest("W3")},
}  # workload → peer → case


def run_peer(workload: str, name: str) -> dict:
    """``workload`` with peer ``name`` (keys of :data:`RUNNERS`): {"median_s": s, "spikes":
    count, "rate_hz": mean rate (Hz), and "build_s", "compile_s" (s) where they apply}."""
    os.environ.setdefault("OMP_NUM_THREADS", str(THREADS))
    out = RUNNERS[workload][name]()
    n, seconds = SHAPES[workload]
    return {**out, "rate_hz": out["spikes"] / (n * seconds)}
