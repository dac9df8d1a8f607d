"""Audio output: the agent's speaker, with playout marks and an optional WAV recording, and
the background sounds mixed into it."""

from voicegraph.graph import rehome

from ._background import BackgroundAudio as BackgroundAudio
from ._background import BackgroundFrame as BackgroundFrame
from ._clips import BuiltinAudioClip as BuiltinAudioClip
from ._control import PausePlayout as PausePlayout
from ._control import ResumePlayout as ResumePlayout
from ._player import AudioOutput as AudioOutput
from ._sound import AudioConfig as AudioConfig
from ._sound import AudioSource as AudioSource
from ._sound import PlayHandle as PlayHandle
from ._sound import Sound as Sound
from ._sound import prepare_sound as prepare_sound

__all__ = [
    "AudioConfig",
    "AudioOutput",
    "AudioSource",
    "BackgroundAudio",
    "BackgroundFrame",
    "BuiltinAudioClip",
    "PlayHandle",
    "Sound",
    "prepare_sound",
    "PausePlayout",
    "ResumePlayout",
]

rehome(__name__, globals(), __all__)
