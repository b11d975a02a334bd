"""Headless matplotlib plots of spikes and traces.

Every plot draws into ``ax`` when given, or else into a new :class:`~matplotlib.figure.Figure`
with an Agg canvas (pyplot is never used, so no display is needed), and returns the Axes
(:func:`summary` returns the Figure). Spike inputs may be a :class:`~spikesim.results.Spikes`,
a tuple ``(times, ids)`` or ``(times, ids, realizations)``, or the path of an HDF5 result file;
trace inputs a :class:`~spikesim.results.Trace`, a tuple ``(times, values)`` or a path. Times
are in seconds unless ``t_unit="ms"`` asks for milliseconds on the axis.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator

from spikesim import analysis
from spikesim.results import Spikes, Trace

SpikesLike = Spikes | tuple | str | os.PathLike
TraceLike = Trace | tuple | str | os.PathLike

_T_SCALE = {"s": 1.0, "ms": 1e3}


def _as_spikes(obj: SpikesLike, population: str | None = None) -> Spikes:
    """A ``Spikes`` from a ``Spikes``, a tuple of arrays or an HDF5 file path.

    A tuple gives n_neurons = max id + 1, n_realizations = max realization + 1 and the
    interval [min(0, first spike), last spike].
    """
    if isinstance(obj, Spikes):
        return obj
    if isinstance(obj, (str, os.PathLike)):
        from spikesim.io import load

        return load(obj).spikes(population=population)
    if isinstance(obj, tuple) and len(obj) in (2, 3):
        times = np.asarray(obj[0], dtype=np.float64)
        ids = np.asarray(obj[1], dtype=np.int64)
        reals = np.asarray(obj[2] if len(obj) == 3 else np.zeros_like(ids), dtype=np.int64)
        if not times.shape == ids.shape == reals.shape:
            raise ValueError("times, ids and realizations must have the same shape")
        order = np.argsort(times, kind="stable")
        return Spikes(times[order], ids[order], reals[order],
                      n_neurons=int(ids.max(initial=-1)) + 1,
                      n_realizations=int(reals.max(initial=0)) + 1,
                      t_start=min(0.0, float(times.min(initial=0.0))),
                      t_stop=float(times.max(initial=0.0)), population=population or "")
    raise TypeError(f"cannot read spikes from {type(obj).__name__}")


def _as_trace(obj: TraceLike, population: str | None = None, variable: str = "v") -> Trace:
    """A ``Trace`` from a ``Trace``, a tuple ``(times, values)`` or an HDF5 file path.

    Tuple values may have shape (n_samples,), (n_samples, n_selected) or
    (n_samples, n_realizations, n_selected); they are taken as dimensionless.
    """
    if isinstance(obj, Trace):
        return obj
    if isinstance(obj, (str, os.PathLike)):
        from spikesim.io import load

        return load(obj).trace(population=population, variable=variable)
    if isinstance(obj, tuple) and len(obj) == 2:
        times = np.asarray(obj[0], dtype=np.float64)
        values = np.asarray(obj[1], dtype=np.float64)
        if values.ndim == 1:
            values = values[:, None, None]
        elif values.ndim == 2:
            values = values[:, None, :]
        if values.ndim != 3 or values.shape[0] != times.size:
            raise ValueError("values must have shape (n_samples[, n_realizations], n_selected)")
        return Trace(times, values, np.arange(values.shape[2]), variable,
                     population=population or "")
    raise TypeError(f"cannot read a trace from {type(obj).__name__}")


def _axes(ax: Axes | None, figsize: tuple[float, float] = (6.4, 4.0)) -> Axes:
    """``ax``, or the Axes of a new Agg-backed Figure."""
    if ax is not None:
        return ax
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig.add_subplot()


def _t_scale(t_unit: str) -> float:
    if t_unit not in _T_SCALE:
        raise ValueError(f"t_unit must be one of {sorted(_T_SCALE)}, got {t_unit!r}")
    return _T_SCALE[t_unit]


def _value_label(variable: str, unit: str) -> str:
    """``"v (V)"``, or just ``"v"`` for a dimensionless variable."""
    return f"{variable} ({unit})" if unit and unit != "1" else variable


def _padded_range(data: np.ndarray) -> tuple[float, float]:
    """(min, max) of ``data``, widened when the spread is too small for finite bins."""
    lo, hi = float(data.min()), float(data.max())
    size = max(abs(lo), abs(hi))
    if hi - lo <= 1e-9 * size:
        lo, hi = lo - 1e-3 * size, hi + 1e-3 * size
    return lo, hi


def _time_range(spikes: Spikes, t_range: tuple[float, float] | None) -> tuple[float, float]:
    """``t_range``, else the recorded interval, else the span of the spikes (s)."""
    if t_range is not None:
        return float(t_range[0]), float(t_range[1])
    if spikes.t_stop > spikes.t_start:
        return float(spikes.t_start), float(spikes.t_stop)
    if len(spikes):
        return float(spikes.times.min()), float(spikes.times.max())
    return 0.0, 1.0


def raster(spikes: SpikesLike, ax: Axes | None = None, *, population: str | None = None,
           t_range: tuple[float, float] | None = None, mode: str = "auto",
           max_points: int = 200_000, image_bins: tuple[int, int] = (1000, 1000),
           t_unit: str = "s") -> Axes:
    """Spike raster: time on x, neuron on y.

    Realizations are stacked as blocks of N rows (row = realization·N + neuron): tick labels
    show the neuron id, grey lines separate the blocks, which are labelled r0, r1, ... on the
    right (up to 20 realizations).

    Args:
        t_range: (start, stop) in s; defaults to [t_start, t_stop]. Spikes outside are dropped.
        mode: "points" draws one "|" marker per spike (one Line2D per realization, coloured
            C0, C1, ..., rasterized in vector output above 10 000 markers); "image" draws a
            2-D histogram of spike counts (imshow, darker = more spikes) with at most
            ``image_bins`` = (time bins, row bins); "auto" picks "image" above ``max_points``
            spikes in range.
        t_unit: "s" or "ms" on the time axis.
    """
    s = _as_spikes(spikes, population)
    ax = _axes(ax)
    scale = _t_scale(t_unit)
    t0, t1 = _time_range(s, t_range)
    keep = (s.times >= t0) & (s.times <= t1)
    times, reals = s.times[keep], s.realizations[keep]
    n_rows = max(s.n_neurons * s.n_realizations, 1)
    rows = reals * s.n_neurons + s.ids[keep]
    if mode == "auto":
        mode = "image" if times.size > max_points else "points"
    if mode == "points":
        size = float(np.clip(300.0 / n_rows, 1.0, 6.0))
        for b in np.unique(reals):
            mine = reals == b
            ax.plot(times[mine] * scale, rows[mine], linestyle="none", marker="|",
                    markersize=size, color=f"C{b % 10}", rasterized=bool(mine.sum() > 10_000))
    elif mode == "image":
        n_t = max(int(image_bins[0]), 1)
        n_y = min(max(int(image_bins[1]), 1), n_rows)
        span = t1 - t0 if t1 > t0 else 1.0
        it = np.clip(((times - t0) / span * n_t).astype(np.int64), 0, n_t - 1)
        iy = rows * n_y // n_rows
        counts = np.bincount(iy * n_t + it, minlength=n_y * n_t).reshape(n_y, n_t)
        ax.imshow(counts, origin="lower", aspect="auto", interpolation="nearest", cmap="Greys",
                  extent=(t0 * scale, t1 * scale, -0.5, n_rows - 0.5))
    else:
        raise ValueError(f"mode must be 'auto', 'points' or 'image', got {mode!r}")
    n, n_blocks = s.n_neurons, s.n_realizations
    within = MaxNLocator(nbins=max(1, 8 // n_blocks), integer=True).tick_values(0, n - 1)
    within = within[(within >= 0) & (within < n)]
    ax.yaxis.set_major_locator(FixedLocator((np.arange(n_blocks)[:, None] * n + within).ravel()))
    if n_blocks > 1:
        ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{round(y) % n:.0f}"))
        ax.hlines(np.arange(1, n_blocks) * n - 0.5, t0 * scale, t1 * scale, colors="0.6",
                  linewidths=0.5)
        if n_blocks <= 20:
            for b in range(n_blocks):
                ax.text(1.005, (b + 0.5) * n - 0.5, f"r{b}", transform=ax.get_yaxis_transform(),
                        va="center", fontsize="small", color="0.4")
    ax.set_xlim(t0 * scale, t1 * scale)
    ax.set_ylim(-0.5, n_rows - 0.5)
    ax.set_xlabel(f"time ({t_unit})")
    ax.set_ylabel("neuron")
    if s.population:
        ax.set_title(s.population)
    return ax


def traces(trace: TraceLike, ax: Axes | None = None, neurons: Sequence[int] | None = None,
           realization: int | Sequence[int] | None = None, mean: bool = False, *,
           population: str | None = None, variable: str = "v", t_unit: str = "s") -> Axes:
    """State-variable traces against time.

    Args:
        neurons: neuron ids (within the population) among ``trace.ids``; default all.
        realization: one realization index or several; default all.
        mean: draw, per neuron, the mean across the chosen realizations with a ±1 std band
            (ddof=0) instead of one line per realization.
        variable: the variable to read when ``trace`` is a file path.

    The firing threshold is drawn as a dashed black line when ``trace.threshold`` is set and
    the variable is "v". The y label is "variable (unit)".
    """
    tr = _as_trace(trace, population, variable)
    ax = _axes(ax)
    scale = _t_scale(t_unit)
    cols = np.arange(tr.ids.size)
    if neurons is not None:
        position = {int(n): k for k, n in enumerate(tr.ids)}
        missing = [n for n in neurons if int(n) not in position]
        if missing:
            raise ValueError(f"neurons {missing} are not in the trace (ids {tr.ids.tolist()})")
        cols = np.array([position[int(n)] for n in neurons], dtype=np.int64)
    reals = np.arange(tr.values.shape[1]) if realization is None else np.atleast_1d(realization)
    values = tr.values[:, reals][:, :, cols]
    t = tr.times * scale
    for k, c in enumerate(cols):
        color = f"C{k % 10}"
        label = f"neuron {tr.ids[c]}"
        if mean:
            mu, sd = values[:, :, k].mean(axis=1), values[:, :, k].std(axis=1)
            ax.fill_between(t, mu - sd, mu + sd, color=color, alpha=0.3, linewidth=0)
            ax.plot(t, mu, color=color, label=f"{label} (mean ± std)")
        else:
            lines = ax.plot(t, values[:, :, k], color=color, linewidth=0.8)
            lines[0].set_label(label)
    if tr.threshold is not None and tr.variable == "v":
        ax.axhline(tr.threshold, color="k", linestyle="--", linewidth=1, label="threshold")
    ax.set_xlabel(f"time ({t_unit})")
    ax.set_ylabel(_value_label(tr.variable, tr.unit))
    if cols.size <= 10:
        ax.legend(fontsize="small")
    if tr.population:
        ax.set_title(tr.population)
    return ax


def count_histogram(spikes: SpikesLike, ax: Axes | None = None, *,
                    population: str | None = None, bins: int | str | None = None) -> Axes:
    """Histogram of the spike count of each neuron of each realization (B·N entries in all).

    ``bins`` defaults to one bin per integer count up to 100, else numpy's "auto".
    """
    s = _as_spikes(spikes, population)
    ax = _axes(ax)
    counts = analysis.spike_counts(s).ravel()
    if bins is None:
        top = int(counts.max(initial=0))
        bins = np.arange(top + 2) - 0.5 if top <= 100 else "auto"
    heights, edges = np.histogram(counts, bins=bins)
    ax.stairs(heights, edges, fill=True, alpha=0.8)
    ax.set_xlabel("spike count per neuron")
    ax.set_ylabel("number of neurons")
    return ax


def vm_histograms(trace: TraceLike, times: Sequence[float] | None = None,
                  ax: Axes | None = None, *, bins: int = 50, population: str | None = None,
                  variable: str = "v") -> Axes:
    """Histograms of the variable across realizations and neurons at chosen times.

    Args:
        times: s; each is taken at the nearest sample. Default: t_end/10 and t_end, t_end being
            the last sample time.
        bins: number of bins, shared by all histograms (one StepPatch per time, each summing
            to n_realizations · n_selected).
    """
    tr = _as_trace(trace, population, variable)
    ax = _axes(ax)
    if times is None:
        times = (tr.times[-1] / 10, tr.times[-1])
    idx = [int(np.argmin(np.abs(tr.times - t))) for t in times]
    samples = tr.values[idx].reshape(len(idx), -1)
    edges = np.histogram_bin_edges(samples, bins=bins, range=_padded_range(samples))
    for k, i in enumerate(idx):
        heights, _ = np.histogram(samples[k], bins=edges)
        ax.stairs(heights, edges, color=f"C{k % 10}", label=f"t = {tr.times[i]:.4g} s")
    if tr.threshold is not None and tr.variable == "v":
        ax.axvline(tr.threshold, color="k", linestyle="--", linewidth=1, label="threshold")
    ax.set_xlabel(_value_label(tr.variable, tr.unit))
    ax.set_ylabel("count")
    ax.legend(fontsize="small")
    return ax


def population_rate(spikes: SpikesLike, bin_width: float, ax: Axes | None = None,
                    smooth: float | None = None, *, population: str | None = None,
                    t_unit: str = "s", max_lines: int = 20) -> Axes:
    """Population rate per neuron (Hz) in bins of ``bin_width`` s, optionally Gaussian-smoothed.

    One thin line per realization (up to ``max_lines`` of them; beyond, a grey ±1 std band)
    and, when there are several, their mean as a thick black line labelled "trial average".
    """
    s = _as_spikes(spikes, population)
    ax = _axes(ax)
    centers, rates = analysis.population_rate(s, bin_width, smooth)
    t = centers * _t_scale(t_unit)
    several = rates.shape[0] > 1
    if rates.shape[0] <= max_lines:
        for b, r in enumerate(rates):
            ax.plot(t, r, color=f"C{b % 10}", linewidth=0.8 if several else 1.2,
                    alpha=0.6 if several else 1.0)
    if several:
        mean, std = analysis.trial_average(rates)
        if rates.shape[0] > max_lines:
            ax.fill_between(t, mean - std, mean + std, color="0.8", label="±1 std")
        ax.plot(t, mean, color="k", linewidth=2, label="trial average")
        ax.legend(fontsize="small")
    ax.set_xlabel(f"time ({t_unit})")
    ax.set_ylabel("rate (Hz)")
    return ax


def isi_histogram(spikes: SpikesLike, ax: Axes | None = None, *, bins: int = 50,
                  population: str | None = None, t_unit: str = "s") -> Axes:
    """Histogram of all inter-spike intervals, from 0 to the longest, in ``bins`` bins.

    The title gives the mean over neurons and realizations of the ISI CV (see
    :func:`spikesim.analysis.cv_isi`).
    """
    s = _as_spikes(spikes, population)
    ax = _axes(ax)
    scale = _t_scale(t_unit)
    intervals = analysis.pooled_isi(s) * scale
    heights, edges = np.histogram(intervals, bins=bins, range=(0.0, intervals.max(initial=0.0)))
    ax.stairs(heights, edges, fill=True, alpha=0.8)
    cv = analysis.cv_isi(s)
    finite = cv[np.isfinite(cv)]
    ax.set_title(f"CV = {finite.mean():.2f}" if finite.size else "CV = n/a")
    ax.set_xlabel(f"ISI ({t_unit})")
    ax.set_ylabel("count")
    return ax


def fi_curve(currents: Sequence[float] | np.ndarray, rates: Sequence[float] | np.ndarray,
             ax: Axes | None = None, *, current_unit: str = "A") -> Axes:
    """Firing rate (Hz) against input current.

    ``rates`` has shape (n_currents,) or (n_currents, n_repeats); in the latter case the mean
    is drawn with ±1 std error bars.
    """
    ax = _axes(ax)
    currents = np.asarray(currents, dtype=float)
    rates = np.asarray(rates, dtype=float)
    if rates.ndim == 1:
        ax.plot(currents, rates, marker="o")
    else:
        ax.errorbar(currents, rates.mean(axis=1), yerr=rates.std(axis=1), marker="o",
                    capsize=3)
    ax.set_xlabel(_value_label("current", current_unit))
    ax.set_ylabel("rate (Hz)")
    return ax


def summary(spikes: SpikesLike, trace: TraceLike | None = None, *,
            population: str | None = None, bin_width: float | None = None) -> Figure:
    """A sheet with the raster, the population rate, the spike-count histogram and, when
    ``trace`` is given, the traces (mean ± std across realizations).

    ``bin_width`` (s) defaults to 1/100 of the recorded interval.
    """
    s = _as_spikes(spikes, population)
    layout = [["raster", "raster"], ["rate", "counts"]]
    if trace is not None:
        layout.append(["trace", "trace"])
    fig = Figure(figsize=(9.0, 3.0 * len(layout)), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplot_mosaic(layout)
    t0, t1 = _time_range(s, None)
    raster(s, axes["raster"])
    population_rate(s, bin_width or (t1 - t0) / 100, axes["rate"])
    count_histogram(s, axes["counts"])
    if trace is not None:
        traces(_as_trace(trace, population), axes["trace"], mean=True)
    return fig


def save(fig_or_ax: Figure | Axes, path: str | os.PathLike, dpi: int = 120) -> None:
    """Write the figure (of an Axes) as a PNG at ``path``; no directory is created."""
    fig = fig_or_ax.get_figure(root=True)
    fig.savefig(path, dpi=dpi, format="png")
