"""Recordings written by earlier spikesim versions (made by hand in their layouts:
tests/old_files.py) are read as those versions recorded them, or refused by name."""

import json
import re

import h5py
import numpy as np
import pytest
from old_files import rates, recording, report, spikes

import spikesim as ss
from spikesim import analysis, cli, plot
from spikesim import io as ssio


def per_realization_file(path):
    """A batch of 2 realizations of a population of 4 neurons as spikesim wrote it until
    2026-12-03: one SONATA population per realization (exc.r0, exc.r1, exc.v.r0, ...)."""
    with recording(path, batch=2) as f:
        for b, (t, i) in enumerate((([0.005, 0.012, 0.012], [1, 0, 3]),
                                    ([0.003, 0.012], [2, 1]))):
            spikes(f, f"exc.r{b}", t, i, {"population": "exc", "realization": b,
                                         "n_realizations": 2, "n_neurons": 4,
                                         "kind": "population", "selection": False})
            report(f, f"exc.v.r{b}", (1 - 2 * b) * np.arange(200.0).reshape(100, 2), [1, 3],
                   (1.0, 101.0, 1.0), {"population": "exc", "realization": b,
                                       "n_realizations": 2, "variable": "v", "every": 1,
                                       "first_step": 1, "n_neurons": 4, "threshold": 1.0})
        rates(f, "exc", np.arange(20).reshape(10, 2), (0.0, 100.0, 10.0),
              {"population": "exc", "realization": 0, "n_realizations": 2, "n_neurons": 4,
               "bin_steps": 10, "start_step": 0, "selection": False})
    return path


def test_a_batch_written_one_population_per_realization_is_read(tmp_path, capsys):
    data = ss.load(per_realization_file(tmp_path / "old.h5"))
    assert data.populations == ["exc"]
    s = data.spikes("exc")
    np.testing.assert_allclose(s.times, [0.003, 0.005, 0.012, 0.012, 0.012])
    np.testing.assert_array_equal(s.ids, [2, 1, 0, 3, 1])
    np.testing.assert_array_equal(s.realizations, [1, 0, 0, 0, 1])
    assert (s.n_neurons, s.n_realizations, s.t_start, s.t_stop) == (4, 2, 0.0, 0.1)
    one = data.spikes("exc", realization=1)
    np.testing.assert_allclose(one.times, [0.003, 0.012])
    np.testing.assert_array_equal(one.ids, [2, 1])
    assert one.n_realizations == 1 and not one.realizations.any()
    tr = data.trace("exc", "v")
    assert tr.values.shape == (100, 2, 2)
    np.testing.assert_array_equal(tr.ids, [1, 3])
    np.testing.assert_allclose(tr.times[[0, -1]], [0.001, 0.1])
    col = np.arange(200.0).reshape(100, 2)
    np.testing.assert_array_equal(tr.values[:, 0], col)
    np.testing.assert_array_equal(tr.values[:, 1], -col)
    np.testing.assert_array_equal(data.trace("exc", "v", realization=1).values[:, 0], -col)
    np.testing.assert_array_equal(data.trace("exc", "v", ids=[3]).values[:, :, 0],
                                  np.stack([col[:, 1], -col[:, 1]], axis=1))
    r = data.rate("exc")
    np.testing.assert_allclose(r.values[:, :, 0], np.arange(20).reshape(10, 2) / (4 * 0.01))
    np.testing.assert_allclose(analysis.firing_rates(s), [[10, 10, 0, 10], [0, 10, 10, 0]])
    plot.raster(s)
    plot.traces(tr, spikes=s)
    assert cli.main(["info", str(tmp_path / "old.h5")]) == 0
    assert "exc: 4 neurons x 2 realizations, 5 spikes" in capsys.readouterr().out
    assert cli.main(["plot", str(tmp_path / "old.h5"), "--kind", "traces",
                     "-o", str(tmp_path / "v.png")]) == 0


def test_a_rate_of_some_neurons_without_recorded_ids_counts_those(tmp_path):
    """Until 2026-12-04 a RateRecorder of some neurons kept no recorded_ids: its n_neurons
    (the number recorded) is what its rates divide by."""
    path = tmp_path / "old.h5"
    with recording(path) as f:
        spikes(f, "inh", [0.01, 0.02], [0, 2], {"population": "inh", "realization": 0,
                                                "n_realizations": 1, "n_neurons": 5,
                                                "kind": "population", "selection": True,
                                                "start_step": 0}, recorded_ids=[0, 2])
        rates(f, "inh", [[1], [1], [0], [0], [0]], (0.0, 100.0, 20.0),
              {"population": "inh", "realization": 0, "n_realizations": 1, "n_neurons": 2,
               "bin_steps": 20, "start_step": 0, "selection": True})
    data = ss.load(path)
    np.testing.assert_allclose(data.rate("inh").values[:, 0, 0], [25, 25, 0, 0, 0])
    s = data.spikes("inh")
    np.testing.assert_array_equal(s.recorded, [0, 2])
    np.testing.assert_allclose(analysis.firing_rates(s)[0], [10, np.nan, 10, np.nan, np.nan])


def test_spikes_without_start_step_start_with_the_file(tmp_path):
    path = tmp_path / "old.h5"
    with recording(path, runs=((0.5, 0.6),)) as f:
        spikes(f, "exc", [0.51], [0], {"population": "exc", "realization": 0,
                                        "n_realizations": 1, "n_neurons": 2,
                                        "kind": "population", "selection": False})
    data = ss.load(path)
    assert data.interval("exc") == pytest.approx((0.5, 0.6))
    np.testing.assert_allclose(analysis.firing_rates(data.spikes("exc"))[0], [10, 0])


# --- the recording format's version ---------------------------------------------------------
def small_run(path):
    net = ss.Network(dt=1e-3, seed=1)
    pop = net.add(ss.LIF(3, tau_mem=10e-3, units="1"), name="a")
    net.add(ss.ConstantCurrent(pop, 2.0))
    net.add(ss.SpikeRecorder(ss.H5Output(path, append=True), pop))
    return net


def test_a_recording_carries_its_format_version(tmp_path, capsys):
    small_run(tmp_path / "new.h5").run(0.02)
    data = ss.load(tmp_path / "new.h5")
    assert data.meta["format_version"] == ssio.RECORDING_FORMAT_VERSION == 1
    assert cli.main(["info", str(tmp_path / "new.h5")]) == 0
    assert f", format {ssio.RECORDING_FORMAT_VERSION}," in capsys.readouterr().out
    assert "format_version" not in ss.load(per_realization_file(tmp_path / "old.h5")).meta


def test_a_recording_of_a_later_format_is_refused_by_name(tmp_path, capsys):
    """A file whose layout a later spikesim changed is refused, not misread (an earlier
    reader read a batch of the one-population layout as one realization of B·N neurons)."""
    path = tmp_path / "later.h5"
    later = ssio.RECORDING_FORMAT_VERSION + 1
    with recording(path, format_version=later,
                   info=json.dumps({"versions": {"spikesim": "9.9"}})) as f:
        spikes(f, "exc", [0.01], [7], {"population": "exc", "n_realizations": 2,
                                       "n_neurons": 4, "nodes_per_realization": 4})
    msg = (f"{path} is a recording of format version {later}, written by a later spikesim "
           f"(9.9); this spikesim ({ss.__version__}) knows format versions up to "
           f"{ssio.RECORDING_FORMAT_VERSION}: upgrade spikesim to read it")
    with pytest.raises(ValueError, match=f"^{re.escape(msg)}$"):
        ss.load(path)
    assert cli.main(["info", str(path)]) == 2
    assert msg in capsys.readouterr().err
    with h5py.File(path, "r+") as f:
        f["spikesim"].attrs["format_version"] = "1"
    with pytest.raises(ValueError, match="format_version is '1', not a spikesim recording "
                                         "format"):
        ss.load(path)


def test_an_append_to_a_recording_of_a_later_format_is_refused(tmp_path):
    path = tmp_path / "run.h5"
    small_run(path).run(0.02)
    with h5py.File(path, "r+") as f:
        f["spikesim"].attrs["format_version"] = ssio.RECORDING_FORMAT_VERSION + 1
    before = path.read_bytes()
    with pytest.raises(ValueError, match="written by a later spikesim .* upgrade spikesim to "
                                         "append to it$"):
        small_run(path).run(0.02)
    assert path.read_bytes() == before


def test_an_append_to_rates_of_unnamed_neurons_is_refused(tmp_path):
    """Until 2026-12-04 the rates of some neurons did not name them (no recorded_ids): an
    append of a RateRecorder of some neurons cannot be checked to count the same ones (it
    counted neurons 50-99 into bins of 0-49 without a word)."""
    path = tmp_path / "old.h5"
    with recording(path) as f:
        rates(f, "inh", np.ones((10, 1)), (0.0, 100.0, 10.0),
              {"population": "inh", "realization": 0, "n_realizations": 1, "n_neurons": 2,
               "bin_steps": 10, "start_step": 0, "selection": True})
    before = path.read_bytes()
    for ids in ([0, 1], [2, 3]):
        net = ss.Network(dt=1e-3, seed=1)
        pop = net.add(ss.LIF(5, tau_mem=10e-3, units="1"), name="inh")
        net.add(ss.RateRecorder(ss.H5Output(path, append=True), pop, bin_width=10e-3, ids=ids))
        with pytest.raises(ValueError, match=re.escape(
                f"{path}: /rates/inh counts 2 neurons that the file does not name (an earlier "
                f"spikesim wrote it without recorded_ids): an append cannot tell that it counts "
                f"the same ones; record under another name (name=...) or to a new file")):
            net.run(0.01)
        assert path.read_bytes() == before


def test_a_checkpoint_an_earlier_spikesim_built_otherwise_names_its_saver(tmp_path):
    """A checkpoint of spikesim before 2026-11-22's last changes (its tables and draws built
    otherwise, its structure without the later per-population keys) is refused; the message
    says which spikesim saved it, since the user may well have built the same network."""
    def build():
        net = ss.Network(dt=1e-3, seed=1)
        net.add(ss.LIF(3, tau_mem=10e-3, units="1"), name="a")
        return net
    path = ss.save_checkpoint(build(), tmp_path / "c.h5")
    with h5py.File(path, "r+") as f:
        structure = json.loads(f.attrs["structure"])
        for key in ("population_parameters", "inputs", "projection_synapses"):
            structure.pop(key, None)
        structure["parameters_crc32"] += 1
        f.attrs["structure"] = json.dumps(structure)
        f.attrs["created"] = "2026-11-22T04:00:00.123+00:00"
    with pytest.raises(ValueError, match=re.escape(
            "different network (parameters_crc32: checkpoint ") + r"\d+, network \d+\); "
            + re.escape("build the same network (code, parameters, seed), or, if you did, "
                        f"resume it with the spikesim that saved it (spikesim {ss.__version__}, "
                        "2026-11-22T04:00:00): another version may build the same code "
                        "differently")):
        ss.load_checkpoint(build(), path)


def test_recover_leaves_a_recording_of_a_later_format_alone(tmp_path):
    """recover (which ``spikesim run --resume`` calls before its append is refused) cut and
    rewrote a file of a later layout the way this version reads it."""
    path = tmp_path / "run.h5"
    small_run(path).run(0.02)
    with h5py.File(path, "r+") as f:
        f["spikesim"].attrs["format_version"] = ssio.RECORDING_FORMAT_VERSION + 1
        f["spikesim"].attrs["duration"] = 0.5  # (what this version would "fix")
    before = path.read_bytes()
    with pytest.raises(ValueError, match="written by a later spikesim .* upgrade spikesim to "
                                         "recover it$"):
        ssio.recover(path)
    assert path.read_bytes() == before
