import dataclasses

import h5py
import matplotlib.image
import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.figure import Figure
from matplotlib.patches import StepPatch

import spikesim as ss
from spikesim import analysis, cli, plot
from spikesim.results import Spikes, Trace


def random_spikes(n_spikes, n_neurons=50, n_realizations=2, t_stop=1.0, seed=0):
    rng = np.random.default_rng(seed)
    times = np.sort(rng.uniform(0, t_stop, n_spikes))
    return Spikes(times, rng.integers(0, n_neurons, n_spikes),
                  rng.integers(0, n_realizations, n_spikes), n_neurons, n_realizations,
                  0.0, t_stop, "exc")


def noisy_trace(n_samples=200, n_realizations=5, n_selected=3, unit="V", threshold=-0.05):
    rng = np.random.default_rng(1)
    times = (np.arange(n_samples) + 1) * 1e-3
    values = -0.07 + 0.005 * rng.standard_normal((n_samples, n_realizations, n_selected))
    return Trace(times, values, np.array([4, 7, 9][:n_selected]), "v", unit, "exc", threshold)


def render(obj, tmp_path, name="fig.png"):
    path = tmp_path / name
    plot.save(obj, path)
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100
    return path


def marker_count(ax):
    return sum(len(line.get_xdata()) for line in ax.lines)


def legend_texts(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def stair_heights(ax):
    return [p.get_data().values for p in ax.patches if isinstance(p, StepPatch)]


def test_raster_points_one_marker_per_spike_in_range(tmp_path):
    s = random_spikes(3000)
    ax = plot.raster(s)
    assert isinstance(ax, Axes) and not ax.images
    assert marker_count(ax) == 3000
    assert len(ax.lines) == 2 and ax.lines[0].get_color() != ax.lines[1].get_color()
    assert ax.get_xlabel() == "time (s)" and ax.get_ylabel() == "neuron"
    render(ax, tmp_path)
    labels = {t.get_text() for t in ax.get_yticklabels()}
    assert labels and all(0 <= int(label) < 50 for label in labels)
    assert [t.get_text() for t in ax.texts] == ["r0", "r1"]

    ax = plot.raster(s, t_range=(0.2, 0.5), t_unit="ms")
    in_range = np.count_nonzero((s.times >= 0.2) & (s.times <= 0.5))
    assert marker_count(ax) == in_range
    assert ax.get_xlabel() == "time (ms)"
    assert ax.get_xlim() == pytest.approx((200, 500))
    # Rows stack realizations: realization 1 occupies rows N … 2N−1.
    y = np.concatenate([line.get_ydata() for line in ax.lines])
    assert y.min() >= 0 and y.max() < 100 and np.any(y >= 50)


def test_raster_image_mode_counts_every_spike(tmp_path):
    s = random_spikes(5000, n_neurons=3000)
    ax = plot.raster(s, mode="image", image_bins=(200, 500))
    assert not ax.lines and len(ax.images) == 1
    counts = ax.images[0].get_array()
    assert counts.shape == (500, 200) and counts.sum() == 5000
    render(ax, tmp_path)
    ax = plot.raster(s, t_range=(0.1, 0.3), mode="image")
    assert ax.images[0].get_array().sum() == np.count_nonzero((s.times >= 0.1) & (s.times <= 0.3))


def test_raster_switches_to_image_above_max_points():
    s = random_spikes(2000)
    assert plot.raster(s, max_points=1999).images
    assert not plot.raster(s, max_points=2000).images


def test_raster_into_given_axes_and_from_tuples():
    fig = Figure()
    ax = fig.add_subplot()
    assert plot.raster(([0.1, 0.2, 0.3], [0, 2, 1]), ax=ax) is ax
    assert marker_count(ax) == 3 and ax.get_ylim() == (-0.5, 2.5)
    ax = plot.raster(([0.1, 0.2, 0.3], [0, 2, 1], [0, 1, 1]))
    assert [len(line.get_xdata()) for line in ax.lines] == [1, 2]
    assert ax.get_ylim() == (-0.5, 5.5)


def test_raster_of_many_realizations_of_one_neuron_has_realization_rows(tmp_path):
    s = random_spikes(2000, n_neurons=1, n_realizations=500)
    ax = plot.raster(s)
    render(ax, tmp_path)
    assert ax.get_ylabel() == "realization" and ax.get_ylim() == (-0.5, 499.5)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert 2 <= len(labels) <= 10 and labels[0] == "0"
    assert len(set(labels)) == len(labels) and all(0 <= int(x) < 500 for x in labels)
    assert not ax.collections and not ax.texts  # no separators, no block names
    assert len(ax.lines) == 1 and marker_count(ax) == 2000


def test_raster_of_one_neuron_is_one_clean_row(tmp_path):
    ax = plot.raster(([0.03, 0.06, 0.09], [0, 0, 0]))
    render(ax, tmp_path)
    assert ax.get_ylabel() == "neuron" and ax.get_ylim() == (-0.5, 0.5)
    assert list(ax.get_yticks()) == [0] and ax.get_yticklabels()[0].get_text() == "0"
    assert ax.yaxis.get_offset_text().get_text() == ""


def test_raster_blocks_few_neurons_by_neuron_and_many_blocks_by_index(tmp_path):
    ax = plot.raster(random_spikes(3000, n_neurons=3, n_realizations=50))
    assert ax.get_ylabel() == "realization"
    assert [t.get_text() for t in ax.texts] == ["n0", "n1", "n2"]
    (separators,) = ax.collections
    assert len(separators.get_segments()) == 2
    assert len(ax.get_yticks()) <= 12

    ax = plot.raster(random_spikes(6000, n_neurons=50, n_realizations=20))
    render(ax, tmp_path)
    assert ax.get_ylabel() == "realization (50 neurons each)"
    labels = [int(t.get_text()) for t in ax.get_yticklabels()]
    assert 2 <= len(labels) <= 10 and labels == sorted(set(labels)) and labels[-1] < 20


def test_raster_blocks_leave_their_top_unticked_so_labels_of_neighbours_do_not_meet(tmp_path):
    """Four realizations of 50 neurons were ticked 0, 20, 40 each: a block's 40 sat just
    below the next block's 0, and in a small panel the two labels overlapped."""
    fig = Figure(figsize=(4, 3))
    ax = plot.raster(random_spikes(2000, n_neurons=50, n_realizations=4), fig.subplots())
    render(ax, tmp_path)
    ticks = ax.get_yticks()
    within = ticks % 50
    assert len(ticks) >= 8 and set(within) <= set(range(40)) and 0 in within
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()
    boxes = sorted((label.get_window_extent(renderer) for label in ax.get_yticklabels()),
                   key=lambda b: b.y0)
    assert all(lower.y1 <= upper.y0 for lower, upper in zip(boxes, boxes[1:]))


def test_time_label_only_under_the_bottom_of_shared_axes():
    fig = Figure()
    top, bottom = fig.subplots(2, 1, sharex=True)
    plot.raster(random_spikes(100), top)
    plot.raster(random_spikes(100), bottom)
    assert top.get_xlabel() == "" and bottom.get_xlabel() == "time (s)"


def test_as_spikes_and_as_trace_reject_other_inputs():
    with pytest.raises(TypeError):
        plot._as_spikes([0.1, 0.2])
    with pytest.raises(TypeError):
        plot._as_trace(np.zeros(3))
    s = plot._as_spikes(([0.3, 0.1], [1, 0], [2, 0]), population="inh")
    assert (s.n_neurons, s.n_realizations, s.population) == (2, 3, "inh")
    np.testing.assert_array_equal(s.times, [0.1, 0.3])
    np.testing.assert_array_equal(s.realizations, [0, 2])
    tr = plot._as_trace((np.arange(4.0), np.ones((4, 2))))
    assert tr.values.shape == (4, 1, 2) and tr.variable == "v"


def test_path_inputs_go_through_io_load(tmp_path, monkeypatch):
    io = pytest.importorskip("spikesim.io")
    calls = []

    class Fake:
        def spikes(self, population=None, ids=None, t_start=None, t_stop=None):
            calls.append(("spikes", population, ids, t_start, t_stop))
            return random_spikes(10)

        def trace(self, population=None, variable="v", ids=None, t_start=None, t_stop=None):
            calls.append(("trace", population, variable, ids, t_start, t_stop))
            return noisy_trace()

    monkeypatch.setattr(io, "load", lambda path: Fake())
    assert marker_count(plot.raster(tmp_path / "run.h5", population="exc")) == 10
    plot.traces(str(tmp_path / "run.h5"), variable="v", t_range=(0.1, None))
    assert calls == [("spikes", "exc", None, None, None), ("trace", None, "v", None, 0.1, None)]


def test_traces_labels_threshold_and_lines(tmp_path):
    tr = noisy_trace()
    ax = plot.traces(tr)
    # −70 mV-range volts are drawn in mV, threshold included.
    assert ax.get_ylabel() == "v (mV)" and ax.get_xlabel() == "time (s)"
    dashed = [line for line in ax.lines if line.get_linestyle() == "--"]
    assert len(dashed) == 1 and np.all(np.asarray(dashed[0].get_ydata()) == pytest.approx(-50))
    assert [t.get_text() for t in ax.texts] == ["threshold"]
    assert len(ax.lines) - 1 == 5 * 3
    assert legend_texts(ax) == ["neuron 4", "neuron 7", "neuron 9"]
    assert ax.get_title() == "exc: 5 realizations"
    render(ax, tmp_path)

    ax = plot.traces(tr, neurons=[7], realization=2)
    assert len(ax.lines) == 2
    np.testing.assert_allclose(ax.lines[0].get_ydata(), tr.values[:, 2, 1] * 1e3)
    assert ax.get_title() == "exc: neuron 7, realization 2" and ax.get_legend() is None

    no_threshold = Trace(tr.times, tr.values, tr.ids, "i", "A")
    ax = plot.traces(no_threshold)
    assert ax.get_ylabel() == "i (A)"
    assert not any(line.get_linestyle() == "--" for line in ax.lines)
    dimensionless = plot.traces(Trace(tr.times, tr.values, tr.ids, "v", "1"))
    assert dimensionless.get_ylabel() == "v"
    np.testing.assert_array_equal(dimensionless.lines[0].get_ydata(), tr.values[:, 0, 0])
    with pytest.raises(ValueError):
        plot.traces(tr, neurons=[5])


def test_traces_volts_stay_volts_and_far_threshold_is_left_out():
    # Lapicque-like: 0 … 0.5 V with a 10 V threshold that only disables firing.
    times = np.arange(1, 201) * 1e-3
    values = (0.5 * (1 - np.exp(-times / 5e-3)))[:, None, None]
    ax = plot.traces(Trace(times, values, np.array([0]), "v", "V", "rc", threshold=10.0))
    assert ax.get_ylabel() == "v (V)" and ax.get_ylim()[1] < 1.0
    assert not any(line.get_linestyle() == "--" for line in ax.lines) and not ax.texts
    ax = plot.traces(Trace(times, values, np.array([0]), "v", "V", "rc", threshold=1.0))
    assert any(line.get_linestyle() == "--" for line in ax.lines)


def test_traces_of_many_realizations_show_mean_std_and_samples():
    tr = noisy_trace(n_realizations=40, n_selected=1)
    ax = plot.traces(tr)
    assert legend_texts(ax) == ["3 sample realizations", "mean ± std"]
    assert ax.get_title() == "exc: neuron 4, 40 realizations"
    assert len([c for c in ax.collections if isinstance(c, PolyCollection)]) == 1
    assert len(ax.lines) == 3 + 1 + 1  # samples, mean, threshold
    # One realization: plain lines, no "mean" anywhere (as in a single-realization summary).
    sheet = plot.summary(random_spikes(100, n_neurons=10, n_realizations=1),
                         noisy_trace(n_realizations=1))
    trace_ax = sheet.axes[-1]
    assert legend_texts(trace_ax) == ["neuron 4", "neuron 7", "neuron 9"]
    assert not [c for c in trace_ax.collections if isinstance(c, PolyCollection)]  # no band
    assert [c for c in trace_ax.collections if isinstance(c, LineCollection)]  # spikes marked


def test_legend_sits_outside_the_axes(tmp_path):
    ax = plot.traces(noisy_trace())
    render(ax, tmp_path)
    renderer = ax.get_figure(root=True).canvas.get_renderer()
    assert ax.get_legend().get_window_extent(renderer).x0 >= ax.get_window_extent(renderer).x1


def test_traces_mean_and_spread():
    tr = noisy_trace()
    ax = plot.traces(tr, neurons=[9], mean=True)
    (mean_line,) = [line for line in ax.lines if line.get_label() == "mean ± std"]
    expected = tr.values[:, :, 2].mean(axis=1) * 1e3
    np.testing.assert_allclose(mean_line.get_ydata(), expected)
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 1
    vertices = bands[0].get_paths()[0].vertices
    spread = tr.values[:, :, 2].std(axis=1) * 1e3
    assert vertices[:, 1].max() == pytest.approx((expected + spread).max())
    assert vertices[:, 1].min() == pytest.approx((expected - spread).min())
    samples = [line for line in ax.lines if line.get_linewidth() < 1]
    assert len(samples) == 3
    np.testing.assert_allclose(samples[0].get_ydata(), tr.values[:, 0, 2] * 1e3)
    assert len([line for line in plot.traces(tr, mean=True, samples=0).lines
                if line.get_linewidth() < 1]) == 0


def test_count_histogram_total_is_neuron_count(tmp_path):
    s = random_spikes(4000, n_neurons=80, n_realizations=3)
    ax = plot.count_histogram(s)
    (heights,) = stair_heights(ax)
    assert heights.sum() == 80 * 3
    assert ax.get_xlabel() == "spike count per neuron and realization"
    assert ax.get_ylabel() == "number of neurons × realizations"
    render(ax, tmp_path)
    ax = plot.count_histogram(s.select(0))
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("spike count per neuron", "number of neurons")
    ax = plot.count_histogram(random_spikes(2000, n_neurons=1, n_realizations=500))
    assert ax.get_xlabel() == "spike count per realization"
    assert ax.get_ylabel() == "number of realizations"
    assert stair_heights(ax)[0].sum() == 500


def test_vm_histograms_one_per_time():
    tr = noisy_trace()
    ax = plot.vm_histograms(tr, times=[0.02, 0.1, 0.2])
    heights = stair_heights(ax)
    assert len(heights) == 3 and all(h.sum() == 5 * 3 for h in heights)
    assert ax.get_xlabel() == "v (mV)"
    dashed = [line for line in ax.lines if line.get_linestyle() == "--"]
    assert len(dashed) == 1 and np.all(np.asarray(dashed[0].get_xdata()) == pytest.approx(-50))
    default = plot.vm_histograms(tr)
    labels = [t.get_text() for t in default.get_legend().get_texts()]
    assert labels == ["t = 0.02 s", "t = 0.2 s"]
    # All neurons at reset: a degenerate range still gives finite bins.
    flat = Trace(tr.times, np.full_like(tr.values, -0.07), tr.ids, "v", "V")
    assert stair_heights(plot.vm_histograms(flat))[0].sum() == 15


def test_population_rate_plot_has_realizations_and_average():
    s = random_spikes(2000, n_neurons=20, n_realizations=3)
    ax = plot.population_rate(s, 0.1, smooth=0.05)
    assert len(ax.lines) == 4 and ax.get_ylabel() == "rate (Hz)"
    per_realization = np.array([line.get_ydata() for line in ax.lines[:3]])
    np.testing.assert_allclose(ax.lines[3].get_ydata(), per_realization.mean(axis=0))
    ax = plot.population_rate(s.select(0), 0.1)
    assert len(ax.lines) == 1
    # Unsmoothed: mean rate per neuron = spikes / (N · duration).
    assert np.mean(ax.lines[0].get_ydata()) == pytest.approx(len(s.select(0)) / 20)


def test_population_rate_plot_takes_the_summarys_bin_width_by_default():
    s = dataclasses.replace(random_spikes(2000, n_neurons=20), dt=1e-3)
    x = plot.population_rate(s).lines[0].get_xdata()
    assert np.diff(x) == pytest.approx(plot.default_bin_width(s))
    assert plot.default_bin_width(s) == pytest.approx(round((s.t_stop - s.t_start) / 100, 3))


def test_population_rate_band_is_clipped_at_zero():
    s = random_spikes(300, n_neurons=1, n_realizations=100)  # sparse: std ≫ mean
    ax = plot.population_rate(s, 0.01)
    (band,) = [c for c in ax.collections if isinstance(c, PolyCollection)]
    y = band.get_paths()[0].vertices[:, 1]
    mean = ax.lines[0].get_ydata()
    assert y.min() == 0.0 and y.max() > 2 * mean.max()
    assert legend_texts(ax) == ["±1 std (clipped at 0)", "trial average"]


def test_isi_histogram_and_fi_curve():
    times = np.tile((np.arange(50) + 0.5) * 0.02, 4)
    s = Spikes(np.sort(times), np.tile(np.arange(4), 50), np.zeros(200, np.int64), 4, 1, 0, 1)
    ax = plot.isi_histogram(s)
    assert ax.get_title() == "CV = 0.00" and ax.get_xlabel() == "ISI (s)"
    assert stair_heights(ax)[0].sum() == 4 * 49

    ax = plot.fi_curve([0, 1e-10, 2e-10], [0, 5, 12])
    assert ax.get_xlabel() == "current (A)" and ax.get_ylabel() == "rate (Hz)"
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [0, 5, 12])
    ax = plot.fi_curve([0, 1], [[0, 2], [4, 6]], current_unit="nA")
    assert ax.get_xlabel() == "current (nA)"
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [1, 5])


def test_summary_and_save_write_only_the_png(tmp_path):
    s = random_spikes(3000)
    fig = plot.summary(s, bin_width=0.02)
    assert isinstance(fig, Figure) and len(fig.axes) == 3
    assert [ax.get_title() for ax in fig.axes[1:]] == [
        "exc: population rate (20 ms bins)", "exc: spike counts"]  # every panel says what
    fig = plot.summary(s, noisy_trace())
    assert len(fig.axes) == 4
    path = render(fig, tmp_path, "sheet.png")
    assert list(tmp_path.iterdir()) == [path]
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def empty_spikes(t_stop=0.0):
    none = np.zeros(0, np.int64)
    return Spikes(np.zeros(0), none, none, 3, 2, 0.0, t_stop, "exc")


def test_empty_data_draws_empty_axes(tmp_path):
    tr = noisy_trace()
    unrun = Trace(np.zeros(0), np.zeros((0, 5, 3)), tr.ids, "v", "V", "exc", -0.05)
    for ax in (plot.vm_histograms(unrun), plot.vm_histograms(unrun, times=[0.1]),
               plot.vm_histograms(tr, times=[]),
               plot.vm_histograms(Trace(tr.times, np.full_like(tr.values, np.nan), tr.ids, "v"))):
        assert not stair_heights(ax) and ax.get_ylabel() == "count"
    assert not plot.traces(tr, realization=[]).lines
    for s in (empty_spikes(), empty_spikes(t_stop=1.0)):  # no interval; silent
        ax = plot.population_rate(s, 0.1)
        assert ax.get_ylabel() == "rate (Hz)"
        assert all(line.get_ydata().size == 0 or not np.any(line.get_ydata())
                   for line in ax.lines)
        render(plot.summary(s), tmp_path)
    with pytest.raises(ValueError, match=r"bin_width must be > 0 \(in s\), got -1"):
        plot.population_rate(empty_spikes(), -1)  # checked without data too


def test_bad_inputs_get_named_errors():
    tr = noisy_trace()
    with pytest.raises(ValueError, match=r"realization must be in \[0, 4\], got 5"):
        plot.traces(tr, realization=5)
    with pytest.raises(ValueError, match=r"realization must be in \[0, 4\], got -1"):
        plot.traces(tr, realization=[0, -1])
    with pytest.raises(TypeError, match=r"realization must be an integer or a 1-d sequence"):
        plot.traces(tr, realization=1.5)
    with pytest.raises(ValueError, match=r"neurons \[5\] are not in the trace"):
        plot.traces(tr, neurons=5)
    with pytest.raises(ValueError, match=r"times must be finite \(in s\)"):
        plot.vm_histograms(tr, times=[np.nan])
    with pytest.raises(ValueError, match=r"bins must be in \[1, 10000000\] when an integer"):
        plot.vm_histograms(tr, bins=0)
    s = random_spikes(100)
    with pytest.raises(ValueError, match=r"bins must be in \[1, 10000000\] when an integer"):
        plot.isi_histogram(s, bins=0)
    with pytest.raises(ValueError, match=r"bin_width must be finite \(in s\), got nan"):
        plot.population_rate(s, np.nan)
    with pytest.raises(ValueError, match=r"bin_width must be >= 1e-07 s"):
        plot.population_rate(s, 1e-9)  # 1e9 bins: refused at once
    with pytest.raises(ValueError, match=r"smooth must be >= 0 \(in s\), got -1"):
        plot.population_rate(s, 0.1, smooth=-1)
    with pytest.raises(ValueError, match=r"max_lines must be an integer >= 0, got -1"):
        plot.population_rate(s, 0.1, max_lines=-1)
    with pytest.raises(ValueError, match=r"bin_width must be > 0 \(in s\), got 0"):
        plot.summary(s, bin_width=0)
    with pytest.raises(ValueError, match=r"t_range must be \(start, stop\) with start < stop"):
        plot.raster(s, t_range=(0.5, 0.2))
    with pytest.raises(ValueError, match=r"t_range must be finite \(in s\)"):
        plot.raster(s, t_range=(np.nan, 0.2))
    with pytest.raises(ValueError, match=r"image_bins must be \(time bins, row bins\)"):
        plot.raster(s, mode="image", image_bins=(0, 10))
    with pytest.raises(ValueError, match=r"rates must have shape \(2,\) or \(2, n_repeats\)"):
        plot.fi_curve([0, 1], [3])
    with pytest.raises(ValueError, match=r"ids must be >= 0, got -1"):
        plot.raster(([0.1, 0.2], [0, -1]))


def test_save_writes_the_format_of_the_extension(tmp_path):
    ax = plot.raster(random_spikes(100))
    for name, magic in [("a.pdf", b"%PDF"), ("a.svg", b"<?xml"), ("a.PNG", b"\x89PNG"),
                        ("a", b"\x89PNG")]:
        plot.save(ax, tmp_path / name)
        assert (tmp_path / name).read_bytes().startswith(magic)
    with pytest.raises(ValueError, match=r"path must end in one of .*\.pdf.*\.png.*, got "
                                         r"'.*x\.txt'"):
        plot.save(ax, tmp_path / "x.txt")
    assert not (tmp_path / "x.txt").exists()
    with pytest.raises(ValueError, match=r"dpi must be > 0, got 0"):
        plot.save(ax, tmp_path / "b.png", dpi=0)


def test_population_rate_t_range_sets_the_interval_binned():
    # 10 neurons at 10 Hz, spikes at 0.05, 0.15, ..., 0.95 s: from a tuple, the interval ends
    # at the last spike, and the last 0.1 s bin, [0.9, 0.95], reads 20 Hz
    times = np.repeat(np.arange(10) * 0.1 + 0.05, 10)
    ids = np.tile(np.arange(10), 10)
    ax = plot.population_rate((times, ids), 0.1)
    assert ax.lines[0].get_ydata()[-1] == pytest.approx(20.0)
    ax = plot.population_rate((times, ids), 0.1, t_range=(0.0, 1.0))
    np.testing.assert_allclose(ax.lines[0].get_xdata(), np.arange(10) * 0.1 + 0.05)
    np.testing.assert_allclose(ax.lines[0].get_ydata(), 10.0)
    ax = plot.population_rate((times, ids), 0.1, t_range=(0.2, 0.5))  # a window
    np.testing.assert_allclose(ax.lines[0].get_xdata(), [0.25, 0.35, 0.45])
    np.testing.assert_allclose(ax.lines[0].get_ydata(), 10.0)


def test_population_rate_t_range_leaves_out_the_spikes_at_its_stop(tmp_path):
    """t_range = (start, stop) bins the spikes at start <= t < stop, as Spikes.window and a
    file's window keep them: a spike at exactly stop was counted in the last bin (10 neurons,
    10 ms bins: that bin read 30 Hz instead of 20)."""
    net = ss.Network(dt=1e-3, seed=0)
    arr = np.zeros((30, 10), bool)
    arr[[5, 15, 20, 25], [0, 1, 2, 3]] = True  # spikes at 5, 15, 20 and 25 ms
    src = net.add(ss.SpikeArray(arr), name="a")
    net.add(ss.SpikeRecorder(ss.H5Output(tmp_path / "r.h5"), src))
    mon = net.add(ss.SpikeMonitor(src))
    net.run(0.03)
    s = mon.spikes
    np.testing.assert_allclose(s.times, [0.005, 0.015, 0.020, 0.025])
    window = (0.005, 0.025)  # 2 bins of 10 ms; the spike at 25 ms is at its stop
    _, rates = analysis.population_rate(s.window(*window), 0.01)
    np.testing.assert_allclose(rates[0], [10.0, 20.0])
    for spikes in (s, tmp_path / "r.h5"):
        ax = plot.population_rate(spikes, 0.01, population="a", t_range=window)
        np.testing.assert_allclose(ax.lines[0].get_ydata(), [10.0, 20.0])


def test_raster_image_puts_spikes_on_bin_edges_in_the_bin_they_open():
    # one spike per step of dt = 1/30 ms, 60000 steps, one time bin per step: (k·dt)/span·n_t
    # rounds below k for some k, which fell into bin k − 1
    dt, n = 1e-4 / 3, 60000
    times = np.arange(n) * dt
    s = Spikes(times, np.zeros(n, np.int64), np.zeros(n, np.int64), 1, 1, 0.0, n * dt)
    ax = plot.raster(s, mode="image", image_bins=(n, 1))
    np.testing.assert_array_equal(np.asarray(ax.images[0].get_array()), np.ones((1, n)))


def test_population_rate_of_one_realization_is_drawn_whatever_max_lines():
    ax = plot.population_rate(random_spikes(500, n_realizations=1), 0.1, max_lines=0)
    assert len(ax.lines) == 1 and len(ax.lines[0].get_xdata()) == 10


def test_histograms_of_floats_refuse_numpy_estimators():
    # Regular firing: ISIs equal up to rounding (0.011 s as differences of k·dt); "auto" asked
    # numpy for 3e15 bins over (0, 0.011) s: a MemoryError of 23 PiB.
    times = np.arange(90) * 11 * 1e-3
    s = Spikes(times, np.zeros(90, np.int64), np.zeros(90, np.int64), 1, 1, 0.0, 1.0)
    for bins in ("auto", "fd"):
        with pytest.raises(ValueError, match="bins must be a number of bins"):
            plot.isi_histogram(s, bins=bins)
        with pytest.raises(ValueError, match="bins must be a number of bins"):
            plot.vm_histograms(noisy_trace(), bins=bins)
    assert stair_heights(plot.isi_histogram(s, bins=[0.0, 0.01, 0.02]))[0].tolist() == [0, 89]


def test_summary_and_first_traces_draw_at_most_10_neurons():
    rng = np.random.default_rng(2)
    tr = Trace((np.arange(50) + 1) * 1e-3, -0.07 + 1e-3 * rng.standard_normal((50, 1, 30)),
               np.arange(100, 130), "v", "V", "exc", -0.05)
    ax = plot.first_traces(tr)
    assert len([line for line in ax.lines if line.get_linestyle() != "--"]) == 10
    assert ax.get_title() == "exc (first 10 of 30 neurons)"
    np.testing.assert_allclose(ax.lines[3].get_ydata(), tr.values[:, 0, 3] * 1e3)
    fig = plot.summary(random_spikes(100, n_realizations=1), tr)
    ax = fig.subfigs[2].axes[0]
    assert len([line for line in ax.lines if line.get_linestyle() != "--"]) == 10


def test_recorded_rate_is_drawn_at_bin_centres_as_population_rate(tmp_path):
    import spikesim as ss

    path = tmp_path / "r.h5"
    net = ss.Network(dt=1e-3)
    src = net.add(ss.SpikeTimes(4, [0.1, 0.2, 0.25, 0.49], [0, 1, 1, 2]), "a")
    out = ss.H5Output(path)
    net.add(ss.RateRecorder(out, src, bin_width=0.1))
    net.add(ss.SpikeRecorder(out, src))
    net.run(0.45)  # the last bin, [0.4, 0.45], is cut short
    data = ss.load(path)
    ax = plot.recorded_rate(data.rate("a"))
    ref = plot.population_rate(data.spikes("a"), 0.1)
    np.testing.assert_allclose(ax.lines[0].get_xydata(), ref.lines[0].get_xydata())
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [0, 2.5, 5, 0, 0])
    assert ax.get_ylabel() == "rate (Hz)" and ax.get_title() == "a: population rate (100 ms bins)"
    ax = plot.recorded_rate(path, t_unit="ms")
    np.testing.assert_allclose(ax.lines[0].get_xdata(), [50, 150, 250, 350, 425])


@pytest.mark.parametrize("scale,unit,factor", [(2.5e-9, "nA", 1e9), (2.5e-10, "pA", 1e12),
                                               (3e-3, "A", 1.0)])
def test_currents_are_drawn_in_na_or_pa(scale, unit, factor):
    values = scale * np.linspace(-1.0, 1.0, 20).reshape(20, 1, 1)
    tr = Trace((np.arange(20) + 1) * 1e-3, values, np.array([0]), "i", "A", "exc", None)
    ax = plot.traces(tr)
    assert ax.get_ylabel() == f"i ({unit})"
    np.testing.assert_allclose(ax.lines[0].get_ydata(), values[:, 0, 0] * factor)


def test_traces_refuse_a_non_boolean_mean_and_bad_tuple_times():
    """mean="no" is refused (it read as true, drawing the mean), and a tuple's times are
    checked as raster's are (NaN was drawn silently; a string failed inside NumPy)."""
    tr = (np.arange(3.0), np.zeros((3, 2, 2)))
    with pytest.raises(TypeError, match="mean must be True, False or None, got 'no'"):
        plot.traces(tr, mean="no")
    with pytest.raises(ValueError, match="times must be finite"):
        plot.traces((np.array([0.0, np.nan, 2.0]), np.zeros(3)))
    with pytest.raises(TypeError, match="times must be"):
        plot.traces((np.array(["a", "b"]), np.zeros(2)))
    with pytest.raises(ValueError, match=r"n_samples = 3 \(the times\), got shape \(4,\)"):
        plot.traces((np.arange(3.0), np.zeros(4)))


def test_rasters_stack_populations_on_one_time_axis(tmp_path):
    fig = plot.rasters([random_spikes(400, n_neurons=40, n_realizations=1),
                        random_spikes(100, n_neurons=10, n_realizations=1)])
    top, bottom = fig.axes
    assert top.get_shared_x_axes().joined(top, bottom)
    render(fig, tmp_path)
    heights = [ax.get_position().height for ax in (top, bottom)]
    assert heights[0] > 2.5 * heights[1]  # 40 rows against 10 (at least a fifth)
    with pytest.raises(ValueError, match="at least one population"):
        plot.rasters([])


def test_traces_mark_each_drawn_neurons_spikes_from_the_value_before_to_above_threshold():
    """v is sampled after the reset: a stroke per spike shows it, from the last sample at or
    before the spike, in the neuron's colour; other neurons' spikes are not drawn."""
    tr = noisy_trace(n_realizations=1)  # ids 4, 7, 9; samples at 1, 2, ... ms; threshold -50 mV
    s = Spikes(np.array([0.0105, 0.050, 0.120]), np.array([7, 4, 5]), np.zeros(3, np.int64),
               10, 1, 0.0, 0.2, "exc")
    ax = plot.traces(tr, spikes=s)
    strokes = [c for c in ax.collections if isinstance(c, LineCollection)]
    got = sorted((seg[0][0], seg[0][1], seg[1][1], tuple(c.get_color()[0]))
                 for c in strokes for seg in c.get_segments())
    assert [round(g[0], 4) for g in got] == [0.0105, 0.05]  # neuron 5 is not drawn
    v = tr.values[:, 0] * 1e3  # mV
    top = -50 + 0.2 * (v.max() - v.min())
    (t7, y7, top7, c7), (t4, y4, top4, c4) = got
    assert y7 == pytest.approx(v[9, 1]) and y4 == pytest.approx(v[49, 0])  # at 10 and 50 ms
    assert top7 == top4 == pytest.approx(top)
    assert c7 != c4
    many = noisy_trace(n_realizations=5)
    assert not [c for c in plot.traces(many, spikes=s, mean=True).collections
                if isinstance(c, LineCollection)]  # (no strokes on means)


def test_traces_spike_strokes_rise_above_samples_over_the_threshold():
    """A jump of v (a delta synapse into an RC neuron) is sampled above the threshold before
    the next step thresholds it: the stroke of the spike it causes still rises above it
    (it ran downwards, hidden in the trace's own reset line)."""
    net = ss.Network(dt=1e-4)
    pop = net.add(ss.RC(1, tau=10e-3, E_L=-0.07, v_th=-0.055, v_reset=-0.07, method="exact"))
    src = net.add(ss.SpikeTimes(1, [2e-3], [0]))
    net.connect(src, pop, "one_to_one", weight=0.02)
    mon, spk = net.add(ss.StateMonitor(pop, "v")), net.add(ss.SpikeMonitor(pop))
    net.run(5e-3)
    tr = mon.trace("v")
    assert tr.values.max() > -0.055 and len(spk.spikes) == 1
    ax = plot.traces(tr, spikes=spk.spikes)
    (seg,) = [seg for c in ax.collections if isinstance(c, LineCollection)
              for seg in c.get_segments()]
    assert seg[0][1] == pytest.approx(tr.values.max() * 1e3)  # from the sample above v_th
    assert seg[1][1] > seg[0][1]  # upwards, above the data


def regular_spikes(t_start, t_stop, n_neurons=4, period=0.01, population="exc"):
    times = np.repeat(np.arange(t_start, t_stop, period), n_neurons)
    ids = np.tile(np.arange(n_neurons), times.size // n_neurons)
    return Spikes(times, ids, np.zeros(times.size, np.int64), n_neurons, 1, t_start, t_stop,
                  population)


def test_rasters_time_axis_spans_every_populations_interval():
    """A population recorded from a later run on (t = 0.3 to 0.6 s) must not narrow the shared
    time axis to its interval, hiding the others' earlier spikes."""
    exc = regular_spikes(0.0, 0.6, population="exc")
    inh = regular_spikes(0.3, 0.6, population="inh")
    fig = plot.rasters([exc, inh])
    for ax in fig.axes:
        assert ax.get_xlim() == pytest.approx((0.0, 0.6))
    top = fig.axes[0]
    lo, hi = top.get_xlim()
    shown = sum(int(((line.get_xdata() >= lo) & (line.get_xdata() <= hi)).sum())
                for line in top.lines)
    assert shown == len(exc)


def test_default_bin_width_is_a_whole_number_of_steps():
    s = regular_spikes(0.0, 0.25)
    assert plot.default_bin_width(s) == pytest.approx(0.0025)  # (no dt: as before)
    for t_stop, dt in [(0.25, 1e-3), (0.05, 1e-3), (0.123, 1e-4)]:
        w = plot.default_bin_width(regular_spikes(0.0, t_stop), dt=dt)
        assert w >= dt and w / dt == pytest.approx(round(w / dt), abs=1e-9)


def test_spikes_of_a_run_carry_its_step_for_whole_step_default_bins(tmp_path):
    """Monitors' and files' spikes know dt, so summary sheets' default bins are whole steps
    too (0.26 s / 100 = 2.6 steps of 1 ms: 3 ms)."""
    net = ss.Network(dt=1e-3, seed=3)
    src = net.add(ss.BernoulliInput(20, p=0.05), name="src")
    mon = net.add(ss.SpikeMonitor(src))
    net.add(ss.SpikeRecorder(ss.H5Output(tmp_path / "s.h5"), src))
    net.run(0.26)
    for s in (mon.spikes, ss.load(tmp_path / "s.h5").spikes("src"), mon.spikes.select(0)):
        assert s.dt == 1e-3
        assert plot.default_bin_width(s) == pytest.approx(3e-3)
    fig = plot.summary(mon.spikes)
    assert "(3 ms bins)" in fig.subfigs[1].axes[0].get_title()


def test_plot_rate_default_bins_do_not_alias_the_time_step(tmp_path, monkeypatch):
    """A constant 50 Hz input over 0.25 s at dt = 1 ms: 1/100 of the run is 2.5 ms, bins that
    hold 3 and 2 steps in turn and read 60 and 40 Hz; whole-step bins read 50 Hz alike."""
    path = tmp_path / "short.h5"
    net = ss.Network(dt=1e-3, seed=3)
    src = net.add(ss.BernoulliInput(4000, p=0.05), name="src")
    net.add(ss.SpikeRecorder(ss.H5Output(path), src))
    net.run(0.25)
    figs = []
    monkeypatch.setattr(plot, "save", lambda fig, out, dpi=120: figs.append(fig))
    assert cli.main(["plot", str(path), "--kind", "rate", "-o", str(tmp_path / "r.png")]) == 0
    y = figs[0].lines[0].get_ydata()
    assert y[0::2].mean() == pytest.approx(50, rel=0.05)
    assert y[1::2].mean() == pytest.approx(50, rel=0.05)


def test_traces_read_the_spikes_of_the_trace_population_from_a_file(tmp_path):
    """spikes= a path, in a file of several populations: the trace's population is read."""
    path = tmp_path / "two.h5"
    with h5py.File(path, "w") as f:  # a SONATA file: exc and inh spikes, a report of exc
        for pop, t, i in (("exc", [10.0, 50.0], [0, 1]), ("inh", [20.0], [0])):
            g = f.create_group(f"spikes/{pop}")
            g.create_dataset("timestamps", data=np.array(t)).attrs["units"] = "ms"
            g.create_dataset("node_ids", data=np.array(i, np.uint64))
        r = f.create_group("report/exc")
        r.create_dataset("data", data=np.linspace(0, 1, 200, dtype=np.float32).reshape(100, 2))
        r.create_dataset("mapping/node_ids", data=np.array([0, 1], np.uint64))
        r.create_dataset("mapping/time", data=np.array([1.0, 101.0, 1.0])).attrs["units"] = "ms"
    for ax in (plot.traces(path, population="exc", spikes=path),
               plot.traces(ss.load(path).trace("exc"), spikes=path),
               plot.first_traces(path, population="exc", spikes=path)):
        strokes = [seg for c in ax.collections for seg in c.get_segments()]
        assert sorted(round(seg[0][0], 6) for seg in strokes) == [0.01, 0.05]


def test_summary_titles_of_unnamed_spikes():
    fig = plot.summary((np.array([0.1, 0.2]), np.array([0, 1])))
    titles = [ax.get_title() for ax in fig.axes]
    assert not any(t.startswith(":") for t in titles), titles
    assert "population rate (2 ms bins)" in titles and "spike counts" in titles


@pytest.mark.parametrize("call", [
    lambda s: plot.count_histogram(s, bins="foo"),
    lambda s: analysis.rate_histogram(s, bins="foo")])
def test_unknown_bin_estimator_is_refused_naming_the_choices(call):
    with pytest.raises(ValueError, match=r"bins must be .*'auto'.*got 'foo'"):
        call(regular_spikes(0.0, 1.0))


def test_rasters_take_every_spike_input():
    """As every plot: a Spikes, a tuple (times, ids[, realizations]) or a file path."""
    fig = plot.rasters([(np.array([0.1, 0.2]), np.array([0, 1])),
                        (np.array([0.15]), np.array([0]))])
    assert [sum(len(line.get_xdata()) for line in ax.lines) for ax in fig.axes] == [2, 1]


def test_traces_of_one_realization_read_from_a_file_mark_that_realizations_spikes(tmp_path):
    path = tmp_path / "batch.h5"
    net = ss.Network(dt=1e-3, seed=1, batch=3)
    lif = net.add(ss.LIF(4, tau_mem=10e-3, tau_syn=5e-3, v_th=0.3, units="1"), name="exc")
    inp = net.add(ss.BernoulliInput(4, p=0.05))
    net.connect(inp, lif, "one_to_one", weight=1.0)
    out = ss.H5Output(path)
    net.add(ss.SpikeRecorder(out, lif))
    net.add(ss.StateRecorder(out, lif, "v", ids=[3]))
    net.run(0.3)
    data = ss.load(path)
    s = data.spikes("exc")
    mine = s.times[(s.ids == 3) & (s.realizations == 2)]
    assert mine.size and not np.array_equal(mine, s.times[(s.ids == 3) & (s.realizations == 0)])
    for spikes in (s, data.spikes("exc", realization=2)):
        ax = plot.traces(data.trace("exc", "v", realization=2), spikes=spikes)
        marked = sorted(seg[0][0] for c in ax.collections for seg in c.get_segments())
        np.testing.assert_allclose(marked, mine[mine >= 1e-3])  # (none before the 1st sample)
        assert ax.get_title() == "exc: neuron 3, realization 2"


def test_first_traces_says_where_to_choose_the_neurons():
    tr = Trace(np.arange(3.0), np.zeros((3, 1, 12)), np.arange(12), "v", "V", "p")
    with pytest.raises(TypeError, match=r"call traces\(trace, neurons=\.\.\.\)"):
        plot.first_traces(tr, neurons=[3])
    assert len(plot.first_traces(tr, neurons=None).get_lines()) >= 10


def test_a_time_window_draws_that_part_only_from_memory_and_from_a_file(tmp_path):
    """t_range on traces (samples at start <= t <= stop, spike strokes inside only, the axis
    spanning it), on recorded rates (bins centred inside) and on the summary sheet; a file's
    trace is read for the window only and draws what the same window of the trace in memory
    draws; an end None is unbounded."""
    path = tmp_path / "w.h5"
    net = ss.Network(dt=1e-3, seed=1)
    pop = net.add(ss.LIF(3, tau_mem=20e-3, v_leak=1.5, units="1"), name="a")
    out = ss.H5Output(path)
    net.add(ss.SpikeRecorder(out, pop))
    net.add(ss.StateRecorder(out, pop, "v"))
    net.add(ss.RateRecorder(out, pop, bin_width=0.01))
    mon = net.add(ss.StateMonitor(pop, "v"))
    spk = net.add(ss.SpikeMonitor(pop))
    net.run(0.2)
    window = (0.05, 0.1)
    mem = plot.traces(mon.trace("v"), spikes=spk.spikes, t_range=window)
    disk = plot.traces(path, population="a", spikes=path, t_range=window)
    for ax in (mem, disk):
        x = ax.lines[0].get_xdata()
        assert x[0] == pytest.approx(0.05) and x[-1] == pytest.approx(0.1) and x.size == 51
        assert ax.get_xlim() == pytest.approx(window)
        strokes = [seg[0][0] for c in ax.collections for seg in c.get_segments()]
        inside = spk.spikes.times[(spk.spikes.times >= 0.05) & (spk.spikes.times < 0.1)]
        assert sorted(strokes) == pytest.approx(np.sort(inside)) and len(strokes) > 2
    np.testing.assert_allclose(mem.lines[0].get_ydata(), disk.lines[0].get_ydata())
    open_end = plot.traces(mon.trace("v"), t_range=(0.15, None))
    assert open_end.lines[0].get_xdata()[[0, -1]] == pytest.approx([0.15, 0.2])
    rate = plot.recorded_rate(path, t_range=window)
    np.testing.assert_allclose(rate.lines[0].get_xdata(), [0.055, 0.065, 0.075, 0.085, 0.095])
    fig = plot.summary(path, path, population="a", t_range=window)
    raster_ax = fig.axes[0]
    assert raster_ax.get_xlim() == pytest.approx(window)
    assert marker_count(raster_ax) == inside.size
    with pytest.raises(ValueError, match=r"t_range must be \(start, stop\) with start < stop"):
        plot.traces(mon.trace("v"), t_range=(0.1, 0.05))
    with pytest.raises(ValueError, match=r"t_range must be \(start, stop\)"):
        plot.traces(mon.trace("v"), t_range=0.1)


def test_plot_command_draws_a_time_window(tmp_path, monkeypatch, capsys):
    """--t-start/--t-stop: every kind draws that window only; a window outside the recording
    or backwards is refused naming the options."""
    path = tmp_path / "w.h5"
    net = ss.Network(dt=1e-3, seed=2)
    pop = net.add(ss.LIF(20, tau_mem=20e-3, v_leak=1.5, units="1",
                         v_init=ss.Uniform(0.0, 1.0)), name="a")
    out = ss.H5Output(path)
    net.add(ss.SpikeRecorder(out, pop))
    net.add(ss.StateRecorder(out, pop, "v", ids=[0, 1]))
    net.run(0.3)
    whole = ss.load(path).spikes("a")
    figs = []
    monkeypatch.setattr(plot, "save", lambda fig, out, dpi=120: figs.append(fig))
    for kind in cli.PLOTS:
        assert cli.main(["plot", str(path), "--kind", kind, "--t-start", "0.1", "--t-stop",
                         "0.2", "-o", str(tmp_path / "x.png")]) == 0
    raster, traces, rate, hist, summary = (f.get_figure(root=True).axes for f in figs)
    assert raster[0].get_xlim() == pytest.approx((0.1, 0.2))
    assert traces[0].get_xlim() == pytest.approx((0.1, 0.2))
    assert rate[0].lines[0].get_xdata()[[0, -1]] == pytest.approx([0.1005, 0.1995])
    counts = np.concatenate([p.get_data().values for p in hist[0].patches
                             if isinstance(p, StepPatch)])
    inside = ((whole.times >= 0.1) & (whole.times < 0.2)).sum()
    assert (counts * np.arange(counts.size)).sum() == inside  # spikes counted in the window
    assert summary[0].get_xlim() == pytest.approx((0.1, 0.2))
    for args, says in ((["--t-start", "0.5"], "holds [0, 0.3] s, which the window [0.5, ] s "
                                              "leaves out"),
                       (["--t-start", "0.2", "--t-stop", "0.1"],
                        "--t-start must be before --t-stop"),
                       (["--t-stop", "inf"], "argument --t-stop: expected a finite number")):
        assert cli.main(["plot", str(path), *args, "-o", str(tmp_path / "y.png")]) == 2
        assert says in capsys.readouterr().err


def test_traces_of_several_neurons_and_realizations_list_each_neuron_once():
    """Mean ± std of 3 neurons over 40 realizations: one legend entry per neuron and one for
    the sample lines (two per neuron overflowed a summary sheet's row)."""
    ax = plot.traces(noisy_trace(n_realizations=40, n_selected=3))
    assert legend_texts(ax) == ["3 sample realizations each (thin)", "neuron 4: mean ± std",
                                "neuron 7: mean ± std", "neuron 9: mean ± std"]
    assert len(ax.lines) == 3 * (3 + 1) + 1  # samples and mean per neuron, threshold


def test_a_raster_of_a_recorded_subset_has_a_row_per_recorded_neuron():
    """50 of 10,000 neurons recorded: 50 rows (they were a thin band at the bottom of 10,000),
    ticked with the neurons' ids; with more realizations than neurons, the blocks are named
    by id."""
    rng = np.random.default_rng(0)
    recorded = np.array([3, 50, 700])
    ids = rng.choice(recorded, 300)
    s = Spikes(np.sort(rng.uniform(0, 1, 300)), ids, np.zeros(300, np.int64), 10_000, 1,
               0.0, 1.0, "exc", recorded)
    ax = plot.raster(s, mode="points")
    assert ax.get_ylim() == (-0.5, 2.5)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["3", "50", "700"]
    rows = np.concatenate([line.get_ydata() for line in ax.lines])
    assert sorted(set(rows.tolist())) == [0, 1, 2]
    assert ax.get_ylabel() == "neuron (3 recorded)"
    batch = Spikes(np.sort(rng.uniform(0, 1, 300)), ids, rng.integers(0, 5, 300), 10_000, 5,
                   0.0, 1.0, "exc", recorded)
    ax = plot.raster(batch, mode="points")
    assert [t.get_text() for t in ax.texts] == ["n3", "n50", "n700"]
    assert ax.get_ylim() == (-0.5, 14.5)


def test_population_rate_t_range_without_a_stop_is_as_without_it(tmp_path):
    times = np.repeat(np.arange(10) * 0.1 + 0.05, 10)  # the last 10 spikes at 0.95 s
    ids = np.tile(np.arange(10), 10)
    path = tmp_path / "foreign.h5"
    with h5py.File(path, "w") as f:  # another writer's file: its interval ends at 0.95 s
        g = f.create_group("spikes/V1")
        g.create_dataset("timestamps", data=times * 1e3)
        g.create_dataset("node_ids", data=ids.astype(np.uint64))
    for spikes in ((times, ids), path):
        kw = {"population": "V1"} if spikes is path else {}
        whole = plot.population_rate(spikes, 0.1, **kw).lines[0].get_ydata()
        part = plot.population_rate(spikes, 0.1, t_range=(0.0, None), **kw)
        np.testing.assert_allclose(part.lines[0].get_ydata(), whole)  # (the last bin read 0)


@pytest.mark.parametrize("mode", ["points", "image"])
def test_a_raster_of_spikes_of_neurons_not_recorded_gives_them_rows_of_their_own(mode):
    """A SpikeMonitor given other ids between runs holds spikes of neurons its ``recorded``
    no longer lists (so may another writer's file): neuron 1's spikes were drawn on the row
    ticked 50, and neuron 80's raised IndexError."""
    s = Spikes(np.array([0.1, 0.2, 0.3, 0.4]), np.array([1, 50, 60, 80]), np.zeros(4, np.int64),
               100, 1, 0.0, 1.0, "exc", np.array([50, 60]))
    ax = plot.raster(s, mode=mode)
    assert ax.get_ylim() == (-0.5, 3.5)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["1", "50", "60", "80"]
    if mode == "points":
        np.testing.assert_array_equal(ax.lines[0].get_ydata(), [0, 1, 2, 3])
    else:
        np.testing.assert_array_equal(ax.images[0].get_array().sum(axis=1), [1, 1, 1, 1])
