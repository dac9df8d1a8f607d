"""LiveKit room I/O: the agent in a LiveKit room (``livekit.rtc``, imported when set up).

* :class:`RoomInput` — a participant's microphone as audio frames; follows joins, leaves and
  track (un)publishing; resamples to the graph's rate.
* :class:`RoomOutput` — the agent's voice as a published track; stops within one frame on
  interrupt; playout marks with the words heard (an ``AudioOutput``).
* :class:`RoomTranscript` — user transcripts and the agent's played text as LiveKit
  transcriptions (text streams on ``lk.transcription``), synchronized with playout.

The nodes take the room as ``room=`` (e.g. ``ctx.room`` in a worker job) or ``attach(room)``.
"""

from voicegraph.graph import rehome

from ._input import RoomInput as RoomInput
from ._output import RoomOutput as RoomOutput
from ._room import Room as Room
from ._transcript import RoomTranscript as RoomTranscript

__all__ = [
    "RoomInput",
    "RoomOutput",
    "RoomTranscript",
]

rehome(__name__, globals(), __all__)
