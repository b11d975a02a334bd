"""Neuron models: parameters, their checks, and the coefficient tables the kernels read.

Each class documents its equations; the one scalar update per model lives in
:mod:`spikesim.kernels.neurons` and reads the columns built here. Times are in seconds; voltages
in volts, currents in amperes and resistances in ohms, unless ``units="1"`` marks a neuron as
dimensionless (the Norse and snnTorch conventions, with R = 1).

Every model shares the spike mechanics: after integrating a step, a neuron whose v exceeds v_th
(strictly) spikes and is reset — ``reset="value"``: v ← v_reset; ``"subtract"``:
v ← v − (v_th − v_reset); ``"none"``: v unchanged — and then stays refractory for
``round(refractory / dt)`` steps (half to even; a plain number that is not a whole number of
steps warns), during which v is clamped at v_reset (other variables evolve). They count from
the reset at the end of the spike's step, as NEST's; Brian2 counts from the spike's stamp t_k,
a step earlier: its ``refractory=t_ref`` is ``refractory=t_ref - dt`` here.

``method="euler"`` applies forward Euler in the order of the classic tutorials (decay, threshold on
the updated v, reset, then input); ``method="exact"`` applies the exact propagators of the linear
subthreshold dynamics for a current constant over the step (as NEST's iaf_psc_exp), so traces
match the closed-form solution to float precision.

Checked against the libraries themselves (tests/test_peers.py, with their numbers stored):
Norse 1.1.0's LIFCell and snnTorch 1.0.0's Leaky and Synaptic bit for bit, NEST 3.10.0's
iaf_psc_exp to 6e-15 relative, Brian2 2.9.0 (Euler) to the last bit, snnTorch's Lapicque to
float32 rounding — each under the mapping of conventions its test documents (Norse 1.1.0 adds a
step's input before integrating; snnTorch resets one step late by default).
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence

import numpy as np

from . import checks
from .distributions import Distribution, RealizationGenerators
from .kernels import cpu as KC
from .kernels import neurons as K

RESETS = ("value", "subtract", "none")
METHODS = ("euler", "exact")
# a refractory period's most steps: the kernels count them in int32 and read them from the
# parameter table, float32 in a float32 network, where 2**31 - 1 rounds up to 2**31 (np.int32 of
# it is -2**31: never refractory); 2**31 - 128 is the largest float32 below 2**31
REF_MAX_STEPS = 2**31 - 128
_F64_MAX = float(np.finfo(np.float64).max)

TIME_CONSTANT = {"low": 0.0, "low_open": True, "unit": "s"}
POSITIVE = {"low": 0.0, "low_open": True}
FACTOR = {"low": 0.0, "high": 1.0}  # a decay factor per step
VOLTAGE, CURRENT = {"unit": "v"}, {"unit": "i"}  # in the unit of v or i (see Population.unit_of)

# A parameter given as a scalar, an array over neurons (n,), an array over realizations ×
# neurons (B, n) or (B, 1), or a Distribution drawn per neuron and realization.
Param = float | np.ndarray | Sequence[float] | Sequence[Sequence[float]] | Distribution


def _expm1_ratio(x: np.ndarray) -> np.ndarray:
    """expm1(x) / x, equal to 1 at x = 0."""
    safe = np.where(x == 0.0, 1.0, x)
    return np.where(x == 0.0, 1.0, np.expm1(safe) / safe)


def _cross(dt: float, tau_a: np.ndarray, tau_b: np.ndarray) -> np.ndarray:
    """Coupling of an exponentially decaying input (time constant tau_b) into a leaky
    integrator (tau_a) over one step, per unit input and for R = 1 (dimensionless):
    tau_b/(tau_b − tau_a)·(exp(−dt/tau_b) − exp(−dt/tau_a)), finite when tau_a = tau_b. With
    a = dt/tau_a and b = dt/tau_b it is a·exp(−min(a, b))·expm1(−|a − b|)/(−|a − b|), which
    neither overflows when one time constant is far shorter than dt nor divides by 0.
    The ratios are capped at 1e300: a time constant below dt/1.8e308 (a subnormal one) made
    a = inf and the product inf·0 = NaN, where the coupling is exp(−b) (v follows the input at
    once); exp(−1e300) is 0 as exp(−inf) is."""
    big = 1e300
    a, b = np.minimum(dt / tau_a, big), np.minimum(dt / tau_b, big)
    with np.errstate(invalid="ignore"):  # inf − inf, both time constants subnormal: capped too
        d = np.fmin(np.abs(dt * (1.0 / tau_a - 1.0 / tau_b)), big)
    return a * np.exp(-np.minimum(a, b)) * _expm1_ratio(-d)


def _keywords(cls: type) -> set[str]:
    """The named parameters of ``cls``'s constructor and its bases' (but ``n``)."""
    return {p.name for c in cls.__mro__ if "__init__" in vars(c)
            for p in inspect.signature(c.__init__).parameters.values()
            if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)} - {"self", "n"}


class Population(checks.FixedOnceBuilt):
    """Base class of all neuron populations (see the module docstring for shared mechanics).

    Every numeric parameter, here and in the models, accepts a scalar, an array over neurons
    (n,), an array over realizations × neurons (B, n) or (B, 1), or a
    :class:`~spikesim.distributions.Distribution` drawn per neuron and realization
    (:data:`Param`). With ``units="1"`` voltages, currents and resistances are dimensionless;
    times stay in seconds.

    Args:
        n: number of neurons.
        v_th: threshold (V).
        v_reset: reset value (V).
        refractory: absolute refractory period (s), default 0.
        reset: "value", "subtract" or "none".
        method: "euler" or "exact".
        v_init: initial v (V); default the resting potential (:attr:`rest`).
        units: "V" (SI units) or "1" (dimensionless).
        name: the population's name (default: set by ``Network.add``).
    """

    model_id: int = -1
    variables: tuple[str, ...] = ("v",)
    inputs: tuple[str, ...] = ("v",)  # variables projections may add to; the first is default
    slots = {"v": KC.VAR_V, "i": KC.VAR_I, "w": KC.VAR_W, "refc": KC.VAR_REFC}
    # every numeric parameter's accepted values (checks.number's keywords), checked where the
    # population is made (:meth:`check`) and again, on the values drawn, when a network is built
    limits: dict[str, dict] = {"v_th": VOLTAGE, "v_reset": VOLTAGE, "v_init": VOLTAGE,
                               "refractory": {"low": 0.0, "unit": "s"}}
    optional = frozenset({"v_init"})  # the parameters that may be None (not given)

    @property
    def channel(self) -> str:
        """The variable that synaptic input (projection weights) adds to by default."""
        return self.inputs[0]

    def __init__(self, n: int, *, v_th: Param, v_reset: Param, refractory: Param = 0.0,
                 reset: str = "value", method: str = "euler", v_init: Param | None = None,
                 units: str = "V", name: str | None = None, **unknown: object):
        if unknown:
            raise TypeError(checks.unknown_names(type(self).__name__, unknown,
                                                 _keywords(type(self))))
        self.n = checks.count("n", n, high=checks.MAX_UNITS)
        self.v_th, self.v_reset, self.refractory, self.v_init = v_th, v_reset, refractory, v_init
        self.reset = checks.choice("reset", reset, RESETS)
        self.method = checks.choice("method", method, METHODS)
        self.units = checks.choice("units", units, ("V", "1"))
        self.name = name
        self.check()  # (a subclass sets its own parameters before calling this __init__)

    def check(self) -> None:
        """Raise a ValueError or TypeError naming the parameter unless every parameter given as
        a number or an array lies in its accepted range (:attr:`limits`), and v_reset is below
        v_th where the reset needs it. Called when the population is made; Distributions are
        checked on the values drawn, when a network is built."""
        given, batch = {}, None  # batch: (name, B) of the first array over B > 1 realizations
        for name, limits in self.limits.items():
            value = getattr(self, name)
            if (value is None and name in self.optional) or isinstance(value, Distribution):
                continue  # (None elsewhere: refused by _param, naming what it takes)
            if type(value) is float and checks.within(value, value, **limits):
                given[name] = value  # the usual case: no array, no message to format
                continue
            given[name] = x = self._param(name, value, None, None)
            b = x.shape[0] if isinstance(x, np.ndarray) and x.ndim == 2 else 1
            if b > 1 and batch is None:
                batch = (name, b)
            elif b > 1 and b != batch[1]:
                raise ValueError(f"{type(self).__name__}.{name} has {b} realizations (shape "
                                 f"{x.shape}) but {batch[0]} has {batch[1]}: arrays over "
                                 f"realizations × neurons must share their first axis (B, the "
                                 f"network's batch)")
        if "v_th" in given and "v_reset" in given:
            self._check_reset(given["v_th"], given["v_reset"])

    def recheck(self) -> None:
        """The constructor's checks of the size and the choices again, for what was assigned
        since (``Network.build`` calls this; numbers are checked as the tables are built)."""
        name = type(self).__name__
        checks.count(f"{name}.n", self.n, high=checks.MAX_UNITS)
        checks.choice(f"{name}.reset", self.reset, RESETS)
        checks.choice(f"{name}.method", self.method, METHODS)
        checks.choice(f"{name}.units", self.units, ("V", "1"))

    def _check_reset(self, v_th, v_reset) -> None:
        if self.reset != "none" and checks.any_true(v_reset >= v_th):
            vr, vt = np.broadcast_arrays(v_reset, v_th)  # (drawn values too: name the first)
            at = np.unravel_index(np.argmax(vr >= vt), vr.shape)
            raise ValueError(f"{type(self).__name__}.v_reset must be below v_th with "
                             f"reset={self.reset!r}, got v_reset={self.v_reset!r}, "
                             f"v_th={self.v_th!r} (offending values {float(vr[at])!r} and "
                             f"{float(vt[at])!r})")

    def unit_of(self, variable: str) -> str:
        """Unit of a state variable: "V", "A", "1" or "steps"."""
        if variable == "refc":
            return "steps"
        if self.units == "1":
            return "1"
        return "V" if variable == "v" else "A"

    @property
    def rest(self) -> Param:
        """The resting potential (V, or dimensionless with ``units="1"``), the default initial
        v."""
        return 0.0

    @property
    def _label(self) -> str:
        """The class and, once named, the population's name: for warnings."""
        return type(self).__name__ + (f" {self.name!r}" if self.name else "")

    # -- building the tables -------------------------------------------------------------
    def _param(self, name, value, batch, rng, limits=None) -> np.float64 | np.ndarray:
        """The parameter ``name`` checked against its :attr:`limits` (or ``limits``): a float64
        scalar when one value serves every neuron and realization (the arithmetic on it is
        then cheap), else a float64 array of shape (1 or B, 1 or n)."""
        limits = self.limits[name] if limits is None else limits
        volts = limits is VOLTAGE and self.units == "V" and batch is not None  # (at build)
        if limits is VOLTAGE or limits is CURRENT:  # (the unit of the population's v or i)
            limits = {"unit": self.unit_of(limits["unit"])}
        full = f"{type(self).__name__}.{name}"
        if isinstance(value, (int, float)) and not isinstance(value, bool):  # the usual case
            x = np.float64(checks.number(full, value, **limits))
        else:
            x = checks.per_neuron(full, value, self.n, batch, rng, **limits)
            x = x[0, 0] if x.size == 1 else x
        if volts:
            checks.warn_if_not_volts(f"{self._label}.{name}", x)
        return x

    def _tau(self, name, value, dt, batch, rng, longest: float | None = 1.0) -> np.ndarray:
        tau = self._param(name, value, batch, rng, TIME_CONSTANT)
        if self.method == "euler" and dt > 0 and checks.any_true(tau < dt / _F64_MAX):
            # forward Euler's coefficient dt/tau would be infinite: NaN in the state
            raise ValueError(f"{type(self).__name__}.{name} must be at least dt/1.8e308 = "
                             f"{dt / _F64_MAX!r} s with method='euler' (its coefficient "
                             f"dt/{name.split()[0]} overflows below that), got "
                             f"{float(np.min(tau))!r} s; method='exact' takes any time "
                             f"constant > 0")
        if longest is not None:
            checks.warn_if_long(f"{self._label}.{name}", tau, longest,
                                "a membrane or synaptic time constant", deliberate=1000.0)
        if self.method == "euler" and checks.any_true(tau < dt):
            checks.warn(f"{self._label}.{name} = {float(tau.min())!r} s is shorter than dt = "
                        f"{dt!r} s: forward Euler is inaccurate or unstable there; use "
                        f"method='exact' or a smaller dt")
        return tau

    def coefficients(self, dt: float, batch: int, rng: RealizationGenerators) -> dict:
        """Column index -> the kernel's parameter: a scalar, or a float64 array of shape
        (1 or B, 1 or n)."""
        v_th = self._param("v_th", self.v_th, batch, rng)
        v_reset = self._param("v_reset", self.v_reset, batch, rng)
        self._check_reset(v_th, v_reset)
        ref = self._param("refractory", self.refractory, batch, rng)
        ref_steps = np.rint(ref / dt)
        if checks.any_true(ref_steps > REF_MAX_STEPS):
            raise ValueError(f"{self._label}.refractory must be at most {REF_MAX_STEPS} steps of "
                             f"dt = {dt!r} s ({REF_MAX_STEPS * dt:.3g} s: the kernels count "
                             f"them in int32, read as float32 in a float32 network), got "
                             f"{float(np.max(ref))!r} s")
        checks.warn_if_long(f"{self._label}.refractory", ref, 0.1,
                            "an absolute refractory period")
        checks.warn_unless_whole_steps(f"{self._label}.refractory", self.refractory, dt)
        if self.reset == "value":
            mul, add = 0.0, v_reset
        else:
            mul, add = 1.0, -(v_th - v_reset) if self.reset == "subtract" else 0.0
        with np.errstate(over="ignore"):  # dt/tau beyond float64 (a tau of 1e-320 s): exp → 0
            model = self._model_coefficients(dt, batch, rng)
        return {K.V_TH: v_th, K.V_RESET: v_reset, K.REF_STEPS: ref_steps,
                K.RESET_MUL: mul, K.RESET_ADD: add, **model}

    def _model_coefficients(self, dt: float, batch: int, rng: RealizationGenerators) -> dict:
        raise NotImplementedError

    def parameter_rows(self, batch: int) -> int:
        """The rows of the population's parameter table (:meth:`table`) in a network of
        ``batch`` realizations, from the parameters as given (nothing drawn): 1 when every
        parameter is one number, n when one varies over neurons, up to batch·n when one is
        drawn (a Distribution) or given per realization."""
        b = j = 1
        for name in self.limits:
            value = getattr(self, name)
            if name.endswith("_init") or value is None or isinstance(value, (int, float)):
                continue
            try:
                shape = (batch, self.n) if isinstance(value, Distribution) else np.shape(value)
            except ValueError:  # a ragged list: refused, naming it, when the table is built
                continue
            b = max(b, shape[0] if len(shape) == 2 else 1)
            j = max(j, shape[-1] if shape else 1)
        return b * j

    def table(self, dt: float, batch: int,
              rng: RealizationGenerators) -> tuple[np.ndarray, int, int]:
        """The parameter table (rows, N_COLUMNS) float64 and its strides (sb, sj): the row of
        neuron j in realization b is ``b*sb + j*sj``."""
        row, arrays = [0.0] * K.N_COLUMNS, {}
        for c, x in self.coefficients(dt, batch, rng).items():
            if isinstance(x, np.ndarray) and x.ndim:
                arrays[c] = x
            else:
                row[c] = x
        shape = (max([a.shape[0] for a in arrays.values()], default=1),  # (1|B, 1|n)
                 max([a.shape[1] for a in arrays.values()], default=1))
        table = np.empty((*shape, K.N_COLUMNS))
        table[...] = row  # the scalars, then the columns that vary
        for c, arr in arrays.items():
            table[..., c] = arr
        sb = shape[1] if shape[0] > 1 else 0
        sj = 1 if shape[1] > 1 else 0
        return table.reshape(-1, K.N_COLUMNS), sb, sj

    def initial_state(self, batch: int, rng: RealizationGenerators) -> dict:
        """Initial values of the state variables by name, each a scalar or a (1 or B, 1 or n)
        float64 array."""
        v0 = self.rest if self.v_init is None else self.v_init
        return {"v": self._param("v_init", v0, batch, rng)}

    def describe(self) -> dict:
        """The parameters as given (n and the constructor's keywords but the name), for
        metadata."""
        given = _keywords(type(self)) - {"name"}
        return {k: v for k, v in vars(self).items() if k == "n" or k in given}

    def __repr__(self) -> str:
        """The name, size and the model's parameters (those of :class:`Population`, such as
        refractory and reset, where not the default); arrays by their shape."""
        values = self.describe()
        own = [p.name for c in type(self).__mro__ if c is not Population and "__init__" in vars(c)
               and issubclass(c, Population)
               for p in inspect.signature(c.__init__).parameters.values()
               if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name in values
               and p.name != "n"]
        shown = [f"{k}={checks.short(values.pop(k))}" for k in dict.fromkeys(own)
                 if values.get(k) is not None]
        values.pop("n", None)
        rest = checks.given_parameters(self, values)
        head = ([repr(self.name)] if isinstance(self.name, str) else []) + [f"n={self.n}"]
        return f"{type(self).__name__}({', '.join(head + shown + ([rest] if rest else []))})"


class LIF(Population):
    r"""Current-based leaky integrate-and-fire neuron with an exponential synaptic current.

    .. math::
        \tau_{mem}\,\dot v = (v_{leak} - v) + R\,(i + I_{ext}), \qquad
        \tau_{syn}\,\dot i = -i

    Synaptic input (projection weights, A) jumps i. The defaults are the numbers of Norse's LIF
    (tau_mem 10 ms = 1/tau_mem_inv with tau_mem_inv 100/s, tau_syn 5 ms = 1/tau_syn_inv 200/s,
    v_leak 0, v_th 1, v_reset 0, R 1), read in SI units (V, Ω) unless ``units="1"``, as in
    Norse's dimensionless convention.
    Euler step: ``v += dt/tau_mem·((v_leak − v) + R·(i + I_ext)); i += −dt/tau_syn·i``.

    With ``tau_syn_inh`` the neuron has a second synaptic current ``i_inh`` (time constant
    tau_syn_inh, entering v as R·i_inh), the target of projections made with
    ``receptor="i_inh"`` — e.g. the CUBA network's separate excitatory and inhibitory currents.

    Args:
        tau_mem: membrane time constant (s).
        tau_syn: synaptic time constant of i (s).
        v_leak: leak (resting) potential (V).
        v_th: threshold (V).
        v_reset: reset value (V).
        R: membrane resistance (Ω).
        i_init: initial i (A).
        tau_syn_inh: time constant of i_inh (s); None (default): no second current.
        **kw: refractory (s), reset, method, v_init (V), units, name: see :class:`Population`
            (which also says what every numeric parameter accepts). With ``units="1"`` the
            voltages, R and i_init are dimensionless.
    """

    model_id = K.LIF
    variables = ("v", "i")
    inputs = ("i",)
    limits = {**Population.limits, "tau_mem": TIME_CONSTANT, "tau_syn": TIME_CONSTANT,
              "tau_syn_inh": TIME_CONSTANT, "v_leak": VOLTAGE, "i_init": CURRENT,
              "R": {**POSITIVE, "unit": "ohm"}}
    optional = Population.optional | {"tau_syn_inh"}

    def __init__(self, n: int, *, tau_mem: Param = 10e-3, tau_syn: Param = 5e-3,
                 v_leak: Param = 0.0, v_th: Param = 1.0, v_reset: Param = 0.0, R: Param = 1.0,
                 i_init: Param = 0.0, tau_syn_inh: Param | None = None,
                 **kw: Param | str | None):
        self.tau_mem, self.tau_syn, self.v_leak, self.R, self.i_init = (
            tau_mem, tau_syn, v_leak, R, i_init)
        self.tau_syn_inh = tau_syn_inh
        if tau_syn_inh is not None:  # a second synaptic current i_inh, kept in the w slot
            self.model_id = K.LIF_W
            self.variables = ("v", "i", "i_inh")
            self.inputs = ("i", "i_inh")
            self.slots = {**Population.slots, "i_inh": KC.VAR_W}
        super().__init__(n, v_th=v_th, v_reset=v_reset, **kw)

    @property
    def rest(self) -> Param:
        """v_leak (V)."""
        return self.v_leak

    def _model_coefficients(self, dt, batch, rng):
        tm = self._tau("tau_mem", self.tau_mem, dt, batch, rng)
        ts = self._tau("tau_syn", self.tau_syn, dt, batch, rng)
        r = self._param("R", self.R, batch, rng)
        el = self._param("v_leak", self.v_leak, batch, rng)
        if self.method == "euler":
            cols = {K.E_L: el, K.A: dt / tm, K.B: dt / ts, K.C: r}
        else:
            cols = {K.E_L: el, K.A: np.exp(-dt / tm), K.B: r * _cross(dt, tm, ts),
                    K.C: -r * np.expm1(-dt / tm), K.D: np.exp(-dt / ts)}
        second = self._second()
        if second is not None:  # (tm and r drawn once: the same values enter every column)
            cols.update(self._second_current(cols, dt, tm, r, *second, batch, rng))
        return cols

    def _second(self) -> tuple | None:
        """(name, time constant, sign) of the second current, or None."""
        return None if self.tau_syn_inh is None else ("tau_syn_inh", self.tau_syn_inh, +1.0)

    def _second_current(self, cols, dt, tm, r, name, tau, sign, batch, rng) -> dict:
        """Columns E, F of a second exponential current (time constant ``tau``) entering v
        with sign ``sign``."""
        tw = self._tau(name, tau, dt, batch, rng, None if name == "tau_w" else 1.0)
        if self.method == "euler":
            return {K.E: sign * r, K.F: dt / tw}
        return {K.E: sign * r * _cross(dt, tm, tw), K.F: np.exp(-dt / tw)}

    def initial_state(self, batch: int, rng: RealizationGenerators) -> dict:
        return {**super().initial_state(batch, rng),
                "i": self._param("i_init", self.i_init, batch, rng)}


class RC(Population):
    r"""The RC circuit ("Lapicque") neuron: no synaptic state.

    .. math:: \tau\,\dot v = (E_L - v) + R\,I(t), \qquad \tau = R\,C

    Give ``tau`` or ``C`` (farads). Synaptic input (projection weights, V) jumps v.

    A jump arriving at the end of a step is thresholded at the end of the next step, after that
    step's decay (see the module docstring's order): a weight w acts on the threshold as
    w·exp(−dt/tau) would if thresholded at once, and v sampled at the arrival may exceed v_th
    without a spike. NEST's ``iaf_psc_delta`` thresholds at once: it is this neuron with
    ``method="exact"``, the same delays and refractory period (both drop input arriving while
    refractory) and weights ``J_nest·exp(dt/tau)``; spike for spike, spikesim's stamps one step
    before NEST's.
    Euler step (snnTorch tutorial 2): ``v += dt/tau·((E_L − v) + R·I)``; snnTorch's
    ``Lapicque`` computes it in another order, in float32: equal to about 2e-7.

    Args:
        R: membrane resistance (Ω).
        C: membrane capacitance (F; in s with ``units="1"``, where tau = R·C).
        tau: membrane time constant (s); give exactly one of C and tau.
        E_L: resting potential (V).
        v_th: threshold (V).
        v_reset: reset value (V).
        **kw: refractory (s), reset, method, v_init (V), units, name: see :class:`Population`
            (which also says what every numeric parameter accepts). With ``units="1"`` the
            voltages and R are dimensionless.
    """

    model_id = K.RC
    variables = ("v",)
    limits = {**Population.limits, "R": {**POSITIVE, "unit": "ohm"},
              "C": {**POSITIVE, "unit": "F"}, "tau": TIME_CONSTANT, "E_L": VOLTAGE}
    optional = Population.optional | {"C", "tau"}

    def __init__(self, n: int, *, R: Param = 5.0, C: Param | None = None,
                 tau: Param | None = None, E_L: Param = 0.0, v_th: Param = 1.0,
                 v_reset: Param = 0.0, **kw: Param | str | None):
        if (C is None) == (tau is None):
            raise ValueError(f"RC needs exactly one of C (F) or tau (s), got C={C!r}, tau={tau!r}")
        self.R, self.C, self.tau, self.E_L = R, C, tau, E_L
        super().__init__(n, v_th=v_th, v_reset=v_reset, **kw)

    @property
    def rest(self) -> Param:
        """E_L (V)."""
        return self.E_L

    def _model_coefficients(self, dt, batch, rng):
        r = self._param("R", self.R, batch, rng)
        if self.tau is None:
            tau = r * self._param("C", self.C, batch, rng)
            self._tau("tau (= R*C)", tau, dt, batch, rng)
        else:
            tau = self._tau("tau", self.tau, dt, batch, rng)
        el = self._param("E_L", self.E_L, batch, rng)
        if self.method == "euler":
            return {K.E_L: el, K.A: dt / tau, K.C: r}
        return {K.E_L: el, K.A: np.exp(-dt / tau), K.C: -r * np.expm1(-dt / tau)}


class Leaky(Population):
    r"""snnTorch-style discrete-time leaky neuron (dimensionless).

    .. math:: v[k+1] = \beta\,v[k] + I[k]

    ``I`` is the input current of the step; synaptic input (projection weights) adds to v at the
    end of the step. Default reset "subtract" by the threshold (v_reset = 0).

    As snnTorch's ``Leaky(beta)`` with ``reset_delay=False`` (the reset in the spike's own
    step), bit for bit: ``reset_mechanism`` "subtract" is ``reset="subtract"``, "zero" is
    ``reset="value"``, "none" is "none". But where a subtraction leaves v above the threshold
    (v beyond twice the threshold before it, which an input below the threshold can keep up
    once v is above), snnTorch 1.0.0 tests the next step on v − v_th (the reset it carries
    over) and spikesim on v: from there on the spikes differ.
    snnTorch's default ``reset_delay=True`` resets one step
    later and returns the pre-reset v at the spike: its "zero" is ``reset="value"`` (v equal but
    at spike steps), its "subtract" is ``v_reset = v_th − v_th/beta`` (equal to float32
    rounding).

    Args:
        beta: decay factor per step, in [0, 1] (dimensionless).
        v_th: threshold (dimensionless; V with ``units="V"``).
        v_reset: reset value (dimensionless; V with ``units="V"``).
        reset: as :class:`Population`'s, default "subtract".
        **kw: refractory (s), method, v_init, units (default "1"), name: see
            :class:`Population` (which also says what every numeric parameter accepts).
    """

    model_id = K.LEAKY
    variables = ("v",)
    limits = {**Population.limits, "beta": FACTOR}

    def __init__(self, n: int, *, beta: Param = 0.9, v_th: Param = 1.0, v_reset: Param = 0.0,
                 reset: str = "subtract", **kw: Param | str | None):
        kw.setdefault("units", "1")
        self.beta = beta
        super().__init__(n, v_th=v_th, v_reset=v_reset, reset=reset, **kw)

    def _model_coefficients(self, dt, batch, rng):
        return {K.A: self._param("beta", self.beta, batch, rng)}


class Synaptic(Population):
    r"""snnTorch-style discrete-time neuron with a synaptic current (dimensionless).

    .. math:: i[k+1] = \alpha\,i[k] + I[k], \qquad v[k+1] = \beta\,v[k] + i[k+1]

    Synaptic input (projection weights) adds to i at the end of the step.

    As snnTorch's ``Synaptic(alpha, beta)``, mapped as for :class:`Leaky`, except that with
    snnTorch's default ``reset_delay=True`` its "zero" reset is ``reset="value"`` plus a
    refractory period of one step.

    Args:
        alpha: decay factor of i per step, in [0, 1] (dimensionless).
        beta: decay factor of v per step, in [0, 1] (dimensionless).
        v_th: threshold (dimensionless; V with ``units="V"``).
        v_reset: reset value (dimensionless; V with ``units="V"``).
        reset: as :class:`Population`'s, default "subtract".
        i_init: initial i (dimensionless; A with ``units="V"``).
        **kw: refractory (s), method, v_init, units (default "1"), name: see
            :class:`Population` (which also says what every numeric parameter accepts).
    """

    model_id = K.SYNAPTIC
    variables = ("v", "i")
    inputs = ("i",)
    limits = {**Population.limits, "alpha": FACTOR, "beta": FACTOR, "i_init": CURRENT}

    def __init__(self, n: int, *, alpha: Param = 0.8, beta: Param = 0.9, v_th: Param = 1.0,
                 v_reset: Param = 0.0, reset: str = "subtract", i_init: Param = 0.0,
                 **kw: Param | str | None):
        kw.setdefault("units", "1")
        self.alpha, self.beta, self.i_init = alpha, beta, i_init
        super().__init__(n, v_th=v_th, v_reset=v_reset, reset=reset, **kw)

    def _model_coefficients(self, dt, batch, rng):
        return {K.A: self._param("beta", self.beta, batch, rng),
                K.B: self._param("alpha", self.alpha, batch, rng)}

    def initial_state(self, batch: int, rng: RealizationGenerators) -> dict:
        return {**super().initial_state(batch, rng),
                "i": self._param("i_init", self.i_init, batch, rng)}


class AdaptiveLIF(LIF):
    r"""LIF with a spike-triggered adaptation current w.

    .. math::
        \tau_{mem}\,\dot v = (v_{leak} - v) + R\,(i + I_{ext} - w), \quad
        \tau_{syn}\,\dot i = -i, \quad \tau_w\,\dot w = -w, \quad w \leftarrow w + b
        \text{ at each spike}

    Euler step: ``v += dt/tau_mem·((v_leak − v) + R·(i + I_ext) − R·w)``.

    Args:
        tau_w: time constant of w (s).
        b: the adaptation increment (A, or model units with ``units="1"``).
        **kw: the parameters of :class:`LIF` (but tau_syn_inh, which must be None) and
            :class:`Population` (which also says what every numeric parameter accepts).
    """

    model_id = K.LIF_W
    variables = ("v", "i", "w")
    limits = {**LIF.limits, "tau_w": TIME_CONSTANT, "b": CURRENT}

    def __init__(self, n: int, *, tau_w: Param = 100e-3, b: Param = 0.1,
                 **kw: Param | str | None):
        if kw.get("tau_syn_inh") is not None:
            raise ValueError("AdaptiveLIF has no second synaptic current: tau_syn_inh must be "
                             "None (w is the adaptation current)")
        self.tau_w, self.b = tau_w, b
        super().__init__(n, **kw)

    def _second(self) -> tuple:
        return "tau_w", self.tau_w, -1.0

    def _model_coefficients(self, dt, batch, rng):
        cols = super()._model_coefficients(dt, batch, rng)
        cols[K.G] = self._param("b", self.b, batch, rng)
        return cols
