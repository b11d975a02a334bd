"""Statistical tests of the counter-based generator in kernels/rng.py."""

import math

import numba
import numpy as np
import pytest
from scipy import stats
from spikesim.kernels import rng

KEY = rng.seed_key(20240601)
N_U = 200_000
N_NORMAL = 1_000_000


@numba.njit
def _draw(kind, key, ctrs):
    """kind 0: uniform, 1: uniform_open, 2: normal, 3: exponential."""
    out = np.empty(ctrs.size)
    for i in range(ctrs.size):
        if kind == 0:
            out[i] = rng.uniform(key, ctrs[i])
        elif kind == 1:
            out[i] = rng.uniform_open(key, ctrs[i])
        elif kind == 2:
            out[i] = rng.normal(key, ctrs[i])
        else:
            out[i] = rng.exponential(key, ctrs[i])
    return out


@numba.njit
def _gaps(key, n, inv_hazard):
    out = np.empty(n, np.int64)
    for i in range(n):
        out[i] = rng.geometric_gap(key, np.uint64(i), inv_hazard)
    return out


@numba.njit
def _bits(key, ctrs):
    out = np.empty(ctrs.size, np.uint64)
    for i in range(ctrs.size):
        out[i] = rng.bits(key, ctrs[i])
    return out


@numba.njit
def _normal_tail(key, n, threshold):
    """The normals beyond |threshold| among draws 0 .. n-1."""
    out = np.empty(n // 1000)
    k = 0
    for i in range(n):
        x = rng.normal(key, np.uint64(i))
        if abs(x) > threshold and k < out.size:
            out[k] = x
            k += 1
    return out[:k]


@numba.njit(parallel=True)
def _normal_grid(key, n_steps, n_realizations, n_streams):
    """Normals for every (step, realization, stream), realizations spread over threads."""
    out = np.empty((n_steps, n_realizations, n_streams))
    for r in numba.prange(n_realizations):
        for t in range(n_steps):
            for s in range(n_streams):
                c = rng.counter(t, r * n_streams + s, n_realizations * n_streams)
                out[t, r, s] = rng.normal(key, c)
    return out


def _ctrs(n: int, start: int = 0) -> np.ndarray:
    return np.arange(start, start + n, dtype=np.uint64)


def _within(value: float, expected: float, sd: float, n_sd: float = 5.0) -> bool:
    return abs(value - expected) <= n_sd * sd


# ------------------------------------------------------------------------------------------
# Mixing and counters
# ------------------------------------------------------------------------------------------


def test_bits_is_splitmix64_reference_sequence():
    # Published SplitMix64 output for state 1234567 (Vigna's splitmix64.c).
    expected = [
        6457827717110365317,
        3203168211198807973,
        9817491932198370423,
        4593380528125082431,
        16408922859458223821,
    ]
    got = _bits(np.uint64(1234567), _ctrs(5))
    assert [int(g) for g in got] == expected


def test_seed_key_matches_jitted_mix64():
    for seed in (0, 1, 42, 2**63, 2**64 - 1):
        assert rng.seed_key(seed) == rng.mix64(np.uint64(seed))
        assert isinstance(rng.seed_key(seed), np.uint64)
    assert rng.seed_key(np.int64(7)) == rng.seed_key(7)


@pytest.mark.parametrize("bad", [-1, 2**64, 1.5, "x", None, True])
def test_seed_key_rejects_invalid(bad):
    with pytest.raises(ValueError, match="seed"):
        rng.seed_key(bad)


def test_counter_is_a_bijection_of_the_grid():
    n_steps, n_streams = 5, 7
    seen = [int(rng.counter(t, s, n_streams)) for t in range(n_steps) for s in range(n_streams)]
    assert seen == list(range(n_steps * n_streams))
    big = rng.counter(2**40, 5, 2**12)
    assert int(big) == 2**40 * 2**12 + 5


def test_every_output_bit_is_balanced():
    b = _bits(KEY, _ctrs(N_U))
    ones = np.array([((b >> np.uint64(k)) & np.uint64(1)).sum() for k in range(64)])
    sd = math.sqrt(N_U * 0.25)
    assert np.all(np.abs(ones - 0.5 * N_U) <= 5.0 * sd)


# ------------------------------------------------------------------------------------------
# Uniforms
# ------------------------------------------------------------------------------------------


def test_uniform_distribution():
    u = _draw(0, KEY, _ctrs(N_U))
    assert u.min() >= 0.0 and u.max() < 1.0
    assert _within(u.mean(), 0.5, math.sqrt(1 / 12 / N_U))
    assert _within(u.var(), 1 / 12, math.sqrt(1 / 180 / N_U))  # Var(s^2) = (mu4 - sigma^4) / n
    assert stats.kstest(u, "uniform").pvalue > 1e-3


def test_uniform_open_is_in_zero_one_closed():
    ctrs = _ctrs(N_U, 10**12)
    u = _draw(0, KEY, ctrs)
    uo = _draw(1, KEY, ctrs)
    assert uo.min() > 0.0 and uo.max() <= 1.0
    np.testing.assert_array_equal(uo - u, 2.0**-53)
    assert stats.kstest(uo, "uniform").pvalue > 1e-3


@pytest.mark.parametrize("bit", [0, 1, 7, 8, 11, 31, 32, 52, 63])
def test_one_bit_apart_counters_and_keys_are_uncorrelated(bit):
    ctrs = _ctrs(N_U, 12345)
    flip = np.uint64(1) << np.uint64(bit)
    base = _draw(0, KEY, ctrs)
    tol = 5.0 / math.sqrt(N_U)
    assert abs(np.corrcoef(base, _draw(0, KEY, ctrs ^ flip))[0, 1]) < tol
    assert abs(np.corrcoef(base, _draw(0, KEY ^ flip, ctrs))[0, 1]) < tol


def test_nearby_seeds_give_uncorrelated_streams():
    ctrs = _ctrs(N_U)
    a = _draw(2, rng.seed_key(1), ctrs)
    b = _draw(2, rng.seed_key(2), ctrs)
    assert abs(np.corrcoef(a, b)[0, 1]) < 5.0 / math.sqrt(N_U)


# ------------------------------------------------------------------------------------------
# Normals
# ------------------------------------------------------------------------------------------


def test_ziggurat_radius_matches_published_value():
    # Marsaglia & Tsang (2000): r = 3.6541528853610088 for 256 layers.
    assert abs(rng.ZIG_R - 3.6541528853610088) < 1e-12


@pytest.fixture(scope="module")
def normals():
    return _draw(2, KEY, _ctrs(N_NORMAL))


def test_normal_moments(normals):
    n = normals.size
    assert np.all(np.isfinite(normals))
    assert _within(normals.mean(), 0.0, 1 / math.sqrt(n))
    assert _within(normals.var(), 1.0, math.sqrt(2 / n))
    assert _within(stats.skew(normals), 0.0, math.sqrt(6 / n))
    assert _within(stats.kurtosis(normals), 0.0, math.sqrt(24 / n))
    assert _within((normals > 0).mean(), 0.5, math.sqrt(0.25 / n))


def test_normal_ks_and_chi_square(normals):
    assert stats.kstest(normals, "norm").pvalue > 1e-3
    edges = stats.norm.ppf(np.linspace(0.0, 1.0, 101))  # 100 equiprobable bins
    counts = np.histogram(normals, edges)[0]
    assert stats.chisquare(counts).pvalue > 1e-3


@pytest.mark.parametrize("threshold", [1.0, 2.5, 3.0, rng.ZIG_R, 4.0])
def test_normal_tail_frequency(normals, threshold):
    n = normals.size
    p = 2.0 * stats.norm.sf(threshold)
    count = int((np.abs(normals) > threshold).sum())
    assert _within(count, n * p, math.sqrt(n * p * (1 - p)))


def test_normal_tail_shape():
    # ~10,000 draws from the ziggurat's tail path (|x| > r), against the truncated normal.
    r = rng.ZIG_R
    tail = _normal_tail(KEY, 40_000_000, r)
    assert _within((tail > 0).mean(), 0.5, math.sqrt(0.25 / tail.size))
    a = np.abs(tail)
    assert stats.kstest(a, lambda x: 1.0 - stats.norm.sf(x) / stats.norm.sf(r)).pvalue > 1e-3


def test_normal_consecutive_draws_uncorrelated(normals):
    tol = 5.0 / math.sqrt(normals.size)
    assert abs(np.corrcoef(normals[:-1], normals[1:])[0, 1]) < tol
    sq = normals**2
    assert abs(np.corrcoef(sq[:-1], sq[1:])[0, 1]) < tol


# ------------------------------------------------------------------------------------------
# Exponentials and geometric gaps
# ------------------------------------------------------------------------------------------


def test_exponential_ziggurat_radius_matches_published_value():
    # Marsaglia & Tsang (2000): r = 7.69711747013104972 for the 256-layer exponential.
    assert abs(rng.EXP_ZIG_R - 7.69711747013104972) < 1e-12


def test_exponential_moments_ks_and_tail():
    """4e6 draws: about 1800 from the tail path (x > r = 7.697), whose excess over r is
    again Exp(1), and 1 % from the wedges."""
    x = _draw(3, KEY, _ctrs(4_000_000))
    n = x.size
    assert x.min() >= 0 and np.all(np.isfinite(x))
    assert _within(x.mean(), 1.0, 1 / math.sqrt(n))
    assert _within(x.var(), 1.0, math.sqrt(8 / n))  # Var of (x - 1)**2 is 8
    assert stats.kstest(x[:500_000], "expon").pvalue > 1e-3
    for threshold in (0.5, 3.0, rng.EXP_ZIG_R, 10.0):
        p = math.exp(-threshold)
        assert _within((x > threshold).sum(), n * p, math.sqrt(n * p * (1 - p)))
    tail = x[x > rng.EXP_ZIG_R] - rng.EXP_ZIG_R
    assert stats.kstest(tail, "expon").pvalue > 1e-3


@pytest.mark.parametrize("p", [0.01, 0.3])
def test_geometric_gap_distribution(p):
    g = _gaps(KEY, N_U, -1 / math.log1p(-p))
    assert g.min() >= 1
    assert _within(g.mean(), 1 / p, math.sqrt(1 - p) / p / math.sqrt(N_U))
    assert _within((g == 1).mean(), p, math.sqrt(p * (1 - p) / N_U))
    # P(gap > k) = (1 - p)**k
    k = int(round(1 / p))
    assert _within((g > k).mean(), (1 - p) ** k, math.sqrt(0.25 / N_U))


def test_geometric_gap_certain_and_impossible():
    assert np.all(_gaps(KEY, 10_000, 0.0) == 1)  # p == 1
    assert np.all(_gaps(KEY, 1000, math.inf) >= 2**62)  # p == 0: never


# ------------------------------------------------------------------------------------------
# Purity
# ------------------------------------------------------------------------------------------


def test_draws_are_pure_functions_of_key_and_counter():
    ctrs = _ctrs(50_000, 2**40)
    for kind in (0, 1, 2, 3):
        forward = _draw(kind, KEY, ctrs)
        backward = _draw(kind, KEY, ctrs[::-1].copy())[::-1]
        np.testing.assert_array_equal(forward, backward)
    np.testing.assert_array_equal(_gaps(KEY, 1000, 10.0), _gaps(KEY, 1000, 10.0))
    # Called from Python or from a loop: the same value.
    assert rng.normal(KEY, np.uint64(777)) == _draw(2, KEY, np.array([777], np.uint64))[0]


def test_grid_is_independent_of_threads_and_chunking():
    n_steps, n_real, n_streams = 40, 8, 50
    grid = _normal_grid(KEY, n_steps, n_real, n_streams)
    ctrs = _ctrs(n_steps * n_real * n_streams)
    np.testing.assert_array_equal(grid.ravel(), _draw(2, KEY, ctrs))
    old = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        np.testing.assert_array_equal(_normal_grid(KEY, n_steps, n_real, n_streams), grid)
    finally:
        numba.set_num_threads(old)
    # First 10 steps computed alone are the same as the first 10 of the long run.
    np.testing.assert_array_equal(_normal_grid(KEY, 10, n_real, n_streams), grid[:10])
