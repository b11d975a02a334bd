"""Files that cannot be read give a clear error naming the file and what is wrong, quickly:
truncated files (never a hang), spike and report datasets of other writers that are missing,
of the wrong type, of different lengths or holding NaN or negative ids, a bad time step."""

import json
import re
import shutil
import subprocess
import sys

import h5py
import numpy as np
import pytest

import spikesim as ss
from spikesim import cli
from spikesim import io as ssio


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    """A small complete spikesim recording: spikes, a state report and a population rate."""
    path = tmp_path_factory.mktemp("good") / "good.h5"
    net = ss.Network(dt=1e-3, seed=1, chunk=10)
    pop = net.add(ss.LIF(4, tau_mem=10e-3, units="1"), name="a")
    net.add(ss.ConstantCurrent(pop, 2.0))
    out = ss.H5Output(path)
    net.add(ss.SpikeRecorder(out, pop))
    net.add(ss.StateRecorder(out, pop, "v", every=2))
    net.add(ss.RateRecorder(out, pop, bin_width=5e-3))
    net.run(0.03)
    assert len(ss.load(path).spikes("a")) > 0
    return path


def copy(good, tmp_path, name="copy.h5"):
    return shutil.copy(good, tmp_path / name)


def flagged(raw: bytes) -> bytes:
    """``raw`` (a spikesim file) with the superblock flags a killed writer leaves."""
    block = bytearray(raw[:48])
    block[11] = 0x05  # write access, SWMR write access
    block[44:48] = ssio.lookup3(bytes(block[:44])).to_bytes(4, "little")
    return bytes(block) + raw[48:]


def one_line(err: str) -> str:
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith("spikesim info: error: "), err
    return err


# --- truncated files ------------------------------------------------------------------------
CHILD = """
import contextlib, io, json, sys
import spikesim as ss
from spikesim import cli
out = {}
for path in sys.argv[1:]:
    try:
        ss.load(path).spikes()
        out[path] = "read"
    except OSError as e:
        out[path] = str(e)
err = io.StringIO()
with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
    status = cli.main(["info", sys.argv[1]])
out["info"] = [status, err.getvalue()]
print(json.dumps(out))
"""


def test_truncated_files_are_refused_at_once_with_their_sizes(good, tmp_path):
    """Cut copies (as by ``head -c N``) of a file, and of one flagged as a killed writer's,
    raise an OSError saying the file is truncated, with its size and the size it should have
    — in a child process, so that a hang (HDF5's SWMR read mode retries reads of missing
    metadata without end) fails the test instead of stalling it."""
    raw = good.read_bytes()
    cuts = {}
    for n in (512, 8, 100, 4096, len(raw) - 1):
        cuts[tmp_path / f"cut{n}.h5"] = raw[:n]
    for n in (512, len(raw) - 1):
        cuts[tmp_path / f"killed_cut{n}.h5"] = flagged(raw)[:n]
    for path, blob in cuts.items():
        path.write_bytes(blob)
    child = subprocess.run([sys.executable, "-c", CHILD, *map(str, cuts)], capture_output=True,
                           text=True, timeout=120)
    assert child.returncode == 0, child.stderr[-3000:]
    got = json.loads(child.stdout)
    for path, blob in cuts.items():
        size = len(blob)
        tail = (f"of the {len(raw)} bytes its HDF5 superblock records" if size >= 48 else
                "bytes, fewer than its HDF5 superblock")
        assert re.match(rf"{re.escape(str(path))} is truncated: it holds {size} {tail}",
                        got[str(path)]), got[str(path)]
    status, err = got["info"]
    assert status == 2 and "cut512.h5 is truncated: it holds 512 of the" in one_line(err)


def test_a_file_flagged_by_a_killed_writer_is_still_read(good, tmp_path):
    path = tmp_path / "killed.h5"
    path.write_bytes(flagged(good.read_bytes()))
    with pytest.raises(OSError, match="already open for write"):
        h5py.File(path, "r")
    want = ss.load(good).spikes("a")
    got = ss.load(path).spikes("a")
    np.testing.assert_array_equal(got.times, want.times)
    np.testing.assert_array_equal(got.ids, want.ids)


@pytest.mark.parametrize("blob,match", [(b"", r"is not an HDF5 file \(it is empty\)"),
                                        (b"not HDF5", r"is not an HDF5 file \(no HDF5 signature in "
                                                     r"its 8 bytes\)")])
def test_files_that_are_not_hdf5_are_named(tmp_path, blob, match):
    path = tmp_path / "x.h5"
    path.write_bytes(blob)
    with pytest.raises(OSError, match=rf"{re.escape(str(path))} {match}"):
        ss.load(path)


# --- spikes of other writers ----------------------------------------------------------------
def foreign(path, timestamps=(1.5, 2.25, 10.0), node_ids=(3, 0, 7), ids_dtype=np.uint64):
    """A SONATA spike file of another writer (no spikesim metadata); None leaves a dataset
    out."""
    with h5py.File(path, "w") as f:
        g = f.create_group("spikes/V1")
        if timestamps is not None:
            g.create_dataset("timestamps", data=timestamps)
        if node_ids is not None:
            g.create_dataset("node_ids", data=np.array(node_ids, ids_dtype))
    return path


def test_a_valid_foreign_file_is_read(tmp_path):
    spikes = ss.load(foreign(tmp_path / "f.h5")).spikes("V1")
    np.testing.assert_allclose(spikes.times, [1.5e-3, 2.25e-3, 10e-3])
    np.testing.assert_array_equal(spikes.ids, [3, 0, 7])


@pytest.mark.parametrize("n_times,n_ids", [(3, 2), (2, 3)])
def test_foreign_timestamps_and_node_ids_of_different_lengths_are_refused(tmp_path, n_times,
                                                                          n_ids):
    path = foreign(tmp_path / "f.h5", [1.0, 2.0, 3.0][:n_times], [0, 1, 2][:n_ids])
    with pytest.raises(ValueError, match=rf"{re.escape(str(path))}: /spikes/V1/timestamps holds "
                                         rf"{n_times} spike times but /spikes/V1/node_ids "
                                         rf"{n_ids} node ids"):
        ss.load(path).spikes("V1")


def test_a_spikesim_file_cut_between_its_two_writes_reads_the_common_length(good, tmp_path):
    """A writer killed between the writes of timestamps and node_ids leaves them of different
    lengths: spikesim's own files are read up to the shorter."""
    path = copy(good, tmp_path)
    want = ss.load(good).spikes("a")
    with h5py.File(path, "r+") as f:
        ids = f["spikes/a/node_ids"]
        ids.resize((ids.shape[0] - 1,))
    got = ss.load(path).spikes("a")
    assert len(got) == len(want) - 1
    np.testing.assert_array_equal(got.times, want.times[:-1])


def test_string_timestamps_are_refused_by_name_and_type(tmp_path):
    path = foreign(tmp_path / "f.h5", timestamps=np.array([b"1.5", b"2", b"3"]))
    with pytest.raises(ValueError, match=r"/spikes/V1/timestamps holds strings of type \|S3: "
                                         r"spikesim reads numbers"):
        ss.load(path).spikes("V1")


def test_float_node_ids_are_refused(tmp_path):
    path = foreign(tmp_path / "f.h5", ids_dtype=np.float64)
    with pytest.raises(ValueError, match=r"/spikes/V1/node_ids holds values of type float64: "
                                         r"spikesim reads integers"):
        ss.load(path).spikes("V1")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_timestamps_are_refused_with_their_count(tmp_path, bad):
    path = foreign(tmp_path / "f.h5", timestamps=[1.0, bad, bad])
    with pytest.raises(ValueError, match=rf"{re.escape(str(path))}: 2 of the 3 values of "
                                         rf"/spikes/V1/timestamps are not finite \(NaN or inf\)"):
        ss.load(path).spikes("V1")


def test_negative_node_ids_are_refused(tmp_path):
    path = foreign(tmp_path / "f.h5", node_ids=[3, -1, -4], ids_dtype=np.int64)
    with pytest.raises(ValueError, match=rf"{re.escape(str(path))}: 2 of the 3 node ids of "
                                         rf"/spikes/V1/node_ids are negative \(the least: -4\): "
                                         rf"node ids are integers >= 0"):
        ss.load(path).spikes("V1")


@pytest.mark.parametrize("missing", ["timestamps", "node_ids"])
def test_a_missing_spike_dataset_is_named(tmp_path, missing):
    path = foreign(tmp_path / "f.h5", **{missing: None})
    with pytest.raises(ValueError, match=rf"{re.escape(str(path))}: /spikes/V1/{missing} is "
                                         rf"missing: /spikes/V1 needs it"):
        ss.load(path).spikes("V1")


def test_info_names_what_is_wrong_in_one_line(tmp_path, capsys):
    path = foreign(tmp_path / "f.h5", [1.0, 2.0, 3.0], [0, 1])
    status = cli.main(["info", str(path)])
    err = one_line(capsys.readouterr().err)
    assert status == 2 and f"{path}: /spikes/V1/timestamps holds 3 spike times but" in err
    path = foreign(tmp_path / "g.h5", node_ids=[3, -1, 2], ids_dtype=np.int64)
    status = cli.main(["info", str(path)])
    err = one_line(capsys.readouterr().err)
    assert status == 2 and "node ids of /spikes/V1/node_ids are negative" in err


# --- the time step of a spikesim file ---------------------------------------------------------
@pytest.mark.parametrize("dt", ["abc", 0.0, -1e-3, np.nan, np.array([1e-3, 1e-3])])
def test_a_bad_time_step_is_named(good, tmp_path, capsys, dt):
    path = copy(good, tmp_path)
    with h5py.File(path, "r+") as f:
        f["spikesim"].attrs["dt"] = dt
    with pytest.raises(ValueError, match=rf"{re.escape(str(path))}: the /spikesim attribute dt "
                                         rf"is .*: it must be a finite number > 0 \(s\)"):
        ss.load(path)
    status = cli.main(["info", str(path)])
    assert status == 2 and "attribute dt is" in one_line(capsys.readouterr().err)


# --- reports of other writers ---------------------------------------------------------------
def report(path, data=None, node_ids=(3, 5), time=(1.0, 3.0, 0.5)):
    """A SONATA report of another writer: 4 samples of 2 nodes by default."""
    with h5py.File(path, "w") as f:
        r = f.create_group("report/V1")
        r.create_dataset("data", data=np.zeros((4, 2), np.float32) if data is None else data)
        r.create_dataset("mapping/node_ids", data=np.array(node_ids))
        r.create_dataset("mapping/time", data=np.array(time))
    return path


def test_a_valid_foreign_report_is_read(tmp_path):
    trace = ss.load(report(tmp_path / "r.h5")).trace("V1")
    np.testing.assert_allclose(trace.times, [1e-3, 1.5e-3, 2e-3, 2.5e-3])
    assert trace.values.shape == (4, 1, 2)


@pytest.mark.parametrize("time", [(1.0, 3.0, 0.0), (1.0, 3.0, -0.5), (1.0, np.nan, 0.5),
                                  (3.0, 1.0, 0.5), (1.0, np.inf, 0.5)])
def test_a_bad_report_time_range_is_refused(tmp_path, time):
    path = report(tmp_path / "r.h5", time=time)
    with pytest.raises(ValueError, match=r"/report/V1/mapping/time is \(start, stop, step\) = "
                                         r".*: they must be finite, with step > 0 and stop >= "
                                         r"start"):
        ss.load(path).trace("V1")


def test_a_report_time_of_other_than_three_numbers_is_refused(tmp_path):
    path = report(tmp_path / "r.h5", time=(1.0, 3.0))
    with pytest.raises(ValueError, match=r"/report/V1/mapping/time has shape \(2,\): it must "
                                         r"hold 3 numbers"):
        ss.load(path).trace("V1")


@pytest.mark.parametrize("kw,match", [
    ({"node_ids": (3, -5)}, r"1 of the 2 node ids of /report/V1/mapping/node_ids are negative"),
    ({"node_ids": (3, 5, 7)}, r"/report/V1/data has 2 columns but /report/V1/mapping/node_ids "
                              r"3 node ids: spikesim reads reports of one column per node"),
    ({"data": np.array([[b"a", b"b"]])}, r"/report/V1/data holds strings of type \|S1"),
    ({"data": np.zeros(4)}, r"/report/V1/data has shape \(4,\): spikesim reads a 2-d array"),
])
def test_bad_report_datasets_are_named(tmp_path, capsys, kw, match):
    path = report(tmp_path / "r.h5", **kw)
    with pytest.raises(ValueError, match=rf"{re.escape(str(path))}: {match}"):
        ss.load(path).trace("V1")
    status = cli.main(["info", str(path)])
    assert status == 2 and re.search(match, one_line(capsys.readouterr().err))


# --- arguments of trace -----------------------------------------------------------------------
@pytest.mark.parametrize("ids,error,match", [
    ([1.7], TypeError, r"ids must be an integer or a 1-d sequence of integers, got \[1\.7\]"),
    (True, TypeError, r"ids must be an integer or .*, got True"),
    ([True, False], TypeError, r"ids must be an integer or .*, got \[True, False\]"),
    ("a", TypeError, r"ids must be an integer or .*, got 'a'"),
    ([1, [2, 3]], TypeError, r"ids must be an integer or .*, got \[1, \[2, 3\]\]"),
    ([], ValueError, r"ids selects no neuron: give at least one index, or None for all"),
    ([[1, 3]], TypeError, r"ids must be an integer or .*, got \[\[1, 3\]\]"),
    ([2**70], TypeError, r"ids must be an integer or .*, got \[1180591620717411303424\]"),
    ([1, -2], ValueError, r"ids must be >= 0, got -2"),
    ([2, 9], ValueError, r"ids \[9\] were not recorded in 'v' of 'a' \(recorded: "
                         r"\[0, 1, 2, 3\]\)"),
])
def test_trace_ids_must_be_recorded_neuron_indices(good, ids, error, match):
    """Floats and booleans are not read as indices, an empty selection is not an empty trace,
    and nested or huge ids are named, not left to NumPy."""
    with pytest.raises(error, match=match):
        ss.load(good).trace("a", "v", ids=ids)


def test_trace_ids_read_the_columns_asked_for(good):
    data = ss.load(good)
    whole = data.trace("a", "v").values
    for ids, cols in ((2, [2]), (np.int64(2), [2]), ([3, 1], [3, 1]), (range(1, 3), [1, 2]),
                      (np.array([0, 3], np.uint64), [0, 3])):
        tr = data.trace("a", "v", ids=ids)
        np.testing.assert_array_equal(tr.values, whole[:, :, cols])
        assert tr.ids.tolist() == cols


@pytest.mark.parametrize("window,error,match", [
    ({"t_start": 0.02, "t_stop": 0.01}, ValueError,
     r"t_start must be <= t_stop, got t_start = 0\.02 s > t_stop = 0\.01 s"),
    ({"t_start": float("nan")}, ValueError, r"t_start must be finite \(in s\), got nan"),
    ({"t_stop": float("inf")}, ValueError, r"t_stop must be finite \(in s\), got inf"),
    ({"t_start": "0.01"}, TypeError, r"t_start must be a real number \(in s\), got '0\.01'"),
    ({"t_stop": True}, TypeError, r"t_stop must be a real number \(in s\), got True"),
])
def test_trace_time_window_is_checked(good, window, error, match):
    with pytest.raises(error, match=match):
        ss.load(good).trace("a", "v", **window)


def test_a_trace_time_window_selects_its_samples(good):
    tr = ss.load(good).trace("a", "v", t_start=0.01, t_stop=0.02)
    np.testing.assert_allclose(tr.times, [0.01, 0.012, 0.014, 0.016, 0.018, 0.02])
    assert ss.load(good).trace("a", "v", t_start=0.011, t_stop=0.011).values.shape == (0, 1, 4)


@pytest.mark.parametrize("read", [ss.load, ssio.recover])
def test_a_path_that_is_not_one_or_a_folder_is_named(tmp_path, read):
    with pytest.raises(TypeError, match=r"^path must be a str or os\.PathLike, got 5$"):
        read(5)
    with pytest.raises(IsADirectoryError, match=r"is a folder, not an HDF5 recording$"):
        read(tmp_path)


def foreign_report(path, time, rows, ncol=2):
    with h5py.File(path, "w") as f:
        f.attrs["magic"] = np.uint32(0x0A7A)
        f.attrs["version"] = np.array([0, 1], np.uint32)
        g = f.create_group("report/pop")
        d = g.create_dataset("data", data=np.arange(rows * ncol, dtype=np.float32)
                             .reshape(rows, ncol))
        d.attrs["units"] = "mV"
        m = g.create_group("mapping")
        m.create_dataset("node_ids", data=np.arange(ncol, dtype=np.uint64))
        m.create_dataset("index_pointers", data=np.arange(ncol + 1, dtype=np.uint64))
        m.create_dataset("element_ids", data=np.zeros(ncol, np.uint32))
        t = m.create_dataset("time", data=np.array(time, np.float64))
        t.attrs["units"] = "ms"


@pytest.mark.parametrize("time,frames", [
    ((0.0, 2.5, 1.0), 3),     # frames 0, 1, 2 (< 2.5)
    ((0.0, 4.5, 1.0), 5),
    ((0.0, 1.05, 0.1), 11),   # 0.0 ... 1.0
    ((5.0, 8.5, 1.0), 4),
    ((0.0, 1.0, 0.1), 10),    # on the grid: stop excluded
    ((0.0, 1.0000001, 0.1), 10),  # stop a rounding above the grid: as libsonata, excluded
])
def test_frames_of_a_foreign_report(tmp_path, time, frames):
    """SONATA's report frames are start + r·step before stop (open on the right; stop need
    not be on the grid), as libsonata reads them."""
    path = tmp_path / "r.h5"
    foreign_report(path, time, frames)
    tr = ss.load(path).trace("pop", "v")
    assert tr.values.shape == (frames, 1, 2)
    np.testing.assert_allclose(tr.times * 1e3, time[0] + time[2] * np.arange(frames))
    np.testing.assert_array_equal(tr.values[:, 0, :],
                                  np.arange(frames * 2, dtype=np.float32).reshape(frames, 2))
    libsonata = pytest.importorskip("libsonata")
    assert len(libsonata.ElementReportReader(str(path))["pop"].get().times) == frames



def test_interval_of_a_foreign_spike_file_agrees_with_its_spikes(tmp_path):
    path = tmp_path / "s.h5"
    with h5py.File(path, "w") as f:
        g = f.create_group("spikes/pop")
        g.create_dataset("timestamps", data=np.array([100.0, 250.0, 500.0])).attrs["units"] = "ms"
        g.create_dataset("node_ids", data=np.array([3, 1, 1], np.uint64))
    data = ss.load(path)
    s = data.spikes("pop")
    assert s.t_stop == 0.5
    assert data.interval("pop") == (s.t_start, s.t_stop) == (0.0, 0.5)



def test_a_top_level_dataset_named_rates_or_report_is_not_a_crash(tmp_path):
    path = tmp_path / "f.h5"
    with h5py.File(path, "w") as f:
        g = f.create_group("spikes/pop")
        g.create_dataset("timestamps", data=np.array([1.0, 2.0])).attrs["units"] = "ms"
        g.create_dataset("node_ids", data=np.array([0, 1], np.uint64))
        f.create_dataset("rates", data=np.arange(3.0))   # the user's own array
        f.create_dataset("report", data=np.arange(3.0))
    data = ss.load(path)
    assert data.populations == ["pop"]
    np.testing.assert_array_equal(data.spikes("pop").ids, [0, 1])
    with pytest.raises(ValueError, match="holds no state reports"):
        data.trace()
    with pytest.raises(ValueError, match="holds no population rates"):
        data.rate()


# (matplotlib < 3.10.7 calls pyparsing's camelCase names, deprecated since pyparsing 3.3: where
# `plot` is the first to import matplotlib, pytest's "always" for DeprecationWarning makes the
# CLI print them as "spikesim: warning:" lines, which users, with Python's filters, never see)
@pytest.mark.filterwarnings("ignore::DeprecationWarning:matplotlib[.].*")
@pytest.mark.parametrize("tag", ["[1, 2]", '{"realization": null}', '"a string"'])
def test_a_foreign_spikesim_attribute_is_a_one_line_error(tag, tmp_path, capsys):
    """a recording whose groups carry a `spikesim` attribute that is not spikesim's tag (a JSON
    array, or realization null) gives `spikesim info`'s one-line error naming the file and
    group (status 2), not "AttributeError"/"TypeError" with status 1."""
    path = tmp_path / "f.h5"
    with h5py.File(path, "w") as f:
        g = f.create_group("spikes/pop")
        g["timestamps"] = np.array([1.0, 2.0])
        g["node_ids"] = np.array([0, 1])
        g.attrs["spikesim"] = tag
    for command in ("info", "plot"):
        status = cli.main([command, str(path)])
        _, err = capsys.readouterr()
        assert status == 2 and err.count("\n") == 1, err
        assert str(path) in err and "/spikes/pop" in err, err
