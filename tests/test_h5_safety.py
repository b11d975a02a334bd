"""HDF5 recorder files stay truthful: one network per output, one output per path, refused
appends change nothing, a killed run's file tells how far it is complete, foreign SONATA units
are honoured, clear names."""

import inspect
import os
import re
import signal
import subprocess
import sys
import threading
import warnings

import h5py
import numpy as np
import pytest

import spikesim as ss
from spikesim import io as ssio
from spikesim.analysis import firing_rates
from spikesim.cli import contents

DT = 1e-3
RATE = 1 / (10e-3 * np.log(2.0 / (2.0 - 1.0)))  # LIF tau 10 ms, v_th 1, drive 2: 1/(tau ln 2)


def regular(name="a", n=3, seed=1, chunk=1000):
    """LIF neurons under a constant drive of twice the threshold: regular firing at RATE
    (minus the reset step), the same in every neuron."""
    net = ss.Network(dt=DT, seed=seed, chunk=chunk)
    pop = net.add(ss.LIF(n, tau_mem=10e-3, units="1"), name=name)
    net.add(ss.ConstantCurrent(pop, 2.0))
    return net, pop


def noisy(seed=5, name="exc", n=40, model=ss.LIF, source="inp"):
    """LIF neurons driven by Bernoulli input (irregular spikes in every bin)."""
    net = ss.Network(dt=DT, seed=seed, chunk=64)
    exc = net.add(model(n, tau_mem=10e-3, tau_syn=5e-3, v_th=0.3, refractory=2e-3), name=name)
    inp = net.add(ss.BernoulliInput(n, p=0.05), name=source)
    net.connect(inp, exc, "one_to_one", weight=1.0)
    return net, exc


def recorded(path, net, exc, **output_args):
    out = ss.H5Output(path, **output_args)
    net.add(ss.SpikeRecorder(out, exc))
    net.add(ss.StateRecorder(out, exc, ["v", "i"], ids=[1, 4], every=7))
    net.add(ss.RateRecorder(out, exc, bin_width=5e-3))
    return out


def snapshot(path) -> dict:
    """Every dataset's values and every attribute of the file (wall-clock fields aside)."""
    items = {}

    def visit(name, obj):
        for key, value in obj.attrs.items():
            items[f"{name}@{key}"] = np.asarray(value).tolist()
        if isinstance(obj, h5py.Dataset):
            items[name] = obj[()].tolist()

    with h5py.File(path, "r") as f:
        for key, value in f.attrs.items():
            items[f"@{key}"] = np.asarray(value).tolist()
        f.visititems(visit)
    return items


# --- 1. one output, one network -------------------------------------------------------------
def test_an_output_refuses_a_second_network(tmp_path):
    path = tmp_path / "reuse.h5"
    out = ss.H5Output(path)
    net1, a = regular("a")
    net1.add(ss.SpikeRecorder(out, a))
    net1.run(0.05)
    before = snapshot(path)
    net2, b = regular("b")
    net2.add(ss.SpikeRecorder(out, b))
    with pytest.raises(ValueError, match="another Network"):
        net2.run(0.02)
    assert snapshot(path) == before
    data = ss.load(path)
    assert data.populations == ["a"] and data.completed
    rates = firing_rates(data.spikes("a"))  # the spikes of 50 ms over the 50 ms recorded
    np.testing.assert_allclose(rates, RATE, rtol=0.15)
    net1.run(0.05)  # the output's own network still appends
    assert ss.load(path).meta["duration"] == pytest.approx(0.1)


# --- 2. a killed run's duration ---------------------------------------------------------------
CHILD = """
import os, signal, sys
import numpy as np
import spikesim as ss
DT = {dt!r}


{regular}

net, pop = regular(n=5, chunk=50)
net.add(ss.SpikeRecorder(ss.H5Output(sys.argv[1], flush_every=0), pop))


def kill(done, total):  # called once a chunk is flushed
    if done == 150:
        os.kill(os.getpid(), signal.SIGKILL)


net.run(10.0, progress=kill)
"""


def test_a_killed_run_tells_how_far_its_data_goes(tmp_path):
    path = tmp_path / "killed.h5"
    ref, pop = regular(n=5, chunk=50)  # also compiles the kernel that the child reuses
    mon = ref.add(ss.SpikeMonitor(pop))
    ref.run(0.15)
    script = tmp_path / "child.py"
    script.write_text(CHILD.format(dt=DT, regular=inspect.getsource(regular)))
    child = subprocess.run([sys.executable, str(script), str(path)], capture_output=True,
                           text=True, timeout=300)
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]
    for _ in range(2):  # as left by the kill, then after recover()
        data = ss.load(path)
        assert not data.completed and data.meta["duration"] == pytest.approx(0.15)
        assert data.meta["wall_time"] > 0  # the killed run's, up to its last flush
        spikes = data.spikes("a")
        assert spikes.t_stop == pytest.approx(0.15)
        np.testing.assert_array_equal(spikes.times, mon.spikes.times)
        np.testing.assert_allclose(firing_rates(spikes), firing_rates(mon.spikes))
        ssio.recover(path)
    with h5py.File(path, "r") as f:
        assert f["spikesim"].attrs["duration"] == pytest.approx(0.15)
        assert not f["spikesim"].attrs["completed"]


# --- 3. a refused append changes nothing --------------------------------------------------------
@pytest.mark.parametrize("recorded_to,resume_at,match", [
    (0.171, 0.151, "middle of a bin"),  # refused by the rate recorder, the last one
    (0.1, 0.15, "cannot have a gap"),  # 50 ms past the file's end
])
def test_a_refused_append_leaves_the_file_unchanged(tmp_path, recorded_to, resume_at, match):
    """Resuming at step 151 (not a multiple of the 5-step rate bins), or after the file's end,
    is refused: the spikes and reports of the recorders checked first are not cut, the file
    still says completed, nothing changes."""
    path = tmp_path / "run.h5"
    net, exc = noisy()
    recorded(path, net, exc)
    net.run(recorded_to)
    before = snapshot(path)
    net, exc = noisy()
    net.run(resume_at)
    recorded(path, net, exc, append=True)
    with pytest.raises(ValueError, match=match):
        net.run(0.02)
    assert snapshot(path) == before
    assert ss.load(path).completed


@pytest.mark.parametrize("first,then,match", [
    ([4, 1], None, r"records neurons \[1, 4\], not every neuron \(ids\)"),
    (None, [1, 4], r"records every neuron, not neurons \[1, 4\] \(ids\)"),
    ([1, 4], [1, 5], r"records neurons \[1, 4\], not neurons \[1, 5\]"),
])
@pytest.mark.parametrize("recorder", ["spikes", "rate"])
def test_an_append_must_record_the_same_neurons(tmp_path, first, then, match, recorder):
    """The file's spikes and rates say which neurons they cover (recorded_ids), and rates count
    those: an append recording other neurons would make them wrong, so it is refused (also
    for a rate recorder of as many other neurons); the same ids in another order are the same
    neurons."""
    path = tmp_path / "run.h5"

    def record(out, exc, ids):
        if recorder == "spikes":
            return net.add(ss.SpikeRecorder(out, exc, ids=ids))
        return net.add(ss.RateRecorder(out, exc, bin_width=5e-3, ids=ids))

    net, exc = noisy()
    record(ss.H5Output(path), exc, first)
    net.run(0.05)
    before = snapshot(path)
    net, exc = noisy()
    net.run(0.05)
    record(ss.H5Output(path, append=True), exc, then)
    with pytest.raises(ValueError, match=match if recorder == "spikes" or None not in (
            first, then) else "another bin width, batch or neuron count"):
        net.run(0.02)
    assert snapshot(path) == before
    if first is not None:  # the same neurons, given in another order: appended
        net, exc = noisy()
        net.run(0.05)
        record(ss.H5Output(path, append=True), exc, first[::-1])
        net.run(0.02)
        if recorder == "spikes":
            assert ss.load(path).spikes("exc").recorded.tolist() == sorted(first)
        else:
            assert ss.load(path).rate("exc").meta["counts"].shape[0] == 14  # 70 ms of 5 ms bins


# --- 4. one output per path ------------------------------------------------------------------
def test_two_outputs_cannot_write_one_path(tmp_path):
    path, link = tmp_path / "dup.h5", tmp_path / "link.h5"
    link.symlink_to(path)
    for second in (path, link):  # the same file, also under another name
        net, a = regular("a")
        net.add(ss.SpikeRecorder(ss.H5Output(path, overwrite=True), a))
        net.add(ss.StateRecorder(ss.H5Output(second, overwrite=True), a, "v"))
        with pytest.raises(ValueError, match="another H5Output of this file in this process "
                                             "is running"):
            net.run(0.05)
    o1 = ss.H5Output(path, overwrite=True)
    o1 = ss.H5Output(path, overwrite=True)  # made again (a notebook cell run twice): fine
    net, a = regular("a")
    net.add(ss.SpikeRecorder(o1, a))
    net.run(0.05)
    # once o1's run is over, a new output may append (e.g. resuming in the same process)
    net2, b = regular("a")
    o2 = ss.H5Output(path, append=True)
    net2.add(ss.SpikeRecorder(o2, b))
    with pytest.warns(RuntimeWarning):  # it restarts at t = 0: the file's data is cut
        net2.run(0.02)
    with pytest.raises(ValueError, match="written by another H5Output or process after this "
                                         "output's last run"):
        net.run(0.05)  # o1 would cut o2's file and add net's spikes to it
    assert ss.load(path).meta["duration"] == pytest.approx(0.02)


def test_an_output_refuses_a_file_another_wrote_even_when_that_one_is_gone(tmp_path):
    path = tmp_path / "a.h5"
    net, a = regular("a")
    net.add(ss.SpikeRecorder(ss.H5Output(path), a))
    net.run(0.05)
    other, b = regular("a", seed=1)
    other.add(ss.SpikeRecorder(ss.H5Output(path, overwrite=True), b))  # (or another process)
    other.run(0.2)
    del other, b
    with pytest.raises(ValueError, match="written by another H5Output"):
        net.run(0.05)
    assert ss.load(path).meta["duration"] == pytest.approx(0.2)


def test_a_refused_run_takes_nothing_over_and_a_failed_begin_closes_the_file(tmp_path):
    path = tmp_path / "a.h5"
    net, a = regular("a")
    out = ss.H5Output(path)
    net.add(ss.SpikeRecorder(out, a))
    net.run(0.05)
    other = ss.Network(dt=2 * DT)
    other.add(ss.SpikeRecorder(ss.H5Output(path, append=True), other.add(ss.LIF(3), name="a")))
    with pytest.raises(ValueError, match="holds a run with"):
        other.run(0.01)
    net.run(0.05)  # the refused output wrote nothing: this one goes on
    assert ss.load(path).meta["duration"] == pytest.approx(0.1)

    class Failing(ss.SpikeMonitor):
        def begin(self, net):
            raise RuntimeError("no")

    net, a = regular("a")
    out = ss.H5Output(tmp_path / "b.h5")
    net.add(ss.SpikeRecorder(out, a))
    net.add(Failing(a))
    net.add(ss.RateRecorder(out, a, bin_width=5e-3))
    with pytest.raises(RuntimeError, match="no"):
        net.run(0.01)
    assert not out.is_open


# --- 5. appending from the start erases the file: a warning ----------------------------------
def test_appending_a_new_network_from_t0_warns_what_it_cuts(tmp_path):
    path = tmp_path / "run.h5"
    net, exc = noisy()
    recorded(path, net, exc)
    net.run(0.05)
    net, exc = noisy()
    recorded(path, net, exc, append=True)
    with pytest.warns(RuntimeWarning, match=r"cuts all .*up to t = 0\.05 s"):
        net.run(0.02)
    spikes = ss.load(path).spikes("exc")
    assert spikes.times.max() < 0.02 and spikes.t_stop == pytest.approx(0.02)


def test_appending_from_before_the_recorders_began_starts_their_series_anew(tmp_path):
    """Recorders added to a later run (their series begin at 50 ms), then a new network
    appending from t = 0: the file holds exactly what the new network's monitors saw."""
    path = tmp_path / "run.h5"
    net, exc = noisy()
    net.run(0.05)
    recorded(path, net, exc)
    net.run(0.05)
    net, exc = noisy()
    recorded(path, net, exc, append=True)
    spk = net.add(ss.SpikeMonitor(exc))
    st = net.add(ss.StateMonitor(exc, ["v", "i"], ids=[1, 4], every=7))
    with pytest.warns(RuntimeWarning, match="cuts all"):
        net.run(0.033)
    data = ss.load(path)
    spikes = data.spikes("exc")
    assert (spikes.t_start, spikes.t_stop) == (0.0, pytest.approx(0.033))
    np.testing.assert_array_equal(spikes.times, spk.spikes.times)
    np.testing.assert_array_equal(spikes.ids, spk.spikes.ids)
    tr = data.trace("exc", "v")
    np.testing.assert_allclose(tr.times, st.trace("v").times)
    np.testing.assert_array_equal(tr.values, st.trace("v").values.astype(np.float32))
    steps = np.rint(spk.spikes.times / DT).astype(np.int64)
    np.testing.assert_array_equal(data.rate("exc").meta["counts"][:, 0],
                                  np.bincount(steps // 5, minlength=7))


def test_resuming_from_a_checkpoint_does_not_warn(tmp_path):
    path = tmp_path / "run.h5"
    net, exc = noisy()
    recorded(path, net, exc)
    net.run(0.05)
    net2, exc2 = noisy()
    net2.run(0.03)
    recorded(path, net2, exc2, append=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        net2.run(0.02)
    assert ss.load(path).meta["duration"] == pytest.approx(0.05)


OTHER = "[exc (LIF of 40)] and sources [inp (BernoulliInput of 40)] vs populations "


@pytest.mark.parametrize("kw,theirs", [
    ({"name": "foo"}, "[foo (LIF of 40)] and sources [inp (BernoulliInput of 40)]"),
    ({"n": 41}, "[exc (LIF of 41)] and sources [inp (BernoulliInput of 41)]"),
    ({"model": ss.AdaptiveLIF}, "[exc (AdaptiveLIF of 40)] and sources [inp (BernoulliInput "
                                "of 40)]"),
    ({"source": "drive"}, "[exc (LIF of 40)] and sources [drive (BernoulliInput of 40)]"),
])
@pytest.mark.parametrize("at", [0.0, 0.03])
def test_appending_another_network_is_refused_and_changes_nothing(tmp_path, kw, theirs, at):
    """A network with other populations or spike sources (names, sizes, model classes) would
    mix two networks in one file — the file's metadata describing only the first, its groups
    of the first network's populations kept past the appending run's end — so it is refused
    before anything changes, whatever the appending recorders write."""
    path = tmp_path / "run.h5"
    net, exc = noisy()
    recorded(path, net, exc)
    net.run(0.05)
    before = snapshot(path)
    net, pop = noisy(**kw)
    net.run(at)
    net.add(ss.SpikeRecorder(ss.H5Output(path, append=True), pop, name="exc"))
    with pytest.raises(ValueError, match=re.escape(
            f"{path}: the file holds a run of another network: populations {OTHER}{theirs} "
            f"in the network to record; use another file or overwrite=True")):
        net.run(0.02)
    assert snapshot(path) == before
    assert ss.load(path).completed


def test_an_append_from_a_checkpoint_cuts_every_group_at_its_start(tmp_path):
    """The documented use of append=True: a run resumed from a checkpoint of the same network.
    Groups that the resumed run does not record are cut at its start too (spikes after it,
    samples after it, rate bins that do not end by then), so that no group holds data past
    the file's duration; what it records continues exactly."""
    path, ckpt = tmp_path / "run.h5", tmp_path / "ckpt.h5"
    net, exc = noisy()
    inp = net.names["inp"]
    out = recorded(path, net, exc)
    net.add(ss.SpikeRecorder(out, inp))
    mon = net.add(ss.SpikeMonitor(inp))
    net.run(0.043)
    ss.save_checkpoint(net, ckpt)
    net.run(0.057)  # then the run "dies"
    full = ss.load(path)
    assert full.meta["duration"] == pytest.approx(0.1)
    exc_spikes, v = full.spikes("exc"), full.trace("exc", "v")
    counts = full.rate("exc").meta["counts"]

    net, exc = noisy()
    ss.load_checkpoint(net, ckpt)
    net.add(ss.SpikeRecorder(ss.H5Output(path, append=True), net.names["inp"]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        net.run(0.02)
    data = ss.load(path)
    assert data.completed and data.meta["duration"] == pytest.approx(0.063)
    spikes = data.spikes("inp")  # recorded: continued exactly
    np.testing.assert_array_equal(spikes.times, mon.spikes.times[mon.spikes.times < 0.0625])
    np.testing.assert_array_equal(spikes.ids, mon.spikes.ids[mon.spikes.times < 0.0625])
    cut = data.spikes("exc")  # not recorded: cut at 43 ms
    early = exc_spikes.times < 0.0425
    assert 0 < early.sum() < len(exc_spikes)
    np.testing.assert_array_equal(cut.times, exc_spikes.times[early])
    np.testing.assert_array_equal(cut.ids, exc_spikes.ids[early])
    tr = data.trace("exc", "v")  # samples every 7 ms: 7, ..., 42 ms
    np.testing.assert_allclose(tr.times, np.arange(1, 7) * 7e-3)
    np.testing.assert_array_equal(tr.values, v.values[:6])
    rate = data.rate("exc")  # whole 5 ms bins by 43 ms: 8 (the 9th is cut at 3 ms)
    np.testing.assert_array_equal(rate.meta["counts"], counts[:8])
    with h5py.File(path, "r") as f:
        assert f["rates/exc/counts"].shape == (8, 1)
        assert f["rates/exc/time"][1] == pytest.approx(40.0)
        assert f["report/exc.i/data"].shape == (6, 2)
        assert f["report/exc.i/mapping/time"][1] == pytest.approx(49.0)  # (stop exclusive)
        assert f["spikes/exc/node_ids"].shape == (early.sum(),)


def test_an_append_from_t0_cuts_the_groups_it_does_not_record(tmp_path):
    """The warning says the append cuts all the data the file holds: it does, also in groups
    the appending run does not write."""
    path = tmp_path / "run.h5"
    net, exc = noisy()
    recorded(path, net, exc)
    net.run(0.05)
    net, exc = noisy()
    net.add(ss.SpikeRecorder(ss.H5Output(path, append=True), net.names["inp"]))
    with pytest.warns(RuntimeWarning, match="cuts all the data"):
        net.run(0.02)
    data = ss.load(path)
    assert len(data.spikes("exc")) == 0 and len(data.spikes("inp")) > 0
    assert data.trace("exc", "v").values.shape == (0, 1, 2)
    assert data.rate("exc").meta["counts"].shape == (0, 1)


# --- 6. foreign SONATA files ------------------------------------------------------------------
@pytest.mark.parametrize("units,scale", [("s", 1.0), ("ms", 1e-3), (None, 1e-3),
                                         (np.array([b"Sec "]), 1.0), ("msec", 1e-3)])
def test_foreign_spike_times_are_read_in_their_units(tmp_path, units, scale):
    path = tmp_path / "son.h5"
    with h5py.File(path, "w") as f:
        g = f.create_group("spikes/V1")
        ts = g.create_dataset("timestamps", data=[1.5, 2.25, 10.0])
        if units is not None:
            ts.attrs["units"] = units
        g.create_dataset("node_ids", data=np.array([3, 0, 7], np.uint64))
        r = f.create_group("report/V1")
        r.create_dataset("data", data=np.zeros((4, 1), np.float32))
        r.create_dataset("mapping/node_ids", data=np.array([3], np.uint64))
        tm = r.create_dataset("mapping/time", data=[1.0, 3.0, 0.5])  # start, stop, step
        if units is not None:
            tm.attrs["units"] = units
    data = ss.load(path)
    assert data.completed is None  # not known: no spikesim metadata
    spikes = data.spikes("V1")
    np.testing.assert_allclose(spikes.times, np.array([1.5, 2.25, 10.0]) * scale)
    assert spikes.t_stop == pytest.approx(10.0 * scale)
    np.testing.assert_allclose(data.trace("V1").times, np.array([1.0, 1.5, 2.0, 2.5]) * scale)


@pytest.mark.parametrize("sorting", ["by_time", "by_id", "none"])
def test_foreign_spikes_in_any_order_are_read_sorted_by_time_then_id(tmp_path, sorting):
    rng = np.random.default_rng(5)
    times = rng.integers(0, 50, 400) * 0.5  # ms, with many ties
    ids = rng.integers(0, 30, 400)
    order = {"by_time": np.lexsort((ids, times)), "by_id": np.lexsort((times, ids)),
             "none": np.arange(400)}[sorting]
    path = tmp_path / "son.h5"
    with h5py.File(path, "w") as f:
        g = f.create_group("spikes/V1")
        g.create_dataset("timestamps", data=times[order])
        g.create_dataset("node_ids", data=ids[order].astype(np.uint64))
    spikes = ss.load(path).spikes("V1")
    expected = np.lexsort((ids, times))
    np.testing.assert_allclose(spikes.times, times[expected] * 1e-3)
    np.testing.assert_array_equal(spikes.ids, ids[expected])


def test_foreign_spike_times_in_unknown_units_are_refused(tmp_path):
    path = tmp_path / "son.h5"
    with h5py.File(path, "w") as f:
        g = f.create_group("spikes/V1")
        g.create_dataset("timestamps", data=[1.5]).attrs["units"] = "min"
        g.create_dataset("node_ids", data=np.array([3], np.uint64))
    with pytest.raises(ValueError, match=r"/spikes/V1/timestamps.*'min'.*'ms' or 's'"):
        ss.load(path).spikes("V1")


# --- 6b. batches stored one group per realization (files of earlier spikesim versions) -------
def old_batch_file(path):
    """A batch of 2 realizations of 3 neurons as earlier spikesim versions wrote it: one SONATA
    population per realization (``exc.r0``, ``exc.r1``), node ids within a realization."""
    tag = '{{"population": "exc", "realization": {b}, "n_realizations": 2, "n_neurons": 3{x}}}'
    with h5py.File(path, "w") as f:
        meta = f.create_group("spikesim")
        meta.attrs.update({"dt": DT, "batch": 2, "dtype": "float64", "seed": 0, "t_start": 0.0,
                           "duration": 0.004, "completed": True})
        for b, (ts, ids) in enumerate((([1.0, 3.0, 3.0], [2, 0, 1]), ([1.0, 2.0], [1, 1]))):
            g = f.create_group(f"spikes/exc.r{b}")
            g.attrs["spikesim"] = tag.format(b=b, x="")
            g.create_dataset("timestamps", data=ts).attrs["units"] = "ms"
            g.create_dataset("node_ids", data=np.array(ids, np.uint64))
            r = f.create_group(f"report/exc.v.r{b}")
            r.attrs["spikesim"] = tag.format(b=b, x=', "variable": "v"')
            r.create_dataset("data", data=np.arange(8.0).reshape(4, 2) + 10 * b)
            r.create_dataset("mapping/node_ids", data=np.array([0, 2], np.uint64))
            r.create_dataset("mapping/time", data=[1.0, 5.0, 1.0]).attrs["units"] = "ms"


def test_batches_stored_one_group_per_realization_are_still_read(tmp_path):
    path = tmp_path / "old.h5"
    old_batch_file(path)
    data = ss.load(path)
    spikes = data.spikes("exc")
    np.testing.assert_allclose(spikes.times, [1e-3, 1e-3, 2e-3, 3e-3, 3e-3])
    np.testing.assert_array_equal(spikes.realizations, [0, 1, 1, 0, 0])
    np.testing.assert_array_equal(spikes.ids, [2, 1, 1, 0, 1])
    assert spikes.n_realizations == 2 and spikes.n_neurons == 3
    one = data.spikes("exc", realization=1)
    np.testing.assert_array_equal(one.ids, [1, 1])
    assert one.n_realizations == 1
    trace = data.trace("exc", "v", ids=[2])
    assert trace.values.shape == (4, 2, 1)
    np.testing.assert_array_equal(trace.values[:, :, 0], [[1, 11], [3, 13], [5, 15], [7, 17]])
    second = data.trace("exc", "v", ids=[2], realization=1)
    np.testing.assert_array_equal(second.values[:, :, 0], [[11], [13], [15], [17]])


def test_a_batch_is_not_appended_to_a_file_of_one_group_per_realization(tmp_path):
    path = tmp_path / "old.h5"
    old_batch_file(path)
    before = path.read_bytes()
    net = ss.Network(dt=DT, batch=2)
    exc = net.add(ss.LIF(3), name="exc")
    net.add(ss.SpikeRecorder(ss.H5Output(path, append=True), exc))
    with pytest.raises(ValueError, match=r"one group per realization \(exc.r0, exc.r1, \.\.\.: "
                                         r"written by an earlier spikesim\).*write a new file"):
        net.run(0.002)
    assert path.read_bytes() == before


def test_a_population_named_like_an_old_realization_group_is_no_old_batch(tmp_path):
    """Only a group written as one realization of a batch counts as the old layout: a
    population that happens to be called "pop.r0" records and appends beside "pop"."""
    path = tmp_path / "n.h5"
    net = ss.Network(dt=DT, seed=1)
    a = net.add(ss.LIF(3, units="1", v_th=0.3), name="pop.r0")
    b = net.add(ss.LIF(3, units="1", v_th=0.3), name="pop")
    out = ss.H5Output(path)
    net.add(ss.SpikeRecorder(out, a))
    net.add(ss.SpikeRecorder(out, b))
    net.add(ss.StateRecorder(out, b, "v"))
    net.run(0.002)
    net.run(0.002)
    assert ss.load(path).trace("pop", "v").values.shape == (4, 1, 3)


def test_a_short_first_run_leaves_later_runs_chunks_of_a_useful_size(tmp_path):
    """The chunk shape is fixed when a dataset is made: a one-step first run sizes it for at
    least 64 rows (reports) and 64 steps of spikes, not for one."""
    path = tmp_path / "c.h5"
    net, exc = noisy()
    out = ss.H5Output(path)
    net.add(ss.SpikeRecorder(out, exc))
    net.add(ss.StateRecorder(out, exc, ["v", "i"]))
    net.run(DT)
    net.run(0.2)
    with h5py.File(path, "r") as f:
        assert f["report/exc.v/data"].chunks[0] == 64  # the network's chunk: 64 steps
        assert f["spikes/exc/timestamps"].chunks[0] >= 256


def test_realization_must_be_an_integer(tmp_path):
    path = tmp_path / "r.h5"
    net = ss.Network(dt=DT, batch=3)
    pop = net.add(ss.LIF(2), name="a")
    net.add(ss.SpikeRecorder(ss.H5Output(path), pop))
    net.run(0.002)
    with pytest.raises(TypeError, match=r"realization must be an integer, got 1.0"):
        ss.load(path).spikes("a", realization=1.0)
    with pytest.raises(ValueError, match=r"realization must be in \[0, 2\], got 3"):
        ss.load(path).spikes("a", realization=3)


# --- 7. names -----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["", ".", "..", "a/b"])
def test_recorder_names_must_be_group_names(tmp_path, name):
    net, a = regular()
    out = ss.H5Output(tmp_path / "a.h5")
    with pytest.raises(ValueError, match=r"SpikeRecorder.name must be a non-empty name without "
                                         r"'/' or NUL, other than '\.' and '\.\.', got"):
        ss.SpikeRecorder(out, a, name=name)
    net.add(ss.SpikeRecorder(out, a), name=name)
    with pytest.raises(ValueError, match="SpikeRecorder.name must be a non-empty name"):
        net.run(0.01)
    assert not os.path.exists(tmp_path / "a.h5")


# --- a run stopped by an error (a monitor, a recorder, a full disk), then continued ----------
def _recorded_network(chunk=20):
    """20 LIF neurons, Bernoulli input one to one, delayed random recurrence."""
    net = ss.Network(dt=DT, seed=5, chunk=chunk)
    exc = net.add(ss.LIF(20, tau_mem=10e-3, tau_syn=5e-3, v_th=0.3, refractory=2e-3),
                  name="exc")
    net.connect(net.add(ss.BernoulliInput(20, p=0.1), name="inp"), exc, "one_to_one",
                weight=1.0)
    net.connect(exc, exc, "random", p=0.2, weight=0.05, delay=3e-3)
    return net, exc


def _reference(duration):
    net, exc = _recorded_network()
    spikes = net.add(ss.SpikeMonitor(exc))
    states = net.add(ss.StateMonitor(exc, ["v", "i"], ids=[1, 5], every=3))
    net.run(duration)
    return spikes.spikes, states


def _same_as_reference(path, duration):
    ref_spikes, ref_states = _reference(duration)
    run = ss.load(path)
    got = run.spikes("exc")
    np.testing.assert_array_equal(got.times, ref_spikes.times)
    np.testing.assert_array_equal(got.ids, ref_spikes.ids)
    for var in ("v", "i"):
        np.testing.assert_array_equal(run.trace("exc", var).values,
                                      ref_states.trace(var).values.astype(np.float32))


class _FailsOnce(ss.SpikeMonitor):
    """A user's monitor that raises when it gets its third chunk (having kept it)."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.calls = 0

    def spikes_in(self, *args):
        super().spikes_in(*args)
        self.calls += 1
        if self.calls == 3:
            raise RuntimeError("user monitor failed")


def test_a_failing_monitor_leaves_the_recorders_the_data_of_the_steps_run(tmp_path):
    """The failing monitor comes first: the recorders after it still get the chunk, so the
    file, net.step and a continued run agree with one uninterrupted run."""
    path = tmp_path / "r.h5"
    net, exc = _recorded_network()
    net.add(_FailsOnce(exc))
    out = ss.H5Output(path, flush_every=0)
    net.add(ss.SpikeRecorder(out, exc))
    net.add(ss.StateRecorder(out, exc, ["v", "i"], ids=[1, 5], every=3))
    with pytest.raises(RuntimeError, match="user monitor failed"):
        net.run(0.1)
    assert net.step == 60
    _same_as_reference(path, 0.06)
    net.run(0.04)
    _same_as_reference(path, 0.1)


def test_a_write_that_fails_after_extending_a_dataset_leaves_no_rows_behind(tmp_path,
                                                                              monkeypatch):
    """A full disk at the data write itself (after the dataset grew): the dataset shrinks
    back, so the rows the retry appends follow the data, and no zeros read as spikes."""
    path = tmp_path / "r.h5"
    real = ssio.append
    calls = []

    class FailingWrite:  # the dataset's id, whose write (H5Dwrite) fails
        def __init__(self, dsid):
            self._id = dsid

        def __getattr__(self, name):
            return getattr(self._id, name)

        def write(self, *args):
            raise OSError(28, "No space left on device (simulated)")

    def append(ds, rows):
        calls.append(1)
        if len(calls) == 2:
            ds = type("Dataset", (), {"id": FailingWrite(ds.id)})()
        return real(ds, rows)

    monkeypatch.setattr("spikesim.recorders.append", append)
    net, exc = _recorded_network()
    out = ss.H5Output(path, flush_every=0)
    net.add(ss.SpikeRecorder(out, exc))
    net.add(ss.StateRecorder(out, exc, ["v", "i"], ids=[1, 5], every=3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(OSError, match="No space left"):
            net.run(0.1)
    monkeypatch.setattr("spikesim.recorders.append", real)
    with h5py.File(path, "r") as f:
        assert f["spikes/exc/timestamps"].shape == f["spikes/exc/node_ids"].shape
    _same_as_reference(path, net.t)


def _run_into_a_full_disk(path) -> ss.Network:
    """:func:`_recorded_network` with a SpikeRecorder to ``path`` flushing every chunk, run
    for 0.1 s into the full disk a test simulates: the run's OSError is expected."""
    net, exc = _recorded_network()
    net.add(ss.SpikeRecorder(ss.H5Output(path, flush_every=0), exc))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(OSError, match="No space left"):
            net.run(0.1)
    return net


def test_spikes_lost_to_a_full_disk_are_not_continued_as_silence(tmp_path, monkeypatch):
    """The flush and the close that retries it both fail: the file's data ends before the
    network's time, and continuing the SpikeRecorder there is refused (as reports are)."""
    path = tmp_path / "r.h5"
    real = ssio.append
    calls = []

    def append(ds, rows):
        calls.append(1)
        if len(calls) in (2, 3):
            raise OSError(28, "No space left on device (simulated)")
        return real(ds, rows)

    monkeypatch.setattr("spikesim.recorders.append", append)
    net = _run_into_a_full_disk(path)
    monkeypatch.setattr("spikesim.recorders.append", real)
    with pytest.raises(ValueError, match="gap"):
        net.run(0.04)


def test_a_monitor_whose_end_raises_does_not_leave_the_file_open(tmp_path):
    """Every monitor ends (the output closes its file, completed) before the error rises."""
    class FailingEnd(ss.SpikeMonitor):
        def end(self, completed, t):
            super().end(completed, t)
            raise RuntimeError("end failed")

    path = tmp_path / "r.h5"
    net, exc = _recorded_network()
    net.add(FailingEnd(exc))
    out = ss.H5Output(path, flush_every=1e6)
    net.add(ss.SpikeRecorder(out, exc))
    with pytest.raises(RuntimeError, match="end failed"):
        net.run(0.05)
    assert not out.is_open
    run = ss.load(path)
    assert run.completed and run.meta["runs"][-1]["t_stop"] == pytest.approx(0.05)
    assert len(run.spikes("exc")) == len(_reference(0.05)[0])


def test_a_recorder_that_cannot_keep_a_chunk_ends_the_files_data_before_it(tmp_path,
                                                                            monkeypatch):
    """A recorder's own hook fails (say, out of memory) in the third chunk: the runs table
    ends where that chunk began, and a continued run is refused rather than recorded with a
    hole."""
    real = ss.StateRecorder._keep_samples
    calls = []

    def keep(self, *args):
        calls.append(1)
        if len(calls) == 3:
            raise MemoryError("simulated")
        return real(self, *args)

    monkeypatch.setattr(ss.StateRecorder, "_keep_samples", keep)
    path = tmp_path / "r.h5"
    net, exc = _recorded_network()
    out = ss.H5Output(path, flush_every=0)
    net.add(ss.SpikeRecorder(out, exc))
    net.add(ss.StateRecorder(out, exc, ["v", "i"], ids=[1, 5], every=3))
    with pytest.raises(MemoryError):
        net.run(0.1)
    monkeypatch.setattr(ss.StateRecorder, "_keep_samples", real)
    last = ss.load(path).meta["runs"][-1]
    assert last["t_stop"] == pytest.approx(0.04) and not last["completed"]
    with pytest.raises(ValueError, match="gap"):
        net.run(0.04)


def _runs_table_fails_after_two_writes(monkeypatch) -> None:
    """Every write of a runs table after the first two fails (a full disk, simulated)."""
    real = ssio.write_row
    calls = []

    def write_row(ds, row, values):
        if ds.name.endswith("/runs"):
            calls.append(1)
            if len(calls) > 2:
                raise OSError(28, "No space left on device (simulated)")
        return real(ds, row, values)

    monkeypatch.setattr("spikesim.recorders.write_row", write_row)


def test_spikes_written_past_the_runs_table_are_not_read(tmp_path, monkeypatch):
    """The spikes reach the file but every later write of the runs table fails (the flushes
    and the close that retries them): the file's data ends where the table does, and
    ``spikes()`` and ``spikesim info`` give the spikes up to there only — those of a run of
    that length."""
    _runs_table_fails_after_two_writes(monkeypatch)
    path = tmp_path / "r.h5"
    _run_into_a_full_disk(path)
    run = ss.load(path)
    t_stop = run.meta["runs"][-1]["t_stop"]
    assert 0 < t_stop < 0.1
    with h5py.File(path, "r") as f:  # the spikes of the later chunks are in the file
        assert f["spikes/exc/timestamps"][:].max() / 1e3 > t_stop
    ref = _reference(t_stop)[0]
    got = run.spikes("exc")
    np.testing.assert_array_equal(got.times, ref.times)
    np.testing.assert_array_equal(got.ids, ref.ids)
    assert contents(path)["spikes"]["exc"]["spikes"] == len(ref)  # spikesim info agrees


def test_samples_and_rate_bins_written_past_the_runs_table_are_not_read(tmp_path,
                                                                        monkeypatch):
    """As the spikes above: a report's samples and a rate's bins written past the runs table's
    end are not read either, so that every group of the file ends at the same time."""
    _runs_table_fails_after_two_writes(monkeypatch)
    path = tmp_path / "r.h5"
    net, exc = _recorded_network()
    out = ss.H5Output(path, flush_every=0)
    net.add(ss.StateRecorder(out, exc, ["v", "i"], ids=[1, 5], every=3))
    net.add(ss.RateRecorder(out, exc, bin_width=4 * DT))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(OSError, match="No space left"):
            net.run(0.1)
    run = ss.load(path)
    t_stop = run.meta["runs"][-1]["t_stop"]
    assert 0 < t_stop < 0.1
    with h5py.File(path, "r") as f:  # the later chunks' samples are in the file
        assert f["report/exc.v/data"].shape[0] * 3 * DT > t_stop + 3 * DT
    ref_spikes, ref_states = _reference(t_stop)
    for var in ("v", "i"):
        got, ref = run.trace("exc", var), ref_states.trace(var)
        np.testing.assert_allclose(got.times, ref.times)
        np.testing.assert_array_equal(got.values, ref.values.astype(np.float32))
    rate = run.rate("exc")
    steps = np.round(ref_spikes.times / DT).astype(np.int64)
    np.testing.assert_array_equal(rate.meta["counts"][:, 0],
                                  np.bincount(steps // 4, minlength=len(rate.times)))
    assert rate.times[-1] < t_stop <= rate.times[-1] + 4 * DT + 1e-12


@pytest.mark.parametrize("stop_ms,expected", [(50_000.5, 50_001), (1e9, 200_000), (-1.0, 0),
                                              (199_999.0, 199_999)])
def test_count_before_reads_the_suffix_back_from_the_end(tmp_path, stop_ms, expected):
    """Times in s (units attribute) over several of count_before's read blocks."""
    with h5py.File(tmp_path / "t.h5", "w") as f:
        ts = f.create_dataset("t", data=np.arange(200_000) / 1e3)
        ts.attrs["units"] = "s"
        assert ssio.count_before(ts, 200_000, stop_ms) == expected


def test_a_file_that_gives_no_end_keeps_every_spike(tmp_path):
    """Without a duration and a runs table (a trimmed or hand-made file), the end is the last
    spike: no spike is cut, by spikes() nor by spikesim info."""
    path = tmp_path / "r.h5"
    net = ss.Network(dt=1e-4, seed=1)
    a = net.add(ss.LIF(2, v_leak=2.0, v_init=2.0, v_th=1.0, reset="none", units="1"), name="a")
    net.add(ss.SpikeRecorder(ss.H5Output(path), a))
    net.run(10e-4)
    with h5py.File(path, "r+") as f:
        del f["spikesim"].attrs["duration"]
        del f["spikesim/runs"]
        n = f["spikes/a/timestamps"].shape[0]
    assert n == 20
    assert len(ss.load(path).spikes("a")) == n and contents(path)["spikes"]["a"]["spikes"] == n


def test_a_running_output_is_marked_in_use_and_not_replaced_by_another(tmp_path):
    """While a run writes its file (SWMR: HDF5 no longer locks it), the output holds a shared
    lock: another output with overwrite=True refuses to replace it (its writer would go on
    into a deleted file), a reader still reads it, and the lock ends with the run."""
    path = tmp_path / "a.h5"
    seen = []

    other = ("import sys, spikesim as ss\n"
             "net = ss.Network(dt=1e-3); pop = net.add(ss.LIF(2, units='1'), name='b')\n"
             "net.add(ss.SpikeRecorder(ss.H5Output(sys.argv[1], overwrite=True), pop))\n"
             "net.run(0.002)\n")

    def during(done, total):
        seen.append(ssio.writer_active(path))
        if len(seen) == 1:  # another process: its overwrite is refused
            proc = subprocess.run([sys.executable, "-c", other, str(path)], capture_output=True,
                                  text=True, timeout=300)
            assert proc.returncode == 1 and re.search(r"FileExistsError: .* is open in another "
                                                      r"process .*: not replaced", proc.stderr)
            assert ss.load(path).populations == ["a"]  # (readable while written)

    net = ss.Network(dt=1e-3, chunk=5)
    pop = net.add(ss.LIF(3, units="1", v_leak=1.5), name="a")
    net.add(ss.SpikeRecorder(ss.H5Output(path), pop))
    net.run(0.02, progress=during)
    assert seen and all(seen)
    assert not ssio.writer_active(path) and ss.load(path).completed
    assert len(ss.load(path).spikes("a")) > 0


def test_of_two_outputs_replacing_one_path_at_once_the_second_is_refused(tmp_path,
                                                                          monkeypatch):
    """Two sweep workers start together with H5Output(path, overwrite=True): each checked that
    no run writes the path, then moved its new file there. When the second checked before the
    first moved, both ran "successfully" and the first wrote on into a file no longer there
    (its data lost without a word). Here the other output publishes right after this one's
    check (the interleaving of two processes): it must be refused while this run writes."""
    from spikesim import recorders
    path = tmp_path / "a.h5"
    other, tmp = ss.H5Output(path, overwrite=True), str(tmp_path / ".other.tmp")
    h5py.File(tmp, "w").close()
    lock = ssio.hold_writer_lock(tmp)  # (as a run holds its new file)
    outcome = []

    def publish_other():
        try:
            other._publish(tmp)
            outcome.append("published")
        except FileExistsError as e:
            outcome.append(str(e))

    racer = threading.Thread(target=publish_other)
    checked = ssio.writer_active

    def check_then_race(p):
        active = checked(p)
        if inspect.stack()[1].function.startswith("_publish") and not racer.is_alive() \
                and not outcome:
            racer.start()
            racer.join(0.5)  # (it may publish now, unless this check and the move are one)
        return active

    monkeypatch.setattr(recorders, "writer_active", check_then_race)
    net, pop = regular()
    net.add(ss.SpikeRecorder(ss.H5Output(path, overwrite=True), pop))
    net.run(0.02, progress=lambda done, total: racer.join(10))  # (it checks while this runs)
    ssio.release_writer_lock(lock)
    assert outcome and "is open in another process" in outcome[0], outcome
    assert ss.load(path).populations == ["a"] and len(ss.load(path).spikes("a")) > 0


def test_where_the_folder_cannot_be_locked_an_error_is_not_chained_to_the_failed_open(
        tmp_path, monkeypatch):
    """folder_lock yielded inside its ``except OSError`` (a folder without read permission;
    ImportError: no fcntl): "output already exists" then came after "During handling of the
    above exception ... PermissionError", as if that had caused it."""
    real_open = os.open

    def no_folders(path, *args):
        if os.path.isdir(path):
            raise PermissionError(13, "Permission denied", path)
        return real_open(path, *args)

    monkeypatch.setattr(os, "open", no_folders)
    with pytest.raises(FileExistsError) as caught:
        with ssio.folder_lock(tmp_path / "a.h5"):
            raise FileExistsError("a.h5 is open in another process")
    assert caught.value.__context__ is None


def test_two_outputs_of_one_path_in_one_process_make_their_own_temporary_files(tmp_path):
    """Two outputs of one path starting in two threads of one process named their new files
    alike (".a.h5.<pid>.tmp"): the second failed with HDF5's "unable to truncate a file which
    is already open" instead of the refusal that names the other run."""
    net, _ = regular()
    net.build()
    first, second = (ss.H5Output(tmp_path / "a.h5", overwrite=True) for _ in range(2))
    f1, tmp1 = first._create(net)
    try:
        f2, tmp2 = second._create(net)
        f2.close()
        os.remove(tmp2)
    finally:
        f1.close()
        os.remove(tmp1)
    assert tmp1 != tmp2 and not os.listdir(tmp_path)


def test_without_a_writable_cache_folder_the_kernels_cache_in_a_private_temporary_one(
        tmp_path, monkeypatch):
    """A read-only install whose user has no writable ~/.cache either (containers, batch
    jobs): Numba refused every cached kernel at import. The package points NUMBA_CACHE_DIR at
    a private folder of the temporary directory instead, with a warning; a folder others may
    write is refused, naming NUMBA_CACHE_DIR."""
    import tempfile

    from numba.core import caching, config

    import spikesim

    for name in ("InTreeCacheLocator", "UserWideCacheLocator"):  # (before Numba 0.62: _name)
        locator = getattr(caching, name, None) or getattr(caching, "_" + name)
        monkeypatch.setattr(locator, "from_function", classmethod(lambda cls, f, src: None))
    monkeypatch.setattr(config, "CACHE_DIR", "")
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setattr(tempfile, "gettempdir", lambda: str(tmp_path))
    with pytest.warns(RuntimeWarning, match=r"the compiled kernels are cached in .*spikesim-"
                                            r"numba-cache"):
        spikesim._ensure_numba_cache()
    folder = config.CACHE_DIR
    assert os.environ["NUMBA_CACHE_DIR"] == folder and os.path.dirname(folder) == str(tmp_path)
    assert os.stat(folder).st_mode & 0o777 == 0o700
    from pathlib import Path  # the stale-cache check stamped the folder the kernels now use
    assert list(Path(folder).rglob("sources.sha256"))
    os.chmod(folder, 0o777)  # another user could plant cache files there
    monkeypatch.setattr(config, "CACHE_DIR", "")
    with pytest.raises(ImportError, match="set NUMBA_CACHE_DIR to a writable folder"):
        spikesim._ensure_numba_cache()


def test_where_a_folder_cannot_be_locked_a_lock_file_in_it_is(tmp_path, monkeypatch):
    """On NFS, ``flock`` is emulated with POSIX locks, whose exclusive lock needs a
    descriptor open for writing: a folder's (read-only) descriptor got EBADF, and the lock that
    makes two overwriting runs' checks and moves one step did nothing. A lock file in the
    folder is locked instead (only there: a local folder stays free of it)."""
    import errno
    import fcntl
    import stat

    with ssio.folder_lock(tmp_path / "a.h5"):
        pass
    assert os.listdir(tmp_path) == []
    real_flock = fcntl.flock

    def nfs_flock(fd, op):
        if stat.S_ISDIR(os.fstat(fd).st_mode) and op & fcntl.LOCK_EX:
            raise OSError(errno.EBADF, "Bad file descriptor")
        return real_flock(fd, op)

    monkeypatch.setattr(fcntl, "flock", nfs_flock)
    with ssio.folder_lock(tmp_path / "a.h5"):
        other = os.open(tmp_path / ssio.FOLDER_LOCK_FILE, os.O_RDWR)
        try:
            with pytest.raises(BlockingIOError):  # held: another open cannot take it
                real_flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(other)
    net, pop = regular()
    net.add(ss.SpikeRecorder(ss.H5Output(tmp_path / "a.h5"), pop))
    net.run(0.02)
    assert sorted(os.listdir(tmp_path)) == [ssio.FOLDER_LOCK_FILE, "a.h5"]
    assert len(ss.load(tmp_path / "a.h5").spikes("a")) > 0


def test_where_the_lock_file_is_a_posix_lock_two_threads_still_take_turns(tmp_path, monkeypatch):
    """NFS emulates flock with POSIX locks, which belong to the process: a second thread's
    lock of the .spikesim.lock file succeeded at once (two outputs of one process, in two
    threads, checked and moved their files into one path together), and its close would
    have released the first thread's lock."""
    import errno
    import fcntl
    import stat
    import threading

    def nfs_flock(fd, op):
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(errno.EBADF, "Bad file descriptor")
        return fcntl.lockf(fd, op)  # (a POSIX lock of the whole file, as the NFS client's)

    monkeypatch.setattr(fcntl, "flock", nfs_flock)
    entered, leave, inside = threading.Event(), threading.Event(), []

    def first():
        with ssio.folder_lock(tmp_path / "a.h5"):
            entered.set()
            leave.wait(10)

    def second():
        with ssio.folder_lock(tmp_path / "a.h5"):
            inside.append(leave.is_set())

    t1 = threading.Thread(target=first)
    t1.start()
    assert entered.wait(10)
    t2 = threading.Thread(target=second)
    t2.start()
    t2.join(0.3)
    leave.set()
    t1.join(10)
    t2.join(10)
    assert inside == [True]  # (the second entered only once the first had left)
