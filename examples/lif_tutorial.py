"""Workflow 1 — the Norse LIF tutorial: one neuron, then 1000 neurons under random input.

Dimensionless Norse parameters: tau_syn_inv 200/s, tau_mem_inv 100/s, v_leak 0, v_th 1,
v_reset 0, dt 1 ms, forward Euler. Run: ``python examples/lif_tutorial.py [--out DIR]``.
"""

from __future__ import annotations

from _common import figure, output_dir

import spikesim as ss
from spikesim import plot

DT = 1e-3
NORSE = dict(tau_mem=1 / 100, tau_syn=1 / 200, v_leak=0.0, v_reset=0.0, units="1")


def one_neuron(weight: float) -> tuple[ss.Trace, ss.Trace, int]:
    """One LIF neuron receiving input spikes at 100 and 120 ms: (v, i, number of spikes)."""
    net = ss.Network(dt=DT)
    lif = net.add(ss.LIF(1, v_th=1.0, **NORSE), name="lif")
    inp = net.add(ss.SpikeTimes(1, [0.100, 0.120], [0, 0]), name="input")
    net.connect(inp, lif, "one_to_one", weight=weight)
    state = net.add(ss.StateMonitor(lif, ["v", "i"]))
    spikes = net.add(ss.SpikeMonitor(lif))
    net.run(1.0)
    return state.trace("v"), state.trace("i"), len(spikes.spikes)


def smallest_weight_that_fires(low: float = 1.0, high: float = 10.0) -> float:
    """Bisection on the input weight until the neuron just fires (to 1e-3)."""
    while high - low > 1e-3:
        mid = 0.5 * (low + high)
        low, high = (low, mid) if one_neuron(mid)[2] else (mid, high)
    return high


def population(out) -> None:
    """1000 neurons (v_th 0.3), each with independent input spikes of probability 0.01/step."""
    net = ss.Network(dt=DT, seed=0)
    lif = net.add(ss.LIF(1000, v_th=0.3, **NORSE), name="lif")
    inp = net.add(ss.BernoulliInput(1000, p=0.01), name="input")
    net.connect(inp, lif, "one_to_one", weight=1.0)
    spikes = net.add(ss.SpikeMonitor(lif))
    net.run(1.0)
    fig, (ax1, ax2) = figure(1, 2)
    plot.raster(spikes.spikes, ax1)
    plot.count_histogram(spikes.spikes, ax2)
    plot.save(fig, out / "population_raster_histogram.png")
    print(f"1000 neurons: {len(spikes.spikes)} spikes, mean rate "
          f"{len(spikes.spikes) / 1000:.1f} Hz")


def main() -> None:
    out = output_dir(__doc__)
    w = smallest_weight_that_fires()
    fig, axes = figure(2, 2)
    for col, weight in enumerate((1.0, w)):
        v, i, n = one_neuron(weight)
        plot.traces(v, axes[col], t_unit="ms")
        plot.traces(i, axes[col + 2], t_unit="ms")
        axes[col].set_title(f"weight {weight:.4g}: membrane potential, {n} spike{'s' * (n != 1)}")
        axes[col + 2].set_title(f"weight {weight:.4g}: synaptic current")
    for ax in axes:
        ax.set_xlim(80, 200)  # ms: the input spikes arrive at 100 and 120 ms
    plot.save(fig, out / "single_neuron.png")
    print(f"single neuron: the smallest input weight that makes it fire is {w:.3f}")
    population(out)
    print(f"figures in {out}")


if __name__ == "__main__":
    main()
