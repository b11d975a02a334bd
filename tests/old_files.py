"""Recordings in the layouts that earlier spikesim versions wrote, made by hand with h5py (the
groups, datasets and attributes as those versions left them), so that the tests of reading
them need no old spikesim.

Layouts (all with ``/`` magic and SONATA version, ``/spikesim`` metadata and its ``runs``
table, times in ms):

- until 2026-12-03 (e2d279a): a batch wrote one SONATA population per realization,
  ``/spikes/<pop>.r<b>`` and ``/report/<pop>.<var>.r<b>``, each group's ``spikesim`` attribute
  giving its ``realization`` (no ``nodes_per_realization``);
- until 2026-12-03 (a378635): spike groups had no ``start_step`` (a recorder added to a later
  run was not told apart);
- until 2026-12-04 (b3b7256): a ``/rates`` group of some neurons (``selection``) had no
  ``recorded_ids``; its ``n_neurons`` counted the recorded ones;
- until 2026-12-04 (eca0561): a spike group that a later run did not record had no
  ``stop_step``;
- until 2026-12-05 no file had a ``format_version``.
"""

from __future__ import annotations

import json

import h5py
import numpy as np

SORTING = h5py.enum_dtype({"none": 0, "by_id": 1, "by_time": 2}, basetype=np.uint8)


def recording(path, *, dt: float = 1e-3, batch: int = 1,
              runs: tuple = ((0.0, 0.1),), completed: bool = True,
              **attrs) -> h5py.File:
    """An open file holding ``/spikesim`` as spikesim wrote it: the runs table from ``runs``
    ((t_start, t_stop) in s per run); ``attrs`` adds (or replaces) ``/spikesim`` attributes."""
    f = h5py.File(path, "w")
    f.attrs["magic"] = np.uint32(0x0A7A)
    f.attrs["version"] = np.array([0, 1], np.uint32)
    g = f.create_group("spikesim")
    g.attrs.update({"dt": dt, "seed": 1, "dtype": "float64", "batch": batch,
                    "t_start": float(runs[0][0]), "duration": float(runs[-1][1]),
                    "completed": completed, "wall_time": 0.01 * len(runs),
                    "info": json.dumps({"versions": {"spikesim": "0.1.0"},
                                        "created": "2026-11-22T04:00:00+00:00"}),
                    **attrs})
    rows = [[a, b, round((b - a) / dt), 1.0, 0.01] for a, b in runs]
    if not completed:
        rows[-1][3] = 0.0
    g.create_dataset("runs", data=np.array(rows, np.float64), maxshape=(None, 5), chunks=(64, 5))
    return f


def spikes(f: h5py.File, name: str, times_s, ids, tag: dict, recorded_ids=None) -> None:
    """``/spikes/<name>``: spike times (s, written in ms) and node ids, ``sorting`` by_time and
    the ``spikesim`` attribute ``tag``."""
    g = f.create_group(f"spikes/{name}")
    g.attrs.create("sorting", 2, dtype=SORTING)
    g.attrs["spikesim"] = json.dumps(tag)
    ts = g.create_dataset("timestamps", data=np.asarray(times_s, np.float64) * 1e3,
                          maxshape=(None,))
    ts.attrs["units"] = "ms"
    g.create_dataset("node_ids", data=np.asarray(ids, np.uint64), maxshape=(None,))
    if recorded_ids is not None:
        g.create_dataset("recorded_ids", data=np.asarray(recorded_ids, np.uint64))


def report(f: h5py.File, name: str, data, node_ids, time_ms, tag: dict, unit: str = "1") -> None:
    """``/report/<name>``: a SONATA element report (samples × nodes, float32)."""
    g = f.create_group(f"report/{name}")
    g.attrs["spikesim"] = json.dumps(tag)
    d = g.create_dataset("data", data=np.asarray(data, np.float32), maxshape=(None, None))
    d.attrs["units"] = unit
    m = g.create_group("mapping")
    n = len(node_ids)
    m.create_dataset("node_ids", data=np.asarray(node_ids, np.uint64))
    m.create_dataset("index_pointers", data=np.arange(n + 1, dtype=np.uint64))
    m.create_dataset("element_ids", data=np.zeros(n, np.uint32))
    t = m.create_dataset("time", data=np.asarray(time_ms, np.float64))
    t.attrs["units"] = "ms"


def rates(f: h5py.File, name: str, counts, time_ms, tag: dict, recorded_ids=None) -> None:
    """``/rates/<name>``: spike counts per bin (bins × realizations) and (start, stop, bin) ms."""
    g = f.create_group(f"rates/{name}")
    g.attrs["spikesim"] = json.dumps(tag)
    c = g.create_dataset("counts", data=np.asarray(counts, np.int64), maxshape=(None, None))
    c.attrs["units"] = "spikes"
    t = g.create_dataset("time", data=np.asarray(time_ms, np.float64))
    t.attrs["units"] = "ms"
    if recorded_ids is not None:
        g.create_dataset("recorded_ids", data=np.asarray(recorded_ids, np.uint64))
