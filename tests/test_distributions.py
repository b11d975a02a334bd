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
