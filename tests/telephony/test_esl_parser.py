"""The ESL protocol layer on every byte a real FreeSWITCH sent (``../shared/esl-captures``)."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telephony.esl.errors import ProtocolError
from telephony.esl.events import (
    encode_json_event,
    encode_plain_event,
    event_frame,
    parse_event,
    parse_json_event,
    parse_plain_event,
    url_decode,
    url_encode,
)
from telephony.esl.frames import (
    API_RESPONSE,
    AUTH_REQUEST,
    COMMAND_REPLY,
    DISCONNECT_NOTICE,
    EVENT_JSON,
    EVENT_PLAIN,
    RUDE_REJECTION,
    CommandParser,
    Frame,
    FrameParser,
    encode_command,
    split_frames,
)
from tests.telephony.captures import (
    capture_bytes,
    capture_event,
    capture_frames,
    capture_names,
    require_captures,
    stream_events,
)

ALL_CAPTURES = capture_names()
PLAIN_CAPTURES = [name for name in ALL_CAPTURES if name.startswith("plain-")]
KNOWN_TYPES = {
    AUTH_REQUEST,
    COMMAND_REPLY,
    API_RESPONSE,
    EVENT_PLAIN,
    EVENT_JSON,
    DISCONNECT_NOTICE,
    RUDE_REJECTION,
}

# From the captures README: file stem → (Event-Name, Event-Sequence).
SINGLE_EVENTS = {
    "CHANNEL_CREATE": ("CHANNEL_CREATE", 502),
    "CHANNEL_ANSWER": ("CHANNEL_ANSWER", 526),
    "CHANNEL_PARK": ("CHANNEL_PARK", 467),
    "CHANNEL_BRIDGE": ("CHANNEL_BRIDGE", 576),
    "CHANNEL_UNBRIDGE": ("CHANNEL_UNBRIDGE", 595),
    "CHANNEL_HANGUP": ("CHANNEL_HANGUP", 596),
    "CHANNEL_HANGUP_COMPLETE": ("CHANNEL_HANGUP_COMPLETE", 600),
    "CHANNEL_DESTROY": ("CHANNEL_DESTROY", 613),
    "BACKGROUND_JOB": ("BACKGROUND_JOB", 469),
    "BACKGROUND_JOB--error": ("BACKGROUND_JOB", 773),
    "HEARTBEAT": ("HEARTBEAT", 586),
    "CUSTOM-callcenter-info-member-queue-start": ("CUSTOM", 530),
    "CUSTOM-callcenter-info-members-count": ("CUSTOM", 531),
    "CUSTOM-callcenter-info-agent-state-change": ("CUSTOM", 543),
    "CUSTOM-callcenter-info-agent-offering": ("CUSTOM", 544),
    "CUSTOM-callcenter-info-bridge-agent-start": ("CUSTOM", 563),
    "CUSTOM-callcenter-info-bridge-agent-end": ("CUSTOM", 610),
    "CUSTOM-callcenter-info-member-queue-end": ("CUSTOM", 611),
    "CUSTOM-callcenter-info-agent-status-change": ("CUSTOM", 701),
    "CUSTOM-callcenter-info-member-queue-end--abandoned": ("CUSTOM", 753),
    "CHANNEL_CREATE--loopback-originate": ("CHANNEL_CREATE", 448),
    "CHANNEL_PARK--originate-app": ("CHANNEL_PARK", 472),
    "CHANNEL_BRIDGE--click-to-dial": ("CHANNEL_BRIDGE", 672),
    "CHANNEL_PROGRESS--click-to-dial": ("CHANNEL_PROGRESS", 658),
}


# -- every capture -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL_CAPTURES)
def test_every_capture_splits_into_frames_with_nothing_left_and_reencodes_exactly(name):
    # Given the exact bytes a real switch sent
    data = capture_bytes(name)

    # When they are split into frames
    frames = split_frames(data)

    # Then nothing is left over, every frame is of a known kind, every event parses,
    # and re-encoding gives the same bytes back
    assert frames
    assert {frame.content_type for frame in frames} <= KNOWN_TYPES
    for frame in frames:
        if frame.is_event:
            assert parse_event(frame).name
    assert b"".join(frame.encode() for frame in frames) == data


def test_every_file_the_readme_lists_is_present_and_parsed_above():
    readme = (require_captures() / "README.md").read_text()
    listed = set(re.findall(r"`([\w.-]+\.txt)`", readme)) - {"plain-X.txt", "json-X.txt"}
    assert len(listed) > 40
    assert listed <= set(ALL_CAPTURES)
    assert len(PLAIN_CAPTURES) == len(SINGLE_EVENTS)
    assert {f"json-{n.removeprefix('plain-')}" for n in PLAIN_CAPTURES} <= set(ALL_CAPTURES)


@pytest.mark.parametrize(
    ("name", "frames", "events"),
    [
        ("stream-plain-ALL.txt", 384, 380),
        ("stream-json-ALL.txt", 384, 380),
        ("stream-myevents-linger.txt", 12, 6),
    ],
)
def test_streams_have_the_documented_frame_counts(name, frames, events):
    parsed = capture_frames(name)
    assert len(parsed) == frames
    assert sum(frame.is_event for frame in parsed) == events
    assert parsed[0].content_type == AUTH_REQUEST
    assert parsed[-1].content_type == DISCONNECT_NOTICE


@pytest.mark.parametrize("stem", sorted(SINGLE_EVENTS))
@pytest.mark.parametrize("fmt", ["plain", "json"])
def test_each_single_event_capture_parses_to_the_right_event(stem, fmt):
    event = capture_event(f"{fmt}-{stem}.txt")
    name, sequence = SINGLE_EVENTS[stem]
    assert event.format == fmt
    assert event.name == name
    assert event.sequence == sequence
    if name == "CUSTOM":
        assert event.subclass == "callcenter::info"
        action = stem.removeprefix("CUSTOM-callcenter-info-").split("--")[0]
        assert event.get("CC-Action") == action


@pytest.mark.parametrize("plain_name", PLAIN_CAPTURES)
def test_plain_and_json_partners_carry_the_same_headers_in_the_same_order(plain_name):
    # Given the same switch event captured in both encodings
    plain = capture_event(plain_name)
    json_ = capture_event("json-" + plain_name.removeprefix("plain-"))

    # Then they are the same event, header by header (duplicates included) and body
    assert plain.sequence == json_.sequence
    assert len(plain.headers) == len(json_.headers)
    for index, (p, j) in enumerate(zip(plain.headers, json_.headers, strict=True)):
        assert p == j, f"header #{index} differs: plain {p!r} vs json {j!r}"
    assert plain.body == json_.body


def test_plain_and_json_streams_hold_the_same_380_events():
    plain = stream_events("stream-plain-ALL.txt")
    json_ = stream_events("stream-json-ALL.txt")
    assert [e.sequence for e in plain] == [e.sequence for e in json_]
    for p, j in zip(plain, json_, strict=True):
        assert (p.headers, p.body) == (j.headers, j.body), f"Event-Sequence {p.sequence}"


# -- the parser details the README lists ---------------------------------------------------


@pytest.mark.parametrize("fmt", ["plain", "json"])
def test_duplicate_hangup_cause_is_kept(fmt):
    event = capture_event(f"{fmt}-CHANNEL_HANGUP_COMPLETE.txt")
    assert event.get_all("Hangup-Cause") == ["NORMAL_CLEARING", "NORMAL_CLEARING"]
    assert event.get("Hangup-Cause") == "NORMAL_CLEARING"
    # A dict-based parser would have one header fewer than the raw lines.
    raw_lines = capture_bytes("plain-CHANNEL_HANGUP_COMPLETE.txt").count(b"\nHangup-Cause: ")
    assert raw_lines == 2


@pytest.mark.parametrize("name", ["stream-plain-ALL.txt", "stream-json-ALL.txt"])
def test_codec_events_keep_their_repeated_write_codec_headers(name):
    codec = [e for e in stream_events(name) if e.name == "CODEC"]
    repeated = [e for e in codec if len(e.get_all("Channel-Write-Codec-Name")) == 2]
    assert repeated, "the CODEC events repeat Channel-Write-Codec-Name"
    assert all(len(e.get_all("Channel-Write-Codec-Rate")) == 2 for e in repeated)


def test_plain_values_are_url_decoded():
    create = capture_event("plain-CHANNEL_CREATE.txt")
    assert create.get("Channel-Name") == "sofia/external/13800138000@127.0.0.1"
    assert create.get("FreeSWITCH-IPv6") == "fd00::2"
    status = capture_event("plain-CUSTOM-callcenter-info-agent-status-change.txt")
    assert status.subclass == "callcenter::info"
    assert status.get("CC-Agent") == "1001@default"
    assert status.get("CC-Agent-Status") == "On Break"
    # and the raw bytes really were encoded
    raw = capture_bytes("plain-CUSTOM-callcenter-info-agent-status-change.txt")
    assert b"CC-Agent-Status: On%20Break" in raw


def test_json_values_are_strings_and_arrays_match_the_plain_array_form():
    plain = capture_event("plain-CHANNEL_HANGUP_COMPLETE.txt")
    json_ = capture_event("json-CHANNEL_HANGUP_COMPLETE.txt")
    assert json_.get("Event-Sequence") == "600"
    assert plain.get("variable_DP_MATCH") == json_.get("variable_DP_MATCH")
    assert json_.get_array("variable_DP_MATCH") == ["4008001234", "4008001234"]
    assert json_.get_array("variable_transfer_history")[1].endswith(
        ":uuid_br:" + plain.get("variable_bridge_uuid")
    )


def test_typed_accessors():
    event = capture_event("json-CHANNEL_HANGUP_COMPLETE.txt")
    assert event.uuid == "1caa87e1-6505-4815-afee-b3fb09a5be9a"
    assert event.core_uuid == "ab5cb96b-4078-44ec-9f00-51ed08ed500a"
    assert event.timestamp_us == 1795301764205239
    assert event.variables["cc_queue"] == "orders"
    assert event.variable("hangup_cause") == "NORMAL_CLEARING"
    assert "Unique-ID" in event and "No-Such-Header" not in event
    assert event.get("unique-id") == event.uuid  # case-insensitive like the switch


@pytest.mark.parametrize("fmt", ["plain", "json"])
def test_background_job_output_is_the_event_body(fmt):
    ok = capture_event(f"{fmt}-BACKGROUND_JOB.txt")
    assert ok.job_uuid == "18d901e4-675d-4c67-acd2-b33587d95431"
    assert ok.body == "+OK a0000000-4008-4001-2340-000000000001\n"
    assert ok.get("Job-Command") == "originate"
    assert ok.get("Job-Command-Arg", "").endswith("loopback/4008001234/default &park()")
    failed = capture_event(f"{fmt}-BACKGROUND_JOB--error.txt")
    assert failed.body == "-ERR SUBSCRIBER_ABSENT\n"


def test_bgapi_reply_names_the_job():
    (reply,) = capture_frames("reply-bgapi.txt")
    assert reply.reply_text == "+OK Job-UUID: 18d901e4-675d-4c67-acd2-b33587d95431"
    assert reply.get("Job-UUID") == "18d901e4-675d-4c67-acd2-b33587d95431"


def test_auth_failure_is_reply_then_disconnect_notice():
    request, reply, notice = capture_frames("auth-failed.txt")
    assert request.content_type == AUTH_REQUEST
    assert (reply.content_type, reply.reply_text) == (COMMAND_REPLY, "-ERR invalid")
    assert notice.is_disconnect_notice
    assert notice.body_text.startswith("Disconnected, goodbye.")


def test_rude_rejection_has_no_auth_request():
    rejection, notice = capture_frames("rude-rejection.txt")
    assert rejection.content_type == RUDE_REJECTION
    assert rejection.body_text == "Access Denied, go away.\n"
    assert notice.is_disconnect_notice


def test_disconnect_notices():
    bye, notice = capture_frames("disconnect-notice-exit.txt")
    assert bye.reply_text == "+OK bye" and notice.is_disconnect_notice
    (linger,) = capture_frames("disconnect-notice-linger.txt")
    assert linger.get("Content-Disposition") == "linger"
    assert linger.get("Linger-Time") == "3"
    assert linger.body == b""
    (final,) = capture_frames("disconnect-notice-myevents-end.txt")
    assert final.get("Content-Disposition") == "disconnect"
    assert final.get("Controlled-Session-UUID") == "a0000000-4008-4001-2340-000000000001"
    (shutdown,) = capture_frames("disconnect-notice-shutdown.txt")
    assert shutdown.body_text == "The system is being shut down.\n"


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("api-error-command-not-found.txt", "-ERR no_such_command Command not found!\n"),
        ("api-error-uuid_kill-no-such-channel.txt", "-ERR No such channel!\n"),
        ("api-error-originate.txt", "-ERR SUBSCRIBER_ABSENT\n"),
        ("api-uuid_kill.txt", "+OK\n"),
    ],
)
def test_api_responses_are_bodies_by_content_length(name, text):
    (frame,) = capture_frames(name)
    assert frame.content_type == API_RESPONSE
    assert frame.body_text == text


# -- chunking ------------------------------------------------------------------------------


def _feed_in_chunks(data: bytes, sizes) -> list[Frame]:
    parser = FrameParser()
    frames: list[Frame] = []
    position = 0
    for size in sizes:
        if position >= len(data):
            break
        frames += parser.feed(data[position : position + size])
        position += size
    frames += parser.feed(data[position:])
    assert parser.buffered == 0
    return frames


def test_one_byte_at_a_time_gives_the_same_frames():
    data = capture_bytes("stream-myevents-linger.txt")
    assert _feed_in_chunks(data, [1] * len(data)) == split_frames(data)


@pytest.mark.parametrize("name", ["stream-plain-ALL.txt", "stream-json-ALL.txt"])
def test_seven_bytes_at_a_time_gives_the_same_frames(name):
    data = capture_bytes(name)
    assert _feed_in_chunks(data, [7] * (len(data) // 7 + 1)) == split_frames(data)


@settings(max_examples=40, deadline=None)
@given(sizes=st.lists(st.integers(min_value=1, max_value=5000), min_size=1, max_size=400))
def test_random_chunk_sizes_give_the_same_frames(sizes):
    data = capture_bytes("stream-plain-ALL.txt")
    expected = split_frames(data)
    repeated = (sizes * (len(data) // max(1, sum(sizes)) + 1))[: len(data)]
    assert _feed_in_chunks(data, repeated) == expected


@settings(max_examples=60, deadline=None)
@given(cuts=st.sets(st.integers(min_value=1, max_value=17788), max_size=60))
def test_random_cut_points_give_the_same_frames(cuts):
    data = capture_bytes("stream-myevents-linger.txt")
    points = [0, *sorted(c for c in cuts if c < len(data)), len(data)]
    sizes = [b - a for a, b in itertools.pairwise(points) if b > a]
    assert _feed_in_chunks(data, sizes) == split_frames(data)


# -- serialisation (what the test server and the simulator send) ---------------------------


@pytest.mark.parametrize("name", ["stream-plain-ALL.txt", "stream-json-ALL.txt"])
def test_event_encoders_reproduce_every_captured_event_byte_for_byte(name):
    for frame in capture_frames(name):
        if frame.is_event:
            event = parse_event(frame)
            assert event_frame(event.headers, event.body, event.format) == frame, event.sequence


def test_plain_and_json_encoders_round_trip_awkward_values():
    headers = (
        ("Event-Name", "CUSTOM"),
        ("Caller-Caller-ID-Name", '张三 "VIP" <a&b=c|d>:%'),
        ("variable_multi", "ARRAY::x|:y"),
        ("Hangup-Cause", "A"),
        ("Hangup-Cause", "B"),
    )
    for event in (
        parse_plain_event(encode_plain_event(headers, "+OK done\n")),
        parse_json_event(encode_json_event(headers, "+OK done\n")),
    ):
        assert event.headers[:5] == headers
        assert event.get("Content-Length") == str(len(b"+OK done\n"))
        assert event.body == "+OK done\n"


def test_url_encoding_matches_the_switch():
    assert url_encode("sofia/external/13800138000@127.0.0.1") == (
        "sofia/external/13800138000%40127.0.0.1"
    )
    assert url_encode("On Break") == "On%20Break"
    assert url_decode("+OK") == "+OK"
    assert url_decode(url_encode("中文 +x")) == "中文 +x"


def test_commands_are_serialised_and_parsed_back():
    data = encode_command("bgapi status", [("Job-UUID", "j1")])
    assert data == b"bgapi status\nJob-UUID: j1\n\n"
    parser = CommandParser()
    commands = parser.feed(data + b"api show channels as json\r\n\r\n" + b"sendmsg x\n")
    assert [(c.name, c.args) for c in commands] == [
        ("bgapi", "status"),
        ("api", "show channels as json"),
    ]
    assert commands[0].get("Job-UUID") == "j1"
    assert parser.buffered > 0  # the incomplete third command waits for more bytes


@pytest.mark.parametrize("bad", ["api status\n\nexit", "api status\r", ""])
def test_commands_with_line_breaks_are_refused(bad):
    with pytest.raises(ValueError):
        encode_command(bad)


@pytest.mark.parametrize(
    "garbage",
    [
        b"Content-Type: api/response\nContent-Length: many\n\n",
        b"this is not a header\n\n",
        b"Content-Type: x\nContent-Length: -1\n\n",
    ],
)
def test_garbage_is_a_protocol_error(garbage):
    with pytest.raises(ProtocolError):
        FrameParser().feed(garbage)


def test_incomplete_stream_is_reported():
    data = capture_bytes("plain-HEARTBEAT.txt")
    with pytest.raises(ProtocolError, match="left over"):
        split_frames(data[:-1])
