"""The user-away deadline: armed while both sides listen, moved by every reply, re-armed after
the user comes back (one watcher task serves the whole run)."""

from __future__ import annotations

import pytest
from agent_helpers import Voice, timeline

from voicegraph.nodes.agent import Agent


async def test_away_counts_from_the_last_reply_and_again_after_the_user_is_back(
    voice: Voice,
) -> None:
    session = await voice.converse(
        Agent(instructions="x"),
        said=[(0.5, 1.5, "Hello?"), (4.0, 1.5, "Still there?"), (20.0, 1.5, "Back.")],
        seconds=40,
        replies=["Hi!", "Yes.", "Welcome back."],
        user_away_timeout=5.0,
    )
    listening = [t for t, d in timeline(session) if d == "agent:listening"]
    away = [t for t, d in timeline(session) if d == "user:away"]
    states = [d for _, d in timeline(session) if d.startswith("user:")]
    # the first two replies came within 5 s of each other: one away, 5 s after the second;
    # the third reply re-armed it once the user had spoken again
    assert len(listening) == 4 and len(away) == 2  # listening: the start, then each reply
    assert away == [pytest.approx(listening[2] + 5.0), pytest.approx(listening[3] + 5.0)]
    assert states.index("user:away") > states.index("user:speaking")
    assert states[-1] == "user:away"
