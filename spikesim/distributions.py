"""Random parameter values: draw a value per neuron (and realization) or per synapse.

Pass one of these wherever a parameter accepts "scalar, array or distribution", e.g.
``refractory=Normal(10e-3, 7e-3, low=0.0)`` or ``weight=Uniform(0.0, 1e-3)``. Draws come from a
NumPy generator seeded by the network seed, so the same seed gives the same values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def generator(key) -> np.random.Generator:
    """``np.random.default_rng(key)``, seeded when first used: seeding costs about 25 µs, and
    most populations and projections of a network draw nothing."""
    return _LazyGenerator(key)


class _LazyGenerator:
    def __init__(self, key):
        self._key, self._gen = key, None

    def __getattr__(self, name: str):
        if self._gen is None:
            self._gen = np.random.default_rng(self._key)
        return getattr(self._gen, name)


class RealizationGenerators:
    """Generators for per-neuron values, one per realization, each seeded when first used:
    realization 0 draws from ``key``, realization b > 0 from ``key + [b]``. So realization b's
    values do not depend on the batch size (and a batch of one draws what it always did)."""

    def __init__(self, key: list[int]):
        self._key, self._gens = list(key), {}

    @property
    def key(self) -> tuple[int, ...]:
        """The key of realization 0."""
        return tuple(self._key)

    def draw(self, dist: Distribution, batch: int, n: int) -> np.ndarray:
        """(batch, n) float64: row b is realization b's next n draws from ``dist``."""
        from .checks import drawn  # (checks imports this module)

        return np.stack([drawn("a parameter per neuron", dist,
                               dist.draw(self._generator(b), (n,)), (n,))
                         for b in range(batch)])

    def _generator(self, b: int) -> np.random.Generator:
        if b not in self._gens:
            self._gens[b] = np.random.default_rng(self._key + [b] if b else self._key)
        return self._gens[b]


class Distribution:
    """Base class: ``draw(rng, shape)`` returns float64 samples of the given shape."""

    def draw(self, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        """Samples of shape ``shape``, float64, in the unit of the parameter drawn."""
        raise NotImplementedError


def _clip(x: np.ndarray, low: float | None, high: float | None) -> np.ndarray:
    return np.clip(x, -np.inf if low is None else low, np.inf if high is None else high)


def _check(dist: Distribution, name: str, *, low: float | None = None,
           optional: bool = False) -> None:
    """Check the field ``name`` of ``dist``: a finite real number (>= ``low``; None too if
    ``optional``), stored as float. TypeError or ValueError naming the class and field."""
    from . import checks  # (checks imports this module)

    value = getattr(dist, name)
    if value is not None or not optional:
        value = checks.number(f"{type(dist).__name__}.{name}", value, low=low)
        object.__setattr__(dist, name, value)  # (a frozen dataclass)


def _ordered(dist: Distribution, low: str, high: str) -> None:
    """ValueError unless the field ``high`` of ``dist`` is >= its field ``low`` (either may be
    None: no bound)."""
    a, b = getattr(dist, low), getattr(dist, high)
    if a is not None and b is not None and b < a:
        raise ValueError(f"{type(dist).__name__}.{high} must be >= {low} = {a!r}, got {b!r}")


@dataclass(frozen=True)
class Normal(Distribution):
    """mean + std·N(0, 1), clipped to [low, high] where given (same unit as the parameter)."""

    mean: float
    std: float
    low: float | None = None
    high: float | None = None

    def __post_init__(self) -> None:
        _check(self, "mean")
        _check(self, "std", low=0.0)
        _check(self, "low", optional=True)
        _check(self, "high", optional=True)
        _ordered(self, "low", "high")

    def draw(self, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        return _clip(self.mean + self.std * rng.standard_normal(shape), self.low, self.high)


@dataclass(frozen=True)
class Uniform(Distribution):
    """Uniform on [low, high) (same unit as the parameter)."""

    low: float
    high: float

    def __post_init__(self) -> None:
        _check(self, "low")
        _check(self, "high")
        _ordered(self, "low", "high")
        if not math.isfinite(self.high - self.low):  # NumPy draws low + (high - low)·U
            raise ValueError(f"Uniform.high - Uniform.low must be finite, got {self.high!r} - "
                             f"({self.low!r})")

    def draw(self, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        return rng.uniform(self.low, self.high, shape)


@dataclass(frozen=True)
class LogNormal(Distribution):
    """exp(N(mu, sigma²)) — positive values such as weights (same unit as the parameter)."""

    mu: float
    sigma: float

    def __post_init__(self) -> None:
        _check(self, "mu")
        _check(self, "sigma", low=0.0)

    def draw(self, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        return rng.lognormal(self.mu, self.sigma, shape)
