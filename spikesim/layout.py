"""Flattening a network into the arrays the kernels read (tables), the simulation state, and
the per-chunk input buffers.

Neurons of all populations share state arrays (B, N); population q owns columns
``offsets[q] … offsets[q]+n_q−1``. Spike sources are units N … N+S−1. Groups (spiking things) are
the populations followed by the sources. See :mod:`spikesim.kernels.cpu` for column meanings.
"""

from __future__ import annotations

import ctypes
import math
import sys
from dataclasses import dataclass
from itertools import accumulate

import numpy as np

from . import checks
from .distributions import Distribution, RealizationGenerators, generator
from .inputs import Current, SpikeArray, SpikeSource
from .kernels import cpu as KC
from .kernels import inputs as KI
from .kernels import neurons as K
from .kernels.csr import fill_csr
from .models import Population
from .projections import Projection

SMALL_BYTES = 64 * 1024  # below glibc's threshold (128 KiB) for giving an array its own pages
HUGE_BYTES = 2 << 20  # state arrays from this size on are put in huge pages (_huge_pages)
HUGE_PAGE, MADV_HUGEPAGE = 2 << 20, 14  # Linux on x86-64 and arm64
F32_MAX = float(np.finfo(np.float32).max)
_MADVISE = getattr(ctypes.CDLL(None), "madvise", None) if sys.platform == "linux" else None


@dataclass
class Tables:
    """The kernel arguments made once per build (``cin`` and ``src`` get the strides of each
    chunk's buffers from :func:`chunk_inputs`). P populations, Q spike sources, C current
    rows, J projections, R CSR rows (each projection's presynaptic units, then one end row),
    K target parts (threads) of every row."""

    pops: np.ndarray      # (P, N_POP_COLUMNS) int64
    par: np.ndarray       # (N_COLUMNS, rows) dtype: by column (kernels.neurons.params)
    cin: np.ndarray       # (C, 6) int64
    cinf: np.ndarray      # (C, 3) float64
    src: np.ndarray       # (Q, 8) int64
    groups: np.ndarray    # (P+Q, 2) int64: first global unit, size
    prj: np.ndarray       # (J, N_PRJ_COLUMNS) int64
    prj_w: np.ndarray     # (J,) dtype: the weight of a projection whose synapses share it
    parts: np.ndarray     # (R, K+1) int64: row r's synapses of target part k (kernels.csr)
    rowptr: np.ndarray    # (R,) int64: parts[:, 0], the first synapse of each row (the rows of
                          # a projection: its presynaptic units, then one end row)
    col: np.ndarray       # (n_syn,) int32: target, counted from the post population's first
    wt: np.ndarray        # (n_syn,) or (0,) dtype: per synapse, written only for projections
                          # without prj_w
    dly: np.ndarray       # int16, empty unless some projection has per-synapse delays
    mask: np.ndarray      # uint8: the given spike arrays read as masks (J_MASK), flat
    given: tuple          # those arrays (T, n) or (T, 1, n) bool, in the order of ``mask``
    cur_index: tuple      # per current row: the current's place in the network (current_rng)
    seed: int
    n_streams: int

    def weights(self) -> np.ndarray:
        """(n_syn,) the weight of every synapse (``wt``, with the shared weight of the
        projections that have one filled in)."""
        out = self.wt.copy() if self.wt.size else np.zeros(self.col.size, self.wt.dtype)
        rows = [*self.prj[:, KC.J_ROW], len(self.parts)]  # a projection ends with its end row
        for j, weight in enumerate(self.prj_w):
            if self.prj[j, KC.J_UNIFORM]:
                out[self.parts[rows[j], 0]:self.parts[rows[j + 1] - 1, 0]] = weight
        return out


def _stack(rows: list, width: int, dtype) -> np.ndarray:
    return np.array(rows, dtype=dtype).reshape(len(rows), width)


def build_tables(pops: list[Population], sources: list[SpikeSource], currents: list[Current],
                 projections: list[Projection], dt: float, batch: int, dtype,
                 seed: int, n_parts: int = 1) -> tuple[Tables, dict]:
    """Tables and the initial state for a network. Random parameters and connectivity are drawn
    from NumPy generators keyed by ``seed`` (and the object's position; parameters also by the
    realization, so realization b's do not depend on the batch size), so they are
    reproducible. Synapse rows are split into ``n_parts`` target ranges (see
    :mod:`spikesim.kernels.csr`) for parallel propagation."""
    offsets = list(accumulate((p.n for p in pops), initial=0))
    n_neu = offsets[-1]
    src_off = list(accumulate((s.n for s in sources), initial=0))
    if n_neu + src_off[-1] > checks.MAX_UNITS:
        raise ValueError(f"a network holds at most {checks.MAX_UNITS} neurons and spike-source "
                         f"units in all, got {n_neu} + {src_off[-1]}")
    check_build_memory(pops, projections, batch, dtype, sources)
    synapses = [pr.synapses(dt, generator(projection_key(seed, j)))
                for j, pr in enumerate(projections)]
    delays = [d for _, _, _, d in synapses]  # steps: one per synapse, or one for all
    longest = [int(d[0] if d.size == 1 else d.max(initial=1)) for d in delays]  # (steps)
    max_delay = max(longest + [1])
    # the ring buffer holds the populations with delayed input, one after the other: n columns
    # for each variable that receives it (bit VAR_x of ``ring_vars``, KC.P_RING_VARS)
    pop_of = {id(p): q for q, p in enumerate(pops)}  # (not pops.index: O(P) per projection)
    ring_vars = [0] * len(pops)
    for pr, d in zip(projections, longest):
        if d > 1:
            ring_vars[pop_of[id(pr.post)]] |= 1 << pr.post.slots[pr.receptor]
    ring_off = list(accumulate((p.n * bin(m).count("1") for p, m in zip(pops, ring_vars)),
                               initial=0))
    if max_delay > 1:
        slow = max(zip(longest, projections), key=lambda x: x[0])[1]
        check_memory("the delay ring buffer", [
            (f"{batch} × {max_delay} steps (the longest delay, of the {slow._label()}) × "
             f"{ring_off[-1]} neurons (those receiving delayed input, once per variable)",
             batch * max_delay * ring_off[-1] * np.dtype(dtype).itemsize)],
            sum(d.size for d in delays) * 2
            + sum(pre.nbytes + post.nbytes + w.nbytes for pre, post, w, _ in synapses))

    # neurons: parameter tables and the population table
    par_parts, pop_rows, state = [], [], {}
    row = 0
    # each population's currents, then its Poisson drives (KC.P_CIN_HI, KC.P_JUMP_HI)
    # (one pass over the currents, not one per population: O(P·C) with many of both)
    currents_of = {id(p): [] for p in pops}
    for c in currents:
        if id(c.target) in currents_of:
            currents_of[id(c.target)].append(c)
    for cs in currents_of.values():
        cs.sort(key=lambda c: c.kind == KI.CUR_JUMP)
    current_at = {id(c): j for j, c in enumerate(currents)}  # (not currents.index: O(C))
    ordered_currents = [c for p in pops for c in currents_of[id(p)]]
    cin_lo = list(accumulate((len(currents_of[id(p)]) for p in pops), initial=0))
    n_jumps = [sum(c.kind == KI.CUR_JUMP for c in currents_of[id(p)]) for p in pops]
    for q, p in enumerate(pops):
        rng = RealizationGenerators([seed, 1, q])
        table, sb, sj = p.table(dt, batch, rng)
        what = f"{type(p).__name__} {p.name!r}"
        check_fits(table, dtype, f"a parameter of {what} (or a coefficient made from them)", p)
        par_parts.append(table)
        pop_rows.append([offsets[q], p.n, p.model_id, p.method == "exact",
                         row, sb, sj, cin_lo[q], cin_lo[q + 1] - n_jumps[q],
                         p.slots[p.channel], ring_vars[q] != 0,
                         np.count_nonzero(table[:, K.REF_STEPS]) > 0,  # (>= 0)
                         cin_lo[q + 1], ring_off[q], ring_vars[q]])
        row += table.shape[0]
        for var, val in p.initial_state(batch, rng).items():
            check_fits(val, dtype, f"the initial {var} of {what}", p, f"{var}_init")
            if var not in state:
                state[var] = _state((batch, n_neu), dtype)
            state[var][:, offsets[q]:offsets[q + 1]] = val
    for var in ("v", "i", "w"):
        if var not in state:
            state[var] = _state((batch, n_neu), dtype)
    state["refc"] = _state((batch, n_neu), np.int32)

    # spike sources take RNG streams 0 .. S-1; random currents follow
    n_streams = src_off[-1]
    src_rows = []
    for s, so in enumerate(sources):
        if so.realizations() not in (1, batch):
            raise BuildError(f"{type(so).__name__} {so.name!r} has data for "
                             f"{so.realizations()} realizations, but the network runs "
                             f"batch = {batch}", so)
        src_rows.append([src_off[s], so.n, so.mode, 0, 0, 0, 0, src_off[s]])
    cin_rows, cinf_rows, n_ou = [], [], 0
    for c in ordered_currents:
        if c.kind == KI.CUR_BUFFER:  # (its values are checked again at each chunk)
            check_fits(c.largest(batch, current_rng(seed, current_at[id(c)])), dtype,
                       f"the {type(c).__name__} into {c.target.name!r}", c, c.given)
            cin_rows.append([c.kind, 0, 0, 0, 0, 0])
            cinf_rows.append([0.0, 0.0, 0.0])
            continue
        buf = n_ou if c.kind == KI.CUR_OU else 0
        var = c.target.slots[c.receptor] if c.kind == KI.CUR_JUMP else 0  # (in ST)
        cin_rows.append([c.kind, buf, var, 0, 0, n_streams])
        noise = c.noise(dt)  # (mean, scale, decay); a drive's (weight, mean count, exp(−mean))
        if c.kind == KI.CUR_JUMP:
            check_fits(c.weight, dtype, f"the weight of the PoissonDrive into {c.target.name!r}",
                       c, "weight")
        else:  # the draws are made in float64 and stored as dtype: refuse an inf there
            check_fits(np.array(noise[:2]), dtype, f"the mean or scale of the "
                       f"{type(c).__name__} into {c.target.name!r}", c)
        cinf_rows.append(list(noise))
        n_streams += c.target.n
        if c.kind == KI.CUR_OU:
            n_ou += c.target.n
    state["ou"] = _state((batch, n_ou), np.float64)
    for c, r, f in zip(ordered_currents, cin_rows, cinf_rows):
        if c.kind == KI.CUR_OU:
            state["ou"][:, r[KI.BUF]:r[KI.BUF] + c.target.n] = f[KI.MEAN]
    state["nxt"] = np.full((batch, src_off[-1]), -1, np.int64)

    groups = [[offsets[q], p.n] for q, p in enumerate(pops)]
    groups += [[n_neu + src_off[s], so.n] for s, so in enumerate(sources)]
    group_of = {id(o): g for g, o in enumerate(list(pops) + list(sources))}

    # projections: CSR segments, each sorted into its slice of the shared arrays; targets are
    # split into n_parts equal ranges of the global neuron index
    per_synapse = any(d.size > 1 for d in delays)  # else each projection has one delay
    n_syn = [pre.shape[0] for pre, _, _, _ in synapses]
    parts = np.empty((sum(pr.pre.n + 1 for pr in projections), n_parts + 1), np.int64)
    col = np.empty(sum(n_syn), np.int32)
    # weights per synapse only when some projection has them (else nothing reads them)
    wt = np.empty(sum(n_syn) if any(w.size > 1 for _, _, w, _ in synapses) else 0, dtype)
    dly = np.empty(sum(n_syn) if per_synapse else 0, np.int16)
    splits = [k * n_neu // n_parts for k in range(n_parts + 1)]
    prj_rows, prj_w = [], []
    masks = {}  # given spike arrays read as masks: source id -> (offset in the mask, array)
    mask_size = 0
    nnz = row_at = 0
    for pr, (pre, post, w, d), n, d_max in zip(projections, synapses, n_syn, longest):
        q = pop_of[id(pr.post)]
        check_fits(w, dtype, f"a weight of the {pr._label()}", pr, "weight")
        at, steps = -1, 0
        if (pr.rule == "one_to_one" and isinstance(pr.pre, SpikeArray) and d_max == 1
                and pr.pre.realizations() == 1):
            if id(pr.pre) not in masks:
                masks[id(pr.pre)] = (mask_size, pr.pre.spikes)
                mask_size += pr.pre.spikes.size
            at, steps = masks[id(pr.pre)][0], pr.pre.spikes.shape[0]
        prj_rows.append([group_of[id(pr.pre)], q, row_at,
                         int(d[0]) if d.size == 1 else 0,  # 0: per synapse
                         pr.post.slots[pr.receptor], w.size == 1, at, steps])
        prj_w.append(w[0] if w.size == 1 else 0.0)
        bounds = np.array([min(max(x - offsets[q], 0), pr.post.n) for x in splits])
        fill_csr(pre, post, w, d, bounds, nnz, parts[row_at:row_at + pr.pre.n + 1],
                 col[nnz:nnz + n], wt[nnz:nnz + n], dly[nnz:nnz + n] if per_synapse else dly)
        nnz += n
        row_at += pr.pre.n + 1
    tables = Tables(
        pops=_stack(pop_rows, KC.N_POP_COLUMNS, np.int64),
        par=np.ascontiguousarray(_cat(par_parts, dtype).T) if par_parts else np.zeros(
            (K.N_COLUMNS, 0), dtype),
        cin=_stack(cin_rows, 6, np.int64), cinf=_stack(cinf_rows, 3, np.float64),
        src=_stack(src_rows, 8, np.int64), groups=_stack(groups, 2, np.int64),
        prj=_stack(prj_rows, KC.N_PRJ_COLUMNS, np.int64), prj_w=np.array(prj_w, dtype),
        parts=parts, rowptr=np.ascontiguousarray(parts[:, 0]), col=col, wt=wt, dly=dly,
        mask=_masks([given for _, given in masks.values()]),
        given=tuple(given for _, given in masks.values()),
        cur_index=tuple(current_at[id(c)] for c in ordered_currents), seed=seed,
        n_streams=max(n_streams, 1))
    state["ring"] = _state((batch, max_delay, ring_off[-1]) if max_delay > 1 else (batch, 1, 1),
                           dtype)
    return tables, state


def projection_key(seed: int, index: int) -> list[int]:
    """The key of the generator that draws the synapses of projection ``index`` (its place in
    the network's projections): the build, ``Network.connections`` and a recording's metadata
    (``connectivity_seed``) use the same one."""
    return [seed, 2, index]


def current_rng(seed: int, index: int) -> RealizationGenerators:
    """Fresh generators of the values that current ``index`` (its place in the network's
    currents) draws from a distribution: the same draws whenever they are made."""
    return RealizationGenerators([seed, 3, index])


def chunk_inputs(tables: Tables, sources: list[SpikeSource], currents_in_order: list[Current],
                 k0: int, n_steps: int, dt: float, batch: int, dtype,
                 unlisted: frozenset = frozenset()
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-chunk buffers for global steps k0 … k0+n_steps−1 (``dt`` in s): ``cbuf`` (flat,
    ``dtype``) the given currents' values, ``pbuf`` (flat, float64) the sources' firing
    probabilities (constant ones as −1/log(1 − p)), ``ev_ptr`` (Q, B, n_steps+1) int64 and
    ``ev_unit`` (E,) int64: event source s fires the global units ``ev_unit[ev_ptr[s, b, t]:
    ev_ptr[s, b, t+1]]`` (ascending) at chunk step t in realization b. Fills the strides of
    ``tables.cin`` and ``tables.src`` in place. Sources whose index is in ``unlisted`` get no
    events (given arrays that the kernel reads only as masks)."""
    k = np.arange(k0, k0 + n_steps, dtype=np.int64)
    cparts, at = [], 0
    for c, row, index in zip(currents_in_order, tables.cin, tables.cur_index):
        if c.kind != KI.CUR_BUFFER:
            continue
        vals = np.asarray(c.values(k, dt, batch, current_rng(tables.seed, index)))
        check_fits(vals, dtype, f"the {type(c).__name__} into {c.target.name!r}", c, c.given)
        vals = vals.astype(dtype, copy=False)
        row[KI.BUF], row[KI.ST], row[KI.SB], row[KI.SJ] = at, *_strides(vals.shape)
        cparts.append(vals.ravel())
        at += vals.size
    pparts, at = [], 0
    ev_ptr = np.zeros((len(sources), batch, n_steps + 1), np.int64)
    ev_units = []
    n_ev = 0
    for s, (so, row) in enumerate(zip(sources, tables.src)):
        if s in unlisted:
            continue  # its ev_ptr row stays 0: no events
        if so.mode == KI.SRC_EVENTS:
            ptr, j = so.events(k0, n_steps, dt)  # ptr (n_steps+1,): in every realization
            ev_ptr[s] = n_ev + ptr
            ev_units.append(tables.groups[len(tables.pops) + s, 0] + j)  # global unit ids
            n_ev += len(j)
            continue
        p = np.asarray(so.probabilities(k, dt), dtype=np.float64)
        if so.mode == KI.SRC_CONST:
            p = inv_hazard(p)  # the constant mode stores -1 / log(1 - p)
        row[KI.SBUF], row[KI.SST], row[KI.SSB], row[KI.SSJ] = at, *_strides(p.shape)
        pparts.append(p.ravel())
        at += p.size
    return (_cat(cparts, dtype, 1), _cat(pparts, np.float64, 1), ev_ptr,
            _cat(ev_units, np.int64, 1))


def inv_hazard(p: np.ndarray) -> np.ndarray:
    """−1 / log(1 − p) (steps) of firing probabilities per step ``p``, as the constant mode's
    geometric gaps read it (:func:`~spikesim.kernels.rng.geometric_gap`): inf for p = 0, 0 for
    p = 1."""
    with np.errstate(divide="ignore"):
        return -1.0 / np.log1p(-p)


def _masks(arrays: list[np.ndarray]) -> np.ndarray:
    """The boolean arrays' bytes (uint8), one after the other: a view of a single one, else
    a copy (see :func:`refresh_masks`)."""
    flat = [a.reshape(-1).view(np.uint8) for a in arrays]
    return flat[0] if len(flat) == 1 else _cat(flat, np.uint8)


def refresh_masks(tables: Tables, k0: int = 0, n_steps: int | None = None) -> None:
    """Copy the given arrays (their rows k0 … k0+n_steps−1; all of them by default) into
    ``tables.mask`` again when it holds copies (several arrays), so that a chunk reads them as
    they are now, as it does a single one (a view) and as the CUDA backend does."""
    if len(tables.given) <= 1:
        return
    at = 0
    for a in tables.given:
        steps, n = a.shape[0], a.shape[-1]  # ((T, n), or (T, 1, n): the same bytes)
        lo = min(k0, steps)
        hi = steps if n_steps is None else min(k0 + n_steps, steps)
        tables.mask[at + lo * n:at + hi * n] = a[lo:hi].reshape(-1).view(np.uint8)
        at += a.size


def _state(shape: tuple, dtype) -> np.ndarray:
    """A zero state array with its memory written now when it is large: np.zeros maps a large
    array's untouched pages to the shared zero page, where the kernels' vectorised masked
    stores are very slow. A small one (under SMALL_BYTES) comes from the heap's own pages,
    and np.zeros is a third of np.full's cost. One of HUGE_BYTES or more lies in huge pages
    where the system offers them (:func:`_huge_pages`)."""
    nbytes = math.prod(shape) * np.dtype(dtype).itemsize
    if nbytes < SMALL_BYTES:
        return np.zeros(shape, dtype)
    if nbytes < HUGE_BYTES or _MADVISE is None:
        return np.full(shape, 0, dtype)
    return _huge_pages(shape, dtype, nbytes)


def _huge_pages(shape: tuple, dtype, nbytes: int) -> np.ndarray:
    """Zeros starting on a 2 MiB boundary of memory advised for transparent huge pages
    (Linux ``madvise(MADV_HUGEPAGE)``; the kernel decides). The state is streamed through
    every step and the synapses add into it at random places: with 4 KiB pages, a 3.2 MB
    array spans about 780 pages, more than the TLB holds, and the CUBA step at 400,000 neurons
    was 5–8 % slower (bench/README.md). The buffer is a NumPy array (so that memory
    tracing sees it) of whole huge pages from the boundary on, so that the last one is
    granted too (a mapping ending inside it would leave that part on small pages): up to
    4 MiB more is reserved per array."""
    span = -(-nbytes // HUGE_PAGE) * HUGE_PAGE  # the huge pages the state touches
    buf = np.empty(span + HUGE_PAGE, np.uint8)
    start = -buf.ctypes.data % HUGE_PAGE
    _MADVISE(ctypes.c_void_p(buf.ctypes.data + start), ctypes.c_size_t(span),
             ctypes.c_int(MADV_HUGEPAGE))  # a refusal (-1) leaves ordinary pages
    out = buf[start:start + nbytes].view(dtype).reshape(shape)
    out.fill(0)
    return out


def _scalar(value) -> bool:
    """Whether a weight or delay is one number for every synapse (not a Distribution, which
    draws one per synapse)."""
    return not isinstance(value, Distribution) and np.size(value) == 1


def _synapse_estimate(pr: Projection) -> int:
    """The synapses of projection ``pr``: exact, or expected for rule "random"."""
    n_pre, n_post = pr.pre.n, pr.post.n
    if pr.rule == "explicit":
        return pr.matrix.nnz if pr.matrix is not None else int(np.size(pr.pre_ids))
    if pr.rule == "random":
        return int(pr.p * n_pre * n_post)
    if pr.rule == "fixed_indegree":
        return n_post * pr.k
    return n_pre if pr.rule == "one_to_one" else n_pre * n_post


def _available_bytes() -> int | None:
    """Memory this process may still use (Linux: MemAvailable plus free swap, and no more than
    its address-space limit leaves); None where unknown."""
    try:
        with open("/proc/meminfo") as f:
            info = {line.split(":")[0]: int(line.split()[1]) * 1024 for line in f}
        avail = info["MemAvailable"] + info.get("SwapFree", 0)
    except (OSError, KeyError, ValueError, IndexError):
        return None
    try:
        import resource
        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
        if soft != resource.RLIM_INFINITY:
            with open("/proc/self/statm") as f:
                used = int(f.read().split()[0]) * resource.getpagesize()
            avail = min(avail, max(soft - used, 0))
    except (ImportError, OSError, ValueError):
        pass
    return avail


def check_build_memory(pops: list[Population], projections: list[Projection], batch: int,
                       dtype, sources: list[SpikeSource] = ()) -> None:
    """Raise MemoryError (:func:`check_memory`) when building a network of these populations,
    spike sources and projections would need more memory than is available, before anything
    is drawn."""
    item = np.dtype(dtype).itemsize
    n_neu = sum(p.n for p in pops)
    # per neuron and realization: v, i, w, refc, the step's spike ids and the blocks' scratch
    # (a current and a flag); per source unit: its spike ids and next firing
    parts = [("the neuron state", batch * (n_neu * (4 * item + 9)
                                           + sum(s.n for s in sources) * 12))]
    rows = sum(p.parameter_rows(batch) for p in pops)
    if rows > len(pops):  # the float64 table and its copy as dtype
        parts.append(("the per-neuron parameter tables", rows * K.N_COLUMNS * (8 + item)))
    for pr in projections:
        per_synapse = (12 + (8 + item if not _scalar(pr.weight) else 0)
                       + (18 if pr.delay is not None and not _scalar(pr.delay) else 0))
        parts.append((pr, _synapse_estimate(pr) * per_synapse))
    check_memory("building this network", parts)


def check_memory(what: str, parts: list[tuple[str | Projection, int]], freed: int = 0,
                 available: float | None = None) -> None:
    """Raise MemoryError, naming the largest ``parts`` (what — a label, or a projection's
    synapses —, bytes), when their sum is more than the memory ``available`` (bytes; default
    the host's) plus ``freed`` (bytes that will be released before then): before allocating,
    rather than an opaque failure, or swapping, tens of GB later."""
    need = sum(b for _, b in parts)
    if available is None:
        if need < 1 << 30:  # (no file read for the usual, small network)
            return
        available = _available_bytes()
    if available is None or need <= available + freed:
        return
    big = sorted(parts, key=lambda x: -x[1])[:3]
    raise MemoryError(f"{what} needs about {need / 2**30:.1f} GiB, more than the "
                      f"{(available + freed) / 2**30:.1f} GiB of memory available: "
                      + "; ".join(f"{_part(label)}: {b / 2**30:.1f} GiB" for label, b in big)
                      + ("; ..." if len(parts) > 3 else ""))


def _part(what: str | Projection) -> str:
    """A part of :func:`check_memory`'s message: a label, or a projection and its synapses."""
    if isinstance(what, str):
        return what
    return f"the {what._label()}: {_synapse_estimate(what):.3g} synapses"


class BuildError(ValueError):
    """A value the build refuses: ``owner`` is the population, current or projection that
    holds it, ``parameter`` the name of its parameter (None: one of several)."""

    def __init__(self, message: str, owner: object, parameter: str | None = None):
        super().__init__(message)
        self.owner, self.parameter = owner, parameter


def check_fits(values: np.ndarray | float, dtype, what: str, owner: object,
               parameter: str | None = None) -> None:
    """Raise :class:`BuildError` when some of the finite ``values`` (of ``owner``'s
    ``parameter``) would overflow to ±inf as ``dtype`` (float32 holds up to ±3.4e38)."""
    if dtype != np.float32 or not np.size(values):
        return
    arr = np.asarray(values)  # (one element, mostly: read without a NumPy reduction)
    peak = abs(float(arr.flat[0])) if arr.size == 1 else float(np.abs(arr).max())
    if peak > F32_MAX:
        raise BuildError(f"{what} is {peak:.3g} in magnitude, beyond the range of float32 "
                         f"(±{F32_MAX:.3g}): use dtype=np.float64", owner, parameter)


def _cat(parts: list, dtype, empty: int = 0) -> np.ndarray:
    """Concatenation as ``dtype``, a new array written once (not a concatenation, then its
    conversion: two copies of every chunk's given currents and probabilities); ``empty``
    zeros when there are no parts."""
    if not parts:
        return np.zeros(empty, dtype)
    if len(parts) == 1:
        return np.asarray(parts[0]).astype(dtype)
    return np.concatenate(parts, dtype=dtype, casting="unsafe")


def _strides(shape: tuple[int, int, int]) -> tuple[int, int, int]:
    """Element strides over (step, realization, neuron) of a C-contiguous array whose
    length-1 axes broadcast (stride 0)."""
    t, b, j = shape
    return (b * j if t > 1 else 0, j if b > 1 else 0, 1 if j > 1 else 0)
