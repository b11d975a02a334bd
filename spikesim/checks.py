"""Validation of user input: every error names the parameter, the value and what is accepted."""

from __future__ import annotations

import difflib
import functools
import inspect
import math
import os
import sys
import warnings
from collections.abc import Sequence

import numpy as np

from .distributions import Distribution, RealizationGenerators

_PACKAGE = os.path.dirname(os.path.abspath(__file__))
MAX_UNITS = int(np.iinfo(np.int32).max)  # neurons and source units of a network (int32 ids)


def _show(value) -> str:
    if isinstance(value, np.ndarray):
        return repr(value.item()) if value.ndim == 0 else f"array of shape {value.shape}"
    if isinstance(value, (list, tuple)) and len(value) > 8:
        return f"a {type(value).__name__} of {len(value)} values"
    return repr(value)


def number(name: str, value, *, low: float | None = None, high: float | None = None,
           low_open: bool = False, unit: str = "") -> float:
    """A finite real scalar in [low, high] (or (low, high] with ``low_open``) as float; a 0-d
    array counts as its element."""
    value = _element(value)
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number{_unit(unit)}, got {_show(value)}")
    x = float(value)
    _check_bounds(name, x, x, low, high, low_open, unit, value)
    return x


def _element(value):
    """The element of a 0-d NumPy array (a NumPy scalar), else ``value`` as it is."""
    return value[()] if isinstance(value, np.ndarray) and value.ndim == 0 else value


def _unit(unit: str) -> str:
    return f" (in {unit})" if unit else ""


def _check_range(name, arr, low, high, low_open, unit, shown=None):
    if arr.size == 0:
        return
    # NaN propagates into min and max, and an infinity is one of them: two reductions suffice
    lo, hi = (float(arr.flat[0]),) * 2 if arr.size == 1 else (float(arr.min()), float(arr.max()))
    _check_bounds(name, lo, hi, low, high, low_open, unit, arr if shown is None else shown)


def within(lo: float, hi: float, *, low: float | None = None, high: float | None = None,
           low_open: bool = False, unit: str = "") -> bool:
    """Whether the values from ``lo`` to ``hi`` are finite and within the bounds (the keywords
    of :func:`number`; ``unit`` is not needed here)."""
    return (math.isfinite(lo) and math.isfinite(hi)
            and (low is None or (lo > low if low_open else lo >= low))
            and (high is None or hi <= high))


def _check_bounds(name, lo, hi, low, high, low_open, unit, shown):
    """Raise ValueError unless the values from ``lo`` to ``hi`` are finite and within the
    bounds; ``shown``: the value as given (an array is shown by its shape)."""
    if within(lo, hi, low=low, high=high, low_open=low_open):
        return  # the common case, before any message is formatted
    shown = _show(shown)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"{name} must be finite{_unit(unit)}, got {shown} (NaN or infinite)")
    too_low = low is not None and (lo <= low if low_open else lo < low)
    too_high = high is not None and hi > high
    if too_low or too_high:
        accepted = " and ".join(
            ([f"{'>' if low_open else '>='} {low}"] if low is not None else [])
            + ([f"<= {high}"] if high is not None else []))
        raise ValueError(f"{name} must be {accepted}{_unit(unit)}, got {shown} "
                         f"(offending value {lo if too_low else hi!r})")


def flag(name: str, value, *, none: bool = False) -> bool | None:
    """True or False (a NumPy bool too; None where ``none``): a string such as "no" would read
    as true."""
    if value is None and none:
        return None
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True{', False or None' if none else ' or False'}, "
                        f"got {value!r}")
    return bool(value)


def float_dtype(name: str, value) -> np.dtype:
    """np.float32 or np.float64 (a NumPy type, dtype or name) as a dtype."""
    try:
        dtype = None if value is None or isinstance(value, bool) else np.dtype(value)
    except (TypeError, ValueError):
        dtype = None
    if dtype is None or dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise (TypeError if dtype is None else ValueError)(
            f"{name} must be float32 or float64 (np.float32, np.float64 or their names), got "
            f"{value!r}")
    return dtype


def any_true(x) -> bool:
    """``x.any()`` for an array, ``bool(x)`` for a scalar (NumPy's ``any`` on a NumPy scalar
    costs about 3 µs: this runs once per parameter of every build)."""
    return bool(x.any()) if isinstance(x, np.ndarray) else bool(x)


def choice(name: str, value, accepted: Sequence[str]) -> str:
    """One of the accepted strings."""
    if value not in accepted:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, accepted))}, got {value!r}")
    return value


def count(name: str, value, *, low: int = 1, high: int | None = None) -> int:
    """An integer >= low (and <= high); a 0-d array counts as its element."""
    value = _element(value)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}"
                         f"{'' if high is None else f' and <= {high}'}, got {_show(value)}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high}, got {_show(value)}")
    return int(value)


def per_neuron(name: str, value, n: int, batch: int | None, rng: RealizationGenerators | None,
               *, low: float | None = None, high: float | None = None, low_open: bool = False,
               unit: str = "") -> np.ndarray:
    """A parameter as a float64 array of shape (1 or batch, 1 or n).

    Accepts a scalar, an array of shape (n,), (batch, n) or (batch, 1) (or one of these with
    a first axis of 1, as derived parameters come), or a
    :class:`~spikesim.distributions.Distribution` (one draw per neuron and realization, from
    ``rng``). ``batch`` None: any number of realizations (before a network is known).
    """
    if isinstance(value, Distribution):
        arr = rng.draw(value, batch, n)
    else:
        arr = reals(name, value, "a number, an array or a Distribution", unit)
        b = "B" if batch is None else batch
        if arr.ndim == 0:
            arr = arr.reshape(1, 1)
        elif arr.ndim == 1 and arr.shape[0] == n:
            arr = arr.reshape(1, n)
        elif not (arr.ndim == 2 and arr.shape[0] in (1, batch or arr.shape[0])
                  and arr.shape[1] in (1, n)):
            shapes = f"({n},) or ({b}, 1)" if n == 1 else f"({n},), ({b}, {n}) or ({b}, 1)"
            column = arr.ndim == 1 and (batch is None or arr.shape[0] == batch)
            raise ValueError(f"{name} must be a scalar or an array of shape {shapes} (axes: "
                             f"realizations, neurons), got shape {arr.shape}"
                             + (f": one value per realization is a column, shape ({b}, 1)"
                                if column else ""))
    _check_range(name, arr, low, high, low_open, unit, value)
    return arr


def not_masked(name: str, value) -> None:
    """TypeError for a NumPy masked array with masked elements: NumPy's conversions drop the
    mask, so the values under it would be used."""
    if isinstance(value, np.ma.MaskedArray) and np.ma.is_masked(value):
        raise TypeError(f"{name} must not be a masked array with masked elements (their values "
                        f"would be used: the mask is ignored), got {value.count()} of "
                        f"{value.size} unmasked; fill or drop them first")


def reals(name: str, value, what: str, unit: str) -> np.ndarray:
    """``value`` as a float64 array (NaN and infinities kept); TypeError, saying it must be
    ``what`` (in ``unit``), unless it holds integers or reals — not booleans, strings, None
    or complex numbers, which NumPy would convert or wrap."""
    not_masked(name, value)
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):  # (a ragged list)
        arr = None
    if arr is None or arr.dtype.kind not in "iuf":
        shown = _show(value) if arr is None or arr.ndim == 0 else (
            f"an array of {arr.dtype} of shape {arr.shape}")
        raise TypeError(f"{name} must be {what}{_unit(unit)}, got {shown}")
    return arr.astype(np.float64, copy=False)


def drawn(name: str, dist, values, shape: tuple) -> np.ndarray:
    """What ``dist.draw(rng, shape)`` returned for the parameter ``name``, checked: real
    numbers (not booleans, strings or complex numbers) of exactly ``shape``, as float64. A
    draw of another length would be read past its end by the kernels' tables."""
    what = f"{type(dist).__name__}.draw(rng, {shape}) (drawn for {name})"
    arr = reals(f"what {what} returned", values, "real numbers", "")
    if arr.shape != tuple(shape):
        raise ValueError(f"{what} must return shape {tuple(shape)}, got shape {arr.shape}")
    return arr


def index_array(name: str, value, n: int | None = None, *, one: bool = False) -> np.ndarray:
    """Indices — an integer or (unless ``one``) a 1-d sequence of them, possibly empty — as a
    1-d int64 array: TypeError unless integers (not booleans, floats or strings), ValueError
    unless each is in [0, n − 1] (>= 0 when n is None)."""
    what = "an integer" + ("" if one else " or a 1-d sequence of integers")
    not_masked(name, value)
    arr = None
    if not isinstance(value, (bool, np.bool_, str, bytes)):
        try:
            arr = np.asarray(value)
        except (TypeError, ValueError, OverflowError):  # (a ragged list)
            pass
    if arr is not None and arr.size == 0 and arr.ndim == 1:
        arr = arr.astype(np.int64)  # (an empty list reads as float64)
    if arr is None or arr.ndim > (0 if one else 1) or arr.dtype.kind not in "iu":
        shown = _show(value) if arr is None or arr.ndim == 0 or arr.size <= 8 else (
            f"an array of {arr.dtype} of shape {arr.shape}")
        raise TypeError(f"{name} must be {what}, got {shown}")
    arr = arr.reshape(-1)
    if n is None:
        if arr.size and arr.min() < 0:
            raise ValueError(f"{name} must be >= 0, got {arr.min().item()!r}")
    else:
        indices(name, arr, n)
    return arr.astype(np.int64)


def indices(name: str, ids: np.ndarray, n: int) -> None:
    """Raise ValueError unless the integer array ``ids`` holds indices in [0, n - 1], showing
    the offending values."""
    if ids.size and (ids.min() < 0 or ids.max() >= n):
        bad = np.unique(ids[(ids < 0) | (ids >= n)])
        shown = ", ".join(map(str, bad[:5].tolist())) + (
            f", ... ({len(bad)} values in all)" if len(bad) > 5 else "")
        raise ValueError(f"{name} must be in [0, {n - 1}], got {shown}")


def steps(name: str, seconds: np.ndarray, dt: float, *, minimum: int = 0) -> np.ndarray:
    """Durations in seconds rounded to whole steps (int64), at least ``minimum`` steps."""
    with np.errstate(over="ignore"):  # (1e308 s / 1 ms: inf, capped)
        n = np.rint(np.minimum(seconds / dt, 2.0**62)).astype(np.int64)  # (no wrap: 1e30 s)
    if np.any(n < minimum):
        raise ValueError(f"{name} must be at least {minimum} step(s) of dt = {dt!r} s, got "
                         f"{float(seconds.min())!r} s")
    return n


def unknown_names(owner: str, given, accepted) -> str:
    """The message for keyword arguments ``given`` that ``owner`` does not take: each with
    the nearest accepted name, then all accepted ones."""
    hints = []
    for name in given:
        near = difflib.get_close_matches(name, accepted, n=1)
        hints.append(f"{name!r}" + (f" (did you mean {near[0]!r}?)" if near else ""))
    return (f"{owner} got unknown parameter(s) {', '.join(hints)}; accepted: "
            f"{', '.join(sorted(accepted))}")


def warn(message: str) -> None:
    """A RuntimeWarning attributed to the first caller outside spikesim (the user's line)."""
    frame, level = sys._getframe(1), 2  # (stacklevel 1 is this function)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, RuntimeWarning, stacklevel=level)


def warn_unless_whole_steps(name: str, value, dt: float, effect: str = "") -> None:
    """Warn when ``value``, a duration typed as a plain number (s), is not a whole number of
    steps of ``dt`` (s), saying what it is rounded to (half to even), or ``effect``: what
    happens to such a time instead; arrays and distributions are rounded per element without a
    word."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(
            value, (int, float, np.integer, np.floating)):
        return
    steps = float(value) / dt
    if math.isfinite(steps) and abs(steps - round(steps)) > 1e-6:  # (beyond float64's range:
        # 1e308 s at dt = 1 ms, or any time at a subnormal dt, refused by the caller if at all)
        warn(f"{name} = {value} s is not a whole number of steps of dt = {dt!r} s: "
             f"{effect or f'rounded to {round(steps)} steps'}")


def warn_if_long(name: str, seconds: float | np.ndarray, longest: float, what: str,
                 deliberate: float = math.inf) -> None:
    """Warn when a duration ``seconds`` (s; a value or an array, its largest element counts)
    exceeds ``longest`` (s), which is unusual for ``what``: the sign of a time typed in
    milliseconds. From ``deliberate`` (s) on it is taken as meant (a time constant of 1000 s or
    more: a neuron without leak) and stays quiet."""
    many = isinstance(seconds, np.ndarray) and seconds.size > 1
    top = float(seconds.max(initial=-math.inf) if isinstance(seconds, np.ndarray) else seconds)
    if longest < top < deliberate:
        hint = "" if deliberate == math.inf else f"; {deliberate:g} s or more reads as meant"
        warn(f"{name} = {top:g} s{' (the longest value)' if many else ''} is longer than "
             f"{longest:g} s, unusual for {what}: spikesim takes times in seconds ({top:g} ms "
             f"is {top / 1e3:g} s{hint})")


def warn_if_not_volts(name: str, volts: float | np.ndarray, largest: float = 2.0,
                      deliberate: float = 1e3) -> None:
    """Warn when a membrane voltage ``volts`` (V; a value or an array, its largest magnitude
    counts) exceeds ``largest`` (V) in magnitude: the sign of a voltage typed in millivolts.
    From ``deliberate`` (V) on it is taken as meant (a threshold of 1e9 V: a neuron that never
    fires) and stays quiet."""
    top = abs(float(volts)) if np.ndim(volts) == 0 else float(np.abs(volts).max(initial=0.0))
    if largest < top < deliberate:
        warn(f"{name} reaches {top:g} V in magnitude, more than the {largest:g} V of a membrane "
             f"voltage: spikesim takes voltages in volts (−65 mV is −0.065 V; {deliberate:g} V "
             f"or more reads as meant); a model in other units takes units=\"1\"")


def finite_array(name: str, value, *, ndim: Sequence[int] = (1,), low: float | None = None,
                 high: float | None = None, unit: str = "") -> np.ndarray:
    """A finite float64 array of one of the given numbers of dimensions."""
    arr = reals(name, value, ("a number or " if 0 in ndim else "") + "an array of numbers",
                 unit)
    if arr.ndim not in ndim:
        raise ValueError(f"{name} must have {' or '.join(map(str, ndim))} dimension(s), "
                         f"got shape {arr.shape}")
    _check_range(name, arr, low, high, False, unit)
    return arr


def window_edges(lo: float | None, hi: float | None) -> tuple[float, float]:
    """The bounds to compare spike times (s) with for the window lo <= t < hi (None:
    unbounded): each end moved down by far less than a step, since a spike's time is its step
    times dt in floating point (step 10 of dt = 3e-4 s is at 0.0029999999999999996 s, and
    belongs to a window starting at 3 ms, not to one ending there)."""
    def edge(t: float | None, default: float) -> float:
        return default if t is None else t - 1e-12 * max(1.0, abs(t))
    return edge(lo, -math.inf), edge(hi, math.inf)


def time_window(t_start: object, t_stop: object) -> tuple[float | None, float | None]:
    """``t_start`` and ``t_stop`` (s; None: unbounded) checked: finite numbers, ``t_start
    <= t_stop``."""
    lo = None if t_start is None else number("t_start", t_start, unit="s")
    hi = None if t_stop is None else number("t_stop", t_stop, unit="s")
    if lo is not None and hi is not None and lo > hi:
        raise ValueError(f"t_start must be <= t_stop, got t_start = {t_start!r} s > t_stop = "
                         f"{t_stop!r} s")
    return lo, hi


def short(value) -> str:
    """A parameter for a ``repr``: a number as ``%g``, an array by its shape (never its
    values), a function by its name, anything else by its own repr, cut to 60 characters."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, (bool, np.bool_, str)) or value is None:
        return repr(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return f"{value:g}"
    if isinstance(value, (np.ndarray, list, tuple)) or hasattr(value, "toarray"):
        shape = getattr(value, "shape", None) or (len(value),)
        return f"array{tuple(shape)}".replace(",)", ")")
    if callable(value) and not hasattr(value, "draw"):
        return getattr(value, "__name__", type(value).__name__)
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def given_parameters(obj, values: dict) -> str:
    """``values`` (name -> value, as given to ``obj``'s constructor) for a ``repr``: those
    that differ from the constructors' defaults, as ``name=value`` (see :func:`short`)."""
    defaults: dict = {}
    for cls in type(obj).__mro__:
        init = cls.__dict__.get("__init__")
        try:
            params = inspect.signature(init).parameters.values() if init else ()
        except (TypeError, ValueError):
            params = ()
        for p in params:
            if p.default is not p.empty:
                defaults.setdefault(p.name, p.default)
    shown = []
    for name, value in values.items():
        default = defaults.get(name, inspect.Parameter.empty)
        try:
            same = value is default or (np.ndim(value) == 0 and np.ndim(default) == 0
                                         and not hasattr(value, "draw") and value == default)
        except (TypeError, ValueError):
            same = False
        if not same:
            shown.append(f"{name}={short(value)}")
    return ", ".join(shown)


class FixedOnceBuilt:
    """Mixin of what a network is built from. Once its constructor has returned (before
    ``Network.add`` too), assigning a public attribute marks it ``_dirty``: the network checks
    it again before it is used. Once built (``Network.build`` sets ``_built``), assigning one
    other than those in ``_changeable`` (read anew at every run) raises AttributeError naming it —
    the kernel's tables hold the value it had, so the change would be ignored without a word."""

    _changeable: frozenset[str] = frozenset()
    _built = _dirty = False

    def __repr__(self) -> str:
        try:
            values = self.describe()
        except Exception:  # (a user's subclass may not describe itself)
            values = {}
        name = getattr(self, "name", None)
        head = [repr(name)] if isinstance(name, str) else []
        target = getattr(self, "target", None)
        if target is not None:  # a current: the population it goes into
            head.append(f"into {getattr(target, 'name', None) or '?'!r}")
        body = given_parameters(self, {k: v for k, v in values.items() if k != "mode"})
        return f"{type(self).__name__}({', '.join(head + ([body] if body else []))})"

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is None or cls.__module__.partition(".")[0] != __name__.partition(".")[0]:
            return  # (a user's subclass: what its constructor assigns is checked at the build)

        @functools.wraps(init)
        def __init__(self, *args: object, **kw: object) -> None:
            init(self, *args, **kw)
            if type(self).__init__ is __init__:  # the outermost constructor: checked as made
                self.__dict__["_dirty"] = False

        cls.__init__ = __init__

    def __setattr__(self, name: str, value: object) -> None:
        if name[0] != "_":  # (from construction on: an assignment before add counts)
            if self._built and name not in self._changeable:
                self._refuse(name)
            self.__dict__["_dirty"] = True
        object.__setattr__(self, name, value)

    def _refuse(self, name: str) -> None:
        """Raise the AttributeError of an assignment to ``name`` once built."""
        label = type(self).__name__ + (f" {self.name!r}" if getattr(self, "name", None) else "")
        raise AttributeError(
            f"{label}: {name} cannot change once its network is built (the kernel's tables "
            f"hold it); build a new network. What may change between runs: a source's rate, p, "
            f"data, times and ids, a given current's values, a SpikeArray's values in place, "
            f"the monitors, and the state's values in place"
            + (f"; {type(self).__name__} may change {', '.join(sorted(self._changeable))}"
               if self._changeable else ""))
