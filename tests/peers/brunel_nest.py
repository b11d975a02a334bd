"""NEST 3.10's numbers for tests/test_brunel.py: spikesim's RC neuron against NEST's
iaf_psc_delta, alone and in Brunel's (2000) network. Run in an environment with NEST and
spikesim installed, from a folder outside the repository::

    cd /tmp && python /path/to/spikesim/tests/peers/brunel_nest.py single
    cd /tmp && for s in 1 2 3 4; do python .../brunel_nest.py network $s; done

``single``: one iaf_psc_delta (tau_m 20 ms, V_th 20 mV, V_reset 10 mV, E_L 0, V_m 0, t_ref
2 ms, dt 0.1 ms) driven by spike_generators with the multiplicities of
``test_brunel.inputs()`` at t_k+1 = (k+1)·dt, weights 0.1 and −0.5 mV, delay one step, for
2001 ms: prints its spike steps (NEST stamps, the end of the step).

``network SEED``: NEST's brunel_delta_nest example with N_E = 2500, N_I = 625, C_E = 250,
C_I = 62 (fixed in-degree), J = 0.1 mV, g = 5, eta = 2, V_reset 10 mV (Brunel's; the example
uses 0), delay 1.5 ms, a poisson_generator of eta·nu_thr·C_E to every neuron, 2 threads, 1.2 s:
prints the mean rates (Hz) and mean ISI CVs (neurons with at least 5 spikes) of E and I over
[0.2, 1.2] s, spikes stamped with the start of their step as spikesim does.
"""

import sys

import numpy as np

sys.path.insert(0, __file__.rsplit("/peers/", 1)[0])  # tests/, for test_brunel's helpers
import nest  # noqa: E402
from test_brunel import DT, TAU, inputs, statistics  # noqa: E402

PARAMS = {"tau_m": TAU * 1e3, "V_th": 20.0, "V_reset": 10.0, "E_L": 0.0, "V_m": 0.0,
          "t_ref": 2.0, "C_m": 1.0}  # mV, ms, pF (C_m 1: weights are jumps in mV)


def single() -> list[int]:
    nest.ResetKernel()
    nest.resolution = DT * 1e3
    n = nest.Create("iaf_psc_delta", params=PARAMS)
    rec = nest.Create("spike_recorder")
    nest.Connect(n, rec)
    for counts, w in zip(inputs(), (0.1, -0.5)):
        k = np.nonzero(counts)[0]
        gen = nest.Create("spike_generator", params={
            "spike_times": ((k + 1) * DT * 1e3).round(1).tolist(),
            "spike_multiplicities": counts[k].tolist()})
        nest.Connect(gen, n, syn_spec={"weight": w, "delay": DT * 1e3})
    nest.Simulate(2001.0)
    return np.rint(np.asarray(rec.get("events")["times"]) / (DT * 1e3)).astype(int).tolist()


def network(seed: int, ne: int = 2500, g: float = 5.0, eta: float = 2.0, t: float = 1.2):
    nest.ResetKernel()
    nest.resolution = DT * 1e3
    nest.local_num_threads = 2
    nest.rng_seed = seed
    ni, ce = ne // 4, ne // 10
    ci, j = ni // 10, 0.1
    nu_ext = eta * PARAMS["V_th"] / (j * ce * PARAMS["tau_m"])  # per ms, per external unit
    pops = [nest.Create("iaf_psc_delta", n, params=PARAMS) for n in (ne, ni)]
    noise = nest.Create("poisson_generator", params={"rate": 1e3 * nu_ext * ce})
    recs = [nest.Create("spike_recorder") for _ in pops]
    for pop, rec in zip(pops, recs):
        nest.Connect(noise, pop, syn_spec={"weight": j, "delay": 1.5})
        nest.Connect(pop, rec)
    for pre, k, w in ((pops[0], ce, j), (pops[1], ci, -g * j)):
        nest.Connect(pre, pops[0] + pops[1], {"rule": "fixed_indegree", "indegree": k},
                     {"weight": w, "delay": 1.5})
    nest.Simulate(t * 1e3)
    out = []
    for pop, rec in zip(pops, recs):
        e = rec.get("events")
        times = np.asarray(e["times"]) / 1e3 - DT  # stamped at the start of the step
        out += statistics(times, np.asarray(e["senders"]) - pop[0].global_id, len(pop), t)
    return out


if __name__ == "__main__":
    nest.verbosity = nest.VerbosityLevel.ERROR
    print(single() if sys.argv[1] == "single" else network(int(sys.argv[2])))
