"""Monitors: objects added to a network that receive its output chunk by chunk.

The network calls, for every monitor: ``begin(net)`` when a run starts; during each chunk of
steps ``spikes_in(steps, realizations, ids)`` (for a :class:`SpikeMonitor`) or
``samples(steps, values)`` (for a :class:`StateMonitor`), then ``chunk_end(step)``; and
``end(completed, t)`` when the run stops (``completed`` is False after an error or Ctrl-C).
The in-memory monitors here keep what they receive; the HDF5 recorders
(:mod:`spikesim.recorders`) stream it to a file instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from . import checks
from .inputs import SpikeSource
from .models import Population
from .results import Spikes, Trace

if TYPE_CHECKING:
    from .network import Network

# The neurons a monitor records: None (all), an index or an array-like of indices, or a slice.
Ids = int | np.ndarray | Sequence[int] | slice | None


class Monitor:
    """Base class: hooks called by :meth:`spikesim.Network.run`."""

    dt = 1.0
    n_realizations = 1
    t_start: float | None = None  # s: the start of the first run the monitor took part in
    t_stop = 0.0
    # whether it keeps what it receives in memory, as one series from t_start to t_stop (the
    # HDF5 recorders check the same against their file)
    _in_memory = False
    _held_as: tuple | None = None  # the selection its data was recorded with (_selection())

    def begin(self, net: Network) -> None:
        """Called when a run starts (the network is built)."""
        self.dt = net.dt
        self.n_realizations = net.batch
        if self.t_start is None:  # added after the network ran, or after a checkpoint load
            self.t_start = net.t
        if self._held_as is None:
            self._held_as = self._selection()

    def _selection(self) -> tuple | None:
        """What the data it holds was recorded of (neurons, variables); None: nothing."""
        return None

    def _holds_data(self) -> bool:
        """Whether it holds data of a run: a recorded interval (spikes: even with none)."""
        return self.t_start is not None and self.t_stop > self.t_start

    def _refuse_other_selection(self) -> None:
        """Raise (``_selection_fixed``) or warn when it is to record other ``ids`` or
        ``variables`` (given anew between runs) than those of the data it holds: one series
        would mix two selections (a trace's columns would change meaning; the ``recorded``
        neurons of spikes, which rates per neuron count, would name the new ones only)."""
        held, now = self._held_as, self._selection()
        if not self._in_memory or held is None or _same(held, now):
            return
        if not self._holds_data():  # (nothing recorded yet: nothing to mix)
            self._held_as = now
            return
        what = ", ".join(f"{k} = {_show_selection(v)}"
                         for k, v in zip(self._selection_names, held))
        if self._selection_fixed:
            raise ValueError(
                f"this {type(self).__name__} holds data recorded with {what}: it cannot record "
                f"other {' or '.join(self._selection_names)} in the same series (its data would "
                f"mix both); add a new {type(self).__name__} for them, or give back the old ones")
        self._held_as = now
        checks.warn(
            f"this {type(self).__name__} holds data recorded with {what} up to t = "
            f"{self.t_stop:g} s and records {_show_selection(now[0])} from now on: its spikes "
            f"mix both, and the neurons it reports as recorded (which rates per neuron count) "
            f"are the new ones only; add a new {type(self).__name__} to compare rates")

    _selection_names: tuple[str, ...] = ()
    _selection_fixed = True  # (other ids or variables: refused; else a warning)

    def __repr__(self) -> str:
        of = getattr(self, "source", None) or getattr(self, "population", None)
        name = getattr(of, "name", None) or "?"
        if self.t_start is None:
            held = "no run yet"
        else:
            held = f"t = {self.t_start:g} to {max(self.t_stop, self.t_start):g} s"
        return f"{type(self).__name__}({name}{self._repr_details()}, {held})"

    def _repr_details(self) -> str:
        return ""

    _data: tuple[str, ...] = ()  # (in memory) the lists holding what it received

    def _snapshot(self) -> dict:
        """What it holds now, for :meth:`_rewind` (``Network.store``): its interval, its
        selection and (in memory) its data."""
        return {"t_start": self.t_start, "t_stop": self.t_stop, "_held_as": self._held_as,
                **{name: list(getattr(self, name)) for name in self._data}}

    def _rewind(self, snapshot: dict | None) -> None:
        """Hold what :meth:`_snapshot` gave again (None: nothing, as before its first run)."""
        if snapshot is None:
            snapshot = {"t_start": None, "t_stop": 0.0, "_held_as": None,
                        **{name: [] for name in self._data}}
        for name, value in snapshot.items():
            setattr(self, name, list(value) if name in self._data else value)

    def chunk_end(self, step: int) -> None:
        """Called after each chunk of steps; ``step``: the global steps done."""

    def end(self, completed: bool, t: float) -> None:
        """Called once per run, after its last chunk or when it is interrupted; ``t`` (s) is
        the simulated time reached."""
        self.t_stop = t


def _same(a: tuple, b: tuple) -> bool:
    return len(a) == len(b) and all(
        (x is None) == (y is None) and (x is None or np.array_equal(x, y)) for x, y in zip(a, b))


def _show_selection(value) -> str:
    if value is None:
        return "None (all neurons)"
    value = np.asarray(value)
    if value.dtype.kind in "iu":
        from .io import show_ids
        return show_ids(value)
    return "[" + ", ".join(map(repr, value.tolist())) + "]"


def _neurons(ids, n: int) -> str:
    """The neurons a monitor records, for its ``repr``: ``ids`` as checked (None: all), or as
    assigned since (a list, slice or number: checked at the next run)."""
    if ids is None:
        return f"all {n} neurons"
    if not isinstance(ids, np.ndarray) or ids.ndim != 1:
        return f"ids={checks.short(ids)} of {n} neurons"
    return f"all {n} neurons" if np.array_equal(ids, np.arange(n)) else f"{ids.size} of {n} neurons"


def check_continues(m: Monitor, t: float, dt: float) -> None:
    """Warn when monitor ``m`` holds in-memory data of earlier runs that ends before the
    network's time ``t`` (s): one removed from ``net.monitors`` and added back after runs it
    missed has a gap in its data, which its interval (t_start to t_stop), and so every rate
    computed over it, counts as recorded."""
    if not m._in_memory or m.t_start is None or abs(m.t_stop - t) <= dt / 2:
        return
    if m.t_stop > t:  # (removed from a network that was restored to an earlier point since)
        checks.warn(
            f"this {type(m).__name__} holds data up to t = {m.t_stop:g} s but the network is "
            f"at t = {t:g} s (restored to an earlier point): its data would hold the "
            f"{m.t_stop - t:g} s between twice; add a new {type(m).__name__} for a series of "
            f"its own")
        return
    checks.warn(
        f"this {type(m).__name__} holds data up to t = {m.t_stop:g} s but the network is at "
        f"t = {t:g} s: its data will miss the {t - m.t_stop:g} s between, which its interval "
        f"(t_start to t_stop, and so the rates computed over it) counts as recorded; add a new "
        f"{type(m).__name__} for a series of its own")


def _select(name: str, ids: Ids, n: int) -> np.ndarray | None:
    """Neuron indices to record (None: all), validated against the size n: at least one."""
    if ids is None:
        return None
    ids = np.arange(n)[ids] if isinstance(ids, slice) else checks.index_array(name, ids, n)
    if ids.size == 0:
        raise ValueError(f"{name} selects no neuron: give at least one index in [0, {n - 1}], "
                         f"or None for all")
    return ids


class SpikeMonitor(Monitor):
    """Records the spikes of a population or spike source (all neurons, or ``ids``), in every
    realization, in memory. ``.spikes`` returns them as :class:`~spikesim.results.Spikes`.

    ``ids``: None (default: all neurons), an integer or an array-like of integer indices in
    [0, n) (each recorded once, whatever the order or repetitions), or a slice of range(n);
    at least one neuron.
    """

    def __init__(self, source: Population | SpikeSource, ids: Ids = None):
        owner = type(self).__name__  # also a recorder built on this class
        if not isinstance(source, (Population, SpikeSource)):
            raise TypeError(f"{owner}.source must be a population or spike source, got "
                            f"{type(source).__name__}")
        self.source, self.ids = source, ids
        self.recheck()  # (ids: each neuron once, sorted)
        # per chunk: steps (int64), ids (int32) and, in a batch, realizations (int32): 12 bytes
        # per spike (16 in a batch); ``spikes`` makes the 24-byte-per-spike arrays on demand
        self._parts: list[tuple[np.ndarray, np.ndarray, np.ndarray | None]] = []

    _in_memory = True
    _data = ("_parts",)
    _selection_names = ("ids",)
    _selection_fixed = False  # (other ids record from the next run on, with a warning)

    def recheck(self) -> None:
        """``ids`` checked (also after a new assignment: a run calls this) and made each
        neuron once, sorted; other ids than those of the spikes it holds warn that rates
        per neuron over all of them would be wrong."""
        if self.ids is not None:  # (None: all)
            self.ids = np.unique(_select(f"{type(self).__name__}.ids", self.ids, self.source.n))
        self._refuse_other_selection()

    def _selection(self) -> tuple:
        all_of_them = self.ids is None or np.size(self.ids) == self.source.n  # (ids: unique)
        return (None if all_of_them else self.ids,)

    def _repr_details(self) -> str:
        return f", {_neurons(self.ids, self.source.n)}"

    def keep(self, ids: np.ndarray) -> np.ndarray | None:
        """Mask of the spikes (given their neuron ids) that this monitor records; None when
        it records all."""
        return None if self.ids is None else np.isin(ids, self.ids)

    def spikes_in(self, steps: np.ndarray, realizations: np.ndarray, ids: np.ndarray) -> None:
        """Receive a chunk's spikes: global step numbers, realizations and neuron ids."""
        self._parts.append((steps, ids.astype(np.int32),
                            realizations.astype(np.int32) if self.n_realizations > 1 else None))

    @property
    def spikes(self) -> Spikes:
        """All spikes received so far (times in s)."""
        steps, ids, real = (np.concatenate([p[c] for p in self._parts], dtype=np.int64)
                            if self._parts and self._parts[0][c] is not None
                            else None for c in range(3))
        if steps is None:  # nothing received
            steps = ids = np.zeros(0, np.int64)
        if real is None:  # a batch of one: every spike is realization 0's
            real = np.zeros(len(steps), np.int64)
        # the neurons its spikes were recorded of: ids given since (recorded from the next run
        # on) or brought back by Network.restore do not relabel them, as for StateMonitor
        recorded = self.ids if self._held_as is None else self._held_as[0]
        return Spikes(steps * self.dt, ids, real, self.source.n, self.n_realizations,
                      self.t_start or 0.0, max(self.t_stop, self.t_start or 0.0),
                      self.source.name or "", recorded, self.dt)


class StateMonitor(Monitor):
    """Records state variables (the population's ``variables``: ``"v"``, and ``"i"``,
    ``"i_inh"`` or ``"w"`` where the model has them, and ``"refc"``) of selected neurons
    (``ids``; default all) every ``every`` steps, in memory. Samples are the state at the end of
    steps k with (k+1) divisible by ``every``, i.e. at times (k+1)·dt.

    ``variables``: a variable name or a sequence of them. ``ids``: None (default: all
    neurons), an integer or an array-like of integer indices in [0, n) (recorded in that
    order), or a slice of range(n); at least one neuron.
    """

    def __init__(self, population: Population, variables: str | Sequence[str] = "v",
                 ids: Ids = None, every: int = 1):
        owner = type(self).__name__  # also a recorder built on this class
        if not isinstance(population, Population):
            raise TypeError(f"{owner}.population must be a population, got "
                            f"{type(population).__name__}")
        self.population, self.variables, self.ids, self.every = population, variables, ids, every
        self.recheck()
        self._steps: list[np.ndarray] = []
        self._values: list[np.ndarray] = []

    def recheck(self) -> None:
        """The variables, ``ids`` and ``every`` checked and converted (also after a new
        assignment: a run calls this, since the kernel reads the state at these ids); other
        ids or variables than those of the samples it holds are refused."""
        owner, pop = type(self).__name__, self.population
        accepted = pop.variables + ("refc",)
        variables = self.variables
        if not isinstance(variables, str) and not (
                isinstance(variables, (Sequence, np.ndarray)) and len(variables)):
            raise TypeError(f"{owner}.variables must be a variable name or a non-empty sequence "
                            f"of them, from {', '.join(map(repr, accepted))}; got {variables!r}")
        self.variables = (variables,) if isinstance(variables, str) else tuple(variables)
        for var in self.variables:
            checks.choice(f"{owner}.variables", var, accepted)
        ids = _select(f"{owner}.ids", self.ids, pop.n)
        self.ids = np.arange(pop.n) if ids is None else ids
        self.every = checks.count(f"{owner}.every", self.every)
        if self.every >= 2**62:  # (the kernel counts steps in int64)
            raise ValueError(f"{owner}.every must be below 2**62 steps, got {self.every}")
        self._refuse_other_selection()

    _in_memory = True
    _data = ("_steps", "_values")
    _selection_names = ("ids", "variables")

    def _selection(self) -> tuple:
        return (self.ids, np.array(self.variables))

    def _repr_details(self) -> str:
        variables = [self.variables] if isinstance(self.variables, str) else self.variables
        every = f", every {checks.short(self.every)} steps" if self.every != 1 else ""
        return f", {list(variables)}, {_neurons(self.ids, self.population.n)}{every}"

    def _holds_data(self) -> bool:
        return bool(self._steps)

    def samples(self, steps: np.ndarray, values: np.ndarray) -> None:
        """Receive a chunk's samples: global sample steps (k+1), values (rows, B, vars·ids)."""
        if not len(steps):  # (a chunk shorter than ``every``: nothing kept for it)
            return
        if values.base is not None and values.base.nbytes > values.nbytes:
            # a view of the chunk's buffer of every state monitor's and recorder's samples:
            # kept as it is, it would keep all of them alive (a recorder's too, which streams
            # them to its file), so memory would grow with what the others record
            values = values.copy()
        self._steps.append(steps)
        self._values.append(values)

    def trace(self, variable: str = "v") -> Trace:
        """One variable's samples as a :class:`~spikesim.results.Trace`."""
        # the selection the samples were recorded with: ids or variables assigned since (refused
        # at the next run) do not relabel them
        ids, variables = ((self._held_as[0], tuple(self._held_as[1].tolist()))
                          if self._held_as is not None else (self.ids, self.variables))
        c = variables.index(checks.choice("variable", variable, variables))
        n = len(ids)
        steps = np.concatenate(self._steps) if self._steps else np.zeros(0, np.int64)
        vals = (np.concatenate([v[:, :, c * n:(c + 1) * n] for v in self._values])
                if self._values else np.zeros((0, self.n_realizations, n)))  # (this variable's
        # columns only: a view of all of them kept every variable's samples alive, twice)
        pop = self.population
        return Trace(steps * self.dt, vals, ids, variable, pop.unit_of(variable),
                     pop.name or "", _threshold(pop) if variable == "v" else None)

    def __getitem__(self, variable: str) -> Trace:
        return self.trace(variable)


def _threshold(pop: Population) -> float | None:
    th = np.asarray(pop.v_th, dtype=float) if not hasattr(pop.v_th, "draw") else None
    return float(th) if th is not None and th.ndim == 0 else None
