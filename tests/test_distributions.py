"""Distributions (spikesim.distributions): fields checked by the constructors, with errors
that name the class and the field."""

import re

import numpy as np
import pytest

import spikesim as ss


@pytest.mark.parametrize("make,error,match", [
    (lambda: ss.Uniform(0.02, 0.01), ValueError, "Uniform.high must be >= low = 0.02, got 0.01"),
    (lambda: ss.Uniform(-1e308, 1e308), ValueError, "Uniform.high - Uniform.low must be finite"),
    (lambda: ss.Uniform(0.0, float("inf")), ValueError, "Uniform.high must be finite"),
    (lambda: ss.Uniform(None, 1.0), TypeError, "Uniform.low must be a real number, got None"),
    (lambda: ss.Normal("a", 1), TypeError, "Normal.mean must be a real number, got 'a'"),
    (lambda: ss.Normal(1e-3, -1e-3), ValueError, "Normal.std must be >= 0.0, got -0.001"),
    (lambda: ss.Normal(0.0, float("nan")), ValueError, "Normal.std must be finite"),
    (lambda: ss.Normal(0.0, 1.0, low=True), TypeError, "Normal.low must be a real number"),
    (lambda: ss.Normal(0.0, 1.0, high=float("-inf")), ValueError, "Normal.high must be finite"),
    (lambda: ss.Normal(0.0, 1.0, low=2.0, high=1.0), ValueError,
     "Normal.high must be >= low = 2.0, got 1.0"),
    (lambda: ss.LogNormal(0, -1), ValueError, "LogNormal.sigma must be >= 0.0, got -1"),
    (lambda: ss.LogNormal([1.0], 1.0), TypeError, "LogNormal.mu must be a real number"),
])
def test_bad_fields_are_refused_by_name(make, error, match):
    with pytest.raises(error, match=re.escape(match)):
        make()


def test_good_fields_are_stored_as_floats_and_draw():
    rng = np.random.default_rng(0)
    u = ss.Uniform(np.int64(1), 1)  # low == high: every draw is 1
    assert u == ss.Uniform(1.0, 1.0) and type(u.low) is float
    np.testing.assert_array_equal(u.draw(rng, (3,)), 1.0)
    n = ss.Normal(0, 0, low=-1)  # no spread, one bound
    assert n.high is None and type(n.low) is float
    np.testing.assert_array_equal(n.draw(rng, (2,)), 0.0)
    assert np.all(ss.LogNormal(0.0, 0.0).draw(rng, (2,)) == 1.0)
    clipped = ss.Normal(0.0, 1.0, low=-0.1, high=0.1).draw(rng, (1000,))
    assert clipped.min() >= -0.1 and clipped.max() <= 0.1


# --- 3. LogNormal: its documented law, exp(N(mu, sigma²)) -----------------------------------
def test_lognormal_draws_have_median_exp_mu_and_log_sd_sigma():
    """Only LogNormal(0, 0) == 1 is tested (tests/test_distributions.py), which swapped or
    squared parameters pass. log of the draws: mean mu, sd sigma, within 5 SE; and the same
    when the network draws weights from it."""
    rng = np.random.default_rng(0)
    x = ss.LogNormal(-1.0, 0.5).draw(rng, (20_000,))
    y = np.log(x)
    assert abs(y.mean() + 1.0) < 5 * 0.5 / np.sqrt(y.size)
    assert abs(y.std() - 0.5) < 5 * 0.5 * np.sqrt(1 / (2 * y.size))
    net = ss.Network(dt=1e-3, seed=2)
    a = net.add(ss.LIF(100, units="1"))
    net.connect(a, a, "all_to_all", weight=ss.LogNormal(-1.0, 0.5))
    net.build()
    w = np.log(net.tables.weights())
    assert w.size == 10_000
    assert abs(w.mean() + 1.0) < 5 * 0.5 / 100 and abs(w.std() - 0.5) < 5 * 0.5 / np.sqrt(2e4)


def test_a_clipped_normal_is_clipped_not_redrawn():
    """Normal(..., low, high) is "clipped to [low, high]" (distributions.py, README:
    refractory=Normal(10e-3, 7e-3, low=0.0)): the mass beyond a bound sits on it. The shipped
    check (min >= low, max <= high) also passes a truncated (redrawn) normal, whose mean
    differs: E[max(X, 0)] of N(10, 7) is 10.24, of X | X > 0 11.09 (ms)."""
    rng = np.random.default_rng(1)
    x = ss.Normal(0.0, 1.0, low=-0.1, high=0.1).draw(rng, (10_000,))
    p_edge = 0.4602  # P(X < -0.1) = P(X > 0.1) for N(0, 1)
    sd = np.sqrt(p_edge * (1 - p_edge) / x.size)
    assert abs(np.mean(x == -0.1) - p_edge) < 5 * sd and abs(np.mean(x == 0.1) - p_edge) < 5 * sd
    r = ss.Normal(10e-3, 7e-3, low=0.0).draw(rng, (40_000,))
    assert abs(r.mean() - 10.24e-3) < 5 * 6.6e-3 / np.sqrt(r.size)
