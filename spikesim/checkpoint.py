"""Checkpoints: the complete simulation state in an HDF5 file, to stop a run and resume it.

The state of a network is ``net.state`` — v, i, w, refc (refractory countdown), ou (the
Ornstein–Uhlenbeck currents), nxt (the next firing step of each spike source unit) and ring
(spikes in flight along delays) — plus ``net.step``. Parameters and connectivity are not saved:
they are rebuilt from the seed by ``net.build()``. Random streams are counter-based on (seed,
realization, step, stream), so a network built identically, given this state, continues bit
for bit as if it had never stopped::

    save_checkpoint(net, "ckpt.h5")          # any time between runs
    ...                                      # later, in a new process
    net = build_the_same_network()
    load_checkpoint(net, "ckpt.h5")          # checks dt, seed, dtype, batch and structure
    net.run(rest)                            # spikes and traces identical to one long run

File layout: root attributes ``format`` = "spikesim-checkpoint", ``format_version`` (the
layout's version, now 3), ``step``, ``trial`` and ``trials`` (the trial whose key the random
inputs are drawn with, and the last one started: :meth:`Network.restore`), ``t`` (s), ``dt``
(s), ``seed``, ``dtype``, ``batch``, ``structure`` (JSON: populations, sources, currents,
projections and CRC-32 checksums of the parameter and connectivity tables, of each
population's parameters and of each spike source's and current's arguments), ``versions``
(JSON: versions of spikesim, numba, numpy, h5py, HDF5 and Python) and ``created`` (the local
time of saving, ISO 8601); datasets ``/state/<name>`` with the arrays of ``net.state``.

In memory, :meth:`Network.store` and :meth:`Network.restore` (:func:`store`, :func:`restore`)
keep and bring back the same state, with what the in-memory monitors hold.
"""

from __future__ import annotations

import datetime
import json
import math
import os
import threading
import weakref
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import h5py
import numpy as np

from . import checks
from .io import CHECKPOINT_FORMAT, attr, set_attrs
from .kernels import cpu as KC
from .kernels import inputs as KI
from .kernels.csr import synapse_hash

if TYPE_CHECKING:
    from .network import Network

FORMAT = CHECKPOINT_FORMAT  # "spikesim-checkpoint"
FORMAT_VERSION = 3  # (3: the trial of the random inputs; 2, without it, is read as trial 0)
READS = (2, 3)  # the versions load_checkpoint reads


def _crc(*arrays: np.ndarray) -> int:
    c = 0
    for a in arrays:
        c = zlib.crc32(np.ascontiguousarray(a).view(np.uint8), c)
    return c


def _digest(value) -> str:
    """A canonical text of an argument value: numbers, and arrays or lists of numbers, as
    float64 arrays (shape and CRC-32 of their bytes: 10, 10.0 and np.float32(10) are one
    value), distributions by class and fields, functions by name."""
    from .distributions import Distribution

    if isinstance(value, dict):
        return "{" + ",".join(f"{k!s}:{_digest(v)}" for k, v in
                              sorted(value.items(), key=lambda kv: str(kv[0]))) + "}"
    if not isinstance(value, (bool, np.bool_, str)):
        try:
            arr = np.asarray(value)
        except (ValueError, TypeError):
            arr = None
        if arr is not None and arr.dtype.kind in "biuf":
            if arr.dtype.kind != "b":
                arr = arr.astype(np.float64)
            return f"array({arr.dtype.str},{arr.shape},{_crc(arr)})"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_digest(v) for v in value) + "]"
    if isinstance(value, Distribution):
        return type(value).__name__ + _digest(vars(value))
    if callable(value):
        return (f"callable {getattr(value, '__module__', '?')}."
                f"{getattr(value, '__qualname__', '?')}")
    return repr(value)


def _members(net: Network) -> tuple[list, list]:
    """([name, CRC-32] of each population's rows of the parameter tables, [name, CRC-32] of
    each spike source's and current's arguments): what ``parameters_crc32`` holds, per
    population, so that a refusal names the one that differs, and what it does not hold —
    a source's rates, probabilities or spikes and the values of the currents computed per
    chunk (constant, step, pulse, array), which a checkpoint's state (the next firing steps
    drawn with those rates) belongs to."""
    tb = net.tables
    pops = []
    for q, p in enumerate(net.populations):
        lo = int(tb.pops[q, KC.P_ROW])
        hi = int(tb.pops[q + 1, KC.P_ROW]) if q + 1 < len(net.populations) else tb.par.shape[1]
        kind = tb.pops[q, [KC.P_N, KC.P_MODEL, KC.P_EXACT]]  # (not the offsets: they move)
        pops.append([f"population {p.name!r} ({type(p).__name__})",
                     _crc(kind, tb.par[:, lo:hi])])
    inputs = [[f"spike source {s.name!r} ({type(s).__name__})",
               zlib.crc32(_digest(s.describe()).encode())] for s in net.sources]
    inputs += [[f"current {j} ({type(c).__name__} into {c.target.name!r})",
                zlib.crc32(_digest(c.describe()).encode())] for j, c in enumerate(net.currents)]
    return pops, inputs


# keys of ``structure`` that checkpoints of earlier versions lack (checked when present), and
# what differs when the checksum of one of their entries does
_LATER_KEYS = {"population_parameters": "parameters", "inputs": "arguments",
               "projection_synapses": "synapses"}


def _checksums(key: str, value):
    """``value`` of ``structure`` as compared: for the lists of [name, checksum], the checksums
    (names are compared where ``populations``, ``sources`` and ``projections`` list them; a
    projection's label, which says more, is shown only)."""
    if key in _LATER_KEYS and isinstance(value, list):
        return [e[1] if isinstance(e, list) and len(e) == 2 else e for e in value]
    return value


def _show_difference(key: str, have, want) -> str:
    """One differing entry of ``structure`` for a message: for the lists of [name, checksum],
    the names whose checksums differ."""
    if key in _LATER_KEYS and isinstance(have, list) and len(have) == len(want):
        names = [w[0] for h, w in zip(have, want) if list(h) != list(w)]
        return f"{_LATER_KEYS[key]} of {', '.join(names)} differ"
    return f"{key}: checkpoint {have!r}, network {want!r}"


def _structure(net: Network) -> dict:
    """What must match for a checkpoint to apply: sizes, kinds, and checksums of the tables
    built from parameters and seed (not of the per-chunk input strides, which change; the
    synapses' checksum does not depend on their order within rows, which depends on how many
    parts propagation is split into)."""
    tb = net.tables
    drives = tb.cin[:, KI.KIND] == KI.CUR_JUMP
    # without Poisson drives, the population table as before their column (P_JUMP_HI), so that
    # checkpoints from before it still load; with them, also each drive's target variable (the
    # ring offsets, P_RING, are derived: left out)
    pops = tb.pops[:, :KC.P_RING if drives.any() else KC.P_JUMP_HI]
    ends = np.append(tb.prj[1:, KC.J_ROW], tb.parts.shape[0]).astype(np.int64)  # per projection
    hashes = synapse_hash(tb.parts, tb.col, tb.weights().view(f"u{tb.wt.itemsize}"), tb.dly,
                          ends)
    return {
        "populations": [[p.name, type(p).__name__, p.n] for p in net.populations],
        "sources": [[s.name, type(s).__name__, s.n] for s in net.sources],
        "currents": [[type(c).__name__, c.target.name] for c in net.currents],
        "projections": [[pr.pre.name, pr.post.name, pr.rule] for pr in net.projections],
        "parameters_crc32": _crc(pops, tb.par, tb.cinf, tb.groups, tb.cin[drives, KI.ST]),
        # (the projection columns from J_MASK on are derived: how the kernel reads a given
        # array, left out so that checkpoints from before those columns still load)
        "connectivity_crc32": _crc(tb.prj[:, :KC.J_MASK], tb.prj_w, tb.rowptr),
        "synapses_hash": int(hashes.sum(dtype=np.uint64)),  # (wrapping)
        "n_synapses": int(tb.col.shape[0]),
        **dict(zip(_LATER_KEYS, _members(net))),
        # per projection: its synapses' hash and its row of the projection table (a delay or
        # weight shared by all its synapses is stored there)
        "projection_synapses": [[pr._label(), int(h) ^ _crc(tb.prj[j, :KC.J_MASK],
                                                              tb.prj_w[j:j + 1])]
                                for j, (pr, h) in enumerate(zip(net.projections, hashes))],
    }


def _ring_columns(net: Network) -> np.ndarray:
    """The neurons (columns of ``v``) whose delayed input the ring buffer holds, in its order:
    where to find them in the ring of checkpoints from before it left the others out."""
    rows = net.tables.pops
    return np.concatenate([np.arange(r[KC.P_OFF], r[KC.P_OFF] + r[KC.P_N]) for r in rows
                           for _ in range(bin(int(r[KC.P_RING_VARS])).count("1"))]
                          + [np.zeros(0, np.int64)])


def _need_network(caller: str, net) -> None:
    """TypeError unless ``net`` is a :class:`~spikesim.network.Network`."""
    from .network import Network

    if not isinstance(net, Network):
        got = "None" if net is None else f"a {type(net).__name__}"
        raise TypeError(f"{caller} needs a Network, got {got}")


def _flush_recordings(net: Network) -> None:
    """During a run (from a ``progress`` callback): write out what the network's HDF5
    recorders hold, so that their files' data reaches the checkpoint's step. A run killed
    after the checkpoint is then continued from it with ``H5Output(path, append=True)``,
    which refuses a file whose data ends before the network's time (a gap)."""
    if net._live is None:
        return
    outputs = {id(m.output): m.output for m in net.monitors
               if getattr(m, "output", None) is not None}
    for out in outputs.values():
        if out.is_open and out._net is net:
            out._flush(net.step)


def _checkpoint_path(path: object) -> str:
    """``path`` (a non-empty str or os.PathLike) as an absolute path; TypeError or ValueError
    naming ``path`` otherwise."""
    name = os.fspath(path) if isinstance(path, os.PathLike) else path
    if not isinstance(name, str):
        raise TypeError(f"path must be a str or os.PathLike, got {path!r}")
    if not name:
        raise ValueError("path is empty")
    return os.path.abspath(name)


def is_checkpoint(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a file that save_checkpoint wrote (and so may replace)."""
    try:
        if not os.path.isfile(path) or not h5py.is_hdf5(path):
            return False
        with h5py.File(path, "r") as f:
            return attr(f, "format", None) == FORMAT
    except (OSError, ValueError):
        return False


def save_checkpoint(net: Network, path: str | os.PathLike, overwrite: bool = True) -> str:
    """Write the network's complete simulation state (``net.state`` and ``net.step``, with dt,
    seed, dtype and batch) to an HDF5 file; builds the network first if needed. The file is
    written under a temporary name, synced and then renamed, so a crash while saving never
    destroys the previous checkpoint. ``overwrite=False`` refuses to replace a file; an
    existing file that is not a checkpoint (a recording, say) is never replaced. Called
    during a run (a ``progress`` callback), it first flushes the network's HDF5 recordings, so
    that a run resumed from the checkpoint can append to them. A rate or probability given
    anew since the last run (``PoissonInput.rate``, ``BernoulliInput.p``, a constant
    ``RateCoded.data``) is applied first, as the next run would apply it (and inputs given
    anew are checked, as there). Returns the absolute path."""
    _need_network("save_checkpoint", net)
    overwrite = checks.flag("overwrite", overwrite)
    path = _checkpoint_path(path)
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot write checkpoint {path}: the directory {folder} "
                                f"does not exist")
    if os.path.exists(path) and not overwrite:
        raise FileExistsError(f"{path} already exists: pass overwrite=True to replace it")
    if os.path.exists(path) and not is_checkpoint(path):
        raise FileExistsError(f"{path} already exists and is not a spikesim checkpoint: "
                              f"save_checkpoint replaces only an earlier checkpoint (never a "
                              f"recording or another file); choose another path")
    net.build()
    live = net._live
    if live is not None and live.reached != net.step:  # inside a chunk: the state is ahead
        raise RuntimeError(f"cannot write checkpoint {path} now: the run is inside a chunk of "
                           f"steps, whose state has reached step {live.reached} while net.step "
                           f"is {net.step} (a monitor's spikes_in or samples); save it between "
                           f"chunks, from a progress callback or a monitor's chunk_end")
    net.sync_state()  # during a run (CUDA): the device state at net.step
    if live is None:  # what was given anew since the last run, as that run would take it
        # first: checked and converted (SpikeTimes sorted: the checksums of the arguments
        # below are those of the network rebuilt with them), and a changed rate or p drawing
        # its next firings again (the checkpoint records the new rate, so nxt must belong to
        # it: load_checkpoint cannot tell what changed)
        net._recheck([*net.sources, *net.currents])
        net._redraw_changed_sources()
    _flush_recordings(net)  # (before the checkpoint: a file may go past it, never end before)
    for name, arr in net.state.items():  # what load_checkpoint would refuse is not written
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            raise ValueError(f"cannot write checkpoint {path}: state {name!r} holds "
                             f"{arr.size - np.count_nonzero(np.isfinite(arr))} non-finite "
                             f"values (NaN or infinite), which load_checkpoint refuses")
    tmp = os.path.join(folder, f".{os.path.basename(path)}.{os.getpid()}."
                             f"{threading.get_ident()}.tmp")  # (two threads: two names)
    from .recorders import _versions

    try:
        with h5py.File(tmp, "w") as f:
            set_attrs(f, format=FORMAT, format_version=FORMAT_VERSION, step=int(net.step),
                      trial=int(net._trial), trials=int(net._trials),
                      t=float(net.t), dt=float(net.dt), seed=int(net.seed),
                      dtype=str(net.dtype), batch=int(net.batch), structure=_structure(net),
                      versions=_versions(),
                      created=datetime.datetime.now().astimezone().isoformat())
            g = f.create_group("state")
            for name, arr in net.state.items():
                g.create_dataset(name, data=arr)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as e:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise OSError(f"cannot write checkpoint {path}: {e}") from e
    return path


def _non_finite(ds: h5py.Dataset, block: int = 1 << 22) -> int:
    """How many values of the float dataset ``ds`` are NaN or infinite, read a few rows (about
    ``block`` values) at a time: the check holds no second copy of the state in memory."""
    rows = max(1, block // max(1, math.prod(ds.shape[1:])))
    return sum(int(np.count_nonzero(~np.isfinite(ds[lo:lo + rows])))
               for lo in range(0, ds.shape[0], rows))


def _saved_by(f: h5py.File) -> str:
    """The spikesim version and time that saved the checkpoint ``f``, for a message."""
    try:
        version = attr(f, "versions", {}, as_json=True).get("spikesim", "?")
    except (ValueError, AttributeError):
        version = "?"
    return f"spikesim {version}, {str(attr(f, 'created', '?'))[:19]}"


def load_checkpoint(net: Network, path: str | os.PathLike) -> Network:
    """Restore a checkpoint into a freshly built, identical network (same populations, inputs,
    projections, parameters, dt, seed, dtype and batch): builds it if needed, checks that it
    matches and that the saved step (>= 0) and floating-point states (finite) are valid
    (ValueError naming what is wrong), then copies the state arrays in place and sets
    ``net.step``. Returns the network."""
    _need_network("load_checkpoint", net)
    path = _checkpoint_path(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such checkpoint: {path}")
    if net.step:  # its monitors hold the steps it ran: the checkpoint's would follow them
        raise ValueError(f"load_checkpoint restores into a network that has not run; this one "
                         f"is at t = {net.t!r} s: build a new network and load {path} into it")
    net.build()
    if not h5py.is_hdf5(path):
        raise ValueError(f"{path} is not a spikesim checkpoint (not an HDF5 file)")
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise OSError(f"cannot open the checkpoint {path}: {e}") from e
    with f:
        if attr(f, "format") != FORMAT:
            raise ValueError(f"{path} is not a spikesim checkpoint")
        version = attr(f, "format_version", 1)
        if version not in READS:
            raise ValueError(f"{path} is a checkpoint of format version {version}; this "
                             f"spikesim reads versions {READS[0]} to {READS[-1]}: resume it "
                             f"with the spikesim that saved it (attribute 'versions': "
                             f"{attr(f, 'versions', '?')})")
        saved = {"dt": attr(f, "dt"), "seed": attr(f, "seed"), "dtype": attr(f, "dtype"),
                 "batch": attr(f, "batch")}
        mine = {"dt": float(net.dt), "seed": int(net.seed), "dtype": str(net.dtype),
                "batch": int(net.batch)}
        diff = [f"{k}: checkpoint {saved[k]!r}, network {mine[k]!r}" for k in saved
                if saved[k] != mine[k]]
        if diff:
            raise ValueError(f"checkpoint {path} does not match this network: "
                             + "; ".join(diff))
        have, want = json.loads(attr(f, "structure")), _structure(net)
        diff = [k for k in want if (k in have or k not in _LATER_KEYS)
                and _checksums(k, have.get(k)) != _checksums(k, want[k])]
        if diff:
            if "parameters_crc32" in diff and ("population_parameters" in diff
                                               or "inputs" in diff):
                diff.remove("parameters_crc32")  # (what differs is named instead)
            if "projection_synapses" in diff:
                diff = [k for k in diff if k not in ("connectivity_crc32", "synapses_hash")]
            detail = "; ".join(_show_difference(k, have.get(k), want[k]) for k in diff)
            raise ValueError(f"checkpoint {path} was saved from a different network "
                             f"({detail}); build the same network (code, parameters, seed), "
                             f"or, if you did, resume it with the spikesim that saved it "
                             f"({_saved_by(f)}): another version may build the same code "
                             f"differently")
        try:
            step = checks.count("step", attr(f, "step"), low=0, high=2**62)  # (int64 steps)
            # (0 in version 2; below 2**62, as the step: a trial saved again is an int64)
            trial = checks.count("trial", attr(f, "trial", 0), low=0, high=2**62)
            trials = checks.count("trials", attr(f, "trials", 0), low=trial, high=2**62)
        except ValueError as e:
            raise ValueError(f"checkpoint {path}: {e}") from None
        g = f["state"]
        missing = sorted(set(net.state) ^ set(g))
        if missing:
            raise ValueError(f"checkpoint {path}: state arrays {missing} differ between the "
                             f"checkpoint and the network")
        for name, arr in net.state.items():
            ds = g[name]
            shape = arr.shape
            if name == "ring" and ds.shape == (*shape[:2], net.state["v"].shape[1]):
                shape = ds.shape  # saved before the ring left out neurons without delayed input
            if ds.shape != shape or ds.dtype != arr.dtype:
                raise ValueError(f"checkpoint {path}: state {name!r} has shape {ds.shape} "
                                 f"{ds.dtype}, the network's is {arr.shape} {arr.dtype}")
            if arr.dtype.kind == "f" and arr.size:  # (integer states hold counters and -1)
                bad = _non_finite(ds)
                if bad:
                    raise ValueError(f"checkpoint {path}: state {name!r} holds {bad} "
                                     f"non-finite values (NaN or infinite)")
        for name, arr in net.state.items():  # all checked: now the network changes
            if name == "ring" and g[name].shape != arr.shape:
                arr[...] = g[name][:, :, _ring_columns(net)]
            elif arr.size:
                g[name].read_direct(arr)
        net.step = step
        net._trial, net._trials = trial, trials
    for m in net.monitors:  # begun by a run(0) before, holding nothing: they start here (their
        # interval from 0 counted the steps skipped as recorded, and the rates over it)
        if getattr(m, "_in_memory", False) and m.t_start is not None and m.t_stop <= m.t_start:
            m.t_start = None
    # the constant sources' next firings were drawn with the probabilities the network has
    # now (checked above): a rate or p given anew before the next run draws them again
    net._const_p.clear()
    net._redraw_changed_sources()
    return net


# --- in memory: Network.store and Network.restore -------------------------------------------
@dataclass
class Snapshot:
    """A point of a simulation kept in memory (:meth:`~spikesim.Network.store`): the step,
    copies of the state arrays, the constant sources' probabilities their next firings were
    drawn with, and each monitor's data (by ``id``: a weak reference to the monitor and its
    ``_snapshot()``; the entry goes with the monitor, so that one removed and dropped since
    frees its data)."""

    step: int
    trial: int  # (the random inputs' trial: Network._trial)
    state: dict[str, np.ndarray]
    const_p: dict[int, np.ndarray]
    monitors: dict[int, tuple]


def _weak(m, entries: dict):
    """A weak reference to monitor ``m`` that drops its entry of ``entries`` when ``m`` goes
    (a strong one, as a function, for a class without weak references)."""
    key = id(m)
    try:
        return weakref.ref(m, lambda _: entries.pop(key, None))
    except TypeError:
        return lambda: m


def _between_runs(net: Network, what: str) -> None:
    if net._live is not None:
        raise RuntimeError(f"Network.{what} is refused during a run (from a progress callback "
                           f"or a monitor): call it between runs")


def store(net: Network, name: str) -> None:
    """Keep the simulation's present point in ``net._snapshots[name]`` (see
    :meth:`~spikesim.Network.store`)."""
    _between_runs(net, "store")
    if not isinstance(name, str):
        raise TypeError(f"store's name must be a str, got {name!r}")
    net.build()
    monitors: dict[int, tuple] = {}
    for m in net.monitors:
        monitors[id(m)] = (_weak(m, monitors), m._snapshot())
    net._snapshots[name] = Snapshot(net.step, net._trial,
                                    {k: a.copy() for k, a in net.state.items()},
                                    dict(net._const_p), monitors)


def restore(net: Network, name: str, noise: str = "new") -> None:
    """Return ``net`` to the point :func:`store` kept as ``name``, with new random inputs
    (``noise`` "new": a trial of its own) or those drawn after it ("same") (see
    :meth:`~spikesim.Network.restore`)."""
    _between_runs(net, "restore")
    noise = checks.choice("noise", noise, ("new", "same"))
    if name not in net._snapshots:
        kept = ", ".join(map(repr, net._snapshots)) or "none"
        raise KeyError(f"no point stored as {name!r} (stored: {kept}); call net.store("
                       f"{name!r}) first")
    snap = net._snapshots[name]
    streaming = [m for m in net.monitors if not m._in_memory and m.t_start is not None
                 and m.t_stop > snap.step * net.dt + net.dt / 2]
    if streaming:
        m = streaming[0]
        raise RuntimeError(
            f"Network.restore cannot take back what {m!r} wrote after t = "
            f"{snap.step * net.dt:g} s (a file, or a monitor of your own, does not go back): "
            f"remove it from net.monitors first (its file keeps what it wrote), or record the "
            f"runs from a stored point with SpikeMonitor and StateMonitor")
    # the sources' probabilities from there on, checked before anything is changed (a rate
    # given anew that is refused leaves the network where it was, its monitors with it)
    probabilities = net._const_probabilities(snap.step) if noise == "new" else None
    for k, arr in net.state.items():
        arr[...] = snap.state[k]
    net.step = snap.step
    net._const_p = dict(snap.const_p)
    if noise == "same":
        net._trial = snap.trial
    else:  # a trial of its own, and the next firings of the sources drawn with its key
        net._trials += 1
        net._trial = net._trials
        net._redraw_changed_sources(every=True, probabilities=probabilities)
    for m in net.monitors:  # (one removed since keeps what it holds: its data was taken out
        if m._in_memory:  # of the network with it, as Brian2's restore leaves it alone)
            held = snap.monitors.get(id(m))
            m._rewind(held[1] if held is not None and held[0]() is m else None)
