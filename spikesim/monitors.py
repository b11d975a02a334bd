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

    def begin(self, net: Network) -> None:
        """Called when a run starts (the network is built)."""
        self.dt = net.dt
        self.n_realizations = net.batch
        if self.t_start is None:  # added after the network ran, or after a checkpoint load
            self.t_start = net.t

    def chunk_end(self, step: int) -> None:
        """Called after each chunk of steps; ``step``: the global steps done."""

    def end(self, completed: bool, t: float) -> None:
        """Called once per run, after its last chunk or when it is interrupted; ``t`` (s) is
        the simulated time reached."""
        self.t_stop = t


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

    def recheck(self) -> None:
        """``ids`` checked (also after a new assignment: a run calls this) and made each
        neuron once, sorted."""
        if self.ids is not None:  # (None: all)
            self.ids = np.unique(_select(f"{type(self).__name__}.ids", self.ids, self.source.n))

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
        return Spikes(steps * self.dt, ids, real, self.source.n, self.n_realizations,
                      self.t_start or 0.0, max(self.t_stop, self.t_start or 0.0),
                      self.source.name or "", self.ids, self.dt)


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
        assignment: a run calls this, since the kernel reads the state at these ids)."""
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
        c = self.variables.index(checks.choice("variable", variable, self.variables))
        n = len(self.ids)
        steps = np.concatenate(self._steps) if self._steps else np.zeros(0, np.int64)
        vals = (np.concatenate([v[:, :, c * n:(c + 1) * n] for v in self._values])
                if self._values else np.zeros((0, self.n_realizations, n)))  # (this variable's
        # columns only: a view of all of them kept every variable's samples alive, twice)
        pop = self.population
        return Trace(steps * self.dt, vals, self.ids, variable, pop.unit_of(variable),
                     pop.name or "", _threshold(pop) if variable == "v" else None)

    def __getitem__(self, variable: str) -> Trace:
        return self.trace(variable)


def _threshold(pop: Population) -> float | None:
    th = np.asarray(pop.v_th, dtype=float) if not hasattr(pop.v_th, "draw") else None
    return float(th) if th is not None and th.ndim == 0 else None
