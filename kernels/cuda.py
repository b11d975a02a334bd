"""CUDA kernels: the per-step schedule of :mod:`spikesim.kernels.cpu`, on an NVIDIA GPU.

The model equations are not repeated here: the kernels call the very same scalar functions as
the CPU kernel — :func:`~spikesim.kernels.neurons.update`,
:func:`~spikesim.kernels.inputs.current`, :func:`~spikesim.kernels.inputs.source_fires` and
the counter-based RNG under them — which numba-cuda compiles as device functions. Only the loop
skeletons differ: grid-stride loops over (realization, unit) instead of ``prange`` blocks.

Tables, state and buffers are those of :mod:`spikesim.layout` (see :mod:`spikesim.kernels.cpu`
for the column meanings), as device arrays, plus a few GPU-only tables built by
:mod:`spikesim.cuda`: the group of every unit, a by-target (CSC) copy of the synapses, and the
probes of every neuron.

Schedule of one step k (t = k − k0 within the chunk), as on the CPU:
  :func:`step_units` (one launch, grid-stride over B realizations × U units, neurons then
  sources)
    1. neurons: summed current inputs, ``update`` (integrate, threshold, reset, refractory
       clamp), then the Poisson drives' jumps; the spike flag ``spk[b, u]``;
    2. spike sources: ``source_fires``, or a binary search of the chunk's sorted event list;
    3. recording: a spike of a recorded group takes a slot of the chunk's record buffer with an
       atomic increment; the host sorts the records by (step, group, realization, unit), the
       CPU's order, before handing them to the monitors;
  :func:`mark_targets` (optional, one launch over B × presynaptic rows): every target of a
    spiking unit is flagged in ``recv`` (idempotent stores, no atomics);
  :func:`gather_deliver` (one launch over B × N neurons)
    4. propagation, as a per-target gather (see below);
    5. delivery of the ring-buffer slot due at the end of step k;
    6. state monitors sample the state at t_k+1 (from the neuron's own thread).

Networks without projections (independent neurons: nothing couples two units within a step)
run the whole chunk in ONE launch of :func:`step_units`: each thread keeps its neuron's state
in registers over all the steps (``t0 … t1``) and samples it itself, so state is read and
written once per chunk, not once per step. Coupled networks launch the kernels above once per
step from a Python loop; launches on the default stream are asynchronous and ordered, so the
host only waits when it must check the room left in the record buffer.

Why a per-target gather rather than atomic adds (step 4): the CPU adds the weights arriving at a
target in a fixed order — Poisson drives' jumps first (added here in ``step_units``, after the
update), a given array read as a mask next (``given_block``), then projections in order, the spikes
of the presynaptic group in ascending unit id (populations and sources produce them so; event
sources' lists are sorted and unique), each unit's synapses in CSR order — which is ascending global
synapse index e, after the masks' synapses. Atomic float adds in whatever order the threads happen
to run can change the last bit of a sum and, rarely, whether a neuron fires, so CPU and GPU runs
(and two GPU runs) would drift apart. Here the thread owning target (b, j) walks j's incoming
synapses in that order (the CSC copy built on the host; here a given array always goes through event
lists) and adds those whose presynaptic unit spiked, sequentially: the same additions in the same
order as the CPU, bit for bit, with no atomics and no contention. Its cost is the in-degree of the
targets visited; with ``mark_targets`` only targets that receive a spike this step are visited
(recommended for large networks), without it every target scans its incoming synapses (cheaper for
small ones: one launch fewer per step).

Floating point: NVVM contracts ``a * b + c`` into fused multiply-adds by default, which rounds
differently from the CPU's separate multiply and add. :func:`launch` compiles these kernels with
``-fma=0`` (:func:`strict_fp`), so that every float operation is the IEEE-rounded one the CPU does:
NVVM then writes ``mul.rn``/``add.rn``, which ptxas may not fuse. That holds only on the PTX path:
with link-time optimisation — numba-cuda's default wherever it finds nvJitLink — NVVM emits LTO-IR
and nvJitLink generates the code with its own default, ``-fma=1``, so the kernels would have FMAs
again (seen in the LTO PTX and the SASS of cc 9.0 builds, numba-cuda 0.30.4). The kernels are
therefore compiled without LTO (:data:`_NO_LTO`; they link nothing that LTO could inline).
On the CUDA simulator, float64 runs match the CPU bit for bit (float32 ones compute the models
in float64 there: ``params`` hands the parameters to Python as Python floats). On an H200 with
numba-cuda 0.30.4 (2026-12-04), before LTO was turned off, the spikes of every test case were
identical but float64 values differed in the last bits (at most 4.4e-16). The rare RNG paths that
use ``math.log``/``exp`` may differ (libdevice's, see :mod:`spikesim.kernels.rng`).

Under the CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``) kernels run as Python on the CPU; their
array arguments are then unwrapped to the NumPy arrays behind them so that the shared ``@njit``
functions can take them (:func:`_kernel`).
"""

from __future__ import annotations

import inspect
import math
import threading

import numpy as np
from numba import cuda

from .cpu import (
    M_PROBE,
    P_CIN_HI,
    P_CIN_LO,
    P_DELAYED,
    P_EXACT,
    P_JUMP_HI,
    P_MODEL,
    P_OFF,
    P_RING_VARS,
    P_ROW,
    P_SB,
    P_SJ,
    VAR_I,
    VAR_REFC,
    VAR_V,
    ring_at,
    sample_at,
    state_of,
)
from .inputs import MODE, SRC_EVENTS, ST, UNIT, current, jump, realization_key, source_fires
from .neurons import LEAKY, LIF_W, RC, params, update

try:  # numba-cuda (the maintained target)
    from numba.cuda.core import config as _cuda_config
except ImportError:  # the CUDA target built into older Numba
    from numba.core import config as _cuda_config

SIMULATOR = bool(_cuda_config.ENABLE_CUDASIM)
"""Whether numba.cuda is the CPU simulator (``NUMBA_ENABLE_CUDASIM=1``)."""

THREADS_PER_BLOCK = 128
"""Threads per block of every launch (tests set it to 4 so that several blocks run)."""
MAX_BLOCKS = 1 << 16
"""Most blocks per launch; threads loop (grid-stride) over the rest."""
DELAY_SHIFT = 2
"""CSC code of a synapse: delay (steps) << DELAY_SHIFT | target variable (VAR_V, VAR_I, VAR_W)."""
_NO_LTO = {} if SIMULATOR or "lto" not in inspect.signature(cuda.jit).parameters else {"lto": False}
"""``cuda.jit`` options of the kernels: no link-time optimisation where numba.cuda has the option
(numba-cuda turns it on wherever nvJitLink is found, and nvJitLink's code generation contracts
a*b+c into FMAs whatever :func:`strict_fp` told NVVM; see the module docstring)."""


# --------------------------------------------------------------------------------------------
# Compilation: strict IEEE float operations, and the simulator's array unwrapping.
# --------------------------------------------------------------------------------------------

_STRICT = threading.local()


def _install_no_fma() -> None:
    """Wrap NVVM's compile entry point so that code compiled under :func:`strict_fp` gets
    ``-fma=0`` (no contraction of a*b+c into FMAs). numba-cuda exposes no option for it; other
    code compiled in the process is unaffected."""
    from numba.cuda.cudadrv import nvvm

    if getattr(nvvm.compile_ir, "_spikesim_no_fma", False):
        return
    original = nvvm.compile_ir

    def compile_ir(llvmir, **options):
        if getattr(_STRICT, "on", False) and not options.get("fastmath"):
            options.setdefault("fma", False)
        return original(llvmir, **options)

    compile_ir._spikesim_no_fma = True
    nvvm.compile_ir = compile_ir


class strict_fp:
    """Context in which CUDA kernels compile without FMA contraction (see module docstring).
    A kernel is compiled at its first launch, so launches go through it (:func:`launch`)."""

    def __enter__(self):
        self.prev = getattr(_STRICT, "on", False)
        _STRICT.on = True

    def __exit__(self, *exc):
        _STRICT.on = self.prev


if not SIMULATOR:
    _install_no_fma()


def _raw(a):
    """The NumPy array behind a simulator device array (other arguments unchanged)."""
    a = getattr(a, "_item", a)  # FakeWithinKernelCUDAArray -> FakeCUDAArray
    return getattr(a, "_ary", a)


def _kernel(fn):
    """``cuda.jit`` a kernel; under the simulator, first unwrap its array arguments: the shared
    ``@njit`` model functions need NumPy arrays, not simulator arrays."""
    if not SIMULATOR:
        # (the function as first argument: numba-cuda 0.30.4's cuda.jit(lto=False)(fn) drops
        # the lto option on its way to the dispatcher)
        return cuda.jit(fn, cache=True, **_NO_LTO)

    def simulated(*args):
        return fn(*[_raw(a) for a in args])

    simulated.__name__ = simulated.__qualname__ = fn.__name__
    simulated.__doc__ = fn.__doc__
    return cuda.jit(simulated)


def launch(kernel, n_items: int, *args) -> None:
    """Launch ``kernel`` over ``n_items`` work items: THREADS_PER_BLOCK threads per block, at
    most MAX_BLOCKS blocks (grid-stride loops cover the rest). Asynchronous on the default
    stream; compiles without FMA contraction on first use."""
    tpb = THREADS_PER_BLOCK
    blocks = max(1, min((n_items + tpb - 1) // tpb, MAX_BLOCKS))
    with strict_fp():
        try:
            kernel[blocks, tpb](*args)
        except AttributeError as e:  # at the first compilation
            if "row_stack" not in str(e):
                raise
            raise RuntimeError(_numpy_too_new()) from e


def _numpy_too_new() -> str:
    """The message for numba-cuda failing on a NumPy without ``row_stack`` (seen with
    numba-cuda 0.30.4 and NumPy 2.5.2)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        nc = f"numba-cuda {version('numba-cuda')}"
    except PackageNotFoundError:
        nc = "numba.cuda"
    return (f"{nc} cannot compile kernels with NumPy {np.__version__}: it refers to "
            f"numpy.row_stack, which NumPy 2.5 removed. Install NumPy 2.4 or older "
            f"(pip install 'numpy<2.5') or a numba-cuda release that supports NumPy "
            f"{np.__version__}")


# --------------------------------------------------------------------------------------------
# Device functions (loop-skeleton helpers; the model maths is in neurons.py / inputs.py).
# --------------------------------------------------------------------------------------------


@cuda.jit(device=True)
def _record(k, b, u, rec_n, rec_k, rec_b, rec_u):
    """Append spike (step k, realization b, unit u) to the record buffer; a full buffer drops
    it (the host leaves enough room: see spikesim.cuda)."""
    n = cuda.atomic.add(rec_n, 0, 1)
    if n < rec_k.shape[0]:
        rec_k[n] = k
        rec_b[n] = b
        rec_u[n] = u


@cuda.jit(device=True)
def _sample(k, b, p_lo, p_hi, vv, ii, ww, rr, probe_idx, probes, probe_mon, mons, traces,
            n_real):
    """Write the samples at t_k+1 of one neuron in realization b: its probes are
    ``probe_idx[p_lo:p_hi]`` (rows of ``probes``), its state (vv, ii, ww, rr)."""
    for x in range(p_lo, p_hi):
        c = probe_idx[x]
        m = probe_mon[c]
        at = sample_at(mons, m, k, b, c - mons[m, M_PROBE], n_real)
        if at >= 0:
            traces[at] = state_of(probes[c, 0], vv, ii, ww, rr)


@cuda.jit(device=True)
def _has_event(ev_unit, lo, hi, u):
    """Whether unit u is in the ascending list ``ev_unit[lo:hi]`` (binary search)."""
    end = hi
    while lo < hi:
        mid = (lo + hi) // 2
        if ev_unit[mid] < u:
            lo = mid + 1
        else:
            hi = mid
    return lo < end and ev_unit[lo] == u


# --------------------------------------------------------------------------------------------
# Kernels.
# --------------------------------------------------------------------------------------------


@_kernel
def step_units(k0, t0, t1, flags, sample, n_neu, n_pop, pops, par, v, i, w, refc, cin, cinf,
               cbuf, ou, src, pbuf, nxt, ev_ptr, ev_unit, group_of, rec_flag, spk, rec_n, rec_k,
               rec_b, rec_u, probe_ptr, probe_idx, probes, probe_mon, mons, traces, key,
               n_streams):
    """Steps k0+t, t in [t0, t1), of every unit (schedule parts 1–3, and 6 when ``sample``).

    Work item (b, u), b in [0, B), u in [0, U): units u < n_neu are neurons (state ``v, i, w``
    (B, N) float, ``refc`` (B, N) int32), the others spike sources. ``group_of`` (U,) int32:
    group of each unit (population q for a neuron, n_pop + source index for a source).
    With ``flags``, ``spk[b, u]`` (uint8) is set to whether the unit fired at the last step.
    Records go to ``rec_k, rec_b, rec_u`` (capacity C) through the counter ``rec_n`` (1,) int64.
    With ``sample`` (only for runs of independent neurons), neuron u writes its probes
    ``probe_idx[probe_ptr[u]:probe_ptr[u+1]]`` into ``traces`` (float64). Other arguments as
    for the CPU kernel, but the event lists ``ev_ptr`` (S, B, T+1) hold given spikes only:
    constant-probability sources advance ``nxt`` step by step instead of reading drawn event
    lists; ``key`` (uint64) the network's RNG key.
    """
    n_real = v.shape[0]
    n_units = group_of.shape[0]
    zero = par.dtype.type(0)
    for idx in range(cuda.grid(1), n_real * n_units, cuda.gridsize(1)):
        b = idx // n_units
        u = idx - b * n_units
        g = group_of[u]
        kb = np.uint64(realization_key(key, b))  # (the simulator returns a Python int)
        rec = rec_flag[g] != 0
        fired = False
        if u < n_neu:  # a neuron of population g
            off = pops[g, P_OFF]
            jl = u - off
            model = pops[g, P_MODEL]
            exact = pops[g, P_EXACT]
            row = pops[g, P_ROW] + b * pops[g, P_SB] + jl * pops[g, P_SJ]
            c_lo, c_hi, d_hi = pops[g, P_CIN_LO], pops[g, P_CIN_HI], pops[g, P_JUMP_HI]
            has_i = model != RC and model != LEAKY
            has_w = model == LIF_W
            vv = v[b, u]
            ii = i[b, u] if has_i else zero
            ww = w[b, u] if has_w else zero
            rr = refc[b, u]
            p_lo = probe_ptr[u]
            p_hi = probe_ptr[u + 1] if sample else p_lo
            prm = params(par, row)
            for t in range(t0, t1):
                k = k0 + t
                cur = zero
                for c in range(c_lo, c_hi):
                    x = par.dtype.type(current(c, jl, b, k, t, cin, cinf, cbuf, ou, kb,
                                               n_streams))
                    cur = x if c == c_lo else cur + x
                vv, ii, ww, rr, fired = update(model, exact, vv, ii, ww, rr, cur, prm)
                for c in range(c_hi, d_hi):  # Poisson drives: jumps at the end of the step
                    x = par.dtype.type(jump(c, jl, k, cin, cinf, kb, n_streams))
                    if cin[c, ST] == VAR_V:
                        vv += x
                    elif cin[c, ST] == VAR_I:
                        ii += x
                    else:
                        ww += x
                # no-ops on the GPU; under the simulator they keep float32 state float32
                vv, ii, ww = par.dtype.type(vv), par.dtype.type(ii), par.dtype.type(ww)
                if fired and rec:
                    _record(k, b, u, rec_n, rec_k, rec_b, rec_u)
                if p_hi > p_lo:
                    _sample(k, b, p_lo, p_hi, vv, ii, ww, rr, probe_idx, probes, probe_mon,
                            mons, traces, n_real)
            v[b, u] = vv
            if has_i:
                i[b, u] = ii
            if has_w:
                w[b, u] = ww
            refc[b, u] = rr
        else:  # unit j of spike source group sg
            sg = g - n_pop
            j = u - n_neu - src[sg, UNIT]
            events = src[sg, MODE] == SRC_EVENTS
            for t in range(t0, t1):
                k = k0 + t
                if events:
                    fired = _has_event(ev_unit, ev_ptr[sg, b, t], ev_ptr[sg, b, t + 1], u)
                else:
                    fired = source_fires(sg, j, b, k, t, src, pbuf, nxt, kb, n_streams)
                if fired and rec:
                    _record(k, b, u, rec_n, rec_k, rec_b, rec_u)
        if flags:
            spk[b, u] = 1 if fired else 0


@_kernel
def mark_targets(row_unit, row_post, rowptr, col, spk, recv):
    """Flag ``recv[b, j] = 1`` for every target j of a unit that spiked (``spk[b, u]``).

    Work item (b, r) over the concatenated CSR rows r of all projections: ``row_unit`` (R,)
    int32 the presynaptic unit of row r (−1 for the end-of-projection rows), ``row_post`` (R,)
    int32 the first neuron of the projection's target population, ``rowptr`` (R+1,) int64,
    ``col`` (nnz,) int32 target within that population. Concurrent stores of the same value:
    no atomics needed.
    """
    n_real = spk.shape[0]
    n_rows = row_unit.shape[0]
    for idx in range(cuda.grid(1), n_real * n_rows, cuda.gridsize(1)):
        b = idx // n_rows
        r = idx - b * n_rows
        u = row_unit[r]
        if u >= 0 and spk[b, u] != 0:
            base = row_post[r]
            for e in range(rowptr[r], rowptr[r + 1]):
                recv[b, base + col[e]] = 1


@_kernel
def gather_deliver(k, marked, sample, pops, group_of, v, i, w, refc, ring, spk, recv, cptr,
                   cpre, cwt, ccode, probe_ptr, probe_idx, probes, probe_mon, mons, traces):
    """Propagation into, ring delivery to and sampling of every neuron at step k (schedule
    parts 4–6). Work item (b, j), j in [0, N).

    Target j's incoming synapses are ``cpre, cwt, ccode[cptr[j]:cptr[j+1]]`` in the CPU's order of
    addition (masks first, then ascending CSR index): presynaptic unit (int32), weight (float), and
    delay << DELAY_SHIFT | target variable. A synapse whose presynaptic unit spiked (``spk``) adds
    its weight to the variable (delay 1) or to ring slot (k + d − 1) mod D (delay d > 1) of ``ring``
    (B, D, the ring's columns: per population with delayed input, n per variable receiving it,
    from its ``P_RING``; :func:`~spikesim.kernels.cpu.ring_at`). With
    ``marked``, only targets flagged in ``recv`` (B, N) uint8 are visited and their flags
    cleared. Then delayed populations receive ring slot k mod D (and it is zeroed), and with
    ``sample`` the neuron's probes are written as in :func:`step_units`.
    """
    n_real, n_neu = v.shape[0], v.shape[1]
    n_slots = ring.shape[1]
    zero = ring.dtype.type(0)
    for idx in range(cuda.grid(1), n_real * n_neu, cuda.gridsize(1)):
        b = idx // n_neu
        j = idx - b * n_neu
        q = group_of[j]
        jq = j - pops[q, P_OFF]  # j within its population: its column in each ring segment
        if marked == 0 or recv[b, j] != 0:
            if marked:
                recv[b, j] = 0
            hit = False
            vv = ii = ww = zero
            for x in range(cptr[j], cptr[j + 1]):
                if spk[b, cpre[x]] != 0:
                    if not hit:
                        hit = True
                        vv, ii, ww = v[b, j], i[b, j], w[b, j]
                    d = ccode[x] >> DELAY_SHIFT
                    var = ccode[x] & ((1 << DELAY_SHIFT) - 1)
                    if d > 1:
                        ring[b, (k + d - 1) % n_slots, ring_at(pops, q, var) + jq] += cwt[x]
                    elif var == VAR_V:
                        vv += cwt[x]
                    elif var == VAR_I:
                        ii += cwt[x]
                    else:
                        ww += cwt[x]
            if hit:
                v[b, j] = vv
                i[b, j] = ii
                w[b, j] = ww
        if pops[q, P_DELAYED]:
            slot = k % n_slots
            for var in range(VAR_REFC):  # v, i, w: those with delayed input
                if (pops[q, P_RING_VARS] >> var) & 1:
                    r = ring_at(pops, q, var) + jq
                    if var == VAR_V:
                        v[b, j] += ring[b, slot, r]
                    elif var == VAR_I:
                        i[b, j] += ring[b, slot, r]
                    else:
                        w[b, j] += ring[b, slot, r]
                    ring[b, slot, r] = zero
        if sample:
            p_lo, p_hi = probe_ptr[j], probe_ptr[j + 1]
            if p_hi > p_lo:
                _sample(k, b, p_lo, p_hi, v[b, j], i[b, j], w[b, j], refc[b, j], probe_idx,
                        probes, probe_mon, mons, traces, n_real)


@_kernel
def count_nonfinite(x, count):
    """Add to ``count[0]`` how many values of the 2-d array ``x`` are NaN or infinite (grid
    stride over its flattened elements)."""
    n_cols = x.shape[1]
    bad = 0
    for e in range(cuda.grid(1), x.shape[0] * n_cols, cuda.gridsize(1)):
        if not math.isfinite(x[e // n_cols, e % n_cols]):
            bad += 1
    if bad:
        cuda.atomic.add(count, 0, bad)


@_kernel
def triad(a, b, c, s):
    """STREAM triad a = b + s·c (grid-stride), for measuring device memory bandwidth."""
    for x in range(cuda.grid(1), a.shape[0], cuda.gridsize(1)):
        a[x] = b[x] + s * c[x]
