"""Built-in standard networks: :func:`cuba` (Brette et al. 2007, benchmark 2) and
:func:`brunel` (Brunel 2000, model A)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from . import checks
from .distributions import Uniform
from .inputs import PoissonDrive
from .models import LIF, RC
from .network import Network

if TYPE_CHECKING:
    from numpy.typing import DTypeLike

MV = 1e-3  # volts per millivolt


def cuba(n: int = 4000, *, k: int | None = None, p: float | None = None, dt: float = 1e-4,
         seed: int = 0, exc_fraction: float = 0.8,
         **network_args: int | bool | DTypeLike) -> Network:
    r"""The CUBA network of Vogels & Abbott (2005) as benchmark 2 of Brette et al. (2007).

    ``n`` LIF neurons, 80 % excitatory (population "exc") and 20 % inhibitory ("inh"), with
    current-based exponential synapses, integrated exactly:

    .. math::
        \tau_m \dot v = (E_l - v) + g_e + g_i, \quad \tau_e \dot g_e = -g_e, \quad
        \tau_i \dot g_i = -g_i

    taum 20 ms, taue 5 ms, taui 10 ms, Vt −50 mV, Vr −60 mV, El −49 mV, refractory 5 ms;
    each excitatory spike adds we = 60·0.27/10 mV to g_e (the LIF's ``i``), each inhibitory
    spike wi = −20·4.5/10 mV to g_i (``i_inh``); initial v uniform in [Vr, Vt]; no external
    input (El lies above threshold). Voltages are in volts and R = 1, so g_e and g_i are in
    volts too.

    Connectivity: random with probability ``p`` (default 0.02 at n = 4000), or a fixed
    in-degree ``k`` (default 80 when n differs from 4000, as the scaled benchmark), split
    between excitatory and inhibitory sources in proportion to their numbers.

    ``exc_fraction``, in (0, 1) (default 0.8): the excitatory share, round(n·exc_fraction)
    neurons; both populations need at least one neuron (at 0.8: n >= 3).

    Returns the network (dt in s); add monitors, then ``run``. ``network_args`` go to
    :class:`~spikesim.network.Network` (dtype, batch, threads, ...).
    """
    n = checks.count("n", n, low=2)
    if k is None and p is None:
        p, k = (0.02, None) if n == 4000 else (None, 80)
    if (k is None) == (p is None):
        raise ValueError(f"cuba needs either p or k, not both: got p={p!r}, k={k!r}")
    exc_fraction = checks.number("exc_fraction", exc_fraction)
    if not 0.0 < exc_fraction < 1.0:
        raise ValueError(f"exc_fraction must be > 0 and < 1 (the excitatory share: cuba needs "
                         f"excitatory and inhibitory neurons), got {exc_fraction!r}")
    n_exc = int(round(n * exc_fraction))
    if not 1 <= n_exc < n:
        raise ValueError(f"cuba(n={n}, exc_fraction={exc_fraction!r}) leaves no "
                         f"{'excitatory' if n_exc < 1 else 'inhibitory'} neuron "
                         f"({n_exc} excitatory of {n}): n must be >= "
                         f"{_smallest_n(exc_fraction)} for this exc_fraction")
    net = Network(dt=dt, seed=seed, **network_args)
    params = dict(tau_mem=20e-3, tau_syn=5e-3, tau_syn_inh=10e-3, v_leak=-49 * MV,
                  v_th=-50 * MV, v_reset=-60 * MV, refractory=5e-3, R=1.0, method="exact",
                  v_init=Uniform(-60 * MV, -50 * MV))
    exc = net.add(LIF(n_exc, **params), name="exc")
    inh = net.add(LIF(n - n_exc, **params), name="inh")
    we, wi = 60 * 0.27 / 10 * MV, -20 * 4.5 / 10 * MV
    for pre, weight, receptor in ((exc, we, "i"), (inh, wi, "i_inh")):
        for post in (exc, inh):
            if p is not None:
                net.connect(pre, post, "random", p=p, weight=weight, receptor=receptor)
            else:
                k_pre = int(round(checks.count("k", k) * pre.n / n))
                net.connect(pre, post, "fixed_indegree", k=max(k_pre, 1), weight=weight,
                            receptor=receptor)
    return net


def brunel(n_exc: int = 10_000, *, g: float = 5.0, eta: float = 2.0, J: float = 0.1 * MV,
           delay: float = 1.5e-3, epsilon: float = 0.1, external: bool = True,
           dt: float = 1e-4, seed: int = 0,
           **network_args: int | bool | DTypeLike) -> Network:
    r"""The sparse network of excitatory and inhibitory neurons of Brunel (2000), model A, as
    NEST's brunel_delta_nest example builds it, with Brunel's V_r = 10 mV (the example's: 0).

    ``n_exc`` excitatory ("exc") and n_exc // 4 inhibitory ("inh") RC neurons with
    delta synapses, integrated exactly:

    .. math::
        \tau \dot v = -v + \tau \sum_j J_j \sum_k \delta(t - t_j^k - D)

    τ = 20 ms, θ = 20 mV, V_r = 10 mV, refractory 2 ms, v = 0 at the start. Each neuron gets
    C_E = int(epsilon·N_E) excitatory inputs of ``J`` (V) and C_I = int(epsilon·N_I)
    inhibitory ones of −g·J (at least one each), each delayed by ``delay`` (s, D), and, with
    ``external``, a Poisson drive of C_E·ν_ext spikes per second of ``J`` each (a
    PoissonDrive named "exc_drive" or "inh_drive"), ν_ext = ``eta``·ν_thr, ν_thr =
    θ/(J·C_E·τ): the rate that alone brings the mean potential to threshold.

    The weights are J·exp(dt/τ): NEST's iaf_psc_delta tests the threshold right after a
    spike's jump, spikesim after the next step's decay (README, "Agreement with other
    simulators"). With them, g = 5 and η = 2 fire as in NEST 3.10 (over 0.2–1.2 s, seeds
    1–4 each): at n_exc = 10,000, 37.55 ± 0.17 Hz excitatory against NEST's 37.71 ± 0.15,
    ISI CV 0.42 both; at n_exc = 2500, 71.7 Hz as NEST (tests/test_brunel.py, 48 NEST seeds).
    Brunel's regimes (Fig. 8): g = 3, η = 2 synchronous regular;
    g = 6, η = 4 synchronous irregular (fast); g = 5, η = 2 asynchronous irregular;
    g = 4.5, η = 0.9 synchronous irregular (slow).

    Returns the network (dt in s); add monitors, then ``run`` (the first ~0.2 s are a
    synchronous transient from v = 0). ``network_args`` go to
    :class:`~spikesim.network.Network` (dtype, batch, threads, ...).
    """
    n_exc = checks.count("n_exc", n_exc, low=4)  # (at least one inhibitory neuron)
    g = checks.number("g", g, low=0.0)
    eta = checks.number("eta", eta, low=0.0)
    J = checks.number("J", J, low=0.0, low_open=True, unit="V")
    epsilon = checks.number("epsilon", epsilon, low=0.0, low_open=True)
    if epsilon > 1.0:
        raise ValueError(f"epsilon must be <= 1 (the connection probability), got {epsilon!r}")
    tau, theta = 20e-3, 20 * MV
    n_inh = n_exc // 4
    c_exc, c_inh = max(int(epsilon * n_exc), 1), max(int(epsilon * n_inh), 1)
    net = Network(dt=dt, seed=seed, **network_args)
    kw = dict(tau=tau, E_L=0.0, v_th=theta, v_reset=10 * MV, refractory=2e-3, method="exact",
              v_init=0.0)
    exc, inh = net.add(RC(n_exc, **kw), name="exc"), net.add(RC(n_inh, **kw), name="inh")
    j = J * math.exp(net.dt / tau)
    for pre, k, w in ((exc, c_exc, j), (inh, c_inh, -g * j)):
        for post in (exc, inh):
            net.connect(pre, post, "fixed_indegree", k=k, weight=w, delay=delay)
    if external:
        nu_ext = eta * theta / (J * c_exc * tau)  # Hz per external unit: eta·nu_thr
        for post in (exc, inh):
            net.add(PoissonDrive(post, rate=nu_ext * c_exc, weight=j), name=f"{post.name}_drive")
    return net


def _smallest_n(exc_fraction: float) -> int:
    """The smallest n for which cuba has both populations: 1 <= round(n·exc_fraction) < n
    (0 < exc_fraction < 1; true from there on)."""
    start = max(2, math.floor(0.5 / min(exc_fraction, 1.0 - exc_fraction)))  # none below
    return next((n for n in range(start, start + 3) if 1 <= round(n * exc_fraction) < n),
                start + 1)  # (start + 1 but for rounding, which decides ties)
