"""Headless matplotlib plots of spikes and traces.

Every plot draws into ``ax`` when given, or else into a new :class:`~matplotlib.figure.Figure`
with an Agg canvas (pyplot is never used, so no display is needed), and returns the Axes
(:func:`summary` and :func:`rasters` return the Figure). Spike inputs may be a
:class:`~spikesim.results.Spikes`, a tuple ``(times, ids)`` or ``(times, ids, realizations)``,
or the path of an HDF5 result file; trace inputs a :class:`~spikesim.results.Trace`, a tuple
``(times, values)`` or a path. Times are in seconds unless ``t_unit="ms"`` asks for
milliseconds on the axis.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from spikesim import analysis, checks
from spikesim.results import Spikes, Trace, check_realizations

SpikesLike = Spikes | tuple | str | os.PathLike
TraceLike = Trace | tuple | str | os.PathLike
TimeRange = tuple[float | None, float | None]  # (start, stop) in s; None: unbounded

_T_SCALE = {"s": 1.0, "ms": 1e3}
SHEET_NEURONS = 10  # the traces a summary sheet (and ``spikesim plot``) draws at most
RASTER_BLOCK = 1 << 20  # spikes a raster image bins at a time
_STEPS = [1, 2, 5, 10]  # tick spacings: 1, 2 or 5 times a power of ten


def _as_spikes(obj: SpikesLike, population: str | None = None,
               ids: np.ndarray | None = None,
               t_range: TimeRange | None = None) -> Spikes:
    """A ``Spikes`` from a ``Spikes``, a tuple of arrays or an HDF5 file path (of which only
    the spikes of neurons ``ids`` are read, when given), in the window ``t_range`` (s; see
    :meth:`~spikesim.results.Spikes.window`) when given (from a file, only it is read).

    A tuple gives n_neurons = max id + 1, n_realizations = max realization + 1 and the
    interval [min(0, first spike), last spike].
    """
    lo, hi = (None, None) if t_range is None else _t_range(t_range)
    if isinstance(obj, (str, os.PathLike)):
        from spikesim.io import load

        return load(obj).spikes(population=population, ids=ids, t_start=lo, t_stop=hi)
    if isinstance(obj, Spikes):
        return obj if t_range is None else obj.window(lo, hi)
    if isinstance(obj, tuple) and len(obj) in (2, 3):
        times = checks.finite_array("times", obj[0], unit="s")
        ids = checks.index_array("ids", obj[1])
        reals = checks.index_array("realizations", obj[2] if len(obj) == 3 else np.zeros_like(ids))
        if not times.shape == ids.shape == reals.shape:
            raise ValueError("times, ids and realizations must have the same shape")
        order = np.argsort(times, kind="stable")
        s = Spikes(times[order], ids[order], reals[order],
                   n_neurons=int(ids.max(initial=-1)) + 1,
                   n_realizations=int(reals.max(initial=0)) + 1,
                   t_start=min(0.0, float(times.min(initial=0.0))),
                   t_stop=float(times.max(initial=0.0)), population=population or "")
        return s if t_range is None else s.window(lo, hi)
    raise TypeError(f"cannot read spikes from {type(obj).__name__}")


def _as_trace(obj: TraceLike, population: str | None = None, variable: str = "v",
              ids: Sequence[int] | None = None,
              t_range: TimeRange | None = None) -> Trace:
    """A ``Trace`` from a ``Trace``, a tuple ``(times, values)`` or an HDF5 file path (of
    which only the columns of neurons ``ids`` are read, when given), with only its samples at
    start <= t <= stop when ``t_range`` = (start, stop) is given (from a file, only those are
    read).

    Tuple values may have shape (n_samples,), (n_samples, n_selected) or
    (n_samples, n_realizations, n_selected); they are taken as dimensionless.
    """
    window = None if t_range is None else _t_range(t_range)
    if isinstance(obj, Trace):
        return obj if window is None else _trace_window(obj, *window)
    if isinstance(obj, (str, os.PathLike)):
        from spikesim.io import load

        lo, hi = (None, None) if window is None else window
        return load(obj).trace(population=population, variable=variable, ids=ids,
                               t_start=lo, t_stop=hi)
    if isinstance(obj, tuple) and len(obj) == 2:
        times = checks.finite_array("times", obj[0], unit="s")
        values = checks.reals("values", obj[1], "an array of numbers", "")  # (NaN: gaps)
        if values.ndim not in (1, 2, 3) or values.shape[0] != times.size:
            raise ValueError(f"values must have shape (n_samples[, n_realizations], n_selected) "
                             f"with n_samples = {times.size} (the times), got shape "
                             f"{values.shape}")
        if values.ndim == 1:
            values = values[:, None, None]
        elif values.ndim == 2:
            values = values[:, None, :]
        tr = Trace(times, values, np.arange(values.shape[2]), variable,
                   population=population or "")
        return tr if window is None else _trace_window(tr, *window)
    raise TypeError(f"cannot read a trace from {type(obj).__name__}")


def _axes(ax: Axes | None, figsize: tuple[float, float] = (6.4, 4.0)) -> Axes:
    """``ax``, or the Axes of a new Agg-backed Figure."""
    if ax is not None:
        if not isinstance(ax, Axes):
            raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
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


def _display_unit(unit: str, values: np.ndarray) -> tuple[float, str]:
    """(factor, unit) to plot ``values`` in: millivolts for volts under 0.2 V in magnitude;
    for amperes, the largest of nA and pA in which the largest magnitude is at least 1 (the
    synaptic and input currents of single neurons)."""
    finite = np.abs(values[np.isfinite(values)])
    top = float(finite.max()) if finite.size else 0.0
    if unit == "V" and finite.size and top < 0.2:
        return 1e3, "mV"
    if unit == "A" and 0.0 < top < 1e-6:
        return (1e9, "nA") if top >= 1e-9 else (1e12, "pA")
    return 1.0, unit


def _threshold_line(ax: Axes, threshold: float, data: np.ndarray, vertical: bool = False) -> None:
    """A dashed line at ``threshold``, labelled "threshold" at its end, when the data would
    still fill a quarter of the axis with it in view; none when it is farther from the data."""
    lo, hi = float(np.nanmin(data)), float(np.nanmax(data))
    reach = 3 * max(hi - lo, 0.25 * max(abs(lo), abs(hi)))
    if not lo - reach <= threshold <= hi + reach:
        return
    line = dict(color="k", linestyle="--", linewidth=1)
    if vertical:
        ax.axvline(threshold, **line)
        xy, coords, offset = (threshold, 1), ax.get_xaxis_transform(), (3, -3)
    else:
        ax.axhline(threshold, **line)
        xy, coords, offset = (1, threshold), ax.get_yaxis_transform(), (-3, -2)
    ax.annotate("threshold", xy, xycoords=coords, xytext=offset, textcoords="offset points",
                rotation=90 if vertical else 0, ha="left" if vertical else "right", va="top",
                fontsize="small", bbox=dict(boxstyle="square,pad=0.1", facecolor="white",
                                            edgecolor="none", alpha=0.7))


def _legend(ax: Axes) -> None:
    """The legend of the labelled artists, outside the axes on the right, hiding no data."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0,
                  fontsize="small", frameon=False)


def _time_label(ax: Axes, t_unit: str) -> None:
    """Label the time axis, unless the axes shares it with one below, whose label serves."""
    spec = ax.get_subplotspec()
    shared = len(ax.get_shared_x_axes().get_siblings(ax)) > 1
    if not (shared and spec is not None and not spec.is_last_row()):
        ax.set_xlabel(f"time ({t_unit})")


def _padded_range(data: np.ndarray) -> tuple[float, float]:
    """(min, max) of the finite values of ``data`` (which has some), widened when the spread is
    too small for finite bins."""
    finite = data[np.isfinite(data)]
    lo, hi = float(finite.min()), float(finite.max())
    size = max(abs(lo), abs(hi))
    if hi - lo <= 1e-9 * size:
        lo, hi = lo - 1e-3 * size, hi + 1e-3 * size
    return lo, hi


def _t_range(t_range: TimeRange) -> TimeRange:
    """``t_range`` checked: (start, stop) in s, each finite or None (unbounded), start < stop."""
    if not isinstance(t_range, (tuple, list, np.ndarray)) or len(t_range) != 2:
        raise ValueError(f"t_range must be (start, stop) with start < stop (in s), "
                         f"got {t_range!r}")
    lo, hi = (None if t is None else checks.number("t_range", t, unit="s") for t in t_range)
    if lo is not None and hi is not None and not lo < hi:
        raise ValueError(f"t_range must be (start, stop) with start < stop (in s), "
                         f"got {t_range!r}")
    return lo, hi


def _trace_window(tr: Trace, lo: float | None, hi: float | None) -> Trace:
    """``tr`` with only its samples at lo <= t <= hi (s; None: unbounded), up to rounding, as
    the file reader selects them (sample times are whole steps, k·dt, not exact)."""
    keep = ((tr.times >= (-np.inf if lo is None else lo - 1e-12 * max(1.0, abs(lo))))
            & (tr.times <= (np.inf if hi is None else hi + 1e-12 * max(1.0, abs(hi)))))
    return dataclasses.replace(tr, times=tr.times[keep], values=tr.values[keep])


def _time_range(spikes: Spikes, t_range: TimeRange | None) -> tuple[float, float]:
    """``t_range`` (an end None: as without it), else the recorded interval, else the span of
    the spikes, else 1 s from the first spike or 0 (s)."""
    if t_range is not None:
        lo, hi = _t_range(t_range)
        t0, t1 = _time_range(spikes, None)
        lo, hi = (t0 if lo is None else lo), (t1 if hi is None else hi)
        if not lo < hi:
            raise ValueError(f"t_range {t_range!r} leaves no time: the spikes' interval is "
                             f"[{t0:g}, {t1:g}] s")
        return lo, hi
    if spikes.t_stop > spikes.t_start:
        return float(spikes.t_start), float(spikes.t_stop)
    if len(spikes) and spikes.times.max() > spikes.times.min():
        return float(spikes.times.min()), float(spikes.times.max())
    first = float(spikes.times.min(initial=0.0))
    return first, first + 1.0


def _integer_ticks(n: int, nbins: int) -> np.ndarray:
    """About ``nbins`` integer ticks in [0, n − 1] (just 0 for n = 1)."""
    if n <= 1:
        return np.arange(n)
    ticks = MaxNLocator(nbins=nbins, steps=_STEPS, integer=True).tick_values(0, n - 1)
    return ticks[(ticks >= 0) & (ticks < n)].astype(np.int64)


def _row_layout(s: Spikes) -> tuple[np.ndarray, np.ndarray, int, int, str, str,
                                     np.ndarray | None]:
    """How a raster stacks rows: each spike's block and row within its block, the number of
    blocks, the rows per block, what a row and a block are, and the neuron ids of the neuron
    places (None: the places are the ids).

    Blocks are realizations of neuron rows, unless there are more realizations than neurons:
    then they are neurons of realization rows (a single block for a single neuron). Spikes
    recorded of a subset of neurons (``recorded``) take a place for each of those only, in
    the order of their ids, and for any other neuron they hold spikes of (a monitor given
    other ids between runs, another writer's file).
    """
    s.check()
    places, n, names = s.ids, s.n_neurons, None
    if s.recorded is not None and np.size(s.recorded) < s.n_neurons:
        names = np.unique(s.recorded)
        places = np.searchsorted(names, s.ids)
        listed = places < names.size
        listed[listed] = names[places[listed]] == s.ids[listed]
        if not listed.all():  # (else drawn on another neuron's row, or an IndexError)
            names = np.union1d(names, s.ids[~listed])
            places = np.searchsorted(names, s.ids)
        n = names.size
    if s.n_realizations > max(n, 1):
        return places, s.realizations, n, s.n_realizations, "realization", "neuron", names
    return s.realizations, places, s.n_realizations, n, "neuron", "realization", names


def _row_axis(ax: Axes, n_blocks: int, size: int, row: str, block: str,
              names: np.ndarray | None = None) -> None:
    """Y ticks, label, block names and separators of a raster of ``n_blocks`` blocks of
    ``size`` rows, as described in :func:`raster`; ``names``: the neuron ids of the neuron
    places (rows or blocks), None where the places are the ids."""
    def named(k: int, what: str) -> str:
        return str(k if names is None or what != "neuron" else names[k])

    if n_blocks > 8:
        index = _integer_ticks(n_blocks, 8)
        ax.set_yticks(index * size + (size - 1) / 2, [named(b, block) for b in index])
        ax.set_ylabel(f"{block} ({size} {row}s each)")
    else:
        within = _integer_ticks(size, max(1, 8 // max(n_blocks, 1)))
        if n_blocks > 1:  # none in a block's top fifth, where it met the next block's 0
            within = within[within < max(1.0, 0.8 * size)]
        ax.set_yticks((np.arange(n_blocks)[:, None] * size + within).ravel(),
                      [named(k, row) for k in np.tile(within, n_blocks)])
        ax.set_ylabel(row if names is None or row != "neuron" else
                      f"neuron ({size} recorded)")
        for b in range(n_blocks if n_blocks > 1 else 0):
            ax.text(1.005, (b + 0.5) * size - 0.5, f"{block[0]}{named(b, block)}",
                    va="center", transform=ax.get_yaxis_transform(), fontsize="small",
                    color="0.4")
    if 1 < n_blocks <= 20:
        ax.hlines(np.arange(1, n_blocks) * size - 0.5, 0, 1, transform=ax.get_yaxis_transform(),
                  colors="0.6", linewidths=0.5)


def _float_bins(name: str, bins):
    """``bins`` of a histogram of floats: a count (1 to 10**7) or a sequence of edges. numpy's
    estimators ("auto", "fd", ...) are refused: they take the width from the spread of the data,
    and regular spikes (or neurons at rest) spread by rounding errors alone, 1e-18 s, which
    asks for up to 10**16 bins (a MemoryError, or all the memory)."""
    if isinstance(bins, str):
        raise ValueError(f"{name} must be a number of bins (1 to {analysis._MAX_BINS}) or a "
                         f"sequence of edges, got {bins!r}")
    return analysis._hist_bins(name, bins)


def _image_bins(image_bins) -> tuple[int, int]:
    """``image_bins`` = (time bins, row bins): integers >= 1, at most 10**7 in all."""
    k = np.asarray(image_bins)
    if k.shape != (2,) or not np.issubdtype(k.dtype, np.integer) or k.min() < 1 or (
            int(k[0]) * int(k[1]) > analysis._MAX_BINS):
        raise ValueError(f"image_bins must be (time bins, row bins), integers >= 1 with a "
                         f"product <= {analysis._MAX_BINS}, got {image_bins!r}")
    return int(k[0]), int(k[1])


def raster(spikes: SpikesLike, ax: Axes | None = None, *, population: str | None = None,
           t_range: TimeRange | None = None, mode: str = "auto",
           max_points: int = 200_000, image_bins: tuple[int, int] = (1000, 1000),
           t_unit: str = "s") -> Axes:
    """Spike raster: time on x, one row per neuron or per realization on y.

    One realization: a row per neuron (per recorded neuron when the spikes were recorded of a
    subset, ``recorded``: the ticks give their ids). Several: blocks of rows, one per realization
    (row = realization·N + neuron), or, when there are more realizations than neurons, one per
    neuron (row = neuron·B + realization), so that one neuron's realizations form one block and
    the y label says "realization". Up to 8 blocks, ticks number the rows within each block and
    the blocks are named on the right (r0, r1, ... realizations; n0, n1, ... neurons); beyond,
    ticks number the blocks and the y label says how many rows each holds. Grey lines separate
    up to 20 blocks.

    Args:
        t_range: (start, stop) in s (an end None: t_start or t_stop); defaults to
            [t_start, t_stop]. Spikes outside are dropped.
        mode: "points" draws one "|" marker per spike (one Line2D per block, coloured
            C0, C1, ..., rasterized in vector output above 10 000 markers); "image" draws a
            2-D histogram of spike counts (imshow, darker = more spikes) with at most
            ``image_bins`` = (time bins, row bins); "auto" picks "image" above ``max_points``
            spikes in range.
        t_unit: "s" or "ms" on the time axis.
    """
    max_points = checks.count("max_points", max_points, low=0)
    n_t, n_y = _image_bins(image_bins)
    s = _as_spikes(spikes, population)
    scale = _t_scale(t_unit)
    t0, t1 = _time_range(s, t_range)
    ax = _axes(ax)
    blocks, within, n_blocks, size, row, block, names = _row_layout(s)
    n_rows = max(n_blocks * size, 1)
    step = max(RASTER_BLOCK, n_t * n_y)  # (spikes taken a block at a time: temporaries of
    parts = range(0, len(s), step)  # several arrays per spike took 2-3 times their memory)
    if mode == "auto":
        shown = sum(int(np.count_nonzero((s.times[a:a + step] >= t0)
                                         & (s.times[a:a + step] <= t1))) for a in parts)
        mode = "image" if shown > max_points else "points"
    if mode == "points":
        keep = (s.times >= t0) & (s.times <= t1)
        times, blocks = s.times[keep], blocks[keep]
        rows = blocks * size + within[keep]
        marker_size = float(np.clip(300.0 / n_rows, 1.0, 12.0))
        for b in np.unique(blocks):
            mine = blocks == b
            ax.plot(times[mine] * scale, rows[mine], linestyle="none", marker="|",
                    markersize=marker_size, color=f"C{b % 10}",
                    rasterized=bool(mine.sum() > 10_000))
    elif mode == "image":
        n_y = min(n_y, n_rows)
        span = t1 - t0 if t1 > t0 else 1.0
        counts = np.zeros(n_y * n_t, np.int64)
        for a in parts:
            times = s.times[a:a + step]
            keep = (times >= t0) & (times <= t1)
            times = times[keep]
            rows = blocks[a:a + step][keep] * size + within[a:a + step][keep]
            # as analysis bins: a time on an edge (up to rounding) opens the bin starting there
            it = np.clip(analysis._bin_index(times, t0, span / n_t), 0, n_t - 1)
            iy = rows * n_y // n_rows
            counts += np.bincount(iy * n_t + it, minlength=n_y * n_t)
        counts = counts.reshape(n_y, n_t)
        ax.imshow(counts, origin="lower", aspect="auto", interpolation="nearest", cmap="Greys",
                  extent=(t0 * scale, t1 * scale, -0.5, n_rows - 0.5))
    else:
        raise ValueError(f"mode must be 'auto', 'points' or 'image', got {mode!r}")
    _row_axis(ax, n_blocks, size, row, block, names)
    ax.set_xlim(t0 * scale, t1 * scale)
    ax.set_ylim(-0.5, n_rows - 0.5)
    _time_label(ax, t_unit)
    if s.population:
        ax.set_title(s.population)
    return ax


def _trace_title(tr: Trace, cols: np.ndarray, reals: np.ndarray) -> str:
    """The population, then the neuron when only one is drawn, and the realizations drawn."""
    parts = [f"neuron {tr.ids[cols[0]]}"] if cols.size == 1 else []
    if tr.values.shape[1] > 1 or "realizations" in tr.meta:
        parts.append(f"realization {_batch_index(tr, reals[0])}" if reals.size == 1
                     else f"{reals.size} realizations")
    return ": ".join(filter(None, [tr.population, ", ".join(parts)]))


def _batch_index(tr: Trace, r: int) -> int:
    """The batch index of realization ``r`` of ``tr.values`` (a trace read for one
    realization says which in ``meta``)."""
    return int(tr.meta["realizations"][r]) if "realizations" in tr.meta else int(r)


def traces(trace: TraceLike, ax: Axes | None = None, neurons: Sequence[int] | None = None,
           realization: int | Sequence[int] | None = None, mean: bool | None = None, *,
           samples: int = 3, population: str | None = None, variable: str = "v",
           t_unit: str = "s", spikes: SpikesLike | None = None,
           t_range: TimeRange | None = None) -> Axes:
    """State-variable traces against time, one colour per neuron.

    Args:
        neurons: neuron ids (within the population) among ``trace.ids``; default all.
        realization: one realization index or several, in [0, B); default all.
        mean: draw, per neuron, the mean across the chosen realizations with a ±1 std band
            (ddof=0) and ``samples`` of the realizations as thin lines, instead of one line per
            realization. Default: when more than 10 realizations are chosen; never for one.
        samples: with ``mean``, how many realizations (the first chosen) to draw as well.
        variable: the variable to read when ``trace`` is a file path.
        t_unit: "s" or "ms" on the time axis.
        spikes: the population's spikes (a SpikeMonitor's, a file's): each drawn neuron's are
            marked by a stroke in its colour from its value just before the spike to above the
            threshold (the state is sampled after the reset, so a trace alone never shows a
            spike). Not with ``mean``.
        t_range: (start, stop) in s, an end None for unbounded: only the samples at
            start <= t <= stop (from a file, only those are read), and the axis spans it.

    Volts under 0.2 V in magnitude are drawn in mV, amperes under 1 µA in nA or pA; the y
    label is "variable (unit)". The
    firing threshold of "v" (``trace.threshold``) is a labelled dashed line, left out when so
    far from the data that they would fill less than a quarter of the axis. A legend outside on
    the right tells up to 10 neurons apart; the title names the population, the neuron when
    only one is drawn, and the realizations drawn when there are several.
    """
    samples = checks.count("samples", samples, low=0)
    tr = _as_trace(trace, population, variable, neurons, t_range)  # (a file: what is drawn)
    scale = _t_scale(t_unit)
    cols = np.arange(tr.ids.size)
    if neurons is not None:
        position = {int(n): k for k, n in enumerate(tr.ids)}
        wanted = checks.index_array("neurons", neurons).tolist()
        missing = [n for n in wanted if n not in position]
        if missing:
            raise ValueError(f"neurons {missing} are not in the trace (ids {tr.ids.tolist()})")
        cols = np.array([position[n] for n in wanted], dtype=np.int64)
    n_all = tr.values.shape[1]
    reals = np.arange(n_all) if realization is None else check_realizations(realization, n_all)
    mean = checks.flag("mean", mean, none=True)
    ax = _axes(ax)
    factor, unit = _display_unit(tr.unit, tr.values)
    values = tr.values[:, reals][:, :, cols] * factor
    mean = (reals.size > 10 if mean is None else mean) and reals.size > 1
    t = tr.times * scale
    for k, c in enumerate(cols if reals.size else []):
        color = f"C{k % 10}"
        prefix = "" if cols.size == 1 else f"neuron {tr.ids[c]}: "
        if mean:
            mu, sd = values[:, :, k].mean(axis=1), values[:, :, k].std(axis=1)
            ax.fill_between(t, mu - sd, mu + sd, color=color, alpha=0.25, linewidth=0)
            shown = values[:, :samples, k]
            if shown.shape[1] and k == 0:  # (one entry for all: the legend stays short)
                ax.plot(t, shown, color=color, linewidth=0.6, alpha=0.6)[0].set_label(
                    f"{shown.shape[1]} sample realizations" + (
                        " each (thin)" if cols.size > 1 else ""))
            elif shown.shape[1]:
                ax.plot(t, shown, color=color, linewidth=0.6, alpha=0.6)
            ax.plot(t, mu, color=color, linewidth=2, label=f"{prefix}mean ± std")
        else:
            lines = ax.plot(t, values[:, :, k], color=color, linewidth=0.8)
            if cols.size > 1:
                lines[0].set_label(f"neuron {tr.ids[c]}")
    if tr.threshold is not None and tr.variable == "v" and values.size:
        _threshold_line(ax, tr.threshold * factor, values)
    if spikes is not None and not mean and values.size:  # (a file: the drawn neurons' only)
        _spike_marks(ax, _as_spikes(spikes, population or tr.population or None, tr.ids[cols],
                                    t_range), tr, cols, reals, values, factor, scale)
    if t_range is not None:
        ax.set_xlim(*(None if t is None else t * scale for t in _t_range(t_range)))
    _time_label(ax, t_unit)
    ax.set_ylabel(_value_label(tr.variable, unit))
    if cols.size <= 10:
        _legend(ax)
    ax.set_title(_trace_title(tr, cols, reals))
    return ax


def _spike_marks(ax: Axes, s: Spikes, tr: Trace, cols: np.ndarray, reals: np.ndarray,
                 values: np.ndarray, factor: float, scale: float) -> None:
    """:func:`traces`' spike strokes: for drawn column k (neuron ``tr.ids[cols[k]]``) and
    realization ``reals[r]``, from ``values[sample, r, k]`` at the last sample at or before
    each spike (shown in ``factor`` units, times × ``scale``) to a fifth of the data's range
    above the threshold, or above the data where they exceed it (a jump of v arriving at the
    end of a step, sampled before the next step thresholds it: delta synapses, RC), so that no
    stroke runs downwards inside the trace's own jump."""
    lo, hi = float(np.nanmin(values)), float(np.nanmax(values))
    top = (max(tr.threshold * factor, hi) if tr.threshold is not None and tr.variable == "v"
           else hi)
    top += 0.2 * max(hi - lo, abs(top) * 1e-3, 1e-12)
    for k, c in enumerate(cols):
        for r, b in enumerate(reals):
            # the spikes of the same realization: its batch index, or the only one of both
            want = 0 if s.n_realizations == 1 == tr.values.shape[1] else _batch_index(tr, b)
            t = s.times[(s.ids == tr.ids[c]) & (s.realizations == want)]
            at = np.searchsorted(tr.times, t, side="right") - 1
            t, at = t[at >= 0], at[at >= 0]
            if t.size:
                ax.vlines(t * scale, values[at, r, k], top, color=f"C{k % 10}", linewidth=0.8)


def count_histogram(spikes: SpikesLike, ax: Axes | None = None, *,
                    population: str | None = None,
                    bins: int | Sequence[float] | str | None = None) -> Axes:
    """Histogram of the spike count of each recorded neuron of each realization (B·N entries
    in all when every neuron was recorded).

    ``bins`` (a count, a sequence of edges or one of numpy's estimators, as numpy's histogram
    takes it) defaults to one bin per integer count up to 100, else numpy's "auto". The labels
    say what is counted: neurons (one realization), realizations (one neuron) or both.
    """
    bins = analysis._hist_bins("bins", bins)
    s = _as_spikes(spikes, population)
    ax = _axes(ax)
    counts = analysis.spike_counts(s)
    counts = (counts if s.recorded is None else counts[:, s.recorded]).ravel()
    if bins is None:
        top = int(counts.max(initial=0))
        bins = np.arange(top + 2) - 0.5 if top <= 100 else "auto"
    heights, edges = np.histogram(counts, bins=bins)
    ax.stairs(heights, edges, fill=True, alpha=0.8)
    if s.n_realizations == 1:
        per, entries = "neuron", "neurons"
    elif s.n_recorded == 1:
        per, entries = "realization", "realizations"
    else:
        per, entries = "neuron and realization", "neurons × realizations"
    ax.xaxis.set_major_locator(MaxNLocator(steps=_STEPS, integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(steps=_STEPS, integer=True))
    ax.set_xlabel(f"spike count per {per}")
    ax.set_ylabel(f"number of {entries}")
    return ax


def vm_histograms(trace: TraceLike, times: Sequence[float] | None = None,
                  ax: Axes | None = None, *, bins: int | Sequence[float] = 50,
                  population: str | None = None,
                  variable: str = "v") -> Axes:
    """Histograms of the variable across realizations and neurons at chosen times.

    Args:
        times: s; each is taken at the nearest sample. Default: t_end/10 and t_end, t_end being
            the last sample time.
        bins: number of bins (1 to 10**7) or a sequence of edges (in the unit drawn), shared
            by all histograms (one StepPatch per time, each summing to n_realizations ·
            n_selected, less any NaN or infinite value).

    Volts under 0.2 V in magnitude are drawn in mV; the threshold as in :func:`traces`. The
    legend is outside on the right. A trace without samples (or without a finite value) gives
    empty axes.
    """
    bins = _float_bins("bins", bins)
    tr = _as_trace(trace, population, variable)
    if times is None:
        times = [tr.times[-1] / 10, tr.times[-1]] if tr.times.size else []
    times = np.atleast_1d(checks.finite_array("times", times, ndim=(0, 1), unit="s"))
    idx = [int(np.argmin(np.abs(tr.times - t))) for t in times] if tr.times.size else []
    factor, unit = _display_unit(tr.unit, tr.values)
    samples = tr.values[idx].reshape(len(idx), int(np.prod(tr.values.shape[1:]))) * factor
    finite = samples[np.isfinite(samples)]
    ax = _axes(ax)
    if finite.size:
        edges = np.histogram_bin_edges(finite, bins=bins, range=_padded_range(finite))
        for k, i in enumerate(idx):
            heights, _ = np.histogram(samples[k][np.isfinite(samples[k])], bins=edges)
            ax.stairs(heights, edges, color=f"C{k % 10}", label=f"t = {tr.times[i]:.4g} s")
        if tr.threshold is not None and tr.variable == "v":
            _threshold_line(ax, tr.threshold * factor, finite, vertical=True)
    ax.set_xlabel(_value_label(tr.variable, unit))
    ax.set_ylabel("count")
    _legend(ax)
    return ax


def population_rate(spikes: SpikesLike, bin_width: float | None = None, ax: Axes | None = None,
                    smooth: float | None = None, *, population: str | None = None,
                    t_unit: str = "s", max_lines: int = 20,
                    t_range: TimeRange | None = None) -> Axes:
    """Population rate per neuron (Hz) in bins of ``bin_width`` s (default
    :func:`default_bin_width`: 1/100 of the interval, in whole steps), optionally
    Gaussian-smoothed (``smooth``: the kernel's standard deviation, s).

    ``t_range`` (start, stop) in s: the interval to bin, spikes outside dropped; default the
    recorded interval [t_start, t_stop]. Give it where the end of the recording is not known:
    for a tuple of arrays, or a file of another writer, t_stop is the last spike, and a last
    bin cut short there, which holds that spike, reads too high.

    One thin line per realization (up to ``max_lines`` of them; a single one is always
    drawn) and, when there are several, their mean as a thick black line labelled "trial
    average". Beyond ``max_lines`` realizations, a grey band spans mean ± 1 std (ddof=0) across
    them, its lower edge clipped at 0 Hz since rates are non-negative (the legend says so).
    ``bin_width`` and ``smooth`` are limited as in :func:`spikesim.analysis.population_rate`;
    an empty recorded interval (t_stop <= t_start) gives empty axes.
    """
    max_lines = checks.count("max_lines", max_lines, low=0)
    from_file = isinstance(spikes, (str, os.PathLike))  # (a file: only the window is read)
    s = _as_spikes(spikes, population, t_range=t_range if from_file else None)
    scale = _t_scale(t_unit)
    if t_range is not None:
        t0, t1 = _time_range(s, t_range)
        # the spikes at start <= t < stop, as Spikes.window and a file's window keep them (a
        # spike at stop counted in the last bin read it too high), over [t0, t1] even where
        # that reaches past the spikes' own interval (a tuple's or another writer's file's);
        # an end left None cuts nothing, as without t_range (such a t_stop is the last spike)
        s.check(times=False)  # (arrays, for the window)
        s = dataclasses.replace(s.window(*_t_range(t_range)), t_start=t0, t_stop=t1)
    if bin_width is None:
        bin_width = default_bin_width(s)
    if s.t_stop > s.t_start:
        centers, rates = analysis.population_rate(s, bin_width, smooth)
    else:  # nothing recorded: empty axes, as the other plots draw for no data
        analysis._widths(bin_width, smooth)
        centers, rates = np.zeros(0), np.zeros((s.n_realizations, 0))
    ax = _axes(ax)
    _rate_lines(ax, centers * scale, rates, max_lines, t_unit)
    return ax


def recorded_rate(rate: Trace | str | os.PathLike, ax: Axes | None = None, *,
                  population: str | None = None, t_unit: str = "s",
                  max_lines: int = 20, t_range: TimeRange | None = None) -> Axes:
    """The population rate per neuron (Hz) a :class:`~spikesim.RateRecorder` wrote, as
    :meth:`spikesim.io.RecordedRun.rate` reads it (or the path of its file), drawn as
    :func:`population_rate` draws rates: at the centres of the bins (of a last bin cut short
    too), one line per realization, their average and spread. ``t_range`` (start, stop) in s:
    only the bins whose centre lies in it, and the axis spans it."""
    max_lines = checks.count("max_lines", max_lines, low=0)
    if isinstance(rate, (str, os.PathLike)):
        from spikesim.io import load

        rate = load(rate).rate(population)
    if not isinstance(rate, Trace) or rate.variable != "rate" or "widths" not in rate.meta:
        raise TypeError(f"rate must be what RecordedRun.rate returns, got "
                        f"{type(rate).__name__}")
    scale = _t_scale(t_unit)
    width = float(rate.meta["bin_width"])
    centers = rate.times + 0.5 * rate.meta["widths"]  # (the last bin may be cut short)
    lo, hi = (None, None) if t_range is None else _t_range(t_range)
    keep = ((centers >= (-np.inf if lo is None else lo))
            & (centers < (np.inf if hi is None else hi)))
    ax = _axes(ax)
    _rate_lines(ax, centers[keep] * scale, rate.values[keep, :, 0].T, max_lines, t_unit)
    if t_range is not None:
        ax.set_xlim(*(None if t is None else t * scale for t in (lo, hi)))
    if rate.population:
        ax.set_title(f"{rate.population}: population rate ({width * 1e3:g} ms bins)")
    return ax


def _rate_lines(ax: Axes, t: np.ndarray, rates: np.ndarray, max_lines: int,
                t_unit: str) -> None:
    """Rates (realizations, bins) at times ``t`` (in ``t_unit``): as :func:`population_rate`
    draws them."""
    several = rates.shape[0] > 1
    if rates.shape[0] <= max_lines or not several:  # (max_lines = 0 drew nothing for one)
        for b, r in enumerate(rates):
            ax.plot(t, r, color=f"C{b % 10}", linewidth=0.8 if several else 1.2,
                    alpha=0.6 if several else 1.0)
    if several:
        mean, std = analysis.trial_average(rates)
        if rates.shape[0] > max_lines:
            ax.fill_between(t, np.maximum(mean - std, 0.0), mean + std, color="0.8",
                            label="±1 std (clipped at 0)")
        ax.plot(t, mean, color="k", linewidth=2, label="trial average")
        _legend(ax)
    _time_label(ax, t_unit)
    ax.set_ylabel("rate (Hz)")


def isi_histogram(spikes: SpikesLike, ax: Axes | None = None, *,
                  bins: int | Sequence[float] = 50,
                  population: str | None = None, t_unit: str = "s") -> Axes:
    """Histogram of all inter-spike intervals, from 0 to the longest, in ``bins`` bins (1 to
    10**7), or in bins of the edges ``bins`` (in ``t_unit``).

    The title gives the mean over neurons and realizations of the ISI CV (see
    :func:`spikesim.analysis.cv_isi`).
    """
    bins = _float_bins("bins", bins)
    s = _as_spikes(spikes, population)
    scale = _t_scale(t_unit)
    ax = _axes(ax)
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
    currents = checks.finite_array("currents", currents)
    rates = checks.finite_array("rates", rates, ndim=(1, 2), unit="Hz")
    if rates.shape[0] != currents.size:
        raise ValueError(f"rates must have shape ({currents.size},) or ({currents.size}, "
                         f"n_repeats), got shape {rates.shape}")
    ax = _axes(ax)
    if rates.ndim == 1:
        ax.plot(currents, rates, marker="o")
    else:
        ax.errorbar(currents, rates.mean(axis=1), yerr=rates.std(axis=1), marker="o",
                    capsize=3)
    ax.set_xlabel(_value_label("current", current_unit))
    ax.set_ylabel("rate (Hz)")
    return ax


def default_bin_width(spikes: Spikes, dt: float | None = None) -> float:
    """The bin width (s) the plots take when none is given: 1/100 of the recorded interval
    (else of the spikes' span, else of 1 s); given the time step ``dt`` (s, > 0; default the
    spikes' ``dt``), rounded to a whole number of steps, at least one, so that every bin holds
    as many steps (bins of 2.5 steps hold 3 and 2 in turn: a constant rate would read 1.2 and
    0.8 times itself)."""
    t0, t1 = _time_range(spikes, None)
    width = (t1 - t0) / 100
    dt = spikes.dt if dt is None else dt
    if dt is not None:
        dt = checks.number("dt", dt, low=0, low_open=True, unit="s")
        steps = width / dt  # (infinite at a subnormal dt: the width stays as it is)
        width = max(1, round(steps)) * dt if math.isfinite(steps) else width
    return width


def summary(spikes: SpikesLike, trace: TraceLike | None = None, *,
            population: str | None = None, bin_width: float | None = None,
            t_range: TimeRange | None = None) -> Figure:
    """A sheet with the raster, the population rate, the spike-count histogram and, when
    ``trace`` is given, the traces of its first 10 neurons, their spikes marked (with several
    realizations, their mean ± std and three of them, see :func:`traces`; the title says when
    there are more).

    ``bin_width`` (s) defaults to :func:`default_bin_width` (1/100 of the recorded interval,
    rounded to whole steps where the spikes' ``dt`` is known). ``t_range`` (start, stop) in s:
    the sheet shows that window only (:meth:`~spikesim.results.Spikes.window`; from a file,
    only the window is read).
    """
    s = _as_spikes(spikes, population, t_range=t_range)
    n_rows = 2 if trace is None else 3
    fig = Figure(figsize=(9.0, 3.0 * n_rows), layout="constrained")
    FigureCanvasAgg(fig)
    rows = fig.subfigures(n_rows, 1)  # laid out apart: one row's legend narrows no other
    raster(s, rows[0].add_subplot())
    ax_rate, ax_counts = rows[1].subplots(1, 2)
    width = default_bin_width(s) if bin_width is None else bin_width
    population_rate(s, width, ax_rate)
    named = f"{s.population}: " if s.population else ""
    ax_rate.set_title(f"{named}population rate ({width * 1e3:g} ms bins)")
    count_histogram(s, ax_counts)
    ax_counts.set_title(f"{named}spike counts")
    if trace is not None:  # (a file: only the neurons drawn are read)
        first_traces(trace, rows[2].add_subplot(), population=population, mean=True, spikes=s,
                     t_range=t_range)
    return fig


def rasters(spikes: Sequence[SpikesLike]) -> Figure:
    """The rasters of several populations (:func:`raster` each), one above the other on one
    time axis, each as tall as its rows (neurons × realizations; at least a fifth of the
    tallest). The time axis spans all their recorded intervals (a population recorded from a
    later run on covers less than the others)."""
    if isinstance(spikes, (Spikes, str, os.PathLike)) or not isinstance(spikes, Sequence):
        raise TypeError(f"rasters takes a list of spikes (a Spikes, a tuple or a file's path "
                        f"each), got {type(spikes).__name__}: for one population, call raster")
    spikes = [_as_spikes(s) for s in spikes]  # (each a Spikes, a tuple or a file's path)
    rows = [max(s.n_recorded * s.n_realizations, 1) for s in spikes]
    if not rows:
        raise ValueError("rasters needs the spikes of at least one population")
    fig = Figure(figsize=(9.0, 6.0), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(rows), 1, sharex=True, squeeze=False,
                        height_ratios=[max(r, max(rows) / 5) for r in rows])[:, 0]
    for s, ax in zip(spikes, axes):
        raster(s, ax)
    spans = [_time_range(s, None) for s in spikes]  # (shared: each raster set it to its own)
    axes[-1].set_xlim(min(t0 for t0, _ in spans), max(t1 for _, t1 in spans))
    return fig


def first_traces(trace: TraceLike, ax: Axes | None = None, **kw: object) -> Axes:
    """:func:`traces` of the first :data:`SHEET_NEURONS` (10) neurons of ``trace`` (keywords
    as :func:`traces`'s), the title saying how many there are when more: thousands of lines
    say nothing and take long to draw (about 10 ms each). From a file's path, only their
    columns are read (within ``t_range``, when given)."""
    population, variable = kw.pop("population", None), kw.pop("variable", "v")
    if kw.pop("neurons", None) is not None:
        raise TypeError("first_traces draws the first neurons of the trace: to choose them, "
                        "call traces(trace, neurons=...)")
    if isinstance(trace, (str, os.PathLike)):
        from spikesim.io import load

        recorded = load(trace).trace_ids(population, variable)
        tr = _as_trace(trace, population, variable, recorded[:SHEET_NEURONS], kw.get("t_range"))
    else:
        tr = _as_trace(trace, population, variable)
        recorded = tr.ids
    shown = tr.ids[:SHEET_NEURONS]
    ax = traces(tr, ax, neurons=shown, **kw)
    if recorded.size > shown.size:
        ax.set_title(f"{ax.get_title()} (first {shown.size} of {recorded.size} neurons)")
    return ax


def save(fig_or_ax: Figure | Axes, path: str | os.PathLike, dpi: float = 120) -> None:
    """Write the figure (of an Axes) at ``path`` in the format its extension names (.png,
    .pdf, .svg, ...: those matplotlib writes), PNG when it has none; ``dpi``: dots per inch,
    > 0. No directory is created."""
    dpi = checks.number("dpi", dpi, low=0, low_open=True)
    if not isinstance(fig_or_ax, (Figure, Axes)):
        raise TypeError(f"fig_or_ax must be a matplotlib Figure or Axes, got "
                        f"{type(fig_or_ax).__name__}")
    fmt = figure_format(path)
    fig_or_ax.get_figure(root=True).savefig(path, dpi=dpi, format=fmt)


def figure_format(path: str | os.PathLike) -> str:
    """The format :func:`save` writes at ``path``: its extension's (png, pdf, svg, ...: those
    matplotlib writes), "png" when it has none; a ValueError for another extension."""
    ext = os.path.splitext(os.fsdecode(path))[1].lower().lstrip(".")
    formats = FigureCanvasAgg.get_supported_filetypes()
    if ext and ext not in formats:
        raise ValueError(f"path must end in one of {', '.join('.' + f for f in sorted(formats))} "
                         f"(or in no extension, for PNG), got {os.fsdecode(path)!r}")
    return ext or "png"
