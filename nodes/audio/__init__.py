"""Audio I/O and conditioning nodes: WAV and in-memory sources/sinks, resampling, APM.

* :class:`WavSource` / :class:`WavSink` — read any common WAV as int16 frames; write 16-bit
  PCM WAV.
* :class:`MemorySource` / :class:`MemorySink` — numpy arrays or frame lists in and out.
* :class:`Resampler` — any rate/channels to a fixed one (``livekit.rtc.AudioResampler``).
* :class:`AudioProcessor` — noise suppression, echo cancellation, high-pass filter, gain
  control (``livekit.rtc.AudioProcessingModule``).

``soundfile`` and ``livekit`` are imported when a node is set up, not when this package is.
"""

from voicegraph.graph import rehome

from ._apm import AudioProcessor as AudioProcessor
from ._memory import MemorySink as MemorySink
from ._memory import MemorySource as MemorySource
from ._recordings import align_recording as align_recording
from ._recordings import read_mono_wav as read_mono_wav
from ._recordings import stereo_conversation as stereo_conversation
from ._recordings import write_wav as write_wav
from ._resample import Resampler as Resampler
from ._rtc import from_rtc as from_rtc
from ._rtc import to_rtc as to_rtc
from ._wav import WavSink as WavSink
from ._wav import WavSource as WavSource

__all__ = [
    "AudioProcessor",
    "MemorySink",
    "MemorySource",
    "Resampler",
    "WavSink",
    "WavSource",
]

rehome(__name__, globals(), __all__)
