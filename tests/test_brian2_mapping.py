"""The Brian2 mapping of the README ("Agreement with other simulators"): refractory periods,
delays and given spike times, against numbers Brian2 2.9.0 made (numpy target, dt = 0.1 ms;
the scripts are in each docstring), and store/restore and batch as the README describes them.
"""

import numpy as np

import spikesim as ss
from spikesim import analysis

DT = 1e-4


def fi_steps(refractory: float) -> list[int]:
    net = ss.Network(dt=DT)
    lif = net.add(ss.LIF(1, tau_mem=10e-3, v_leak=-70e-3, v_th=-50e-3, v_reset=-70e-3, R=100e6,
                         refractory=refractory, method="exact"))
    net.add(ss.ConstantCurrent(lif, amplitude=1e-9))
    spikes = net.add(ss.SpikeMonitor(lif))
    net.run(0.02)
    return np.rint(spikes.spikes.times / DT).astype(int).tolist()


def test_brian2_refractory_is_one_step_shorter():
    """Brian2: ``NeuronGroup(1, 'dv/dt = (-70*mV - v + 100*Mohm*I)/(10*ms) : volt (unless
    refractory)', threshold='v>-50*mV', reset='v=-70*mV', refractory=2*ms, method='exact')``,
    v = -70 mV, I = 1 nA, 20 ms: spikes at steps 22, 64, 106, 148, 190 (without refractory
    period both give 22, 45, 68, ...)."""
    brian2 = [22, 64, 106, 148, 190]
    assert fi_steps(2e-3 - DT) == brian2
    assert fi_steps(2e-3) == [22, 65, 108, 151, 194]  # an ISI one step longer
    assert fi_steps(0.0)[:3] == [22, 45, 68]


def test_brian2_delays_are_one_step_longer_and_spike_times_floored():
    """Brian2: ``SpikeGeneratorGroup(5, ids, times)`` into RC-like neurons (tau 10 ms, rest and
    reset -70 mV, threshold -55 mV, refractory 2 ms, exact) through ``Synapses(..., 'w : volt',
    on_pre='v += w')`` with per-synapse w and delay: the output spikes (step, neuron) below, and
    the generator's spikes at steps 50, 100, 100, 200, 300, 300, 400, 450 (floor of the times;
    30.07 ms is step 300 there, 301 by rounding)."""
    ids = np.array([0, 1, 2, 0, 3, 4, 1, 2])
    times = np.array([5.0, 10.0, 10.0, 20.03, 30.0, 30.07, 40.0, 45.05]) * 1e-3
    pre = np.array([0, 0, 1, 2, 3, 4, 4, 1, 2, 3])
    post = np.array([0, 1, 1, 2, 0, 2, 1, 5, 7, 9])
    w = np.array([8, 5, 12, 20, 9, 6, 4, 15, 15, 15]) * 1e-3
    d = np.array([0.0, 1.0, 2.0, 1.5, 3.0, 0.5, 0.1, 1.0, 1.0, 1.0]) * 1e-3  # Brian2's
    brian2 = [(116, 2), (411, 5), (461, 7), (466, 2)]

    def run(times):
        net = ss.Network(dt=DT)
        src = net.add(ss.SpikeTimes(5, times, ids))
        pop = net.add(ss.RC(10, tau=10e-3, E_L=-70e-3, v_th=-55e-3, v_reset=-70e-3,
                            refractory=2e-3, method="exact"))
        net.connect(src, pop, "explicit", pre_ids=pre, post_ids=post, weight=w, delay=d + DT)
        mon = net.add(ss.SpikeMonitor(pop))
        net.run(0.06)
        s = mon.spikes
        return list(zip(np.rint(s.times / DT).astype(int).tolist(), s.ids.tolist()))

    assert run(np.floor(times / DT + 1e-3) * DT) == brian2


def test_restore_draws_new_random_input_as_brian2_and_a_batch_gives_independent_trials():
    """As Brian2's restore: two trials from one stored point with the same inputs differ
    (noise="same" makes them copies); the realizations of a batch differ too."""
    net = ss.Network(dt=DT, seed=3, batch=3)
    src = net.add(ss.PoissonInput(500, rate=40.0))
    pop = net.add(ss.RC(50, tau=20e-3, E_L=-70e-3, v_th=-54e-3, v_reset=-70e-3, method="exact"))
    net.connect(src, pop, "random", p=0.2, weight=0.5e-3)
    mon = net.add(ss.SpikeMonitor(pop))
    net.run(0.05)
    net.store()
    counts = {}
    for noise in ("new", "new", "same", "same"):
        net.restore(noise=noise)
        net.run(0.1)
        counts.setdefault(noise, []).append(analysis.spike_counts(mon.spikes.window(0.05)))
    assert not np.array_equal(*counts["new"])
    np.testing.assert_array_equal(*counts["same"])
    per_trial = counts["new"][0].sum(axis=1)
    assert per_trial.min() > 0 and len(set(per_trial.tolist())) == 3
