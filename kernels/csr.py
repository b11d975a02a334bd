"""Building the compressed-sparse-row (CSR) layout of a projection, by presynaptic unit."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def csr_by_pre(pre, n_pre):
    """Counting sort of synapses by presynaptic unit, stable (synapses of one unit keep their
    order). Returns (rowptr (n_pre+1,) int64, order (n_syn,) int64): the synapses of unit u are
    ``order[rowptr[u]:rowptr[u+1]]``. O(n_syn + n_pre)."""
    rowptr = np.zeros(n_pre + 1, np.int64)
    for s in range(pre.shape[0]):
        rowptr[pre[s] + 1] += 1
    for u in range(n_pre):
        rowptr[u + 1] += rowptr[u]
    fill = rowptr[:-1].copy()
    order = np.empty(pre.shape[0], np.int64)
    for s in range(pre.shape[0]):
        order[fill[pre[s]]] = s
        fill[pre[s]] += 1
    return rowptr, order
