"""Projections: which presynaptic units reach which neurons, with what weight and delay.

A weight is added to the target population's input variable (``Population.channel``: i for the
LIF family, in A; v for the RC neuron, in V; for the dimensionless Leaky and Synaptic
neurons, v or i, unit 1) when a spike arrives; negative weights
inhibit. A delay (s) is rounded to whole steps, at least one (a plain number that is not a whole
number of steps warns, and so does a delay over 0.1 s): a spike stamped t_k arrives at
t_k + delay, at the end of a step. Brian2 applies ``on_pre`` after the update of the step at
t_k + delay, so its target acts on it one step later: Brian2's delay D (its default 0
included) is spikesim's D + dt.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse

from . import checks
from .distributions import Distribution
from .inputs import SpikeSource
from .kernels.csr import fill_csr
from .models import Param, Population

if TYPE_CHECKING:
    from numpy.typing import DTypeLike

RULES = ("one_to_one", "all_to_all", "random", "fixed_indegree", "explicit")
USED_BY = {"p": ("random",), "k": ("fixed_indegree",), "pre_ids": ("explicit",),
           "post_ids": ("explicit",), "matrix": ("explicit",)}  # the rules that read each
MAX_DELAY_STEPS = int(np.iinfo(np.int16).max)  # delays are stored as int16 steps
LIMITS = {"weight": {}, "delay": {"low": 0.0, "unit": "s"}}  # accepted values, as given


class Projection(checks.FixedOnceBuilt):
    """Connections from ``pre`` (a population or spike source) to ``post`` (a population).

    Args:
        pre: the presynaptic population or spike source (n_pre units).
        post: the target population (n_post neurons).
        rule: "one_to_one"; "all_to_all" (``weight`` may be a dense (n_pre, n_post) matrix:
            rows are presynaptic, the transpose of NEST's (n_post, n_pre) weight matrices);
            "random" (each pair with probability ``p``); "fixed_indegree" (each target gets
            ``k`` presynaptic units drawn uniformly, with replacement, as NEST's default);
            "explicit" (``pre_ids``/``post_ids``, or ``matrix``). When ``pre`` is ``post``,
            "all_to_all", "random" and "fixed_indegree" include autapses (j → j), as NEST's
            and Brian2's defaults do.
        weight: scalar, array over synapses, or Distribution drawn per synapse (unit of the
            target's input: A, V or 1, see the module docstring); default 1. An array over
            synapses (weights or delays) is in the order the rule makes them: one_to_one and
            all_to_all by presynaptic unit, then target (a matrix's ravel); fixed_indegree by
            target, then draw; explicit in the order of the ids (a matrix: COO order, once
            its zeros are dropped); random: unknown before the draw, so use a scalar or a
            Distribution. The draws depend on the seed and the projection's position in the
            network: adding a projection before it changes its synapses.
        delay: seconds — scalar, array over synapses or Distribution; default one step
            (into any receptor).
        p: connection probability in [0, 1] of each pair (rule "random").
        k: in-degree, an integer >= 1 (rule "fixed_indegree").
        pre_ids, post_ids: 1-D integer arrays of the same length, the presynaptic unit and
            target neuron of each synapse (rule "explicit").
        matrix: a scipy.sparse or dense (n_pre, n_post) weight matrix, zeros meaning no
            synapse; its values are the weights (rule "explicit", instead of the ids).
        receptor: the target variable (one of ``post.inputs``; default ``post.channel``).
        name: the projection's name (default None).
    """

    _delay_meant = False  # (set by spikesim.nir: its delays are lags, never milliseconds)

    def __init__(self, pre: Population | SpikeSource, post: Population,
                 rule: str = "all_to_all", *, weight: Param = 1.0, delay: Param | None = None,
                 p: float | None = None, k: int | None = None,
                 pre_ids: np.ndarray | Sequence[int] | None = None,
                 post_ids: np.ndarray | Sequence[int] | None = None,
                 matrix: scipy.sparse.spmatrix | scipy.sparse.sparray | np.ndarray | None = None,
                 receptor: str | None = None, name: str | None = None):
        if name is not None and not isinstance(name, str):
            raise TypeError(f"name must be a str or None, got {name!r}")
        if not isinstance(pre, (Population, SpikeSource)):
            raise TypeError(f"pre must be a population or a spike source, got "
                            f"{type(pre).__name__}")
        if not isinstance(post, Population):
            raise TypeError(f"post must be a population, got {type(post).__name__}")
        self.pre, self.post, self.name = pre, post, name
        self.rule, self.weight, self.delay, self.p, self.k = rule, weight, delay, p, k
        self.pre_ids, self.post_ids, self.matrix = pre_ids, post_ids, matrix
        self.receptor = post.channel if receptor is None else receptor
        self._check_rule()
        if matrix is not None:
            self.matrix = _weight_matrix(matrix)
        if self.rule == "explicit":
            self._explicit(np.int64)  # (sizes, ranges and shapes: checked now)
        for what, value in (("weight", weight), ("delay", delay)):
            self._check_per_synapse(what, value)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                checks.number(what, value, **LIMITS[what])
            elif value is not None and not isinstance(value, Distribution):  # (drawn at build)
                checks.finite_array(what, value, ndim=(0, 1, 2), **LIMITS[what])

    def _check_rule(self) -> None:
        """The rule and the arguments it reads (p, k, the ids or matrix, the receptor)
        checked; p and k stored as float and int."""
        pre, post, rule = self.pre, self.post, checks.choice("rule", self.rule, RULES)
        self.p = None if self.p is None else checks.number("p", self.p, low=0.0, high=1.0)
        self.k = None if self.k is None else checks.count("k", self.k)
        checks.choice("receptor", self.receptor, post.inputs)
        if rule == "one_to_one" and pre.n != post.n:
            raise ValueError(f"rule 'one_to_one' needs pre and post of equal size, got "
                             f"{pre.n} and {post.n}")
        if rule == "random" and self.p is None:
            raise ValueError("rule 'random' needs p, the connection probability in [0, 1]")
        if rule == "fixed_indegree" and self.k is None:
            raise ValueError("rule 'fixed_indegree' needs k, the in-degree (an integer >= 1)")
        if rule == "explicit" and (self.matrix is None) == (self.pre_ids is None
                                                            or self.post_ids is None):
            raise ValueError("rule 'explicit' needs either matrix or both pre_ids and post_ids")
        given = {"p": self.p, "k": self.k, "pre_ids": self.pre_ids, "post_ids": self.post_ids,
                 "matrix": self.matrix}
        unused = [a for a, v in given.items() if v is not None and rule not in USED_BY[a]]
        if unused:
            raise ValueError(f"rule {rule!r} takes no {' or '.join(unused)} (used by rule "
                             f"{' or '.join(map(repr, USED_BY[unused[0]]))})")

    def recheck(self) -> None:
        """The constructor's checks of the rule and its arguments again, for what was assigned
        since (``Network.build`` calls this; weights, delays and ids are checked as the
        synapses are made)."""
        if not isinstance(self.pre, (Population, SpikeSource)) or not isinstance(
                self.post, Population):
            raise TypeError(f"pre must be a population or a spike source and post a "
                            f"population, got {type(self.pre).__name__} and "
                            f"{type(self.post).__name__}")
        self._check_rule()

    def _label(self) -> str:
        """The projection as a user knows it, for messages: its name if it has one, pre -> post
        (rule, and the receptor unless it is the target's main input)."""
        def named(o) -> str:
            return repr(o.name) if o.name else f"a {type(o).__name__} of {o.n}"
        into = f", into {self.receptor!r}" if self.receptor != self.post.channel else ""
        core = f"{named(self.pre)} -> {named(self.post)} ({self.rule!r}{into})"
        return f"projection {self.name!r}: {core}" if self.name else f"projection {core}"

    def _check_per_synapse(self, name: str, value) -> None:
        """Raise now, before the projection joins a network, when ``value`` is an array whose
        shape cannot be one value per synapse of this rule (a dense matrix for all_to_all), or
        a weight given beside an explicit ``matrix``, whose values are the weights."""
        if name == "weight" and self.matrix is not None and not (
                isinstance(value, (int, float)) and value == 1.0):
            raise ValueError(f"weight of the {self._label()}: the matrix's values are the "
                             f"weights; give no weight, got {_shown(value)}")
        if value is None or isinstance(value, (int, float, Distribution)):
            return
        shape = np.shape(value)
        if len(shape) == 0:
            return
        n_pre, n_post = self.pre.n, self.post.n
        known = self.p in (0.0, 1.0)  # a random rule's count is drawn, but for these two
        count = {"one_to_one": n_pre, "all_to_all": n_pre * n_post,
                 "random": int(self.p * n_pre * n_post) if known else None,
                 "fixed_indegree": None if self.k is None else n_post * self.k,
                 "explicit": None if self.pre_ids is None else np.size(self.pre_ids)}
        matrix = self.rule == "all_to_all" and name == "weight"
        n = count.get(self.rule)
        if len(shape) == 1 and n is not None and shape[0] == n:
            return
        if len(shape) == 1 and self.rule == "explicit" and n is None:
            return  # a delay per nonzero of the matrix: checked when it is built
        if matrix and shape == (n_pre, n_post):
            return
        accepted = ["a scalar", "a Distribution"]
        if n is not None:
            accepted.append(f"one value per synapse ({n})")
        if matrix:
            accepted.append(f"an (n_pre, n_post) = ({n_pre}, {n_post}) matrix")
        why = (" (rule 'random' draws how many synapses there are)"
               if self.rule == "random" else "")
        raise ValueError(f"{name} of the {self._label()} must be {', '.join(accepted[:-1])} or "
                         f"{accepted[-1]}{why}, got shape {shape}")

    def pairs(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """(pre, post, weights from the rule or None) as integer / float64 arrays."""
        n_pre, n_post = self.pre.n, self.post.n
        it = _index_type(max(n_pre, n_post))  # int32: 8 bytes per synapse for the pair, not 16
        if self.rule == "one_to_one":
            ids = np.arange(n_pre, dtype=it)
            return ids, ids.copy(), None
        if self.rule == "all_to_all":
            pre = np.repeat(np.arange(n_pre, dtype=it), n_post)
            post = np.tile(np.arange(n_post, dtype=it), n_pre)
            w = np.asarray(self.weight) if not isinstance(self.weight, Distribution) else None
            if w is not None and w.ndim == 2:
                if w.shape != (n_pre, n_post):
                    raise ValueError(f"weight matrix must have shape (n_pre, n_post) = "
                                     f"({n_pre}, {n_post}), got {w.shape}")
                return pre, post, checks.finite_array("weight", w, ndim=(2,)).ravel()
            return pre, post, None
        if self.rule == "random":
            return (*_bernoulli_pairs(rng, n_pre, n_post, self.p, it), None)
        if self.rule == "fixed_indegree":
            pre = rng.integers(0, n_pre, size=n_post * self.k, dtype=np.int64).astype(it)
            return pre, np.repeat(np.arange(n_post, dtype=it), self.k), None
        return self._explicit(it)

    def _explicit(self, it) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Rule "explicit"'s (pre, post) as ``it`` and weights (the matrix's, else None),
        checked against the sizes of pre and post (also where the projection is made)."""
        n_pre, n_post = self.pre.n, self.post.n
        if self.matrix is not None:
            m = self.matrix
            if m.shape != (n_pre, n_post):
                raise ValueError(f"matrix must have shape (n_pre, n_post) = ({n_pre}, {n_post}), "
                                 f"got {m.shape}")
            keep = m.data != 0
            return (m.row[keep].astype(it), m.col[keep].astype(it),
                    m.data[keep].astype(np.float64))
        checks.not_masked("pre_ids", self.pre_ids)
        checks.not_masked("post_ids", self.post_ids)
        pre, post = (np.asarray(x) for x in (self.pre_ids, self.post_ids))
        pre, post = (x.astype(it) if x.shape == (0,) else x for x in (pre, post))  # ([]: float)
        for name, ids, n in (("pre_ids", pre, n_pre), ("post_ids", post, n_post)):
            if ids.ndim != 1 or not np.issubdtype(ids.dtype, np.integer):
                raise ValueError(f"{name} must be a 1-d integer array, got {ids.dtype} "
                                 f"{ids.shape}")
            checks.indices(name, ids, n)
        if pre.shape != post.shape:
            raise ValueError(f"pre_ids and post_ids must have equal length, got {pre.shape} and "
                             f"{post.shape}")
        return pre.astype(it), post.astype(it), None

    def synapses(self, dt: float, rng: np.random.Generator) -> tuple[
            np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(pre, post, weight (float64), delay in steps (int64)) of every synapse; weight and
        delay have length 1 when they are the same for every synapse."""
        pre, post, w = self.pairs(rng)
        n = pre.shape[0]
        if w is None:
            w = _per_synapse("weight", self.weight, n, rng, **LIMITS["weight"])
        if self.delay is None:
            return pre, post, w, np.array([1])  # one step
        return pre, post, w, self.delay_steps(
            _per_synapse("delay", self.delay, n, rng, **LIMITS["delay"]), dt)

    def delay_steps(self, seconds: np.ndarray, dt: float) -> np.ndarray:
        """The delays ``seconds`` (s, float64 array) in whole steps of ``dt`` (s; int64), from
        1 to MAX_DELAY_STEPS. Warns when the projection's ``delay`` is a plain number that is
        not a whole number of steps, and when one of ``seconds`` is longer than 0.1 s (a sign of
        milliseconds)."""
        try:
            d = checks.steps("delay", seconds, dt, minimum=1)
        except ValueError as e:  # (a delay of 0: Brian2's default)
            raise ValueError(
                f"{e} (the {self._label()}): a spike reaches its targets at the end of a step "
                f"at the earliest, to act from the next one, which one step of delay (the "
                f"default: leave delay out) gives; that is Brian2's delay 0, and Brian2's delay "
                f"D is spikesim's D + dt (see the module docstring)") from None
        what = f"delay ({self.pre.name} -> {self.post.name})"
        checks.warn_unless_whole_steps(what, self.delay, dt)
        if not self._delay_meant:
            checks.warn_if_long(what, seconds, 0.1, "a synaptic delay")
        if d.max(initial=1) > MAX_DELAY_STEPS:
            raise ValueError(f"delay of the {self._label()} must be at most {MAX_DELAY_STEPS} "
                             f"steps ({MAX_DELAY_STEPS * dt:g} s at dt = {dt!r} s), got "
                             f"{float(seconds.max())!r} s")
        return d

    def csr(self, dt: float, rng: np.random.Generator,
            dtype: DTypeLike = np.float64) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(rowptr (n_pre+1,) int64, post (n_syn,) int32, weight (n_syn,) ``dtype``, delay
        steps (n_syn,) int16), sorted by presynaptic unit."""
        pre, post, w, d = self.synapses(dt, rng)
        n = pre.shape[0]
        parts = np.empty((self.pre.n + 1, 2), np.int64)
        out = (np.empty(n, np.int32), np.full(n, w[0] if w.size == 1 else 0, dtype),
               np.empty(n, np.int16))
        fill_csr(pre, post, w, d, np.array([0, self.post.n]), 0, parts, *out)
        return (parts[:, 0].copy(), *out)

    def __repr__(self) -> str:
        d = {k: v for k, v in self.describe().items()
             if v is not None or k == "delay"}
        d.pop("rule")
        if d.get("delay") is None:
            d["delay"] = "1 step"
        if self.rule == "explicit":
            n = None if self.pre_ids is None else np.shape(self.pre_ids)[0]
            d.update({"synapses": n} if n is not None else {"matrix": self.matrix})
        body = ", ".join(f"{k}={v if k == 'delay' and isinstance(v, str) else checks.short(v)}"
                         for k, v in d.items())
        names = (f"{getattr(self.pre, 'name', None) or '?'} -> "
                 f"{getattr(self.post, 'name', None) or '?'}")
        label = f"{self.name!r}, " if self.name else ""
        return f"Projection({label}{names}, {self.rule!r}, {body})"

    def describe(self) -> dict:
        """The rule and its parameters as given (weight and delay: as given, not drawn), for
        the metadata of recordings."""
        return {"rule": self.rule, "p": self.p, "k": self.k, "weight": self.weight,
                "delay": self.delay, "receptor": self.receptor}


def _shown(value) -> str:
    """A weight for a message: a number as it is, an array by its shape."""
    shape = np.shape(value)
    return repr(value) if len(shape) == 0 else f"an array of shape {shape}"


def _weight_matrix(matrix) -> scipy.sparse.coo_matrix:
    """An explicit rule's ``matrix`` (scipy.sparse or array-like, 2-d) as a COO matrix of
    finite float64 weights (booleans read as 0 and 1)."""
    checks.not_masked("matrix", matrix)
    m = matrix if scipy.sparse.issparse(matrix) else np.asarray(matrix)
    if m.ndim != 2 or m.dtype.kind not in "biuf":
        raise TypeError(f"matrix must be a 2-d scipy.sparse matrix or array of real weights, "
                        f"got {type(matrix).__name__} of {m.dtype} with shape {m.shape}")
    m = scipy.sparse.coo_matrix(m, dtype=np.float64)
    checks.finite_array("matrix", m.data)
    return m


def _index_type(n: int):
    """The smallest of int32 and int64 that holds indices below n."""
    return np.int32 if n < 2**31 else np.int64


def _per_synapse(name, value, n, rng, **limits) -> np.ndarray:
    """``value`` (scalar, array over the n synapses or Distribution) as float64, checked:
    length 1 for a scalar, else (n,)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):  # the usual case
        return np.array([checks.number(name, value, **limits)])
    if isinstance(value, Distribution):
        arr = checks.drawn(f"a {name} per synapse", value, value.draw(rng, (n,)), (n,))
        checks.finite_array(name, arr, ndim=(1,), **limits)
    else:
        arr = checks.finite_array(name, value, ndim=(0, 1), **limits)
        if arr.ndim == 1 and arr.shape[0] != n:
            raise ValueError(f"{name} must be a scalar or one value per synapse ({n}), got "
                             f"shape {arr.shape}")
    return arr.reshape(-1)


DRAW_BLOCK = 1 << 22  # geometric gaps drawn at a time by _bernoulli_pairs


def _bernoulli_pairs(rng: np.random.Generator, n_pre: int, n_post: int, p: float,
                     it) -> tuple[np.ndarray, np.ndarray]:
    """(pre, post) as ``it`` of independent Bernoulli(p) successes among the n_pre·n_post
    pairs, in order of their position pre·n_post + post, drawn by summing geometric gaps:
    O(expected successes), not O(pairs). The gaps are drawn DRAW_BLOCK at a time (the
    generator advancing as in one draw), so that the positions (int64), their quotient and
    remainder never exist whole: the peak is the pairs' own bytes, not about five times as
    many."""
    total = n_pre * n_post
    if p == 0.0 or total == 0:
        return np.zeros(0, it), np.zeros(0, it)
    pre, post, c, last = np.zeros(0, it), np.zeros(0, it), 0, -1
    while last < total:
        m = total if p == 1.0 else int(total * p + 6 * np.sqrt(total * p) + 16)
        if c + m > pre.size:  # the first round; rarely, a second one
            pre = np.concatenate([pre[:c], np.empty(m, it)])
            post = np.concatenate([post[:c], np.empty(m, it)])
        for lo in range(0, m, DRAW_BLOCK):
            size = min(DRAW_BLOCK, m - lo)
            # a gap is at most total + 1: a tiny p draws gaps up to 2**63 - 1, whose sum would
            # wrap around to negative positions; so the positions up to the first one beyond
            # the pairs are exact (below 2·total + 2), and none after it is kept
            pos = (last + np.arange(1, size + 1) if p == 1.0
                   else last + np.cumsum(np.minimum(rng.geometric(p, size=size), total + 1)))
            beyond = pos >= total
            if beyond.any():
                pos, last = pos[:beyond.argmax()], total
            else:
                last = int(pos[-1])
            pre[c:c + pos.size], post[c:c + pos.size] = np.divmod(pos, n_post)
            c += pos.size
        if p == 1.0:
            break
    return pre[:c], post[:c]
