"""Scalar update of one neuron for one time step, written once per model.

These functions are the single definition of every model's equations: the CPU kernel
(:mod:`spikesim.kernels.cpu`) calls them inside its ``prange`` loops and the CUDA kernel
(:mod:`spikesim.kernels.cuda`) compiles the very same functions as device functions.

:func:`update` takes the neuron's state ``(v, i, w, refc)``, the external current ``cur`` of
this step and the neuron's parameters ``prm`` (a row of the parameter table as a tuple, from
:func:`params`), and returns the new state and whether it fired; the other functions are its
parts. The equations, units and the meaning of each
table column are documented beside the user-facing model classes in :mod:`spikesim.models`,
which build the tables; the column indices are the constants below.

Order inside one step (the same for every model):
  1. integrate the subthreshold dynamics over dt (forward Euler or exact propagators),
  2. if refractory: clamp v at v_reset and count down; no spike,
  3. else threshold on the updated v (``v > v_th``), reset ("value", "subtract" or "none",
     as two coefficients) and start the refractory period.
Synaptic input arriving at the end of the step is added afterwards by the kernel (see there).
"""

from __future__ import annotations

import numpy as np
from numba import njit

# Model identifiers (``model`` column of the population table).
LIF, RC, LEAKY, SYNAPTIC, LIF_W = 0, 1, 2, 3, 4
# Columns shared by every model; the reset is v <- v * RESET_MUL + RESET_ADD (see fire).
V_TH, V_RESET, REF_STEPS, E_L = 0, 1, 2, 3
RESET_MUL, RESET_ADD = 11, 12
# Model-specific coefficient columns A .. G (their meaning per model: spikesim.models).
A, B, C, D, E, F, G = 4, 5, 6, 7, 8, 9, 10
N_COLUMNS = 13


@njit(inline="always", cache=True)
def params(par, row):
    """Row ``row`` of the parameter table ``par`` (N_COLUMNS, rows) — stored by column, so
    that the rows of consecutive neurons are contiguous — as a tuple of N_COLUMNS scalars.
    Loaded once before a loop over neurons that share it, the values stay in registers (LLVM
    cannot hoist loads from ``par`` itself past the state stores, which might alias it); loaded
    per neuron, the loads vectorise and the unused columns cost nothing."""
    return (par[0, row], par[1, row], par[2, row], par[3, row], par[4, row], par[5, row],
            par[6, row], par[7, row], par[8, row], par[9, row], par[10, row], par[11, row],
            par[12, row])


@njit(inline="always", cache=True)
def clamp(v, spiked, refc, v_reset):
    """The refractory clamp of a thresholded, reset neuron -> (v, spiked, refc): while its
    counter ``refc`` (steps left) is > 0, v is held at ``v_reset``, a spike is undone and the
    counter counts down. (The CPU kernel also applies it on its own, after a loop that left
    the counters out: :func:`~spikesim.kernels.cpu.refractory_block`.)"""
    refractory = refc > 0
    return ((v_reset if refractory else v), spiked & (not refractory),
            (refc - 1 if refractory else refc))


@njit(inline="always", cache=True)
def fire(v, refc, prm):
    """Threshold, reset and refractory clamp of an integrated v -> (v, refc, spiked); a spike
    starts a refractory period of REF_STEPS steps.

    The reset mode is two coefficients, v·RESET_MUL + RESET_ADD: "value" (0, v_reset),
    "subtract" (1, −(v_th − v_reset)), "none" (1, 0). Everything is computed unconditionally and
    then selected: branch-free, so that the neuron loops vectorise (a conversion inside a branch
    stops LLVM's if-conversion)."""
    n_ref = np.int32(prm[REF_STEPS])
    spiked = v > prm[V_TH]
    after = v * prm[RESET_MUL] + prm[RESET_ADD]
    v, spiked, refc = clamp(after if spiked else v, spiked, refc, prm[V_RESET])
    return v, (n_ref if spiked else refc), spiked


@njit(inline="always", cache=True)
def lif_integrate(v, i, cur, prm, exact):
    """Current-based LIF with exponential synaptic current -> (v, i)."""
    el = prm[E_L]
    if exact:  # A=P22, B=P21 (i -> v), C=P20 (cur -> v), D=P11
        return el + prm[A] * (v - el) + prm[B] * i + prm[C] * cur, prm[D] * i
    # A=dt/tau_mem, B=dt/tau_syn, C=R
    v = v + prm[A] * ((el - v) + prm[C] * (i + cur))
    return v, i + (-prm[B]) * i


@njit(inline="always", cache=True)
def rc_integrate(v, cur, prm, exact):
    """RC (Lapicque) neuron -> v."""
    el = prm[E_L]
    if exact:  # A=P22, C=P20
        return el + prm[A] * (v - el) + prm[C] * cur
    # A=dt/tau, C=R
    return v + prm[A] * ((el - v) + prm[C] * cur)


@njit(inline="always", cache=True)
def lif_w_integrate(v, i, w, cur, prm, exact):
    """LIF with a second exponential current w entering v with weight E (the adaptive LIF's
    adaptation current, E < 0, or a second synaptic current, E > 0) -> (v, i, w)."""
    el = prm[E_L]
    if exact:  # A=P22, B=P21, C=P20, D=P11, E=P2w (w -> v), F=Pww
        v = el + prm[A] * (v - el) + prm[B] * i + prm[C] * cur + prm[E] * w
        return v, prm[D] * i, prm[F] * w
    # A=dt/tau_mem, B=dt/tau_syn, C=R, E=±R, F=dt/tau_w
    v = v + prm[A] * ((el - v) + prm[C] * (i + cur) + prm[E] * w)
    return v, i + (-prm[B]) * i, w + (-prm[F]) * w


@njit(inline="always", cache=True)
def adapt(w, prm):
    """w after a spike of a LIF_W neuron: w + G (the adaptation b, or 0)."""
    return w + prm[G]


@njit(inline="always", cache=True)
def update(model, exact, v, i, w, refc, cur, prm, adapting=True):
    """One step of any model -> (v, i, w, refc, spiked). Dispatches on the model id.
    ``adapting=False`` leaves out LIF_W's increment of w at a spike (:func:`adapt`), for a
    caller that applies it itself once the spikes are known (the CPU kernel's refractory
    bookkeeping, which suppresses the spikes of refractory neurons after this update)."""
    if model == LIF:
        v, i = lif_integrate(v, i, cur, prm, exact)
    elif model == RC:
        v = rc_integrate(v, cur, prm, exact)
    elif model == LEAKY:  # A=beta
        v = prm[A] * v + cur
    elif model == SYNAPTIC:  # A=beta, B=alpha
        i = prm[B] * i + cur
        v = prm[A] * v + i
    else:
        v, i, w = lif_w_integrate(v, i, w, cur, prm, exact)
    v, refc, spiked = fire(v, refc, prm)
    if model == LIF_W and adapting:
        w = adapt(w, prm) if spiked else w
    return v, i, w, refc, spiked
