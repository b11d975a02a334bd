"""Input generators: spike sources (connected with ``Network.connect``) and injected currents.

Spike sources fire at steps; a spike at step k is stamped t_k = k·dt and reaches its targets
after the projection's delay. Currents are piecewise constant over a step: the value used for the
step from t_k to t_k+1 is the one at t_k. Random draws happen inside the compiled kernel from a
counter-based generator (same seed, same input, whatever the chunking or thread count).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from . import checks
from .distributions import Distribution, RealizationGenerators
from .kernels import inputs as K
from .kernels.rng import POISSON_MAX_MEAN
from .models import Param, Population


def _rows(data: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Rows ``k`` of ``data`` (T, ...), zero past its end. A chunk's steps are a range: its
    rows are then a view of ``data`` (the chunk's buffer copies it once), or one copy when
    the range runs past the end (a boolean mask and a fancy index into zeros cost three
    passes over the data, most of a RateCoded (1000, 32, 784) network's run)."""
    n, end = len(k), data.shape[0]
    if n and k[0] >= 0 and np.array_equal(k, np.arange(k[0], k[0] + n)):
        lo = int(k[0])
        if lo + n <= end:
            return data[lo:lo + n]
        rows = np.zeros((n,) + data.shape[1:])
        rows[:max(end - lo, 0)] = data[lo:end]
        return rows
    rows = np.zeros((n,) + data.shape[1:])
    inside = k < end
    rows[inside] = data[k[inside]]
    return rows


# --- spike sources ----------------------------------------------------------------------------
class SpikeSource(checks.FixedOnceBuilt):
    """Base of all spike generators: ``n`` units that fire spikes and can be connected."""

    mode = K.SRC_CONST

    def __init__(self, n: int, name: str | None = None):
        if isinstance(n, Population):  # (Brian2's PoissonInput(target, ...), say)
            drive = (" To drive every neuron of a population with Poisson spikes directly "
                     "(Brian2's PoissonInput(target, var, N, rate, weight)), add "
                     "PoissonDrive(target, rate=N*rate, weight=weight)."
                     if isinstance(self, PoissonInput) else "")
            raise TypeError(f"{type(self).__name__}'s first argument is its number of units n "
                            f"(a spike source of its own, connected with Network.connect), "
                            f"got the population {n!r}.{drive}")
        self.n = checks.count("n", n, high=checks.MAX_UNITS)
        self.name = name

    def recheck(self) -> None:
        """The constructor's checks again, for what was assigned since it was made (the network
        calls this, at its build or before a run, when an attribute was assigned)."""
        checks.count(f"{type(self).__name__}.n", self.n, high=checks.MAX_UNITS)

    def probabilities(self, k: np.ndarray, dt: float) -> np.ndarray:
        """Per-step firing probability, shape (T or 1, 1 or B, n or 1), at global steps ``k``
        (T,)."""
        raise NotImplementedError

    def realizations(self) -> int:
        """The realizations its values are given for: 1 (the same in all), or B."""
        return 1

    def events(self, k0: int, n_steps: int, dt: float) -> tuple[np.ndarray, np.ndarray]:
        """Spikes in steps k0 … k0+n_steps−1 as (ptr, units): the units (int64) firing at
        chunk-relative step t are ``units[ptr[t]:ptr[t+1]]``; ptr (n_steps+1,) starts at 0."""
        raise NotImplementedError

    def describe(self) -> dict:
        """The parameters, for the metadata of recordings (private, derived attributes left
        out)."""
        return {k: v for k, v in vars(self).items() if k != "name" and not k.startswith("_")}


class BernoulliInput(SpikeSource):
    """Each unit fires at each step independently with probability ``p`` (scalar or (n,)),
    which may be given anew between runs."""

    _changeable = frozenset({"p"})

    def __init__(self, n: int, p: float | np.ndarray | Sequence[float],
                 name: str | None = None):
        super().__init__(n, name)
        self.p = p
        self.p = self._valid()

    def _valid(self) -> np.ndarray:
        """``p`` checked (it may have been given anew between runs)."""
        p = checks.finite_array("BernoulliInput.p", self.p, ndim=(0, 1), low=0.0, high=1.0)
        if p.ndim == 1 and p.shape[0] != self.n:
            raise ValueError(f"BernoulliInput.p must be a scalar or have shape ({self.n},), got "
                             f"shape {p.shape}")
        return p

    def probabilities(self, k: np.ndarray, dt: float) -> np.ndarray:
        return self._valid().reshape(1, 1, -1)


class PoissonInput(SpikeSource):
    """Poisson spike trains of ``rate`` (Hz): a scalar, an array (n,), or a function of time
    ``rate(t) -> (T,) or (T, n)`` for t an array of step times (s). As in Brian2's PoissonGroup,
    a unit fires at most once per step, with probability rate·dt (which must be <= 1): its
    count per step has variance rate·dt·(1 − rate·dt), below a Poisson count's rate·dt (at
    rate·dt = 0.9, a tenth of it). A Poisson drive of one target as NEST's poisson_generator
    sends it (several spikes a step) is a :class:`PoissonDrive` (or K units of rate/K each
    projected to that target, rule "explicit", K large enough that rate·dt/K is small: variance
    factor 1 − rate·dt/K). ``rate`` may be given anew between runs."""

    _changeable = frozenset({"rate"})

    def __init__(self, n: int, rate: float | np.ndarray | Callable, name: str | None = None):
        super().__init__(n, name)
        if callable(rate):
            self.rate = rate
            self.mode = K.SRC_PROB
        else:
            self.rate = rate
            self.rate = self._valid()

    def _valid(self) -> np.ndarray:
        """A constant ``rate`` checked (it may have been given anew between runs)."""
        rate = checks.finite_array("PoissonInput.rate", self.rate, ndim=(0, 1), low=0.0,
                                   unit="Hz")
        if rate.ndim == 1 and rate.shape[0] != self.n:
            raise ValueError(f"PoissonInput.rate must be a scalar or have shape ({self.n},),"
                             f" got shape {rate.shape}")
        return rate

    def probabilities(self, k: np.ndarray, dt: float) -> np.ndarray:
        if callable(self.rate):
            rate = checks.finite_array("PoissonInput.rate(t)", self.rate(k * dt), ndim=(0, 1, 2),
                                       low=0.0, unit="Hz")
            if rate.ndim and rate.shape not in ((len(k),), (len(k), 1), (len(k), self.n)):
                raise ValueError(f"PoissonInput.rate(t) for {len(k)} times t must return a "
                                 f"scalar or shape ({len(k)},), ({len(k)}, 1) or "
                                 f"({len(k)}, {self.n}), got shape {rate.shape}")
            rate = rate.reshape(len(k), 1, -1) if rate.ndim else rate.reshape(1, 1, 1)
        else:
            rate = self._valid().reshape(1, 1, -1)
        if np.any(rate * dt > 1.0):
            raise ValueError(f"PoissonInput.rate must be <= 1/dt = {1 / dt!r} Hz, got a "
                             f"maximum of {float(rate.max())!r} Hz")
        return rate * dt


class RateCoded(SpikeSource):
    """Rate coding of data (as snnTorch's ``spikegen.rate``): each value in [0, 1] is a per-step
    firing probability, so the rate it gives (value / dt, Hz) scales with dt (rates in Hz:
    ``PoissonInput(n, rate=data * max_rate)``). ``data`` of shape (n,) applies at every step;
    of shape (T, n), row k applies at step k and nothing fires after the last row; of shape
    (T, B, n), row k of realization b (B: the network's batch — a batch of B images, say).
    ``data`` may be given anew between runs (a constant one stays constant)."""

    _changeable = frozenset({"data"})

    def __init__(self, data: np.ndarray | Sequence, name: str | None = None):
        data = checks.finite_array("RateCoded.data", data, ndim=(1, 2, 3), low=0.0, high=1.0)
        if data.shape[-1] == 0:
            raise ValueError(f"RateCoded.data must have at least one unit (shape (n,), (T, n) or "
                             f"(T, B, n), n >= 1), got shape {data.shape}")
        super().__init__(data.shape[-1], name)
        self.data = data
        self.mode = K.SRC_CONST if data.ndim == 1 else K.SRC_PROB

    def recheck(self) -> None:
        """``data`` checked (it may have been given anew) and stored as an array: the same
        units, and constant (1-d) or per step (2-d, 3-d) as it was made."""
        super().recheck()
        const = self.mode == K.SRC_CONST
        data = checks.finite_array("RateCoded.data", self.data, ndim=(1,) if const else (2, 3),
                                   low=0.0, high=1.0)
        if data.shape[-1] != self.n:
            raise ValueError(f"RateCoded.data must keep its {self.n} units (its last axis), got "
                             f"shape {data.shape}")
        self.data = data

    def probabilities(self, k: np.ndarray, dt: float) -> np.ndarray:
        if self.data.ndim == 1:
            return self.data.reshape(1, 1, -1)
        return _rows(self.data, k).reshape(len(k), self.realizations(), self.n)

    def realizations(self) -> int:
        return self.data.shape[1] if self.data.ndim == 3 else 1


class SpikeTimes(SpikeSource):
    """Given spikes: ``times`` (s, >= 0) and the firing unit ``ids`` (integers in [0, n)), 1-D
    arrays of the same length, in any order; times are rounded to the nearest step (half to
    even; Brian2's SpikeGeneratorGroup takes the step that contains the time), and several
    spikes of one unit in one step count once (with a warning: Brian2 refuses them). ``times``
    and ``ids`` may be given anew between runs."""

    mode = K.SRC_EVENTS
    _changeable = frozenset({"times", "ids"})

    def __init__(self, n: int, times: np.ndarray | Sequence[float],
                 ids: np.ndarray | Sequence[int], name: str | None = None):
        super().__init__(n, name)
        self.times, self.ids = times, ids
        self.recheck()

    def recheck(self) -> None:
        """``times`` and ``ids`` checked (they may have been given anew) and sorted by time."""
        super().recheck()
        times = checks.finite_array("SpikeTimes.times", self.times, low=0.0, unit="s")
        ids = checks.index_array("SpikeTimes.ids", self.ids, self.n)
        if ids.shape != times.shape:
            raise ValueError(f"SpikeTimes.ids must have the shape of times {times.shape}, got "
                             f"{ids.shape}")
        order = np.lexsort((ids, times))
        self.times, self.ids = times[order], ids[order]
        self._checked: set[float] = set()  # the dt whose merged spikes were counted

    def events(self, k0: int, n_steps: int, dt: float) -> tuple[np.ndarray, np.ndarray]:
        k = np.rint(np.minimum(self.times / dt, 2.0**62)).astype(np.int64)  # (1e300 s: never)
        if dt not in self._checked:
            self._checked.add(dt)
            merged = k.size - np.unique(np.stack([k, self.ids]), axis=1).shape[1]
            if merged:
                checks.warn(f"SpikeTimes {self.name!r}: {merged} of its {k.size} spikes fall in "
                            f"a step of dt = {dt!r} s where their unit fires already (times "
                            f"are rounded to the nearest step) and count once")
        keep = (k >= k0) & (k < k0 + n_steps)
        steps, units = np.unique(np.stack([k[keep] - k0, self.ids[keep]]), axis=1)
        return np.searchsorted(steps, np.arange(n_steps + 1)), units


class SpikeArray(SpikeSource):
    """Given spikes as a boolean array (T, n), or (T, B, n) with one set of spikes per
    realization of a batch of B (or numbers 0 and 1, as snnTorch's spike tensors): unit j
    fires at step k where ``spikes[k, j]`` (``spikes[k, b, j]`` in realization b); silent from
    step T on. A (T, n) array gives every realization the same spikes. The array is not copied
    when it is already a C-ordered boolean one: it is read as the network runs, so a change of
    its values between two runs applies from the next one, to every use alike (``spikes``
    itself cannot be replaced: the network's tables hold it)."""

    mode = K.SRC_EVENTS

    def __init__(self, spikes: np.ndarray | Sequence[Sequence[bool]], name: str | None = None):
        spikes = np.asarray(spikes)
        if spikes.ndim not in (2, 3) or spikes.shape[-1] == 0 or 0 in spikes.shape[1:-1]:
            raise ValueError(f"SpikeArray.spikes must have shape (steps, n) or (steps, B, n), "
                             f"n >= 1, B >= 1, got {spikes.shape}")
        if spikes.dtype != np.bool_ and (spikes.dtype.kind not in "iuf" or not np.all(
                (spikes == 0) | (spikes == 1))):
            raise ValueError(f"SpikeArray.spikes must hold booleans, or numbers 0 and 1, got "
                             f"{spikes.dtype} values"
                             + ("" if spikes.dtype.kind not in "iuf" else " other than 0 and 1"))
        super().__init__(spikes.shape[-1], name)
        self.spikes = np.ascontiguousarray(spikes, dtype=bool)

    def __setattr__(self, name: str, value: object) -> None:
        if name == "spikes" and "spikes" in vars(self):  # (the built tables read this array)
            raise AttributeError("SpikeArray.spikes is read as the network runs: change its "
                                 "values in place (spikes[k, j] = True), or add a new "
                                 "SpikeArray for another array")
        super().__setattr__(name, value)

    def realizations(self) -> int:
        return self.spikes.shape[1] if self.spikes.ndim == 3 else 1

    def events(self, k0: int, n_steps: int, dt: float) -> tuple[np.ndarray, np.ndarray]:
        """As :meth:`SpikeSource.events`; for a (T, B, n) array, ``ptr`` is (B, n_steps+1):
        realization b's units at step t are ``units[ptr[b, t]:ptr[b, t+1]]``."""
        rows = self.spikes[k0:k0 + n_steps]  # (fewer past the end of the array)
        per_real = rows.reshape(len(rows), self.realizations(), self.n).transpose(1, 0, 2)
        units = np.empty(np.count_nonzero(rows), np.int64)
        ptr = np.empty((per_real.shape[0], n_steps + 1), np.int64)
        at = 0
        for b, r in enumerate(per_real):
            n_b = np.count_nonzero(r)
            K.array_events(np.ascontiguousarray(r).reshape(-1).view(np.uint8), self.n,
                           units[at:at + n_b], ptr[b])
            ptr[b] += at
            at += n_b
        return (ptr[0] if self.spikes.ndim == 2 else ptr), units


# --- currents -----------------------------------------------------------------------------
class Current(checks.FixedOnceBuilt):
    """Base of all injected currents (A, or model units for a dimensionless population),
    summed into every neuron of ``target``."""

    kind = K.CUR_BUFFER
    given = ""  # the parameter that holds a given current's values
    # the constructor's parameters (after the target) and the attributes that hold them, for
    # :meth:`recheck` (empty: nothing to check again; ConstantCurrent checks at every chunk)
    _arguments: dict[str, str] = {}
    _checked: frozenset = frozenset()  # the dt (s) whose step grids the times were checked on

    def __init__(self, target: Population):
        if not isinstance(target, Population):
            raise TypeError(f"{type(self).__name__}.target must be a population, got "
                            f"{type(target).__name__}")
        self.target = target

    def recheck(self) -> None:
        """The constructor's checks again, for what was assigned since it was made (the network
        calls this, at its build or before a run, when an attribute was assigned): a new
        current is made of the same values, and its attributes, checked and converted, replace
        these."""
        if not isinstance(self.target, Population):
            raise TypeError(f"{type(self).__name__}.target must be a population, got "
                            f"{type(self.target).__name__}")
        if self._arguments:
            made = next(c for c in type(self).__mro__ if c.__module__ == __name__)  # (not a
            # user's subclass, whose constructor may take other arguments)
            fresh = made(self.target,
                         **{a: getattr(self, at) for a, at in self._arguments.items()})
            for at in self._arguments.values():
                setattr(self, at, getattr(fresh, at))
            self._checked = frozenset()  # (new times: on the step grid?)

    def values(self, k: np.ndarray, dt: float, batch: int,
               rng: RealizationGenerators) -> np.ndarray:
        """The current during global steps ``k`` (T,): shape (T or 1, 1 or B, 1 or n).
        ``rng``: the generators of the values drawn from a distribution, keyed by the
        network's seed and the current's place in it (the same at every chunk)."""
        raise NotImplementedError

    def largest(self, batch: int, rng: RealizationGenerators) -> float:
        """The largest magnitude of a given (not random) current over all steps, in its unit
        (checked against the network's float type at build, before anything runs)."""
        raise NotImplementedError

    def noise(self, dt: float) -> tuple[float, float, float]:
        """(mean, scale, decay) of a random current."""
        raise NotImplementedError

    def describe(self) -> dict:
        """The parameters, for the metadata of recordings (the target and private attributes
        left out)."""
        return {k: v for k, v in vars(self).items() if k != "target" and not k.startswith("_")}

    def _once_per_dt(self, dt: float, check: Callable[[float], None]) -> None:
        """``check(dt)`` (the times against the step grid of ``dt``, s), on the first call with
        that ``dt`` that passes (a warning raised as an error checks again next time)."""
        if dt not in self._checked:
            check(dt)
            self._checked = self._checked | {dt}


class ConstantCurrent(Current):
    """A constant current (A, or model units): scalar, per neuron (n,), per realization and
    neuron (B, n), or drawn per neuron (and realization) from a
    :class:`~spikesim.distributions.Distribution` — keyed by the network's seed, so another
    seed draws other values, and realization b's do not depend on the batch size. It may be
    given anew between runs (as may the values of the other given currents: StepCurrent,
    PulseCurrent, CurrentArray)."""

    given = "amplitude"
    _changeable = frozenset({"amplitude"})

    def __init__(self, target: Population, amplitude: Param):
        super().__init__(target)
        if not isinstance(amplitude, Distribution):  # checked now, but for the batch size
            checks.per_neuron("ConstantCurrent.amplitude", amplitude, target.n, None, None)
        self.amplitude = amplitude
        self._drawn: tuple = (None, None)  # a distribution's draws: (what for, values)

    def values(self, k: np.ndarray, dt: float, batch: int,
               rng: RealizationGenerators) -> np.ndarray:
        drawn = isinstance(self.amplitude, Distribution)
        if drawn and self._drawn[0] == (self.amplitude, rng.key, batch):
            return self._drawn[1]  # drawn once per network, not at every chunk
        amp = checks.per_neuron("ConstantCurrent.amplitude", self.amplitude, self.target.n,
                                batch, rng)
        amp = amp.reshape(1, *amp.shape)
        if drawn:
            self._drawn = ((self.amplitude, rng.key, batch), amp)
        return amp

    def largest(self, batch: int, rng: RealizationGenerators) -> float:
        return float(np.abs(self.values(np.zeros(1, np.int64), 1.0, batch, rng)).max())


class StepCurrent(Current):
    """Piecewise-constant current: ``amplitudes[m]`` (A, or model units for a dimensionless
    population) from ``times[m]`` (s) until the next time; zero before the first time.
    ``times`` (increasing) and ``amplitudes`` are 1-D arrays of the same length. A time between
    two steps takes effect at the next one (warns)."""

    given = "amplitudes"

    _arguments = {"times": "times", "amplitudes": "amplitudes"}
    _changeable = frozenset(_arguments.values())  # (read at every chunk)

    def __init__(self, target: Population, times: np.ndarray | Sequence[float],
                 amplitudes: np.ndarray | Sequence[float]):
        super().__init__(target)
        self.times = checks.finite_array("StepCurrent.times", times, unit="s")
        self.amplitudes = checks.finite_array("StepCurrent.amplitudes", amplitudes)
        if self.times.shape != self.amplitudes.shape or np.any(np.diff(self.times) < 0):
            raise ValueError("StepCurrent.times must be increasing and match amplitudes in "
                             f"length, got {self.times.shape} and {self.amplitudes.shape}")

    def _check_grid(self, dt: float) -> None:
        steps = self.times / dt
        off = np.flatnonzero(np.abs(steps - np.rint(steps)) > 1e-6)
        if off.size:
            j = int(off[0])
            more = (f"; {off.size - 1} more of the {steps.size} times "
                    f"{'is' if off.size == 2 else 'are'} not whole steps" if off.size > 1 else "")
            checks.warn_unless_whole_steps(
                f"StepCurrent.times[{j}]", float(self.times[j]), dt,
                f"the amplitude changes at the next step, t = {np.ceil(steps[j]) * dt:.6g} s "
                f"(a current keeps its value at each step's start){more}")

    def values(self, k: np.ndarray, dt: float, batch: int,
               rng: RealizationGenerators) -> np.ndarray:
        self._once_per_dt(dt, self._check_grid)
        # the step each time takes effect at, on the grid that _check_grid warns about: a time
        # within 1e-6 steps of a step is on it (a float32 time such as 0.003 → 3.000000026
        # steps), as PulseCurrent's edges; one between two steps moves to the next
        m = np.searchsorted(_next_step(self.times / dt), k, side="right")
        return np.concatenate([[0.0], self.amplitudes])[m].reshape(-1, 1, 1)

    def largest(self, batch: int, rng: RealizationGenerators) -> float:
        return float(np.abs(self.amplitudes).max(initial=0.0))


class PulseCurrent(Current):
    """Rectangular pulses of ``amplitude`` (A, or model units for a dimensionless population)
    and ``width`` (s), the first at ``start`` (s), then
    every ``period`` (s, from one pulse's start to the next; at least ``width``, and needed
    when ``count`` > 1), ``count`` pulses in all. Times between two steps move the pulse edges
    to the next step (warns)."""

    given = "amplitude"

    _arguments = {a: a for a in ("start", "width", "amplitude", "period", "count")}
    _changeable = frozenset(_arguments.values())

    def __init__(self, target: Population, start: float, width: float, amplitude: float,
                 period: float | None = None, count: int = 1):
        super().__init__(target)
        self.start = checks.number("PulseCurrent.start", start, low=0.0, unit="s")
        self.width = checks.number("PulseCurrent.width", width, low=0.0, low_open=True, unit="s")
        self.amplitude = checks.number("PulseCurrent.amplitude", amplitude)
        self.count = checks.count("PulseCurrent.count", count)
        if period is None and self.count > 1:
            raise ValueError(f"PulseCurrent.period (s) is needed for count={self.count} pulses: "
                             f"the time from one pulse's start to the next, at least "
                             f"width={self.width:g} s")
        self.period = (self.width if period is None else
                       checks.number("PulseCurrent.period", period, low=self.width, unit="s"))

    def _check_grid(self, dt: float) -> None:
        times = ("start", "width") + (
            ("period",) if self.count > 1 and self.period != self.width else ())
        for name in times:
            checks.warn_unless_whole_steps(
                f"PulseCurrent.{name}", getattr(self, name), dt,
                "pulse edges move to the next step (a current keeps its value at each step's "
                "start)")

    def values(self, k: np.ndarray, dt: float, batch: int,
               rng: RealizationGenerators) -> np.ndarray:
        self._once_per_dt(dt, self._check_grid)
        start, width, period = (min(x / dt, 2.0**62)  # in steps (a time beyond float64's
                                for x in (self.start, self.width, self.period))  # range: never)
        k = np.asarray(k)
        near = np.floor((k - start) / period)  # the pulse begun by step k, give or take one
        on = np.zeros(k.shape, bool)
        for j in (near - 1, near, near + 1):  # (width <= period: at most one of them is on)
            j = np.clip(j, 0, self.count - 1)
            first = _next_step(start + j * period)
            on |= (k >= first) & (k < _next_step(start + j * period + width))
        return np.where(on, self.amplitude, 0.0).reshape(-1, 1, 1)

    def largest(self, batch: int, rng: RealizationGenerators) -> float:
        return abs(self.amplitude)


def _next_step(steps: np.ndarray) -> np.ndarray:
    """The first step at or after each time given in steps: a time within 1e-6 of a step is on
    it (the rounding of products such as k·dt), one between two steps moves to the next."""
    whole = np.rint(steps)
    return np.where(np.abs(steps - whole) <= 1e-6, whole, np.ceil(steps))


class CurrentArray(Current):
    """A given current per step: ``values`` (A, or model units for a dimensionless population)
    of shape (T,), (T, n), or (T, B, n) — one row per realization of a batch of B — row k at
    step k; zero after the last row. The attribute ``data`` holds them and may be given anew
    between runs (``values`` is a method)."""

    given = "values"

    _arguments = {"values": "data"}
    _changeable = frozenset(_arguments.values())

    def __init__(self, target: Population,
                 values: np.ndarray | Sequence[float] | Sequence[Sequence[float]]):
        super().__init__(target)
        self.data = checks.finite_array("CurrentArray.values", values, ndim=(1, 2, 3))
        if self.data.ndim > 1 and self.data.shape[-1] != target.n:
            raise ValueError(f"CurrentArray.values must have shape (T,), (T, {target.n}) or "
                             f"(T, B, {target.n}), got {self.data.shape}")

    def values(self, k: np.ndarray, dt: float, batch: int,
               rng: RealizationGenerators) -> np.ndarray:
        self._check_batch(batch)
        return _rows(self.data, k).reshape(len(k), self.data.shape[1] if self.data.ndim == 3
                                           else 1, -1)

    def largest(self, batch: int, rng: RealizationGenerators) -> float:
        self._check_batch(batch)
        return float(np.abs(self.data).max(initial=0.0))

    def _check_batch(self, batch: int) -> None:
        if self.data.ndim == 3 and self.data.shape[1] != batch:
            raise ValueError(f"CurrentArray.values of shape {self.data.shape} holds "
                             f"{self.data.shape[1]} realizations (its axis 1), but the network "
                             f"runs batch = {batch}: give (T, {batch}, n), or (T, n) for every "
                             f"realization alike")


class NoiseCurrent(Current):
    """Gaussian current, independent at each step and neuron: N(mean, std²) (A, or model units
    for a dimensionless population), piecewise constant over a step.

    Given ``std`` (A; default 1), the variance of v it causes scales with dt (the std of v
    ∝ √dt). Given ``sigma`` instead (A·√s), it is white noise of that intensity — mean + σ·ξ(t),
    the std per step being σ/√dt — whose effect on v does not depend on dt (as Brian2's
    ``sigma*xi`` term in a current, and NEST's ``noise_generator`` with ``dt`` its interval).
    """

    kind = K.CUR_GAUSS

    _arguments = {a: a for a in ("mean", "std", "sigma")}

    def __init__(self, target: Population, mean: float = 0.0, std: float | None = None, *,
                 sigma: float | None = None):
        super().__init__(target)
        if std is not None and sigma is not None:
            raise ValueError(f"NoiseCurrent takes std (A, per step) or sigma (A·√s, white "
                             f"noise), not both: got std={std!r}, sigma={sigma!r}")
        self.mean = checks.number("NoiseCurrent.mean", mean)
        self.std = None if sigma is not None else checks.number(
            "NoiseCurrent.std", 1.0 if std is None else std, low=0.0)
        self.sigma = None if sigma is None else checks.number("NoiseCurrent.sigma", sigma,
                                                              low=0.0, unit="A·√s")

    def noise(self, dt: float) -> tuple[float, float, float]:
        return self.mean, self.std if self.sigma is None else self.sigma / dt ** 0.5, 0.0


class UniformNoiseCurrent(Current):
    """Uniform current, independent at each step and neuron: mean + half_width·(2U − 1) (A, or
    model units for a dimensionless population).
    The noisy-LIF tutorial's i_mean·(1 + a·(2U − 1)) is mean = i_mean, half_width = a·i_mean."""

    kind = K.CUR_UNIFORM

    _arguments = {a: a for a in ("mean", "half_width")}

    def __init__(self, target: Population, mean: float = 0.0, half_width: float = 1.0):
        super().__init__(target)
        self.mean = checks.number("UniformNoiseCurrent.mean", mean)
        self.half_width = checks.number("UniformNoiseCurrent.half_width", half_width, low=0.0)

    def noise(self, dt: float) -> tuple[float, float, float]:
        return self.mean, self.half_width, 0.0


class PoissonDrive(Current):
    """Independent Poisson spike trains of ``rate`` (Hz) into every neuron of ``target``, each
    spike adding ``weight`` to the neuron's variable ``receptor`` (default: the population's
    synaptic input, ``target.channel``; weight in its unit: V for v, A for i, 1 with
    ``units="1"``). At the end of each step the variable jumps by weight·K, K a Poisson count
    of mean rate·dt drawn per neuron, step and realization: as spikes of a projection with a
    delay of one step, or NEST's ``poisson_generator`` connected to each neuron with that
    delay (Brian2's ``PoissonInput`` draws a binomial count). Unlike a :class:`PoissonInput`
    source, whose units fire at most once per step, K may exceed 1, and no units or synapses
    are made: C inputs of rate ν each are one drive of rate C·ν, one draw per neuron and step.
    rate·dt is at most 30 (a faster drive is several drives)."""

    kind = K.CUR_JUMP

    _arguments = {a: a for a in ("rate", "weight", "receptor")}

    def __init__(self, target: Population, rate: float, weight: float = 1.0,
                 receptor: str | None = None):
        super().__init__(target)
        self.rate = checks.number("PoissonDrive.rate", rate, low=0.0, unit="Hz")
        self.weight = checks.number("PoissonDrive.weight", weight)
        self.receptor = checks.choice("PoissonDrive.receptor", target.channel
                                      if receptor is None else receptor, target.inputs)

    def noise(self, dt: float) -> tuple[float, float, float]:
        """(weight, mean count per step, exp(−mean)): the kernel's row."""
        mean = self.rate * dt
        if mean > POISSON_MAX_MEAN * (1 + 1e-14):  # (3e6 Hz · 1e-5 s is 30.000000000000004)
            raise ValueError(f"PoissonDrive.rate · dt must be at most {POISSON_MAX_MEAN:g} (the "
                             f"mean count per step), got {self.rate!r} Hz · {dt!r} s = "
                             f"{mean:.4g}: split the drive into several")
        return self.weight, mean, math.exp(-mean)


class OUCurrent(Current):
    """Ornstein–Uhlenbeck current with stationary ``mean`` and ``std`` (A, or model units for a
    dimensionless population) and correlation time ``tau`` (s), updated exactly:
    x ← mean + (x − mean)·e^(−dt/tau) + std·√(1 − e^(−2dt/tau))·N. It starts at the mean."""

    kind = K.CUR_OU

    _arguments = {a: a for a in ("mean", "std", "tau")}

    def __init__(self, target: Population, mean: float = 0.0, std: float = 1.0,
                 tau: float = 10e-3):
        super().__init__(target)
        self.mean = checks.number("OUCurrent.mean", mean)
        self.std = checks.number("OUCurrent.std", std, low=0.0)
        self.tau = checks.number("OUCurrent.tau", tau, low=0.0, low_open=True, unit="s")

    def noise(self, dt: float) -> tuple[float, float, float]:
        decay = float(np.exp(-dt / self.tau))
        return self.mean, self.std * float(np.sqrt(-np.expm1(-2 * dt / self.tau))), decay
