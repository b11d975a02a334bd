import numpy as np
import pytest

import spikesim as ss
from spikesim import analysis
from spikesim.results import Spikes


def make_spikes(trains, t_stop, t_start=0.0):
    """Spikes from ``trains[b][n]`` = spike times of neuron n in realization b."""
    times, ids, reals = [], [], []
    for b, per_neuron in enumerate(trains):
        for n, t in enumerate(per_neuron):
            times.append(np.asarray(t, dtype=float))
            ids.append(np.full(len(t), n))
            reals.append(np.full(len(t), b))
    times, ids, reals = (np.concatenate(a) for a in (times, ids, reals))
    order = np.argsort(times, kind="stable")
    return Spikes(times[order], ids[order].astype(np.int64), reals[order].astype(np.int64),
                  n_neurons=len(trains[0]), n_realizations=len(trains), t_start=t_start,
                  t_stop=t_stop)


def poisson_trains(rng, rate, t_stop, n_neurons, n_realizations=1):
    trains = []
    for _ in range(n_realizations):
        per_neuron = []
        for _ in range(n_neurons):
            n = rng.poisson(rate * t_stop)
            per_neuron.append(np.sort(rng.uniform(0, t_stop, n)))
        trains.append(per_neuron)
    return trains


def test_counts_and_rates_of_regular_trains():
    periods = [0.05, 0.1, 0.25]  # 20, 10 and 4 Hz over 2 s
    trains = [[(np.arange(int(2 / p)) + 0.5) * p for p in periods],
              [(np.arange(int(2 / p)) + 0.5) * p for p in periods[::-1]]]
    s = make_spikes(trains, t_stop=2.0)
    np.testing.assert_array_equal(analysis.spike_counts(s), [[40, 20, 8], [8, 20, 40]])
    np.testing.assert_allclose(analysis.firing_rates(s), [[20, 10, 4], [4, 10, 20]])


def test_trains_give_back_each_neurons_spike_times_per_realization():
    rng = np.random.default_rng(3)
    trains = poisson_trains(rng, 20.0, 1.0, n_neurons=7, n_realizations=3)
    trains[1][4] = np.array([])  # a silent neuron keeps its (empty) place
    s = make_spikes(trains, t_stop=1.0)
    for b in range(3):
        got = s.trains(b)
        assert len(got) == 7
        for j in range(7):
            np.testing.assert_array_equal(got[j], trains[b][j])
    shuffled = np.random.default_rng(0).permutation(len(s))  # (made by hand, not in order)
    s2 = Spikes(s.times[shuffled], s.ids[shuffled], s.realizations[shuffled], 7, 3, 0.0, 1.0)
    np.testing.assert_array_equal(s2.trains(2)[5], trains[2][5])
    assert Spikes(np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.int64), 0).trains() == []
    with pytest.raises(ValueError, match="realization"):
        s.trains(3)


def test_firing_rates_use_the_recorded_interval():
    s = make_spikes([[[1.1, 1.2, 1.3]]], t_start=1.0, t_stop=1.5)
    np.testing.assert_allclose(analysis.firing_rates(s), [[6.0]])
    with pytest.raises(ValueError):
        analysis.firing_rates(make_spikes([[[0.1]]], t_stop=0.0))


def test_population_rate_of_known_spikes():
    # 2 neurons, bins [0, .1), [.1, .2), [.2, .3]; realization 1 has one spike in the last bin.
    s = make_spikes([[[0.01, 0.12], [0.02, 0.25]], [[], [0.3]]], t_stop=0.3)
    centers, rates = analysis.population_rate(s, 0.1)
    np.testing.assert_allclose(centers, [0.05, 0.15, 0.25])
    np.testing.assert_allclose(rates, [[10, 5, 5], [0, 0, 5]])


def test_population_rate_short_last_bin_and_smoothing():
    s = make_spikes([[[0.05, 0.22, 0.24]]], t_stop=0.25)
    centers, rates = analysis.population_rate(s, 0.1)
    np.testing.assert_allclose(centers, [0.05, 0.15, 0.225])
    np.testing.assert_allclose(rates, [[10, 0, 40]])
    # A single spike smoothed with sigma keeps its integral and gets that width.
    s = make_spikes([[[0.5]]], t_stop=1.0)
    centers, rates = analysis.population_rate(s, 0.001, smooth=0.02)
    r = rates[0]
    assert r.sum() * 0.001 == pytest.approx(1.0, rel=1e-6)
    mean = (centers * r).sum() / r.sum()
    assert mean == pytest.approx(0.5, abs=1e-3)
    assert np.sqrt(((centers - mean) ** 2 * r).sum() / r.sum()) == pytest.approx(0.02, rel=0.02)


def test_trial_average():
    mean, std = analysis.trial_average(np.array([[1.0, 2.0], [3.0, 6.0]]))
    np.testing.assert_allclose(mean, [2, 4])
    np.testing.assert_allclose(std, [1, 2])


def test_isi_per_neuron_and_realization():
    rng = np.random.default_rng(1)
    trains = poisson_trains(rng, 30, 1.0, n_neurons=4, n_realizations=3)
    s = make_spikes(trains, t_stop=1.0)
    out = analysis.isi(s)
    assert len(out) == 3 and all(len(row) == 4 for row in out)
    for b in range(3):
        for n in range(4):
            np.testing.assert_allclose(out[b][n], np.diff(trains[b][n]))
    pooled = analysis.pooled_isi(s)
    assert pooled.size == sum(max(len(t) - 1, 0) for row in trains for t in row)


def test_cv_regular_is_zero_and_nan_below_two_intervals():
    s = make_spikes([[np.arange(100) * 0.01 + 0.005, [0.2, 0.5], [0.1, 0.3, 0.4]]], t_stop=1.0)
    cv = analysis.cv_isi(s)
    assert cv.shape == (1, 3)
    assert abs(cv[0, 0]) < 1e-9
    assert np.isnan(cv[0, 1])
    assert cv[0, 2] == pytest.approx(np.std([0.2, 0.1]) / 0.15)


def test_cv_poisson_is_one():
    rng = np.random.default_rng(0)
    s = make_spikes(poisson_trains(rng, 50, 20.0, n_neurons=20, n_realizations=2), t_stop=20.0)
    cv = analysis.cv_isi(s)
    assert cv.shape == (2, 20)
    assert np.mean(cv) == pytest.approx(1.0, abs=0.05)


def test_fano_factor():
    rng = np.random.default_rng(2)
    s = make_spikes(poisson_trains(rng, 20, 10.0, n_neurons=50), t_stop=10.0)
    fano = analysis.fano_factor(s, 0.1)
    assert fano.shape == (1, 50)
    assert np.mean(fano) == pytest.approx(1.0, abs=0.1)
    regular = make_spikes([[(np.arange(100) + 0.5) * 0.01, []]], t_stop=1.0)
    fano = analysis.fano_factor(regular, 0.1)
    assert fano[0, 0] == 0.0 and np.isnan(fano[0, 1])
    # Hand-checked: counts (2, 0, 1, 1) in 4 windows -> mean 1, var 0.5.
    s = make_spikes([[[0.1, 0.2, 0.6, 0.9, 1.05]]], t_stop=1.1)
    assert analysis.fano_factor(s, 0.25)[0, 0] == pytest.approx(0.5)


def test_rate_histogram_counts_all_neurons():
    rng = np.random.default_rng(3)
    s = make_spikes(poisson_trains(rng, 10, 2.0, n_neurons=30, n_realizations=2), t_stop=2.0)
    counts, edges = analysis.rate_histogram(s, bins=10)
    assert counts.sum() == 60 and edges.size == 11
    assert edges[0] == pytest.approx(analysis.firing_rates(s).min())


def test_fi_curve_evaluates_the_callable():
    currents, rates = analysis.fi_curve(lambda i: max(0.0, 1e9 * (i - 1e-9)), [0, 2e-9, 3e-9])
    np.testing.assert_allclose(currents, [0, 2e-9, 3e-9])
    np.testing.assert_allclose(rates, [0, 1, 2])
    _, rates = analysis.fi_curve(lambda i: np.array([i, 2 * i]), [1.0, 2.0])
    assert rates.shape == (2, 2)


@pytest.mark.parametrize("bad, error, message", [
    (np.nan, ValueError, r"must be finite \(in s\), got nan"),
    (np.inf, ValueError, r"must be finite \(in s\), got inf"),
    ("a", TypeError, r"must be a real number \(in s\), got 'a'"),
    (True, TypeError, r"must be a real number \(in s\), got True"),
    (-1, ValueError, r"must be > 0 \(in s\), got -1"),
    (0, ValueError, r"must be > 0 \(in s\), got 0"),
])
def test_bin_widths_are_checked(bad, error, message):
    s = make_spikes([[[0.1, 0.2]]], t_stop=1.0)
    with pytest.raises(error, match="bin_width " + message):
        analysis.population_rate(s, bad)
    with pytest.raises(error, match="window " + message):
        analysis.fano_factor(s, bad)


@pytest.mark.parametrize("bad, error, message", [
    (-1, ValueError, r"smooth must be >= 0 \(in s\), got -1"),
    (np.nan, ValueError, r"smooth must be finite \(in s\), got nan"),
    ("a", TypeError, r"smooth must be a real number \(in s\), got 'a'"),
    (2.0, ValueError, r"smooth must be <= 1 s \(the recorded interval\), got 2.0"),
])
def test_smooth_is_checked(bad, error, message):
    s = make_spikes([[[0.1, 0.2]]], t_stop=1.0)
    with pytest.raises(error, match=message):
        analysis.population_rate(s, 0.1, smooth=bad)
    for no_smoothing in (None, 0):
        np.testing.assert_array_equal(analysis.population_rate(s, 0.1, no_smoothing)[1],
                                      analysis.population_rate(s, 0.1)[1])


def test_bin_count_is_limited():
    s = make_spikes([[[0.1, 0.2]]], t_stop=1.0)
    with pytest.raises(ValueError, match=r"bin_width must be >= 1e-07 s \(at most 10,000,000 "
                                         r"bins in the recorded interval of 1 s\), got 1e-09"):
        analysis.population_rate(s, 1e-9)
    with pytest.raises(ValueError, match=r"window must be >= 1e-07 s \(at most 10,000,000 "
                                         r"windows in the recorded interval of 1 s\)"):
        analysis.fano_factor(s, 0.99e-7)
    assert analysis.fano_factor(s, 1e-7).shape == (1, 1)  # the smallest width shown passes


def test_empty_interval_raises_like_firing_rates():
    s = make_spikes([[[0.1]]], t_stop=0.0)
    for f in (analysis.firing_rates, lambda s: analysis.population_rate(s, 0.1),
              lambda s: analysis.fano_factor(s, 0.1)):
        with pytest.raises(ValueError, match=r"empty recorded interval \[0.0, 0.0\] s"):
            f(s)


@pytest.mark.parametrize("sigma", [0.3, 2.0, 7.5, 40.0])  # 40: the kernel spans the signal
def test_smoothing_matches_scipy_reflect(sigma):
    from scipy.ndimage import gaussian_filter1d

    rates = np.random.default_rng(4).poisson(3.0, (2, 30)).astype(float)
    np.testing.assert_allclose(analysis._gaussian_smooth(rates, sigma),
                               gaussian_filter1d(rates, sigma, axis=-1, mode="reflect"),
                               rtol=0, atol=1e-12)


def test_other_bad_inputs_are_named():
    s = make_spikes([[[0.1, 0.2]]], t_stop=1.0)
    for bins in (0, -1, 10**8):
        with pytest.raises(ValueError, match=r"bins must be in \[1, 10000000\] when an integer"):
            analysis.rate_histogram(s, bins=bins)
    with pytest.raises(ValueError, match=r"values must have at least 1 realization"):
        analysis.trial_average(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="currents must be finite"):
        analysis.fi_curve(lambda i: i, [0.0, np.nan])
    with pytest.raises(ValueError, match=r"realization must be in \[0, 0\], got 5"):
        s.select(5)
    with pytest.raises(TypeError, match=r"realization must be an integer, got"):
        s.select([0])


def test_a_spike_on_a_bin_edge_opens_that_bin():
    """A regular 10 Hz train (spikes at 0, 0.1, ..., 0.9 s; dt = 1 ms) in 0.1 s bins: one
    spike per bin — 0.1·3 rounds above 0.3 = 300·dt, which used to put the spike at 0.3 s
    in the bin before. Fano factor of one spike per window: 0."""
    net = ss.Network(dt=1e-3)
    src = net.add(ss.SpikeTimes(1, np.arange(10) * 0.1, np.zeros(10, int)))
    mon = net.add(ss.SpikeMonitor(src))
    net.run(1.0)
    _, rates = analysis.population_rate(mon.spikes, 0.1)
    np.testing.assert_allclose(rates, 10.0)
    assert analysis.fano_factor(mon.spikes, 0.1)[0, 0] == 0.0


def test_a_group_that_an_appending_run_does_not_record_ends_where_that_run_starts(tmp_path):
    """Two Poisson groups recorded over [0, 0.2] s, then an appending run (from a checkpoint)
    records one of them to 0.5 s: the other reads back with t_stop 0.2 s and its true rate,
    and a later run that records it again is refused as leaving a gap."""
    def network():
        net = ss.Network(dt=1e-3, seed=4, chunk=50)
        return (net, net.add(ss.PoissonInput(4, rate=50.0), name="exc"),
                net.add(ss.PoissonInput(4, rate=50.0), name="inp"))

    path, ckpt = tmp_path / "r.h5", tmp_path / "c.h5"
    net, exc, inp = network()
    out = ss.H5Output(path)
    net.add(ss.SpikeRecorder(out, exc))
    net.add(ss.SpikeRecorder(out, inp))
    memory = net.add(ss.SpikeMonitor(inp))
    net.run(0.2)
    ss.save_checkpoint(net, ckpt)
    net2, exc2, inp2 = network()
    ss.load_checkpoint(net2, ckpt)
    net2.add(ss.SpikeRecorder(ss.H5Output(path, append=True), exc2))
    net2.run(0.3)
    got = ss.load(path).spikes("inp")
    assert got.t_stop == pytest.approx(0.2) and len(got) == len(memory.spikes)
    np.testing.assert_allclose(analysis.firing_rates(got), analysis.firing_rates(memory.spikes))
    ss.save_checkpoint(net2, ckpt)
    net3, exc3, inp3 = network()
    ss.load_checkpoint(net3, ckpt)
    out3 = ss.H5Output(path, append=True)
    net3.add(ss.SpikeRecorder(out3, exc3))
    net3.add(ss.SpikeRecorder(out3, inp3))
    with pytest.raises(ValueError, match="gap"):
        net3.run(0.2)


def test_histogram_bins_other_than_a_count_or_edges_get_named_errors():
    """A float count failed inside NumPy (a TypeError not naming the function's bins), and
    fewer than 2 edges gave an empty histogram silently."""
    s = Spikes(np.array([0.1, 0.2, 0.3]), np.array([0, 1, 0]), np.zeros(3, np.int64), 2, 1,
               0.0, 1.0)
    with pytest.raises(TypeError, match=r"bins must be an integer number of bins \(1 to"):
        analysis.rate_histogram(s, 2.5)
    for edges in ([], [1.0], [2.0, 1.0, 3.0]):
        with pytest.raises(ValueError, match="bins must hold at least 2 edges, in increasing"):
            analysis.rate_histogram(s, edges)
    counts, edges = analysis.rate_histogram(s, [0.0, 1.5, 3.0])
    assert counts.tolist() == [1, 1] and edges.tolist() == [0.0, 1.5, 3.0]


def test_synchrony_is_one_for_neurons_firing_together_and_small_for_independent_ones():
    """Golomb's chi: sqrt(var of the population rate / mean var of the single rates)."""
    rng = np.random.default_rng(3)
    t = np.sort(rng.uniform(0, 2.0, 40))
    together = make_spikes([[t] * 20, [t[:20]] * 20], t_stop=2.0)
    np.testing.assert_allclose(analysis.synchrony(together, 0.01), 1.0)
    apart = make_spikes(poisson_trains(rng, 20.0, 2.0, 400), t_stop=2.0)
    chi = analysis.synchrony(apart, 0.01)[0]
    assert 0.5 / np.sqrt(400) < chi < 2 / np.sqrt(400)
    counts = np.zeros((400, 200))  # the definition, with every (neuron, bin) count
    np.add.at(counts, (apart.ids, (apart.times / 0.01).astype(int)), 1)
    assert chi == pytest.approx(np.sqrt(counts.mean(0).var() / counts.var(1).mean()))
    silent = make_spikes([[[]] * 3], t_stop=1.0)
    assert np.isnan(analysis.synchrony(silent, 0.1)).all()


def test_rate_spectrum_peaks_at_the_oscillation_and_keeps_parseval():
    rng = np.random.default_rng(4)
    # 200 neurons firing with probability 0.05 + 0.05 sin(2 pi 25 t) per 1 ms step, 4 s
    steps = np.arange(4000)
    p = 0.05 * (1 + np.sin(2 * np.pi * 25 * steps * 1e-3))
    fire = rng.random((4000, 200)) < p[:, None]
    k, n = np.nonzero(fire)
    s = Spikes(k * 1e-3, n.astype(np.int64), np.zeros(k.size, np.int64), 200, 1, 0.0, 4.0)
    freqs, power = analysis.rate_spectrum(s, 2e-3)
    assert freqs[-1] == pytest.approx(250.0) and power.shape == (1, freqs.size)
    assert freqs[1:][power[0, 1:].argmax()] == pytest.approx(25.0)
    _, rates = analysis.population_rate(s, 2e-3)
    assert power.sum() * (freqs[1] - freqs[0]) == pytest.approx(rates.var())
    with pytest.raises(ValueError, match="at least 2 whole bins"):
        analysis.rate_spectrum(s, 3.0)


def test_spikes_with_unsigned_ids_are_counted():
    """Ids and realizations of an unsigned type (a foreign file's uint64 node ids, made into
    Spikes by hand) are counted as any others: np.bincount refused them (a TypeError)."""
    times = np.array([0.1, 0.2, 0.3, 0.4])
    ids = np.array([0, 1, 1, 2], np.uint64)
    s = Spikes(times, ids, np.zeros(4, np.uint32), 3, 1, 0.0, 1.0)
    np.testing.assert_array_equal(analysis.spike_counts(s), [[1, 2, 1]])
    np.testing.assert_allclose(analysis.firing_rates(s), [[1.0, 2.0, 1.0]])
    assert analysis.synchrony(s, 0.1).shape == (1,)
    empty = Spikes(np.zeros(0), np.zeros(0, np.uint64), np.zeros(0, np.uint64), 3, 1, 0.0, 1.0)
    np.testing.assert_array_equal(analysis.spike_counts(empty), [[0, 0, 0]])
