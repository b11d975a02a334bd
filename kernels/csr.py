"""Building the compressed-sparse-row (CSR) layout of a projection, by presynaptic unit.

For parallel spike propagation the targets are split into P contiguous ranges (parts), and each
row is sorted by part: part k of row r is ``parts[r, k] … parts[r, k+1]−1``, so that P threads
can each add into their own range of targets without conflicts. The sort is stable, so every
target receives its inputs in the same order whatever P: the sums are bit-identical.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .rng import mix64


@njit(cache=True)
def fill_csr(pre, post, w, d, bounds, first, parts, col, wt, dly):
    """Sort synapses (pre, post, weight w, delay d in steps) by presynaptic unit, then by part
    of the target, stably, into the given arrays: ``parts`` (n_pre+1, P+1) gets ``first`` +
    the offsets of each row's parts (row n_pre: the end), ``col``, ``wt`` and ``dly`` (n_syn,)
    the sorted post ids, weights and delays. Targets in [bounds[k], bounds[k+1]) form part k
    (``bounds``: (P+1,), from 0 to n_post). ``w`` and ``d`` may have length 1 (the same for
    every synapse): ``wt`` is then left unwritten; ``dly`` may be empty (delays not stored per
    synapse).

    Two stable counting sorts, by part (skipped when each unit's synapses come ordered by
    part, as every rule but "explicit" draws them: by target, or by presynaptic unit then
    target; the sort by part would then keep their order) and then by presynaptic unit:
    O(n_syn + n_pre·P) with small count arrays."""
    n_pre, n_parts, n_syn = parts.shape[0] - 1, parts.shape[1] - 1, pre.shape[0]
    part_of = np.empty(bounds[n_parts], np.int32)
    for k in range(n_parts):
        part_of[bounds[k]:bounds[k + 1]] = k
    by_part = True  # (always, with one part)
    last = np.zeros(n_pre if n_parts > 1 else 0, np.int32)  # each unit's latest part
    for s in range(n_syn if n_parts > 1 else 0):
        now = part_of[post[s]]
        if now < last[pre[s]]:
            by_part = False
            break
        last[pre[s]] = now
    order = np.empty(0 if by_part else n_syn, np.int64)
    if not by_part:
        fill = np.zeros(n_parts + 1, np.int64)
        for s in range(n_syn):
            fill[part_of[post[s]] + 1] += 1
        for k in range(n_parts):
            fill[k + 1] += fill[k]
        for s in range(n_syn):
            order[fill[part_of[post[s]]]] = s
            fill[part_of[post[s]]] += 1
    fill = np.zeros(n_pre + 1, np.int64)
    for s in range(n_syn):
        fill[pre[s] + 1] += 1
    for u in range(n_pre):
        fill[u + 1] += fill[u]
    for u in range(n_pre + 1):
        parts[u, 0] = first + fill[u]  # row starts; after the scatter, fill[u] is row u's end
    one_w, one_d, store_d = w.shape[0] == 1, d.shape[0] == 1, dly.shape[0] > 0
    for x in range(n_syn):
        s = x if by_part else order[x]
        at = fill[pre[s]]
        fill[pre[s]] = at + 1
        col[at] = post[s]
        if not one_w:
            wt[at] = w[s]
        if store_d:
            dly[at] = d[0] if one_d else d[s]
    for u in range(n_pre):  # each row is ordered by part: find where each part starts
        e, end = parts[u, 0] - first, fill[u]
        for k in range(1, n_parts):
            while e < end and part_of[col[e]] < k:
                e += 1
            parts[u, k] = first + e
        parts[u, n_parts] = first + end
    for k in range(1, n_parts + 1):
        parts[n_pre, k] = parts[n_pre, 0]


@njit(cache=True)
def by_target(n_post, post, late, pre, code, wt, cpre, ccode, cwt):
    """Copy synapses into target order for a gather, in the order the CPU adds them: a stable
    counting sort by target ``post`` (n_syn,), in [0, n_post); within a target, those with
    ``late`` False first, each group by ascending synapse index. Synapse s's ``pre``, ``code``
    and ``wt`` go to ``cpre``, ``ccode`` and ``cwt`` (n_syn,) at its sorted position. Returns
    ``ptr`` (n_post+1,) int64: target j's synapses are ``ptr[j] … ptr[j+1]−1``.
    O(n_syn + n_post)."""
    n_syn = post.shape[0]
    start = np.zeros(2 * n_post + 1, np.int64)  # per key 2·post + late: its count, then start
    for s in range(n_syn):
        start[2 * post[s] + np.int64(late[s]) + 1] += 1
    for key in range(2 * n_post):
        start[key + 1] += start[key]
    ptr = start[::2].copy()
    for s in range(n_syn):
        key = 2 * post[s] + np.int64(late[s])
        at = start[key]
        start[key] = at + 1
        cpre[at] = pre[s]
        ccode[at] = code[s]
        cwt[at] = wt[s]
    return ptr


@njit(cache=True)
def synapse_hash(parts, col, wt_bits, dly, row_ends):
    """64-bit checksums of the synapses (row, target, weight bits ``wt_bits`` — ``wt`` viewed
    as unsigned integers —, delay if stored) of each range of rows ending at ``row_ends``
    (ascending; one range per projection): sums over synapses, so the same for any order of
    the synapses within a row, that is for any number of parts. Their sum (wrapping) is the
    checksum of all the synapses."""
    out = np.zeros(row_ends.shape[0], np.uint64)
    last = parts.shape[1] - 1
    r = 0
    for p in range(row_ends.shape[0]):
        h = np.uint64(0)
        while r < row_ends[p]:
            for e in range(parts[r, 0], parts[r, last]):
                x = mix64(np.uint64(r) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(col[e]))
                x = mix64(x + np.uint64(wt_bits[e]))
                if dly.shape[0] > 0:
                    x = mix64(x + np.uint64(dly[e]))
                h += x
            r += 1
        out[p] = h
    return out
