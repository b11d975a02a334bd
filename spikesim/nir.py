r"""Networks from NIR graphs (the Neuromorphic Intermediate Representation, neuroir.org), as
snnTorch, Norse and other SNN libraries export trained networks (``pip install ".[nir]"``).

:func:`from_nir` reads a graph (a ``.nir`` file or a ``nir.NIRGraph``) once; its
:meth:`NIRModel.run` simulates it on a batch of inputs and returns the output spikes, and
:meth:`NIRModel.network` gives the :class:`~spikesim.network.Network` itself, to record or run
it otherwise.

NIR's equations are continuous in time; spikesim steps them by forward Euler with the ``dt``
given, a spike being a pulse of one step (so that an ``Affine`` of weight W adds W to the
target's input during that step), as snnTorch and Norse read their own graphs:

- ``LIF`` (:math:`\tau\dot v = (v_{leak} - v) + R I`) and ``IF`` (:math:`\dot v = R I`) become a
  :class:`~spikesim.models.Leaky` population with :math:`\beta = 1 - dt/\tau` (1 for IF),
  :math:`v[k+1] = \beta v[k] + (dt/\tau)(v_{leak} + R I[k])`;
- ``CubaLIF`` (:math:`\tau_{syn}\dot I = -I + w_{in} S`, :math:`\tau_{mem}\dot v = (v_{leak} -
  v) + R I`) becomes a :class:`~spikesim.models.Synaptic` population with
  :math:`\alpha = 1 - dt/\tau_{syn}`, :math:`\beta = 1 - dt/\tau_{mem}`, the current updated
  first and v then integrating the new current, as snnTorch's ``Synaptic`` (its ``i`` holds
  :math:`(dt/\tau_{mem})(R I + v_{leak})`);
- ``Affine``, ``Linear``, ``Scale`` and ``Flatten`` nodes between them are composed into the
  weights of projections; nested graphs (the recurrent layers snnTorch exports) are read as
  parts of the whole.

A spike is fired when v exceeds ``v_threshold`` and v is reset to ``v_reset``, as NIR defines
(snnTorch's reset "zero"); ``reset="subtract"`` subtracts ``v_threshold − v_reset`` instead
(snnTorch's "subtract" with ``reset_delay=False``) and ``reset="snntorch"`` is snnTorch's default
(subtraction one step late), which NIR does not record either. v starts at ``v_leak``.

Time alignment: the kernel delivers a spike at the end of its step, so each layer lags the one
before by a step (``NIRModel.lag``: the steps by which a node's spikes lag the input); the
weights are divided by the target's decay per step (β, or α into a CubaLIF's current) so that a
spike adds W to the target's next update, and the bias and data of a lagging layer start at its
lag. A recurrent edge (a node onto itself) takes one step, as in snnTorch's ``RLeaky``. So row t
of :meth:`NIRModel.run`'s output is the output at input row t, as the library that exported the
graph computes it (to rounding: within 1e-12 in float64 against snnTorch 1.0.0, the same
spikes).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import checks
from .inputs import CurrentArray
from .models import RESETS, Leaky, Population, Synaptic
from .monitors import SpikeMonitor, StateMonitor
from .network import Network

SPIKING = ("LIF", "IF", "CubaLIF")
READOUTS = ("LI", "CubaLI")  # (their potential is an output, never sent on)
NEURONS = SPIKING + READOUTS
NEVER = float(np.finfo(np.float32).max)  # a readout's threshold, in float32's range
PARAMETERS = {"LIF": ("r", "tau", "v_leak", "v_threshold", "v_reset"),
              "IF": ("r", "v_threshold", "v_reset"), "LI": ("r", "tau", "v_leak"),
              "CubaLIF": ("r", "tau_syn", "tau_mem", "v_leak", "w_in", "v_threshold", "v_reset"),
              "CubaLI": ("r", "tau_syn", "tau_mem", "v_leak", "w_in")}  # (each node kind's)
PASSING = ("Affine", "Linear", "Scale", "Flatten", "Input", "Output")  # (nested Input/Output)


class NIRError(ValueError):
    """A graph spikesim cannot simulate, or a parameter out of range: the message names the
    node."""


@dataclass
class _Map:
    """A node's input as an affine function of the graph's spiking nodes and inputs:
    ``sum(terms[s] @ out(s)) + bias``, a term None standing for the identity."""

    terms: dict[str, np.ndarray | None] = field(default_factory=dict)
    bias: np.ndarray | float = 0.0

    def plus(self, other: _Map, size: Callable[[str], int]) -> _Map:
        """The sum of both (``size``: a source's number of units, for identity terms)."""
        terms = dict(self.terms)
        for s, m in other.terms.items():
            terms[s] = m if s not in terms else _dense(terms[s], size(s)) + _dense(m, size(s))
        return _Map(terms, self.bias + other.bias)

    def through(self, weight: np.ndarray | None, bias: np.ndarray | float = 0.0) -> _Map:
        """This input passed through ``y = weight @ x + bias`` (weight None: the identity)."""
        if weight is None:
            return _Map(dict(self.terms), self.bias + bias)
        return _Map({s: weight if m is None else weight @ m for s, m in self.terms.items()},
                    weight @ np.broadcast_to(self.bias, weight.shape[1:]) + bias)


def _dense(m: np.ndarray | None, n: int) -> np.ndarray:
    return np.eye(n) if m is None else m


def _array(node_name: str, node: Any, name: str, n: int | None = None) -> np.ndarray:
    """``node.name`` as a flat float64 array (of ``n`` values, a single one broadcast); time
    constants may be infinite (no leak)."""
    given = getattr(node, name, None)
    value = _reals(given)
    if n is not None and value.size == 1:
        value = np.full(n, value[0])
    bad = ~(np.isfinite(value) | (name.startswith("tau") & ~np.isnan(value)))
    if value.size != (n or max(value.size, 1)) or np.any(bad):
        where = f" ({value[np.argmax(bad)]} at {np.argmax(bad)})" if np.any(bad) else ""
        raise NIRError(f"NIR node {node_name!r} ({type(node).__name__}): {name} must hold "
                       f"{'' if n is None else f'{n} '}finite numbers, got "
                       f"{checks.short(given)}{where}")
    return value


def _reals(given: Any, ravel: bool = True) -> np.ndarray:
    """``given`` as float64 (flat where ``ravel``), or an empty array where it is not real
    numbers (strings, objects, complex numbers)."""
    try:
        value = np.asarray(given)
        if value.dtype.kind not in "biuf":
            return np.zeros(0)
        return value.astype(np.float64).ravel() if ravel else value.astype(np.float64)
    except (TypeError, ValueError):
        return np.zeros(0)


def _shape(name: str, node: Any) -> tuple[int, ...]:
    """An Input node's shape: positive integers."""
    given = node.input_type.get("input") if isinstance(node.input_type, dict) else None
    shape = np.atleast_1d(_reals(given, ravel=False)) if given is not None else np.zeros(0)
    if shape.size == 0 or shape.ndim != 1 or not np.all((shape >= 1) & (shape % 1 == 0)):
        raise NIRError(f"NIR node {name!r} (Input): input_type must give the input's shape as "
                       f"positive integers, got {given!r}")
    return tuple(int(a) for a in shape)


def _read(graph: Any) -> Any:
    if isinstance(graph, (str, os.PathLike)):
        try:
            import nir
        except ImportError as e:
            raise ImportError("reading a .nir file needs the nir package: pip install nir "
                              "(or spikesim[nir])") from e
        path = os.fspath(graph)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"no NIR file {path!r}")
        try:  # (without nir's type inference, which refuses Norse's exports: parameters of
            return nir.read(path, type_check=False)  # 0-d, an input of shape (1, n); the sizes
        except Exception as e:  # are checked below) (h5py's and nir's errors: name the file)
            raise NIRError(f"{path!r} is not a NIR graph nir {nir.__version__} reads: "
                           f"{type(e).__name__}: {e}") from e
    if not hasattr(graph, "nodes") or not hasattr(graph, "edges"):
        raise TypeError(f"graph must be a path to a .nir file or a nir.NIRGraph, got "
                        f"{type(graph).__name__}")
    return graph


def _flatten(graph: Any, prefix: str = "") -> tuple[dict, list, dict, dict]:
    """The nodes (by full name: ``outer.inner`` inside nested graphs) and edges of ``graph``
    with its subgraphs opened, and each subgraph's Input and Output nodes (by the subgraph's
    full name), which pass their values on."""
    nodes, edges, entries, exits = {}, [], {}, {}
    for name, node in graph.nodes.items():
        full = prefix + name
        if type(node).__name__ == "NIRGraph":
            sub_nodes, sub_edges, sub_in, sub_out = _flatten(node, full + ".")
            _no_clash(nodes, sub_nodes)
            nodes.update(sub_nodes)
            edges += sub_edges
            entries.update(sub_in)
            exits.update(sub_out)
            kinds = {n: type(v).__name__ for n, v in node.nodes.items()}
            entries[full] = [full + "." + n for n, k in kinds.items() if k == "Input"]
            exits[full] = [full + "." + n for n, k in kinds.items() if k == "Output"]
        else:
            _no_clash(nodes, {full: node})
            nodes[full] = node
    for src, dst in graph.edges:
        for end, ports, what in ((src, exits, "Output"), (dst, entries, "Input")):
            if len(ports.get(prefix + end, [None])) != 1:
                raise NIRError(f"NIR edge ({prefix + src!r}, {prefix + dst!r}): the nested "
                               f"graph {prefix + end!r} has {len(ports[prefix + end]) or 'no'} "
                               f"{what} nodes to pass values {'out' if what == 'Output' else 'in'}"
                               f" (spikesim reads one)")
        for s in exits.get(prefix + src, [prefix + src]):
            for d in entries.get(prefix + dst, [prefix + dst]):
                edges.append((s, d))
    return nodes, edges, entries, exits


def _no_clash(nodes: dict, more: dict) -> None:
    """Refuse two nodes of the same full name (a node named "a.b" beside a nested graph "a"
    holding a node "b")."""
    same = next((n for n in more if n in nodes), None)
    if same is not None:
        raise NIRError(f"two NIR nodes have the full name {same!r} (a node whose name holds "
                       f"a dot, beside a nested graph's node): rename one")


class NIRModel:
    """A NIR graph ready to run (see the module docstring for the conventions).

    Attributes:
        dt: the time step (s).
        inputs: the graph's input nodes and their shapes (one value per unit, flattened in
            C order where several axes).
        outputs: the graph's output node names (:meth:`run` reads those that are the output
            of one neuron node).
        populations: the neuron nodes (full names, ``outer.inner`` in nested graphs) and
            their sizes.
        lag: steps by which each neuron node lags the input (0 for the first layer).
    """

    def __init__(self, graph: Any, dt: float, reset: str | None = None):
        self.dt = checks.number("dt", dt, low=0.0, low_open=True, unit="s")
        self.reset = None if reset is None else checks.choice("reset", reset,
                                                              (*RESETS, "snntorch"))
        graph = _read(graph)
        nodes, edges, _, _ = _flatten(graph)
        kinds = {name: type(node).__name__ for name, node in nodes.items()}
        top = {name: type(node).__name__ for name, node in graph.nodes.items()}
        unknown = {n: k for n, k in kinds.items() if k not in NEURONS + PASSING}
        if unknown:
            name, kind = next(iter(unknown.items()))
            raise NIRError(f"NIR node {name!r} is a {kind}, which spikesim does not simulate "
                           f"(it reads {', '.join(NEURONS)} neurons joined by "
                           f"{', '.join(PASSING[:4])} nodes)")
        for s, d in edges:
            missing = s if s not in nodes else d if d not in nodes else None
            if missing is not None:
                raise NIRError(f"NIR edge ({s!r}, {d!r}) names no node {missing!r}")
        self._nodes, self._kinds = nodes, kinds
        self._before = {name: [s for s, d in edges if d == name] for name in nodes}
        self.inputs = {n: _shape(n, nodes[n]) for n, k in top.items() if k == "Input"}
        if not self.inputs:
            raise NIRError("the NIR graph has no Input node")
        self.outputs = tuple(n for n, k in top.items() if k == "Output")
        self.populations = {n: max(_array(n, node, name).size for name in PARAMETERS[kinds[n]])
                            for n, node in nodes.items() if kinds[n] in NEURONS}  # (a single
        # value of a parameter is every neuron's; a node of single values only, as Norse
        # exports its default parameters, has as many neurons as its input gives values)
        self._widened = set()  # (the nodes of single values, as wide as their input)
        for p in [p for p, n in self.populations.items() if n == 1]:
            self.populations[p] = self._given(p, set()) or 1
            if self.populations[p] > 1:
                self._widened.add(p)
        self._maps, self._visiting = {}, []
        self._in = {p: self._input_of(p) for p in self.populations}
        for p, into in self._in.items():
            sent = next((s for s in into.terms if kinds.get(s) in READOUTS), None)
            if sent is not None:
                raise NIRError(f"NIR node {sent!r} ({kinds[sent]}) sends its potential on to "
                               f"{p!r}: spikesim reads LI and CubaLI nodes as outputs only")
        self._out = {}  # (an output that is not one neuron node's is refused when asked for)
        for o in self.outputs:
            m = self._input_of(o)
            (src, mat), = m.terms.items() if len(m.terms) == 1 else ((None, 0),)
            self._out[o] = src if src in self.populations and mat is None and not np.any(
                m.bias) else NIRError(
                f"the NIR output {o!r} is not the output of one neuron node (spikesim reads "
                f"out the spikes of LIF, IF and CubaLIF nodes, the potential of LI and CubaLI "
                f"nodes)")
        self.lag = self._lags()
        self._models = {p: self._model(p) for p in self.populations}

    # -- reading the graph ---------------------------------------------------------------
    def _given(self, name: str, seen: set) -> int | None:
        """The number of values the nodes before ``name`` give it, as the first that tells
        says (an Affine's or Linear's rows, an input's size, a neuron node's size; a single
        Scale, a Flatten, a nested Input or Output passes on what reaches it), else None; a
        disagreement is refused later, naming both."""
        seen.add(name)
        for s in self._before[name]:
            kind, node, k = self._kinds[s], self._nodes[s], None
            if kind in ("Affine", "Linear"):  # (_reals: what is not numbers is refused later)
                weight = _reals(getattr(node, "weight", None), ravel=False)
                k = weight.shape[0] if weight.ndim == 2 else None
            elif s in self.inputs:
                k = int(np.prod(self.inputs[s]))
            elif kind in NEURONS and self.populations[s] > 1:
                k = self.populations[s]
            elif kind == "Scale" and _reals(getattr(node, "scale", None)).size > 1:
                k = _reals(node.scale).size
            elif s not in seen:
                k = self._given(s, seen)
            if k:
                return int(k)
        return None

    def _size(self, name: str) -> int:
        return self.populations.get(name) or int(np.prod(self.inputs[name]))

    def _widths(self, m: _Map) -> dict[str | None, int]:
        """The number of values each term of ``m`` gives, by source (None: an array bias)."""
        widths = {s: self._size(s) if a is None else a.shape[0] for s, a in m.terms.items()}
        if np.ndim(m.bias):
            widths[None] = np.size(m.bias)
        return widths

    def _input_of(self, name: str) -> _Map:
        """The sum of what reaches ``name`` along its incoming edges, all of one size (a
        neuron node's: its number of neurons)."""
        given = [(s, self._output_of(s)) for s in self._before[name]]
        sizes, own = {}, name in self.populations and name not in self._widened
        if own:  # (a node of single values has no size of its own: its inputs' sizes)
            n = self.populations[name]
            sizes[n] = f"has {n} neuron(s) (the size of its parameters)"
        for s, m in given:
            for src, k in self._widths(m).items():
                via = f" (through {s!r})" if src != s else ""
                sizes.setdefault(k, f"{_who(src)} gives it {k} value(s){via}")
        if len(sizes) > 1:
            first, second = list(sizes.values())[:2]
            raise NIRError(f"NIR node {name!r} ({self._kinds[name]}) {first}, but {second}"
                           if own else
                           f"NIR node {name!r} ({self._kinds[name]}): values of different sizes "
                           f"reach it: {first}, {second}")
        total = _Map()
        for _, m in given:
            total = total.plus(m, self._size)
        return total

    def _output_of(self, name: str) -> _Map:
        """What ``name`` sends on: a spiking node's or input's own values, else its input
        passed through it."""
        if name in self._maps:
            return self._maps[name]
        kind, node = self._kinds[name], self._nodes[name]
        if kind in NEURONS or name in self.inputs:
            return _Map({name: None})
        if name in self._visiting:
            loop = self._visiting[self._visiting.index(name):] + [name]
            raise NIRError(f"the NIR graph has a loop without a spiking node: "
                           f"{' -> '.join(map(repr, loop))}")
        self._visiting.append(name)
        given = self._input_of(name)
        self._visiting.pop()
        if kind in ("Affine", "Linear"):
            weight = _reals(node.weight, ravel=False)
            if weight.ndim != 2:
                raise NIRError(f"NIR node {name!r} ({kind}): spikesim reads 2-D weights, got "
                               f"{checks.short(node.weight)}")
            if not np.all(finite := np.isfinite(weight)):
                at = tuple(int(i) for i in np.argwhere(~finite)[0])
                raise NIRError(f"NIR node {name!r} ({kind}): weight must hold finite numbers, "
                               f"got {weight[at]} at {at}")
            for s, k in self._widths(given).items():
                if k != weight.shape[1]:
                    raise NIRError(f"NIR node {name!r} ({kind}): its weight of shape "
                                   f"{weight.shape} takes {weight.shape[1]} inputs, but "
                                   f"{_who(s)} gives it {k}")
            bias = _array(name, node, "bias", weight.shape[0]) if kind == "Affine" else 0.0
            out = given.through(weight, bias)
        elif kind == "Scale":
            scale = _array(name, node, "scale")
            (src, width), *_ = self._widths(given).items() or [(None, scale.size)]
            if scale.size not in (1, width):
                raise NIRError(f"NIR node {name!r} (Scale): its scale of {scale.size} values "
                               f"takes {scale.size} inputs, but "
                               f"{_who(src)} gives it {width}")
            scale = np.broadcast_to(scale, (width,))
            out = _Map({s: (np.diag(scale) if m is None else scale[:, None] * m)
                        for s, m in given.terms.items()}, scale * given.bias)
        else:  # Flatten, and the Input and Output of a nested graph: values pass unchanged
            out = given
        self._maps[name] = out
        return out

    def _lags(self) -> dict[str, int]:
        """Each spiking node's lag: one step more than the spiking nodes that reach it (a node
        reaching itself aside); a loop through several spiking nodes has no such lag."""
        lag = {}

        def visit(p: str, path: list[str]) -> int:
            if p in lag:
                return lag[p]
            if p in path:
                loop = path[path.index(p):] + [p]
                raise NIRError(f"the NIR graph has a loop through several spiking nodes "
                               f"({' -> '.join(map(repr, loop))}): spikesim simulates a node "
                               f"fed back onto itself only")
            before = [s for s in self._in[p].terms if s in self.populations and s != p]
            lag[p] = max((visit(s, path + [p]) + 1 for s in before), default=0)
            return lag[p]

        for p in self.populations:
            visit(p, [])
        return lag

    def _model(self, p: str) -> dict:
        """The spikesim population's class and parameters for neuron node ``p``, the gain from
        NIR's input to the population's input variable (per neuron), its decay per step (the
        weights of spikes are divided by it) and its constant input per step."""
        node, kind, n, dt = self._nodes[p], self._kinds[p], self.populations[p], self.dt
        a = {name: _array(p, node, name, n) for name in PARAMETERS[kind]}
        if kind in READOUTS:  # (never fires)
            a["v_threshold"], a["v_reset"] = np.full(n, NEVER), np.zeros(n)
        for tau in ("tau", "tau_syn", "tau_mem"):
            if tau in a and (j := _first(~(a[tau] > dt))) is not None:
                raise NIRError(f"NIR node {p!r} ({kind}): {tau} must be > dt = {dt:g} s for "
                               f"forward Euler (a decay 1 − dt/{tau} in (0, 1)), got "
                               f"{a[tau][j]:g} at neuron {j} (give the dt the graph was "
                               f"exported with: snnTorch's is 1e-4 s; Norse 1.1.0 writes "
                               f"each time constant multiplied by its dt, to be divided by it)")
        beta = 1.0 - dt / a.get("tau_mem", a.get("tau", np.full(n, np.inf)))  # (v's decay)
        rest = a.get("v_leak", np.zeros(n))  # (v before the node's input starts)
        if kind in SPIKING and self.lag[p] > 0 and (
                j := _first(rest > a["v_threshold"])) is not None:
            raise NIRError(f"NIR node {p!r} ({kind}) lags the input by {self.lag[p]} step(s), "
                           f"resting at v = {float(rest[j])!r} above its v_threshold "
                           f"{float(a['v_threshold'][j])!r} (neuron {j}): it would fire before "
                           f"its input arrives; spikesim simulates a lagging node only where "
                           f"its resting potential is at most its threshold")
        reset = "none" if kind in READOUTS else self.reset or "value"
        if reset == "snntorch":  # (subtracting v_th one step late is subtracting v_th/β now:
            if (j := _first(~(a["v_threshold"] > 0))) is not None:  # the same spikes)
                raise NIRError(f"NIR node {p!r} ({kind}): reset 'snntorch' subtracts the "
                               f"threshold, which must be > 0, got v_threshold "
                               f"{a['v_threshold'][j]:g} at neuron {j}")
            reset, a["v_reset"] = "subtract", a["v_threshold"] - a["v_threshold"] / beta
        common = {"v_th": a["v_threshold"], "v_reset": a["v_reset"], "name": p, "reset": reset}
        if reset != "none" and (j := _first(a["v_reset"] >= a["v_threshold"])) is not None:
            raise NIRError(f"NIR node {p!r} ({kind}): v_reset must be below v_threshold with "
                           f"reset {reset!r}, got v_reset {a['v_reset'][j]:g} and "
                           f"v_threshold {a['v_threshold'][j]:g} at neuron {j}")
        if kind.startswith("Cuba"):
            alpha = 1.0 - dt / a["tau_syn"]
            offset = dt / a["tau_mem"] * a["v_leak"]  # (v's leak, carried by i)
            gain = dt / a["tau_mem"] * a["r"] * dt / a["tau_syn"] * a["w_in"]
            return {"cls": Synaptic, "decay": alpha, "gain": gain, "const": (1 - alpha) * offset,
                    "params": {**common, "alpha": alpha, "beta": beta, "i_init": offset,
                               "v_init": a["v_leak"]}}
        if kind in ("LIF", "LI"):
            gain = dt / a["tau"] * a["r"]
            const, v_init = dt / a["tau"] * a["v_leak"], a["v_leak"]
        else:  # IF: β = 1
            gain, const, v_init = dt * a["r"], np.zeros(n), np.zeros(n)
        return {"cls": Leaky, "decay": beta, "gain": gain, "const": const,
                "params": {**common, "beta": beta, "v_init": v_init}}

    # -- running -------------------------------------------------------------------------
    def _data(self, x: np.ndarray | Mapping[str, np.ndarray]) -> tuple[dict, int, int]:
        """Each input's data as (T, B, n) float64, with T and B."""
        if not isinstance(x, Mapping):
            if len(self.inputs) > 1:
                raise TypeError(f"x must map each input node ({', '.join(self.inputs)}) to "
                                f"its data")
            x = {next(iter(self.inputs)): x}
        if set(x) != set(self.inputs):
            raise ValueError(f"x must give the input nodes {sorted(self.inputs)}, got "
                             f"{sorted(x)}")
        data, shapes = {}, set()
        for name, values in x.items():
            shape, n = self.inputs[name], int(np.prod(self.inputs[name]))
            if isinstance(values, (list, tuple)):  # (nested lists of bools too)
                try:
                    values = np.asarray(values)
                except ValueError:  # (ragged: refused below, naming x)
                    pass
            if isinstance(values, np.ndarray) and values.dtype == np.bool_:
                values = values.view(np.uint8)  # (spikes, as run gives them)
            arr = checks.finite_array(f"x[{name!r}]", values, ndim=range(2, 3 + len(shape)))
            if arr.shape[1:] in (shape, (n,)):
                arr = arr.reshape(arr.shape[0], 1, n)
            elif arr.ndim >= 3 and arr.shape[2:] in (shape, (n,)):
                arr = arr.reshape(arr.shape[0], arr.shape[1], n)
            else:
                raise ValueError(f"x[{name!r}] must have shape (T, {_dims(shape)}) or (T, B, "
                                 f"{_dims(shape)}), its input's shape flattened or not, got "
                                 f"{arr.shape}")
            data[name] = arr
            shapes.add(arr.shape[:2])
        if len(shapes) > 1:
            raise ValueError(f"the inputs' data must agree in T and B, got {sorted(shapes)}")
        (steps, batch), = shapes
        if steps < 1:
            raise ValueError("x must hold at least one step (T >= 1)")
        return data, steps, batch

    def network(self, x: np.ndarray | Mapping[str, np.ndarray], *, seed: int = 0,
                dtype: Any = np.float64, **kw: Any) -> Network:
        """A new network of the graph driven by ``x``: the input's values per step, shape
        (T, *input shape) or (T, B, *input shape) for a batch of B (several inputs: a mapping
        from their names). Its populations carry the neuron nodes' names (``net.names[name]``);
        run it for ``(T + lag) · dt`` seconds for a node's T steps of output (steps lag to
        lag + T − 1). A monitor's sample of v after a step holds the spikes that arrived at its
        end (an LI's :meth:`run` output does not). ``seed``, ``dtype`` and ``kw`` go to
        :class:`~spikesim.network.Network`."""
        return self._network(*self._data(x), seed=seed, dtype=dtype, **kw)

    def _network(self, data: dict, steps: int, batch: int, **kw: Any) -> Network:
        net = Network(self.dt, batch=batch, **kw)
        pops: dict[str, Population] = {}
        for p, m in self._models.items():
            try:
                pops[p] = net.add(m["cls"](self.populations[p], **m["params"]))
            except ValueError as e:
                raise NIRError(f"NIR node {p!r} ({self._kinds[p]}): {e}") from e
        for p, m in self._models.items():
            lag, into = self.lag[p], self._in[p]
            rows = self._current(p, data, steps, batch, net.dtype)
            if rows is not None:
                net.add(CurrentArray(pops[p], rows))
            for s, mat in into.terms.items():
                if s in self.populations:
                    weight = m["gain"] / m["decay"]  # (per target neuron)
                    delay = (1 if s == p else lag - self.lag[s]) * self.dt
                    if mat is None:
                        proj = net.connect(pops[s], pops[p], "one_to_one", weight=weight,
                                           delay=delay)
                    elif np.any(mat):
                        proj = net.connect(pops[s], pops[p], "explicit",
                                           matrix=(mat * weight[:, None]).T, delay=delay)
                    else:
                        continue
                    proj._delay_meant = True  # (the lag's: no hint of milliseconds at the build)
        return net

    def _current(self, p: str, data: dict, steps: int, batch: int,
                 dtype: np.dtype) -> np.ndarray | None:
        """Population ``p``'s given input per step, in its input variable's unit, lag + T
        rows (by realization where data drive it, else (rows, n)); None where it is 0. The
        data go through the weights in the network's float type (most of the time of a
        float32 run of a dense layer), written into the rows; the biases count from the lag
        on, the leak from the first step."""
        m, lag, n, into = self._models[p], self.lag[p], self.populations[p], self._in[p]
        gain, leak = m["gain"], m["const"]
        later = gain * np.broadcast_to(into.bias, (n,)) + leak  # (each step from the lag on)
        driven = [s for s in into.terms if s in data]
        rows = np.empty((lag + steps, batch, n) if driven else (lag + steps, n))
        rows[:lag], rows[lag:] = leak, 0.0 if driven else later
        if not driven:
            return rows if np.any(rows) else None
        out = rows[lag:].reshape(-1, n)
        with np.errstate(over="ignore", invalid="ignore"):  # (a float32 overflow: below)
            for j, s in enumerate(driven):
                flat = data[s].reshape(-1, data[s].shape[-1]).astype(dtype, copy=False)
                if into.terms[s] is None:
                    out += flat * gain
                elif j == 0 and dtype == out.dtype:
                    np.matmul(flat, (into.terms[s] * gain[:, None]).T, out=out)
                else:
                    out += flat @ (into.terms[s] * gain[:, None]).T.astype(dtype)
            out += later
        if dtype == np.float32 and not np.all(np.isfinite(out)):
            raise NIRError(f"NIR node {p!r} ({self._kinds[p]}): its input is beyond float32's "
                           f"range (±3.4e38): use dtype=np.float64")
        return rows

    def run(self, x: np.ndarray | Mapping[str, np.ndarray], output: str | None = None, *,
            seed: int = 0, dtype: Any = np.float64, **kw: Any) -> np.ndarray:
        """The answer of ``output`` (an output node's name, may be left out where the graph
        has one; or any neuron node's, a hidden layer's) to ``x`` (see :meth:`network`), row t
        answering input row t, shape (T, B, n) (B = 1 for unbatched data): the spikes (bool)
        of a LIF, IF or CubaLIF node, the potential v after each step (float) of an LI or
        CubaLI node."""
        if output is None and len(self.outputs) == 1:
            output = self.outputs[0]
        if output not in self._out and output not in self.populations:
            raise ValueError(f"output must name one of the graph's outputs "
                             f"{list(self.outputs)} or neuron nodes {list(self.populations)}, "
                             f"got {output!r}")
        p = self._out.get(output, output)
        if isinstance(p, NIRError):
            raise p
        lag = self.lag[p]
        data, steps, batch = self._data(x)
        net = self._network(data, steps, batch, seed=seed, dtype=dtype, **kw)
        pop = next(q for q in net.populations if q.name == p)
        monitor = net.add(StateMonitor(pop, "v") if self._kinds[p] in READOUTS
                          else SpikeMonitor(pop))
        net.run((steps + lag) * self.dt)
        if self._kinds[p] == "LI":  # v before the spikes that arrive at the step's end
            return self._before_arrivals(net, pop, monitor.trace("v").values)[lag:]
        if isinstance(monitor, StateMonitor):  # (CubaLI: spikes arrive into i)
            return monitor.trace("v").values[lag:]
        s = monitor.spikes
        k = np.rint(s.times / self.dt).astype(np.int64) - lag
        out = np.zeros((steps, batch, self.populations[p]), bool)
        keep = k >= 0
        out[k[keep], s.realizations[keep], s.ids[keep]] = True
        return out

    def _before_arrivals(self, net: Network, pop: Population, v: np.ndarray) -> np.ndarray:
        """A Leaky population's v after each step but before the spikes that arrive at its
        end (which the monitor's samples hold): β·v of the sample before plus the step's
        current. ``v``: the samples (steps, B, n)."""
        m = self._models[pop.name]
        rows = next((c.data for c in net.currents if c.target is pop), np.zeros(1))
        rows = rows.reshape(rows.shape[0], -1, pop.n) if rows.ndim > 1 else rows
        before = np.concatenate([np.broadcast_to(m["params"]["v_init"], (1, *v.shape[1:])),
                                 v[:-1]])
        return m["decay"] * before + rows[:len(v)]

    def __repr__(self) -> str:
        pops = ", ".join(f"{p} ({self._kinds[p]} {n}, lag {self.lag[p]})"
                         for p, n in self.populations.items())
        return f"NIRModel(dt={self.dt!r}, inputs={self.inputs}, populations: {pops})"


def _who(source: str | None) -> str:
    """A source of values in a message (None: the biases of Affine nodes before)."""
    return "the biases before it" if source is None else repr(source)


def _first(bad: np.ndarray) -> int | None:
    """The index of the first neuron where ``bad`` holds, or None (for the messages)."""
    return int(np.argmax(bad)) if np.any(bad) else None


def _dims(shape: tuple[int, ...]) -> str:
    return ", ".join(map(str, shape))


def from_nir(graph: str | os.PathLike | Any, dt: float, *, reset: str | None = None) -> NIRModel:
    """Read a NIR graph — a ``.nir`` file's path or a ``nir.NIRGraph`` — to simulate it with
    time step ``dt`` (s; the one it was trained or exported with: snnTorch's exporter assumes
    1e-4 s). ``reset``, for every spiking node (NIR records none of snnTorch's):

    - None or "value": NIR's reset to ``v_reset`` (snnTorch's "zero");
    - "subtract": v − (``v_threshold`` − ``v_reset``), snnTorch's "subtract" with
      ``reset_delay=False``;
    - "snntorch": snnTorch's default, "subtract" with ``reset_delay=True`` (the threshold
      subtracted one step late, which is v_th/β subtracted at once: the same spikes; the
      graph's v_reset, 0 in snnTorch's exports, is not read);
    - "none".
    """
    return NIRModel(graph, dt, reset)
