"""Scalar input generators: the current a neuron receives and whether a spike source fires.

Like :mod:`spikesim.kernels.neurons`, these are written once and shared by the CPU and CUDA
kernels. Every random draw is keyed by (seed, realization, step, stream) through
:mod:`spikesim.kernels.rng`, so a run is bit-identical whatever the chunk size, thread count or
backend. Realization b draws with its own key (``realization_key``), so its streams do not
depend on the batch size: realization 3 of a batch of 4 equals realization 3 of a batch of 10.

Current input table ``cin`` (int64, one row per current input) and ``cinf`` (float64):
  cin:  KIND, BUF (offset into ``cbuf`` or ``ou``), ST, SB, SJ (strides over step, realization,
        neuron in ``cbuf``), STREAM (first RNG stream)
  cinf: MEAN (A), SCALE (A: std, half-width or OU noise scale), DECAY (OU: exp(-dt/tau))
  A Poisson drive (CUR_JUMP, rows after the population's currents) holds its target variable
  in ST, its weight in MEAN, its mean count per step in SCALE and exp(−SCALE) in DECAY.
Spike source table ``src`` (int64, one row per source group):
  UNIT (the group's first column in ``nxt``, counted among the sources' units), N, MODE, SBUF,
  SST, SSB, SSJ (offset and strides in ``pbuf``), SSTREAM (first RNG stream: UNIT too, the
  sources taking streams 0 … S−1 before the random currents)
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numba.cpython.unsafe.numbers import trailing_zeros

from .rng import counter, geometric_gap, mix64, normal, poisson, uniform

# current kinds; CUR_JUMP is no current but a Poisson drive: jumps of a state variable
CUR_BUFFER, CUR_GAUSS, CUR_UNIFORM, CUR_OU, CUR_JUMP = 0, 1, 2, 3, 4
KIND, BUF, ST, SB, SJ, STREAM = 0, 1, 2, 3, 4, 5
MEAN, SCALE, DECAY = 0, 1, 2
# spike source modes: constant probability (geometric skipping), per-step probability, events
SRC_CONST, SRC_PROB, SRC_EVENTS = 0, 1, 2
UNIT, N, MODE, SBUF, SST, SSB, SSJ, SSTREAM = 0, 1, 2, 3, 4, 5, 6, 7


@njit(inline="always", cache=True)
def realization_key(key, b):
    """The RNG key of realization ``b`` from the network's key (uint64)."""
    return mix64(key + np.uint64(b + 1) * np.uint64(0xD6E8FEB86659FD93))


@njit(inline="always", cache=True)
def buffer_at(c, j, b, t, cin):
    """Index in ``cbuf`` of the value of buffered current ``c`` for neuron j, realization b,
    chunk-relative step t."""
    return cin[c, BUF] + t * cin[c, ST] + b * cin[c, SB] + j * cin[c, SJ]


@njit(inline="always", cache=True)
def draw_counter(c, j, k, cin, n_streams):
    """The counter (uint64) of random current ``c``'s draw for neuron ``j`` at global step
    ``k``: consecutive over the neurons of a step."""
    return counter(k, cin[c, STREAM] + j, n_streams)


@njit(inline="always", cache=True)
def current(c, j, b, k, t, cin, cinf, cbuf, ou, key, n_streams):
    """Current (float64, amperes or model units) of input row ``c`` into neuron ``j`` of its
    target population, realization ``b`` (whose RNG key is ``key``), global step ``k``
    (chunk-relative step ``t``)."""
    kind = cin[c, KIND]
    if kind == CUR_BUFFER:
        return float(cbuf[buffer_at(c, j, b, t, cin)])
    return random_current(kind, cinf[c, MEAN], cinf[c, SCALE], cinf[c, DECAY], ou[b],
                          cin[c, BUF] + j, key, draw_counter(c, j, k, cin, n_streams))


@njit(inline="always", cache=True)
def jump(c, j, k, cin, cinf, key, n_streams):
    """The jump (float64, in the unit of its target variable) that Poisson drive ``c`` adds to
    neuron ``j`` of its target population at the end of global step ``k``: its weight times a
    Poisson count of its mean per step (realization key ``key``)."""
    return cinf[c, MEAN] * poisson(key, draw_counter(c, j, k, cin, n_streams), cinf[c, SCALE],
                                   cinf[c, DECAY])


@njit(inline="always", cache=True)
def random_current(kind, mean, scale, decay, state, at, key, ctr):
    """Value (float64) of a random current of ``kind`` for draw ``ctr``: uniform noise
    mean + scale·(2U − 1), white noise mean + scale·z, or an Ornstein-Uhlenbeck process whose
    value ``state[at]`` is returned and advanced exactly: x ← mean + (x − mean)·decay + scale·z
    (z standard normal)."""
    if kind == CUR_UNIFORM:
        return mean + scale * (2.0 * uniform(key, ctr) - 1.0)
    z = normal(key, ctr)  # one inlined normal for both kinds below (code size matters here)
    if kind == CUR_GAUSS:
        return mean + scale * z
    x = state[at]
    state[at] = mean + (x - mean) * decay + scale * z
    return x


@njit(inline="always", cache=True)
def next_firing(key, k, stream, n_streams, inv_hazard):
    """The firing step after step k of a constant-probability unit: k plus a gap drawn with
    counter step k+1."""
    return k + geometric_gap(key, counter(k + 1, stream, n_streams), inv_hazard)


@njit(inline="always", cache=True)
def first_firing(key, stream, n_streams, inv_hazard):
    """The first firing step of a constant-probability unit: the firing after step −1."""
    return next_firing(key, -1, stream, n_streams, inv_hazard)


@njit(cache=True)
def redraw_next(nxt, units, streams, inv_hazard, k, key, n_streams):
    """Draw again, in every realization (network RNG key ``key``), the next firing at or after
    step ``k`` of constant-probability source units ``units`` (their columns in ``nxt``; RNG
    ``streams``; new ``inv_hazard``) that have one drawn: as if they had been drawn after step
    k − 1 (the gaps are memoryless: the new probability's process from step k on)."""
    for b in range(nxt.shape[0]):
        kb = realization_key(key, b)
        for e in range(units.size):
            if nxt[b, units[e]] >= 0:
                nxt[b, units[e]] = next_firing(kb, k - 1, streams[e], n_streams, inv_hazard[e])


@njit(inline="always", cache=True)
def source_fires(g, j, b, k, t, src, pbuf, nxt, key, n_streams):
    """Whether unit ``j`` of source group ``g`` fires at global step ``k`` in realization ``b``
    (RNG key ``key``) — modes SRC_CONST and SRC_PROB; SRC_EVENTS is read from the chunk's event
    list."""
    s = src[g, UNIT] + j
    const = src[g, MODE] == SRC_CONST
    if const and nxt[b, s] > k:  # the common case: not yet (or never, for p = 0)
        return False
    p_at = src[g, SBUF] + t * src[g, SST] + b * src[g, SSB] + j * src[g, SSJ]
    stream = src[g, SSTREAM] + j
    if const:  # pbuf holds -1 / log(1 - p); nxt the next firing step, -1 before the first draw
        if nxt[b, s] < 0:  # first use
            nxt[b, s] = first_firing(key, stream, n_streams, pbuf[p_at])
            if nxt[b, s] != k:
                return False
        nxt[b, s] = next_firing(key, k, stream, n_streams, pbuf[p_at])
        return True
    p = pbuf[p_at]
    if p >= 1.0:
        return True
    return p > 0.0 and uniform(key, counter(k, stream, n_streams)) < p


@njit(cache=True, error_model="numpy", _nrt=False)
def array_events(flat, n, units, ptr):
    """The spikes of a (T, n) boolean array, given as its C-order bytes ``flat`` (uint8, 0 or
    1): the unit of each, by step then unit, into ``units`` (as many as there are spikes), and
    step k's range ``ptr[k]:ptr[k+1]`` into ``ptr`` (T+1). Eight bytes are tested at a time:
    with sparse spikes most are zero."""
    n8 = flat.size // 8 * 8
    words = flat[:n8].view(np.uint64)
    c, k, row_lo = 0, 0, 0
    ptr[0] = 0
    for wd in range(words.size + 1):
        x = words[wd] if wd < words.size else np.uint64(0)
        if wd == words.size:  # the last bytes one by one
            for j in range(flat.size - n8):
                x |= np.uint64(flat[n8 + j]) << np.uint64(8 * j)
        while x != 0:
            idx = 8 * wd + trailing_zeros(x) // 8
            while idx >= row_lo + n:  # the first spike of a later step
                k += 1
                ptr[k] = c
                row_lo += n
            units[c] = idx - row_lo
            c += 1
            x &= x - np.uint64(1)
    for kk in range(k + 1, ptr.size):
        ptr[kk] = c


LANES = 4  # units whose gaps are drawn together (const_events)
LANE_CAP = 32  # firings of a unit buffered per group of lanes; a unit with more goes on alone


@njit(cache=True, error_model="numpy")
def const_events(g, first, k0, n_steps, src, pbuf, nxt, key, n_streams, n_real, cap=0):
    """The firings of constant-probability source group ``g`` (global unit ids from ``first``)
    in steps k0 … k0+n_steps−1, drawn unit by unit with exactly the draws of
    :func:`source_fires`, and ``nxt`` advanced past them. Returns (ptr, units): realization b
    fires ``units[ptr[b, t]:ptr[b, t+1]]`` (ascending) at chunk-relative step t.

    The CPU kernel reads these lists instead of scanning every unit on every step: the cost is
    one exponential draw per spike and nothing per silent unit-step. The lists start with
    ``cap`` places (0: 10 % more than the expected firings) and grow when full."""
    n, k_end = src[g, N], k0 + n_steps
    if cap == 0:
        expected = 0.0  # firings in the chunk: p <= −log(1 − p) = 1 / inv_hazard per step
        for b in range(n_real):
            for j in range(n):
                k = nxt[b, src[g, UNIT] + j]  # (−1: not drawn yet)
                if k < k_end:  # (else none: cheap for run(dt) in a closed loop)
                    per_step = min(1.0 / _inv_hazard(g, j, b, src, pbuf), 1.0)
                    expected += per_step * n_steps if k < 0 else (
                        1.0 + per_step * (k_end - 1 - max(k, k0)))
        cap = int(1.1 * expected) + 1024
    t_of, u_of = np.empty(cap, np.int32), np.empty(cap, np.int64)
    ptr = np.zeros((n_real, n_steps + 1), np.int64)
    lanes, hazards = np.empty((LANES, LANE_CAP + 3), np.int64), np.empty(LANES)
    c, b, j = _draw_events(g, first, k0, n_steps, src, pbuf, nxt, key, n_streams, n_real,
                           t_of, u_of, ptr, 0, 0, 0, lanes, hazards)
    while b < n_real:  # the lists filled up at unit j of realization b: grow, go on from there
        cap *= 2
        t_of, u_of = _grown(t_of, cap), _grown(u_of, cap)
        c, b, j = _draw_events(g, first, k0, n_steps, src, pbuf, nxt, key, n_streams, n_real,
                               t_of, u_of, ptr, c, b, j, lanes, hazards)
    # counting sort by (realization, step); stable, so units stay ascending within a step
    flat = ptr.reshape(-1)
    for r in range(1, flat.size):
        flat[r] += flat[r - 1]
    units = np.empty(c, np.int64)
    at = ptr[:, :-1].copy()
    e = 0
    for b in range(n_real):
        for _ in range(ptr[b, -1] - ptr[b, 0]):  # b's events, generated unit by unit
            t = t_of[e]
            units[at[b, t]] = u_of[e]
            at[b, t] += 1
            e += 1
    return ptr, units


@njit(cache=True, error_model="numpy", _nrt=False)
def _draw_events(g, first, k0, n_steps, src, pbuf, nxt, key, n_streams, n_real, t_of, u_of,
                 ptr, c, b0, j0, lanes, hazards):
    """:func:`const_events`' draws from unit j0 of realization b0 on, appended to the lists
    ``t_of`` (step), ``u_of`` (unit) from position c, counted in ``ptr[b, t+1]``. Returns
    (c, b, j): b == n_real when done, else the unit whose firings did not fit (its ``nxt``
    is the first firing not listed). (Separate from the caller, which reallocates the lists,
    so that the loop has no reference counting.)

    Each unit's gaps form a chain (the next draw's counter is the step just reached), one
    draw's latency after the other. So LANES units are drawn together, in turns, into their
    rows of ``lanes`` (LANES, LANE_CAP+3: unit, next step, count, steps; their inverse hazards
    in ``hazards``), where the chains' latencies overlap; then their firings are listed unit by
    unit, in order. Units whose next firing is past the chunk take no lane (run(dt) in a
    closed loop would otherwise visit every unit at every step)."""
    n, unit0, stream0 = src[g, N], src[g, UNIT], src[g, SSTREAM]  # (loads kept out of loops)
    k_end = k0 + n_steps
    for b in range(b0, n_real):
        kb = realization_key(key, b)
        j = j0 if b == b0 else 0
        while j < n:
            m = 0
            while m < LANES and j < n:  # the next units that may fire in the chunk
                k = nxt[b, unit0 + j]  # (−1: not drawn yet)
                if k < k_end:
                    hazards[m] = _inv_hazard(g, j, b, src, pbuf)
                    if k < 0:
                        k = first_firing(kb, stream0 + j, n_streams, hazards[m])
                    lanes[m, 0], lanes[m, 1], lanes[m, 2] = j, max(k, k0), 0
                    m += 1
                j += 1
            busy = True
            while busy:
                busy = False
                for ln in range(m):
                    u, k, cnt = lanes[ln, 0], lanes[ln, 1], lanes[ln, 2]
                    if k < k_end and cnt < LANE_CAP:
                        lanes[ln, 3 + cnt] = k
                        lanes[ln, 2] = cnt + 1
                        lanes[ln, 1] = next_firing(kb, k, stream0 + u, n_streams, hazards[ln])
                        busy = True
            for ln in range(m):  # list unit u: its buffered firings, then any beyond
                u, cnt = lanes[ln, 0], lanes[ln, 2]
                if c + cnt > t_of.size:
                    return c, b, u  # its nxt untouched: drawn again after growing
                for e in range(cnt):
                    c = _listed(t_of, u_of, ptr, c, b, lanes[ln, 3 + e] - k0, first + u)
                k = lanes[ln, 1]
                while k < k_end:
                    if c == t_of.size:
                        nxt[b, unit0 + u] = k
                        return c, b, u
                    c = _listed(t_of, u_of, ptr, c, b, k - k0, first + u)
                    k = next_firing(kb, k, stream0 + u, n_streams, hazards[ln])
                nxt[b, unit0 + u] = k
    return c, n_real, 0


@njit(inline="always", cache=True)
def _inv_hazard(g, j, b, src, pbuf):
    """−1 / log(1 − p) of unit j of constant-probability source group g, realization b (the
    same at every step of the chunk: no step stride)."""
    return pbuf[src[g, SBUF] + b * src[g, SSB] + j * src[g, SSJ]]


@njit(inline="always", cache=True)
def _listed(t_of, u_of, ptr, c, b, t, unit):
    """Append the firing of ``unit`` at chunk-relative step t (realization b) at position c;
    returns c + 1."""
    t_of[c], u_of[c] = t, unit
    ptr[b, t + 1] += 1
    return c + 1


@njit(cache=True)
def _grown(a, cap):
    out = np.empty(cap, a.dtype)
    out[:a.size] = a
    return out
