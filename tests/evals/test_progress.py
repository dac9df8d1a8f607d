"""The eval's progress: a bar on a terminal (failures kept above it), lines elsewhere."""

from __future__ import annotations

import io

from voicegraph.evals import FileResult, ProgressBar


def ok(name: str) -> FileResult:
    return FileResult(name, f"{name}.wav", "virtual", reference="hi", wer=0.0, decisions=[1.0])


def test_off_a_terminal_every_file_gets_a_line() -> None:
    out = io.StringIO()
    bar = ProgressBar(out, tty=False)
    bar(1, 2, ok("a"))
    bar(2, 2, FileResult("b", "b.wav", "virtual", error="not a readable WAV file"))
    bar.close()
    assert out.getvalue().splitlines() == [
        "[1/2] a: WER 0.0 %, 1 turn (0.0 s)",
        "[2/2] b: ERROR not a readable WAV file",
    ]


def test_on_a_terminal_one_line_is_redrawn_and_failures_stay_above_it() -> None:
    now = [0.0]
    out = io.StringIO()
    bar = ProgressBar(out, tty=True, width=10, clock=lambda: now[0])
    now[0] = 30.0
    bar(1, 4, ok("a"))
    now[0] = 60.0
    cut = ok("b")
    cut.cutoffs = [0.5]
    bar(2, 4, cut)
    bar.close()
    text = out.getvalue()
    assert "\n" not in text.split("[2/4] b:")[0]  # nothing but the bar before the failure
    assert "\r[##--------] 1/4 files · 2.0/min · 1:30 left · a" in text
    assert "\r\x1b[2K[2/4] b: WER 0.0 %, 1 turn, 1 cut-off(s) (0.0 s)\n" in text
    assert text.endswith("\r[#####-----] 2/4 files · 2.0/min · 1:00 left · b\n")
