"""A slow, readable NumPy reference simulator: the oracle the compiled kernels are tested against.

It follows the documented schedule literally, one step at a time, vectorised over neurons:
integrate (the textbook formula of each model), refractory clamp / threshold / reset, then the
synaptic input that arrives at the end of the step (spikes of step k with a delay of one step).
All arithmetic happens in ``dtype`` so that float32 runs can be compared to the last bit.
"""

from __future__ import annotations

import numpy as np


def simulate(model: str, n_steps: int, dt: float, *, n: int, dtype=np.float64,
             current=None, in_spikes=None, weights=None, method="euler", reset="value",
             v_th=1.0, v_reset=0.0, refractory=0.0, v0=None, **p):
    """Run one population. ``current``: (T, n) external current per step; ``in_spikes``:
    (T, n_pre) bool spikes of a source, reaching the population through ``weights``
    (n_pre, n) with a one-step delay. Returns (v trace (T, n), i trace (T, n), spikes (T, n)).

    Model parameters ``p``: LIF: tau_mem, tau_syn, v_leak, R; RC: tau, E_L, R;
    leaky: beta; synaptic: alpha, beta; adaptive: LIF's plus tau_w, b.
    """
    f = np.dtype(dtype).type
    el = f(p.get("v_leak", p.get("E_L", 0.0)))
    v = np.full(n, el if v0 is None else v0, dtype)
    i = np.zeros(n, dtype)
    w = np.zeros(n, dtype)
    refc = np.zeros(n, np.int64)
    n_ref = int(round(refractory / dt))
    cur = np.zeros((n_steps, n), dtype) if current is None else np.asarray(current, dtype)
    vs, is_, fired = (np.zeros((n_steps, n), dtype), np.zeros((n_steps, n), dtype),
                      np.zeros((n_steps, n), bool))
    th, vr = f(v_th), f(v_reset)
    for k in range(n_steps):
        c = cur[k]
        if model in ("lif", "adaptive"):
            tm, ts, r = p["tau_mem"], p["tau_syn"], f(p.get("R", 1.0))
            if method == "euler":
                if model == "adaptive":
                    v = v + f(dt / tm) * ((el - v) + r * (i + c) - r * w)
                else:
                    v = v + f(dt / tm) * ((el - v) + r * (i + c))
                i = i + (-f(dt / ts)) * i
                if model == "adaptive":
                    w = w + (-f(dt / p["tau_w"])) * w
            else:  # closed-form solution over one step, written out directly
                e_m, e_s = np.exp(-dt / tm), np.exp(-dt / ts)
                y = (v - el) * e_m + r * c * (1 - e_m)
                y = y + r * i * ts / (ts - tm) * (e_s - e_m)
                if model == "adaptive":
                    tw = p["tau_w"]
                    e_w = np.exp(-dt / tw)
                    y = y - r * w * tw / (tw - tm) * (e_w - e_m)
                    w = (w * e_w).astype(dtype)
                v = (el + y).astype(dtype)
                i = (i * e_s).astype(dtype)
        elif model == "rc":
            tau, r = p["tau"], f(p.get("R", 1.0))
            if method == "euler":
                v = v + f(dt / tau) * ((el - v) + r * c)
            else:
                e = np.exp(-dt / tau)
                v = (el + (v - el) * e + r * c * (1 - e)).astype(dtype)
        elif model == "leaky":
            v = f(p["beta"]) * v + c
        elif model == "synaptic":
            i = f(p["alpha"]) * i + c
            v = f(p["beta"]) * v + i
        refr = refc > 0
        spk = ~refr & (v > th)
        if reset == "value":
            v = np.where(spk, vr, v)
        elif reset == "subtract":  # the difference v_th − v_reset is taken in float64
            v = np.where(spk, v - f(v_th - v_reset), v)
        v = np.where(refr, vr, v)
        refc = np.where(refr, refc - 1, np.where(spk, n_ref, refc))
        if model == "adaptive":
            w = np.where(spk, w + f(p["b"]), w)
        if in_spikes is not None:  # arrivals at the end of step k, in presynaptic order
            for pre in np.flatnonzero(in_spikes[k]):
                if model in ("rc", "leaky"):
                    v = v + np.asarray(weights[pre], dtype)
                else:
                    i = i + np.asarray(weights[pre], dtype)
        vs[k], is_[k], fired[k] = v, i, spk
    return vs, is_, fired


def nir_euler(graph, x: np.ndarray, dt: float, reset: str = "value") -> dict:
    """A NIR graph's nodes (``nir`` objects; nested graphs as nodes) stepped literally by
    forward Euler: at each step every node computes its output from its inputs' outputs of
    the same step, in the order of the edges, except along an edge that closes a loop, which
    reads the step before (zero at the first). A spike is 1 during its step; v starts at
    v_leak, the synaptic current at 0; an LI or CubaLI node's output is its v. ``x``:
    (T, B, n_in), one input node. Returns each top-level node's outputs (T, B, n)."""
    steps, batch = x.shape[:2]
    state: dict = {}

    def step(g, given, prev, key):
        """One step of graph ``g`` (its Input nodes given ``given``); its nodes' outputs."""
        done, busy = {}, set()

        def out(name):
            if name in done:
                return done[name]
            if name in busy:  # (a loop: the step before)
                return prev.get(name, 0.0)
            busy.add(name)
            into = sum((out(s) for s, d in g.edges if d == name), start=np.zeros(()))
            node, kind = g.nodes[name], type(g.nodes[name]).__name__
            if kind == "Input":
                y = given
            elif kind in ("Output", "Flatten"):
                y = into
            elif kind in ("Affine", "Linear"):
                w = np.asarray(node.weight)
                y = np.broadcast_to(into, (batch, w.shape[1])) @ w.T + getattr(node, "bias", 0)
            elif kind == "Scale":
                y = into * node.scale
            elif kind == "NIRGraph":
                sub = step(node, into, prev.get(name + "/", {}), key + name + "/")
                done[name + "/"] = sub  # (its loops read it at the next step)
                y = next(v for n, v in sub.items()
                         if n in node.nodes and type(node.nodes[n]).__name__ == "Output")
            else:
                y = neuron(node, kind, into, key + name)
            busy.discard(name)
            done[name] = y
            return y

        for name in g.nodes:
            out(name)
        return done

    def neuron(node, kind, into, key):
        p = {k: np.asarray(getattr(node, k), np.float64).ravel() for k in
             ("tau", "tau_mem", "tau_syn", "r", "v_leak", "v_threshold", "v_reset", "w_in")
             if hasattr(node, k)}
        v_leak = p.get("v_leak", 0.0)
        n = max(a.size for a in p.values())  # (a single value of a parameter: every neuron's)
        v, i = state.get(key, (np.broadcast_to(v_leak, (batch, n)).copy(), 0.0))
        if kind in ("LIF", "LI"):
            v = v + dt / p["tau"] * (v_leak - v + p["r"] * into)
        elif kind == "IF":
            v = v + dt * p["r"] * into
        else:  # CubaLIF, CubaLI: the current first, then v with the new current
            i = i + dt / p["tau_syn"] * (-i + p["w_in"] * into)
            v = v + dt / p["tau_mem"] * (v_leak - v + p["r"] * i)
        if kind in ("LI", "CubaLI"):  # (no threshold: the output is v)
            state[key] = (v, i)
            return v
        z = v > p["v_threshold"]
        if reset == "value":
            v = np.where(z, p["v_reset"], v)
        elif reset == "subtract":
            v = v - z * (p["v_threshold"] - p["v_reset"])
        state[key] = (v, i)
        return z.astype(np.float64)

    outputs, prev = [], {}
    for t in range(steps):
        prev = step(graph, x[t], prev, "")
        outputs.append(prev)
    return {name: np.array([np.broadcast_to(o[name], np.shape(outputs[-1][name]))
                            for o in outputs]) for name in graph.nodes}  # (a loop's 0 first)
