"""The CUDA backend, host side: ``Network(..., backend="cuda")``.

:class:`CudaChunkRunner` replaces the CPU's chunk runner (:class:`spikesim.network._ChunkRunner`,
whose monitor bookkeeping and spike dispatch it inherits) by launches of the kernels of
:mod:`spikesim.kernels.cuda`:

* the read-only tables (parameters, populations, projections and a by-target copy of the
  synapses) are copied to the device once per build (:class:`DeviceNetwork`, cached per
  network);
* the state (``v, i, w, refc, ou, nxt, ring``) is copied to the device when a run starts,
  stays there across chunks, and is copied back into ``net.state`` when the run ends
  (:meth:`CudaChunkRunner.close`), so checkpoints and ``net.state`` work as with the CPU
  backend. While a run is in progress ``net.state`` is stale until ``net.sync_state()``
  (which ``save_checkpoint`` calls) copies the device state back;
* per chunk, the chunk's input buffers go to the device, and the recorded spikes and state
  samples come back once (more often only when the spike buffer could overflow), the spikes
  sorted into the CPU's order before the monitors receive them.

Results: the same seed gives the same random streams as on the CPU (counter-based RNG), and the
kernels add synaptic weights in the CPU's order, asking NVVM for the CPU's rounding (no FMA
contraction). On the CUDA simulator a float64 network gives the same spikes and traces on both
backends, bit for bit (``tests/test_cuda.py``; float32 values differ in the last bits there). On a
real GPU, values may differ in the last bits: on an H200 (numba-cuda 0.30.4) every test case gave
identical spikes and float64 values within 4.4e-16 (see :mod:`spikesim.kernels.cuda`), so a
threshold crossing decided by the last bit can, rarely, differ. The rare random draws that go
through ``math.log``/``math.exp`` (ziggurat tails and wedges) may differ in the last bit too
(libdevice against the CPU's libm, see :mod:`spikesim.kernels.rng`).

Subnormal values: the CPU kernels flush them to zero (see :mod:`spikesim.kernels.fpu`); the CUDA
kernels keep them (a GPU has no flush-to-zero for float64). So a variable that decays below
float64's smallest normal number (2.2e-308; a neuron silent for thousands of time constants)
is 0 on the CPU and a tiny number here. Spikes are affected only where such a number decides a
threshold: a threshold at 0 (or within the subnormal range) that a decaying v approaches from
above, e.g. ``Leaky(1, beta=0.5, v_th=0.0, reset="none", v_init=1.0)``, which fires at steps
0 … 1021 on the CPU and 0 … 1073 here (float64; float32's subnormals, below 1.2e-38, are
reached after a few hundred steps of decay).

NaN and infinity: ``Network.run`` checks the state every FINITE_CHECK_STEPS steps; here the
values are counted on the device (:func:`~spikesim.kernels.cuda.count_nonfinite`) and only
come back when some are not finite (:meth:`CudaChunkRunner.host_state`).
"""

from __future__ import annotations

import weakref

import numpy as np

from .kernels import cpu as KC
from .kernels.csr import by_target
from .layout import check_memory
from .network import _ChunkRunner

MESSAGE = ("backend='cuda' needs an NVIDIA GPU with a CUDA driver, or NUMBA_ENABLE_CUDASIM=1 "
           "to run the CUDA kernels on the CPU simulator; install with pip install "
           "spikesim[cuda]")
REC_CAP = 1 << 24
"""Records (spikes, 16 bytes each: 256 MiB) the device buffer holds at most, unless two steps
may record more (then room for two steps' worth)."""
MARK_MIN_SYNAPSES = 1 << 20
"""With at least this many synapses, targets that receive a spike are marked first and only
they gather (one more launch per step); below it, every target scans its incoming synapses."""


def require_cuda() -> None:
    """Raise RuntimeError (:data:`MESSAGE`) unless numba.cuda can run kernels: an NVIDIA GPU
    with a driver, or the simulator (``NUMBA_ENABLE_CUDASIM=1``)."""
    try:
        from numba import cuda
    except ImportError as e:  # numba-cuda without its CUDA bindings, or no CUDA target
        raise RuntimeError(f"{MESSAGE} ({e})") from e
    if not cuda.is_available():
        raise RuntimeError(MESSAGE)


def _pad(a: np.ndarray) -> np.ndarray:
    """``a`` as a C-contiguous array with every zero-length axis grown to 1 (zeros): device
    arrays of size 0 are avoided; kernels never read the padding."""
    if a.size:
        return np.ascontiguousarray(a)
    return np.zeros(tuple(max(n, 1) for n in a.shape), a.dtype)


def _to_device(a: np.ndarray):
    from numba import cuda

    return cuda.to_device(_pad(a))


def free_device_bytes() -> float:
    """The free memory of the current CUDA device, bytes (inf on the CUDA simulator)."""
    from numba import cuda

    return float(cuda.current_context().get_memory_info().free)


class DeviceNetwork:
    """A built network's read-only tables on the device, and device buffers for its state and
    recorded spikes. They are kept, for the network's next runs, as long as the network lives
    (:func:`device_network`): drop the network to free the device memory.

    Beyond the CPU tables (``pops, par, cinf``; ``cin`` and ``src``, whose strides
    change per chunk, are re-sent each chunk):

    * ``group_of`` (U,) int32: the group of every unit (populations, then sources);
    * CSR rows, for marking: ``row_unit`` (R,) int32 presynaptic unit of each row of the
      concatenated ``rowptr`` (−1 for the rows ending a projection), ``row_post`` (R,) int32
      first neuron of the row's target population, ``rowptr``, ``col``;
    * CSC (by target), for the gather: target j's synapses are ``cptr[j] … cptr[j+1]−1``
      (``cptr`` (N+1,) int64), in the CPU's order of addition (synapses of given arrays
      read as masks, then ascending CSR index), with ``cpre`` (int32, presynaptic unit),
      ``cwt`` (weight, dtype) and ``ccode`` (int32, delay << DELAY_SHIFT | target variable).
    """

    def __init__(self, net):
        from .kernels import cuda as KG

        tb = net.tables
        self.tables = tb  # tables are built once per network: identity tells a rebuild
        self.n_neu = int(tb.pops[:, KC.P_N].sum())
        self.n_units = int(tb.groups[:, 1].sum())
        self.group_of = np.repeat(np.arange(tb.groups.shape[0]),
                                  tb.groups[:, 1]).astype(np.int32)
        n_rows = max(tb.rowptr.shape[0] - 1, 0)
        nnz = tb.col.shape[0]
        row_unit = np.full(n_rows, -1, np.int32)
        row_post = np.zeros(n_rows, np.int32)
        syn_pre = np.zeros(nnz, np.int64)
        syn_post = np.zeros(nnz, np.int64)
        syn_code = np.zeros(nnz, np.int64)
        syn_late = np.ones(nnz, bool)  # False: the CPU adds it first (a given array's mask)
        for g, q, r0, delay, var, at in tb.prj[:, [KC.J_PRE, KC.J_POST, KC.J_ROW, KC.J_DELAY,
                                                    KC.J_VAR, KC.J_MASK]]:
            first, n_pre = tb.groups[g]
            off = tb.pops[q, KC.P_OFF]
            row_unit[r0:r0 + n_pre] = first + np.arange(n_pre)
            row_post[r0:r0 + n_pre] = off
            e0, e1 = tb.rowptr[r0], tb.rowptr[r0 + n_pre]
            out_degree = np.diff(tb.rowptr[r0:r0 + n_pre + 1])
            syn_pre[e0:e1] = np.repeat(first + np.arange(n_pre), out_degree)
            syn_post[e0:e1] = off + tb.col[e0:e1]
            d = tb.dly[e0:e1].astype(np.int64) if delay == 0 else delay
            syn_code[e0:e1] = (d << KG.DELAY_SHIFT) | var
            syn_late[e0:e1] = at < 0
        # by target; then the masks, which the CPU adds first; then ascending CSR index
        cpre, ccode = np.empty(nnz, np.int32), np.empty(nnz, np.int32)
        cwt = np.empty(nnz, tb.wt.dtype)
        cptr = by_target(self.n_neu, syn_post, syn_late, syn_pre, syn_code, tb.weights(), cpre,
                         ccode, cwt)
        self.n_rows, self.nnz = n_rows, nnz
        check_memory("putting this network on the GPU", [
            ("its synapses", sum(a.nbytes for a in (tb.rowptr, tb.col, row_unit, row_post, cptr,
                                                    cpre, cwt, ccode))),
            ("its state and delay ring", sum(a.nbytes for a in net.state.values())),
            ("its parameter tables", sum(a.nbytes for a in (tb.pops, tb.par, tb.cin, tb.cinf,
                                                           tb.src, self.group_of)))],
            available=free_device_bytes())
        self.pops, self.par = _to_device(tb.pops), _to_device(tb.par)
        self.cin, self.cinf, self.src = _to_device(tb.cin), _to_device(tb.cinf), _to_device(tb.src)
        self.d_group_of = _to_device(self.group_of)
        self.row_unit, self.row_post = _to_device(row_unit), _to_device(row_post)
        self.rowptr, self.col = _to_device(tb.rowptr), _to_device(tb.col)
        self.cptr = _to_device(cptr)
        self.cpre, self.cwt, self.ccode = _to_device(cpre), _to_device(cwt), _to_device(ccode)
        self.state = {name: _to_device(arr) for name, arr in net.state.items()}
        self._records: tuple = ()

    def record_buffers(self, cap: int) -> tuple:
        """Device buffers for ``cap`` spike records — step (int64), realization and unit
        (int32), 16 bytes each — kept for the next run (not allocated again per run)."""
        from numba import cuda

        if not self._records or self._records[0].shape[0] != cap:
            self._records = (cuda.device_array(cap, np.int64), cuda.device_array(cap, np.int32),
                             cuda.device_array(cap, np.int32))
        return self._records

    def record_bytes(self, cap: int) -> int:
        """Device bytes that :meth:`record_buffers` (``cap``) would allocate (0: kept)."""
        return 0 if self._records and self._records[0].shape[0] == cap else 16 * cap

    def upload_tables(self) -> None:
        """Send the per-chunk strides of the current and source tables (``cin``, ``src``)."""
        for name in ("cin", "src"):
            arr = getattr(self.tables, name)
            if arr.size:
                getattr(self, name).copy_to_device(np.ascontiguousarray(arr))

    def upload_state(self, state: dict) -> None:
        """Copy host state arrays (``net.state``) to the device."""
        for name, arr in state.items():
            if arr.size:
                self.state[name].copy_to_device(np.ascontiguousarray(arr))

    def download_state(self, state: dict) -> None:
        """Copy the device state into the host arrays of ``state``, in place."""
        for name, arr in state.items():
            if arr.size:
                arr[...] = self.state[name].copy_to_host()


_DEVICE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # Network -> DeviceNetwork


def device_network(net) -> DeviceNetwork:
    """The network's :class:`DeviceNetwork`, uploaded at its first run after a build."""
    dev = _DEVICE.get(net)
    if dev is None or dev.tables is not net.tables:
        dev = _DEVICE[net] = DeviceNetwork(net)
    return dev


class CudaChunkRunner(_ChunkRunner):
    """The chunk runner of ``backend="cuda"``: same interface and monitor dispatch as the CPU's
    (``run(k0, n_steps)``, ``close()``), kernels from :mod:`spikesim.kernels.cuda`.

    Created at the start of every ``Network.run``: it sends ``net.state`` to the device; the
    state stays there across chunks and returns to ``net.state`` at ``close()``.

    Networks without projections run each chunk in one launch (every thread steps its unit
    through the whole chunk, state in registers); coupled networks launch per step: units,
    optionally the marking of targets, then gather/delivery/sampling. Spikes are recorded into
    a device buffer of ``cap`` records; the host knows an upper bound of its fill (the most
    spikes a step may record times the steps launched) and reads the true count, and if needed
    hands the records to the monitors, before a launch could overflow it.
    """

    draws_per_chunk = False  # sources fire step by step on the device

    def __init__(self, net):
        require_cuda()
        from numba import cuda

        super().__init__(net, kernel=None)
        # the CPU kernel's buffers are not needed (self.rec is refilled by _flush); given
        # arrays go through event lists here, masks or not
        self.spk = self.scratch = self.blk_cnt = self.spk_ptr = self.rec = None
        self.unlisted = frozenset()
        tb = net.tables
        self.dev = dev = device_network(net)
        # a run started during another (from its progress callback or a monitor) shares the
        # device state with it: bring that run's state back first, so that this one starts
        # where it stands, not from the net.state of that run's start
        net.sync_state()
        dev.upload_state(net.state)
        b = net.batch
        self.coupled = tb.prj.shape[0] > 0
        self.marked = self.coupled and dev.nnz >= MARK_MIN_SYNAPSES
        room = self.rec_room
        self.cap = max(2 * room, min(room * net.chunk, REC_CAP)) if room else 1
        # the run's own device buffers, checked as the network's were (DeviceNetwork): the
        # spike records alone take 2 × 16 bytes per recorded unit and realization when more
        # than REC_CAP / 2 are recorded
        check_memory("running this network on the GPU", [
            ("its spike record buffer", dev.record_bytes(self.cap)),
            ("its spike flags", b * (max(dev.n_units, 1) + max(dev.n_neu, 1)))],
            available=free_device_bytes())
        self.d_rec = dev.record_buffers(self.cap)
        self.d_rec_n = cuda.to_device(np.zeros(1, np.int64))
        self.d_nonfinite = cuda.to_device(np.zeros(1, np.int64))  # see host_state
        self.n_bound = 0  # upper bound of the records in the device buffer
        self.d_spk = cuda.to_device(np.zeros((b, max(dev.n_units, 1)), np.uint8))
        self.d_recv = cuda.to_device(np.zeros((b, max(dev.n_neu, 1)), np.uint8))
        self.d_rec_flag = _to_device(self.rec_flag)
        # probes: monitor of each, and the probes of each neuron (by ascending probe index)
        n_col = self.mons[:, KC.M_NCOL]
        probe_mon = np.repeat(np.arange(self.mons.shape[0]), n_col)
        by_neuron = np.argsort(self.probes[:, 1], kind="stable")
        probe_ptr = np.zeros(dev.n_neu + 1, np.int64)
        probe_ptr[1:] = np.cumsum(np.bincount(self.probes[:, 1], minlength=dev.n_neu))
        self.d_probes, self.d_probe_mon = _to_device(self.probes), _to_device(probe_mon)
        self.d_probe_ptr, self.d_probe_idx = _to_device(probe_ptr), _to_device(by_neuron)
        self.d_mons = _to_device(self.mons)
        self.every = [m.every for m in self.state_monitors]

    def compile(self) -> None:
        """Nothing: the CUDA kernels compile at their first launch."""

    def _advance(self, k0: int, n_steps: int, inputs: tuple, traces: np.ndarray) -> None:
        """Run the chunk on the device (see the class docstring); samples into ``traces``."""
        from numba import cuda

        from .kernels import cuda as KG

        net, dev, st = self.net, self.dev, self.dev.state
        cbuf, pbuf, ev_ptr, ev_unit = (_to_device(a) for a in inputs)
        dev.upload_tables()
        if self.mons.size:
            self.d_mons.copy_to_device(self.mons)
        d_traces = cuda.device_array(traces.shape, traces.dtype)  # the kernels fill it
        n_pop = dev.tables.pops.shape[0]
        sampling = bool(self.state_monitors)

        def units(t0, t1, coupled):
            KG.launch(KG.step_units, net.batch * dev.n_units, k0, t0, t1, coupled,
                      sampling and not coupled, dev.n_neu, n_pop, dev.pops, dev.par, st["v"],
                      st["i"], st["w"], st["refc"], dev.cin, dev.cinf, cbuf, st["ou"], dev.src,
                      pbuf, st["nxt"], ev_ptr, ev_unit, dev.d_group_of, self.d_rec_flag,
                      self.d_spk, self.d_rec_n, *self.d_rec, self.d_probe_ptr,
                      self.d_probe_idx, self.d_probes, self.d_probe_mon, self.d_mons, d_traces,
                      self.key, dev.tables.n_streams)
            self.n_bound += (t1 - t0) * self.rec_room

        try:
            if dev.n_units == 0:
                pass
            elif not self.coupled:  # independent units: as many steps per launch as fit
                t = 0
                while t < n_steps:
                    n = self._fit(n_steps - t)
                    units(t, t + n, False)
                    t += n
                    self.reached = k0 + t
            else:
                for t in range(n_steps):
                    k = k0 + t
                    self._fit(1)
                    units(t, t + 1, True)
                    if self.marked:
                        KG.launch(KG.mark_targets, net.batch * dev.n_rows, dev.row_unit,
                                  dev.row_post, dev.rowptr, dev.col, self.d_spk, self.d_recv)
                    due = any((k + 1) % every == 0 for every in self.every)
                    KG.launch(KG.gather_deliver, net.batch * dev.n_neu, k, self.marked, due,
                              dev.pops, dev.d_group_of, st["v"], st["i"], st["w"], st["refc"],
                              st["ring"], self.d_spk, self.d_recv, dev.cptr, dev.cpre, dev.cwt,
                              dev.ccode, self.d_probe_ptr, self.d_probe_idx, self.d_probes,
                              self.d_probe_mon, self.d_mons, d_traces)
                    self.reached = k + 1
        finally:  # the samples up to the step reached, even when a hand-over fails
            if sampling:
                d_traces.copy_to_host(traces)
        self._flush()

    def _count(self) -> int:
        """Records in the device buffer (waits for the launches queued so far)."""
        n = int(self.d_rec_n.copy_to_host()[0])
        if n > self.cap:
            raise RuntimeError(f"CUDA spike buffer overflow ({n} > {self.cap} records): "
                               f"this is a bug in spikesim.cuda")
        return n

    def _fit(self, want: int) -> int:
        """Steps (1 … want) that can be launched without overflowing the record buffer: reads
        the true fill, and hands the records to the monitors, when the bound leaves too
        little room."""
        if self.rec_room == 0:
            return want
        free = (self.cap - self.n_bound) // self.rec_room
        if free < want:
            self.n_bound = self._count()
            free = (self.cap - self.n_bound) // self.rec_room
            if free < want:
                self._flush()
                free = self.cap // self.rec_room
        return min(want, free)

    def _flush(self) -> None:
        """Hand the buffered records to the monitors in the CPU's order (by step, group,
        realization, unit) and empty the buffer."""
        n = self._count() if self.rec_room else 0
        if n:
            k, b, u = (a[:n].copy_to_host() for a in self.d_rec)
            order = np.lexsort((u, b, self.dev.group_of[u], k))
            self.rec = (k[order], b[order], u[order])
            self.d_rec_n.copy_to_device(np.zeros(1, np.int64))
        else:
            self.rec = (np.zeros(0, np.int64), np.zeros(0, np.int32), np.zeros(0, np.int32))
        self.n_bound = 0
        self._dispatch_spikes(n)

    def sync_to_host(self) -> None:
        """Copy the device state into ``net.state`` (in place), e.g. to checkpoint mid-run."""
        self.dev.download_state(self.net.state)

    def close(self) -> None:
        """End of a run: the device state goes back to ``net.state``."""
        self.sync_to_host()

    def host_state(self) -> dict[str, np.ndarray] | None:
        """The state for ``Network._check_finite``: None while every value of ``v, i, w`` on
        the device is finite (counted there: one number comes back), else the state copied
        back into ``net.state`` for the check to name what overflowed."""
        from .kernels import cuda as KG

        self.d_nonfinite.copy_to_device(np.zeros(1, np.int64))
        for name in ("v", "i", "w"):
            arr = self.dev.state[name]
            KG.launch(KG.count_nonfinite, arr.shape[0] * arr.shape[1], arr, self.d_nonfinite)
        if self.d_nonfinite.copy_to_host()[0] == 0:
            return None
        self.sync_to_host()
        return self.net.state
