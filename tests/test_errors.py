"""Bad input: a clear ValueError/TypeError naming the parameter — never a Numba error or NaN."""

import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numba
import numpy as np
import pytest

import spikesim as ss
from spikesim import analysis, plot
from spikesim.distributions import Distribution
from spikesim.results import Spikes


def build(pop, **net_kw):
    net = ss.Network(dt=net_kw.pop("dt", 1e-3), **net_kw)
    net.add(pop)
    net.build()
    return net


@pytest.mark.parametrize("kw,match", [
    (dict(dt=0.0), "dt must be > 0"),
    (dict(dt=-1e-3), "dt must be > 0"),
    (dict(dt=float("nan")), "dt must be finite"),
    (dict(dt=1e-3, seed=-1), "seed must be an integer"),
    (dict(dt=1e-3, seed=1.5), "seed must be an integer"),
    (dict(dt=1e-3, dtype=np.int32), "dtype must be float32 or float64"),
    (dict(dt=1e-3, batch=0), "batch must be an integer >= 1"),
    (dict(dt="1ms"), "dt must be a real number"),
    (dict(dt=1e-3, dtype="foo"), r"dtype must be float32 or float64 \(np.float32, np.float64 or "
                                  r"their names\), got 'foo'"),
    (dict(dt=1e-3, dtype=None), r"dtype must be float32 or float64 .*, got None"),
    (dict(dt=1e-3, parallel="yes"), "parallel must be True, False or None"),
    (dict(dt=1e-3, threads=10**6), r"threads must be <= \d+, got 1000000"),
    (dict(dt=1e-3, threads=2, backend="cuda"), r"threads sets the Numba threads of the CPU "
                                               r"backend: it does not apply to backend='cuda'"),
])
def test_network_arguments(kw, match):
    with pytest.raises((ValueError, TypeError), match=match):
        ss.Network(**kw)


def test_more_threads_than_numba_starts_are_refused_saying_where_the_limit_comes_from(
        monkeypatch):
    """A joblib worker gets NUMBA_NUM_THREADS = its share of the cores (1 with n_jobs = cores):
    Network(threads=2) there said only "threads must be <= 1, got 2"."""
    monkeypatch.setenv("NUMBA_NUM_THREADS", str(numba.config.NUMBA_NUM_THREADS))
    with pytest.raises(ValueError, match=r"threads must be <= \d+, got \d+: Numba starts at "
                                         r"most NUMBA_NUM_THREADS, set in this process's "
                                         r"environment \(joblib"):
        ss.Network(dt=1e-3, threads=numba.config.NUMBA_NUM_THREADS + 1)


@pytest.mark.parametrize("make,match", [
    (lambda: ss.LIF(10, tau_mem=-1e-3), r"LIF.tau_mem must be > 0.0 \(in s\)"),
    (lambda: ss.LIF(10, tau_syn=0.0), r"LIF.tau_syn must be > 0.0"),
    (lambda: ss.LIF(10, tau_mem=np.inf), "LIF.tau_mem must be finite"),
    (lambda: ss.LIF(10, v_th=np.nan), "LIF.v_th must be finite"),
    (lambda: ss.LIF(10, v_reset=2.0, v_th=1.0), "v_reset must be below v_th"),
    (lambda: ss.LIF(10, R=np.ones(3)), r"LIF.R must be a scalar or an array of shape \(10,\)"),
    (lambda: ss.RC(5, R=1.0, tau=-2.0), "RC.tau must be > 0.0"),
    (lambda: ss.RC(5, R=0.0, C=1.0), "RC.R must be > 0.0"),
    (lambda: ss.Leaky(5, beta=1.5), r"Leaky.beta must be >= 0.0 and <= 1.0"),
    (lambda: ss.LIF(4, refractory=-1e-3), "LIF.refractory must be >= 0.0"),
    (lambda: ss.LIF(4, refractory=2.2e6), r"LIF 'lif0'.refractory must be at most 2147483520 "
                                          r"steps of dt = 0.001 s \(2.15e\+06 s: the kernels "
                                          r"count them in int32, read as float32 in a float32 "
                                          r"network\), got 2200000.0 s"),
    (lambda: ss.LIF(4, tau_mem="fast"), "LIF.tau_mem must be a number"),
    # NumPy would read these as numbers: True as 1 s, "0.02" as 0.02, None as NaN, 1+2j as 1
    (lambda: ss.LIF(4, tau_mem=True), r"LIF.tau_mem must be a number, an array or a "
                                      r"Distribution \(in s\), got True"),
    (lambda: ss.LIF(4, v_th=["1", "2", "3", "4"]), r"LIF.v_th must be .* got an array of <U1"),
    (lambda: ss.LIF(4, v_init=None, v_th=1 + 2j), r"LIF.v_th must be .* got \(1\+2j\)"),
])
def test_population_parameters(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        build(make())


@pytest.mark.parametrize("make,match", [
    (lambda: ss.LIF(0), "n must be an integer >= 1"),
    (lambda: ss.LIF(3, method="rk4"), "method must be one of 'euler', 'exact'"),
    (lambda: ss.LIF(3, reset="zero"), "reset must be one of 'value', 'subtract', 'none'"),
    (lambda: ss.RC(3, R=1.0), "RC needs exactly one of C"),
    (lambda: ss.BernoulliInput(3, p=1.5), "BernoulliInput.p must be >= 0.0 and <= 1.0"),
    (lambda: ss.RateCoded(np.array([0.2, np.nan])), "RateCoded.data must be finite"),
    (lambda: ss.SpikeTimes(3, [0.1], [5]), r"SpikeTimes.ids must be in \[0, 2\]"),
    (lambda: ss.PoissonInput(3, rate=-1.0), "PoissonInput.rate must be >= 0.0"),
    # Brian2's PoissonInput(target, ...) is PoissonDrive: said, not "n must be an integer"
    (lambda: ss.PoissonInput(ss.RC(4, tau=0.02), rate=20.0),
     r"first argument is its number of units n .* PoissonDrive\(target, rate=N\*rate"),
    (lambda: ss.BernoulliInput(ss.RC(4, tau=0.02), p=0.1),
     r"BernoulliInput's first argument is its number of units n"),
    (lambda: ss.PoissonInput(5, rate=[500.0] * 3),
     r"PoissonInput.rate must be a scalar or have shape \(5,\), got shape \(3,\)"),
    (lambda: ss.PoissonInput(3, rate="10"), r"PoissonInput.rate must be a number or an array "
                                            r"of numbers \(in Hz\), got '10'"),
    (lambda: ss.BernoulliInput(3, p=None), r"BernoulliInput.p must be .* got None"),
    (lambda: ss.ConstantCurrent(ss.LIF(4), np.ones(3)),
     r"ConstantCurrent.amplitude must be a scalar or an array of shape \(4,\)"),
    (lambda: ss.BernoulliInput(3, p=True), r"BernoulliInput.p must be .* got True"),
    (lambda: ss.NoiseCurrent(ss.LIF(2), std=-1.0), "NoiseCurrent.std must be >= 0.0"),
    (lambda: ss.ConstantCurrent("pop", 1.0), "ConstantCurrent.target must be a population"),
    (lambda: ss.StepCurrent(ss.LIF(2), [0.2, 0.1], [1, 2]), "StepCurrent.times must be increasing"),
    (lambda: ss.PulseCurrent(ss.LIF(2), 0.0, 1e-3, 1e-9, count=3),
     r"PulseCurrent.period \(s\) is needed for count=3 pulses: .* at least width=0.001 s"),
    (lambda: ss.PulseCurrent(ss.LIF(2), 0.0, 2e-3, 1e-9, period=1e-3, count=2),
     r"PulseCurrent.period must be >= 0.002"),
    (lambda: ss.LIF(2, tau_membrane=0.02),
     r"LIF got unknown parameter\(s\) 'tau_membrane' \(did you mean 'tau_mem'\?\); accepted: R, "),
    (lambda: ss.Synaptic(2, alfa=0.5), r"'alfa' \(did you mean 'alpha'\?\); accepted: alpha, beta"),
])
def test_constructor_arguments(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def test_euler_with_dt_longer_than_tau_warns():
    with pytest.warns(RuntimeWarning, match="LIF 'lif0'.tau_syn = 0.0005 s is shorter than dt"):
        build(ss.LIF(3, tau_syn=0.5e-3), dt=1e-3)


@pytest.mark.parametrize("kw,match", [
    (dict(rule="one_to_one"), "needs pre and post of equal size"),
    (dict(rule="random"), "rule 'random' needs p"),
    (dict(rule="fixed_indegree"), "needs k"),
    (dict(rule="all_to_all", weight=np.ones((2, 2))),
     r"weight of the projection 'lif0' -> 'lif1' \('all_to_all'\) must be a scalar, a "
     r"Distribution, one value per synapse \(12\) or an \(n_pre, n_post\) = \(3, 4\) matrix, "
     r"got shape \(2, 2\)"),
    (dict(rule="all_to_all", weight=np.ones(7)), r"one value per synapse \(12\) or an"),
    (dict(rule="random", p=0.5, weight=np.ones(6)),
     r"must be a scalar or a Distribution \(rule 'random' draws how many synapses"),
    (dict(rule="fixed_indegree", k=2, delay=np.ones(7) * 1e-3),
     r"delay of the projection .* one value per synapse \(8\), got shape \(7,\)"),
    (dict(rule="all_to_all", delay=0.2e-3), r"delay must be at least 1 step"),
    (dict(rule="all_to_all", delay=0.0), r"delay must be at least 1 step.* Brian2's delay 0, "
                                         r"and Brian2's delay D is spikesim's D \+ dt"),
    (dict(rule="all_to_all", weight=np.nan), "weight must be finite"),
    (dict(rule="knn"), "rule must be one of"),
    (dict(rule="all_to_all", receptor="w"), "receptor must be one of 'i'"),
    (dict(rule="explicit", pre_ids=[0, 9], post_ids=[0, 1]), r"pre_ids must be in \[0, 2\]"),
    (dict(rule="explicit", matrix=np.full((3, 4), np.nan)), "matrix must be finite"),
    (dict(rule="explicit", matrix=np.ones((3, 4)) * 1j),
     r"matrix must be a 2-d scipy.sparse matrix or array of real weights, got ndarray of "
     r"complex128"),
    (dict(rule="all_to_all", weight=np.full((3, 4), np.inf)), "weight must be finite"),
    (dict(rule="all_to_all", p=0.5), r"rule 'all_to_all' takes no p \(used by rule 'random'\)"),
    (dict(rule="random", p=0.5, k=2), r"rule 'random' takes no k \(used by rule "
                                      r"'fixed_indegree'\)"),
    (dict(rule="all_to_all", matrix=np.ones((3, 4))), "rule 'all_to_all' takes no matrix"),
])
def test_projection_arguments(kw, match):
    net = ss.Network(dt=1e-3)
    a = net.add(ss.LIF(3))
    b = net.add(ss.LIF(4))
    with pytest.raises((ValueError, TypeError), match=match):
        net.connect(a, b, **kw)
        net.build()


@pytest.mark.parametrize("ids", [np.array([], np.int64), slice(2, 2)])
def test_a_monitor_of_no_neuron_is_refused(ids):
    with pytest.raises(ValueError, match=r"SpikeMonitor.ids selects no neuron: give at least "
                                         r"one index in \[0, 2\], or None for all"):
        ss.SpikeMonitor(ss.LIF(3), ids=ids)


def test_a_weight_beside_an_explicit_matrix_is_refused_and_random_counts_are_known_at_0_and_1():
    net = ss.Network(dt=1e-3)
    a, b = net.add(ss.LIF(3)), net.add(ss.LIF(4))
    matrix = np.zeros((3, 4))
    matrix[0, 1] = 2.0
    for weight in (np.ones(99), 2.0):
        with pytest.raises(ValueError, match="the matrix's values are the weights; give no "
                                             "weight"):
            net.connect(a, b, "explicit", matrix=matrix, weight=weight)
    net.connect(a, b, "explicit", matrix=matrix)
    net.connect(a, b, "random", p=1.0, weight=np.arange(12.0))  # every pair: 12 synapses
    net.connect(a, b, "random", p=0.0, weight=np.zeros(0))
    net.run(0.002)
    assert sorted(net.tables.weights().tolist()) == sorted([*range(12), 2.0])


def test_a_rate_function_of_the_wrong_shape_is_refused_at_its_first_chunk():
    for shape in [(3,), (10, 3), (10, 8)]:
        net = ss.Network(dt=1e-3, chunk=10)
        net.add(ss.PoissonInput(5, rate=lambda t, shape=shape: np.full(shape, 10.0)))
        with pytest.raises(ValueError, match=r"PoissonInput.rate\(t\) for 10 times t must "
                                             r"return a scalar or shape \(10,\), \(10, 1\) or "
                                             r"\(10, 5\), got shape"):
            net.run(0.01)
    for shape in [(), (10,), (10, 1), (10, 5)]:
        net = ss.Network(dt=1e-3, chunk=10)
        net.add(ss.PoissonInput(5, rate=lambda t, shape=shape: np.full(shape, 10.0)))
        net.run(0.02)


def test_a_boolean_explicit_matrix_gives_weights_of_one():
    net = ss.Network(dt=1e-3)
    a, b = net.add(ss.LIF(3)), net.add(ss.LIF(4))
    net.connect(a, b, "explicit", matrix=np.eye(3, 4, dtype=bool))
    net.build()
    assert net.tables.weights().tolist() == [1.0, 1.0, 1.0]


def test_a_per_synapse_array_of_the_wrong_shape_is_refused_before_it_joins_the_network():
    net = ss.Network(dt=1e-3)
    a = net.add(ss.LIF(3))
    with pytest.raises(ValueError, match="weight of the projection 'lif0' -> 'lif0'"):
        net.connect(a, a, "one_to_one", weight=[1.0, 2.0])
    assert net.projections == []
    net.connect(a, a, "one_to_one", weight=[1.0, 2.0, 3.0])  # one per synapse
    net.connect(a, a, "all_to_all", weight=np.ones((3, 3)))  # a dense matrix
    net.run(0.01)


def test_zero_dimensional_arrays_count_as_their_number():
    net = ss.Network(dt=np.array(1e-3), batch=np.array(2), chunk=np.int64(10))
    assert (net.dt, net.batch, net.chunk) == (1e-3, 2, 10)
    assert ss.distributions.Normal(np.array(0.5), np.float32(1.0)).mean == 0.5


def test_given_spikes_and_monitors_refuse_what_numpy_would_bend():
    with pytest.raises(ValueError, match="SpikeArray.spikes must hold booleans, or numbers 0 "
                                         "and 1, got float64 values other than 0 and 1"):
        ss.SpikeArray(np.array([[0.0, np.nan]]))
    with pytest.raises(ValueError, match="got <U1 values"):
        ss.SpikeArray([["a", "b"]])
    spikes = ss.SpikeArray(np.array([[0.0, 1.0], [1, 0]]))  # snnTorch's float spikes
    assert spikes.spikes.dtype == bool and spikes.spikes.tolist() == [[False, True],
                                                                      [True, False]]
    pop = ss.LIF(3)
    with pytest.raises(TypeError, match="StateMonitor.variables must be a variable name or a "
                                        "non-empty sequence of them, from 'v', 'i', 'refc'; "
                                        "got 5"):
        ss.StateMonitor(pop, 5)
    with pytest.raises(TypeError, match="non-empty sequence .* got \\[\\]"):
        ss.StateMonitor(pop, [])
    with pytest.raises(ValueError, match="StateMonitor.every must be below 2\\*\\*62"):
        ss.StateMonitor(pop, every=10**20)
    with pytest.raises(ValueError, match="StateMonitor.ids selects no neuron"):
        ss.StateMonitor(pop, ids=[])
    with pytest.raises(ValueError, match="n must be <= 2147483647, got 1000000000000"):
        ss.LIF(10**12)


def test_spike_times_may_be_none_at_all_or_far_beyond_the_run():
    net = ss.Network(dt=1e-3)
    empty = net.add(ss.SpikeTimes(3, [], []))
    far = net.add(ss.SpikeTimes(3, [1e300, 2e-3], [0, 1]))
    m_empty, m_far = net.add(ss.SpikeMonitor(empty)), net.add(ss.SpikeMonitor(far))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "invalid value in cast"
        net.run(0.01)
    assert len(m_empty.spikes) == 0
    assert m_far.spikes.ids.tolist() == [1] and m_far.spikes.times.tolist() == [2e-3]


def test_a_run_refuses_a_progress_that_is_not_callable_before_it_starts():
    net = ss.Network(dt=1e-3)
    net.add(ss.LIF(2))
    with pytest.raises(TypeError, match="progress must be True, False, None or a function of"):
        net.run(0.01, progress=5)
    assert net.step == 0


@pytest.mark.parametrize("make,match", [
    (lambda net: net.add(ss.LIF(3, v_th=1e39)),
     r"a parameter of LIF 'lif0' \(or a coefficient made from them\) is 1e\+39 in magnitude, "
     r"beyond the range of float32 \(±3.4e\+38\): use dtype=np.float64"),
    (lambda net: net.add(ss.LIF(3, v_init=-1e39)), "the initial v of LIF 'lif0' is 1e"),
    (lambda net: net.connect(net.add(ss.LIF(3)), net.populations[0], weight=1e39),
     r"a weight of the projection 'lif0' -> 'lif0' \('all_to_all'\) is 1e\+39"),
    (lambda net: net.add(ss.ConstantCurrent(net.add(ss.LIF(3)), 1e39)),
     "the ConstantCurrent into 'lif0' is 1e"),
    (lambda net: net.add(ss.NoiseCurrent(net.add(ss.LIF(3)), mean=-1e39, std=1.0)),
     "the mean or scale of the NoiseCurrent into 'lif0' is 1e"),
    (lambda net: net.add(ss.OUCurrent(net.add(ss.LIF(3)), std=1e39)),
     "the mean or scale of the OUCurrent into 'lif0' is "),
])
def test_values_beyond_float32_are_refused_in_a_float32_network(make, match):
    net = ss.Network(dt=1e-3, dtype=np.float32)
    make(net)
    with pytest.raises(ValueError, match=match):
        net.run(0.002)


@pytest.mark.parametrize("current", [
    lambda lif: ss.StepCurrent(lif, [0.0, 0.5], [1.0, -1e39]),
    lambda lif: ss.PulseCurrent(lif, start=0.5, width=0.1, amplitude=1e39),
    lambda lif: ss.CurrentArray(lif, np.r_[np.zeros(500), 1e39]),
])
def test_given_currents_beyond_float32_are_refused_before_the_run(current, tmp_path):
    """Values that come only later in the run are refused when it starts, not in the chunk
    that reaches them with a part of the run written."""
    net = ss.Network(dt=1e-3, dtype=np.float32)
    lif = net.add(ss.LIF(3))
    c = net.add(current(lif))
    net.add(ss.SpikeRecorder(ss.H5Output(tmp_path / "r.h5"), lif))
    with pytest.raises(ValueError, match=f"the {type(c).__name__} into 'lif0' is 1e"):
        net.run(1.0)
    assert net.step == 0 and not (tmp_path / "r.h5").exists()


def test_poisson_rate_above_one_per_step():
    net = ss.Network(dt=1e-3)
    net.add(ss.PoissonInput(2, rate=2000.0))
    with pytest.raises(ValueError, match="PoissonInput.rate must be <= 1/dt"):
        net.run(0.01)


def test_objects_from_another_network_and_late_additions():
    net = ss.Network(dt=1e-3)
    pop = ss.LIF(3)
    with pytest.raises(ValueError, match="not in this network"):
        net.add(ss.SpikeMonitor(pop))
    net.add(pop)
    with pytest.raises(ValueError, match="already used"):
        net.add(ss.LIF(2), name=pop.name)
    net.run(0.01)
    with pytest.raises(RuntimeError, match="already run"):
        net.add(ss.LIF(2))
    mon = net.add(ss.SpikeMonitor(pop))  # monitors may join later
    net.run(0.01)
    assert mon.spikes.t_stop == pytest.approx(0.02)


def test_state_monitor_arguments():
    pop = ss.RC(3, R=1.0, tau=1e-2)
    with pytest.raises(ValueError, match="StateMonitor.variables must be one of 'v', 'refc'"):
        ss.StateMonitor(pop, "i")
    with pytest.raises(ValueError, match="StateMonitor.every must be an integer >= 1"):
        ss.StateMonitor(pop, "v", every=0)
    with pytest.raises(ValueError, match=r"StateMonitor.ids must be in \[0, 2\], got 3$"):
        ss.StateMonitor(pop, "v", ids=[3])
    with pytest.raises(ValueError, match=r"SpikeMonitor.ids must be in \[0, 2\], got -1, 5$"):
        ss.SpikeMonitor(pop, ids=[0, 5, -1, 5])
    with pytest.raises(ValueError, match=r"pre_ids must be in \[0, 2\], got 9$"):
        ss.Projection(pop, pop, "explicit", pre_ids=[0, 9], post_ids=[0, 1]).pairs(None)


def test_recorders_name_their_own_class(tmp_path):
    pop = ss.RC(3, R=1.0, tau=1e-2)
    out = ss.H5Output(tmp_path / "r.h5")
    for make, match in (
            (lambda: ss.StateRecorder(out, pop, "v", every=0), r"^StateRecorder.every must be"),
            (lambda: ss.StateRecorder(out, pop, "i"), r"^StateRecorder.variables must be one"),
            (lambda: ss.StateRecorder(out, pop, ids=[5]), r"^StateRecorder.ids must be in "
                                                          r"\[0, 2\], got 5$"),
            (lambda: ss.SpikeRecorder(out, pop, ids=[7]), r"^SpikeRecorder.ids must be in"),
            (lambda: ss.SpikeRecorder(out, "pop"), r"^SpikeRecorder.source must be a")):
        with pytest.raises((ValueError, TypeError), match=match):
            make()


def test_shape_error_of_a_per_neuron_parameter_gives_the_axes_in_order():
    """Where the population is made, any number of realizations B is accepted; once a network
    is built, B is the network's batch."""
    with pytest.raises(ValueError, match=r"LIF.v_th must be a scalar or an array of shape \(5,\), "
                                         r"\(B, 5\) or \(B, 1\) \(axes: realizations, neurons\), "
                                         r"got shape \(5, 4\)"):
        ss.LIF(5, v_th=np.ones((5, 4)))
    with pytest.raises(ValueError, match=r"LIF.v_th must be a scalar or an array of shape \(5,\), "
                                         r"\(4, 5\) or \(4, 1\) \(axes: realizations, neurons\), "
                                         r"got shape \(3, 5\)"):
        build(ss.LIF(5, v_th=np.ones((3, 5))), batch=4)


def test_times_that_are_not_whole_steps_warn_and_say_the_rounding():

    def build(refractory, delay):
        net = ss.Network(dt=1e-3)
        a = net.add(ss.LIF(3, refractory=refractory))
        net.connect(a, net.add(ss.LIF(3)), "one_to_one", delay=delay)
        return net

    with pytest.warns(RuntimeWarning, match=r"LIF 'lif0'.refractory = 0.0003 s .* rounded to 0"):
        build(0.3e-3, 2e-3).build()
    with pytest.warns(RuntimeWarning, match=r"delay \(lif0 -> lif1\) = 0.0025 s .* rounded to 2"):
        build(2e-3, 2.5e-3).build()
    with pytest.warns(RuntimeWarning, match=r"duration = 0.0005 s .* rounded to 0 steps"):
        build(0.0, None).run(0.0005)
    with warnings.catch_warnings():  # whole steps (up to float error), and drawn values: silent
        warnings.simplefilter("error")
        build(ss.Uniform(0.0, 5e-3), 3e-3).run(0.15)


def test_times_typed_in_milliseconds_warn():

    with pytest.warns(RuntimeWarning, match=r"LIF 'lif0'.tau_mem = 20 s is longer than 1 s, .* "
                                            r"seconds \(20 ms is 0.02 s; 1000 s or more "
                                            r"reads as meant\)"):
        build(ss.LIF(3, tau_mem=20.0), dt=1e-4)
    with pytest.warns(RuntimeWarning, match=r"LIF 'lif0'.tau_syn_inh = 10 s \(the longest "
                                            r"value\) is longer"):
        build(ss.LIF(3, tau_syn_inh=np.full(3, 10.0)), dt=1e-4)
    with pytest.warns(RuntimeWarning, match=r"RC 'rc0'.refractory = 2 s is longer than 0.1 s"):
        build(ss.RC(3, tau=20e-3, refractory=2.0), dt=1e-4)
    with warnings.catch_warnings():  # seconds, a slow adaptation current, no leak: silent
        warnings.simplefilter("error")
        build(ss.AdaptiveLIF(3, tau_mem=1.0, tau_w=5.0, refractory=0.05), dt=1e-4)
        build(ss.RC(3, tau=1e3), dt=1e-4)


def test_voltages_typed_in_millivolts_warn():
    with pytest.warns(RuntimeWarning, match=r"LIF 'lif0'.v_reset reaches 65 V in magnitude, "
                                            r"more than the 2 V .* volts \(−65 mV is −0.065 V; "
                                            r"1000 V or more reads as meant\)"):
        build(ss.LIF(3, v_th=-50e-3, v_reset=-65.0, v_leak=-65e-3), dt=1e-4)
    with pytest.warns(RuntimeWarning, match=r"RC 'rc0'.E_L reaches 70 V"):
        build(ss.RC(3, tau=20e-3, E_L=np.full(3, -70.0), v_init=-0.07, v_th=1.0), dt=1e-4)
    with pytest.warns(RuntimeWarning, match=r"LIF 'lif0'.v_init reaches"):
        build(ss.LIF(3, v_init=ss.Uniform(-70.0, -60.0)), dt=1e-4)
    with warnings.catch_warnings():  # volts; a threshold never reached; dimensionless: silent
        warnings.simplefilter("error")
        build(ss.LIF(3, v_th=-50e-3, v_reset=-65e-3, v_leak=-65e-3), dt=1e-4)
        build(ss.LIF(3, v_th=ss.Normal(1.0, 0.2)), dt=1e-4)  # Norse's numbers, read in V
        build(ss.RC(3, tau=20e-3, v_th=1e9), dt=1e-4)
        build(ss.LIF(3, v_th=-50.0, v_reset=-65.0, v_leak=-65.0, units="1"), dt=1e-4)


@pytest.mark.parametrize("script, options", [
    ("lif_tutorial.py", []), ("lapicque_tutorial.py", []), ("noisy_lif.py", []),
    ("brunel_regimes.py", ["--n-exc", "2000", "--duration", "0.2"]),  # (smaller: 2 s, not 15)
])
def test_the_example_scripts_run_without_a_warning(script, options, tmp_path):
    """The shipped scripts run with RuntimeWarnings as errors: none of their values sets off a
    warning meant for mistakes (lapicque_tutorial's threshold out of reach once read as a
    voltage typed in millivolts)."""
    path = Path(__file__).resolve().parents[1] / "examples" / script
    root = os.path.dirname(os.path.dirname(os.path.abspath(ss.__file__)))
    env = dict(os.environ, MPLBACKEND="Agg",
               PYTHONPATH=os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-W", "error::RuntimeWarning", str(path), "--out",
                           str(tmp_path), *options], capture_output=True, text=True, env=env,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert list(tmp_path.glob("*.png"))


def test_a_ragged_parameter_set_after_construction_is_named_at_build():
    """The memory estimate, which reads the parameters' shapes first, leaves a ragged list to
    the build's check, which names it (not NumPy's "inhomogeneous shape")."""
    pop = ss.LIF(3)
    pop.tau_mem = [0.01, [0.02, 0.03], 0.01]
    with pytest.raises(TypeError, match=r"LIF.tau_mem must be a number, an array or a "
                                        r"Distribution \(in s\)"):
        build(pop)


def test_a_long_list_parameter_is_summarised_in_the_error():
    tau = [0.01] * 4999 + [-1.0]
    with pytest.raises(ValueError, match=r"tau_mem must be > 0.0 \(in s\), got a list of 5000 "
                                         r"values \(offending value -1.0\)") as err:
        build(ss.LIF(5000, tau_mem=tau), dt=1e-3)
    assert len(str(err.value)) < 200


def test_current_times_between_steps_warn_once():

    net = ss.Network(dt=1e-3, chunk=5)
    pop = net.add(ss.LIF(2))
    net.add(ss.PulseCurrent(pop, start=1.5e-3, width=2e-3, amplitude=1e-9, period=3.5e-3,
                            count=2))
    net.add(ss.StepCurrent(pop, [0.0, 2.5e-3, 4e-3, 6.2e-3], [1e-9, 2e-9, 0.0, 1e-9]))
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        net.run(0.02)  # four chunks
    assert sorted(str(w.message) for w in got) == [
        "PulseCurrent.period = 0.0035 s is not a whole number of steps of dt = 0.001 s: pulse "
        "edges move to the next step (a current keeps its value at each step's start)",
        "PulseCurrent.start = 0.0015 s is not a whole number of steps of dt = 0.001 s: pulse "
        "edges move to the next step (a current keeps its value at each step's start)",
        "StepCurrent.times[1] = 0.0025 s is not a whole number of steps of dt = 0.001 s: the "
        "amplitude changes at the next step, t = 0.003 s (a current keeps its value at each "
        "step's start); 1 more of the 4 times is not whole steps"]
    quiet = ss.Network(dt=1e-3)
    pop = quiet.add(ss.LIF(2))
    quiet.add(ss.PulseCurrent(pop, start=2e-3, width=3e-3, amplitude=1e-9, period=4e-3,
                              count=3))
    quiet.add(ss.StepCurrent(pop, [0.0, 0.3, 0.7], [1e-9, 0.0, 1e-9]))
    with warnings.catch_warnings():  # whole steps (up to float error): silent
        warnings.simplefilter("error")
        quiet.run(0.01)
    step = ss.StepCurrent(pop, [2.5e-3], [1.0])
    with warnings.catch_warnings():  # a warning raised as an error is raised again next time
        warnings.simplefilter("error")
        for _ in range(2):
            with pytest.raises(RuntimeWarning, match="StepCurrent.times"):
                step.values(np.arange(3), 1e-3, 1, None)


def test_delays_typed_in_milliseconds_warn():

    def build(delay):
        net = ss.Network(dt=1e-4)
        a = net.add(ss.LIF(3))
        net.connect(a, net.add(ss.LIF(3)), "one_to_one", delay=delay)
        net.build()

    with pytest.warns(RuntimeWarning, match=r"delay \(lif0 -> lif1\) = 1 s is longer than "
                                            r"0.1 s, unusual for a synaptic delay: spikesim "
                                            r"takes times in seconds \(1 ms is 0.001 s\)"):
        build(1.0)
    with pytest.warns(RuntimeWarning, match=r"= 0.5 s \(the longest value\) is longer than 0.1 s"):
        build(np.array([1e-3, 0.5, 2e-3]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        build(0.1)
        build(ss.Uniform(1e-3, 20e-3))


@pytest.mark.parametrize("cls,base", [
    (ss.LIF, {}), (ss.LIF, {"tau_syn_inh": 0.01}), (ss.RC, {"tau": 0.01}), (ss.RC, {"C": 1e-10}),
    (ss.Leaky, {}), (ss.Synaptic, {}), (ss.AdaptiveLIF, {})])
def test_every_model_parameter_is_checked_where_the_population_is_made(cls, base):
    """Each parameter of each model (``cls.limits``), given as a number or an array, is
    refused by the constructor — not only at build — naming the class and parameter: a
    non-finite value always, and a value below the range where it has a lower bound."""
    skip = {"tau_syn_inh"} if cls is ss.AdaptiveLIF else {"tau", "C"} - set(base)
    for name, limits in cls.limits.items():
        if name in skip:
            continue
        bad = [np.nan, [1.0, np.inf]] + ([-1.0, [1.0, -1.0]] if "low" in limits else [])
        for value in bad:
            with pytest.raises(ValueError, match=rf"^{cls.__name__}\.{name} must be"):
                cls(2, **{**base, name: value})
    cls(2, **base)  # the defaults pass


def test_reset_order_is_checked_where_the_population_is_made_and_draws_at_build():
    with pytest.raises(ValueError, match=r"^LIF.v_reset must be below v_th.* \(offending "
                                         r"values 0\.2 and 0\.1\)$"):
        ss.LIF(3, v_th=[0.5, 0.1, 0.5], v_reset=0.2)
    net = ss.Network(dt=1e-3)
    net.add(ss.LIF(40, v_th=1.0, v_reset=ss.Uniform(0.5, 1.5)))  # drawn: the value is named
    with pytest.raises(ValueError, match=r"v_reset=Uniform\(low=0\.5, high=1\.5\), v_th=1\.0 "
                                         r"\(offending values 1\.[0-4]\d* and 1\.0\)$"):
        net.build()
    ss.LIF(3, v_th=0.1, v_reset=0.2, reset="none")  # no reset, no order needed
    pop = ss.LIF(3, tau_mem=ss.Normal(-1.0, 1e-3))  # drawn, and so checked, at build
    with pytest.raises(ValueError, match=r"^LIF.tau_mem must be > 0.0 \(in s\)"):
        build(pop)


def test_projection_weights_and_delays_are_checked_where_the_projection_is_made():
    a, b = ss.LIF(3), ss.LIF(3)
    for kw, match in ((dict(weight=np.nan), r"^weight must be finite"),
                      (dict(weight=[1.0, np.inf, 0.0], rule="one_to_one"),
                       r"^weight must be finite"),
                      (dict(weight=np.full((3, 3), np.nan)), r"^weight must be finite"),
                      (dict(delay=-1e-3), r"^delay must be >= 0.0 \(in s\)"),
                      (dict(delay=[1e-3, -1e-3, 1e-3], rule="one_to_one"),
                       r"^delay must be >= 0.0 \(in s\)")):
        with pytest.raises(ValueError, match=match):
            ss.Projection(a, b, **kw)


def test_arrays_over_realizations_must_agree_on_their_number_where_given():
    with pytest.raises(ValueError, match=r"^LIF.v_reset has 2 realizations \(shape \(2, 1\)\) "
                                         r"but v_th has 3"):
        ss.LIF(3, v_th=np.ones((3, 3)), v_reset=np.zeros((2, 1)))
    ss.LIF(3, v_th=np.ones((3, 3)), v_reset=np.zeros((3, 1)), tau_mem=np.full((1, 3), 0.01))


def test_a_delay_beyond_the_longest_is_refused_as_too_long_whatever_its_size():
    """1e30 s / dt does not fit int64: it wrapped to a negative number of steps and was
    refused as shorter than one step."""
    for delay in (40.0, 1e30):
        net = ss.Network(dt=1e-3)
        a = net.add(ss.LIF(3))
        net.connect(a, a, "all_to_all", delay=delay)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # (typed in milliseconds?)
            with pytest.raises(ValueError, match=r"delay of the projection 'lif0' -> 'lif0' "
                                                 r"\('all_to_all'\) must be at most 32767 steps "
                                                 r"\(32.767 s at dt = 0.001 s\), got "):
                net.build()


def test_a_numpy_scalar_delay_off_the_step_grid_warns_as_a_float_does():
    net = ss.Network(dt=1e-3)
    a = net.add(ss.LIF(3, units="1"))
    net.connect(a, a, "all_to_all", delay=np.float32(2.5e-3))
    with pytest.warns(RuntimeWarning, match=r"delay .* = 0\.002[45]\d* s is not a whole number of "
                                            r"steps of dt = 0\.001 s: rounded to 2 steps"):
        net.build()


def test_a_one_element_weight_list_is_checked_where_the_projection_is_made():
    """[w] is one value per synapse, not a scalar: refused at once where the rule says how
    many synapses there are (it was accepted, then refused at build)."""
    a, b = ss.LIF(3, units="1"), ss.LIF(4, units="1")
    with pytest.raises(ValueError, match=r"weight of the projection .* must be a scalar, a "
                                         r"Distribution, one value per synapse \(12\) or an "
                                         r"\(n_pre, n_post\) = \(3, 4\) matrix, got shape \(1,\)"):
        ss.Projection(a, b, "all_to_all", weight=[0.5])
    with pytest.raises(ValueError, match=r"delay of the projection .* got shape \(1,\)"):
        ss.Projection(a, b, "fixed_indegree", k=2, delay=[2e-3])
    net = ss.Network(dt=1e-3)
    net.connect(net.add(a), net.add(b), "explicit", pre_ids=[0], post_ids=[3], weight=[0.5])
    net.build()  # one synapse: one value per synapse
    assert net.tables.weights().tolist() == [0.5]


def test_explicit_ids_and_matrices_are_checked_where_the_projection_is_made():
    a, b = ss.LIF(3, units="1"), ss.LIF(4, units="1")
    with pytest.raises(ValueError, match=r"post_ids"):
        ss.Projection(a, b, "explicit", pre_ids=[0, 1], post_ids=[3, 4])
    with pytest.raises(ValueError, match=r"equal length"):
        ss.Projection(a, b, "explicit", pre_ids=[0, 1], post_ids=[3])
    with pytest.raises(ValueError, match=r"matrix must have shape \(n_pre, n_post\) = \(3, 4\)"):
        ss.Projection(a, b, "explicit", matrix=np.ones((4, 3)))


def test_a_per_realization_shape_error_names_the_batch_not_one():
    """ConstantCurrent checked where it is made does not know the batch: it names B (it
    said a batch of 1, whatever the network's), lists (B, 1) once when n = 1, and a 1-d array
    of one value per realization is told to be a column."""
    with pytest.raises(ValueError, match=r"ConstantCurrent.amplitude must be a scalar or an array "
                                         r"of shape \(5,\), \(B, 5\) or \(B, 1\) .*got shape "
                                         r"\(2,\): one value per realization is a column"):
        ss.ConstantCurrent(ss.LIF(5), np.ones(2))
    with pytest.raises(ValueError, match=r"RC.v_th must be a scalar or an array of shape \(1,\) "
                                         r"or \(B, 1\) \(axes: realizations, neurons\), got "
                                         r"shape \(500,\): one value per realization is a "
                                         r"column, shape \(B, 1\)$"):
        ss.RC(1, R=1e8, tau=20e-3, v_th=np.full(500, -50e-3))


def test_sources_of_no_unit_name_their_data():
    """RateCoded and SpikeArray take their size from the data: an array of no column was
    refused as "n must be an integer >= 1", naming a parameter they do not have."""
    for data in ([], np.zeros((3, 0))):
        with pytest.raises(ValueError, match=r"RateCoded.data must have at least one unit"):
            ss.RateCoded(data)
    for shape in ((3, 0), (3, 2, 0), (3, 0, 4), (3,), (3, 1, 1, 1)):
        with pytest.raises(ValueError, match=r"SpikeArray.spikes must have shape \(steps, n\) "
                                             rf"or \(steps, B, n\), n >= 1, B >= 1, got "
                                             rf"{re.escape(str(shape))}"):
            ss.SpikeArray(np.zeros(shape, bool))


@pytest.mark.parametrize("parallel", [True, False])
def test_cuda_refuses_parallel_as_it_refuses_threads(parallel):
    """parallel chooses the CPU backend's threaded or serial kernel: with backend='cuda' it is
    refused, naming it (checked before the GPU is looked for)."""
    with pytest.raises(ValueError, match=r"parallel .*backend='cuda'"):
        ss.Network(dt=1e-3, parallel=parallel, backend="cuda")


def test_a_spike_array_is_changed_in_place_not_replaced():
    """The built tables read the array itself (a replaced one of another width made the
    kernel write past its event pointers)."""
    net = ss.Network(dt=1e-3)
    given = np.zeros((10, 3), bool)
    src = net.add(ss.SpikeArray(given))
    mon = net.add(ss.SpikeMonitor(src))
    net.run(0.005)
    with pytest.raises(AttributeError, match=r"change its values in place"):
        src.spikes = np.ones((10, 5), bool)
    src.spikes[7, 2] = True
    net.run(0.005)
    assert mon.spikes.ids.tolist() == [2] and mon.spikes.times.tolist() == [7e-3]


# --- found by fuzzing the Python API (session 29) ---------------------------------------
class _Three(Distribution):
    """A Distribution of the user's whose draw ignores the shape asked for."""

    def draw(self, rng, shape):
        return np.array([1e-3, 2e-3, 3e-3])


class _Complex(Distribution):
    def draw(self, rng, shape):
        return np.full(shape, 1e-3 + 1j)


# p1: a Distribution's draw per synapse was used unchecked: a draw of 3 values for 16 synapses
# filled the CSR tables from past its end (weights of 1e305, delays of -29112 steps)
@pytest.mark.parametrize("param", ["weight", "delay"])
def test_a_draw_per_synapse_of_the_wrong_shape_is_refused(param):
    net = ss.Network(dt=1e-3)
    p = net.add(ss.LIF(4, units="1"))
    net.connect(p, p, "all_to_all", **{param: _Three()})
    with pytest.raises(ValueError, match=rf"_Three.draw\(rng, \(16,\)\) \(drawn for a {param} "
                                         rf"per synapse\) must return shape \(16,\), got "
                                         rf"shape \(3,\)"):
        net.build()


@pytest.mark.parametrize("param", ["weight", "tau_mem"])
def test_a_draw_of_complex_numbers_is_refused_not_cut_to_its_real_part(param):
    net = ss.Network(dt=1e-3)
    if param == "weight":
        p = net.add(ss.LIF(4, units="1"))
        net.connect(p, p, weight=_Complex())
    else:
        net.add(ss.LIF(4, units="1", tau_mem=_Complex()))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (NumPy's ComplexWarning before)
        with pytest.raises(TypeError, match=r"_Complex.draw\(rng, \(\d+,\)\) .* returned must "
                                            r"be real numbers, got an array of complex128"):
            net.build()


# p2: NaN in the results without an error
@pytest.mark.parametrize("make", [lambda: ss.RC(2, R=5.0, tau=1e-320, units="1", refractory=1e-3),
                                  lambda: ss.LIF(2, tau_mem=1e-320, units="1")])
def test_a_time_constant_whose_euler_coefficient_overflows_is_refused(make):
    net = ss.Network(dt=1e-3)
    net.add(make())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (tau shorter than dt warns first)
        with pytest.raises(ValueError, match=r"\.tau(_mem)? must be at least dt/1.8e308 = "
                                             r"5.56\d*e-312 s with method='euler'"):
            net.build()


def test_nan_samples_stop_the_run_even_when_a_reset_makes_the_state_finite_again():
    """R·I overflows to inf within a step; the reset and the refractory clamp put v back to
    v_reset by the chunk's end, where the state is checked: the samples were NaN, silently."""
    net = ss.Network(dt=1e-3, chunk=10)
    p = net.add(ss.RC(2, R=1e300, tau=1e-2, units="1", refractory=1e-3))
    net.add(ss.ConstantCurrent(p, 1e10))
    net.add(ss.StateMonitor(p, "v"))
    with pytest.raises(FloatingPointError, match=r"RC 'rc0': v was sampled NaN or infinite at "
                                                 r"t = 0.001 s \(by a StateMonitor"):
        net.run(0.05)
    assert net.step == 50  # (checked where the state is: at the run's end here)


# p3: OverflowError "cannot convert float infinity to integer" (time / dt beyond float64)
@pytest.mark.parametrize("act,match", [
    (lambda net, p: net.run(1.7e308), r"duration must be at most 9007199254740992 steps"),
    (lambda net, p: (net.connect(p, p, delay=1.7e308), net.build()),
     r"delay of the projection 'lif0' -> 'lif0' \('all_to_all'\) must be at most 32767 steps"),
])
@pytest.mark.filterwarnings("ignore:delay .* is longer than 0.1 s")
def test_times_beyond_float64_in_steps_get_the_range_error(act, match):
    net = ss.Network(dt=1e-3)
    p = net.add(ss.LIF(2))
    with pytest.raises(ValueError, match=match):
        act(net, p)


def test_a_subnormal_dt_gets_the_range_error_and_a_pulse_of_1e308_s_stays_on():
    net = ss.Network(dt=1e-320)
    net.add(ss.LIF(2))
    with pytest.raises(ValueError, match=r"duration must be at most 9007199254740992 steps of "
                                         r"dt = 1e-320 s"):
        net.run(0.01)
    pulse = ss.PulseCurrent(ss.LIF(1), start=0.0, width=1.7e308, amplitude=1.0)
    assert pulse.values(np.arange(3), 1e-3, 1, None).ravel().tolist() == [1.0, 1.0, 1.0]


# p4: one monitor in two networks mixed their data, timed with the last one's dt
def test_a_monitor_is_refused_by_a_second_network():
    pop = ss.LIF(2, units="1", v_th=0.1)
    a, b = ss.Network(dt=1e-3), ss.Network(dt=1e-4)
    a.add(pop)
    b.add(pop)
    m = a.add(ss.SpikeMonitor(pop))
    with pytest.raises(ValueError, match=r"this SpikeMonitor was added to another network: a "
                                         r"monitor records one network"):
        b.add(m)


# p5: attributes assigned after construction skipped the constructor's checks
@pytest.mark.parametrize("change,match", [
    (lambda net, p: setattr(net.add(ss.StateMonitor(p, "v")), "ids", np.array([5])),
     r"StateMonitor.ids must be in \[0, 1\], got 5"),  # (read the next population's v)
    (lambda net, p: setattr(net.add(ss.StateMonitor(p, "v")), "every", 0),
     r"StateMonitor.every must be an integer >= 1, got 0"),  # (ZeroDivisionError)
    (lambda net, p: setattr(p, "reset", "zero"), r"LIF.reset must be one of"),  # (read: none)
    (lambda net, p: setattr(p, "method", "rk4"), r"LIF.method must be one of"),  # (exact)
    (lambda net, p: setattr(p, "n", 0), r"LIF.n must be an integer >= 1"),
    (lambda net, p: setattr(net.connect(p, p), "receptor", "w"), r"receptor must be one of 'i'"),
    (lambda net, p: setattr(net.add(ss.OUCurrent(p)), "tau", 0.0), r"OUCurrent.tau must be > 0"),
    (lambda net, p: setattr(net.add(ss.PoissonDrive(p, 10.0)), "rate", -5.0),
     r"PoissonDrive.rate must be >= 0.0"),
    (lambda net, p: setattr(net.add(ss.NoiseCurrent(p, 0.0, 0.1)), "mean", "x"),
     r"NoiseCurrent.mean must be a real number, got 'x'"),
])
def test_attributes_assigned_after_construction_are_checked_again_at_the_run(change, match):
    net = ss.Network(dt=1e-3)
    p = net.add(ss.LIF(2, units="1"))
    net.add(ss.LIF(3, units="1"))
    change(net, p)
    with pytest.raises((ValueError, TypeError), match=match):
        net.run(0.002)


def test_spike_times_ids_assigned_after_construction_are_refused_not_a_segfault():
    """An id beyond the source, set after construction, went into the event lists unchecked:
    the kernel wrote past its arrays (Segmentation fault, exit code -11)."""
    code = ("import numpy as np, spikesim as ss\n"
            "net = ss.Network(dt=1e-3); p = net.add(ss.LIF(2, units='1'))\n"
            "st = net.add(ss.SpikeTimes(2, [0.001], [0])); net.connect(st, p)\n"
            "st.ids = np.array([10**9]); net.run(0.003)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 1, (proc.returncode, proc.stderr[-2000:])
    assert "ValueError: SpikeTimes.ids must be in [0, 1], got 1000000000" in proc.stderr


# p6: a Spikes made by hand: an id beyond n_neurons counted as another realization's neuron
def test_a_handmade_spikes_with_ids_beyond_its_neurons_is_refused_where_counted():
    s = Spikes(np.array([0.01, 0.02]), np.array([5, 1]), np.array([0, 0]), 3, 2, 0.0, 0.1)
    for count in (analysis.spike_counts, analysis.firing_rates, analysis.cv_isi,
                  lambda s: analysis.population_rate(s, 0.01), plot.raster):
        with pytest.raises(ValueError, match=r"Spikes.ids must be in \[0, 2\], got 5"):
            count(s)


@pytest.mark.parametrize("make,match", [
    (lambda: Spikes(np.array([0.1, 0.2]), np.array([1]), np.array([0]), 3), "same length"),
    (lambda: Spikes(np.array([0.1]), np.array([1.0]), np.array([0]), 3),
     r"Spikes.ids must be a 1-d array of integers, got an array of float64"),
    (lambda: Spikes(np.array([0.1]), np.array([1]), np.array([0]), 3, 1, 0.1, 0.0),
     r"Spikes.t_stop must be >= 0.1"),
])
def test_a_handmade_spikes_is_checked_where_it_is_used(make, match):
    """(Not where it is made: a monitor's or a file's spikes are valid, and a check there
    would cost every run that returns spikes.)"""
    for use in (analysis.spike_counts, analysis.cv_isi, plot.raster):
        with pytest.raises((ValueError, TypeError), match=match):
            use(make())


# p7: smaller ones
def test_a_recorded_trace_needs_a_variable_name(tmp_path):
    net = ss.Network(dt=1e-3)
    p = net.add(ss.LIF(2, units="1"))
    out = ss.H5Output(tmp_path / "r.h5")
    net.add(ss.StateRecorder(out, p, ["i", "v"]))
    net.run(0.005)
    data = ss.load(out.path)
    for read in (data.trace, data.trace_ids):  # (None read whichever report came first)
        with pytest.raises(TypeError, match=r"variable must be the name of a recorded state "
                                            r"variable \(a str such as 'v'\), got None"):
            read(variable=None)


def test_a_recorder_name_with_a_nul_is_refused(tmp_path):
    out = ss.H5Output(tmp_path / "r.h5")  # (HDF5 cuts the name at the NUL: group 'a')
    with pytest.raises(ValueError, match=r"SpikeRecorder.name must be a non-empty name without "
                                         r"'/' or NUL"):
        ss.SpikeRecorder(out, ss.LIF(2), name="a\0b")


@pytest.mark.parametrize("make,match", [
    (lambda: ss.Projection(ss.LIF(2), ss.LIF(2), name=5), r"name must be a str or None, got 5"),
    (lambda: ss.LIF(4, tau_mem=np.ma.masked_array([0.02] * 4, mask=[1, 0, 0, 0])),
     r"LIF.tau_mem must not be a masked array with masked elements"),
    (lambda: ss.SpikeMonitor(ss.LIF(4), ids=np.ma.masked_array([0, 1], mask=[0, 1])),
     r"SpikeMonitor.ids must not be a masked array"),
    (lambda: ss.Projection(ss.LIF(2), ss.LIF(2), "explicit",
                           pre_ids=np.ma.masked_array([0, 1], mask=[0, 1]), post_ids=[0, 1]),
     r"pre_ids must not be a masked array"),
    (lambda: analysis.trial_average(["a", "b"]), r"values must be an array of numbers, got an "
                                                 r"array of <U1"),
    (lambda: analysis.fi_curve(None, [1.0]), r"simulate must be a function of the current"),
    (lambda: analysis.fi_curve(lambda i: "x", [1.0]), r"simulate\(1.0\) must be a rate"),
    (lambda: plot.raster((np.array([0.1]), np.array([0])), ax=3),
     r"ax must be a matplotlib Axes or None, got int"),
    (lambda: plot.save(None, "x.png"), r"fig_or_ax must be a matplotlib Figure or Axes"),
    (lambda: plot.rasters(Spikes(np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.int64), 1)),
     r"rasters takes a list of spikes .* for one population, call raster"),
])
def test_small_ones_name_the_parameter(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def test_a_checkpoint_step_beyond_int64_steps_is_refused(tmp_path):
    import h5py

    net = ss.Network(dt=1e-3)
    net.add(ss.LIF(2))
    net.run(0.002)
    path = ss.save_checkpoint(net, tmp_path / "c.h5")
    with h5py.File(path, "r+") as f:
        f.attrs["step"] = np.uint64(2**63)  # (OverflowError at the next run before)
    fresh = ss.Network(dt=1e-3)
    fresh.add(ss.LIF(2))
    with pytest.raises(ValueError, match=r"step must be <= 4611686018427387904"):
        ss.load_checkpoint(fresh, path)


def test_what_the_tables_hold_cannot_change_once_built_and_what_is_read_anew_can():
    """A parameter, weight or noise level assigned after the build was ignored without a word
    (the kernel's tables hold the old value): it raises, naming it; a source's rate, p, times
    and ids and a given current's values may change, and are checked again at the next run
    (a SpikeTimes id out of range used to reach the kernel: a segmentation fault)."""
    net = ss.Network(dt=1e-3)
    pop = net.add(ss.LIF(3, units="1"), name="exc")
    noise = net.add(ss.NoiseCurrent(pop, std=0.1))
    amp = net.add(ss.ConstantCurrent(pop, 0.5))
    src = net.add(ss.PoissonInput(3, rate=10.0))
    given = net.add(ss.SpikeTimes(3, [0.001], [0]))
    proj = net.connect(src, pop, weight=0.1)
    pop.tau_mem = 0.02  # before the build: taken
    net.run(0.002)
    for obj, attr, value in ((pop, "tau_mem", 0.03), (pop, "name", "e"), (proj, "weight", 0.2),
                             (noise, "std", 0.2), (src, "n", 4)):
        with pytest.raises(AttributeError, match=rf"{attr} cannot change once its network is "
                                                 rf"built \(the kernel's tables hold it\)"):
            setattr(obj, attr, value)
    src.rate, amp.amplitude = 20.0, 0.25
    given.times, given.ids = [0.004, 0.003], [2, 1]
    mon = net.add(ss.SpikeMonitor(given))
    net.run(0.003)
    np.testing.assert_allclose(mon.spikes.times, [0.003, 0.004])
    np.testing.assert_array_equal(mon.spikes.ids, [1, 2])
    given.ids = [7, 1]
    with pytest.raises(ValueError, match=r"SpikeTimes.ids must be in \[0, 2\], got 7"):
        net.run(0.001)


def test_lists_given_between_runs_are_taken_and_a_replaced_state_array_is_refused():
    """RateCoded.data and CurrentArray.data given anew as lists (a list failed inside, on
    .ndim or .shape); net.state['v'] replaced by an array of another shape reached the kernel,
    which read past its end (an LLVM assertion at exit)."""
    net = ss.Network(dt=1e-3)
    pop = net.add(ss.RC(4, tau=1e-2, R=1.0, v_th=10.0, units="1"))
    coded = net.add(ss.RateCoded(np.zeros(4)))
    given = net.add(ss.CurrentArray(pop, np.zeros((5, 4))))
    mon = net.add(ss.SpikeMonitor(coded))
    v = net.add(ss.StateMonitor(pop, "v"))
    net.run(0.002)
    coded.data, given.data = [1.0] * 4, [[2.0] * 4] * 5
    net.run(0.003)
    assert len(mon.spikes) == 12 and v.trace("v").values[-1, 0, 0] > 0  # (3 steps × 4 units)
    coded.data = [[0.5] * 4]
    with pytest.raises(ValueError, match=r"RateCoded.data must have 1 dimension"):
        net.run(0.001)
    coded.data = np.zeros(4)
    v_state = net.state["v"]
    net.state["v"] = np.zeros((1, 2))
    with pytest.raises(ValueError, match=r"net.state\['v'\] must stay a C-ordered array of shape "
                                         r"\(1, 4\) and dtype float64 .* got shape \(1, 2\)"):
        net.run(0.001)
    net.state["v"] = v_state
    net.state["v"][...] = 0.5  # in place: taken
    net.run(0.001)


# (An attribute assigned between a member's construction and Network.add is checked again.)
def test_assigned_before_add_is_checked_at_build():
    net = ss.Network(dt=1e-3, parallel=False)
    pop = net.add(ss.LIF(3, units="1"), name="pop")
    st = ss.SpikeTimes(2, times=[0.001, 0.002], ids=[0, 1])
    st.ids = np.array([0, 7])  # (the constructor refuses 7: the kernel would read past the units)
    net.add(st, name="st")
    net.connect(st, pop, "all_to_all", weight=0.1)
    with pytest.raises(ValueError, match=r"SpikeTimes.ids must be in \[0, 1\]"):
        net.build()  # (not run: the unchecked id segfaults the kernel)


def test_constructed_members_are_not_dirty():
    pop = ss.LIF(3, units="1")
    assert not pop._dirty and not ss.SpikeTimes(2, [0.001], [1])._dirty
    pop.tau_mem = 0.02
    assert pop._dirty


# (RateCoded data given anew between runs is checked against the network's batch.)
def test_rate_coded_data_of_another_batch_refused_between_runs():
    net = ss.Network(dt=1e-3, batch=3, parallel=False)
    src = net.add(ss.RateCoded(np.zeros((10, 3, 4))), name="rc")
    net.add(ss.SpikeMonitor(src))
    net.run(0.001)
    src.data = np.ones((10, 2, 4))  # 2 realizations: realization 2 would read step k+1's rows
    with pytest.raises(ValueError, match="2 realizations, but the network runs batch = 3"):
        net.run(0.005)


# (A user's subclass: what its constructor assigns after the base constructor is checked.)
def test_what_a_subclass_constructor_assigns_is_checked_at_build():
    class Mine(ss.SpikeTimes):
        def __init__(self, n, name=None):
            super().__init__(n, [], [], name)
            self.times, self.ids = np.array([0.002]), np.array([3])  # 3: not in [0, 3)

    net = ss.Network(dt=1e-3, parallel=False)
    src = net.add(Mine(3, name="mine"))
    net.connect(src, net.add(ss.LIF(2, units="1"), name="pop"), "all_to_all", weight=1.0)
    with pytest.raises(ValueError, match=r"SpikeTimes.ids must be in \[0, 2\]"):
        net.build()  # (not run: the kernel writes the spike past the source's units)


def test_a_current_subclass_of_its_own_arguments_is_checked_again():
    class Ramp(ss.StepCurrent):
        def __init__(self, target, top):
            super().__init__(target, [0.0, 0.001], [top / 2, top])

    net = ss.Network(dt=1e-3, parallel=False)
    pop = net.add(ss.LIF(2, units="1"), name="pop")
    ramp = net.add(Ramp(pop, 0.2))
    ramp.amplitudes = [0.1, 0.3]  # (a list: converted by the check)
    net.build()
    assert isinstance(ramp.amplitudes, np.ndarray) and not ramp._dirty
    ramp.amplitudes = [0.1]  # (times has 2)
    with pytest.raises(ValueError, match="must be increasing and match amplitudes"):
        net.run(0.002)


@pytest.mark.parametrize("make,match", [
    (lambda: ss.LIF(3, tau_mem=None), r"LIF.tau_mem must be a number, an array or a "
                                      r"Distribution \(in s\), got None"),
    (lambda: ss.RC(3, tau=0.01, R=None), r"RC.R must be a number"),
    (lambda: ss.Leaky(3, beta=None), r"Leaky.beta must be a number"),
    (lambda: ss.AdaptiveLIF(3, b=None), r"AdaptiveLIF.b must be a number"),
])
def test_a_parameter_given_as_none_is_refused_where_given_unless_optional(make, match):
    """None passed where the population is made, as a number is checked: it was refused only
    at the build; the optional ones (v_init, tau_syn_inh, RC's C or tau) still take None."""
    with pytest.raises(TypeError, match=match):
        make()
    ss.LIF(3, tau_syn_inh=None, v_init=None)
    ss.RC(3, tau=0.01, C=None)
