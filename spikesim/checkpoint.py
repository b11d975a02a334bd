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
layout's version, now 2), ``step``, ``t`` (s), ``dt`` (s), ``seed``, ``dtype``, ``batch``,
``structure`` (JSON: populations, sources, currents, projections and CRC-32 checksums of the
parameter and connectivity tables), ``versions`` (JSON: versions of spikesim, numba, numpy,
h5py, HDF5 and Python) and ``created`` (the local time of saving, ISO 8601); datasets
``/state/<name>`` with the arrays of ``net.state``.
"""

from __future__ import annotations

import datetime
import json
import math
import os
import zlib
from typing import TYPE_CHECKING

import h5py
import numpy as np

from . import checks
from .io import attr, set_attrs
from .kernels import cpu as KC
from .kernels import inputs as KI
from .kernels.csr import synapse_hash

if TYPE_CHECKING:
    from .network import Network

FORMAT = "spikesim-checkpoint"
FORMAT_VERSION = 2


def _crc(*arrays: np.ndarray) -> int:
    c = 0
    for a in arrays:
        c = zlib.crc32(np.ascontiguousarray(a).view(np.uint8), c)
    return c


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
    return {
        "populations": [[p.name, type(p).__name__, p.n] for p in net.populations],
        "sources": [[s.name, type(s).__name__, s.n] for s in net.sources],
        "currents": [[type(c).__name__, c.target.name] for c in net.currents],
        "projections": [[pr.pre.name, pr.post.name, pr.rule] for pr in net.projections],
        "parameters_crc32": _crc(pops, tb.par, tb.cinf, tb.groups, tb.cin[drives, KI.ST]),
        # (the projection columns from J_MASK on are derived: how the kernel reads a given
        # array, left out so that checkpoints from before those columns still load)
        "connectivity_crc32": _crc(tb.prj[:, :KC.J_MASK], tb.prj_w, tb.rowptr),
        "synapses_hash": int(synapse_hash(tb.parts, tb.col,
                                          tb.weights().view(f"u{tb.wt.itemsize}"), tb.dly)),
        "n_synapses": int(tb.col.shape[0]),
    }


def _ring_columns(net: Network) -> np.ndarray:
    """The neurons (columns of ``v``) whose delayed input the ring buffer holds, in its order:
    where to find them in the ring of checkpoints from before it left the others out."""
    rows = net.tables.pops
    return np.concatenate([np.arange(r[KC.P_OFF], r[KC.P_OFF] + r[KC.P_N]) for r in rows
                           if r[KC.P_DELAYED]] + [np.zeros(0, np.int64)])


def _need_network(caller: str, net) -> None:
    """TypeError unless ``net`` is a :class:`~spikesim.network.Network`."""
    from .network import Network

    if not isinstance(net, Network):
        got = "None" if net is None else f"a {type(net).__name__}"
        raise TypeError(f"{caller} needs a Network, got {got}")


def save_checkpoint(net: Network, path: str | os.PathLike, overwrite: bool = True) -> str:
    """Write the network's complete simulation state (``net.state`` and ``net.step``, with dt,
    seed, dtype and batch) to an HDF5 file; builds the network first if needed. The file is
    written under a temporary name, synced and then renamed, so a crash while saving never
    destroys the previous checkpoint. ``overwrite=False`` refuses to replace a file. Returns
    the absolute path."""
    _need_network("save_checkpoint", net)
    path = os.path.abspath(os.fspath(path))
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot write checkpoint {path}: the directory {folder} "
                                f"does not exist")
    if os.path.exists(path) and not overwrite:
        raise FileExistsError(f"{path} already exists: pass overwrite=True to replace it")
    net.build()
    net.sync_state()  # during a run (CUDA): the device state at net.step
    for name, arr in net.state.items():  # what load_checkpoint would refuse is not written
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            raise ValueError(f"cannot write checkpoint {path}: state {name!r} holds "
                             f"{arr.size - np.count_nonzero(np.isfinite(arr))} non-finite "
                             f"values (NaN or infinite), which load_checkpoint refuses")
    tmp = os.path.join(folder, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    from .recorders import _versions

    try:
        with h5py.File(tmp, "w") as f:
            set_attrs(f, format=FORMAT, format_version=FORMAT_VERSION, step=int(net.step),
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


def load_checkpoint(net: Network, path: str | os.PathLike) -> Network:
    """Restore a checkpoint into a freshly built, identical network (same populations, inputs,
    projections, parameters, dt, seed, dtype and batch): builds it if needed, checks that it
    matches and that the saved step (>= 0) and floating-point states (finite) are valid
    (ValueError naming what is wrong), then copies the state arrays in place and sets
    ``net.step``. Returns the network."""
    _need_network("load_checkpoint", net)
    path = os.path.abspath(os.fspath(path))
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
        if version != FORMAT_VERSION:
            raise ValueError(f"{path} is a checkpoint of format version {version}; this "
                             f"spikesim reads version {FORMAT_VERSION}: resume it with the "
                             f"spikesim that saved it (attribute 'versions': "
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
        diff = [k for k in want if have.get(k) != want[k]]
        if diff:
            detail = "; ".join(f"{k}: checkpoint {have.get(k)!r}, network {want[k]!r}"
                               for k in diff)
            raise ValueError(f"checkpoint {path} was saved from a different network "
                             f"({detail}); build the same network (code, parameters, seed)")
        try:
            step = checks.count("step", attr(f, "step"), low=0)
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
    return net
