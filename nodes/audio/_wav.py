"""WAV file source and sink (soundfile / libsndfile)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from voicegraph.graph import AudioFrame, In, InputError, Node, NodeConfig, UsageError
from voicegraph.nodes._files import PendingFile, check_output_path

from ._decode import WavReader, _import_soundfile, open_wav
from ._source import PacedSource, SourceConfig, frame_samples

if TYPE_CHECKING:
    import soundfile

__all__ = ["WavSink", "WavSource"]

_BLOCK_SECONDS = 0.5  # decode this much at a time, then slice frames from it


class WavSource(PacedSource):
    """Play a WAV file as a stream of :class:`AudioFrame` on ``audio``.

    Reads any common WAV (8-48 kHz; 8/16/24/32-bit integer PCM, 32/64-bit float, A-law/µ-law;
    plain or WAVE_FORMAT_EXTENSIBLE; any channel count) and converts it to int16 without
    garbling (see ``voicegraph.nodes.audio._decode`` for the exact rules). The file is opened
    and validated in ``setup()``, so a bad file fails the graph before anything runs.

    The ``audio`` port's ``sample_rate`` is the file's (read from its header when the node is
    created, if the file exists then), so ``Graph.check`` reports a consumer that needs another
    rate. ``setup()`` (re)opens the file, so every run starts from the beginning.

    Frames hold ``frame_ms`` of audio; ``pts`` is media time (samples read / sample rate, from
    0). The last frame is emitted **short** (not padded), so the total duration is exact. The
    source emits no control events; its stream ends after the last frame. Blocks of 0.5 s are
    decoded on the event loop (microseconds each), taking zero virtual time.

    Ports:
        audio: ``Out[AudioFrame]`` at the file's sample rate.

    Config:
        path: the WAV file.
        frame_ms: frame length in milliseconds (default 20).
        realtime: pace with the clock so clock time tracks media time from the moment the
            source starts (default ``True``); ``False`` emits as fast as downstream accepts.
        channels: ``"mono"`` (default) mixes all channels down to one by averaging;
            ``"keep"`` keeps the file's channels.

    Raises:
        InputError: in ``setup()``: the file is missing, empty, has no samples, a truncated
            or corrupt header, is not a WAV (e.g. an MP3 renamed ``.wav``), uses a compressed
            codec (ADPCM, GSM, MPEG...), or its rate is outside 8-48 kHz. A file whose data is
            cut short (a recording that stopped) is read up to where it ends, with a warning.

    Example:
        >>> src = WavSource(path="question.wav", realtime=False)
    """

    class Config(SourceConfig):
        """WavSource settings (see the class docstring)."""

        path: Path
        channels: Literal["mono", "keep"] = "mono"

    config: Config

    def __init__(self, config: Config | None = None, /, **settings: object) -> None:
        super().__init__(config, **settings)
        self._reader: WavReader | None = None
        self._block: list[AudioFrame] = []
        self._pos = 0
        self.audio.sample_rate = _peek_rate(self.config.path)

    @property
    def sample_rate(self) -> int | None:
        """The file's sample rate, once ``setup()`` has opened it."""
        return self._reader.sample_rate if self._reader is not None else None

    async def setup(self) -> None:
        """Open and validate the file (raises :class:`InputError` if it is unusable)."""
        self._close_reader()
        self._reader = open_wav(self.config.path, mono=self.config.channels == "mono")
        self.audio.sample_rate = self._reader.sample_rate
        self._block = []
        self._pos = 0
        self.rewind()

    def next_frame(self) -> AudioFrame | None:
        """Slice the next frame from the decoded block, decoding another block when empty."""
        if not self._block:
            reader = self._reader
            if reader is None or reader.closed:
                if reader is None:
                    raise UsageError(
                        f"WavSource {self.name!r}: run() before setup(); run the node in a graph "
                        "(the runner calls setup()) or await setup() first"
                    )
                return None
            rate = reader.sample_rate
            n = frame_samples(rate, self.config.frame_ms)
            per_block = max(1, round(_BLOCK_SECONDS * rate / n))
            pcm = reader.read(n * per_block)
            if len(pcm) == 0:
                reader.close()
                return None
            for start in range(0, len(pcm), n):
                chunk = pcm[start : start + n]
                self._block.append(AudioFrame(chunk, rate, pts=self._pos / rate))
                self._pos += len(chunk)
            self._block.reverse()
        return self._block.pop()

    def _close_reader(self) -> None:
        if self._reader is not None:
            self._reader.close()

    async def aclose(self) -> None:
        """Close the file."""
        self._close_reader()
        await super().aclose()


def _peek_rate(path: Path) -> int | None:
    """The file's sample rate if its header can be read now, else ``None`` (setup() checks).

    Only a regular file is read: a graph file naming a FIFO or a device (``/dev/stdin``)
    must not block building the graph.
    """
    try:
        if not Path(path).is_file():
            return None
        return int(_import_soundfile().info(str(path)).samplerate)
    except Exception:
        return None


class WavSink(Node):
    """Write every :class:`AudioFrame` received on ``audio`` to a 16-bit PCM WAV file.

    The file is created on the first frame with that frame's rate and channel count (unless
    ``sample_rate``/``channels`` fix them), written in streaming mode (each frame is appended
    as it arrives, no buffering in Python), and finalized (header sizes written) on end of
    stream and on ``aclose()`` — which the runner also calls after errors, so audio received
    before a failure is kept. Missing parent folders are created. A run that receives no
    audio but ends normally still leaves a valid, empty WAV (at ``sample_rate`` or 16 kHz,
    ``channels`` or 1).

    The audio is written to a hidden temporary file beside ``path`` and moved over ``path``
    (``os.replace``) only when the file is finished: an existing file is never truncated or
    half-written, and a run that fails before the sink received anything (e.g. another node's
    ``setup()`` failed) leaves it untouched.

    Ports:
        audio: ``In[AudioFrame]`` (its ``sample_rate`` is fixed when ``sample_rate`` is set,
            so ``Graph.check`` reports a mismatched producer).

    Config:
        path: the file to write (replaced when finished; see above).
        sample_rate: the rate to require, or ``None`` (default) to take the first frame's.
        channels: the channel count to require, or ``None`` (default) for the first frame's.

    Raises:
        InputError: a frame whose rate or channel count differs from the file's is refused
            (never resampled or garbled); insert a ``Resampler`` before the sink.
    """

    class Config(NodeConfig):
        """WavSink settings (see the class docstring)."""

        path: Path
        sample_rate: int | None = Field(None, gt=0)
        channels: int | None = Field(None, ge=1, le=64)

    config: Config
    audio: In[AudioFrame]

    def __init__(self, config: Config | None = None, /, **settings: object) -> None:
        super().__init__(config, **settings)
        self.audio.sample_rate = self.config.sample_rate
        self._file: soundfile.SoundFile | None = None
        self._pending: PendingFile | None = None
        self._ready = False
        self.samples_written = 0
        """Samples per channel written to the file so far in this run."""

    async def setup(self) -> None:
        """Prepare the output folder; the file itself is created on the first frame."""
        self._finish(ended=False)
        self.config.path.parent.mkdir(parents=True, exist_ok=True)
        check_output_path(self.config.path, f"WavSink {self.name!r}")
        self.samples_written = 0
        self._ready = True

    async def on_audio(self, frame: AudioFrame) -> None:
        """Append ``frame`` to the file (refusing a rate or channel change)."""
        file = self._file
        if file is None:
            self._check(frame, self.config.sample_rate, self.config.channels)
            file = self._file = self._open(frame.sample_rate, frame.channels)
        else:
            self._check(frame, int(file.samplerate), int(file.channels))
        file.write(frame.pcm)
        self.samples_written += frame.samples

    def _check(self, frame: AudioFrame, rate: int | None, channels: int | None) -> None:
        if (rate is None or frame.sample_rate == rate) and (
            channels is None or frame.channels == channels
        ):
            return
        want_rate = rate or frame.sample_rate
        want_channels = channels or frame.channels
        raise InputError(
            f"WavSink {self.name!r} writing '{self.config.path}' at {want_rate} Hz, "
            f"{want_channels} channel(s) refused a frame (pts {frame.pts:.3f} s) of "
            f"{frame.sample_rate} Hz, {frame.channels} channel(s); insert "
            f"Resampler(rate={want_rate}, channels={want_channels}) before the sink"
        )

    def _open(self, rate: int, channels: int) -> soundfile.SoundFile:
        sf = _import_soundfile()
        pending = self._pending = PendingFile(self.config.path, f"WavSink {self.name!r}")
        try:
            file: soundfile.SoundFile = sf.SoundFile(
                str(pending.path), "w", rate, channels, subtype="PCM_16", format="WAV"
            )
        except BaseException:
            pending.discard()
            raise
        return file

    def _finish(self, *, ended: bool) -> None:
        """Finalize the file and move it into place (writing an empty one if the stream
        ``ended`` with no audio; leaving ``path`` alone if nothing came); idempotent."""
        if self._file is None and self._ready and ended:
            self._file = self._open(self.config.sample_rate or 16000, self.config.channels or 1)
        self._ready = False
        file, self._file = self._file, None
        pending, self._pending = self._pending, None
        if file is None or pending is None:
            return
        try:
            file.close()
        except BaseException:
            pending.discard()
            raise
        pending.commit()

    async def on_end_of_stream(self) -> None:
        """Finalize the file."""
        self._finish(ended=True)

    async def aclose(self) -> None:
        """Finalize the file if end of stream did not (e.g. after an error)."""
        try:
            self._finish(ended=False)
        finally:
            await super().aclose()
