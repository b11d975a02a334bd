"""Spike-train statistics on :class:`~spikesim.results.Spikes` (no plotting).

Times are in seconds and rates in Hz. Per-neuron results have shape (B, N): B realizations
(``spikes.n_realizations``) by N neurons (``spikes.n_neurons``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from spikesim import checks
from spikesim.results import Spikes

BLOCK = 1 << 20  # spikes binned at a time
_MAX_BINS = 10**7  # time bins (or windows) per realization at most: 80 MB of float64 each
_ESTIMATORS = ("auto", "fd", "doane", "scott", "stone", "rice", "sturges", "sqrt")  # numpy's


def _duration(spikes: Spikes) -> float:
    """The recorded interval ``t_stop - t_start`` in s; raises if it is not positive."""
    duration = float(spikes.t_stop - spikes.t_start)
    if duration <= 0:
        raise ValueError(f"empty recorded interval [{spikes.t_start}, {spikes.t_stop}] s")
    return duration


def _widths(bin_width, smooth) -> tuple[float, float]:
    """``bin_width`` (finite, > 0) and ``smooth`` (finite, >= 0; None: 0), checked, in s."""
    return (checks.number("bin_width", bin_width, low=0, low_open=True, unit="s"),
            0.0 if smooth is None else checks.number("smooth", smooth, low=0, unit="s"))


def _check_bin_count(name: str, width: float, duration: float, what: str = "bins") -> None:
    """Raise unless bins of ``width`` s cut ``duration`` s into at most about _MAX_BINS."""
    smallest = duration / _MAX_BINS
    if width < smallest * (1 - 1e-3):  # (the 3 digits shown below pass)
        raise ValueError(f"{name} must be >= {smallest:.3g} s (at most {_MAX_BINS:,} {what} in "
                         f"the recorded interval of {duration:g} s), got {width!r}")


def _hist_bins(name: str, bins):
    """``bins`` for numpy's histogram: an integer count checked to be in [1, _MAX_BINS], or a
    sequence of at least 2 finite, increasing edges; a string (numpy's estimators) or None
    is passed on."""
    if isinstance(bins, str) and bins not in _ESTIMATORS:
        raise ValueError(f"{name} must be an integer number of bins (1 to {_MAX_BINS}), a "
                         f"sequence of edges or one of numpy's estimators "
                         f"{', '.join(map(repr, _ESTIMATORS))}, got {bins!r}")
    if bins is None or isinstance(bins, str):
        return bins
    if isinstance(bins, (int, np.integer)) and not isinstance(bins, bool):
        if not 1 <= bins <= _MAX_BINS:
            raise ValueError(f"{name} must be in [1, {_MAX_BINS}] when an integer, got {bins!r}")
        return bins
    if isinstance(bins, bool) or np.ndim(bins) == 0:
        raise TypeError(f"{name} must be an integer number of bins (1 to {_MAX_BINS}) or a "
                        f"sequence of edges, got {bins!r}")
    edges = checks.finite_array(name, bins)
    if edges.size < 2 or np.any(np.diff(edges) < 0):
        raise ValueError(f"{name} must hold at least 2 edges, in increasing order, got "
                         f"{bins!r}")
    return edges


def _bin_edges(t_start: float, t_stop: float, width: float) -> np.ndarray:
    """Edges of bins of ``width`` s tiling [t_start, t_stop]; the last bin may be shorter."""
    n_bins = max(1, int(np.ceil((t_stop - t_start) / width - 1e-9)))
    edges = t_start + width * np.arange(n_bins + 1)
    edges[-1] = t_stop
    return edges


def _bin_index(times: np.ndarray, t_start: float, width: float) -> np.ndarray:
    """The bin of width ``width`` from ``t_start`` of each time; a time on an edge (up to
    rounding: t_start + k·width is not exact in floating point) opens the bin starting there."""
    return np.floor((times - t_start) / width + 1e-9).astype(np.int64)


def spike_counts(spikes: Spikes) -> np.ndarray:
    """Spike count per realization and neuron, int64, shape (B, N)."""
    return spikes.counts()


def firing_rates(spikes: Spikes) -> np.ndarray:
    """Mean firing rate over [t_start, t_stop] per realization and neuron, Hz, shape (B, N);
    NaN for the neurons that were not recorded (see ``spikes.recorded``)."""
    rates = spike_counts(spikes) / _duration(spikes)
    if spikes.recorded is not None:
        unrecorded = np.ones(spikes.n_neurons, bool)
        unrecorded[spikes.recorded] = False
        rates[:, unrecorded] = np.nan
    return rates


def _gaussian_smooth(rates: np.ndarray, sigma: float) -> np.ndarray:
    """``rates`` smoothed along the last axis by a Gaussian of ``sigma`` bins truncated at 4
    sigma, the signal reflected at both ends: as scipy.ndimage.gaussian_filter1d(mode="reflect"),
    but by FFT, so that a wide kernel costs no more than a narrow one."""
    n = rates.shape[-1]
    radius = int(4 * sigma + 0.5)
    # Reflected at both ends, the signal repeats with period 2n: a circular convolution, with
    # the kernel wrapped onto one period (offsets j + 2n·m; a few m, as sigma <= n bins).
    j = np.arange(2 * n)
    wrapped = np.zeros(2 * n)
    for m in range(-(radius // (2 * n)) - 1, radius // (2 * n) + 2):
        d = j + 2 * n * m
        inside = np.abs(d) <= radius
        wrapped[inside] += np.exp(-0.5 * (d[inside] / sigma) ** 2)
    signal = np.concatenate([rates, rates[..., ::-1]], axis=-1)
    out = np.fft.irfft(np.fft.rfft(signal) * np.fft.rfft(wrapped / wrapped.sum()), 2 * n)
    return np.maximum(out[..., :n], 0.0)  # (rounding leaves about ±1e-16 of the peak)


def population_rate(spikes: Spikes, bin_width: float,
                    smooth: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Population rate per neuron in bins of ``bin_width`` s over [t_start, t_stop].

    Args:
        bin_width: bin width, s, > 0 and at most 10**7 bins in the recorded interval. A last
            bin shorter than ``bin_width`` is normalised by its width.
        smooth: standard deviation of a Gaussian smoothing kernel, s, from 0 (None or 0: no
            smoothing) to the recorded interval; the ends are reflected.

    Returns:
        centers: bin centers, s, shape (n_bins,).
        rates: spikes per bin / (bin width · the number of neurons recorded), Hz per neuron,
            shape (B, n_bins).
    """
    bin_width, smooth = _widths(bin_width, smooth)
    spikes.check()
    duration = _duration(spikes)
    _check_bin_count("bin_width", bin_width, duration)
    if smooth > duration:
        raise ValueError(f"smooth must be <= {duration:g} s (the recorded interval), "
                         f"got {smooth!r}")
    edges = _bin_edges(spikes.t_start, spikes.t_stop, bin_width)
    n_bins = edges.size - 1
    counts = np.zeros(spikes.n_realizations * n_bins, np.int64)
    step = max(BLOCK, counts.size)  # (a block at a time, no smaller than the bins: whole-
    for a in range(0, len(spikes), step):  # array temporaries took several times the
        times = spikes.times[a:a + step]  # memory of the spikes)
        keep = (times >= edges[0]) & (times <= edges[-1])
        idx = np.clip(_bin_index(times[keep], spikes.t_start, bin_width), 0, n_bins - 1)
        flat = spikes.realizations[a:a + step][keep] * n_bins + idx
        counts += np.bincount(flat, minlength=spikes.n_realizations * n_bins)
    rates = counts.reshape(spikes.n_realizations, n_bins) / (np.diff(edges) * spikes.n_recorded)
    if smooth:
        rates = _gaussian_smooth(rates, smooth / bin_width)
    return 0.5 * (edges[:-1] + edges[1:]), rates


def _whole_bins(bin_width: float, duration: float) -> int:
    """The whole bins of ``bin_width`` s in ``duration`` s: at least 2, else ValueError."""
    n = int(np.floor(duration / bin_width + 1e-9))
    if n < 2:
        raise ValueError(f"bin_width must leave at least 2 whole bins in the recorded interval "
                         f"of {duration:g} s, got {bin_width!r}")
    return n


def rate_spectrum(spikes: Spikes, bin_width: float) -> tuple[np.ndarray, np.ndarray]:
    """Power spectral density of the population rate (:func:`population_rate`, Hz per
    neuron, mean removed): a one-sided periodogram per realization, over the whole bins of
    ``bin_width`` s that fit in [t_start, t_stop] (a last, shorter bin is dropped).

    Returns:
        freqs: frequencies, Hz, from 0 to 1 / (2·bin_width), shape (n_bins // 2 + 1,).
        power: Hz²/Hz, shape (B, n_freqs); ``power.sum(axis=1) * (freqs[1] - freqs[0])`` is
            the variance of the binned rate (Parseval).
    """
    _, rates = population_rate(spikes, bin_width)
    bin_width = float(bin_width)
    n = _whole_bins(bin_width, _duration(spikes))
    x = rates[:, :n] - rates[:, :n].mean(axis=1, keepdims=True)
    power = np.abs(np.fft.rfft(x, axis=1)) ** 2 * (2 * bin_width / n)
    power[:, 0] /= 2
    if n % 2 == 0:
        power[:, -1] /= 2
    return np.fft.rfftfreq(n, bin_width), power


def synchrony(spikes: Spikes, bin_width: float) -> np.ndarray:
    """Golomb's synchrony measure χ per realization, shape (B,): the standard deviation of the
    population rate over that of the single neurons' rates (root mean of their variances), in
    the whole bins of ``bin_width`` s that fit in [t_start, t_stop]. About 1/√N for N
    independent neurons, 1 for neurons firing together; NaN without spikes. Only the recorded
    neurons count."""
    bin_width = checks.number("bin_width", bin_width, low=0, low_open=True, unit="s")
    spikes.check()
    duration = _duration(spikes)
    _check_bin_count("bin_width", bin_width, duration)
    n = _whole_bins(bin_width, duration)
    b = _bin_index(spikes.times, spikes.t_start, bin_width)
    keep = (b >= 0) & (b < n)
    b, r = b[keep], spikes.realizations[keep]
    cell = r * spikes.n_neurons + spikes.ids[keep]
    B, N = spikes.n_realizations, spikes.n_recorded
    # single neurons' counts per bin: only the non-empty ones enter the sums (O(n_spikes))
    keys, counts = np.unique(cell * n + b, return_counts=True)
    counts = counts.astype(float)
    per_cell = np.bincount(keys // n, counts, minlength=B * spikes.n_neurons)  # spikes
    real = np.arange(B * spikes.n_neurons) // spikes.n_neurons
    sum_squares = np.bincount(keys // n // spikes.n_neurons, counts**2, minlength=B)
    neuron_var = (sum_squares / n - np.bincount(real, per_cell**2, minlength=B) / n**2) / N
    population = np.bincount(r * n + b, minlength=B * n).reshape(B, n) / N
    with np.errstate(invalid="ignore", divide="ignore"):
        chi = np.sqrt(population.var(axis=1) / neuron_var)
    chi[np.bincount(real, per_cell, minlength=B) == 0] = np.nan
    return chi


def trial_average(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation (ddof=0) across realizations, the first axis of ``values``."""
    values = checks.reals("values", values, "an array of numbers", "")
    if values.ndim == 0 or values.shape[0] == 0:
        raise ValueError(f"values must have at least 1 realization (first axis), got shape "
                         f"{values.shape}")
    return values.mean(axis=0), values.std(axis=0)


def _intervals(spikes: Spikes) -> tuple[np.ndarray, np.ndarray]:
    """All inter-spike intervals (s) and their flat (realization·N + neuron) index.

    Both have shape (n_intervals,) and are ordered by realization, neuron, then time.
    """
    spikes.check()
    order = np.lexsort((spikes.times, spikes.ids, spikes.realizations))
    flat = (spikes.realizations * spikes.n_neurons + spikes.ids)[order]
    same = flat[1:] == flat[:-1]
    return np.diff(spikes.times[order])[same], flat[1:][same]


def isi(spikes: Spikes) -> list[list[np.ndarray]]:
    """Inter-spike intervals, s: ``isi(spikes)[b][n]`` is neuron n's in realization b, in order."""
    intervals, flat = _intervals(spikes)
    n = spikes.n_neurons
    counts = np.bincount(flat, minlength=spikes.n_realizations * n)
    parts = np.split(intervals, np.cumsum(counts)[:-1])
    return [parts[b * n:(b + 1) * n] for b in range(spikes.n_realizations)]


def pooled_isi(spikes: Spikes) -> np.ndarray:
    """All inter-spike intervals of all neurons and realizations, s, shape (n_intervals,)."""
    return _intervals(spikes)[0]


def cv_isi(spikes: Spikes) -> np.ndarray:
    """Coefficient of variation std/mean (ddof=0) of the ISIs, shape (B, N).

    NaN for a neuron with fewer than 2 intervals.
    """
    intervals, flat = _intervals(spikes)
    size = spikes.n_realizations * spikes.n_neurons
    n = np.bincount(flat, minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(flat, intervals, minlength=size) / n
        var = np.bincount(flat, (intervals - mean[flat]) ** 2, minlength=size) / n
        cv = np.sqrt(var) / mean
    cv[n < 2] = np.nan
    return cv.reshape(spikes.n_realizations, spikes.n_neurons)


def fano_factor(spikes: Spikes, window: float) -> np.ndarray:
    """Fano factor var/mean (ddof=0) of the spike counts in consecutive windows, shape (B, N).

    Windows of ``window`` s (> 0, at most 10**7 in the recorded interval) tile [t_start,
    t_stop]; a last, incomplete window is dropped. NaN where a neuron has no spike or fewer
    than 2 windows fit.
    """
    window = checks.number("window", window, low=0, low_open=True, unit="s")
    spikes.check()
    duration = _duration(spikes)
    _check_bin_count("window", window, duration, "windows")
    n_windows = int(np.floor(duration / window + 1e-9))
    if n_windows < 2:
        return np.full((spikes.n_realizations, spikes.n_neurons), np.nan)
    w = _bin_index(spikes.times, spikes.t_start, window)
    keep = (w >= 0) & (w < n_windows)
    cell = (spikes.realizations * spikes.n_neurons + spikes.ids)[keep]
    # Only non-empty (neuron, window) counts enter the sums, so memory stays O(n_spikes).
    keys, counts = np.unique(cell * n_windows + w[keep], return_counts=True)
    size = spikes.n_realizations * spikes.n_neurons
    total = np.bincount(keys // n_windows, counts, minlength=size)
    squares = np.bincount(keys // n_windows, counts.astype(float) ** 2, minlength=size)
    # Integer-valued sums: n²·var = n·Σc² − (Σc)² is exact, so a constant count gives exactly 0.
    with np.errstate(invalid="ignore", divide="ignore"):
        fano = (squares * n_windows - total**2) / (n_windows * total)
    return fano.reshape(spikes.n_realizations, spikes.n_neurons)


def rate_histogram(spikes: Spikes,
                   bins: int | Sequence[float] | str = "auto") -> tuple[np.ndarray, np.ndarray]:
    """Histogram of the firing rates (Hz) of the recorded neurons of all realizations;
    ``bins`` as numpy's histogram takes it (an integer count: from 1 to 10**7).

    Returns:
        counts: number of (realization, neuron) pairs per bin, shape (n_bins,); sums to
            B·``spikes.n_recorded``.
        edges: bin edges, Hz, shape (n_bins + 1,).
    """
    rates = firing_rates(spikes)
    if spikes.recorded is not None:
        rates = rates[:, spikes.recorded]
    return np.histogram(rates.ravel(), bins=_hist_bins("bins", bins))


def fi_curve(simulate: Callable[[float], float | np.ndarray],
             currents: Sequence[float] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Evaluate ``simulate(I) -> rate`` (Hz) at each input current.

    Returns:
        currents: shape (n_currents,), in the unit ``simulate`` takes.
        rates: shape (n_currents, ...), stacking what ``simulate`` returns (a scalar or, e.g.,
        one rate per realization).
    """
    if not callable(simulate):
        raise TypeError(f"simulate must be a function of the current returning a rate (Hz), "
                        f"got {simulate!r}")
    currents = checks.finite_array("currents", currents)
    rates = [checks.reals(f"simulate({float(i)!r})", simulate(i), "a rate (Hz): a number or an "
                          "array of numbers", "") for i in currents]
    if len({r.shape for r in rates}) > 1:
        raise ValueError(f"simulate must return the same shape for every current, got "
                         f"{sorted({r.shape for r in rates})}")
    return currents, np.array(rates)
