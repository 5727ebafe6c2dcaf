"""Normalisation of situations the captures do not contain, made from captured events by
changing a few headers (overflow, blacklist reject, max-wait, RONA, transfers …), plus
properties: keys, times, totality."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telephony.esl.events import Event
from telephony.normalize import (
    CallBridged,
    CallEnded,
    CallQueued,
    CallTransferred,
    DomainEvent,
    RingNoAnswer,
    event_time,
    idempotency_key,
    normalize,
)
from tests.telephony.captures import capture_event, stream_events

D_CALL = "abb00d01-169b-4341-abcb-ed53b5f55438"
B_CALL = "1caa87e1-6505-4815-afee-b3fb09a5be9a"
C_CALL = "c0000000-4008-4001-2340-000000000003"


def edited(event: Event, changes: dict[str, str | None]) -> Event:
    """``event`` with headers replaced (every occurrence), removed (``None``) or appended."""
    headers = []
    for name, value in event.headers:
        if name in changes:
            if changes[name] is not None:
                headers.append((name, changes[name]))
        else:
            headers.append((name, value))
    present = {name for name, _ in event.headers}
    headers.extend(
        (name, value)
        for name, value in changes.items()
        if value is not None and name not in present
    )
    return Event(tuple(headers), event.body, event.format)


@cache
def plain_stream() -> tuple[Event, ...]:
    return tuple(stream_events("stream-plain-ALL.txt"))


def stream_event(sequence: int) -> Event:
    (event,) = [e for e in plain_stream() if e.sequence == sequence]
    return event


def only(event: Event) -> DomainEvent:
    (item,) = normalize(event)
    return item


# -- final outcome ---------------------------------------------------------------------------------

# Scenario D's caller hang-up: queued, left with BREAK_OUT, never bridged.
D_HANGUP = 760


def test_overflow_branch_marker_gives_overflow():
    # Given a caller who reached max wait and was taken by the overflow branch's
    # "computer seat", which set tvshop_callback=true
    event = edited(
        stream_event(D_HANGUP),
        {"variable_cc_cancel_reason": "TIMEOUT", "variable_tvshop_callback": "true"},
    )

    # When it hangs up
    ended = only(event)

    # Then the call is an overflow, with the time it waited in the queue
    assert isinstance(ended, CallEnded)
    assert (ended.outcome, ended.wait_seconds, ended.queue) == ("overflow", 3, "orders")


def test_max_wait_without_overflow_branch_is_failed_not_abandoned():
    ended = only(edited(stream_event(D_HANGUP), {"variable_cc_cancel_reason": "TIMEOUT"}))
    assert ended.outcome == "failed"


def test_blacklisted_caller_rejected_by_dialplan():
    # Given a caller the dialplan refused before any queue (hangup CALL_REJECTED)
    event = edited(
        stream_event(D_HANGUP),
        {
            "Hangup-Cause": "CALL_REJECTED",
            "variable_hangup_cause": "CALL_REJECTED",
            "variable_cc_side": None,
            "variable_cc_queue": None,
            "variable_cc_cause": None,
            "variable_cc_cancel_reason": None,
            "variable_cc_queue_joined_epoch": None,
            "variable_cc_queue_canceled_epoch": None,
        },
    )

    ended = only(event)

    assert (ended.outcome, ended.cause, ended.queue, ended.wait_seconds) == (
        "rejected",
        "CALL_REJECTED",
        None,
        None,
    )


def test_caller_hanging_up_in_ivr_before_queue_is_abandoned():
    event = edited(
        stream_event(D_HANGUP),
        {"variable_cc_cause": None, "variable_cc_cancel_reason": None},
    )
    assert only(event).outcome == "abandoned"


def test_queue_call_answered_is_read_from_callcenter_variables_not_only_bridge_times():
    # Given scenario B's caller hang-up without the core's bridge times (e.g. a switch
    # that does not report them): mod_callcenter's cc_cause=answered still decides
    event = edited(
        capture_event("plain-CHANNEL_HANGUP_COMPLETE.txt"),
        {"variable_bridge_uepoch": None, "Caller-Channel-Bridged-Time": None},
    )

    ended = only(event)

    assert (ended.outcome, ended.agent, ended.talk_seconds) == ("answered", "1001@default", None)


def test_click_to_dial_customer_busy_is_failed_with_disposition():
    # Given the click-to-dial agent leg's hang-up, had the customer been busy (no bridge)
    event = edited(
        stream_event(695),
        {
            "variable_bridge_uepoch": "0",
            "variable_bridge_epoch": "0",
            "Caller-Channel-Bridged-Time": "0",
            "variable_originate_disposition": "USER_BUSY",
        },
    )

    ended = only(event)

    assert isinstance(ended, CallEnded) and ended.call_uuid == C_CALL
    assert (ended.outcome, ended.originate_disposition, ended.talk_seconds) == (
        "failed",
        "USER_BUSY",
        None,
    )


# -- queue -------------------------------------------------------------------------------------


def test_member_queue_end_reasons():
    abandoned = capture_event("plain-CUSTOM-callcenter-info-member-queue-end--abandoned.txt")
    outcomes = {
        reason: only(edited(abandoned, {"CC-Cancel-Reason": reason})).outcome
        for reason in ("BREAK_OUT", "TIMEOUT", "NO_AGENT_TIMEOUT", "EXIT_WITH_KEY", "NONE")
    }
    assert outcomes == {
        "BREAK_OUT": "abandoned",
        "TIMEOUT": "timeout",
        "NO_AGENT_TIMEOUT": "timeout",
        "EXIT_WITH_KEY": "exited",
        "NONE": "failed",
    }


def test_member_queue_resume_is_a_resumed_queueing():
    start = capture_event("plain-CUSTOM-callcenter-info-member-queue-start.txt")
    queued = only(edited(start, {"CC-Action": "member-queue-resume"}))
    assert isinstance(queued, CallQueued) and queued.resumed is True


def test_bridge_agent_fail_is_ring_no_answer():
    # Given the offering of scenario B, turned into mod_callcenter's bridge-agent-fail
    offering = capture_event("plain-CUSTOM-callcenter-info-agent-offering.txt")

    def failed(cause: str) -> RingNoAnswer:
        return only(
            edited(
                offering,
                {
                    "CC-Action": "bridge-agent-fail",
                    "CC-Hangup-Cause": cause,
                    "CC-Agent-Called-Time": "1795301755",
                    "CC-Agent-Aborted-Time": "1795301770",
                },
            )
        )

    # When the agent's phone rang out / was busy / the caller left
    no_answer, busy, cancelled = (
        failed("NO_ANSWER"),
        failed("USER_BUSY"),
        failed("ORIGINATOR_CANCEL"),
    )

    # Then each is a failed offer of this call to this agent; only the first is a RONA
    assert isinstance(no_answer, RingNoAnswer)
    assert (no_answer.call_uuid, no_answer.agent, no_answer.queue) == (
        B_CALL,
        "1001@default",
        "orders",
    )
    assert no_answer.offered_at == datetime(2026, 11, 21, 22, 55, 55, tzinfo=UTC)
    assert [no_answer.rona, busy.rona, cancelled.rona] == [True, False, False]
    assert busy.cause == "USER_BUSY"


# -- transfers ---------------------------------------------------------------------------------


def test_requeue_after_agent_bridge_is_a_transfer_to_that_queue():
    # Given the caller's channel already bridged to 1001 enters queue "vip"
    start = capture_event("plain-CUSTOM-callcenter-info-member-queue-start.txt")
    event = edited(
        start,
        {
            "CC-Queue": "vip",
            "variable_cc_agent": "1001@default",
            "variable_cc_agent_bridged": "true",
        },
    )

    queued, transferred = normalize(event)

    assert isinstance(queued, CallQueued) and queued.queue == "vip"
    assert isinstance(transferred, CallTransferred)
    assert (transferred.call_uuid, transferred.from_agent, transferred.to_queue) == (
        B_CALL,
        "1001@default",
        "vip",
    )
    assert queued.key != transferred.key


def test_caller_bridged_to_another_leg_is_a_transfer_to_that_leg():
    bridge = capture_event("plain-CHANNEL_BRIDGE.txt")
    other = "99999999-0000-4000-8000-000000000001"
    event = edited(
        bridge, {"Other-Leg-Unique-ID": other, "Other-Leg-Channel-Name": "null/agent-1002"}
    )

    bridged, transferred = normalize(event)

    assert isinstance(bridged, CallBridged) and bridged.other_leg_uuid == other
    assert isinstance(transferred, CallTransferred)
    assert (transferred.from_agent, transferred.to_leg_uuid, transferred.to_channel) == (
        None,  # the caller's channel had no cc_agent yet at this point of scenario B
        other,
        "null/agent-1002",
    )


# -- keys and times ----------------------------------------------------------------------------


def test_key_changes_when_the_switch_restarts():
    offering = capture_event("plain-CUSTOM-callcenter-info-agent-offering.txt")
    restarted = edited(offering, {"Core-UUID": "00000000-1111-4222-8333-444444444444"})

    assert only(offering).key != only(restarted).key
    assert only(offering).key == idempotency_key(offering, "CallOffered")


def test_key_without_core_uuid_or_sequence_is_a_stable_digest():
    offering = capture_event("plain-CUSTOM-callcenter-info-agent-offering.txt")
    bare = edited(offering, {"Core-UUID": None, "Event-Sequence": None})
    other = edited(bare, {"CC-Agent": "1002@default"})

    assert only(bare).key == only(bare).key
    assert only(bare).key.startswith("CallOffered:sha256:")
    assert only(bare).key != only(other).key


def test_time_falls_back_to_event_date_gmt_and_never_to_the_local_clock():
    status = capture_event("plain-CUSTOM-callcenter-info-agent-status-change.txt")
    no_timestamp = edited(status, {"Event-Date-Timestamp": None})
    no_date = edited(no_timestamp, {"Event-Date-GMT": None})

    assert event_time(no_timestamp) == datetime(2026, 11, 21, 22, 56, 15, tzinfo=UTC)
    assert only(no_date).at is None


def test_events_without_identity_are_dropped():
    assert normalize(edited(capture_event("plain-CHANNEL_CREATE.txt"), {"Unique-ID": None})) == []
    assert (
        normalize(
            edited(
                capture_event("plain-CUSTOM-callcenter-info-agent-offering.txt"), {"CC-Agent": None}
            )
        )
        == []
    )
    assert normalize(edited(capture_event("plain-BACKGROUND_JOB.txt"), {"Job-UUID": None})) == []
    assert (
        normalize(
            edited(
                capture_event("plain-CUSTOM-callcenter-info-members-count.txt"), {"CC-Count": "x"}
            )
        )
        == []
    )


def test_unrelated_events_give_nothing():
    kinds = {"CHANNEL_STATE", "CODEC", "API", "CHANNEL_EXECUTE", "PRESENCE_IN", "MODULE_UNLOAD"}
    unrelated = [event for event in plain_stream() if event.name in kinds]
    assert unrelated
    assert all(normalize(event) == [] for event in unrelated)
    other_custom = edited(
        capture_event("plain-CUSTOM-callcenter-info-agent-offering.txt"),
        {"Event-Subclass": "sofia::register"},
    )
    assert normalize(other_custom) == []
    assert normalize(Event(())) == []


# -- totality ----------------------------------------------------------------------------------

RELEVANT = [event for event in plain_stream() if normalize(event)]
READ_HEADERS = sorted(
    {name for event in RELEVANT for name, _ in event.headers if not name.startswith("variable_")}
    | {
        "variable_cc_member_session_uuid",
        "variable_originating_leg_uuid",
        "variable_other_loopback_from_uuid",
        "variable_cc_side",
        "variable_cc_agent",
        "variable_cc_agent_uuid",
        "variable_cc_agent_bridged",
        "variable_cc_cause",
        "variable_cc_cancel_reason",
        "variable_cc_queue",
        "variable_cc_queue_joined_epoch",
        "variable_cc_queue_answered_epoch",
        "variable_cc_queue_canceled_epoch",
        "variable_tvshop_callback",
        "variable_answer_uepoch",
        "variable_bridge_uepoch",
        "variable_end_uepoch",
        "variable_billsec",
        "variable_duration",
    }
)
GARBAGE = st.one_of(
    st.sampled_from(["", "0", "-1", "-", "+OK", "true", "NaN", "9" * 30, "inbound", "Cancel"]),
    st.text(max_size=12),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    event=st.sampled_from(RELEVANT),
    dropped=st.sets(st.sampled_from(READ_HEADERS), max_size=25),
    garbled=st.dictionaries(st.sampled_from(READ_HEADERS), GARBAGE, max_size=8),
    body=st.one_of(st.none(), st.text(max_size=20)),
)
def test_normalize_never_raises_on_mangled_capture_events(event, dropped, garbled, body):
    # Given a real event with headers removed and values garbled at random
    changes: dict[str, str | None] = dict.fromkeys(dropped)
    changes.update(garbled)
    mangled = edited(event, changes)
    if event.name == "BACKGROUND_JOB":
        mangled = Event(mangled.headers, body, mangled.format)

    # When it is normalised, then it gives a list of well-formed domain events
    result = normalize(mangled)

    assert isinstance(result, list)
    for item in result:
        assert isinstance(item, DomainEvent)
        assert isinstance(item.key, str) and item.key
        assert item.at is None or item.at.tzinfo is UTC
    assert normalize(mangled) == result  # pure: same input, same output
