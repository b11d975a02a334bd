"""The built-in demo (``spikesim demo``): a small E/I network, its recording and figures.

The network is described by :data:`DEMO_TOML`, a network file like those of ``spikesim run``
(see :mod:`spikesim.netfile`), so ``spikesim demo --toml > demo.toml`` gives a starting point
for one's own networks. :func:`figures` draws the PNGs from the HDF5 recording.
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

DEMO_TOML = """\
# The built-in demo of `spikesim demo`: a small E/I network driven by Poisson input.
# 800 excitatory and 200 inhibitory LIF neurons (exact integration, SI units), each receiving
# 40 Poisson inputs at 25 Hz; recurrent random connections with delays, inhibition through a
# second synaptic current (receptor "i_inh"). 1 s of simulated time at dt = 0.1 ms.
# Print it with `spikesim demo --toml`; run a copy with `spikesim run demo.toml`.

description = "spikesim demo: 800 exc + 200 inh LIF neurons under Poisson input"

[network]
dt = 1e-4
duration = 1.0
seed = 1

[[population]]
name = "exc"
model = "LIF"
n = 800
v_init = { distribution = "uniform", low = -60e-3, high = -50e-3 }

[population.params]
tau_mem = 20e-3
tau_syn = 5e-3
tau_syn_inh = 10e-3
v_leak = -60e-3
v_th = -50e-3
v_reset = -60e-3
refractory = 5e-3
method = "exact"

[[population]]
name = "inh"
model = "LIF"
n = 200
v_init = { distribution = "uniform", low = -60e-3, high = -50e-3 }

[population.params]
tau_mem = 10e-3
tau_syn = 5e-3
tau_syn_inh = 10e-3
v_leak = -60e-3
v_th = -50e-3
v_reset = -60e-3
refractory = 2e-3
method = "exact"

[[input]]
name = "noise"
kind = "poisson"
n = 400
params = { rate = 25.0 }

[[projection]]
pre = "noise"
post = "exc"
rule = "fixed_indegree"
k = 40
weight = 3e-3

[[projection]]
pre = "noise"
post = "inh"
rule = "fixed_indegree"
k = 40
weight = 3e-3

[[projection]]
pre = "exc"
post = "exc"
rule = "random"
p = 0.05
weight = { distribution = "uniform", low = 0.5e-3, high = 1.5e-3 }
delay = 1.5e-3

[[projection]]
pre = "exc"
post = "inh"
rule = "random"
p = 0.05
weight = 1.5e-3
delay = 1e-3

[[projection]]
pre = "inh"
post = "exc"
rule = "random"
p = 0.2
weight = -2e-3
receptor = "i_inh"

[[projection]]
pre = "inh"
post = "inh"
rule = "random"
p = 0.2
weight = -2e-3
receptor = "i_inh"

[[record]]
kind = "spikes"
population = "exc"

[[record]]
kind = "spikes"
population = "inh"

[[record]]
kind = "state"
population = "exc"
variables = ["v", "i"]
ids = [0, 1, 2]

[[record]]
kind = "rate"
population = "exc"
bin_width = 5e-3
"""

FIGURES = ("raster", "traces", "rate", "summary")


def figure_paths(h5: str | Path) -> dict[str, Path]:
    """Where :func:`figures` writes each figure: beside the recording, ``<stem>_<kind>.png``."""
    h5 = Path(h5)
    return {kind: h5.with_name(f"{h5.stem}_{kind}.png") for kind in FIGURES}


def figures(h5: str | Path) -> list[Path]:
    """Draw the demo's figures from its recording ``h5``; returns the PNG paths."""
    from . import plot
    from .io import load

    data = load(h5)
    paths = figure_paths(h5)
    spikes = {pop: data.spikes(pop) for pop in ("exc", "inh")}

    plot.save(plot.rasters(list(spikes.values())), paths["raster"])

    ax = plot.traces(data.trace("exc", "v"), t_unit="ms", spikes=spikes["exc"])
    ax.set_xlim(0, 300)
    ax.set_title("exc: membrane potential of 3 neurons (first 300 ms)")
    plot.save(ax, paths["traces"])

    fig = Figure(figsize=(8.0, 3.5), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for k, (pop, s) in enumerate(spikes.items()):
        plot.population_rate(s, 5e-3, ax, smooth=5e-3)
        ax.get_lines()[-1].set(color=f"C{k}", label=pop)
    ax.legend()
    ax.set_title("population rates (5 ms bins, smoothed)")
    plot.save(fig, paths["rate"])

    plot.save(plot.summary(spikes["exc"], data.trace("exc", "v")), paths["summary"])
    return list(paths.values())
