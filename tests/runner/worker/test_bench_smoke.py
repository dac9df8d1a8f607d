"""benchmarks/worker_bench runs end to end (tiny sizes; no timing thresholds)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[3]


def test_worker_bench_smoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sys.path.insert(0, str(ROOT))
    try:
        from benchmarks.worker_bench import main
    finally:
        sys.path.remove(str(ROOT))
    out = tmp_path / "results.json"
    args = ["--levels", "2", "--seconds", "1.5", "--latency-jobs", "1", "--repeat", "1"]
    assert main([*args, "--out", str(tmp_path / "scratch"), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "job start latency" in printed and "concurrent sessions" in printed
    results = json.loads(out.read_text())
    [level] = results["levels"]
    assert level["sessions"] == 2 and level["completed"] == 2 and not level["failed"]
    assert level["frames"] >= 2 * 60
    assert len(results["start_cold"]) == len(results["start_warm"]) == 1
