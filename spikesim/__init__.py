"""spikesim: fast simulation of large populations of spiking neurons on Numba.

Build a :class:`Network`, add populations (:mod:`.models`), inputs (:mod:`.inputs`),
projections (:meth:`Network.connect`) and monitors (:mod:`.monitors`) or HDF5 recorders
(:mod:`.recorders`), then ``run`` it; read files back with :func:`load`.
"""

import importlib.util
import os
import sys

# A source checkout keeps the kernels in the top-level folder kernels/, which installing maps
# to spikesim.kernels: imported from a checkout, the package loads them from there as such.
_kernels = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "kernels")
if not os.path.isdir(os.path.join(__path__[0], "kernels")) and os.path.isfile(
        os.path.join(_kernels, "__init__.py")):
    _spec = importlib.util.spec_from_file_location(
        f"{__name__}.kernels", os.path.join(_kernels, "__init__.py"),
        submodule_search_locations=[_kernels])
    sys.modules[_spec.name] = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(sys.modules[_spec.name])

from .checkpoint import load_checkpoint, save_checkpoint
from .distributions import LogNormal, Normal, Uniform
from .inputs import (
    BernoulliInput,
    ConstantCurrent,
    CurrentArray,
    NoiseCurrent,
    OUCurrent,
    PoissonDrive,
    PoissonInput,
    PulseCurrent,
    RateCoded,
    SpikeArray,
    SpikeTimes,
    StepCurrent,
    UniformNoiseCurrent,
)
from .io import load
from .models import LIF, RC, AdaptiveLIF, Leaky, Synaptic
from .monitors import SpikeMonitor, StateMonitor
from .network import Network
from .projections import Projection
from .recorders import H5Output, RateRecorder, SpikeRecorder, StateRecorder
from .results import Spikes, Trace

__version__ = "0.1.0"

__all__ = [
    "LIF", "RC", "AdaptiveLIF", "Leaky", "Synaptic", "Network", "Projection",
    "SpikeMonitor", "StateMonitor", "Spikes", "Trace", "Normal", "Uniform", "LogNormal",
    "BernoulliInput", "PoissonInput", "RateCoded", "SpikeArray", "SpikeTimes",
    "ConstantCurrent", "StepCurrent", "PulseCurrent", "CurrentArray", "NoiseCurrent",
    "UniformNoiseCurrent", "OUCurrent", "PoissonDrive", "H5Output", "SpikeRecorder",
    "StateRecorder", "RateRecorder", "load", "save_checkpoint", "load_checkpoint",
]
