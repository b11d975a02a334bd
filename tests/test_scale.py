"""What changes at large sizes, tested at small ones: state samples per kernel call are
bounded, spike monitors of many populations each read their own group's records and hold
12–16 bytes per spike, connectivity is drawn in int32 and in blocks, and a network that
cannot fit is refused before anything large is allocated, naming what is too big."""

import numpy as np
import pytest

import spikesim as ss
from spikesim import layout, network, projections


def _lif_net(n=50, chunk=1000, batch=1):
    net = ss.Network(dt=1e-3, seed=3, chunk=chunk, batch=batch)
    pop = net.add(ss.LIF(n, tau_mem=10e-3, units="1"), name="a")
    net.add(ss.ConstantCurrent(pop, 2.0))
    return net, pop


def test_state_samples_per_kernel_call_are_bounded_and_results_unchanged(monkeypatch):
    """A StateMonitor of every neuron every step: one kernel call holds at most
    SAMPLE_CHUNK_BYTES of samples (else 1e6 neurons × 1000 steps took 8 GB), with the same
    trace as one call of the whole chunk."""
    net, pop = _lif_net()
    ref = net.add(ss.StateMonitor(pop, ["v", "i"]))
    net.run(0.2)
    monkeypatch.setattr(network, "SAMPLE_CHUNK_BYTES", 8 * 2 * 50 * 7)  # 7 samples of v and i
    net2, pop2 = _lif_net()
    mon = net2.add(ss.StateMonitor(pop2, ["v", "i"], every=3))
    assert net2._chunk_steps([mon]) == 21  # 7 samples, one every 3 steps
    mon = net2.add(ss.StateMonitor(pop2, ["v", "i"]))
    assert net2._chunk_steps(net2.monitors) == 7
    calls = []
    real = network._ChunkRunner.run

    def run(self, k0, n):
        calls.append(n)
        return real(self, k0, n)

    monkeypatch.setattr(network._ChunkRunner, "run", run)
    net2.run(0.2)
    assert max(calls) == 7 and sum(calls) == 200
    np.testing.assert_array_equal(mon.trace("v").values, ref.trace("v").values)
    np.testing.assert_array_equal(mon.trace("i").values, ref.trace("i").values)


def test_monitors_of_many_populations_each_get_exactly_their_spikes():
    """Several populations and a source recorded by their own monitors (some of selected
    ids): each monitor's spikes equal those of the same population recorded alone."""
    def build():
        net = ss.Network(dt=1e-3, seed=7)
        pops = [net.add(ss.LIF(n, tau_mem=10e-3, tau_syn=5e-3, v_th=0.3, units="1"),
                        name=f"p{q}") for q, n in enumerate((5, 40, 1, 17))]
        src = net.add(ss.BernoulliInput(40, p=0.2), name="src")
        for pop in pops:
            net.connect(src, pop, "fixed_indegree", k=3, weight=0.6)
        return net, pops, src

    net, pops, src = build()
    ids = {"p1": [3, 0, 39], "src": [1, 2]}
    mons = [net.add(ss.SpikeMonitor(o, ids=ids.get(o.name))) for o in (*pops, src)]
    net.run(0.3)
    for o, m in zip((*pops, src), mons):
        net1, pops1, src1 = build()
        alone = net1.add(ss.SpikeMonitor({p.name: p for p in (*pops1, src1)}[o.name]))
        net1.run(0.3)
        keep = np.isin(alone.spikes.ids, ids[o.name]) if o.name in ids else slice(None)
        assert len(m.spikes) > 0
        np.testing.assert_array_equal(m.spikes.times, alone.spikes.times[keep])
        np.testing.assert_array_equal(m.spikes.ids, alone.spikes.ids[keep])


@pytest.mark.parametrize("batch, per_spike", [(1, 12), (3, 16)])
def test_a_spike_monitor_keeps_at_most_16_bytes_per_spike(batch, per_spike):
    """Steps (int64), ids (int32) and, only in a batch, realizations (int32); ``spikes`` still
    gives every spike, with realization numbers from 0 to batch − 1."""
    net, pop = _lif_net(n=200, chunk=30, batch=batch)
    mon = net.add(ss.SpikeMonitor(pop))
    net.run(0.2)
    held = sum(a.nbytes for part in mon._parts for a in part if a is not None)
    s = mon.spikes
    assert len(s) > 1000 and held <= per_spike * len(s)
    assert s.ids.dtype == s.realizations.dtype == np.int64
    np.testing.assert_array_equal(np.unique(s.realizations), np.arange(batch))
    assert np.all(np.diff(s.times) >= 0)


def _positions_in_one_draw(rng, total, p):
    """The former draw of rule "random": all geometric gaps at once (the reference)."""
    out, last = [], -1
    while last < total:
        m = int(total * p + 6 * np.sqrt(total * p) + 16)
        pos = last + np.cumsum(rng.geometric(p, size=m))
        out.append(pos[pos < total])
        last = int(pos[-1])
    return np.concatenate(out)


@pytest.mark.parametrize("p", [0.003, 0.2, 1.0])
def test_random_pairs_drawn_in_blocks_are_those_of_one_draw(monkeypatch, p):
    monkeypatch.setattr(projections, "DRAW_BLOCK", 7)
    a, b = ss.LIF(300, units="1"), ss.LIF(70, units="1")
    pre, post, _ = ss.Projection(a, b, "random", p=p).pairs(np.random.default_rng(5))
    flat = _positions_in_one_draw(np.random.default_rng(5), 300 * 70, p) if p < 1 else (
        np.arange(300 * 70))
    assert pre.dtype == np.int32 and post.dtype == np.int32
    np.testing.assert_array_equal(pre.astype(np.int64) * 70 + post, flat)


def test_a_network_that_cannot_fit_is_refused_naming_its_largest_part(monkeypatch):
    monkeypatch.setattr(layout, "_available_bytes", lambda: 2 << 30)  # 2 GiB
    net = ss.Network(dt=1e-3)
    a = net.add(ss.LIF(50_000, units="1"), name="exc")
    net.connect(a, a, "all_to_all", weight=0.1)  # 2.5e9 synapses: about 28 GiB to build
    with pytest.raises(MemoryError, match=r"building this network needs about \d+\.\d GiB, "
                                          r"more than the 2\.0 GiB .* 'exc' -> 'exc' "
                                          r"\('all_to_all'\): 2\.5e\+09 synapses"):
        net.build()


def test_per_neuron_parameters_and_sources_count_in_the_memory_estimate(monkeypatch):
    """The estimate holds the step's buffers and spike sources beside v, i, w and refc, and
    the parameter table when a parameter varies over neurons (13 float64 columns and their
    copy per neuron and realization: 5e7 drawn time constants need 9.7 GiB, not nothing)."""
    monkeypatch.setattr(layout, "_available_bytes", lambda: 2 << 30)  # 2 GiB
    net = ss.Network(dt=1e-3)
    net.add(ss.LIF(50_000_000, tau_mem=ss.Uniform(0.01, 0.02), units="1"), name="big")
    with pytest.raises(MemoryError, match=r"needs about 11\.6 GiB.*the per-neuron parameter "
                                          r"tables: 9\.7 GiB; the neuron state: 1\.9 GiB"):
        net.build()
    seen = []
    monkeypatch.setattr(layout, "check_memory", lambda what, parts, freed=0: seen.append(parts))
    for tau in (0.01, np.full(100, 0.01), np.full((3, 100), 0.01), ss.Uniform(0.01, 0.02)):
        net = ss.Network(dt=1e-3, batch=3, dtype=np.float32)
        lif = net.add(ss.LIF(100, tau_syn=tau, units="1"))
        net.connect(net.add(ss.PoissonInput(20, rate=5.0)), lif, "all_to_all")
        net.build()
    state = 3 * (100 * (4 * 4 + 9) + 20 * 12)
    assert [parts[:-1] for parts in seen] == [
        [("the neuron state", state)],
        [("the neuron state", state), ("the per-neuron parameter tables", 100 * 13 * 12)],
        *[[("the neuron state", state), ("the per-neuron parameter tables", 300 * 13 * 12)]]
        * 2]


def test_a_delay_ring_that_cannot_fit_is_refused_naming_the_delay(monkeypatch):
    net = ss.Network(dt=1e-4)
    big = net.add(ss.LIF(20_000, units="1"), name="big")
    small = net.add(ss.LIF(10, units="1"), name="small")
    net.connect(small, big, "all_to_all", delay=3.0)  # 30,000 steps × 20,000 neurons: 4.8 GB
    monkeypatch.setattr(layout, "_available_bytes", lambda: 64 << 20)
    with pytest.raises(MemoryError, match=r"the delay ring buffer needs .* 30000 steps \(the "
                                          r"longest delay, of the projection 'small' -> "
                                          r"'big' \('all_to_all'\)\) × 20000 neurons"):
        with pytest.warns(RuntimeWarning):  # (a delay over 0.1 s warns)
            net.build()
    assert big.n == 20_000


def test_the_delay_ring_holds_only_populations_with_delayed_input():
    net = ss.Network(dt=1e-4, batch=2)
    big = net.add(ss.LIF(20_000, units="1"), name="big")
    small = net.add(ss.LIF(10, units="1"), name="small")
    net.connect(big, small, "fixed_indegree", k=3, delay=3.0)  # 30,000 steps
    net.connect(small, big, "fixed_indegree", k=2)  # one step: no ring
    with pytest.warns(RuntimeWarning):  # (a delay over 0.1 s warns)
        net.build()
    assert net.state["ring"].shape == (2, 30_000, 10)  # not × 20,010 neurons: 9.6 GB


def test_weights_drawn_per_synapse_count_in_the_memory_estimate(monkeypatch):
    """A weight Distribution keeps a weight per synapse: the estimate says so (12 bytes per
    synapse without, 28 with float64 weights)."""
    seen = []
    monkeypatch.setattr(layout, "check_memory", lambda what, parts, freed=0: seen.append(parts))
    for weight in (0.1, ss.Normal(0.1, 0.01)):
        net = ss.Network(dt=1e-3)
        a = net.add(ss.LIF(100, units="1"))
        net.connect(a, a, "all_to_all", weight=weight)
        net.build()
    assert [parts[1][1] for parts in seen] == [12 * 10_000, 28 * 10_000]
