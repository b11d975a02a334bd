"""CPU kernel: advance a whole network by a chunk of time steps in one compiled call.

The network arrives flattened into tables (built by :mod:`spikesim.layout`): all neurons of all
populations share the state arrays ``v, i, w, refc`` of shape (B, N) — B realizations, N neurons —
and every population is a contiguous range of columns. Spike sources are units N … N+S−1.

Schedule of one step k (time t_k = k·dt to t_k+1), the same for the CUDA kernel:
  1. neurons: current inputs, integrate, threshold, reset (one fused pass, ``prange`` over
     blocks of neurons and realizations), then, in the same block, the refractory clamp of
     the block's refractory neurons (:func:`refractory_block`), then the jumps of the
     population's Poisson drives (:func:`jump_block`: their arrival at the end of step k,
     before any other input of the step);
  2. spike sources: given spikes and constant-probability sources read the step's list of
     firing units (the latter drawn for the whole chunk beforehand by
     :func:`~spikesim.kernels.inputs.const_events`); sources whose probability changes per
     step decide unit by unit (threads over blocks of units);
  3. the step's spikes (stamped t_k) are compacted per group and appended to the recording buffer;
  4. spikes propagate over each projection's CSR rows: a spike stamped t_k with delay d steps
     arrives at the end of step k+d−1, i.e. at time t_k + d·dt; delay 1 adds straight into the
     target variable, longer delays go through the ring buffer. Threads split the targets
     (the rows' parts, :mod:`spikesim.kernels.csr`), so each target's sum keeps one order.
     Exception: a given spike array (``SpikeArray``, the same in every realization) projected
     one to one with a delay of one step is read as a dense mask per step right after its
     targets' pass in step 1 (:func:`given_block`), after the Poisson drives' jumps and before
     any other input of the step: the same arrival time, with neither an event list nor CSR
     rows to walk;
  5. populations with delayed input receive the ring-buffer slot due at the end of step k;
  6. state monitors sample the state at t_k+1.

One Python definition, two compiled variants: :data:`run_chunk_parallel` (threads over blocks of
neurons and source units, and over target parts) and :data:`run_chunk_serial` (no thread-pool
launches; faster for small networks, see ``Network._parallel``).
"""

from __future__ import annotations

import types

import numpy as np
from numba import literally, njit, prange
from numba.cpython.unsafe.numbers import trailing_zeros

from .fpu import flush_subnormals, restore
from .inputs import (
    BUF,
    CUR_BUFFER,
    DECAY,
    KIND,
    MEAN,
    MODE,
    SCALE,
    SJ,
    SRC_PROB,
    ST,
    buffer_at,
    draw_counter,
    jump,
    random_current,
    realization_key,
    source_fires,
)
from .neurons import (
    LEAKY,
    LIF,
    LIF_W,
    RC,
    REF_STEPS,
    SYNAPTIC,
    V_RESET,
    adapt,
    clamp,
    params,
    update,
)

BLOCK = 2048  # neurons per parallel work item (a multiple of 8: see compact)
LIST_MAX = BLOCK // 16  # refractory neurons a block lists at most (see refractory_block)
TOUCH_MIN_SYNAPSES = 1 << 18  # synapses (1 MiB of targets) from which rows are touched first
# population table columns
(P_OFF, P_N, P_MODEL, P_EXACT, P_ROW, P_SB, P_SJ, P_CIN_LO, P_CIN_HI, P_CHAN, P_DELAYED,
 P_REFRACTORY, P_JUMP_HI, P_RING, P_RING_VARS) = range(15)  # P_REFRACTORY: whether any
# neuron has a refractory period; rows P_CIN_LO … P_CIN_HI−1 of ``cin`` are the population's
# currents, P_CIN_HI … P_JUMP_HI−1 its Poisson drives; P_RING: where a population with delayed
# input (P_DELAYED) starts in the ring buffer's last axis, which holds only such populations:
# n columns for each variable with delayed input (bit VAR_x of P_RING_VARS), in the order v, i, w
N_POP_COLUMNS = 15
# projection table columns: pre group, post population, first row (in ``parts``), delay (0: per
# synapse), target variable (VAR_V, VAR_I or VAR_W), whether all synapses have the weight
# ``prj_w[p]`` (else ``wt`` holds one per synapse), and for a one-to-one projection of a given
# spike array read as a mask (given_block): where the array starts in ``mask`` (−1: none, the
# spikes go through propagate) and its number of steps
J_PRE, J_POST, J_ROW, J_DELAY, J_VAR, J_UNIFORM, J_MASK, J_MASK_STEPS = range(8)
N_PRJ_COLUMNS = 8
# monitor table columns and probe variables
M_EVERY, M_ROW0, M_OFF, M_NCOL, M_PROBE = range(5)
VAR_V, VAR_I, VAR_W, VAR_REFC = range(4)


@njit(cache=True, error_model="numpy", _nrt=False)
def current_block(q, b, j0, j1, k, t, pops, cur, cin, cinf, cbuf, ou, key, n_streams):
    """The summed current inputs of neurons j0 … j1−1 of population q, realization b, as
    (per_neuron, x): (False, x) when every neuron of the block gets x — no current (x = 0), or
    only currents with one value for the whole population (their sum, in order); else (True,
    unspecified) with the sums in ``cur[:j1-j0]``. (A uniform current written into ``cur``
    to be read back cost W2 a fifth of its step.)"""
    c_lo, c_hi = pops[q, P_CIN_LO], pops[q, P_CIN_HI]
    n_blk = j1 - j0  # ranges from 0 keep indices provably non-negative (see neuron_block)
    total = cur.dtype.type(0)  # the sum of the currents so far while they are all uniform
    per_neuron = False
    for c in range(c_lo, c_hi):
        first = c == c_lo  # the block's first sum: written, not added to
        if cin[c, KIND] == CUR_BUFFER and cin[c, SJ] == 0:  # the same value for the block
            x = cbuf[buffer_at(c, j0, b, t, cin)]
            if not per_neuron:
                total = x if first else total + x
                continue
            for jj in range(n_blk):
                cur[jj] = cur[jj] + x
            continue
        if not per_neuron and not first:  # per neuron from here on, from the sum so far
            for jj in range(n_blk):
                cur[jj] = total
        per_neuron = True
        if cin[c, KIND] == CUR_BUFFER:  # one value per neuron, contiguous
            at = buffer_at(c, j0, b, t, cin)
            xs = cbuf[at:at + n_blk]
            for jj in range(n_blk):
                cur[jj] = xs[jj] if first else cur[jj] + xs[jj]
        else:  # random currents: the row's values hoisted, counters consecutive over neurons
            kind, mean, scale, decay = cin[c, KIND], cinf[c, MEAN], cinf[c, SCALE], cinf[c, DECAY]
            ctr, at, state = draw_counter(c, j0, k, cin, n_streams), cin[c, BUF] + j0, ou[b]
            for jj in range(n_blk):
                x = cur.dtype.type(random_current(kind, mean, scale, decay, state, at + jj, key,
                                                  ctr + np.uint64(jj)))
                cur[jj] = x if first else cur[jj] + x
    return per_neuron, total


@njit(inline="always", cache=True)
def neuron_block(model, per_neuron, refractory, args):
    """Step neurons j0 … j1−1 of population q in realization b (state rows ``vb, ib, wb, rb``;
    summed input currents in ``cur`` when ``per_cur``, else ``cur_s`` for every neuron: see
    :func:`current_block`); write the ids of those that fire to ``sp`` from position off+j0
    on; return their count.

    ``model``, ``per_neuron`` and ``refractory`` are compile-time constants, so each case gets
    its own loop, branch-free so that LLVM vectorises it: the fused update (state and a spike
    flag per neuron in ``flags``, whose length is a multiple of 8), then the compaction of the
    flags into spike ids. The loop does not read the refractory counters ``rb``: without a
    refractory period they stay 0, and with one :func:`refractory_block` applies them after
    the loop to the few neurons the block lists (left out of it, they cost the loop a fourth
    of its time at 400,000 neurons). A block with shared parameters that counts its many
    refractory neurons in ``rb`` runs :func:`counted_loop` instead, one pass for both.
    """
    (q, b, j0, j1, pops, par, vb, ib, wb, rb, sp, cur, per_cur, cur_s, flags, listed, left,
     n_listed) = args
    off = pops[q, P_OFF]
    exact = pops[q, P_EXACT]
    row0 = pops[q, P_ROW] + b * pops[q, P_SB]  # per neuron, rows follow (P_SJ is 1)
    has_i = model != RC and model != LEAKY
    has_w = model == LIF_W
    zero = par.dtype.type(0)
    no_refc = rb.dtype.type(0)
    # views and a range starting at 0 keep every index provably non-negative: Numba then
    # drops its negative-index wrap-around, and the accesses stay contiguous for vectorising
    lo, n_blk = off + j0, j1 - j0
    vs, is_, ws = vb[lo:lo + n_blk], ib[lo:lo + n_blk], wb[lo:lo + n_blk]
    if refractory and not per_neuron and n_listed[lo // BLOCK + q] < 0:  # many refractory
        counted_loop(model, exact, par, row0, vs, is_, ws, rb[lo:lo + n_blk], cur, per_cur,
                     cur_s, flags)
        return compact(flags, n_blk, sp, lo)
    shared = params(par, row0)  # the row of every neuron when not per_neuron
    for jj in range(n_blk):
        prm = params(par, np.uint64(row0 + j0) + np.uint64(jj)) if per_neuron else shared
        vv, ii, ww, _, fired = update(model, exact, vs[jj], is_[jj] if has_i else zero,
                                      ws[jj] if has_w else zero, no_refc,
                                      cur[jj] if per_cur else cur_s, prm, not refractory)
        vs[jj] = vv
        if has_i:
            is_[jj] = ii
        if has_w:
            ws[jj] = ww
        flags[jj] = fired  # counted by compact: a running count here halves the loop's speed
    if not refractory:
        return compact(flags, n_blk, sp, lo)
    return refractory_block(q, lo, n_blk, row0 + j0 if per_neuron else row0,
                            1 if per_neuron else 0, has_w, par, vs, ws, rb, flags, sp, listed,
                            left, n_listed)


@njit(cache=True, error_model="numpy", _nrt=False)
def counted_loop(model, exact, par, row, vs, is_, ws, rs, cur, per_cur, cur_s, flags):
    """:func:`neuron_block`'s loop for a block that counts its many refractory neurons in
    ``rs`` (see :func:`refractory_block`), with shared parameters (row ``row``): the counters
    are read, clamped, counted down and started in the same pass, as
    :func:`~spikesim.kernels.neurons.fire` does, instead of in a second pass after it. Compiled
    apart for each model (``literally``): inlined into :func:`model_block` beside the other
    loops, these five made its first compilation two and a half times as long. (The loop
    repeats :func:`neuron_block`'s with the counters read and written: one inlined definition
    with ``counted`` as an argument made the serial kernel's first compilation 55–62 s instead
    of 37–42 s, for a reason not pinned down.)"""
    literally(model)
    has_i = model != RC and model != LEAKY
    has_w = model == LIF_W
    zero = par.dtype.type(0)
    prm = params(par, row)
    for jj in range(vs.size):
        vv, ii, ww, rr, fired = update(model, exact, vs[jj], is_[jj] if has_i else zero,
                                       ws[jj] if has_w else zero, rs[jj],
                                       cur[jj] if per_cur else cur_s, prm)
        vs[jj] = vv
        if has_i:
            is_[jj] = ii
        if has_w:
            ws[jj] = ww
        rs[jj] = rr
        flags[jj] = fired


@njit(cache=True, error_model="numpy", _nrt=False)
def refractory_block(q, lo, n_blk, row, stride, has_w, par, vs, ws, rb, flags, sp, listed,
                     left, n_listed):
    """After :func:`neuron_block`'s loop (which integrated every neuron and thresholded it as
    if none were refractory): clamp the refractory neurons' v at v_reset, undo their spikes
    and count their steps down (:func:`~spikesim.kernels.neurons.clamp`, as ``fire`` does);
    compact the spikes into ``sp[lo:]``; start the refractory periods of the neurons that
    fire (and add LIF_W's adaptation, which ``update`` left out). Returns the number of
    spikes.

    Neuron jj of the block (state ``vs, ws`` from index 0, counters ``rb`` from ``lo``) has
    its parameters in row ``row + stride·jj`` of ``par``. The block's slot in ``n_listed``
    says how it keeps its refractory neurons (see :func:`list_refractory`): ``−1``, counted in
    ``rb`` (read in full each step; with shared parameters :func:`counted_loop` does this
    instead); k >= 0, listed — their indices in ``listed[slot, :k]``,
    counters in ``left[slot, :k]`` —, ``rb`` being written only when a period starts or ends
    (and by :func:`store_refractory` at the end of the kernel call). A list that would grow
    past LIST_MAX is stored and the block counted from then on."""
    slot = lo // BLOCK + q
    keep = n_listed[slot]
    if keep < 0:
        rs, v_reset = rb[lo:lo + n_blk], par[V_RESET, row:row + n_blk]
        v_shared = par[V_RESET, row]
        for jj in range(n_blk):  # branch-free, so that it vectorises
            vs[jj], flags[jj], rs[jj] = clamp(vs[jj], flags[jj], rs[jj],
                                              v_reset[jj] if stride else v_shared)
    else:
        n_was, keep = keep, 0
        for x in range(n_was):
            jj = listed[slot, x]  # (its counter is > 0: clamped)
            vs[jj], flags[jj], count = clamp(vs[jj], flags[jj], left[slot, x],
                                             par[V_RESET, row + stride * jj])
            if count > 0:
                listed[slot, keep] = jj
                left[slot, keep] = count
                keep += 1
            else:
                rb[lo + jj] = 0
    n_spikes = compact(flags, n_blk, sp, lo)
    for s in range(lo, lo + n_spikes):
        jj = sp[s] - lo
        r = row + stride * jj
        if has_w:
            ws[jj] = adapt(ws[jj], params(par, r))
        n_ref = np.int32(par[REF_STEPS, r])
        rb[lo + jj] = n_ref
        if keep >= 0 and n_ref > 0:
            if keep == LIST_MAX:
                for x in range(keep):
                    rb[lo + listed[slot, x]] = left[slot, x]
                keep = -1
            else:
                listed[slot, keep] = jj
                left[slot, keep] = n_ref
                keep += 1
    n_listed[slot] = keep
    return n_spikes


@njit(cache=True, error_model="numpy", _nrt=False)
def list_refractory(q, j0, j1, pops, live, rb, listed, left, n_listed):
    """Choose how :func:`refractory_block` keeps the refractory neurons (counter > 0 in the
    row ``rb``) of neurons j0 … j1−1 of population q during a kernel call, in the block's slot
    ``n_listed[(off+j0) // BLOCK + q]`` (one per block, distinct across populations, as each
    population's blocks start BLOCK apart): listed, when there are at most LIST_MAX of them
    and no monitor samples the counters (``live``); else counted in ``rb`` (−1)."""
    lo = pops[q, P_OFF] + j0
    slot = lo // BLOCK + q
    n = -1 if live else 0
    for jj in range(j1 - j0 if n == 0 else 0):
        if rb[lo + jj] > 0:
            if n == LIST_MAX:
                n = -1
                break
            listed[slot, n] = jj
            left[slot, n] = rb[lo + jj]
            n += 1
    n_listed[slot] = n


@njit(cache=True, error_model="numpy", _nrt=False)
def store_refractory(q, j0, pops, rb, listed, left, n_listed):
    """At the end of a kernel call, write the counters of the listed refractory neurons of
    the block of population q from j0 to the row ``rb``."""
    lo = pops[q, P_OFF] + j0
    slot = lo // BLOCK + q
    for x in range(n_listed[slot]):
        rb[lo + listed[slot, x]] = left[slot, x]


@njit(cache=True, error_model="numpy", _nrt=False)
def compact(flags, n, out, lo):
    """Write lo + j for each j < n where ``flags[j]`` to ``out[lo:]``, in order; returns their
    number. Eight flags (bytes 0 or 1) are read as one word, and each set one is found by
    counting trailing zero bits: one test per eight silent neurons, one step per spike
    (``flags``' length is a multiple of 8; bytes from n on are ignored). Compiled once, not
    inlined into each model's loop."""
    words = flags.view(np.uint64)
    cnt = 0
    for wd in range((n + 7) // 8):
        x = words[wd]
        while x != 0:
            j = 8 * wd + trailing_zeros(x) // 8
            if j >= n:  # the rest of the last word lies past the block
                break
            out[lo + cnt] = lo + j
            cnt += 1
            x &= x - np.uint64(1)
    return cnt


@njit(cache=True, error_model="numpy", _nrt=False)
def model_block(model, per_neuron, refractory, args):
    """``neuron_block`` with the model id, ``per_neuron`` (whether parameters differ between
    neurons) and ``refractory`` (whether any neuron has a refractory period) as compile-time
    constants: one specialised loop per case, chosen once per block. With shared parameters the
    loop reads one table row, loaded into registers before it. Loops with parameters per
    neuron always apply refractory periods: they read a parameter row per neuron anyway, and
    each variant adds about 2 s to the first compilation. (Compiled on its own, not inlined,
    so the parallel kernel's loop bodies stay small.)"""
    if per_neuron:
        if model == LIF:
            return neuron_block(LIF, True, True, args)
        if model == RC:
            return neuron_block(RC, True, True, args)
        if model == LEAKY:
            return neuron_block(LEAKY, True, True, args)
        if model == SYNAPTIC:
            return neuron_block(SYNAPTIC, True, True, args)
        return neuron_block(LIF_W, True, True, args)
    if refractory:
        if model == LIF:
            return neuron_block(LIF, False, True, args)
        if model == RC:
            return neuron_block(RC, False, True, args)
        if model == LEAKY:
            return neuron_block(LEAKY, False, True, args)
        if model == SYNAPTIC:
            return neuron_block(SYNAPTIC, False, True, args)
        return neuron_block(LIF_W, False, True, args)
    if model == LIF:
        return neuron_block(LIF, False, False, args)
    if model == RC:
        return neuron_block(RC, False, False, args)
    if model == LEAKY:
        return neuron_block(LEAKY, False, False, args)
    if model == SYNAPTIC:
        return neuron_block(SYNAPTIC, False, False, args)
    return neuron_block(LIF_W, False, False, args)


@njit(inline="always", cache=True)
def touch_rows(spk_b, lo, hi, row0, part, parts, col):
    """Read one entry per cache line of the rows (part ``part``) of the spikes
    ``spk_b[lo:hi]``: the loads are independent, so their cache misses overlap instead of
    stalling the walk row by row. Returns their sum (>= 0: ids), which keeps the loads."""
    touched = 0
    for s in range(lo, hi):
        r = row0 + spk_b[s]
        e, e1 = parts[r, part], parts[r, part + 1]
        while e < e1:  # (a range with a step would cost a division per row)
            touched += col[e]
            e += 16
    return touched


@njit(inline="always", cache=True)
def propagate(part, b, k, spk, spk_ptr, groups, pops, prj, prj_w, parts, col, wt, dly, ring,
              v, i, w):
    """Add the spikes of step k in realization b to the targets in part ``part`` of every
    projection: into v, i or w (delay of one step) or the ring buffer (longer delays).
    The rows are touched first (:func:`touch_rows`) only when the synapse tables are too
    large for the caches (``TOUCH_MIN_SYNAPSES``); the case of each projection is chosen
    once, outside its loop over spikes. (Inlined into the step: a call with these arguments
    cost about 40 ns per step.)"""
    n_slots = ring.shape[1]
    touch = col.size >= TOUCH_MIN_SYNAPSES
    for p in range(prj.shape[0]):
        if prj[p, J_MASK] >= 0:  # added by given_block
            continue
        g = prj[p, J_PRE]
        var = prj[p, J_VAR]
        tgt = v[b] if var == VAR_V else (i[b] if var == VAR_I else w[b])
        off = pops[prj[p, J_POST], P_OFF]
        r_off = ring_at(pops, prj[p, J_POST], var)
        row0 = prj[p, J_ROW] - groups[g, 0]
        delay = prj[p, J_DELAY]
        uniform = prj[p, J_UNIFORM] != 0
        weight = prj_w[p]
        lo, hi = spk_ptr[b, g], spk_ptr[b, g + 1]
        if touch and touch_rows(spk[b], lo, hi, row0, part, parts, col) < 0:
            return  # never
        if delay == 1 and uniform:  # the common case, kept free of per-synapse loads
            for s in range(lo, hi):
                r = row0 + spk[b, s]
                for e in range(parts[r, part], parts[r, part + 1]):
                    tgt[off + col[e]] += weight
        elif delay == 1:
            for s in range(lo, hi):
                r = row0 + spk[b, s]
                for e in range(parts[r, part], parts[r, part + 1]):
                    tgt[off + col[e]] += wt[e]
        else:  # delays per synapse or longer than one step: d > 1 through the ring
            k_slot = k % n_slots
            for s in range(lo, hi):
                r = row0 + spk[b, s]
                for e in range(parts[r, part], parts[r, part + 1]):
                    d = delay if delay > 0 else dly[e]
                    x = weight if uniform else wt[e]
                    if d > 1:
                        slot = k_slot + d - 1  # (k + d − 1) mod R, as d <= R
                        ring[b, slot - n_slots if slot >= n_slots else slot, r_off + col[e]] += x
                    else:
                        tgt[off + col[e]] += x


@njit(inline="always", cache=True)
def given_block(q, j0, j1, k, pops, groups, prj, prj_w, parts, wt, mask, vb, ib, wb):
    """Add step k of the given spike arrays that reach population q one to one (projections
    with ``J_MASK`` >= 0) to its neurons j0 … j1−1 in one realization (state rows ``vb, ib,
    wb``): the weight where the array's byte (0 or 1) is set, into the target variable — what
    :func:`propagate` would add, read from the (T, n) array's row k in ``mask`` (uint8)."""
    off = pops[q, P_OFF]
    n_blk = j1 - j0
    for p in range(prj.shape[0]):
        at = prj[p, J_MASK]
        if at < 0 or prj[p, J_POST] != q or k >= prj[p, J_MASK_STEPS]:
            continue
        var = prj[p, J_VAR]
        tgt = vb if var == VAR_V else (ib if var == VAR_I else wb)
        tb = tgt[off + j0:off + j1]
        lo = at + k * groups[prj[p, J_PRE], 1] + j0
        fires = mask[lo:lo + n_blk]
        # x + (−0.0) is x, bit for bit: adding a selected −0.0 where the unit is silent lets
        # the loop vectorise (a selected sum does not)
        none = tb.dtype.type(-0.0)
        if prj[p, J_UNIFORM]:
            x = prj_w[p]
            for jj in range(n_blk):
                tb[jj] = tb[jj] + (x if fires[jj] != 0 else none)
        else:  # row j of a one-to-one projection holds the one synapse onto neuron j
            e0 = parts[prj[p, J_ROW] + j0, 0]
            xs = wt[e0:e0 + n_blk]
            for jj in range(n_blk):
                tb[jj] = tb[jj] + (xs[jj] if fires[jj] != 0 else none)


@njit(cache=True, error_model="numpy", _nrt=False)
def jump_block(q, j0, j1, k, pops, cin, cinf, key, n_streams, vb, ib, wb):
    """Add the jumps of population q's Poisson drives at the end of step k (:func:`jump` of
    rows P_CIN_HI … P_JUMP_HI−1 of ``cin``) to its neurons j0 … j1−1 in one realization (state
    rows ``vb, ib, wb``; ``key`` its RNG key), into each drive's target variable."""
    off = pops[q, P_OFF]
    for c in range(pops[q, P_CIN_HI], pops[q, P_JUMP_HI]):
        var = cin[c, ST]
        tgt = vb if var == VAR_V else (ib if var == VAR_I else wb)
        tb = tgt[off + j0:off + j1]
        for jj in range(j1 - j0):
            tb[jj] = tb[jj] + tb.dtype.type(jump(c, j0 + jj, k, cin, cinf, key, n_streams))


@njit(cache=True, error_model="numpy", _nrt=False)
def source_block(sg, first, lo, hi, b, k, t, src, pbuf, nxt, key, n_streams, out, pos):
    """Append to ``out[pos:]`` the units lo … hi−1 (ids from ``first``) of per-step-probability
    source group ``sg`` that fire at step k in realization b; returns the new end."""
    for j in range(lo, hi):
        if source_fires(sg, j, b, k, t, src, pbuf, nxt, key, n_streams):
            out[pos] = first + j
            pos += 1
    return pos


@njit(inline="always", cache=True)
def n_blocks(n):
    """The work items of BLOCK units that cover n units."""
    return (n + BLOCK - 1) // BLOCK


@njit(inline="always", cache=True)
def block_at(blk, nblk):
    """(realization b, first unit j0) of work item ``blk`` of a loop over B × ``nblk``
    blocks."""
    return blk // nblk, (blk % nblk) * BLOCK


@njit(inline="always", cache=True)
def ring_at(pops, q, var):
    """Where the ring buffer's columns of population q's delayed input into variable ``var``
    begin: after those of its variables before ``var`` (v, i, w) with delayed input. (CPU and
    CUDA kernels.)"""
    below = pops[q, P_RING_VARS] & ((1 << var) - 1)
    return pops[q, P_RING] + ((below & 1) + ((below >> 1) & 1)) * pops[q, P_N]


@njit(inline="always", cache=True)
def sample_at(mons, m, k, b, col, n_real):
    """Where in ``traces`` column ``col`` of state monitor m puts realization b's sample at
    t_k+1; −1 when m does not sample at step k. (CPU and CUDA kernels.)"""
    every = mons[m, M_EVERY]
    if (k + 1) % every != 0:
        return -1
    row = (k + 1) // every - mons[m, M_ROW0]
    return mons[m, M_OFF] + (row * n_real + b) * mons[m, M_NCOL] + col


@njit(inline="always", cache=True)
def state_of(var, vv, ii, ww, rr):
    """The variable a probe samples: VAR_V, VAR_I or VAR_W of (vv, ii, ww), else the
    refractory counter rr. (CPU and CUDA kernels.)"""
    if var == VAR_V:
        return vv
    if var == VAR_I:
        return ii
    if var == VAR_W:
        return ww
    return rr


@njit(cache=True, error_model="numpy", _nrt=False)
def gather_blocks(spk, spk_ptr, g, first, n_blocks, blk_cnt):
    """Move the spikes of group g, which each block of BLOCK units wrote from its first unit's
    place (``blk_cnt[b * n_blocks + block]`` of them), to ``spk[b, spk_ptr[b, g]:]`` in block
    order, and set ``spk_ptr[b, g+1]``. The move is always downwards: the spikes of the groups
    before g number at most their units."""
    for b in range(spk.shape[0]):
        pos = spk_ptr[b, g]
        for blk in range(n_blocks):
            start = first + blk * BLOCK
            for s in range(blk_cnt[b * n_blocks + blk]):
                spk[b, pos] = spk[b, start + s]
                pos += 1
        spk_ptr[b, g + 1] = pos


def _run_chunk(k0, t_start, t_stop, pops, par, v, i, w, refc,
               cin, cinf, cbuf, ou, src, pbuf, nxt, ev_ptr, ev_unit,
               groups, prj, prj_w, parts, col, wt, dly, mask, ring,
               key, n_streams, rec_flag, rec_room, rec_k, rec_b, rec_u,
               mons, probes, traces, spk, spk_ptr, blk_cnt, scratch_cur, scratch_flags,
               listed, left, n_listed):
    """Run steps k0+t for t in [t_start, t_stop) (t indexes the chunk's input buffers).
    Returns (t reached, spikes recorded): stops early, before a step, when fewer than
    ``rec_room`` (the most spikes one step can record) places are left in the recording
    buffers ``rec_k`` (int64 steps), ``rec_b``, ``rec_u`` (int32 realizations, global units).

    Shapes: state ``v, i, w`` (B, N) dtype, ``refc`` (B, N) int32; the tables of
    :class:`spikesim.layout.Tables`; the chunk's buffers of
    :func:`spikesim.layout.chunk_inputs` (``ev_ptr`` (Q, B, T+1) for the Q sources,
    ``ev_unit`` flat int64); ``nxt`` (B, source units) int64; ``ring`` (B, D, ring neurons)
    dtype; ``key`` uint64;
    ``rec_flag`` (G,) int64 for the G groups (populations, then sources); ``mons`` (M, 5)
    and ``probes`` (C, 2) int64, ``traces`` flat float64 (see ``_ChunkRunner``); scratch:
    ``spk`` (B, U) int32 (a step's spikes per group from ``spk_ptr`` (B, G+1) int64),
    ``blk_cnt`` (B × blocks,) int64, ``scratch_cur`` (B × neuron blocks, BLOCK) dtype,
    ``scratch_flags`` (the same) bool; ``listed``, ``left`` (B, S, LIST_MAX) and
    ``n_listed`` (B, S) int32, S = N // BLOCK + populations + 1 block slots: the lists of
    refractory neurons, made from ``refc`` at the start of the call and written back at its
    end."""
    n_real = v.shape[0]
    n_pop = pops.shape[0]
    n_groups = groups.shape[0]
    n_rec = 0
    zero = par.dtype.type(0)
    walked = False  # whether any projection's spikes walk its CSR rows (not read as a mask)
    for p in range(prj.shape[0]):
        walked |= prj[p, J_MASK] < 0
    live = False  # whether a monitor samples the refractory counters
    for c in range(probes.shape[0]):
        live |= probes[c, 0] == VAR_REFC
    for q in range(n_pop):
        if pops[q, P_REFRACTORY]:
            nblk = n_blocks(pops[q, P_N])
            for blk in prange(n_real * nblk):
                b, j0 = block_at(blk, nblk)
                list_refractory(q, j0, min(j0 + BLOCK, pops[q, P_N]), pops, live, refc[b],
                                listed[b], left[b], n_listed[b])
    reached = t_stop
    for t in range(t_start, t_stop):
        k = k0 + t
        if n_rec + rec_room > rec_k.shape[0]:
            reached = t
            break
        # 1. neurons, one fused pass per population
        for q in range(n_pop):
            off = pops[q, P_OFF]
            n = pops[q, P_N]
            model = pops[q, P_MODEL]
            has_cin = pops[q, P_CIN_HI] > pops[q, P_CIN_LO]
            nblk = n_blocks(n)
            for blk in prange(n_real * nblk):
                b, j0 = block_at(blk, nblk)
                j1 = min(j0 + BLOCK, n)
                fpu_word = flush_subnormals()  # per work item: each thread has its own MXCSR
                cur = scratch_cur[blk]
                per_cur, cur_s = current_block(
                    q, b, j0, j1, k, t, pops, cur, cin, cinf, cbuf, ou, realization_key(key, b),
                    n_streams) if has_cin else (False, zero)
                blk_cnt[blk] = model_block(
                    model, pops[q, P_SJ] != 0, pops[q, P_REFRACTORY] != 0,
                    (q, b, j0, j1, pops, par, v[b], i[b], w[b], refc[b], spk[b], cur, per_cur,
                     cur_s, scratch_flags[blk], listed[b], left[b], n_listed[b]))
                restore(fpu_word)
                if pops[q, P_JUMP_HI] > pops[q, P_CIN_HI]:  # first, as on CUDA
                    jump_block(q, j0, j1, k, pops, cin, cinf, realization_key(key, b),
                               n_streams, v[b], i[b], w[b])
                if mask.size:  # as propagate would, outside the flush-to-zero mode
                    given_block(q, j0, j1, k, pops, groups, prj, prj_w, parts, wt, mask, v[b],
                                i[b], w[b])
            gather_blocks(spk, spk_ptr, q, off, nblk, blk_cnt)  # group q is population q
        # 2. spike sources (groups after the populations), in blocks of units like the neurons
        for g in range(n_pop, n_groups):
            sg = g - n_pop
            first, n = groups[g, 0], groups[g, 1]
            if src[sg, MODE] != SRC_PROB:  # given, or drawn for the chunk (const_events)
                for b in range(n_real):
                    pos = spk_ptr[b, g]
                    for e in range(ev_ptr[sg, b, t], ev_ptr[sg, b, t + 1]):
                        spk[b, pos] = ev_unit[e]
                        pos += 1
                    spk_ptr[b, g + 1] = pos
                continue
            nblk = n_blocks(n)
            for blk in prange(n_real * nblk):
                b, j0 = block_at(blk, nblk)
                blk_cnt[blk] = source_block(
                    sg, first, j0, min(j0 + BLOCK, n), b, k, t, src, pbuf, nxt,
                    realization_key(key, b), n_streams, spk[b], first + j0) - (first + j0)
            gather_blocks(spk, spk_ptr, g, first, nblk, blk_cnt)
        # 3. record spikes
        for g in range(n_groups):
            if rec_flag[g]:
                for b in range(n_real):
                    for s in range(spk_ptr[b, g], spk_ptr[b, g + 1]):
                        rec_k[n_rec] = k
                        rec_b[n_rec] = b
                        rec_u[n_rec] = spk[b, s]
                        n_rec += 1
        # 4. propagate: each thread owns a target part of one realization; per target, the
        # inputs come in projection order, then by presynaptic unit (deterministic sums)
        n_parts = parts.shape[1] - 1
        if walked:
            for pb in prange(n_parts * n_real):
                propagate(pb % n_parts, pb // n_parts, k, spk, spk_ptr, groups, pops, prj, prj_w,
                          parts, col, wt, dly, ring, v, i, w)
        # 5. deliver the ring-buffer slot due at the end of step k
        for q in range(n_pop):
            if pops[q, P_DELAYED]:
                slot = k % ring.shape[1]
                off, n = pops[q, P_OFF], pops[q, P_N]
                nblk = n_blocks(n)
                for blk in prange(n_real * nblk):  # (one parallel loop, whatever the batch)
                    b, j0 = block_at(blk, nblk)
                    j1 = min(j0 + BLOCK, n)
                    for var in range(VAR_REFC):  # v, i, w: those with delayed input
                        if not (pops[q, P_RING_VARS] >> var) & 1:
                            continue
                        tgt = (v[b] if var == VAR_V else (i[b] if var == VAR_I else w[b]))[
                            off + j0:off + j1]
                        r_off = ring_at(pops, q, var)
                        due = ring[b, slot, r_off + j0:r_off + j1]
                        for j in range(j1 - j0):
                            tgt[j] += due[j]
                            due[j] = zero
        # 6. sample state at t_{k+1}
        for m in range(mons.shape[0]):
            for b in range(n_real):
                base = sample_at(mons, m, k, b, 0, n_real)
                if base < 0:
                    break
                for c in range(mons[m, M_NCOL]):
                    var, j = probes[mons[m, M_PROBE] + c, 0], probes[mons[m, M_PROBE] + c, 1]
                    traces[base + c] = state_of(var, v[b, j], i[b, j], w[b, j], refc[b, j])
    for q in range(n_pop):
        if pops[q, P_REFRACTORY]:
            nblk = n_blocks(pops[q, P_N])
            for blk in prange(n_real * nblk):
                b, j0 = block_at(blk, nblk)
                store_refractory(q, j0, pops, refc[b], listed[b], left[b],
                                 n_listed[b])
    return reached, n_rec


def _variant(name: str, parallel: bool):
    """Compile ``_run_chunk`` under its own name so each variant has its own on-disk cache."""
    fn = types.FunctionType(_run_chunk.__code__, _run_chunk.__globals__, name)
    fn.__qualname__ = name
    fn.__doc__ = _run_chunk.__doc__
    return njit(cache=True, parallel=parallel, nogil=True, error_model="numpy", _nrt=False)(fn)


run_chunk_serial = _variant("run_chunk_serial", False)
run_chunk_parallel = _variant("run_chunk_parallel", True)
