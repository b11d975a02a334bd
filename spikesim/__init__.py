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


def _ensure_numba_cache() -> None:
    """Give Numba a folder for the kernels' on-disk cache where it would find none: the
    install's ``__pycache__`` read-only (a shared or container install) and the user's cache
    folder (``~/.cache/numba``) not writable either (a read-only or missing HOME, as in many
    batch jobs and containers) — Numba then refuses every ``cache=True`` function at import.
    Here the kernels cache in a private folder of the temporary directory instead, with a
    warning; ``NUMBA_CACHE_DIR`` chooses the folder (and is left alone where set)."""
    try:
        from numba.core import caching, config
    except ImportError:  # (numba missing: the import of the kernels says so)
        return
    if config.CACHE_DIR or getattr(config, "CACHE_LOCATOR_CLASSES", None) or config.DISABLE_JIT:
        return
    here = os.path.join(__path__[0], "kernels")
    probe = os.path.join(here if os.path.isdir(here) else _kernels, "cpu.py")
    if not os.path.isfile(probe):
        return

    def probe_function():  # (the locators read only its line number)
        pass

    for name in ("InTreeCacheLocator", "UserWideCacheLocator"):  # (before Numba 0.62: _name)
        locator = getattr(caching, name, None) or getattr(caching, "_" + name)
        if locator.from_function(probe_function, probe) is not None:
            return  # Numba caches there, as always
    import tempfile
    import warnings

    uid = getattr(os, "getuid", lambda: None)()
    folder = os.path.join(tempfile.gettempdir(), f"spikesim-numba-cache-{uid}")
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        st = os.lstat(folder)
        private = uid is None or (st.st_uid == uid and not st.st_mode & 0o022
                                  and os.path.isdir(folder) and not os.path.islink(folder))
    except OSError:
        private = False
    if not private:
        raise ImportError(
            f"spikesim: Numba has nowhere to cache the compiled kernels: neither the "
            f"installation ({os.path.dirname(probe)}) nor the user cache (~/.cache/numba, "
            f"HOME={os.environ.get('HOME')!r}) is writable, and {folder} is not a private "
            f"folder of this user; set NUMBA_CACHE_DIR to a writable folder")
    config.CACHE_DIR = os.environ["NUMBA_CACHE_DIR"] = folder  # (child processes too)
    kernels = sys.modules.get(f"{__name__}.kernels")  # (a checkout loads them before this:
    if kernels is not None:  # the stale-cache check of the folder they now cache in)
        kernels.drop_stale_cache(kernels._here, kernels._cache_folder(kernels._here))
    warnings.warn(f"spikesim: neither the installation's __pycache__ nor ~/.cache/numba is "
                  f"writable: the compiled kernels are cached in {folder} (set NUMBA_CACHE_DIR "
                  f"to choose a folder, e.g. one shared by your jobs)", RuntimeWarning,
                  stacklevel=2)


_ensure_numba_cache()

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
from .nir import from_nir
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
    "StateRecorder", "RateRecorder", "load", "save_checkpoint", "load_checkpoint", "from_nir",
]
