"""The CUDA backend against the CPU backend, on the CUDA simulator.

Every case builds the same small network twice — ``backend="cpu"`` and ``backend="cuda"`` — runs
both and compares what the monitors recorded and the final state: exactly in float64, by spike
counts in float32 (the documented guarantee there: under the simulator the model arithmetic of
a float32 kernel runs in float64, because ``params`` hands the parameters back to Python as
Python floats, so its values differ from the CPU's in the last bits).

The CUDA side runs on numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``), which must be chosen
before ``numba.cuda`` is first imported — too late inside a pytest process whose other modules
may already have imported it. So the comparisons run in ONE subprocess started with that
environment (this file run as a script: ``python tests/test_cuda.py CASE:DTYPE ...`` prints the
recorded results as JSON), for the cases selected in this session; the tests compare them here.
The subprocess sets 4 threads per block and at most 3 blocks, so that several blocks and the
grid-stride loops run. The simulator is slow (kernels run as Python threads): every network is
tiny.

On a machine with an NVIDIA GPU, ``SPIKESIM_TEST_GPU=1`` runs the same comparisons on the GPU
instead of the simulator, with the launch configuration users get (``THREADS_PER_BLOCK``,
``MAX_BLOCKS`` as shipped).
"""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
import tempfile
import traceback

import numpy as np
import pytest

import spikesim as ss

pytestmark = pytest.mark.cuda

DT = 1e-3
ON_GPU = os.environ.get("SPIKESIM_TEST_GPU") == "1"  # compare on a real GPU, not the simulator
FLOAT32_TOLERANCE = 0.05  # float32: spike counts agree within 5 % (+ 2 spikes) per monitor
FLOAT64_GPU_TOLERANCE = {"rtol": 1e-13, "atol": 1e-14}  # an H200 differed by at most 4.4e-16


# --------------------------------------------------------------------------------------------
# Cases: ``case(backend, dtype) -> (net, monitors)``, already run. Identical on both backends.
# --------------------------------------------------------------------------------------------

def _lif(n, **kw):
    kw = dict(tau_mem=10e-3, tau_syn=5e-3, v_th=0.3, refractory=2e-3) | kw
    return ss.LIF(n, **kw)


def case_lif_euler(backend, dtype):
    """LIF (Euler), reset to value, refractory; Bernoulli input one-to-one, constant current,
    sparse random recurrence (delay 1 step, into i)."""
    net = ss.Network(dt=DT, seed=3, dtype=dtype, backend=backend, chunk=9)
    lif = net.add(_lif(12, method="euler"))
    inp = net.add(ss.BernoulliInput(12, p=0.3))
    net.add(ss.ConstantCurrent(lif, 0.05))
    net.connect(inp, lif, "one_to_one", weight=1.0)
    net.connect(lif, lif, "random", p=0.3, weight=0.2)
    mons = [net.add(ss.SpikeMonitor(lif)), net.add(ss.SpikeMonitor(inp)),
            net.add(ss.StateMonitor(lif, ["v", "i", "refc"], every=2))]
    net.run(25 * DT)
    return net, mons


def _delays_network(backend, dtype):
    """LIF (exact), batch 2, Gaussian noise; Poisson input all-to-all (dense) with a 3-step
    delay; fixed-in-degree recurrence with per-synapse delays (ring buffer). -> (net, lif, inp)"""
    net = ss.Network(dt=DT, seed=5, dtype=dtype, batch=2, backend=backend, chunk=10)
    lif = net.add(_lif(10, method="exact", v_init=ss.Uniform(0.0, 0.3)))
    inp = net.add(ss.PoissonInput(6, rate=150.0))
    net.add(ss.NoiseCurrent(lif, mean=0.1, std=0.2))
    net.connect(inp, lif, "all_to_all", weight=ss.Uniform(0.2, 0.8), delay=3 * DT)
    net.connect(lif, lif, "fixed_indegree", k=3, weight=ss.Normal(0.3, 0.1),
                delay=ss.Uniform(DT, 4 * DT))
    return net, lif, inp


def case_lif_exact_delays(backend, dtype):
    """The delays network (:func:`_delays_network`) run for 25 steps."""
    net, lif, inp = _delays_network(backend, dtype)
    mons = [net.add(ss.SpikeMonitor(lif)), net.add(ss.SpikeMonitor(inp)),
            net.add(ss.StateMonitor(lif, ["v", "i"], ids=[0, 3, 9]))]
    net.run(25 * DT)
    return net, mons


def case_ring_offsets(backend, dtype):
    """Delayed input only into the second and fourth of four populations (the ring buffer
    holds those two, each from its own offset): Bernoulli input with 2- and 4-step delays,
    recurrence from the undelayed populations with per-synapse delays."""
    net = ss.Network(dt=DT, seed=11, dtype=dtype, batch=2, backend=backend, chunk=7)
    pops = [net.add(_lif(n, method="exact"), name=f"p{q}") for q, n in enumerate((5, 7, 3, 6))]
    inp = net.add(ss.BernoulliInput(8, p=0.4))
    for pop, delay in zip(pops, (None, 2 * DT, None, 4 * DT)):
        net.connect(inp, pop, "random", p=0.6, weight=0.5, delay=delay)
    net.connect(pops[0], pops[3], "all_to_all", weight=0.4, delay=ss.Uniform(DT, 5 * DT))
    net.connect(pops[2], pops[1], "all_to_all", weight=0.3)
    mons = [net.add(ss.SpikeMonitor(pop)) for pop in pops] + [
        net.add(ss.StateMonitor(pops[3], ["v", "i"]))]
    net.run(25 * DT)
    assert net.state["ring"].shape[2] == 7 + 6
    return net, mons


def case_rc(backend, dtype):
    """RC (exact), subtractive reset, refractory; Gaussian + uniform noise and a step current;
    spike times one-to-one into v with a 2-step delay."""
    net = ss.Network(dt=DT, seed=7, dtype=dtype, backend=backend)
    rc = net.add(ss.RC(10, R=1.0, tau=5e-3, v_th=0.5, reset="subtract", refractory=1e-3,
                       method="exact"))
    net.add(ss.NoiseCurrent(rc, mean=0.2, std=0.3))
    net.add(ss.UniformNoiseCurrent(rc, mean=0.1, half_width=0.2))
    net.add(ss.StepCurrent(rc, [0.0, 10 * DT], [0.0, 0.3]))
    st = net.add(ss.SpikeTimes(10, [2 * DT, 2 * DT, 5 * DT, 11 * DT], [0, 4, 4, 9]))
    net.connect(st, rc, "one_to_one", weight=0.4, delay=2 * DT)
    mons = [net.add(ss.SpikeMonitor(rc)), net.add(ss.SpikeMonitor(st)),
            net.add(ss.StateMonitor(rc, ["v", "refc"]))]
    net.run(20 * DT)
    return net, mons


def case_rc_euler_ou(backend, dtype):
    """RC (Euler) without reset ("none"), Ornstein-Uhlenbeck current and a current array per
    realization (T, B, n), batch 2; no projections (the one-launch-per-chunk path)."""
    net = ss.Network(dt=DT, seed=9, dtype=dtype, batch=2, backend=backend, chunk=8)
    rc = net.add(ss.RC(8, R=1.0, tau=10e-3, v_th=0.2, reset="none", method="euler"))
    net.add(ss.OUCurrent(rc, mean=0.3, std=0.5, tau=5e-3))
    net.add(ss.CurrentArray(rc, np.random.default_rng(3).uniform(-0.1, 0.3, (20, 2, 8))))
    mons = [net.add(ss.SpikeMonitor(rc)), net.add(ss.StateMonitor(rc, "v", every=3))]
    net.run(20 * DT)
    return net, mons


def case_leaky(backend, dtype):
    """Leaky (subtractive reset); constant-probability rate coding (geometric skipping) into v;
    a current array."""
    net = ss.Network(dt=DT, seed=11, dtype=dtype, backend=backend)
    lk = net.add(ss.Leaky(8, beta=0.8, v_th=1.0))
    src = net.add(ss.RateCoded(np.linspace(0.1, 0.6, 8)))
    net.add(ss.CurrentArray(lk, np.random.default_rng(0).uniform(0, 0.3, (20, 8))))
    net.connect(src, lk, "one_to_one", weight=0.7)
    mons = [net.add(ss.SpikeMonitor(lk)), net.add(ss.SpikeMonitor(src)),
            net.add(ss.StateMonitor(lk, "v"))]
    net.run(20 * DT)
    return net, mons


def case_synaptic(backend, dtype):
    """Synaptic (reset to value); per-step rate coding (T, n); a pulse current; a spike array
    through an explicit sparse matrix with a 2-step delay into i."""
    net = ss.Network(dt=DT, seed=13, dtype=dtype, backend=backend)
    sy = net.add(ss.Synaptic(8, alpha=0.7, beta=0.8, v_th=1.0, reset="value"))
    rate = net.add(ss.RateCoded(np.random.default_rng(1).uniform(0, 0.5, (20, 6))))
    arr = np.random.default_rng(2).random((20, 5)) < 0.3
    sa = net.add(ss.SpikeArray(arr))
    net.add(ss.PulseCurrent(sy, start=3 * DT, width=2 * DT, amplitude=0.5, period=6 * DT,
                            count=3))
    rng = np.random.default_rng(3)
    matrix = np.where(rng.random((5, 8)) < 0.4, rng.uniform(0.2, 0.9, (5, 8)), 0.0)
    net.connect(sa, sy, "explicit", matrix=matrix, delay=2 * DT)
    net.connect(rate, sy, "random", p=0.5, weight=0.4)
    mons = [net.add(ss.SpikeMonitor(sy)), net.add(ss.SpikeMonitor(rate)),
            net.add(ss.SpikeMonitor(sa)), net.add(ss.StateMonitor(sy, ["v", "i"]))]
    net.run(20 * DT)
    return net, mons


def case_given_masks(backend, dtype):
    """Given arrays one to one, which the CPU reads as masks and adds before the other inputs:
    one with a weight per neuron behind a recurrent projection into the same i, recorded, and
    shorter than the run; one into the second current i_inh. Batch 2."""
    net = ss.Network(dt=DT, seed=21, dtype=dtype, batch=2, backend=backend, chunk=7)
    lif = net.add(_lif(9, tau_syn_inh=8e-3, method="exact"))
    rng = np.random.default_rng(4)
    exc = net.add(ss.SpikeArray(rng.random((15, 9)) < 0.4))
    inh = net.add(ss.SpikeArray(rng.random((20, 9)) < 0.2))
    net.connect(lif, lif, "random", p=0.4, weight=0.13)
    net.connect(exc, lif, "one_to_one", weight=rng.uniform(0.3, 0.9, 9))
    net.connect(inh, lif, "one_to_one", weight=-0.4, receptor="i_inh")
    mons = [net.add(ss.SpikeMonitor(lif)), net.add(ss.SpikeMonitor(exc)),
            net.add(ss.StateMonitor(lif, ["v", "i", "i_inh"]))]
    net.run(20 * DT)
    return net, mons


def case_adaptive(backend, dtype):
    """AdaptiveLIF (exact), batch 3, OU current, Poisson input with a time-varying rate,
    random recurrence."""
    net = ss.Network(dt=DT, seed=15, dtype=dtype, batch=3, backend=backend, chunk=12)
    ad = net.add(ss.AdaptiveLIF(8, tau_mem=10e-3, tau_syn=5e-3, v_th=0.3, tau_w=50e-3, b=0.1,
                                refractory=ss.Uniform(1e-3, 3e-3), method="exact"))
    net.add(ss.OUCurrent(ad, mean=0.2, std=0.4, tau=5e-3))
    inp = net.add(ss.PoissonInput(8, rate=lambda t: 100.0 + 4000.0 * t))
    net.connect(inp, ad, "one_to_one", weight=0.8)
    net.connect(ad, ad, "random", p=0.4, weight=-0.2)
    mons = [net.add(ss.SpikeMonitor(ad)), net.add(ss.StateMonitor(ad, ["v", "i", "w"]))]
    net.run(25 * DT)
    return net, mons


def case_two_currents(backend, dtype):
    """LIF with a second synaptic current (receptor i_inh: the w slot, delay 1) and excitatory
    input with a 2-step delay into i; Euler."""
    net = ss.Network(dt=DT, seed=17, dtype=dtype, backend=backend)
    lif = net.add(_lif(10, tau_syn_inh=8e-3, method="euler"))
    exc = net.add(ss.BernoulliInput(10, p=0.4))
    inh = net.add(ss.BernoulliInput(5, p=0.3))
    net.connect(exc, lif, "random", p=0.5, weight=0.6, delay=2 * DT)
    net.connect(inh, lif, "all_to_all", weight=-0.3, receptor="i_inh")
    net.connect(lif, lif, "random", p=0.3, weight=-0.1, receptor="i_inh")
    mons = [net.add(ss.SpikeMonitor(lif)), net.add(ss.StateMonitor(lif, ["v", "i", "i_inh"]))]
    net.run(20 * DT)
    return net, mons


def case_delays_into_every_receptor(backend, dtype):
    """Delays over one step into both currents of a LIF (i and i_inh: the ring holds two
    segments of it) and into the v of an RC population after it; per-synapse delays into
    i_inh; batch 2."""
    net = ss.Network(dt=DT, seed=23, dtype=dtype, batch=2, backend=backend, chunk=7)
    lif = net.add(_lif(10, tau_syn_inh=8e-3, method="exact"))
    rc = net.add(ss.RC(6, R=1.0, tau=5e-3, v_th=0.5, method="exact"))
    exc = net.add(ss.BernoulliInput(10, p=0.4))
    inh = net.add(ss.BernoulliInput(5, p=0.3))
    net.connect(exc, lif, "random", p=0.5, weight=0.6, delay=2 * DT)
    net.connect(inh, lif, "all_to_all", weight=-0.3, receptor="i_inh", delay=3 * DT)
    net.connect(lif, lif, "random", p=0.3, weight=-0.1, receptor="i_inh",
                delay=ss.Uniform(DT, 4 * DT))
    net.connect(exc, rc, "random", p=0.4, weight=0.3, delay=ss.Uniform(DT, 3 * DT))
    mons = [net.add(ss.SpikeMonitor(lif)), net.add(ss.SpikeMonitor(rc)),
            net.add(ss.StateMonitor(lif, ["v", "i", "i_inh"])), net.add(ss.StateMonitor(rc, "v"))]
    net.run(25 * DT)
    assert net.state["ring"].shape[2] == 2 * 10 + 6
    return net, mons


def case_uncoupled_flushes(backend, dtype):
    """Independent neurons and sources (one launch per chunk), batch 2, recording a subset
    every 3 steps, two runs, and a spike buffer so small that it is emptied mid-chunk; a
    RateCoded source and a SpikeArray with data per realization."""
    net = ss.Network(dt=DT, seed=19, dtype=dtype, batch=2, backend=backend, chunk=7)
    lif = net.add(_lif(10, method="exact"))
    net.add(ss.NoiseCurrent(lif, mean=0.5, std=0.5))
    src = net.add(ss.BernoulliInput(6, p=0.5))
    coded = net.add(ss.RateCoded(np.random.default_rng(2).random((16, 2, 5)) * 0.7))
    given = net.add(ss.SpikeArray(np.random.default_rng(3).random((18, 2, 5)) < 0.4))
    mons = [net.add(ss.SpikeMonitor(lif)), net.add(ss.SpikeMonitor(src, ids=[1, 4])),
            net.add(ss.StateMonitor(lif, ["v", "i"], ids=[2, 5], every=3)),
            net.add(ss.SpikeMonitor(coded)), net.add(ss.SpikeMonitor(given))]
    net.run(12 * DT)
    net.run(9 * DT)
    return net, mons


def case_poisson_drives(backend, dtype):
    """Poisson drives into v (RC, refractory, independent: one launch per chunk) and into i and
    i_inh of a coupled LIF with a given array read as a mask (the order of arrivals) and one
    given per realization, batch 2."""
    net = ss.Network(dt=DT, seed=23, dtype=dtype, batch=2, backend=backend, chunk=6)
    rc = net.add(ss.RC(9, R=1.0, tau=5e-3, v_th=0.6, refractory=2e-3, method="exact"))
    net.add(ss.PoissonDrive(rc, rate=900.0, weight=0.15))
    net.add(ss.NoiseCurrent(rc, mean=0.1, std=0.1))
    lif = net.add(_lif(8, tau_syn_inh=8e-3, method="exact"))
    net.add(ss.PoissonDrive(lif, rate=2500.0, weight=0.3))
    net.add(ss.PoissonDrive(lif, rate=700.0, weight=-0.2, receptor="i_inh"))
    given = net.add(ss.SpikeArray(np.random.default_rng(4).random((20, 8)) < 0.3))
    net.connect(given, lif, "one_to_one", weight=0.25)
    each = net.add(ss.SpikeArray(np.random.default_rng(5).random((20, 2, 8)) < 0.3))
    net.connect(each, lif, "one_to_one", weight=-0.2, receptor="i_inh")  # (its own spikes
    net.connect(lif, lif, "random", p=0.4, weight=0.1)  # in each realization: event lists)
    mons = [net.add(ss.SpikeMonitor(rc)), net.add(ss.SpikeMonitor(lif)),
            net.add(ss.StateMonitor(lif, ["v", "i", "i_inh"], every=2))]
    net.run(20 * DT)
    return net, mons


def case_poisson_drive_uncoupled(backend, dtype):
    """A Poisson drive alone (one launch per chunk, samples taken in the neuron kernel)."""
    net = ss.Network(dt=DT, seed=29, dtype=dtype, backend=backend, chunk=7)
    rc = net.add(ss.RC(9, R=1.0, tau=5e-3, v_th=0.6, refractory=2e-3, method="euler"))
    net.add(ss.PoissonDrive(rc, rate=900.0, weight=0.15))
    mons = [net.add(ss.SpikeMonitor(rc)), net.add(ss.StateMonitor(rc, ["v", "refc"]))]
    net.run(20 * DT)
    return net, mons


def case_marked_flushes(backend, dtype):
    """:func:`case_lif_exact_delays` with the marking of targets (the large-network path) and
    the smallest spike buffer (emptied every other step)."""
    return case_lif_exact_delays(backend, dtype)


def case_checkpoint(backend, dtype):
    """Run, checkpoint (the device state comes back to net.state), restore into a new network
    and continue."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "ckpt.h5")
        net, _ = case_lif_exact_delays(backend, dtype)
        ss.save_checkpoint(net, path)
        net2, lif, _ = _delays_network(backend, dtype)
        mons = [net2.add(ss.SpikeMonitor(lif)), net2.add(ss.StateMonitor(lif, ["v", "i"]))]
        ss.load_checkpoint(net2, path)
        net2.run(15 * DT)
    return net2, mons


def case_store_restore(backend, dtype):
    """Run, store, run on at another input rate, restore (the device state of the next run
    comes from net.state) and run again: the monitors hold the first run and the last."""
    net, lif, inp = _delays_network(backend, dtype)
    mons = [net.add(ss.SpikeMonitor(lif)), net.add(ss.StateMonitor(lif, ["v", "i"]))]
    net.run(12 * DT)
    net.store()
    inp.rate = 400.0
    net.run(10 * DT)
    net.restore()
    inp.rate = 150.0
    net.run(13 * DT)
    return net, mons


def case_overflow(backend, dtype):
    """Noise too large for the dtype: both backends stop the run with FloatingPointError at
    the same step (the check runs every FINITE_CHECK_STEPS = 1000 steps; one launch per chunk
    of 10 on the device). A draw overflows where |z| > max / std (1.13 for float32's 3.4e38 /
    3e38; 1.8 in float64): a neuron turns NaN at its first overflows of both signs, within the
    first 1000 steps for every seed (std 1e38, |z| > 3.4: not before step 2000 for 40 % of
    seeds)."""
    net = ss.Network(dt=DT, seed=23, dtype=dtype, backend=backend, chunk=10)
    lif = net.add(_lif(4, method="exact"))
    net.add(ss.NoiseCurrent(lif, std=1e308 if dtype == np.float64 else 3e38))
    mons = [net.add(ss.SpikeMonitor(lif)), net.add(ss.StateMonitor(lif, "v", every=100))]
    try:
        net.run(2.0)
    except FloatingPointError as e:
        if "LIF 'lif0': v became NaN or infinite" not in str(e) or net.step != 1000:
            raise
    else:
        raise AssertionError(f"no FloatingPointError on backend={backend}")
    return net, mons


class _FailingSpikeMonitor(ss.SpikeMonitor):
    """Raises the second time it receives spikes (the state has advanced by then)."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.calls = 0

    def spikes_in(self, *args):
        self.calls += 1
        if self.calls == 2:
            raise RuntimeError("monitor failed")
        super().spikes_in(*args)


def case_monitor_error(backend, dtype):
    """A monitor raising in the second chunk of a coupled network: net.step is where the state
    is, and the next run continues from there on both backends."""
    net = ss.Network(dt=DT, seed=3, dtype=dtype, backend=backend, chunk=10)
    lif = net.add(_lif(12, method="euler"))
    net.connect(net.add(ss.BernoulliInput(12, p=0.3)), lif, "one_to_one", weight=1.0)
    net.connect(lif, lif, "random", p=0.3, weight=0.2)
    mons = [net.add(ss.SpikeMonitor(lif))]
    net.add(_FailingSpikeMonitor(lif))
    try:
        net.run(30 * DT)
    except RuntimeError:
        assert net.step == 20, net.step
    net.run(10 * DT)
    return net, mons


def case_midrun_checkpoint(backend, dtype):
    """A checkpoint saved from a progress callback in the middle of a run (the CUDA state is
    fetched from the device for it), resumed in a new network."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "ckpt.h5")
        net, _, _ = _delays_network(backend, dtype)
        net.run(20 * DT, progress=lambda done, total: done == 10 and ss.save_checkpoint(net,
                                                                                        path))
        net2, lif, _ = _delays_network(backend, dtype)
        mons = [net2.add(ss.SpikeMonitor(lif)), net2.add(ss.StateMonitor(lif, ["v", "i"]))]
        ss.load_checkpoint(net2, path)
        assert net2.step == 10, net2.step
        net2.run(15 * DT)
    return net2, mons


def case_nested_run(backend, dtype):
    """A run started from another run's progress callback goes on from the state that run
    reached (on the GPU the two share the device state), and the outer run then goes on from
    the inner one's end."""
    net = ss.Network(dt=DT, seed=13, dtype=dtype, backend=backend, chunk=5)
    lif = net.add(_lif(6, method="euler"))
    net.add(ss.ConstantCurrent(lif, 0.5))
    net.connect(lif, lif, "random", p=0.5, weight=0.05)
    mons = [net.add(ss.SpikeMonitor(lif))]
    inner = []

    def progress(done, total):
        if not inner:
            inner.append(done)
            net.run(3 * DT)

    net.run(15 * DT, progress=progress)
    return net, mons


CASES = {name[5:]: fn for name, fn in globals().items() if name.startswith("case_")}
# module attributes of spikesim.cuda set while a case runs (both backends; the CPU ignores them)
PATCHES = {"marked_flushes": {"MARK_MIN_SYNAPSES": 0, "REC_CAP": 0},
           "uncoupled_flushes": {"REC_CAP": 0}}
FLOAT32_CASES = ("lif_euler", "lif_exact_delays", "rc", "adaptive", "uncoupled_flushes",
                 "overflow", "poisson_drives")
SELECTION = [f"{c}:float64" for c in CASES] + [f"{c}:float32" for c in FLOAT32_CASES]


# --------------------------------------------------------------------------------------------
# The subprocess side.
# --------------------------------------------------------------------------------------------

def _record(net, mons) -> dict:
    out = {"spikes": [], "traces": [],
           "state": {k: v.tolist() for k, v in net.state.items() if k != "ring"},
           "ring": np.asarray(net.state["ring"]).tolist()}
    for m in mons:
        if isinstance(m, ss.SpikeMonitor):
            s = m.spikes
            out["spikes"].append([np.rint(s.times / net.dt).astype(int).tolist(),
                                  s.realizations.tolist(), s.ids.tolist()])
        else:
            out["traces"].append({var: m.trace(var).values.tolist() for var in m.variables})
    return out


def _worker(selection: list[str]) -> dict:
    """Run the selected ``case:dtype`` on both backends; results or errors as a JSON-able
    dict."""
    try:
        from numba import cuda
        from spikesim.kernels import cuda as KG

        from spikesim import cuda as SC
    except ImportError as e:
        return {"unavailable": f"numba-cuda is not importable: {e}"}
    if ON_GPU:
        if KG.SIMULATOR or not cuda.is_available():
            return {"unavailable": "SPIKESIM_TEST_GPU=1 but no GPU is available"}
    elif not KG.SIMULATOR:
        return {"unavailable": "the CUDA simulator did not start"}
    else:
        KG.THREADS_PER_BLOCK, KG.MAX_BLOCKS = 4, 3
    results = {"signatures": {}}
    launch = KG.launch

    def recording_launch(kernel, n_items, *args):  # the argument types, for test_kernels_compile
        desc = [[np.asarray(KG._raw(a)).dtype.name, np.ndim(KG._raw(a))] for a in args]
        sigs = results["signatures"].setdefault(kernel.fn.__name__, [])
        if desc not in sigs:
            sigs.append(desc)
        launch(kernel, n_items, *args)

    if KG.SIMULATOR:
        KG.launch = recording_launch
    for key in selection:
        name, dtype = key.split(":")
        saved = {a: getattr(SC, a) for a in PATCHES.get(name, {})}
        try:
            for a, value in PATCHES.get(name, {}).items():
                setattr(SC, a, value)
            results[key] = {be: _record(*CASES[name](be, np.dtype(dtype)))
                            for be in ("cpu", "cuda")}
        except Exception:
            results[key] = {"error": traceback.format_exc()}
        finally:
            for a, value in saved.items():
                setattr(SC, a, value)
    return results


# --------------------------------------------------------------------------------------------
# The pytest side.
# --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def results(request):
    """Run every case selected in this session in one simulator subprocess."""
    wanted = sorted({item.callspec.params["case"] for item in request.session.items
                     if item.module is sys.modules[__name__] and hasattr(item, "callspec")
                     and "case" in item.callspec.params})
    if any(item.name == "test_kernels_compile_for_a_gpu" for item in request.session.items):
        wanted = sorted(set(wanted) | {"marked_flushes:float64", "marked_flushes:float32"})
    root = os.path.dirname(os.path.dirname(os.path.abspath(ss.__file__)))
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="0" if ON_GPU else "1",
               PYTHONPATH=os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), *wanted], env=env,
                          capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        pytest.fail(f"the simulator subprocess failed:\n{proc.stderr[-5000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    if "unavailable" in out:
        pytest.skip(out["unavailable"])
    return out


def _compile_ptx(signatures: dict) -> dict:
    """Compile every kernel for a real GPU (PTX for compute capability 9.0) with the argument
    types the simulator run used, without a GPU: needs libNVVM and libdevice, and patches two
    numba-cuda internals that otherwise ask a driver. Returns per kernel and signature the
    number of float32 FMAs in the PTX, plus the FMAs of a probe kernel calling ``update``
    compiled with and without strict_fp."""
    os.environ.setdefault("NUMBA_FORCE_CUDA_CC", "9.0")
    try:
        from numba import cuda
        from numba.core import types
        from numba.cuda import dispatcher
        from numba.cuda.cudadrv import nvvm
        from numba.np.numpy_support import from_dtype
    except ImportError as e:
        return {"unavailable": f"numba-cuda internals not found: {e}"}
    libdevice = glob.glob(os.path.join(os.environ["CUDA_HOME"], "nvvm", "libdevice", "*.bc"))[0]
    nvvm.get_libdevice = lambda: libdevice
    nvvm.open_libdevice = lambda: open(libdevice, "rb").read()

    class Device:
        compute_capability = (9, 0)

    dispatcher.get_current_device = lambda: Device()
    from spikesim.kernels import cuda as KG
    from spikesim.kernels.neurons import params, update

    def typ(dtype, ndim):
        t = from_dtype(np.dtype(dtype))
        return types.Array(t, ndim, "C") if ndim else t

    out = {}
    with KG.strict_fp():
        for name, sigs in signatures.items():
            for desc in sigs:
                ptx, _ = cuda.compile_ptx(getattr(KG, name).py_func,
                                          tuple(typ(*d) for d in desc), cc=(9, 0))
                out.setdefault(name, []).append(ptx.count("fma.rn.f32"))

    def probe(v, i, w, r, par, out):
        x = cuda.grid(1)
        if x < v.shape[0]:
            a, b, c, d, e = update(0, 0, v[x], i[x], w[x], r[x], v[x], params(par, 0))
            out[x] = a + b

    f8 = types.Array(types.float64, 1, "C")
    sig = (f8, f8, f8, types.Array(types.int32, 1, "C"), types.Array(types.float64, 2, "C"), f8)
    for strict in (False, True):
        KG._STRICT.on = strict
        out[f"probe_fma_strict_{strict}"] = cuda.compile_ptx(probe, sig, cc=(9, 0))[0].count("fma")
    KG._STRICT.on = False
    return out


def _toolkit() -> str | None:
    """A CUDA toolkit folder with libNVVM and libdevice, or None."""
    for root in [os.environ.get("CUDA_HOME"), os.environ.get("CUDA_PATH"),
                 *sorted(glob.glob("/usr/local/cuda*"))]:
        if root and glob.glob(os.path.join(root, "nvvm", "libdevice", "*.bc")) and (
                glob.glob(os.path.join(root, "lib*", "libnvvm.so*"))
                or glob.glob(os.path.join(root, "nvvm", "lib*", "libnvvm.so*"))):
            return root
    return None


@pytest.mark.slow
def test_kernels_compile_for_a_gpu(results):
    """The kernels, calling the shared @njit model and RNG functions, compile to PTX for a
    real GPU (not only run on the simulator), and strict_fp leaves no contracted FMA in the
    model arithmetic: ``update`` alone has FMAs by default and none under strict_fp; the
    float32 kernels have no float32 FMA (libdevice's float64 log/exp keep theirs)."""
    root = _toolkit()
    if root is None:
        pytest.skip("no CUDA toolkit with libNVVM and libdevice found (set CUDA_HOME)")
    root_pkg = os.path.dirname(os.path.dirname(os.path.abspath(ss.__file__)))
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    env.update(CUDA_HOME=root, PYTHONPATH=os.pathsep.join([root_pkg,
                                                           os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--ptx"], env=env,
                          input=json.dumps(results["signatures"]), capture_output=True,
                          text=True, timeout=900)
    if proc.returncode != 0:
        pytest.fail(f"PTX compilation failed:\n{proc.stderr[-5000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    if "unavailable" in out:
        pytest.skip(out["unavailable"])
    assert set(out) >= {"step_units", "gather_deliver", "mark_targets"}
    assert out["probe_fma_strict_False"] > 0 and out["probe_fma_strict_True"] == 0
    assert all(n == 0 for name in ("step_units", "gather_deliver", "mark_targets")
               for n in out[name])


def test_kernels_are_compiled_without_lto():
    """strict_fp's ``-fma=0`` reaches NVVM only: with link-time optimisation (numba-cuda's default
    wherever it finds nvJitLink) nvJitLink generates the code with its own ``-fma=1`` and
    contracts a*b+c into FMAs again (step_units' PTX after LTO: 139 float64 FMAs, 20 float32
    ones, no mul.rn; without LTO: libdevice's 107 float64 FMAs only). So no kernel uses LTO."""
    import inspect

    cuda = pytest.importorskip("numba.cuda")
    from spikesim.kernels import cuda as KG

    if KG.SIMULATOR:
        pytest.skip("the CUDA simulator compiles nothing")
    if "lto" not in inspect.signature(cuda.jit).parameters:
        pytest.skip("this numba.cuda has no link-time optimisation")
    for kernel in (KG.step_units, KG.mark_targets, KG.gather_deliver, KG.count_nonfinite,
                   KG.triad):
        assert kernel.targetoptions.get("lto") is False, kernel.py_func.__name__


def _get(results, case):
    r = results[case]
    if "error" in r:
        pytest.fail(f"{case} raised in the subprocess:\n{r['error']}")
    return r["cpu"], r["cuda"]


@pytest.mark.parametrize("case", [s for s in SELECTION if s.endswith("float64")])
def test_cuda_equals_cpu_in_float64(results, case):
    """Spikes, traces and final state identical, bit for bit on the simulator; on a GPU
    (SPIKESIM_TEST_GPU=1) the spikes identical and the values within FLOAT64_GPU_TOLERANCE
    (the device fuses some multiply-adds: see spikesim.kernels.cuda)."""
    cpu, gpu = _get(results, case)
    assert sum(len(s[0]) for s in cpu["spikes"]) > 0, "the case should produce spikes"
    for a, b in zip(cpu["spikes"], gpu["spikes"]):
        for x, y, what in zip(a, b, ("steps", "realizations", "ids")):
            np.testing.assert_array_equal(y, x, err_msg=f"spike {what}")
    pairs = [(b[var], a[var], f"trace {var}") for a, b in zip(cpu["traces"], gpu["traces"])
             for var in a]
    pairs += [(gpu["state"][var], cpu["state"][var], f"state {var}") for var in cpu["state"]]
    pairs.append((gpu["ring"], cpu["ring"], "ring buffer"))
    for actual, desired, what in pairs:
        if ON_GPU:
            np.testing.assert_allclose(actual, desired, err_msg=what, **FLOAT64_GPU_TOLERANCE)
        else:
            np.testing.assert_array_equal(actual, desired, err_msg=what)


@pytest.mark.parametrize("case", [s for s in SELECTION if s.endswith("float32")])
def test_cuda_agrees_with_cpu_in_float32(results, case):
    """Spike counts per monitor and realization within FLOAT32_TOLERANCE (values differ in
    the last bits: on the simulator, whose float32 kernels compute in float64, and on a GPU,
    which fuses some multiply-adds and computes the rare libdevice random draws)."""
    cpu, gpu = _get(results, case)
    for a, b in zip(cpu["spikes"], gpu["spikes"]):
        n_real = max(a[1] + b[1] + [0]) + 1
        ca = np.bincount(a[1], minlength=n_real)
        cb = np.bincount(b[1], minlength=n_real)
        assert np.all(np.abs(ca - cb) <= FLOAT32_TOLERANCE * ca + 2), (ca, cb)
    for a, b in zip(cpu["traces"], gpu["traces"]):
        for var in a:
            assert np.shape(a[var]) == np.shape(b[var])


def test_cuda_without_a_gpu_says_what_to_do(monkeypatch):
    """No GPU and no simulator: a RuntimeError telling how to proceed."""
    cuda = pytest.importorskip("numba.cuda")
    monkeypatch.setattr(cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match=r"NUMBA_ENABLE_CUDASIM=1.*pip install spikesim\[cuda\]"):
        ss.Network(dt=1e-3, backend="cuda")


def test_cuda_without_numba_cuda_says_what_to_do(monkeypatch):
    """numba.cuda not importable (numba-cuda missing or broken): the same message."""
    import numba

    monkeypatch.delattr(numba, "cuda", raising=False)
    monkeypatch.setitem(sys.modules, "numba.cuda", None)
    with pytest.raises(RuntimeError, match="needs an NVIDIA GPU"):
        ss.Network(dt=1e-3, backend="cuda")


def test_numba_cuda_failing_on_a_new_numpy_says_what_to_do():
    """numba-cuda 0.30.4 with NumPy 2.5 fails at the first compilation (np.row_stack is gone):
    launch turns that into a message naming NumPy and what to install."""
    pytest.importorskip("numba.cuda")
    from spikesim.kernels import cuda as KG

    class Kernel:  # fails as numba-cuda did on an H200 machine
        def __getitem__(self, config):
            def call(*args):
                raise AttributeError("module 'numpy' has no attribute 'row_stack'")
            return call

    with pytest.raises(RuntimeError, match=r"NumPy .*numpy.row_stack.*pip install 'numpy<2.5'"):
        KG.launch(Kernel(), 10)


def test_a_network_too_large_for_the_gpu_is_refused_before_it_is_uploaded(monkeypatch):
    """The device's free memory is checked before any upload, as the host's is at build: a
    MemoryError naming the parts, not numba's out-of-memory error halfway."""
    pytest.importorskip("numba.cuda")
    from spikesim import cuda as SC

    net = ss.Network(dt=1e-3)
    lif = net.add(ss.LIF(200, units="1"))
    net.connect(lif, lif, "all_to_all", weight=0.1)  # 40,000 synapses
    net.build()
    uploaded = []
    monkeypatch.setattr(SC, "_to_device", uploaded.append)
    monkeypatch.setattr(SC, "free_device_bytes", lambda: 100e3)
    with pytest.raises(MemoryError, match=r"putting this network on the GPU needs about .* "
                                          r"GiB of memory available: its synapses"):
        SC.DeviceNetwork(net)
    assert not uploaded
    monkeypatch.setattr(SC, "free_device_bytes", lambda: 10e6)
    SC.DeviceNetwork(net)
    assert uploaded


def test_a_spike_buffer_too_large_for_the_gpu_is_refused_before_it_is_allocated(monkeypatch):
    """The run's spike record buffer (16 bytes per record, two steps' worth when that is more
    than REC_CAP) is checked against the device's free memory too: a MemoryError naming it,
    not numba's out-of-memory error."""
    pytest.importorskip("numba.cuda")
    from spikesim import cuda as SC

    net = ss.Network(dt=1e-3, batch=2)
    lif = net.add(ss.LIF(1000, units="1"))
    net.add(ss.SpikeMonitor(lif))
    net.build()

    class Device:  # a DeviceNetwork that must not allocate
        n_units = n_neu = 1000
        nnz = 0
        _records = ()
        record_bytes = SC.DeviceNetwork.record_bytes

        def upload_state(self, state):
            pass

        def record_buffers(self, cap):
            raise AssertionError("allocated")

    monkeypatch.setattr(SC, "require_cuda", lambda: None)
    monkeypatch.setattr(SC, "device_network", lambda net: Device())
    monkeypatch.setattr(SC, "free_device_bytes", lambda: 10e3)
    with pytest.raises(MemoryError, match=r"running this network on the GPU needs .* its spike "
                                          r"record buffer"):
        SC.CudaChunkRunner(net)


def test_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="backend"):
        ss.Network(dt=1e-3, backend="gpu")


if __name__ == "__main__":
    if sys.argv[1:] == ["--ptx"]:
        print(json.dumps(_compile_ptx(json.loads(sys.stdin.read()))))
    else:
        print(json.dumps(_worker(sys.argv[1:])))
