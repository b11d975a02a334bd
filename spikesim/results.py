"""Plain result containers shared by the network, the recorders, the file reader and the plots.

Every time is in seconds. Neuron ids are indices within their population (0 … n_neurons−1);
``realizations`` index the batch axis (0 … n_realizations−1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from . import checks

COUNT_BLOCK = 1 << 22  # spikes counted at a time by Spikes.counts


def check_realizations(realization: int | Sequence[int] | np.ndarray, n_realizations: int,
                       several: bool = True) -> np.ndarray:
    """``realization``, an index or (with ``several``) a sequence of them, as an int64 array
    of shape (n,); raises unless each is an integer in [0, n_realizations)."""
    return checks.index_array("realization", realization, n_realizations, one=not several)


def _spike_array(name: str, value: object, kinds: str) -> np.ndarray:
    """``value`` as the 1-d array ``Spikes.name`` holds (dtype kind in ``kinds``; an empty
    sequence as float64 times or int64 indices); TypeError otherwise."""
    arr = None
    if not isinstance(value, (str, bytes)):
        try:
            arr = np.asarray(value)
        except (TypeError, ValueError):  # (a ragged list)
            pass
    if arr is not None and arr.size == 0 and arr.ndim == 1 and arr.dtype.kind in "iuf":
        arr = arr.astype(np.float64 if name == "times" else np.int64)
    if arr is None or arr.ndim != 1 or arr.dtype.kind not in kinds:
        shown = (checks._show(value) if arr is None or arr.ndim == 0 else
                 f"an array of {arr.dtype} of shape {arr.shape}")
        raise TypeError(f"Spikes.{name} must be a 1-d array of "
                        f"{'numbers (s)' if name == 'times' else 'integers'}, got {shown}")
    return arr


@dataclass
class Spikes:
    """Spikes of one population.

    Attributes:
        times: spike times, seconds, shape (n_spikes,), float64, sorted by time.
        ids: neuron index within the population, shape (n_spikes,), int64.
        realizations: batch index of each spike, shape (n_spikes,), int64.
        n_neurons: population size.
        n_realizations: batch size B.
        t_start, t_stop: the recorded interval, seconds.
        population: the population's name.
        recorded: the ids of the neurons that were recorded, sorted, int64; None when all
            were. Rates per neuron count only these (``n_recorded``).
        dt: the simulation's time step (s), when known (the plots' default bins are whole
            steps); None otherwise.
    """

    times: np.ndarray
    ids: np.ndarray
    realizations: np.ndarray
    n_neurons: int
    n_realizations: int = 1
    t_start: float = 0.0
    t_stop: float = 0.0
    population: str = ""
    recorded: np.ndarray | None = None
    dt: float | None = None

    def check(self, times: bool = True) -> None:
        """Raise TypeError or ValueError unless this is a valid ``Spikes`` (one made by hand
        may not be): 1-d arrays of one length (times: numbers; ids, realizations: integers),
        sizes and interval, every id in [0, n_neurons), every realization in
        [0, n_realizations) and (``times``) every time finite — what counts and rates per
        neuron and realization assume (an id beyond n_neurons would count as another
        realization's neuron). A pass over the spikes, run where they are counted or binned,
        not where they are made (a monitor's or a file's spikes are valid)."""
        for name, kinds in (("times", "iuf"), ("ids", "iu"), ("realizations", "iu")):
            value = getattr(self, name)
            if type(value) is not np.ndarray or value.ndim != 1 or value.dtype.kind not in kinds:
                setattr(self, name, _spike_array(name, value, kinds))
        if not self.times.shape == self.ids.shape == self.realizations.shape:
            raise ValueError(f"Spikes.times, ids and realizations must have the same length, got "
                             f"{self.times.size}, {self.ids.size} and {self.realizations.size}")
        self.n_neurons = checks.count("Spikes.n_neurons", self.n_neurons, low=0)
        self.n_realizations = checks.count("Spikes.n_realizations", self.n_realizations)
        self.t_start = checks.number("Spikes.t_start", self.t_start, unit="s")
        self.t_stop = checks.number("Spikes.t_stop", self.t_stop, low=self.t_start, unit="s")
        if self.recorded is not None:
            self.recorded = checks.index_array("Spikes.recorded", self.recorded,
                                               max(self.n_neurons, 1))
        if self.dt is not None:
            self.dt = checks.number("Spikes.dt", self.dt, low=0.0, low_open=True, unit="s")
        if len(self):
            checks.indices("Spikes.ids", self.ids, self.n_neurons)
            checks.indices("Spikes.realizations", self.realizations, self.n_realizations)
        for name in ("ids", "realizations"):  # (in range, so int64 holds them: np.bincount,
            if getattr(self, name).dtype.kind == "u":  # which counts them, refuses uint64)
                setattr(self, name, getattr(self, name).astype(np.int64))
        if times and len(self) and not np.isfinite(self.times).all():
            raise ValueError(f"Spikes.times must be finite, got "
                             f"{np.count_nonzero(~np.isfinite(self.times))} NaN or infinite")

    def __len__(self) -> int:
        return int(self.times.size)

    def __repr__(self) -> str:
        batch = f" x {self.n_realizations} realizations" if self.n_realizations > 1 else ""
        of = f"{self.n_neurons} neurons" + (
            "" if self.recorded is None else f" ({np.size(self.recorded)} recorded)")
        return (f"Spikes({self.population or '?'}: {np.size(self.times)} spikes of "
                f"{of}{batch}, t = {self.t_start:g} to {self.t_stop:g} s)")

    @property
    def n_recorded(self) -> int:
        """The number of neurons recorded (per realization)."""
        return self.n_neurons if self.recorded is None else int(self.recorded.size)

    def select(self, realization: int) -> Spikes:
        """The spikes of one realization, in [0, n_realizations), as a single-realization
        ``Spikes``."""
        realization = int(check_realizations(realization, self.n_realizations, several=False)[0])
        keep = self.realizations == realization
        return Spikes(self.times[keep], self.ids[keep], np.zeros(int(keep.sum()), np.int64),
                      self.n_neurons, 1, self.t_start, self.t_stop, self.population,
                      self.recorded, self.dt)

    def window(self, t_start: float | None = None, t_stop: float | None = None) -> Spikes:
        """The spikes at ``t_start <= t < t_stop`` (s; None: unbounded), over the recorded
        interval narrowed to them — as :meth:`spikesim.io.RecordedRun.spikes` reads a window
        from a file: rates and counts then cover the window only (to leave out a transient,
        say)."""
        lo, hi = checks.time_window(t_start, t_stop)
        first, end = checks.window_edges(lo, hi)
        keep = (self.times >= first) & (self.times < end)
        t0, t1 = self.t_start, self.t_stop
        if lo is not None:
            t0 = max(t0, lo)
        if hi is not None:
            t1 = min(t1, hi)
        return Spikes(self.times[keep], self.ids[keep], self.realizations[keep], self.n_neurons,
                      self.n_realizations, t0, max(t0, t1), self.population, self.recorded,
                      self.dt)

    def trains(self, realization: int = 0) -> list[np.ndarray]:
        """The spike trains of one realization, in [0, n_realizations): a list of
        ``n_neurons`` arrays, item j the spike times (s, float64, ascending) of neuron j
        (empty for a neuron that did not fire or was not ``recorded``) — Brian2's
        ``spike_trains()`` as a list."""
        self.check(times=False)
        realization = int(check_realizations(realization, self.n_realizations, several=False)[0])
        keep = self.realizations == realization
        times, ids = self.times[keep], self.ids[keep]
        order = np.lexsort((times, ids))  # by neuron, then by time
        ends = np.cumsum(np.bincount(ids, minlength=self.n_neurons))
        return np.split(times[order].astype(np.float64), ends[:-1]) if self.n_neurons else []

    def counts(self) -> np.ndarray:
        """Spike count per realization and neuron, shape (n_realizations, n_neurons) (0 for
        the neurons not ``recorded``)."""
        self.check(times=False)
        size = self.n_realizations * self.n_neurons
        counts = np.zeros(size, np.int64)
        step = max(COUNT_BLOCK, size)  # (a block at a time: bounded temporaries)
        for a in range(0, len(self), step):
            flat = self.realizations[a:a + step] * self.n_neurons + self.ids[a:a + step]
            counts += np.bincount(flat, minlength=size)
        return counts.reshape(self.n_realizations, self.n_neurons)


@dataclass
class Trace:
    """A sampled state variable of selected neurons.

    Attributes:
        times: sample times, seconds, shape (n_samples,) — the end of the sampled step.
        values: shape (n_samples, n_realizations, n_selected), in ``unit``.
        ids: the selected neurons' indices within the population, shape (n_selected,).
        variable: the state variable's name ("v", "i", "w", ...).
        unit: its unit ("V", "A", "1" for dimensionless, ...).
        population: the population's name.
        threshold: the firing threshold in the unit of v, when ``variable == "v"`` (for plots).
        meta: what else the reader knows (:meth:`spikesim.io.RecordedRun.rate` puts the counts
            per bin, the bin width (s), each bin's width (s) and n_neurons here;
            :meth:`~spikesim.io.RecordedRun.trace` of one realization, ``realizations``: the
            batch index of each of the values' realizations, shape (n_realizations,)); else
            empty.
    """

    times: np.ndarray
    values: np.ndarray
    ids: np.ndarray
    variable: str
    unit: str = ""
    population: str = ""
    threshold: float | None = None
    meta: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        shape = np.shape(self.values)
        if len(shape) == 3:
            n, b, k = shape
            size = f"{k} neuron{'s' * (k != 1)} x {n} samples"
        else:  # (one made by hand, not of the documented shape)
            n, b, size = (shape[0] if shape else 0), 1, f"values of shape {shape}"
        span = (f", t = {self.times[0]:g} to {self.times[-1]:g} s"
                if n and np.size(self.times) else "")
        batch = f" x {b} realizations" if b > 1 else ""
        return (f"Trace({self.population or '?'}.{self.variable} [{self.unit or '?'}]: "
                f"{size}{batch}{span})")
