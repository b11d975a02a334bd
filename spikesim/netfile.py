"""Network files: a simulation described in TOML, read into a :class:`~spikesim.Network`.

A network file is data: it is parsed with :mod:`tomllib` and checked against the fixed schema
below; model, input and rule names map to spikesim classes through fixed tables, and nothing
in the file is executed or imported. Any wrong key, type or value raises :class:`NetFileError`,
whose message is one line: ``FILE: KEY.PATH: what was expected``. Key paths count tables of an
array from 0 in file order (``population[1].params.tau_mem`` is the second ``[[population]]``).

Schema (times in s, voltages in V, currents in A, rates in Hz — or the model's units)::

    description = "free text"            # optional

    [network]
    dt = 1e-4                            # required, > 0
    duration = 1.0                       # required, >= 0 (run, check: >= 1 step; --duration)
    seed = 1                             # default 0 (spikesim run --seed overrides)
    batch = 1                            # realizations, default 1
    dtype = "float64"                    # or "float32"
    chunk = 1000                         # steps per kernel call (optional)

    [[population]]                       # any number; names are unique
    name = "exc"                         # letters, digits, _ and -
    model = "LIF"                        # LIF | RC | Leaky | Synaptic | AdaptiveLIF
    n = 3200
    params = { tau_mem = 20e-3, v_th = -50e-3, method = "exact" }   # the model's arguments
    v_init = { distribution = "uniform", low = -60e-3, high = -50e-3 }  # or in params
    # (long params read better as a sub-table: a [population.params] header after the
    # [[population]] keys, then one key per line)

    [[input]]
    name = "noise"                       # spike sources need a name (unique with populations)
    kind = "poisson"                     # see INPUTS below
    n = 100                              # spike sources (rate_coded, spike_array: from
                                         # the data)
    target = "exc"                       # currents: the population they are injected into
    params = { rate = 10.0 }

    [[projection]]
    pre = "noise"                        # a population or a spike source
    post = "exc"                         # a population
    rule = "random"                      # one_to_one | all_to_all | random | fixed_indegree
                                         # | explicit
    p = 0.02                             # random only; fixed_indegree: k; explicit: pre_ids,
                                         # post_ids (arrays of indices)
    weight = 1.62e-3                     # number, array, or a distribution table
    delay = 1e-4                         # optional: number, array or distribution (one step)
    receptor = "i"                       # optional: the target variable (e.g. "i_inh")

    [[record]]                           # none: the spikes of every population
    kind = "spikes"                      # spikes | state | rate
    population = "exc"
    ids = [0, 1, 2]                      # optional: a subset of neurons
    # state: variables = ["v", "i"], every = 10 (steps), dtype = "float32"
    # rate: bin_width = 1e-3 (a whole number of steps)
    # name = "exc_subset"                # optional: the name in the HDF5 file

Per-neuron parameters (model params, v_init) take a number, an array of n numbers (or batch
rows of n), or a distribution table: ``{distribution = "uniform", low, high}``,
``{distribution = "normal", mean, std, low?, high?}`` (clipped to [low, high]) or
``{distribution = "lognormal", mu, sigma}``. Weights and delays take a number, an array
over synapses or a distribution (weights also an (n_pre, n_post) matrix for all_to_all).

Any array may instead be read from a NumPy file: ``data = { file = "images.npy" }``, or
``{ file = "set.npz", key = "train" }`` (key optional when the file holds one array); a
relative path is read from the network file's folder. Pickled objects are never loaded.

INPUTS (``params`` keys): spike sources ``poisson`` (rate), ``bernoulli`` (p), ``rate_coded``
(data: n values, T rows of n, or T × B × n for a batch of B, each a per-step probability),
``spike_times`` (times, ids), ``spike_array`` (spikes: T × n or T × B × n, booleans or 0 and 1,
as :class:`~spikesim.inputs.SpikeArray`); currents ``constant`` (amplitude), ``step`` (times,
amplitudes), ``pulse`` (start, width, amplitude, period? — needed when count > 1 —,
count?), ``noise`` (mean, std per step or sigma in A·√s: white noise), ``uniform_noise``
(mean, half_width), ``ou`` (mean, std, tau), ``current_array`` (values: T numbers or T rows of
n numbers, one per step, or T × B × n); the Poisson drive ``poisson_drive`` (rate, weight?,
receptor?), jumps into each target neuron as spikes.

``spikesim run --set KEY=VALUE`` changes a value before the checks (:func:`apply_setting`).

Use :func:`read` (or :func:`parse` for a string) for the checked description and :func:`build`
for the network with its monitors or HDF5 recorders; :func:`load_network` does both.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from . import distributions as D
from . import inputs as I
from . import models as M
from .checks import MAX_UNITS, warn
from .layout import BuildError, check_build_memory, current_rng, projection_key
from .monitors import SpikeMonitor, StateMonitor
from .network import MAX_STEPS, Network

if TYPE_CHECKING:
    from .recorders import H5Output

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the tomli backport, same API
    import tomli as tomllib

MAX_INDEX = MAX_UNITS  # neurons and realizations × neurons of a network (int32 ids)
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]{0,63}$")

MODELS: dict[str, type[M.Population]] = {
    "LIF": M.LIF, "RC": M.RC, "Leaky": M.Leaky, "Synaptic": M.Synaptic,
    "AdaptiveLIF": M.AdaptiveLIF,
}
SOURCES: dict[str, type[I.SpikeSource]] = {
    "poisson": I.PoissonInput, "bernoulli": I.BernoulliInput, "rate_coded": I.RateCoded,
    "spike_times": I.SpikeTimes, "spike_array": I.SpikeArray,
}
DATA_SOURCES = {"rate_coded": "data", "spike_array": "spikes"}  # n from the data's last axis
CURRENTS: dict[str, type[I.Current]] = {
    "constant": I.ConstantCurrent, "step": I.StepCurrent, "pulse": I.PulseCurrent,
    "noise": I.NoiseCurrent, "uniform_noise": I.UniformNoiseCurrent, "ou": I.OUCurrent,
    "current_array": I.CurrentArray, "poisson_drive": I.PoissonDrive,
}
TOO_DEEP = "arrays or tables nested too deeply for the TOML reader"  # (a RecursionError)
RULES = ("one_to_one", "all_to_all", "random", "fixed_indegree", "explicit")
RECORDS = ("spikes", "state", "rate")


class NetFileError(ValueError):
    """A network file that cannot be used; ``str()`` is one line: file, key path, problem."""

    def __init__(self, file: str, key: str, message: str):
        self.file, self.key = file, key
        self.message = " ".join(str(message).split())
        super().__init__(f"{file}: {key}: {self.message}" if key else f"{file}: {self.message}")


# --- values ---------------------------------------------------------------------------------
def _show(value: Any) -> str:
    """A value as it looks in TOML, shortened."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, dict):
        text = "a table {" + ", ".join(map(str, value)) + "}"
    elif isinstance(value, str):
        text = '"' + value + '"'
    elif isinstance(value, list):
        text = "an array " + repr(value)
    elif isinstance(value, np.ndarray):
        text = f"an array of shape {value.shape} ({value.dtype}) from a file"
    else:
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


class _Check:
    """A value check: ``desc`` says what is expected; calling it returns the converted value
    or raises :class:`_Bad`."""

    desc = "a value"

    def __call__(self, value: Any) -> Any:
        raise NotImplementedError


class _Bad(Exception):
    """A value failed a check; the message says what was expected (the caller adds the key)."""


def _expected(desc: str, value: Any) -> _Bad:
    return _Bad(f"expected {desc}, got {_show(value)}")


class Number(_Check):
    """A finite real number within bounds (integers must be integers)."""

    def __init__(self, low: float | None = None, high: float | None = None,
                 low_open: bool = False, unit: str = "", integer: bool = False):
        self.low, self.high, self.low_open, self.unit, self.integer = (
            low, high, low_open, unit, integer)
        bounds = ([f"{'>' if low_open else '>='} {low:g}"] if low is not None else []) + (
            [f"<= {high:g}"] if high is not None else [])
        kind = "an integer" if integer else "a number"
        self.desc = kind + (" " + " and ".join(bounds) if bounds else "") + (
            f" ({unit})" if unit else "")

    def __call__(self, value: Any) -> float:
        ok = isinstance(value, int) if self.integer else _is_number(value)
        if isinstance(value, bool) or not ok or (isinstance(value, float) and
                                                 not math.isfinite(value)):
            raise _expected(self.desc, value)
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            raise _expected(self.desc, value)
        if self.high is not None and value > self.high:
            raise _expected(self.desc, value)
        return value


class Text(_Check):
    """A string: one of ``choices``, or matching ``pattern``."""

    def __init__(self, choices: tuple[str, ...] | None = None, pattern: re.Pattern | None = None,
                 desc: str | None = None):
        self.choices, self.pattern = choices, pattern
        self.desc = desc or ("one of " + ", ".join(f'"{c}"' for c in choices) if choices
                             else "a string")

    def __call__(self, value: Any) -> str:
        if not isinstance(value, str):
            raise _expected(self.desc, value)
        if self.choices is not None and value not in self.choices:
            near = difflib.get_close_matches(value, self.choices, 1)
            hint = f' (did you mean "{near[0]}"?)' if near else ""
            raise _Bad(f"expected {self.desc}, got {_show(value)}{hint}")
        if self.pattern is not None and not self.pattern.match(value):
            raise _expected(self.desc, value)
        return value


def _numbers(value: Any, ndim: tuple[int, ...], integer: bool = False) -> np.ndarray | None:
    """A TOML array of numbers (nested to one of ``ndim`` levels, rectangular) or an array read
    from a file (:func:`_read_arrays`) as a float64 (``integer``: int64) array, or None if it is
    not one."""
    if isinstance(value, np.ndarray):  # (booleans stay booleans: spikes, 1 byte each)
        if value.dtype.kind not in ("iu" if integer else "biuf") or value.ndim not in ndim:
            return None
        if integer and value.dtype.kind == "u" and value.size and value.max() > 2**63 - 1:
            return None
        if value.dtype.kind == "b":
            return value
        arr = value.astype(np.int64 if integer else np.float64, copy=False)
        return arr if integer or np.all(np.isfinite(arr)) else None
    shape = _nested_shape(value, max(ndim))
    if shape is None or len(shape) not in ndim or len(shape) == 0:
        return None
    flat = list(_leaves(value))
    if integer:
        if not all(isinstance(x, int) and -2**63 <= x < 2**63 for x in flat):
            return None
        return np.array(flat, np.int64).reshape(shape)
    try:
        arr = np.array(flat, np.float64).reshape(shape)
    except OverflowError:  # an integer beyond float64
        return None
    return arr if np.all(np.isfinite(arr)) else None


def _nested_shape(value: Any, depth: int) -> tuple[int, ...] | None:
    """The shape of ``value``, numbers nested in at most ``depth`` levels of lists of equal
    lengths; None if it is not that."""
    if not isinstance(value, list):
        return () if _is_number(value) else None
    if depth == 0:
        return None
    shapes = {_nested_shape(x, depth - 1) for x in value}
    if None in shapes or len(shapes) > 1:
        return None
    return (len(value), *(shapes.pop() if shapes else ()))


def _leaves(value: Any) -> Iterator[Any]:
    """The numbers of a nested list, in order."""
    if isinstance(value, list):
        for x in value:
            yield from _leaves(x)
    else:
        yield value


FROM_FILE = '{ file = "data.npy" }'


class Array(_Check):
    """A (rectangular) array of finite numbers or integers, of 1 to 3 dimensions, given
    inline or read from a file."""

    def __init__(self, ndim: tuple[int, ...] = (1,), integer: bool = False,
                 low: float | None = None, unit: str = ""):
        self.ndim, self.integer, self.low = ndim, integer, low
        kind = "integers" if integer else "finite numbers"
        shape = "an array" if ndim == (1,) else (
            f"a rectangular array ({', '.join(map(str, ndim[:-1]))} or {ndim[-1]} levels of "
            f"nesting)")
        self.desc = f"{shape} of {kind}" + (f" >= {low:g}" if low is not None else "") + (
            f" ({unit})" if unit else "") + f" or {FROM_FILE}"

    def __call__(self, value: Any) -> np.ndarray:
        arr = _numbers(value, self.ndim, self.integer)
        if arr is None or (self.low is not None and arr.size and arr.min() < self.low):
            raise _Bad(f"expected {self.desc}, got {_show(value)}"
                       f"{_offending(value, self.ndim, self.integer, self.low)}")
        return arr


def _offending(value: Any, ndim: tuple[int, ...], integer: bool = False,
               low: float | None = None) -> str:
    """For an array read from a file of an accepted kind and shape, what is refused in it:
    ' (offending value nan at [3, 1])', its first value not finite, beyond int64 (integers)
    or below ``low``; else ''."""
    if (not isinstance(value, np.ndarray) or value.ndim not in ndim or not value.size
            or value.dtype.kind not in ("iu" if integer else "iuf")):
        return ""
    with np.errstate(over="ignore"):  # (float128 beyond float64: inf, refused)
        arr = value.astype(np.float64)
    bad = ~np.isfinite(arr)
    if not bad.any() and integer and value.dtype.kind == "u":  # (beyond int64: refused)
        bad = value > np.iinfo(np.int64).max
    if not bad.any() and low is not None:
        bad = arr < low
    if not bad.any():
        return ""
    at = np.unravel_index(np.argmax(bad), arr.shape)
    return f" (offending value {value[at]} at {[int(i) for i in at]})"


def _distribution(value: dict) -> D.Distribution:
    """A distribution table as a spikesim Distribution."""
    kinds = {"uniform": (D.Uniform, ("low", "high"), ()),
             "normal": (D.Normal, ("mean", "std"), ("low", "high")),
             "lognormal": (D.LogNormal, ("mu", "sigma"), ())}
    name = value.get("distribution")
    if not isinstance(name, str) or name not in kinds:
        near = difflib.get_close_matches(name, kinds, 1) if isinstance(name, str) else []
        got = (f"distribution = {_show(name)}" if "distribution" in value
               else f"no distribution key in {_show(value)}")
        raise _Bad(f"a distribution table needs distribution = one of "
                   f"{', '.join(map(_show, kinds))}, got {got}"
                   + (f' (did you mean "{near[0]}"?)' if near else ""))
    cls, required, optional = kinds[name]
    args = {}
    for k, v in value.items():
        if k == "distribution":
            continue
        if k not in required + optional:
            raise _Bad(f"unknown key {k!r} in a {name} distribution; expected "
                       f"{', '.join(required + optional)}")
        args[k] = v
    missing = [k for k in required if k not in args]
    if missing:
        raise _Bad(f"{name} distribution needs {', '.join(missing)}")
    try:  # the values are checked by the class (finite numbers, spread >= 0, low <= high)
        return cls(**args)
    except (TypeError, ValueError) as e:
        raise _Bad(str(e)) from None


class Values(_Check):
    """A number, an array of numbers (1 or 2 dimensions) or a distribution table."""

    def __init__(self, unit: str = "", arrays: tuple[int, ...] = (1, 2),
                 distributions: bool = True):
        self.arrays, self.distributions = arrays, distributions
        self.desc = "a number" + (", an array of numbers" if arrays else "") + (
            f", {FROM_FILE}" if arrays and distributions else f" or {FROM_FILE}" if arrays
            else "") + (" or a distribution table" if distributions else "") + (
            f" ({unit})" if unit else "")

    def __call__(self, value: Any) -> float | np.ndarray | D.Distribution:
        if _is_number(value):
            if isinstance(value, float) and not math.isfinite(value):
                raise _expected(self.desc, value)
            return float(value)
        if isinstance(value, dict) and self.distributions:
            return _distribution(value)
        arr = _numbers(value, self.arrays) if self.arrays else None
        if arr is None:
            raise _Bad(f"expected {self.desc}, got {_show(value)}"
                       f"{_offending(value, self.arrays)}")
        return arr


class Names(_Check):
    """A string or an array of strings (returned as a tuple)."""

    desc = "a string or an array of strings"

    def __call__(self, value: Any) -> tuple[str, ...]:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not items or not all(isinstance(x, str) for x in items):
            raise _expected(self.desc, value)
        return tuple(items)


class Table(_Check):
    """A TOML table (checked key by key by its reader)."""

    desc = "a table"

    def __call__(self, value: Any) -> dict:
        if not isinstance(value, dict):
            raise _expected(self.desc, value)
        return value


# --- arrays from files ----------------------------------------------------------------------
def _read_arrays(doc: dict, file: str, folder: str) -> None:
    """Replace, in the parsed file ``doc``, every value given as ``{ file = "x.npy" }`` (or
    ``{ file = "x.npz", key = "name" }``; the key may be left out when the file holds one
    array) by the array that file holds, read by NumPy without pickles; a relative path is
    read from ``folder``."""
    def walk(node: Any, path: str) -> Any:
        if isinstance(node, dict) and "file" in node:
            return _array_file(node, file, folder, path)
        children = node.items() if isinstance(node, dict) else (
            enumerate(node) if isinstance(node, list) else ())
        for k, v in list(children):
            if isinstance(v, (dict, list)):
                node[k] = walk(v, f"{path}.{k}" if isinstance(k, str) else f"{path}[{k}]")
        return node

    for section, entries in doc.items():  # (the tables of the file themselves are no values)
        tables = entries if isinstance(entries, list) else [entries]
        for j, table in enumerate(tables):
            if isinstance(table, dict):
                key = f"{section}[{j}]" if isinstance(entries, list) else section
                for k, v in table.items():
                    if isinstance(v, (dict, list)):
                        table[k] = walk(v, f"{key}.{k}")


def _array_file(table: dict, file: str, folder: str, key: str) -> np.ndarray:
    """The array a ``{ file = ..., key = ... }`` table at ``key`` names."""
    for k in table:
        if k not in ("file", "key"):
            raise NetFileError(file, f"{key}.{k}", "unknown key in an array file table; "
                                                   "expected file (a .npy or .npz path) and, "
                                                   "for .npz, key (the array's name)")
    name, member = table["file"], table.get("key")
    if not isinstance(name, str) or not name.lower().endswith((".npy", ".npz")):
        raise NetFileError(file, f"{key}.file", f"expected the path of a .npy or .npz file, "
                                                f"got {_show(name)}")
    npz = name.lower().endswith(".npz")
    if member is not None and (not isinstance(member, str) or not npz):
        raise NetFileError(file, f"{key}.key", f"expected the name of an array in the .npz "
                                               f"file, got {_show(member)}" if npz else
                           "key names an array of a .npz file; a .npy file holds one array")
    path = os.path.join(folder, os.path.expanduser(name))
    try:
        with open(path, "rb") as fh:
            magic = fh.read(6)
        if magic[:2] != b"PK" and magic != b"\x93NUMPY":  # (NumPy would try it as a pickle)
            raise ValueError("not a file NumPy writes (np.save: .npy, np.savez: .npz)")
        if npz != (magic[:2] == b"PK"):  # (np.load goes by the content, not the name)
            raise ValueError("it holds one array (np.save): name it .npy" if npz else
                             "it is an .npz archive (np.savez): name it .npz")
        loaded = np.load(path, allow_pickle=False)
        if not npz:
            return loaded
        with loaded:
            names = loaded.files
            if not names:
                raise NetFileError(file, f"{key}.file", f"{path} holds no arrays")
            if member is None and len(names) != 1:
                raise NetFileError(file, f"{key}.key", f"{path} holds {len(names)} arrays: give "
                                                       f"key = one of {_some(names)}")
            if member is not None and member not in names:
                near = difflib.get_close_matches(member, names, 1)
                raise NetFileError(file, f"{key}.key", f'no array "{member}" in {path}'
                                   + (f' (did you mean "{near[0]}"?)' if near else "")
                                   + f"; it holds: {_some(names) or 'none'}")
            arr = loaded[member or names[0]]
            if not isinstance(arr, np.ndarray):  # (a member np.savez did not write: bytes)
                raise ValueError(f"{member or names[0]} is not an array np.savez wrote")
            return arr
    except NetFileError:
        raise
    except FileNotFoundError:
        where = "" if os.path.isabs(os.path.expanduser(name)) else (
            f" (a relative path is read from {os.path.abspath(folder)})")
        raise NetFileError(file, f"{key}.file", f"no such file: {path}{where}") from None
    except Exception as e:  # (object arrays: a ValueError; a damaged .npz: BadZipFile; a
        # header with a shape far larger than the memory: MemoryError)
        raise NetFileError(file, f"{key}.file", f"cannot read {path} as a NumPy array: "
                                                f"{e or type(e).__name__}") from None


def _some(names: list[str], most: int = 10) -> str:
    """The first ``most`` of ``names``, joined, and how many there are when not all."""
    shown = ", ".join(names[:most])
    return shown if len(names) <= most else f"{shown}, ... ({len(names)} in all)"


# --- tables ---------------------------------------------------------------------------------
class _Reader:
    """One TOML table under validation: typed getters that know the key path; ``finish``
    rejects the keys no getter asked for."""

    def __init__(self, file: str, path: str, data: Any):
        self.file, self.path = file, path
        if not isinstance(data, dict):
            raise NetFileError(file, path, f"expected a table, got {_show(data)}")
        self.data, self.used = data, set()
        self.known: set[str] = set()  # valid keys no getter may ask for: never typos

    def key(self, k: str) -> str:
        return f"{self.path}.{k}" if self.path else k

    def fail(self, k: str | None, message: str) -> NetFileError:
        return NetFileError(self.file, self.key(k) if k else self.path, message)

    def get(self, k: str, check: _Check, required: bool = False, default: Any = None) -> Any:
        self.used.add(k)
        if k not in self.data:
            if required:
                raise self.fail(k, f"missing required key: expected {check.desc}"
                                   f"{self.misspelling(k)}")
            return default
        try:
            return check(self.data[k])
        except _Bad as e:
            raise self.fail(k, str(e)) from None

    def misspelling(self, k: str) -> str:
        """'; unknown key "wieght" (did you mean "weight"?)' for the missing key ``k`` when
        a key of the table that is not known looks like it; else ''."""
        others = [x for x in self.data if x not in self.used and x not in self.known]
        near = difflib.get_close_matches(k, others, 1)
        return f'; unknown key "{near[0]}" (did you mean "{k}"?)' if near else ""

    def has(self, k: str) -> bool:
        return k in self.data

    def sub(self, k: str) -> _Reader:
        self.used.add(k)
        return _Reader(self.file, self.key(k), self.data.get(k, {}))

    def finish(self, allowed: tuple[str, ...] | None = None, why: str = "") -> None:
        for k in self.data:
            if k not in self.used:
                options = sorted(self.used if allowed is None else allowed)
                near = difflib.get_close_matches(k, options, 1)
                hint = f' (did you mean "{near[0]}"?)' if near else ""
                raise self.fail(k, f"unknown key{why}{hint}; expected one of: "
                                   f"{', '.join(options) or 'none'}")


# --- the checked description ----------------------------------------------------------------
@dataclass
class Item:
    """One checked entry of the file: its key path, the table's own keys and its params."""

    key: str
    fields: dict[str, Any]
    params: dict[str, Any] = field(default_factory=dict)
    param_keys: dict[str, str] = field(default_factory=dict)  # param name -> key path


@dataclass
class NetSpec:
    """A checked network file: plain values, nothing built yet."""

    file: str
    network: dict[str, Any]
    populations: list[Item]
    inputs: list[Item]
    projections: list[Item]
    records: list[Item]
    description: str = ""
    settings: dict[str, str] = field(default_factory=dict)  # key path → the --set that gave it


PER_NEURON = Values()
COMMON_PARAMS: dict[str, _Check] = {
    "v_th": PER_NEURON, "v_reset": PER_NEURON, "refractory": Values("s"),
    "v_init": PER_NEURON, "reset": Text(tuple(M.RESETS)), "method": Text(M.METHODS),
    "units": Text(("V", "1")),
}
LIF_PARAMS = {k: PER_NEURON for k in ("tau_mem", "tau_syn", "tau_syn_inh", "v_leak", "R",
                                      "i_init")}
MODEL_PARAMS: dict[str, dict[str, _Check]] = {
    "LIF": LIF_PARAMS,
    "RC": {k: PER_NEURON for k in ("R", "C", "tau", "E_L")},
    "Leaky": {"beta": PER_NEURON},
    "Synaptic": {k: PER_NEURON for k in ("alpha", "beta", "i_init")},
    "AdaptiveLIF": {**{k: v for k, v in LIF_PARAMS.items() if k != "tau_syn_inh"},
                    "tau_w": PER_NEURON, "b": PER_NEURON},
}

_RATE = Values("Hz", arrays=(1,), distributions=False)
_PROB = Values(arrays=(1,), distributions=False)
_TIMES = Array(low=0.0, unit="s")
INPUT_PARAMS: dict[str, dict[str, tuple[_Check, bool]]] = {
    "poisson": {"rate": (_RATE, True)},
    "bernoulli": {"p": (_PROB, True)},
    "rate_coded": {"data": (Array((1, 2, 3)), True)},
    "spike_array": {"spikes": (Array((2, 3)), True)},
    "spike_times": {"times": (_TIMES, True), "ids": (Array(integer=True, low=0), True)},
    "constant": {"amplitude": (Values(arrays=(1, 2), distributions=False), True)},
    "step": {"times": (_TIMES, True), "amplitudes": (Array(), True)},
    "pulse": {"start": (Number(low=0.0, unit="s"), True),
              "width": (Number(low=0.0, low_open=True, unit="s"), True),
              "amplitude": (Number(), True), "period": (Number(low=0.0, low_open=True, unit="s"),
                                                        False),
              "count": (Number(low=1, integer=True), False)},
    "noise": {"mean": (Number(), False), "std": (Number(low=0.0), False),
              "sigma": (Number(low=0.0), False)},
    "uniform_noise": {"mean": (Number(), False), "half_width": (Number(low=0.0), False)},
    "ou": {"mean": (Number(), False), "std": (Number(low=0.0), False),
           "tau": (Number(low=0.0, low_open=True, unit="s"), False)},
    "current_array": {"values": (Array((1, 2, 3)), True)},
    "poisson_drive": {"rate": (Number(low=0.0, unit="Hz"), True), "weight": (Number(), False),
                      "receptor": (Text(), False)},
}

_NAME = Text(pattern=NAME, desc="a name of letters, digits, _ and - (starting with a letter "
                               "or _)")
_COUNT = Number(low=1, high=MAX_INDEX, integer=True)


def parse(text: str, file: str = "<string>", settings: Sequence[str] = (),
          folder: str | os.PathLike | None = None) -> NetSpec:
    """Check a network description given as TOML text (see the module docstring), with the
    ``settings`` applied first (see :func:`apply_setting`); array files named with a relative
    path are read from ``folder`` (default: the current directory)."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise NetFileError(file, "", f"not valid TOML: {e}") from None
    except RecursionError:  # (tomllib parses nested arrays and tables recursively)
        raise NetFileError(file, "", TOO_DEEP) from None
    set_by = {apply_setting(doc, setting, file): setting for setting in settings}
    try:
        _read_arrays(doc, file, os.fspath(folder) if folder is not None else os.curdir)
        spec = _checked(doc, file)
    except NetFileError as e:
        raise _noted(set_by, e) from None
    spec.settings = set_by
    return spec


def _noted(set_by: dict[str, str], e: NetFileError) -> NetFileError:
    """``e``, saying which ``--set`` gave the value at its key path, if one did (``set_by``:
    key path → setting)."""
    origin = next((v for k, v in set_by.items() if e.key == k or e.key.startswith(k + ".")),
                  None)
    return e if origin is None else NetFileError(e.file, e.key,
                                                 f"{e.message} (given by --set {origin})")


def _checked(doc: dict, file: str) -> NetSpec:
    """The checked description of a parsed network file."""
    top = _Reader(file, "", doc)
    if "network" not in doc:
        raise NetFileError(file, "network", "missing required table [network] (with dt and "
                                            f"duration){top.misspelling('network')}")
    net = top.sub("network")
    network = {
        "dt": net.get("dt", Number(low=0.0, low_open=True, unit="s"), required=True),
        "duration": net.get("duration", Number(low=0.0, unit="s"), required=True),
        "seed": net.get("seed", Number(low=0, high=2**63 - 1, integer=True), default=0),
        "batch": net.get("batch", Number(low=1, high=MAX_INDEX, integer=True), default=1),
        "dtype": net.get("dtype", Text(("float64", "float32")), default="float64"),
        "chunk": net.get("chunk", Number(low=1, high=10**7, integer=True), default=None),
    }
    net.finish()
    description = top.get("description", Text(), default="")
    lists = {}
    for k in ("population", "input", "projection", "record"):
        top.used.add(k)
        entries = doc.get(k, [])
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise NetFileError(file, k, f"expected an array of tables [[{k}]], got "
                                        f"{_show(entries)}")
        lists[k] = [_Reader(file, f"{k}[{j}]", e) for j, e in enumerate(entries)]
    top.finish()
    spec = NetSpec(file, network, [_population(r) for r in lists["population"]], [], [], [],
                   description)
    for r in lists["input"]:  # (one by one: a target is checked against the inputs so far)
        spec.inputs.append(_input(r, spec))
    names: dict[str, str] = {}
    for item in spec.populations + [i for i in spec.inputs if i.fields["kind"] in SOURCES]:
        name = item.fields["name"]
        if name in names:
            raise NetFileError(file, f"{item.key}.name", f'"{name}" is already the name of '
                                                         f"{names[name]}")
        names[name] = item.key
    spec.projections = [_projection(r, spec) for r in lists["projection"]]
    spec.records = [_record(r, spec) for r in lists["record"]]
    groups: dict[str, str] = {}
    for item in spec.records:
        for group in _groups(item):
            if group in groups:
                raise NetFileError(file, item.key, f"writes /{group} of the HDF5 file, as "
                                                   f"{groups[group]} does: give one a "
                                                   f"different name = \"...\"")
            groups[group] = item.key
    return spec


def _groups(item: Item) -> list[str]:
    """The HDF5 groups a record writes (see :mod:`spikesim.recorders`)."""
    name = item.params.get("name", item.fields["population"])
    kind = item.fields["kind"]
    if kind == "state":
        return [f"report/{name}.{v}" for v in item.params.get("variables", ("v",))]
    return [f"{'spikes' if kind == 'spikes' else 'rates'}/{name}"]


_INDEXED = re.compile(r"^(population|input|projection|record)\[(\d+)\]$")


def apply_setting(doc: dict, setting: str, file: str = "<string>") -> str:
    """Set one value of a parsed network file ``doc`` in place, as ``spikesim run --set``
    does, before the file is checked: ``setting`` is ``KEY=VALUE``. KEY is a key path as
    errors name them (``network.dt``, ``population[1].params.tau_mem``, ``projection[0].weight``)
    or starts with the name of a population, input or projection instead
    (``exc.params.tau_mem``, ``noise.params.rate``); tables on the way are created. VALUE is a
    TOML value (``0.02``, ``[1, 2]``, ``{ distribution = "normal", mean = 1e-3, std = 1e-4 }``,
    ``"RC"``, ``{ file = "rates.npy" }``: a relative path from the current directory), or
    else read as a string (``RC``). Returns the key path it set, in the form
    errors name it (``population[0].params.tau_mem``)."""
    key, eq, text = setting.partition("=")
    key = key.strip()
    where = f"--set {setting}"
    if not eq or not key:
        raise NetFileError(file, where, "expected KEY=VALUE, e.g. network.dt=1e-4 or "
                                        "exc.params.tau_mem=0.02")
    try:
        value = setting_value(text)
    except RecursionError:
        raise NetFileError(file, where, TOO_DEEP) from None
    value = _files_from_here(value)  # array files it names: read from where spikesim runs
    first, *rest = key.split(".")
    indexed = _INDEXED.match(first)
    if indexed:
        section, j = indexed[1], int(indexed[2])
        entries = doc.get(section)
        if not isinstance(entries, list) or not j < len(entries):
            count = len(entries) if isinstance(entries, list) else 0
            raise NetFileError(file, where, f"there is no {first}: the file has {count} "
                                            f"[[{section}]] table{'s' if count != 1 else ''}")
        if not rest:
            raise NetFileError(file, where, f"{first} is a whole [[{section}]] table: give a "
                                            f"key inside it, e.g. {first}.name=...")
        table = entries[j]
    elif first in ("network", "description") or not rest:
        table, rest, first = doc, [first, *rest], ""
    else:
        for k in ("population", "input", "projection"):  # (as the check of the file says)
            if not isinstance(doc.get(k, []), list):
                raise NetFileError(file, k, f"expected an array of tables [[{k}]], got "
                                            f"{_show(doc[k])}")
        named = [(f"{k}[{j}]", e) for k in ("population", "input", "projection")
                 for j, e in enumerate(doc.get(k, []))
                 if isinstance(e, dict) and e.get("name") == first]
        if not named:
            names = [e["name"] for k in ("population", "input", "projection")
                     for e in doc.get(k, []) if isinstance(e, dict)
                     and isinstance(e.get("name"), str)] + ["network"]
            near = difflib.get_close_matches(first, names, 1)
            raise NetFileError(file, where, f'no population, input or projection named "{first}"'
                                            + (f' (did you mean "{near[0]}"?)' if near else "")
                                            + "; a key path starts with network, a name, or "
                                              "population[i], input[i], projection[i], record[i]")
        if len(named) > 1:
            raise NetFileError(file, where, f'"{first}" names {", ".join(k for k, _ in named)}:'
                                            f" start the key path with the one meant instead")
        first, table = named[0]
    *tables, last = rest
    if last == "file" and tables and isinstance(value, str):  # the path of an array file table
        value = os.path.abspath(os.path.expanduser(value))
    for k in tables:
        table = table.setdefault(k, {})
        if not isinstance(table, dict):
            raise NetFileError(file, where, f'"{k}" is not a table')
    table[last] = value
    return ".".join(filter(None, (first, *rest)))


def setting_value(text: str) -> Any:
    """The VALUE of a ``--set KEY=VALUE``: as TOML reads it, or else the text, stripped (a
    bare word: a string)."""
    try:
        return tomllib.loads(f"value = {text.strip()}")["value"]
    except tomllib.TOMLDecodeError:
        return text.strip()


def _files_from_here(value: Any) -> Any:
    """``value`` of a ``--set``, with the path of every array file table in it (``{ file =
    ... }``, at any depth: ``params = { data = { file = "x.npy" } }``) made absolute from the
    current directory."""
    if isinstance(value, dict):
        if isinstance(value.get("file"), str):
            return {**value, "file": os.path.abspath(os.path.expanduser(value["file"]))}
        return {k: _files_from_here(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_files_from_here(v) for v in value]
    return value


def read(path: str | os.PathLike, settings: Sequence[str] = ()) -> NetSpec:
    """Read and check a network file, with ``settings`` (``KEY=VALUE``, see
    :func:`apply_setting`) applied first."""
    file = os.fspath(path)
    try:
        with open(file, "rb") as fh:
            raw = fh.read()
    except FileNotFoundError:
        raise NetFileError(file, "", "no such file") from None
    except IsADirectoryError:
        raise NetFileError(file, "", "is a directory, not a network file") from None
    except OSError as e:
        raise NetFileError(file, "", f"cannot read: {e.strerror or e}") from None
    try:
        text = raw.decode("utf-8-sig")  # (a byte-order mark, as some editors write, dropped)
    except UnicodeDecodeError as e:
        raise NetFileError(file, "", f"not UTF-8 text (byte {e.start}): not a TOML file") from None
    return parse(text, file, settings, folder=os.path.dirname(os.path.abspath(file)))


def _params(r: _Reader, checks: dict[str, _Check | tuple[_Check, bool]], owner: str,
            item: Item) -> None:
    """Read ``r.params`` against ``checks`` into ``item.params``."""
    p = r.sub("params")
    for name, check in checks.items():
        check, required = check if isinstance(check, tuple) else (check, False)
        value = p.get(name, check, required=required)
        if name in p.data:
            item.params[name] = value
            item.param_keys[name] = p.key(name)
    p.finish(tuple(checks), why=f" for {owner}")


def _population(r: _Reader) -> Item:
    model = r.get("model", Text(tuple(MODELS)), required=True)
    item = Item(r.path, {"name": r.get("name", _NAME, required=True), "model": model,
                         "n": r.get("n", _COUNT, required=True)})
    _params(r, {**COMMON_PARAMS, **MODEL_PARAMS[model]}, f"model {model}", item)
    r.used.add("v_init")
    if r.has("v_init"):
        if "v_init" in item.params:
            raise r.fail("v_init", "v_init is also given in params: give it once")
        item.params["v_init"] = r.get("v_init", PER_NEURON)
        item.param_keys["v_init"] = r.key("v_init")
    _misplaced(r, {**COMMON_PARAMS, **MODEL_PARAMS[model]}, f"model {model}")
    r.finish()
    return item


def _input(r: _Reader, spec: NetSpec) -> Item:
    kinds = tuple(SOURCES) + tuple(CURRENTS)
    kind = r.get("kind", Text(kinds), required=True)
    item = Item(r.path, {"kind": kind})
    if kind in SOURCES:
        item.fields["name"] = r.get("name", _NAME, required=True)
        item.fields["n"] = r.get("n", _COUNT, required=kind not in DATA_SOURCES)
    else:
        item.fields["name"] = r.get("name", _NAME)
        item.fields["target"] = _ref(r, "target", spec, populations_only=True)
    _params(r, INPUT_PARAMS[kind], f'kind "{kind}"', item)
    _misplaced(r, INPUT_PARAMS[kind], f'kind "{kind}"')
    r.finish(why=f' for kind "{kind}"')
    return item


def _misplaced(r: _Reader, params, owner: str) -> None:
    """Reject a parameter of ``owner`` given as a key of the entry itself, not under params."""
    for k in r.data:
        if k not in r.used and k in params:
            raise r.fail(k, f"unknown key: {k} is a parameter of {owner}, so it goes under "
                            f"params (params = {{ {k} = ... }})")


def _ref(r: _Reader, k: str, spec: NetSpec, populations_only: bool) -> str:
    """A reference to a population (or spike source) by name, checked."""
    name = r.get(k, Text(), required=True)
    pops = [p.fields["name"] for p in spec.populations]
    sources = [i.fields["name"] for i in spec.inputs if i.fields["kind"] in SOURCES]
    if name in pops or (name in sources and not populations_only):
        return name
    if name in sources:
        raise r.fail(k, f'"{name}" is a spike source (an input); expected a population: '
                        f"{', '.join(map(_show, pops)) or 'none defined'}")
    known = pops + ([] if populations_only else sources)
    near = difflib.get_close_matches(name, known, 1)
    hint = f' (did you mean "{near[0]}"?)' if near else ""
    what = "population" if populations_only else "population or spike source"
    raise r.fail(k, f'no {what} named "{name}"{hint}; defined: '
                    f'{", ".join(map(_show, known)) or "none"}')


RULE_KEYS: dict[str, dict[str, _Check]] = {  # the keys of a projection with this rule
    "random": {"p": Number(low=0.0, high=1.0)},
    "fixed_indegree": {"k": Number(low=1, high=MAX_INDEX, integer=True)},
    "explicit": {"pre_ids": Array(integer=True, low=0), "post_ids": Array(integer=True, low=0)},
}


def _projection(r: _Reader, spec: NetSpec) -> Item:
    r.known = {k for keys in RULE_KEYS.values() for k in keys}  # pre_ids is no typo of pre
    pre = _ref(r, "pre", spec, populations_only=False)
    post = _ref(r, "post", spec, populations_only=True)
    rule = r.get("rule", Text(RULES), required=True)
    item = Item(r.path, {"pre": pre, "post": post, "rule": rule})
    item.params["weight"] = r.get("weight", Values(), required=True)
    item.param_keys["weight"] = r.key("weight")
    extra = RULE_KEYS.get(rule, {})
    for k, check in extra.items():
        item.params[k] = r.get(k, check, required=True)
        item.param_keys[k] = r.key(k)
    for k, check in (("delay", Values("s", arrays=(1,))), ("receptor", Text()),
                     ("name", _NAME)):
        if r.has(k):
            item.params[k] = r.get(k, check)
            item.param_keys[k] = r.key(k)
    r.finish(("pre", "post", "rule", "weight", "delay", "receptor", "name", *extra),
             why=f' for rule "{rule}"')
    return item


def _record(r: _Reader, spec: NetSpec) -> Item:
    kind = r.get("kind", Text(RECORDS), required=True)
    item = Item(r.path, {"kind": kind,
                         "population": _ref(r, "population", spec, kind == "state")})
    checks: dict[str, _Check] = {"ids": Array(integer=True, low=0), "name": _NAME}
    if kind == "state":
        checks.update(variables=Names(), every=Number(low=1, high=MAX_INDEX, integer=True),
                      dtype=Text(("float32", "float64")))
    if kind == "rate":
        item.params["bin_width"] = r.get("bin_width", Number(low=0.0, low_open=True, unit="s"),
                                         required=True)
        item.param_keys["bin_width"] = r.key("bin_width")
    for k, check in checks.items():
        if r.has(k):
            item.params[k] = r.get(k, check)
            item.param_keys[k] = r.key(k)
    r.finish(("kind", "population", *checks, *(("bin_width",) if kind == "rate" else ())),
             why=f' for kind "{kind}"')
    return item


# --- building -------------------------------------------------------------------------------
@dataclass
class Built:
    """A network built from a file: the network, its duration and what records it."""

    net: Network
    duration: float
    spec: NetSpec
    objects: dict[str, Any]  # populations and spike sources by name
    monitors: list[tuple[str, Any]]  # (key path, monitor or recorder)


@contextmanager
def _building(spec: NetSpec, item_key: str, keys: dict[str, str] | None = None) -> Iterator[None]:
    """Turn spikesim's own validation errors into a :class:`NetFileError` at ``item_key`` —
    refined to a parameter's key when the message starts with ``Class.param``."""
    try:
        yield
    except NetFileError:
        raise
    except Exception as e:  # anything spikesim raises is reported, in one line
        raise _as_error(spec, item_key, keys or {}, e) from None


def _as_error(spec: NetSpec, item_key: str, keys: dict[str, str], e: BaseException):
    message = str(e) or type(e).__name__
    if not isinstance(e, (ValueError, TypeError)):
        message = f"{type(e).__name__}: {message}"
    m = re.match(r"^\s*(?:\w+\.)?(\w+)", message)
    key = keys.get(m.group(1), item_key) if m else item_key
    return _noted(spec.settings, NetFileError(spec.file, key, message))


def build(spec: NetSpec, output: H5Output | None = None, *, seed: int | None = None,
          duration: float | None = None, threads: int | None = None,
          backend: str | None = None, chunk: int | None = None) -> Built:
    """Build the network of a checked file, with recorders into ``output`` (an
    :class:`~spikesim.H5Output`) or, without one, in-memory monitors (rate records become
    spike monitors). ``seed``, ``duration`` and ``chunk`` override the file's [network] values;
    ``threads`` and ``backend`` go to the :class:`~spikesim.Network`. The network is built
    (``Network.build``), so every parameter has been checked on return."""
    nw = dict(spec.network)
    if seed is not None:
        nw["seed"] = seed
    if chunk is not None:
        nw["chunk"] = chunk
    kw: dict[str, Any] = {"dt": nw["dt"], "seed": nw["seed"], "batch": nw["batch"],
                          "dtype": np.dtype(nw["dtype"])}
    if nw["chunk"] is not None:
        kw["chunk"] = nw["chunk"]
    if threads is not None:
        kw["threads"] = threads
    if backend is not None:
        kw["backend"] = backend
    _check_steps(spec, nw["duration"] if duration is None else duration, nw["dt"])
    with _building(spec, "network"):
        net = Network(**kw)
    total = sum(p.fields["n"] for p in spec.populations) * nw["batch"]
    if total > MAX_INDEX:
        raise NetFileError(spec.file, "network.batch", f"{total} neurons × realizations in "
                                                       f"all: more than {MAX_INDEX}")
    objects: dict[str, Any] = {}
    for item in spec.populations:
        f = item.fields
        with _building(spec, item.key, item.param_keys):
            objects[f["name"]] = net.add(MODELS[f["model"]](f["n"], **item.params), name=f["name"])
    for item in spec.inputs:
        f, kind = item.fields, item.fields["kind"]
        with _building(spec, item.key, item.param_keys):
            if kind in DATA_SOURCES:
                objects[f["name"]] = net.add(_data_source(spec, item, nw["batch"]),
                                             name=f["name"])
            elif kind in SOURCES:
                objects[f["name"]] = net.add(SOURCES[kind](f["n"], **item.params),
                                             name=f["name"])
            else:
                net.add(CURRENTS[kind](objects[f["target"]], **item.params), name=f["name"])
    for item in spec.projections:
        f = item.fields
        with _building(spec, item.key, item.param_keys):
            net.connect(objects[f["pre"]], objects[f["post"]], f["rule"], **item.params)
    monitors = []
    records = spec.records or [Item(f"population[{j}]", {"kind": "spikes",
                                                         "population": p.fields["name"]})
                               for j, p in enumerate(spec.populations)]
    for item in records:
        with _building(spec, item.key, item.param_keys):
            monitors.append((item.key, net.add(_monitor(item, objects[item.fields["population"]],
                                                        output, nw["dt"]))))
    with warnings.catch_warnings(record=True) as early:
        warnings.simplefilter("always")
        _prevalidate(spec, net)
    with _building(spec, "network"), warnings.catch_warnings(record=True) as late:
        warnings.simplefilter("always")
        try:
            net.build()
        except BuildError as e:  # a value of one entry of the file
            item = next(it for it, obj in _entries(spec, net) if obj is e.owner)
            message = str(e).replace("use dtype=np.float64", 'use dtype = "float64" in [network]')
            raise _noted(spec.settings, NetFileError(
                spec.file, item.param_keys.get(e.parameter, item.key), message)) from None
        except (ValueError, TypeError, FloatingPointError, OverflowError) as e:
            _diagnose(spec, net, e)
            raise
    shown = set()
    for w in early + late:  # each once: the build repeats what _prevalidate checked
        if str(w.message) not in shown:
            shown.add(str(w.message))
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    end = nw["duration"] if duration is None else duration
    return Built(net, end, spec, objects, monitors)


def _data_source(spec: NetSpec, item: Item, batch: int) -> I.SpikeSource:
    """The spike source of a rate_coded or spike_array entry, its data checked against the
    network's ``batch`` and the entry's ``n``."""
    given = DATA_SOURCES[item.fields["kind"]]
    key, shape, n = item.param_keys[given], np.shape(item.params[given]), item.fields["n"]
    src = SOURCES[item.fields["kind"]](item.params[given])
    if src.realizations() not in (1, batch):
        raise _noted(spec.settings, NetFileError(
            spec.file, key, f"shape {shape} holds {src.realizations()} realizations (its axis "
                            f"1) but network.batch = {batch}: give (T, {batch}, n), or (T, n) "
                            f"for every realization alike"))
    if n is not None and n != src.n:
        raise _noted(spec.settings, NetFileError(
            spec.file, f"{item.key}.n", f"n = {n} but params.{given} has {src.n} units (its "
                                        f"last axis)"))
    if len(shape) == 2 and shape[0] == batch > 1:  # (B, n): a batch of images?
        warn(f"{spec.file}: {key}: shape {shape} is read as {shape[0]} steps of {shape[1]} "
             f"units, the same for every realization, then silence; for one row per "
             f"realization give (T, {shape[0]}, {shape[1]}), e.g. np.broadcast_to(data, "
             f"(T, {shape[0]}, {shape[1]}))")
    return src


def _check_steps(spec: NetSpec, duration: float, dt: float) -> None:
    """At most MAX_STEPS steps in a run."""
    if duration / dt > MAX_STEPS:
        raise NetFileError(spec.file, "network.duration", f"{duration!r} s is "
                           f"{duration / dt:.3g} steps of dt = {dt!r} s: more than {MAX_STEPS}")


def _monitor(item: Item, target, output, dt: float):
    """The monitor or recorder of a [[record]] entry."""
    kind, p = item.fields["kind"], dict(item.params)
    ids = p.pop("ids", None)
    name = p.pop("name", None)
    if kind == "rate":
        steps = p["bin_width"] / dt
        if not 1 <= round(steps) <= MAX_INDEX or abs(steps - round(steps)) > 1e-9 * steps:
            raise ValueError(f"bin_width must be a whole number of steps of dt = {dt!r} s "
                             f"(at most {MAX_INDEX} steps), got {p['bin_width']!r} s")
    if output is None:
        if kind == "state":
            return StateMonitor(target, p.get("variables", ("v",)), ids, p.get("every", 1))
        return SpikeMonitor(target, ids)
    from . import recorders as R

    if kind == "spikes":
        return R.SpikeRecorder(output, target, ids, name=name)
    if kind == "rate":
        return R.RateRecorder(output, target, p["bin_width"], ids=ids, name=name)
    return R.StateRecorder(output, target, p.get("variables", ("v",)), ids, p.get("every", 1),
                           dtype=np.dtype(p.get("dtype", "float32")), name=name)


def _inputs(spec: NetSpec, net: Network) -> Iterator[tuple[Item, object]]:
    """Each input entry of the file with the spike source or current it made."""
    sources, currents = iter(net.sources), iter(net.currents)
    for item in spec.inputs:
        yield item, next(sources) if item.fields["kind"] in SOURCES else next(currents)


def _entries(spec: NetSpec, net: Network) -> Iterator[tuple[Item, object]]:
    """Each population, input and projection entry of the file with the object it made."""
    yield from zip(spec.populations, net.populations)
    yield from _inputs(spec, net)
    yield from zip(spec.projections, net.projections)


def _prevalidate(spec: NetSpec, net: Network) -> None:
    """Evaluate each population's parameters, each input's first step and each projection's
    given delays, so that errors spikesim would raise at build or run time name the entry of
    the file (the build repeats their warnings: ``build`` shows each once). First, as the
    build does, the memory the network needs is checked: a MemoryError before any draw."""
    with _building(spec, "network"):
        check_build_memory(net.populations, net.projections, net.batch, net.dtype,
                           net.sources)
    for q, (item, pop) in enumerate(zip(spec.populations, net.populations)):
        with _building(spec, item.key, item.param_keys):
            rng = D.RealizationGenerators([net.seed, 1, q])
            pop.table(net.dt, net.batch, rng)
            pop.initial_state(net.batch, rng)
    k = np.zeros(1, np.int64)
    for item, obj in _inputs(spec, net):
        kind = item.fields["kind"]
        with _building(spec, item.key, item.param_keys):
            if kind in ("poisson", "bernoulli", "rate_coded"):
                obj.probabilities(k, net.dt)
            elif kind in ("constant", "step", "pulse", "current_array"):
                obj.values(k, net.dt, net.batch,
                           current_rng(net.seed, net.currents.index(obj)))
            elif kind in ("noise", "uniform_noise", "ou", "poisson_drive"):
                obj.noise(net.dt)
    for item, prj in zip(spec.projections, net.projections):
        delay = item.params.get("delay")
        if not isinstance(delay, (float, np.ndarray)):
            continue  # one step, or drawn when the network is built
        with _building(spec, item.key, item.param_keys):
            prj.delay_steps(np.atleast_1d(delay), net.dt)


def _diagnose(spec: NetSpec, net: Network, error: Exception) -> None:
    """After ``Network.build`` failed: find the projection that fails on its own."""
    for j, (item, prj) in enumerate(zip(spec.projections, net.projections)):
        with _building(spec, item.key, item.param_keys):
            prj.csr(net.dt, D.generator(projection_key(net.seed, j)))


def load_network(path: str | os.PathLike, output: H5Output | None = None,
                 settings: Sequence[str] = (), **overrides: float | str | None) -> Built:
    """:func:`read` (with ``settings``, ``KEY=VALUE`` strings: :func:`apply_setting`) then
    :func:`build` (``overrides``, its keyword arguments: seed, duration (s), threads,
    backend, chunk)."""
    return build(read(path, settings), output, **overrides)

