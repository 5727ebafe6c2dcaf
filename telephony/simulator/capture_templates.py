"""Build ``templates.json`` (the simulator's event templates) from the real-FreeSWITCH captures.

Run ``python -m telephony.simulator.capture_templates [CAPTURES_DIR]`` after the captures
change; ``tests/telephony/test_simulator_headers.py`` fails while the shipped file is stale.

Each template is one event exactly as captured (headers in order, decoded values), keyed by
``<leg kind>/<event>`` or ``cc/<CC-Action>`` or the bare event name. The simulator keeps the
header *names and order* and fills in the values of the simulated call; the captured values
only serve as examples for headers the simulator does not model (codec names and the like).

Leg kinds (what the captured channel was, see ``../shared/esl-captures/README.md``):

``sofia_in``
    inbound PSTN/SIP leg of a hotline call (scenario B, ``sofia/external/…``).
``agent``
    agent phone rung by mod_callcenter (scenario B, ``null/agent-1001``).
``agent_orig``
    agent phone rung by ``originate user/<ext>`` (click-to-dial, scenario C).
``loop_a`` / ``loop_b``
    the two halves of ``originate loopback/<hotline>/default &park()`` (scenarios A and D;
    ``loop_b`` runs the hotline dialplan and joins the queue).
``cust_a`` / ``cust_b``
    the two halves of the customer leg ``loopback/<mobile>/default`` (scenario C).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from telephony.esl.events import parse_event
from telephony.esl.frames import split_frames

TEMPLATES_FILE = Path(__file__).with_name("templates.json")
DEFAULT_CAPTURES = Path(__file__).resolve().parents[3] / "shared" / "esl-captures"

# template key -> Event-Sequence in stream-plain-ALL.txt
SEQUENCES: dict[str, int] = {
    "sofia_in/CHANNEL_CREATE": 502,
    "sofia_in/CHANNEL_ANSWER": 526,
    "sofia_in/cc/member-queue-start": 530,
    "sofia_in/CHANNEL_BRIDGE": 576,
    "sofia_in/CHANNEL_UNBRIDGE": 595,
    "sofia_in/CHANNEL_HANGUP": 596,
    "sofia_in/CHANNEL_HANGUP_COMPLETE": 600,
    "sofia_in/cc/member-queue-end": 611,
    "sofia_in/CHANNEL_DESTROY": 613,
    "agent/CHANNEL_CREATE": 551,
    "agent/CHANNEL_ANSWER": 556,
    "agent/cc/bridge-agent-start": 563,
    "agent/CHANNEL_HANGUP": 588,
    "agent/CHANNEL_HANGUP_COMPLETE": 594,
    "agent/cc/bridge-agent-end": 610,
    "agent/CHANNEL_DESTROY": 614,
    "agent_orig/CHANNEL_CREATE": 624,
    "agent_orig/CHANNEL_ANSWER": 629,
    "agent_orig/CHANNEL_BRIDGE": 672,
    "agent_orig/CHANNEL_HANGUP": 674,
    "agent_orig/CHANNEL_UNBRIDGE": 689,
    "agent_orig/CHANNEL_HANGUP_COMPLETE": 695,
    "agent_orig/CHANNEL_DESTROY": 698,
    "loop_a/CHANNEL_CREATE": 448,
    "loop_a/CHANNEL_ANSWER": 461,
    "loop_a/CHANNEL_PARK": 472,
    "loop_a/CHANNEL_HANGUP": 475,
    "loop_a/CHANNEL_HANGUP_COMPLETE": 482,
    "loop_a/CHANNEL_DESTROY": 491,
    "loop_b/CHANNEL_CREATE": 717,
    "loop_b/CHANNEL_ANSWER": 729,
    "loop_b/CHANNEL_PARK": 467,
    "loop_b/cc/member-queue-start": 738,
    "loop_b/CHANNEL_HANGUP": 749,
    "loop_b/cc/member-queue-end": 753,
    "loop_b/CHANNEL_HANGUP_COMPLETE": 760,
    "loop_b/CHANNEL_DESTROY": 767,
    "cust_a/CHANNEL_CREATE": 647,
    "cust_a/CHANNEL_PROGRESS": 658,
    "cust_a/CHANNEL_ANSWER": 665,
    "cust_a/CHANNEL_HANGUP": 676,
    "cust_a/CHANNEL_HANGUP_COMPLETE": 681,
    "cust_a/CHANNEL_DESTROY": 696,
    "cust_b/CHANNEL_CREATE": 652,
    "cust_b/CHANNEL_PROGRESS": 660,
    "cust_b/CHANNEL_ANSWER": 667,
    "cust_b/CHANNEL_HANGUP": 679,
    "cust_b/CHANNEL_HANGUP_COMPLETE": 686,
    "cust_b/CHANNEL_DESTROY": 687,
    "cc/members-count": 531,
    "cc/agent-state-change": 543,
    "cc/agent-offering": 544,
    "cc/agent-status-change": 701,
    "BACKGROUND_JOB": 469,
    "HEARTBEAT": 586,
}


def build(captures: Path = DEFAULT_CAPTURES) -> dict[str, list[list[str]]]:
    """The templates, from ``stream-plain-ALL.txt`` in ``captures``."""
    data = (captures / "stream-plain-ALL.txt").read_bytes()
    by_sequence = {}
    for frame in split_frames(data):
        if frame.is_event:
            event = parse_event(frame)
            by_sequence[event.sequence] = event
    templates: dict[str, list[list[str]]] = {}
    for key, sequence in SEQUENCES.items():
        event = by_sequence[sequence]
        # The inner Content-Length of BACKGROUND_JOB is re-added by the encoder.
        templates[key] = [[n, v] for n, v in event.headers if n != "Content-Length"]
    return templates


def render(templates: dict[str, list[list[str]]]) -> str:
    return json.dumps(templates, indent=0, ensure_ascii=False, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    captures = Path(argv[1]) if len(argv) > 1 else DEFAULT_CAPTURES
    TEMPLATES_FILE.write_text(render(build(captures)), encoding="utf-8")
    print(f"wrote {TEMPLATES_FILE} ({len(SEQUENCES)} templates)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
