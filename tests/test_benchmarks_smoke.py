"""Smoke test: the benchmark suite runs end to end in quick mode and prints its table.

Only that it runs is checked; no wall-clock thresholds (timings depend on the machine).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


Main = Callable[[list[str] | None], int]


@pytest.fixture
def bench_main(monkeypatch: pytest.MonkeyPatch) -> Main:
    monkeypatch.syspath_prepend(str(ROOT))  # benchmarks/ is not part of the installed package
    from benchmarks import main

    return main


def test_quick_run_prints_the_table(bench_main: Main, capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "voicegraph benchmarks (quick run" in out
    assert "voicegraph" in out and "base (a)" in out and "base (b)" in out
    for section in ("1. per-hop overhead", "2. interruption", "3. slow sink", "4. scale"):
        assert section in out
    assert "targets:" in out


def test_unknown_benchmark_is_refused(bench_main: Main, capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_main(["--only", "nope"]) == 2
    assert "unknown benchmark" in capsys.readouterr().err
