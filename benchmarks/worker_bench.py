"""Worker benchmark: job start latency (cold vs prewarmed) and concurrent voice sessions.

Run from the repository root::

    python -m benchmarks.worker_bench            # full run, a few minutes
    python -m benchmarks.worker_bench --quick    # smoke run, ~1 min
    python -m benchmarks.worker_bench --levels 1,4,8 --seconds 8 --json out.json

Everything goes through the real worker: an in-process ``AgentServer`` registered with the
loopback ``FakeLiveKitServer``, jobs dispatched over the agent worker protocol, each job in its
own spawned job process.

1. **Job start latency**: the time from the server's dispatch (availability request) to the
   worker reporting the job ``JS_RUNNING``: answering the offer, the assignment, handing the
   job to a process and the entrypoint starting. *Cold*: no idle process (``num_idle=0``), so
   a process is spawned and prewarmed per job. *Warm*: a prewarmed idle process is waiting.
   The prewarm imports the voice stack and builds the session graph once (what a real agent's
   prewarm does, minus model weights).
2. **Concurrent sessions**: N jobs at once, each running an 8-node voice graph on the real
   clock for ``--seconds``: paced 16 kHz mic (``barge_in.wav``: a question, 3 s of silence, a
   barge-in) -> VAD (the Silero segmenter fed by an energy detector: framework cost only) ->
   scripted STT -> turn detector -> scripted LLM -> sentence splitter -> scripted TTS ->
   audio output. Each mic frame's *latency* is the time from when the source was due to
   emit it to when the turn detector (the last node on the audio path) received it; its
   deadline is one frame, 20 ms. A level passes when every frame of every session met it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import numpy as np
import psutil

from voicegraph.runner.worker import AgentServer, FakeLiveKitServer, JobContext, JobProcess

FRAME = 0.02
DEADLINE = 0.02
LEVELS = [1, 2, 4, 8, 16, 32, 48, 64]
QUICK_LEVELS = [1, 4, 8]
ON_TIME = 0.999
"""The softer criterion: the share of frames that must meet the deadline."""


# ---------------------------------------------------------------------- the session (job side)


def build_session(seconds: float) -> tuple[Any, Any, Any, Any]:
    """The 8-node voice graph of one session: ``(graph, source, turn detector, output)``."""
    import soundfile as sf

    from voicegraph.graph import AudioFrame, Graph
    from voicegraph.nodes.audio import MemorySource
    from voicegraph.nodes.llm import LLMNode
    from voicegraph.nodes.output import AudioOutput
    from voicegraph.nodes.samples import sample_path
    from voicegraph.nodes.stt import STTNode
    from voicegraph.nodes.tts import SentenceSplitter, TTSNode
    from voicegraph.nodes.turn import TurnDetector
    from voicegraph.nodes.vad import VADEngine, VADNode
    from voicegraph.testing import ScriptedLLM, ScriptedSTT, ScriptedTTS

    class EnergyVAD(VADEngine):
        """A VAD engine that reads speech from frame energy instead of a model."""

        def probability(self, window: Any) -> float:
            rms = float(np.sqrt(np.mean(window.astype(np.float32) ** 2)))
            return 0.9 if rms > 500 else 0.05

    class TimedTurn(TurnDetector):
        """Records when each audio frame reached the end of the audio path."""

        def __init__(self, **settings: Any) -> None:
            super().__init__(**settings)
            self.arrivals: list[tuple[float, float]] = []

        async def on_audio(self, frame: AudioFrame) -> None:
            self.arrivals.append((frame.pts, self.clock.now()))
            await super().on_audio(frame)

    pcm, rate = sf.read(str(sample_path("barge_in")), dtype="int16")
    reps = int(np.ceil(seconds * rate / len(pcm)))
    pcm = np.tile(pcm, reps)[: int(seconds * rate)]
    g = Graph("session")
    source = g.add(MemorySource(pcm=pcm, sample_rate=rate, realtime=True), name="source")
    vad = g.add(VADNode(engine=EnergyVAD()), name="vad")
    texts = ["Tell me a story.", "Stop, tell me about Paris."] * 4
    stt = g.add(STTNode(engine=ScriptedSTT(texts=texts)))
    turn = g.add(TimedTurn(), name="turn")
    replies = ["Once upon a time there was a dragon. It learned to fly."]
    replies += ["Paris is the capital of France."] * 8
    llm = g.add(LLMNode(engine=ScriptedLLM(replies=replies)))
    splitter = g.add(SentenceSplitter(), name="splitter")
    tts = g.add(TTSNode(engine=ScriptedTTS()), name="tts")
    out = g.add(AudioOutput(), name="output")
    g.connect(source.audio, vad.audio, capacity=50, policy="drop_oldest")
    g.connect(vad.audio_out, turn.audio)
    g.connect(vad.segments, stt.speech)
    g.connect(stt.transcripts, turn.transcripts)
    g.connect(turn.turns, llm.turn)
    g.connect(llm.text, splitter.text)
    g.connect(splitter.sentences, tts.sentences)
    g.connect(tts.audio, out.audio)
    g.connect(out.marks, llm.playout, feedback=True)
    g.connect(out.marks, turn.playout, feedback=True)
    g.check()
    return g, source, turn, out


def prewarm(proc: JobProcess) -> None:
    """Import the voice stack and build a session once (as a real agent's prewarm would)."""
    build_session(0.1)
    proc.userdata["prewarmed"] = True


async def session(ctx: JobContext) -> None:
    """One voice session; writes its frame latencies to ``<out>/<job id>.json``."""
    from voicegraph.runner import Runner

    params = json.loads(ctx.metadata)
    if params.get("seconds", 0) <= 0:
        return  # a start-latency job: nothing to run
    graph, source, turn, output = build_session(params["seconds"])
    cpu0 = time.process_time()
    runner = Runner(graph)
    metrics = await runner.run()
    timed = [
        (pts, arrival - due)
        for pts, arrival in turn.arrivals
        if (due := source.media_to_clock(pts)) is not None
    ]
    latencies = [x for _, x in timed]
    result = {
        "frames": len(latencies),
        "late": sum(1 for x in latencies if x > DEADLINE),
        "late_at": [round(pts, 2) for pts, x in timed if x > DEADLINE][:20],
        "max": max(latencies, default=0.0),
        "p99": float(np.percentile(latencies, 99)) if latencies else 0.0,
        "median": float(np.median(latencies)) if latencies else 0.0,
        "loop_lag_max": metrics.loop_lag_max,
        "cpu": time.process_time() - cpu0,
        "wall": metrics.elapsed,
        "replies": len(output.played_replies),
    }
    (Path(params["out"]) / f"{ctx.job_id}.json").write_text(json.dumps(result))


# ---------------------------------------------------------------------- the benchmark side


async def _serve(lk: FakeLiveKitServer, num_idle: int) -> tuple[AgentServer, Any]:
    server = AgentServer(
        "benchmarks.worker_bench:session",
        prewarm="benchmarks.worker_bench:prewarm",
        num_idle_processes=num_idle,
        load_threshold=float("inf"),
        load_fnc=lambda: 0.0,
        update_interval=0.5,
        sys_path=(str(Path(__file__).resolve().parents[1]),),  # job processes import us
    )
    return server, server.run


async def start_latency(jobs: int, *, warm: bool) -> list[float]:
    """Dispatch-to-running latency of ``jobs`` jobs, one after another."""
    latencies = []
    async with FakeLiveKitServer() as lk:
        server, run = await _serve(lk, 1 if warm else 0)
        async with anyio.create_task_group() as tg:
            tg.start_soon(run, lk.url, lk.api_key, lk.api_secret)
            await server.wait_registered()
            for i in range(jobs):
                if warm:
                    with anyio.fail_after(60):
                        while server.pool.idle_count < 1:
                            await anyio.sleep(0.005)
                t0 = time.perf_counter()
                job = await lk.dispatch(f"latency-{i}", metadata=json.dumps({"seconds": 0}))
                await job.wait_for("JS_RUNNING", "JS_FAILED", timeout=60)
                latencies.append(time.perf_counter() - t0)
                await job.wait_for("JS_SUCCESS", "JS_FAILED", timeout=60)
            await server.aclose()
    return latencies


async def concurrent(n: int, seconds: float, out: Path) -> dict[str, Any]:
    """Run ``n`` sessions at once; aggregate their frame latencies."""
    for old in out.glob("*.json"):
        old.unlink()
    async with FakeLiveKitServer() as lk:
        server, run = await _serve(lk, n)
        async with anyio.create_task_group() as tg:
            tg.start_soon(run, lk.url, lk.api_key, lk.api_secret)
            await server.wait_registered()
            with anyio.fail_after(30 + 5 * n):
                while server.pool.idle_count < n:
                    await anyio.sleep(0.05)
            meta = json.dumps({"seconds": seconds, "out": str(out)})
            psutil.cpu_percent(None)
            load0, t0, own0 = os.getloadavg()[0], time.perf_counter(), time.process_time()
            jobs = [await lk.dispatch(f"session-{i}", metadata=meta) for i in range(n)]
            for job in jobs:
                await job.wait_for("JS_SUCCESS", "JS_FAILED", timeout=seconds + 60)
            cpu, wall = psutil.cpu_percent(None), time.perf_counter() - t0
            worker_cpu = 100 * (time.process_time() - own0) / wall
            rss = [r.peak_rss_mb for r in server.results]
            await server.aclose()
    sessions = [json.loads(p.read_text()) for p in out.glob("*.json")]
    failed = [j.error for j in jobs if j.status != "JS_SUCCESS"]
    frames = sum(s["frames"] for s in sessions)
    return {
        "sessions": n,
        "completed": len(sessions),
        "failed": failed,
        "frames": frames,
        "late": sum(s["late"] for s in sessions),
        "worst_ms": 1000 * max((s["max"] for s in sessions), default=0.0),
        "p99_ms": 1000 * max((s["p99"] for s in sessions), default=0.0),
        "median_ms": 1000 * statistics.median([s["median"] for s in sessions]) if sessions else 0,
        "loop_lag_ms": 1000 * max((s["loop_lag_max"] for s in sessions), default=0.0),
        "cpu_per_session_s": statistics.mean([s["cpu"] for s in sessions]) if sessions else 0,
        "machine_cpu_pct": cpu,
        "worker_cpu_pct": worker_cpu,
        "others_cpu_pct": max(
            0.0,
            cpu
            - (100 * sum(s["cpu"] for s in sessions) / wall + worker_cpu) / (os.cpu_count() or 1),
        ),
        "loadavg_before": load0,
        "rss_mb": statistics.mean(rss) if rss else 0.0,
        "ok": not failed and len(sessions) == n and all(s["late"] == 0 for s in sessions),
        "on_time": 1 - sum(s["late"] for s in sessions) / frames if frames else 0.0,
    }


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"machine": _machine()}
    print(f"machine: {results['machine']}")
    print("\n1. job start latency (dispatch -> JS_RUNNING)")
    for warm in (False, True):
        lat = await start_latency(args.latency_jobs, warm=warm)
        name = "warm" if warm else "cold"
        results[f"start_{name}"] = lat
        print(
            f"   {name:4}: median {1000 * statistics.median(lat):7.1f} ms   "
            f"p90 {1000 * _pct(lat, 90):7.1f} ms   max {1000 * max(lat):7.1f} ms   "
            f"({len(lat)} jobs)"
        )
    print(f"\n2. concurrent sessions ({args.seconds:g} s each, deadline {DEADLINE * 1000:.0f} ms)")
    print("   sessions  frames   late  median  p99 (worst session)  worst  loop lag  "
          "cpu/session  worker cpu  machine cpu (others)  rss/job")  # fmt: skip
    results["levels"] = []
    best = soft = 0
    for n in args.levels:
        row: dict[str, Any] = {}
        for attempt in range(1, args.repeat + 1):  # best of `repeat`: other tenants add noise
            run = await concurrent(n, args.seconds, out)
            run["attempt"] = attempt
            if not row or (run["late"], run["others_cpu_pct"]) < (
                row["late"],
                row["others_cpu_pct"],
            ):
                row = run
            if run["ok"]:
                break
        results["levels"].append(row)
        print(
            f"   {n:8d}  {row['frames']:6d}  {row['late']:5d}  {row['median_ms']:5.1f}ms"
            f"  {row['p99_ms']:18.1f}ms  {row['worst_ms']:5.0f}ms  {row['loop_lag_ms']:6.0f}ms"
            f"  {row['cpu_per_session_s']:9.2f} s  {row['worker_cpu_pct']:8.0f} %"
            f"  {row['machine_cpu_pct']:9.0f} %"
            f" ({row['others_cpu_pct']:3.0f} %)"
            f"  {row['rss_mb']:5.0f} MB  {'ok' if row['ok'] else 'MISSED'}"
            f"{'' if attempt == 1 else f' (best of {attempt} runs)'}"
        )
        if row["failed"]:
            print(f"      failed jobs: {row['failed'][:3]}")
        if row["ok"]:
            best = max(best, n)
        if not row["failed"] and row["completed"] == n and row["on_time"] >= ON_TIME:
            soft = max(soft, n)
    results["max_sessions_keeping_deadline"] = best
    results["max_sessions_999_on_time"] = soft
    print(f"\n   most sessions with every frame within {DEADLINE * 1000:.0f} ms: {best}")
    print(f"   most sessions with {ON_TIME:.1%} of frames within {DEADLINE * 1000:.0f} ms: {soft}")
    return results


def _machine() -> str:
    freq = psutil.cpu_freq()
    ghz = f", {freq.max / 1000:.1f} GHz" if freq and freq.max else ""
    mem = psutil.virtual_memory().total / 2**30
    return (
        f"{os.cpu_count()} CPUs{ghz}, {mem:.0f} GiB RAM, Python {sys.version.split()[0]}, "
        f"{sys.platform}"
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``python -m benchmarks.worker_bench [--quick]``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, about a minute")
    parser.add_argument("--levels", type=lambda s: [int(x) for x in s.split(",")], default=None)
    parser.add_argument("--seconds", type=float, default=None, help="session length")
    parser.add_argument("--latency-jobs", type=int, default=None)
    parser.add_argument(
        "--repeat", type=int, default=None, help="runs per level; the best is shown (full: 2)"
    )
    parser.add_argument("--json", default=None, help="also write the results as JSON here")
    parser.add_argument("--out", default=".worker_bench", help="scratch folder")
    args = parser.parse_args(argv)
    args.levels = args.levels or (QUICK_LEVELS if args.quick else LEVELS)
    args.seconds = args.seconds or (6.0 if args.quick else 12.0)
    args.latency_jobs = args.latency_jobs or (4 if args.quick else 12)
    args.repeat = args.repeat or (1 if args.quick else 2)
    results = anyio.run(main_async, args)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
