"""The resync replies (callcenter lists, show … as json) as a real switch sent them."""

from __future__ import annotations

import pytest

from telephony.esl.errors import ProtocolError
from telephony.esl.parse_callcenter import (
    parse_agent_list,
    parse_member_list,
    parse_pipe_table,
    parse_queue_list,
    parse_show_json,
    parse_tier_list,
)
from tests.telephony.captures import capture_frames


def api_body(name: str) -> str:
    (frame,) = capture_frames(name)
    return frame.body_text


def test_agent_list_idle_and_in_call():
    idle = parse_agent_list(api_body("api-callcenter_config-agent-list.txt"))
    assert [a.name for a in idle] == ["1001@default", "1002@default"]
    assert {a.status for a in idle} == {"Available"}
    assert {a.state for a in idle} == {"Waiting"}
    assert idle[0].contact == "[leg_timeout=15]user/1001"
    assert idle[0].uuid == ""
    assert idle[0].wrap_up_time == 5
    assert idle[0].last_bridge_start == 1795301561
    assert idle[0].calls_answered == 1

    in_call = parse_agent_list(api_body("api-callcenter_config-agent-list--in-call.txt"))
    agent = in_call[0]
    assert agent.state == "In a queue call"
    assert agent.uuid == "5fc476d2-6409-41fd-81d9-17a48b64bffa"
    assert agent.raw["external_calls_count"] == "0"


def test_member_lists_answered_and_waiting():
    answered = parse_member_list(api_body("api-callcenter_config-queue-list-members-orders.txt"))
    (member,) = answered
    assert member.queue == "orders"
    assert member.state == "Answered"
    assert member.cid_number == "13800138000"
    assert member.cid_name == "Customer"
    assert member.serving_agent == "1001@default"
    assert member.session_uuid == "1caa87e1-6505-4815-afee-b3fb09a5be9a"
    assert member.bridge_epoch == 1795301756

    (waiting,) = parse_member_list(
        api_body("api-callcenter_config-queue-list-members-orders--waiting.txt")
    )
    assert waiting.state == "Waiting"
    assert waiting.cid_name == ""
    assert waiting.serving_agent == ""
    assert waiting.bridge_epoch is None  # "0" means never


def test_tier_and_queue_lists():
    tiers = parse_tier_list(api_body("api-callcenter_config-tier-list.txt"))
    assert [(t.agent, t.level, t.position) for t in tiers] == [
        ("1001@default", 1, 1),
        ("1002@default", 1, 2),
    ]
    (queue,) = parse_queue_list(api_body("api-callcenter_config-queue-list.txt"))
    assert queue["name"] == "orders"
    assert queue["strategy"] == "longest-idle-agent"
    assert queue["agent_no_answer_status"] == "On Break"


def test_a_pipe_inside_the_free_text_column_is_rejoined():
    text = "queue|uuid|cid_name|state\norders|u1|Zhang|San|Waiting\n+OK\n"
    assert parse_pipe_table(text, free_column="cid_name") == [
        {"queue": "orders", "uuid": "u1", "cid_name": "Zhang|San", "state": "Waiting"}
    ]
    with pytest.raises(ProtocolError, match="fields"):
        parse_pipe_table(text)


@pytest.mark.parametrize(
    "text",
    ["-ERR Invalid queue\n", "name|status\n1001|Available\n", ""],
)
def test_error_or_truncated_lists_raise(text):
    with pytest.raises(ProtocolError):
        parse_pipe_table(text)


def test_show_channels_as_json_idle_has_no_rows_key():
    assert api_body("api-show-channels-as-json--idle.txt") == '{"row_count": 0}\n'
    assert parse_show_json(api_body("api-show-channels-as-json--idle.txt")) == []


def test_show_channels_and_calls_as_json():
    rows = parse_show_json(api_body("api-show-channels-as-json.txt"))
    assert [row["name"] for row in rows] == [
        "sofia/internal/4008001234@127.0.0.1:5080",
        "sofia/external/13800138000@127.0.0.1",
        "null/agent-1001",
    ]
    parked = parse_show_json(api_body("api-show-channels-as-json--parked.txt"))
    assert {row["application"] for row in parked} == {"park"}
    calls = parse_show_json(api_body("api-show-calls-as-json.txt"))
    assert calls and all("call_uuid" in row for row in calls)


@pytest.mark.parametrize("text", ["nope", '{"rows": []}', '{"row_count": 2, "rows": [{}]}'])
def test_bad_show_json_raises(text):
    with pytest.raises(ProtocolError):
        parse_show_json(text)
