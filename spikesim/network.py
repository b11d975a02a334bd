"""The network: populations, inputs, projections and monitors, run in chunks of steps.

Data flow: :class:`Network` → :mod:`.layout` flattens populations, inputs and projections into
tables → one compiled kernel call per chunk (:mod:`spikesim.kernels.cpu`) → the chunk's spikes
and samples go to the monitors / recorders.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, TypeVar

import numpy as np
from numba import config, get_num_threads, set_num_threads, threading_layer

from . import checkpoint, checks
from .distributions import generator
from .inputs import Current, SpikeSource
from .io import flock_held, no_interrupt
from .kernels import cpu as KC
from .kernels import inputs as KI
from .kernels.inputs import CUR_BUFFER, SRC_CONST, SRC_PROB
from .kernels.rng import trial_key
from .layout import (
    Tables,
    build_tables,
    chunk_inputs,
    inv_hazard,
    projection_key,
    refresh_masks,
)
from .models import Param, Population
from .monitors import Monitor, SpikeMonitor, StateMonitor, check_continues
from .progress import ProgressBar
from .projections import Projection

if TYPE_CHECKING:
    import scipy.sparse
    from numpy.typing import DTypeLike

# what Network.add accepts (and returns, as given)
_Member = TypeVar("_Member", bound="Population | SpikeSource | Current | Projection | Monitor")

# When to thread by default: every threaded loop of a step costs a few microseconds of
# launch and barrier (and memory-bound loops scale by well under 2× on 2 cores), so threads pay
# when the step's estimated serial work is at least PARALLEL_MIN_WORK_NS per threaded loop.
# Estimated serial work per unit and step (ns), measured on the 2-core development machine:
NS_NEURON = 0.6  # a neuron with deterministic input
NS_NEURON_RANDOM = 4.0  # a neuron with a random current (noise, OU)
NS_SOURCE = 0.5  # a unit whose firing probability changes per step (constant ones are drawn
# per chunk, outside the threaded loops)
PARALLEL_MIN_WORK_NS = 15_000
# The same under Numba's fallback threading layer "workqueue", which Numba uses where neither
# OpenMP nor TBB can be loaded (a slim container without libgomp, say): it wakes its threads
# through the operating system, about 0.1 ms per threaded loop on the development machine
# against 1 µs with OpenMP, so that CUBA at 400,000 neurons stepped 1.6× slower threaded than
# serially there.
PARALLEL_MIN_WORK_NS_WORKQUEUE = 400_000
_warned_workqueue = False  # whether the threaded kernel ran under "workqueue" in this process
# Set in a process forked (os.fork: multiprocessing's and concurrent.futures' default start
# method on Linux) from one that had started Numba's GNU OpenMP threading layer: libgomp cannot
# run threads after a fork, and Numba ends such a child with SIGTERM when it enters a threaded
# loop (a pool worker vanishes and Pool.map waits forever). Networks then run the serial kernel.
_forked_after_omp = False
_warned_forked = False  # whether that was said in this process
_warned_pool = False  # whether a pool worker was told that it threads on all the cores
# Numba's "workqueue" layer aborts the process when two threads enter its threaded loops at
# once, which the kernels allow (they release the GIL): there, one threaded call at a time
_WORKQUEUE_CALLS = threading.Lock()
MAX_STEPS = 2**53  # steps in one run (step counts are exact in float64 times)
SAMPLE_CHUNK_BYTES = 1 << 26  # the most bytes of state samples (float64) one kernel call
# holds: a call writes a chunk's samples into one buffer, so a StateMonitor or StateRecorder of
# 1e6 neurons every step would otherwise hold 8 GB per chunk of 1000 steps (and the recorder
# as much again while converting it); with more, the call covers fewer steps
REC_SPIKES = 1 << 13  # spikes (16 bytes each) the recording buffers hold per spike monitor,
# at least two steps' worth, up to REC_SPIKES_MAX (see _ChunkRunner)
REC_SPIKES_MAX = 1 << 18  # (4 MiB: under NumPy's 4 MiB huge-page threshold per array)
_LOADED: set = set()  # (id of a chunk kernel, dtype) loaded or compiled in this process
FINITE_CHECK_STEPS = 1000  # the state is checked for NaN and inf at most this many steps apart
# (and at a run's end): a check reads the whole state, as much as a step of a simple model


class _Setting:
    """A setting of :class:`Network`, checked whenever it is assigned (``check(net, value)``
    returns it converted). One the build reads (``fixed``: dt, seed, dtype, batch, backend) —
    the kernel's tables, the state and every monitor's times (kept as steps, read as steps·dt)
    depend on it — raises AttributeError when assigned once the network is built; the others
    (chunk, threads, parallel) may change between runs."""

    def __init__(self, check: Callable[[Network, object], object], fixed: bool = True):
        self.check, self.fixed = check, fixed

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, net: Network | None, owner: type | None = None) -> object:
        if net is None:
            return self
        try:
            return net.__dict__[self.name]
        except KeyError:  # (a Network not made by its constructor: hasattr and getattr work)
            raise AttributeError(f"Network has no {self.name} yet") from None

    def __set__(self, net: Network, value: object) -> None:
        if self.fixed and net.__dict__.get("tables") is not None:
            raise AttributeError(
                f"Network.{self.name} cannot change once the network is built (its first run "
                f"or compile): the kernel's tables and state were made with {self.name} = "
                f"{net.__dict__[self.name]!r}, and the times of the data recorded so far are "
                f"steps of dt; build a new Network. What may change between runs: chunk, "
                f"threads, parallel, a source's rate, p, data, times and ids, a given current's "
                f"values, the monitors, and the state's values in place")
        net.__dict__[self.name] = self.check(net, value)


def _checked_seed(net: Network, seed: object) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not (
            0 <= seed < 2**63):
        raise ValueError(f"seed must be an integer in [0, 2**63), got {seed!r}")
    return int(seed)


_CPU_ONLY = {  # settings of the CPU backend only: what each one is
    "threads": "threads sets the Numba threads of the CPU backend",
    "parallel": "parallel chooses the threaded or the serial kernel of the CPU backend"}


def _not_for(backend: str, name: str, value: object) -> ValueError:
    """The error of the CPU-only setting ``name`` given ``value`` (not None) on ``backend``."""
    return ValueError(f"{_CPU_ONLY[name]}: it does not apply to backend={backend!r}, got "
                      f"{name}={value!r}; leave it None")


def _cpu_only(net: Network, name: str, value: object) -> object:
    """``value`` of the CPU-only setting ``name``: refused (unless None) on another backend."""
    backend = net.__dict__.get("backend", "cpu")
    if value is not None and backend != "cpu":
        raise _not_for(backend, name, value)
    return value


def _checked_threads(value: object) -> int:
    """``threads``: at least 1 and at most the NUMBA_NUM_THREADS that Numba starts in this
    process, which the message explains (joblib sets it to each worker's share of the cores,
    so "must be <= 1" alone read as a bug there)."""
    n = checks.count("threads", value)
    if n > config.NUMBA_NUM_THREADS:
        why = ("NUMBA_NUM_THREADS, set in this process's environment (joblib sets it in its "
               "workers to their share of the cores)" if "NUMBA_NUM_THREADS" in os.environ
               else "NUMBA_NUM_THREADS, by default the number of cores")
        raise ValueError(f"threads must be <= {config.NUMBA_NUM_THREADS}, got {n}: Numba "
                         f"starts at most {why}")
    return n


def _checked_backend(net: Network, value: object) -> str:
    backend = checks.choice("backend", value, ("cpu", "cuda"))
    for name in _CPU_ONLY:  # (before the GPU is looked for)
        if backend != "cpu" and net.__dict__.get(name) is not None:
            raise _not_for(backend, name, net.__dict__[name])
    if backend == "cuda":
        from .cuda import require_cuda
        require_cuda()
    return backend


class Network:
    """A simulation: add populations, inputs, projections and monitors, then ``run``.

    Args:
        dt: time step (s), > 0.
        seed: an integer in [0, 2**63); the same seed gives bit-identical results whatever the
            chunk size and thread count.
        dtype: float64 (default) or float32 state and parameters.
        batch: number B of independent realizations run together; each has its own random
            streams, and parameters given as (B, n) arrays differ between them. The
            connectivity, and parameters neither drawn from a Distribution nor given per
            realization, are the same in all: a batch gives trials of one network (the
            variability of its input and initial state), not networks drawn with other seeds
            (for those, one Network per seed, as a Brian2 loop over seeds).
        parallel: run the loops over neurons, sources and synapses on all Numba threads;
            default: when the network is large enough for threads to pay (about 25,000
            neurons with deterministic input, 4,000 with random currents, more for several
            populations and projections: see ``_parallel``; about 25 times as many where
            Numba threads with its slow "workqueue" layer for want of OpenMP or TBB, where a
            threaded run warns once; never with one thread: ``threads=1``,
            NUMBA_NUM_THREADS=1 or ``numba.set_num_threads(1)``; never in a process forked
            after Numba's GNU OpenMP threads started, which warns once and runs serially: see
            ``_parallel``). CPU backend only (refused with ``backend="cuda"``).
        threads: number of Numba threads, 1 to NUMBA_NUM_THREADS (default: Numba's default,
            all cores; 1: the serial kernel unless ``parallel=True``). CPU backend only
            (refused with ``backend="cuda"``).
        chunk: steps per kernel call (default 1000); monitors receive data once per chunk.
            Chunks end at whole multiples of ``chunk`` steps from t = 0 (a run from another
            step starts with a shorter one), so that a run continued from any step still
            reaches the ends of a ``RateRecorder``'s bins between chunks (where the command
            line's periodic checkpoints wait for them).
        backend: "cpu" (default) or "cuda": run the kernels on an NVIDIA GPU with numba-cuda
            (``pip install spikesim[cuda]``; or on the CUDA simulator with
            ``NUMBA_ENABLE_CUDASIM=1``). Same seed, same spikes on both (see
            :mod:`spikesim.cuda`).

    Example::

        net = Network(dt=1e-3, seed=1)
        lif = net.add(LIF(1000, tau_mem=10e-3, tau_syn=5e-3, v_th=0.3))
        inp = net.add(BernoulliInput(1000, p=0.01))
        net.connect(inp, lif, "one_to_one", weight=1.0)
        mon = net.add(SpikeMonitor(lif))
        net.run(1.0)
        mon.spikes.times
    """

    dt = _Setting(lambda net, v: checks.number("dt", v, low=0.0, low_open=True, unit="s"))
    seed = _Setting(_checked_seed)
    dtype = _Setting(lambda net, v: checks.float_dtype("dtype", v))
    batch = _Setting(lambda net, v: checks.count("batch", v))
    backend = _Setting(_checked_backend)
    chunk = _Setting(lambda net, v: checks.count("chunk", v), fixed=False)
    threads = _Setting(lambda net, v: _cpu_only(net, "threads", None if v is None else
                                                _checked_threads(v)), fixed=False)
    parallel = _Setting(lambda net, v: _cpu_only(net, "parallel", checks.flag(
        "parallel", v, none=True)), fixed=False)  # None: by the size of the network

    def __init__(self, dt: float, seed: int = 0, dtype: DTypeLike = np.float64, batch: int = 1,
                 parallel: bool | None = None, threads: int | None = None, chunk: int = 1000,
                 backend: str = "cpu"):
        self.dt, self.seed, self.dtype, self.batch = dt, seed, dtype, batch  # (checked)
        self.parallel, self.threads, self.chunk = parallel, threads, chunk
        self.backend = backend  # (last: it refuses threads or parallel given for another one)
        self.populations: list[Population] = []
        self.sources: list[SpikeSource] = []
        self.currents: list[Current] = []
        self.projections: list[Projection] = []
        self.monitors: list[Monitor] = []
        # id() of everything added, and of the populations and spike sources (the lists keep
        # them alive): ``add`` and ``_check_members`` test membership in O(1) rather than by a
        # scan of the lists, which made adding J projections O(J²) (10,000: 1.9 s)
        self._added: set[int] = set()
        self._unit_ids: set[int] = set()
        self.step = 0  # global steps done
        self.run_steps = 0  # steps of the run in progress (or of the last one)
        self.tables: Tables | None = None
        self.state: dict[str, np.ndarray] = {}
        self._live: _ChunkRunner | None = None  # the runner of the run in progress
        self._last_runner: _ChunkRunner | None = None  # the CPU runner of the last run
        self._const_p: dict[int, np.ndarray] = {}  # constant sources' p (n,), as last drawn
        self._snapshots: dict[str, checkpoint.Snapshot] = {}  # store(name) -> restore(name)
        # the trial whose key the random inputs are drawn with (0, then a new one at each
        # restore that draws new inputs: see restore), and the last trial started
        self._trial = self._trials = 0

    def __repr__(self) -> str:
        def listed(items, limit: int = 4) -> str:
            shown = [f"{o.name} ({type(o).__name__}, {o.n})" for o in items[:limit]]
            more = [f"+{len(items) - limit} more"] if len(items) > limit else []
            return ", ".join(shown + more)

        head = [f"dt={self.dt:g} s", f"seed={self.seed}"]
        if self.dtype != np.float64:
            head.append(f"dtype={self.dtype.name}")
        if self.batch > 1:
            head.append(f"batch={self.batch}")
        if self.backend != "cpu":
            head.append(f"backend={self.backend!r}")
        head.append(f"t={round(self.t, 12):g} s" if self.tables is not None else "not built")
        parts = [", ".join(head)]
        if self.populations:
            parts.append(f"populations: {listed(self.populations)}")
        if self.sources:
            parts.append(f"sources: {listed(self.sources)}")
        counts = [f"{len(items)} {what}" for items, what in (
            (self.currents, "currents"), (self.projections, "projections"),
            (self.monitors, "monitors")) if items]
        if counts:
            parts.append(", ".join(counts))
        return f"Network({'; '.join(parts)})"

    @property
    def t(self) -> float:
        """Simulated time reached (s)."""
        return self.step * self.dt

    # -- assembling -------------------------------------------------------------------------
    def add(self, obj: _Member, name: str | None = None) -> _Member:
        """Add a population, spike source, current, projection or monitor; returns it."""
        lists = ((Population, self.populations), (SpikeSource, self.sources),
                 (Current, self.currents), (Projection, self.projections),
                 (Monitor, self.monitors))
        kind, items = next(((k, lst) for k, lst in lists if isinstance(obj, k)), (None, None))
        if kind is None:
            raise TypeError(f"cannot add a {type(obj).__name__} to a Network")
        if self.tables is not None and kind is not Monitor:
            raise RuntimeError("the network has already run: add populations, inputs and "
                               "projections before the first run (monitors may be added later)")
        if id(obj) in self._added and any(o is obj for o in items):  # (a monitor removed from
            # net.monitors may be added again, and a new object may take a freed one's id)
            raise ValueError(f"this {type(obj).__name__} was already added")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"name must be a str or None, got {name!r}")
        if isinstance(obj, (Population, SpikeSource)):
            given = name or obj.name or f"{type(obj).__name__.lower()}{len(items)}"
            if given != obj.name:  # (one built in another network keeps its name: refused)
                obj.name = given
            if not isinstance(obj.name, str):  # (given to its constructor)
                raise TypeError(f"the {type(obj).__name__}'s name must be a str, got "
                                f"{obj.name!r}")
            if obj.name in self.names:
                raise ValueError(f"name {obj.name!r} is already used in this network")
        elif name is not None:
            obj.name = name
        self._check_members(obj)
        if kind is Monitor:
            owner = getattr(obj, "_network", None)
            if owner is not None and owner() is not self:  # (its data would mix both)
                raise ValueError(f"this {type(obj).__name__} was added to another network: a "
                                 f"monitor records one network; make a new one for this one")
            check_continues(obj, self.t, self.dt)  # (one removed and added back later)
            obj._network = weakref.ref(self)
            # what it reports before a run (``begin`` sets them again)
            obj.dt, obj.n_realizations = self.dt, self.batch
        items.append(obj)
        self._added.add(id(obj))
        if isinstance(obj, (Population, SpikeSource)):
            self._unit_ids.add(id(obj))
        return obj

    @property
    def names(self) -> dict[str, Population | SpikeSource]:
        """Populations and spike sources by name."""
        return {o.name: o for o in self.populations + self.sources}

    _REFS = ((Current, ("target",)), (Projection, ("pre", "post")),
             (SpikeMonitor, ("source",)), (StateMonitor, ("population",)))

    def _check_members(self, obj) -> None:
        """Raise unless the populations and sources that ``obj`` refers to are in the network."""
        attrs = next((a for kind, a in self._REFS if isinstance(obj, kind)), ())
        for a in attrs:
            if id(getattr(obj, a)) not in self._unit_ids:
                raise ValueError(f"the {type(obj).__name__}'s {a} is not in this network: "
                                 f"add it first")

    def connect(self, pre: Population | SpikeSource, post: Population, rule: str = "all_to_all",
                **kw: Param | scipy.sparse.spmatrix | scipy.sparse.sparray | str | None,
                ) -> Projection:
        """Add a :class:`~spikesim.projections.Projection` (see there for rules and args)."""
        return self.add(Projection(pre, post, rule, **kw))

    def connections(self, projection: Projection) -> tuple[np.ndarray, np.ndarray,
                                                            np.ndarray, np.ndarray]:
        """The synapses of ``projection`` (one of this network's) as the network builds them:
        ``(pre, post, weight, delay)``, one value per synapse — the presynaptic unit and the
        target neuron (int64 indices within ``projection.pre`` and ``projection.post``), the
        weight (in the target's input unit, rounded to the network's dtype) and the delay (s,
        whole steps of dt, at least one) — in the order of the rule (see
        :class:`~spikesim.projections.Projection`'s ``weight``). They are drawn again from the
        network's seed and the projection's place, the draws of the build, so they can be
        read before or after a run (for in-degrees, a weight matrix:
        ``scipy.sparse.coo_matrix((weight, (pre, post)), (pre_n, post_n))``, or to save the
        connectivity); a network of many synapses holds them twice meanwhile."""
        j = next((j for j, pr in enumerate(self.projections) if pr is projection), None)
        if j is None:
            raise ValueError(f"the {type(projection).__name__} is not in this network: "
                             f"connect it first (Network.connect or Network.add)")
        pre, post, w, d = projection.synapses(self.dt, generator(projection_key(self.seed, j)))
        n = pre.shape[0]
        return (pre.astype(np.int64), post.astype(np.int64),
                np.broadcast_to(np.asarray(w, self.dtype), (n,)).astype(np.float64),
                np.broadcast_to(d, (n,)) * self.dt)

    # -- running --------------------------------------------------------------------------
    def build(self) -> None:
        """Flatten the network into kernel tables and the initial state (done by ``run``).
        The threaded kernel splits spike propagation into one target range per thread (the
        results do not depend on the split)."""
        if self.tables is None:
            members = (*self.populations, *self.sources, *self.currents, *self.projections)
            self._recheck(members)  # (those assigned since they were added)
            threaded = self.backend == "cpu" and self._parallel()  # (CUDA: no CPU threads,
            # no word about them, and Numba's threading layer left unstarted)
            self.tables, self.state = build_tables(
                self.populations, self.sources, self.currents, self.projections, self.dt,
                self.batch, self.dtype, self.seed,
                (self.threads or get_num_threads()) if threaded else 1)
            for obj in members:  # (from now on, assigning what the tables hold raises)
                obj._built = True
            self._state_layout = {k: (a.shape, a.dtype) for k, a in self.state.items()}

    def _check_state(self) -> None:
        """Raise unless ``state`` holds the arrays the build made, of their shapes and dtypes
        (its values may change between runs; an array of another shape would be read past its
        end by the kernel)."""
        for name, (shape, dtype) in self._state_layout.items():
            a = self.state.get(name)
            if (type(a) is not np.ndarray or a.shape != shape or a.dtype != dtype
                    or not a.flags.c_contiguous):
                got = (f"shape {a.shape}, dtype {a.dtype}" if isinstance(a, np.ndarray)
                       else repr(type(a).__name__))
                raise ValueError(f"net.state[{name!r}] must stay a C-ordered array of shape "
                                 f"{shape} and dtype {dtype} (change its values in place: "
                                 f"net.state[{name!r}][...] = ...), got {got}")

    def _recheck(self, members) -> None:
        """The constructor's checks again of each member that had an attribute assigned since
        it was added (or last checked): it refers to members of this network, and its own
        values."""
        for obj in members:
            if obj._dirty:
                self._check_members(obj)
                obj.recheck()
                if isinstance(obj, SpikeSource) and obj.realizations() not in (1, self.batch):
                    # (build_tables checks it once; data given anew between runs is read with
                    # the network's batch: another count reads other realizations' rows)
                    raise ValueError(f"{type(obj).__name__} {obj.name!r} has data for "
                                     f"{obj.realizations()} realizations, but the network runs "
                                     f"batch = {self.batch}")
                obj._dirty = False

    def _parallel(self) -> bool:
        """Whether the CPU kernel runs threaded: ``parallel``, or by default when the estimated
        serial work per step is at least PARALLEL_MIN_WORK_NS per threaded loop (one per
        population and drawn spike source, and one for the spike propagation), or
        PARALLEL_MIN_WORK_NS_WORKQUEUE under Numba's slow "workqueue" threading layer. Never
        in a process forked after Numba's GNU OpenMP layer started (see _forked_after_omp),
        where it warns once and runs serially (the same results)."""
        threaded = self._threads_wanted()
        if threaded and _forked_after_omp:
            _warn_forked()
            return False
        if threaded and self.parallel is None and self.threads is None:
            _warn_if_pool_worker()
        return threaded

    def _threads_wanted(self) -> bool:
        if self.parallel is not None:
            return self.parallel
        if (self.threads or _numba_threads()) == 1:  # (the serial kernel does the same,
            return False  # without the threaded loops' costs)
        noisy = {id(c.target) for c in self.currents if c.kind != CUR_BUFFER}
        drawn = [s for s in self.sources if s.mode == SRC_PROB]
        work = self.batch * (
            sum(p.n * (NS_NEURON_RANDOM if id(p) in noisy else NS_NEURON)
                for p in self.populations) + NS_SOURCE * sum(s.n for s in drawn))
        loops = len(self.populations) + len(drawn) + bool(self.projections)
        if work < PARALLEL_MIN_WORK_NS * loops:
            return False
        return (_threading_layer() != "workqueue"
                or work >= PARALLEL_MIN_WORK_NS_WORKQUEUE * loops)

    def compile(self) -> float:
        """Build the network and load its compiled kernels without advancing time: on the
        first use on a machine Numba compiles them (about a minute), later it loads them from
        its disk cache (under a second). ``run`` does this itself; call it first to keep the
        compilation out of a timed run. Returns the seconds it took (s), building included.
        (The event lists of given spike arrays that are recorded compile at their first use,
        in about a second; the CUDA backend compiles its kernels at their first launch, in
        ``run``.)"""
        t0 = time.perf_counter()
        with _compile_lock():
            self.build()
            self._runner().compile()
        return time.perf_counter() - t0

    def run(self, duration: float,
            progress: Callable[[int, int], object] | bool | None = None) -> None:
        """Advance by ``duration`` seconds (rounded to whole steps), continuing from where the
        last run stopped. ``progress``: True shows a progress bar (simulated against wall time,
        for runs over half a second; a widget in a notebook); a function is called after each
        chunk with (steps done, total)."""
        duration = checks.number("duration", duration, low=0.0, unit="s")
        if progress is not None and not isinstance(progress, bool) and not callable(progress):
            raise TypeError(f"progress must be True, False, None or a function of (steps done, "
                            f"total), got {progress!r}")
        checks.warn_unless_whole_steps("duration", duration, self.dt)
        if duration / self.dt > MAX_STEPS:
            raise ValueError(f"duration must be at most {MAX_STEPS} steps of dt = {self.dt!r} s "
                             f"({MAX_STEPS * self.dt:.3g} s), got {duration!r} s")
        n_total = int(round(duration / self.dt))
        self.run_steps = n_total
        if self.tables is not None:  # what may change between runs (build checks the rest)
            self._recheck([*self.sources, *self.currents])
            self._check_state()
        self.build()
        self._redraw_changed_sources()
        kernel = self._runner()
        loaded = (id(kernel.kernel), self.dtype)  # (Dispatcher.signatures costs 50 µs)
        if kernel.kernel is not None and loaded not in _LOADED:  # not loaded in this process
            with _compile_lock():  # (a cold cache: one process compiles, the others load)
                kernel.compile()
            _LOADED.add(loaded)
        outer, self._live = self._live, kernel  # (outer: a run that called this one)
        monitors, begun = list(self.monitors), []
        completed = False
        # (the serial kernel leaves Numba's threads alone: asking for their number starts its
        # threading layer, and a process that started GNU OpenMP cannot run threads in forks)
        threaded = kernel.kernel is KC.run_chunk_parallel
        old_threads = None if self.threads is None or not threaded else get_num_threads()
        bar = ProgressBar(self.dt) if progress is True else None
        progress = bar or (progress or None)
        try:
            for m in monitors:  # a failing begin still ends the monitors begun before it
                m.begin(self)
                begun.append(m)
            if old_threads is not None:
                set_num_threads(self.threads)
            done = unchecked = 0
            chunk = self._chunk_steps(monitors)
            with no_interrupt() as stop_if_interrupted:  # Ctrl-C waits for the chunk's end:
                while done < n_total:  # the state, its step and the monitors then agree
                    n = min(chunk - self.step % chunk, n_total - done)  # (ends at k·chunk)
                    try:
                        kernel.run(self.step, n)
                    except BaseException:
                        self.step = kernel.reached  # the step the state has reached
                        raise
                    self.step += n
                    done, unchecked = done + n, unchecked + n
                    if unchecked >= FINITE_CHECK_STEPS or done == n_total:
                        self._check_finite(kernel)
                        unchecked = 0
                    stop_if_interrupted()
                    for m in monitors:
                        m.chunk_end(self.step)
                    if progress is not None:
                        progress(done, n_total)
                    stop_if_interrupted()
            completed = True
        finally:
            if bar is not None:
                bar.close()
            if old_threads is not None:
                set_num_threads(old_threads)
            try:
                with no_interrupt():  # the state comes back whole (CUDA: device -> host)
                    kernel.close()
            finally:
                self._live = outer
                if kernel is self._last_runner and kernel is not outer:  # kept for the next
                    kernel.net = None  # run, without a reference back (a cycle: the network's
                    # arrays freed by the GC); not while a run that called this one uses it
                errors = []  # every monitor ends (a recorder closes its file); then the first
                for m in begun:  # error is raised
                    try:
                        m.end(completed, self.t)
                    except BaseException as e:
                        errors.append(e)
                if errors:
                    raise errors[0]

    def _const_probabilities(self, step: int | None = None) -> dict[int, np.ndarray]:
        """The firing probability p (n,) at ``step`` (default: the current one) of each
        constant-probability source, by index; one made time-varying is refused (its mode is
        fixed). Changes nothing, so that a caller can check before it changes the network."""
        step = self.step if step is None else step
        ps: dict[int, np.ndarray] = {}
        for s, so in enumerate(self.sources):
            if so.mode != SRC_CONST:
                continue
            p = np.asarray(so.probabilities(np.array([step, step + 1]), self.dt), np.float64)
            if p.shape[0] != 1:
                raise ValueError(f"{type(so).__name__} {so.name!r} was made with a constant "
                                 f"firing probability and cannot become time-varying: make a "
                                 f"new source")
            ps[s] = np.broadcast_to(p.reshape(-1), (so.n,)).copy()
        return ps

    def _redraw_changed_sources(self, every: bool = False,
                                probabilities: dict[int, np.ndarray] | None = None) -> None:
        """Constant-probability sources whose probability changed since their next firings
        were drawn (a rate, p or data given anew between runs) draw them again from the
        current step with the new one (``every``: all of them, as with new random inputs:
        see :meth:`restore`; ``probabilities``: :meth:`_const_probabilities`, if already
        computed); one made time-varying is refused (its mode is fixed)."""
        tb, nxt = self.tables, self.state["nxt"]
        ps = self._const_probabilities() if probabilities is None else probabilities
        for s, p in ps.items():
            so = self.sources[s]
            old = self._const_p.get(s)
            self._const_p[s] = p
            if every:
                changed = np.arange(so.n)
            elif old is not None:
                changed = np.flatnonzero(old != p)
            else:  # (first drawn at the first run)
                changed = np.zeros(0, np.int64)
            if changed.size:
                first = tb.src[s, KI.UNIT]
                KI.redraw_next(nxt, first + changed, tb.src[s, KI.SSTREAM] + changed,
                               inv_hazard(p[changed]), self.step, self._noise_key(),
                               tb.n_streams)

    def _chunk_steps(self, monitors: list) -> int:
        """Steps per kernel call: ``chunk``, or fewer when the state monitors would sample more
        than SAMPLE_CHUNK_BYTES in one (the results do not depend on the chunk size)."""
        steps = self.chunk
        for m in monitors:
            if isinstance(m, StateMonitor):
                row = 8 * self.batch * len(m.variables) * len(m.ids)  # bytes per sample
                steps = min(steps, max(1, SAMPLE_CHUNK_BYTES // row) * m.every)
        return steps

    def store(self, name: str = "default") -> None:
        """Keep the simulation's present point in memory as ``name``: the state, the time and
        what each in-memory monitor holds, for :meth:`restore` to come back to (Brian2's
        ``store``; :func:`~spikesim.save_checkpoint` writes the state to a file instead).
        Builds the network if needed; a copy of ``state``, so it costs the state's memory
        (the monitors' data is shared with them, and a monitor removed and dropped since is
        freed)."""
        checkpoint.store(self, name)

    def _noise_key(self) -> np.uint64:
        """The RNG key of the random inputs from here on: the seed's, in trial ``_trial``."""
        return trial_key(self.seed, self._trial)

    def restore(self, name: str = "default", noise: str = "new") -> None:
        """Return to the point :meth:`store` kept as ``name``: the state and ``t`` as they were
        then, and each ``SpikeMonitor`` and ``StateMonitor`` of ``net.monitors`` holding what
        it held then (one added since: nothing; one removed since is left as it is, holding
        what it recorded — a trial's data, say). What was given anew since (rates, currents,
        state) applies as between any two runs: a common warm-up, then one trial per
        stimulus. The point stays stored.

        ``noise``: "new" (the default, as Brian2's ``restore``) draws the random inputs from
        there on anew — Poisson and Bernoulli firings, noise currents, Poisson drives — so
        that trials are independent; each such restore draws other ones, and a script that
        runs again draws the same (the n-th restore drawing new inputs takes the seed's n-th
        trial key; one with "same" takes none).
        "same" draws them as after the store, so that the same inputs repeat the run after
        it bit for bit (Brian2's ``restore_random_state=True``). Refused where an HDF5
        recorder (or a monitor of your own) has recorded past that point: a file does not go
        back."""
        checkpoint.restore(self, name, noise)

    def sync_state(self) -> None:
        """Bring ``net.state`` up to ``net.step`` during a run (from a progress callback or a
        monitor): the CUDA backend copies the device state back; nothing to do on the CPU.
        Change the state between runs, not during one: the CUDA backend does not copy it to
        the device again before the run ends."""
        if self._live is not None:
            self._live.sync_to_host()

    def _check_finite(self, kernel: _ChunkRunner) -> None:
        """Raise FloatingPointError, naming the population and variable, when the state
        ``kernel`` holds became NaN or infinite: a weight, current or noise too large for
        the dtype (on the CUDA device too, where the values are counted before any come
        back; ``run`` calls this at most FINITE_CHECK_STEPS steps apart)."""
        state = kernel.host_state()
        if state is None:  # (all finite)
            if kernel.sample_error is not None:  # but a monitor sampled NaN or infinity
                raise kernel.sample_error
            return
        arrays = {KC.VAR_V: state["v"], KC.VAR_I: state["i"], KC.VAR_W: state["w"]}
        for q, p in enumerate(self.populations):
            lo = int(self.tables.pops[q, KC.P_OFF])
            for var in p.variables:  # only what the model has (RC: v)
                values = arrays[p.slots[var]][:, lo:lo + p.n]
                if not np.isfinite(values).all():
                    raise FloatingPointError(
                        f"{type(p).__name__} {p.name!r}: {var} became NaN or infinite in "
                        f"{np.count_nonzero(~np.isfinite(values))} neuron(s) by t = "
                        f"{self.t:g} s — a weight, current or noise too large for "
                        f"{self.dtype.name}? The run stops; its data up to here is kept")
        if kernel.sample_error is not None:  # the state is finite, but a monitor sampled NaN
            raise kernel.sample_error

    def _runner(self) -> _ChunkRunner:
        """The runner of the next run (the monitors, which may change between runs, checked
        again first)."""
        for m in self.monitors:
            self._check_members(m)
            recheck = getattr(m, "recheck", None)  # (a Monitor of the user's may have none)
            if recheck is not None:
                recheck()
        if self.backend == "cuda":
            from .cuda import CudaChunkRunner
            return CudaChunkRunner(self)
        if not self._parallel():
            kernel = KC.run_chunk_serial
        else:
            _warn_if_workqueue()
            kernel = KC.run_chunk_parallel
        # the last run's runner again, when nothing it was made from changed: its buffers are
        # scratch (the state is net.state), and making it anew was most of the cost of a
        # short run (a closed loop's net.run(dt): 90 µs a call for 1000 neurons)
        last = self._last_runner
        if last is not None and last.kernel is kernel and last.still_fits(self):
            last.net, last.reached, last.sample_error = self, self.step, None
            return last
        self._last_runner = _ChunkRunner(self, kernel)
        return self._last_runner


@contextlib.contextmanager
def _compile_lock() -> Iterator[None]:
    """Hold an exclusive lock on a file in the kernels' cache folder: processes started
    together on a cold cache (a batch of jobs) then compile the kernels one after the other,
    and those that wait load what the first saved, in a second, instead of each compiling
    them on cores the others need. Nothing is locked where the folder is not writable or the
    file system has no locks (each process then compiles as before)."""
    from .kernels import _cache_folder, _here
    # the folder Numba caches the kernels in: the installation's __pycache__, or
    # ~/.cache/numba/... where that is read-only (a shared install), or NUMBA_CACHE_DIR's
    folder = getattr(getattr(KC.run_chunk_serial, "_cache", None), "_cache_path", None)
    folder = _cache_folder(_here) if folder is None else folder
    with contextlib.suppress(OSError):
        os.makedirs(folder, exist_ok=True)
    with flock_held(os.path.join(folder, "spikesim-compile.lock"), os.O_RDWR | os.O_CREAT):
        yield


def _numba_threads() -> int:
    """The threads Numba's threaded loops would use now, without starting its threading layer
    (a process that started GNU OpenMP cannot thread in its forks): ``get_num_threads()``
    once the layer has started (``numba.set_num_threads`` starts it), else
    NUMBA_NUM_THREADS."""
    numba_parallel = sys.modules.get("numba.np.ufunc.parallel")
    if numba_parallel is not None and getattr(numba_parallel, "_is_initialized", False):
        return min(get_num_threads(), config.NUMBA_NUM_THREADS)
    return config.NUMBA_NUM_THREADS


def _threading_layer() -> str:
    """The Numba threading layer of the threaded kernel: "omp", "tbb" or "workqueue"."""
    get_num_threads()  # starts the layer; threading_layer() refuses to answer before
    return threading_layer()


def _note_fork_in_child() -> None:
    """(os.register_at_fork, in the child) Note a fork after Numba started its threading
    layer with GNU OpenMP (see _forked_after_omp)."""
    global _forked_after_omp
    numba_parallel = sys.modules.get("numba.np.ufunc.parallel")  # (no imports in a fork hook)
    omppool = sys.modules.get("numba.np.ufunc.omppool")
    if (numba_parallel is not None and omppool is not None
            and getattr(numba_parallel, "_is_initialized", False)
            and getattr(numba_parallel, "_threading_layer", None) == "omp"
            and getattr(omppool, "openmp_vendor", "GNU") == "GNU"):  # (Intel's is fork-safe)
        _forked_after_omp = True


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_note_fork_in_child)


def _warn_forked() -> None:
    """Once per process, when a threaded run is made serial in a process forked after GNU
    OpenMP started."""
    global _warned_forked
    if not _warned_forked:
        _warned_forked = True
        checks.warn("this process was forked (the default start method of multiprocessing and "
                    "concurrent.futures on Linux) from one that had started Numba's GNU OpenMP "
                    "threads, which cannot run after a fork (Numba would end this process): "
                    "networks run serially here, with the same results. For threads in "
                    "worker processes, start them with multiprocessing.get_context('spawn') or "
                    "'forkserver' (mp_context= for a ProcessPoolExecutor)")


def _warn_if_pool_worker() -> None:
    """Once per process, when a process started by multiprocessing (a pool's worker, most
    likely: which it is cannot be told) threads by default on all the cores (neither
    NUMBA_NUM_THREADS set for it nor numba.set_num_threads called, as a pool's initializer
    may)."""
    global _warned_pool
    if (not _warned_pool and multiprocessing.parent_process() is not None
            and "NUMBA_NUM_THREADS" not in os.environ
            and get_num_threads() == config.NUMBA_NUM_THREADS):  # (the layer has started)
        _warned_pool = True
        checks.warn(f"this process was started by multiprocessing (as the workers of a process "
                    f"pool are: multiprocessing, concurrent.futures) and runs this network on "
                    f"all {config.NUMBA_NUM_THREADS} Numba threads by default: workers running at "
                    f"once then have more threads than there are cores, and each of the "
                    f"kernel's threaded loops (several a step) waits for threads that are not "
                    f"running (2 workers on 2 cores: 2-100x slower than serial runs). Give each "
                    f"worker its share of the cores, Network(threads=...), or parallel=False")


def _warn_if_workqueue() -> None:
    """Once per process, when the threaded kernel is about to run under "workqueue"."""
    global _warned_workqueue
    if not _warned_workqueue and _threading_layer() == "workqueue":
        _warned_workqueue = True
        checks.warn("Numba found neither OpenMP nor TBB and threads with its 'workqueue' layer, "
                    "whose every threaded loop costs about 0.1 ms: a threaded run is slower "
                    "than a serial one unless its populations have several hundred thousand "
                    "neurons. Install the GNU OpenMP runtime (Debian/Ubuntu: apt install "
                    "libgomp1), or pass parallel=False")


class _ChunkRunner:
    """Buffers of one run and the dispatch of each chunk's output to the monitors."""

    draws_per_chunk = True  # constant-probability firings drawn per chunk (nxt: its end)

    def __init__(self, net: Network, kernel):
        self.made_from = _made_from(net)
        self.net, self.kernel = net, kernel
        self.reached = net.step  # the step the state has reached (Network.run, after an error)
        self.key = net._noise_key()  # the network's RNG key (uint64)
        tb = net.tables
        # (index, first unit) of each constant-probability source, whose firings are drawn
        self.const_sources = [(s, int(tb.groups[len(net.populations) + s, 0]))
                              for s, so in enumerate(net.sources) if so.mode == SRC_CONST]
        self.groups = list(net.populations) + list(net.sources)
        self.group_of = {id(o): g for g, o in enumerate(self.groups)}
        self.spike_monitors = [m for m in net.monitors if isinstance(m, SpikeMonitor)]
        self.state_monitors = [m for m in net.monitors if isinstance(m, StateMonitor)]
        recorded = {self.group_of[id(m.source)] for m in self.spike_monitors}
        self.rec_flag = np.zeros(len(self.groups), np.int64)
        self.rec_flag[list(recorded)] = 1
        sizes = tb.groups[:, 1].tolist()  # (Python numbers: these arrays are tiny)
        self.rec_room = sum(sizes[g] for g in recorded) * net.batch
        self.unlisted = self._mask_only(net, recorded)
        self.one_group = len(recorded) == 1  # every recorded spike is its monitors'
        # the kernel returns when fewer than rec_room places are left, and each return costs a
        # pass over the spike monitors in Python: room for 2·rec_room returned every
        # 1/(rate·dt) steps whatever the network's size (every 25 steps at 40 Hz), which with
        # 1000 monitors took most of the run. The room grows with the monitors: a small
        # network runs in well under 1 ms, where mapping 4 MiB of buffers costs 20 µs
        cap = max(2 * self.rec_room,
                  min(REC_SPIKES * max(len(self.spike_monitors), 1), REC_SPIKES_MAX))
        self.rec = (np.empty(cap, np.int64), np.empty(cap, np.int32), np.empty(cap, np.int32))
        self.spk = np.zeros((net.batch, max(sum(sizes), 1)), np.int32)
        self.spk_ptr = np.zeros((net.batch, len(self.groups) + 1), np.int64)

        def blocks(sizes) -> int:  # the most blocks of KC.BLOCK units of one group
            return max([(n + KC.BLOCK - 1) // KC.BLOCK for n in sizes] + [1])

        self.blk_cnt = np.zeros(net.batch * blocks(sizes), np.int64)
        n_blocks = net.batch * blocks(p.n for p in net.populations)  # neuron blocks' scratch
        n_slots = net.state["v"].shape[1] // KC.BLOCK + len(net.populations) + 1
        lists = (net.batch, n_slots, KC.LIST_MAX)  # refractory neurons of each block
        self.scratch = (np.zeros((n_blocks, KC.BLOCK), net.dtype),
                        np.zeros((n_blocks, KC.BLOCK), np.bool_),
                        np.zeros(lists, np.int32), np.zeros(lists, np.int32),
                        np.zeros(lists[:2], np.int32))
        probes, mons = [], []
        for m in self.state_monitors:
            q = self.group_of[id(m.population)]  # (populations are the first groups)
            first = len(probes)
            probes += [(m.population.slots[var], tb.pops[q, KC.P_OFF] + j)
                       for var in m.variables for j in m.ids]
            mons.append([m.every, 0, 0, len(probes) - first, first])
        self.probes = np.array(probes, np.int64).reshape(-1, 2)
        self.mons = np.array(mons, np.int64).reshape(-1, 5)
        self.unit_offsets = tb.groups[:, 0].tolist()
        self.ordered_currents = [net.currents[c] for c in tb.cur_index]  # (cin's rows)
        self.sample_error: FloatingPointError | None = None  # a NaN or inf sampled

    def still_fits(self, net: Network) -> bool:
        """Whether this runner, made for an earlier run, runs ``net`` as a new one would: the
        same tables, seed, monitors and their settings."""
        now, then = _made_from(net), self.made_from
        if now[:2] != then[:2] or len(now[2]) != len(then[2]):
            return False
        for a, b in zip(now[2], then[2]):
            if any(x is not y for x, y in zip(a[:3], b[:3])) or a[3:5] != b[3:5] or (
                    (a[5] is None) != (b[5] is None)) or (
                    a[5] is not None and not np.array_equal(a[5], b[5])):
                return False
        return True

    @staticmethod
    def _mask_only(net: Network, recorded: set) -> frozenset:
        """The sources (indices) that need no event lists: given arrays that every projection
        reads as a mask (``KC.J_MASK``) and that no monitor records (groups ``recorded``)."""
        rows = net.tables.prj.tolist()
        listed = recorded | {r[KC.J_PRE] for r in rows if r[KC.J_MASK] < 0}
        n_pop = len(net.populations)
        return frozenset(r[KC.J_PRE] - n_pop for r in rows
                         if r[KC.J_MASK] >= 0 and r[KC.J_PRE] not in listed)

    def run(self, k0: int, n_steps: int) -> None:
        """Advance n_steps from global step k0 and hand the output to the monitors."""
        net = self.net
        self.reached = k0
        refresh_masks(net.tables, k0, n_steps)  # given arrays changed since the last chunk
        inputs = chunk_inputs(net.tables, net.sources, self.ordered_currents, k0, n_steps,
                              net.dt, net.batch, net.dtype, self.unlisted)
        rows, size = [], 0  # (size: a running sum; a sum per monitor was O(monitors²))
        for m, row in zip(self.state_monitors, self.mons):
            first = (k0 + m.every) // m.every
            rows.append((k0 + n_steps) // m.every - first + 1)
            row[KC.M_ROW0] = first
            row[KC.M_OFF] = size
            size += rows[-1] * net.batch * int(row[KC.M_NCOL])
        # every element is written by the kernel; np.empty (unlike np.zeros) gets memory that
        # the first writes fault in quickly (huge pages), which matters for large recordings
        traces = np.empty(max(1, size))
        errors = []
        drawn = self.draws_per_chunk and self.const_sources  # (nxt drawn on to k0+n_steps)
        nxt0 = net.state["nxt"].copy() if drawn else None
        try:
            self._advance(k0, n_steps, inputs, traces)
            self.reached = k0 + n_steps
        except BaseException as e:  # the samples up to the step reached still go out
            errors.append(e)
            if nxt0 is not None and self.reached < k0 + n_steps:  # nxt as at the step reached
                net.state["nxt"][...] = nxt0
                for s, first in self.const_sources:
                    self._draw(s, first, k0, self.reached - k0, inputs[1])
        for m, row, r in zip(self.state_monitors, self.mons, rows):
            r = min(r, max(0, self.reached // m.every - int(row[KC.M_ROW0]) + 1))
            vals = traces[row[KC.M_OFF]:row[KC.M_OFF] + r * net.batch * row[KC.M_NCOL]]
            _deliver(errors, m.samples, (row[KC.M_ROW0] + np.arange(r)) * m.every,
                     vals.reshape(r, net.batch, row[KC.M_NCOL]))
            if self.sample_error is None and not np.isfinite(vals).all():
                # raised where the state is checked (a reset or a refractory clamp may have
                # made the state finite again by then, its samples staying NaN)
                self.sample_error = self._nonfinite_sample(m, vals, r)
        if errors:
            raise errors[0]

    def _nonfinite_sample(self, m: StateMonitor, vals: np.ndarray, r: int) -> FloatingPointError:
        """The error for a state monitor's ``r`` samples ``vals`` of which some are NaN or
        infinite, naming the population, the variable and the first sample's time."""
        net = self.net
        bad = ~np.isfinite(vals.reshape(r, net.batch, len(m.variables), len(m.ids)))
        row, _, var, _ = np.unravel_index(np.argmax(bad), bad.shape)
        pop = m.population
        t = (int(self.mons[self.state_monitors.index(m), KC.M_ROW0]) + int(row)) * m.every
        return FloatingPointError(
            f"{type(pop).__name__} {pop.name!r}: {m.variables[var]} was sampled NaN or "
            f"infinite at t = {t * net.dt:g} s (by a {type(m).__name__}; {int(bad.sum())} "
            f"value(s) in this chunk) — a weight, current or parameter too large for "
            f"{net.dtype.name}? The run stops; its data up to here is kept")

    def _with_drawn_events(self, k0: int, n_steps: int, inputs: tuple) -> tuple:
        """``inputs`` with the chunk's firings of the constant-probability sources, drawn here
        (``nxt`` advances to the chunk's end), joined to the given spikes' event lists
        (ev_ptr (S, B, n_steps+1), written in place)."""
        cbuf, pbuf, ptr, ev_unit = inputs
        units, at = [ev_unit], len(ev_unit)
        for s, first in self.const_sources:
            p, u = self._draw(s, first, k0, n_steps, pbuf)
            ptr[s] = p + at
            units.append(u)
            at += len(u)
        return cbuf, pbuf, ptr, units[0] if len(units) == 1 else np.concatenate(units)

    def _draw(self, s: int, first: int, k0: int, n_steps: int, pbuf: np.ndarray) -> tuple:
        """The firings of constant-probability source ``s`` in steps k0 … k0+n_steps−1, as
        :func:`~spikesim.kernels.inputs.const_events` (ptr, units); advances ``nxt``."""
        net, tb = self.net, self.net.tables
        return KI.const_events(s, first, k0, n_steps, tb.src, pbuf, net.state["nxt"],
                               self.key, tb.n_streams, net.batch)

    def _advance(self, k0: int, n_steps: int, inputs: tuple, traces: np.ndarray) -> None:
        """Run the kernel over the chunk: advance the state, write the samples into ``traces``
        (laid out by ``self.mons``) and hand the spikes to the monitors (``_dispatch_spikes``).
        ``inputs``: the chunk's (cbuf, pbuf, ev_ptr, ev_unit) from ``chunk_inputs``."""
        drawn = self._with_drawn_events(k0, n_steps, inputs)
        t = 0
        while t < n_steps:
            t, n_rec = self._kernel(k0, t, n_steps, drawn, traces)
            self.reached = k0 + t
            self._dispatch_spikes(n_rec)

    def _kernel(self, k0: int, t: int, n_steps: int, drawn: tuple, traces: np.ndarray):
        """One kernel call from chunk step t: returns (t reached, spikes recorded)."""
        tb, st = self.net.tables, self.net.state
        cbuf, pbuf, ev_ptr, ev_unit = drawn
        alone = self.kernel is KC.run_chunk_parallel and _threading_layer() == "workqueue"
        with _WORKQUEUE_CALLS if alone else contextlib.nullcontext():
            return self.kernel(
                k0, t, n_steps, tb.pops, tb.par, st["v"], st["i"], st["w"], st["refc"],
                tb.cin, tb.cinf, cbuf, st["ou"], tb.src, pbuf, st["nxt"], ev_ptr, ev_unit,
                tb.groups, tb.prj, tb.prj_w, tb.parts, tb.col, tb.wt, tb.dly, tb.mask,
                st["ring"], self.key, tb.n_streams, self.rec_flag, self.rec_room, *self.rec,
                self.mons, self.probes, traces, self.spk, self.spk_ptr, self.blk_cnt,
                *self.scratch)

    def compile(self) -> None:
        """Load (or compile) the chunk kernel of this network: a call for no step, which reads
        no input, with placeholder inputs of a chunk's types (cbuf, pbuf, ev_ptr, ev_unit);
        and, with constant-probability sources, their per-chunk draw (on a group of no unit)."""
        net = self.net
        placeholders = (np.zeros(1, net.dtype), np.zeros(1),
                        np.zeros((len(net.sources), net.batch, 1), np.int64),
                        np.zeros(0, np.int64))
        self._kernel(net.step, 0, 0, placeholders, np.empty(1))
        if any(so.mode == SRC_CONST for so in net.sources):
            no_unit = np.zeros_like(net.tables.src[:1])  # a source group of 0 units
            KI.const_events(0, np.int64(0), net.step, 0, no_unit, np.zeros(1),
                            np.zeros((net.batch, 0), np.int64), self.key, 1, net.batch)

    def sync_to_host(self) -> None:
        """The CPU state is ``net.state`` itself: nothing to copy."""

    def close(self) -> None:
        """Called when a run ends, normally or not. The CPU state is ``net.state`` itself:
        nothing to do (the CUDA runner copies the device state back here)."""

    def host_state(self) -> dict[str, np.ndarray] | None:
        """The state as it is now, in host memory, for :meth:`Network._check_finite` (None:
        nothing to check there)."""
        return self.net.state

    def _dispatch_spikes(self, n_rec: int) -> None:
        """Hand each spike monitor its spikes of the recording buffers' first ``n_rec``: those
        of its group (all of them when only one group is recorded) that it keeps."""
        steps, real, units = (a[:n_rec] for a in self.rec)
        errors = []  # every monitor gets its spikes; then the first error is raised
        order = ends = None
        if not self.one_group and self.spike_monitors:
            # the records of each group, once (stable: in step order): each monitor then reads
            # its own group's, not every record (O(monitors × spikes) with many populations)
            group = np.searchsorted(self.unit_offsets, units, side="right") - 1
            order = np.argsort(group, kind="stable")
            ends = np.zeros(len(self.groups) + 1, np.int64)
            np.cumsum(np.bincount(group, minlength=len(self.groups)), out=ends[1:])
        for m in self.spike_monitors:
            g = self.group_of[id(m.source)]
            lo = self.unit_offsets[g]
            sel = None if order is None else order[ends[g]:ends[g + 1]]  # its group's records
            ids = np.subtract(units if sel is None else units[sel], lo, dtype=np.int64)  # new
            keep = m.keep(ids)
            if keep is not None:
                sel = keep if sel is None else sel[keep]
                ids = ids[keep]
            if sel is None:
                _deliver(errors, m.spikes_in, steps.copy(), real.astype(np.int64), ids)
            else:
                _deliver(errors, m.spikes_in, steps[sel], real[sel].astype(np.int64), ids)
        if errors:
            raise errors[0]


def _made_from(net: Network) -> tuple:
    """What a :class:`_ChunkRunner` is made from, besides the tables' contents: the tables,
    the key of the random inputs and each monitor (its source or population, ``every``,
    variables and ids)."""
    return (id(net.tables), net._noise_key(), [
        (m, getattr(m, "source", None), getattr(m, "population", None), getattr(m, "every", None),
         getattr(m, "variables", None),
         None if getattr(m, "ids", None) is None else np.array(m.ids, copy=True))
        for m in net.monitors])


def _deliver(errors: list, hook, *args) -> None:
    """Call a monitor's hook; an error is kept in ``errors`` (the other monitors still get
    the data of the steps the state reached, so that every one agrees with ``net.step``)."""
    try:
        hook(*args)
    except BaseException as e:
        errors.append(e)
