"""Large recordings, tested at small sizes: a SpikeRecorder holds what one kernel call
returns, not a whole chunk's spikes; reading spikes back checks their order in bounded
memory and reads a time window or some neurons only; plots of big recordings bin their
spikes a block at a time and read only the traces they draw."""

import tracemalloc

import numpy as np
import pytest

import spikesim as ss
from spikesim import analysis, io, network, plot, recorders


def _firing_net(n=1000, batch=1, chunk=1000):
    """n LIF units that all fire every step (a chunk holds n · chunk spikes)."""
    net = ss.Network(dt=1e-3, seed=5, chunk=chunk, batch=batch)
    pop = net.add(ss.LIF(n, tau_mem=10e-3, v_th=0.5, v_reset=0.0, units="1"), name="a")
    net.add(ss.ConstantCurrent(pop, 1e3))
    return net, pop


def test_a_spike_recorder_writes_out_a_chunk_as_it_comes(monkeypatch, tmp_path):
    """1000 neurons firing every step: a chunk of 1000 steps holds 1e6 spikes (16 MB), which
    the kernel hands over in calls of 16 steps; the recorder writes them out from
    SPILL_BYTES held, and the file holds every spike, as a SpikeMonitor's."""
    monkeypatch.setattr(recorders, "SPILL_BYTES", 1 << 16)
    monkeypatch.setattr(network, "REC_SPIKES_MAX", 1 << 14)  # (calls of 16 steps)
    net, pop = _firing_net()
    net.add(ss.SpikeRecorder(ss.H5Output(tmp_path / "r.h5"), pop))
    mon = net.add(ss.SpikeMonitor(pop))
    most = []
    keep = recorders.SpikeRecorder._keep_spikes

    def watched(self, *args):
        keep(self, *args)
        most.append(sum(16 * len(t) for t, _ in self._held))

    monkeypatch.setattr(recorders.SpikeRecorder, "_keep_spikes", watched)
    net.run(1.5)
    assert len(most) > 60 and max(most) < (1 << 16)  # (held to the chunk's end: 16 MB)
    s, m = ss.load(tmp_path / "r.h5").spikes("a"), mon.spikes
    assert len(s) == 1_500_000
    np.testing.assert_array_equal(s.times, m.times)
    np.testing.assert_array_equal(s.ids, m.ids)


def test_the_order_check_of_spikes_read_back_takes_bounded_memory(monkeypatch):
    """1e6 spikes of one step (all ties): the check compares blocks, with no whole-array
    temporaries (it took about 35 bytes per spike), and still finds a pair out of order at a
    block's edge."""
    monkeypatch.setattr(io, "ORDER_BLOCK", 1 << 12)
    n = 1_000_000
    t, r, i = np.zeros(n), np.zeros(n, np.int64), np.arange(n)
    tracemalloc.start()
    try:
        assert io._in_order(t, r, i)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20
    for at in (1 << 12, (1 << 12) - 1, n - 1):
        j = i.copy()
        j[at - 1], j[at] = j[at], j[at - 1]
        assert not io._in_order(t, r, j)
    r2 = r.copy()
    r2[1 << 12] = 1  # realization 1 before realization 0 in the same step
    assert not io._in_order(t, r2, i)


@pytest.mark.parametrize("batch", [1, 3])
def test_spikes_of_a_window_or_some_neurons_read_only_those(monkeypatch, tmp_path, batch):
    """``spikes(t_start=, t_stop=, ids=)`` equal the whole recording filtered; a window of a
    spikesim file reads about its spikes only (found by bisection), not the file."""
    net = ss.Network(dt=1e-3, seed=2, batch=batch)
    pop = net.add(ss.LIF(300, tau_mem=20e-3, v_leak=1.2, units="1",
                         v_init=ss.Uniform(0.0, 1.0)), name="a")
    net.add(ss.NoiseCurrent(pop, std=0.05))
    net.add(ss.SpikeRecorder(ss.H5Output(tmp_path / "w.h5"), pop))
    net.run(1.0)
    data = ss.load(tmp_path / "w.h5")
    whole = data.spikes("a")
    read = []
    finite = io.finite
    monkeypatch.setattr(io, "finite", lambda ds, v: read.append(v.size) or finite(ds, v))
    monkeypatch.setattr(io, "SPIKE_READ_BLOCK", 97)
    w = data.spikes("a", t_start=0.4, t_stop=0.45)
    inside = (whole.times >= 0.4) & (whole.times < 0.45)
    np.testing.assert_array_equal(w.times, whole.times[inside])
    np.testing.assert_array_equal(w.ids, whole.ids[inside])
    np.testing.assert_array_equal(w.realizations, whole.realizations[inside])
    assert (w.t_start, w.t_stop) == (0.4, 0.45)
    per_step = len(whole) / 1000
    assert sum(read) <= inside.sum() + 4 * per_step < len(whole) / 5
    ids = [3, 7, 299]
    sel = data.spikes("a", ids=ids, realization=batch - 1, t_stop=0.5)
    mine = (np.isin(whole.ids, ids) & (whole.realizations == batch - 1)
            & (whole.times < 0.5))
    np.testing.assert_array_equal(sel.times, whole.times[mine])
    np.testing.assert_array_equal(sel.ids, whole.ids[mine])
    assert not sel.realizations.any() and sel.recorded.tolist() == ids


def test_a_raster_image_bins_its_spikes_a_block_at_a_time(monkeypatch):
    """1e6 spikes drawn as an image: the same counts as binning them at once, in a few MB
    (whole-array temporaries took about 50 bytes per spike)."""
    rng = np.random.default_rng(0)
    n = 1_000_000
    times = np.sort(rng.uniform(0, 1, n))
    spikes = ss.Spikes(times, rng.integers(0, 5000, n), np.zeros(n, np.int64), 5000,
                       t_start=0.0, t_stop=1.0)
    monkeypatch.setattr(plot, "RASTER_BLOCK", 1 << 15)
    tracemalloc.start()
    try:
        ax = plot.raster(spikes, image_bins=(100, 50))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20
    it = np.clip(np.floor(times / 0.01 + 1e-9).astype(np.int64), 0, 99)
    expected = np.bincount(spikes.ids * 50 // 5000 * 100 + it, minlength=5000).reshape(50, 100)
    np.testing.assert_array_equal(ax.images[0].get_array(), expected)


def test_first_traces_of_a_file_read_only_the_neurons_drawn(monkeypatch, tmp_path):
    """A report of 50 neurons: the sheet reads the first 10 columns (``spikesim plot --kind
    traces`` read every column: 1.6 GB for 10,000 neurons × 20,000 samples) and says there
    are 50."""
    net, pop = _firing_net(n=50, chunk=100)
    out = ss.H5Output(tmp_path / "t.h5")
    net.add(ss.StateRecorder(out, pop, "v", ids=np.arange(50)[::-1]))
    net.add(ss.SpikeRecorder(out, pop))
    net.run(0.05)
    asked = []

    def watched(read):
        def call(self, *a, **kw):
            asked.append(kw.get("ids"))
            return read(self, *a, **kw)
        return call

    for name in ("trace", "spikes"):
        monkeypatch.setattr(io.RecordedRun, name, watched(getattr(io.RecordedRun, name)))
    ax = plot.first_traces(tmp_path / "t.h5", population="a", spikes=tmp_path / "t.h5")
    assert [list(a) for a in asked] == [list(range(49, 39, -1))] * 2
    assert "first 10 of 50 neurons" in ax.get_title()


def test_a_state_monitor_trace_holds_its_variable_only():
    """The trace of one of several variables is a copy of its samples alone, not a view of
    all of them joined (which kept every variable's samples alive once more)."""
    net = ss.Network(dt=1e-3, seed=5, chunk=50)
    pop = net.add(ss.LIF(40, tau_mem=10e-3, units="1", v_init=ss.Uniform(0.0, 0.5),
                         i_init=ss.Uniform(0.0, 1.0)), name="a")
    mon = net.add(ss.StateMonitor(pop, ["v", "i"]))
    net.run(0.2)
    v = mon.trace("v")
    assert v.values.shape == (200, 1, 40)
    assert v.values.base is None or v.values.base.nbytes == v.values.nbytes
    assert v.values.std() > 0
    np.testing.assert_array_equal(v.values, np.concatenate(mon._values)[:, :, :40])
    np.testing.assert_array_equal(mon.trace("i").values, np.concatenate(mon._values)[:, :, 40:])


def test_a_window_of_spikes_in_memory_is_what_the_file_reads_for_it(tmp_path):
    """``Spikes.window`` (of a monitor's spikes) keeps t_start <= t < t_stop and narrows the
    interval as ``spikes(t_start=, t_stop=)`` does from the file, so rates cover the window;
    a spike on a bound belongs to the window it opens."""
    net = ss.Network(dt=1e-3, seed=4)
    src = net.add(ss.SpikeTimes(3, [0.1, 0.2, 0.2, 0.3, 0.5], [0, 1, 2, 0, 1]), name="a")
    mon = net.add(ss.SpikeMonitor(src))
    net.add(ss.SpikeRecorder(ss.H5Output(tmp_path / "w.h5"), src))
    net.run(0.6)
    data = ss.load(tmp_path / "w.h5")
    for lo, hi in ((0.2, 0.5), (None, 0.2), (0.3, None), (0.25, 0.26), (0.7, None)):
        w = mon.spikes.window(lo, hi)
        f = data.spikes("a", t_start=lo, t_stop=hi)
        for got in (w, f):
            inside = [t for t in (0.1, 0.2, 0.2, 0.3, 0.5)
                      if (lo is None or t >= lo) and (hi is None or t < hi)]
            np.testing.assert_allclose(got.times, inside, atol=1e-12)
            assert got.t_start == (0.0 if lo is None else lo)
            assert got.t_stop == max(got.t_start, min(0.6, 0.6 if hi is None else hi))
        np.testing.assert_array_equal(w.ids, f.ids)
    np.testing.assert_allclose(analysis.firing_rates(mon.spikes.window(0.2, 0.4)),
                               [[5.0, 5.0, 5.0]])  # one spike each in 0.2 s
    with pytest.raises(ValueError, match="t_start must be <= t_stop"):
        mon.spikes.window(0.4, 0.2)
    with pytest.raises(ValueError, match="t_stop must be finite"):
        mon.spikes.window(None, np.nan)


# (Spikes.window and RecordedRun.spikes(t_start, t_stop) keep a spike at a window's first)
def test_window_edges_in_whole_steps(tmp_path):
    dt = 3e-4  # step 10: 10 * 3e-4 = 0.0029999999999999996 s, "3 ms"
    net = ss.Network(dt=dt, parallel=False)
    st = net.add(ss.SpikeTimes(1, times=[10 * dt], ids=[0]), name="st")
    mon = net.add(ss.SpikeMonitor(st))
    out = ss.H5Output(tmp_path / "w.h5")
    net.add(ss.SpikeRecorder(out, st))
    net.run(20 * dt)
    s, f = mon.spikes, ss.load(tmp_path / "w.h5")
    assert len(s.window(0.003, 0.006)) == 1 and len(s.window(0.0, 0.003)) == 0
    assert len(f.spikes("st", t_start=0.003, t_stop=0.006)) == 1
    assert len(f.spikes("st", t_start=0.0, t_stop=0.003)) == 0
