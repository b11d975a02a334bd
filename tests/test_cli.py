"""The spikesim command: demo, run (same spikes as the Python-built network), check, info,
plot, bench, progress bar, help texts, one-line errors."""

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import spikesim as ss
from spikesim import cli, netfile
from spikesim.demo import DEMO_TOML, FIGURES
from spikesim.progress import ProgressBar

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
COMMANDS = ("demo", "run", "check", "info", "plot", "bench")


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    status = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def one_line_error(err: str, command: str) -> str:
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith(f"spikesim {command}: error: "), err
    return err


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    """The demo's recording (and figures), made once."""
    out = tmp_path_factory.mktemp("demo") / "demo.h5"
    assert cli.main(["demo", "-o", str(out), "--quiet"]) == 0
    return out


def test_demo_writes_recording_and_figures(demo, capsys):
    for kind in FIGURES:
        png = demo.with_name(f"demo_{kind}.png")
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = ss.load(demo)
    assert data.completed and set(data.populations) >= {"exc", "inh"}
    assert len(data.spikes("exc")) > 1000 and data.trace("exc", "v").values.shape[0] == 10000
    status, _, err = run_cli(capsys, "demo", "-o", demo)  # refuses to overwrite
    assert status == 2 and "--overwrite" in one_line_error(err, "demo")


def test_demo_toml_is_the_demo_network(capsys):
    status, out, _ = run_cli(capsys, "demo", "--toml")
    assert status == 0 and out == DEMO_TOML
    spec = netfile.parse(out)
    assert [p.fields["name"] for p in spec.populations] == ["exc", "inh"]


def test_info(demo, capsys):
    status, out, _ = run_cli(capsys, "info", demo)
    assert status == 0
    for words in ("run: completed", "dt 0.1 ms", "exc (LIF, 800)", "spikes:", "exc.v: 3 neurons",
                  "Hz per neuron", "population rates:"):
        assert words in out, out
    status, out, _ = run_cli(capsys, "info", demo, "--json")
    info = json.loads(out)
    assert info["completed"] and info["duration"] == 1.0
    assert info["spikes"]["exc"]["spikes"] == len(ss.load(demo).spikes("exc"))
    assert info["reports"]["exc.v"]["samples"] == 10000


def test_info_counts_one_in_the_singular_and_names_a_dimensionless_unit(tmp_path, capsys):
    path = tmp_path / "one.h5"
    net = ss.Network(dt=1e-3)
    lif = net.add(ss.LIF(1, tau_mem=10e-3, tau_syn=5e-3, v_th=0.3, units="1"), name="one")
    out = ss.H5Output(path)
    net.add(ss.StateRecorder(out, lif, "v", every=10))
    net.add(ss.SpikeRecorder(out, lif))
    net.run(0.01)
    status, text, _ = run_cli(capsys, "info", path)
    assert status == 0
    assert "one: 1 neuron, 0 spikes" in text and "one.v: 1 neuron x 1 sample every 10 ms " \
        "(dimensionless)" in text, text


def test_info_of_an_interrupted_run(tmp_path, capsys):
    path = tmp_path / "cut.h5"
    net = ss.Network(dt=1e-3, seed=1, chunk=50)
    pop = net.add(ss.LIF(20, v_th=0.3, units="1"), name="a")
    net.add(ss.ConstantCurrent(pop, 0.5))
    net.add(ss.SpikeRecorder(ss.H5Output(path), pop))

    def stop(done, total):
        if done >= 100:
            raise RuntimeError("stop")

    with pytest.raises(RuntimeError):
        net.run(1.0, progress=stop)
    status, out, _ = run_cli(capsys, "info", path)
    assert status == 0 and "NOT completed" in out and "t = 0.1 s" in out


@pytest.mark.parametrize("name", ["missing.h5", "text.h5", "folder"])
def test_info_of_unreadable_files(name, tmp_path, capsys):
    path = tmp_path / name
    if name == "text.h5":
        path.write_text("not HDF5")
    elif name == "folder":
        path.mkdir()
    status, _, err = run_cli(capsys, "info", path)
    assert status == 2 and str(path) in one_line_error(err, "info")


@pytest.mark.parametrize("kind", ["raster", "traces", "rate", "hist", "summary"])
def test_plot(kind, demo, tmp_path, capsys):
    out = tmp_path / f"{kind}.png"
    status, text, _ = run_cli(capsys, "plot", demo, "--kind", kind, "-o", out,
                              "--population", "exc")
    assert status == 0 and f"wrote {out}" in text
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_plot_errors(demo, tmp_path, capsys):
    status, _, err = run_cli(capsys, "plot", demo, "--kind", "rate", "-o", tmp_path / "r.png")
    assert status == 2 and "--population" in one_line_error(err, "plot")  # exc or inh?
    status, _, err = run_cli(capsys, "plot", demo, "--kind", "traces", "-p", "inh")
    assert status == 2 and "exc.v" in one_line_error(err, "plot")
    status, _, err = run_cli(capsys, "plot", demo, "-p", "exc", "-o", tmp_path / "no" / "x.png")
    assert status == 2 and "does not exist" in one_line_error(err, "plot")
    status, _, err = run_cli(capsys, "plot", demo, "--kind", "pie")
    assert status == 2 and "invalid choice" in one_line_error(err, "plot")
    for dpi in ("0", "2001", "100000"):  # 100000 used to end in MemoryError: std::bad_alloc
        status, _, err = run_cli(capsys, "plot", demo, "-p", "exc", "-o", tmp_path / "d.png",
                                 "--dpi", dpi)
        assert status == 2 and (f"argument --dpi: expected an integer from 1 to 2000, got "
                                f"'{dpi}'") in one_line_error(err, "plot")
    assert not (tmp_path / "d.png").exists()
    status, _, err = run_cli(capsys, "plot", demo, "-p", "exc", "-o", tmp_path / "x.txt")
    assert status == 2 and "-o: path must end in one of ." in one_line_error(err, "plot")
    assert not (tmp_path / "x.txt").exists()  # refused before drawing


def test_plot_overwrites_only_when_asked_and_never_its_input(demo, tmp_path, capsys,
                                                              monkeypatch):
    monkeypatch.chdir(tmp_path)
    rec = tmp_path / "rec"
    rec.write_bytes(demo.read_bytes())
    (tmp_path / "link").symlink_to(rec)
    os.link(rec, tmp_path / "hard")
    for out in ("rec", "./rec", "../" + tmp_path.name + "/rec", "link", "hard"):
        for more in ((), ("--overwrite",)):
            status, _, err = run_cli(capsys, "plot", "rec", "-p", "exc", "-o", out, *more)
            assert status == 2 and (f"cannot write {Path(out)}: it is the input file rec, which "
                                    f"--overwrite does not replace; choose another path with -o"
                                    in one_line_error(err, "plot"))
    assert ss.load(rec).completed  # still the recording
    status, text, _ = run_cli(capsys, "plot", rec, "-p", "exc", "-o", "r.png")
    assert status == 0 and "wrote r.png" in text
    first = Path("r.png").read_bytes()
    status, _, err = run_cli(capsys, "plot", rec, "-p", "exc", "-o", "r.png", "--dpi", "60")
    assert status == 2 and ("r.png already exists; pass --overwrite to replace, or choose "
                            "another path with -o" in one_line_error(err, "plot"))
    assert Path("r.png").read_bytes() == first
    status, text, _ = run_cli(capsys, "plot", rec, "-p", "exc", "-o", "r.png", "--dpi", "60",
                              "--overwrite")
    assert status == 0 and Path("r.png").read_bytes() != first


def cuba_in_python(duration: float) -> tuple[ss.Spikes, ss.Spikes]:
    """examples/cuba.toml written in Python."""
    net = ss.Network(dt=1e-4, seed=1)
    p = dict(tau_mem=20e-3, tau_syn=5e-3, tau_syn_inh=10e-3, v_leak=-49e-3, R=1.0,
             v_th=-50e-3, v_reset=-60e-3, refractory=5e-3, method="exact",
             v_init=ss.Uniform(-60e-3, -50e-3))
    exc = net.add(ss.LIF(3200, **p), name="exc")
    inh = net.add(ss.LIF(800, **p), name="inh")
    for pre, w, receptor in ((exc, 60 * 0.27 / 10 * 1e-3, "i"), (inh, -20 * 4.5 / 10 * 1e-3,
                                                                 "i_inh")):
        for post in (exc, inh):
            net.connect(pre, post, "random", p=0.02, weight=w, receptor=receptor)
    mons = net.add(ss.SpikeMonitor(exc)), net.add(ss.SpikeMonitor(inh))
    net.run(duration)
    return mons[0].spikes, mons[1].spikes


def test_run_cuba_gives_the_spikes_of_the_python_network(tmp_path, capsys):
    out = tmp_path / "cuba.h5"
    status, text, err = run_cli(capsys, "run", EXAMPLES / "cuba.toml", "-o", out,
                                "--duration", "0.2")
    assert status == 0, err
    assert "4000 neurons, 0.2 s simulated (2000 steps of 0.1 ms), seed 1" in text
    assert "simulating" not in err  # no progress bar when stderr is not a terminal
    data = ss.load(out)
    assert data.completed and data.meta["duration"] == pytest.approx(0.2)
    for name, expected in zip(("exc", "inh"), cuba_in_python(0.2)):
        got = data.spikes(name)
        assert len(got) > 100
        np.testing.assert_array_equal(got.ids, expected.ids)
        np.testing.assert_array_equal(np.rint(got.times / 1e-4), np.rint(expected.times / 1e-4))
    assert data.trace("exc", "v").values.shape == (2000, 1, 5)

    status, _, err = run_cli(capsys, "run", EXAMPLES / "cuba.toml", "-o", out)
    assert status == 2 and "already exists" in one_line_error(err, "run")


def test_run_overrides_and_overwrite(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    net = EXAMPLES / "lif_tutorial.toml"
    assert run_cli(capsys, "run", net, "--duration", "0.3", "--quiet")[0] == 0
    first = ss.load(tmp_path / "lif_tutorial.h5").spikes("lif")  # default: NAME.h5 in cwd
    assert first.t_stop == pytest.approx(0.3)
    status, _, err = run_cli(capsys, "run", net, "--duration", "0.3", "--seed", "5",
                             "--overwrite", "--threads", "1", "--flush-every", "0")
    assert status == 0, err
    other = ss.load(tmp_path / "lif_tutorial.h5")
    assert other.meta["seed"] == 5 and len(other.spikes("lif")) != len(first)


def test_run_with_a_broken_file_writes_nothing(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text((EXAMPLES / "lif_tutorial.toml").read_text().replace("p = 0.01", "p = 2"))
    out = tmp_path / "bad.h5"
    status, _, err = run_cli(capsys, "run", bad, "-o", out)
    assert status == 2 and "input[0].params.p" in one_line_error(err, "run")
    assert not out.exists()


def test_run_argument_errors(tmp_path, capsys):
    net = EXAMPLES / "lapicque.toml"
    for args, words in ((("--duration", "-1"), "seconds"), (("--flush-every", "-1"), "seconds"),
                        (("--threads", "0"), ">= 1"),
                        (("--seed", "x"), "integer"), (("--threads", "100000"), "at most"),
                        (("-o", tmp_path / "no" / "x.h5"), "does not exist")):
        status, _, err = run_cli(capsys, "run", net, *args)
        assert status == 2 and words in one_line_error(err, "run"), err


def test_run_never_writes_over_its_network_file(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = (EXAMPLES / "lapicque.toml").read_text()
    Path("small.toml").write_text(text)
    Path("link.toml").symlink_to(tmp_path / "small.toml")
    for out in ("small.toml", "./small.toml", tmp_path / "small.toml", "link.toml"):
        status, _, err = run_cli(capsys, "run", "small.toml", "-o", out, "--overwrite")
        assert status == 2 and (f"cannot write {Path(out)}: it is the input file small.toml, "
                                "which --overwrite does not replace" in one_line_error(err, "run"))
    Path("net.h5").write_text(text)  # a network file named like its default output
    status, _, err = run_cli(capsys, "run", "net.h5", "--overwrite")
    assert status == 2 and "it is the input file net.h5" in one_line_error(err, "run")
    assert Path("small.toml").read_text() == text == Path("net.h5").read_text()


def test_threads_are_for_the_cpu_backend(tmp_path, capsys):
    for command in (("run", EXAMPLES / "lapicque.toml"), ("demo",)):
        status, _, err = run_cli(capsys, *command, "--backend", "cuda", "--threads", "2", "-o",
                                 tmp_path / "x.h5")
        assert status == 2 and ("--threads sets the Numba threads of the CPU backend: it does "
                                "not apply to --backend cuda; drop --threads"
                                in one_line_error(err, command[0]))
    assert not (tmp_path / "x.h5").exists()


@pytest.mark.parametrize("command", COMMANDS)
def test_unknown_option_names_the_subcommand(command, capsys):
    needed = {"run": ["x.toml"], "check": ["x.toml"], "info": ["x.h5"], "plot": ["x.h5"]}
    status, out, err = run_cli(capsys, command, *needed.get(command, []), "--foo", "1")
    assert status == 2 and out == ""
    assert err == (f"spikesim {command}: error: unrecognized arguments: --foo 1 (see spikesim "
                   f"{command} --help)\n")


def test_run_refuses_a_duration_of_no_step(tmp_path, capsys):
    out = tmp_path / "x.h5"
    for duration, shown in (("0", "0"), ("4e-5", "4e-05")):  # dt = 0.1 ms
        status, text, err = run_cli(capsys, "run", EXAMPLES / "cuba.toml", "-o", out,
                                    "--duration", duration)
        assert status == 2 and "nan" not in text
        assert (f"nothing to simulate: --duration is {shown} s, 0 steps of dt = 0.1 ms; give a "
                f"duration of at least one step" in one_line_error(err, "run"))
        assert not out.exists()
    zero = tmp_path / "zero.toml"
    zero.write_text((EXAMPLES / "lapicque.toml").read_text().replace("duration = 0.2",
                                                                     "duration = 0.0"))
    status, _, err = run_cli(capsys, "run", zero, "-o", out)
    assert status == 2 and f"[network] duration of {zero} is 0 s" in one_line_error(err, "run")


def test_cuda_backend_unavailable_is_one_line(tmp_path, capsys):
    try:
        from numba import cuda
        if cuda.is_available():
            pytest.skip("a CUDA GPU is available")
    except ImportError:
        pass
    status, _, err = run_cli(capsys, "run", EXAMPLES / "lapicque.toml", "--backend", "cuda",
                             "-o", tmp_path / "x.h5")
    assert status == 2 and "cuda" in one_line_error(err, "run").lower()


def test_progress_bar_shows_simulated_and_wall_time(capsys):
    bar = ProgressBar(dt=1e-3, enabled=True, delay=0.0)
    for k in range(1, 5):
        bar(k * 250, 1000)
    bar.close()
    err = capsys.readouterr().err
    assert "simulated 1.000/1.000 s in" in err and "x real time" in err
    quiet = ProgressBar(dt=1e-3, enabled=False)
    quiet(10, 100)
    quiet.close()
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("command", COMMANDS)
def test_help_with_examples(command, capsys):
    status, out, _ = run_cli(capsys, command, "--help")
    assert status == 0 and "examples:" in out and f"spikesim {command}" in out
    for path in re.findall(r" -o (\S+)", out.split("examples:")[1]):
        assert Path(path).parent == Path("."), path  # works as written: no folder to create


def test_no_command_prints_help(capsys):
    status, _, err = run_cli(capsys)
    assert status == 2 and "spikesim demo" in err


def test_bench_runs_the_checkout_suite(tmp_path, capsys, monkeypatch):
    bench = tmp_path / "repo" / "bench"
    bench.mkdir(parents=True)
    (bench / "__init__.py").write_text("")
    (bench / "helper.py").write_text("NAME = 'fake bench'\n")
    (bench / "run.py").write_text(
        "from .helper import NAME\n"
        "def check_options(only, json_path, repeats):\n"
        "    return None\n"
        "def main(argv=None):\n"
        "    print(NAME, argv)\n"
        "    return 0\n")
    saved = {k: v for k, v in sys.modules.items() if k == "bench" or k.startswith("bench.")}
    try:
        status, out, _ = run_cli(capsys, "bench", "--quick", "--json", "b.json",
                                 "--bench-dir", tmp_path / "repo")
        assert status == 0 and "fake bench ['--quick', '--json', 'b.json']" in out
        monkeypatch.chdir(tmp_path / "repo")  # found in ./bench too
        status, out, _ = run_cli(capsys, "bench", "--only", "W1")
        assert status == 0 and "fake bench ['--only', 'W1']" in out
    finally:
        for k in [k for k in sys.modules if k == "bench" or k.startswith("bench.")]:
            del sys.modules[k]
        sys.modules.update(saved)
    status, _, err = run_cli(capsys, "bench", "--bench-dir", tmp_path / "nothing")
    assert status == 2 and "bench/ folder" in one_line_error(err, "bench")


def test_bench_header_says_what_runs(capsys, monkeypatch):
    root = Path(__file__).resolve().parents[1]
    saved = {k: v for k, v in sys.modules.items() if k == "bench" or k.startswith("bench.")}
    try:
        cli._import_bench(root / "bench")
        monkeypatch.setitem(sys.modules["bench.run"].SUITES, "W1", lambda ctx: [])
        status, out, _ = run_cli(capsys, "bench", "--quick", "--only", "W1", "--bench-dir", root)
    finally:
        for k in [k for k in sys.modules if k == "bench" or k.startswith("bench.")]:
            del sys.modules[k]
        sys.modules.update(saved)
    assert status == 0
    assert out.startswith("spikesim benchmarks (quick: reduced sizes): "), out
    assert "reference kernels compile at their first use" in out  # (a minute, said why)


def test_bench_checks_its_options_before_running(tmp_path, capsys, monkeypatch):
    root = Path(__file__).resolve().parents[1]
    saved = {k: v for k, v in sys.modules.items() if k == "bench" or k.startswith("bench.")}
    calls = []
    try:
        run = cli._import_bench(root / "bench")
        monkeypatch.setattr(run, "main", lambda argv: calls.append(argv) or 0)
        suites = "give comma-separated suites among BW, W1, W2, W3, W4, JIT"
        for args, words in (
                (("--only", "W9"), f"--only: unknown suite(s) 'W9'; {suites}"),
                (("--only", "W1,w9,"), f"--only: unknown suite(s) 'W9', ''; {suites}"),
                (("--only", ""), f"--only: no suite given; {suites}"),
                (("--json", tmp_path / "no" / "x.json"),
                 f"--json: cannot write {tmp_path / 'no' / 'x.json'}: the folder "
                 f"{tmp_path / 'no'} does not exist"),
                (("--json", tmp_path), f"--json: cannot write {tmp_path}: it is a folder"),
                (("--repeats", "0"), "argument --repeats: expected an integer >= 1")):
            status, out, err = run_cli(capsys, "bench", *args, "--bench-dir", root)
            assert status == 2 and words in one_line_error(err, "bench") and out == ""
        assert calls == []  # nothing ran
        status, _, _ = run_cli(capsys, "bench", "--only", " w1,JIT", "--json", tmp_path / "b.json",
                               "--bench-dir", root)
        assert status == 0 and calls == [["--json", str(tmp_path / "b.json"), "--only",
                                          " w1,JIT"]]
    finally:
        for k in [k for k in sys.modules if k == "bench" or k.startswith("bench.")]:
            del sys.modules[k]
        sys.modules.update(saved)


def test_closed_stdout_ends_quietly(demo):
    here = str(Path(ss.__file__).parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [here] + [p for p in [os.environ.get("PYTHONPATH")] if p])}
    read, write = os.pipe()
    os.close(read)  # as `spikesim info FILE | head` once head has left
    try:
        proc = subprocess.run([sys.executable, "-m", "spikesim", "info", str(demo)],
                              stdout=write, stderr=subprocess.PIPE, text=True, env=env,
                              timeout=120)
    finally:
        os.close(write)
    assert proc.stderr == "" and proc.returncode == 141


def test_python_dash_m_spikesim(demo):
    here = str(Path(ss.__file__).parent.parent)  # the spikesim imported by these tests
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [here] + [p for p in [os.environ.get("PYTHONPATH")] if p])}
    proc = subprocess.run([sys.executable, "-m", "spikesim", "info", str(demo)],
                          capture_output=True, text=True, env=env, cwd=demo.parent, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "run: completed" in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "spikesim", "check", "missing.toml"],
                          capture_output=True, text=True, env=env, cwd=demo.parent, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr == "spikesim check: error: missing.toml: no such file\n"


def test_info_rates_each_spike_group_over_its_own_interval(tmp_path):
    """A recorder added for the second of two 0.5 s runs: its rate over 0.5 s, not 1 s (the
    same as the analysis of the file's spikes)."""
    from spikesim import analysis
    from spikesim.cli import contents

    path = tmp_path / "r.h5"
    net = ss.Network(dt=1e-3, seed=1)
    poisson = net.add(ss.PoissonInput(50, rate=40.0), name="poi")
    out = ss.H5Output(path)
    net.add(ss.SpikeRecorder(out, poisson, name="early"))
    net.run(0.5)
    net.add(ss.SpikeRecorder(out, poisson, name="late"))
    net.run(0.5)
    info, run = contents(path), ss.load(path)
    for name in ("early", "late"):
        want = analysis.firing_rates(run.spikes(name)).mean()
        assert info["spikes"][name]["rate_hz"] == pytest.approx(want)
        assert 30 < want < 50


def test_plot_rate_of_a_file_holding_only_rates(tmp_path, capsys):
    import spikesim as ss

    path = tmp_path / "rates.h5"
    net = ss.Network(dt=1e-3)
    src = net.add(ss.SpikeTimes(4, [0.1, 0.2], [0, 1]), "a")
    net.add(ss.RateRecorder(ss.H5Output(path), src, bin_width=0.1))
    net.run(0.5)
    out = tmp_path / "rate.png"
    status, text, _ = run_cli(capsys, "plot", path, "--kind", "rate", "-o", out)
    assert status == 0 and f"wrote {out}" in text and out.read_bytes()[:4] == b"\x89PNG"
    status, _, err = run_cli(capsys, "plot", path, "--kind", "rate", "--bin-width", "0.2",
                             "-o", tmp_path / "r2.png")
    assert status == 2 and "bins of 0.1 s" in one_line_error(err, "plot")
    status, _, err = run_cli(capsys, "plot", path, "--kind", "raster", "-o", tmp_path / "x.png")
    assert status == 2 and "holds no spikes" in one_line_error(err, "plot")


def test_run_and_check_with_settings(tmp_path, capsys):
    net = EXAMPLES / "lif_tutorial.toml"
    status, out, err = run_cli(capsys, "check", net, "--set", "lif.n=50", "--set", "input.n=50")
    assert status == 0 and "ok: 1 population (50 neurons), 1 spike source, " in out, err
    out_h5 = tmp_path / "small.h5"
    status, stdout, err = run_cli(capsys, "run", net, "-o", out_h5, "--quiet", "--duration",
                                  "0.2", "--set", "lif.n=50", "--set", "input.n=50",
                                  "--set", "input.params.p=0.2", "--set", "network.batch=2")
    assert status == 0, err
    assert "(with --set lif.n=50 input.n=50 input.params.p=0.2 network.batch=2): 50 " in stdout
    data = ss.load(out_h5)
    s = data.spikes("lif")
    assert data.meta["batch"] == 2 and s.n_neurons == 50 and len(s) > 0
    status, _, err = run_cli(capsys, "run", net, "-o", tmp_path / "x.h5", "--set", "lif.n=0")
    assert status == 2 and "population[0].n" in one_line_error(err, "run")
    assert not (tmp_path / "x.h5").exists()


def _ckpt_run(tmp_path, *extra):
    """``spikesim run`` argv of the Norse tutorial file, 50 neurons, chunks of 40 steps."""
    return ["run", EXAMPLES / "lif_tutorial.toml", "--quiet", "--set", "lif.n=50",
            "--set", "input.n=50", "--set", "input.params.p=0.05", "--set", "network.chunk=40",
            *extra]


def _same_recordings(a: Path, b: Path) -> None:
    ra, rb = ss.load(a), ss.load(b)
    assert ra.completed and rb.completed and len(ra.spikes("lif")) > 50
    for field in ("times", "ids"):
        np.testing.assert_array_equal(getattr(ra.spikes("lif"), field),
                                      getattr(rb.spikes("lif"), field))
    np.testing.assert_array_equal(ra.trace("lif", "v").values, rb.trace("lif", "v").values)


def test_run_killed_then_resumed_from_its_checkpoint_equals_one_run(tmp_path, capsys):
    """A run saving a checkpoint after every chunk is killed (SIGKILL) after its third;
    ``--resume`` continues the file from there, equal to a run never stopped."""
    whole = tmp_path / "whole.h5"
    assert run_cli(capsys, *_ckpt_run(tmp_path, "-o", whole, "--duration", "0.6"))[0] == 0
    out, ckpt = tmp_path / "cut.h5", tmp_path / "cut.ckpt.h5"
    argv = [str(a) for a in _ckpt_run(tmp_path, "-o", out, "--duration", "0.6",
                                      "--checkpoint", ckpt, "--checkpoint-every", "0")]
    child = subprocess.run([sys.executable, "-c", f"""
import os, signal, sys
from spikesim import cli
save, saves = cli.Checkpoints.save, []
def killing_save(self):
    save(self)
    saves.append(1)
    if len(saves) == 3:
        os.kill(os.getpid(), signal.SIGKILL)
cli.Checkpoints.save = killing_save
sys.exit(cli.main({argv!r}))
"""], capture_output=True, text=True, timeout=300)
    assert child.returncode == -9, child.stderr[-2000:]
    status, _, err = run_cli(capsys, *_ckpt_run(tmp_path, "-o", out, "--duration", "0.6",
                                                "--checkpoint", ckpt, "--resume"))
    assert status == 0, err
    _same_recordings(out, whole)
    assert ss.load(out).meta["recovered"] is True  # the killed writer's flags were cleared


def test_run_terminated_saves_its_checkpoint_and_resumes_to_one_run(tmp_path, capsys):
    """SIGTERM (kill, timeout, a batch scheduler's time limit) stops a run as Ctrl-C does:
    after the chunk in progress, with the checkpoint saved (here long before the first
    periodic one), exit status 130; ``--resume`` then gives the run never stopped."""
    whole = tmp_path / "whole.h5"
    assert run_cli(capsys, *_ckpt_run(tmp_path, "-o", whole, "--duration", "0.6"))[0] == 0
    out, ckpt = tmp_path / "cut.h5", tmp_path / "cut.ckpt.h5"
    argv = [str(a) for a in _ckpt_run(tmp_path, "-o", out, "--duration", "0.6",
                                      "--checkpoint", ckpt)]
    child = subprocess.run([sys.executable, "-c", f"""
import os, signal, sys
from spikesim import cli
call, calls = cli.Checkpoints.__call__, []
def terminating(self, done, total):
    call(self, done, total)
    calls.append(1)
    if len(calls) == 3:
        os.kill(os.getpid(), signal.SIGTERM)
cli.Checkpoints.__call__ = terminating
sys.exit(cli.main({argv!r}))
"""], capture_output=True, text=True, timeout=300)
    assert child.returncode == 130, (child.returncode, child.stderr[-2000:])
    assert ckpt.exists() and "add --resume" in child.stderr
    status, _, err = run_cli(capsys, *_ckpt_run(tmp_path, "-o", out, "--duration", "0.6",
                                                "--checkpoint", ckpt, "--resume"))
    assert status == 0, err
    _same_recordings(out, whole)


def test_a_finished_run_goes_on_longer_with_resume(tmp_path, capsys):
    whole = tmp_path / "whole.h5"
    assert run_cli(capsys, *_ckpt_run(tmp_path, "-o", whole, "--duration", "0.5"))[0] == 0
    out, ckpt = tmp_path / "a.h5", tmp_path / "a.ckpt.h5"
    status, stdout, err = run_cli(capsys, *_ckpt_run(tmp_path, "-o", out, "--duration", "0.3",
                                                     "--checkpoint", ckpt))
    assert status == 0 and f"saved {ckpt}" in stdout, err
    status, stdout, err = run_cli(capsys, *_ckpt_run(tmp_path, "-o", out, "--duration", "0.5",
                                                     "--checkpoint", ckpt, "--resume"))
    assert status == 0 and "from t = 0.3 s" in stdout, err
    _same_recordings(out, whole)
    assert "recovered" not in ss.load(out).meta  # a file closed normally needs no recovery
    status, _, err = run_cli(capsys, *_ckpt_run(tmp_path, "-o", out, "--duration", "0.5",
                                                "--checkpoint", ckpt, "--resume"))
    assert status == 2 and "nothing to resume" in one_line_error(err, "run")


def test_checkpoint_and_resume_argument_errors(tmp_path, capsys):
    out, ckpt = tmp_path / "a.h5", tmp_path / "a.ckpt.h5"
    for extra, message in (
            (["-o", out, "--resume"], "--resume continues the run saved in --checkpoint"),
            (["-o", out, "--checkpoint", ckpt, "--resume"],
             f"the checkpoint {ckpt} does not exist")):
        status, _, err = run_cli(capsys, *_ckpt_run(tmp_path, *extra))
        assert status == 2 and message in one_line_error(err, "run")
    assert run_cli(capsys, *_ckpt_run(tmp_path, "-o", out, "--duration", "0.05"))[0] == 0
    status, _, err = run_cli(capsys, *_ckpt_run(tmp_path, "-o", out, "--checkpoint", out,
                                                "--overwrite"))
    assert status == 2 and "is the output file" in one_line_error(err, "run")
    notes = tmp_path / "notes.txt"
    notes.write_text("keep")
    status, _, err = run_cli(capsys, *_ckpt_run(tmp_path, "-o", out, "--checkpoint", notes,
                                                "--overwrite"))
    assert status == 2 and "is not a spikesim checkpoint" in one_line_error(err, "run")
    assert notes.read_text() == "keep"


def test_a_run_killed_after_a_checkpoint_resumes_with_rate_bins_across_chunks(
        tmp_path, capsys, monkeypatch):
    """Bins of 3 steps, chunks of 40: a periodic checkpoint is saved at a bin's end only (one
    inside a bin, followed by later flushes of the file, could not be resumed: the file's
    count of that bin holds spikes after the checkpoint)."""
    net = tmp_path / "rates.toml"
    net.write_text((EXAMPLES / "lif_tutorial.toml").read_text()
                   + '\n[[record]]\nkind = "rate"\npopulation = "lif"\nbin_width = 0.003\n')
    argv = ["run", net, "--quiet", "--set", "lif.n=50", "--set", "input.n=50",
            "--set", "input.params.p=0.05", "--set", "network.chunk=40", "--duration", "0.6"]
    whole, out = tmp_path / "whole.h5", tmp_path / "cut.h5"
    ckpt, first = tmp_path / "cut.ckpt.h5", tmp_path / "first.ckpt.h5"
    assert run_cli(capsys, *argv, "-o", whole)[0] == 0
    save = cli.Checkpoints.save

    def keeping_the_first(self):
        save(self)
        if not first.exists():
            first.write_bytes(ckpt.read_bytes())

    monkeypatch.setattr(cli.Checkpoints, "save", keeping_the_first)
    status, _, err = run_cli(capsys, *argv, "-o", out, "--checkpoint", ckpt,
                             "--checkpoint-every", "0", "--flush-every", "0")
    assert status == 0, err
    monkeypatch.setattr(cli.Checkpoints, "save", save)
    ckpt.write_bytes(first.read_bytes())  # killed later on: the file goes past that checkpoint
    status, _, err = run_cli(capsys, *argv, "-o", out, "--checkpoint", ckpt, "--resume")
    assert status == 0, err
    _same_recordings(out, whole)
    np.testing.assert_array_equal(ss.load(out).rate("lif").values,
                                  ss.load(whole).rate("lif").values)


def test_periodic_checkpoints_go_on_after_resuming_inside_a_rate_bin(tmp_path, capsys,
                                                                     monkeypatch):
    """Bins of 4 steps, chunks of 40: a run resumed at step 41 (saved at its end, inside a bin)
    still reaches bin ends between chunks, so its periodic checkpoints are saved (chunks of 40
    steps from step 41 would never end a bin)."""
    net = tmp_path / "rates.toml"
    net.write_text((EXAMPLES / "lif_tutorial.toml").read_text()
                   + '\n[[record]]\nkind = "rate"\npopulation = "lif"\nbin_width = 0.004\n')
    argv = ["run", net, "--quiet", "--set", "lif.n=50", "--set", "input.n=50",
            "--set", "input.params.p=0.05", "--set", "network.chunk=40"]
    whole, out, ckpt = tmp_path / "whole.h5", tmp_path / "cut.h5", tmp_path / "cut.ckpt.h5"
    assert run_cli(capsys, *argv, "--duration", "0.3", "-o", whole)[0] == 0
    assert run_cli(capsys, *argv, "--duration", "0.041", "-o", out, "--checkpoint", ckpt)[0] == 0
    save, steps = cli.Checkpoints.save, []

    def counting(self):
        steps.append(self.net.step)
        save(self)

    monkeypatch.setattr(cli.Checkpoints, "save", counting)
    status, _, err = run_cli(capsys, *argv, "--duration", "0.3", "-o", out, "--checkpoint", ckpt,
                             "--checkpoint-every", "0", "--resume")
    assert status == 0, err
    assert steps == [*range(80, 300, 40), 300]
    np.testing.assert_array_equal(ss.load(out).rate("lif").values,
                                  ss.load(whole).rate("lif").values)


def test_checkpoint_at_the_path_of_an_output_still_to_be_written_is_refused(tmp_path, capsys):
    out = tmp_path / "a.h5"
    status, stdout, err = run_cli(capsys, *_ckpt_run(tmp_path, "-o", out, "--duration", "0.05",
                                                     "--checkpoint", tmp_path / "." / "a.h5"))
    assert status == 2 and "is the output file" in one_line_error(err, "run")
    assert not out.exists() and "simulated" not in stdout


def test_the_interrupted_message_says_how_to_resume_a_run_started_with_overwrite(
        tmp_path, capsys, monkeypatch):
    out, ckpt = tmp_path / "a.h5", tmp_path / "a.ckpt.h5"
    argv = _ckpt_run(tmp_path, "-o", out, "--checkpoint", ckpt, "--overwrite")

    run = ss.Network.run

    def interrupted(self, duration, progress=None):  # Ctrl-C half way
        run(self, round(duration / self.dt) // 2 * self.dt, progress)
        raise KeyboardInterrupt

    monkeypatch.setattr(ss.Network, "run", interrupted)
    status, _, err = run_cli(capsys, *argv)
    assert status == 130 and "(without --overwrite)" in one_line_error(err, "run")
    monkeypatch.undo()
    status, _, err = run_cli(capsys, *[a for a in argv if a != "--overwrite"], "--resume")
    assert status == 0, err


def test_the_demo_run_again_in_its_folder_replaces_its_own_files(tmp_path, capsys,
                                                                 monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run_cli(capsys, "demo", "--quiet")[0] == 0
    status, out, err = run_cli(capsys, "demo", "--quiet")
    assert status == 0 and "replacing the files of an earlier demo here" in out, err
    assert f"figures, in {tmp_path.resolve()}:" in out  # (where they are, in full)
    assert ss.load(tmp_path / "spikesim_demo.h5").completed


def test_a_raster_of_a_file_of_several_populations_draws_them_all(demo, tmp_path, capsys):
    status, out, err = run_cli(capsys, "plot", demo, "--kind", "raster", "-o",
                               tmp_path / "r.png")
    assert status == 0 and (tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG", err


CONSTANT_NET = """\
[network]
dt = 1e-3
duration = 0.01

[[population]]
name = "p"
model = "LIF"
n = 2
params = { units = "1", tau_mem = 0.01 }

[[input]]
kind = "constant"
target = "p"
params = { amplitude = 5.0 }
"""


@pytest.mark.parametrize("where", ["--duration", "file"])
def test_a_duration_off_the_step_grid_warns_and_is_reported_as_run(where, tmp_path, capsys):
    """`spikesim run` with a duration that is not a whole number of steps warns with the
    rounding used (as Network.run does, and the README promises) and reports the time it
    simulated — in its summary and in the rates it prints — not the duration typed."""
    path, out = tmp_path / "net.toml", tmp_path / "out.h5"
    if where == "file":
        path.write_text(CONSTANT_NET.replace("duration = 0.01", "duration = 0.0124"))
        extra = []
    else:
        path.write_text(CONSTANT_NET)
        extra = ["--duration", "0.0124"]
    status = cli.main(["run", str(path), "-o", str(out), "-q", *extra])
    stdout, err = capsys.readouterr()
    assert status == 0, err
    assert "not a whole number of steps" in err and "rounded to 12 steps" in err, err
    data = ss.load(out)
    assert data.meta["duration"] == pytest.approx(0.012)
    assert "0.012 s simulated (12 steps" in stdout, stdout
    assert "0.0124" not in stdout, stdout
    n_spikes = len(data.spikes("p"))
    m = re.search(r"  p: (\d+) spikes, (\S+) Hz per neuron", stdout)
    assert m and int(m[1]) == n_spikes > 0, stdout
    assert float(m[2]) == pytest.approx(n_spikes / (2 * 0.012), rel=1e-2), stdout


NO_STEP_NET = ("[network]\ndt = 1e-3\nduration = {d}\n\n[[population]]\nname = \"p\"\n"
               "model = \"LIF\"\nn = 2\nparams = {{ units = \"1\" }}\n")


@pytest.mark.parametrize("duration", ["0.0", "4e-4"])
def test_check_and_run_agree_on_a_duration_of_no_step(duration, tmp_path, capsys):
    """`spikesim check` refuses a file that `spikesim run` refuses for its duration (0 steps of
    dt), with the same one-line error and status 2, instead of saying "ok"."""
    path = tmp_path / "net.toml"
    path.write_text(NO_STEP_NET.format(d=duration))
    statuses = []
    for command in (["check", str(path)], ["run", str(path), "-o", str(tmp_path / "o.h5")]):
        statuses.append(cli.main(command))
        _, err = capsys.readouterr()
        assert f"error: {path}: network.duration: nothing to simulate: [network] duration of " \
            f"{path} is" in err, err  # (starts "FILE: KEY:", as every error of a file)
        assert err.count("\n") == 1
    assert statuses == [2, 2]
    assert cli.main(["check", str(path), "--set", "network.duration=1e-3"]) == 0


SOURCES_ONLY_NET = "[network]\ndt = 1e-3\nduration = 0.01\n" \
               "[[input]]\nname = \"s\"\nkind = \"poisson\"\nn = 3\nparams = { rate = 100.0 }\n"


@pytest.mark.parametrize("text", ["[network]\ndt = 1e-3\nduration = 0.01\n", SOURCES_ONLY_NET])
def test_a_run_never_claims_a_file_it_did_not_write(text, tmp_path, capsys):
    """`spikesim run` of a file that records nothing (no [[record]], no population) said "wrote
    OUT.h5" and suggested `spikesim info OUT.h5`, but wrote no file."""
    path, out = tmp_path / "net.toml", tmp_path / "out.h5"
    path.write_text(text)
    status = cli.main(["run", str(path), "-o", str(out), "-q"])
    stdout, err = capsys.readouterr()
    assert out.exists() or f"wrote {out}" not in stdout, stdout
    if not out.exists():
        assert status == 2 and "nothing to record" in err and err.count("\n") == 1, err
    # recording the source works
    path.write_text(SOURCES_ONLY_NET + "[[record]]\nkind = \"spikes\"\npopulation = \"s\"\n")
    assert cli.main(["run", str(path), "-o", str(out), "-q", "--overwrite"]) == 0
    assert out.exists()


SHORT_NET = ("[network]\ndt = 1e-3\nduration = 0.01\n\n[[population]]\nname = \"p\"\n"
             "model = \"LIF\"\nn = 2\nparams = { units = \"1\" }\n")


def test_a_too_long_duration_option_is_blamed_on_the_option(tmp_path, capsys):
    """a --duration of too many steps is reported as --duration's error, not as the network
    file's `network.duration` key (which the file may give right)."""
    path = tmp_path / "net.toml"
    path.write_text(SHORT_NET)
    status = cli.main(["run", str(path), "-o", str(tmp_path / "o.h5"), "--duration", "1e300"])
    _, err = capsys.readouterr()
    assert status == 2 and err.count("\n") == 1, err
    assert "network.duration" not in err and "--duration" in err, err
    assert not (tmp_path / "o.h5").exists()


def test_info_of_a_checkpoint_says_what_it_is_and_load_refuses_it(tmp_path, capsys):
    """A checkpoint (``--checkpoint``'s file) is not a recording: ``spikesim info`` says where
    its run stands and how to resume it, ``spikesim.load`` refuses it by name; neither reads
    it as an empty SONATA file "not written by spikesim"."""
    out, ckpt = tmp_path / "a.h5", tmp_path / "a.ckpt.h5"
    assert run_cli(capsys, *_ckpt_run(tmp_path, "-o", out, "--duration", "0.2",
                                      "--checkpoint", ckpt))[0] == 0
    status, stdout, err = run_cli(capsys, "info", ckpt)
    assert status == 0 and "spikesim checkpoint" in stdout and "t = 0.2 s" in stdout, err
    assert "not written by spikesim" not in stdout and "--resume" in stdout
    status, stdout, _ = run_cli(capsys, "info", ckpt, "--json")
    assert status == 0 and json.loads(stdout)["kind"] == "checkpoint"
    with pytest.raises(ValueError, match="is a spikesim checkpoint"):
        ss.load(ckpt)
    status, _, err = run_cli(capsys, "plot", ckpt, "-o", tmp_path / "x.png")
    assert status == 2 and "is a spikesim checkpoint" in one_line_error(err, "plot")
    # several files, as a sweep's: each in turn, a list in JSON
    status, stdout, _ = run_cli(capsys, "info", out, ckpt)
    recording, checkpoint = stdout.split("\n\n")
    assert status == 0 and recording.startswith(str(out)) and "run: completed" in recording
    assert checkpoint.startswith(str(ckpt)) and "spikesim checkpoint" in checkpoint
    status, stdout, _ = run_cli(capsys, "info", out, ckpt, "--json")
    assert [i.get("kind") for i in json.loads(stdout)] == [None, "checkpoint"]


def test_a_sigterm_ignored_by_whoever_started_the_run_stays_ignored():
    """``trap '' TERM`` (or a launcher shielding its workers from a group-wide SIGTERM) is
    respected, as an ignored SIGINT is: the run does not turn that SIGTERM into a stop."""
    old = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        with cli._terminate_as_interrupt():
            assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the default: stopped as by Ctrl-C
        with cli._terminate_as_interrupt():
            assert signal.getsignal(signal.SIGTERM) is cli._interrupted
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    finally:
        signal.signal(signal.SIGTERM, old)


def test_a_file_open_in_another_process_is_neither_overwritten_nor_resumed(tmp_path, capsys):
    """A run's output while another holds it (a shared lock, as a running writer holds one):
    --overwrite used to replace it under the running writer, whose data then went into a
    deleted file, and --resume cleared its write flags and cut its datasets, then failed.
    Both are refused, and the file is left as it was; once it is closed, both go on."""
    out, ckpt = tmp_path / "a.h5", tmp_path / "a.ckpt.h5"
    assert run_cli(capsys, *_ckpt_run(tmp_path, "-o", out, "--duration", "0.1",
                                      "--checkpoint", ckpt))[0] == 0
    before = out.read_bytes()
    held = ss.io.hold_writer_lock(out)
    try:
        for extra, says in ((["--overwrite"], f"{out}: open in another process (a run writing "
                                              f"it, or a program reading it), which --overwrite "
                                              f"does not interrupt"),
                            (["--checkpoint", ckpt, "--resume", "--duration", "0.2"],
                             f"cannot resume: {out} is open in another process")):
            status, _, err = run_cli(capsys, *_ckpt_run(tmp_path, "-o", out, *extra))
            assert status == 2 and says in one_line_error(err, "run")
        with pytest.raises(OSError, match="open in another process"):
            ss.io.recover(out)
        assert out.read_bytes() == before
    finally:
        ss.io.release_writer_lock(held)
    status, _, err = run_cli(capsys, *_ckpt_run(tmp_path, "-o", out, "--checkpoint", ckpt,
                                                "--resume", "--duration", "0.2"))
    assert status == 0, err


def test_a_run_tags_its_file_with_the_values_of_its_set_options(tmp_path, capsys):
    """The point of a sweep reads back as values, not only inside the command line: --set
    KEY=VALUE gives meta["tags"]["set"][KEY], VALUE as TOML reads it (the last one of a key)."""
    out = tmp_path / "a.h5"
    argv = ("run", str(EXAMPLES / "lif_tutorial.toml"), "-o", str(out), "--quiet",
            "--set", "network.duration=0.01", "--set", "population[0].params.tau_mem=0.02",
            "--set", "population[0].params.tau_mem=0.03", "--set", "population[0].params.v_th="
            "{ distribution = \"uniform\", low = 0.2, high = 0.4 }")
    assert run_cli(capsys, *argv)[0] == 0
    tags = ss.load(out).meta["tags"]
    assert tags["set"] == {"network.duration": 0.01, "population[0].params.tau_mem": 0.03,
                           "population[0].params.v_th": {"distribution": "uniform",
                                                         "low": 0.2, "high": 0.4}}
    assert tags["command"].startswith("spikesim run ")
    assert run_cli(capsys, "run", str(EXAMPLES / "lif_tutorial.toml"), "-o",
                   str(tmp_path / "b.h5"), "--quiet", "--duration", "0.01")[0] == 0
    assert "set" not in ss.load(tmp_path / "b.h5").meta["tags"]


def test_a_run_tags_its_file_with_its_command_line(tmp_path, capsys):
    """The points of a sweep (--set, --seed) tell apart in spikesim info."""
    out = tmp_path / "a.h5"
    argv = ("run", str(EXAMPLES / "cuba.toml"), "-o", str(out), "--set",
            "network.duration=0.01", "--set", "exc.params.tau_mem=0.03", "--seed", "4")
    assert run_cli(capsys, *argv)[0] == 0
    command = ss.load(out).meta["tags"]["command"]
    assert command.startswith("spikesim run ") and command.endswith(
        "--set network.duration=0.01 --set exc.params.tau_mem=0.03 --seed 4")
    status, text, _ = run_cli(capsys, "info", out)
    assert status == 0 and f"tags: command = {command}" in text


def test_info_of_several_files_shows_the_others_when_one_cannot_be_read(demo, tmp_path, capsys):
    """spikesim info sweep/*.h5 with a file missing or not a recording: that file's error on
    stderr, every other one shown (none were: the first error ended the command), status 2."""
    bad = tmp_path / "bad.h5"
    bad.write_text("not HDF5")
    missing = tmp_path / "missing.h5"
    status, stdout, err = run_cli(capsys, "info", demo, missing, bad, demo)
    assert status == 2
    assert stdout.count("run: completed") == 2 and stdout.count(f"{demo}  (") == 2
    assert err.count("spikesim info: error: ") == 2
    assert f"{missing}: no such file" in err and str(bad) in err
    status, stdout, err = run_cli(capsys, "info", missing, demo, "--json")
    assert status == 2 and [i["file"] for i in json.loads(stdout)] == [str(demo)]
    status, stdout, err = run_cli(capsys, "info", missing)  # (one file: as before)
    assert status == 2 and not stdout and "no such file" in one_line_error(err, "info")
