"""Reference kernels of ``shared/workloads.md``, measured in the same run as the engine.

- :func:`bandwidth`: STREAM triad ``a = b + s·c`` on float32 over all threads (GB/s, 12 bytes per
  element) and :func:`lif_ceiling`, the neuron-steps/s of an update reading and writing v and i.
- Hand-fused Numba loops (time outer, neurons inner, no engine): :func:`w1_fused` (input array
  given), :func:`w2_fused` (serial or ``prange``; noise from ``np.random.standard_normal`` inside
  Numba) and :func:`cuba_csr` (serial, CSR by presynaptic neuron).
- NumPy versions vectorised over neurons: :func:`w1_numpy` (input given),
  :func:`w1_numpy_drawn` (W1b: the input drawn in NumPy), :func:`w2_numpy`.
- :func:`sonata_spikes_h5py`: the least an HDF5 spike recording costs — the given spikes
  written to a new SONATA file with plain h5py, read back, and the file removed.

Each follows the engine's step order: integrate, refractory clamp or threshold and reset, then
the spikes of the step are added to the synaptic variables (a one-step delay).

State arrays are allocated with ``np.full`` (every page written), not ``np.zeros``: a fresh
``np.zeros`` array is mapped to the shared zero page until written, and the masked vector stores
of a vectorised loop into it each take a slow fault path (W2's fused loop ran 50× slower here).
"""

from __future__ import annotations

import os
import statistics
import time
import types

import h5py
import numpy as np
from numba import njit, prange

from .workloads import W1, W2, Cuba

TRIAD_BYTES = 12  # per element: read b and c, write a (float32)


@njit(parallel=True, cache=True)
def _triad(a, b, c, s):
    for j in prange(a.size):
        a[j] = b[j] + s * c[j]


def bandwidth(n: int, repeats: int = 5) -> float:
    """STREAM-triad bandwidth (GB/s) over ``n`` float32 elements on all Numba threads: the
    median of ``repeats`` timed passes after an untimed first one."""
    a = np.empty(n, np.float32)
    b = np.full(n, 1.0, np.float32)
    c = np.full(n, 2.0, np.float32)
    s = np.float32(3.0)
    _triad(a, b, c, s)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        _triad(a, b, c, s)
        times.append(time.perf_counter() - t0)
    return TRIAD_BYTES * n / statistics.median(times) / 1e9


def lif_ceiling(gbs: float, dtype) -> float:
    """Neuron-steps/s of a memory-bound update reading and writing v and i at ``gbs`` GB/s:
    16 bytes per neuron-step in float32, 32 in float64."""
    return gbs * 1e9 / (4 * np.dtype(dtype).itemsize)


# --- W1 -------------------------------------------------------------------------------------
@njit(cache=True)
def _w1_loop(inp, v, i, a_mem, a_syn, v_leak, v_th, v_reset, weight):
    steps, n = inp.shape
    spikes = np.zeros((steps, n), np.bool_)
    for k in range(steps):
        for j in range(n):
            vj = v[j] + a_mem * ((v_leak - v[j]) + i[j])
            ij = i[j] - a_syn * i[j]
            if vj > v_th:
                vj = v_reset
                spikes[k, j] = True
            v[j] = vj
            if inp[k, j]:
                ij += weight
            i[j] = ij
    return spikes


def w1_fused(w: W1, inp: np.ndarray) -> np.ndarray:
    """W1 as one Numba loop over the given input ``inp`` (steps, n) bool; returns the spikes
    (steps, n) bool."""
    f = np.dtype(w.dtype).type
    v = np.full(w.n, w.v_leak, w.dtype)
    i = np.full(w.n, 0, w.dtype)
    return _w1_loop(inp, v, i, f(w.dt / w.tau_mem), f(w.dt / w.tau_syn), f(w.v_leak),
                    f(w.v_th), f(w.v_reset), f(w.weight))


def w1_numpy(w: W1, inp: np.ndarray) -> np.ndarray:
    """W1 vectorised over neurons in NumPy; returns the spikes (steps, n) bool. The fused
    loop's arithmetic in the same order (the same spikes), into buffers made once: the
    temporaries of ``v += a_mem * ((v_leak - v) + i)`` made each step cost 12 % more."""
    f = np.dtype(w.dtype).type
    a_mem, a_syn = f(w.dt / w.tau_mem), f(w.dt / w.tau_syn)
    v_leak, v_th, v_reset, weight = f(w.v_leak), f(w.v_th), f(w.v_reset), f(w.weight)
    v = np.full(w.n, w.v_leak, w.dtype)
    i = np.full(w.n, 0, w.dtype)
    dv, di = np.full(w.n, 0, w.dtype), np.full(w.n, 0, w.dtype)
    spikes = np.full(inp.shape, False)
    for k in range(inp.shape[0]):
        np.subtract(v_leak, v, out=dv)  # v += a_mem·((v_leak − v) + i)
        dv += i
        dv *= a_mem
        v += dv
        np.multiply(i, a_syn, out=di)  # i −= a_syn·i
        i -= di
        z = spikes[k]
        np.greater(v, v_th, out=z)
        v[z] = v_reset
        np.add(i, weight, out=i, where=inp[k])
    return spikes


def w1_numpy_drawn(w: W1) -> np.ndarray:
    """W1b in NumPy: the input drawn by NumPy too, then as :func:`w1_numpy`; returns the spikes
    (steps, n) bool. The input is drawn as the engine draws it, by geometric gaps between the
    spikes of the flattened (steps, n) grid: one draw per spike, not one per neuron-step
    (NumPy's fastest way: about 0.3 ms here against 2.5 ms for 1e6 uniforms)."""
    rng = np.random.default_rng(w.seed)
    total = w.steps * w.n
    inp = np.zeros(total, np.bool_)
    last = -1  # the position of the last spike drawn
    while last < total:
        pos = last + np.cumsum(rng.geometric(w.p, size=int(1.1 * total * w.p) + 100))
        inp[pos[pos < total]] = True
        last = int(pos[-1])
    return w1_numpy(w, inp.reshape(w.steps, w.n))


# --- W2 -------------------------------------------------------------------------------------
def _w2_coefficients(w: W2) -> tuple:
    """(p22, p20, E_L, v_th, v_reset, mean, std) in the workload's dtype and the refractory
    period in steps: v ← E_L + p22·(v − E_L) + p20·I over one step."""
    f = np.dtype(w.dtype).type
    p22 = f(np.exp(-w.dt / w.tau))
    p20 = f(-w.R * np.expm1(-w.dt / w.tau))
    return ((p22, p20, f(w.E_L), f(w.v_th), f(w.v_reset), f(w.mean), f(w.std)),
            int(round(w.refractory / w.dt)))


def _w2_loop(steps, v, refc, p22, p20, el, v_th, v_reset, mean, std, ref_steps, noise):
    f = v.dtype.type
    fired = 0
    for _ in range(steps):
        for j in prange(v.size):
            cur = mean + std * f(np.random.standard_normal()) if noise else mean
            vj = el + p22 * (v[j] - el) + p20 * cur
            if refc[j] > 0:
                vj = v_reset
                refc[j] -= 1
            elif vj > v_th:
                vj = v_reset
                refc[j] = ref_steps
                fired += 1
            v[j] = vj
    return fired


def _compiled(fn, name: str, parallel: bool):
    """``fn`` compiled under its own name, so each variant has its own on-disk cache entry."""
    copy = types.FunctionType(fn.__code__, fn.__globals__, name)
    copy.__qualname__ = name
    return njit(cache=True, parallel=parallel)(copy)


_w2_serial = _compiled(_w2_loop, "_w2_serial", False)
_w2_parallel = _compiled(_w2_loop, "_w2_parallel", True)


def w2_fused(w: W2, steps: int, parallel: bool) -> tuple[np.ndarray, int]:
    """W2 for ``steps`` steps as one Numba loop (``prange`` over neurons if ``parallel``);
    returns the final v (V) and the spike count."""
    coef, ref_steps = _w2_coefficients(w)
    np.random.seed(w.seed)
    v = np.full(w.n, w.E_L, w.dtype)
    refc = np.full(w.n, 0, np.int32)
    kernel = _w2_parallel if parallel else _w2_serial
    fired = kernel(steps, v, refc, *coef, ref_steps, w.noise)
    return v, int(fired)


def w2_numpy(w: W2, steps: int) -> tuple[np.ndarray, int]:
    """W2 for ``steps`` steps vectorised over neurons in NumPy (noise from a NumPy Generator);
    returns the final v (V) and the spike count."""
    (p22, p20, el, v_th, v_reset, mean, std), ref_steps = _w2_coefficients(w)
    rng = np.random.default_rng(w.seed)
    v = np.full(w.n, el, w.dtype)
    refc = np.full(w.n, 0, np.int32)
    noise = np.empty(w.n, w.dtype)
    fired = 0
    for _ in range(steps):
        v -= el
        v *= p22
        v += el + p20 * mean
        if w.noise:
            rng.standard_normal(out=noise, dtype=w.dtype)
            noise *= p20 * std
            v += noise
        ref = refc > 0
        np.subtract(refc, 1, out=refc, where=ref)
        z = v > v_th
        z &= ~ref
        v[ref] = v_reset
        v[z] = v_reset
        refc[z] = ref_steps
        fired += int(np.count_nonzero(z))
    return v, fired


# --- W3 (CUBA) -------------------------------------------------------------------------------
def cuba_connectivity(c: Cuba) -> tuple[np.ndarray, np.ndarray]:
    """CSR by presynaptic neuron (excitatory neurons first): rowptr (n+1,) int64 and targets
    (n_syn,) int32. Probability ``c.p`` per pair, or ``c.indegree`` presynaptic neurons per
    neuron (80 % excitatory), drawn with replacement."""
    rng = np.random.default_rng([c.seed, 7])
    if c.indegree:
        k_e, k_i = c.indegrees()
        pre = np.concatenate([rng.integers(0, c.n_exc, (c.n, k_e)),
                              rng.integers(c.n_exc, c.n, (c.n, k_i))], axis=1).ravel()
        post = np.repeat(np.arange(c.n), c.indegree)
    else:
        pre, post = np.nonzero(rng.random((c.n, c.n)) < c.p)
    order = np.argsort(pre, kind="stable")
    rowptr = np.zeros(c.n + 1, np.int64)
    np.cumsum(np.bincount(pre, minlength=c.n), out=rowptr[1:])
    return rowptr, post[order].astype(np.int32)


@njit(cache=True)
def _cuba_loop(steps, v, ge, gi, refc, rowptr, col, n_exc, we, wi, p22, pe, pi, de, di, el,
               v_th, v_reset, ref_steps):
    fired = np.empty(v.size, np.int64)
    total = 0
    for _ in range(steps):
        m = 0
        for j in range(v.size):
            vj = el + p22 * (v[j] - el) + pe * ge[j] + pi * gi[j]
            ge[j] *= de
            gi[j] *= di
            if refc[j] > 0:
                vj = v_reset
                refc[j] -= 1
            elif vj > v_th:
                vj = v_reset
                refc[j] = ref_steps
                fired[m] = j
                m += 1
            v[j] = vj
        for s in range(m):
            pre = fired[s]
            if pre < n_exc:
                for e in range(rowptr[pre], rowptr[pre + 1]):
                    ge[col[e]] += we
            else:
                for e in range(rowptr[pre], rowptr[pre + 1]):
                    gi[col[e]] += wi
        total += m
    return total


def _coupling(dt: float, tau_m: float, tau_s: float) -> float:
    """v change over one step per unit of an exponentially decaying current (V) of time
    constant tau_s, exact: tau_s/(tau_s − tau_m)·(exp(−dt/tau_s) − exp(−dt/tau_m))."""
    return tau_s / (tau_s - tau_m) * (np.exp(-dt / tau_s) - np.exp(-dt / tau_m))


def cuba_csr(c: Cuba, rowptr: np.ndarray, col: np.ndarray) -> int:
    """CUBA for ``c.duration`` as a serial Numba loop with exact integration over the CSR
    connectivity (``rowptr``, ``col``); returns the spike count."""
    f = np.dtype(c.dtype).type
    rng = np.random.default_rng([c.seed, 8])
    v = rng.uniform(c.v_reset, c.v_th, c.n).astype(c.dtype)
    ge, gi = np.full(c.n, 0, c.dtype), np.full(c.n, 0, c.dtype)
    refc = np.full(c.n, 0, np.int32)
    return int(_cuba_loop(
        c.steps, v, ge, gi, refc, rowptr, col, c.n_exc, f(c.we), f(c.wi),
        f(np.exp(-c.dt / c.taum)), f(_coupling(c.dt, c.taum, c.taue)),
        f(_coupling(c.dt, c.taum, c.taui)), f(np.exp(-c.dt / c.taue)),
        f(np.exp(-c.dt / c.taui)), f(c.E_L), f(c.v_th), f(c.v_reset),
        int(round(c.refractory / c.dt))))


# --- W4 (HDF5 floor) -------------------------------------------------------------------------
def sonata_spikes_h5py(path: str, times_ms: np.ndarray, node_ids: np.ndarray) -> int:
    """Write spikes to a new SONATA file at ``path`` with plain h5py (``/spikes/<pop>`` with
    ``timestamps`` in ms and ``node_ids``, sorted by time), read them back, and remove the
    file: what recording spikes to HDF5 costs at the least, with no engine around it. Returns
    the number of spikes read back."""
    with h5py.File(path, "w") as f:
        f.attrs["magic"] = np.uint32(0x0A7A)
        f.attrs["version"] = np.array([0, 1], np.uint32)
        g = f.create_group("spikes/pop")
        g.attrs["sorting"] = "by_time"
        g.create_dataset("timestamps", data=times_ms).attrs["units"] = "ms"
        g.create_dataset("node_ids", data=node_ids)
    with h5py.File(path, "r") as f:
        ts, ids = f["spikes/pop/timestamps"][()], f["spikes/pop/node_ids"][()]
    os.remove(path)
    return min(ts.size, ids.size)
