"""The spikesim command: demo, run (same spikes as the Python-built network), check, info,
plot, bench, progress bar, help texts, one-line errors."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import spikesim as ss
from spikesim import cli, netfile
from spikesim.demo import DEMO_TOML, FIGURES

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
    status, _, err = run_cli(capsys, "plot", demo, "--kind", "raster", "-o", tmp_path / "r.png")
    assert status == 2 and "--population" in one_line_error(err, "plot")  # exc or inh?
    status, _, err = run_cli(capsys, "plot", demo, "--kind", "traces", "-p", "inh")
    assert status == 2 and "exc.v" in one_line_error(err, "plot")
    status, _, err = run_cli(capsys, "plot", demo, "-p", "exc", "-o", tmp_path / "no" / "x.png")
    assert status == 2 and "does not exist" in one_line_error(err, "plot")
    status, _, err = run_cli(capsys, "plot", demo, "--kind", "pie")
    assert status == 2 and "invalid choice" in one_line_error(err, "plot")


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
    bar = cli.Progress(dt=1e-3, enabled=True, delay=0.0)
    for k in range(1, 5):
        bar(k * 250, 1000)
    bar.close()
    err = capsys.readouterr().err
    assert "simulated 1.000/1.000 s in" in err and "x real time" in err
    quiet = cli.Progress(dt=1e-3, enabled=False)
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
