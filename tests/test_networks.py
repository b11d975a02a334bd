"""The built-in networks: CUBA (Brette et al. 2007, benchmark 2) against its known statistics,
Brunel (2000) against its published parameters."""

import re

import numpy as np
import pytest

import spikesim as ss
from spikesim import analysis, networks


@pytest.fixture(scope="module")
def cuba_run():
    net = networks.cuba(4000, seed=1)
    exc, inh = net.names["exc"], net.names["inh"]
    spikes = [net.add(ss.SpikeMonitor(p)) for p in (exc, inh)]
    syn = net.add(ss.StateMonitor(exc, ["i", "i_inh"], ids=np.arange(0, 3200, 16), every=10))
    net.run(2.0)
    return net, [m.spikes for m in spikes], syn


def test_cuba_structure():
    net = networks.cuba(4000)
    assert [p.n for p in net.populations] == [3200, 800]
    net.build()
    in_degree = np.bincount(np.concatenate([net.tables.col[: net.tables.rowptr[-1]]]),
                            minlength=4000)
    assert 70 < in_degree.mean() < 90  # p = 0.02 of 4000 sources (both targets together)
    scaled = networks.cuba(40_000)
    scaled.build()
    assert scaled.tables.col.size == 40_000 * 80  # fixed in-degree 64 + 16


def test_cuba_has_the_published_parameters():
    """Brette et al. 2007 / Vogels & Abbott 2005 in SI units: the rate band below would pass
    either weight 20 % off, so the parameters themselves are pinned."""
    net = networks.cuba(4000)
    exc, inh = net.names["exc"], net.names["inh"]
    for pop in (exc, inh):
        assert (pop.tau_mem, pop.tau_syn, pop.tau_syn_inh) == (20e-3, 5e-3, 10e-3)
        assert (pop.v_th, pop.v_reset, pop.v_leak, pop.refractory) == (-50e-3, -60e-3, -49e-3,
                                                                       5e-3)
        assert pop.method == "exact"
    weights = {(pr.pre.name, pr.receptor): pr.weight for pr in net.projections}
    assert weights == {("exc", "i"): pytest.approx(60 * 0.27 / 10 * 1e-3),
                       ("inh", "i_inh"): pytest.approx(-20 * 4.5 / 10 * 1e-3)}
    assert {pr.p for pr in net.projections} == {0.02}


def test_cuba_rate_irregularity_and_balance(cuba_run):
    net, (exc, inh), syn = cuba_run
    steady = [ss.Spikes(s.times[s.times >= 0.5], s.ids[s.times >= 0.5],
                        s.realizations[s.times >= 0.5], s.n_neurons, 1, 0.5, 2.0)
              for s in (exc, inh)]
    rates = [analysis.firing_rates(s).mean() for s in steady]
    assert all(3.0 < r < 9.0 for r in rates), rates  # Brette et al. report ~5-6 Hz
    cv = analysis.cv_isi(steady[0])[0]
    enough = np.bincount(steady[0].ids, minlength=3200) >= 4  # at least 3 intervals
    assert np.mean(cv[enough]) > 0.5  # irregular firing (a regular train has CV 0)
    ge = syn.trace("i").values[20:].mean()
    gi = syn.trace("i_inh").values[20:].mean()
    v_leak, v_th = -49e-3, -50e-3
    assert v_leak > v_th  # without input every neuron would fire regularly ...
    assert v_leak + ge + gi < v_th  # ... the balanced input keeps the mean below threshold
    assert ge > 0 > gi and abs(ge + gi) < abs(gi)  # excitation cancels part of inhibition


@pytest.mark.parametrize("n,exc_fraction,error,match", [
    (10, 1.0, ValueError, "exc_fraction must be > 0 and < 1 (the excitatory share: cuba needs "
                          "excitatory and inhibitory neurons), got 1.0"),
    (10, 0.0, ValueError, "exc_fraction must be > 0 and < 1"),
    (10, float("nan"), ValueError, "exc_fraction must be finite"),
    (10, "0.8", TypeError, "exc_fraction must be a real number"),
    (10, 0.99, ValueError, "cuba(n=10, exc_fraction=0.99) leaves no inhibitory neuron "
                           "(10 excitatory of 10): n must be >= 51 for this exc_fraction"),
    (2, 0.8, ValueError, "leaves no inhibitory neuron (2 excitatory of 2): n must be >= 3"),
    (2, 0.2, ValueError, "cuba(n=2, exc_fraction=0.2) leaves no excitatory neuron "
                         "(0 excitatory of 2): n must be >= 3 for this exc_fraction"),
    (1, 0.5, ValueError, "n must be an integer >= 2, got 1"),
])
def test_cuba_refuses_an_empty_population(n, exc_fraction, error, match):
    with pytest.raises(error, match=re.escape(match)):
        networks.cuba(n, exc_fraction=exc_fraction)


@pytest.mark.parametrize("n,exc_fraction,sizes", [(51, 0.99, [50, 1]), (3, 0.8, [2, 1]),
                                                   (3, 0.2, [1, 2]), (2, 0.5, [1, 1])])
def test_cuba_at_the_smallest_n_has_both_populations(n, exc_fraction, sizes):
    net = networks.cuba(n, exc_fraction=exc_fraction)
    assert [p.n for p in net.populations] == sizes
    net.build()


def test_brunel_has_the_published_parameters():
    """Brunel (2000), model A, at its published size: N_E = 10,000, N_I = 2,500, C_E = 1000,
    C_I = 250; ν_thr = θ/(J·C_E·τ) = 20 mV / (0.1 mV · 1000 · 20 ms) = 10 Hz, so η = 2 drives
    each neuron with 1000 inputs of 20 Hz. The statistics against NEST: tests/test_brunel.py."""
    net = networks.brunel(g=4.5, eta=0.9, seed=3)
    exc, inh = net.names["exc"], net.names["inh"]
    assert (exc.n, inh.n, net.dt, net.seed) == (10_000, 2_500, 1e-4, 3)
    for pop in (exc, inh):
        assert (pop.tau, pop.E_L, pop.v_th, pop.v_reset, pop.refractory, pop.v_init) == (
            20e-3, 0.0, 20e-3, 10e-3, 2e-3, 0.0)
        assert pop.method == "exact"
    j = 0.1e-3 * np.exp(1e-4 / 20e-3)  # J as NEST's iaf_psc_delta sees it
    assert [(pr.pre.name, pr.post.name, pr.k, pr.delay) for pr in net.projections] == [
        ("exc", "exc", 1000, 1.5e-3), ("exc", "inh", 1000, 1.5e-3),
        ("inh", "exc", 250, 1.5e-3), ("inh", "inh", 250, 1.5e-3)]
    assert [pr.weight for pr in net.projections] == pytest.approx([j, j, -4.5 * j, -4.5 * j])
    drives = {c.target.name: c for c in net.currents}
    assert set(drives) == {"exc", "inh"}
    for c in drives.values():
        assert isinstance(c, ss.PoissonDrive)
        assert (c.rate, c.weight) == (pytest.approx(0.9 * 10.0 * 1000), pytest.approx(j))
    assert not networks.brunel(400, external=False).currents


@pytest.mark.parametrize("kw, match", [
    ({"n_exc": 3}, "n_exc must be an integer >= 4, got 3"),
    ({"epsilon": 1.5}, r"epsilon must be <= 1 \(the connection probability\), got 1.5"),
    ({"J": 0.0}, "J must be > 0"),
    ({"g": -1.0}, "g must be >= 0"),
])
def test_brunel_refuses_bad_arguments_naming_them(kw, match):
    with pytest.raises(ValueError, match=match):
        networks.brunel(**{"n_exc": 400, **kw})
