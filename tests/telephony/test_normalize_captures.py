"""Normalisation on every event a real FreeSWITCH sent (``../shared/esl-captures``).

Single-event captures: each gives exactly the domain events listed below, and its plain and
json encodings give equal domain events (keys and times included). Full streams: scenarios
B, C, D and E of the captures README replay into the expected call stories.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from functools import cache

import pytest

from telephony.esl.events import Event
from telephony.normalize import (
    AgentCallEnded,
    AgentStateChanged,
    AgentStatusChanged,
    CallAnswered,
    CallBridged,
    CallCreated,
    CallDequeued,
    CallEnded,
    CallOffered,
    CallQueued,
    CallTransferred,
    CallUnbridged,
    DomainEvent,
    Heartbeat,
    JobDone,
    LegAnswered,
    LegCreated,
    LegEnded,
    LegRinging,
    MembersCount,
    RingNoAnswer,
    call_uuid_of,
    normalize,
)
from tests.telephony.captures import capture_event, capture_names, stream_events

CORE = "ab5cb96b-4078-44ec-9f00-51ed08ed500a"
# Scenario B: the caller's inbound SIP leg (the member session), the agent leg, the
# harness's originating leg (it plays the customer's phone).
B_CALL = "1caa87e1-6505-4815-afee-b3fb09a5be9a"
B_AGENT_LEG = "5fc476d2-6409-41fd-81d9-17a48b64bffa"
B_HARNESS = "b0000000-4008-4001-2340-000000000002"
# Scenario C (click-to-dial): the originate's agent leg, the customer leg, its loopback half.
C_CALL = "c0000000-4008-4001-2340-000000000003"
C_CUSTOMER_LEG = "a34275ae-981a-411a-ba58-7f35f18557f4"
C_LOOPBACK_B = "6b6fd244-085f-46f8-acc9-ff214e04cbda"
# Scenario D: the caller (loopback B half, the member) and the harness A half.
D_CALL = "abb00d01-169b-4341-abcb-ed53b5f55438"
D_HARNESS = "d0000000-4008-4001-2340-000000000004"
A_ORIGINATE = "a0000000-4008-4001-2340-000000000001"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# capture stem → [(domain event type, fields it must have)]. Every plain-*.txt capture is
# listed (see test_every_event_capture_is_listed); an empty list means "nothing to say".
EXPECTED: dict[str, list[tuple[type[DomainEvent], dict]]] = {
    "CHANNEL_CREATE": [
        (
            CallCreated,
            {
                "key": f"CallCreated:{CORE}:502",
                "at": utc(2026, 11, 21, 22, 55, 55, 85243),
                "call_uuid": B_CALL,
                "direction": "inbound",
                "caller": "13800138000",
                "caller_name": "Customer",
                "dialled": "4008001234",
                "channel": "sofia/external/13800138000@127.0.0.1",
            },
        )
    ],
    "CHANNEL_CREATE--loopback-originate": [
        (
            CallCreated,
            {
                "call_uuid": A_ORIGINATE,
                "direction": "outbound",
                "caller": "13800138000",
                "dialled": "4008001234",
                "channel": "loopback/4008001234-a",
            },
        )
    ],
    "CHANNEL_ANSWER": [
        (LegAnswered, {"call_uuid": B_CALL, "leg_uuid": B_CALL, "key": f"LegAnswered:{CORE}:526"})
    ],
    "CHANNEL_PARK": [],
    "CHANNEL_PARK--originate-app": [],
    "CHANNEL_BRIDGE": [
        (
            CallBridged,
            {
                "call_uuid": B_CALL,
                "leg_uuid": B_CALL,
                "other_leg_uuid": B_AGENT_LEG,
                "other_channel": "null/agent-1001",
                "at": utc(2026, 11, 21, 22, 55, 56, 745267),
            },
        )
    ],
    "CHANNEL_BRIDGE--click-to-dial": [
        (
            CallBridged,
            {
                "call_uuid": C_CALL,
                "leg_uuid": C_CALL,
                "other_leg_uuid": C_CUSTOMER_LEG,
                "other_channel": "loopback/13800138000-a",
            },
        )
    ],
    "CHANNEL_PROGRESS--click-to-dial": [
        (
            LegRinging,
            {
                "call_uuid": C_CALL,
                "leg_uuid": C_CUSTOMER_LEG,
                "dialled": "13800138000",
                "channel": "loopback/13800138000-a",
            },
        )
    ],
    "CHANNEL_UNBRIDGE": [
        (CallUnbridged, {"call_uuid": B_CALL, "leg_uuid": B_CALL, "other_leg_uuid": B_AGENT_LEG})
    ],
    "CHANNEL_HANGUP": [],
    "CHANNEL_HANGUP_COMPLETE": [
        (
            CallEnded,
            {
                "key": f"CallEnded:{CORE}:600",
                "call_uuid": B_CALL,
                "direction": "inbound",
                "cause": "NORMAL_CLEARING",
                "outcome": "answered",
                "queue": "orders",
                "agent": "1001@default",
                "wait_seconds": 1,  # cc_queue_joined_epoch → cc_queue_answered_epoch
                "talk_seconds": 7,  # bridge_uepoch …56.745267 → end_uepoch …64.205239
                "billsec": 9,  # from the dialplan's answer, queue wait included
                "duration": 9,
                "answered_at": utc(2026, 11, 21, 22, 55, 55, 85243),
                "bridged_at": utc(2026, 11, 21, 22, 55, 56, 745267),
                "ended_at": utc(2026, 11, 21, 22, 56, 4, 205239),
                "originate_disposition": None,
            },
        )
    ],
    "CHANNEL_DESTROY": [],
    "BACKGROUND_JOB": [
        (
            JobDone,
            {
                "job_uuid": "18d901e4-675d-4c67-acd2-b33587d95431",
                "ok": True,
                "result": A_ORIGINATE,
                "body": f"+OK {A_ORIGINATE}\n",
                "command": "originate",
            },
        )
    ],
    "BACKGROUND_JOB--error": [
        (
            JobDone,
            {
                "job_uuid": "7e553da2-2fd4-4c09-8615-90a99cdb778e",
                "ok": False,
                "result": "SUBSCRIBER_ABSENT",
                "body": "-ERR SUBSCRIBER_ABSENT\n",
                "command_arg": "user/1999 &park()",
            },
        )
    ],
    "HEARTBEAT": [
        (
            Heartbeat,
            {
                "core_uuid": CORE,
                "session_count": 3,
                "max_sessions": 1000,
                "uptime_msec": 19776,
                "at": utc(2026, 11, 21, 22, 56, 1, 205256),
            },
        )
    ],
    "CUSTOM-callcenter-info-member-queue-start": [
        (
            CallQueued,
            {
                "call_uuid": B_CALL,
                "queue": "orders",
                "caller": "13800138000",
                "caller_name": "Customer",
                "dialled": "4008001234",
                "member_uuid": "83ce9a64-0ffa-4faa-b510-89e4f00baa0e",
                "resumed": False,
            },
        )
    ],
    "CUSTOM-callcenter-info-members-count": [(MembersCount, {"queue": "orders", "count": 1})],
    "CUSTOM-callcenter-info-agent-state-change": [
        (AgentStateChanged, {"agent": "1001@default", "state": "Receiving"})
    ],
    "CUSTOM-callcenter-info-agent-offering": [
        (
            CallOffered,
            {
                "key": f"CallOffered:{CORE}:544",
                "at": utc(2026, 11, 21, 22, 55, 55, 185287),
                "call_uuid": B_CALL,
                "agent": "1001@default",
                "queue": "orders",
                "caller": "13800138000",
                "caller_name": "Customer",
                "dialled": "4008001234",
            },
        )
    ],
    "CUSTOM-callcenter-info-bridge-agent-start": [
        (
            CallAnswered,
            {
                "call_uuid": B_CALL,
                "agent": "1001@default",
                "queue": "orders",
                "agent_leg_uuid": B_AGENT_LEG,
                # the agent leg's Caller-Channel-Answered-Time (µs), not CC-Agent-Answered-Time
                "answered_at": utc(2026, 11, 21, 22, 55, 56, 705337),
                "offered_at": utc(2026, 11, 21, 22, 55, 55),
                "queued_at": utc(2026, 11, 21, 22, 55, 55),
            },
        )
    ],
    "CUSTOM-callcenter-info-bridge-agent-end": [
        (
            AgentCallEnded,
            {
                "call_uuid": B_CALL,
                "agent": "1001@default",
                "talk_seconds": 8,
                "ended_at": utc(2026, 11, 21, 22, 56, 4),
            },
        )
    ],
    "CUSTOM-callcenter-info-member-queue-end": [
        (
            CallDequeued,
            {
                "call_uuid": B_CALL,
                "queue": "orders",
                "outcome": "answered",
                "cause": "Terminated",
                "cancel_reason": None,
                "agent": "1001@default",
                "wait_seconds": 1,
                "left_at": utc(2026, 11, 21, 22, 56, 4),
            },
        )
    ],
    "CUSTOM-callcenter-info-agent-status-change": [
        (AgentStatusChanged, {"agent": "1001@default", "status": "On Break"})
    ],
    "CUSTOM-callcenter-info-member-queue-end--abandoned": [
        (
            CallDequeued,
            {
                "call_uuid": D_CALL,
                "queue": "orders",
                "outcome": "abandoned",
                "cause": "Cancel",
                "cancel_reason": "BREAK_OUT",
                "agent": None,
                "answered_at": None,
                "wait_seconds": 3,
            },
        )
    ],
}


def test_every_event_capture_is_listed():
    stems = {
        name[len("plain-") : -len(".txt")] for name in capture_names() if name.startswith("plain-")
    }
    assert stems == set(EXPECTED)


@pytest.mark.parametrize("stem", sorted(EXPECTED))
def test_capture_gives_expected_domain_events_in_both_encodings(stem):
    # Given the same switch event captured in plain and in json
    plain = capture_event(f"plain-{stem}.txt")
    as_json = capture_event(f"json-{stem}.txt")

    # When both are normalised
    from_plain = normalize(plain)
    from_json = normalize(as_json)

    # Then they give equal domain events, exactly the expected ones
    assert from_plain == from_json
    assert [type(item) for item in from_plain] == [kind for kind, _ in EXPECTED[stem]]
    for item, (_, fields) in zip(from_plain, EXPECTED[stem], strict=True):
        for name, value in fields.items():
            assert getattr(item, name) == value, f"{stem}: {type(item).__name__}.{name}"
        assert item.key.startswith(f"{type(item).__name__}:{CORE}:")
        assert item.at is not None and item.at.utcoffset().total_seconds() == 0


# -- call identity --------------------------------------------------------------------------------


@cache
def stream(name: str) -> tuple[Event, ...]:
    return tuple(stream_events(name))


@cache
def domain_stream(name: str) -> tuple[DomainEvent, ...]:
    return tuple(item for event in stream(name) for item in normalize(event))


def stream_event(sequence: int) -> Event:
    (event,) = [e for e in stream("stream-plain-ALL.txt") if e.sequence == sequence]
    return event


@pytest.mark.parametrize(
    ("sequence", "expected"),
    [
        (502, B_CALL),  # caller leg CHANNEL_CREATE: its own uuid
        (544, B_CALL),  # agent-offering: CC-Member-Session-UUID
        (551, B_CALL),  # agent leg CHANNEL_CREATE: variable_cc_member_session_uuid
        (563, B_CALL),  # bridge-agent-start: Unique-ID is the agent leg, the call is the member
        (594, B_CALL),  # agent leg hang-up
        (624, C_CALL),  # click-to-dial: the originate's first (agent) leg
        (647, C_CALL),  # the customer leg: variable_originating_leg_uuid
        (652, C_CALL),  # the loopback's B half: variable_other_loopback_from_uuid
        (717, D_CALL),
        (712, D_HARNESS),
        (701, None),  # agent-status-change: no call
        (531, None),  # members-count
        (586, None),  # HEARTBEAT
    ],
)
def test_call_uuid_is_picked_consistently(sequence, expected):
    assert call_uuid_of(stream_event(sequence)) == expected


# -- whole streams ---------------------------------------------------------------------------------


def test_plain_and_json_streams_give_identical_domain_events():
    plain = domain_stream("stream-plain-ALL.txt")
    as_json = domain_stream("stream-json-ALL.txt")

    assert plain == as_json
    counts = Counter(type(item).__name__ for item in plain)
    assert counts["CallCreated"] == 7  # A: 2, B: 2, C: 1, D: 2; agent/customer legs are LegCreated
    assert counts["CallEnded"] == 7


def test_replayed_stream_keys_are_unique_and_stable():
    items = domain_stream("stream-plain-ALL.txt")
    keys = [item.key for item in items]

    assert len(keys) == len(set(keys))
    # A replay (same events again, e.g. after a resync) gives the same keys.
    assert [d.key for e in stream("stream-plain-ALL.txt") for d in normalize(e)] == keys


def test_stream_times_come_from_the_switch():
    for item in domain_stream("stream-plain-ALL.txt"):
        assert item.at is not None
        assert utc(2026, 11, 21, 22, 55) <= item.at <= utc(2026, 11, 21, 22, 57)


def test_captures_have_no_transfer_and_no_failed_offer():
    # The rules for these fire on hand-made events only (test_normalize_variations);
    # here they must not fire on a plain queue call or a click-to-dial.
    kinds = {type(item) for item in domain_stream("stream-plain-ALL.txt")}
    assert CallTransferred not in kinds
    assert RingNoAnswer not in kinds


def call_story(call_uuid: str) -> list[DomainEvent]:
    return [
        item
        for item in domain_stream("stream-plain-ALL.txt")
        if getattr(item, "call_uuid", None) == call_uuid
    ]


def test_scenario_b_queue_call_answered_by_agent_1001():
    # Given the hotline call of scenario B, replayed from the plain stream
    story = call_story(B_CALL)

    # Then its story is, in order:
    assert [type(item).__name__ for item in story] == [
        "CallCreated",
        "LegRinging",
        "LegAnswered",  # the dialplan's answer (IVR), not an agent
        "CallQueued",
        "CallOffered",  # the screen pop
        "LegCreated",  # mod_callcenter rings null/agent-1001
        "LegAnswered",
        "CallAnswered",
        "CallBridged",
        "LegEnded",  # the agent hangs up first
        "CallUnbridged",
        "CallEnded",
        "AgentCallEnded",
        "CallDequeued",  # member-queue-end arrives after the caller's hang-up here
    ]
    main = [
        item
        for item in story
        if isinstance(item, CallCreated | CallQueued | CallOffered | CallAnswered | CallEnded)
    ]
    created, queued, offered, answered, ended = main
    assert created.direction == "inbound" and created.dialled == "4008001234"
    assert queued.queue == "orders"
    assert offered.agent == "1001@default"
    assert answered.agent == "1001@default"
    assert ended.outcome == "answered" and ended.cause == "NORMAL_CLEARING"
    assert created.at <= queued.at <= offered.at <= answered.at <= ended.at
    agent_leg = next(item for item in story if isinstance(item, LegCreated))
    assert (agent_leg.leg_uuid, agent_leg.agent) == (B_AGENT_LEG, "1001@default")


def test_scenario_b_agent_states():
    states = [
        item.state
        for item in domain_stream("stream-plain-ALL.txt")
        if isinstance(item, AgentStateChanged) and item.agent == "1001@default"
    ]
    assert states == ["Receiving", "In a queue call", "Waiting"]


def test_scenario_b_harness_leg_is_a_separate_outbound_call():
    # The harness's sofia/internal leg plays the customer's phone; nothing on the wire links
    # it to the hotline leg (SIP between two profiles), so it is its own outbound call.
    story = call_story(B_HARNESS)
    assert isinstance(story[0], CallCreated) and story[0].direction == "outbound"
    assert isinstance(story[-1], CallEnded) and story[-1].outcome == "failed"


def test_scenario_c_click_to_dial_bridges_agent_and_customer_legs():
    story = call_story(C_CALL)

    created = story[0]
    assert isinstance(created, CallCreated)
    assert created.direction == "outbound"
    assert created.channel == "null/agent-1001"  # the agent's extension rings first
    assert created.caller == "4008001234"  # with the hotline as caller id
    legs = [item for item in story if isinstance(item, LegCreated)]
    assert [(leg.leg_uuid, leg.dialled) for leg in legs] == [
        (C_CUSTOMER_LEG, "13800138000"),
        (C_LOOPBACK_B, "13800138000"),
    ]
    ringing = [item for item in story if isinstance(item, LegRinging)]
    assert ringing[0].leg_uuid == C_CUSTOMER_LEG
    (bridged,) = [item for item in story if isinstance(item, CallBridged)]
    assert (bridged.leg_uuid, bridged.other_leg_uuid) == (C_CALL, C_CUSTOMER_LEG)
    assert [type(item) for item in story].count(LegEnded) == 2
    ended = story[-1]
    assert isinstance(ended, CallEnded)
    assert ended.outcome == "answered"
    assert ended.talk_seconds == 6  # the customer talked 6 s after the bridge
    assert ended.bridged_at == bridged.at
    # every event of every leg of the click-to-dial landed on the one call
    uuids = {
        getattr(item, "leg_uuid", None)
        for item in domain_stream("stream-plain-ALL.txt")
        if getattr(item, "call_uuid", None) == C_CALL
    }
    assert uuids == {None, C_CALL, C_CUSTOMER_LEG, C_LOOPBACK_B}


def test_scenario_d_caller_abandons_while_agents_are_on_break():
    story = call_story(D_CALL)

    assert [type(item).__name__ for item in story] == [
        "CallCreated",
        "LegAnswered",
        "CallQueued",
        "CallDequeued",
        "CallEnded",
    ]
    dequeued, ended = story[-2], story[-1]
    assert (dequeued.outcome, dequeued.cancel_reason, dequeued.wait_seconds) == (
        "abandoned",
        "BREAK_OUT",
        3,
    )
    assert (ended.outcome, ended.wait_seconds, ended.cause) == ("abandoned", 3, "NORMAL_CLEARING")
    assert ended.agent is None and ended.talk_seconds is None
    statuses = [
        (item.agent, item.status)
        for item in domain_stream("stream-plain-ALL.txt")
        if isinstance(item, AgentStatusChanged)
    ]
    assert statuses == [
        ("1001@default", "On Break"),
        ("1002@default", "On Break"),
        ("1001@default", "Available"),
        ("1002@default", "Available"),
    ]


def test_scenario_e_failed_originate_job():
    jobs = [item for item in domain_stream("stream-plain-ALL.txt") if isinstance(item, JobDone)]

    assert [job.ok for job in jobs] == [True, True, True, True, False]
    failed = jobs[-1]
    assert "SUBSCRIBER_ABSENT" in failed.body
    assert failed.result == "SUBSCRIBER_ABSENT"
    # the successful click-to-dial job names the originate's uuid: the call it created
    assert jobs[2].result == C_CALL
