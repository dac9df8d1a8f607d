"""voicegraph.evals: corpus parsing, per-file measures and the report, on scripted engines and
the virtual clock (the VAD is Silero on real speech from the bundled question)."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from voicegraph.cli import app
from voicegraph.evals import (
    EvalSettings,
    FileResult,
    FileSpec,
    Report,
    Verdict,
    compare,
    evaluate,
    evaluate_file,
    failures,
    load_corpus,
    one_sentence,
    render_html,
    render_markdown,
    render_timeline,
    speech_runs,
)
from voicegraph.graph import Clock, ConfigError
from voicegraph.nodes.agent import Agent, AgentSession
from voicegraph.nodes.samples import sample_path
from voicegraph.testing import (
    ScriptedLLM,
    ScriptedReply,
    ScriptedSTT,
    ScriptedToolCall,
    ScriptedTTS,
)

RATE = 16000


def speech(seconds: float) -> np.ndarray[Any, Any]:
    pcm, _ = sf.read(sample_path("question"), dtype="int16")
    piece = pcm[int(0.512 * RATE) : int(2.0 * RATE)]
    return np.tile(piece, 4)[: int(seconds * RATE)]


def write(path: Path, said: list[tuple[float, float]], seconds: float) -> Path:
    out = np.zeros(int(seconds * RATE), np.int16)
    for start, duration in said:
        piece = speech(duration)
        out[int(start * RATE) : int(start * RATE) + len(piece)] = piece
    sf.write(path, out, RATE, subtype="PCM_16")
    return path


class Tools(Agent):
    def __init__(self) -> None:
        from voicegraph.nodes.tools import function_tool

        @function_tool
        async def lookup(city: str) -> str:
            """Look the weather up.

            Args:
                city: the city.
            """
            return "sunny"

        super().__init__(instructions="Help.", tools=[lookup])


def plain_agent() -> Agent:
    return Agent(instructions="Help.")


def scripted(clock: Clock) -> AgentSession[Any]:
    """Every transcript is "hello there" and every reply "Hi!" (module level: picklable)."""
    return AgentSession(
        stt=ScriptedSTT(texts=["hello there"] * 5), llm=ScriptedLLM(replies=["Hi!"] * 5),
        tts=ScriptedTTS(), clock=clock,
    )  # fmt: skip


def tool_session(clock: Clock) -> AgentSession[Any]:
    call = ScriptedToolCall(name="lookup", arguments={"city": "Oslo"})
    reply = ScriptedReply(tool_calls=[call], text="Sunny.")
    return AgentSession(
        stt=ScriptedSTT(texts=["weather in oslo"]), llm=ScriptedLLM(replies=[reply]),
        tts=ScriptedTTS(), clock=clock,
    )  # fmt: skip


SETTINGS = EvalSettings(session=scripted)


# ------------------------------------------------------------------------------- corpus


def test_a_manifest_gives_expectations_and_bad_lines_become_per_file_errors(tmp_path: Path) -> None:
    (tmp_path / "m.jsonl").write_text(
        '{"audio": "a.wav", "transcript": "hello there", "tool_calls": ["lookup"]}\n'
        "\n# a comment\n"
        "{not json\n"
        '{"transcript": "no audio"}\n'
        '{"audio": "b.wav", "tool_calls": "lookup"}\n'
        '{"audio": "c.wav", "transcript": "", "reply_intent": "stay quiet", "id": "quiet"}\n'
        '{"audio": "c.wav", "id": "quiet"}\n'
    )
    specs = load_corpus(tmp_path / "m.jsonl")
    assert [s.id for s in specs] == [
        "a.wav", "m.jsonl line 4", "m.jsonl line 5", "m.jsonl line 6", "quiet", "m.jsonl line 8"
    ]  # fmt: skip
    first = specs[0]
    assert first.audio == str((tmp_path / "a.wav").resolve())
    assert (first.transcript, first.tool_calls, first.error) == ("hello there", ("lookup",), None)
    assert "not JSON" in (specs[1].error or "")
    assert '"audio"' in (specs[2].error or "") and "required" in (specs[2].error or "")
    assert "list of tool names" in (specs[3].error or "")
    assert specs[4].transcript == "" and specs[4].reply_intent == "stay quiet"
    assert "appears twice" in (specs[5].error or "")


def test_a_folder_is_every_wav_in_it_sorted(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    for name in ("b.wav", "a.WAV", "sub/c.wav", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    assert [s.id for s in load_corpus(tmp_path)] == ["a.WAV", "b.wav", "sub/c.wav"]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing", "does not exist"),
        (lambda p: p, "holds no .wav"),
        (lambda p: (p / "x.txt").write_text("x") and p / "x.txt", "neither a folder"),
        (
            lambda p: (p / "e.jsonl").write_text("\n# only a comment\n") and p / "e.jsonl",
            "no entry",
        ),
    ],
)
def test_an_unusable_corpus_is_a_clear_error(tmp_path: Path, make: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_corpus(make(tmp_path))


def test_sentences_and_speech_runs() -> None:
    assert one_sentence("ask not what your country can do for you, ask what you can do.")
    assert one_sentence("Mr. Smith") is False  # an abbreviation reads as two: not judged
    assert not one_sentence("Hello there. How are you?")
    pcm = np.zeros(3 * RATE, np.int16)
    pcm[RATE : 2 * RATE] = speech(1.0)
    pcm[int(2.5 * RATE) : int(2.54 * RATE)] = 20000  # a 40 ms click is not speech
    runs = speech_runs(pcm, RATE)
    assert len(runs) >= 1 and runs[0][0] >= 1.0 and runs[-1][1] <= 2.0


# ------------------------------------------------------------------------------ per file


def test_a_clean_turn_is_measured(tmp_path: Path) -> None:
    wav = write(tmp_path / "one.wav", [(0.5, 1.5)], 5.0)
    spec = FileSpec("one", str(wav), transcript="Hello there!")
    result = evaluate_file(spec, plain_agent, SETTINGS)
    assert result.error is None, result.error
    assert result.transcript == "hello there" and result.wer == 0.0
    assert len(result.decisions) == 1 and result.decisions[0] > 2.0
    assert result.cutoffs_judged and result.cutoffs == [] and result.missed_turn is False
    assert result.replies == ["Hi!"] and result.noise_replies is None
    assert result.voice_to_voice and all(v > 0 for v in result.voice_to_voice)
    again = evaluate_file(spec, plain_agent, SETTINGS)  # the virtual clock: deterministic
    assert (again.decisions, again.voice_to_voice) == (result.decisions, result.voice_to_voice)
    assert pickle.loads(pickle.dumps(result)) == result  # a Ray task can return it


def test_a_decision_inside_one_sentence_is_a_premature_cut_off(tmp_path: Path) -> None:
    # one sentence with a 2 s pause inside: the agent takes the turn in the pause
    wav = write(tmp_path / "paused.wav", [(0.5, 1.5), (4.0, 1.5)], 8.0)
    result = evaluate_file(FileSpec("p", str(wav), transcript="hello there my friend"),
                           plain_agent, SETTINGS)  # fmt: skip
    assert result.error is None, result.error
    assert len(result.decisions) == 2
    assert result.cutoffs == result.decisions[:1] and 2.0 < result.cutoffs[0] < 4.0
    # two sentences: a turn between them is legitimate, so not judged
    two = evaluate_file(FileSpec("p2", str(wav), transcript="Hello there. My friend."),
                        plain_agent, SETTINGS)  # fmt: skip
    assert two.cutoffs == [] and not two.cutoffs_judged


def test_replies_to_noise_and_missed_turns(tmp_path: Path) -> None:
    wav = write(tmp_path / "speech.wav", [(0.5, 1.5)], 5.0)
    noise = evaluate_file(FileSpec("n", str(wav), transcript=""), plain_agent, SETTINGS)
    assert noise.noise_replies == 1 and noise.wer is None
    silent = write(tmp_path / "silent.wav", [], 3.0)
    missed = evaluate_file(FileSpec("m", str(silent), transcript="hello"), plain_agent, SETTINGS)
    assert missed.missed_turn is True and missed.wer == 1.0 and missed.replies == []
    quiet = evaluate_file(FileSpec("q", str(silent), transcript=""), plain_agent, SETTINGS)
    assert quiet.noise_replies == 0


def test_tool_calls_are_compared_with_the_expected_ones(tmp_path: Path) -> None:
    wav = write(tmp_path / "w.wav", [(0.5, 1.5)], 6.0)
    settings = EvalSettings(session=tool_session)
    good = evaluate_file(FileSpec("g", str(wav), tool_calls=("lookup",)), Tools, settings)
    assert good.error is None, good.error
    assert good.tool_calls == ["lookup"] and good.tools_ok is True
    assert good.replies == ["Sunny."]
    bad = evaluate_file(FileSpec("b", str(wav), tool_calls=("book",)), Tools, settings)
    assert bad.tools_ok is False


def judge(intent: str, transcript: str, reply: str) -> Verdict:
    return Verdict(passed="Hi" in reply, reason=f"{intent}: {reply}")


def test_the_judge_sees_the_intent_the_transcript_and_the_reply(tmp_path: Path) -> None:
    wav = write(tmp_path / "w.wav", [(0.5, 1.5)], 5.0)
    settings = EvalSettings(session=scripted, judge=judge)
    spec = FileSpec("j", str(wav), reply_intent="greets")
    result = evaluate_file(spec, plain_agent, settings)
    assert result.judge_passed is True and result.judge_reason == "greets: Hi!"
    unjudged = evaluate_file(FileSpec("u", str(wav)), plain_agent, settings)
    assert unjudged.judge_passed is None


def test_bad_files_are_per_file_errors(tmp_path: Path) -> None:
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF....WAVEfmt nonsense")
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros(0, np.int16), RATE, subtype="PCM_16")
    cases = {
        "missing": (FileSpec("x", str(tmp_path / "nope.wav")), "no such file"),
        "broken": (FileSpec("y", str(broken)), "not a readable WAV"),
        "empty": (FileSpec("z", str(empty)), "holds no audio"),
        "line": (FileSpec("l", "", error="m.jsonl line 3: not JSON"), "line 3"),
    }
    for spec, message in cases.values():
        result = evaluate_file(spec, plain_agent, SETTINGS)
        assert result.error is not None and message in result.error, result.error


def not_an_agent() -> Any:
    return "an agent"


def test_a_factory_that_returns_no_agent_is_a_per_file_error(tmp_path: Path) -> None:
    wav = write(tmp_path / "w.wav", [(0.5, 1.0)], 3.0)
    result = evaluate_file(FileSpec("w", str(wav)), not_an_agent, SETTINGS)
    assert "returned a str, not an Agent" in (result.error or "")


# ---------------------------------------------------------------------- report and baseline


def fake(id: str, **fields: Any) -> FileResult:
    return FileResult(id=id, audio=f"/{id}.wav", mode="realtime", **fields)


def test_the_summary_pools_wer_over_words_and_the_markdown_puts_worst_first() -> None:
    report = Report("c", "realtime", [
        fake("good", wer=0.0, reference_words=10, reference="a", transcript="a",
             voice_to_voice=[1.0], cutoffs_judged=True, missed_turn=False),
        fake("bad", wer=0.5, reference_words=10, reference="b", transcript="c",
             voice_to_voice=[2.0], cutoffs=[1.5], cutoffs_judged=True, missed_turn=False),
        fake("noise", noise_replies=2, replies=["Hm?", "Yes?"]),
        fake("broken", error="no such file: /broken.wav"),
    ])  # fmt: skip
    s = report.summary()
    assert (s["files"], s["errors"], s["wer_percent"], s["cutoffs"], s["noise_replies"]) == (
        4, 1, 25.0, 1, 2)  # fmt: skip
    assert s["voice_to_voice_p50"] == 1.5
    md = render_markdown(report)
    wer = md.split("## Word error rate")[1]
    assert wer.index("| bad |") < wer.index("| good |")
    assert "| noise | 2 | Hm? / Yes? |" in md
    assert "| broken | no such file: /broken.wav |" in md
    latency = md.split("## Voice-to-voice latency")[1]
    assert latency.index("| bad |") < latency.index("| good |")


def test_the_baseline_comparison_flags_regressions(tmp_path: Path) -> None:
    before = Report("c", "realtime", [
        fake("a", wer=0.10, reference_words=10, voice_to_voice=[1.0]),
        fake("b", wer=0.0, reference_words=10, voice_to_voice=[1.0]),
        fake("n", noise_replies=0),
    ])  # fmt: skip
    same = compare(before, before)
    assert same.regressions == []
    after = Report("c", "realtime", [
        fake("a", wer=0.15, reference_words=10, voice_to_voice=[1.3], cutoffs=[2.0]),
        fake("b", wer=0.0, reference_words=10, voice_to_voice=[1.3]),
        fake("n", noise_replies=1),
    ])  # fmt: skip
    found = compare(after, before).regressions
    assert any(r.startswith("a: WER 10.0 % -> 15.0 %") for r in found)
    assert "WER 5.0 % -> 7.5 %" in found  # the corpus WER, up 2.5 points
    assert any(r.startswith("a: new premature cut-off") for r in found)
    assert any(r.startswith("n: new reply to noise") for r in found)
    assert any(r.startswith("voice-to-voice p50 1.000 s -> 1.300 s") for r in found)
    small = Report("c", "realtime", [
        fake("a", wer=0.11, reference_words=10, voice_to_voice=[1.1]),
        fake("b", wer=0.0, reference_words=10, voice_to_voice=[1.1]),
        fake("n", noise_replies=0),
    ])  # fmt: skip
    assert compare(small, before).regressions == []  # +1 point, +10 %: within bounds
    # JSON round trip: the baseline is read back from --json
    path = tmp_path / "b.json"
    path.write_text(json.dumps(before.to_json()))
    assert Report.load(path).files == before.files
    path.write_text("{}")
    with pytest.raises(ConfigError, match="not a voicegraph eval report"):
        Report.load(path)


# ---------------------------------------------------------------------------------- CLI


def test_the_cli_writes_json_and_markdown_and_flags_regressions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "a.wav", [(0.5, 1.5)], 5.0)
    (tmp_path / "broken.wav").write_bytes(b"nonsense")
    (tmp_path / "m.jsonl").write_text(
        '{"audio": "a.wav", "transcript": "hello there"}\n{"audio": "broken.wav"}\n'
    )
    (tmp_path / "myagent.py").write_text(
        "from voicegraph.nodes.agent import Agent\n"
        "def make():\n    return Agent(instructions='Help.')\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("voicegraph.evals._run.standard_session", scripted)  # no model
    runner = CliRunner()
    out = runner.invoke(app, ["eval", "m.jsonl", "--agent", "myagent:make", "--json", "r.json",
                              "--markdown", "r.md"])  # fmt: skip
    assert out.exit_code == 0, out.output
    assert "[1/2] a.wav: WER 0.0 %, 1 turn" in out.stderr
    assert "[2/2] broken.wav: ERROR not a readable WAV" in out.stderr
    data = json.loads((tmp_path / "r.json").read_text())
    assert [f["id"] for f in data["files"]] == ["a.wav", "broken.wav"]
    assert "## Word error rate" in (tmp_path / "r.md").read_text()
    # a baseline with a better WER: the run exits 1 and names the regression
    data["files"][0]["transcript"] = "hello there"
    data["files"][0]["wer"] = 0.0
    worse = tmp_path / "worse.jsonl"
    worse.write_text('{"audio": "a.wav", "transcript": "goodbye my friend"}\n')
    (tmp_path / "base.json").write_text(json.dumps(data))
    out = runner.invoke(app, ["eval", "worse.jsonl", "--agent", "myagent:make", "--baseline",
                              "base.json"])  # fmt: skip
    assert out.exit_code == 1, out.output
    assert "a.wav: WER 0.0 % -> 100.0 %" in out.stdout
    assert "2 regression(s)" in out.stderr  # the corpus WER and the file WER
    for args, message in [
        (["eval", "nowhere"], "does not exist"),
        (["eval", "m.jsonl", "--agent", "myagent"], "expected module:attribute"),
        (["eval", "m.jsonl", "--agent", "myagent:nothing"], "cannot load"),
        (["eval", "m.jsonl", "--baseline", "m.jsonl"], "cannot read the baseline"),
    ]:
        out = runner.invoke(app, args)
        assert out.exit_code == 2 and message in out.stderr, (args, out.output)


def test_evaluate_runs_every_file_and_reports_progress(tmp_path: Path) -> None:
    write(tmp_path / "a.wav", [(0.5, 1.5)], 5.0)
    write(tmp_path / "b.wav", [], 2.0)
    seen: list[tuple[int, int, str]] = []
    report = evaluate(tmp_path, plain_agent, SETTINGS,
                      progress=lambda i, n, r: seen.append((i, n, r.id)))  # fmt: skip
    assert seen == [(1, 2, "a.wav"), (2, 2, "b.wav")]
    assert report.mode == "virtual" and [f.error for f in report.files] == [None, None]


# -------------------------------------------------------------- failures, pictures, HTML


def test_the_result_keeps_a_timeline_that_survives_json(tmp_path: Path) -> None:
    wav = write(tmp_path / "paused.wav", [(0.5, 1.5), (4.0, 1.5)], 8.0)
    result = evaluate_file(FileSpec("p", str(wav), transcript="hello there my friend"),
                           plain_agent, SETTINGS)  # fmt: skip
    assert result.error is None, result.error
    user, agent = result.user_speech, result.agent_audio
    assert user is not None and agent is not None
    assert user[0][0] >= 0.5 and 1.5 < user[-1][1] <= 5.5
    assert any(end <= 2.0 for _, end in user) and any(start >= 4.0 for start, _ in user)
    # the agent answers each half in the pause after it (its audio aligned with the input)
    assert len(agent) == 2 and 2.0 < agent[0][0] < 4.0 and agent[1][0] > 5.5
    assert all(abs(run[0] - d) < 0.1 for run, d in zip(agent, result.decisions, strict=True))
    assert result.interrupted == [False, False]
    report = Report("c", "virtual", [result])
    path = tmp_path / "r.json"
    path.write_text(json.dumps(report.to_json()))
    assert Report.load(path).files == [result]
    # a report written before the timeline existed reads back with "not recorded"
    old = {k: v for k, v in json.loads(path.read_text())["files"][0].items()
           if k not in ("user_speech", "agent_audio", "interrupted")}  # fmt: skip
    back = FileResult.from_dict(old)
    assert (back.user_speech, back.agent_audio, back.interrupted) == (None, None, None)
    assert back.cutoffs == result.cutoffs


def test_failures_gives_every_reason_a_file_fails() -> None:
    assert failures(fake("ok", wer=0.2, reference_words=5, missed_turn=False)) == []
    assert failures(fake("e", error="no such file: /e.wav")) == [
        "not evaluated: no such file: /e.wav"
    ]
    reasons = failures(fake(
        "bad", wer=0.25, cutoffs=[1.5], missed_turn=True, noise_replies=2, tools_ok=False,
        expected_tools=["lookup"], tool_calls=[], judge_passed=False, judge_reason="rude",
    ))  # fmt: skip
    assert reasons == [
        "premature cut-off at 1.50 s",
        "missed turn (no end-of-turn decision)",
        "2 reply(ies) to noise",
        "tool calls differ (expected: lookup; called: -)",
        "judge failed: rude",
        "WER 25.0 % (above 20 %)",
    ]


HOSTILE = "<script>alert('x')</script> & \x01"


def cut_off_file(**fields: Any) -> FileResult:
    data: dict[str, Any] = {
        "duration": 8.0, "reference": "hello there my friend", "transcript": HOSTILE,
        "wer": 1.0, "reference_words": 4, "decisions": [2.68, 6.18], "cutoffs": [2.68],
        "cutoffs_judged": True, "missed_turn": False, "replies": ["Hi!", "Yes?"],
        "user_speech": [(0.5, 1.9), (4.0, 5.4)], "agent_audio": [(2.66, 2.84), (6.16, 6.34)],
        "interrupted": [False, True],
    }  # fmt: skip
    return fake("a/<b>.wav", **{**data, **fields})


def test_the_timeline_is_svg_with_both_lanes_and_the_cut_off_marked() -> None:
    import xml.etree.ElementTree as ET

    ns = "{http://www.w3.org/2000/svg}"
    svg = ET.fromstring(render_timeline(cut_off_file()))
    assert svg.tag == f"{ns}svg" and (svg.get("width"), svg.get("height")) == ("800", "170")
    assert len(svg.findall(f"{ns}rect[@class='user']")) == 2
    assert len(svg.findall(f"{ns}rect[@class='agent']")) == 2
    cut = svg.findall(f"{ns}line[@class='cutoff']")
    turns = svg.findall(f"{ns}line[@class='turn']")
    assert len(cut) == 1 and len(turns) == 1
    assert cut[0].get("stroke") == "#d0312d" and float(cut[0].get("x1") or 0) < float(
        turns[0].get("x1") or 0)  # fmt: skip
    labels = ["".join(t.itertext()) for t in svg.iter(f"{ns}text")]
    assert "cut-off 2.68 s" in labels
    assert any(HOSTILE.replace("\x01", "\ufffd") in label for label in labels)  # as text
    assert any("Hi! / Yes? (interrupted)" in label for label in labels)
    # an old report has no lanes to draw: they say so instead of showing silence
    old = ET.fromstring(render_timeline(cut_off_file(user_speech=None, agent_audio=None)))
    assert ["".join(t.itertext()) for t in old.iter(f"{ns}text")].count("not recorded") == 2
    assert not old.findall(f"{ns}rect[@class='user']")


def test_the_html_page_escapes_user_data_and_pictures_the_failing_files() -> None:
    from html.parser import HTMLParser

    report = Report("<corpus>", "virtual", [
        cut_off_file(),
        fake("fine", wer=0.0, reference_words=2, reference="hi", transcript="hi"),
        fake("<img src=x onerror=alert(1)>", error="no such file"),
    ])  # fmt: skip
    page = render_html(report, compare(report, report))
    tags: list[str] = []

    class Tags(HTMLParser):
        def handle_starttag(self, tag: str, attrs: Any) -> None:
            tags.append(tag)

    Tags().feed(page)
    assert "script" not in tags and "img" not in tags
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert tags.count("svg") == 1  # the cut-off file: the not-evaluated one has no timeline
    assert 'href="#timeline-1"' in page and 'id="timeline-1"' in page
    failures_table = page.split("<h2>Failures</h2>")[1].split("<h2>")[0]
    assert "premature cut-off at 2.68 s" in failures_table and "fine" not in failures_table
    assert "No regression." in page


def test_the_markdown_shows_html_in_user_data_as_text() -> None:
    from html.parser import HTMLParser

    report = Report("<corpus>", "virtual", [
        cut_off_file(), fake("<img src=x onerror=alert(1)>", error="no <b>such</b> file"),
    ])  # fmt: skip
    before = Report("<corpus>", "virtual", [fake("<img src=x onerror=alert(1)>")])
    md = render_markdown(report, compare(report, before))
    tags: list[str] = []

    class Tags(HTMLParser):
        def handle_starttag(self, tag: str, attrs: Any) -> None:
            tags.append(tag)

    Tags().feed(md)  # what a renderer passing raw HTML through would see
    assert tags == [], tags
    assert "# Eval of &lt;corpus>" in md and "&lt;script>alert('x')&lt;/script> &" in md
    assert "- &lt;img src=x onerror=alert(1)>: now fails (no &lt;b>such&lt;/b> file)" in md


def test_the_cli_writes_html_and_markdown_with_timeline_pictures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import xml.etree.ElementTree as ET

    write(tmp_path / "a.wav", [(0.5, 1.5)], 5.0)
    write(tmp_path / "p.wav", [(0.5, 1.5), (4.0, 1.5)], 8.0)
    (tmp_path / "m.jsonl").write_text(
        '{"audio": "a.wav", "transcript": "hello there"}\n'
        '{"audio": "p.wav", "id": "<p>", "transcript": "hello there my friend"}\n'
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("voicegraph.evals._run.standard_session", scripted)  # no model
    runner = CliRunner()
    out = runner.invoke(app, ["eval", "m.jsonl", "--markdown", "r.md", "--html", "r.html"])
    assert out.exit_code == 0, out.output
    md = (tmp_path / "r.md").read_text()
    failing = md.split("## Failures")[1].split("##")[0]
    assert "| &lt;p> | premature cut-off at 2.68 s; WER 50.0 % (above 20 %) |" in failing
    assert "a.wav" not in failing
    assert [p.name for p in (tmp_path / "r-timelines").iterdir()] == ["002-p.svg"]
    assert "[timeline](r-timelines/002-p.svg)" in failing
    svg = ET.parse(tmp_path / "r-timelines" / "002-p.svg").getroot()
    assert len(svg.findall("{http://www.w3.org/2000/svg}line[@class='cutoff']")) == 1
    page = (tmp_path / "r.html").read_text()
    assert page.count("<svg") == 1 and "<h3>&lt;p&gt;</h3>" in page
    # printed Markdown: the same Failures table, without pictures
    out = runner.invoke(app, ["eval", "m.jsonl"])
    assert out.exit_code == 0, out.output
    assert "| &lt;p> | premature cut-off" in out.stdout and "timeline" not in out.stdout


def test_a_failed_run_leaves_the_html_and_its_pictures_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "r.html").write_text("before")
    (tmp_path / "r.md").write_text("before")
    runner = CliRunner()
    out = runner.invoke(app, ["eval", "nowhere", "--html", "r.html", "--markdown", "r.md"])
    assert out.exit_code == 2 and "does not exist" in out.stderr, out.output
    assert (tmp_path / "r.html").read_text() == (tmp_path / "r.md").read_text() == "before"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html", "r.md"]  # no folder, no temp
    for args, message in [
        (["--html", "r.html", "--markdown", "r.html"], "are the same file"),
        (["--html", "."], "is a folder"),
    ]:
        out = runner.invoke(app, ["eval", "nowhere", *args])
        assert out.exit_code == 2 and message in out.stderr, out.output
    (tmp_path / "r-timelines").write_text("a file")
    out = runner.invoke(app, ["eval", "nowhere", "--markdown", "r.md"])
    assert out.exit_code == 2 and "timelines folder" in out.stderr, out.output
