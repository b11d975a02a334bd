"""The ``spikesim`` command (also ``python -m spikesim``).

Commands: ``demo`` (the built-in example, end to end), ``run`` (a TOML network file, see
:mod:`spikesim.netfile`), ``check`` (validate a network file), ``info`` (what an HDF5
recording holds), ``plot`` (figures from a recording) and ``bench`` (the benchmark suite of the
source checkout). ``spikesim COMMAND --help`` shows each command's options and examples.

Exit status: 0 success; 2 bad input (arguments, network file, output path, unreadable
recording) — reported in one line on stderr, never a traceback; 1 a failure while simulating
or plotting; 130 interrupted (Ctrl-C, or SIGTERM during a run); 141 stdout closed early
(``spikesim info f.h5 | head``), quietly. Set ``SPIKESIM_DEBUG=1`` for tracebacks.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import inspect
import json
import math
import os
import shlex
import signal
import sys
import time
import types
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

PROG = "spikesim"


class CliError(Exception):
    """A problem reported in one line; ``status`` is the exit status."""

    def __init__(self, message: str, status: int = 2):
        super().__init__(" ".join(str(message).split()))
        self.status = status


# --- arguments ------------------------------------------------------------------------------
def _parsed(text: str, convert, valid, expected: str):
    """``convert(text)`` if it succeeds and satisfies ``valid``, else an argparse error saying
    what was ``expected``."""
    try:
        value = convert(text)
    except ValueError:
        value = None
    if value is None or not valid(value):
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    return _parsed(text, int, lambda v: v >= 1, "an integer >= 1")


def _seed(text: str) -> int:
    return _parsed(text, int, lambda v: 0 <= v < 2**63, "an integer in [0, 2**63)")


def _seconds(text: str) -> float:
    return _parsed(text, float, lambda v: math.isfinite(v) and v >= 0,
                   "a finite number of seconds >= 0")


def _positive_seconds(text: str) -> float:
    return _parsed(text, float, lambda v: math.isfinite(v) and v > 0,
                   "a finite number of seconds > 0")


MAX_DPI = 2000  # a 9 x 9 inch summary at 2000 dpi is 18000 x 18000 pixels, 1.3 GB to draw


def _dpi(text: str) -> int:
    return _parsed(text, int, lambda v: 1 <= v <= MAX_DPI, f"an integer from 1 to {MAX_DPI}")


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (status 2) and examples shown verbatim."""

    def __init__(self, *args, **kw):
        kw.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kw)

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())} (see {self.prog} "
                     f"--help)\n")


class _CommandParser(_Parser):
    """The parser of one subcommand: it reports the arguments it does not know itself (naming
    the subcommand), instead of leaving them to the top-level parser."""

    def parse_known_args(self, args=None, namespace=None):
        namespace, extras = super().parse_known_args(args, namespace)
        if extras:
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return namespace, extras


def _set_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="set a value of the file before it is checked (repeatable): KEY is a "
                        "key path, from network, a population's, input's or projection's "
                        "name, or population[i] etc. (network.dt, exc.params.tau_mem, "
                        "projection[0].weight); VALUE a TOML value (0.02, [1, 2], "
                        "{ distribution = \"normal\", mean = 1, std = 0.1 }) or a word")


def _simulation_options(p: argparse.ArgumentParser, default_out: str) -> None:
    p.add_argument("-o", "--output", metavar="OUT.h5", type=Path,
                   help=f"the HDF5 recording to write (default: {default_out})")
    p.add_argument("--overwrite", action="store_true",
                   help="replace existing output files (not one another process has open)")
    p.add_argument("--backend", choices=("cpu", "cuda"), default="cpu",
                   help="where to simulate (default: cpu)")
    p.add_argument("--threads", type=_positive_int, metavar="N",
                   help="Numba threads for the CPU kernels (default: all cores)")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="no progress bar (it is also off when stderr is not a terminal)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``spikesim`` command."""
    parser = _Parser(prog=PROG, description=(
        "spikesim: fast simulation of large populations of spiking neurons.\n\n"
        "Start with `spikesim demo`, then describe your own network in a TOML file\n"
        "(examples/*.toml; `spikesim demo --toml` prints the demo's) and `spikesim run` it."),
        epilog="examples:\n"
               "  spikesim demo                          # simulate, record, plot the demo\n"
               "  spikesim run examples/cuba.toml -o cuba.h5\n"
               "  spikesim info cuba.h5\n"
               "  spikesim plot cuba.h5 --kind raster --population exc -o raster.png\n"
               "  spikesim bench --quick\n\n"
               "exit status: 0 ok, 2 bad input (one line on stderr), 1 failure while running,\n"
               "130 interrupted, 141 stdout closed early. `spikesim COMMAND --help` for\n"
               "each command.")
    from . import __version__
    parser.add_argument("--version", action="version", version=f"spikesim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_CommandParser)

    p = sub.add_parser("demo", help="run the built-in example network, write its recording "
                                    "and figures", description=(
        "Simulate the built-in demo network for 1 s (800 excitatory and 200 inhibitory LIF\n"
        "neurons under Poisson input), record it to HDF5 and draw PNG figures beside the\n"
        "recording (OUT_raster.png, OUT_traces.png, OUT_rate.png, OUT_summary.png)."),
        epilog="examples:\n"
               "  spikesim demo\n"
               "  spikesim demo -o mydemo.h5 --overwrite\n"
               "  spikesim demo --toml > demo.toml   # the network file, to edit and run")
    _simulation_options(p, "spikesim_demo.h5")
    p.add_argument("--toml", action="store_true",
                   help="print the demo's network file and exit")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("run", help="simulate a network described in a TOML file",
                       description=(
        "Build the network of a TOML network file (populations, inputs, projections,\n"
        "recorders, dt, duration, seed, batch, dtype; see examples/README.md), simulate it\n"
        "and record to HDF5. Nothing in the file is executed: it is checked against a fixed\n"
        "schema, and any problem is reported as FILE: KEY.PATH: what was expected."),
        epilog="examples:\n"
               "  spikesim run examples/cuba.toml                 # writes cuba.h5\n"
               "  spikesim run examples/cuba.toml -o cuba_seed3.h5 --seed 3 --duration 0.5\n"
               "  spikesim run net.toml --threads 2 --overwrite --quiet\n"
               "  spikesim run examples/cuba.toml -o slow.h5 --set exc.params.tau_mem=0.03 "
               "--set network.batch=10\n"
               "  for w in 0.5 1 2; do spikesim run net.toml -o w$w.h5 --set "
               "'projection[0].weight='$w; done\n"
               "  spikesim run big.toml -o big.h5 --checkpoint big.ckpt.h5   # killed later ...\n"
               "  spikesim run big.toml -o big.h5 --checkpoint big.ckpt.h5 --resume")
    p.add_argument("network", type=Path, metavar="NETWORK.toml", help="the network file")
    _simulation_options(p, "NETWORK.h5 in the current directory")
    _set_option(p)
    p.add_argument("--seed", type=_seed, help="override [network] seed")
    p.add_argument("--duration", type=_seconds, metavar="T",
                   help="override [network] duration (s)")
    p.add_argument("--compression", choices=("gzip", "lzf"),
                   help="compress the recorded datasets (gzip: read by h5py, h5dump and most HDF5 "
                        "tools, but not by libsonata 0.2; lzf: h5py only)")
    p.add_argument("--flush-every", type=_seconds, default=1.0, metavar="T",
                   help="wall seconds between flushes of the file (default 1; 0: after every "
                        "chunk of steps): a killed run keeps what was flushed")
    p.add_argument("--checkpoint", type=Path, metavar="CKPT.h5",
                   help="save the run's state there each time --checkpoint-every wall "
                        "seconds have passed (at the next end of a chunk that ends every rate "
                        "bin), when it ends and when it is interrupted (Ctrl-C or SIGTERM), "
                        "to --resume it")
    p.add_argument("--checkpoint-every", type=_seconds, default=600.0, metavar="T",
                   help="wall seconds between checkpoints (default 600)")
    p.add_argument("--resume", action="store_true",
                   help="continue the run saved in --checkpoint (after a crash, Ctrl-C, or to "
                        "run a finished one longer with --duration), appending to its output "
                        "-o, which it first recovers if the run was killed (so only once that "
                        "run has stopped); same file, --set and --seed as the run that saved it")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("check", help="validate a network file and build its network",
                       description="Read a network file, check it and build the network "
                                   "(connectivity included) without simulating.",
                       epilog="examples:\n  spikesim check examples/cuba.toml\n"
                              "  spikesim check examples/cuba.toml --set exc.n=40000")
    p.add_argument("network", type=Path, metavar="NETWORK.toml", help="the network file")
    _set_option(p)
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("info", help="what an HDF5 recording holds", description=(
        "Show what a recording holds: populations, spike counts and rates, state reports,\n"
        "duration, metadata, and whether the run completed."),
        epilog="examples:\n  spikesim info cuba.h5\n  spikesim info sweep/*.h5\n"
               "  spikesim info cuba.h5 --json   # several files: a list")
    p.add_argument("files", type=Path, nargs="+", metavar="FILE.h5",
                   help="recordings (or checkpoints)")
    p.add_argument("--json", action="store_true", help="print the information as JSON")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("plot", help="draw a figure from an HDF5 recording", description=(
        "Draw a figure from a recording: raster (spikes), traces (a recorded state variable,\n"
        "of its first 10 neurons), rate (population rate), hist (spike counts per neuron) or\n"
        "summary (all of them), as PNG, or in the format -o's extension names (pdf, svg, ...)."),
        epilog="examples:\n"
               "  spikesim plot cuba.h5 --kind raster --population exc -o raster.png\n"
               "  spikesim plot cuba.h5 --kind traces --population exc --variable v\n"
               "  spikesim plot cuba.h5 --kind rate --population inh --bin-width 0.002\n"
               "  spikesim plot cuba.h5 --kind summary -p exc --t-start 0.2 --t-stop 0.3")
    p.add_argument("file", type=Path, metavar="FILE.h5", help="a recording")
    p.add_argument("--kind", choices=PLOTS, default="raster", help="the figure (default raster)")
    p.add_argument("-o", "--output", type=Path, metavar="OUT.png",
                   help="the figure to write, in its extension's format (default: "
                        "FILE_KIND[_POPULATION].png beside FILE)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing figure")
    p.add_argument("-p", "--population", metavar="P",
                   help="the population (needed when the file holds several, but for "
                        "raster, which then draws them all)")
    p.add_argument("--variable", default="v", help="traces: the state variable (default v)")
    p.add_argument("--bin-width", type=_positive_seconds, metavar="S",
                   help="rate, summary: bin width in s (default: 1/100 of the interval "
                        "drawn, in whole steps)")
    p.add_argument("--t-start", type=_seconds, metavar="S",
                   help="draw from this time on (s; default the recording's start): only "
                        "that part of the file is read")
    p.add_argument("--t-stop", type=_seconds, metavar="S",
                   help="draw up to this time (s; default the recording's end)")
    p.add_argument("--dpi", type=_dpi, default=120,
                   help=f"resolution in dots per inch, 1 to {MAX_DPI} (default 120)")
    p.set_defaults(func=cmd_plot)

    p = sub.add_parser("bench", help="run the benchmark suite (bench/ of the source checkout)",
                       description=(
        "Run the benchmark suite, bench/run.py of spikesim's source repository (it is not\n"
        "installed with the package): found in --bench-dir, ./bench, or beside the imported\n"
        "spikesim package. The full set takes about 10 minutes; --quick is a smoke run."),
        epilog="examples:\n"
               "  spikesim bench --quick\n"
               "  spikesim bench --json bench.json\n"
               "  spikesim bench --only W1,W3 --bench-dir ~/src/spikesim")
    p.add_argument("--quick", action="store_true",
                   help="reduced sizes (seconds; about a minute when the kernels compile)")
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    p.add_argument("--only", metavar="SUITES", help="comma-separated suites (e.g. W1,W3)")
    p.add_argument("--repeats", type=_positive_int, metavar="N",
                   help="timed repeats (default 3)")
    p.add_argument("--bench-dir", type=Path, metavar="DIR",
                   help="the repository (or its bench/ folder) holding bench/run.py")
    p.set_defaults(func=cmd_bench)
    return parser


# --- entry point ----------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``spikesim`` command with ``argv`` (default ``sys.argv[1:]``); returns the exit
    status."""
    try:
        status = _main(argv)
        sys.stdout.flush()  # a closed pipe shows here, not at the interpreter's exit
        return status
    except BrokenPipeError:  # the reader of stdout left early (spikesim info f.h5 | head)
        _silence_stdout()
        return 141  # as the shell reports a command ended by SIGPIPE


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version, usage errors
        return int(e.code or 0) if not isinstance(e.code, str) else 2
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    args.argv = list(sys.argv[1:] if argv is None else argv)  # (run tags its files with it)
    debug = bool(os.environ.get("SPIKESIM_DEBUG"))
    with warnings.catch_warnings():
        warnings.showwarning = _one_line_warning
        try:
            return int(args.func(args) or 0)
        except BrokenPipeError:
            raise  # not an error of the command: see main
        except KeyboardInterrupt:
            print(f"{PROG} {args.command}: interrupted", file=sys.stderr)
            return 130
        except Exception as e:
            if debug:
                raise
            from .netfile import NetFileError
            if isinstance(e, (CliError, NetFileError)):
                text, status = str(e), getattr(e, "status", 2)
            else:
                text, status = f"{type(e).__name__}: {e}", 1
            print(f"{PROG} {args.command}: error: {' '.join(text.split())}", file=sys.stderr)
            return status


def _silence_stdout() -> None:
    """Point stdout's file descriptor at the null device, so that the interpreter's final flush
    of what could not be written stays quiet."""
    try:
        fd = sys.stdout.fileno()
    except (OSError, ValueError):  # not a file (output captured in-process)
        return
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, fd)
    os.close(null)


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"{PROG}: warning: {' '.join(str(message).split())}", file=file or sys.stderr)


def _time(seconds: float) -> str:
    """A duration for people: ms below 1 s."""
    return f"{seconds * 1e3:.4g} ms" if 0 < abs(seconds) < 1 else f"{seconds:.6g} s"


def _many(n: int, word: str) -> str:
    """``n`` and ``word``, plural unless n is 1 ("1 neuron", "2 neurons")."""
    return f"{n} {word}{'' if n == 1 else 's'}"


# --- simulating -----------------------------------------------------------------------------
def _check_backend(backend: str) -> str | None:
    """The backend argument for Network, None for the default CPU backend."""
    from .network import Network

    supported = "backend" in inspect.signature(Network.__init__).parameters
    if backend == "cpu":
        return "cpu" if supported else None
    if not supported:
        raise CliError("the CUDA backend is not available in this version of spikesim; use "
                       "--backend cpu")
    try:
        from numba import cuda
        available = cuda.is_available()
    except Exception:  # numba-cuda missing or broken
        available = False
    if not available:
        raise CliError("--backend cuda: no usable CUDA GPU (numba.cuda.is_available() is "
                       "False); use --backend cpu")
    return backend


def _check_threads(threads: int | None) -> None:
    if threads is None:
        return
    import numba
    top = numba.config.NUMBA_NUM_THREADS
    if threads > top:
        raise CliError(f"--threads must be at most {top} (NUMBA_NUM_THREADS), got {threads}")


def _check_outputs(paths: Sequence[Path], overwrite: bool, inputs: Sequence[Path] = ()) -> None:
    """Refuse to write over an input file (even with ``overwrite``: whatever path, link or
    symlink names it), to replace existing files (unless ``overwrite``) or to write into a
    missing folder."""
    for path in paths:
        folder = path.parent if str(path.parent) else Path(".")
        if not folder.is_dir():
            raise CliError(f"cannot write {path}: the folder {folder} does not exist")
        if path.is_dir():
            raise CliError(f"cannot write {path}: it is a folder")
        same = [i for i in inputs if path.exists() and i.exists() and os.path.samefile(path, i)]
        if same:
            raise CliError(f"cannot write {path}: it is the input file {same[0]}, which "
                           f"--overwrite does not replace; choose another path with -o")
    existing = [str(p) for p in paths if p.exists()]
    from .io import writer_active
    busy = [p for p in existing if writer_active(p)]
    if busy:
        raise CliError(f"{', '.join(busy)}: open in another process (a run writing "
                       f"{'it' if len(busy) == 1 else 'them'}, or a program reading "
                       f"{'it' if len(busy) == 1 else 'them'}), which --overwrite does not "
                       f"interrupt; wait for it to end, or choose another path")
    if existing and not overwrite:
        raise CliError(f"{', '.join(existing)} already exist{'s' if len(existing) == 1 else ''}"
                       f"; pass --overwrite to replace, or choose another path with -o")


class Checkpoints:
    """A ``progress`` callback that saves the network to ``path`` (``save_checkpoint``, between
    chunks) once ``every`` wall seconds have passed since the last save."""

    def __init__(self, net: Any, path: Path, every: float):
        self.net, self.path, self.every = net, path, every
        self.last = time.perf_counter()

    def __call__(self, done: int, total: int) -> None:
        if (time.perf_counter() - self.last >= self.every and done < total
                and _between_bins(self.net)):
            self.save()

    def save(self) -> None:
        from .checkpoint import save_checkpoint

        save_checkpoint(self.net, self.path)
        self.last = time.perf_counter()


def _between_bins(net: Any) -> bool:
    """Whether ``net.step`` ends a bin of every RateRecorder: a run killed after a checkpoint
    inside a bin could not be resumed (the file's count of that bin would hold later spikes,
    which the recorder refuses), so periodic checkpoints wait for a bin's end."""
    from .recorders import RateRecorder

    return all(m.ends_bin(net.step) for m in net.monitors if isinstance(m, RateRecorder))


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM — ``kill``, ``timeout``, a batch scheduler's end of job (SLURM, PBS), ``docker
    stop`` — stops the run as Ctrl-C does: after the chunk in progress, with the checkpoint
    saved and the file consistent (``spikesim.io.no_interrupt`` holds it back within a
    chunk), so that ``--resume`` goes on from there rather than from the last periodic
    checkpoint, or from nothing."""
    try:
        old = signal.getsignal(signal.SIGTERM)
        # left as is when set outside Python (None: it could not be put back) or ignored on
        # purpose by whoever started the run (trap '' TERM; a launcher shielding its workers)
        installed = old is not None and old != signal.SIG_IGN
        if installed:
            signal.signal(signal.SIGTERM, _interrupted)
    except (ValueError, OSError, AttributeError):  # not the main thread; no SIGTERM here
        installed = False
    if not installed:
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def run_duration(spec, duration: float | None) -> float:
    """The duration (s) to run: ``duration`` (``--duration``), else the file's, checked to be
    1 to MAX_STEPS steps of dt (the file's too many: by the build, naming its key); one
    between two steps warns and is rounded to whole steps, so that what is reported is the
    time simulated."""
    from .checks import warn_unless_whole_steps
    from .network import MAX_STEPS

    dt = spec.network["dt"]
    end = spec.network["duration"] if duration is None else duration
    source = "--duration" if duration is not None else f"[network] duration of {spec.file}"
    if duration is not None and end / dt > MAX_STEPS:  # (the file's: named at its key)
        raise CliError(f"{source} is {end:g} s, {end / dt:.3g} steps of dt = {_time(dt)}: more "
                       f"than {MAX_STEPS}")
    if round(end / dt) == 0:
        where = "" if duration is not None else f"{spec.file}: network.duration: "
        raise CliError(f"{where}nothing to simulate: {source} is {end:g} s, 0 steps of dt = "
                       f"{_time(dt)}; give a duration of at least one step")
    warn_unless_whole_steps("--duration" if duration is not None else "[network] duration",
                            end, dt)
    return round(end / dt) * dt


def _set_tags(settings: Sequence[str] | None) -> dict:
    """The ``--set`` values of a run as a tag, ``{"set": {KEY: VALUE}}`` (KEY as given, VALUE
    as TOML reads it, or the text where JSON would not keep it: a date, inf), so that the
    point of a sweep reads back as ``load(path).meta["tags"]["set"]["exc.params.tau_mem"]``;
    empty without ``--set``."""
    from .netfile import setting_value

    values = {}
    for setting in settings or ():
        key, _, text = setting.partition("=")
        value = setting_value(text)
        try:
            kept = json.loads(json.dumps(value, allow_nan=False)) == value
        except (TypeError, ValueError):
            kept = False
        values[key.strip()] = value if kept else text.strip()
    return {"set": values} if values else {}


def simulate(spec, out: Path, args: argparse.Namespace, *, seed: int | None = None,
             duration: float | None = None, compression: str | None = None,
             checkpoint: Path | None = None, resume: bool = False) -> Any:
    """Build the network of a checked file with HDF5 recorders into ``out``, run it with a
    progress bar and print a summary; returns the :class:`~spikesim.netfile.Built`. With
    ``checkpoint``, save the run there every ``args.checkpoint_every`` wall seconds, at its
    end and when interrupted; with ``resume``, first load it and append to ``out``."""
    from . import netfile
    from .checkpoint import load_checkpoint
    from .recorders import H5Output

    end = run_duration(spec, None) if duration is None else duration
    if args.threads is not None and args.backend != "cpu":
        raise CliError(f"--threads sets the Numba threads of the CPU backend: it does not "
                       f"apply to --backend {args.backend}; drop --threads")
    backend = _check_backend(args.backend)
    _check_threads(args.threads)
    try:
        output = H5Output(out, overwrite=args.overwrite and not resume, append=resume,
                          compression=compression, flush_every=getattr(args, "flush_every", 1.0),
                          tags={"command": shlex.join(["spikesim", *map(str, args.argv)]),
                                **_set_tags(getattr(args, "set", None))})
    except (OSError, ValueError) as e:  # (the messages of H5Output's checks name the file)
        raise CliError(str(e) if str(out) in str(e) else f"cannot write {out}: {e}") from None
    t_build = time.perf_counter()
    built = netfile.build(spec, output, seed=seed, duration=end, threads=args.threads,
                          backend=backend)
    if not built.monitors:  # (no [[record]]: the spikes of every population, and there is none)
        raise CliError(f"nothing to record: {spec.file} has no [[record]] table and no "
                       f"population whose spikes would be recorded instead; add a [[record]] "
                       f"(e.g. kind = \"spikes\" of a spike source)")
    net = built.net
    steps = int(round(end / net.dt))
    if resume:
        try:
            load_checkpoint(net, checkpoint)
        except (OSError, ValueError) as e:
            raise CliError(f"cannot resume from {checkpoint}: {e}") from None
        if net.step >= steps:
            raise CliError(f"nothing to resume: {checkpoint} is at t = {net.t:g} s, the end of "
                           f"the run ({end:g} s); give a longer --duration to go on")
    start = net.t
    n_neurons = sum(p.n for p in net.populations)
    changed = getattr(args, "set", None)
    changed = f" (with --set {' '.join(changed)})" if changed else ""
    print(f"{spec.description or spec.file}{changed}: {n_neurons} neurons"
          f"{f' x {net.batch} realizations' if net.batch > 1 else ''}, {end:g} s simulated "
          f"({steps} steps of {_time(net.dt)}{f', from t = {start:g} s' if resume else ''}), "
          f"seed {net.seed}", flush=True)
    print("building the network and loading its compiled kernel (the first run on a machine "
          "compiles it: about a minute) ...", end=" ", flush=True)
    print(f"{time.perf_counter() - t_build + net.compile():.1f} s", flush=True)
    from .progress import ProgressBar

    progress = ProgressBar(net.dt, enabled=not args.quiet and sys.stderr.isatty())
    saver = Checkpoints(net, checkpoint, args.checkpoint_every) if checkpoint else None

    def on_chunk(done: int, total: int) -> None:
        progress(done, total)
        if saver:
            saver(done, total)

    t0 = time.perf_counter()
    try:
        with _terminate_as_interrupt():
            net.run((steps - net.step) * net.dt, progress=on_chunk)
    except KeyboardInterrupt:
        progress.close()
        saved = ""
        if saver and out.exists():  # (no file yet: interrupted before the first step)
            saver.save()
            saved = (f"; {checkpoint} holds the state: add --resume to the same command"
                     f"{' (without --overwrite)' if args.overwrite else ''} to continue")
        raise CliError(f"interrupted at t = {net.t:.4g} s; {out} holds the data up to there "
                       f"(marked as not completed){saved}", status=130) from None
    except Exception as e:
        progress.close()
        if os.environ.get("SPIKESIM_DEBUG"):
            raise
        if isinstance(e, FileExistsError) and net.t == start:  # lost a race for -o: refused
            raise CliError(f"cannot write {out}: {e}") from None
        raise CliError(f"the simulation failed at t = {net.t:.4g} s: {type(e).__name__}: {e}",
                       status=1) from None
    progress.close()
    wall = time.perf_counter() - t0
    span = end - start
    print(f"simulated {span:g} s in {wall:.2f} s wall ({span / max(wall, 1e-9):.3g}x real time)")
    for _key, mon in built.monitors:
        written = getattr(mon, "n_written", None)
        if written is None or type(mon).__name__ != "SpikeRecorder":
            continue
        n = mon.source.n if mon.ids is None else len(mon.ids)
        rate = written / (n * net.batch * span)
        print(f"  {mon.source.name}: {written} spikes, {rate:.3g} Hz per neuron")
    print(f"wrote {out}")
    if saver:
        saver.save()
        print(f"saved {checkpoint} (--resume with a longer --duration goes on from there)")
    return built


# --- commands -------------------------------------------------------------------------------
def cmd_demo(args: argparse.Namespace) -> int:
    """``spikesim demo``."""
    from . import netfile
    from .demo import DEMO_TOML, figure_paths, figures

    if args.toml:
        sys.stdout.write(DEMO_TOML)
        return 0
    out = args.output or Path("spikesim_demo.h5")
    pngs = list(figure_paths(out).values())
    if args.output is None and any(p.exists() for p in (out, *pngs)):
        args.overwrite = True  # the demo's own files, at their default names: run again
        print(f"replacing the files of an earlier demo here ({out} and its figures)")
    _check_outputs([out, *pngs], args.overwrite)
    spec = netfile.parse(DEMO_TOML, "<demo>")
    simulate(spec, out, args)
    try:
        paths = figures(out)
    except Exception as e:
        if os.environ.get("SPIKESIM_DEBUG"):
            raise
        raise CliError(f"drawing the figures failed: {type(e).__name__}: {e}", 1) from None
    print(f"figures, in {Path(out).resolve().parent}:")
    for p in paths:
        print(f"  {p}")
    print(f"next: spikesim info {out}   |   spikesim demo --toml > demo.toml; "
          f"spikesim run demo.toml")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """``spikesim run``."""
    from . import netfile
    from .checkpoint import is_checkpoint

    spec = netfile.read(args.network, args.set)
    duration = run_duration(spec, args.duration)
    out = args.output or Path(args.network.stem + ".h5")
    ckpt = args.checkpoint
    if ckpt is not None and (ckpt.resolve() == out.resolve() or (
            out.exists() and ckpt.exists() and os.path.samefile(out, ckpt))):
        raise CliError(f"--checkpoint {ckpt} is the output file: give it a path of its own")
    if args.resume:
        if ckpt is None:
            raise CliError("--resume continues the run saved in --checkpoint CKPT.h5: give it")
        for path, what in ((ckpt, "checkpoint"), (out, "output to append to")):
            if not path.is_file():
                raise CliError(f"cannot resume: the {what} {path} does not exist")
        if args.overwrite:
            raise CliError("--resume appends to the output; drop --overwrite")
        from .io import writer_active
        if writer_active(out):
            raise CliError(f"cannot resume: {out} is open in another process (still written by "
                           f"the run that saves {ckpt}, or read by a program); --resume once "
                           f"that run has stopped (SIGTERM stops it after saving the "
                           f"checkpoint) or the file is closed")
        if _recover(out)["flags_cleared"]:
            print(f"{out} was left open for writing by the run that stopped: recovered "
                  f"(spikesim.io.recover)")
    else:
        _check_outputs([out] + ([ckpt] if ckpt else []), args.overwrite, inputs=[args.network])
        if ckpt is not None and ckpt.exists() and not is_checkpoint(ckpt):
            raise CliError(f"--checkpoint {ckpt} exists and is not a spikesim checkpoint, "
                           f"which --overwrite does not replace; choose another path")
    simulate(spec, out, args, seed=args.seed, duration=duration,
             compression=args.compression, checkpoint=ckpt, resume=args.resume)
    print(f"next: spikesim info {out}   |   spikesim plot {out} --kind summary "
          f"--population {spec.populations[0].fields['name'] if spec.populations else 'P'}")
    return 0


def _recover(path: Path) -> dict:
    """``spikesim.io.recover`` of the output a stopped run left, as a one-line error."""
    from .io import recover

    try:
        return recover(path)
    except (OSError, ValueError, KeyError) as e:
        raise _read_error(path, e) from None


def cmd_check(args: argparse.Namespace) -> int:
    """``spikesim check``: read, check and build, without simulating."""
    from . import netfile

    spec = netfile.read(args.network, args.set)
    run_duration(spec, None)  # (refused by spikesim run as well)
    built = netfile.build(spec)
    net = built.net
    synapses = int(net.tables.col.shape[0])
    print(f"{args.network}: ok: {_many(len(net.populations), 'population')} "
          f"({_many(sum(p.n for p in net.populations), 'neuron')}), "
          f"{_many(len(net.sources), 'spike source')}, {_many(len(net.currents), 'current')}, "
          f"{_many(len(net.projections), 'projection')} ({_many(synapses, 'synapse')}), "
          f"{_many(len(built.monitors), 'record')}; dt {_time(net.dt)}, "
          f"{_time(built.duration)}, "
          f"batch {net.batch}, seed {net.seed}")
    return 0


def _open(path: Path):
    """The recording read back (``spikesim.load``), or a one-line error."""
    from .io import load

    if not path.exists():
        raise CliError(f"{path}: no such file")
    if path.is_dir():
        raise CliError(f"{path}: is a folder, not an HDF5 recording")
    try:
        return load(path)
    except (OSError, ValueError, KeyError) as e:
        raise _read_error(path, e) from None


def _read_error(path: Path, error: Exception) -> CliError:
    """The one-line error for a recording that cannot be read (the file named once)."""
    text = str(error)
    return CliError(text if text.startswith(str(path)) else
                    f"{path}: cannot read as an HDF5 recording: {text}")


def contents(path: Path) -> dict:
    """What a recording holds (the data of ``spikesim info``): metadata and, per recorded
    population, spike counts and rates, state reports and rate histograms."""
    import h5py

    from .io import open_for_reading

    data = _open(path)
    meta = data.meta
    info: dict[str, Any] = {
        "file": str(path), "bytes": path.stat().st_size, "completed": data.completed,
        "populations": list(data.populations), "spikes": {}, "reports": {}, "rates": {}}
    for k in ("dt", "seed", "batch", "dtype", "t_start", "duration", "wall_time", "tags",
              "format_version"):
        if k in meta:
            info[k] = meta[k]
    if isinstance(meta.get("info"), dict):
        info["versions"] = meta["info"].get("versions")
        info["created"] = meta["info"].get("created")
    if isinstance(meta.get("network"), dict):
        info["network"] = meta["network"]
    if "runs" in meta:
        info["runs"] = meta["runs"]
    try:
        with open_for_reading(path) as f:
            for top in ("spikes", "report", "rates"):
                if top not in f or not isinstance(f[top], h5py.Group):
                    continue
                for name, g in f[top].items():
                    if not isinstance(g, h5py.Group):
                        continue
                    _describe_group(info, top, name, g, data)
    except (OSError, ValueError, KeyError) as e:
        raise _read_error(path, e) from None
    for pop, entry in info["spikes"].items():  # each over its own interval
        n, b = entry["recorded"] or entry["n_neurons"], entry["realizations"]
        t_start, t_stop = data.interval(pop)
        t = t_stop - t_start
        entry["rate_hz"] = entry["spikes"] / (n * b * t) if n and t > 0 else None
    return info


def _describe_group(info: dict, top: str, name: str, g, data) -> None:
    import numpy as np

    from .io import (
        attr,
        checked_node_ids,
        count_before,
        report_datasets,
        spike_datasets,
        time_range,
    )

    tag = attr(g, "spikesim", None, as_json=True) if "spikesim" in g.attrs else {}
    tag = tag if isinstance(tag, dict) else {}
    pop = tag.get("population", name)
    if top == "spikes":
        ts, ids, n = spike_datasets(g)
        if data.dt and data.meta.get("duration") is not None:  # those spikes() reads: before
            # the recording's end, where the file gives one (see count_before)
            n = count_before(ts, n, (data.interval(pop)[1] - data.dt / 2) * 1e3)
        entry = info["spikes"].setdefault(pop, {"n_neurons": tag.get("n_neurons"), "spikes": 0,
                                                "realizations": 0, "recorded": None})
        if "recorded_ids" in g:  # the neurons recorded, when not all
            entry["recorded"] = len(set(g["recorded_ids"][:].tolist()))
        entry["spikes"] += n
        entry["realizations"] = int(tag.get("n_realizations", entry["realizations"] + 1))
        if entry["n_neurons"] is None and n:
            entry["n_neurons"] = int(checked_node_ids(ids, ids.astype(np.int64)[:n]).max()) + 1
    elif top == "report":
        var = tag.get("variable", "v")
        key = f"{pop}.{var}"
        if key in info["reports"]:
            return
        data, _, (_, _, step) = report_datasets(g)
        shape, step = data.shape, step / 1e3
        reals = int(tag.get("n_realizations", 1))
        cols = int(shape[1]) // reals if tag.get("nodes_per_realization") else int(shape[1])
        info["reports"][key] = {"population": pop, "variable": var, "neurons": cols,
                                "samples": int(shape[0]), "every_s": step,
                                "unit": attr(g["data"], "units", ""), "realizations": reals}
    elif "counts" in g:
        step = time_range(g, "time")[2] / 1e3 if "time" in g else None
        info["rates"][pop] = {"bins": int(g["counts"].shape[0]), "bin_width_s": step}


def _checkpoint_contents(path: Path) -> dict:
    """What ``spikesim info`` says of a checkpoint (``--checkpoint``'s file): where its run
    stands, instead of the contents of a recording, which it is not."""
    import h5py

    from .io import attr

    with h5py.File(path, "r") as f:
        info = {k: attr(f, k) for k in ("step", "t", "dt", "seed", "dtype", "batch",
                                         "created")}
        structure = attr(f, "structure", {}, as_json=True) or {}
        info["versions"] = attr(f, "versions", {}, as_json=True)
    info.update(file=str(path), kind="checkpoint", bytes=path.stat().st_size,
                populations=structure.get("populations", []),
                n_synapses=structure.get("n_synapses"))
    return info


def _show_checkpoint(info: dict) -> None:
    """Print :func:`_checkpoint_contents`, with how to go on."""
    print(f"{info['file']}  ({info['bytes'] / 1e6:.3g} MB, spikesim checkpoint"
          f"{', created ' + str(info['created'])[:19] if info.get('created') else ''})")
    print(f"state at t = {float(info['t']):g} s (step {int(info['step'])}), dt "
          f"{_time(float(info['dt']))}, seed {info['seed']}, batch {info['batch']}, "
          f"{info['dtype']}")
    pops = ", ".join(f"{name} ({cls}, {n})" for name, cls, n in info["populations"])
    print(f"populations: {pops or 'none'}; {info['n_synapses']} synapses")
    print(f"not a recording: continue the run with spikesim run FILE.toml -o OUT.h5 "
          f"--checkpoint {info['file']} --resume [--duration T] (the same file, --set and "
          f"--seed), or spikesim.load_checkpoint(net, path); its data is in OUT.h5")


def cmd_info(args: argparse.Namespace) -> int:
    """``spikesim info``: each file in turn (a blank line between), or, with ``--json``, one
    object (a list of them for several files). A file of several that cannot be read (missing,
    not a recording) is reported on stderr and the others are still shown; the exit status
    is then 2."""
    from .checkpoint import is_checkpoint

    infos, status = [], 0
    for path in args.files:
        try:
            info = (_checkpoint_contents(path) if path.is_file() and is_checkpoint(path)
                    else contents(path))
        except CliError as e:
            if len(args.files) == 1:
                raise
            print(f"{PROG} info: error: {e}", file=sys.stderr)
            status = e.status
            continue
        if not args.json:
            if infos:
                print()
            (_show_checkpoint if info.get("kind") == "checkpoint" else _show_recording)(info)
        infos.append(info)
    if args.json:
        print(json.dumps(infos[0] if len(args.files) == 1 else infos, indent=1, default=str))
    return status


def _show_recording(info: dict) -> None:
    """Print :func:`contents` of a recording."""
    size = info["bytes"]
    versions = info.get("versions") or {}
    made = f", spikesim {versions['spikesim']}" if "spikesim" in versions else ""
    if info.get("format_version") is not None:
        made += f", format {info['format_version']}"
    print(f"{info['file']}  ({size / 1e6:.3g} MB{made}"
          f"{', created ' + str(info['created'])[:19] if info.get('created') else ''})")
    if "duration" in info:
        if info["completed"]:
            status = "completed"
        else:
            status = ("NOT completed (interrupted, failed or killed): data up to t = "
                      f"{float(info['duration']):.6g} s")
        print(f"run: {status}")
        t0, t1 = float(info.get("t_start", 0.0)), float(info["duration"])
        wall = info.get("wall_time")
        ratio = (f" ({(t1 - t0) / wall:.3g}x real time)" if wall else "")
        print(f"simulated: {_time(t1 - t0)} (t = {t0:g} to {t1:g} s), "
              f"dt {_time(float(info['dt']))}, seed {info.get('seed')}, "
              f"batch {info.get('batch')}, {info.get('dtype')}"
              f"{f'; wall time {wall:.3g} s' if wall else ''}{ratio}")
    else:
        print("not written by spikesim (no /spikesim metadata): SONATA data only")
    tags = info.get("tags")
    if isinstance(tags, dict) and tags:
        print("tags: " + ", ".join(f"{k} = {v if isinstance(v, str) else json.dumps(v)}"
                                   for k, v in tags.items()))
    net = info.get("network")
    if net:
        pops = ", ".join(f"{p['name']} ({p['class']}, {p['n']})" for p in net.get(
            "populations", []))
        srcs = ", ".join(f"{s['name']} ({s['class']}, {s['n']})" for s in net.get(
            "sources", []))
        print(f"populations: {pops or 'none'}")
        if srcs:
            print(f"spike sources: {srcs}")
        for c in net.get("currents", []):
            print(f"current: {c['class']} into {c['target']}")
        prjs = net.get("projections", [])
        if prjs:
            syn = sum(p.get("n_synapses") or 0 for p in prjs)
            print(f"projections: {len(prjs)}, {syn} synapses: " + ", ".join(
                f"{p['pre']}->{p['post']} ({p['parameters'].get('rule')})" for p in prjs))
    if info["spikes"]:
        print("spikes:")
        for pop, e in info["spikes"].items():
            rate = f", {e['rate_hz']:.4g} Hz per neuron" if e.get("rate_hz") is not None else ""
            reals = f" x {e['realizations']} realizations" if e["realizations"] > 1 else ""
            some = f" ({e['recorded']} recorded)" if e["recorded"] is not None else ""
            print(f"  {pop}: {_many(e['n_neurons'], 'neuron')}{some}{reals}, "
                  f"{_many(e['spikes'], 'spike')}{rate}")
    if info["reports"]:
        print("state reports:")
        for key, e in info["reports"].items():
            every = f" every {_time(e['every_s'])}" if e["every_s"] else ""
            unit = {"": "", "1": " (dimensionless)"}.get(e["unit"], f" ({e['unit']})")
            reals = f" x {e['realizations']} realizations" if e["realizations"] > 1 else ""
            print(f"  {key}: {_many(e['neurons'], 'neuron')}{reals} x "
                  f"{_many(e['samples'], 'sample')}{every}{unit}")
    if info["rates"]:
        print("population rates:")
        for pop, e in info["rates"].items():
            print(f"  {pop}: {_many(e['bins'], 'bin')} of {_time(e['bin_width_s'])}")
    if not (info["spikes"] or info["reports"] or info["rates"]):
        print("no recorded data")


PLOTS = ("raster", "traces", "rate", "hist", "summary")


def cmd_plot(args: argparse.Namespace) -> int:
    """``spikesim plot``."""
    from . import plot

    info = contents(args.file)
    kind = args.kind
    pops = list(info["reports"]) if kind == "traces" else list(info["spikes"])
    if kind == "traces":
        choices = [e["population"] for e in info["reports"].values()
                   if e["variable"] == args.variable]
        what = f"state reports of {args.variable!r}"
    elif kind == "rate":  # from the spikes, else from the rates a RateRecorder wrote
        choices, what = pops + list(info["rates"]), "spikes or population rates"
    else:
        choices, what = pops, "spikes"
    choices = list(dict.fromkeys(choices))
    if not choices:
        reports = ", ".join(info["reports"]) or "none"
        raise CliError(f"{args.file} holds no {what}" + (
            f" (its state reports: {reports}; choose one with --variable)"
            if kind == "traces" else ""))
    pop = args.population
    every = kind == "raster" and pop is None and len(choices) > 1  # one above the other
    if pop is None and not every:
        if len(choices) != 1:
            raise CliError(f"{args.file} holds {what} of {len(choices)} populations "
                           f"({', '.join(choices) or 'none'}): choose one with --population")
        pop = choices[0]
    elif pop is not None and pop not in choices:
        have = list(info["reports"]) if kind == "traces" else choices
        raise CliError(f"{args.file} has no {what} of population {pop!r}; it has "
                       f"{'state reports' if kind == 'traces' else what} of: "
                       f"{', '.join(have) or 'none'}")
    out = args.output or args.file.with_name(
        f"{args.file.stem}_{kind}{'' if args.population is None else '_' + pop}.png")
    _check_outputs([out], args.overwrite, inputs=[args.file])
    try:
        plot.figure_format(out)
    except ValueError as e:
        raise CliError(f"-o: {e}") from None
    window = _plot_window(args, info)
    data = _open(args.file)
    try:
        if every:
            fig = plot.rasters([data.spikes(p, t_start=args.t_start, t_stop=args.t_stop)
                                for p in choices])
        elif kind == "traces":  # (v with its spikes marked, when the file has them; only
            marks = args.variable == "v" and pop in info["spikes"]  # the neurons drawn read)
            fig = plot.first_traces(args.file, population=pop, variable=args.variable,
                                    spikes=args.file if marks else None, t_range=window)
        elif kind == "rate" and pop not in info["spikes"]:
            rate = data.rate(pop)
            if args.bin_width and not math.isclose(args.bin_width, rate.meta["bin_width"]):
                raise CliError(f"--bin-width: {args.file} holds the rates of {pop!r} in bins "
                               f"of {rate.meta['bin_width']:g} s, not its spikes, to bin anew")
            fig = plot.recorded_rate(rate, t_range=window)
        else:
            spikes = data.spikes(pop, t_start=args.t_start, t_stop=args.t_stop)
            bin_width = args.bin_width or plot.default_bin_width(spikes)
            if kind == "raster":
                fig = plot.raster(spikes)
            elif kind == "rate":
                fig = plot.population_rate(spikes, bin_width)
                fig.set_title(f"{pop}: population rate ({bin_width * 1e3:g} ms bins)")
            elif kind == "hist":
                fig = plot.count_histogram(spikes)
                fig.set_title(f"{pop}: spike counts")
            else:
                has_v = f"{pop}.v" in info["reports"]
                fig = plot.summary(spikes, args.file if has_v else None, population=pop,
                                   bin_width=bin_width, t_range=window)
        plot.save(fig, out, dpi=args.dpi)
    except (OSError, ValueError, KeyError) as e:
        raise CliError(f"cannot draw {kind} of {pop or ', '.join(choices)} from {args.file}: "
                       f"{e}", 1) from None
    print(f"wrote {out}")
    return 0


def _plot_window(args: argparse.Namespace, info: dict) -> tuple | None:
    """(--t-start, --t-stop) for the plots (None: neither given), checked against each other
    and against the recorded interval, where the file gives it."""
    lo, hi = args.t_start, args.t_stop
    if lo is None and hi is None:
        return None
    if lo is not None and hi is not None and not lo < hi:
        raise CliError(f"--t-start must be before --t-stop, got {lo:g} s and {hi:g} s")
    start, end = info.get("t_start", 0.0), info.get("duration")
    if end is not None and ((lo is not None and lo >= end) or (hi is not None and hi <= start)):
        raise CliError(f"--t-start/--t-stop: {args.file} holds [{start:g}, {end:g}] s, "
                       f"which the window [{'' if lo is None else f'{lo:g}'}, "
                       f"{'' if hi is None else f'{hi:g}'}] s leaves out")
    return lo, hi


def find_bench(bench_dir: Path | None = None) -> Path | None:
    """The bench/ folder holding run.py: in ``bench_dir`` (the folder or its parent), else
    ./bench, else beside the imported spikesim package (a source checkout)."""
    import spikesim

    if bench_dir is not None:
        candidates = [bench_dir, bench_dir / "bench"]
    else:
        here = Path(spikesim.__file__).resolve().parent.parent
        candidates = [Path.cwd() / "bench", here / "bench"]
    return next((c.resolve() for c in candidates if (c / "run.py").is_file()), None)


def _import_bench(folder: Path) -> types.ModuleType:
    """``folder/run.py``, imported as ``bench.run`` (the package ``bench`` being ``folder``,
    whatever sys.path holds)."""
    loaded = sys.modules.get("bench")
    if loaded is None or [str(Path(p).resolve()) for p in getattr(loaded, "__path__", [])] != [
            str(folder)]:
        for name in [m for m in sys.modules if m == "bench" or m.startswith("bench.")]:
            del sys.modules[name]
        init = folder / "__init__.py"
        if init.is_file():
            spec = importlib.util.spec_from_file_location(
                "bench", init, submodule_search_locations=[str(folder)])
            module = importlib.util.module_from_spec(spec)
            sys.modules["bench"] = module
            spec.loader.exec_module(module)
        else:
            module = types.ModuleType("bench")
            module.__path__ = [str(folder)]
            sys.modules["bench"] = module
    return importlib.import_module("bench.run")


def cmd_bench(args: argparse.Namespace) -> int:
    """``spikesim bench``: runs bench/run.py's ``main``."""
    folder = find_bench(args.bench_dir)
    if folder is None:
        where = (f"{args.bench_dir} (nor {args.bench_dir / 'bench'})" if args.bench_dir
                 else "./bench or beside the installed spikesim package")
        raise CliError(f"no bench/run.py in {where}: the benchmarks live in the bench/ folder "
                       f"of spikesim's source repository, which is not installed; run this "
                       f"from a checkout or pass --bench-dir")
    argv = (["--quick"] if args.quick else []) + (
        ["--json", args.json] if args.json is not None else []) + (
        ["--only", args.only] if args.only is not None else []) + (
        ["--repeats", str(args.repeats)] if args.repeats is not None else [])
    run = _import_bench(folder)
    try:  # bench/run.py's check, as its main does, reported as this command's error
        run.check_options(args.only, args.json, args.repeats)
    except ValueError as e:
        raise CliError(str(e)) from None
    try:
        status = run.main(argv)
    except SystemExit as e:  # its own argparse errors
        status = e.code if isinstance(e.code, int) else 2
    return int(status or 0)
