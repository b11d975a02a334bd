"""Counter-based random numbers for the fused CPU and CUDA kernels.

There is no generator state. Every draw is a pure function of ``(seed, trial, realization,
step, stream)`` (the trial: 0, or the one a ``Network.restore`` drawing new inputs began)::

    key  = realization_key(seed_key(seed), b)               # per realization b (kernels.inputs)
                                                            # (trial_key(seed, t) after
                                                            # Network.restore's t-th new draw)
    ctr  = counter(step, stream, n_streams)
    bits = mix64(key + (ctr + 1) * 0x9E3779B97F4A7C15)      # SplitMix64 output number ctr

``uniform``, ``uniform_open``, ``normal``, ``exponential``, ``geometric_gap`` and ``poisson``
are transforms of that one 64-bit word (``normal`` and ``exponential`` may, rarely, need more
words: they come from a secondary sequence ``mix64(bits + j * 0xD1B54A32D192ED03)``,
j = 1, 2, ..., still a pure function of ``(key, ctr)``). Because no draw depends on the order
in which draws are made, results are bit-identical whatever the chunk size or the number of
threads, and identical on CPU
(``@njit`` loops) and GPU (``numba.cuda`` kernels). A counter must be used for one draw only:
two transforms of the same ``(key, ctr)`` are not independent.

CPU/GPU caveat: ``bits``, ``uniform``, ``uniform_open`` and the ziggurat fast paths of ``normal``
and ``exponential`` (about 98.5 % and 97.8 % of the draws; ``geometric_gap`` adds one multiply)
use only integer operations and exact-rounded multiplies, so they are bit-identical across
targets. The rare paths use ``math.log``/``math.exp``, whose last bit
may differ between the CPU libm and CUDA libdevice (and CUDA contracts a*b+c into FMAs): a
normal from the tail (|x| > 3.654, ~2.6e-4 of draws) can differ in its last bits, and a wedge
or ``geometric_gap`` decision can flip only when a value lies within an ulp of its threshold
(probability ~1e-15 per draw).

Every jitted function is a scalar function using only integer and float arithmetic and
``math`` functions, so the same Python functions also compile as CUDA device functions. All
integer arithmetic is done in ``uint64`` (wrapping modulo 2**64); arguments are cast on entry
because Numba promotes ``uint64 op int64`` to ``float64``.

The normal and exponential samplers are 256-layer ziggurats (Marsaglia & Tsang, J. Stat.
Softw. 5(8), 2000): in 98.5 % (97.8 %) of the cases a draw costs one ``mix64``, two table loads
and a multiply. Geometric gaps (spike sources) use the exponential: no logarithm per spike.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numba
import numpy as np

__all__ = [
    "bits",
    "counter",
    "exponential",
    "geometric_gap",
    "mix64",
    "normal",
    "poisson",
    "poisson_quantile",
    "seed_key",
    "trial_key",
    "uniform",
    "uniform_open",
]

_MASK64 = (1 << 64) - 1

# uint64 constants (module-level numpy scalars are frozen as typed constants by Numba).
_U1 = np.uint64(1)
_S8 = np.uint64(8)
_S11 = np.uint64(11)
_S27 = np.uint64(27)
_S30 = np.uint64(30)
_S31 = np.uint64(31)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # counter increment (2**64 / golden ratio, odd)
_SECOND = np.uint64(0xD1B54A32D192ED03)  # secondary-sequence increment (odd)
_LOW8 = np.uint64(0xFF)
_LOW9 = np.uint64(0x1FF)
_TWO_M53 = 2.0**-53
_GAP_MAX = np.int64(1 << 62)  # "never": returned when p == 0 (or the gap overflows)


# --------------------------------------------------------------------------------------------
# Ziggurat tables (built once at import time from the Marsaglia-Tsang recurrence).
# --------------------------------------------------------------------------------------------

_ZIG_LAYERS = 256


@dataclass(frozen=True)
class _Density:
    """A decreasing density on [0, inf), unnormalised: f, its inverse, the area beyond x, and
    a bracket of the ziggurat's tail start for 256 layers."""

    f: Callable[[float], float]
    f_inv: Callable[[float], float]
    tail: Callable[[float], float]
    bracket: tuple[float, float]


_HALF_NORMAL = _Density(lambda x: math.exp(-0.5 * x * x), lambda y: math.sqrt(-2.0 * math.log(y)),
                        lambda r: math.sqrt(0.5 * math.pi) * math.erfc(r / math.sqrt(2.0)),
                        (2.0, 5.0))
_EXPONENTIAL = _Density(lambda x: math.exp(-x), lambda y: -math.log(y), lambda r: math.exp(-r),
                        (5.0, 10.0))


def _layer_area(d: _Density, r: float) -> float:
    """Common area v of every layer when the base layer starts at r (base box plus tail)."""
    return r * d.f(r) + d.tail(r)


def _zig_edges(d: _Density, r: float, n: int) -> tuple[list[float], float]:
    """Right edges x_1 = r > x_2 > ... > x_{n-1} of the layers and the top-layer residual.

    The residual x_{n-1} (1 - f(x_{n-1})) - v is zero for the right r; it is negative (or the
    recurrence fails, returned as -1) when r is too small.
    """
    v = _layer_area(d, r)
    xs = [r]
    for _ in range(n - 2):
        y = d.f(xs[-1]) + v / xs[-1]
        if y >= 1.0:
            return xs, -1.0
        xs.append(d.f_inv(y))
    return xs, xs[-1] * (1.0 - d.f(xs[-1])) - v


def _zig_radius(d: _Density, n: int) -> float:
    """Start r of the tail for an n-layer ziggurat, by bisection on the top-layer residual."""
    lo, hi = d.bracket
    while True:
        mid = 0.5 * (lo + hi)
        if mid <= lo or mid >= hi:
            return hi
        if _zig_edges(d, mid, n)[1] < 0.0:
            lo = mid
        else:
            hi = mid


def _build_tables(d: _Density, n: int) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """Tail start r and the lookup tables K (uint64, n), W (float64, 2n), F (float64, n + 1).

    Layer i covers x < X[i] with X[0] = v / f(r) (the base box stretched to hold the tail),
    X[1] = r, ..., X[n] = 0.  A draw (i, u) with u uniform in [0, 2**53) gives
    x = u * X[i] / 2**53, accepted at once when u < K[i] = 2**53 X[i+1] / X[i].  W holds
    +X[i] / 2**53 at index i and -X[i] / 2**53 at index i + n (the normal's sign bit),
    F[i] = f(X[i]).
    """
    r = _zig_radius(d, n)
    edges, _ = _zig_edges(d, r, n)
    x = np.zeros(n + 1)
    x[0] = _layer_area(d, r) / d.f(r)
    x[1:n] = edges
    k = np.floor(x[1:] / x[:-1] * 2.0**53).astype(np.uint64)
    w = np.concatenate([x[:n], -x[:n]]) * _TWO_M53
    f = np.array([d.f(xi) for xi in x])
    f[n] = 1.0
    return r, k, w, f


ZIG_R, _ZK, _ZW, _ZF = _build_tables(_HALF_NORMAL, _ZIG_LAYERS)
_ZR = float(ZIG_R)
_ZR_INV = 1.0 / _ZR
EXP_ZIG_R, _EK, _EW, _EF = _build_tables(_EXPONENTIAL, _ZIG_LAYERS)
_ER = float(EXP_ZIG_R)


# --------------------------------------------------------------------------------------------
# Jitted scalar functions (CPU and CUDA).
# --------------------------------------------------------------------------------------------


@numba.njit(inline="always", cache=True)
def mix64(x):
    """SplitMix64 finaliser: a bijective, well-mixing map of uint64 onto uint64."""
    z = np.uint64(x)
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@numba.njit(inline="always", cache=True)
def counter(step, stream, n_streams):
    """Unique draw index step * n_streams + stream, uint64 (the realization is in the key;
    the index wraps past 2**64, after about 8.6e9 steps of 2**31 streams)."""
    return np.uint64(step) * np.uint64(n_streams) + np.uint64(stream)


@numba.njit(inline="always", cache=True)
def bits(key, ctr):
    """The 64 random bits of draw ``ctr``: SplitMix64 output number ``ctr`` for ``key``."""
    return mix64(np.uint64(key) + (np.uint64(ctr) + _U1) * _GOLDEN)


@numba.njit(inline="always", cache=True)
def uniform(key, ctr):
    """Uniform float64 in [0, 1) (multiples of 2**-53) for draw ``ctr``."""
    return np.float64(np.int64(bits(key, ctr) >> _S11)) * _TWO_M53


@numba.njit(inline="always", cache=True)
def uniform_open(key, ctr):
    """Uniform float64 in (0, 1] (never 0, safe for logs) for draw ``ctr``."""
    return np.float64(np.int64(bits(key, ctr) >> _S11) + 1) * _TWO_M53


@numba.njit(inline="always", cache=True)
def _secondary_open(h, j):
    """Uniform in (0, 1] number j (>= 1) of the secondary sequence of primary word h."""
    g = mix64(h + np.uint64(j) * _SECOND)
    return np.float64(np.int64(g >> _S11) + 1) * _TWO_M53


@numba.njit(inline="always", cache=True)
def _box(g, k_table, w_table, w_index):
    """The rectangle test of a ziggurat draw from word g: (accepted, x) for the layer in bits
    0-7, u = the upper 53 bits, x = u · W[w_index]."""
    u = g >> _S11
    return u < k_table[g & _LOW8], np.float64(np.int64(u)) * w_table[w_index]


@numba.njit(cache=True)
def _normal_slow(h):
    """Ziggurat wedge / tail / retry path for primary word h (about 1.5 % of the draws)."""
    j = 0
    g = h
    while True:
        layer = g & _LOW8
        inside, x = _box(g, _ZK, _ZW, g & _LOW9)  # bit 8: the sign
        if inside:
            return x
        if layer == 0:
            # Tail beyond r (Marsaglia 1964): x = r + E1 / r, accepted when 2 E2 > (E1 / r)**2.
            while True:
                j += 1
                t = -math.log(_secondary_open(h, j)) * _ZR_INV
                j += 1
                e = -math.log(_secondary_open(h, j))
                if e + e > t * t:
                    break
            if (g >> _S8) & _U1:
                return -(_ZR + t)
            return _ZR + t
        # Wedge: y uniform between f(X[layer]) and f(X[layer + 1]); accept when under f(x).
        j += 1
        y = _ZF[layer] + _secondary_open(h, j) * (_ZF[layer + _U1] - _ZF[layer])
        if y < math.exp(-0.5 * x * x):
            return x
        j += 1
        g = mix64(h + np.uint64(j) * _SECOND)


@numba.njit(inline="always", cache=True)
def normal(key, ctr):
    """Standard normal float64 for draw ``ctr`` (256-layer ziggurat)."""
    h = bits(key, ctr)
    inside, x = _box(h, _ZK, _ZW, h & _LOW9)
    return x if inside else _normal_slow(h)


@numba.njit(cache=True)
def _exponential_slow(h):
    """Ziggurat wedge / tail / retry path of an exponential for primary word h (about 2 %)."""
    j = 0
    g = h
    while True:
        layer = g & _LOW8
        inside, x = _box(g, _EK, _EW, layer)
        if inside:
            return x
        j += 1
        if layer == 0:  # the tail beyond r is r + Exp(1) (memoryless)
            return _ER - math.log(_secondary_open(h, j))
        y = _EF[layer] + _secondary_open(h, j) * (_EF[layer + _U1] - _EF[layer])
        if y < math.exp(-x):
            return x
        j += 1
        g = mix64(h + np.uint64(j) * _SECOND)


@numba.njit(inline="always", cache=True)
def exponential(key, ctr):
    """Standard exponential float64 (mean 1) for draw ``ctr`` (256-layer ziggurat)."""
    h = bits(key, ctr)
    inside, x = _box(h, _EK, _EW, h & _LOW8)
    return x if inside else _exponential_slow(h)


@numba.njit(inline="always", cache=True)
def geometric_gap(key, ctr, inv_hazard):
    """Steps until the next success of a Bernoulli(p) process (>= 1), int64.

    ``inv_hazard`` = −1 / log(1 − p) (steps). Returns 1 + floor(E · inv_hazard), E standard
    exponential: P(gap > m) = exp(−m / inv_hazard) = (1 − p)^m. 1 when p == 1
    (inv_hazard = 0); 2**62 ("never") when p == 0 (inv_hazard = inf) or on overflow.
    """
    if not inv_hazard < math.inf:  # p == 0 (or nan): never; also avoids 0 * inf
        return _GAP_MAX
    q = exponential(key, ctr) * inv_hazard  # >= 0
    if q < 4.0e18:
        return np.int64(q) + 1  # truncation == floor for q >= 0
    return _GAP_MAX


POISSON_MAX_MEAN = 30.0  # the largest mean :func:`poisson` accepts (its cost grows with it)
_POISSON_CAP = 1000  # a bound on the loop only: it ends where the sum stops growing (k < 200)


@numba.njit(inline="always", cache=True)
def poisson(key, ctr, mean, exp_neg_mean):
    """A Poisson count of ``mean`` (at most POISSON_MAX_MEAN; ``exp_neg_mean`` = exp(−mean)),
    int64, for draw ``ctr``: :func:`poisson_quantile` of one uniform."""
    return poisson_quantile(uniform(key, ctr), mean, exp_neg_mean)


@numba.njit(inline="always", cache=True)
def poisson_quantile(u, mean, exp_neg_mean):
    """The smallest k with u < P(K <= k) for K Poisson of ``mean``, int64, summing the
    probabilities in order (about mean + 1 terms). The rounded sum may end a few ulps below 1
    (up to 8e-16 below for means up to 30): a u above it gets the count at which the sum stops
    growing, near the far tail's quantile (59 for a mean of 15.4473, whose quantile is 57),
    not the loop's bound."""
    k = 0
    p = exp_neg_mean
    f = p
    while u >= f and k < _POISSON_CAP:
        k += 1
        p *= mean / k
        g = f + p
        if g == f and k > mean:  # past the mode, the terms left no longer change the sum
            break
        f = g
    return np.int64(k)


# --------------------------------------------------------------------------------------------
# Python side.
# --------------------------------------------------------------------------------------------


def seed_key(seed: int) -> np.uint64:
    """Key of a user seed: mix64(seed) as np.uint64; ``seed`` must be an int in [0, 2**64)."""
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed must be an integer in [0, 2**64), got {seed!r}")
    s = int(seed)
    if not 0 <= s <= _MASK64:
        raise ValueError(f"seed must be an integer in [0, 2**64), got {seed!r}")
    s = ((s ^ (s >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    s = ((s ^ (s >> 27)) * 0x94D049BB133111EB) & _MASK64
    return np.uint64(s ^ (s >> 31))


def trial_key(seed: int, trial: int) -> np.uint64:
    """Key of the random inputs of trial ``trial`` (an int >= 0) of a network seeded ``seed``:
    ``seed_key(seed)`` for trial 0; for each later one (``Network.restore`` drawing new
    inputs) the SplitMix64 mix of that key plus ``trial`` golden-ratio increments, as
    :func:`seed_key` mixes a seed."""
    key = seed_key(seed)
    return key if trial == 0 else seed_key((int(key) + trial * int(_GOLDEN)) & _MASK64)
