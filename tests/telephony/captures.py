"""Locate and load the real-FreeSWITCH captures in ``../shared/esl-captures``.

The folder sits next to the repository (``<repo>/../shared/esl-captures``). If it is missing
the tests must fail loudly, not skip: a parser that was never run on real bytes is untested.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from telephony.esl.events import Event, parse_event
from telephony.esl.frames import Frame, split_frames

REPO_ROOT = Path(__file__).resolve().parents[2]
CAPTURES_DIR = REPO_ROOT.parent / "shared" / "esl-captures"


def require_captures() -> Path:
    """The captures folder; fails the test session with a clear message if it is absent."""
    if not CAPTURES_DIR.is_dir() or not any(CAPTURES_DIR.glob("*.txt")):
        pytest.fail(
            f"ESL captures not found at {CAPTURES_DIR}. They are the parser's test fixtures "
            "(bytes from a real FreeSWITCH) and must be present: restore ../shared/esl-captures "
            "next to the repository.",
            pytrace=False,
        )
    return CAPTURES_DIR


def capture_names() -> list[str]:
    return sorted(path.name for path in require_captures().glob("*.txt"))


@cache
def capture_bytes(name: str) -> bytes:
    return (require_captures() / name).read_bytes()


def capture_frames(name: str) -> list[Frame]:
    return split_frames(capture_bytes(name))


def capture_event(name: str) -> Event:
    """The single event of a ``plain-*.txt`` / ``json-*.txt`` capture."""
    frames = capture_frames(name)
    assert len(frames) == 1, f"{name}: expected one frame, got {len(frames)}"
    return parse_event(frames[0])


def stream_events(name: str) -> list[Event]:
    return [parse_event(frame) for frame in capture_frames(name) if frame.is_event]
