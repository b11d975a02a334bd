"""Smoke test of the benchmark suite: ``bench.run.main(["--quick", "--json", FILE])`` in-process."""

import json
from pathlib import Path

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
    cuba = next(r for r in rows if r["variant"].startswith("engine networks.cuba"))
    assert cuba["peak_rss_mib"] >= cuba["base_rss_mib"] > 0  # the fresh-interpreter probe
