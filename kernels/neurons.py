"""Scalar update of one neuron for one time step, written once per model.

These functions are the single definition of every model's equations: the CPU kernel
(:mod:`spikesim.kernels.cpu`) calls them inside its ``prange`` loops and the CUDA kernel
(:mod:`spikesim.kernels.cuda`) compiles the very same functions as device functions.

Each takes the neuron's state ``(v, i, w, refc)``, the external current ``cur`` of this step and
the parameter table ``par`` with the neuron's row, and returns the new state and whether it
fired. The equations, units and the meaning of each table column are documented beside the
user-facing model classes in :mod:`spikesim.models`, which build the tables; the column indices
are the constants below.

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
def fire(v, refc, par, row):
    """Refractory clamp, threshold and reset of an integrated v -> (v, refc, spiked).

    The reset mode is two coefficients, v·RESET_MUL + RESET_ADD: "value" (0, v_reset),
    "subtract" (1, −(v_th − v_reset)), "none" (1, 0). Everything is computed unconditionally and
    then selected: branch-free, so that the neuron loops vectorise (a conversion inside a branch
    stops LLVM's if-conversion)."""
    v_th, v_reset = par[row, V_TH], par[row, V_RESET]
    n_ref = np.int32(par[row, REF_STEPS])
    refractory = refc > 0
    spiked = (v > v_th) & (not refractory)
    after = v * par[row, RESET_MUL] + par[row, RESET_ADD]
    v = v_reset if refractory else (after if spiked else v)
    refc = refc - 1 if refractory else (n_ref if spiked else refc)
    return v, refc, spiked


@njit(inline="always", cache=True)
def lif_integrate(v, i, cur, par, row, exact):
    """Current-based LIF with exponential synaptic current -> (v, i)."""
    el = par[row, E_L]
    if exact:  # A=P22, B=P21 (i -> v), C=P20 (cur -> v), D=P11
        return el + par[row, A] * (v - el) + par[row, B] * i + par[row, C] * cur, par[row, D] * i
    # A=dt/tau_mem, B=dt/tau_syn, C=R
    v = v + par[row, A] * ((el - v) + par[row, C] * (i + cur))
    return v, i + (-par[row, B]) * i


@njit(inline="always", cache=True)
def rc_integrate(v, cur, par, row, exact):
    """RC (Lapicque) neuron -> v."""
    el = par[row, E_L]
    if exact:  # A=P22, C=P20
        return el + par[row, A] * (v - el) + par[row, C] * cur
    # A=dt/tau, C=R
    return v + par[row, A] * ((el - v) + par[row, C] * cur)


@njit(inline="always", cache=True)
def lif_w_integrate(v, i, w, cur, par, row, exact):
    """LIF with a second exponential current w entering v with weight E (the adaptive LIF's
    adaptation current, E < 0, or a second synaptic current, E > 0) -> (v, i, w)."""
    el = par[row, E_L]
    if exact:  # A=P22, B=P21, C=P20, D=P11, E=P2w (w -> v), F=Pww
        v = el + par[row, A] * (v - el) + par[row, B] * i + par[row, C] * cur + par[row, E] * w
        return v, par[row, D] * i, par[row, F] * w
    # A=dt/tau_mem, B=dt/tau_syn, C=R, E=±R, F=dt/tau_w
    v = v + par[row, A] * ((el - v) + par[row, C] * (i + cur) + par[row, E] * w)
    return v, i + (-par[row, B]) * i, w + (-par[row, F]) * w


@njit(inline="always", cache=True)
def update(model, exact, v, i, w, refc, cur, par, row):
    """One step of any model -> (v, i, w, refc, spiked). Dispatches on the model id."""
    if model == LIF:
        v, i = lif_integrate(v, i, cur, par, row, exact)
    elif model == RC:
        v = rc_integrate(v, cur, par, row, exact)
    elif model == LEAKY:  # A=beta
        v = par[row, A] * v + cur
    elif model == SYNAPTIC:  # A=beta, B=alpha
        i = par[row, B] * i + cur
        v = par[row, A] * v + i
    else:
        v, i, w = lif_w_integrate(v, i, w, cur, par, row, exact)
    v, refc, spiked = fire(v, refc, par, row)
    if model == LIF_W:  # G: the increment of w at a spike (adaptation b, or 0)
        w = w + par[row, G] if spiked else w
    return v, i, w, refc, spiked
