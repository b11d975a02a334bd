"""Network mechanics: inputs, projections, delays, chunking, threads, batches."""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import warnings

import numpy as np
import pytest
from scipy import sparse, stats
from spikesim.kernels import cpu as KC
from spikesim.kernels import inputs as KI
from spikesim.kernels import neurons as KN
from spikesim.kernels.inputs import LANE_CAP
from spikesim.kernels.rng import seed_key

import spikesim as ss
from spikesim import layout
from spikesim import network as network_module
from spikesim.analysis import firing_rates
from spikesim.networks import cuba


def spike_matrix(spikes: ss.Spikes, steps: int, dt: float) -> np.ndarray:
    """(B, T, n) boolean array of the recorded spikes."""
    out = np.zeros((spikes.n_realizations, steps, spikes.n_neurons), bool)
    out[spikes.realizations, np.rint(spikes.times / dt).astype(int), spikes.ids] = True
    return out


@pytest.mark.parametrize("make", [
    lambda n: ss.PoissonInput(n, rate=40.0),
    lambda n: ss.BernoulliInput(n, p=0.04),
    lambda n: ss.RateCoded(np.full(n, 0.04)),
    lambda n: ss.PoissonInput(n, rate=lambda t: np.full_like(t, 40.0)),
    lambda n: ss.RateCoded(np.full((2000, n), 0.04)),
])
def test_spike_sources_fire_at_the_requested_rate(make):
    """p = 0.04 per 1 ms step: counts are Binomial(T, 0.04), ISIs geometric. 1000 units: the
    dispersion of 200 units (relative sd sqrt(2/199) = 0.1) held in 0.7 ... 1.3 failed for
    0.3 % of seeds per source and 1.1 % of seeds for the five."""
    n, steps, dt = 1000, 2000, 1e-3
    net = ss.Network(dt=dt, seed=11)
    src = net.add(make(n))
    mon = net.add(ss.SpikeMonitor(src))
    net.run(steps * dt)
    counts = mon.spikes.counts()[0]
    expected = steps * 0.04
    # the total over 1000 units: mean 80000, sd ~ 196
    assert abs(counts.sum() - n * expected) < 5 * np.sqrt(n * expected * 0.96)
    # binomial dispersion: the sample variance of n counts has relative sd sqrt(2 / (n - 1))
    dispersion = counts.var(ddof=1) / (expected * 0.96)
    assert abs(dispersion - 1) < 5 * np.sqrt(2 / (n - 1)), dispersion
    isi_steps = np.diff(np.flatnonzero(spike_matrix(mon.spikes, steps, dt)[0, :, 0]))
    assert stats.kstest(isi_steps - 1, stats.geom(0.04, loc=-1).cdf).pvalue > 1e-3


def test_spike_times_and_arrays_fire_exactly_where_given():
    dt = 1e-3
    net = ss.Network(dt=dt)
    times = ss.SpikeTimes(3, [0.010, 0.0104, 0.020, 0.020], [0, 1, 2, 2])
    arr = np.zeros((30, 2), bool)
    arr[[3, 7, 7], [0, 0, 1]] = True
    a = net.add(ss.SpikeArray(arr))
    net.add(times)
    m1, m2 = net.add(ss.SpikeMonitor(times)), net.add(ss.SpikeMonitor(a))
    with pytest.warns(RuntimeWarning, match="1 of its 4 spikes fall in a step"):  # unit 2's
        net.run(0.03)
    np.testing.assert_allclose(m1.spikes.times, [0.010, 0.010, 0.020])
    np.testing.assert_array_equal(m1.spikes.ids, [0, 1, 2])
    np.testing.assert_array_equal(spike_matrix(m2.spikes, 30, dt)[0], arr)


@pytest.mark.parametrize("steps, n, p", [(0, 5, 0.1), (5, 3, 1.0), (13, 5, 0.3),
                                          (40, 1001, 0.01), (9, 8, 0.5), (4, 1, 1.0)])
def test_spike_array_events_per_step_equal_numpys_nonzero(steps, n, p):
    """Eight bytes at a time, rows not a multiple of eight, a tail; chunks past the end."""
    spikes = np.random.default_rng(n).random((steps, n)) < p
    src = ss.SpikeArray(np.asfortranarray(spikes))
    k, j = np.nonzero(spikes)
    for k0, m in ((0, steps), (2, 3), (steps, 5), (max(steps - 2, 0), 6)):
        ptr, units = src.events(k0, m, 1e-3)
        sel = (k >= k0) & (k < k0 + m)
        np.testing.assert_array_equal(units, j[sel])
        np.testing.assert_array_equal(ptr, np.searchsorted(k[sel] - k0, np.arange(m + 1)))


def test_spike_array_events_per_realization_equal_numpys_nonzero():
    spikes = np.random.default_rng(1).random((13, 3, 9)) < 0.3
    ptr, units = ss.SpikeArray(spikes).events(2, 15, 1e-3)
    assert ptr.shape == (3, 16)
    for b in range(3):
        k, j = np.nonzero(spikes[2:, b])
        np.testing.assert_array_equal(units[ptr[b, 0]:ptr[b, -1]], j)
        np.testing.assert_array_equal(ptr[b] - ptr[b, 0], np.searchsorted(k, np.arange(16)))


def test_a_spike_array_per_realization_drives_each_as_its_own_run_would():
    """SpikeArray (T, B, n): realization b of a batch is, bit for bit, the run of batch 1 given
    rows [:, b] (spikes of the source and v of the neurons it drives one to one, or through a
    random projection); another number of realizations than the batch is refused, naming the
    source."""
    steps, batch, n = 40, 3, 7
    given = np.random.default_rng(0).random((steps - 5, batch, n)) < 0.25

    def run(spikes, b):
        net = ss.Network(dt=DT, seed=0, batch=b, chunk=9)
        lif = net.add(ss.LIF(n, tau_mem=10e-3, tau_syn=5e-3, v_th=0.3, units="1"))
        src = net.add(ss.SpikeArray(spikes))
        net.connect(src, lif, "one_to_one", weight=0.5)
        net.connect(src, lif, "random", p=0.5, weight=0.1, delay=2 * DT)
        mons = net.add(ss.SpikeMonitor(src)), net.add(ss.StateMonitor(lif, "v"))
        net.run(steps * DT)
        return mons[0].spikes, mons[1].trace("v").values

    s, v = run(given, batch)
    for b in range(batch):
        s1, v1 = run(given[:, b], 1)
        np.testing.assert_array_equal(s.select(b).times, s1.times)
        np.testing.assert_array_equal(s.select(b).ids, s1.ids)
        np.testing.assert_array_equal(v[:, b], v1[:, 0])
    assert len(s) == given.sum()
    wrong = ss.Network(dt=DT, batch=2)
    wrong.add(ss.SpikeArray(given), name="trains")
    with pytest.raises(ValueError, match=r"SpikeArray 'trains' has data for 3 realizations, "
                                         r"but the network runs batch = 2"):
        wrong.build()


def test_a_block_sees_no_spike_flags_of_a_longer_block_before_it():
    """Populations share scratch rows for their spike flags: a 13-neuron population stepped
    after a 20-neuron one whose neurons 13-15 fire must not report those as its own."""
    net = ss.Network(dt=1e-3)
    big = net.add(ss.RC(20, R=1.0, tau=5e-3, v_th=0.5))
    small = net.add(ss.RC(13, R=1.0, tau=5e-3, v_th=0.5))
    drive = np.zeros(20)
    drive[13:16] = 2.0  # only neurons 13, 14, 15 of the big population cross the threshold
    net.add(ss.ConstantCurrent(big, drive))
    m_big, m_small = net.add(ss.SpikeMonitor(big)), net.add(ss.SpikeMonitor(small))
    net.run(0.02)
    assert set(m_big.spikes.ids.tolist()) == {13, 14, 15}
    assert len(m_small.spikes) == 0


def test_delays_arrive_on_the_right_step():
    """A spike at t_k with delay d arrives at the end of step k+d-1: i jumps at sample k+d-1."""
    dt = 1e-4
    net = ss.Network(dt=dt)
    pop = net.add(ss.LIF(4, tau_mem=10e-3, tau_syn=5e-3, v_th=10.0, units="1"))
    src = net.add(ss.SpikeTimes(1, [0.001], [0]))
    net.connect(src, pop, "all_to_all", weight=1.0, delay=np.array([1e-4, 3e-4, 5e-4, 5.04e-4]))
    mon = net.add(ss.StateMonitor(pop, "i"))
    net.run(0.003)
    first = np.argmax(mon.trace("i").values[:, 0] > 0, axis=0)
    np.testing.assert_array_equal(first, 10 + np.array([1, 3, 5, 5]) - 1)


def test_delays_into_populations_placed_anywhere_arrive_on_the_right_step():
    """The ring buffer holds only the populations with delayed input, each at its own offset
    (here the second and fourth, after ones without): a spike at step 10 with delay d jumps v
    at sample 10 + d − 1 in each, and only there."""
    net = ss.Network(dt=1e-3)
    pops = [net.add(ss.RC(n, R=1.0, tau=1e3, v_th=10.0, method="exact", units="1"), name=f"p{q}")
            for q, n in enumerate((3, 4, 2, 5))]
    src = net.add(ss.SpikeTimes(1, [0.010], [0]))
    delays = (None, 6e-3, None, 3e-3)
    for pop, delay, w in zip(pops, delays, (0.1, 0.2, 0.3, 0.4)):
        net.connect(src, pop, "all_to_all", weight=w, delay=delay)
    mons = [net.add(ss.StateMonitor(pop, "v")) for pop in pops]
    net.run(0.03)
    assert net.state["ring"].shape == (1, 6, 4 + 5)
    for mon, delay, w in zip(mons, delays, (0.1, 0.2, 0.3, 0.4)):
        v = mon.trace("v").values[:, 0]
        jump = 10 + (round(delay / 1e-3) if delay else 1) - 1
        assert np.all(v[:jump] == 0) and np.allclose(v[jump:], w, rtol=1e-4)  # (tau 1000 s)


def test_delays_into_each_current_equal_spikes_moved_later_with_one_step():
    """Delays over one step reach any receptor: into i and into i_inh of a LIF with two
    currents (each its own part of the ring), per synapse into i_inh, and into the v of an RC
    population placed after it. A spike at t with delay d arrives at the end of step
    k + d − 1: the same traces, bit for bit, as the spike sent at t + (d − 1)·dt with a delay
    of one step."""
    dt, steps = 1e-3, 40
    times, ids = [2e-3, 5e-3, 9e-3, 14e-3, 20e-3], [0, 2, 1, 3, 2]
    d_inh = np.array([2, 5, 3, 4, 6, 1, 3, 2, 4, 5, 3, 2])  # steps, one per synapse (4 × 3)
    traces = []
    for delayed in (True, False):
        net = ss.Network(dt=dt)
        lif = net.add(ss.LIF(3, tau_syn_inh=8e-3, v_th=1e9, method="exact"))
        rc = net.add(ss.RC(3, R=1.0, tau=5e-3, v_th=1e9, method="exact"))

        def source(shift, net=net):  # the spikes moved ``shift`` steps later
            return net.add(ss.SpikeTimes(4, np.add(times, shift * dt), ids))

        if delayed:
            src = source(0)
            net.connect(src, lif, "all_to_all", weight=0.5, delay=3 * dt)
            net.connect(src, lif, "all_to_all", weight=-0.25, delay=d_inh * dt,
                        receptor="i_inh")
            net.connect(src, rc, "all_to_all", weight=0.125, delay=4 * dt)
        else:  # one source per shift, delay one step
            net.connect(source(2), lif, "all_to_all", weight=0.5)
            for pre in range(4):
                for post in range(3):
                    shifted = source(d_inh[pre * 3 + post] - 1)
                    net.connect(shifted, lif, "explicit", pre_ids=[pre], post_ids=[post],
                                weight=-0.25, receptor="i_inh")
            net.connect(source(3), rc, "all_to_all", weight=0.125)
        mons = [net.add(ss.StateMonitor(lif, ["i", "i_inh", "v"])),
                net.add(ss.StateMonitor(rc, "v"))]
        net.run(steps * dt)
        if delayed:
            assert net.state["ring"].shape == (1, 6, 2 * 3 + 3)
        traces.append([m.trace(var).values for m, var in
                       ((mons[0], "i"), (mons[0], "i_inh"), (mons[0], "v"), (mons[1], "v"))])
    for got, want in zip(*traces):
        assert np.count_nonzero(want) > 10
        np.testing.assert_array_equal(got, want)


def test_uniform_long_delay_via_ring_buffer_into_v():
    dt = 1e-3
    net = ss.Network(dt=dt)
    pop = net.add(ss.RC(2, R=1.0, tau=1e3, v_th=10.0, method="exact", units="1"))
    src = net.add(ss.SpikeTimes(2, [0.0, 0.002], [0, 1]))
    net.connect(src, pop, "one_to_one", weight=[0.5, 0.25], delay=4e-3)
    mon = net.add(ss.StateMonitor(pop, "v"))
    net.run(0.01)
    v = mon.trace("v").values[:, 0]
    assert np.flatnonzero(v[:, 0] > 0.4)[0] == 3 and np.flatnonzero(v[:, 1] > 0.2)[0] == 5


def test_one_to_one_dense_and_sparse_give_the_same_result():
    n, steps, dt = 30, 400, 1e-3
    rng = np.random.default_rng(0)
    weights = rng.uniform(0.1, 0.5, n)
    results = []
    for rule, kw in (("one_to_one", dict(weight=weights)),
                     ("all_to_all", dict(weight=np.diag(weights))),
                     ("explicit", dict(matrix=sparse.diags(weights).tocsr())),
                     ("explicit", dict(pre_ids=np.arange(n), post_ids=np.arange(n),
                                       weight=weights))):
        net = ss.Network(dt=dt, seed=4)
        pop = net.add(ss.LIF(n, v_th=0.3, tau_mem=0.01, tau_syn=0.005))
        src = net.add(ss.BernoulliInput(n, p=0.05))
        net.connect(src, pop, rule, **kw)
        mon = net.add(ss.StateMonitor(pop, "v"))
        net.run(steps * dt)
        results.append(mon.trace("v").values)
    for r in results[1:]:
        np.testing.assert_array_equal(r, results[0])


@pytest.mark.parametrize("parallel", [False, True])
def test_given_arrays_read_as_masks_equal_the_same_spikes_as_events(parallel):
    """A SpikeArray projected one to one (delay one step) is read by the kernel as a mask
    (``J_MASK``), added before the other inputs of the step; the same spikes through an
    explicit projection go through event lists. Per-neuron and shared weights, into i and into
    the second current, an array shorter than the run, batch 2, chunks of 7 steps: equal
    traces, bit for bit, and the recorded input equals the array."""
    n, steps, dt = 11, 25, 1e-3
    rng = np.random.default_rng(8)
    exc, inh = rng.random((15, n)) < 0.4, rng.random((steps, n)) < 0.2
    w_exc = rng.uniform(0.2, 0.9, n)
    runs = []
    for masked in (True, False):
        net = ss.Network(dt=dt, seed=6, batch=2, chunk=7, parallel=parallel)
        lif = net.add(ss.LIF(n, tau_mem=10e-3, tau_syn=5e-3, tau_syn_inh=8e-3, v_th=0.5,
                             method="exact"))
        a, b = net.add(ss.SpikeArray(exc)), net.add(ss.SpikeArray(inh))
        ids = dict(pre_ids=np.arange(n), post_ids=np.arange(n))
        rule, kw = ("one_to_one", {}) if masked else ("explicit", ids)
        net.connect(a, lif, rule, weight=w_exc, **kw)  # (the mask is added first anyway)
        net.connect(lif, lif, "random", p=0.3, weight=0.2)
        net.connect(b, lif, rule, weight=-0.3, receptor="i_inh", **kw)
        mons = [net.add(ss.StateMonitor(lif, ["v", "i", "i_inh"])), net.add(ss.SpikeMonitor(b))]
        net.run(steps * dt)
        masks = net.tables.prj[:, KC.J_MASK] >= 0
        assert list(masks) == ([True, False, True] if masked else [False] * 3)
        runs.append(mons)
    for var in ("v", "i", "i_inh"):
        np.testing.assert_array_equal(runs[0][0].trace(var).values, runs[1][0].trace(var).values)
    for mons in runs:
        np.testing.assert_array_equal(spike_matrix(mons[1].spikes, steps, dt), [inh, inh])


def test_a_given_array_is_read_as_the_network_runs_by_every_use_alike():
    """Not copied: a change between runs reaches the targets of the masks (one array, and two
    arrays, which the tables hold as a copy), the event lists of a recorded array and of an
    explicit projection alike, from the next run on."""
    dt = 1e-3
    a, b = np.zeros((10, 3), bool), np.zeros((10, 3), bool)
    net = ss.Network(dt=dt)
    pops = [net.add(ss.RC(3, R=1.0, tau=1e3, v_th=10.0, method="exact", units="1"))
            for _ in range(3)]
    sa, sb = net.add(ss.SpikeArray(a)), net.add(ss.SpikeArray(b))
    net.connect(sa, pops[0], "one_to_one", weight=1.0)
    net.connect(sb, pops[1], "one_to_one", weight=1.0)
    net.connect(sa, pops[2], "explicit", pre_ids=np.arange(3), post_ids=np.arange(3))
    mon = net.add(ss.SpikeMonitor(sa))
    a[2, 0] = b[2, 0] = True
    net.run(5 * dt)
    a[7, 1] = b[7, 1] = True
    net.run(5 * dt)
    assert len(net.tables.given) == 2
    for p in pops:
        np.testing.assert_allclose(net.state["v"][0, net.populations.index(p) * 3:][:3],
                                   [1.0, 1.0, 0.0], atol=1e-4)  # (a slow leak)
    np.testing.assert_array_equal(spike_matrix(mon.spikes, 10, dt)[0], a)


def test_rc_given_by_capacitance_takes_arrays_with_a_batch():
    net = ss.Network(dt=1e-3, batch=2)
    rc = net.add(ss.RC(3, R=np.array([1.0, 2.0, 4.0]), C=1e-2, v_th=10.0, method="exact",
                       units="1"))
    net.add(ss.ConstantCurrent(rc, 1.0))
    net.run(0.5)
    expected = np.array([1.0, 2.0, 4.0]) * -np.expm1(-0.5 / (np.array([1.0, 2.0, 4.0]) * 1e-2))
    np.testing.assert_allclose(net.state["v"], [expected, expected], rtol=1e-9)


def test_connection_rules_have_the_requested_statistics():
    pre, post = ss.LIF(400), ss.LIF(300)
    rng = np.random.default_rng(1)
    p_pairs = ss.Projection(pre, post, "random", p=0.1).pairs(rng)
    assert abs(p_pairs[0].size - 12000) < 5 * np.sqrt(12000 * 0.9)
    assert np.unique(p_pairs[0] * 300 + p_pairs[1]).size == p_pairs[0].size
    k_pairs = ss.Projection(pre, post, "fixed_indegree", k=25).pairs(rng)
    np.testing.assert_array_equal(np.bincount(k_pairs[1], minlength=300), 25)
    _, _, w, d = ss.Projection(pre, post, "fixed_indegree", k=5, weight=ss.Uniform(1, 2),
                               delay=ss.Uniform(1e-3, 3e-3)).synapses(1e-3, rng)
    assert 1 <= w.min() and w.max() < 2 and set(np.unique(d)) <= {1, 2, 3}


def noisy_network(seed=3, batch=1, chunk=1000, threads=None, parallel=None, dtype=np.float64):
    """A small recurrent network with every kind of random input."""
    net = ss.Network(dt=1e-4, seed=seed, batch=batch, chunk=chunk, threads=threads,
                     parallel=parallel, dtype=dtype)
    exc = net.add(ss.LIF(300, tau_mem=20e-3, tau_syn=5e-3, tau_syn_inh=10e-3, v_leak=-60e-3,
                         v_th=-50e-3, v_reset=-60e-3, R=1.0, refractory=2e-3, method="exact",
                         v_init=ss.Uniform(-60e-3, -50e-3)))
    net.add(ss.NoiseCurrent(exc, mean=11e-3, std=4e-3))
    net.add(ss.OUCurrent(exc, mean=0.0, std=1e-3, tau=5e-3))
    src = net.add(ss.PoissonInput(50, rate=200.0))
    net.connect(src, exc, "random", p=0.2, weight=2e-3, delay=ss.Uniform(1e-4, 1e-3))
    net.connect(exc, exc, "fixed_indegree", k=20, weight=-1e-3, receptor="i_inh")
    net.connect(exc, exc, "random", p=0.05, weight=ss.Uniform(0.0, 1e-3))  # per-synapse weights
    mon = net.add(ss.SpikeMonitor(exc))
    state = net.add(ss.StateMonitor(exc, ["v", "i"], ids=[0, 7, 299], every=3))
    return net, mon, state


def test_same_seed_is_bit_identical_across_chunks_and_threads():
    runs = []
    for chunk, threads, parallel in ((1000, 1, False), (37, 2, True), (250, 1, True)):
        net, mon, state = noisy_network(chunk=chunk, threads=threads, parallel=parallel)
        net.run(0.05)
        net.run(0.03)  # a second run continues
        runs.append((mon.spikes, state.trace("v").values))
    assert len(runs[0][0]) > 100
    for spikes, v in runs[1:]:
        np.testing.assert_array_equal(spikes.times, runs[0][0].times)
        np.testing.assert_array_equal(spikes.ids, runs[0][0].ids)
        np.testing.assert_array_equal(v, runs[0][1])
    net, mon, _ = noisy_network(seed=4)
    net.run(0.08)
    assert not np.array_equal(mon.spikes.ids[:100], runs[0][0].ids[:100])


def test_constant_sources_drawn_per_chunk_equal_step_by_step_draws():
    """A 400-step chunk holds ~10,000 firings per realization (units with p near 0.09 fire
    more often than a lane buffers); chunks of one step hold ~25. Lists that start small grow,
    and resume, in the middle of a group of units and of a unit's draws: the same firings."""
    spikes = []
    for chunk in (400, 1):
        net = ss.Network(dt=1e-3, seed=5, batch=3, chunk=chunk)
        src = net.add(ss.BernoulliInput(500, p=np.linspace(0.01, 0.09, 500)))
        mon = net.add(ss.SpikeMonitor(src))
        net.run(0.4)
        spikes.append(mon.spikes)
    assert len(spikes[0]) > 25_000
    for field in ("times", "ids", "realizations"):
        np.testing.assert_array_equal(getattr(spikes[0], field), getattr(spikes[1], field))
    tb = net.tables
    pbuf = -1.0 / np.log1p(-src.p)
    tb.src[0, [KI.SBUF, KI.SST, KI.SSB, KI.SSJ]] = 0, 0, 0, 1
    lists = []
    for cap in (0, 7, 64):
        nxt = np.full((3, 500), -1, np.int64)
        lists.append((*KI.const_events(0, 0, 0, 400, tb.src, pbuf, nxt, seed_key(5),
                                       tb.n_streams, 3, cap), nxt))
    assert LANE_CAP < 0.09 * 400
    for ptr, units, nxt in lists[1:]:
        for got, want in zip((ptr, units, nxt), lists[0]):
            np.testing.assert_array_equal(got, want)


def test_batch_realizations_are_independent_and_do_not_depend_on_batch_size():
    net2, mon2, st2 = noisy_network(batch=2)
    net3, mon3, st3 = noisy_network(batch=3)
    net2.run(0.04)
    net3.run(0.04)
    v2, v3 = st2.trace("v").values, st3.trace("v").values
    np.testing.assert_array_equal(v3[:, :2], v2)
    assert not np.array_equal(v3[:, 2], v3[:, 1])


def test_random_parameters_of_a_realization_do_not_depend_on_batch_size():
    """Several parameters drawn from distributions: realization b's values are its own."""
    def built(batch):
        net = ss.Network(dt=1e-4, seed=4, batch=batch)
        net.add(ss.LIF(50, v_th=ss.Normal(1.0, 0.1), refractory=ss.Uniform(0.0, 2e-3),
                       v_init=ss.Uniform(0.0, 0.5)))
        net.build()
        return net
    one, three = built(1), built(3)
    rng = np.random.default_rng([4, 1, 0])  # a batch of one draws what it always drew
    np.testing.assert_array_equal(one.tables.par[KN.V_TH], 1.0 + 0.1 * rng.standard_normal(50))
    np.testing.assert_array_equal(three.state["v"][:1], one.state["v"])
    np.testing.assert_array_equal(three.tables.par[:, :50], one.tables.par)
    assert not np.array_equal(three.state["v"][1], three.state["v"][0])
    assert not np.array_equal(three.tables.par[:, 50:100], three.tables.par[:, :50])


def test_constant_current_drawn_from_a_distribution_follows_the_seed():
    """Amplitudes drawn per neuron: constant in time, from the distribution, keyed by the
    network's seed and the current's place, the same whatever the chunk size and batch."""
    def amplitudes(seed, batch=1, chunk=1000):
        net = ss.Network(dt=1e-3, seed=seed, batch=batch, chunk=chunk)
        pops = [net.add(ss.Leaky(2000, beta=0.0, v_th=1e9, reset="none")) for _ in range(2)]
        for p in pops:  # beta = 0: v is the current of the step
            net.add(ss.ConstantCurrent(p, ss.Uniform(1.0, 3.0)))
        mons = [net.add(ss.StateMonitor(p, "v", ids=np.arange(2000))) for p in pops]
        net.run(0.005)
        return [m.trace("v").values for m in mons]  # (steps, batch, 2000) each

    first, second = amplitudes(1)
    assert (first == first[:1]).all()
    assert first.min() >= 1.0 and first.max() < 3.0
    assert abs(first.mean() - 2.0) < 0.05 and abs(first[0].var() - 1 / 3) < 0.03
    assert not np.array_equal(first, second)
    assert not np.array_equal(amplitudes(2)[0], first)
    np.testing.assert_array_equal(amplitudes(1, chunk=2)[0], first)
    batch = amplitudes(1, batch=3)[0]
    np.testing.assert_array_equal(batch[:, :1], first)
    assert not np.array_equal(batch[:, 1], batch[:, 0])


def test_a_constant_current_redrawn_after_a_change_draws_what_a_new_network_draws():
    def last_current(amplitudes):
        net = ss.Network(dt=1e-3, seed=5)
        pop = net.add(ss.Leaky(50, beta=0.0, v_th=1e9, reset="none"))
        current = net.add(ss.ConstantCurrent(pop, amplitudes[0]))
        for amp in amplitudes:
            current.amplitude = amp
            net.run(0.002)
        return net.state["v"][0].copy()  # beta = 0: v is the last step's current

    changed = last_current([ss.Normal(1.0, 0.5), ss.Normal(3.0, 0.5)])
    np.testing.assert_array_equal(changed, last_current([ss.Normal(3.0, 0.5)]))


def test_batch_parameters_equal_separate_runs():
    """Per-realization parameters (B, 1): each realization equals a run with that value."""
    taus = np.array([[10e-3], [20e-3], [40e-3]])
    current = np.full((300, 1), 1.5)
    net = ss.Network(dt=1e-3, batch=3)
    pop = net.add(ss.RC(1, R=1.0, tau=taus, v_th=1.0))
    net.add(ss.CurrentArray(pop, current))
    mon = net.add(ss.StateMonitor(pop, "v"))
    net.run(0.3)
    for b, tau in enumerate(taus[:, 0]):
        single = ss.Network(dt=1e-3)
        p1 = single.add(ss.RC(1, R=1.0, tau=tau, v_th=1.0))
        single.add(ss.CurrentArray(p1, current))
        m1 = single.add(ss.StateMonitor(p1, "v"))
        single.run(0.3)
        np.testing.assert_array_equal(mon.trace("v").values[:, b], m1.trace("v").values[:, 0])


def test_currents_step_pulse_and_noise_statistics():
    dt = 1e-3
    net = ss.Network(dt=dt, seed=9)
    pop = net.add(ss.Leaky(4000, beta=0.0, v_th=1e9, reset="none"))
    step_pop = net.add(ss.Leaky(3, beta=0.0, v_th=1e9, reset="none"))
    net.add(ss.UniformNoiseCurrent(pop, mean=2.0, half_width=0.5))
    net.add(ss.StepCurrent(step_pop, times=[0.005, 0.010], amplitudes=[1.0, -2.0]))
    net.add(ss.PulseCurrent(step_pop, start=0.002, width=0.002, amplitude=10.0, period=0.01,
                            count=2))
    m = net.add(ss.StateMonitor(pop, "v", ids=np.arange(4000), every=5))
    ms = net.add(ss.StateMonitor(step_pop, "v", ids=[0]))
    net.run(0.02)
    v = m.trace("v").values.ravel()  # beta = 0: v is the current of that step
    assert abs(v.mean() - 2.0) < 0.01 and v.min() >= 1.5 and v.max() < 2.5
    assert abs(v.var() - 0.25 / 3) < 0.005
    expected = np.zeros(20)
    expected[5:10], expected[10:] = 1.0, -2.0
    expected[[2, 3, 12, 13]] += 10.0
    np.testing.assert_allclose(ms.trace("v").values[:, 0, 0], expected)


@pytest.mark.parametrize("dt,start,width,period,first,on,every", [
    (1e-5, 30e-6, 10e-6, 30e-6, 3, 1, 3),  # whole steps: one step on in three
    (1e-3, 2.5e-3, 1.2e-3, 4e-3, 3, 1, 4),  # between steps: edges at steps 3+4j and 4+4j
    (1e-4, 0.0, 2e-4, 7e-4, 0, 2, 7),
])
def test_pulse_edges_stay_on_their_steps_however_late(dt, start, width, period, first, on,
                                                        every):
    """Pulse j is on at steps first + every·j … + on − 1, also after 1e6–1e9 steps (an edge
    computed from t = k·dt used to slip by a step once k·dt's rounding grew, after 32 s of
    dt = 10 µs)."""
    pulse = ss.PulseCurrent(ss.LIF(1), start=start, width=width, amplitude=1.0, period=period,
                            count=10**9)
    for k0 in (0, 3_200_000, 10**9):
        k = np.arange(k0, k0 + 3000)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got = pulse.values(k, dt, 1, None).reshape(-1)
        want = (k >= first) & ((k - first) % every < on)
        np.testing.assert_array_equal(got != 0, want, err_msg=f"from step {k0}")


def test_currents_into_one_population_add_up_in_any_mix_and_order():
    """Leaky with beta = 0: v after a step is that step's summed input current. Currents with
    one value for every neuron are summed as a number, the others per neuron in an array (see
    kernels/cpu.py current_block): every mix gives the sum of its parts, bit for bit."""
    n = 50

    def run(*currents):
        net = ss.Network(dt=1e-3, seed=4)
        pop = net.add(ss.Leaky(n, beta=0.0, v_th=1e9, reset="none"))
        for make in currents:
            net.add(make(pop))
        mon = net.add(ss.StateMonitor(pop, "v", ids=np.arange(n)))
        net.run(0.01)
        return mon.trace("v").values[:, 0, :]

    const = lambda pop: ss.ConstantCurrent(pop, 1.5)  # noqa: E731
    step = lambda pop: ss.StepCurrent(pop, times=[0.004], amplitudes=[-0.25])  # noqa: E731
    noise = lambda pop: ss.NoiseCurrent(pop, mean=0.0, std=1.0)  # noqa: E731
    ramp = lambda pop: ss.ConstantCurrent(pop, np.linspace(0.0, 1.0, n))  # noqa: E731
    only_step, only_noise, only_ramp = run(step), run(noise), run(ramp)
    assert np.all(run(const) == 1.5) and np.all(run() == 0.0)
    assert set(only_step[:, 0]) == {0.0, -0.25} and np.all(only_ramp == np.linspace(0, 1, n))
    assert np.unique(only_noise).size == only_noise.size  # a draw per neuron and step
    np.testing.assert_array_equal(run(const, step), 1.5 + only_step)
    np.testing.assert_array_equal(run(const, noise), 1.5 + only_noise)
    np.testing.assert_array_equal(run(noise, const), only_noise + 1.5)
    np.testing.assert_array_equal(run(const, step, ramp), (1.5 + only_step) + only_ramp)
    np.testing.assert_array_equal(run(ramp, const, step), (only_ramp + 1.5) + only_step)


def test_gaussian_and_ou_currents_have_their_stationary_statistics():
    dt = 1e-3
    net = ss.Network(dt=dt, seed=1)
    g = net.add(ss.Leaky(2000, beta=0.0, v_th=1e9, reset="none"))
    ou = net.add(ss.Leaky(2000, beta=0.0, v_th=1e9, reset="none"))
    net.add(ss.NoiseCurrent(g, mean=1.0, std=2.0))
    net.add(ss.OUCurrent(ou, mean=-1.0, std=0.5, tau=5e-3))
    mg = net.add(ss.StateMonitor(g, "v", every=10))
    mo = net.add(ss.StateMonitor(ou, "v", every=1, ids=np.arange(0, 2000, 10)))
    net.run(0.2)
    x = mg.trace("v").values.ravel()  # 40,000 independent draws: within 5 standard errors
    assert x.size == 40_000  # (0.02 = 2 SE for the mean failed for 3 % of seeds)
    assert abs(x.mean() - 1.0) < 5 * 2.0 / np.sqrt(x.size)
    assert abs(x.std() - 2.0) < 5 * 2.0 * np.sqrt(1 / (2 * x.size))
    y = mo.trace("v").values[50:, 0]  # (T, neurons), after the start-up
    assert abs(y.mean() + 1.0) < 0.03 and abs(y.std() - 0.5) < 0.03
    lag = 5  # autocorrelation at lag 5 ms = exp(-1)
    yc = y - y.mean()
    acf = (yc[lag:] * yc[:-lag]).mean() / yc.var()
    assert abs(acf - np.exp(-1)) < 0.05


@pytest.mark.parametrize("dt", [1e-3, 1e-4])
def test_white_noise_of_intensity_sigma_gives_a_membrane_variance_independent_of_dt(dt):
    """RC (R = 1 Ω, tau = 20 ms, exact) under mean + sigma·xi(t): per step the current is
    N(0, sigma²/dt), so Var(v) = R²·(sigma²/dt)·(1 − a)/(1 + a), a = exp(−dt/tau), which
    tends to R²·sigma²/(2·tau) = 25 V² as dt → 0 (24.995 at 1 ms): dt-independent."""
    tau, sigma = 20e-3, 1.0
    net = ss.Network(dt=dt, seed=3)
    pop = net.add(ss.RC(4000, R=1.0, tau=tau, v_th=1e9, method="exact"))
    net.add(ss.NoiseCurrent(pop, sigma=sigma))
    mon = net.add(ss.StateMonitor(pop, "v", every=int(round(0.04 / dt))))
    net.run(0.24)
    a = np.exp(-dt / tau)
    expected = sigma**2 / dt * (1 - a) / (1 + a)
    assert expected == pytest.approx(25.0, rel=1e-3)
    v = mon.trace("v").values[2:]  # from 0.12 s (6 tau): stationary; samples 2 tau apart
    assert v.var() == pytest.approx(expected, rel=0.05)
    assert abs(v.mean()) < 3 * np.sqrt(expected / v.size) * 3  # (samples weakly correlated)


def test_noise_takes_std_or_sigma_not_both():
    pop = ss.LIF(2)
    with pytest.raises(ValueError, match=r"NoiseCurrent takes std \(A, per step\) or sigma "
                                         r"\(A·√s, white noise\), not both"):
        ss.NoiseCurrent(pop, std=1.0, sigma=1.0)
    assert ss.NoiseCurrent(pop).noise(1e-3)[1] == 1.0  # std 1 by default
    assert ss.NoiseCurrent(pop, sigma=2.0).noise(1e-4)[1] == pytest.approx(200.0)


def test_float32_network_runs_and_agrees_in_rate_with_float64():
    counts = []
    for dtype in (np.float32, np.float64):
        net, mon, _ = noisy_network(dtype=dtype)
        net.run(0.05)
        counts.append(len(mon.spikes))
    assert counts[0] > 100 and abs(counts[0] - counts[1]) < 0.05 * counts[1]


def test_sources_drawn_in_blocks_on_threads_equal_the_serial_draw():
    """A source larger than one block of units (kernels.cpu.BLOCK) fires the same spikes,
    in the same order, from the threaded and the serial kernel, in every realization — and
    the same as two sources holding its halves (other blocks; the same random streams)."""
    rates = np.linspace(0.0, 300.0, 5000)
    runs = []
    for parallel in (False, True):
        net = ss.Network(dt=1e-3, seed=9, batch=2, parallel=parallel)
        src = net.add(ss.PoissonInput(5000, rate=rates))
        pop = net.add(ss.LIF(5000, tau_mem=10e-3, tau_syn=5e-3, v_th=0.02))
        net.connect(src, pop, "one_to_one", weight=0.05)
        mons = net.add(ss.SpikeMonitor(src)), net.add(ss.SpikeMonitor(pop))
        net.run(0.05)
        runs.append([(m.spikes.times, m.spikes.ids, m.spikes.realizations) for m in mons])
    assert len(runs[0][0][0]) > 10_000 and len(runs[0][1][0]) > 1000
    for a, b in zip(*runs):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)
    halves = ss.Network(dt=1e-3, seed=9, batch=2)
    parts = [halves.add(ss.PoissonInput(2500, rate=r)) for r in (rates[:2500], rates[2500:])]
    mons = [halves.add(ss.SpikeMonitor(p)) for p in parts]
    halves.run(0.05)
    t, ids, real = (np.concatenate(x) for x in zip(*[
        (m.spikes.times, m.spikes.ids + 2500 * h, m.spikes.realizations)
        for h, m in enumerate(mons)]))
    order = np.lexsort((ids, t, real))
    whole = runs[0][0]
    whole_order = np.lexsort((whole[1], whole[0], whole[2]))
    for x, y in zip((t, ids, real), whole):
        np.testing.assert_array_equal(x[order], y[whole_order])


def test_threads_by_default_only_where_the_documented_rule_says_they_pay(monkeypatch):
    monkeypatch.setattr(network_module, "_threading_layer", lambda: "omp")
    monkeypatch.setattr(network_module.config, "NUMBA_NUM_THREADS", 2)  # (a 1-core machine too)

    def single(n, current):
        net = ss.Network(dt=1e-4)
        pop = net.add(ss.LIF(n))
        net.add(current(pop))
        return net

    const = lambda pop: ss.ConstantCurrent(pop, 1.0)  # noqa: E731
    noise = lambda pop: ss.NoiseCurrent(pop, mean=0.0, std=1.0)  # noqa: E731
    assert not single(20_000, const)._parallel() and single(30_000, const)._parallel()
    assert not single(3_000, noise)._parallel() and single(5_000, noise)._parallel()
    assert not cuba(40_000)._parallel() and cuba(100_000)._parallel()
    assert single(1000, const).parallel is None
    forced = ss.Network(dt=1e-4, parallel=True)
    forced.add(ss.LIF(10))
    assert forced._parallel()
    # under Numba's "workqueue" layer (no OpenMP, no TBB) a threaded loop costs about 0.1 ms
    monkeypatch.setattr(network_module, "_threading_layer", lambda: "workqueue")
    assert not single(600_000, const)._parallel() and single(700_000, const)._parallel()
    assert not single(90_000, noise)._parallel() and single(110_000, noise)._parallel()
    assert not cuba(400_000)._parallel()
    assert forced._parallel()


def test_one_thread_runs_serially_and_a_pool_worker_threading_on_all_cores_is_told(
        monkeypatch):
    """A worker of a process pool threads, by default, on all the cores, as do the others: on
    2 cores, 2 workers running threaded networks took 2-100x as long as serial runs, without a
    word. With one thread (threads=1, NUMBA_NUM_THREADS=1 as joblib's workers get) the default
    is the serial kernel."""
    monkeypatch.setattr(network_module, "_threading_layer", lambda: "omp")
    monkeypatch.setattr(network_module, "_warned_pool", False, raising=False)
    monkeypatch.setattr(network_module.config, "NUMBA_NUM_THREADS", 2)
    monkeypatch.setattr(network_module, "get_num_threads", lambda: 2)  # (none set otherwise)
    monkeypatch.delenv("NUMBA_NUM_THREADS", raising=False)

    def single(**kw):
        net = ss.Network(dt=1e-4, **kw)
        net.add(ss.ConstantCurrent(net.add(ss.LIF(30_000)), 1.0))
        return net

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert single()._parallel() and caught == []  # (not a pool worker)
        assert not single(threads=1)._parallel() and single(threads=1, parallel=True)._parallel()
        monkeypatch.setattr(network_module.multiprocessing, "parent_process", lambda: object())
        assert single()._parallel() and single()._parallel()
        assert single(threads=2)._parallel()  # (a share given: no word)
        monkeypatch.setattr(network_module.config, "NUMBA_NUM_THREADS", 1)
        assert not single()._parallel()
    assert len(caught) == 1 and "workers of a process pool" in str(caught[0].message)
    assert "threads=" in str(caught[0].message)


def test_a_worker_whose_numba_threads_were_limited_runs_serially_and_is_not_told(
        monkeypatch):
    """A pool's initializer may call numba.set_num_threads(1): the worker was told that it ran
    on all the cores, and the network ran the threaded kernel on one thread, where threads=1
    runs the serial one (without the threaded loops' costs). Numba's thread count is read only
    once its threading layer has started (set_num_threads starts it): reading it starts the
    layer, which a fork then cannot thread in."""
    import numba.np.ufunc.parallel as numba_parallel

    monkeypatch.setattr(network_module, "_threading_layer", lambda: "omp")
    monkeypatch.setattr(network_module, "_warned_pool", False)
    monkeypatch.setattr(network_module.config, "NUMBA_NUM_THREADS", 2)
    monkeypatch.delenv("NUMBA_NUM_THREADS", raising=False)
    monkeypatch.setattr(network_module.multiprocessing, "parent_process", lambda: object())
    monkeypatch.setattr(network_module, "get_num_threads", lambda: 1)  # (set_num_threads(1))
    monkeypatch.setattr(numba_parallel, "_is_initialized", True)
    net = ss.Network(dt=1e-4)
    net.add(ss.ConstantCurrent(net.add(ss.LIF(30_000)), 1.0))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert not net._parallel()
        net.parallel = True
        assert net._parallel()
    assert caught == []
    monkeypatch.setattr(numba_parallel, "_is_initialized", False)  # (nothing set: not read)
    monkeypatch.setattr(network_module, "get_num_threads", lambda: 1 / 0)
    net.parallel = None
    assert network_module._numba_threads() == 2 and net._threads_wanted()


def test_a_cuda_network_in_a_worker_process_is_not_told_about_cpu_threads(monkeypatch):
    """The build of a backend="cuda" network asked whether the CPU kernel threads before
    whether the backend is the CPU: in any multiprocessing child it warned of Numba threads
    that CUDA never uses."""
    from spikesim import cuda
    monkeypatch.setattr(cuda, "require_cuda", lambda: None)  # (the build needs no GPU)
    monkeypatch.setattr(network_module, "_threading_layer", lambda: "omp")
    monkeypatch.setattr(network_module, "_warned_pool", False)
    monkeypatch.setattr(network_module.config, "NUMBA_NUM_THREADS", 2)
    monkeypatch.delenv("NUMBA_NUM_THREADS", raising=False)
    monkeypatch.setattr(network_module.multiprocessing, "parent_process", lambda: object())
    net = ss.Network(dt=1e-4, backend="cuda")
    net.add(ss.ConstantCurrent(net.add(ss.LIF(100_000)), 1.0))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        net.build()
    assert caught == [] and net.tables.parts.shape[1] == 2  # (one part: no threads)


def test_a_threaded_run_under_numbas_workqueue_layer_warns_once_and_runs(monkeypatch):
    monkeypatch.setattr(network_module, "_threading_layer", lambda: "workqueue")
    monkeypatch.setattr(network_module, "_warned_workqueue", False)

    def run():
        net = ss.Network(dt=1e-3, parallel=True)
        pop = net.add(ss.LIF(10, tau_mem=10e-3, v_th=0.5))
        net.add(ss.ConstantCurrent(pop, 1.0))
        mon = net.add(ss.SpikeMonitor(pop))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            net.run(0.05)
        return mon.spikes.times, [str(w.message) for w in caught]

    (first, said), (second, said_again) = run(), run()
    assert len(said) == 1 and "workqueue" in said[0] and "libgomp1" in said[0]
    assert said_again == []
    assert first.size > 0
    np.testing.assert_array_equal(first, second)


def test_the_threading_layer_is_the_one_numba_uses():
    code = "from spikesim import network; print(network._threading_layer())"
    env = {**os.environ, "NUMBA_THREADING_LAYER": "workqueue"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[-1] == "workqueue"


def test_threaded_runs_in_two_threads_at_once_under_workqueue_finish():
    """The kernels release the GIL, so two threads may enter the threaded kernel at once: Numba's
    "workqueue" layer then aborted the process ("Concurrent access has been detected"). Under it
    the threaded calls now take turns; the spikes are those of a run alone."""
    code = textwrap.dedent("""
        import threading, warnings
        import spikesim as ss
        warnings.simplefilter("ignore")

        def make():
            net = ss.Network(dt=1e-4, seed=1, parallel=True, chunk=100)
            pop = net.add(ss.LIF(2000, tau_mem=20e-3, v_leak=-60e-3, v_th=-50e-3,
                                 v_reset=-60e-3, R=1.0))
            net.add(ss.NoiseCurrent(pop, mean=11e-3, std=4e-3))
            return net, net.add(ss.SpikeMonitor(pop))

        runs = [make() for _ in range(3)]
        runs[2][0].run(0.2)
        threads = [threading.Thread(target=net.run, args=(0.2,)) for net, _ in runs[:2]]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print(all(m.spikes.ids.tolist() == runs[2][1].spikes.ids.tolist() for _, m in runs))
    """)
    env = {**os.environ, "NUMBA_THREADING_LAYER": "workqueue"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True"], (out.stdout, out.stderr)


def test_pool_workers_forked_after_threads_started_run_serially_and_finish():
    """multiprocessing forks its workers by default on Linux. After the parent started Numba's
    GNU OpenMP threads, Numba ends a forked child that enters a threaded loop (SIGTERM), and
    Pool.map waited forever for the lost tasks. A serial run with ``threads`` given started
    them too. Now a serial run leaves them alone, and a forked worker runs serially (the same
    spikes) with a warning."""
    code = textwrap.dedent("""
        import multiprocessing as mp, warnings
        import spikesim as ss

        def point(args):
            parallel, threads = args
            net = ss.Network(dt=1e-3, seed=1, parallel=parallel, threads=threads)
            pop = net.add(ss.LIF(100, tau_mem=10e-3, v_th=0.5))
            net.add(ss.NoiseCurrent(pop, mean=0.6, std=0.3))
            mon = net.add(ss.SpikeMonitor(pop))
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                net.run(0.1)
            return mon.spikes.ids.tolist(), [str(w.message) for w in caught]

        def forked(args):
            with mp.get_context("fork").Pool(1) as pool:
                return pool.map_async(point, [args]).get(timeout=20)[0]

        if __name__ == "__main__":
            serial = point((False, 1))  # threads given: the layer must not start
            ids, said = forked((True, None))
            print(ids == serial[0] and len(ids) > 0, said == [])
            threaded = point((True, None))  # GNU OpenMP starts here
            ids, said = forked((True, None))
            print(ids == serial[0] == threaded[0], len(said) == 1 and "forked" in said[0]
                  and "'spawn'" in said[0])
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True"] * 4, (out.stdout, out.stderr)


def test_a_run_in_another_thread_lets_python_run_meanwhile():
    """The kernels release the GIL: a network run in a background thread (a notebook's or a
    GUI's, or a ThreadPoolExecutor sweep) leaves the other threads running while it computes a
    chunk; the serial kernel held it for the whole chunk, so they froze meanwhile and two
    serial runs in two threads took as long as one after the other."""
    net = ss.Network(dt=1e-4, seed=1, chunk=20_000, parallel=False)
    pop = net.add(ss.LIF(2000, tau_mem=20e-3, v_leak=-60e-3, v_th=-50e-3, v_reset=-60e-3,
                         R=1.0))
    net.add(ss.NoiseCurrent(pop, mean=11e-3, std=4e-3))
    net.run(1e-3)  # (the kernel loaded)
    run = threading.Thread(target=net.run, args=(2.0,))  # one kernel call, about 0.1 s
    ticks = 0
    run.start()
    while run.is_alive():
        time.sleep(0.001)
        ticks += 1
    run.join()
    assert net.step == 20_010 and ticks >= 10, ticks


def test_decaying_state_is_flushed_to_zero_inside_and_ieee_outside_the_kernel():
    """Forward Euler at dt 1 ms: i decays by 0.8 and v by 0.9 per step after one input spike,
    so in float32 both pass the subnormal range (|x| < 1.2e-38) within 1.2 s (v between about
    steps 830 and 960): the kernel flushes them to 0 (kernels/fpu.py), and NumPy after the run
    still computes subnormals. (v can stop at ~1e-37, where its decrement would be subnormal.)"""
    tiny = np.finfo(np.float32).tiny
    net = ss.Network(dt=1e-3, dtype=np.float32)
    pop = net.add(ss.LIF(1, tau_mem=10e-3, tau_syn=5e-3, v_th=10.0, units="1"))
    src = net.add(ss.SpikeTimes(1, [0.0], [0]))
    net.connect(src, pop, "all_to_all", weight=1.0)
    mon = net.add(ss.StateMonitor(pop, ("v", "i")))
    net.run(1.2)
    for var in ("v", "i"):
        x = np.abs(mon.trace(var).values[:, 0, 0])
        assert x.max() > 0.1 and x[-1] < 1e-30
        assert not np.any((x > 0) & (x < tiny)), f"{var} has subnormal samples"
    assert np.float32(tiny) * np.float32(0.25) > 0  # the caller's FPU mode is restored


def test_a_monitor_added_later_records_from_when_it_started(tmp_path):
    # A regular firer (RC under a constant current, exact): a monitor or recorder added after
    # the first run covers the second run only, so its rate is the firing rate, not diluted by
    # the time before (a file's recorder added later too: its group keeps its first step).
    net = ss.Network(dt=1e-4, seed=0)
    rc = net.add(ss.RC(3, R=1.0, tau=10e-3, v_th=1.0, method="exact"))
    net.add(ss.ConstantCurrent(rc, 2.0))
    out = ss.H5Output(tmp_path / "late.h5")
    early = net.add(ss.SpikeMonitor(rc))
    net.add(ss.SpikeRecorder(out, rc, name="early"))
    net.run(0.1)
    late = net.add(ss.SpikeMonitor(rc))
    late_file = net.add(ss.SpikeRecorder(out, rc, name="late"))
    net.run(0.1)
    rate = 1 / (10e-3 * np.log(2.0 / (2.0 - 1.0)))  # 1 / (tau ln(RI / (RI - v_th))), Hz
    early_file = ss.load(out.path).spikes("early")
    for mon in (late.spikes, late_file.spikes):
        assert mon.t_start == pytest.approx(0.1) and mon.t_stop == pytest.approx(0.2)
    assert early.spikes.t_start == 0.0 and early_file.t_start == 0.0
    for spikes in (early.spikes, late.spikes, late_file.spikes, early_file):
        assert firing_rates(spikes) == pytest.approx(np.full((1, 3), rate), rel=0.1)


def test_rates_of_a_record_of_some_neurons_count_only_those(tmp_path, capsys):
    # 10 regular firers, 3 of them recorded (in memory and to a file): the rate per neuron is
    # the firing rate, 1 / (tau ln(RI / (RI - v_th))), not diluted by the 7 unrecorded ones
    # (they were: 0.3 of it), in the analysis, the plots' histogram and `spikesim info`.
    from spikesim import analysis, cli, plot

    net = ss.Network(dt=1e-4, seed=0)
    rc = net.add(ss.RC(10, R=1.0, tau=10e-3, v_th=1.0, method="exact"))
    net.add(ss.ConstantCurrent(rc, 2.0))
    out = ss.H5Output(tmp_path / "some.h5")
    ids = [7, 2, 5, 2]  # a repeated id is one neuron
    mon = net.add(ss.SpikeMonitor(rc, ids=ids))
    net.add(ss.SpikeRecorder(out, rc, ids=ids, name="rc"))
    net.run(0.2)
    rate = 1 / (10e-3 * np.log(2.0 / (2.0 - 1.0)))
    for spikes in (mon.spikes, ss.load(out.path).spikes("rc")):
        assert spikes.n_recorded == 3 and spikes.recorded.tolist() == [2, 5, 7]
        _, pop_rate = analysis.population_rate(spikes, 0.05)
        assert pop_rate == pytest.approx(np.full((1, 4), rate), rel=0.15)
        per_neuron = analysis.firing_rates(spikes)[0]
        assert per_neuron[[2, 5, 7]] == pytest.approx(np.full(3, rate), rel=0.1)
        assert np.isnan(np.delete(per_neuron, [2, 5, 7])).all()
        heights = plot.count_histogram(spikes).patches[0].get_data()[0]
        assert heights.sum() == 3  # three neurons counted, not ten
        counts, edges = analysis.rate_histogram(spikes, bins=5)
        assert counts.sum() == 3 and edges[0] == pytest.approx(rate, rel=0.1)
    net.add(ss.RateRecorder(out, rc, bin_width=0.05, ids=ids, name="rc_rate"))
    net.run(0.2)  # (the rate recorder's bins start with this run)
    binned = ss.load(out.path).rate("rc_rate").values[:, 0, 0]
    assert binned == pytest.approx(np.full(4, rate), rel=0.15)
    assert cli.main(["info", str(out.path)]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.strip().startswith("rc:"))
    assert "10 neurons (3 recorded)" in line
    assert float(line.split(", ")[-1].split()[0]) == pytest.approx(rate, rel=0.1)


def test_compile_advances_nothing_and_changes_no_result():
    def make():
        net = ss.Network(dt=1e-3, seed=3, chunk=7)
        lif = net.add(ss.LIF(50, v_th=0.3))
        drawn = net.add(ss.BernoulliInput(50, p=0.05))  # its first firing is drawn by compile
        net.connect(drawn, lif, "one_to_one")
        given = net.add(ss.SpikeArray(np.random.default_rng(1).random((30, 50)) < 0.05))
        net.connect(given, lif, "one_to_one", weight=0.5)
        net.connect(net.add(ss.PoissonInput(50, rate=20.0)), lif, "random", p=0.1, weight=0.2,
                    delay=3e-3)
        net.add(ss.NoiseCurrent(lif, mean=0.1, std=0.5))
        net.add(ss.CurrentArray(lif, np.linspace(0.0, 0.2, 40)[:, None] * np.ones(50)))
        swell = net.add(ss.PoissonInput(50, rate=lambda t: 50.0 + 500.0 * t))  # per step
        net.connect(swell, lif, "one_to_one", weight=0.3)
        return net, net.add(ss.SpikeMonitor(lif)), net.add(ss.StateMonitor(lif, "v", every=3))

    net, spikes, v = make()
    assert net.compile() >= 0 and net.step == 0
    net.run(0.05)
    net.compile()
    assert net.step == 50
    net.run(0.05)
    ref, ref_spikes, ref_v = make()
    ref.run(0.1)
    assert len(ref_spikes.spikes) > 100
    np.testing.assert_array_equal(spikes.spikes.times, ref_spikes.spikes.times)
    np.testing.assert_array_equal(spikes.spikes.ids, ref_spikes.spikes.ids)
    np.testing.assert_array_equal(v.trace().values, ref_v.trace().values)


@pytest.mark.skipif(sys.platform != "linux", reason="madvise is Linux's")
def test_large_state_arrays_start_on_a_huge_page_boundary_and_run_alike():
    """State arrays of HUGE_BYTES or more lie on a 2 MiB boundary (where the kernel can back
    them with huge pages), zeroed and writable like the small ones; a network whose state
    is that large runs exactly as the same neurons split into small networks."""
    big = layout._state((1, layout.HUGE_BYTES // 8), np.float64)
    small = layout._state((1, layout.HUGE_BYTES // 16), np.float64)
    assert big.ctypes.data % layout.HUGE_PAGE == 0
    assert not big.any() and big.flags.c_contiguous and big.flags.writeable
    assert not small.any()
    n, parts = 300_000, 4  # 2.4 MB of float64 per state variable, above HUGE_BYTES

    def run_lif(n_neurons, drive):  # -> final v (1, n_neurons) in V, spikes
        net = ss.Network(dt=1e-4)
        pop = net.add(ss.LIF(n_neurons, tau_mem=20e-3, tau_syn=5e-3, v_leak=0.0, v_th=1.0,
                             v_reset=0.0, R=1.0, refractory=2e-3, method="exact"))
        net.add(ss.ConstantCurrent(pop, drive))
        mon = net.add(ss.SpikeMonitor(pop))
        net.run(0.01)
        return net.state["v"], mon.spikes

    drive = np.linspace(0.9, 3.0, n)
    v_big, sp_big = run_lif(n, drive)
    assert v_big.ctypes.data % layout.HUGE_PAGE == 0
    m = n // parts
    v_small = np.concatenate([run_lif(m, drive[k * m:(k + 1) * m])[0] for k in range(parts)],
                             axis=1)
    np.testing.assert_array_equal(v_big, v_small)
    assert len(sp_big) > 0


class _CtrlCWhileHandedSpikes(ss.SpikeMonitor):
    """A spike monitor during whose first hand-off Ctrl-C is pressed (SIGINT to this
    process): where Python first acts on a signal after a kernel call."""

    pressed = False

    def spikes_in(self, steps, realizations, ids):
        super().spikes_in(steps, realizations, ids)
        if not self.pressed:
            self.pressed = True
            signal.raise_signal(signal.SIGINT)


def _interrupted_network(monitor):
    net = ss.Network(dt=1e-3, seed=4, chunk=20)
    lif = net.add(ss.LIF(30, v_th=0.3, units="1"))
    net.connect(net.add(ss.BernoulliInput(30, p=0.05)), lif, "one_to_one", weight=1.0)
    return net, net.add(monitor(lif)), net.add(ss.StateMonitor(lif, "v", ids=[0, 1]))


def test_ctrl_c_during_a_chunk_stops_after_it_with_state_step_and_monitors_agreeing():
    net, mon, vmon = _interrupted_network(_CtrlCWhileHandedSpikes)
    old = signal.signal(signal.SIGINT, signal.default_int_handler)  # (a background job
    try:  # starts with SIGINT ignored)
        with pytest.raises(KeyboardInterrupt):
            net.run(0.1)
    finally:
        signal.signal(signal.SIGINT, old)
    assert net.step == 20  # the chunk was booked whole
    assert mon.spikes.times.max() < net.t and vmon.trace("v").times[-1] == pytest.approx(net.t)
    net.run(0.08)  # resumed: as if never interrupted
    ref, ref_mon, ref_v = _interrupted_network(ss.SpikeMonitor)
    ref.run(0.1)
    np.testing.assert_array_equal(mon.spikes.times, ref_mon.spikes.times)
    np.testing.assert_array_equal(mon.spikes.ids, ref_mon.spikes.ids)
    np.testing.assert_array_equal(vmon.trace("v").values, ref_v.trace("v").values)


@pytest.mark.parametrize("dtype,weight", [(np.float64, 1e308), (np.float32, 1e38)])
def test_a_state_that_overflows_stops_the_run_naming_population_and_variable(dtype, weight):
    """Checked every FINITE_CHECK_STEPS (1000) steps and at the end: chunks of 10 steps."""
    net = ss.Network(dt=1e-3, dtype=dtype, chunk=10)
    lif = net.add(ss.LIF(4))
    net.connect(net.add(ss.PoissonInput(4, rate=500.0)), lif, "one_to_one", weight=weight)
    net.add(ss.RC(3, tau=10e-3))  # healthy, and without i: not where the error points
    with pytest.raises(FloatingPointError, match=r"LIF 'lif0': v became NaN or infinite in \d "
                                                 r"neuron\(s\) by t = 1 s — a weight, "
                                                 r"current or noise too large for float"):
        net.run(2.0)
    assert net.step == 1000
    short = ss.Network(dt=1e-3, dtype=dtype, chunk=10)
    lif = short.add(ss.LIF(4))
    short.connect(short.add(ss.PoissonInput(4, rate=500.0)), lif, "one_to_one", weight=weight)
    with pytest.raises(FloatingPointError, match="by t = 0.05 s"):  # at the end of a run
        short.run(0.05)


def test_a_run_longer_than_2_to_the_53_steps_is_refused():
    net = ss.Network(dt=1e-3)
    net.add(ss.LIF(2))
    with pytest.raises(ValueError, match=r"duration must be at most 9007199254740992 steps of "
                                         r"dt = 0.001 s \(9.01e\+12 s\), got 1e\+300 s"):
        net.run(1e300)


class _FailingStateMonitor(ss.StateMonitor):
    """Raises in its second chunk's samples (after the kernel advanced the state)."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.calls = 0

    def samples(self, steps, values):
        self.calls += 1
        if self.calls == 2:
            raise RuntimeError("monitor failed")
        super().samples(steps, values)


def _coupled_network(failing: bool):
    net = ss.Network(dt=1e-3, seed=3, chunk=10)
    lif = net.add(ss.LIF(12, tau_mem=10e-3, tau_syn=5e-3, v_th=0.3, refractory=2e-3))
    net.connect(net.add(ss.BernoulliInput(12, p=0.3)), lif, "one_to_one", weight=1.0)
    net.connect(lif, lif, "random", p=0.3, weight=0.2)
    mon = net.add(ss.SpikeMonitor(lif))
    if failing:
        net.add(_FailingStateMonitor(lif, "v"))
    return net, mon


def test_an_error_in_a_chunk_leaves_the_state_at_net_step_and_a_later_run_continues_it():
    """A monitor raising after the kernel advanced a chunk: net.step counts that chunk (the
    state reached it), and running on gives what one uninterrupted run gives."""
    net, mon = _coupled_network(failing=True)
    with pytest.raises(RuntimeError, match="monitor failed"):
        net.run(0.03)
    assert net.step == 20
    ref, ref_mon = _coupled_network(failing=False)
    ref.run(0.02)
    for name, arr in ref.state.items():
        np.testing.assert_array_equal(net.state[name], arr, err_msg=name)
    net.run(0.01)
    ref.run(0.01)
    for name, arr in ref.state.items():
        np.testing.assert_array_equal(net.state[name], arr, err_msg=name)
    steps = np.rint(mon.spikes.times / net.dt)
    assert len(set(zip(steps, mon.spikes.ids))) == len(steps)  # no step simulated twice
    later = np.rint(ref_mon.spikes.times / ref.dt) >= 20
    np.testing.assert_array_equal(mon.spikes.ids[steps >= 20], ref_mon.spikes.ids[later])


def test_an_error_in_the_middle_of_a_chunk_keeps_the_sources_later_firings(monkeypatch):
    """The spike buffer fills mid-chunk and a monitor raises there: the Bernoulli source's
    firings drawn for the rest of the chunk are drawn again when the run continues, so the
    continued run equals one uninterrupted run."""
    monkeypatch.setattr(network_module, "REC_SPIKES_MAX", 1 << 14)  # (it fills mid-chunk)
    class FailsOnce(ss.SpikeMonitor):
        calls = 0

        def spikes_in(self, *args):
            super().spikes_in(*args)
            FailsOnce.calls += 1
            if FailsOnce.calls == 2:
                raise RuntimeError("user monitor failed")

    def network():
        net = ss.Network(dt=1e-3, seed=2, chunk=200)
        lif = net.add(ss.LIF(10, tau_mem=10e-3, tau_syn=5e-3, v_th=0.3, refractory=2e-3))
        inp = net.add(ss.BernoulliInput(200, p=0.9))
        net.connect(inp, lif, "random", p=0.05, weight=0.1)
        return net, inp

    net, inp = network()
    mon = net.add(FailsOnce(inp))
    with pytest.raises(RuntimeError, match="user monitor failed"):
        net.run(0.6)
    assert 0 < net.step % 200  # stopped in the middle of a chunk
    net.run(0.3)
    ref, ref_inp = network()
    ref_mon = ref.add(ss.SpikeMonitor(ref_inp))
    ref.run(net.t)
    np.testing.assert_array_equal(mon.spikes.times, ref_mon.spikes.times)
    np.testing.assert_array_equal(mon.spikes.ids, ref_mon.spikes.ids)


@pytest.mark.parametrize("n_arrays", [1, 2])
def test_a_given_array_changed_during_a_run_takes_effect_at_the_next_chunk(n_arrays):
    """Given arrays read as masks are read as they are at each chunk, one of them (a view) or
    several (copied chunk by chunk), as the CUDA backend does."""
    net = ss.Network(dt=1e-3, seed=0, chunk=4)
    leaky = net.add(ss.Leaky(2, beta=0.5, v_th=0.5))
    arrays = [net.add(ss.SpikeArray(np.zeros((12, 2), bool))) for _ in range(n_arrays)]
    for a in arrays:
        net.connect(a, leaky, "one_to_one", weight=1.0)
    mon = net.add(ss.SpikeMonitor(leaky))

    def progress(done, total):
        if done == 4:
            arrays[0].spikes[:, 0] = True  # unit 0 is driven from step 4 on

    net.run(0.012, progress=progress)
    np.testing.assert_array_equal(np.rint(mon.spikes.times / 1e-3), np.arange(6, 12))
    assert set(mon.spikes.ids.tolist()) == {0}


def test_a_tiny_connection_probability_draws_no_synapse_out_of_range():
    """Rule "random" sums geometric gaps (int64): for p below about 1e-18 they reach 2**63 - 1
    and their sum wrapped around, giving negative presynaptic ids (a crash at build) or, for
    p <= 1e-20, a loop without end."""
    pre, post = ss.LIF(100), ss.LIF(100)
    for p in (1e-19, 1e-300):
        ids = ss.Projection(pre, post, "random", p=p).pairs(np.random.default_rng(1))
        assert ids[0].size == ids[1].size == 0
    ids = ss.Projection(pre, post, "random", p=0.3).pairs(np.random.default_rng(1))
    assert 0 <= ids[0].min() and ids[0].max() < 100 and abs(ids[0].size - 3000) < 300


def test_empty_id_lists_make_a_projection_without_synapses():
    """An empty list reads as float64 in NumPy; it is the natural "no synapse" (a filtered
    list of pairs), as checks.index_array accepts it elsewhere."""
    net = ss.Network(dt=1e-3)
    a, b = net.add(ss.LIF(3)), net.add(ss.LIF(4))
    net.connect(a, b, "explicit", pre_ids=[], post_ids=[], weight=[])
    net.connect(a, b, "explicit", pre_ids=[0, 2], post_ids=[3, 1], weight=0.5)
    net.build()
    assert net.tables.col.tolist() == [3, 1]


def test_a_step_current_time_on_the_grid_up_to_float32_rounding_applies_at_that_step():
    """np.float32(0.003) is 3.000000026 steps of 1 ms: on the grid for the warning (1e-6
    steps), so on it for the current too, as PulseCurrent's edges (was: a step late)."""
    for t0 in (0.003, float(np.float32(0.003)), 0.003 + 3e-11, 0.003 - 3e-11):
        step = ss.StepCurrent(ss.LIF(1), [t0], [1.0])
        pulse = ss.PulseCurrent(ss.LIF(1), start=t0, width=2e-3, amplitude=1.0)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # (on the grid: no warning)
            got = step.values(np.arange(6), 1e-3, 1, None).reshape(-1)
            on = pulse.values(np.arange(6), 1e-3, 1, None).reshape(-1)
        np.testing.assert_array_equal(got, [0, 0, 0, 1, 1, 1], err_msg=repr(t0))
        np.testing.assert_array_equal(on, [0, 0, 0, 1, 1, 0], err_msg=repr(t0))


@pytest.mark.parametrize("before, after, expected", [(0.0, 0.5, 0.5), (0.001, 1.0, 1.0),
                                                     (0.3, 0.0, 0.0)])
def test_a_constant_source_given_a_new_probability_between_runs_fires_with_it(before, after,
                                                                              expected):
    """A p (or rate) given anew between runs applies from the next run (was: the firings
    drawn with the old p stayed pending: from p = 0, never again; to p = 0, once more)."""
    net = ss.Network(dt=1e-3, seed=2, batch=2)
    src = net.add(ss.BernoulliInput(300, p=before))
    poisson = net.add(ss.PoissonInput(300, rate=before * 1e3))
    mons = net.add(ss.SpikeMonitor(src)), net.add(ss.SpikeMonitor(poisson))
    net.run(0.05)
    src.p, poisson.rate = after, after * 1e3  # plain floats, as given at first
    net.run(0.1)
    for mon in mons:
        late = np.count_nonzero(mon.spikes.times > 0.05 - 1e-9) / (2 * 300 * 100)
        assert abs(late - expected) < 0.02, (before, after, late)


def test_spike_times_merged_into_one_step_warn_once():
    """1.5, 2.5, 3.5 and 4.5 ms at dt = 1 ms round (half to even) to steps 2, 2, 4, 4: two
    spikes are lost, which is said (once), not silent."""
    net = ss.Network(dt=1e-3)
    src = net.add(ss.SpikeTimes(2, [1.5e-3, 2.5e-3, 3.5e-3, 4.5e-3, 2.5e-3], [0, 0, 0, 0, 1]),
                  name="given")
    mon = net.add(ss.SpikeMonitor(src))
    with pytest.warns(RuntimeWarning, match=r"SpikeTimes 'given': 2 of its 5 spikes fall in a "
                                            r"step of dt = 0\.001 s where their unit fires "
                                            r"already"):
        net.run(0.003)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        net.run(0.003)
    assert mon.spikes.times.tolist() == pytest.approx([0.002, 0.002, 0.004])


def test_monitors_read_before_any_run_have_the_networks_batch():
    net = ss.Network(dt=1e-3, batch=4)
    pop = net.add(ss.LIF(3, units="1"))
    spikes, states = net.add(ss.SpikeMonitor(pop)), net.add(ss.StateMonitor(pop, "v"))
    net.compile()
    assert spikes.spikes.counts().shape == (4, 3)
    assert states.trace("v").values.shape == (0, 4, 3)


def test_add_refuses_a_name_that_is_not_a_string():
    """A population named 5 was added, then refused by a recorder of it only when a run
    started ("SpikeRecorder.name must be a non-empty name")."""
    net = ss.Network(dt=1e-3)
    with pytest.raises(TypeError, match="name must be a str or None, got 5"):
        net.add(ss.LIF(2), name=5)
    with pytest.raises(TypeError, match="the LIF's name must be a str, got 5"):
        net.add(ss.LIF(2, name=5))
    assert not net.populations
    assert net.add(ss.LIF(2), name="exc").name == "exc"


def test_spikes_and_traces_print_short():
    net = ss.Network(dt=1e-3, batch=2)
    pop = net.add(ss.LIF(20, v_th=0.3, units="1"), name="lif")
    net.add(ss.ConstantCurrent(pop, 0.5))
    spikes, states = net.add(ss.SpikeMonitor(pop)), net.add(ss.StateMonitor(pop, "v"))
    net.run(0.5)
    s, v = repr(spikes.spikes), repr(states.trace("v"))
    assert s == (f"Spikes(lif: {len(spikes.spikes)} spikes of 20 neurons x 2 realizations, "
                 f"t = 0 to 0.5 s)")
    assert v == "Trace(lif.v [1]: 20 neurons x 500 samples x 2 realizations, t = 0.001 to 0.5 s)"


def test_a_state_monitor_keeps_nothing_for_chunks_without_a_sample():
    net = ss.Network(dt=1e-3, chunk=3)
    lif = net.add(ss.LIF(2, units="1"))
    mon = net.add(ss.StateMonitor(lif, "v", every=30))
    net.run(0.09)  # 30 chunks, 3 samples
    assert len(mon._values) == 3 and mon.trace("v").values.shape == (3, 1, 2)


DT = 1e-3  # s: the step of the tests below


def _fired(mon, steps: int, n: int, dt: float = DT) -> np.ndarray:
    """(steps, n) bool: where the monitor's neurons fired."""
    out = np.zeros((steps, n), bool)
    s = mon.spikes
    out[np.rint(s.times / dt).astype(int), s.ids] = True
    return out


def test_time_varying_sources_fire_exactly_where_their_rate_or_row_is_certain():
    """Probabilities of 0 and 1 make the draw deterministic: a RateCoded (T, n) row k of ones
    fires at step k and only there, nothing past its last row (README/inputs: "row k applies
    at step k and nothing fires after the last row"); PoissonInput(rate=f) fires where
    f(t_k)·dt = 1, t_k = k·dt. Chunks of 7 steps and two runs: the rows/times are global."""
    steps = 40
    rows = np.zeros((30, 3))
    rows[[2, 9, 10, 29], [0, 1, 1, 2]] = 1.0
    certain = np.array([0, 5, 6, 17, 31, 39])

    def rate(t):
        k = np.rint(t / DT).astype(int)
        return np.where(np.isin(k, certain), 1.0 / DT, 0.0)

    net = ss.Network(dt=DT, seed=0, chunk=7)
    coded = net.add(ss.RateCoded(rows))
    poisson = net.add(ss.PoissonInput(2, rate=lambda t: np.stack([rate(t), 0 * t], axis=1)))
    m_coded, m_poisson = net.add(ss.SpikeMonitor(coded)), net.add(ss.SpikeMonitor(poisson))
    net.run(13 * DT)
    net.run((steps - 13) * DT)
    want = np.zeros((steps, 3), bool)
    want[:30] = rows == 1.0
    np.testing.assert_array_equal(_fired(m_coded, steps, 3), want)
    want = np.zeros((steps, 2), bool)
    want[certain, 0] = True
    np.testing.assert_array_equal(_fired(m_poisson, steps, 2), want)


def test_rate_coded_data_per_realization_fires_in_its_own_realization():
    """RateCoded (T, B, n): realization b draws from its own rows — here certain ones, unit b
    at every step of realization b (a batch of B different inputs) — and nothing past T; data
    for another number of realizations than the batch is refused, naming the source."""
    steps, batch, n, rows = 20, 3, 4, 12
    data = np.zeros((rows, batch, n))
    data[:, np.arange(batch), np.arange(batch)] = 1.0
    net = ss.Network(dt=DT, seed=0, batch=batch, chunk=7)
    coded = net.add(ss.RateCoded(data), name="images")
    mon = net.add(ss.SpikeMonitor(coded))
    net.run(steps * DT)
    s = mon.spikes
    for b in range(batch):
        mine = s.realizations == b
        assert set(s.ids[mine].tolist()) == {b}
        np.testing.assert_allclose(np.sort(s.times[mine]), np.arange(rows) * DT)
    wrong = ss.Network(dt=DT, batch=2)
    wrong.add(ss.RateCoded(data), name="images")
    with pytest.raises(ValueError, match=r"RateCoded 'images' has data for 3 realizations, but "
                                         r"the network runs batch = 2"):
        wrong.build()


def test_a_time_varying_poisson_rate_gives_rate_of_t_times_dt_per_step():
    """A ramp rate(t) = 400 Hz/s·t... up to 200 Hz: the count of 1000 units in each 0.1 s
    window is Binomial with the sum of rate(t_k)·dt over the window's steps (Brian2's
    PoissonGroup, as the docstring says), within 5 SE. Catches a rate read once per chunk,
    or a probability 1 − exp(−rate·dt) instead of rate·dt (up to 10 % low at 200 Hz)."""
    n, steps = 1000, 500
    slope = 400.0  # Hz per s: 0 ... 200 Hz over 0.5 s
    net = ss.Network(dt=DT, seed=3)  # chunk 1000 > the run: one chunk
    src = net.add(ss.PoissonInput(n, rate=lambda t: slope * t))
    mon = net.add(ss.SpikeMonitor(src))
    net.run(steps * DT)
    k = np.rint(mon.spikes.times / DT).astype(int)
    counts = np.bincount(k // 100, minlength=5)
    p = slope * np.arange(steps) * DT * DT  # rate(t_k)·dt
    mean = n * p.reshape(5, 100).sum(axis=1)
    sd = np.sqrt(n * (p * (1 - p)).reshape(5, 100).sum(axis=1))
    assert np.all(np.abs(counts - mean) < 5 * sd), (counts, mean, sd)


def test_a_current_array_shorter_than_the_run_is_zero_after_its_last_row():
    """CurrentArray: "row k at step k; zero after the last row" (inputs.py). Leaky with
    beta = 0: v after step k is the step's current, so v is the array, then 0."""
    rows = np.arange(1.0, 8.0)[:, None] * np.ones((1, 2))  # 7 rows
    net = ss.Network(dt=DT, chunk=3)
    pop = net.add(ss.Leaky(2, beta=0.0, v_th=1e9, reset="none"))
    net.add(ss.CurrentArray(pop, rows))
    mon = net.add(ss.StateMonitor(pop, "v"))
    net.run(12 * DT)
    want = np.zeros((12, 2))
    want[:7] = rows
    np.testing.assert_array_equal(mon.trace("v").values[:, 0], want)


def test_a_current_array_per_realization():
    """(T, B, n): realization b reads rows [:, b] (Leaky, beta = 0: v is the step's current),
    zero after the last row; another batch is refused, naming the shapes."""
    rows = np.arange(5 * 3 * 2, dtype=float).reshape(5, 3, 2)
    net = ss.Network(dt=DT, batch=3, chunk=2)
    pop = net.add(ss.Leaky(2, beta=0.0, v_th=1e9, reset="none"))
    net.add(ss.CurrentArray(pop, rows))
    mon = net.add(ss.StateMonitor(pop, "v"))
    net.run(7 * DT)
    want = np.zeros((7, 3, 2))
    want[:5] = rows
    np.testing.assert_array_equal(mon.trace("v").values, want)
    other = ss.Network(dt=DT, batch=2)
    other.add(ss.CurrentArray(other.add(ss.Leaky(2)), rows))
    with pytest.raises(ValueError, match=r"shape \(5, 3, 2\) holds 3 realizations \(its axis "
                                         r"1\), but the network runs batch = 2"):
        other.run(DT)
    with pytest.raises(ValueError, match=r"must have shape \(T,\), \(T, 2\) or \(T, B, 2\)"):
        ss.CurrentArray(pop, np.zeros((5, 3, 4)))


@pytest.mark.parametrize("model", ["leaky", "rc"])
def test_a_neuron_exactly_at_threshold_does_not_fire(model):
    """README, "The schedule of one step": threshold on the updated v (v > v_th). No test put
    v exactly on v_th (random inputs never land there), so `>=` passed every test.
    Leaky with beta = 0: v is the step's input, exactly v_th (no spike), then one ulp above
    (a spike at each step)."""
    steps = 10
    above = np.nextafter(0.5, 1.0)
    current = np.full((steps, 2), 0.5)
    current[:, 1] = above
    net = ss.Network(dt=DT)
    if model == "leaky":
        pop = net.add(ss.Leaky(2, beta=0.0, v_th=0.5, reset="none"))
    else:  # RC with tau = dt, Euler: v_{k+1} = v + (R·I − v) = R·I exactly
        pop = net.add(ss.RC(2, R=1.0, tau=DT, v_th=0.5, reset="none", method="euler"))
    net.add(ss.CurrentArray(pop, current))
    mon = net.add(ss.SpikeMonitor(pop))
    vm = net.add(ss.StateMonitor(pop, "v"))
    net.run(steps * DT)
    assert np.all(vm.trace("v").values[:, 0, 0] == 0.5)  # exactly on the threshold
    f = _fired(mon, steps, 2)
    assert not f[:, 0].any() and f[:, 1].all()


def test_connections_are_the_synapses_the_kernel_uses():
    """Network.connections lists the drawn synapses (pre, post, weight, delay): one spike of
    each presynaptic unit, 10 steps apart, moves each target's v by the weights, at the
    delays, that it lists — before and after a run alike."""
    dt, n_pre, n_post = 1e-3, 12, 30
    net = ss.Network(dt=dt, seed=4)
    src = net.add(ss.SpikeTimes(n_pre, np.arange(n_pre) * 10 * dt, np.arange(n_pre)),
                  name="src")
    rc = net.add(ss.RC(n_post, tau=1e4, R=1.0, v_th=1e9, units="1"), name="rc")
    proj = net.connect(src, rc, "random", p=0.4, weight=ss.Normal(1.0, 0.3),
                       delay=ss.Uniform(1e-3, 5e-3))
    pre, post, w, d = net.connections(proj)
    mon = net.add(ss.StateMonitor(rc, "v"))
    net.run(n_pre * 10 * dt + 0.01)
    v = mon.trace("v").values[:, 0, :]
    jumps = np.diff(np.vstack([np.zeros((1, n_post)), v]), axis=0)  # row k: step k's change
    steps = np.rint(d / dt).astype(np.int64)
    want = np.zeros_like(jumps)
    np.add.at(want, (pre * 10 + steps - 1, post), w)  # spike at step s arrives at s + d − 1
    np.testing.assert_allclose(jumps, want, atol=1e-5)
    assert pre.size > 50 and np.unique(steps).size > 1 and np.unique(w).size == w.size
    for a, b in zip((pre, post, w, d), net.connections(proj)):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="not in this network"):
        net.connections(ss.Projection(src, rc, "all_to_all"))


def test_a_closed_loop_of_short_runs_equals_one_run_with_monitors_added_or_changed_between():
    """run(dt) again and again (the last run's kernel set-up is reused while nothing it was
    made from changed): the same spikes as one run; a monitor added on another population, or
    given other ids, between two runs is served from the next run on."""
    def network():
        net = ss.Network(dt=1e-3, seed=3)
        a = net.add(ss.LIF(20, units="1", v_th=0.3), name="a")
        b = net.add(ss.LIF(10, units="1", v_th=0.3), name="b")
        src = net.add(ss.BernoulliInput(20, p=0.3))
        net.connect(src, a, "one_to_one", weight=0.5)
        net.connect(a, b, "random", p=0.5, weight=0.4)
        return net, a, b

    ref, ra, rb = network()
    ref_a, ref_b = ref.add(ss.SpikeMonitor(ra)), ref.add(ss.SpikeMonitor(rb))
    ref.run(0.06)
    net, a, b = network()
    on_a = net.add(ss.SpikeMonitor(a, ids=[0, 1, 2]))
    on_b = None
    for k in range(60):
        if k == 20:
            on_b = net.add(ss.SpikeMonitor(b))
        if k == 40:
            on_a.ids = np.array([3, 4])
            with pytest.warns(RuntimeWarning, match="its spikes mix both"):
                net.run(1e-3)
            continue
        net.run(1e-3)
    s, r = on_a.spikes, ref_a.spikes
    first = np.isin(r.ids, [0, 1, 2]) & (r.times < 0.0395)
    later = np.isin(r.ids, [3, 4]) & (r.times > 0.0395)
    np.testing.assert_allclose(s.times, r.times[first | later])
    np.testing.assert_array_equal(s.ids, r.ids[first | later])
    assert later.any() and first.any()
    late = ref_b.spikes.times > 0.0195  # (spikes of step 20 on, stamped t_20)
    np.testing.assert_allclose(on_b.spikes.times, ref_b.spikes.times[late])
    assert late.any()
    assert net._runner() is net._runner()  # (reused while nothing changed)


# (A population or source built in one network can still be added to another.)
def test_add_population_built_elsewhere():
    pop = ss.LIF(3, units="1", name="exc")
    a = ss.Network(dt=1e-3, parallel=False)
    a.add(pop)
    a.build()
    b = ss.Network(dt=1e-3, parallel=False)
    assert b.add(pop) is pop and pop.name == "exc"
    b.run(0.002)


# (A SpikeArray of shape (T, 1, n) is read as a mask as a (T, n) one is.)
def _two_masks(first, second):
    net = ss.Network(dt=1e-3, seed=1, batch=2, parallel=False)
    pop = net.add(ss.LIF(3, tau_mem=10e-3, tau_syn=5e-3, v_th=0.3, units="1"), name="pop")
    a = net.add(ss.SpikeArray(first), name="a")
    b = net.add(ss.SpikeArray(second), name="b")
    net.connect(a, pop, "one_to_one", weight=0.1)
    net.connect(b, pop, "one_to_one", weight=0.1)
    net.run(0.01)
    return net.state["v"].copy()


def test_two_masks_one_of_shape_t_1_n():
    rng = np.random.default_rng(0)
    first, second = rng.random((20, 3)) < 0.3, rng.random((20, 3)) < 0.3
    assert np.array_equal(_two_masks(first[:, None, :], second), _two_masks(first, second))


def test_a_network_that_ran_is_freed_when_its_last_reference_goes():
    """No reference cycle (the runner kept for the next run held the network): its arrays
    are freed at once, not at the next garbage collection, which made a loop of small
    networks fault its memory in anew each time (W1 10 % slower)."""
    import gc
    import weakref

    gc.disable()
    try:
        net = ss.Network(dt=1e-3)
        pop = net.add(ss.LIF(5, units="1", v_th=0.3))
        net.connect(net.add(ss.BernoulliInput(5, p=0.5)), pop, "one_to_one", weight=1.0)
        net.add(ss.SpikeMonitor(pop))
        net.add(ss.StateMonitor(pop, "v"))
        net.run(0.01)
        net.run(0.01)  # (the runner reused)
        gone = weakref.ref(net)
        del net, pop
        assert gone() is None
    finally:
        gc.enable()


def test_a_removed_monitor_can_be_added_again():
    net = ss.Network(dt=1e-3, parallel=False)
    pop = net.add(ss.LIF(3, units="1"), name="p")
    mon = net.add(ss.SpikeMonitor(pop))
    net.run(0.002)
    net.monitors.remove(mon)
    net.run(0.002)
    with pytest.warns(RuntimeWarning, match="its data will miss the 0.002 s between"):
        assert net.add(mon) is mon and net.monitors == [mon]
    with pytest.raises(ValueError, match="already added"):
        net.add(mon)


def test_a_run_from_a_progress_callback_leaves_the_outer_run_whole():
    net = ss.Network(dt=1e-3, chunk=5, parallel=False)
    pop = net.add(ss.LIF(3, units="1", v_th=0.3), name="p")
    net.connect(net.add(ss.BernoulliInput(3, p=0.5), name="b"), pop, "one_to_one", weight=1.0)
    mon = net.add(ss.SpikeMonitor(pop))
    net.run(0.005)  # (the runner kept for the next runs)
    calls = []

    def progress(done, total):
        calls.append(done)
        if len(calls) == 1:
            net.run(0.005)

    net.run(0.02, progress=progress)
    assert net.step == 30 and net._live is None and net._last_runner.net is None
    assert mon.spikes.times.max() < 0.03


def test_a_realization_of_small_populations_does_not_depend_on_the_batch_or_threads():
    """With random refractory periods, a Poisson drive, a given spike array read as a mask
    and noise, realization b is the same in a batch of 5, 64 and 100, serial or threaded."""
    def batch_run(batch, parallel):
        net = ss.Network(dt=1e-3, seed=9, batch=batch, parallel=parallel)
        pop = net.add(ss.LIF(30, tau_mem=10e-3, tau_syn=5e-3, v_th=0.5, units="1",
                             refractory=ss.Uniform(0.0, 4e-3)))
        small = net.add(ss.Leaky(7, beta=0.8, v_th=0.6))
        net.add(ss.PoissonDrive(pop, rate=400.0, weight=0.15))
        net.add(ss.NoiseCurrent(small, mean=0.1, std=0.2))
        arr = net.add(ss.SpikeArray(np.random.default_rng(2).random((80, 30)) < 0.1))
        net.connect(arr, pop, "one_to_one", weight=0.4)
        net.connect(pop, small, "random", p=0.3, weight=0.2)
        mons = [net.add(ss.SpikeMonitor(p)) for p in (pop, small)]
        net.run(0.1)
        return [m.spikes for m in mons]

    ref = batch_run(5, False)
    assert all(len(s.select(4)) > 20 for s in ref)
    for batch, parallel in ((64, False), (100, True)):
        for got, want in zip(batch_run(batch, parallel), ref):
            for b in range(5):
                g, w = got.select(b), want.select(b)
                np.testing.assert_array_equal(g.times, w.times)
                np.testing.assert_array_equal(g.ids, w.ids)
