"""PoissonDrive: jumps of weight·K at the end of each step, K Poisson of mean rate·dt per
neuron, step and realization — checked against the Poisson law, for invariance to chunks,
threads and batch, for its arrival time and refractoriness, and for its errors."""

from math import exp, factorial

import numpy as np
import pytest

import spikesim as ss

DT = 1e-4


def increments(rate, weight=0.5, n=500, steps=200, seed=3, **net_kw):
    """The jumps (steps, n) / weight of a drive into v of neurons that neither leak nor fire."""
    net = ss.Network(dt=DT, seed=seed, **net_kw)
    pop = net.add(ss.RC(n, tau=1e9, v_th=1e12, method="exact"))
    net.add(ss.PoissonDrive(pop, rate=rate, weight=weight))
    mon = net.add(ss.StateMonitor(pop, "v"))
    net.run(steps * DT)
    v = mon.trace("v").values
    return np.diff(np.concatenate([np.zeros((1, *v.shape[1:])), v]), axis=0) / weight


@pytest.mark.parametrize("mean", [0.05, 2.0, 25.0])
def test_counts_follow_the_poisson_law(mean):
    """Mean and variance of the counts within 5 standard errors of `mean`, and the frequency of
    each count within 5 standard errors of the Poisson probability (1e5 counts)."""
    k = np.rint(increments(mean / DT)).ravel()
    n = k.size
    assert abs(k.mean() - mean) < 5 * np.sqrt(mean / n)
    assert abs(k.var() - mean) < 5 * np.sqrt((mean + 2 * mean**2) / n)
    for j in range(int(mean) - 2, int(mean) + 3):
        if j >= 0:
            p = exp(-mean) * mean**j / factorial(j)
            assert abs(np.mean(k == j) - p) < 5 * np.sqrt(p * (1 - p) / n) + 1e-12


def test_the_jumps_are_whole_multiples_of_the_weight():
    k = increments(3000.0)  # (the neurons' leak, tau 1e9 s, moves v by about 1e-13 V)
    np.testing.assert_allclose(k, np.rint(k), atol=1e-9)
    assert np.rint(k).min() == 0 and np.rint(k).max() >= 3


def test_draws_do_not_depend_on_chunks_threads_or_batch():
    ref = increments(2000.0, n=3000, steps=30, chunk=1000, parallel=False)
    np.testing.assert_array_equal(increments(2000.0, n=3000, steps=30, chunk=7,
                                             parallel=True), ref)
    batch = increments(2000.0, n=3000, steps=30, batch=3)
    np.testing.assert_array_equal(batch[:, :1], ref)  # realization 0 as in a batch of one
    assert not np.array_equal(batch[:, 1], batch[:, 0])  # each realization its own draws


def test_a_jump_arrives_at_the_end_of_its_step_and_is_dropped_while_refractory():
    """Against one-to-one projections (delay one step) from spike arrays holding the same
    counts: the same spikes (the refractory neurons drop both alike) and trajectory."""
    def run(drive: bool):
        net = ss.Network(dt=DT, seed=11)
        pop = net.add(ss.LIF(40, tau_mem=5e-3, tau_syn=2e-3, v_th=0.5, refractory=5e-4,
                             method="exact", units="1"))
        if drive:
            net.add(ss.PoissonDrive(pop, rate=8000.0, weight=0.7))
        else:  # count > u: unit u of array u fires (one array per possible spike of a step)
            counts = _counts_of_seed(11, 40, 300, 8000.0)
            for u in range(int(counts.max())):
                net.connect(net.add(ss.SpikeArray(counts > u)), pop, "one_to_one", weight=0.7)
        mon = net.add(ss.StateMonitor(pop, ["v", "i"]))
        spikes = net.add(ss.SpikeMonitor(pop))
        net.run(300 * DT)
        return mon, spikes.spikes

    (mon, spikes), (mon2, spikes2) = run(True), run(False)
    assert len(spikes) > 20
    np.testing.assert_array_equal(spikes.times, spikes2.times)
    np.testing.assert_array_equal(spikes.ids, spikes2.ids)
    for var in ("v", "i"):  # (the arrays' weights are added one by one: the last bits differ)
        np.testing.assert_allclose(mon.trace(var).values, mon2.trace(var).values, rtol=1e-12,
                                   atol=1e-15)


def _counts_of_seed(seed, n, steps, rate):
    """The counts (steps, n) that a drive of ``rate`` into a population of n neurons draws in
    a network of seed ``seed`` in which it is the only random input (the same streams): read
    from the synaptic current of neurons that neither decay nor fire."""
    net = ss.Network(dt=DT, seed=seed)
    pop = net.add(ss.LIF(n, tau_mem=1e9, tau_syn=1e9, v_th=1e12, units="1"))
    net.add(ss.PoissonDrive(pop, rate=rate, weight=1.0))
    mon = net.add(ss.StateMonitor(pop, "i"))
    net.run(steps * DT)
    i = mon.trace("i").values[:, 0]
    return np.rint(np.diff(np.concatenate([np.zeros((1, n)), i]), axis=0)).astype(int)


def test_bad_drives_are_refused_by_name():
    pop = ss.LIF(3, units="1")
    with pytest.raises(ValueError, match=r"^PoissonDrive.rate must be >= 0.0 \(in Hz\)"):
        ss.PoissonDrive(pop, rate=-1.0)
    with pytest.raises(ValueError, match=r"^PoissonDrive.weight must be finite"):
        ss.PoissonDrive(pop, rate=1.0, weight=np.nan)
    with pytest.raises(ValueError, match=r"^PoissonDrive.receptor must be one of"):
        ss.PoissonDrive(pop, rate=1.0, receptor="v")
    net = ss.Network(dt=1e-3)
    net.add(pop)
    net.add(ss.PoissonDrive(pop, rate=40_000.0))
    with pytest.raises(ValueError, match=r"PoissonDrive.rate · dt must be at most 30 .* = 40"):
        net.run(1e-3)


@pytest.mark.parametrize("mean", [1e-4, 0.7, 2.0, 15.4473, 30.0])
def test_the_sampler_ends_in_the_tail_for_a_uniform_next_to_1(mean):
    """Its float64 sum of probabilities may stop a few ulps below 1: a uniform above it got
    the loop's bound (1000); it gets a count near the far tail's quantile instead, and every
    other uniform the exact inversion's count."""
    from scipy.stats import poisson as law
    from spikesim.kernels.rng import poisson_quantile
    top = poisson_quantile(1.0 - 2.0**-53, mean, exp(-mean))
    assert law.ppf(1 - 1e-15, mean) <= top <= law.ppf(1 - 1e-16, mean) + 5
    u = np.random.default_rng(1).random(2000)
    got = [poisson_quantile(x, mean, exp(-mean)) for x in u]
    np.testing.assert_array_equal(got, law.ppf(u, mean))


def test_drive_edge_values():
    """rate·dt of exactly 30 runs even where the product rounds above it; a weight beyond
    float32's range is refused at build, as a projection's."""
    net = ss.Network(dt=1e-5)
    pop = net.add(ss.RC(2, tau=1e-2, v_th=1e9, method="exact"))
    net.add(ss.PoissonDrive(pop, rate=3e6, weight=1e-6))  # 3e6 · 1e-5 = 30.000000000000004
    net.run(2e-5)
    net = ss.Network(dt=1e-3, dtype=np.float32)
    pop = net.add(ss.RC(2, tau=1e-2, v_th=1.0, method="exact"))
    net.add(ss.PoissonDrive(pop, rate=10.0, weight=1e39))
    with pytest.raises(ValueError, match=r"weight of the PoissonDrive into .*float32"):
        net.build()
