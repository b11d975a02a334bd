"""Reading recorder files back, and the HDF5 details shared with :mod:`spikesim.recorders`.

``load(path)`` opens a file written by the recorders (or any SONATA spike / report file) and
returns a :class:`RecordedRun`: spikes, traces and rates come back as the in-memory
:class:`~spikesim.results.Spikes` / :class:`~spikesim.results.Trace` containers, with times in
seconds. Data is read lazily, on each call, with h5py slicing: ``trace(ids=[3])`` reads the
chunks that hold neuron 3's columns (one per realization), not the whole report.

A file whose writer was killed (SIGKILL, power loss) keeps every chunk flushed before the kill,
but HDF5 leaves it flagged "open for writing": ``load`` still reads it (it falls back to
HDF5's single-writer/multiple-reader read mode), and :func:`recover` clears the flag and makes
the datasets consistent so that other tools (libsonata, h5dump) and appending runs open it
again. Only call :func:`recover` when no process is writing the file. A truncated file (a copy
cut short) is refused with an OSError that says so.

Times are read in the units of their dataset's ``units`` attribute: "ms" (SONATA's default,
and what spikesim writes) or "s"; other units are refused. Datasets are checked as they are
read (there, numeric, one node id per spike time, finite times, node ids >= 0; in spikesim's
own files the two spike datasets may differ by a killed writer's last write), and errors name
the file and the dataset.

File layout: see :mod:`spikesim.recorders`.
"""

from __future__ import annotations

import functools
import json
import math
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import h5py
import numpy as np

from . import checks
from .results import Spikes, Trace, check_realizations

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, DTypeLike

MS = 1e3  # SONATA times are in milliseconds; spikesim's in seconds
SPIKE_READ_BLOCK = 1 << 22  # spikes read at a time when only some are kept (ids, window)
ORDER_BLOCK = 1 << 20  # pairs of spikes compared at a time by the check of their order
CHECKPOINT_FORMAT = "spikesim-checkpoint"  # the ``format`` attribute of a checkpoint file
SORTING = h5py.enum_dtype({"none": 0, "by_id": 1, "by_time": 2}, basetype=np.uint8)
MAGIC = 0x0A7A
SONATA_VERSION = (0, 1)
# The layout version of spikesim's recordings: ``/spikesim`` attribute ``format_version``,
# raised with any change that an earlier reader would misread (a file of a later version is
# refused by name, not read wrongly). Files without it were written before it existed; their
# layouts (one population per realization, groups without start_step or stop_step, rates
# without recorded_ids) are told apart by their groups' attributes and read.
RECORDING_FORMAT_VERSION = 1
# HDF5 file-format bounds: at least 1.10 (needed for SWMR), at most 1.10 so that readers built
# on older HDF5 libraries (libsonata's 1.14, h5py 2.x, ...) read the files; "latest" with the
# HDF5 2.x bundled in recent h5py writes datatype messages that HDF5 1.14 cannot decode.
LIBVER = ("v110", "v110")


# --- small HDF5 helpers ---------------------------------------------------------------------
# The recorders create and write through h5py's low-level API: a file's fixed cost (creating
# groups, datasets and attributes) is several times lower than through the high-level one,
# which matters for short runs (see bench/bench_recording.py).
def create_file(path: str) -> h5py.File:
    """A new HDF5 file (truncating) with the format bounds :data:`LIBVER`."""
    fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
    fapl.set_libver_bounds(*(getattr(h5py.h5f, f"LIBVER_{v.upper()}") for v in LIBVER))
    return h5py.File(h5py.h5f.create(os.fsencode(path), h5py.h5f.ACC_TRUNC, fapl=fapl))


def new_group(parent: h5py.Group, name: str) -> h5py.Group:
    """A new group ``name`` (one level) under ``parent``."""
    return h5py.Group(h5py.h5g.create(parent.id, name.encode()))


def new_dataset(parent: h5py.Group, name: str, shape: tuple, dtype: DTypeLike,
                chunks: tuple | None = None, filters: dict | None = None,
                data: ArrayLike | None = None) -> h5py.Dataset:
    """A new dataset; with ``chunks`` it is extendable along the first axis, with ``filters``
    (h5py's compression / compression_opts / shuffle keywords) compressed; ``data`` is written."""
    dtype = np.dtype(dtype)
    shape = tuple(int(x) for x in shape)
    dcpl = None
    maxshape = shape
    if chunks is not None:
        maxshape = (h5py.h5s.UNLIMITED,) + shape[1:]
        dcpl = _dcpl(tuple(int(c) for c in chunks), tuple(sorted((filters or {}).items())))
    tid, mtid = _types(dtype)
    ds = h5py.Dataset(h5py.h5d.create(parent.id, name.encode(), tid, _space(shape, maxshape),
                                      dcpl=dcpl))
    if data is not None and np.size(data):
        ds.id.write(h5py.h5s.ALL, h5py.h5s.ALL, np.ascontiguousarray(data, dtype=dtype),
                    mtype=mtid)
    return ds


# Property lists, types and dataspaces are copied by HDF5 into each object made with them: they
# are made once here (making them costs about as much as making the object).
@functools.lru_cache(maxsize=64)
def _dcpl(chunks: tuple, filters: tuple) -> h5py.h5p.PropDCID:
    """A dataset creation property list: chunk shape and filters (sorted keyword items)."""
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_chunk(chunks)
    opts = dict(filters)
    if opts.get("shuffle"):
        dcpl.set_shuffle()
    if opts.get("compression") == "gzip":
        dcpl.set_deflate(int(opts.get("compression_opts", 4)))
    elif opts.get("compression") == "lzf":
        dcpl.set_filter(h5py.h5z.FILTER_LZF, h5py.h5z.FLAG_OPTIONAL)
    return dcpl


@functools.lru_cache(maxsize=256)
def _space(shape: tuple, maxshape: tuple | None = None) -> h5py.h5s.SpaceID:
    """A dataspace of ``shape`` (scalar for ()) extendable to ``maxshape``."""
    if not shape:
        return h5py.h5s.create(h5py.h5s.SCALAR)
    return h5py.h5s.create_simple(shape, maxshape or shape)


_TYPES: dict = {}


def _types(dtype: np.dtype) -> tuple:
    """(type in the file, type in memory) of ``dtype``: they differ for strings."""
    # (dtypes compare equal whatever their metadata, which tells strings and enums apart)
    key = dtype if dtype.metadata is None else (dtype.str, repr(dtype.metadata))
    if key not in _TYPES:
        _TYPES[key] = (h5py.h5t.py_create(dtype, logical=True), h5py.h5t.py_create(dtype))
    return _TYPES[key]


_STR = h5py.string_dtype()


def set_attrs(obj: h5py.HLObject, *, _new: bool = False, **values: object) -> None:
    """Write attributes through the low-level API. Strings are stored as variable-length
    UTF-8, dicts and lists as JSON strings; an existing attribute of the same name is replaced
    (``_new``: the object is new, skip that check)."""
    for name, value in values.items():
        if isinstance(value, (dict, list, tuple)) and not isinstance(value, np.ndarray):
            value = json.dumps(value, default=_json_default)
        if isinstance(value, str):
            arr = np.array(value, dtype=_STR)
        elif isinstance(value, bool):
            arr = np.array(value, dtype=np.bool_)
        else:
            arr = np.asarray(value)
        key = name.encode()
        if not _new and h5py.h5a.exists(obj.id, key):
            h5py.h5a.delete(obj.id, key)
        tid, mtid = _types(arr.dtype)
        h5py.h5a.create(obj.id, key, tid, _space(arr.shape)).write(np.ascontiguousarray(arr),
                                                                   mtype=mtid)


def modify_attrs(obj: h5py.HLObject, **values: ArrayLike) -> None:
    """Rewrite existing attributes in place (same type and shape) — no object is added, so
    this is allowed while the file is in SWMR mode."""
    for name, value in values.items():
        a = h5py.h5a.open(obj.id, name.encode())
        a.write(np.ascontiguousarray(np.asarray(value, dtype=a.dtype)))


def append(ds: h5py.Dataset, rows: np.ndarray) -> None:
    """Extend ``ds`` along its first axis by ``rows`` and write them, converted by HDF5 to the
    dataset's type (low-level calls: a fraction of the cost of h5py's ``resize`` and slice
    assignment, which matters per chunk and realization)."""
    rows = np.ascontiguousarray(rows)
    if rows.shape[0] == 0:
        return
    shape = ds.id.shape
    ds.id.set_extent((shape[0] + rows.shape[0],) + tuple(shape[1:]))
    try:
        space = ds.id.get_space()
        space.select_hyperslab((shape[0],) + (0,) * (len(shape) - 1), rows.shape)
        ds.id.write(h5py.h5s.create_simple(rows.shape), space, rows)
    except BaseException:  # no unwritten rows (read as data) left behind; a retry appends
        ds.id.set_extent(shape)  # where this write would have gone
        raise


def append_all(ds: h5py.Dataset, parts: Sequence[np.ndarray]) -> None:
    """:func:`append` of the rows of all ``parts`` in turn, each written where it goes: the
    dataset is extended once, and no joined copy of the parts is made."""
    total = sum(len(p) for p in parts)
    if total == 0:
        return
    shape = ds.id.shape
    ds.id.set_extent((shape[0] + total,) + tuple(shape[1:]))
    try:
        space, at = ds.id.get_space(), shape[0]
        for part in parts:
            part = np.ascontiguousarray(part)
            if len(part):
                space.select_hyperslab((at,) + (0,) * (len(shape) - 1), part.shape)
                ds.id.write(h5py.h5s.create_simple(part.shape), space, part)
                at += len(part)
    except BaseException:  # as append: no unwritten rows left behind
        ds.id.set_extent(shape)
        raise


def write_row(ds: h5py.Dataset, index: int, values: ArrayLike) -> None:
    """Overwrite element (1-d) or row (n-d) ``index`` of ``ds`` in place (converted by HDF5 to
    the dataset's type)."""
    shape = ds.id.shape
    count = (1,) + tuple(shape[1:])
    values = np.ascontiguousarray(np.asarray(values).reshape(count))
    space = ds.id.get_space()
    space.select_hyperslab((index,) + (0,) * (len(shape) - 1), count)
    ds.id.write(h5py.h5s.create_simple(count), space, values)


def attr(obj: h5py.HLObject, name: str, default: Any = None, as_json: bool = False) -> Any:
    """An attribute's value as a plain Python object (JSON decoded when asked); ``default``
    when there is none."""
    try:
        value = obj.attrs[name]  # (one lookup: a test first would cost a second)
    except KeyError:
        return default
    return _plain_value(value, as_json)


def _plain_value(value: Any, as_json: bool = False) -> Any:
    """An attribute's value as h5py reads it, as a plain Python object."""
    if isinstance(value, bytes):
        value = value.decode()
    if as_json:
        return json.loads(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return repr(obj)


def open_for_reading(path: str | os.PathLike) -> h5py.File:
    """Open read-only; a file still flagged as open for writing (a live or killed writer) is
    opened in SWMR read mode, which sees everything flushed so far. A truncated file, one that
    is not HDF5, or any other that HDF5 refuses raises an OSError naming it — never SWMR mode
    there, whose reads of missing metadata retry without end."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such file: {path}")
    for retry in range(_RETRIES + 1):
        if retry:
            time.sleep(0.02)
        try:
            return h5py.File(path, "r")
        except OSError as e:
            error = e
        problem = _damage(path)
        if "truncated" not in f"{error} {problem}":  # (else retried: 60 ms at most)
            break
    if problem is None and "already open for write" in str(error):
        try:
            return h5py.File(path, "r", swmr=True)
        except OSError as e:
            error = e
    raise OSError(problem or f"cannot open {path} as HDF5: {error}") from error


# A live writer records the file's new end in the superblock before it writes the data that
# reaches it: for an instant (up to ~0.2 MB short in tests) its file looks truncated.
_RETRIES = 3


def _damage(path: str) -> str | None:
    """What is wrong with the file, in words, as far as its size and its superblock's
    recorded end of file tell (superblock versions 2 and 3); None when neither shows a
    problem (or the file cannot be read at all: HDF5's error says why)."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as fh:
            offset = _superblock(fh)
            block = fh.read(4 + 4 * 8 + 4)  # version, sizes, flags; 4 addresses; checksum
    except OSError:
        return None
    if offset is None:
        return f"{path} is not an HDF5 file (" + (
            f"no HDF5 signature in its {size} bytes)" if size else "it is empty)")
    if block[:1] and block[0] < 2:
        return None  # older superblocks: HDF5's own checks
    n = block[1] if len(block) > 1 else 8  # bytes per address
    if len(block) < 8 + 4 * n:
        return (f"{path} is truncated: it holds {size} bytes, fewer than its HDF5 superblock "
                f"({offset + 8 + 8 + 4 * n} bytes)")
    end = int.from_bytes(block[4 + 2 * n:4 + 3 * n], "little")  # (as HDF5 compares them)
    if size < end:
        return (f"{path} is truncated: it holds {size} of the {end} bytes its HDF5 superblock "
                f"records (eof = {size}, stored_eof = {end}: an interrupted copy or download, "
                f"or a full disk?)")
    return None


try:  # the C module behind ``signal``: the same calls, without its conversions of handlers
    from _signal import getsignal as _get_handler  # to enums (5 µs a call, per chunk here)
    from _signal import signal as _set_handler
except ImportError:  # (not CPython)
    from signal import getsignal as _get_handler
    from signal import signal as _set_handler


@contextmanager
def no_interrupt() -> Iterator[Callable[[], None]]:
    """Hold back Ctrl-C (SIGINT) while a chunk's datasets are extended and written (so that an
    interrupt never leaves one dataset longer than its partner) or a chunk is simulated and
    booked: the KeyboardInterrupt is raised right after the block, or where the block calls
    the function this yields, at a point of its choosing (where SIGINT was ignored or left to
    the system's default, it is ignored or delivered as before). Only in the main thread
    (elsewhere signals go to the main thread), and only where Python set the SIGINT handler
    (one set by a C library could not be put back). SIGTERM is held back the same way where
    a Python function handles it (``spikesim run`` sets one that stops the run as Ctrl-C
    does); left to the system's default, it still ends the process at once."""
    if threading.current_thread() is not threading.main_thread() or _get_handler(
            signal.SIGINT) is None:  # (None: set outside Python, it could not be restored)
        yield _nothing
        return
    caught: list = []
    old: dict = {}
    try:
        old[signal.SIGINT] = _set_handler(signal.SIGINT, lambda *a: caught.append(a))
        if callable(_get_handler(signal.SIGTERM)):
            old[signal.SIGTERM] = _set_handler(signal.SIGTERM, lambda *a: caught.append(a))
    except (ValueError, TypeError):  # no signal support here
        for sig, handler in old.items():
            _set_handler(sig, handler)
        yield _nothing
        return

    def deliver() -> None:
        while caught:  # each signal held back, once (repeats of it are one), in turn: an
            args = caught.pop(0)  # ignored SIGINT must not swallow the SIGTERM after it
            caught[:] = [a for a in caught if a[0] != args[0]]
            _hand_over(old[args[0]], args)

    try:
        yield deliver
    finally:
        try:  # (nested: a Ctrl-C right after the first is put back still puts back the other)
            _set_handler(signal.SIGINT, old[signal.SIGINT])
        finally:
            if signal.SIGTERM in old:
                _set_handler(signal.SIGTERM, old[signal.SIGTERM])
        deliver()


def _nothing() -> None:
    pass


def _hand_over(handler, args: tuple) -> None:
    """Act on a held-back signal (SIGINT or SIGTERM, ``args[0]``) as ``handler``, the handler
    before it was held back, would have: call it (Python's default for SIGINT raises
    KeyboardInterrupt), ignore it, or (the system's default) deliver it again with that
    handler in place."""
    if not callable(handler) and handler == signal.SIG_IGN:
        return
    if callable(handler):
        handler(*args)
        return
    _set_handler(args[0], handler)
    signal.raise_signal(args[0])


# --- recovery after a crash -----------------------------------------------------------------
def _rot(x: int, k: int) -> int:
    return ((x << k) | (x >> (32 - k))) & 0xFFFFFFFF


def lookup3(data: bytes, initval: int = 0) -> int:
    """Bob Jenkins' lookup3 ``hashlittle``: the checksum of HDF5's metadata (superblock v2+)."""
    m = 0xFFFFFFFF
    n = len(data)
    a = b = c = (0xDEADBEEF + n + initval) & m
    i = 0
    while n - i > 12:
        a = (a + int.from_bytes(data[i:i + 4], "little")) & m
        b = (b + int.from_bytes(data[i + 4:i + 8], "little")) & m
        c = (c + int.from_bytes(data[i + 8:i + 12], "little")) & m
        a = (a - c) & m; a ^= _rot(c, 4); c = (c + b) & m  # noqa: E702
        b = (b - a) & m; b ^= _rot(a, 6); a = (a + c) & m  # noqa: E702
        c = (c - b) & m; c ^= _rot(b, 8); b = (b + a) & m  # noqa: E702
        a = (a - c) & m; a ^= _rot(c, 16); c = (c + b) & m  # noqa: E702
        b = (b - a) & m; b ^= _rot(a, 19); a = (a + c) & m  # noqa: E702
        c = (c - b) & m; c ^= _rot(b, 4); b = (b + a) & m  # noqa: E702
        i += 12
    if n - i == 0:
        return c
    tail = data[i:] + bytes(12 - (n - i))
    a = (a + int.from_bytes(tail[0:4], "little")) & m
    b = (b + int.from_bytes(tail[4:8], "little")) & m
    c = (c + int.from_bytes(tail[8:12], "little")) & m
    c ^= b; c = (c - _rot(b, 14)) & m  # noqa: E702
    a ^= c; a = (a - _rot(c, 11)) & m  # noqa: E702
    b ^= a; b = (b - _rot(a, 25)) & m  # noqa: E702
    c ^= b; c = (c - _rot(b, 16)) & m  # noqa: E702
    a ^= c; a = (a - _rot(c, 4)) & m  # noqa: E702
    b ^= a; b = (b - _rot(a, 14)) & m  # noqa: E702
    c ^= b; c = (c - _rot(b, 24)) & m  # noqa: E702
    return c


_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def _superblock(fh) -> int | None:
    """The offset (bytes) of the HDF5 superblock in the open file ``fh`` (at 0, 512, 1024,
    2048, ...), which is left just past the signature; None when there is none."""
    offset, size = 0, os.fstat(fh.fileno()).st_size
    while offset < size:
        fh.seek(offset)
        if fh.read(8) == _SIGNATURE:
            return offset
        offset = 512 if offset == 0 else 2 * offset
    return None


def hold_writer_lock(path: str | os.PathLike) -> int | None:
    """Mark ``path`` as written by this process for as long as the returned descriptor stays
    open (:func:`release_writer_lock`): a shared ``flock`` on the file, taken once HDF5 itself
    no longer locks it (in SWMR mode). HDF5 readers still open the file; another writer, an
    ``overwrite`` replacing it and :func:`recover` see it in use (:func:`writer_active`). The
    kernel drops the lock when the process ends, however it ends. None where the file system
    has no locks (some NFS and Lustre mounts): then nothing is marked."""
    try:
        import fcntl
    except ImportError:  # (Windows)
        return None
    try:
        fd = os.open(os.fspath(path), os.O_RDONLY)
    except OSError:
        return None
    for _ in range(100):  # (another process's writer_active probe holds it for an instant)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            time.sleep(0.001)
        except OSError:
            break
    os.close(fd)
    return None


def release_writer_lock(fd: int | None) -> None:
    """Close the descriptor of :func:`hold_writer_lock` (and so release its lock)."""
    if fd is not None:
        try:
            os.close(fd)
        except OSError:
            pass


def writer_active(path: str | os.PathLike) -> bool:
    """Whether another open of ``path`` locks it now: a running process writes it (it holds
    :func:`hold_writer_lock`, or HDF5's own lock of a file open for writing), or HDF5 reads it
    (a file open for reading holds a shared lock). False for a file left by a killed run, a
    missing file, or where the file system has no locks."""
    try:
        import errno
        import fcntl
    except ImportError:
        return False
    fd = None
    for mode in (os.O_RDWR, os.O_RDONLY):  # (NFS emulates flock with POSIX locks, whose
        try:  # exclusive lock needs a descriptor open for writing: EBADF on a read-only one)
            fd = os.open(os.fspath(path), mode)
            break
        except OSError:
            pass
    if fd is None:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        return e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES)
    finally:
        os.close(fd)  # (releases the probe's lock, if it got one)
    return False


@contextmanager
def flock_held(path: str | os.PathLike, flags: int = os.O_RDONLY) -> Iterator[bool]:
    """Hold an exclusive ``flock`` on ``path`` (opened with ``flags``; a new file is made
    0o644) during the block, which gets whether it holds it. Nothing is locked where ``path``
    cannot be opened or the file system refuses the lock (the block runs all the same, and
    its errors are not reported as raised while handling the failed open)."""
    try:
        import fcntl
        fd = os.open(path, flags, 0o644)
    except (ImportError, OSError):
        fd = None
    if fd is None:
        yield False
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            held = True
        except OSError:  # no locks here
            held = False
        yield held
    finally:
        os.close(fd)  # (releases the lock)


FOLDER_LOCK_FILE = ".spikesim.lock"  # folder_lock's lock file where a folder cannot be locked
# folder_lock among the threads of this process: the lock file's lock, where NFS emulates flock
# with POSIX locks, belongs to the process (a second thread's lock succeeds at once, and its
# close releases the first's)
_FOLDER_THREADS = threading.Lock()


@contextmanager
def folder_lock(path: str | os.PathLike) -> Iterator[None]:
    """Hold an exclusive ``flock`` on the folder of ``path`` during the block, so that what an
    output checks about ``path`` (:func:`writer_active`, whether it exists) still holds when it
    puts its file there: of two runs that replace the same path at the same moment, the second
    then sees the first's file in use (without it both saw none, and the first wrote on into a
    file no longer there). Where the folder itself cannot be locked (NFS emulates ``flock``
    with POSIX locks, whose exclusive lock needs a file open for writing), the lock is taken
    on the file :data:`FOLDER_LOCK_FILE` in it instead, made empty and left there; POSIX locks
    are the process's, so the threads of this process also take turns on a lock of their own.
    Nothing is locked where neither works (a folder without read permission, no locks at
    all)."""
    folder = os.path.dirname(os.path.abspath(os.fspath(path)))
    with _FOLDER_THREADS:
        with flock_held(folder) as held:
            if held:
                yield
                return
        with flock_held(os.path.join(folder, FOLDER_LOCK_FILE), os.O_RDWR | os.O_CREAT):
            yield


def clear_write_flags(path: str | os.PathLike) -> bool:
    """Clear the "open for writing" flags that a killed writer leaves in an HDF5 superblock
    (version 2 or 3; spikesim writes version 3, with the format bounds :data:`LIBVER` =
    ("v110", "v110")), as ``h5clear -s`` does, and raise its end-of-file address to the
    file's size where the writer was killed before recording space it had already written
    (``h5clear --increment``: HDF5 refuses to read a chunk past that address). Returns
    whether anything changed."""
    with open(path, "r+b") as fh:
        offset = _superblock(fh)
        if offset is None:
            raise OSError(f"{path} is not an HDF5 file (no superblock signature)")
        head = fh.read(4)
        version, size_offsets = head[0], head[1]
        if version < 2:
            return False  # older superblocks carry no such flags
        n = 12 + 4 * size_offsets  # signature .. root object header address
        fh.seek(offset)
        block = bytearray(fh.read(n + 4))
        if int.from_bytes(block[n:n + 4], "little") != lookup3(bytes(block[:n])):
            raise OSError(f"{path}: the superblock checksum does not match; not repairing")
        # base address, superblock extension address, end-of-file address (EOA), root
        base, _, eoa = (int.from_bytes(block[12 + k * size_offsets:12 + (k + 1) * size_offsets],
                                       "little") for k in range(3))
        size = os.fstat(fh.fileno()).st_size - base
        if block[11] == 0 and eoa >= size:
            return False
        block[11] = 0
        at = 12 + 2 * size_offsets
        block[at:at + size_offsets] = max(eoa, size).to_bytes(size_offsets, "little")
        block[n:n + 4] = lookup3(bytes(block[:n])).to_bytes(4, "little")
        fh.seek(offset)
        fh.write(block)
    return True


def recording_path(path: object) -> str:
    """``path`` (a str or os.PathLike) as a str, checked not to be a folder."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {path!r}")
    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(f"{path} is a folder, not an HDF5 recording")
    return path


def recover(path: str | os.PathLike) -> dict:
    """Make a file left by a killed run readable by every HDF5 tool and appendable again:
    clear the superblock's write flags and raise its end-of-file address to the file's size
    (:func:`clear_write_flags`), cut each spike population's ``timestamps`` and
    ``node_ids`` to their common length, shorten each report's ``time`` range to the rows
    present, and set ``/spikesim`` ``duration`` to the end of the last run's flushed data
    (and, when any of this was needed, ``recovered`` = True). Returns what was done
    (``flags_cleared``, ``fixed``). A file that another process has open (a run writing it, or
    a program reading it: :func:`writer_active`) is refused with OSError, and a recording of a
    later format version (:func:`format_version`) with ValueError, left unchanged (but for
    the superblock's flags: HDF5 opens the file only without them)."""
    path = recording_path(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such file: {path}")
    if writer_active(path):
        raise OSError(f"{path} is open in another process (a run writing it, or a program "
                      f"reading it): recover it only once that run has stopped (it is not "
                      f"changed)")
    done = {"flags_cleared": clear_write_flags(path), "fixed": []}
    with h5py.File(path, "r+", libver=LIBVER) as f:
        if "spikesim" in f:  # (before anything is cut the way this version reads the layout)
            format_version(f["spikesim"], "recover it")
        for name, g in f.get("spikes", {}).items():
            ts, ids = g["timestamps"], g["node_ids"]
            n = min(ts.shape[0], ids.shape[0])
            if ts.shape[0] != n or ids.shape[0] != n:
                ts.resize((n,))
                ids.resize((n,))
                done["fixed"].append(f"/spikes/{name}")
        for group in ("report", "rates"):
            for name, g in f.get(group, {}).items():
                data = g["data"] if "data" in g else g["counts"]
                tm = g["mapping/time"] if "mapping" in g else g["time"]
                start, stop, step = (float(x) for x in tm[:])
                rows = int(round((stop - start) / step)) if step > 0 else 0
                if group == "rates":
                    rows = int(np.ceil((stop - start) / step - 1e-9)) if step > 0 else 0
                if rows > data.shape[0]:
                    tm[1] = start + data.shape[0] * step
                    done["fixed"].append(f"/{group}/{name}")
        if "spikesim" in f:
            g = f["spikesim"]
            end = data_end(g)
            if end is not None and end != attr(g, "duration"):
                set_attrs(g, duration=end)
                done["fixed"].append("/spikesim duration")
            if done["flags_cleared"] or done["fixed"]:
                set_attrs(g, recovered=True)
    return done


# --- reading --------------------------------------------------------------------------------
class RecordedRun:
    """A recorder file, read lazily (see :func:`load`).

    Attributes:
        path: the file.
        dt: the time step (s), from ``meta``; None for a file not written by spikesim.
        meta: the run's metadata (``/spikesim`` attributes, JSON decoded): dt (s), seed, dtype,
            batch, duration (s: how far the data goes — the last run's end, or for a killed
            run its last flushed chunk), completed, wall_time (s, all runs: a killed one up
            to its last flush), network (populations,
            sources, currents, projections with their parameters), runs, writer, t_start
            (s), info (``versions`` of spikesim and its libraries, ``layout``, ``created``);
            empty for a file not written by spikesim.
        populations: names of the recorded populations (spikes, reports or rates).
        completed: whether the last run ended normally (False after an error, Ctrl-C or a kill;
            None for a file not written by spikesim: not known).
    """

    def __init__(self, path: str | os.PathLike):
        self.path = recording_path(path)
        with open_for_reading(self.path) as f:
            if attr(f, "format", None) == CHECKPOINT_FORMAT:
                raise ValueError(
                    f"{self.path} is a spikesim checkpoint (the state of a network at t = "
                    f"{float(attr(f, 't', float('nan'))):g} s), not a recording: continue it "
                    f"with spikesim.load_checkpoint(net, path) or spikesim run ... "
                    f"--checkpoint {os.path.basename(self.path)} --resume; the data it "
                    f"recorded is in that run's output file (-o)")
            self.meta = _read_meta(f)
            self._spikes = _index(f, "spikes")
            self._reports = _index(f, "report")
            self._rates = _index(f, "rates")
        self.dt = self.meta.get("dt")
        names = [e["population"] for idx in (self._spikes, self._reports, self._rates)
                 for e in idx.values()]
        self.populations = list(dict.fromkeys(names))

    @property
    def completed(self) -> bool | None:
        """Whether the last run ended normally: False after an error, Ctrl-C or a kill; None
        for a file not written by spikesim (not known)."""
        return self.meta.get("completed")

    def __repr__(self) -> str:
        return (f"RecordedRun({self.path!r}, populations={self.populations}, "
                f"completed={self.completed})")

    def _pick(self, index: dict, population, what: str, variable=None) -> list:
        """The groups of ``index`` for ``population`` (and ``variable``), by realization; the
        errors tell what the file holds instead."""
        names = list(dict.fromkeys(e["population"] for e in index.values()))
        if population is None:
            if not names:
                raise ValueError(f"{self.path} holds no {what}")
            pool = names
            if variable is not None:
                pool = list(dict.fromkeys(e["population"] for e in index.values()
                                          if e["variable"] == variable))
                if not pool:
                    recorded = dict.fromkeys(e["variable"] for e in index.values())
                    raise KeyError(f"{self.path} holds no {what} of variable={variable!r}; "
                                   f"variables recorded: {', '.join(map(repr, recorded))}")
            if len(pool) > 1:
                raise ValueError(f"{self.path} holds {what} of {len(pool)} populations: pass "
                                 f"population= one of {', '.join(map(repr, pool))}")
            population = pool[0]
        found = [e for e in index.values() if e["population"] == population]
        if not found:
            raise KeyError(f"{self.path} holds no {what} of population={population!r}; "
                           + (f"it holds {what} of: {', '.join(map(repr, names))}" if names
                              else "it holds none"))
        if variable is not None:
            recorded = list(dict.fromkeys(e["variable"] for e in found))
            found = [e for e in found if e["variable"] == variable]
            if not found:
                raise KeyError(f"{self.path} holds no {what} of variable={variable!r} for "
                               f"population {population!r}; variables recorded for it: "
                               f"{', '.join(map(repr, recorded))}")
        return sorted(found, key=lambda e: e["realization"])

    def _times(self, ms: np.ndarray) -> np.ndarray:
        """ms → s, in place (``ms``: a float64 array of the caller's); exactly steps·dt (as
        the in-memory monitors) when dt is known."""
        if self.dt:
            ms /= self.dt * MS
            return np.multiply(np.rint(ms, out=ms), self.dt, out=ms)
        ms /= MS
        return ms

    def spikes(self, population: str | None = None, realization: int | None = None, *,
               ids: int | np.ndarray | Sequence[int] | None = None,
               t_start: float | None = None, t_stop: float | None = None) -> Spikes:
        """The spikes of a population (all realizations, or one), times in seconds, sorted by
        time, then realization, then neuron id. In a file of another writer that does not give
        the population's size, ``n_neurons`` is the largest node id + 1 (SONATA numbers a
        population's nodes from 0), which rates per neuron divide by.

        ``ids`` (neuron indices within the population, at least one) keeps only those neurons'
        spikes (``recorded`` then lists them, so rates per neuron count only them);
        ``t_start``/``t_stop`` (s, finite, ``t_start <= t_stop``) keep the spikes at
        t_start <= t < t_stop and narrow the interval the result covers to them. A spikesim
        file (its spikes sorted by time) is read only from the first spike of the window to
        its last, found by bisection; a selection is read block by block, so that memory
        follows what is kept, not the file."""
        parts = self._pick(self._spikes, population, "spikes")
        n_all = parts[0]["n_realizations"]
        if realization is not None:
            check_realizations(realization, n_all, several=False)
            if not parts[0]["block"]:  # one group per realization (earlier spikesim files)
                parts = [e for e in parts if e["realization"] == realization]
        want = None if ids is None else np.unique(neuron_ids("ids", ids))
        lo_t, hi_t = checks.time_window(t_start, t_stop)
        first_t, end_t = checks.window_edges(lo_t, hi_t)  # (spike times: steps·dt, rounded)
        # whole-dataset reads when everything is kept (no copy of blocks to join); else blocks
        blocked = (lo_t is not None or hi_t is not None or want is not None
                   or (realization is not None and parts[0]["block"]))
        times, node_ids, reals = [], [], []
        with open_for_reading(self.path) as f:
            g0 = f[parts[0]["path"]]
            recorded = (np.unique(g0["recorded_ids"][:].astype(np.int64))  # (foreign: as given)
                        if "recorded_ids" in g0 else None)
            for e in parts:
                g = f[e["path"]]
                ts, ni, n = spike_datasets(g)
                to_ms = _to_ms(ts)
                first, last = self._window_rows(g, ts, n, lo_t, hi_t, to_ms)
                step = SPIKE_READ_BLOCK if blocked else max(last - first, 1)
                for a in range(first, last, step):
                    b = min(last, a + step)
                    ms = finite(ts, ts.astype(np.float64)[a:b])  # (converted by HDF5 as it reads)
                    if to_ms != 1.0:
                        ms *= to_ms
                    node = checked_node_ids(ni, ni.astype(np.int64)[a:b])
                    if e["block"]:  # node ids b·block + j: realization b's neurons are a block
                        real = node // e["block"]
                        node -= real * e["block"]
                    else:
                        real = np.full(b - a, e["realization"], np.int64)
                    t = self._times(ms)
                    kept = [c for c in (None if realization is None else real == realization,
                                        None if want is None else np.isin(node, want),
                                        None if lo_t is None else t >= first_t,
                                        None if hi_t is None else t < end_t) if c is not None]
                    if kept:
                        keep = np.logical_and.reduce(kept)
                        t, node, real = t[keep], node[keep], real[keep]
                    if realization is not None:
                        real = np.zeros(len(t), np.int64)
                    times.append(t)
                    node_ids.append(node)
                    reals.append(real)
        e0 = parts[0]
        if not times:  # (no spike in the window)
            times, node_ids, reals = [np.zeros(0)], [np.zeros(0, np.int64)], [np.zeros(0,
                                                                                     np.int64)]
        t, i, r = (a[0] if len(a) == 1 else np.concatenate(a) for a in (times, node_ids, reals))
        order = _time_order(t, r, i)
        if order is not None:
            t, i, r = t[order], i[order], r[order]
        t_stop_rec = self._t_stop(t, e0)
        if self._written_end() is not None and t.size and t[-1] > t_stop_rec - self.dt / 2:
            # spikes written past the runs table's end (the writes that would have extended
            # it failed): not part of the recording
            keep = int(np.searchsorted(t, t_stop_rec - self.dt / 2))
            t, i, r = t[:keep], i[:keep], r[:keep]
        if want is not None:  # the neurons the result holds the spikes of
            recorded = want if recorded is None else np.intersect1d(recorded, want)
        n_neurons = e0["n_neurons"] if e0["n_neurons"] is not None else 1 + max(
            int(i.max(initial=-1)), -1 if recorded is None else int(recorded.max(initial=-1)))
        t0, t1 = self._t_start(e0), t_stop_rec
        if lo_t is not None:
            t0 = max(t0, lo_t)
        if hi_t is not None:
            t1 = hi_t if self._written_end() is None else min(t1, hi_t)
        n_real = 1 if realization is not None else n_all
        return Spikes(t, i, r, n_neurons, n_real, t0, max(t0, t1), e0["population"],
                      recorded, self.dt)

    def _window_rows(self, g: h5py.Group, ts: h5py.Dataset, n: int, lo_t: float | None,
                     hi_t: float | None, to_ms: float) -> tuple[int, int]:
        """Rows [first, last) of the ``n`` spikes of group ``g`` (times ``ts``, ``to_ms`` ms
        per unit) that may fall in lo_t <= t < hi_t (s; None: unbounded): found by bisection
        where the group says its spikes are sorted by time, a step wider on each side (the
        times are rounded to whole steps once read); else all of them."""
        if (lo_t is None and hi_t is None) or not _sorted_by_time(g):
            return 0, n

        def ms(sec: float, side: int) -> float:  # (in the dataset's unit)
            return (sec + side * ((self.dt or 0.0) + 1e-9 * max(1.0, abs(sec)))) * MS / to_ms

        first = 0 if lo_t is None else _first_at_least(ts, 0, n, ms(lo_t, -1))
        last = n if hi_t is None else _first_at_least(ts, first, n, ms(hi_t, +1))
        return first, last

    def trace_ids(self, population: str | None = None, variable: str = "v") -> np.ndarray:
        """The neurons (indices within the population) a state report recorded, in the order
        of its columns (one realization's), without reading its data: to read a few of them
        with :meth:`trace` (``ids=``)."""
        parts = self._pick(self._reports, population, "state reports", _variable(variable))
        with open_for_reading(self.path) as f:
            _, recorded, _ = report_datasets(f[parts[0]["path"]])
        if parts[0]["block"]:  # columns b·n + j: realization 0's give the ids
            recorded = recorded[:recorded.size // parts[0]["n_realizations"]]
        return recorded

    def interval(self, population: str | None = None) -> tuple[float, float]:
        """(t_start, t_stop) in s of the recording of a population's spikes: a group recorded
        from a later run on, or not by the last runs, covers less than the file."""
        entry = self._pick(self._spikes, population, "spikes")[0]
        if self._written_end() is None:  # another writer's file: to its last spike, as
            return self._t_start(entry), self.spikes(population).t_stop  # spikes() says
        return self._t_start(entry), self._t_stop(np.zeros(0), entry)

    def _t_start(self, entry: dict) -> float:
        """When the group's recording began (s): its first step, for a recorder added to a
        later run, else (files without it) the file's start."""
        if entry.get("start_step") is not None and "dt" in self.meta:
            return entry["start_step"] * float(self.meta["dt"])
        return float(self.meta.get("t_start", 0.0))

    def _written_end(self) -> float | None:
        """The end (s) of the data of a spikesim file, as its runs table gives it (data may
        go past it when the writes that would have extended the table failed), or None where
        no end is given (another writer's file)."""
        end = self.meta.get("duration")
        return float(end) if self.dt and end is not None else None

    def _t_stop(self, times: np.ndarray, entry: dict) -> float:
        t = self.meta.get("duration")
        t = float(t) if t is not None else float(times.max(initial=0.0))
        if entry.get("stop_step") is not None and "dt" in self.meta:  # not recorded since
            return min(entry["stop_step"] * float(self.meta["dt"]), t)
        return t

    def trace(self, population: str | None = None, variable: str = "v",
              ids: int | np.ndarray | Sequence[int] | None = None,
              t_start: float | None = None, t_stop: float | None = None,
              realization: int | None = None) -> Trace:
        """A recorded state variable: values (samples, realizations, neurons) in its unit.

        ``ids``: neuron indices (within the population) to read, among those recorded: an
        integer or a 1-d sequence of them, at least one; only their columns are read from the
        file. ``t_start``/``t_stop`` (s, finite, ``t_start <= t_stop``) limit the samples.
        ``realization``: read only that one (values of shape (samples, 1, neurons); ``meta``
        then holds ``realizations`` = [realization], for the plots).
        """
        want = None if ids is None else neuron_ids("ids", ids)
        t_start, t_stop = checks.time_window(t_start, t_stop)
        parts = self._pick(self._reports, population, "state reports", _variable(variable))
        block = parts[0]["block"]  # columns b·n + c (else one report per realization)
        n_real = parts[0]["n_realizations"] if block else len(parts)
        first = 0  # the first realization read
        if realization is not None:
            check_realizations(realization, n_real, several=False)
            first = int(realization)
        with open_for_reading(self.path) as f:
            g0 = f[parts[0]["path"]]
            _, recorded, (start, stop, step) = report_datasets(g0)
            if block:
                recorded = recorded[:recorded.size // n_real]  # realization 0's: the ids
            n_rows = min(n_frames(start, stop, step),
                         min(report_datasets(f[e["path"]])[0].shape[0] for e in parts))
            times = (start + step * np.arange(n_rows)) / MS
            if self.dt:
                times = self._times(times * MS)
            end = self._written_end()
            if end is not None:  # samples written past the runs table's end (see spikes)
                n_rows = int(np.searchsorted(times, end + self.dt / 2))
                times = times[:n_rows]
            lo, hi = 0, n_rows
            if t_start is not None:
                lo = int(np.searchsorted(times, t_start - 1e-12 * max(1.0, abs(t_start))))
            if t_stop is not None:
                hi = int(np.searchsorted(times, t_stop + 1e-12 * max(1.0, abs(t_stop)),
                                         side="right"))
            if ids is None:
                cols, sel = slice(None), recorded
            else:
                pos = {int(j): c for c, j in enumerate(recorded)}
                missing = [int(j) for j in want if int(j) not in pos]
                if missing:
                    raise ValueError(f"ids {missing} were not recorded in {variable!r} of "
                                     f"{parts[0]['population']!r} (recorded: {show_ids(recorded)})")
                cols, sel = np.array([pos[int(j)] for j in want], np.int64), want
            reads = n_real if realization is None else 1
            values = np.empty((max(hi - lo, 0), reads, len(sel)), np.float64)
            if block:
                n = recorded.size
                every = ((first + np.arange(reads))[:, None] * n
                         + (np.arange(n) if ids is None else cols)).ravel()
                values[...] = _read_columns(g0["data"], lo, hi, slice(None) if reads == n_real
                                            and ids is None else every).reshape(values.shape)
            else:
                for b, e in enumerate(parts[first:first + reads]):
                    values[:, b, :] = _read_columns(f[e["path"]]["data"], lo, hi, cols)
            unit = attr(g0["data"], "units", "")
        return Trace(times[lo:hi], values, np.asarray(sel, np.int64), variable, unit,
                     parts[0]["population"], parts[0]["threshold"] if variable == "v" else None,
                     {} if realization is None else {"realizations": np.array([first])})

    def rate(self, population: str | None = None, realization: int | None = None, *,
             t_start: float | None = None, t_stop: float | None = None) -> Trace:
        """Population rate (Hz): spikes per bin / (neurons · bin width), values of shape
        (bins, realizations, 1) — one realization's only when ``realization`` is given;
        ``times`` are the bins' start times (s), and ``t_start``/``t_stop`` (s) keep the bins
        that start at t_start <= t < t_stop (to leave out a transient, say). A last bin cut
        short by the end of the run is divided by its actual width. ``meta`` holds ``counts``
        (bins, realizations), ``bin_width`` (s), ``widths`` (s, each bin's: the last one's
        may be shorter), ``n_neurons`` and, for one realization, ``realizations`` (its index,
        as :meth:`trace` gives it)."""
        e = self._pick(self._rates, population, "population rates")[0]
        with open_for_reading(self.path) as f:
            g = f[e["path"]]
            ds, (start, stop, step) = rate_datasets(g)
            counts = ds[:].astype(np.int64)
        # bins begun before stop (ms); a last bin cut short holds at least a step: half of one
        # absorbs rounding, however long the bins
        tol = self.dt * MS / 2 if self.dt else 1e-9 * step
        end = self._written_end()
        if end is not None:  # bins written past the runs table's end (see spikes)
            stop = min(stop, end * MS)
        n_bins = min(counts.shape[0], max(0, math.ceil((stop - start - tol) / step)))
        counts = counts[:n_bins]
        lo = start + step * np.arange(n_bins)
        width = (np.minimum(lo + step, stop) - lo) / MS
        first, past = checks.window_edges(*checks.time_window(t_start, t_stop))
        keep = (lo / MS >= first) & (lo / MS < past)
        reals = slice(None) if realization is None else check_realizations(
            realization, counts.shape[1], several=False)
        lo, width, counts = lo[keep], width[keep], counts[keep][:, reals]
        n = e["n_neurons"]
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = counts / (n * np.maximum(width, 1e-300))[:, None]
        return Trace(lo / MS, rate[:, :, None], np.zeros(1, np.int64), "rate", "Hz",
                     e["population"], None,
                     {"counts": counts, "bin_width": step / MS, "widths": width,
                      "n_neurons": n,
                      **({} if realization is None else {"realizations": np.asarray(reals)})})


def _variable(variable: object) -> str:
    """A state variable's name, checked to be a string (None would pick any report)."""
    if not isinstance(variable, str):
        raise TypeError(f"variable must be the name of a recorded state variable (a str such as "
                        f"'v'), got {variable!r}")
    return variable


def neuron_ids(name: str, ids: object) -> np.ndarray:
    """``ids`` — an integer or a 1-d sequence of integers >= 0, at least one — as int64
    (:func:`~spikesim.checks.index_array`)."""
    arr = checks.index_array(name, ids)
    if arr.size == 0:
        raise ValueError(f"{name} selects no neuron: give at least one index, or None for all")
    return arr


def load(path: str | os.PathLike) -> RecordedRun:
    """Open a recorder file (or any SONATA spike/report file) for reading."""
    return RecordedRun(path)


TIME_UNITS = {"ms": 1.0, "msec": 1.0, "s": MS, "sec": MS}  # ``units`` → factor to ms


def _to_ms(ds) -> float:
    """The factor that turns the values of the time dataset ``ds`` into ms, from its ``units``
    attribute (SONATA's default, ms, when it has none; a one-element array, any case and
    spaces are accepted, as other writers store them)."""
    units = attr(ds, "units", "ms")
    if isinstance(units, np.ndarray) and units.size == 1:
        units = units.reshape(()).item()
    if isinstance(units, bytes):
        units = units.decode()
    units = units.strip().lower() if isinstance(units, str) else units
    if units not in TIME_UNITS:
        raise ValueError(f"{ds.file.filename}: {ds.name} has units={units!r}; spikesim reads "
                         f"times in 'ms' or 's'")
    return TIME_UNITS[units]


def spike_datasets(g: h5py.Group) -> tuple[h5py.Dataset, h5py.Dataset, int]:
    """The ``timestamps`` and ``node_ids`` of the SONATA spike population ``g`` and how many
    spikes they hold, checked: numbers and integers, one node id per time. In a file written
    by spikesim they may differ in length (a writer killed between the two writes of a chunk):
    the common length counts; in another writer's file that is an error."""
    ts = _dataset(g, "timestamps", "iuf", "numbers (spike times, in ms or s)")
    ni = _dataset(g, "node_ids", "iu", "integers (node ids)")
    if ts.shape[0] != ni.shape[0] and not ("spikesim" in g.attrs or "spikesim" in g.file):
        raise ValueError(f"{g.file.filename}: {ts.name} holds {ts.shape[0]} spike times but "
                         f"{ni.name} {ni.shape[0]} node ids: a SONATA spike population holds "
                         f"one node id per spike time")
    return ts, ni, min(ts.shape[0], ni.shape[0])


def count_before(ts: h5py.Dataset, n: int, stop_ms: float) -> int:
    """How many of the first ``n`` spike times of ``ts`` (in ms after multiplying by its
    units' factor) are before ``stop_ms``. In a spikesim file the later ones — written past
    the end of the runs table, when the writes that would have extended it failed — are a
    suffix (chunks are appended in time order), so the dataset is read from its end, usually
    one value."""
    to_ms, k = _to_ms(ts), n
    while k > 0:
        lo = max(0, k - 65536)
        before = np.flatnonzero(ts[lo:k].astype(np.float64) * to_ms < stop_ms)
        if before.size:
            return lo + int(before[-1]) + 1
        k = lo
    return 0


def report_datasets(g: h5py.Group) -> tuple[h5py.Dataset, np.ndarray, tuple[float, float,
                                                                              float]]:
    """The ``data`` (samples × columns) of the SONATA report ``g``, its node ids
    (``mapping/node_ids``, int64, one per column) and its time range (``mapping/time``:
    start, stop, step in ms), checked."""
    data = _dataset(g, "data", "iuf", "numbers", 2)
    ds = _dataset(g, "mapping/node_ids", "iu", "integers (node ids)")
    ids = checked_node_ids(ds, ds[:].astype(np.int64))
    if ids.size != data.shape[1]:
        raise ValueError(f"{g.file.filename}: {data.name} has {data.shape[1]} columns but "
                         f"{ds.name} {ids.size} node ids: spikesim reads reports of one column "
                         f"per node")
    return data, ids, time_range(g, "mapping/time")


def rate_datasets(g: h5py.Group) -> tuple[h5py.Dataset, tuple[float, float, float]]:
    """The ``counts`` (bins × realizations) of spikesim's rate group ``g`` and its time range
    (``time``: start, stop, bin width in ms), checked."""
    return _dataset(g, "counts", "iu", "integers (spike counts)", 2), time_range(g, "time")


def n_frames(start: float, stop: float, step: float) -> int:
    """The frames of a SONATA time range (start, stop, step in ms): the times start + r·step
    before stop — the interval is open on the right, and stop need not be on the grid (0, 2.5,
    1 holds the frames 0, 1 and 2) — counted as libsonata does (a frame less than 1e-6 ms
    before stop, a rounding of stop itself, is not one)."""
    return max(0, math.ceil((stop - start - min(1e-6, step / 2)) / step))


def time_range(g: h5py.Group, name: str) -> tuple[float, float, float]:
    """(start, stop, step) in ms of the SONATA time dataset ``name`` of ``g``, checked: three
    finite numbers, step > 0, stop >= start."""
    ds = _dataset(g, name, "iuf", "numbers (start, stop, step)")
    where = f"{ds.file.filename}: {ds.name}"
    if ds.shape != (3,):
        raise ValueError(f"{where} has shape {ds.shape}: it must hold 3 numbers (start, stop, "
                         f"step)")
    raw = ds[:].astype(np.float64)
    start, stop, step = (float(x) for x in raw * _to_ms(ds))
    if not (np.all(np.isfinite(raw)) and step > 0 and stop >= start):
        raise ValueError(f"{where} is (start, stop, step) = {tuple(raw.tolist())}: they must be "
                         f"finite, with step > 0 and stop >= start")
    return start, stop, step


def finite(ds: h5py.Dataset, values: np.ndarray) -> np.ndarray:
    """``values`` (floats read from ``ds``), checked: no NaN or infinity."""
    bad = values.size - np.count_nonzero(np.isfinite(values))
    if bad:
        raise ValueError(f"{ds.file.filename}: {bad} of the {values.size} values of {ds.name} "
                         f"are not finite (NaN or inf): times must be finite numbers")
    return values


def checked_node_ids(ds: h5py.Dataset, ids: np.ndarray) -> np.ndarray:
    """``ids`` (integers read from ``ds``), checked: none negative."""
    if ids.size and ids.min() < 0:
        raise ValueError(f"{ds.file.filename}: {np.count_nonzero(ids < 0)} of the {ids.size} "
                         f"node ids of {ds.name} are negative (the least: {ids.min()}): node "
                         f"ids are integers >= 0")
    return ids


def _dataset(g: h5py.Group, name: str, kinds: str, what: str, ndim: int = 1) -> h5py.Dataset:
    """Dataset ``name`` of ``g``, checked: there, with ``ndim`` dimensions, of a type of one of
    ``kinds`` (NumPy's kind letters; ``what`` says which for the message)."""
    ds = g.get(name)
    if not isinstance(ds, h5py.Dataset):
        raise ValueError(f"{_where(g, name)} is missing" + ("" if ds is None else
                                                           " (not a dataset)")
                         + f": {g.name} needs it")
    if ds.dtype.kind not in kinds:
        kind = "strings" if h5py.check_string_dtype(ds.dtype) else "values"
        raise ValueError(f"{_where(g, name)} holds {kind} of type {ds.dtype}: spikesim reads "
                         f"{what} there")
    if ds.ndim != ndim:
        raise ValueError(f"{_where(g, name)} has shape {ds.shape}: spikesim reads a {ndim}-d "
                         f"array there")
    return ds


def _where(g: h5py.Group, name: str) -> str:
    """File and path of ``name`` in ``g``, for a message."""
    return f"{g.file.filename}: {g.name.rstrip('/')}/{name}"


def data_end(g: h5py.Group) -> float | None:
    """How far a spikesim file's data goes (s): the end of its last run, from the ``runs``
    table (rewritten at every flush, so right for a killed run too); None without one."""
    runs = g.get("runs")
    if runs is None or runs.shape[0] == 0:
        return None
    return float(runs[runs.shape[0] - 1, 1])


def _time_order(t: np.ndarray, r: np.ndarray, i: np.ndarray) -> np.ndarray | None:
    """The permutation that sorts spikes by time, then realization, then id; None when they
    are in that order. A spikesim file holds each realization's spikes sorted by time and id,
    and the realizations are read in order, so one realization needs no sorting and several
    a stable sort by time alone; other files get the full sort."""
    if _in_order(t, r, i):
        return None
    order = np.argsort(t, kind="stable")
    if _in_order(t[order], r[order], i[order]):
        return order
    return np.lexsort((i, r, t))


def _in_order(t: np.ndarray, r: np.ndarray, i: np.ndarray) -> bool:
    """Whether the spikes are sorted by time, then realization, then id: compared pairwise,
    block by block (ORDER_BLOCK pairs), with no fancy indexing — whole-array temporaries and
    boolean selections of ties made this check 10 times slower than reading the spikes, and
    doubled the memory a read took."""
    n = t.size
    for lo in range(0, max(n - 1, 0), ORDER_BLOCK):
        hi = min(lo + ORDER_BLOCK, n - 1)
        t0, t1 = t[lo:hi], t[lo + 1:hi + 1]
        later = t1 > t0
        if later.all():
            continue
        if not (later | (t1 == t0)).all():
            return False
        r0, r1, i0, i1 = r[lo:hi], r[lo + 1:hi + 1], i[lo:hi], i[lo + 1:hi + 1]
        if not (later | (r1 > r0) | ((r1 == r0) & (i1 >= i0))).all():
            return False
    return True


def _sorted_by_time(g: h5py.Group) -> bool:
    """Whether the SONATA spike population ``g`` says its spikes are sorted by time
    (attribute ``sorting`` = by_time, as spikesim writes it)."""
    value = g.attrs.get("sorting")
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(()).item()
    if isinstance(value, bytes):
        value = value.decode()
    return value in (2, "by_time")


def _first_at_least(ds: h5py.Dataset, lo: int, hi: int, value: float) -> int:
    """The first index in [lo, hi) of the sorted dataset ``ds`` whose element is >= ``value``
    (``hi`` if none), by bisection: O(log n) single-element reads."""
    while lo < hi:
        mid = (lo + hi) // 2
        if float(ds[mid]) < value:
            lo = mid + 1
        else:
            hi = mid
    return lo


def show_ids(a: np.ndarray) -> str:
    """Neuron ids for a message: the list when short, else their count and range."""
    return str(a.tolist()) if a.size <= 10 else f"{a.size} neurons in [{a.min()}, {a.max()}]"


def _read_columns(ds, lo: int, hi: int, cols) -> np.ndarray:
    """Rows lo:hi of the given columns, reading only the chunks that hold them."""
    if hi <= lo:
        return np.zeros((0, ds.shape[1] if isinstance(cols, slice) else len(cols)))
    if isinstance(cols, slice):
        return ds[lo:hi]
    order = np.argsort(cols, kind="stable")
    uniq, inverse = np.unique(cols[order], return_inverse=True)
    if uniq.size and uniq[-1] - uniq[0] + 1 == uniq.size:  # a contiguous block
        block = ds[lo:hi, int(uniq[0]):int(uniq[-1]) + 1]
    else:
        block = ds[lo:hi, uniq]
    out = np.empty((hi - lo, len(cols)), block.dtype)
    out[:, order] = block[:, inverse]
    return out


def format_version(g: h5py.Group, doing: str = "read it") -> int | None:
    """The ``format_version`` of a recording's ``/spikesim`` group ``g``: None for a file
    written before recordings had one; a later version than this spikesim's
    (:data:`RECORDING_FORMAT_VERSION`), or a value that is not one, is refused with a
    ValueError naming the file and the spikesim that wrote it (``doing``: what cannot be
    done, for the message)."""
    value = attr(g, "format_version", None)
    if value is None:
        return None
    path = g.file.filename
    if (isinstance(value, bool) or not isinstance(value, (int, np.integer))
            or int(value) < 1):
        raise ValueError(f"{path}: the /spikesim attribute format_version is {value!r}, not a "
                         f"spikesim recording format (an integer >= 1): cannot {doing}")
    if int(value) > RECORDING_FORMAT_VERSION:
        from . import __version__
        try:
            wrote = attr(g, "info", {}, as_json=True).get("versions", {}).get("spikesim", "?")
        except (ValueError, AttributeError):
            wrote = "?"
        raise ValueError(f"{path} is a recording of format version {int(value)}, written by a "
                         f"later spikesim ({wrote}); this spikesim ({__version__}) knows "
                         f"format versions up to {RECORDING_FORMAT_VERSION}: upgrade spikesim "
                         f"to {doing}")
    return int(value)


def _read_meta(f: h5py.File) -> dict:
    if "spikesim" not in f:
        return {}
    g = f["spikesim"]
    format_version(g)  # (before anything is read the way this version reads it)
    meta = {}
    for name, value in g.attrs.items():
        value = _plain_value(value)
        if isinstance(value, str) and value[:1] in "[{":
            try:
                value = json.loads(value)
            except ValueError:
                pass
        meta[name] = value
    for name in ("dt", "t_start", "duration"):
        if name in meta:
            meta[name] = _meta_number(g, name, meta[name], positive=name == "dt")
    if "runs" in g:
        meta["runs"] = [{"t_start": float(r[0]), "t_stop": float(r[1]), "steps": int(r[2]),
                         "completed": bool(r[3]), "wall_time": float(r[4])} for r in g["runs"][:]]
        # the attribute counts ended runs only; the rows are rewritten at every flush
        meta["wall_time"] = sum(r["wall_time"] for r in meta["runs"])
        if meta["runs"]:  # ``duration`` is rewritten only when a run ends (see data_end)
            meta["duration"] = meta["runs"][-1]["t_stop"]
    meta["completed"] = bool(meta.get("completed", False))
    return meta


def _meta_number(g: h5py.Group, name: str, value: Any, positive: bool) -> float:
    """The ``/spikesim`` attribute ``name`` (a time in s), checked: a finite number, > 0 when
    ``positive``."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value)
    if not ok or (positive and value <= 0):
        raise ValueError(f"{g.file.filename}: the /spikesim attribute {name} is {value!r}: it "
                         f"must be a finite number{' > 0' if positive else ''} (s)")
    return float(value)


def _index(f: h5py.File, top: str) -> dict:
    """Groups under /spikes, /report or /rates with what they hold: population, realization,
    variable, sizes — from spikesim's ``spikesim`` attribute, or from the group name for
    foreign SONATA files (each group its own population)."""
    out = {}
    if not isinstance(f.get(top), h5py.Group):  # none, or not SONATA's group of populations
        return out
    for name, g in f[top].items():
        if not isinstance(g, h5py.Group):
            continue
        info = attr(g, "spikesim", None, as_json=True) if "spikesim" in g.attrs else {}
        try:  # (a damaged tag, or another tool's attribute of that name)
            if not isinstance(info, dict):
                raise TypeError
            realization = int(info.get("realization", 0))
            n_realizations = int(info.get("n_realizations", 1))
        except (TypeError, ValueError):
            raise ValueError(f"{f.filename}: the spikesim attribute of /{top}/{name} is not "
                             f"spikesim's (a JSON object with integer realization and "
                             f"n_realizations): {str(attr(g, 'spikesim', ''))[:80]!r}") from None
        out[name] = {
            "path": f"/{top}/{name}",
            "population": info.get("population", name),
            "realization": realization,
            "n_realizations": n_realizations,
            "variable": info.get("variable", "v" if top == "report" else None),
            "n_neurons": info.get("n_neurons"),
            "block": info.get("nodes_per_realization"),  # node id = realization·block + id
            "threshold": info.get("threshold"),
            "start_step": info.get("start_step"),
            "stop_step": info.get("stop_step"),  # spikes: a later run did not record them
        }
    return out
