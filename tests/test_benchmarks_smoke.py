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
    for section in (
        "1. per-hop overhead",
        "2. interruption",
        "3. slow sink",
        "4. scale",
        "5. text-only turn cost",
    ):
        assert section in out
    assert "targets:" in out


def test_unknown_benchmark_is_refused(bench_main: Main, capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_main(["--only", "nope"]) == 2
    assert "unknown benchmark" in capsys.readouterr().err


def test_turn_cost_reports_voicegraph_alone_and_its_breakdown(
    bench_main: Main, capsys: pytest.CaptureFixture[str]
) -> None:
    from benchmarks import turn_breakdown

    assert turn_breakdown.main(["--quick", "--clock", "virtual"]) == 0
    out = capsys.readouterr().out
    assert "RealClock: turn, median" in out and "VirtualClock: turn, p90" in out
    assert "peers not measured" in out
    assert "self time by module / package" in out
    assert "vg nodes/agent/_session" in out  # the profile saw the session's own code


def test_turn_cost_says_why_a_peer_was_not_measured(
    bench_main: Main, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-python"
    assert bench_main(["--quick", "--only", "turn_cost", "--peers", str(missing)]) == 0
    out = capsys.readouterr().out
    assert "not judged: 5. text-only turn cost" in out
    assert "no-such-python" in out


def test_the_breakdown_names_voicegraph_modules_wherever_it_is_installed() -> None:
    from benchmarks.turn_breakdown import group_of

    site = "/venv/lib/python3.11/site-packages"
    assert group_of(f"{site}/voicegraph/nodes/agent/_session.py") == "vg nodes/agent/_session"
    assert group_of(f"{site}/voicegraph/cli.py") == "vg voicegraph/cli"
    assert group_of(f"{site}/pydantic/main.py") == "pydantic"
