"""Workflow 2 — the RC ("Lapicque") neuron of the snnTorch tutorials, in SI units.

R 5 Ω, C 1 mF (tau 5 ms), dt 1 ms, forward Euler: decay from 0.9 V, a step current, pulses of
equal charge, a one-step current spike; then R 5.1 Ω, C 5 mF, threshold 1 V: firing under a
step current and the three reset modes. Run: ``python examples/lapicque_tutorial.py``.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from _common import figure, output_dir

import spikesim as ss
from spikesim import plot

DT, STEPS = 1e-3, 200


def run(current: np.ndarray | None, **neuron) -> tuple[ss.Trace, ss.Spikes]:
    """One RC neuron driven by ``current`` (A per step); its v trace (V) from t = 0 s, the
    initial value prepended to the samples at the end of each step, and its spikes."""
    net = ss.Network(dt=DT)
    rc = net.add(ss.RC(1, **neuron), name="rc")
    if current is not None:
        net.add(ss.CurrentArray(rc, current))
    state = net.add(ss.StateMonitor(rc, "v"))
    spikes = net.add(ss.SpikeMonitor(rc))
    net.run(STEPS * DT)
    v = state.trace("v")
    v0 = np.full((1, 1, 1), neuron.get("v_init", 0.0))  # default v_init: rest, E_L = 0 V
    v = replace(v, times=np.r_[0.0, v.times], values=np.concatenate([v0, v.values]))
    return v, spikes.spikes


def pulse(start: int, length: int, amplitude: float) -> np.ndarray:
    """A rectangular current (A) over STEPS steps."""
    cur = np.zeros(STEPS)
    cur[start:start + length] = amplitude
    return cur


def main() -> None:
    out = output_dir(__doc__)
    # threshold out of reach, for subthreshold studies (1000 V reads as meant: 10 V would warn
    # that it was typed in millivolts)
    small = dict(R=5.0, C=1e-3, v_th=1e3)
    fig, axes = figure(2, 2)
    v, _ = run(None, v_init=0.9, **small)
    plot.traces(v, axes[0], t_unit="ms")
    axes[0].set_title("decay from 0.9 V, no input")
    v, _ = run(pulse(10, STEPS, 0.1), **small)
    plot.traces(v, axes[1], t_unit="ms")
    axes[1].set_title(f"step of 100 mA: v → R·I = 0.5 V (reached {v.values[-1, 0, 0]:.3f} V)")
    for steps, amp in ((30, 0.1), (10, 0.3), (2, 1.5)):  # 3 mC each
        v, _ = run(pulse(10, steps, amp), **small)
        axes[2].plot(v.times * 1e3, v.values[:, 0, 0], label=f"{amp} A × {steps} ms")
    axes[2].set(title="pulses of equal charge (3 mC)", xlabel="time (ms)", ylabel="v (V)")
    axes[2].legend()
    v, _ = run(pulse(10, 1, 3.0), **small)
    plot.traces(v, axes[3], t_unit="ms")
    axes[3].set_title("one-step current spike, 3 A × 1 ms")
    plot.save(fig, out / "subthreshold.png")

    firing = dict(R=5.1, C=5e-3, v_th=1.0)
    fig, axes = figure(2, 2)
    v, s = run(pulse(10, STEPS, 0.3), **firing)
    plot.traces(v, axes[0], t_unit="ms")
    axes[0].set_title(f"step of 300 mA: {len(s)} spikes")
    for ax, reset in zip(axes[1:], ("value", "subtract", "none")):
        v, s = run(pulse(10, STEPS, 0.5), reset=reset, **firing)
        plot.traces(v, ax, t_unit="ms")
        ax.set_title(f"step of 500 mA, reset={reset!r}: {len(s)} spikes")
    plot.save(fig, out / "firing_and_resets.png")
    print(f"figures in {out}")


if __name__ == "__main__":
    main()
