"""HDF5 recorders: SONATA layout read by libsonata, metadata, crash safety (SIGKILL, Ctrl-C,
exceptions), refusal to overwrite, clear path errors, appending runs, compression, lazy reads."""

import contextlib
import gc
import inspect
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
import tracemalloc
import warnings

import h5py
import numpy as np
import pytest

import spikesim as ss
from spikesim import io as ssio

libsonata = pytest.importorskip("libsonata")

DT = 1e-3


def network(n=60, seed=5, batch=1, dtype=np.float64, chunk=100, p_rec=0.1, **kw):
    """LIF neurons driven by Bernoulli input, with a recurrent delayed projection."""
    net = ss.Network(dt=DT, seed=seed, batch=batch, dtype=dtype, chunk=chunk, **kw)
    exc = net.add(ss.LIF(n, tau_mem=10e-3, tau_syn=5e-3, v_th=0.3, refractory=2e-3), name="exc")
    inp = net.add(ss.BernoulliInput(n, p=0.05), name="inp")
    net.connect(inp, exc, "one_to_one", weight=1.0)
    net.connect(exc, exc, "random", p=p_rec, weight=0.05, delay=3e-3)
    return net, exc, inp


def steps_of(spikes: ss.Spikes) -> np.ndarray:
    return np.rint(spikes.times / DT).astype(np.int64)


def same_spikes(a: ss.Spikes, b: ss.Spikes) -> bool:
    return (np.array_equal(a.times, b.times) and np.array_equal(a.ids, b.ids)
            and np.array_equal(a.realizations, b.realizations))


# --- SONATA layout, libsonata, metadata --------------------------------------------------------
@pytest.mark.parametrize("batch,dtype", [(1, np.float32), (2, np.float64)])
def test_libsonata_reads_exactly_what_was_recorded(tmp_path, batch, dtype):
    path = tmp_path / "run.h5"
    net, exc, inp = network(batch=batch, dtype=dtype)
    out = ss.H5Output(path)
    net.add(ss.SpikeRecorder(out, exc))
    net.add(ss.SpikeRecorder(out, inp))
    ids = np.array([7, 2, 40])
    net.add(ss.StateRecorder(out, exc, ["v", "i"], ids=ids, every=3))
    spk, inp_spk = net.add(ss.SpikeMonitor(exc)), net.add(ss.SpikeMonitor(inp))
    st = net.add(ss.StateMonitor(exc, ["v", "i"], ids=ids, every=3))
    net.run(0.35)

    # a batch is one population per recorder: realization b's neuron j is node b·n + j
    reader = libsonata.SpikeReader(str(path))
    assert sorted(reader.get_population_names()) == ["exc", "inp"]
    for mon, name, n in ((spk, "exc", exc.n), (inp_spk, "inp", inp.n)):
        pop = reader[name]
        assert pop.sorting == "by_time"
        got = np.array(pop.get(), dtype=[("id", np.uint64), ("t", np.float64)])
        want = mon.spikes
        assert len(got) == len(want) > 0
        order = np.lexsort((want.ids, want.realizations, want.times))  # by time, then node
        np.testing.assert_array_equal(got["id"], (want.realizations * n + want.ids)[order])
        np.testing.assert_allclose(got["t"], want.times[order] * 1e3, rtol=1e-12)

    reports = libsonata.ElementReportReader(str(path))
    assert sorted(reports.get_population_names()) == ["exc.i", "exc.v"]
    nodes = [b * exc.n + j for b in range(batch) for j in ids]
    for var in ("v", "i"):
        want = st.trace(var)
        rep = reports[f"exc.{var}"]
        assert rep.data_units == ("V" if var == "v" else "A")
        assert rep.time_units == "ms"
        start, stop, step = rep.times
        assert (start, step) == pytest.approx((3.0, 3.0))
        frame = rep.get()
        data = np.asarray(frame.data)
        cols = [int(i) for i, _ in np.asarray(frame.ids)]
        assert sorted(cols) == sorted(nodes)
        assert data.shape == (len(want.times), batch * len(ids))
        np.testing.assert_allclose(frame.times, want.times * 1e3, rtol=1e-9)
        expected = want.values.reshape(len(want.times), -1)[:, [nodes.index(c) for c in cols]]
        np.testing.assert_array_equal(data, expected.astype(np.float32))


def test_spikesim_load_matches_the_in_memory_monitors(tmp_path):
    path = tmp_path / "run.h5"
    net, exc, inp = network(batch=2)
    out = ss.H5Output(path)
    rec = net.add(ss.SpikeRecorder(out, exc))
    srec = net.add(ss.StateRecorder(out, exc, "v", every=2, dtype=np.float64))
    rate = net.add(ss.RateRecorder(out, exc, bin_width=7e-3))
    spk = net.add(ss.SpikeMonitor(exc))
    st = net.add(ss.StateMonitor(exc, "v", every=2))
    net.run(0.25)
    data = ss.load(path)
    assert data.populations == ["exc"] and data.completed
    assert same_spikes(data.spikes("exc"), spk.spikes)
    assert same_spikes(rec.spikes, spk.spikes)
    assert same_spikes(data.spikes("exc", realization=1), spk.spikes.select(1))
    tr, want = data.trace("exc", "v"), st.trace("v")
    np.testing.assert_array_equal(tr.times, want.times)
    np.testing.assert_array_equal(tr.values, want.values)  # float64 storage: exact
    assert tr.unit == "V" and tr.threshold == 0.3
    np.testing.assert_array_equal(srec.trace("v").values, want.values)
    for b, ids in ((1, None), (0, [5, 2])):  # one realization: only its columns are read
        one = data.trace("exc", "v", ids=ids, realization=b)
        cols = slice(None) if ids is None else ids
        np.testing.assert_array_equal(one.values, want.values[:, b:b + 1, cols])
    with pytest.raises(ValueError, match=r"realization must be in \[0, 1\], got 2"):
        data.trace("exc", "v", realization=2)
    # rates: counts per 7-step bin (chunks of 100 steps do not align with bins), last bin cut
    r = data.rate("exc")
    k = steps_of(spk.spikes)
    counts = np.stack([np.bincount(k[spk.spikes.realizations == b] // 7, minlength=36)
                       for b in range(2)], axis=1)
    np.testing.assert_array_equal(r.meta["counts"], counts)
    np.testing.assert_array_equal(rate.rate().meta["counts"], counts)
    np.testing.assert_allclose(r.values[:-1, :, 0], counts[:-1] / (60 * 7e-3))
    np.testing.assert_allclose(r.values[-1, :, 0], counts[-1] / (60 * 5e-3))  # 250 = 35·7 + 5
    np.testing.assert_allclose(r.times, np.arange(36) * 7e-3)
    # the plotting module's calls
    assert len(ss.io.load(path).spikes(population="exc")) == len(spk.spikes)
    assert ss.io.load(path).trace(population="exc", variable="v").values.shape == (125, 2, 60)


def test_a_big_batch_of_one_neuron_makes_a_small_file_that_reads_back_exactly(tmp_path):
    """300 realizations of one neuron: one spike population and one report for them all
    (node id = realization), so the file holds a handful of objects and stays small, and
    every realization reads back exactly, with spikesim and with libsonata."""
    path = tmp_path / "run.h5"
    net, exc, _ = network(n=1, batch=300, chunk=1000)
    out = ss.H5Output(path)
    net.add(ss.SpikeRecorder(out, exc))
    net.add(ss.StateRecorder(out, exc, "v"))
    spk, st = net.add(ss.SpikeMonitor(exc)), net.add(ss.StateMonitor(exc, "v"))
    net.run(0.15)
    raw = st.trace("v").values.size * 4 + len(spk.spikes) * 16  # float32 v, spikes t + id
    assert os.path.getsize(path) < 2 * raw
    data = ss.load(path)
    assert same_spikes(data.spikes("exc"), spk.spikes)
    assert len(spk.spikes) > 300  # most realizations hold spikes, some may not
    assert same_spikes(data.spikes("exc", realization=7), spk.spikes.select(7))
    np.testing.assert_array_equal(data.trace("exc", "v").values,
                                  st.trace("v").values.astype(np.float32))
    np.testing.assert_array_equal(data.trace("exc", "v", ids=[0]).values,
                                  st.trace("v").values.astype(np.float32))
    with h5py.File(path, "r") as f:
        assert list(f["spikes"]) == ["exc"] and list(f["report"]) == ["exc.v"]
        g = f["spikes/exc"]
        assert g["timestamps"].dtype == np.float64 and g["node_ids"].dtype == np.uint64
        assert f["report/exc.v/data"].dtype == np.float32
    got = np.array(libsonata.SpikeReader(str(path))["exc"].get(node_ids=[299]),
                   dtype=[("id", np.uint64), ("t", np.float64)])
    np.testing.assert_allclose(got["t"], spk.spikes.select(299).times * 1e3, rtol=1e-12)
    rep = libsonata.ElementReportReader(str(path))["exc.v"]
    np.testing.assert_array_equal(np.asarray(rep.get(node_ids=[299]).data)[:, 0],
                                  st.trace("v").values[:, 299, 0].astype(np.float32))


def test_spike_chunks_of_a_large_population_hold_a_chunk_of_steps(tmp_path):
    """1000 neurons, one realization: each HDF5 chunk holds the spikes of a chunk of steps
    (few, large writes), up to 64 KiB."""
    path = tmp_path / "run.h5"
    net, exc, _ = network(n=1000, chunk=500)
    net.add(ss.SpikeRecorder(ss.H5Output(path), exc))
    spk = net.add(ss.SpikeMonitor(exc))
    net.run(1.0)
    per_chunk = np.bincount(steps_of(spk.spikes) // 500)
    with h5py.File(path, "r") as f:
        size = f["spikes/exc/timestamps"].chunks[0]
    assert min(per_chunk.max(), 8192) <= size <= 8192


def test_read_errors_name_the_parameter_and_what_the_file_holds(tmp_path):
    path = tmp_path / "run.h5"
    net, exc, inp = network()
    out = ss.H5Output(path)
    net.add(ss.SpikeRecorder(out, exc))
    net.add(ss.SpikeRecorder(out, inp))
    net.add(ss.StateRecorder(out, exc, ["v", "i"], ids=[0]))
    net.run(0.01)
    data = ss.load(path)
    with pytest.raises(KeyError, match=r"variable='w' for population 'exc'; variables recorded "
                                       r"for it: 'i', 'v'"):
        data.trace("exc", "w")
    with pytest.raises(KeyError, match="variable='w'; variables recorded: 'i', 'v'"):
        data.trace(variable="w")
    with pytest.raises(KeyError, match="population='inp'; it holds state reports of: 'exc'"):
        data.trace("inp", "v")
    with pytest.raises(ValueError, match="spikes of 2 populations: pass population= one of "
                                         "'exc', 'inp'"):
        data.spikes()
    with pytest.raises(ValueError, match="holds no population rates$"):
        data.rate()
    with pytest.raises(KeyError, match="no population rates of population='exc'; it holds none"):
        data.rate("exc")


def test_metadata_describes_the_run(tmp_path):
    path = tmp_path / "run.h5"
    net, exc, inp = network(seed=42)
    net.add(ss.OUCurrent(exc, mean=0.01, std=0.01, tau=5e-3))
    out = ss.H5Output(path, connectivity=True)
    net.add(ss.SpikeRecorder(out, exc))
    net.run(0.1)
    with h5py.File(path, "r") as f:
        assert f.attrs["magic"] == 0x0A7A and f.attrs["magic"].dtype == np.uint32
        np.testing.assert_array_equal(f.attrs["version"], [0, 1])
        assert f["spikes/exc/timestamps"].dtype == np.float64
        assert f["spikes/exc/node_ids"].dtype == np.uint64
        assert f["spikes/exc/timestamps"].attrs["units"] == "ms"
        assert h5py.check_enum_dtype(f["spikes/exc"].attrs.get_id("sorting").dtype) == {
            "none": 0, "by_id": 1, "by_time": 2}
        np.testing.assert_array_equal(f["spikesim/connectivity/col"][:], net.tables.col)
    meta = ss.load(path).meta
    assert meta["dt"] == DT and meta["seed"] == 42 and meta["dtype"] == "float64"
    assert meta["batch"] == 1 and meta["duration"] == pytest.approx(0.1)
    assert meta["completed"] is True and meta["wall_time"] > 0
    assert set(meta["info"]["versions"]) >= {"spikesim", "numba", "numpy", "h5py"}
    pops = meta["network"]["populations"]
    assert pops[0]["name"] == "exc" and pops[0]["class"] == "LIF" and pops[0]["n"] == 60
    assert pops[0]["parameters"]["tau_mem"] == 10e-3 and pops[0]["parameter_seed"] == [42, 1, 0]
    assert meta["network"]["sources"][0]["parameters"]["p"] == 0.05
    assert meta["network"]["currents"][0]["class"] == "OUCurrent"
    assert meta["network"]["currents"][0]["target"] == "exc"
    prj = meta["network"]["projections"]
    assert [p["parameters"]["rule"] for p in prj] == ["one_to_one", "random"]
    assert prj[1]["connectivity_seed"] == [42, 2, 1] and prj[1]["parameters"]["p"] == 0.1
    # the seed key rebuilds the connectivity
    rowptr, post, _, _ = net.projections[1].csr(DT, np.random.default_rng(prj[1][
        "connectivity_seed"]))
    assert prj[1]["n_synapses"] == post.shape[0]
    assert meta["runs"] == [pytest.approx({"t_start": 0.0, "t_stop": 0.1, "steps": 100,
                                           "completed": True,
                                           "wall_time": meta["runs"][0]["wall_time"]})]


def test_large_parameter_arrays_are_stored_as_datasets(tmp_path):
    net = ss.Network(dt=DT)
    v_th = np.linspace(0.5, 1.0, 500)
    pop = net.add(ss.LIF(500, v_th=v_th), name="p")
    out = ss.H5Output(tmp_path / "a.h5")
    net.add(ss.SpikeRecorder(out, pop))
    net.run(0.01)
    meta = ss.load(tmp_path / "a.h5").meta
    ref = meta["network"]["populations"][0]["parameters"]["v_th"]
    with h5py.File(tmp_path / "a.h5", "r") as f:
        np.testing.assert_array_equal(f[ref["dataset"]][:], v_th)


# --- appending, names, gaps ---------------------------------------------------------------------
def test_later_runs_append_and_match_one_long_run(tmp_path):
    path = tmp_path / "run.h5"
    net, exc, _ = network(chunk=64)
    out = ss.H5Output(path)
    net.add(ss.SpikeRecorder(out, exc))
    net.add(ss.StateRecorder(out, exc, ["v", "i"], ids=[1, 5], every=4))
    net.add(ss.RateRecorder(out, exc, bin_width=10e-3))
    for duration in (0.101, 0.033, 0.2):  # run ends that are not on bin or sample boundaries
        net.run(duration)
        assert not out.is_open
    ref, rexc, _ = network(chunk=1000)
    spk = ref.add(ss.SpikeMonitor(rexc))
    st = ref.add(ss.StateMonitor(rexc, ["v", "i"], ids=[1, 5], every=4))
    ref.run(0.334)
    data = ss.load(path)
    assert same_spikes(data.spikes("exc"), spk.spikes)
    for var in ("v", "i"):
        np.testing.assert_array_equal(data.trace("exc", var).values,
                                      st.trace(var).values.astype(np.float32))
    counts = np.bincount(steps_of(spk.spikes) // 10, minlength=34)[:, None]
    np.testing.assert_array_equal(data.rate("exc").meta["counts"], counts)
    assert [r["steps"] for r in data.meta["runs"]] == [101, 33, 200]
    assert data.meta["duration"] == pytest.approx(0.334)


def test_two_recorders_of_one_population_need_distinct_names(tmp_path):
    net, exc, _ = network()
    out = ss.H5Output(tmp_path / "a.h5")
    net.add(ss.SpikeRecorder(out, exc))
    net.add(ss.SpikeRecorder(out, exc, ids=[0, 1]))
    with pytest.raises(ValueError, match="already written by another recorder"):
        net.run(0.01)
    net, exc, _ = network()
    out = ss.H5Output(tmp_path / "b.h5")
    net.add(ss.SpikeRecorder(out, exc))
    sel = net.add(ss.SpikeRecorder(out, exc, ids=[0, 1]), name="exc_sel")
    mon = net.add(ss.SpikeMonitor(exc, ids=[0, 1]))
    net.run(0.2)
    assert same_spikes(sel.spikes, mon.spikes)
    assert ss.load(tmp_path / "b.h5").populations == ["exc", "exc_sel"]


def test_a_recorder_added_later_cannot_leave_a_gap_in_a_report(tmp_path):
    net, exc, _ = network()
    out = ss.H5Output(tmp_path / "a.h5")
    rec = net.add(ss.StateRecorder(out, exc, "v", ids=[0]))
    net.run(0.02)
    net.monitors.remove(rec)
    net.run(0.02)
    net.add(rec)
    with pytest.raises(ValueError, match="cannot have a gap"):
        net.run(0.02)


# --- crash safety ---------------------------------------------------------------------------
@pytest.mark.parametrize("error", [KeyboardInterrupt, RuntimeError])
def test_an_interrupted_run_closes_the_file_marked_incomplete(tmp_path, error):
    path = tmp_path / "run.h5"
    net, exc, _ = network(chunk=50)
    out = ss.H5Output(path)
    net.add(ss.SpikeRecorder(out, exc))
    net.add(ss.StateRecorder(out, exc, "v", ids=[3, 4]))
    spk = net.add(ss.SpikeMonitor(exc))
    st = net.add(ss.StateMonitor(exc, "v", ids=[3, 4]))

    def stop_after_three(done, total):
        if done == 150:
            raise error("stop")

    with pytest.raises(error):
        net.run(1.0, progress=stop_after_three)
    assert not out.is_open
    with h5py.File(path, "r") as f:  # closed cleanly: opens without SWMR
        assert not f["spikesim"].attrs["completed"]
    data = ss.load(path)
    assert not data.completed and data.meta["runs"][0]["steps"] == 150
    assert same_spikes(data.spikes("exc"), spk.spikes)
    np.testing.assert_array_equal(data.trace("exc").values, st.trace().values.astype("f4"))
    assert data.trace("exc").values.shape[0] == 150
    assert len(libsonata.SpikeReader(str(path))["exc"].get()) == len(spk.spikes)
    net.run(0.05)  # the next run appends and marks the file complete again
    assert ss.load(path).completed and len(ss.load(path).trace("exc").times) == 200


@pytest.mark.parametrize("before", ["python", "ignored", "custom"])
def test_ctrl_c_during_a_write_is_held_until_the_write_is_done(before):
    """The held SIGINT goes, after the block, where it went before: a KeyboardInterrupt under
    Python's handler, nowhere where it was ignored (a job started with ``&`` from a script),
    to a handler the user set."""
    handlers = {"python": signal.default_int_handler, "ignored": signal.SIG_IGN,
                "custom": lambda *a: calls.append("handler")}
    calls = []
    old = signal.signal(signal.SIGINT, handlers[before])
    try:
        with contextlib.ExitStack() as stack:
            if before == "python":
                stack.enter_context(pytest.raises(KeyboardInterrupt))
            with ssio.no_interrupt():
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.05)
                calls.append("block done")
        assert calls == ["block done"] + (["handler"] if before == "custom" else [])
        assert signal.getsignal(signal.SIGINT) is handlers[before]
    finally:
        signal.signal(signal.SIGINT, old)


def test_a_signal_held_back_after_another_is_not_lost():
    """A SIGINT and then a SIGTERM in one block: each goes where it went before, the SIGINT
    ignored (a job started with ``&`` from a script) and the SIGTERM to its handler — the
    ignored SIGINT does not swallow the SIGTERM (which ``spikesim run`` turns into a stop)."""
    calls = []
    old_int = signal.signal(signal.SIGINT, signal.SIG_IGN)
    old_term = signal.signal(signal.SIGTERM, lambda *a: calls.append("term"))
    try:
        with ssio.no_interrupt():
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)
            calls.append("block done")
        assert calls == ["block done", "term"]
    finally:
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)


CHILD = textwrap.dedent("""
    import sys
    import numpy as np
    import spikesim as ss
    DT = {dt!r}
    {network}
    net, exc, _ = network(n=2000, chunk=20, p_rec=0.002)
    out = ss.H5Output(sys.argv[1], flush_every=0)
    net.add(ss.SpikeRecorder(out, exc))
    net.add(ss.StateRecorder(out, exc, "v", ids=np.arange(0, 2000, 10)))
    net.add(ss.RateRecorder(out, exc, bin_width=5e-3))
    print("ready", flush=True)
    net.run(1e4, progress=lambda done, total: print(done, flush=True))
""")


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_no_flushed_chunk(tmp_path):
    """Five runs killed (SIGKILL) at random moments after their first chunk: each file opens
    and holds every chunk reported flushed (progress is reported after a chunk's data is
    flushed), identical to an uninterrupted run; after ``recover`` other HDF5 readers open it
    too."""
    network(n=2000, p_rec=0.002)[0].run(0.01)  # compile and cache the kernel for the children
    script = tmp_path / "child.py"
    script.write_text(CHILD.format(dt=DT, network=textwrap.indent(
        inspect.getsource(network), "    ").lstrip()))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [os.path.dirname(os.path.dirname(ss.__file__))] + sys.path)}
    rng = np.random.default_rng(2024)
    killed = []
    for kill in range(5):
        path = tmp_path / f"killed{kill}.h5"
        err = open(tmp_path / f"stderr{kill}.txt", "w+")
        child = subprocess.Popen([sys.executable, str(script), str(path)], env=env,
                                 stdout=subprocess.PIPE, stderr=err, text=True)
        lines: list = []
        reader = threading.Thread(target=lines.extend, args=(child.stdout,), daemon=True)
        reader.start()
        t0 = time.monotonic()
        while len(lines) < 2:  # "ready", then the first chunk flushed
            if child.poll() is not None or time.monotonic() - t0 > 300:  # (a loaded machine)
                child.kill()
                child.wait()
                err.seek(0)
                message = err.read()[-3000:]
                err.close()
                raise AssertionError(f"the child failed or hung: {message}")
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.6))
        seen = list(lines)
        child.send_signal(signal.SIGKILL)
        child.wait()
        reader.join(5)
        err.close()
        flushed = max([int(x) for x in seen if x.strip().isdigit()], default=0)
        killed.append((path, flushed))
    # the uninterrupted run, as far as the children got
    reached = [int(np.rint(ss.load(p).meta["runs"][-1]["t_stop"] / DT)) + 1000
               for p, _ in killed]
    ref, rexc, _ = network(n=2000, chunk=1000, p_rec=0.002)
    spk = ref.add(ss.SpikeMonitor(rexc))
    st = ref.add(ss.StateMonitor(rexc, "v", ids=np.arange(0, 2000, 10)))
    ref.run(max(reached) * DT)
    for path, flushed in killed:
        data = ss.load(path)
        assert not data.completed
        got = data.spikes("exc")
        k = steps_of(got)
        assert k.max(initial=-1) < ref.step
        want = spk.spikes
        n = len(got)
        assert n >= np.count_nonzero(steps_of(want) < flushed)
        np.testing.assert_array_equal(got.times, want.times[:n])  # a prefix of the full run
        np.testing.assert_array_equal(got.ids, want.ids[:n])
        tr = data.trace("exc")
        assert len(tr.times) >= flushed
        np.testing.assert_array_equal(tr.values, st.trace().values[:len(tr.times)]
                                      .astype(np.float32))
        counts = data.rate("exc").meta["counts"][:, 0]
        full = np.bincount(steps_of(want) // 5, minlength=ref.step // 5 + 1)
        np.testing.assert_array_equal(counts[:flushed // 5], full[:flushed // 5])
        # other readers refuse the flagged file until recover() clears the flag
        ssio.recover(path)
        with h5py.File(path, "r") as f:
            assert f["spikes/exc/timestamps"].shape == f["spikes/exc/node_ids"].shape
        assert len(libsonata.SpikeReader(str(path))["exc"].get()) == n
        frame = libsonata.ElementReportReader(str(path))["exc.v"].get()
        np.testing.assert_array_equal(np.asarray(frame.data), tr.values[:, 0, :])


@pytest.mark.parametrize("cap", [None, 4096])
def test_recorders_hold_their_data_until_flush_every_has_passed(tmp_path, monkeypatch, cap):
    """Until flush_every (default 1 s) has passed, a run's data stays in memory (the file
    says how far its data goes: nowhere yet); past FLUSH_BYTES it is flushed at once. The
    file holds the same data either way."""
    if cap:
        monkeypatch.setattr(ss.recorders, "FLUSH_BYTES", cap)
    path = tmp_path / "run.h5"
    net, exc, _ = network(chunk=40, batch=2)
    assert ss.H5Output(tmp_path / "other.h5").flush_every == 1.0
    out = ss.H5Output(path, flush_every=1e6)
    for rec in (ss.SpikeRecorder(out, exc), ss.RateRecorder(out, exc, 3e-3),
                ss.StateRecorder(out, exc, ["v", "i"], ids=[0, 1], every=7)):
        net.add(rec)
    spk, st = net.add(ss.SpikeMonitor(exc)), net.add(ss.StateMonitor(exc, ["v", "i"],
                                                                      ids=[0, 1], every=7))
    seen = []

    def hook(done, total):
        with ssio.open_for_reading(path) as f:
            seen.append((f["spikes/exc/timestamps"].shape[0], f["spikesim/runs"][-1, 1]))

    net.run(0.2, progress=hook)
    if cap is None:
        assert seen == [(0, 0.0)] * 5
    else:
        assert sorted(seen) == seen and seen[1][0] > 0 and seen[-1][1] > 0  # flushed early
    data = ss.load(path)
    assert same_spikes(data.spikes("exc"), spk.spikes)
    for var in ("v", "i"):
        np.testing.assert_array_equal(data.trace("exc", var).values,
                                      st.trace(var).values.astype(np.float32))
    counts = np.stack([np.bincount(steps_of(spk.spikes.select(b)) // 3, minlength=67)
                       for b in range(2)], axis=1)
    np.testing.assert_array_equal(data.rate("exc").meta["counts"], counts)


def test_every_flush_leaves_every_recorder_complete_up_to_the_same_step(tmp_path, monkeypatch):
    """Flushes forced by FLUSH_BYTES come at the end of a chunk, like the timed ones: after
    each, the spikes, the report and both rates reach exactly the runs table's t_stop (what a
    kill at that moment would leave), and agree with the in-memory monitors up to there."""
    monkeypatch.setattr(ss.recorders, "FLUSH_BYTES", 2000)
    path = tmp_path / "run.h5"
    net, exc, _ = network(chunk=40)
    out = ss.H5Output(path, flush_every=1e6)
    for rec in (ss.SpikeRecorder(out, exc), ss.StateRecorder(out, exc, "v", ids=[0, 1], every=7),
                ss.RateRecorder(out, exc, 3e-3), ss.RateRecorder(out, exc, 50e-3, name="slow")):
        net.add(rec)
    spk = net.add(ss.SpikeMonitor(exc))
    states = []
    real_flush = out._flush

    def flush(step):
        real_flush(step)
        with ssio.open_for_reading(path) as f:
            states.append((step, f["spikesim/runs"][-1, 1], f["spikes/exc/timestamps"][:],
                           f["report/exc.v/data"].shape[0], f["rates/exc/time"][1],
                           f["rates/slow/time"][1]))

    out._flush = flush
    net.run(0.4)
    assert len(states) > 3
    times = spk.spikes.times
    for step, t_stop, stamps, rows, rate_end, slow_end in states:
        assert step % 40 == 0 and t_stop == pytest.approx(step * DT)
        np.testing.assert_allclose(stamps, times[times < t_stop - DT / 2] * 1e3)
        assert rows == step // 7
        assert rate_end == slow_end == pytest.approx(step * DT * 1e3)


def test_held_samples_own_their_memory(tmp_path):
    """A float64 report's held block is a copy, not a view that would keep the chunk's whole
    sample buffer (every state monitor's samples) alive."""
    net, exc, _ = network(chunk=40)
    out = ss.H5Output(tmp_path / "run.h5", flush_every=1e6)
    rec = net.add(ss.StateRecorder(out, exc, "v", ids=[0], dtype=np.float64))
    net.add(ss.StateMonitor(exc, "v"))  # more samples in the same chunk buffer
    held = []
    net.run(0.08, progress=lambda done, total: held.extend(rec._held))
    assert held and all((h if h.base is None else h.base).nbytes == h.nbytes for h in held)


def test_recover_clears_the_superblock_flags(tmp_path):
    path = tmp_path / "a.h5"
    with h5py.File(path, "w", libver=ssio.LIBVER) as f:
        f["x"] = np.arange(3)
    with open(path, "rb") as fh:
        block = fh.read(48)
    assert ssio.lookup3(block[:44]) == int.from_bytes(block[44:48], "little")
    assert ssio.clear_write_flags(path) is False  # nothing to clear
    with open(path, "r+b") as fh:  # what a killed writer leaves: flags set, checksum updated
        raw = bytearray(block)
        raw[11] = 0x05
        raw[44:48] = ssio.lookup3(bytes(raw[:44])).to_bytes(4, "little")
        fh.write(raw)
    with pytest.raises(OSError):
        h5py.File(path, "r")
    assert ssio.clear_write_flags(path) is True
    with h5py.File(path, "r") as f:
        np.testing.assert_array_equal(f["x"][:], [0, 1, 2])


def test_recover_raises_an_end_of_file_address_left_behind_written_chunks(tmp_path):
    """A writer killed after writing a chunk but before recording the space in the
    superblock leaves its end-of-file address (EOA, bytes 28-36) short of the chunk: HDF5
    then refuses to read it ("addr overflow"; libsonata failed so after a random SIGKILL).
    recover() raises the EOA to the file's size, as h5clear --increment does."""
    path = tmp_path / "run.h5"
    net, exc, _ = network()
    net.add(ss.SpikeRecorder(ss.H5Output(path), exc))
    net.run(0.1)
    with h5py.File(path, "r") as f:
        ds = f["spikes/exc/timestamps"]
        want = ds[...]
        last = max(ds.id.get_chunk_info(i).byte_offset for i in range(ds.id.get_num_chunks()))
    with open(path, "r+b") as fh:  # the EOA just past the start of the last chunk
        raw = bytearray(fh.read(48))
        raw[28:36] = (last + 8).to_bytes(8, "little")
        raw[44:48] = ssio.lookup3(bytes(raw[:44])).to_bytes(4, "little")
        fh.seek(0)
        fh.write(raw)
    with pytest.raises(OSError, match="addr overflow"), h5py.File(path, "r") as f:
        f["spikes/exc/timestamps"][...]
    assert ssio.recover(path)["flags_cleared"]
    with h5py.File(path, "r") as f, open(path, "rb") as fh:
        np.testing.assert_array_equal(f["spikes/exc/timestamps"][...], want)
        eoa = int.from_bytes(fh.read(36)[28:36], "little")
    assert eoa == path.stat().st_size


# --- errors -----------------------------------------------------------------------------------
def test_an_existing_file_is_not_overwritten_unless_asked(tmp_path):
    path = tmp_path / "run.h5"
    path.write_bytes(b"precious")
    with pytest.raises(FileExistsError, match=re.escape(str(path))):
        ss.H5Output(path)
    assert path.read_bytes() == b"precious"
    net, exc, _ = network()
    out = ss.H5Output(path, overwrite=True)
    net.add(ss.SpikeRecorder(out, exc))
    net.run(0.05)
    assert ss.load(path).completed


def test_a_file_appearing_before_the_run_is_not_overwritten(tmp_path):
    path = tmp_path / "run.h5"
    net, exc, _ = network()
    out = ss.H5Output(path)
    net.add(ss.SpikeRecorder(out, exc))
    path.write_bytes(b"precious")
    with pytest.raises(FileExistsError, match=re.escape(str(path))):
        net.run(0.01)
    assert path.read_bytes() == b"precious"
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_a_missing_directory_is_named(tmp_path):
    path = tmp_path / "no" / "such" / "run.h5"
    with pytest.raises(FileNotFoundError, match=re.escape(str(path.parent))):
        ss.H5Output(path)
    with pytest.raises(FileNotFoundError, match="run.h5"):
        ss.save_checkpoint(network()[0], path)


def _read_only_dir(tmp_path):
    """A directory this process cannot create files in (chmod for a normal user; root ignores
    permissions, so then a read-only system directory), or None."""
    d = tmp_path / "ro"
    d.mkdir()
    d.chmod(0o500)
    for cand in (d, "/sys", "/proc/sys"):
        probe = os.path.join(cand, "probe.h5")
        try:
            with open(probe, "w"):
                pass
            os.remove(probe)
        except OSError:
            return str(cand)
    return None


def test_a_read_only_directory_is_named(tmp_path):
    folder = _read_only_dir(tmp_path)
    if folder is None:
        pytest.skip("no read-only directory available")
    path = os.path.join(folder, "run.h5")
    try:
        with pytest.raises(OSError, match=re.escape(path)):
            out = ss.H5Output(path)  # refused at once, or when the run creates the file
            net, exc, _ = network()
            net.add(ss.SpikeRecorder(out, exc))
            net.run(0.01)
    finally:
        os.chmod(tmp_path / "ro", 0o700)


def test_bad_arguments(tmp_path):
    path = tmp_path / "x.h5"
    with pytest.raises(ValueError, match="compression must be one of"):
        ss.H5Output(path, compression="zstd")
    with pytest.raises(ValueError, match="exclude each other"):
        ss.H5Output(path, overwrite=True, append=True)
    with pytest.raises(TypeError, match="must be an H5Output"):
        ss.SpikeRecorder(str(path), network()[1])
    net, exc, _ = network()
    out = ss.H5Output(path)
    net.add(ss.RateRecorder(out, exc, bin_width=1.5e-3))
    with pytest.raises(ValueError, match="whole number of steps"):
        net.run(0.01)
    assert not os.listdir(tmp_path)


@pytest.mark.parametrize("option", ["overwrite", "append", "connectivity"])
@pytest.mark.parametrize("value", ["no", "False", np.array([]), np.array([True]), 1, None])
def test_boolean_options_take_only_booleans(tmp_path, option, value):
    """``overwrite="no"`` read as true used to replace the file: a string, a number, None or an
    array is refused, naming the option, before anything is touched."""
    path = tmp_path / "run.h5"
    path.write_bytes(b"precious")
    with pytest.raises(TypeError, match=rf"^H5Output\.{option} must be True or False, got "):
        ss.H5Output(path, **{option: value})
    assert path.read_bytes() == b"precious"
    assert os.listdir(tmp_path) == ["run.h5"]


def test_numpy_booleans_are_booleans(tmp_path):
    path = tmp_path / "run.h5"
    net, exc, _ = network()
    out = ss.H5Output(path, overwrite=np.bool_(False), append=np.bool_(False),
                      connectivity=np.True_)
    assert (out.overwrite, out.append, out.connectivity) == (False, False, True)
    net.add(ss.SpikeRecorder(out, exc))
    net.run(0.01)
    assert ss.load(path).completed
    with pytest.raises(FileExistsError, match="already exists"):
        ss.H5Output(path, overwrite=np.False_)


@pytest.mark.parametrize("path,error,match", [
    (None, TypeError, r"^H5Output\.path must be a str or os\.PathLike, got None$"),
    (3, TypeError, r"^H5Output\.path must be a str or os\.PathLike, got 3$"),
    (b"run.h5", TypeError, r"^H5Output\.path must be a str or os\.PathLike, got b'run\.h5'$"),
    ("", ValueError, r"^H5Output\.path is empty$"),
    ("a\0b.h5", ValueError, r"^H5Output\.path contains a NUL character"),
])
def test_the_path_must_name_a_file(tmp_path, monkeypatch, path, error, match):
    """Not NumPy's or os's words, nor an error naming the current folder ("" is not it)."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(error, match=match):
        ss.H5Output(path)
    assert not os.listdir(tmp_path)


@pytest.mark.parametrize("kw,error,match", [
    ({"variables": ["v", "v"]}, ValueError,
     r"StateRecorder\.variables must name each variable once \(one report each\), got 'v' "
     r"more than once in \['v', 'v'\]"),
    ({"variables": ["i", "v", "i"]}, ValueError, r"got 'i' more than once"),
    ({"dtype": "foo"}, TypeError,
     r"StateRecorder\.dtype must be float32 or float64 \(np\.float32, np\.float64 or their "
     r"names\), got 'foo'"),
    ({"dtype": None}, TypeError, r"StateRecorder\.dtype must be float32 or float64 .*got None"),
    ({"dtype": True}, TypeError, r"StateRecorder\.dtype must be float32 or float64 .*got True"),
    ({"dtype": np.float16}, ValueError, r"StateRecorder\.dtype must be float32 or float64"),
    ({"dtype": "int32"}, ValueError, r"StateRecorder\.dtype must be float32 or float64 .*"
                                     r"got 'int32'"),
])
def test_state_recorder_refuses_repeated_variables_and_other_value_types(tmp_path, kw, error,
                                                                        match):
    """Refused when made: a repeated variable used to fail mid-run with h5py's "name already
    exists", dtype=None to mean float64 without a word."""
    net, exc, _ = network()
    out = ss.H5Output(tmp_path / "run.h5")
    with pytest.raises(error, match=match):
        ss.StateRecorder(out, exc, **kw)
    rec = net.add(ss.StateRecorder(out, exc, ["v", "i"], dtype="float64"))  # the output is fine
    net.run(0.01)
    assert rec.dtype == np.float64 and rec.trace("i").values.shape == (10, 1, 60)


def test_state_recorder_trace_checks_its_arguments(tmp_path):
    net, exc, _ = network()
    rec = net.add(ss.StateRecorder(ss.H5Output(tmp_path / "run.h5"), exc, "v", ids=[1, 3]))
    net.run(0.01)
    with pytest.raises(TypeError, match=r"ids must be an integer or a 1-d sequence of integers, "
                                        r"got \[1\.7\]"):
        rec.trace("v", ids=[1.7])
    with pytest.raises(ValueError, match="ids selects no neuron"):
        rec.trace("v", ids=[])
    assert rec.trace("v", ids=3).values.shape == (10, 1, 1)


@pytest.mark.parametrize("bin_width", [1e300, 1e308, 2.0**62 * DT])
def test_a_rate_bin_of_too_many_steps_is_refused_before_the_run(tmp_path, bin_width):
    """Bins are counted in int64 steps: a bin of 2**62 steps or more used to fail with an
    OverflowError after the kernel had run."""
    net, exc, _ = network()
    net.add(ss.RateRecorder(ss.H5Output(tmp_path / "run.h5"), exc, bin_width=bin_width))
    with pytest.raises(ValueError, match=r"RateRecorder\.bin_width must be < 2\*\*62 steps of "
                                         r"dt = 0\.001 s \(4\.61169e\+15 s\), got "):
        net.run(0.01)
    assert net.step == 0 and not os.listdir(tmp_path)


def test_a_rate_bin_of_many_steps_counts_everything_in_one_bin(tmp_path):
    net, exc, _ = network()
    rec = net.add(ss.RateRecorder(ss.H5Output(tmp_path / "run.h5"), exc, bin_width=2.0**61 * DT))
    spk = net.add(ss.SpikeMonitor(exc))
    net.run(0.05)
    assert rec.rate().meta["counts"].tolist() == [[len(spk.spikes)]]


# --- compression, chunking, lazy reads ----------------------------------------------------------
@pytest.mark.parametrize("compression", ["gzip", "lzf"])
def test_compression(tmp_path, compression):
    paths = {}
    for c in (None, compression):
        path = paths[c] = tmp_path / f"{c}.h5"
        net, exc, _ = network(n=400)
        out = ss.H5Output(path, compression=c)
        net.add(ss.SpikeRecorder(out, exc))
        net.add(ss.StateRecorder(out, exc, "v", every=2))
        net.run(0.3)
    with h5py.File(paths[compression], "r") as f:
        assert f["report/exc.v/data"].compression == compression
        assert f["spikes/exc/node_ids"].compression == compression
    a, b = ss.load(paths[None]), ss.load(paths[compression])
    assert same_spikes(a.spikes(), b.spikes())
    np.testing.assert_array_equal(a.trace().values, b.trace().values)
    assert os.path.getsize(paths[compression]) < 0.8 * os.path.getsize(paths[None])
    # gzip is HDF5's standard filter, but the libsonata wheel installed here bundles an HDF5
    # built without zlib, so it cannot decompress it (h5py, h5dump, NEURON, bmtk can)


class CountingFile:
    """A file object that counts the bytes read through it."""

    def __init__(self, path):
        self.f = open(path, "rb")
        self.read_bytes = 0

    def read(self, n=-1):
        data = self.f.read(n)
        self.read_bytes += len(data)
        return data

    def readinto(self, buf):
        n = self.f.readinto(buf)
        self.read_bytes += n
        return n

    def __getattr__(self, name):
        return getattr(self.f, name)


def test_reading_one_neuron_reads_a_small_part_of_the_report(tmp_path, monkeypatch):
    path = tmp_path / "run.h5"
    net, exc, _ = network(n=2000, chunk=500)
    out = ss.H5Output(path)
    net.add(ss.StateRecorder(out, exc, "v"))
    st = net.add(ss.StateMonitor(exc, "v", ids=[3, 1500]))
    net.run(1.0)
    data_bytes = 1000 * 2000 * 4
    files = []

    def counting_open(p):
        files.append(CountingFile(p))
        return h5py.File(files[-1], "r")

    monkeypatch.setattr(ssio, "open_for_reading", counting_open)
    data = ss.load(path)
    tr = data.trace("exc", "v", ids=[1500, 3])
    np.testing.assert_array_equal(tr.values[:, 0, :],
                                  st.trace().values[:, 0, ::-1].astype(np.float32))
    np.testing.assert_array_equal(tr.ids, [1500, 3])
    assert files[-1].read_bytes < 0.2 * data_bytes
    part = data.trace("exc", "v", ids=[3], t_start=0.2, t_stop=0.3)
    np.testing.assert_allclose(part.times, np.arange(200, 301) * DT)
    assert files[-1].read_bytes < 0.05 * data_bytes
    with pytest.raises(ValueError, match="were not recorded"):
        data.trace("exc", "v", ids=[2000])


def test_a_file_can_be_read_while_a_run_writes_it(tmp_path):
    path = tmp_path / "run.h5"
    net, exc, _ = network(chunk=50)
    out = ss.H5Output(path, flush_every=0)
    net.add(ss.SpikeRecorder(out, exc))
    seen = []
    net.run(0.2, progress=lambda done, total: seen.append(len(ss.load(path).spikes("exc"))))
    assert seen == sorted(seen) and seen[-1] == len(ss.load(path).spikes("exc")) > 0


def test_a_per_chunk_hook_gives_one_flush_per_chunk_and_exact_progress(tmp_path):
    """With ``flush_every=0``, ``chunk_end(step)``, which the network calls after each chunk,
    flushes once per chunk and records exactly how far the data is complete."""
    path = tmp_path / "run.h5"
    net, exc, _ = network(chunk=40)
    out = ss.H5Output(path, flush_every=0)
    for rec in (ss.SpikeRecorder(out, exc), ss.RateRecorder(out, exc, 3e-3),
                ss.StateRecorder(out, exc, "v", ids=[0, 1], every=7)):
        net.add(rec)
    spk = net.add(ss.SpikeMonitor(exc))
    flushes, progress = [], []
    real_flush = out._flush
    out._flush = lambda step: (flushes.append(step), real_flush(step))

    def hook(done, total):  # called after the chunk's chunk_end calls
        if done == 120:
            with ssio.open_for_reading(path) as f:
                progress.append(f["spikesim/runs"][-1, 1])
                progress.append(f["rates/exc/time"][1])

    net.run(0.2, progress=hook)
    assert flushes == [40, 80, 120, 160, 200]
    assert progress == [pytest.approx(0.12), pytest.approx(120.0)]
    counts = np.bincount(steps_of(spk.spikes) // 3, minlength=67)[:, None]
    np.testing.assert_array_equal(ss.load(path).rate("exc").meta["counts"], counts)


def test_a_small_state_monitor_does_not_keep_a_recorders_samples(tmp_path):
    """A chunk's samples of every state monitor and recorder share one buffer: a monitor
    keeping a view of it kept the recorder's samples too, memory growing with the run."""
    net = ss.Network(dt=1e-3, seed=1, chunk=100)
    lif = net.add(ss.LIF(200, tau_mem=10e-3, tau_syn=5e-3, v_th=0.3, units="1"))
    inp = net.add(ss.BernoulliInput(200, p=0.05))
    net.connect(inp, lif, "one_to_one", weight=1.0)
    out = ss.H5Output(tmp_path / "r.h5", flush_every=0.0)
    net.add(ss.StateRecorder(out, lif, ["v", "i"]))  # 400 columns, streamed to the file
    mon = net.add(ss.StateMonitor(lif, "v", ids=[0]))  # 1 column, kept in memory
    net.run(0.01)  # (kernels loaded before measuring)
    gc.collect()
    tracemalloc.start()
    try:
        net.run(1.0)
        gc.collect()
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    kept = 1000 * 8  # the monitor's own new samples: 1000 steps x 1 float64
    # (before the fix: about 3.2 MB, the recorder's 400 columns of every step)
    assert held < kept + 256 * 1024, f"{held} bytes held after the run"
    tr = mon.trace("v")
    assert tr.values.shape == (1010, 1, 1)
    assert np.array_equal(tr.times, np.arange(1, 1011) * 1e-3)


def test_a_state_recorder_refuses_a_neuron_twice(tmp_path):
    """A report's mapping/node_ids name each node once."""
    net = ss.Network(dt=1e-3)
    lif = net.add(ss.LIF(10, tau_mem=10e-3, tau_syn=5e-3, v_th=0.3, units="1"))
    with pytest.raises(ValueError, match=r"StateRecorder.ids must name each neuron once.*\[3\]"):
        ss.StateRecorder(ss.H5Output(tmp_path / "r.h5"), lif, "v", ids=[3, 1, 3])


def test_tags_of_ones_own_are_kept_in_the_file_and_checked(tmp_path):
    """H5Output(tags=...): labels of the user's (a sweep's point) read back as given; what
    JSON would not keep as it is (a tuple, NaN, an array, a non-str key) is refused, naming
    the parameter."""
    tags = {"sweep": "tau", "tau_mem": 0.03, "seeds": [1, 2], "note": None, "ok": True}
    net = ss.Network(dt=1e-3)
    pop = net.add(ss.LIF(2, units="1"), name="a")
    net.add(ss.SpikeRecorder(ss.H5Output(tmp_path / "t.h5", tags=tags), pop))
    net.run(0.002)
    assert ss.load(tmp_path / "t.h5").meta["tags"] == tags
    for bad in ({"x": (1, 2)}, {"x": float("nan")}, {"x": np.arange(2)}, {1: "a"}, ["a"]):
        with pytest.raises(TypeError, match=r"H5Output.tags must"):
            ss.H5Output(tmp_path / "u.h5", tags=bad)


def test_a_value_beyond_float32_is_refused_naming_the_variable_and_time(tmp_path):
    """v = I·(1 − exp(−t/τ)) passes float32's largest value (3.4e38) at t = 4.16 ms: the
    sample at 5 ms is refused (it was stored as inf with NumPy's warning), the file keeps
    the chunks before it."""
    net = ss.Network(dt=1e-3, chunk=3)
    pop = net.add(ss.LIF(3, tau_mem=0.01, v_th=1e300, units="1", method="exact"), name="big")
    net.add(ss.ConstantCurrent(pop, 1e39))
    out = ss.H5Output(tmp_path / "big.h5")
    net.add(ss.StateRecorder(out, pop, ["i", "v"]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(OverflowError, match=r"StateRecorder 'big': v went beyond float32's "
                                                r"range \(±3.4e\+38\) at t = 0.005 s; record it "
                                                r"with dtype=np.float64"):
            net.run(0.02)
    data = ss.load(tmp_path / "big.h5")
    assert not data.completed and data.meta["duration"] == pytest.approx(0.003)
    v = data.trace("big", "v").values
    assert v.shape[0] == 3 and np.isfinite(v).all()


def test_a_recorded_rate_is_read_for_a_window_and_a_realization(tmp_path):
    """rate(t_start=, t_stop=, realization=) keeps the bins starting in the window, of that
    realization: the counts of the spikes binned by hand."""
    net = ss.Network(dt=1e-3, seed=4, batch=3)
    src = net.add(ss.PoissonInput(20, rate=80.0), name="src")
    out = ss.H5Output(tmp_path / "r.h5")
    net.add(ss.RateRecorder(out, src, bin_width=5e-3))
    mon = net.add(ss.SpikeMonitor(src))
    net.run(0.1)
    data = ss.load(tmp_path / "r.h5")
    rate = data.rate("src", 2, t_start=0.02, t_stop=0.05)
    np.testing.assert_allclose(rate.times, [0.02, 0.025, 0.03, 0.035, 0.04, 0.045])
    s = mon.spikes.select(2)
    want = np.histogram(s.times, np.arange(0.02, 0.0501, 5e-3) - 1e-9)[0]
    np.testing.assert_array_equal(rate.meta["counts"][:, 0], want)
    assert rate.values.shape == (6, 1, 1) and want.sum() > 20
    assert rate.meta["realizations"].tolist() == [2]
    np.testing.assert_allclose(rate.values[:, 0, 0], want / (20 * 5e-3))
    assert data.rate("src").values.shape == (20, 3, 1)
    with pytest.raises(ValueError, match="t_start must be <= t_stop"):
        data.rate("src", t_start=0.05, t_stop=0.02)


def _diverging(dtype, n_proj=1, weight=1e38, spikes=None):
    net = ss.Network(dt=1e-3, seed=0, parallel=False, dtype=dtype)
    pop = net.add(ss.LIF(1, tau_mem=10e-3, tau_syn=5e-3, v_th=1.0, reset="none", units="1"),
                  name="exc")
    src = net.add(ss.SpikeArray(np.ones((50, 1), bool) if spikes is None else spikes),
                  name="drive")
    for _ in range(n_proj):
        net.connect(src, pop, "one_to_one", weight=weight)
    return net, pop


def test_a_state_that_overflows_its_own_dtype_is_the_networks_error_not_the_recorders(tmp_path):
    """A float32 network's state cannot go beyond float32's range: a float32 StateRecorder
    said 'v went beyond float32's range ... record it with dtype=np.float64' for a state that
    became infinite (and so did one of a float64 network whose state became infinite at once)."""
    net, pop = _diverging(np.float32)
    net.add(ss.StateRecorder(ss.H5Output(tmp_path / "a.h5"), pop, "v"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(FloatingPointError, match="v became NaN or infinite"):
            net.run(0.05)
    net, pop = _diverging(np.float64, n_proj=2, weight=1.5e308,
                          spikes=np.eye(50, 1, -5, dtype=bool))
    net.add(ss.StateRecorder(ss.H5Output(tmp_path / "b.h5"), pop, ["v", "i"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(FloatingPointError):
            net.run(0.05)


def test_a_float64_state_beyond_float32_names_the_earliest_sample(tmp_path):
    # i jumps beyond float32 at 6 ms, v follows at 7 ms: the earliest is named, not v first
    net, pop = _diverging(np.float64, weight=1e300, spikes=np.eye(50, 1, -5, dtype=bool))
    net.add(ss.StateRecorder(ss.H5Output(tmp_path / "c.h5"), pop, ["v", "i"]))
    with pytest.raises(OverflowError, match=r"i went beyond float32's range .* at t = 0\.006 s"):
        net.run(0.05)
