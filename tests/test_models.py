"""Neuron models against the NumPy oracle (tests/naive.py) and against analytic physics."""

import math

import numpy as np
import pytest
from naive import simulate

import spikesim as ss

NORSE = dict(tau_mem=1 / 100, tau_syn=1 / 200, v_leak=0.0, v_reset=0.0)


def run_population(pop, steps, dt, *, dtype=np.float64, current=None, in_spikes=None,
                   weights=None, seed=0, **net_kw):
    """Run one population with an optional current array (T, n) and input spike array
    (T, n_pre) through dense ``weights``; return (v (T, n), i or None, spike array (T, n))."""
    net = ss.Network(dt=dt, seed=seed, dtype=dtype, **net_kw)
    net.add(pop)
    if current is not None:
        net.add(ss.CurrentArray(pop, current))
    if in_spikes is not None:
        src = net.add(ss.SpikeArray(in_spikes))
        net.connect(src, pop, "all_to_all", weight=weights)
    variables = [v for v in pop.variables if v in ("v", "i")]
    mon = net.add(ss.StateMonitor(pop, variables))
    spk = net.add(ss.SpikeMonitor(pop))
    net.run(steps * dt)
    fired = np.zeros((steps, pop.n), bool)
    s = spk.spikes
    fired[np.rint(s.times / dt).astype(int), s.ids] = True
    i = mon.trace("i").values[:, 0] if "i" in variables else None
    return mon.trace("v").values[:, 0], i, fired


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_norse_lif_euler_matches_the_tutorial_update_bit_for_bit(dtype):
    """Workflow 1: the Norse LIF under random input spikes, every value equal to the oracle."""
    rng = np.random.default_rng(3)
    n, steps = 20, 300
    spikes = rng.random((steps, n)) < 0.05
    pop = ss.LIF(n, v_th=0.3, **NORSE)
    v, i, fired = run_population(pop, steps, 1e-3, dtype=dtype, in_spikes=spikes,
                                 weights=np.eye(n))
    v_ref, i_ref, f_ref = simulate("lif", steps, 1e-3, n=n, dtype=dtype, in_spikes=spikes,
                                   weights=np.eye(n, dtype=dtype), v_th=0.3, **NORSE)
    assert fired.sum() > 10
    np.testing.assert_array_equal(fired, f_ref)
    np.testing.assert_array_equal(v, v_ref)
    np.testing.assert_array_equal(i, i_ref)


@pytest.mark.parametrize("model,pop,params", [
    ("rc", lambda n, **kw: ss.RC(n, R=5.1, C=5e-3, **kw), dict(tau=5.1 * 5e-3, R=5.1)),
    ("leaky", lambda n, **kw: ss.Leaky(n, beta=0.8, **kw), dict(beta=0.8)),
    ("synaptic", lambda n, **kw: ss.Synaptic(n, alpha=0.7, beta=0.85, **kw),
     dict(alpha=0.7, beta=0.85)),
    ("adaptive", lambda n, **kw: ss.AdaptiveLIF(n, tau_w=50e-3, b=0.3, **NORSE, **kw),
     dict(tau_w=50e-3, b=0.3, **NORSE)),
])
@pytest.mark.parametrize("reset", ["value", "subtract", "none"])
@pytest.mark.parametrize("refractory", [0.0, 3e-3])  # the kernel has a loop for each case
def test_euler_models_match_the_oracle_bit_for_bit(model, pop, params, reset, refractory):
    rng = np.random.default_rng(5)
    n, steps = 8, 200
    current = rng.uniform(0, 3.0, (steps, n))
    kw = dict(reset=reset, refractory=refractory)
    v, _, fired = run_population(pop(n, **kw), steps, 1e-3, current=current)
    v_ref, _, f_ref = simulate(model, steps, 1e-3, n=n, current=current, **kw, **params)
    assert fired.sum() > 5
    np.testing.assert_array_equal(fired, f_ref)
    np.testing.assert_array_equal(v, v_ref)


@pytest.mark.parametrize("model", ["lif", "rc", "adaptive"])
def test_exact_method_agrees_with_the_closed_form_solution(model):
    rng = np.random.default_rng(7)
    n, steps, dt = 6, 400, 1e-4
    current = np.repeat(rng.uniform(0.5, 1.5, (steps // 50, n)), 50, axis=0)
    if model == "rc":
        pop, params = ss.RC(n, R=1.0, tau=20e-3, method="exact"), dict(tau=20e-3)
    elif model == "lif":
        pop, params = ss.LIF(n, tau_mem=20e-3, tau_syn=5e-3, method="exact"), dict(
            tau_mem=20e-3, tau_syn=5e-3)
    else:
        params = dict(tau_mem=20e-3, tau_syn=5e-3, tau_w=80e-3, b=0.2)
        pop = ss.AdaptiveLIF(n, method="exact", **params)
    spikes = rng.random((steps, n)) < 0.02
    v, _, fired = run_population(pop, steps, dt, current=current, in_spikes=spikes if
                                 model != "rc" else None, weights=0.3 * np.eye(n))
    v_ref, _, f_ref = simulate(model, steps, dt, n=n, current=current, method="exact",
                               in_spikes=spikes if model != "rc" else None,
                               weights=0.3 * np.eye(n), **params)
    np.testing.assert_array_equal(fired, f_ref)
    np.testing.assert_allclose(v, v_ref, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("tau_mem,tau_syn", [(20e-3, 1e-6), (1e-6, 20e-3), (1e-7, 1e-7)])
def test_exact_method_with_a_time_constant_far_below_dt_stays_finite(tau_mem, tau_syn):
    """dt/tau up to 10,000 (exp(−dt/tau) = 0): from v = 0, i = 1 (R = 1), one step gives the
    closed form v(dt) = tau_syn/(tau_syn − tau_mem)·(exp(−dt/tau_syn) − exp(−dt/tau_mem)),
    (dt/tau)·exp(−dt/tau) when both are tau, and i(dt) = exp(−dt/tau_syn)."""
    dt = 1e-3
    net = ss.Network(dt=dt)
    pop = net.add(ss.LIF(1, tau_mem=tau_mem, tau_syn=tau_syn, method="exact", v_th=1e9,
                         i_init=1.0, v_init=0.0))
    mon = net.add(ss.StateMonitor(pop, ["v", "i"]))
    net.run(dt)
    v, i = mon.trace("v").values[0, 0, 0], mon.trace("i").values[0, 0, 0]
    if tau_mem == tau_syn:
        expected = dt / tau_mem * np.exp(-dt / tau_mem)
    else:
        expected = tau_syn / (tau_syn - tau_mem) * (np.exp(-dt / tau_syn) - np.exp(-dt / tau_mem))
    assert v == pytest.approx(expected, rel=1e-12, abs=1e-300)
    assert i == pytest.approx(np.exp(-dt / tau_syn), rel=1e-15, abs=1e-300)


@pytest.mark.parametrize("method", ["exact", "euler"])
def test_rc_decays_exponentially_from_0_9_volts(method):
    """Workflow 2: no input, v(t) = 0.9·exp(−t/RC) (exact); Euler: 0.9·(1 − dt/RC)^n."""
    dt, steps = 1e-3, 100
    pop = ss.RC(1, R=5.0, C=1e-3, v_init=0.9, v_th=2.0, method=method)
    v, _, _ = run_population(pop, steps, dt)
    n = np.arange(1, steps + 1)
    expected = 0.9 * (np.exp(-n * dt / 5e-3) if method == "exact" else 0.8 ** n)
    np.testing.assert_allclose(v[:, 0], expected, rtol=1e-12, atol=1e-300)


def test_rc_step_current_follows_the_snntorch_tutorial_numbers():
    """R = 5 Ω, C = 1 mF, dt = 1 ms, 100 mA from step 10: v → R·I = 0.5 V as 0.5·(1 − 0.8^n)."""
    steps = 200
    current = np.where(np.arange(steps) >= 10, 0.1, 0.0)[:, None]
    v, _, _ = run_population(ss.RC(1, R=5.0, C=1e-3, v_th=1.0), steps, 1e-3, current=current)
    n = np.arange(1, steps - 9)
    np.testing.assert_allclose(v[10:, 0], 0.5 * (1 - 0.8 ** n), rtol=1e-12)
    assert v[:10, 0].max() == 0.0


def test_lif_steady_state_is_leak_plus_r_times_i():
    """SI units: v → E_L + R·I below threshold, for every method."""
    for method in ("euler", "exact"):
        pop = ss.LIF(3, tau_mem=20e-3, tau_syn=5e-3, v_leak=-60e-3, v_th=0.0, v_reset=-70e-3,
                     R=100e6, method=method)
        current = np.tile([0.05e-9, 0.1e-9, 0.2e-9], (8000, 1))
        v, _, _ = run_population(pop, 8000, 1e-4, current=current)
        np.testing.assert_allclose(v[-1], -60e-3 + 100e6 * current[0], rtol=1e-9)


def lif_period(tau, r_i, theta, v_r, t_ref):
    """Analytic inter-spike interval (s) of an RC neuron under constant drive (relative to E_L)."""
    return t_ref + tau * math.log((r_i - v_r) / (r_i - theta))


@pytest.mark.parametrize("t_ref", [0.0, 2e-3])
def test_lif_firing_rate_under_constant_current(t_ref):
    """Exact method: ISI within one step of t_ref + tau·ln((RI − V_r)/(RI − θ));
    Euler: error shrinking as dt shrinks."""
    tau, r, i_in, el, vth, vr = 20e-3, 100e6, 0.25e-9, -60e-3, -50e-3, -70e-3
    expected = lif_period(tau, r * i_in, vth - el, vr - el, t_ref)
    errors = []
    for method, dt in (("exact", 1e-4), ("euler", 1e-4), ("euler", 1e-5)):
        net = ss.Network(dt=dt)
        pop = net.add(ss.RC(1, R=r, tau=tau, E_L=el, v_th=vth, v_reset=vr, v_init=vr,
                            refractory=t_ref, method=method))
        net.add(ss.ConstantCurrent(pop, i_in))
        mon = net.add(ss.SpikeMonitor(pop))
        net.run(0.5)
        isi = np.diff(mon.spikes.times)
        assert isi.size > 10 and np.ptp(isi) <= dt * 1.01
        errors.append(abs(isi.mean() - expected))
        if method == "exact":
            assert isi.mean() - expected >= -1e-12 and errors[-1] <= dt * 1.0001
    assert errors[2] < errors[1] / 3


def test_refractory_clamp_lasts_round_t_ref_over_dt_steps():
    dt = 1e-3
    pop = ss.RC(1, R=1.0, tau=5e-3, v_th=0.5, v_reset=-0.2, refractory=7e-3)
    current = np.full((60, 1), 2.0)
    v, _, fired = run_population(pop, 60, dt, current=current)
    first = int(np.flatnonzero(fired[:, 0])[0])
    assert np.all(v[first:first + 8, 0] == -0.2)  # reset step plus 7 clamped steps
    assert v[first + 8, 0] > -0.2


@pytest.mark.parametrize("parallel", [False, True])
@pytest.mark.parametrize("model,pop,params", [
    ("lif", lambda n, **kw: ss.LIF(n, **NORSE, **kw), NORSE),
    ("adaptive", lambda n, **kw: ss.AdaptiveLIF(n, tau_w=50e-3, b=0.3, **NORSE, **kw),
     dict(tau_w=50e-3, b=0.3, **NORSE)),
])
def test_refractory_neurons_listed_or_counted_match_the_oracle(model, pop, params, parallel):
    """The CPU kernel lists a block's refractory neurons while they are few (LIST_MAX per
    block of BLOCK) and counts them in the state beyond: a sparse phase, a burst that fires
    most neurons at once, and short chunks (lists rebuilt at each kernel call) all give the
    oracle's spikes and voltages, bit for bit, over two blocks (one partial)."""
    from spikesim.kernels.cpu import BLOCK, LIST_MAX

    rng = np.random.default_rng(11)
    n, steps, dt = BLOCK + 900, 160, 1e-3
    current = np.repeat(rng.uniform(0, 0.32, (1, n)), steps, axis=0)  # 6 % fire
    current[60:64] += 6.0  # a burst: most neurons fire, then stay refractory together
    kw = dict(v_th=0.3, refractory=5e-3)
    v, _, fired = run_population(pop(n, **kw), steps, dt, current=current, chunk=7,
                                 parallel=parallel)
    v_ref, _, f_ref = simulate(model, steps, dt, n=n, current=current, **kw, **params)
    refractory_now = np.array([f_ref[max(k - 5, 0):k, :BLOCK].sum() for k in range(steps)])
    assert refractory_now.max() > LIST_MAX and 0 < refractory_now[30:60].max() < LIST_MAX
    np.testing.assert_array_equal(fired, f_ref)
    np.testing.assert_array_equal(v, v_ref)


def test_per_neuron_random_refractory_periods_are_clipped_at_zero():
    n = 400
    pop = ss.RC(n, R=1.0, tau=5e-3, v_th=0.5, v_reset=0.0,
                refractory=ss.Normal(10e-3, 7e-3, low=0.0))
    net = ss.Network(dt=1e-3, seed=2)
    net.add(pop)
    net.build()
    ref = net.tables.par[2]  # REF_STEPS of every neuron
    assert ref.shape == (n,) and ref.min() == 0.0 and np.all(ref == np.rint(ref))
    assert 9.0 < ref.mean() < 12.0  # mean of a normal clipped at 0, in steps


def test_reset_modes():
    dt, steps = 1e-3, 40
    current = np.full((steps, 1), 0.3)
    out = {}
    for reset in ("value", "subtract", "none"):
        v, _, fired = run_population(ss.Leaky(1, beta=0.9, v_th=1.0, reset=reset), steps, dt,
                                     current=current)
        out[reset] = (v[:, 0], fired[:, 0])
    v, f = out["value"]
    k = int(np.flatnonzero(f)[0])
    assert v[k] == 0.0
    v_s, f_s = out["subtract"]
    assert f_s[k] and math.isclose(v_s[k], v[k - 1] * 0.9 + 0.3 - 1.0, rel_tol=1e-12)
    v_n, f_n = out["none"]
    assert f_n[k:].all() and v_n[-1] > 1.0


def test_second_synaptic_current_for_inhibition():
    """LIF with tau_syn_inh: an inhibitory spike into i_inh lowers v with its own time course."""
    net = ss.Network(dt=1e-4)
    pop = net.add(ss.LIF(1, tau_mem=20e-3, tau_syn=5e-3, tau_syn_inh=10e-3, v_th=1.0,
                         method="exact"))
    src = net.add(ss.SpikeTimes(1, [0.0], [0]))
    net.connect(src, pop, "one_to_one", weight=-0.5, receptor="i_inh")
    mon = net.add(ss.StateMonitor(pop, ["v", "i", "i_inh"]))
    net.run(0.05)
    v = mon.trace("v").values[:, 0, 0]
    i_inh = mon.trace("i_inh").values[:, 0, 0]
    t = mon.trace("v").times - 1e-4  # the spike arrives at the end of the first step
    assert np.all(mon.trace("i").values == 0)
    np.testing.assert_allclose(i_inh, -0.5 * np.exp(-t / 10e-3), rtol=1e-12)
    expected = -0.5 * 10e-3 / (10e-3 - 20e-3) * (np.exp(-t / 10e-3) - np.exp(-t / 20e-3))
    np.testing.assert_allclose(v, expected, rtol=1e-9, atol=1e-15)


def test_adaptive_lif_draws_each_random_parameter_once():
    """tau_mem and R drawn from distributions: the adaptation current enters v with the same
    R as the other inputs (Euler: column E = −R = −C), and v decays with the same tau_mem."""
    from spikesim.kernels import neurons as KN

    net = ss.Network(dt=1e-4, seed=2)
    net.add(ss.AdaptiveLIF(200, tau_mem=ss.Uniform(10e-3, 30e-3), R=ss.Uniform(0.5, 2.0),
                           tau_w=0.1, method="euler"))
    net.build()
    par = net.tables.par
    assert np.unique(par[KN.C]).size == 200  # drawn per neuron
    np.testing.assert_array_equal(par[KN.E], -par[KN.C])


RANDOM_MODELS = {  # name: (class, parameter draws, drive scale)
    "lif": (ss.LIF, lambda r: dict(tau_mem=r.uniform(5e-3, 30e-3), tau_syn=r.uniform(2e-3, 15e-3),
                                   v_leak=r.uniform(-.2, .2), R=r.uniform(.6, 1.8)), 1.6),
    "adaptive": (ss.AdaptiveLIF, lambda r: dict(tau_mem=r.uniform(5e-3, 30e-3),
                                                tau_syn=r.uniform(2e-3, 15e-3),
                                                tau_w=r.uniform(.02, .2), b=r.uniform(0, .5)), 2.0),
    "rc": (ss.RC, lambda r: dict(tau=r.uniform(5e-3, 40e-3), E_L=r.uniform(-.2, .2),
                                 R=r.uniform(.6, 1.8)), 1.6),
    "leaky": (ss.Leaky, lambda r: dict(beta=r.uniform(.5, .98)), .35),
    "synaptic": (ss.Synaptic, lambda r: dict(alpha=r.uniform(.5, .95), beta=r.uniform(.5, .95)),
                 .06),
}


@pytest.mark.parametrize("case", range(150))
def test_random_population_matches_the_oracle_whatever_the_chunking(case):
    """A random model, method, reset, refractory period, initial v, current and weighted input
    spikes; a random chunk size, serial or threaded, the run split in two: the spikes as the
    oracle's, v bit for bit (Euler) or within 1e-12 (exact)."""
    r = np.random.default_rng(case)
    model = str(r.choice(list(RANDOM_MODELS)))
    cls, draw, scale = RANDOM_MODELS[model]
    p = {k: float(v) for k, v in draw(r).items()}
    method = str(r.choice(["euler", "exact"])) if model in ("lif", "rc", "adaptive") else "euler"
    dtype = np.float64 if method == "exact" else [np.float32, np.float64][case % 2]
    n, n_pre, steps = int(r.integers(1, 10)), int(r.integers(1, 8)), int(r.integers(10, 200))
    dt = 1e-3
    kw = dict(v_th=r.uniform(.5, 1.5), v_reset=r.uniform(-.5, .3),
              refractory=int(r.integers(0, 5)) * dt,
              reset=str(r.choice(["value", "subtract", "none"])), method=method)
    v0 = r.uniform(-.3, .9, n) if r.random() < .5 else None
    current = r.uniform(-.3 * scale, scale, (steps, n))
    spikes = r.random((steps, n_pre)) < r.uniform(.02, .3)
    w = r.uniform(-.5 * scale, scale, (n_pre, n))
    net = ss.Network(dt=dt, dtype=dtype, chunk=int(r.integers(1, steps + 5)),
                     parallel=case % 3 == 0)
    pop = net.add(cls(n, **p, **kw, v_init=v0))
    net.add(ss.CurrentArray(pop, current))
    net.connect(net.add(ss.SpikeArray(spikes)), pop, "all_to_all", weight=w)
    mon, spk = net.add(ss.StateMonitor(pop, "v")), net.add(ss.SpikeMonitor(pop))
    cut = int(r.integers(1, steps))
    net.run(cut * dt)
    net.run((steps - cut) * dt)
    fired = np.zeros((steps, n), bool)
    fired[np.rint(spk.spikes.times / dt).astype(int), spk.spikes.ids] = True
    v_ref, _, f_ref = simulate(model, steps, dt, n=n, dtype=dtype, current=current,
                               in_spikes=spikes, weights=w.astype(dtype), v0=v0, **kw, **p)
    np.testing.assert_array_equal(fired, f_ref)
    if method == "euler":
        np.testing.assert_array_equal(mon.trace("v").values[:, 0], v_ref)
    else:
        np.testing.assert_allclose(mon.trace("v").values[:, 0], v_ref, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_longest_accepted_refractory_period_holds_in_float32_too(dtype):
    """REF_MAX_STEPS steps of refractoriness, the longest accepted, survive the parameter table
    of a float32 network (2**31 - 1 rounded to float32 is 2**31, which np.int32 made -2**31: the
    neuron was never refractory); one step more is refused."""
    from spikesim.models import REF_MAX_STEPS

    dt = 1e-3
    with pytest.warns(RuntimeWarning, match="refractory"):
        v, _, fired = run_population(ss.Leaky(1, beta=0.0, v_th=0.5, reset="value",
                                               refractory=REF_MAX_STEPS * dt),
                                     20, dt, dtype=dtype, current=np.ones((20, 1)))
    assert fired[:, 0].sum() == 1 and fired[0, 0]
    assert float(np.float32(REF_MAX_STEPS)) == REF_MAX_STEPS
    net = ss.Network(dt=dt, dtype=dtype)
    net.add(ss.Leaky(1, refractory=(REF_MAX_STEPS + 1) * dt))
    with pytest.raises(ValueError, match=f"at most {REF_MAX_STEPS} steps"):
        net.build()


@pytest.mark.parametrize("tau_mem,tau_syn,expected", [
    (1e-320, 5e-3, math.exp(-0.2)),  # v follows R·i at once
    (5e-3, 1e-320, 0.0),  # i gone before it moves v
    (1e-320, 2e-320, 0.0),
])
def test_exact_method_with_a_subnormal_time_constant_stays_finite(tau_mem, tau_syn, expected):
    """dt/tau beyond float64 (tau 1e-320 s, accepted as > 0): the coupling of i into v is its
    limit, not inf·0 = NaN (which stopped the run blaming a weight, current or noise)."""
    from spikesim.models import _cross

    dt = 1e-3
    with np.errstate(over="ignore"):
        assert _cross(dt, np.float64(tau_mem), np.float64(tau_syn)) == pytest.approx(
            expected, rel=1e-15, abs=1e-300)
    net = ss.Network(dt=dt)
    pop = net.add(ss.LIF(1, tau_mem=tau_mem, tau_syn=tau_syn, method="exact", v_th=1e9,
                         i_init=1.0, v_init=0.0, units="1"))
    mon = net.add(ss.StateMonitor(pop, "v"))
    net.run(dt)
    assert mon.trace("v").values[0, 0, 0] == pytest.approx(expected, rel=1e-15, abs=1e-300)


def test_describe_gives_parameters_only_with_a_second_current_too():
    """LIF(tau_syn_inh=...) keeps its model id and variables on the instance: not parameters."""
    assert set(ss.LIF(2, tau_syn_inh=5e-3).describe()) == set(ss.LIF(2).describe())
