"""Export small snnTorch networks to NIR and store what snnTorch computes, in tests/data/nir.

tests/test_nir.py imports each graph with spikesim.from_nir and compares; it needs only nir,
not snnTorch. Regenerate (in an environment with torch 2.13.0, snntorch 1.0.0, nir 1.0.8,
nirtorch and h5py; rerunning gives byte-identical files)::

    python tests/peers/make_nir_fixtures.py [output folder]

For each network (``ff_leaky``: Linear → Leaky → Linear → Leaky, decays per neuron in the first
layer; ``ff_synaptic``: the same with Synaptic neurons, the second Linear without bias;
``rleaky``: an RLeaky layer, all to all, then a Leaky):

``<name>.nir``
    the graph ``snntorch.export_nir.export_to_nir`` writes (it writes no reset mechanism, so
    one graph serves both below); ``rleaky_nested.nir`` is the same network with the
    recurrent layer as a nested graph (the exporter's own subgraph), sharing ``rleaky.npz``.
``<name>.npz``
    the input ``x`` (T, B, n_in), and per spiking layer i (0, 1) and reset r (``zero``,
    ``subtract``, both with ``reset_delay=False``, and ``delayed``: snnTorch's default,
    ``subtract`` with ``reset_delay=True``; the same weights) the spikes ``spk_i_r`` and the
    membrane after the step ``mem_i_r`` (and ``syn_i_r`` of Synaptic), each (T, B, n_i), with
    the layer's ``beta_i``, ``alpha_i``, ``threshold_i`` and node name ``node_i``.

Everything is float64; the spike function is snnTorch's forward
(``x > 0``) kept in float64. Biases are shifted so that each layer fires 10–40 % of its steps.
"""
import os
import sys
import warnings

import nir
import numpy as np
import snntorch as snn
import torch
from snntorch.export_nir import _extract_snntorch_module, export_to_nir

T, B, N_IN, N_HID, N_OUT = 40, 3, 6, 8, 4
F64 = torch.float64
X_STD, RATE = 1.5, 0.15  # input spread; layer-1 rate assumed when calibrating layer 2
LEVELS = (1.0, 2.0)  # mean drive per layer, in units of the threshold-holding current
RESETS = ("zero", "subtract", "delayed")


def heaviside(x):
    # Same forward as snnTorch's default ATan surrogate ((x > 0).float()),
    # but keeps the dtype, so spikes stay float64 between layers.
    return (x > 0).to(x.dtype)


def full(value, n):
    # snnTorch's exporter needs beta/alpha/threshold as (n,) tensors for
    # Leaky and Synaptic: 0-d values give 0-d NIR params and export fails.
    return torch.full((n,), value, dtype=F64)


def linear(n_in, n_out, bias=True):
    return torch.nn.Linear(n_in, n_out, bias=bias, dtype=F64)


def mechanism(reset):
    """snnTorch's reset_mechanism and reset_delay of a fixture's reset ("delayed": snnTorch's
    default, subtraction one step late)."""
    return {"reset_mechanism": "subtract" if reset == "delayed" else reset,
            "reset_delay": reset == "delayed"}


def leaky(beta, n, reset):
    return snn.Leaky(beta=beta, threshold=full(1.0, n), **mechanism(reset),
                     spike_grad=heaviside)


def synaptic(alpha, beta, n, reset):
    return snn.Synaptic(alpha=full(alpha, n), beta=full(beta, n),
                        threshold=full(1.0, n), **mechanism(reset), spike_grad=heaviside)


def build(name, reset):
    """Return (fc1, lif1, fc2, lif2) for a case, with torch-default weights."""
    per_neuron_beta = 0.85 + torch.linspace(-0.05, 0.05, N_HID, dtype=F64)
    if name == "ff_leaky":
        return (linear(N_IN, N_HID), leaky(per_neuron_beta, N_HID, reset),
                linear(N_HID, N_OUT), leaky(full(0.9, N_OUT), N_OUT, reset))
    if name == "ff_synaptic":
        return (linear(N_IN, N_HID), synaptic(0.7, 0.85, N_HID, reset),
                linear(N_HID, N_OUT, bias=False), synaptic(0.8, 0.9, N_OUT, reset))
    if name == "rleaky":
        rec = snn.RLeaky(beta=torch.tensor(0.85, dtype=F64), linear_features=N_HID,
                         all_to_all=True, **mechanism(reset), spike_grad=heaviside).double()
        return (linear(N_IN, N_HID), rec,
                linear(N_HID, N_OUT), leaky(full(0.9, N_OUT), N_OUT, reset))
    raise ValueError(name)


@torch.no_grad()
def calibrate(fc, lif, mean_in, level):
    """Shift fc so that the mean input current would hold the membrane at
    level * threshold; keeps every neuron away from silence and saturation."""
    target = level * lif.threshold * (1 - lif.beta) * (1 - getattr(lif, "alpha", 0.0))
    drive = fc(mean_in)
    if isinstance(lif, snn.RLeaky):
        drive += lif.recurrent(torch.full_like(drive, RATE))
    if fc.bias is not None:
        fc.bias += target - drive
    else:
        fc.weight += (target - drive)[:, None] / mean_in.sum()


class Net(torch.nn.Module):
    """Two Linear -> spiking-neuron stages; one call is one time step."""

    def __init__(self, fc1, lif1, fc2, lif2):
        super().__init__()
        self.fc1, self.lif1, self.fc2, self.lif2 = fc1, lif1, fc2, lif2

    def forward(self, x):
        return self.lif2(self.fc2(self.lif1(self.fc1(x))[0]))[0]


def simulate(net, x):
    """Step the layers by hand and record spikes, syn and mem per layer."""
    for lif in (net.lif1, net.lif2):
        lif.reset_mem()
    stages = [(net.fc1, net.lif1), (net.fc2, net.lif2)]
    rec = {}
    with torch.no_grad():
        for t in range(x.shape[0]):
            cur = x[t]
            for i, (fc, lif) in enumerate(stages):
                out = lif(fc(cur))
                cur = out[0]
                rec.setdefault(f"spk_{i}", []).append(out[0])
                rec.setdefault(f"mem_{i}", []).append(out[-1])
                if len(out) == 3:
                    rec.setdefault(f"syn_{i}", []).append(out[1])
    return {k: torch.stack(v).numpy() for k, v in rec.items()}


def nested(flat, rleaky):
    """The flat export with lif1.* replaced by the exporter's own RLeaky subgraph
    (input -> lif <-> w_rec, lif -> output), as one NIRGraph node "lif1"."""
    nodes = {k: v for k, v in flat.nodes.items() if not k.startswith("lif1.")}
    nodes["lif1"] = _extract_snntorch_module(rleaky)
    edges = [("input", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "lif2"),
             ("lif2", "output")]
    return nir.NIRGraph(nodes=nodes, edges=edges)


def params(lif):
    p = {"beta": lif.beta, "threshold": lif.threshold}
    if hasattr(lif, "alpha"):
        p["alpha"] = lif.alpha
    return {k: v.detach().numpy().astype(np.float64) for k, v in p.items()}


def make(name, outdir, seed):
    data, graphs = {}, []
    for reset in RESETS:
        torch.manual_seed(seed)
        fc1, lif1, fc2, lif2 = build(name, reset)
        net = Net(fc1, lif1, fc2, lif2)
        x = np.random.default_rng(seed).normal(0.5, X_STD, size=(T, B, N_IN))
        calibrate(fc1, lif1, torch.from_numpy(x.mean(axis=(0, 1))), LEVELS[0])
        calibrate(fc2, lif2, torch.full((N_HID,), RATE, dtype=F64), LEVELS[1])
        data.update({f"{k}_{reset}": v for k, v in simulate(net, torch.from_numpy(x)).items()})
        graph = export_to_nir(net, torch.zeros(1, N_IN, dtype=F64), ignore_dims=[0])
        graph.edges = sorted(graph.edges)  # the exporter's edge order depends on str hashing
        graphs.append((graph, lif1))
    (graph, lif1), *others = graphs
    for other, _ in others:  # (the exporter writes no reset: one graph serves all)
        for node in graph.nodes:
            for k, v in vars(graph.nodes[node]).items():
                assert np.array_equal(np.asarray(v), np.asarray(vars(other.nodes[node])[k]))
    # Uncompressed: nir.write's default gzip makes these tiny datasets ~60 KB.
    nir.write(os.path.join(outdir, f"{name}.nir"), graph, compression=None)
    if isinstance(lif1, snn.RLeaky):
        nir.write(os.path.join(outdir, f"{name}_nested.nir"), nested(graph, lif1),
                  compression=None)
    data["x"] = x
    for i, (lif, node) in enumerate([(lif1, "lif1"), (net.lif2, "lif2")]):
        data.update({f"{k}_{i}": v for k, v in params(lif).items()})
        # recurrent layers are exported flattened, as "<name>.lif" + "<name>.w_rec"
        data[f"node_{i}"] = np.array(node if node in graph.nodes else f"{node}.lif")
    np.savez_compressed(os.path.join(outdir, f"{name}.npz"), **data)
    return data


def main():
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), os.pardir, "data", "nir")
    os.makedirs(outdir, exist_ok=True)
    for seed, name in enumerate(["ff_leaky", "ff_synaptic", "rleaky"]):
        rec = make(name, outdir, seed)
        rates = ", ".join(f"layer {i} {r}: {rec[f'spk_{i}_{r}'].mean():.1%}"
                          for i in range(2) for r in RESETS)
        print(f"{name}: spike fraction {rates}")


if __name__ == "__main__":
    main()
