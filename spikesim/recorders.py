"""Recorders: stream spikes, state variables and population rates to an HDF5 file while the
network runs.

Recorders share one :class:`H5Output` (a file). They keep the chunks of steps the network
hands them until the output flushes, at the end of a chunk once ``flush_every`` seconds of wall
time have passed (default 1 s; 0: every chunk) or FLUSH_BYTES are held: memory stays bounded
(about FLUSH_BYTES plus a chunk's samples, or for spikes SPILL_BYTES plus a kernel call's: a
SpikeRecorder writes out what it holds from SPILL_BYTES on, within a chunk, without flushing)
whatever the duration, and a run killed at any moment
leaves a file holding everything up to its last flush, every recorder up to the same step
(HDF5 single-writer/multiple-reader mode; see :mod:`spikesim.io` for reading such a file).
Reading the file during a run (e.g. ``load`` in a progress callback) shows that much too.

Example::

    out = H5Output("run.h5")                       # refuses to replace an existing file
    net.add(SpikeRecorder(out, exc))                 # every spike of exc, every realization
    net.add(StateRecorder(out, exc, ["v", "i"], ids=np.arange(100), every=10))
    net.add(RateRecorder(out, exc, bin_width=1e-3))  # spikes per 1 ms bin
    net.run(1.0)                                     # creates run.h5, closes it at the end
    net.run(1.0)                                     # appends to run.h5
    data = spikesim.load("run.h5"); data.spikes("exc"); data.trace("exc", "v", ids=[3])

File layout — SONATA spike and report files, so that SONATA tools (libsonata, bmtk, NEURON's
and NEST's readers) read them unchanged. Times in the file are in milliseconds, as SONATA asks;
spikesim's API uses seconds.

``/`` — attributes ``magic`` = 0x0A7A and ``version`` = [0, 1] (uint32), as SONATA files carry.

``/spikes/<pop>`` — SONATA spikes of a population (or spike source): ``timestamps`` (float64,
ms, attribute ``units`` = "ms") and ``node_ids`` (uint64, the neuron index within the
population; in a batch, see below, b·N + j); group attribute ``sorting`` = by_time (SONATA's
enum none/by_id/by_time: chunks arrive in time order; within a step spikes are ordered by node
id); ``recorded_ids`` (uint64) when the recorder selects neurons (``ids``): rates per neuron
count those, and an append must record the same ones.

``/report/<pop>.<var>`` — a SONATA element report per recorded state variable: ``data``
(samples × neurons, float32 by default — libsonata reads only float32 — attribute ``units`` =
"V", "A", "1" or "steps", from ``Population.unit_of``), ``mapping/node_ids`` (uint64, the
recorded neurons, as nodes: b·N + j in a batch), ``mapping/index_pointers`` (uint64, length
n+1: one element per neuron), ``mapping/element_ids`` (uint32, zeros) and ``mapping/time`` =
(start, stop, step) in ms (attribute ``units`` = "ms"), stop exclusive: sample r is at start +
r·step. A sample is the state at the end of a step, as in
:class:`~spikesim.monitors.StateMonitor`.

Batches: the B realizations of a population of N neurons are one SONATA population of B·N
nodes, realization b's neuron j being node b·N + j (so a batch of one has node ids j): one
``/spikes/<pop>`` for all realizations, and each report's columns realization by realization
(node b·N + id for every recorded id). A file thus holds a few objects per recorder whatever
the batch size. ``spikesim.load`` splits the node ids back into (realization, neuron); the
group's ``spikesim`` attribute gives ``nodes_per_realization`` = N. (Earlier spikesim versions
wrote one population per realization, ``/spikes/exc.r0``, ``/report/exc.v.r3``, ...: such files
are read; a batch is not appended to them.) ``name=`` (or ``Network.add(rec, name=...)``)
replaces the population's name in the file.

``/rates/<pop>`` (spikesim's own): ``counts`` (bins × realizations, int64: spikes of the
recorded neurons per bin), ``time`` = (start, stop, bin width) in ms like a report's (the
last bin may be cut short by the end of the run: stop), and ``recorded_ids`` as for spikes.

Every group above has a ``spikesim`` attribute (JSON: population, variable, sizes and the
number of realizations; for spikes and reports also ``nodes_per_realization``, for spikes
``start_step``, the step at which the recorder started, which gives a recorder
added to a later run its own start time) so that names need not be parsed. ``/spikesim``
holds what is needed to understand and re-run the simulation (see :class:`H5Output`), and
``format_version`` (:data:`~spikesim.io.RECORDING_FORMAT_VERSION`, now 1): the version of this
layout, raised by any change an earlier reader would misread — ``load`` refuses a file of a
later version by name, and an append to one. Files of spikesim versions before it have none
(and an append leaves it out: the file is not all of this layout); they are read as above.
"""

from __future__ import annotations

import datetime
import functools
import json
import math
import os
import platform
import time
import uuid
import warnings
import weakref
from collections.abc import Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, NoReturn

import h5py
import numpy as np

from . import checks
from .distributions import Distribution
from .inputs import SpikeSource
from .io import (
    LIBVER,
    MAGIC,
    MS,
    RECORDING_FORMAT_VERSION,
    SONATA_VERSION,
    SORTING,
    append,
    append_all,
    attr,
    create_file,
    data_end,
    folder_lock,
    format_version,
    hold_writer_lock,
    load,
    modify_attrs,
    new_dataset,
    new_group,
    no_interrupt,
    rate_datasets,
    release_writer_lock,
    report_datasets,
    set_attrs,
    show_ids,
    spike_datasets,
    write_row,
    writer_active,
)
from .kernels import cpu as KC
from .layout import projection_key
from .models import Population
from .monitors import Ids, Monitor, SpikeMonitor, StateMonitor, _threshold
from .results import Spikes, Trace

if TYPE_CHECKING:
    from numpy.typing import DTypeLike

    from .io import RecordedRun
    from .network import Network

COMPRESSIONS = (None, "gzip", "lzf")
# HDF5 chunks hold about what a chunk of steps adds to a dataset: an unfilled last chunk is
# stored whole, so a chunk far larger than that wastes space, once per dataset (realization).
SPIKE_CHUNK = 8192  # most elements per chunk of a spike dataset (64 KiB of float64)
SPIKE_CHUNK_MIN = 256  # fewest (2 KiB of float64)
SPIKE_CHUNK_MIN_STEPS = 64  # sized for at least this many steps of spikes
FLUSH_BYTES = 1 << 18  # bytes held by an output's recorders from which the next chunk flushes
SPILL_BYTES = 1 << 24  # bytes of spikes a SpikeRecorder holds from which it writes them out
# at once, within a chunk of steps: a chunk of a large population holds tens of millions of
# spikes (2e6 neurons at 20 Hz: 40e6 in a chunk of 1000 steps of 1 ms), which held until the
# chunk's end took 1.5 GB
JOIN_BYTES = 1 << 22  # held arrays joined into one before they are written, up to this size
# (larger ones are written one by one: joining them would copy them all)
HELD_ARRAY_BYTES = 256  # what holding one more array costs besides its data (bytes, about)
EXPECTED_RATE = 20.0  # Hz: the firing rate per neuron that spike chunks are sized for
REPORT_CHUNK_COLS = 128  # neurons per HDF5 chunk of a report: reading one neuron reads <= 128
REPORT_CHUNK_BYTES = 1 << 18  # most bytes per chunk of a report, and per chunk of all a
# recorder's reports (realizations × variables) together, unless that is under 64 rows each
REPORT_CHUNK_MIN_ROWS = 64
MAX_BIN_STEPS = 2**62  # a rate bin is shorter than this many steps (binned in int64 steps)
BIG_ARRAY = 64  # parameter arrays larger than this go to datasets under /spikesim/arrays

LAYOUT = ("SONATA spikes /spikes/<pop> (timestamps ms, node_ids); reports /report/<pop>.<var> "
          "(data samples x nodes; mapping/time = start, stop, step in ms); rates /rates/<pop> "
          "(counts bins x realizations; time in ms); node id = realization * N + neuron (N: "
          "nodes_per_realization); spikesim attrs on each group give population, variable, "
          "sizes")
# the H5Output that writes each file (by resolved path), to refuse a second one in the process
_TARGETS: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


class H5Output:
    """An HDF5 file shared by recorders (:class:`SpikeRecorder`, :class:`StateRecorder`,
    :class:`RateRecorder`).

    The file is created when a run starts (the first recorder's ``begin``), kept open while it
    runs, flushed at the end of a chunk of steps once ``flush_every`` seconds have passed since
    the last flush or FLUSH_BYTES are held (the recorders keep what comes meanwhile in memory),
    and closed when the run ends — normally, by an exception or by Ctrl-C — with the attribute
    ``/spikesim/completed`` telling which. The next
    run of the network reopens it and appends. An output records one network (another one is
    refused), and a file is written by one output at a time: a run is refused when another
    H5Output of the same path in the process is running, and when another output or process
    wrote the file after this output's last run (the file keeps its last writer's id; an
    ``append=True`` output resuming from a checkpoint takes the file over).

    Args:
        path: the file to write (a str or os.PathLike). Its directory must exist and be
            writable.
        overwrite: replace an existing file (default: refuse with FileExistsError), unless
            another process has it open — a run writing it or a program reading it
            (:func:`~spikesim.io.writer_active`): FileExistsError too. This and the other flags
            take True or False only (a NumPy bool too).
        append: add to an existing file written by spikesim for the same network (populations
            and spike sources: names, classes, sizes), dt, batch and dtype — e.g. to continue a
            run from a checkpoint; data the file holds past the network's time is cut first,
            in every group, also those this run does not record (what it records is
            recomputed bit for bit; a RuntimeWarning when that is all of it, as for a new
            network at t = 0; a rate bin of another group that the cut splits is dropped).
            Creates the file if missing. The network and every recorder are checked against
            the file before anything is changed: a refused run leaves the file as it was.
        compression: None, "gzip" (HDF5's standard deflate filter: h5py, h5dump, NEURON and
            bmtk read it; the libsonata 0.2.2 wheel's HDF5 is built without zlib and cannot) or
            "lzf" (fast, but only h5py reads it). Chunks are shuffled before compression.
        compression_level: gzip level 0–9 (default 4).
        flush_every: seconds of wall time between flushes (default 1 s; 0: after every chunk).
            A run killed meanwhile loses what came after the last flush — the file says how far
            its data goes — and each flush costs a few HDF5 writes (about 0.5 ms per chunk on
            the development machine, comparable to simulating a chunk of a small network).
        connectivity: also store every projection's synapses under ``/spikesim/connectivity``
            (the kernel tables: ``prj`` with columns J_* of :mod:`spikesim.kernels.cpu`,
            ``prj_w``, and the CSR ``rowptr``, ``col``, ``wt``, ``dly``; within a row the
            synapses are grouped by target range); they can be rebuilt from the seed anyway.
        tags: labels of your own for the file, a dict of what JSON holds (the point of a
            parameter sweep, say: ``{"sweep": "tau", "tau_mem": 0.03}``), written when the file
            is made and read back as ``load(path).meta["tags"]``; ``spikesim info`` shows them
            (``spikesim run`` tags its files with its command line, ``command``, and its
            ``--set`` values, ``set``).

    ``/spikesim`` attributes: ``dt`` (s), ``seed``, ``dtype``, ``batch``, ``t_start`` (s, the
    first run's start), ``network`` (JSON: every population, spike source, current and
    projection with its class and parameters; projections with the key ``[seed, 2, index]`` of
    the NumPy generator that draws their connectivity, populations ``[seed, 1, index]`` for
    random parameters (realization b > 0: ``[seed, 1, index, b]``), currents ``[seed, 3,
    index]`` for amplitudes drawn from a distribution; arrays with more than 64
    elements are datasets under
    ``/spikesim/arrays``), ``info`` (JSON: versions of spikesim, numba, numpy, h5py, HDF5 and
    Python, creation time, this layout), ``format_version`` (the layout's version: see the
    module's docstring), ``tags`` (JSON: the ``tags`` given, when any), and,
    updated when a run ends, ``completed`` (False
    from the start of a run until it ends normally), ``duration`` (s, the simulated time
    reached), ``wall_time`` (s, all runs) and ``writer`` (the id of the output that wrote it
    last). Dataset ``/spikesim/runs`` has a row per run —
    (t_start (s), t_stop (s), steps, completed (0/1), wall seconds) — rewritten at every flush,
    so a killed run's file tells how far its data is complete.

    Objects and attributes cannot be added in SWMR mode: everything is created before the file
    enters it; the three attributes updated at the end exist from the run's start and are
    rewritten in place (same type and size), after the final flush, just before closing — a
    kill before that leaves ``completed`` False, which is right.
    """

    def __init__(self, path: str | os.PathLike, overwrite: bool = False, append: bool = False,
                 compression: str | None = None, compression_level: int | None = None,
                 connectivity: bool = False, flush_every: float = 1.0,
                 tags: dict | None = None):
        self.path = _checked_path(path)
        self.tags = _tags(tags)
        self.flush_every = checks.number("H5Output.flush_every", flush_every, low=0.0,
                                         unit="s")
        self.overwrite = checks.flag("H5Output.overwrite", overwrite)
        self.append = checks.flag("H5Output.append", append)
        if self.overwrite and self.append:
            raise ValueError("H5Output: overwrite and append exclude each other")
        self.compression = checks.choice("H5Output.compression", compression, COMPRESSIONS)
        if compression_level is not None and compression != "gzip":
            raise ValueError("H5Output.compression_level applies to compression='gzip' only")
        level = 4 if compression_level is None else checks.count(
            "H5Output.compression_level", compression_level, low=0)
        if level > 9:
            raise ValueError(f"H5Output.compression_level must be in 0..9, got {level}")
        self.filters = {} if compression is None else {
            "compression": compression, "shuffle": True,
            **({"compression_opts": level} if compression == "gzip" else {})}
        self.connectivity = checks.flag("H5Output.connectivity", connectivity)
        _check_target(self.path, self.overwrite, self.append)
        self._recorders: list = []
        self._file: h5py.File | None = None
        self._made = False  # the file is this output's: later runs append
        self._claims: dict = {}
        self._written: set = set()  # the groups ("spikes/exc", ...) the starting run writes
        self._begun: list = []
        # id() of the recorders begun, and of those of them not ended yet (they are in
        # _begun): a recorder's begin and end test membership in O(1), not by scans of the
        # lists, which made the end of a run O(recorders³) (1000 recorders: 5 s a run)
        self._begun_ids: set = set()
        self._waiting: set = set()
        self._active: list = []
        self._held = 0  # bytes the recorders keep until the next flush
        self._flushed_at = 0.0  # time.perf_counter() of the last flush
        # the network recorded (set by the first run), by a weak reference: the network holds
        # its recorders, which hold this output, so a strong one made a cycle that kept every
        # network recorded alive (its tables and state) until Python's cyclic GC ran
        self._net_ref: weakref.ref | None = None
        self._run: dict = {}
        self._runs = None
        self._upto = None  # a recorder lost data from this step on (its hook raised)
        self._writer = uuid.uuid4().hex  # kept in the file: who wrote it last (see _reopen)
        self._lock = None  # while a run writes: the descriptor of io.hold_writer_lock

    @property
    def _net(self):
        """The network recorded (None before the first run, or once it is gone)."""
        return None if self._net_ref is None else self._net_ref()

    def __repr__(self) -> str:
        state = "open" if self._file is not None else "closed"
        return f"H5Output({self.path!r}, {state}, recorders={len(self._recorders)})"

    @property
    def is_open(self) -> bool:
        """Whether a run is writing the file now."""
        return self._file is not None

    def load(self) -> RecordedRun:
        """The file read back (:func:`spikesim.io.load`)."""
        return load(self.path)

    def _take(self) -> None:
        """Become, as a run starts, the output that writes the (resolved) path: refused while
        another output of it in this process is running."""
        key = os.path.realpath(self.path)
        other = _TARGETS.get(key)
        if other is not None and other is not self and other._file is not None:
            raise ValueError(f"{self.path}: another H5Output of this file in this process is "
                             f"running ({other!r}); writing it from two would lose data — let "
                             f"recorders share one H5Output, or write another path")
        _TARGETS[key] = self

    # -- called by the recorders ----------------------------------------------------------
    def _attach(self, rec) -> None:
        self._recorders.append(rec)

    def _claim(self, path: str, rec) -> None:
        self._written.add(path)
        owner = self._claims.setdefault(path, rec)
        if owner is not rec:
            raise ValueError(f"{self.path}: /{path} is already written by another recorder; "
                             f"give this one another name (name=...)")

    def _begin(self, rec, net) -> None:
        if self._file is not None and id(rec) in self._begun_ids:
            self._finish(False, net.t)  # the last run never reached end (a begin failed)
        if self._file is None:
            self._start(net)
        self._begun.append(rec)
        self._begun_ids.add(id(rec))
        self._waiting.add(id(rec))

    def _start(self, net) -> None:
        if self._net_ref is not None and net is not self._net:
            raise ValueError(f"{self.path}: this H5Output records another Network (the one of "
                             f"its first run); adding a second network's data would mix two "
                             f"networks in one file: make a new H5Output (overwrite=True to "
                             f"replace this file)")
        self._take()
        mine = {id(r) for r in self._recorders}
        active = [m for m in net.monitors if id(m) in mine]
        fresh = not self._made and not (self.append and os.path.exists(self.path))
        tmp = lock = None
        self._written = set()
        if fresh:
            f, tmp = self._create(net)
        else:
            f = self._reopen(net)
        try:
            for r in active:  # every check first: a refused run leaves the file as it was
                r._prepare(f, net, dry=True)
            if not fresh:
                self._resume(f, net)
            for r in active:
                r._prepare(f, net)
            self._runs = f["spikesim/runs"]
            append(self._runs, np.array([[net.t, net.t, 0, 0, 0.0]]))
            f.swmr_mode = True  # (HDF5 no longer locks the file: this output marks it in use)
            lock = hold_writer_lock(tmp if tmp is not None else self.path)
            if tmp is not None:
                self._publish(tmp)
        except BaseException:
            release_writer_lock(lock)
            f.close()
            if tmp is not None and os.path.exists(tmp):
                os.remove(tmp)
            raise
        self._file, self._net_ref, self._active, self._made = f, weakref.ref(net), active, True
        self._lock = lock
        self._begun, self._held, self._upto = [], 0, None
        self._begun_ids, self._waiting = set(), set()
        self._run = {"t_start": net.t, "step": net.step, "wall": time.perf_counter()}
        self._flushed_at = self._run["wall"]

    def _create(self, net) -> tuple[h5py.File, str]:
        """A new file under a temporary name (moved to ``path`` once its structure is complete
        and in SWMR mode, so a kill never leaves a half-made file at ``path``)."""
        _check_target(self.path, self.overwrite, False)
        folder, base = os.path.split(self.path)
        tmp = os.path.join(folder, f".{base}.{os.getpid()}.{self._writer[:8]}.tmp")  # (one per
        # output: two outputs of one process, in two threads, made the same name and the
        # second failed with "unable to truncate a file which is already open")
        try:
            f = create_file(tmp)
        except OSError as e:
            raise _path_error(self.path, "cannot create", e) from e
        try:
            set_attrs(f, _new=True, magic=np.uint32(MAGIC),
                      version=np.array(SONATA_VERSION, np.uint32))
            g = new_group(f, "spikesim")
            arrays: dict = {}
            network = _network_meta(net, arrays)
            info = {"versions": _versions(), "layout": LAYOUT,
                    "created": datetime.datetime.now().astimezone().isoformat()}
            set_attrs(g, _new=True, dt=float(net.dt), seed=int(net.seed), dtype=str(net.dtype),
                      batch=int(net.batch), t_start=float(net.t), duration=float(net.t),
                      completed=False, wall_time=0.0, network=network, info=info,
                      writer=self._writer, format_version=RECORDING_FORMAT_VERSION,
                      **({"tags": self.tags} if self.tags else {}))
            if arrays:
                a = new_group(g, "arrays")
                for key, arr in arrays.items():
                    a.create_dataset(key, data=arr, **self._filters_for(arr))
            new_dataset(g, "runs", (0, 5), np.float64, chunks=(64, 5))
            if self.connectivity:
                tb = net.tables
                c = new_group(g, "connectivity")
                for key, arr in (("prj", tb.prj), ("prj_w", tb.prj_w), ("rowptr", tb.rowptr),
                                 ("col", tb.col), ("wt", tb.weights()), ("dly", tb.dly)):
                    c.create_dataset(key, data=arr, **self._filters_for(arr))
        except BaseException:
            f.close()
            os.remove(tmp)
            raise
        return f, tmp

    def _filters_for(self, arr: np.ndarray) -> dict:
        return self.filters if arr.size > 1024 and arr.ndim >= 1 else {}

    def _publish(self, tmp: str) -> None:
        with folder_lock(self.path):  # (the checks and the move as one, for every process)
            self._publish_checked(tmp)

    def _publish_checked(self, tmp: str) -> None:
        if self.overwrite:
            if writer_active(self.path):  # its writer would go on into a file no longer here
                raise FileExistsError(f"{self.path} is open in another process (a run writing "
                                      f"it, or a program reading it): not replaced "
                                      f"(overwrite=True replaces the file of a run that "
                                      f"ended or was killed); wait for that run to end, or "
                                      f"write another path")
            os.replace(tmp, self.path)
            return
        try:
            os.link(tmp, self.path)  # atomic, and fails if the file appeared meanwhile
        except FileExistsError:
            raise FileExistsError(f"{self.path} already exists: pass overwrite=True to "
                                  f"replace it or append=True to add to it") from None
        except OSError:  # no hard links here
            if os.path.exists(self.path):
                raise FileExistsError(f"{self.path} already exists") from None
            os.replace(tmp, self.path)
            return
        os.remove(tmp)

    def _reopen(self, net) -> h5py.File:
        if writer_active(self.path):
            raise OSError(f"{self.path} is open in another process (a run writing it, or a "
                          f"program reading it): cannot append to it until it is closed")
        try:
            f = h5py.File(self.path, "r+", libver=LIBVER)
        except OSError as e:
            if "already open" in str(e):
                raise OSError(f"{self.path} is flagged as open for writing: another process "
                              f"writes it, or a run writing it was killed — then call "
                              f"spikesim.io.recover({self.path!r}) first") from e
            raise _path_error(self.path, "cannot open for appending", e) from e
        try:
            if "spikesim" not in f:
                raise ValueError(f"{self.path} was not written by spikesim: cannot append")
            g = f["spikesim"]
            format_version(g, "append to it")  # (an earlier file keeps none: it is not
            # made of this version's groups only)
            want = {"dt": float(net.dt), "batch": int(net.batch), "dtype": str(net.dtype)}
            have = {k: attr(g, k) for k in want}
            if not np.isclose(have["dt"], want["dt"], rtol=1e-12, atol=0) or any(
                    have[k] != want[k] for k in ("batch", "dtype")):
                raise ValueError(f"{self.path} holds a run with {have}; the network to record "
                                 f"has {want}: use another file")
            if self._made and attr(g, "writer", None) != self._writer:
                raise ValueError(f"{self.path} was written by another H5Output or process after "
                                 f"this output's last run: appending would cut and mix its data; "
                                 f"make a new H5Output (overwrite=True to replace the file)")
            _refuse_other_network(self.path, g, net)
            if attr(g, "seed") != net.seed:
                checks.warn(f"{self.path} was written with seed {attr(g, 'seed')}, the "
                            f"network has seed {net.seed}")
        except BaseException:
            f.close()
            raise
        return f

    def _resume(self, f: h5py.File, net) -> None:
        """Once every recorder accepted the file: mark it incomplete, start it no later than
        the network, warn when the data to be cut (past the network's time) is all of it, and
        cut the groups that this run does not write (the recorders cut theirs)."""
        g = f["spikesim"]
        cuts = _cuts(f, net, self._written)  # (read first: an error here changes nothing)
        t0, end = float(attr(g, "t_start")), data_end(g)
        if end is not None and end > net.t + net.dt / 2 and net.t <= t0 + net.dt / 2:
            checks.warn(f"{self.path}: appending from t = {net.t:g} s cuts all the data the "
                        f"file holds (recorded up to t = {end:g} s), because an appending run "
                        f"replaces what follows its start: load a checkpoint first to "
                        f"continue the run, or pass overwrite=True")
        modify_attrs(g, completed=False, t_start=min(t0, float(net.t)))
        set_attrs(g, writer=self._writer)  # this output's from now on (not yet in SWMR mode)
        for cut in cuts:
            cut()
        _cut_runs(g["runs"], net.t, net.dt)

    @contextmanager
    def _writing(self):
        """A chunk's writes: atomic with respect to Ctrl-C, errors naming the file."""
        try:
            with no_interrupt():
                yield
        except OSError as e:
            raise OSError(f"writing {self.path} failed (disk full or file removed?): {e}") from e

    def _hold(self, nbytes: int) -> None:
        """A recorder keeps an array of ``nbytes`` more until the next flush."""
        self._held += nbytes + HELD_ARRAY_BYTES

    def _chunk_end(self, rec, step: int) -> None:
        """After the last recorder's chunk, when every recorder holds the data up to ``step``:
        flush once ``flush_every`` seconds have passed or FLUSH_BYTES are held."""
        if rec is self._active[-1] and (
                self._held >= FLUSH_BYTES
                or time.perf_counter() - self._flushed_at >= self.flush_every):
            self._flush(step)

    def _flush(self, step: int) -> None:
        """Write what the recorders hold, then the run's row up to ``step``, and flush: the
        file's data is then complete up to that step."""
        with self._writing():
            self._drain()
            self._write_run(step, False)
            self._file.flush()
        self._flushed_at = time.perf_counter()

    def _drain(self) -> None:
        for r in self._begun:
            r._drain()
        self._held = 0

    def _spill(self, rec, nbytes: int) -> None:
        """Write what recorder ``rec`` holds (``nbytes``) now, within a chunk of steps, without
        flushing the file or extending its runs table: readers take data past the table's
        end as not recorded (as after a killed run), and the flush at the chunk's end makes
        it part of the recording."""
        with self._writing():
            rec._drain()
        self._held = max(0, self._held - nbytes)

    def _lost(self, step: int) -> None:
        """A recorder failed to take a chunk's data from ``step`` on: the runs table ends
        there (a later run is then refused as leaving a gap, not recorded with a hole)."""
        self._upto = step if self._upto is None else min(self._upto, step)

    def _write_run(self, step: int, completed: bool) -> float:
        run, wall = self._run, time.perf_counter() - self._run["wall"]
        if self._upto is not None:
            step, completed = min(step, self._upto), False
        write_row(self._runs, self._runs.shape[0] - 1, np.array(
            [run["t_start"], step * self._net.dt, step - run["step"], completed, wall]))
        return wall

    def _end(self, rec, completed: bool, t: float) -> None:
        if self._file is None:
            return
        self._waiting.discard(id(rec))
        self._run.setdefault("completed", True)
        self._run["completed"] &= bool(completed)
        if not self._waiting:  # every recorder begun has ended (a begin may fail)
            self._finish(self._run["completed"], t)

    def _finish(self, completed: bool, t: float) -> None:
        """Record how the run ended — the run's row, then the attributes ``completed``,
        ``duration`` and ``wall_time`` rewritten in place — and close the file."""
        f, self._file = self._file, None
        step = int(round(t / self._net.dt))
        errors = []
        try:
            with self._writing():
                self._drain()
                wall = self._write_run(step, completed)
                g = f["spikesim"]
                total = float(attr(g, "wall_time", 0.0)) + wall
                f.flush()  # the data before the flag that says it is complete
                modify_attrs(g, completed=bool(completed), duration=float(t), wall_time=total)
        except BaseException as e:
            errors.append(e)
        try:
            f.close()
        except BaseException as e:
            errors.append(e)
        finally:
            release_writer_lock(self._lock)
            self._lock = None
        self._runs = None
        if errors:
            err = errors[0]
            if not completed:  # already unwinding from an error: do not mask it
                warnings.warn(f"closing {self.path} after an interrupted run: {err!r}",
                              RuntimeWarning, stacklevel=3)
                return
            if isinstance(err, OSError):
                raise OSError(f"closing {self.path} failed: {err}") from err
            raise err


def _members(meta: dict, key: str) -> list[tuple]:
    """(name, class, size) of each population or source (``key``) in network metadata."""
    return [(m.get("name"), m.get("class"), m.get("n")) for m in meta.get(key, [])]


def _show_members(members: list[tuple]) -> str:
    return "[" + ", ".join(f"{name} ({cls} of {n})" for name, cls, n in members) + "]"


def _refuse_other_network(path: str, g: h5py.Group, net) -> None:
    """Raise unless the network recorded in the file's ``/spikesim`` (``g``) has the
    populations and spike sources of ``net`` (names, classes, sizes): appending another
    network's data would mix two networks in one file. Files without that record pass."""
    if "network" not in g.attrs:
        return
    try:
        meta = attr(g, "network", as_json=True)
    except ValueError:
        meta = None
    if not isinstance(meta, dict):
        raise ValueError(f"{path}: the /spikesim attribute 'network' is not a network "
                         f"description; cannot append (use another file or overwrite=True)")
    mine = {"populations": [(p.name, type(p).__name__, p.n) for p in net.populations],
            "sources": [(s.name, type(s).__name__, s.n) for s in net.sources]}
    have = {key: _members(meta, key) for key in mine}
    if have != mine:
        def show(d: dict) -> str:
            return (f"populations {_show_members(d['populations'])} and sources "
                    f"{_show_members(d['sources'])}")
        raise ValueError(f"{path}: the file holds a run of another network: {show(have)} vs "
                         f"{show(mine)} in the network to record; use another file or "
                         f"overwrite=True")


def _cuts(f: h5py.File, net, written: set) -> list:
    """The cuts, at the network's time, of the file's spikes, reports and rates that the
    starting run does not write (``written``: their paths), as functions to call once every
    check passed: no group may hold data past the time the appending run starts from. A
    rate's bin that the cut splits is dropped (its spikes before the cut are not known)."""
    t_ms, half = net.step * net.dt * MS, net.dt * MS / 2
    cuts = []
    for top in ("spikes", "report", "rates"):
        for name in sorted(_names(f, top)):
            path = f"{top}/{name}"
            g = f[path]
            if path in written or not isinstance(g, h5py.Group):
                continue
            if top == "spikes":
                ts, ni, _ = spike_datasets(g)
                cuts.append(functools.partial(_cut_spikes, ts, ni, t_ms - half))
                cuts.append(functools.partial(_end_spikes, g, net.step))
                continue
            if top == "report":  # samples at start + r·step up to the network's time
                data, _, (start, stop, step) = report_datasets(g)
                tm, keep = g["mapping/time"], math.floor((t_ms + half - start) / step) + 1
            else:  # the bins that end by then
                data, (start, stop, step) = rate_datasets(g)
                tm, keep = g["time"], math.floor((t_ms + half - start) / step)
            if stop > t_ms + half:
                keep = min(max(0, keep), data.shape[0])
                cuts.append(functools.partial(_keep_rows, data, tm, keep, start, step))
    return cuts


def _cut_runs(runs: h5py.Dataset, t: float, dt: float) -> None:
    """The runs table cut at time ``t`` (s) with the data: a run that began at or after ``t``
    is dropped, one that went past it ends there (its steps counted to there)."""
    rows = runs[...]
    kept = rows[rows[:, 0] < t - dt / 2]
    late = kept[:, 1] > t + dt / 2
    if len(kept) == len(rows) and not late.any():
        return
    kept[late, 2] -= np.rint((kept[late, 1] - t) / dt)
    kept[late, 1] = t
    runs.resize(len(kept), axis=0)
    runs[...] = kept


def _cut_spikes(ts: h5py.Dataset, ni: h5py.Dataset, limit: float) -> None:
    """Keep the spikes (times ``ts``, ids ``ni``) before ``limit`` (ms): an appending run
    replaces what follows its start."""
    n = _count_before(ts, min(ts.shape[0], ni.shape[0]), limit)
    for ds in (ts, ni):
        if ds.shape[0] > n:
            ds.resize((n,))


def _end_spikes(g: h5py.Group, step: int) -> None:
    """Mark the spike group ``g``, which the starting run does not record, as ending at
    ``step`` (the earlier end if it already had one): its spikes stop there."""
    info = attr(g, "spikesim", None, as_json=True) if "spikesim" in g.attrs else None
    if info is not None and info.get("stop_step", step) >= step:
        set_attrs(g, spikesim={**info, "stop_step": step})


def _keep_rows(data: h5py.Dataset, time: h5py.Dataset, rows: int, start: float,
               step: float) -> None:
    """Keep the first ``rows`` rows of a report's or rate's ``data`` (row r at ``start`` +
    r·``step``, ms), and set the stop of its ``time`` dataset (start, stop, step) to match."""
    if data.shape[0] > rows:
        data.resize((rows,) + data.shape[1:])
    write_row(time, 1, start + rows * step)


def _checked_path(path: object) -> str:
    """``path`` (a str or os.PathLike naming a file) as an absolute path."""
    name = os.fspath(path) if isinstance(path, os.PathLike) else path
    if not isinstance(name, str):
        raise TypeError(f"H5Output.path must be a str or os.PathLike, got {path!r}")
    if not name:
        raise ValueError("H5Output.path is empty")
    if "\0" in name:
        raise ValueError(f"H5Output.path contains a NUL character, got {name!r}")
    return os.path.abspath(name)


def _check_target(path: str, overwrite: bool, append: bool) -> None:
    """Clear errors, naming the path, before anything is written."""
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot write {path}: the directory {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PermissionError(f"cannot write {path}: no write permission in {folder}")
    if os.path.isdir(path):
        raise IsADirectoryError(f"cannot write {path}: it is a directory")
    if os.path.exists(path):
        if not (overwrite or append):
            raise FileExistsError(f"{path} already exists: pass overwrite=True to replace it "
                                  f"or append=True to add to it")
        if append and not os.access(path, os.W_OK):
            raise PermissionError(f"cannot append to {path}: no write permission")


def _path_error(path: str, what: str, e: OSError) -> OSError:
    text = str(e)
    kind = (PermissionError if "ermission" in text or "errno = 13" in text
            else FileNotFoundError if "errno = 2," in text else OSError)
    return kind(f"{what} {path}: {text}")


# --- metadata -------------------------------------------------------------------------------
def _tags(tags: object) -> dict | None:
    """``H5Output.tags`` checked: None, or a dict with str keys that JSON holds as it is."""
    if tags is None:
        return None
    if not isinstance(tags, dict) or not all(isinstance(k, str) for k in tags):
        raise TypeError(f"H5Output.tags must be a dict with str keys (or None), got {tags!r}")
    try:
        same = json.loads(json.dumps(tags, allow_nan=False)) == tags
    except (TypeError, ValueError):
        same = False
    if not same:
        raise TypeError(f"H5Output.tags must hold what JSON keeps as it is (str, finite int and "
                        f"float, bool, None, lists and dicts of them), got {tags!r}")
    return tags


def _versions() -> dict:
    import numba

    import spikesim
    return {"spikesim": getattr(spikesim, "__version__", "?"), "numba": numba.__version__,
            "numpy": np.__version__, "h5py": h5py.version.version,
            "hdf5": h5py.version.hdf5_version, "python": platform.python_version()}


def _plain(value, arrays: dict, key: str):
    """A JSON-ready copy of a parameter value; large arrays are moved into ``arrays``."""
    if isinstance(value, dict):
        return {str(k): _plain(v, arrays, f"{key}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, arrays, f"{key}.{i}") for i, v in enumerate(value)]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        if value.size > BIG_ARRAY:
            arrays[key] = value
            return {"dataset": f"/spikesim/arrays/{key}", "shape": list(value.shape),
                    "dtype": str(value.dtype)}
        return value.tolist()
    if isinstance(value, Distribution):
        return {"distribution": type(value).__name__,
                **{k: _plain(v, arrays, key) for k, v in vars(value).items()}}
    if isinstance(value, (np.dtype, type)):
        return str(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "tocoo"):  # scipy.sparse
        m = value.tocoo()
        return {"sparse": list(m.shape), "row": _plain(m.row, arrays, f"{key}.row"),
                "col": _plain(m.col, arrays, f"{key}.col"),
                "data": _plain(m.data, arrays, f"{key}.data")}
    if callable(value):
        return {"callable": f"{getattr(value, '__module__', '?')}."
                            f"{getattr(value, '__qualname__', repr(value))}"}
    return repr(value)


def _network_meta(net, arrays: dict) -> dict:
    seed = net.seed
    pops = [{"name": p.name, "class": type(p).__name__, "n": p.n,
             "parameter_seed": [seed, 1, q],  # realization b > 0: [seed, 1, q, b]
             "parameters": _plain(p.describe(), arrays, f"population.{p.name}")}
            for q, p in enumerate(net.populations)]
    srcs = [{"name": s.name, "class": type(s).__name__, "n": s.n,
             "parameters": _plain(s.describe(), arrays, f"source.{s.name}")}
            for s in net.sources]
    curs = [{"class": type(c).__name__, "target": c.target.name,
             "parameters": _plain(c.describe(), arrays, f"current.{j}"),
             **({"parameter_seed": [seed, 3, j]}  # realization b > 0: [seed, 3, j, b]
                if isinstance(getattr(c, "amplitude", None), Distribution) else {})}
            for j, c in enumerate(net.currents)]
    prjs = []
    tb = net.tables
    for j, pr in enumerate(net.projections):
        d = pr.describe()
        if pr.rule == "explicit":
            d.update(pre_ids=pr.pre_ids, post_ids=pr.post_ids, matrix=pr.matrix)
        row_at = int(tb.prj[j, KC.J_ROW]) if tb is not None else 0
        nnz = (int(tb.rowptr[row_at + pr.pre.n] - tb.rowptr[row_at]) if tb is not None
               else None)
        prjs.append({"index": j, "name": pr.name, "pre": pr.pre.name, "post": pr.post.name,
                     "connectivity_seed": projection_key(seed, j), "n_synapses": nnz,
                     "parameters": _plain(d, arrays, f"projection.{j}")})
    return {"populations": pops, "sources": srcs, "currents": curs, "projections": prjs,
            "chunk": net.chunk, "units": "SI (s, V, A, ohm, F, Hz)"}


# --- recorders --------------------------------------------------------------------------------
class _Recorder:
    """What the three recorders share: the output, the name in the file, the hooks."""

    output: H5Output
    name: str | None
    _in_memory = False  # (what it recorded is checked against the file instead)

    def _init_recorder(self, output, name) -> None:
        if not isinstance(output, H5Output):
            raise TypeError(f"{type(self).__name__}.output must be an H5Output (a file shared "
                            f"by recorders), got {type(output).__name__}")
        if name is not None:
            self._checked_name(name, default=False)
        self.output, self.name = output, name
        self._net_ref = None  # (weak: the network holds this recorder)
        output._attach(self)

    @property
    def _net(self):
        """The network of the run in progress (or of the last one, while it lives)."""
        return None if self._net_ref is None else self._net_ref()

    def _checked_name(self, nm, default: bool) -> str:
        """``nm`` checked as the name of a group in the file (``default``: the source's)."""
        if not isinstance(nm, str) or not nm or "/" in nm or "\0" in nm or nm in (".", ".."):
            raise ValueError(f"{type(self).__name__}.name must be a non-empty name without "
                             f"'/' or NUL, other than '.' and '..', got {nm!r}"
                             + (" (the source's name: pass name=)" if default else ""))
        return nm

    def _base_name(self, obj) -> str:
        if self.name is None:
            return self._checked_name(obj.name, default=True)
        return self._checked_name(self.name, default=False)

    def begin(self, net: Network) -> None:
        """Called when a run starts: the output opens (or creates) the file at the first
        recorder's begin."""
        Monitor.begin(self, net)
        self._net_ref = weakref.ref(net)
        self.output._begin(self, net)

    def chunk_end(self, step: int) -> None:
        """Called by the network after each chunk (``step``: global steps done): the output
        flushes when it is time."""
        self.output._chunk_end(self, step)

    @contextmanager
    def _losing(self):
        """A chunk's data handed over: when keeping it fails, the file's data ends where the
        chunk began (``net.step``, not yet advanced past it)."""
        try:
            yield
        except BaseException:
            self.output._lost(self._net.step)
            raise

    def _drain(self) -> None:
        """Write what this recorder holds (called by the output as it flushes)."""

    def end(self, completed: bool, t: float) -> None:
        Monitor.end(self, completed, t)
        try:
            if self.output.is_open:
                self._final(t)
        finally:
            self.output._end(self, completed, t)

    def _final(self, t: float) -> None:
        """Write what is pending at the end of a run."""

    def _repr_details(self) -> str:
        return f"{super()._repr_details()} -> {os.path.basename(self.output.path)}"


def _top(f: h5py.File, name: str) -> h5py.Group:
    """The top-level group ``name`` ("spikes", "report", "rates"), made if missing."""
    return f[name] if name in f else new_group(f, name)


def _names(f: h5py.File, name: str) -> set:
    """The names in the top-level group ``name`` (none if it is missing)."""
    return set(f[name]) if name in f else set()


def _has(f: h5py.File, top: str, name: str) -> bool:
    """Whether the top-level group ``top`` holds ``name`` (as ``name in _names(f, top)``,
    without listing the group: once per recorder, that made starting a run O(recorders²),
    0.7 s for 1000)."""
    return "/" not in name and top in f and name in f[top]


def _count_before(ds, n: int, limit: float) -> int:
    """How many of the first n (sorted) values of ds are < limit, reading O(log n) values."""
    if n == 0 or ds[n - 1] < limit:
        return n
    lo, hi = 0, n - 1  # ds[hi] >= limit
    while lo < hi:
        mid = (lo + hi) // 2
        if ds[mid] < limit:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _chunk_steps(net, least: int = 1) -> int:
    """The steps to size a dataset's chunks for: those of a chunk of steps, or of the starting
    run when it is shorter (a chunk sized for more would be stored mostly empty), but at least
    ``least`` (the chunk shape is kept for the life of the file: a short first run must not
    leave later runs with tiny chunks)."""
    return max(1, min(net.chunk, max(net.run_steps or net.chunk, least)))


def _refuse_other_neurons(file, path: str, g: h5py.Group, ids: np.ndarray | None) -> None:
    """Raise unless the group ``g`` (at ``path`` in ``file``) holds the neurons ``ids`` (None:
    all): those of its ``recorded_ids``, or all where it has none. Rates count the neurons
    recorded, so an append recording others would make them wrong."""
    had = np.unique(g["recorded_ids"][:].astype(np.int64)) if "recorded_ids" in g else None
    if (had is None) == (ids is None) and (had is None or np.array_equal(had, ids)):
        return

    def which(sel) -> str:
        return "every neuron" if sel is None else f"neurons {show_ids(sel)}"
    raise ValueError(f"{file}: /{path} records {which(had)}, not {which(ids)} (ids): its rates "
                     f"would count the wrong neurons; record under another name (name=...) or "
                     f"to a new file")


def _spike_chunk(n: int, steps: int, dt: float) -> int:
    """Elements per HDF5 chunk of a spike dataset of ``n`` neurons: the spikes that ``steps``
    steps of ``dt`` (s) hold at EXPECTED_RATE (Hz), rounded up to a power of two within
    SPIKE_CHUNK_MIN … SPIKE_CHUNK."""
    expected = max(n * steps * dt * EXPECTED_RATE, 1.0)
    return min(max(1 << math.ceil(math.log2(expected)), SPIKE_CHUNK_MIN), SPIKE_CHUNK)


def _report_chunk(rows: int, n: int, itemsize: int, reports: int) -> tuple[int, int]:
    """(rows, columns) per HDF5 chunk of each of ``reports`` reports of ``n`` neurons that a
    chunk of steps extends by ``rows`` rows of ``itemsize`` bytes per value."""
    cols = max(1, min(n, REPORT_CHUNK_COLS))
    row_bytes = cols * itemsize
    shared = max(REPORT_CHUNK_BYTES // (reports * row_bytes), REPORT_CHUNK_MIN_ROWS)
    return max(1, min(rows, REPORT_CHUNK_BYTES // row_bytes, shared)), cols


def _refuse_old_batch(f: h5py.File, top: str, name: str) -> None:
    """Refuse to add to a batch recorded as one group per realization (``name.r0``, ...), the
    layout of earlier spikesim files: still read, but not continued."""
    g = f.get(f"{top}/{name}.r0")
    info = attr(g, "spikesim", {}, as_json=True) if g is not None else {}
    pop = info.get("population")
    own = pop == name or (top == "report" and f"{pop}.{info.get('variable')}" == name)
    if own and info.get("n_realizations", 1) > 1 and "nodes_per_realization" not in info:
        raise ValueError(f"{f.filename} holds {name!r} of a batch stored as one group per "
                         f"realization ({name}.r0, {name}.r1, ...: written by an earlier "
                         f"spikesim), which this version reads but does not extend; write a "
                         f"new file")


def _gap_error(what: str, path: str, t_file: float, t_net: float) -> ValueError:
    return ValueError(f"{what} /{path} in the file ends at t = {t_file!r} s but the network is "
                      f"at t = {t_net!r} s: a SONATA series cannot have a gap; record under "
                      f"another name or file")


class SpikeRecorder(_Recorder, SpikeMonitor):
    """Streams the spikes of a population or spike source — all neurons, or ``ids`` — in every
    realization to ``/spikes/<name>`` of an :class:`H5Output` (node id b·n + j for neuron j of
    realization b, n the source's size).

    Args:
        output: the :class:`H5Output`.
        source: a population or spike source of the network.
        ids: neurons to record, as :class:`~spikesim.monitors.SpikeMonitor`'s (default all);
            node_ids in the file are these indices (plus b·n in realization b).
        name: the population's name in the file (default the source's name).

    ``.spikes`` reads the recorded spikes back (seconds), like :class:`SpikeMonitor`'s.
    """

    def __init__(self, output: H5Output, source: Population | SpikeSource, ids: Ids = None,
                 name: str | None = None):
        SpikeMonitor.__init__(self, source, ids)
        self._init_recorder(output, name)
        self.n_written = 0  # spikes recorded (written, or held for the next flush), all runs
        self._held_bytes = 0  # what it holds now (bytes, as told to the output)
        self._file_name = None

    def _prepare(self, f: h5py.File, net, dry: bool = False) -> None:
        """Check that the file can take this run's data (``dry``: only that, changing
        nothing), then cut what it holds past the network's time or make the group."""
        base = self._base_name(self.source)
        self._file_name = base
        self._dt_ms = net.dt * MS
        self._block = self.source.n  # node ids: realization * n + neuron
        path = f"spikes/{base}"
        self.output._claim(path, self)
        _refuse_old_batch(f, "spikes", base)
        if _has(f, "spikes", base):
            g = f[path]
            old = attr(g, "spikesim", {}, as_json=True) if "spikesim" in g.attrs else {}
            if (old.get("n_neurons"), old.get("n_realizations", 1)) != (self.source.n,
                                                                        net.batch):
                raise ValueError(f"{self.output.path}: /{path} holds {old.get('n_realizations', 1)}"
                                 f" realization(s) of a population of {old.get('n_neurons')} "
                                 f"neurons, not {net.batch} of {self.source.n}")
            _refuse_other_neurons(self.output.path, path, g, self.ids)
            end = data_end(f["spikesim"]) if "spikesim" in f else None
            if old.get("stop_step") is not None:  # not recorded by a later run: ends there
                end = min(end if end is not None else math.inf, old["stop_step"] * net.dt)
            if (end is not None and old.get("start_step", 0) < net.step
                    and end < net.t - net.dt / 2):  # spikes lost there would read as silence
                raise _gap_error("the spikes", path, end, net.t)
            if dry:
                return
            new = {k: v for k, v in old.items() if k != "stop_step"}  # recorded from here on
            if old.get("start_step", 0) > net.step:  # all of it is cut: it starts anew
                new["start_step"] = net.step
            if new != old:
                set_attrs(g, spikesim=new)
            ts, ni = g["timestamps"], g["node_ids"]
            _cut_spikes(ts, ni, (net.step - 0.5) * self._dt_ms)
        elif dry:
            return
        else:
            n_rec = self.source.n if self.ids is None else len(self.ids)
            chunks = (_spike_chunk(n_rec * net.batch, _chunk_steps(net, SPIKE_CHUNK_MIN_STEPS),
                                   net.dt),)
            info = {"population": base, "n_realizations": net.batch, "n_neurons": self.source.n,
                    "nodes_per_realization": self.source.n,
                    "kind": "spike source" if isinstance(self.source, SpikeSource)
                    else "population", "selection": self.ids is not None,
                    "start_step": net.step}
            g = new_group(_top(f, "spikes"), base)
            set_attrs(g, _new=True, sorting=np.array(2, dtype=SORTING), spikesim=info)
            ts = new_dataset(g, "timestamps", (0,), np.float64, chunks, self.output.filters)
            set_attrs(ts, _new=True, units="ms")
            ni = new_dataset(g, "node_ids", (0,), np.uint64, chunks, self.output.filters)
            if self.ids is not None:
                new_dataset(g, "recorded_ids", self.ids.shape, np.uint64, data=self.ids)
        self._sets, self._held, self._held_bytes = (ts, ni), [], 0

    def spikes_in(self, steps: np.ndarray, realizations: np.ndarray, ids: np.ndarray) -> None:
        """Keep a chunk's spikes (global steps, realizations, neuron ids) for the next flush.
        They come by step, then realization, then id: node ids b·n + j ascend within a step."""
        with self._losing():
            self._keep_spikes(steps, realizations, ids)

    def _keep_spikes(self, steps: np.ndarray, realizations: np.ndarray,
                     ids: np.ndarray) -> None:
        """:meth:`spikes_in`'s work (under :meth:`_losing`)."""
        if len(steps):
            nodes = ids.astype(np.uint64)
            if self._net.batch > 1:
                nodes += realizations.astype(np.uint64) * np.uint64(self._block)
            with no_interrupt():
                self._held.append((steps * self._dt_ms, nodes))
                self.n_written += len(steps)
            self.output._hold(16 * len(steps))
            self._held_bytes += 16 * len(steps) + HELD_ARRAY_BYTES
            if self._held_bytes >= SPILL_BYTES:  # memory follows a kernel call's spikes,
                self.output._spill(self, self._held_bytes)  # not a whole chunk's

    def _drain(self) -> None:
        if self._held:
            for ds, parts in zip(self._sets, zip(*self._held)):
                if self._held_bytes <= JOIN_BYTES:
                    append(ds, np.concatenate(parts))
                else:
                    append_all(ds, parts)
            self._held = []
        self._held_bytes = 0

    @property
    def spikes(self) -> Spikes:
        """The spikes in the file (all runs), times in s."""
        return load(self.output.path).spikes(self._file_name or self._base_name(self.source))


class StateRecorder(_Recorder, StateMonitor):
    """Streams state variables (``"v"``, ``"i"``, ``"w"``/``"i_inh"``, ``"refc"``) of selected
    neurons, every ``every`` steps, to SONATA reports ``/report/<name>.<var>`` (columns: the
    ids of realization 0, then of realization 1, ...; node ids b·n + id).

    Args:
        output: the :class:`H5Output`.
        population: a population of the network.
        variables: a variable name or a list of them.
        ids: neurons to record, as :class:`~spikesim.monitors.StateMonitor`'s (default all);
            columns of ``data`` in this order (in a batch, this order once per realization).
        every: record the state at the end of every ``every``-th step (steps k with (k+1)
            divisible by ``every``, i.e. at times (k+1)·dt).
        dtype: stored value type: float32 (default; what libsonata reads) or float64 (exact
            for float64 networks; libsonata refuses it, h5py and spikesim.io read it). A
            value beyond float32's range (±3.4e38) stops the run with an OverflowError.
        name: the population's name in the file (default the population's name).

    ``.trace(variable)`` reads a variable back as a :class:`~spikesim.results.Trace`.
    """

    def __init__(self, output: H5Output, population: Population,
                 variables: str | Sequence[str] = "v", ids: Ids = None, every: int = 1,
                 dtype: DTypeLike = np.float32, name: str | None = None):
        StateMonitor.__init__(self, population, variables, ids, every)
        twice = sorted({v for v in self.variables if self.variables.count(v) > 1})
        if twice:
            raise ValueError(f"StateRecorder.variables must name each variable once (one report "
                             f"each), got {', '.join(map(repr, twice))} more than once in "
                             f"{variables!r}")
        ids, counts = np.unique(self.ids, return_counts=True)
        if (counts > 1).any():
            raise ValueError(f"StateRecorder.ids must name each neuron once (SONATA's "
                             f"mapping/node_ids are unique), got {ids[counts > 1].tolist()} "
                             f"more than once")
        self.dtype = checks.float_dtype("StateRecorder.dtype", dtype)
        self._init_recorder(output, name)
        self._file_name = None

    def _prepare(self, f: h5py.File, net, dry: bool = False) -> None:
        """As :meth:`SpikeRecorder._prepare`: check (``dry``: only that), then cut or make.
        A batch's columns are realization-major: node b·n + j for each realization b, then
        each recorded neuron j."""
        base = self._base_name(self.population)
        self._file_name = base
        pop, every, batch = self.population, self.every, net.batch
        nodes = (np.arange(batch)[:, None] * pop.n + self.ids).ravel()
        n = nodes.size
        dt_ms = net.dt * MS
        next_first = (net.step // every + 1) * every  # first sample step of this run
        rows = -(-_chunk_steps(net, REPORT_CHUNK_MIN_ROWS * every) // every)
        chunks = _report_chunk(rows, n, self.dtype.itemsize, len(self.variables))
        self._sets, self._rows, self._held = [], None, []
        for var in self.variables:
            name = f"{base}.{var}"
            path = f"report/{name}"
            self.output._claim(path, self)
            _refuse_old_batch(f, "report", name)
            if _has(f, "report", name):
                g = f[path]
                data, tm = g["data"], g["mapping/time"]
                info = attr(g, "spikesim", {}, as_json=True)
                recorded = g["mapping/node_ids"][:].astype(np.int64)
                if (info.get("every") != every or recorded.shape != nodes.shape
                        or np.any(recorded != nodes) or data.dtype != self.dtype):
                    raise ValueError(f"{self.output.path}: /{path} was recorded with other "
                                     f"neurons, realizations, every or dtype; record under "
                                     f"another name")
                first = int(info["first_step"])
                t0, t1, step = (float(x) for x in tm[:])
                have = min(data.shape[0], int(round((t1 - t0) / step)))
                keep = max(0, (net.step - first) // every + 1) if net.step >= first else 0
                if keep > have:
                    raise _gap_error("the report", path, (first + (have - 1) * every)
                                     * net.dt, net.t)
                if next_first < first:  # all of it is cut: it starts anew
                    first, t0 = next_first, next_first * dt_ms
            else:
                g = None
                first, keep = next_first, 0
                t0, step = first * dt_ms, every * dt_ms
            if self._rows is not None and (first, keep) != self._rows:
                raise ValueError(f"{self.output.path}: the reports of {base!r} disagree in "
                                 f"length; record under another name")
            self._rows = (first, keep)
            if dry:
                continue
            if g is not None:
                if first != info["first_step"]:
                    set_attrs(g, spikesim={**info, "first_step": first})
                    write_row(tm, 0, t0)
                _keep_rows(data, tm, keep, t0, step)
            else:
                data, tm = self._new_report(f, name, var, nodes, chunks, first, t0, step,
                                            batch)
            self._sets.append((data, tm, t0, step))

    def _new_report(self, f, name, var, nodes, chunks, first, t0, step, batch) -> tuple:
        """Make the group of a new report of ``nodes``: returns (data, mapping/time)."""
        pop, n = self.population, nodes.size
        info = {"population": self._file_name, "n_realizations": batch, "variable": var,
                "every": self.every, "first_step": first, "n_neurons": pop.n,
                "nodes_per_realization": pop.n,
                "threshold": _threshold(pop) if var == "v" else None}
        g = new_group(_top(f, "report"), name)
        set_attrs(g, _new=True, spikesim=info)
        data = new_dataset(g, "data", (0, n), self.dtype, chunks, self.output.filters)
        set_attrs(data, _new=True, units=pop.unit_of(var))
        m = new_group(g, "mapping")
        set_attrs(new_dataset(m, "node_ids", (n,), np.uint64, data=nodes), _new=True,
                  sorted=np.uint8(bool(np.all(np.diff(nodes) > 0))))
        new_dataset(m, "index_pointers", (n + 1,), np.uint64, data=np.arange(n + 1))
        new_dataset(m, "element_ids", (n,), np.uint32, data=np.zeros(n))
        tm = new_dataset(m, "time", (3,), np.float64, data=np.array([t0, t0, step]))
        set_attrs(tm, _new=True, units="ms")
        return data, tm

    def samples(self, steps: np.ndarray, values: np.ndarray) -> None:
        """Keep a chunk's samples (global sample steps (k+1), values (rows, B, vars·ids)) for
        the next flush."""
        with self._losing():
            self._keep_samples(steps, values)

    def _keep_samples(self, steps: np.ndarray, values: np.ndarray) -> None:
        """:meth:`samples`' work (under :meth:`_losing`)."""
        r = len(steps)
        if r:
            first, r0 = self._rows
            if int(steps[0]) != first + r0 * self.every:
                raise RuntimeError(f"StateRecorder: samples of step {int(steps[0])} arrive, "
                                   f"step {first + r0 * self.every} was expected")
            # one conversion into (variables, rows, realizations · ids): each report's rows
            # are then contiguous
            n_var = len(self._sets)
            # a copy: a view would keep the chunk's whole sample buffer alive
            given = values.reshape(r, values.shape[1], n_var, -1).transpose(2, 0, 1, 3)
            with np.errstate(over="ignore"):  # (refused below, naming the variable)
                blocks = np.array(given, self.dtype, order="C")
            if self.dtype.itemsize < values.dtype.itemsize and not np.isfinite(blocks).all():
                self._beyond_dtype(steps, blocks, given)
            with no_interrupt():
                self._held.append(blocks.reshape(n_var, r, -1))
                self._rows = (first, r0 + r)
            self.output._hold(blocks.nbytes)

    def _beyond_dtype(self, steps: np.ndarray, blocks: np.ndarray, given: np.ndarray) -> None:
        """Raise OverflowError naming the variable and time at which the samples ``blocks``
        (variables, rows, ...; rows at global ``steps``) first became infinite in this
        recorder's dtype though finite as ``given``. Samples NaN or infinite in the state are
        kept as they are: the network reports them (FloatingPointError, once the samples are
        handed over), and float64 would not hold them either."""
        bad = (~np.isfinite(blocks) & np.isfinite(given)).reshape(len(blocks), len(steps), -1)
        bad = bad.any(axis=2).T  # (rows, variables): the earliest sample first
        if not bad.any():
            return
        row, var = np.argwhere(bad)[0]
        raise OverflowError(f"StateRecorder {self.population.name!r}: "
                            f"{self.variables[var]} went beyond {self.dtype.name}'s range "
                            f"(±{float(np.finfo(self.dtype).max):.3g}) at t = "
                            f"{int(steps[row]) * self._net.dt:g} s; record it with "
                            f"dtype=np.float64")

    def _drain(self) -> None:
        if self._held:
            blocks = (self._held[0] if len(self._held) == 1  # (no copy of a large chunk)
                      else np.concatenate(self._held, axis=1))
            rows = self._rows[1]
            for c, (data, tm, t0, step) in enumerate(self._sets):
                append(data, blocks[c])
                write_row(tm, 1, t0 + rows * step)
            self._held = []

    def trace(self, variable: str = "v",
              ids: int | np.ndarray | Sequence[int] | None = None) -> Trace:
        """One variable's samples in the file (all runs) as a Trace; ``ids``: neuron indices
        among those recorded (default all of them)."""
        checks.choice("variable", variable, self.variables)
        return load(self.output.path).trace(self._file_name or self._base_name(self.population),
                                            variable, ids=ids)


class RateRecorder(_Recorder, SpikeMonitor):
    """Streams the number of spikes per time bin of a population (or spike source; all neurons
    or ``ids``), per realization, to ``/rates/<name>``: ``counts`` (bins × realizations) and
    ``time`` = (start, stop, bin width) in ms. Bins start at the first recorded run's start.
    Read it back as a rate in Hz with ``spikesim.load(path).rate(name)``.

    Args:
        output: the :class:`H5Output`.
        population: a population or spike source of the network.
        bin_width: seconds, a whole number of steps.
        ids: neurons counted, as :class:`~spikesim.monitors.SpikeMonitor`'s (default all).
        name: the population's name in the file.
    """

    def _repr_details(self) -> str:
        return f", {self.bin_width:g} s bins{super()._repr_details()}"

    def __init__(self, output: H5Output, population: Population | SpikeSource, bin_width: float,
                 ids: Ids = None, name: str | None = None):
        SpikeMonitor.__init__(self, population, ids)
        self.bin_width = checks.number("RateRecorder.bin_width", bin_width, low=0.0,
                                       low_open=True, unit="s")
        self._init_recorder(output, name)
        self._file_name = None

    @property
    def population(self) -> Population | SpikeSource:
        """The population or spike source counted (``source``)."""
        return self.source

    def _prepare(self, f: h5py.File, net, dry: bool = False) -> None:
        """As :meth:`SpikeRecorder._prepare`: check (``dry``: only that), then cut or make."""
        base = self._base_name(self.source)
        self._file_name = base
        most = MAX_BIN_STEPS * net.dt
        if self.bin_width >= most:  # (the counts are binned in int64 steps)
            raise ValueError(f"RateRecorder.bin_width must be < 2**62 steps of dt = {net.dt!r} "
                             f"s ({most:g} s), got {self.bin_width!r} s")
        bs = int(round(self.bin_width / net.dt))
        if bs < 1 or abs(bs * net.dt - self.bin_width) > 1e-9 * self.bin_width:
            raise ValueError(f"RateRecorder.bin_width must be a whole number of steps of dt = "
                             f"{net.dt!r} s, got {self.bin_width!r} s")
        batch, dt_ms = net.batch, net.dt * MS
        n = self.source.n if self.ids is None else len(self.ids)
        path = f"rates/{base}"
        self.output._claim(path, self)
        if path in f:
            g = f[path]
            info = attr(g, "spikesim", {}, as_json=True)
            counts, tm = g["counts"], g["time"]
            if (info.get("bin_steps") != bs or info.get("n_realizations") != batch
                    or info.get("n_neurons") != n):
                raise ValueError(f"{self.output.path}: /{path} was recorded with another bin "
                                 f"width, batch or neuron count; record under another name")
            if "recorded_ids" in g or not info.get("selection"):
                _refuse_other_neurons(self.output.path, path, g, self.ids)
            elif self.ids is not None:  # some neurons, not named by an earlier spikesim (before
                # 2026-12-04): counting others, even as many, would mix them into its bins
                raise ValueError(f"{self.output.path}: /{path} counts {n} neurons that the file "
                                 f"does not name (an earlier spikesim wrote it without "
                                 f"recorded_ids): an append cannot tell that it counts the same "
                                 f"ones; record under another name (name=...) or to a new file")
            start = int(info["start_step"])
            covered = int(round(tm[1] / dt_ms))
            anew = net.step < start  # all of it is cut: it starts anew
            if covered < net.step:
                raise _gap_error("the rate", path, covered * net.dt, net.t)
            if covered > net.step and not anew and (net.step - start) % bs:
                raise ValueError(f"{self.output.path}: cannot resume /{path} at t = {net.t!r} "
                                 f"s, in the middle of a bin (bins of {self.bin_width!r} s from "
                                 f"t = {start * net.dt!r} s): resume at a multiple of bin_width")
            if dry:
                return
            if anew:
                start = net.step
                set_attrs(g, spikesim={**info, "start_step": start})
                tm[0] = start * dt_ms
            if covered > net.step:  # resuming from an earlier state: cut what follows
                _keep_rows(counts, tm, (net.step - start) // bs, start * dt_ms, bs * dt_ms)
                covered = net.step
        elif dry:
            return
        else:
            start = covered = net.step
            info = {"population": base, "realization": 0, "n_realizations": batch,
                    "n_neurons": n, "bin_steps": bs, "start_step": start,
                    "selection": self.ids is not None}
            g = new_group(_top(f, "rates"), base)
            set_attrs(g, _new=True, spikesim=info)
            counts = new_dataset(g, "counts", (0, batch), np.int64,
                                 (max(1, 4096 // batch), batch), self.output.filters)
            set_attrs(counts, _new=True, units="spikes")
            tm = new_dataset(g, "time", (3,), np.float64,
                             data=np.array([start * dt_ms, start * dt_ms, bs * dt_ms]))
            set_attrs(tm, _new=True, units="ms")
            if self.ids is not None:
                new_dataset(g, "recorded_ids", self.ids.shape, np.uint64, data=self.ids)
        rel = covered - start
        self._counts, self._tm, self._bs, self._start = counts, tm, bs, start
        self._dt_ms, self._covered = dt_ms, covered
        self._held = []  # (first row, counts (rows, B)) counted since the last flush
        if rel % bs == 0:  # the next spikes open a new bin
            self._row0, self._pending = rel // bs, np.zeros(batch, np.int64)
        else:
            self._row0 = rel // bs
            self._pending = counts[self._row0].astype(np.int64)

    def ends_bin(self, step: int) -> bool:
        """Whether global step ``step`` is the end of one of this recorder's bins (True before
        its first run: it has no bins yet)."""
        bs = getattr(self, "_bs", None)
        return not bs or (step - self._start) % bs == 0

    def spikes_in(self, steps: np.ndarray, realizations: np.ndarray, ids: np.ndarray) -> None:
        """Count a chunk's spikes into their bins (written at the next flush)."""
        with self._losing():
            self._cover(steps, realizations, self._net.step)

    def chunk_end(self, step: int) -> None:
        self._cover(np.zeros(0, np.int64), np.zeros(0, np.int64), step)
        super().chunk_end(step)

    def _final(self, t: float) -> None:
        self._cover(np.zeros(0, np.int64), np.zeros(0, np.int64),
                    int(round(t / self._net.dt)))

    def _cover(self, steps, reals, upto: int) -> None:
        """Add spikes and extend the covered time to step ``upto`` (all steps before it done).
        Rows before ``_row0`` are final; row ``_row0`` holds ``_pending`` so far."""
        upto = max(upto, int(steps.max()) + 1 if len(steps) else 0)
        if upto <= self._covered and not len(steps):
            return
        bs, batch, r_lo = self._bs, len(self._pending), self._row0
        rel_bins = (steps - self._start) // bs
        r_hi = max(r_lo, (upto - self._start - 1) // bs)
        n_rows = r_hi - r_lo + 1
        flat = (rel_bins - r_lo) * batch + reals
        counts = np.bincount(flat, minlength=n_rows * batch).reshape(n_rows, batch)
        counts[0] += self._pending
        with no_interrupt():
            self._held.append((r_lo, counts))  # (its first row: the last one held, updated)
            self._covered = max(self._covered, upto)
            self._pending, self._row0 = counts[-1].copy(), r_hi
        self.output._hold(counts.nbytes)

    def _drain(self) -> None:
        """Write the bins counted since the last flush (the rows of each held block from its
        first one on, the later blocks' first rows updating the earlier blocks' last), and the
        time covered."""
        if not self._held:
            return
        lo = self._held[0][0]
        rows = np.concatenate([c[:-1] for _, c in self._held] + [self._held[-1][1][-1:]])
        if self._counts.shape[0] < lo + len(rows):
            self._counts.resize((lo + len(rows), rows.shape[1]))
        self._counts[lo:lo + len(rows)] = rows
        self._tm[1] = self._covered * self._dt_ms
        self._held = []

    def rate(self) -> Trace:
        """The rate in the file (Hz), see :meth:`spikesim.io.RecordedRun.rate`."""
        return load(self.output.path).rate(self._file_name or self._base_name(self.source))

    @property
    def spikes(self) -> NoReturn:
        """Not kept: raises AttributeError (read the counts with :meth:`rate`)."""
        raise AttributeError("a RateRecorder keeps counts per bin, not spikes: use .rate()")


__all__ = ["H5Output", "SpikeRecorder", "StateRecorder", "RateRecorder"]
