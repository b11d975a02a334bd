"""spikesim: fast simulation of large populations of spiking neurons on Numba.

Build a :class:`Network`, add populations (:mod:`.models`), inputs (:mod:`.inputs`),
projections (:meth:`Network.connect`) and monitors (:mod:`.monitors`), then ``run`` it.
"""

from .distributions import LogNormal, Normal, Uniform
from .inputs import (
    BernoulliInput,
    ConstantCurrent,
    CurrentArray,
    NoiseCurrent,
    OUCurrent,
    PoissonInput,
    PulseCurrent,
    RateCoded,
    SpikeArray,
    SpikeTimes,
    StepCurrent,
    UniformNoiseCurrent,
)
from .models import LIF, RC, AdaptiveLIF, Leaky, Synaptic
from .monitors import SpikeMonitor, StateMonitor
from .network import Network
from .projections import Projection
from .results import Spikes, Trace

__version__ = "0.1.0"

__all__ = [
    "LIF", "RC", "AdaptiveLIF", "Leaky", "Synaptic", "Network", "Projection",
    "SpikeMonitor", "StateMonitor", "Spikes", "Trace", "Normal", "Uniform", "LogNormal",
    "BernoulliInput", "PoissonInput", "RateCoded", "SpikeArray", "SpikeTimes",
    "ConstantCurrent", "StepCurrent", "PulseCurrent", "CurrentArray", "NoiseCurrent",
    "UniformNoiseCurrent", "OUCurrent",
]
