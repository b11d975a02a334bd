"""The CSR layout of projections: rows by presynaptic unit, split into target parts."""

import numpy as np
import pytest
from spikesim.kernels import cpu as KC
from spikesim.kernels.csr import by_target, fill_csr, synapse_hash

import spikesim as ss


def build(pre, post, w, n_pre, bounds, first=5):
    """fill_csr into fresh arrays, offsets from ``first``; delays 1 … 7 by synapse."""
    n = pre.size
    parts = np.empty((n_pre + 1, len(bounds)), np.int64)
    col, wt, dly = np.empty(n, np.int32), np.full(n, np.nan), np.empty(n, np.int16)
    fill_csr(pre, post, w, np.arange(n) % 7 + 1, np.asarray(bounds), first, parts, col, wt, dly)
    return parts, col, wt, dly


@pytest.mark.parametrize("ordered", [True, False])
def test_rows_hold_each_units_synapses_by_part_in_their_original_order(ordered):
    rng = np.random.default_rng(0)
    n_pre, n_post, n = 40, 30, 600
    post = rng.integers(0, n_post, n)
    post = np.sort(post) if ordered else post
    pre = rng.integers(0, n_pre, n)
    w = rng.random(n)
    bounds = [0, 7, 7, 20, n_post]  # an empty part too
    parts, col, wt, dly = build(pre, post, w, n_pre, bounds)
    assert parts[0, 0] == 5 and np.all(parts[n_pre] == 5 + n)
    for u in range(n_pre):
        assert parts[u, -1] == parts[u + 1, 0]
        mine = np.flatnonzero(pre == u)
        expect = np.concatenate([mine[(post[mine] >= lo) & (post[mine] < hi)]
                                 for lo, hi in zip(bounds[:-1], bounds[1:])])
        sl = slice(parts[u, 0] - 5, parts[u, -1] - 5)
        np.testing.assert_array_equal(col[sl], post[expect])
        np.testing.assert_array_equal(wt[sl], w[expect])
        np.testing.assert_array_equal(dly[sl], expect % 7 + 1)
        for k, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:])):
            targets = col[parts[u, k] - 5:parts[u, k + 1] - 5]
            assert np.all((targets >= lo) & (targets < hi))


def test_the_gather_order_is_by_target_masks_first_then_by_synapse_index():
    """by_target (the CUDA backend's CSC) against NumPy's stable lexsort, on targets with no
    synapse, one, and many, some of them flagged as a mask's (added first)."""
    rng = np.random.default_rng(1)
    n_post, n = 50, 2000
    post = rng.integers(0, n_post - 5, n)  # the last targets receive nothing
    late = rng.random(n) < 0.8
    pre, code, wt = rng.integers(0, 99, n), rng.integers(0, 9, n), rng.random(n)
    cpre, ccode, cwt = np.empty(n, np.int32), np.empty(n, np.int32), np.empty(n)
    ptr = by_target(n_post, post, late, pre, code, wt, cpre, ccode, cwt)
    order = np.lexsort((np.arange(n), late, post))
    np.testing.assert_array_equal(ptr, np.r_[0, np.cumsum(np.bincount(post, minlength=n_post))])
    np.testing.assert_array_equal(cpre, pre[order])
    np.testing.assert_array_equal(ccode, code[order])
    np.testing.assert_array_equal(cwt, wt[order])


def test_a_shared_weight_is_not_written_and_the_hash_ignores_the_split():
    rng = np.random.default_rng(1)
    pre, post = rng.integers(0, 20, 300), rng.integers(0, 50, 300)
    one, four = (build(pre, post, np.array([0.5]), 20, bounds, first=0)
                 for bounds in ([0, 50], [0, 10, 25, 40, 50]))
    assert np.isnan(one[2]).all()  # left unwritten
    rows = np.array([7, 21])  # two ranges of rows: units 0-6 and 7-19 (and the end row)
    hashes = [synapse_hash(p, c, np.full(c.size, 0.5).view(np.uint64), d, rows)
              for p, c, _, d in (one, four)]
    np.testing.assert_array_equal(hashes[0], hashes[1])
    assert not np.array_equal(one[1], four[1])  # the order within rows differs
    whole = synapse_hash(one[0], one[1], np.full(one[1].size, 0.5).view(np.uint64), one[3],
                         np.array([21]))
    assert whole[0] == hashes[0].sum(dtype=np.uint64)  # the ranges' sums add up
    moved = four[1].copy()
    moved[four[0][8, 0]] = (moved[four[0][8, 0]] + 1) % 50  # a synapse of unit 8's row
    got = synapse_hash(four[0], moved, np.full(moved.size, 0.5).view(np.uint64), four[3], rows)
    assert got[0] == hashes[1][0] and got[1] != hashes[1][1]


def test_tables_hold_each_projections_synapses_and_weights():
    """The network's CSR segments equal each projection's own ``csr``; ``weights()`` fills in
    the shared weights, which ``wt`` does not store."""
    net = ss.Network(dt=1e-3, seed=5, parallel=False)
    a, b = net.add(ss.LIF(30)), net.add(ss.LIF(20))
    net.connect(a, b, "random", p=0.3, weight=0.25)
    net.connect(b, a, "fixed_indegree", k=4, weight=ss.Uniform(1.0, 2.0))
    net.build()
    tb, weights = net.tables, net.tables.weights()
    for j, pr in enumerate(net.projections):
        rowptr, col, wt, _ = pr.csr(net.dt, np.random.default_rng([5, 2, j]))
        row = tb.prj[j, KC.J_ROW]
        e0 = tb.rowptr[row]
        np.testing.assert_array_equal(tb.rowptr[row:row + pr.pre.n + 1] - e0, rowptr)
        np.testing.assert_array_equal(tb.col[e0:e0 + col.size], col)
        np.testing.assert_array_equal(weights[e0:e0 + col.size], wt)
    assert list(tb.prj[:, KC.J_UNIFORM]) == [1, 0] and tb.prj_w[0] == 0.25
    assert np.all(weights[tb.rowptr[tb.prj[1, KC.J_ROW]]:] >= 1.0)


@pytest.mark.parametrize("n_parts", [2, 3])
def test_rows_drawn_by_unit_then_target_keep_their_order_in_every_part(n_parts):
    """Rules "random" and "all_to_all" draw synapses by presynaptic unit, then target: each
    row is ordered by part though the whole list is not, and fill_csr skips its sort by part
    (the int64 order array, 8 bytes per synapse) for them as for fixed_indegree's, with the
    same rows as the two sorts give: (part, original index) within each row."""
    rng = np.random.default_rng(2)
    n_pre, n_post = 30, 40
    pairs = np.flatnonzero(rng.random(n_pre * n_post) < 0.3)
    pre, post = np.divmod(pairs, n_post)
    bounds = [k * n_post // n_parts for k in range(n_parts + 1)]
    parts, col, _, dly = build(pre, post, np.array([1.0]), n_pre, bounds, first=0)
    part = np.searchsorted(bounds, post, side="right") - 1
    order = np.lexsort((np.arange(pre.size), part, pre))
    np.testing.assert_array_equal(col, post[order])
    np.testing.assert_array_equal(dly, order % 7 + 1)
    np.testing.assert_array_equal(parts[:-1, 0], np.searchsorted(pre, np.arange(n_pre)))
