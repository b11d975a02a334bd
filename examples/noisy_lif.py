"""Workflow 3 — 500 realizations of a noisy LIF neuron in SI units, with refractoriness.

tau 20 ms, E_L −60 mV, V_reset −70 mV, V_th −50 mV, R 100 MΩ, dt 1 ms, 150 ms; current
i = i_mean·(1 + 0.1·sqrt(t_max/dt)·(2U − 1)), i_mean 25e-11 A, fresh U per step and realization.
Three runs: no refractory period, 10 ms, and per-realization random periods
N(10 ms, 7 ms) clipped at 0. Run: ``python examples/noisy_lif.py [--out DIR]``.
"""

from __future__ import annotations

import numpy as np
from _common import figure, output_dir

import spikesim as ss
from spikesim import analysis, plot

DT, T_MAX, I_MEAN, N_REAL = 1e-3, 0.150, 25e-11, 500


def run(refractory) -> tuple[ss.Spikes, ss.Trace]:
    """500 realizations (the batch axis) of one neuron: spikes and the v trace."""
    net = ss.Network(dt=DT, seed=7, batch=N_REAL)
    lif = net.add(ss.RC(1, R=100e6, tau=20e-3, E_L=-60e-3, v_th=-50e-3, v_reset=-70e-3,
                        refractory=refractory), name="lif")
    net.add(ss.UniformNoiseCurrent(lif, mean=I_MEAN,
                                   half_width=I_MEAN * 0.1 * np.sqrt(T_MAX / DT)))
    spikes = net.add(ss.SpikeMonitor(lif))
    state = net.add(ss.StateMonitor(lif, "v"))
    net.run(T_MAX)
    return spikes.spikes, state.trace("v")


def main() -> None:
    out = output_dir(__doc__)
    cases = {"no refractory period": 0.0, "10 ms refractory": 10e-3,
             "random refractory N(10, 7) ms": ss.Normal(10e-3, 7e-3, low=0.0)}
    fig, axes = figure(len(cases), 3)
    for row, (title, refractory) in enumerate(cases.items()):
        spikes, v = run(refractory)
        ax_hist, ax_raster, ax_rate = axes[3 * row:3 * row + 3]
        plot.vm_histograms(v, [T_MAX / 10, T_MAX], ax_hist)
        plot.raster(spikes, ax_raster)
        plot.population_rate(spikes, 5e-3, ax_rate)
        ax_hist.set_title(f"{title}: v across realizations")
        ax_raster.set_title(f"spikes of {N_REAL} realizations")
        rate = analysis.firing_rates(spikes).mean()
        ax_rate.set_title(f"mean rate {rate:.1f} Hz")
        print(f"{title}: mean rate {rate:.1f} Hz over {N_REAL} realizations")
    plot.save(fig, out / "noisy_lif.png")
    print(f"figures in {out}")


if __name__ == "__main__":
    main()
