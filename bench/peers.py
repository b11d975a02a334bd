"""W1 (1000 LIF neurons, 1000 steps of 1 ms, input spikes with probability 0.01 per step) with
other simulators, each run in its own interpreter by ``python -m bench.probe peer NAME`` when
it is importable. Nothing is installed for them. Each function returns the median seconds of
three runs after a warm-up (network built and run, spikes counted) and the last spike count.

The models are each simulator's nearest equivalent: Norse's LIF (forward Euler, the tutorial
itself, input array given); snnTorch's discrete-time ``Synaptic`` neuron (alpha 0.8, beta 0.9,
input scaled by dt/tau_mem = 0.1, since it adds the synaptic current to the membrane unscaled);
Brian2's NeuronGroup with Euler and a PoissonGroup; NEST's ``iaf_psc_exp`` (exact integration;
mV and pA with R = 1 GΩ) and a ``poisson_generator``, on 2 threads.
"""

from __future__ import annotations

import importlib.util
import statistics
import time
from collections.abc import Callable

N, STEPS, P = 1000, 1000, 0.01


def installed(name: str) -> bool:
    """Whether the peer's package can be imported here (without importing it)."""
    return importlib.util.find_spec(name) is not None


def _median(run: Callable[[], int]) -> dict:
    run()
    times, spikes = [], 0
    for _ in range(3):
        t0 = time.perf_counter()
        spikes = run()
        times.append(time.perf_counter() - t0)
    return {"median_s": statistics.median(times), "spikes": int(spikes)}


def _norse() -> dict:
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
    return _median(run)


def _snntorch() -> dict:
    import snntorch as snn
    import torch

    data = (torch.rand(STEPS, N) < P).float() * 0.1  # weight 1 times dt/tau_mem

    def run() -> int:
        lif = snn.Synaptic(alpha=0.8, beta=0.9, threshold=0.3, reset_mechanism="zero")
        syn, mem = lif.init_synaptic()
        total = 0
        with torch.no_grad():
            for x in data:
                spk, syn, mem = lif(x, syn, mem)
                total += int(spk.sum())
        return total
    return _median(run)


def _brian2() -> dict:
    import brian2 as b2

    def run() -> int:
        b2.start_scope()
        b2.defaultclock.dt = 1 * b2.ms
        eqs = "dv/dt = (-v + isyn) * 100 / second : 1\ndisyn/dt = -isyn * 200 / second : 1"
        g = b2.NeuronGroup(N, eqs, threshold="v > 0.3", reset="v = 0", method="euler")
        src = b2.PoissonGroup(N, rates=P / b2.defaultclock.dt)
        syn = b2.Synapses(src, g, on_pre="isyn_post += 1")
        syn.connect(j="i")
        mon = b2.SpikeMonitor(g)
        b2.run(STEPS * b2.defaultclock.dt)
        return mon.num_spikes
    return _median(run)


def _nest() -> dict:
    import nest

    nest.set_verbosity("M_ERROR")

    def run() -> int:
        nest.ResetKernel()
        nest.resolution = 1.0
        nest.local_num_threads = 2
        neurons = nest.Create("iaf_psc_exp", N, params={
            "tau_m": 10.0, "tau_syn_ex": 5.0, "C_m": 10.0, "E_L": 0.0, "V_m": 0.0,
            "V_th": 0.3, "V_reset": 0.0, "t_ref": 0.0})
        gen = nest.Create("poisson_generator", params={"rate": P * 1000.0})
        nest.Connect(gen, neurons, syn_spec={"weight": 1.0, "delay": 1.0})
        rec = nest.Create("spike_recorder")
        nest.Connect(neurons, rec)
        nest.Simulate(float(STEPS))
        return rec.n_events
    return _median(run)


RUNNERS = {"norse": _norse, "snntorch": _snntorch, "brian2": _brian2, "nest": _nest}


def run_peer(name: str) -> dict:
    """W1 with peer ``name`` (a key of :data:`RUNNERS`): {"median_s": s, "spikes": count}."""
    return RUNNERS[name]()
