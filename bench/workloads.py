"""The workloads of ``shared/workloads.md``: their parameters, and the spikesim side of each
(the network built with the engine and run).

Units are SI (s, V, A, Ω) except W1, which is dimensionless as in the Norse tutorial. Every
``*_engine`` function builds a fresh network, runs it and returns a :class:`Run` with its timings.
How output is recorded is a :class:`Recording` (monitor factories): :data:`MEMORY` (the
in-memory monitors) and :data:`HDF5` (the HDF5 recorders, a new file per run); the suite
measures those in :data:`RECORDINGS`.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

import spikesim as ss
from spikesim import networks
from spikesim.models import Population
from spikesim.monitors import Monitor

NOISE_STD = 1e-9  # A: W2's white-noise current; stationary std of v about R·std·√(dt/2τ) = 5 mV


@dataclass(frozen=True)
class W1:
    """W1, the Norse tutorial: ``n`` independent current-based LIF neurons (dimensionless,
    forward Euler), each receiving input spikes with probability ``p`` per step, weight added
    to the synaptic current i."""

    n: int = 1000
    steps: int = 1000
    dt: float = 1e-3  # s
    tau_mem: float = 1 / 100  # s
    tau_syn: float = 1 / 200  # s
    v_leak: float = 0.0
    v_th: float = 0.3
    v_reset: float = 0.0
    p: float = 0.01
    weight: float = 1.0
    dtype: type = np.float32
    seed: int = 1

    def given_input(self) -> np.ndarray:
        """W1a's input: a (steps, n) boolean array drawn with NumPy."""
        return np.random.default_rng(self.seed).random((self.steps, self.n)) < self.p


@dataclass(frozen=True)
class W2:
    """W2: ``n`` independent LIF (RC) neurons with a mean current plus, if ``noise``, Gaussian
    white noise of std ``std`` (A) per step; 2 ms absolute refractory period; exact integration.
    ``per_neuron``: the same parameters given as arrays over neurons (a table row per neuron)."""

    n: int = 1_000_000
    steps: int = 1000
    dt: float = 1e-4  # s
    tau: float = 20e-3  # s
    E_L: float = -60e-3  # V
    v_th: float = -50e-3  # V
    v_reset: float = -70e-3  # V
    R: float = 1e8  # Ω
    mean: float = 0.25e-9  # A
    std: float = NOISE_STD  # A
    refractory: float = 2e-3  # s
    noise: bool = True
    dtype: type = np.float32
    seed: int = 1
    per_neuron: bool = False  # parameters given as arrays over neurons (the same values)


@dataclass(frozen=True)
class Cuba:
    """W3, the CUBA network (Brette et al. 2007, benchmark 2): ``n`` LIF neurons, 80 %
    excitatory, current-based exponential synapses whose currents are in volts (Brian's ge, gi),
    exact integration. Random connectivity with probability ``p``, or, when ``indegree`` is
    given, a fixed in-degree (80 % of it excitatory, drawn with replacement). The engine side
    is :func:`spikesim.networks.cuba`; the parameters here serve the reference."""

    n: int = 4000
    indegree: int | None = None
    duration: float = 1.0  # s
    dt: float = 1e-4  # s
    taum: float = 20e-3  # s
    taue: float = 5e-3  # s
    taui: float = 10e-3  # s
    v_th: float = -50e-3  # V
    v_reset: float = -60e-3  # V
    E_L: float = -49e-3  # V
    refractory: float = 5e-3  # s
    we: float = 60 * 0.27 / 10 * 1e-3  # V
    wi: float = -20 * 4.5 / 10 * 1e-3  # V
    p: float = 0.02
    dtype: type = np.float64
    seed: int = 1

    @property
    def n_exc(self) -> int:
        return int(round(0.8 * self.n))

    @property
    def steps(self) -> int:
        return int(round(self.duration / self.dt))

    def indegrees(self) -> tuple[int, int]:
        """(excitatory, inhibitory) in-degree of each neuron under ``indegree``."""
        k_e = int(round(0.8 * self.indegree))
        return k_e, self.indegree - k_e

    def single_tau(self) -> Cuba:
        """The variant with one synaptic time constant, for a LIF without a second receptor
        (bench_gpu.py): inhibitory currents decay with taue too, and wi is scaled by
        taui/taue to keep the charge of an inhibitory spike."""
        return replace(self, taui=self.taue, wi=self.wi * self.taui / self.taue)


@dataclass(frozen=True)
class Recording:
    """How a workload records: ``spikes(pop)`` and ``state(pop, ids, every)`` make monitors
    (the state one records v of neurons ``ids`` every ``every`` steps); ``collect(monitor)``
    returns what was recorded, as a user would fetch it at the end of the run."""

    name: str
    spikes: Callable[[Population], Monitor]
    state: Callable[[Population, np.ndarray, int], Monitor]
    collect: Callable[[Monitor], object]


def _collect_memory(mon: Monitor):
    return mon.spikes if isinstance(mon, ss.SpikeMonitor) else mon.trace("v")


def _h5_output() -> ss.H5Output:
    """An HDF5 output to a new file in the temporary directory (removed when collected)."""
    fd, path = tempfile.mkstemp(prefix="spikesim-bench-", suffix=".h5")
    os.close(fd)
    return ss.H5Output(path, overwrite=True)


def _collect_h5(rec: Monitor):
    """Read the recording back from its file, then remove the file."""
    try:
        return _collect_memory(rec)
    finally:
        os.remove(rec.output.path)


def without_readback(rec: Recording) -> Recording:
    """``rec`` whose ``collect`` reads nothing back (it only removes the HDF5 file) and
    returns None: for what a run costs in memory while it records, without the read-back of
    everything at the end, which grows with the duration by nature."""
    def discard(mon: Monitor) -> None:
        if hasattr(mon, "output"):
            os.remove(mon.output.path)

    return replace(rec, collect=discard)


MEMORY = Recording("memory", ss.SpikeMonitor,
                   lambda pop, ids, every: ss.StateMonitor(pop, "v", ids=ids, every=every),
                   _collect_memory)
HDF5 = Recording("hdf5", lambda pop: ss.SpikeRecorder(_h5_output(), pop),
                 lambda pop, ids, every: ss.StateRecorder(_h5_output(), pop, "v", ids=ids,
                                                          every=every),
                 _collect_h5)
RECORDINGS = (MEMORY, HDF5)  # the recordings the suite measures (W1, W4)


@dataclass
class Run:
    """One engine run: wall seconds of the whole call, of building (network construction and
    connectivity) and of simulating, the spike count (None when not recorded), and extras."""

    total_s: float
    build_s: float
    sim_s: float
    spikes: int | None = None
    extra: dict = field(default_factory=dict)


def w1_network(w: W1, given: np.ndarray | None) -> tuple[ss.Network, Population]:
    """W1's network and its LIF population: input from the ``given`` array (W1a), or drawn
    in the kernel (``given`` None: W1b)."""
    net = ss.Network(dt=w.dt, seed=w.seed, dtype=w.dtype)
    lif = net.add(ss.LIF(w.n, tau_mem=w.tau_mem, tau_syn=w.tau_syn, v_leak=w.v_leak,
                         v_th=w.v_th, v_reset=w.v_reset, method="euler"))
    inp = net.add(ss.SpikeArray(given) if given is not None else ss.BernoulliInput(w.n, p=w.p))
    net.connect(inp, lif, "one_to_one", weight=w.weight)
    return net, lif


def w1_engine(w: W1, given: np.ndarray | None, recording: Recording | None) -> Run:
    """W1a (``given`` input array, as a SpikeArray) or W1b (``given`` None: a BernoulliInput
    drawn in the kernel), end to end; spikes recorded and returned when ``recording`` is set."""
    t0 = time.perf_counter()
    net, lif = w1_network(w, given)
    mon = net.add(recording.spikes(lif)) if recording else None
    net.build()
    t1 = time.perf_counter()
    net.run(w.steps * w.dt)
    got = recording.collect(mon) if recording else None
    spikes = None if got is None else len(got)
    t2 = time.perf_counter()
    return Run(t2 - t0, t1 - t0, t2 - t1, spikes)


def w1_spikes(w: W1) -> ss.Spikes:
    """The spikes of one W1b run (Bernoulli input drawn in the kernel), recorded in memory."""
    net, lif = w1_network(w, None)
    mon = net.add(ss.SpikeMonitor(lif))
    net.run(w.steps * w.dt)
    return mon.spikes


def w2_engine(w: W2, recording: Recording | None = None, n_recorded: int = 1000,
              every: int = 10) -> Run:
    """W2 on all threads; with ``recording``, v of the first ``n_recorded`` neurons is recorded
    every ``every`` steps. ``extra["v"]`` is the final membrane potential (V)."""
    t0 = time.perf_counter()
    net = ss.Network(dt=w.dt, seed=w.seed, dtype=w.dtype, parallel=True)
    per = (lambda x: np.full(w.n, x)) if w.per_neuron else (lambda x: x)
    rc = net.add(ss.RC(w.n, R=per(w.R), tau=per(w.tau), E_L=per(w.E_L), v_th=per(w.v_th),
                       v_reset=per(w.v_reset), refractory=per(w.refractory), method="exact"))
    net.add(ss.NoiseCurrent(rc, mean=w.mean, std=w.std) if w.noise
            else ss.ConstantCurrent(rc, w.mean))
    mon = net.add(recording.state(rc, np.arange(n_recorded), every)) if recording else None
    net.build()
    t1 = time.perf_counter()
    net.run(w.steps * w.dt)
    if recording:
        recording.collect(mon)
    t2 = time.perf_counter()
    return Run(t2 - t0, t1 - t0, t2 - t1, extra={"v": net.state["v"][0]})


def cuba_engine(c: Cuba) -> Run:
    """W3 with the engine's built-in :func:`spikesim.networks.cuba`, spikes recorded in memory.
    ``extra["synapses"]`` is the number of synapses."""
    t0 = time.perf_counter()
    net = networks.cuba(c.n, k=c.indegree, p=None if c.indegree else c.p, dt=c.dt,
                        seed=c.seed, dtype=c.dtype)
    mons = [net.add(ss.SpikeMonitor(pop)) for pop in net.populations]
    net.build()
    t1 = time.perf_counter()
    net.run(c.duration)
    spikes = sum(len(m.spikes) for m in mons)
    t2 = time.perf_counter()
    return Run(t2 - t0, t1 - t0, t2 - t1, spikes, {"synapses": int(net.tables.col.size)})
