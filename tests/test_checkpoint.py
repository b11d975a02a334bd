"""Checkpoint and resume: a run stopped, saved, restored into a freshly built network and
continued is bit-identical to one uninterrupted run; mismatched networks are refused."""

import json
import re
import shutil

import h5py
import numba
import numpy as np
import pytest

import spikesim as ss
from spikesim import checkpoint

DT = 1e-4


def network(seed=7, batch=2, n_exc=80, dtype=np.float64, chunk=333, parallel=None):
    """Every kind of state: v, i, w (adaptation), refractory counters, an OU current, Poisson
    sources (next firing steps), given spike times, and delayed recurrent spikes in flight
    (into inh's two currents too: two parts of the ring)."""
    net = ss.Network(dt=DT, seed=seed, batch=batch, dtype=dtype, chunk=chunk, parallel=parallel)
    exc = net.add(ss.AdaptiveLIF(n_exc, tau_mem=20e-3, tau_syn=5e-3, tau_w=50e-3, b=0.02,
                                 v_th=1.0, refractory=2e-3, v_init=ss.Uniform(0.0, 0.9),
                                 method="exact"), name="exc")
    inh = net.add(ss.LIF(20, tau_mem=10e-3, tau_syn=5e-3, tau_syn_inh=8e-3, v_th=1.0,
                         refractory=1e-3), name="inh")
    net.add(ss.OUCurrent(exc, mean=40.0, std=30.0, tau=5e-3))
    net.add(ss.NoiseCurrent(inh, mean=20.0, std=40.0))
    poisson = net.add(ss.PoissonInput(50, rate=80.0), name="poisson")
    times = net.add(ss.SpikeTimes(3, [0.005, 0.021, 0.034], [0, 1, 2]), name="times")
    net.connect(poisson, exc, "fixed_indegree", k=5, weight=2.0, delay=ss.Uniform(1e-4, 2e-3))
    net.connect(times, inh, "all_to_all", weight=3.0)
    net.connect(exc, exc, "random", p=0.1, weight=1.0, delay=1.5e-3)
    net.connect(exc, inh, "random", p=0.2, weight=2.0, delay=0.5e-3)
    net.connect(inh, exc, "random", p=0.3, weight=-4.0, delay=ss.Uniform(1e-4, 3e-3))
    net.connect(inh, inh, "random", p=0.3, weight=-2.0, delay=ss.Uniform(1e-4, 2e-3),
                receptor="i_inh")
    return net, exc, inh


def monitors(net, exc, inh):
    return (net.add(ss.SpikeMonitor(exc)), net.add(ss.SpikeMonitor(inh)),
            net.add(ss.StateMonitor(exc, ["v", "i", "w"], ids=[0, 5, 33], every=3)))


def check_same(parts, whole):
    """Monitors of the pieces of a run, concatenated, equal those of the whole run."""
    for k in range(2):
        a = [p[k].spikes for p in parts]
        b = whole[k].spikes
        np.testing.assert_array_equal(np.concatenate([s.times for s in a]), b.times)
        np.testing.assert_array_equal(np.concatenate([s.ids for s in a]), b.ids)
        np.testing.assert_array_equal(np.concatenate([s.realizations for s in a]),
                                      b.realizations)
        assert len(b) > 50
    for var in ("v", "i", "w"):
        np.testing.assert_array_equal(
            np.concatenate([p[2].trace(var).values for p in parts]), whole[2].trace(var).values)
        np.testing.assert_array_equal(
            np.concatenate([p[2].trace(var).times for p in parts]), whole[2].trace(var).times)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_resumed_run_is_bit_identical_to_an_uninterrupted_one(tmp_path, dtype):
    full, exc, inh = network(dtype=dtype)
    whole = monitors(full, exc, inh)
    full.run(0.1)

    # saved from the threaded kernel (synapse rows split into target parts), resumed serially
    first, exc, inh = network(dtype=dtype, parallel=True)
    part1 = monitors(first, exc, inh)
    first.run(0.0437)  # stops mid-chunk, mid-sampling period, with spikes in flight
    assert np.any(first.state["ring"] != 0) and np.any(first.state["refc"] != 0)
    assert first.state["ring"].shape[2] == 80 + 2 * 20 and np.any(first.state["ring"][..., 100:])
    assert first.tables.parts.shape[1] == numba.get_num_threads() + 1  # one part per thread
    ss.save_checkpoint(first, tmp_path / "ckpt.h5")

    resumed, exc, inh = network(dtype=dtype)  # a fresh build, as in a new process
    part2 = monitors(resumed, exc, inh)
    ss.load_checkpoint(resumed, tmp_path / "ckpt.h5")
    assert resumed.step == 437 and resumed.t == pytest.approx(0.0437)
    for name, arr in first.state.items():
        np.testing.assert_array_equal(resumed.state[name], arr)
    resumed.run(0.1 - 0.0437)
    check_same([part1, part2], whole)
    for name, arr in full.state.items():
        np.testing.assert_array_equal(resumed.state[name], arr)


def test_resuming_into_the_recorder_file_continues_it_exactly(tmp_path):
    """A run writing a file is killed after its checkpoint; resumed from the checkpoint with
    ``append=True`` (the data past the checkpoint is cut, then recomputed), the file equals
    that of an uninterrupted run."""
    ref_path, path = tmp_path / "ref.h5", tmp_path / "run.h5"

    def recorded(file, **output_args):
        net, exc, inh = network()
        out = ss.H5Output(file, **output_args)
        net.add(ss.SpikeRecorder(out, exc))
        net.add(ss.StateRecorder(out, exc, ["v", "w"], ids=[1, 2], every=2))
        net.add(ss.RateRecorder(out, inh, bin_width=1e-3))
        return net

    recorded(ref_path).run(0.08)
    net = recorded(path)
    net.run(0.03)
    ss.save_checkpoint(net, tmp_path / "ckpt.h5")
    net.run(0.0234)  # then the process "dies"; the file holds data past the checkpoint

    net = recorded(path, append=True)
    ss.load_checkpoint(net, tmp_path / "ckpt.h5")
    net.run(0.05)
    a, b = ss.load(ref_path), ss.load(path)
    sa, sb = a.spikes("exc"), b.spikes("exc")
    np.testing.assert_array_equal(sa.times, sb.times)
    np.testing.assert_array_equal(sa.ids, sb.ids)
    np.testing.assert_array_equal(sa.realizations, sb.realizations)
    for var in ("v", "w"):
        np.testing.assert_array_equal(a.trace("exc", var).values, b.trace("exc", var).values)
        np.testing.assert_array_equal(a.trace("exc", var).times, b.trace("exc", var).times)
    np.testing.assert_array_equal(a.rate("inh").meta["counts"], b.rate("inh").meta["counts"])
    # the runs the data comes from: the second one's, past the checkpoint, was cut
    assert b.completed and [r["steps"] for r in b.meta["runs"]] == [300, 500]


def test_checkpoint_file_contents(tmp_path):
    net, exc, inh = network()
    net.run(0.01)
    path = ss.save_checkpoint(net, tmp_path / "c.h5")
    with h5py.File(path, "r") as f:
        assert f.attrs["format"] == "spikesim-checkpoint"
        assert f.attrs["step"] == 100 and f.attrs["seed"] == 7 and f.attrs["batch"] == 2
        assert f.attrs["dt"] == DT and f.attrs["dtype"] == "float64"
        assert set(f["state"]) == {"v", "i", "w", "refc", "ou", "nxt", "ring"}
        np.testing.assert_array_equal(f["state/v"][:], net.state["v"])
    with pytest.raises(FileExistsError, match=re.escape(path)):
        ss.save_checkpoint(net, path, overwrite=False)
    ss.save_checkpoint(net, path)  # replaces by default (periodic checkpoints)


@pytest.mark.parametrize("change,match", [
    (dict(seed=8), "seed: checkpoint 7, network 8"),
    (dict(batch=1), "batch: checkpoint 2, network 1"),
    (dict(dtype=np.float32), "dtype: checkpoint 'float64', network 'float32'"),
    (dict(n_exc=81), "different network"),
])
def test_a_checkpoint_is_refused_by_a_different_network(tmp_path, change, match):
    net, _, _ = network()
    net.run(0.002)
    ss.save_checkpoint(net, tmp_path / "c.h5")
    other, _, _ = network(**change)
    with pytest.raises(ValueError, match=re.escape(match)):
        ss.load_checkpoint(other, tmp_path / "c.h5")
    assert other.step == 0


def test_a_checkpoint_is_refused_for_other_parameters_or_dt(tmp_path):
    net, _, _ = network()
    ss.save_checkpoint(net, tmp_path / "c.h5")
    other = ss.Network(dt=DT, seed=7, batch=2)
    other.add(ss.LIF(80), name="exc")
    with pytest.raises(ValueError, match="different network"):
        ss.load_checkpoint(other, tmp_path / "c.h5")
    other = ss.Network(dt=2 * DT, seed=7, batch=2)
    with pytest.raises(ValueError, match="dt: checkpoint"):
        ss.load_checkpoint(other, tmp_path / "c.h5")
    with pytest.raises(FileNotFoundError, match="no such checkpoint"):
        ss.load_checkpoint(other, tmp_path / "missing.h5")


def test_a_checkpoint_names_the_projection_whose_synapses_differ(tmp_path):
    """A weight, probability or per-synapse delay changed since the save is named by its
    projection, not by the whole network's checksums; a projection renamed (its label only)
    still loads."""
    net, _, _ = network()
    ss.save_checkpoint(net, tmp_path / "c.h5")
    other, exc, _ = network()
    other.projections[2].weight = 1.5  # exc -> exc
    with pytest.raises(ValueError, match=r"\(synapses of projection 'exc' -> 'exc' \('random'\) "
                                         r"differ\); build the same network"):
        ss.load_checkpoint(other, tmp_path / "c.h5")
    other, exc, _ = network()
    other.projections[2].weight = 1.5
    other.projections[2].name = "recurrent"
    with pytest.raises(ValueError, match=r"synapses of projection 'recurrent': 'exc' -> 'exc' "):
        ss.load_checkpoint(other, tmp_path / "c.h5")
    renamed, _, _ = network()
    renamed.projections[2].name = "recurrent"
    ss.load_checkpoint(renamed, tmp_path / "c.h5")
    later, _, _ = network()
    later.projections[3].delay = 0.6e-3  # exc -> inh, one delay for all its synapses
    with pytest.raises(ValueError, match=r"\(synapses of projection 'exc' -> 'inh' \('random'\) "
                                         r"differ\)"):
        ss.load_checkpoint(later, tmp_path / "c.h5")
    with h5py.File(tmp_path / "c.h5", "r+") as f:  # saved before the list: still refused
        structure = json.loads(f.attrs["structure"])
        del structure["projection_synapses"]
        f.attrs["structure"] = json.dumps(structure)
    with pytest.raises(ValueError, match=r"connectivity_crc32: checkpoint"):
        ss.load_checkpoint(other, tmp_path / "c.h5")
    ss.load_checkpoint(network()[0], tmp_path / "c.h5")  # the same network loads it


def test_a_checkpoint_is_refused_by_a_network_that_has_run_from_another_format_or_not_hdf5(
        tmp_path):
    net, _, _ = network()
    net.run(0.002)
    ss.save_checkpoint(net, tmp_path / "c.h5")
    ran, _, _ = network()
    ran.run(0.001)
    with pytest.raises(ValueError, match=r"network that has not run; this one is at t = 0\.001"):
        ss.load_checkpoint(ran, tmp_path / "c.h5")
    with h5py.File(tmp_path / "c.h5", "r+") as f:  # as a later spikesim might write it
        f.attrs["format_version"] = 4
    with pytest.raises(ValueError, match=r"c\.h5 is a checkpoint of format version 4; this "
                                         r"spikesim reads versions 2 to 3: resume it with"):
        ss.load_checkpoint(network()[0], tmp_path / "c.h5")
    (tmp_path / "notes.txt").write_text("not HDF5")
    fresh, _, _ = network()
    with pytest.raises(ValueError, match=r"notes\.txt is not a spikesim checkpoint \(not an "
                                         r"HDF5 file\)"):
        ss.load_checkpoint(fresh, tmp_path / "notes.txt")
    assert fresh.step == 0


@pytest.mark.parametrize("edit,match", [
    (lambda f: f["state/v"].__setitem__((0, slice(0, 3)), np.nan),
     "state 'v' holds 3 non-finite values (NaN or infinite)"),
    (lambda f: f["state/ring"].__setitem__((1, 0, 0), -np.inf),
     "state 'ring' holds 1 non-finite values (NaN or infinite)"),
    (lambda f: f.attrs.__setitem__("step", -5),
     "step must be an integer >= 0 and <= 4611686018427387904, got -5"),
    (lambda f: f.attrs.__setitem__("step", 2.5),
     "step must be an integer >= 0 and <= 4611686018427387904, got 2.5"),
])
def test_a_checkpoint_with_invalid_values_is_refused_before_any_state_is_copied(
        tmp_path, edit, match):
    net, _, _ = network()
    net.run(0.002)
    path = ss.save_checkpoint(net, tmp_path / "c.h5")
    with h5py.File(path, "r+") as f:
        edit(f)
    fresh, _, _ = network()
    fresh.build()
    before = {name: arr.copy() for name, arr in fresh.state.items()}
    with pytest.raises(ValueError, match=re.escape(f"checkpoint {path}: {match}")):
        ss.load_checkpoint(fresh, path)
    assert fresh.step == 0
    for name, arr in before.items():
        np.testing.assert_array_equal(fresh.state[name], arr)


def test_integer_states_may_hold_minus_one(tmp_path):
    net, _, _ = network()
    net.run(0.002)
    path = ss.save_checkpoint(net, tmp_path / "c.h5")
    with h5py.File(path, "r+") as f:
        f["state/nxt"][...] = -1  # (a unit whose next firing step is not drawn yet)
    fresh, _, _ = network()
    ss.load_checkpoint(fresh, path)
    assert fresh.step == 20 and np.all(fresh.state["nxt"] == -1)


@pytest.mark.parametrize("call", [ss.save_checkpoint, ss.load_checkpoint])
def test_a_checkpoint_needs_a_network(tmp_path, call):
    with pytest.raises(TypeError, match=f"^{call.__name__} needs a Network, got None$"):
        call(None, tmp_path / "c.h5")
    with pytest.raises(TypeError, match="needs a Network, got a str$"):
        call("net", tmp_path / "c.h5")


def test_a_state_with_nan_is_not_written(tmp_path):
    """save_checkpoint refuses what load_checkpoint would refuse, and leaves no file."""
    net, _, _ = network()
    net.run(0.002)
    net.state["i"][0, 1] = np.inf
    with pytest.raises(ValueError, match=r"c\.h5: state 'i' holds 1 non-finite values \(NaN or "
                                         r"infinite\), which load_checkpoint refuses"):
        ss.save_checkpoint(net, tmp_path / "c.h5")
    assert list(tmp_path.iterdir()) == []


def test_checkpoints_of_networks_without_drives_keep_their_checksum():
    """The population table gained a column for Poisson drives (P_JUMP_HI): a network without
    drives keeps the parameters checksum spikesim wrote before it, so its older checkpoints
    load; with a drive, the drive's receptor counts too."""
    def net_of(receptor=None):
        net = ss.Network(dt=1e-3, seed=4)
        a = net.add(ss.LIF(5, tau_mem=10e-3, v_th=0.3, tau_syn_inh=5e-3, units="1"), name="a")
        net.add(ss.NoiseCurrent(a, mean=0.1, std=0.2))
        net.connect(net.add(ss.BernoulliInput(5, p=0.2), name="in"), a, "one_to_one",
                    weight=0.5)
        if receptor:
            net.add(ss.PoissonDrive(a, rate=100.0, receptor=receptor))
        net.build()
        return checkpoint._structure(net)["parameters_crc32"]

    assert net_of() == 1497178222  # as written by the code of commit dfaefe0~1
    assert net_of("i") != net_of("i_inh")


def test_a_checkpoint_whose_ring_spans_every_neuron_still_loads(tmp_path):
    """Checkpoints saved before the ring buffer left out populations without delayed input
    hold a ring over all neurons (zero where none is delayed): they resume the same."""
    def build():
        net = ss.Network(dt=DT, seed=3)
        a = net.add(ss.LIF(30, tau_mem=10e-3, tau_syn=5e-3, v_th=1.0), name="a")
        b = net.add(ss.LIF(20, tau_mem=10e-3, tau_syn=5e-3, v_th=1.0), name="b")
        net.add(ss.ConstantCurrent(a, 120.0))
        net.connect(a, b, "random", p=0.5, weight=0.8, delay=ss.Uniform(1e-4, 2e-3))
        net.connect(b, a, "random", p=0.5, weight=-0.3)  # one step: a gets no delayed input
        return net, net.add(ss.SpikeMonitor(b))

    whole, mon = build()
    whole.run(0.06)
    first, _ = build()
    first.run(0.03)
    ss.save_checkpoint(first, tmp_path / "c.h5")
    ring = first.state["ring"]
    assert ring.shape[2] == 20 and np.any(ring != 0)
    with h5py.File(tmp_path / "c.h5", "r+") as f:  # as the earlier layout wrote it
        del f["state/ring"]
        f["state/ring"] = np.concatenate([np.zeros((*ring.shape[:2], 30)), ring], axis=2)
    second, mon2 = build()
    ss.load_checkpoint(second, tmp_path / "c.h5")
    np.testing.assert_array_equal(second.state["ring"], ring)
    second.run(0.03)
    late = mon.spikes.times >= 0.03
    assert late.sum() > 20
    np.testing.assert_array_equal(mon2.spikes.times, mon.spikes.times[late])
    np.testing.assert_array_equal(mon2.spikes.ids, mon.spikes.ids[late])


def _inputs_network(rate=100.0, times=(0.001, 0.002), amplitudes=(1.0, 2.0), amp=10.0,
                    p=0.05):
    net = ss.Network(dt=DT, seed=3)
    a = net.add(ss.LIF(10, v_th=1.0, units="1"), name="a")
    net.add(ss.ConstantCurrent(a, amp))
    net.add(ss.StepCurrent(a, [0.0, 0.01], list(amplitudes)))
    src = net.add(ss.PoissonInput(10, rate=rate), name="poisson")
    given = net.add(ss.SpikeTimes(2, list(times), [0, 1]), name="given")
    coded = net.add(ss.RateCoded(np.full(10, p)), name="coded")
    for s in (src, given, coded):
        net.connect(s, a, "all_to_all", weight=0.1)
    return net


@pytest.mark.parametrize("change,named", [
    (dict(rate=200.0), "spike source 'poisson' (PoissonInput)"),
    (dict(times=(0.004, 0.005)), "spike source 'given' (SpikeTimes)"),
    (dict(p=0.5), "spike source 'coded' (RateCoded)"),
    (dict(amp=11.0), "current 0 (ConstantCurrent into 'a')"),
    (dict(amplitudes=(1.0, 3.0)), "current 1 (StepCurrent into 'a')"),
])
def test_a_checkpoint_is_refused_by_a_network_with_other_inputs(tmp_path, change, named):
    """Spike sources' rates and spikes and the currents computed per chunk are not in the
    parameter tables; the next firing steps in the state were drawn with those rates."""
    net = _inputs_network()
    net.run(0.003)
    ss.save_checkpoint(net, tmp_path / "c.h5")
    same = _inputs_network(amp=10)  # (an int for the same amplitude: the same network)
    ss.load_checkpoint(same, tmp_path / "c.h5")
    other = _inputs_network(**change)
    with pytest.raises(ValueError, match=re.escape(f"arguments of {named} differ")):
        ss.load_checkpoint(other, tmp_path / "c.h5")
    assert other.step == 0


def test_a_checkpoint_saved_during_a_run_can_continue_its_recording(tmp_path):
    """A checkpoint saved from a progress callback, then the process killed before the
    recorders' next flush: the file must reach the checkpoint, so that the run resumed from
    it appends to the file (else: refused as leaving a gap)."""
    path, killed = tmp_path / "run.h5", tmp_path / "killed.h5"

    def recorded(file, **output_args):
        net, exc, inh = network()
        out = ss.H5Output(file, flush_every=1e9, **output_args)  # no flush during the run
        net.add(ss.SpikeRecorder(out, exc))
        net.add(ss.StateRecorder(out, exc, "v", ids=[1, 2], every=2))
        return net

    ref = tmp_path / "ref.h5"
    recorded(ref).run(0.08)
    net = recorded(path)

    def progress(done, total):
        if done == 2 * net.chunk:
            ss.save_checkpoint(net, tmp_path / "ckpt.h5")
            shutil.copy(path, killed)  # the file as a kill at this moment leaves it

    net.run(0.08, progress=progress)
    ss.io.recover(killed)
    net = recorded(killed, append=True)
    ss.load_checkpoint(net, tmp_path / "ckpt.h5")
    net.run(0.08 - net.t)
    a, b = ss.load(ref), ss.load(killed)
    np.testing.assert_array_equal(a.spikes("exc").times, b.spikes("exc").times)
    np.testing.assert_array_equal(a.spikes("exc").ids, b.spikes("exc").ids)
    np.testing.assert_array_equal(a.trace("exc", "v").values, b.trace("exc", "v").values)
    # the finished file resumed from the same checkpoint: its one run now ends there
    net = recorded(path, append=True)
    ss.load_checkpoint(net, tmp_path / "ckpt.h5")
    net.run(0.08 - net.t)
    runs = ss.load(path).meta["runs"]
    assert [(r["t_start"], r["t_stop"], r["steps"]) for r in runs] == [
        (0.0, pytest.approx(666 * DT), 666), (pytest.approx(666 * DT), pytest.approx(0.08), 134)]
    np.testing.assert_array_equal(a.spikes("exc").times, ss.load(path).spikes("exc").times)


def test_a_checkpoint_is_refused_inside_a_chunk_and_saved_between_chunks(tmp_path):
    """Inside a chunk (a monitor's samples or spikes_in), the state is ahead of net.step: a
    checkpoint there would resume from the wrong step. At chunk_end it is right."""
    class SavingMonitor(ss.StateMonitor):
        def samples(self, steps, values):
            super().samples(steps, values)
            ss.save_checkpoint(self.net, tmp_path / "inside.h5")

    class SavingAtChunkEnd(ss.StateMonitor):
        def chunk_end(self, step):
            super().chunk_end(step)
            if step == 333:
                ss.save_checkpoint(self.net, tmp_path / "between.h5")

    net, exc, inh = network()
    saver = net.add(SavingMonitor(exc, "v", ids=[0]))
    saver.net = net
    with pytest.raises(RuntimeError, match="inside a chunk of steps"):
        net.run(0.05)
    assert not (tmp_path / "inside.h5").exists()

    whole, exc, inh = network()
    whole.run(0.05)
    net, exc, inh = network()
    saver = net.add(SavingAtChunkEnd(exc, "v", ids=[0]))
    saver.net = net
    net.run(0.05)
    resumed, _, _ = network()
    ss.load_checkpoint(resumed, tmp_path / "between.h5")
    assert resumed.step == 333
    resumed.run(0.05 - resumed.t)
    for name, arr in whole.state.items():
        np.testing.assert_array_equal(resumed.state[name], arr)


def test_a_checkpoint_never_replaces_a_recording_or_another_file(tmp_path):
    """overwrite=True (the default) replaces an earlier checkpoint, not the network's own
    recording given by mistake, nor any other file."""
    net, exc, inh = network()
    out = ss.H5Output(tmp_path / "run.h5")
    net.add(ss.SpikeRecorder(out, exc))
    net.run(0.01)
    (tmp_path / "notes.txt").write_text("keep me")
    for name in ("run.h5", "notes.txt"):
        with pytest.raises(FileExistsError, match="is not a spikesim checkpoint"):
            ss.save_checkpoint(net, tmp_path / name)
    assert ss.load(tmp_path / "run.h5").spikes("exc").times.size > 0
    assert (tmp_path / "notes.txt").read_text() == "keep me"
    ss.save_checkpoint(net, tmp_path / "c.h5")
    ss.save_checkpoint(net, tmp_path / "c.h5")  # an earlier checkpoint is replaced


def test_save_checkpoint_refuses_a_non_boolean_overwrite_and_a_non_path(tmp_path):
    """overwrite="no" reads as true: it is refused, not taken as permission to replace the
    checkpoint; a path that is not a str or os.PathLike is named in the error."""
    net, exc, inh = network()
    net.run(0.01)
    ss.save_checkpoint(net, tmp_path / "c.h5")
    before = (tmp_path / "c.h5").read_bytes()
    net.run(0.01)
    with pytest.raises(TypeError, match="overwrite must be True or False, got 'no'"):
        ss.save_checkpoint(net, tmp_path / "c.h5", overwrite="no")
    assert (tmp_path / "c.h5").read_bytes() == before
    with pytest.raises(TypeError, match="path must be a str or os.PathLike, got 5"):
        ss.save_checkpoint(net, 5)
    with pytest.raises(TypeError, match="path must be a str or os.PathLike, got None"):
        ss.load_checkpoint(network()[0], None)


@pytest.mark.parametrize("when", ["before saving", "after loading"])
def test_a_rate_given_anew_next_to_a_checkpoint_applies_as_in_an_uninterrupted_run(tmp_path,
                                                                                   when):
    """A constant rate (or p) given anew between two runs applies from the next run on (its
    firings drawn with the old one are drawn again): also when the checkpoint is saved after
    the rate was given and before that run, or loaded and the rate then given."""
    def build(rate, p):
        net = ss.Network(dt=1e-3, seed=1, batch=2)
        poisson = net.add(ss.PoissonInput(50, rate=rate), name="poisson")
        bern = net.add(ss.BernoulliInput(30, p=p), name="bern")
        return net, poisson, bern, [net.add(ss.SpikeMonitor(s)) for s in (poisson, bern)]

    def firings(mons, t):
        return [(s.times[s.times >= t - 1e-9], s.ids[s.times >= t - 1e-9],
                 s.realizations[s.times >= t - 1e-9]) for s in (m.spikes for m in mons)]

    path = tmp_path / "ckpt.h5"
    net, poisson, bern, mons = build(5.0, 0.01)
    net.run(0.1)
    if when == "after loading":
        ss.save_checkpoint(net, path)
    poisson.rate, bern.p = 200.0, 0.2
    if when == "before saving":
        ss.save_checkpoint(net, path)
    net.run(0.1)
    want = firings(mons, 0.1)
    net2, poisson2, bern2, mons2 = build(*((200.0, 0.2) if when == "before saving"
                                           else (5.0, 0.01)))
    ss.load_checkpoint(net2, path)
    poisson2.rate, bern2.p = 200.0, 0.2
    net2.run(0.1)
    got = firings(mons2, 0.1)
    assert len(want[0][0]) > 1000  # (the new rate: about 2000 firings, the old one's 50)
    for w, g in zip(want, got):
        for a, b in zip(w, g):
            np.testing.assert_array_equal(a, b)


def test_spike_times_given_anew_before_a_checkpoint_load_into_the_network_rebuilt_with_them(
        tmp_path):
    """SpikeTimes given new (unsorted) times between runs and saved before the next run: the
    network rebuilt with those times loads the checkpoint and continues as the first one."""
    def build(times, ids):
        net = ss.Network(dt=1e-3, seed=1)
        src = net.add(ss.SpikeTimes(2, times, ids), name="src")
        pop = net.add(ss.LIF(2, units="1"), name="pop")
        net.connect(src, pop, "one_to_one", weight=2.0)
        return net, src, net.add(ss.StateMonitor(pop, "v"))

    path = tmp_path / "ckpt.h5"
    net, src, _ = build([0.001], [0])
    net.run(0.01)
    src.times, src.ids = [0.030, 0.020], [1, 0]
    ss.save_checkpoint(net, path)
    net2, _, mon2 = build([0.030, 0.020], [1, 0])
    ss.load_checkpoint(net2, path)
    net.run(0.03)
    net2.run(0.03)
    np.testing.assert_array_equal(net2.state["v"], net.state["v"])
    assert mon2.trace("v").values.max() > 0.1  # (both given spikes arrived)


def _poisson_net(n=10, **kw):
    net = ss.Network(dt=1e-3, seed=0, parallel=False, **kw)
    pop = net.add(ss.LIF(n, tau_mem=10e-3, tau_syn=5e-3, v_th=0.3, units="1"), name="exc")
    src = net.add(ss.PoissonInput(n, rate=200.0), name="drive")
    net.connect(src, pop, "one_to_one", weight=1.0)
    return net, pop


def test_a_monitor_begun_by_run_0_starts_at_the_checkpoint_it_loads(tmp_path):
    a, _ = _poisson_net()
    a.run(0.5)
    path = ss.save_checkpoint(a, tmp_path / "c.h5")
    b, pop = _poisson_net()
    mon = b.add(ss.SpikeMonitor(pop))
    b.run(0.0)
    ss.load_checkpoint(b, path)
    b.run(0.1)
    assert mon.spikes.t_start == pytest.approx(0.5)  # (0: rates over 0.6 s of 0.1 s of data)


def test_two_threads_saving_checkpoints_to_one_path_each_write_their_own_file(tmp_path,
                                                                             monkeypatch):
    """Two threads of one process (a notebook's background run, a thread pool) saving
    checkpoints to one path named their temporary files alike (".x.<pid>.tmp"): the second
    replaced the first's file under it, which then failed (FileNotFoundError). Here the second
    saves while the first writes its file."""
    import threading
    path, opened, errors, others = tmp_path / "x.ckpt.h5", [], [], []
    real = h5py.File

    def file_then_other(name, mode="r", *args, **kw):
        f = real(name, mode, *args, **kw)
        if mode == "w" and not opened:
            opened.append(name)
            other = threading.Thread(target=lambda: _save_or_note(network(seed=8)[0]))
            others.append(other)
            other.start()
            other.join(60)  # (still running after: a failure below, not a race)
        return f

    def _save_or_note(net):
        try:
            net.run(20 * DT)
            ss.save_checkpoint(net, path)
        except Exception as e:  # (the failure to show)
            errors.append(e)

    first = network()[0]
    first.run(20 * DT)
    monkeypatch.setattr(checkpoint.h5py, "File", file_then_other)
    ss.save_checkpoint(first, path)
    assert opened and errors == [] and not others[0].is_alive()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.ckpt.h5"]
    again = network()[0]  # (the file left is the last one replaced, whole: the first's)
    ss.load_checkpoint(again, path)
    assert again.step == first.step
    for name, arr in first.state.items():
        np.testing.assert_array_equal(again.state[name], arr)


# -- in memory: Network.store / restore ------------------------------------------------------
def _poisson(net):
    return next(s for s in net.sources if s.name == "poisson")


def test_restore_returns_to_the_stored_point_for_another_trial_as_a_fresh_run_reaches_it():
    """Warm-up, store, a trial at 80 Hz; restore with the same noise and a trial at 200 Hz: the
    monitors then hold the warm-up and the second trial, equal to a network that ran the
    warm-up and went to 200 Hz directly; restoring again and repeating the first trial repeats
    it exactly."""
    net, exc, inh = network()
    mons = monitors(net, exc, inh)
    net.run(0.03)
    net.store()
    net.run(0.02)
    first = [m.spikes if k < 2 else m.trace("v") for k, m in enumerate(mons)]
    net.restore(noise="same")
    assert net.step == 300 and mons[0].spikes.t_stop == pytest.approx(0.03)
    _poisson(net).rate = 200.0
    net.run(0.02)

    fresh, f_exc, f_inh = network()
    whole = monitors(fresh, f_exc, f_inh)
    fresh.run(0.03)
    _poisson(fresh).rate = 200.0
    fresh.run(0.02)
    check_same([mons], whole)
    np.testing.assert_array_equal(mons[2].trace("v").times, first[2].times)  # (not appended)
    assert len(mons[0].spikes) != len(first[0])  # the second trial differs from the first

    net.restore(noise="same")
    _poisson(net).rate = 80.0
    net.run(0.02)
    np.testing.assert_array_equal(mons[0].spikes.times, first[0].times)
    np.testing.assert_array_equal(mons[1].spikes.ids, first[1].ids)
    np.testing.assert_array_equal(mons[2].trace("v").values, first[2].values)


def test_a_monitor_added_after_the_store_holds_nothing_once_restored_and_points_have_names():
    net, exc, _ = network(batch=1)
    net.store("start")  # (builds it)
    net.run(0.01)
    net.store("warm")
    late = net.add(ss.SpikeMonitor(exc))
    net.run(0.01)
    assert len(late.spikes) > 0
    net.restore("warm")
    assert late.t_start is None and len(late.spikes) == 0
    net.restore("start")
    assert net.t == 0.0
    with pytest.raises(KeyError, match=r"no point stored as 'trial' \(stored: 'start', 'warm'\)"):
        net.restore("trial")
    with pytest.raises(TypeError, match="name must be a str"):
        net.store(3)


def test_a_spike_monitor_restored_reports_the_neurons_its_spikes_were_recorded_of():
    """A trial recorded other ids (with a warning); restored, the monitor holds the warm-up's
    spikes of the first ids only, but its spikes named the trial's ids as recorded, and
    rates per neuron counted those."""
    net, exc, _ = network(batch=1)
    mon = net.add(ss.SpikeMonitor(exc, ids=[0, 1, 2]))
    net.run(0.01)
    net.store()
    mon.ids = [3, 4]
    with pytest.warns(RuntimeWarning, match="records \\[3, 4\\] from now on"):
        net.run(0.01)
    net.restore()
    np.testing.assert_array_equal(mon.spikes.recorded, [0, 1, 2])
    assert set(mon.spikes.ids.tolist()) <= {0, 1, 2} and len(mon.spikes) > 0


def test_restore_refuses_to_take_back_what_a_recorder_wrote_and_store_waits_for_the_run(
        tmp_path):
    net, exc, _ = network(batch=1)
    net.store()
    rec = net.add(ss.SpikeRecorder(ss.H5Output(tmp_path / "a.h5"), exc))
    net.run(0.01)
    with pytest.raises(RuntimeError, match=r"cannot take back what SpikeRecorder\(exc.*wrote "
                                           r"after t = 0 s"):
        net.restore()
    assert net.step == 100
    net.monitors.remove(rec)
    net.restore()
    assert net.step == 0 and ss.load(tmp_path / "a.h5").spikes("exc").t_stop == pytest.approx(
        0.01)

    def inside(done, total):
        net.restore()

    with pytest.raises(RuntimeError, match="Network.restore is refused during a run"):
        net.run(0.01, progress=inside)


def test_a_monitor_removed_before_a_restore_keeps_its_trial_and_a_dropped_one_is_freed():
    """A monitor taken out of net.monitors after a trial (to keep that trial's data) was
    rewound by the next restore all the same, its trial lost; and the stored point kept every
    monitor of its time alive, so a large StateMonitor removed and deleted after the warm-up
    kept its memory. (Brian2's restore, too, touches only the network's objects.)"""
    import gc
    import weakref

    net, exc, inh = network(batch=1)
    kept, traces = net.add(ss.SpikeMonitor(exc)), net.add(ss.StateMonitor(inh, ["v"]))
    net.run(0.01)
    net.store()
    net.monitors.remove(traces)
    dropped = weakref.ref(traces)
    del traces
    net.run(0.01)  # (the runner of the run before held it too, up to here)
    gc.collect()
    assert dropped() is None
    trial = kept.spikes
    net.monitors.remove(kept)
    net.restore()
    assert net.t == pytest.approx(0.01)
    np.testing.assert_array_equal(kept.spikes.times, trial.times)
    assert kept.spikes.t_stop == pytest.approx(0.02) and len(trial) > 0
    with pytest.warns(RuntimeWarning, match=r"holds data up to t = 0.02 s but the network is at "
                                            r"t = 0.01 s \(restored to an earlier point\)"):
        net.add(kept)


def _trials(n_trials, noise="new"):
    """A warm-up, then ``n_trials`` restores of it, each followed by a 20 ms trial: the
    Poisson source's and exc's spikes of each trial."""
    net, exc, _ = network(batch=1)
    src = net.add(ss.SpikeMonitor(_poisson(net)))
    out = net.add(ss.SpikeMonitor(exc))
    net.run(0.03)
    net.store()
    trials = []
    for _ in range(n_trials):
        net.restore(noise=noise)
        net.run(0.02)
        trials.append((src.spikes.window(0.03), out.spikes.window(0.03)))
    return net, trials


def test_restore_draws_new_random_inputs_per_trial_reproducibly_as_brian2_does():
    """Five "trials" after restore() were one trial five times: the Poisson firings and the
    noise currents were drawn from the same counters again. By default each restore now
    draws new ones (Brian2's restore does too): the source's firings differ between trials,
    from the first firing after the point on, with Poisson statistics across trials, and a
    script run again gets the same trials."""
    _, trials = _trials(12)
    counts = np.array([len(s) for s, _ in trials])
    expected = 50 * 80.0 * 0.02  # units × Hz × s
    assert len({tuple(s.times) for s, _ in trials}) == 12
    assert len({len(o) for _, o in trials}) > 3  # the network's response varies too
    assert abs(counts.mean() - expected) < 4 * np.sqrt(expected / 12)
    assert 0.3 < counts.var(ddof=1) / expected < 2.5  # Poisson: variance = mean
    firsts = np.array([[s.times[s.ids == u].min(initial=np.inf) for u in range(50)]
                       for s, _ in trials])
    assert np.mean(firsts[0] == firsts[1]) < 0.2  # (drawn anew, not those stored)
    _, again = _trials(12)
    for (s, o), (s2, o2) in zip(trials, again):
        np.testing.assert_array_equal(s.times, s2.times)
        np.testing.assert_array_equal(o.ids, o2.ids)
    _, same = _trials(3, noise="same")
    assert all(np.array_equal(s.times, same[0][0].times) for s, _ in same)


def test_a_checkpoint_saved_in_a_trial_of_its_own_resumes_that_trial(tmp_path):
    net, trials = _trials(2)
    path = ss.save_checkpoint(net, tmp_path / "c.h5")
    mon = net.add(ss.SpikeMonitor(net.populations[0]))
    net.run(0.01)
    fresh, f_exc, _ = network(batch=1)
    f_mon = fresh.add(ss.SpikeMonitor(f_exc))
    ss.load_checkpoint(fresh, path)
    fresh.run(0.01)
    np.testing.assert_array_equal(f_mon.spikes.times, mon.spikes.times)
    assert len(f_mon.spikes) > 10
    with pytest.raises(ValueError, match="noise must be one of 'new', 'same', got 'fresh'"):
        net.restore(noise="fresh")


def test_a_restore_refused_for_a_rate_given_anew_leaves_the_network_and_monitors_as_they_were():
    """restore() (noise "new") draws the constant sources' next firings with the rates given
    since; one refused (here above 1/dt) raised after the state and t had gone back but the
    monitors had not: they held the spikes past the point, and the next run appended spikes
    before them. The rates are checked before anything changes."""
    net = ss.Network(dt=1e-3, seed=3)
    src = net.add(ss.PoissonInput(10, rate=50.0))
    mon = net.add(ss.SpikeMonitor(src))
    net.run(0.05)
    net.store()
    net.run(0.05)
    held = len(mon.spikes)
    src.rate = 5000.0
    with pytest.raises(ValueError, match=r"PoissonInput.rate must be <= 1/dt"):
        net.restore()
    assert net.t == pytest.approx(0.1) and len(mon.spikes) == held and net._trials == 0
    src.rate = 50.0
    net.restore()
    net.run(0.01)
    assert net.t == pytest.approx(0.06) and np.all(np.diff(mon.spikes.times) >= 0)


def test_a_version_2_checkpoint_loads_as_trial_0_and_a_corrupted_trial_is_refused(tmp_path):
    """A version-2 file (no trial) resumes in trial 0; a trial or trials that is no count, or
    one past 2**62 (which a restore and a save again could not write: h5py took 2**64 for an
    object and raised a TypeError at the next save_checkpoint), is refused at load."""
    net, trials = _trials(1)
    path = ss.save_checkpoint(net, tmp_path / "c.h5")
    old = shutil.copy(path, tmp_path / "v2.h5")
    with h5py.File(old, "a") as f:
        f.attrs["format_version"] = 2
        del f.attrs["trial"], f.attrs["trials"]
    fresh, _, _ = network(batch=1)
    ss.load_checkpoint(fresh, old)
    assert (fresh._trial, fresh._trials) == (0, 0)
    for attrs, message in (({"trial": -1}, r"trial must be an integer >= 0"),
                           ({"trial": 1.5}, r"trial must be an integer >= 0"),
                           ({"trial": 2}, r"trials must be an integer >= 2"),
                           ({"trial": np.uint64(2**64 - 1), "trials": np.uint64(2**64 - 1)},
                            r"trial must be <= 4611686018427387904")):
        bad = shutil.copy(path, tmp_path / "bad.h5")
        with h5py.File(bad, "a") as f:
            for k, v in attrs.items():
                f.attrs[k] = v
        fresh, _, _ = network(batch=1)
        with pytest.raises(ValueError, match=r"checkpoint .*bad\.h5: " + message):
            ss.load_checkpoint(fresh, bad)
