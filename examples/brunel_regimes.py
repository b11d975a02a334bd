"""Workflow 4 — the four states of Brunel's (2000) sparse network, model A (Fig. 8).

10,000 excitatory and 2,500 inhibitory neurons (``spikesim.networks.brunel``); the relative
strength of inhibition g and the external drive η (in units of the threshold rate) choose the
state: synchronous regular (g 3, η 2), fast synchronous irregular (g 6, η 4), asynchronous
irregular (g 5, η 2) and slow synchronous irregular (g 4.5, η 0.9). For each, after a 0.1 s
transient: a raster of 50 neurons, the population rate, its spectrum and Golomb's synchrony χ
(about 1/√N when asynchronous). Run: ``python examples/brunel_regimes.py [--out DIR]
[--n-exc N] [--duration S]`` (about 15 s at the paper's size).
"""

from __future__ import annotations

import argparse

import numpy as np
from _common import arguments, figure

import spikesim as ss
from spikesim import analysis, networks, plot

REGIMES = {"synchronous regular": (3.0, 2.0), "fast synchronous irregular": (6.0, 4.0),
           "asynchronous irregular": (5.0, 2.0), "slow synchronous irregular": (4.5, 0.9)}
T0, BIN = 0.1, 1e-3  # s: the transient left out, the bins of rates and spectra


def run(n_exc: int, g: float, eta: float, duration: float) -> tuple[ss.Spikes, ss.Spikes]:
    """The spikes after the transient (seed 1) of 1000 excitatory neurons and of 50 of them."""
    net = networks.brunel(n_exc, g=g, eta=eta, seed=1)
    mons = [net.add(ss.SpikeMonitor(net.names["exc"], ids=np.arange(min(n_exc, k))))
            for k in (1000, 50)]
    net.run(duration)
    return tuple(m.spikes.window(T0, duration) for m in mons)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n-exc", type=int, default=10_000, help="excitatory neurons")
    parser.add_argument("--duration", type=float, default=0.4, help="simulated time (s)")
    args = arguments(parser)
    fig, axes = figure(len(REGIMES), 3, size=(4.2, 2.6))
    for row, (name, (g, eta)) in enumerate(REGIMES.items()):
        s, few = run(args.n_exc, g, eta, args.duration)
        chi = analysis.synchrony(s, BIN)[0]
        freqs, power = analysis.rate_spectrum(s, BIN)
        peak = freqs[1:][power[0, 1:].argmax()]
        rate = np.nanmean(analysis.firing_rates(s)[0])  # (NaN: neurons not recorded)
        ax_raster, ax_rate, ax_spectrum = axes[3 * row:3 * row + 3]
        plot.raster(few, ax_raster, t_range=(T0, T0 + 0.1))
        ax_raster.set_title(f"{name} (g = {g:g}, η = {eta:g})")
        plot.population_rate(s, BIN, ax_rate, t_range=(T0, T0 + 0.1))
        ax_rate.set_title(f"{rate:.1f} Hz per neuron, χ = {chi:.2f}")
        ax_spectrum.semilogy(freqs[1:], power[0, 1:], linewidth=0.8)
        ax_spectrum.set_xlabel("frequency (Hz)")
        ax_spectrum.set_ylabel("power (Hz²/Hz)")
        ax_spectrum.set_title(f"rate spectrum, peak at {peak:.0f} Hz")
        print(f"{name}: {rate:.1f} Hz per neuron, synchrony χ {chi:.3f}, spectral peak "
              f"{peak:.0f} Hz")
    plot.save(fig, args.out / "brunel_regimes.png")
    print(f"figures in {args.out}")


if __name__ == "__main__":
    main()
