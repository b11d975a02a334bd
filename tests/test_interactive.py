"""What a user working interactively (a notebook, re-running cells) meets: the printed form of
every object, what may change between two runs, and memory released when a cell is re-run."""

import gc
import warnings
import weakref

import numpy as np
import pytest

import spikesim as ss


def _net(n=10, **kw):
    net = ss.Network(dt=1e-3, seed=0, parallel=False, **kw)
    pop = net.add(ss.LIF(n, tau_mem=10e-3, tau_syn=5e-3, v_th=0.3, units="1"), name="exc")
    src = net.add(ss.PoissonInput(n, rate=100.0), name="drive")
    net.connect(src, pop, "one_to_one", weight=1.0)
    return net, pop, src


# -- Network.dt, seed, dtype, batch: fixed once built ----------------------------------------
@pytest.mark.parametrize("name, value", [("dt", 1e-4), ("seed", 5), ("batch", 2),
                                         ("dtype", np.dtype(np.float32))])
def test_network_settings_the_build_read_cannot_change_after_it(name, value):
    net, pop, _ = _net()
    mon = net.add(ss.SpikeMonitor(pop))
    net.run(0.05)
    times = mon.spikes.times.copy()
    with pytest.raises(AttributeError, match=f"Network.{name} cannot change once"):
        setattr(net, name, value)
    assert net.t == pytest.approx(0.05)  # (dt = 1e-4 made it 0.005, and the spikes' times)
    np.testing.assert_array_equal(mon.spikes.times, times)


def test_network_settings_may_change_before_the_build():
    net, pop, _ = _net()
    net.dt = 5e-4
    net.seed = 3
    mon = net.add(ss.SpikeMonitor(pop))
    net.run(0.01)
    assert net.step == 20 and mon.spikes.dt == 5e-4
    net.chunk = 7  # (what the build does not read may still change)
    net.run(0.01)
    assert net.step == 40


# -- a StateMonitor's ids and variables: fixed once it holds samples -------------------------
def test_state_monitor_refuses_other_ids_once_it_holds_samples():
    net, pop, _ = _net()
    vm = net.add(ss.StateMonitor(pop, ["v", "i"], ids=[0, 1]))
    net.run(0.01)
    vm.ids = [8, 9]  # (the same count: its trace mixed neurons 0, 1 and 8, 9 as 8, 9)
    with pytest.raises(ValueError, match=r"StateMonitor holds data recorded with ids = \[0, 1\]"):
        net.run(0.01)
    vm.ids = [0, 1, 2]  # (another count: every later trace() raised NumPy's concatenate error)
    with pytest.raises(ValueError, match="add a new StateMonitor"):
        net.run(0.01)
    vm.ids = [0, 1]  # given back: it records on
    net.run(0.01)
    assert vm.trace("v").values.shape == (20, 1, 2)


def test_state_monitor_refuses_other_variables_once_it_holds_samples():
    net, pop, _ = _net()
    vm = net.add(ss.StateMonitor(pop, ["v", "i"], ids=[0]))
    net.run(0.01)
    vm.variables = ["i", "v"]  # (trace("v") returned i for the earlier samples)
    with pytest.raises(ValueError, match=r"variables = \['v', 'i'\]"):
        net.run(0.01)
    vm.variables = ("v", "i")
    vm.every = 2  # (the sample steps are kept: every may change)
    net.run(0.01)
    tr = vm.trace("v")
    assert tr.values.shape == (15, 1, 1)
    np.testing.assert_allclose(tr.values[-1, 0, 0], net.state["v"][0, 0])


def test_a_state_monitor_added_after_a_run_records_any_selection():
    net, pop, _ = _net()
    net.run(0.01)
    vm = net.add(ss.StateMonitor(pop, "v", ids=[3]))
    vm.ids = [4, 5]  # (nothing recorded yet)
    net.run(0.01)
    assert vm.trace().values.shape == (10, 1, 2)


def test_a_monitor_added_back_after_runs_it_missed_warns_of_the_gap():
    net, pop, _ = _net()
    sm = net.add(ss.SpikeMonitor(pop))
    net.run(0.05)
    net.monitors.remove(sm)
    net.run(0.05)
    with pytest.warns(RuntimeWarning, match="its data will miss the 0.05 s between"):
        net.add(sm)
    net.monitors.remove(sm)
    net.add(sm2 := ss.SpikeMonitor(pop))  # (a new one: no warning, as at once)
    assert sm2 in net.monitors


# -- the printed form of every object ----------------------------------------------------------
def test_reprs_name_the_object_and_its_settings_without_data(tmp_path):
    net, pop, src = _net(n=1000)
    assert repr(net) == "Network(dt=0.001 s, seed=0, not built; populations: exc (LIF, 1000); " \
                        "sources: drive (PoissonInput, 1000); 1 projections)"
    cur = net.add(ss.ConstantCurrent(pop, np.linspace(0, 0.1, 1000)))
    prj = net.connect(pop, pop, "random", p=0.01, weight=ss.Normal(0.01, 0.001), delay=2e-3)
    sm = net.add(ss.SpikeMonitor(pop, ids=range(10)))
    vm = net.add(ss.StateMonitor(pop, ["v", "i"], ids=[0, 1, 2], every=2))
    out = ss.H5Output(tmp_path / "r.h5")
    rec = net.add(ss.SpikeRecorder(out, pop))
    for text in map(repr, (net, pop, src, cur, prj, sm, vm, rec)):
        assert " object at 0x" not in text and len(text) < 400, text
        assert "0.0001001" not in text  # (no array's values)
    assert repr(pop) == ("LIF('exc', n=1000, tau_mem=0.01, tau_syn=0.005, v_leak=0, v_th=0.3, "
                         "v_reset=0, R=1, i_init=0, units='1')")
    assert repr(src) == "PoissonInput('drive', n=1000, rate=100)"
    assert repr(cur) == "ConstantCurrent(into 'exc', amplitude=array(1000))"
    assert repr(prj) == ("Projection(exc -> exc, 'random', p=0.01, weight=Normal(mean=0.01, "
                         "std=0.001, low=None, high=None), delay=0.002, receptor='i')")
    assert repr(sm) == "SpikeMonitor(exc, 10 of 1000 neurons, no run yet)"
    assert repr(vm) == "StateMonitor(exc, ['v', 'i'], 3 of 1000 neurons, every 2 steps, no run yet)"
    assert repr(rec) == "SpikeRecorder(exc, all 1000 neurons -> r.h5, no run yet)"
    net.run(0.02)
    assert repr(net).startswith("Network(dt=0.001 s, seed=0, t=0.02 s; populations: exc (LIF")
    assert repr(sm) == "SpikeMonitor(exc, 10 of 1000 neurons, t = 0 to 0.02 s)"
    assert "of 1000 neurons (10 recorded), t = 0 to 0.02 s)" in repr(sm.spikes)


def test_trace_repr_of_values_of_another_shape():
    tr = ss.Trace(np.arange(3.0), np.zeros((3, 2)), np.arange(2), "v")
    assert repr(tr) == "Trace(?.v [?]: values of shape (3, 2), t = 0 to 2 s)"
    one = ss.Trace(np.arange(3.0), np.zeros((3, 1, 1)), np.arange(1), "rate", "Hz")
    assert repr(one) == "Trace(?.rate [Hz]: 1 neuron x 3 samples, t = 0 to 2 s)"


# -- re-running a cell that records to HDF5 ----------------------------------------------------
def test_a_network_recorded_to_hdf5_is_freed_without_the_cyclic_gc(tmp_path):
    """The output and its recorders refer to the network weakly: no cycle keeps a network
    (its tables and state) alive after a notebook cell that made it is run again."""
    def cell():
        net, pop, _ = _net()
        net.add(ss.SpikeRecorder(ss.H5Output(tmp_path / "cell.h5", overwrite=True), pop))
        net.add(ss.StateRecorder(ss.H5Output(tmp_path / "v.h5", overwrite=True), pop, "v"))
        net.run(0.01)
        return weakref.ref(net)

    enabled = gc.isenabled()
    gc.disable()
    try:
        ref = cell()
        assert ref() is None
    finally:
        if enabled:
            gc.enable()
    assert ss.load(tmp_path / "cell.h5").completed


def test_an_output_still_refuses_a_second_network_after_the_first_is_gone(tmp_path):
    out = ss.H5Output(tmp_path / "one.h5")
    net, pop, _ = _net()
    net.add(ss.SpikeRecorder(out, pop))
    net.run(0.01)
    del net, pop
    gc.collect()
    other, pop2, _ = _net()
    other.add(ss.SpikeRecorder(out, pop2))
    with pytest.raises(ValueError, match="records another Network"):
        other.run(0.01)


def test_a_spike_monitor_given_other_ids_warns_that_rates_would_mix_them():
    net, pop, _ = _net(n=100)
    sm = net.add(ss.SpikeMonitor(pop))
    net.run(0.05)
    sm.ids = [0]
    with pytest.warns(RuntimeWarning, match=r"ids = None \(all neurons\) up to t = 0.05 s and "
                                            r"records \[0\] from now on"):
        net.run(0.05)
    net.run(0.05)  # (warned once per change)
    assert sm.spikes.recorded.tolist() == [0] and (sm.spikes.ids != 0).any()


def test_a_state_monitors_trace_keeps_the_selection_it_was_recorded_with():
    net, pop, _ = _net()
    vm = net.add(ss.StateMonitor(pop, ["v", "i"], ids=[0, 1]))
    net.run(0.02)
    v, i = vm.trace("v").values.copy(), vm.trace("i").values.copy()
    vm.variables = ["i"]  # refused at the next run; trace("i") returned v's samples after it
    with pytest.raises(ValueError, match="add a new StateMonitor"):
        net.run(0.01)
    np.testing.assert_array_equal(vm.trace("i").values, i)
    np.testing.assert_array_equal(vm.trace("v").values, v)
    vm.variables, vm.ids = ["v", "i"], [7]  # assigned, no run yet: the samples are of 0 and 1
    tr = vm.trace("v")
    np.testing.assert_array_equal(tr.ids, [0, 1])
    np.testing.assert_array_equal(tr.values, v)


@pytest.mark.parametrize("ids", [[1, 2], None, slice(0, 3), 3])
def test_monitor_reprs_after_an_assignment_not_yet_checked(tmp_path, ids):
    net, pop, _ = _net()
    out = ss.H5Output(tmp_path / "r.h5")
    monitors = [ss.SpikeMonitor(pop), ss.StateMonitor(pop, "v"), ss.SpikeRecorder(out, pop),
                ss.StateRecorder(out, pop, "v"), ss.RateRecorder(out, pop, 0.01)]
    for m in monitors:
        net.add(m)
        m.ids = ids  # (checked at the next run; a notebook shows the monitor before)
        text = repr(m)
        assert text.startswith(f"{type(m).__name__}(exc, ") and "no run yet" in text, text
    monitors[1].variables = "refc"
    assert "['refc']" in repr(monitors[1])


@pytest.mark.parametrize("name, value", [("dt", -1e-3), ("dt", "1e-3"), ("batch", 0),
                                         ("dtype", "int32"), ("seed", -5),
                                         ("backend", "gpu")])
def test_network_settings_assigned_before_the_build_are_checked(name, value):
    net, _, _ = _net()
    with pytest.raises((ValueError, TypeError), match=name):
        setattr(net, name, value)  # (dt = -1e-3 ran with a negative step, batch = 0 ran)
    net.dtype = "float32"  # (the constructor's conversion: a str read as a dtype)
    assert net.dtype == np.dtype(np.float32)
    assert not hasattr(ss.Network.__new__(ss.Network), "dt")  # (a KeyError before)


def test_no_false_alarm_for_the_same_neurons_or_before_any_sample():
    """ids going from None to all neurons by number name the same neurons: no warning; a
    StateMonitor that holds no sample yet (runs shorter than its every) takes another
    selection, which its first samples are then of."""
    net, pop, _ = _net()
    sm = net.add(ss.SpikeMonitor(pop))
    vm = net.add(ss.StateMonitor(pop, "v", ids=[0, 1], every=50))
    net.run(0.01)
    sm.ids = np.arange(pop.n)
    vm.ids = [2, 3, 4]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        net.run(0.05)
    assert vm.trace("v").values.shape == (1, 1, 3) and vm.trace("v").ids.tolist() == [2, 3, 4]
    vm.variables = ("v", "i")
    with pytest.raises(ValueError, match=r"variables = \['v'\]"):
        net.run(0.01)


@pytest.mark.parametrize("name, value, match", [
    ("chunk", 0, "chunk must be"), ("chunk", 2.5, "chunk must be"),
    ("threads", 10**6, "threads must be"), ("parallel", "yes", "parallel must be"),
])
def test_run_settings_assigned_between_runs_are_checked(name, value, match):
    """chunk, threads and parallel may change between runs, checked as the constructor checks
    them (chunk 0 was a ZeroDivisionError inside run, parallel = "yes" ran)."""
    net, _, _ = _net()
    net.run(0.01)
    with pytest.raises((ValueError, TypeError), match=match):
        setattr(net, name, value)
    net.chunk, net.threads, net.parallel = 7, 1, True
    net.run(0.01)
    assert net.step == 20


def test_a_cpu_only_setting_and_another_backend_exclude_each_other_however_assigned():
    net = ss.Network(dt=1e-3, threads=1)
    with pytest.raises(ValueError, match=r"threads sets the Numba threads of the CPU backend: "
                                         r"it does not apply to backend='cuda', got threads=1"):
        net.backend = "cuda"
    assert net.backend == "cpu"


# -- a progress bar from Python ----------------------------------------------------------------
def test_run_with_progress_true_draws_a_bar_of_simulated_time_and_removes_it(monkeypatch,
                                                                            capsys):
    import functools

    from spikesim import network
    from spikesim.progress import ProgressBar

    bars = []

    def immediate(dt):  # (the default waits half a second of wall time before drawing)
        bars.append(ProgressBar(dt, delay=0.0))
        return bars[-1]

    monkeypatch.setattr(network, "ProgressBar", immediate)
    net, pop, _ = _net()
    net.chunk = 20
    net.run(0.1, progress=True)
    err = capsys.readouterr().err
    assert "simulated 0.100/0.100 s in" in err and "x real time" in err
    assert len(bars) == 1 and bars[0].bar is None  # closed when the run ended
    monkeypatch.setattr(network, "ProgressBar", functools.partial(ProgressBar, delay=60.0))
    net.run(0.1, progress=True)  # a short run: no bar at all
    net.run(0.1, progress=False)
    assert capsys.readouterr().err == "" and net.t == pytest.approx(0.3)



def test_a_progress_bar_is_made_with_the_runs_total_which_a_notebook_widget_keeps(monkeypatch):
    """tqdm.auto gives tqdm.notebook's widget in Jupyter, whose bar is as long as the total it
    was made with (a total assigned later changes its text only): made with total=1, the
    widget of net.run(progress=True) was full from the first chunk on while its text said
    25 %."""
    import tqdm.auto
    from tqdm import std

    from spikesim.progress import ProgressBar

    widgets = []

    class Widget(std.tqdm):  # (as tqdm.notebook: the widget's length is the total made with)
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.widget_max = self.total
            widgets.append(self)

    monkeypatch.setattr(tqdm.auto, "tqdm", Widget)
    bar = ProgressBar(1e-3, delay=0.0)
    for done in (250, 500):
        bar(done, 1000)
        assert widgets[-1].n / widgets[-1].widget_max == done / 1000
    bar.close()
    bar(750, 1000)  # (closed: nothing drawn again)
    assert len(widgets) == 1 and bar.bar is None
