"""Smoke test of the benchmark suite: ``bench.run.main(["--quick", "--json", FILE])`` in-process."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import spikesim  # noqa: F401  (the package under test, imported before the repo root joins sys.path)

ROOT = Path(__file__).resolve().parents[1]
KEYS = {"workload", "variant", "median_s", "throughput", "ratios", "bar", "bar_met"}


def test_quick_bench_writes_json_rows(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))  # for the bench package, which is not installed
    from bench.run import SUITE_NAMES, main

    out = tmp_path / "bench.json"
    assert main(["--quick", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())
    assert {r["workload"] for r in rows} == set(SUITE_NAMES)
    for r in rows:
        assert KEYS <= r.keys(), r
        assert isinstance(r["ratios"], dict)
        assert r["bar"] is None and r["bar_met"] is None  # --quick reports no bars
    timed = [r for r in rows if r["throughput"] is not None]
    assert timed and all(r["median_s"] > 0 and r["throughput"] > 0 for r in timed)
    engine_w1a = next(r for r in rows if r["variant"].startswith("engine W1a") and "check" in r)
    assert "equals" in engine_w1a["check"]
    w2 = [r for r in rows if r["workload"] == "W2" and "no noise" in r["variant"]]
    assert next(r for r in w2 if r["variant"].startswith("reference: fused prange"))["spikes"] > 0
    assert "equals" in next(r for r in w2 if r["variant"].startswith("engine, f32, no noise, "))[
        "check"]  # the threshold, reset and refractory period included: spikes above
    cuba = next(r for r in rows if r["variant"].startswith("engine networks.cuba"))
    assert cuba["peak_rss_mib"] >= cuba["base_rss_mib"] > 0  # the fresh-interpreter probe


def test_w1b_numpy_reference_draws_the_same_workload(monkeypatch):
    """W1b's NumPy reference draws its own Bernoulli input: its spike count must match the
    given-input run's in law, and another seed must give other spikes (the input is really
    drawn). Over 4000 steps (~10,000 spikes each), within 5 standard errors of the difference,
    taken from the per-neuron counts (the neurons are independent): the former bound, 10 % of
    ~2600 spikes over 1000 steps, was only 2.9 standard errors (the counts are overdispersed)
    and failed for 0.4 % of seeds."""
    from dataclasses import replace

    import numpy as np

    monkeypatch.syspath_prepend(str(ROOT))
    from bench import references as R
    from bench import workloads as W

    w = replace(W.W1(), steps=4 * W.W1().steps)
    given = R.w1_numpy(w, w.given_input()).sum(axis=0)  # spikes per neuron
    drawn = R.w1_numpy_drawn(w)
    per_neuron = drawn.sum(axis=0)
    se = np.sqrt(w.n * (given.var(ddof=1) + per_neuron.var(ddof=1)))
    assert abs(per_neuron.sum() - given.sum()) < 5 * se, (per_neuron.sum(), given.sum(), se)
    assert (R.w1_numpy_drawn(replace(w, seed=2)) != drawn).any()


def test_paired_ratio_compares_calls_of_the_same_turn(monkeypatch):
    """The machine slows 3× after the first turn while the engine runs: the overall medians
    (3 s against 2 s) say the engine is slower than the reference; turn by turn it is 2× faster
    in every turn but one, and the median of those quotients says so. Blocks of calls count
    by their own median."""
    monkeypatch.syspath_prepend(str(ROOT))
    from bench.measure import Timing, paired_ratio

    engine = Timing(times=[1.0, 3.0, 3.0])
    reference = Timing(times=[2.0, 2.0, 6.0])
    assert engine.median_s > reference.median_s
    assert paired_ratio(engine, reference) == 2.0
    blocks = Timing(times=[1.0, 1.2, 9.0, 3.0, 3.0, 3.3], block=2)
    assert blocks.turns() == [1.1, 6.0, 3.15]
    assert paired_ratio(blocks, Timing(times=[2.2, 2.2, 12.0, 12.0, 1.0, 1.0], block=2)) == 2.0


def test_options_are_checked_before_anything_runs(tmp_path, monkeypatch, capsys):
    """python -m bench.run refuses an unknown or empty --only, a --json it could not write and
    --repeats below 1, in its argument parsing (status 2), before printing or running anything."""
    monkeypatch.syspath_prepend(str(ROOT))
    from bench import run

    for name in run.SUITE_NAMES:
        monkeypatch.setitem(run.SUITES, name, lambda ctx: pytest.fail("a suite ran"))
    suites = "give comma-separated suites among BW, W1, W2, W3, W4, JIT"
    for argv, words in (
            (["--only", "W9"], f"--only: unknown suite(s) 'W9'; {suites}"),
            (["--only", " "], f"--only: no suite given; {suites}"),
            (["--json", str(tmp_path / "no" / "x.json")],
             f"--json: cannot write {tmp_path / 'no' / 'x.json'}: the folder {tmp_path / 'no'} "
             "does not exist"),
            (["--json", str(tmp_path)], f"--json: cannot write {tmp_path}: it is a folder"),
            (["--repeats", "0"], "--repeats must be an integer >= 1, got 0")):
        with pytest.raises(SystemExit) as stop:
            run.main(["--quick", *argv])
        out, err = capsys.readouterr()
        assert stop.value.code == 2 and out == ""
        assert f"python -m bench.run: error: {words}\n" in err, err
    assert run.check_options(None, None, None) == list(run.SUITE_NAMES)
    assert run.check_options(" w1 ,JIT", str(tmp_path / "b.json"), 1) == ["W1", "JIT"]


@pytest.mark.cuda
def test_gpu_bench_runs_every_suite_on_the_simulator(tmp_path):
    """``bench.bench_gpu --simulator`` (tiny sizes on the CUDA simulator, in a subprocess that
    chooses it before numba.cuda is imported) runs every suite and writes its rows; the CPU
    and the simulated GPU agree in its CHECK rows."""
    out = tmp_path / "gpu.json"
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1",
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-m", "bench.bench_gpu", "--simulator", "--repeats",
                           "1", "--json", str(out)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = json.loads(out.read_text())
    assert {r["workload"] for r in rows} == {"BW", "W2", "W3", "CHECK"}
    checks = [r["check"] for r in rows if r["workload"] == "CHECK"]
    assert len(checks) == 4
    for c in checks:  # identical, or (float32 W2's final v) the same spike count
        counts = re.match(r"spikes cpu (\d+) / cuda (\d+)", c)
        assert c.startswith("identical") or (counts and counts[1] == counts[2]), c


def test_peer_rows_join_the_table_and_set_the_engines_ratio(monkeypatch):
    """Each importable peer runs in a probe; its row carries its throughput, and the engine's
    row for the same work gains the ratio named after the peer (spikesim over peer). Absent
    peers are reported, not an error; --quick skips them. The probe is faked here: CI has no
    peers installed."""
    monkeypatch.syspath_prepend(str(ROOT))
    from bench import peers
    from bench import run as B

    calls = []

    def fake_probe(args):
        calls.append(args)
        return {"median_s": 0.5, "spikes": 22_000, "rate_hz": 5.5, "build_s": 0.1}

    monkeypatch.setattr(B, "probe", fake_probe)
    monkeypatch.setattr(peers, "installed", lambda name: name != "nest")
    engine = B.row("W3", "engine networks.cuba", 0.05, 20.0, "sim s per wall s")
    rows = B._peer_rows(B.Context(quick=False, repeats=1), "W3", lambda name: engine)
    assert [r["variant"].split(",")[0] for r in rows] == [f"peer: {n}" for n in
                                                          peers.RUNNERS["W3"]]
    assert calls == [["peer", "W3", n] for n in peers.RUNNERS["W3"] if n != "nest"]
    ran = [r for r in rows if r["median_s"] is not None]
    assert all(r["throughput"] == peers.CUBA_S / 0.5 and r["build_s"] == 0.1 for r in ran)
    assert next(r for r in rows if "nest" in r["variant"])["note"] == "not installed"
    assert engine["ratios"] == {n: 20.0 / (peers.CUBA_S / 0.5) for n in peers.RUNNERS["W3"]
                                if n != "nest"}
    quick = B._peer_rows(B.Context(quick=True, repeats=1), "W1", lambda name: engine)
    assert {r["note"] for r in quick} <= {"skipped (--quick)", "not installed"}
    assert len(calls) == 2  # --quick probed nothing


def test_every_peer_case_names_an_importable_package_and_a_size(monkeypatch):
    """The peer table's bookkeeping agrees with itself: every runner has a package to look
    for, and every workload a size, a unit and a shape (a mismatch would only show on a
    machine with the peers installed)."""
    monkeypatch.syspath_prepend(str(ROOT))
    from bench import peers

    for workload, runners in peers.RUNNERS.items():
        assert set(runners) <= set(peers.PACKAGES)
        assert workload in peers.SIZES and workload in peers.SHAPES
        amount, unit = peers.work(workload)
        assert amount > 0 and unit in ("neuron-steps/s", "sim s per wall s")
    assert peers.INPUT_GIVEN <= set(peers.RUNNERS["W1"])
    assert peers.FLOAT32 <= set(peers.RUNNERS["W2"])


def test_w4_duration_test_tells_a_growing_recording(monkeypatch):
    """W4's "peak memory independent of duration", measured as the suite does: the in-memory
    spike monitor, which keeps every spike, must fail it (at 1× and 4× W1b's steps it grew
    0.1 MiB, under the 1 MiB the test allowed, so any recording passed); the HDF5 recorder,
    which writes every 256 KiB, must pass it."""
    from dataclasses import replace
    from functools import partial

    monkeypatch.syspath_prepend(str(ROOT))
    from bench import workloads as W
    from bench.measure import traced_peak_mib
    from bench.run import PEAK_MULTIPLES, duration_independent

    w = W.W1()
    W.w1_engine(w, None, W.MEMORY)  # kernels loaded, as after the suite's timings

    def peaks(rec):
        return [traced_peak_mib(partial(W.w1_engine, replace(w, steps=k * w.steps), None,
                                        W.without_readback(rec)))
                for k in PEAK_MULTIPLES["W1b"]]

    assert not duration_independent(*peaks(W.MEMORY))
    assert duration_independent(*peaks(W.HDF5))
def test_recording_memory_child_reports_its_own_peak(tmp_path, monkeypatch):
    """bench_recording's peak RSS is the child's own: ``ru_maxrss`` in a child that subprocess
    starts holds the parent's peak too (here 512 MiB more than the child ever used)."""
    import numpy as np

    monkeypatch.syspath_prepend(str(ROOT))
    from bench import bench_recording as B
    from bench.probe import _status_mib

    big = np.ones(2**26)  # 512 MiB touched, then freed: this process's peak
    del big
    out = B.run_child({"dt": 1e-3, "duration": 0.01, "v_neurons": 10, "every": 10,
                       "record": False, "path": str(tmp_path / "m.h5")})
    assert out["peak_mib"] < _status_mib("VmHWM") - 400


def test_w1_numpy_reference_gives_the_fused_loops_spikes(monkeypatch):
    """The NumPy reference runs the fused loop's arithmetic: the same raster, bit for bit."""
    import numpy as np

    monkeypatch.syspath_prepend(str(ROOT))
    from bench import references as R
    from bench import workloads as W

    for dtype in (np.float32, np.float64):
        w = W.W1(dtype=dtype)
        inp = w.given_input()
        assert np.array_equal(R.w1_numpy(w, inp), R.w1_fused(w, inp))
