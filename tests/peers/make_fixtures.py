"""Run the peer simulators and store what they compute in tests/data/peers.npz.

tests/test_peers.py rebuilds every case below in spikesim and compares; it needs only NumPy and
this file, not the peers. Regenerate (from a folder outside the repository, in an environment
with the peers installed; writes the file next to this script's tests/data/)::

    cd /tmp && python /path/to/spikesim/tests/peers/make_fixtures.py

Generated with Norse 1.1.0, snnTorch 1.0.0 (both on PyTorch 2.13.0+cpu), NEST 3.10.0 and
Brian2 2.9.0 (numpy code generation target), NumPy 2.3.5, Python 3.11; the versions actually
used are written into the file (key ``versions``, a JSON string). Inputs are drawn from fixed
NumPy seeds and stored beside the outputs, so the file is self-contained.

Cases (key prefixes):

``norse_``
    Norse ``LIFCell`` with the tutorial parameters (tau_syn_inv 200, tau_mem_inv 100, v_leak 0,
    v_th 0.3, v_reset 0, dt 1e-3), float32, 5 neurons x 300 steps, driven by a fixed random
    spike array times a per-neuron weight (``x[k] = spikes[k] * w``, the cell's input at
    step k). Stored: ``v`` and ``i`` (the state after each step), ``z`` (spikes).
``leaky_<mode>`` / ``synaptic_<mode>``
    snnTorch ``Leaky(beta=0.9)`` and ``Synaptic(alpha=0.8, beta=0.9)``, threshold 1, float32,
    4 neurons x 200 steps, driven by a fixed current array (``leaky_x``, ``synaptic_x``). Modes:
    ``subtract_delay``, ``zero_delay`` (``reset_delay=True``, snnTorch's default),
    ``subtract_nodelay``, ``zero_nodelay`` (``reset_delay=False``) and ``none``. Stored:
    ``mem`` (and ``syn``) as returned after each step, ``spk``.
``lapicque_<case>``
    snnTorch ``Lapicque`` (tutorial 2 settings: R 5, C 1e-3, time_step 1e-3; and R 5.1,
    C 5e-3, threshold 0.5), float32: ``decay`` (mem0 0.9, no input, 100 steps), ``step``
    (0.1 from step 10, 200 steps), ``fire_subtract`` and ``fire_zero`` (3 neurons, step
    currents 0.15 / 0.2 / 0.3 from step 10, 200 steps). Stored: ``x`` (input), ``mem``, ``spk``
    and the parameters.
``nest_``
    NEST ``iaf_psc_exp`` (tau_m 20 ms, tau_syn_ex 5 ms, tau_syn_in 10 ms, C_m 250 pF,
    E_L -70 mV, V_th -55 mV, V_reset -70 mV, t_ref 2 ms, resolution 0.1 ms), 3 neurons with
    I_e 0 / 376 / 150 pA, driven by 4 ``spike_generator`` units (two excitatory, two
    inhibitory; weights in pA, delays 0.1-1.5 ms excitatory, 0.1-2 ms inhibitory), 120 ms. A
    multimeter records V_m (mV), I_syn_ex and I_syn_in (pA) every step (times 0.1 ... 120.0 ms:
    row k is the state at (k+1)*h, after update step k); a spike_recorder the spike times (ms,
    NEST stamps a spike with the end of the step in which V_m crossed V_th).
``brian_``
    Brian2 (numpy target, ``method="euler"``), float64 SI units: 3 LIF neurons
    ``dv/dt = (v_leak - v + R*(I_syn + I))/tau_mem``, ``dI_syn/dt = -I_syn/tau_syn``,
    threshold ``v > v_th``, reset ``v = v_reset``, a per-step current array (``TimedArray``) and
    spikes of a ``SpikeGeneratorGroup`` through ``Synapses`` (``on_pre: I_syn += w``, no
    delay), dt 0.1 ms,
    300 steps, state recorded with ``when="end"``.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data",
                   "peers.npz")


def norse_case(out: dict) -> None:
    import torch
    from norse.torch import LIFCell, LIFParameters

    rng = np.random.default_rng(1)
    steps, n = 300, 5
    spikes = rng.random((steps, n)) < 0.06
    w = np.float32([0.6, 0.9, 1.2, 1.5, 2.0])
    x = (spikes * w).astype(np.float32)
    p = LIFParameters(tau_syn_inv=torch.as_tensor(200.0), tau_mem_inv=torch.as_tensor(100.0),
                      v_leak=torch.as_tensor(0.0), v_th=torch.as_tensor(0.3),
                      v_reset=torch.as_tensor(0.0))
    cell = LIFCell(p, dt=1e-3)
    state, vs, is_, zs = None, [], [], []
    with torch.no_grad():
        for k in range(steps):
            z, state = cell(torch.from_numpy(x[k]), state)
            vs.append(state.v.numpy().copy())
            is_.append(state.i.numpy().copy())
            zs.append(z.numpy() > 0)
    out.update(norse_spikes=spikes, norse_w=w, norse_v=np.array(vs), norse_i=np.array(is_),
               norse_z=np.array(zs), norse_params=np.float64([200.0, 100.0, 0.0, 0.3, 0.0, 1e-3]))


def snntorch_cases(out: dict) -> None:
    import snntorch as snn
    import torch

    rng = np.random.default_rng(2)
    steps, n = 200, 4
    x_leaky = (rng.uniform(0.0, 0.4, (steps, n)) * np.float32([0.6, 0.8, 1.0, 1.3])).astype(
        np.float32)
    x_syn = (rng.uniform(0.0, 0.08, (steps, n)) * np.float32([0.6, 0.8, 1.0, 1.3])).astype(
        np.float32)
    out.update(leaky_x=x_leaky, synaptic_x=x_syn, leaky_beta=np.float64(0.9),
               synaptic_alpha=np.float64(0.8), synaptic_beta=np.float64(0.9))
    modes = {"subtract_delay": ("subtract", True), "zero_delay": ("zero", True),
             "subtract_nodelay": ("subtract", False), "zero_nodelay": ("zero", False),
             "none": ("none", True)}
    with torch.no_grad():
        for name, (mech, delay) in modes.items():
            lif = snn.Leaky(beta=0.9, threshold=1.0, reset_mechanism=mech, reset_delay=delay)
            mem = lif.reset_mem()
            mems, spks = [], []
            for k in range(steps):
                spk, mem = lif(torch.from_numpy(x_leaky[k]), mem)
                mems.append(mem.numpy().copy())
                spks.append(spk.numpy() > 0)
            out[f"leaky_{name}_mem"], out[f"leaky_{name}_spk"] = np.array(mems), np.array(spks)

            lif = snn.Synaptic(alpha=0.8, beta=0.9, threshold=1.0, reset_mechanism=mech,
                               reset_delay=delay)
            syn, mem = lif.reset_mem()
            syns, mems, spks = [], [], []
            for k in range(steps):
                spk, syn, mem = lif(torch.from_numpy(x_syn[k]), syn, mem)
                syns.append(syn.numpy().copy())
                mems.append(mem.numpy().copy())
                spks.append(spk.numpy() > 0)
            out[f"synaptic_{name}_mem"] = np.array(mems)
            out[f"synaptic_{name}_syn"] = np.array(syns)
            out[f"synaptic_{name}_spk"] = np.array(spks)

    # Lapicque (tutorial 2): R, C, time_step; mem passed explicitly (the tutorial's loop)
    cases = {
        "decay": dict(R=5, C=1e-3, threshold=1.0, reset="subtract", mem0=0.9, amps=[0.0],
                      start=0, steps=100),
        "step": dict(R=5, C=1e-3, threshold=1.0, reset="subtract", mem0=0.0, amps=[0.1],
                     start=10, steps=200),
        "fire_subtract": dict(R=5.1, C=5e-3, threshold=0.5, reset="subtract", mem0=0.0,
                              amps=[0.15, 0.2, 0.3], start=10, steps=200),
        "fire_zero": dict(R=5.1, C=5e-3, threshold=0.5, reset="zero", mem0=0.0,
                          amps=[0.15, 0.2, 0.3], start=10, steps=200),
    }
    with torch.no_grad():
        for name, c in cases.items():
            x = np.zeros((c["steps"], len(c["amps"])), np.float32)
            x[c["start"]:] = np.float32(c["amps"])
            lif = snn.Lapicque(R=c["R"], C=c["C"], time_step=1e-3, threshold=c["threshold"],
                               reset_mechanism=c["reset"])
            mem = torch.full((x.shape[1],), c["mem0"])
            mems, spks = [], []
            for k in range(c["steps"]):
                spk, mem = lif(torch.from_numpy(x[k]), mem)
                mems.append(mem.numpy().copy())
                spks.append(spk.numpy() > 0)
            out[f"lapicque_{name}_x"] = x
            out[f"lapicque_{name}_mem"] = np.array(mems)
            out[f"lapicque_{name}_spk"] = np.array(spks)
            out[f"lapicque_{name}_params"] = np.float64([c["R"], c["C"], 1e-3, c["threshold"],
                                                         c["mem0"]])


def nest_case(out: dict) -> None:
    import nest

    nest.verbosity = nest.VerbosityLevel.ERROR
    nest.ResetKernel()
    h, t_sim = 0.1, 120.0
    nest.set(resolution=h, local_num_threads=1)
    params = dict(C_m=250.0, tau_m=20.0, tau_syn_ex=5.0, tau_syn_in=10.0, E_L=-70.0,
                  V_th=-55.0, V_reset=-70.0, t_ref=2.0, V_m=-70.0)
    i_e = [0.0, 376.0, 150.0]
    nrn = nest.Create("iaf_psc_exp", 3, params=params)
    nrn.I_e = i_e

    # 4 source units: Poisson-like trains on the grid (one spike per unit and step at most)
    rng = np.random.default_rng(4)
    rates = [250.0, 150.0, 120.0, 80.0]  # Hz
    n_steps = int(round(t_sim / h))
    src_steps, src_ids = [], []
    for u, rate in enumerate(rates):
        k = np.flatnonzero(rng.random(n_steps) < rate * h * 1e-3)
        k = k[k >= 10]  # from 1.0 ms on
        src_steps.append(k)
        src_ids.append(np.full(k.size, u))
    src_steps, src_ids = np.concatenate(src_steps), np.concatenate(src_ids)
    gens = nest.Create("spike_generator", len(rates))
    for u in range(len(rates)):
        gens[u].spike_times = [round(float(k) * h, 1) for k in src_steps[src_ids == u]]
    # connections (pre unit, post neuron, weight pA, delay ms)
    conn = [(0, 0, 350.0, 1.0), (0, 1, 120.0, 1.5), (0, 2, 300.0, 0.1),
            (1, 0, 500.0, 1.5), (1, 2, 250.0, 1.0),
            (2, 0, -300.0, 0.8), (2, 1, -200.0, 2.0), (2, 2, -250.0, 0.1),
            (3, 0, -450.0, 1.2), (3, 2, -150.0, 0.5)]
    for pre, post, wt, d in conn:
        nest.Connect(gens[pre], nrn[post], syn_spec={"weight": wt, "delay": d})
    mm = nest.Create("multimeter", params={"record_from": ["V_m", "I_syn_ex", "I_syn_in"],
                                           "interval": h})
    sr = nest.Create("spike_recorder")
    nest.Connect(mm, nrn)
    nest.Connect(nrn, sr)
    nest.Simulate(t_sim + 2.0)  # the multimeter hands over its data one min-delay late

    ev = mm.events
    times, senders = np.asarray(ev["times"]), np.asarray(ev["senders"])
    gids = list(nrn.global_id)
    grid = np.round(np.arange(1, n_steps + 1) * h, 10)
    traces = {}
    for var in ("V_m", "I_syn_ex", "I_syn_in"):
        arr = np.empty((n_steps, 3))
        for j, g in enumerate(gids):
            sel = senders == g
            t, vals = np.round(times[sel], 10), np.asarray(ev[var])[sel]
            keep = t <= t_sim + 1e-9
            assert np.array_equal(t[keep], grid), "multimeter times are not h ... t_sim"
            arr[:, j] = vals[keep]
        traces[var] = arr
    spk_t, spk_s = np.asarray(sr.events["times"]), np.asarray(sr.events["senders"])
    keep = spk_t <= t_sim + 1e-9
    order = np.lexsort((spk_s[keep], spk_t[keep]))
    conn_a = np.array(conn)
    out.update(
        nest_h=np.float64(h), nest_t_sim=np.float64(t_sim), nest_times=grid,
        nest_V_m=traces["V_m"], nest_I_syn_ex=traces["I_syn_ex"], nest_I_syn_in=traces["I_syn_in"],
        nest_spike_times=spk_t[keep][order],
        nest_spike_ids=np.array([gids.index(s) for s in spk_s[keep][order]], np.int64),
        nest_src_times=np.round(src_steps * h, 10), nest_src_ids=src_ids.astype(np.int64),
        nest_conn_pre=conn_a[:, 0].astype(np.int64), nest_conn_post=conn_a[:, 1].astype(np.int64),
        nest_conn_weight=conn_a[:, 2], nest_conn_delay=conn_a[:, 3], nest_I_e=np.float64(i_e),
        nest_params=json.dumps(params))


def brian_case(out: dict) -> None:
    import brian2 as b2

    b2.prefs.codegen.target = "numpy"
    b2.start_scope()
    dt, steps, n = 0.1e-3, 300, 3
    b2.defaultclock.dt = dt * b2.second
    rng = np.random.default_rng(5)
    current = np.repeat(rng.uniform(0.0, 0.3e-9, (steps // 30, n)), 30, axis=0)  # A
    src_steps = np.sort(rng.choice(np.arange(5, steps), 40, replace=False))
    src_ids = rng.integers(0, n, src_steps.size)
    keep = np.unique(np.stack([src_steps, src_ids]), axis=1)  # one spike per unit and step
    src_steps, src_ids = keep
    params = dict(tau_mem=20e-3, tau_syn=5e-3, v_leak=-65e-3, v_th=-55e-3, v_reset=-70e-3,
                  R=100e6, w=0.2e-9)
    cur = b2.TimedArray(current * b2.amp, dt=dt * b2.second)
    eqs = """
    dv/dt = (v_leak - v + R*(I_syn + cur(t, i)))/tau_mem : volt
    dI_syn/dt = -I_syn/tau_syn : amp
    """
    ns = dict(v_leak=params["v_leak"] * b2.volt, R=params["R"] * b2.ohm, cur=cur,
              tau_mem=params["tau_mem"] * b2.second, tau_syn=params["tau_syn"] * b2.second)
    g = b2.NeuronGroup(n, eqs, threshold=f"v > {params['v_th']}*volt",
                       reset=f"v = {params['v_reset']}*volt", method="euler", namespace=ns)
    g.v = params["v_leak"] * b2.volt
    sg = b2.SpikeGeneratorGroup(n, src_ids, src_steps * dt * b2.second)
    syn = b2.Synapses(sg, g, on_pre=f"I_syn_post += {params['w']}*amp")
    syn.connect(j="i")
    mon = b2.StateMonitor(g, ["v", "I_syn"], record=True, when="end")
    spm = b2.SpikeMonitor(g)
    net = b2.Network(g, sg, syn, mon, spm)
    net.run(steps * dt * b2.second)
    out.update(brian_dt=np.float64(dt), brian_current=current, brian_src_steps=src_steps,
               brian_src_ids=src_ids, brian_v=np.asarray(mon.v).T, brian_i=np.asarray(mon.I_syn).T,
               brian_spike_steps=np.rint(np.asarray(spm.t) / dt).astype(np.int64),
               brian_spike_ids=np.asarray(spm.i).astype(np.int64),
               brian_params=json.dumps(params))


def main() -> None:
    import brian2
    import nest
    import norse
    import snntorch
    import torch

    out: dict = {}
    norse_case(out)
    snntorch_cases(out)
    nest_case(out)
    brian_case(out)
    out["versions"] = json.dumps({
        "norse": norse.__version__, "snntorch": snntorch.__version__,
        "torch": torch.__version__, "nest": nest.__version__, "brian2": brian2.__version__,
        "numpy": np.__version__, "python": sys.version.split()[0]})
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    np.savez_compressed(OUT, **out)
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes, {len(out)} arrays)")


if __name__ == "__main__":
    main()
