"""CDR ingest: decoding mod_json_cdr's three body encodings, reading real-shaped CDRs, the
authenticated endpoint, idempotency, and reconciling missing and incomplete calls."""

from __future__ import annotations

import copy
import io
import json
from datetime import timedelta

import pytest
from django.test import Client

from crm.models import Lead
from telephony.callbacks.models import CallbackCapture, CallbackRequest
from telephony.cdr.models import CallDetailRecord, CdrResult
from telephony.cdr.services import cdr_decode, cdr_facts, cdr_ingest, cdr_replay
from telephony.choices import CallOutcome
from telephony.models import Call, CallEvent, Seat, SeatSession
from telephony.simulator.cdr_poster import encode_body
from tests.cdr.support import (
    ANSWERED,
    CALLER,
    END_US,
    HOTLINE,
    JOINED,
    PASSWORD,
    START_US,
    USERNAME,
    abandoned_cdr,
    answered_cdr,
    at,
    basic,
    capture_cdr,
    failed_cdr,
    overflow_cdr,
    rejected_cdr,
)
from tests.factories import (
    CustomerFactory,
    CustomerPhoneFactory,
    HotlineFactory,
    StationFactory,
    UserFactory,
)
from tvshop.errors import DomainError

pytestmark = pytest.mark.usefixtures("english")

URL = "/telephony/cdr/"


@pytest.fixture
def cdr_credentials(settings):
    settings.TELEPHONY_CDR = {"username": USERNAME, "password": PASSWORD}


@pytest.fixture
def world(db):
    """Hotline 4008001234 → queue orders of 湖南卫视; a customer owning 13800138000; seat
    1001 held by ``earlier`` until just before the call, by ``serving`` during it, and by
    ``now`` since after it (the agent is the one who held the seat *then*)."""
    station = StationFactory(name="湖南卫视")
    hotline = HotlineFactory(number=HOTLINE, queue_name="orders", station=station)
    customer = CustomerFactory(name="张秀英")
    CustomerPhoneFactory(customer=customer, number="+86" + CALLER)
    seat = Seat.objects.create(extension="1001")
    earlier, serving, current = UserFactory(), UserFactory(), UserFactory()
    SeatSession.objects.create(
        seat=seat, user=earlier, started_at=at(JOINED - 7200), ended_at=at(JOINED - 60)
    )
    SeatSession.objects.create(
        seat=seat, user=serving, started_at=at(JOINED - 30), ended_at=at(JOINED + 600)
    )
    SeatSession.objects.create(seat=seat, user=current, started_at=at(JOINED + 3600))
    return {
        "station": station,
        "hotline": hotline,
        "customer": customer,
        "seat": seat,
        "serving": serving,
    }


def post(client: Client, cdr: dict, *, encode: str = "true", auth: str | None = None):
    body, content_type = encode_body(cdr, encode=encode)
    headers = {"HTTP_AUTHORIZATION": auth if auth is not None else basic()}
    return client.generic("POST", URL, body, content_type=content_type, **headers)


# -- decoding and reading ----------------------------------------------------------------------


@pytest.mark.parametrize("encode", ["true", "base64", "false"])
@pytest.mark.parametrize("encode_values", [True, False])
def test_every_body_encoding_of_mod_json_cdr_decodes_to_the_same_facts(encode, encode_values):
    cdr = answered_cdr(uuid="1caa87e1-6505-4815-afee-b3fb09a5be9a")
    body, content_type = encode_body(cdr, encode=encode, encode_values=encode_values)
    if encode_values:  # the switch's default: every value URL-encoded inside the JSON
        assert "sofia%2Fexternal%2F13800138000%40127.0.0.1" in json.dumps(
            cdr_decode(body, content_type)
        )

    facts = cdr_facts(cdr_decode(body, content_type))

    assert facts.leg_uuid == facts.call_uuid == "1caa87e1-6505-4815-afee-b3fb09a5be9a"
    assert facts.is_call_leg
    assert facts.core_uuid == "ab5cb96b-4078-44ec-9f00-51ed08ed500a"
    assert (facts.caller, facts.dialled, facts.direction) == (CALLER, HOTLINE, "inbound")
    assert (facts.queue, facts.agent) == ("orders", "1001@default")
    assert facts.outcome == CallOutcome.ANSWERED
    assert facts.cause == "NORMAL_CLEARING"
    assert facts.created_at == at(START_US / 1_000_000)
    assert facts.ended_at == at(END_US / 1_000_000)
    assert facts.queued_at == at(JOINED)
    assert facts.answered_at == at(ANSWERED)
    assert facts.wait_seconds == 1
    assert facts.talk_seconds == 7  # bridge 1795301756.745 → end 1795301764.205


def test_a_json_body_is_read_whatever_the_content_type_says():
    cdr = answered_cdr()
    body, _ = encode_body(cdr, encode="false")
    assert cdr_decode(body, "text/plain")["variables"]["uuid"] == cdr["variables"]["uuid"]


def test_only_epoch_seconds_are_enough_for_the_times():
    cdr = answered_cdr(drop=("start_uepoch", "end_uepoch", "bridge_uepoch"))
    facts = cdr_facts(cdr)
    assert facts.created_at == at(1795301755)
    assert facts.ended_at == at(1795301764)
    assert facts.talk_seconds == 8  # bridge_epoch 1795301756 → end_epoch 1795301764


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b"", "application/json", "no CDR"),
        (b"{not json", "application/json", "not valid JSON"),
        (b"cdr=%7Bnot%20json", "application/x-www-form-urlencoded", "not valid JSON"),
        (b"other=1", "application/x-www-form-urlencoded", "no 'cdr' field"),
        (b"[1, 2]", "application/json", "JSON object"),
        (b'{"callflow": []}', "application/json", "no 'variables'"),
        (b"cdr=@@@@", "application/x-www-form-urlencoded", "neither JSON nor base64"),
        (b"\xff\xfe", "application/json", "not UTF-8"),
    ],
)
def test_what_is_not_a_cdr_is_refused_with_a_message(body, content_type, message):
    with pytest.raises(DomainError) as error:
        cdr_decode(body, content_type)
    assert error.value.code == "invalid_cdr"
    assert message in error.value.message


def test_a_cdr_without_a_uuid_is_refused():
    cdr = answered_cdr(drop=("uuid", "call_uuid"))
    cdr["callflow"][0]["caller_profile"].pop("uuid")
    with pytest.raises(DomainError, match="no call uuid"):
        cdr_facts(cdr)


def test_an_agent_leg_belongs_to_the_callers_call():
    cdr = answered_cdr(cc_member_session_uuid="caller-leg-uuid", cc_side="agent")
    facts = cdr_facts(cdr)
    assert facts.call_uuid == "caller-leg-uuid"
    assert not facts.is_call_leg


# -- the endpoint ------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.usefixtures("cdr_credentials")
@pytest.mark.parametrize(
    "auth",
    [
        "",
        basic(USERNAME, "wrong-password"),
        basic("someone", PASSWORD),
        basic(USERNAME, PASSWORD + "x"),
        "Basic !!!not-base64",
        "Bearer " + PASSWORD,
    ],
)
def test_without_the_right_credentials_the_endpoint_refuses_and_stores_nothing(auth, world):
    response = post(Client(), overflow_cdr(), auth=auth)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith('Basic realm="tvshop-cdr"')
    assert CallDetailRecord.objects.count() == 0
    assert Call.objects.count() == 0
    assert CallbackRequest.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.usefixtures("cdr_credentials")
def test_a_logged_in_user_without_credentials_is_refused_too(world):
    client = Client()
    client.force_login(UserFactory(is_superuser=True))
    assert post(client, answered_cdr(), auth="").status_code == 401


@pytest.mark.django_db
@pytest.mark.usefixtures("cdr_credentials")
def test_only_post_is_allowed(world):
    assert Client().get(URL, HTTP_AUTHORIZATION=basic()).status_code == 405


@pytest.mark.django_db
@pytest.mark.usefixtures("cdr_credentials")
@pytest.mark.parametrize("encode", ["true", "base64", "false"])
def test_the_switch_posts_without_a_csrf_token_in_each_encoding(encode, world):
    client = Client(enforce_csrf_checks=True)
    cdr = answered_cdr()
    response = post(client, cdr, encode=encode)
    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["result"] == CdrResult.CREATED
    assert answer["duplicate"] is False
    assert answer["uuid"] == cdr["variables"]["uuid"]
    assert Call.objects.get(uuid=cdr["variables"]["uuid"]).pk == answer["call"]


@pytest.mark.django_db
@pytest.mark.usefixtures("cdr_credentials")
def test_bad_json_is_a_400_with_a_clear_message_and_nothing_saved(world):
    response = Client().generic(
        "POST",
        URL,
        "cdr=%7B%22variables%22%3A",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=basic(),
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_cdr"
    assert "not valid JSON" in response.json()["message"]
    assert CallDetailRecord.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.usefixtures("cdr_credentials")
def test_the_same_cdr_twice_gives_one_call_one_callback_one_record(world):
    client = Client()
    cdr = overflow_cdr()
    first = post(client, cdr)
    again = post(client, copy.deepcopy(cdr), encode="false")

    assert (first.status_code, again.status_code) == (200, 200)
    assert first.json()["duplicate"] is False
    assert again.json()["duplicate"] is True
    assert again.json()["call"] == first.json()["call"]
    uuid = cdr["variables"]["uuid"]
    assert Call.objects.filter(uuid=uuid).count() == 1
    assert CallDetailRecord.objects.filter(uuid=uuid).count() == 1
    assert CallbackCapture.objects.filter(call_uuid=uuid).count() == 1
    assert CallbackRequest.objects.count() == 1
    assert CallbackRequest.objects.get().call_count == 1
    assert Lead.objects.get().call_count == 1


# -- reconcile: a call the event stream never saw ----------------------------------------------


def _ingest(cdr: dict) -> tuple[CallDetailRecord, Call | None]:
    result = cdr_ingest(data=cdr)
    call = Call.objects.filter(uuid=cdr["variables"]["uuid"]).first()
    return result.record, call


@pytest.mark.django_db
def test_a_missing_answered_call_is_created_with_agent_customer_hotline_and_times(world):
    record, call = _ingest(answered_cdr())

    assert record.result == CdrResult.CREATED
    assert record.call == call
    assert call.outcome == CallOutcome.ANSWERED
    assert call.direction == "inbound"
    assert call.caller == "+86" + CALLER
    assert call.dialled == HOTLINE
    assert (call.hotline, call.station) == (world["hotline"], world["station"])
    assert call.queue == "orders"
    assert call.customer == world["customer"]
    # the agent who held seat 1001 when the call was answered, not who holds it now
    assert (call.seat, call.agent) == (world["seat"], world["serving"])
    assert call.created_at == at(START_US / 1_000_000)
    assert (call.queued_at, call.answered_at) == (at(JOINED), at(ANSWERED))
    assert call.ended_at == at(END_US / 1_000_000)
    assert (call.wait_seconds, call.talk_seconds) == (1, 7)
    assert call.hangup_cause == "NORMAL_CLEARING"
    event = CallEvent.objects.get(call=call)
    assert (event.kind, event.key) == ("CdrReconciled", f"cdr:{call.uuid}")
    lead = Lead.objects.get()
    assert (lead.customer, lead.hotline, lead.call_count) == (
        world["customer"],
        world["hotline"],
        1,
    )
    assert CallbackRequest.objects.count() == 0


@pytest.mark.django_db
def test_a_missing_abandoned_call_keeps_its_wait(world):
    record, call = _ingest(abandoned_cdr())
    assert record.result == CdrResult.CREATED
    assert call.outcome == CallOutcome.ABANDONED
    assert call.wait_seconds == 40
    assert call.answered_at is None
    assert (call.seat, call.agent) == (None, None)
    assert CallbackRequest.objects.count() == 0


@pytest.mark.django_db
def test_a_missing_overflow_capture_becomes_a_call_and_a_callback_request(world):
    record, call = _ingest(overflow_cdr(caller="13900139000"))

    assert record.result == CdrResult.CREATED
    assert call.outcome == CallOutcome.OVERFLOW
    assert call.caller == "+8613900139000"
    capture = CallbackCapture.objects.select_related("request").get(call_uuid=call.uuid)
    assert capture.reason == "overflow_switch"
    assert capture.captured_at == call.ended_at
    request = capture.request
    assert request.number == "+8613900139000"
    assert (request.hotline, request.station) == (world["hotline"], world["station"])
    assert request.status == "pending"
    assert f"callback {request.pk}" in record.detail


@pytest.mark.django_db
def test_a_capture_at_max_wait_keeps_its_reason_and_queue_wait(world):
    _record, call = _ingest(
        overflow_cdr(
            tvshop_callback_reason="max_wait",
            cc_queue_joined_epoch=str(JOINED),
            cc_queue_canceled_epoch=str(JOINED + 120),
            cc_cause="cancel",
            cc_cancel_reason="TIMEOUT",
        )
    )
    assert call.outcome == CallOutcome.OVERFLOW
    assert call.wait_seconds == 120
    assert CallbackCapture.objects.get(call_uuid=call.uuid).reason == "max_wait"


@pytest.mark.django_db
def test_a_missing_blacklisted_call_is_rejected_without_a_callback(world):
    _record, call = _ingest(rejected_cdr())
    assert call.outcome == CallOutcome.REJECTED
    assert call.hangup_cause == "CALL_REJECTED"
    assert call.queue == "orders"  # the hotline's queue, as the bridge records it
    assert CallbackRequest.objects.count() == 0


@pytest.mark.django_db
def test_a_missing_failed_call_keeps_its_cause(world):
    _record, call = _ingest(failed_cdr("RECOVERY_ON_TIMER_EXPIRE"))
    assert call.outcome == CallOutcome.FAILED
    assert call.hangup_cause == "RECOVERY_ON_TIMER_EXPIRE"


@pytest.mark.django_db
def test_a_capture_without_a_caller_number_is_still_an_accounted_call(world):
    record, call = _ingest(overflow_cdr(caller="anonymous"))
    assert call.outcome == CallOutcome.OVERFLOW
    assert CallbackRequest.objects.count() == 0
    assert "no callback" in record.detail


@pytest.mark.django_db
def test_an_agent_leg_and_a_non_hotline_call_create_nothing(world):
    agent_leg = answered_cdr(cc_member_session_uuid="some-caller-leg", cc_side="agent")
    internal = failed_cdr(tvshop_dnis="1002", drop=("original_destination_number",))
    internal["callflow"][0]["caller_profile"]["destination_number"] = "1002"

    assert cdr_ingest(data=agent_leg).record.result == CdrResult.IGNORED
    assert cdr_ingest(data=internal).record.result == CdrResult.IGNORED
    assert Call.objects.count() == 0
    assert CallDetailRecord.objects.count() == 2  # both kept as posted


# -- reconcile: a call the event stream left incomplete ----------------------------------------


def _stream_call(world, **fields) -> Call:
    values = {
        "uuid": "1caa87e1-6505-4815-afee-b3fb09a5be9a",
        "direction": "inbound",
        "caller": "+86" + CALLER,
        "dialled": HOTLINE,
        "hotline": world["hotline"],
        "station": world["station"],
        "queue": "orders",
        "customer": world["customer"],
        "created_at": at(START_US / 1_000_000),
    }
    values.update(fields)
    return Call.objects.create(**values)


@pytest.mark.django_db
def test_a_call_left_in_progress_is_completed_without_overwriting_the_stream(world):
    # the bridge saw the call queue and be offered (its own times), then went away
    stream_queued = at(JOINED) + timedelta(milliseconds=300)
    call = _stream_call(world, queued_at=stream_queued, offered_at=at(JOINED + 0.5))

    record, call = _ingest(answered_cdr(uuid=call.uuid))

    assert record.result == CdrResult.COMPLETED
    assert call.outcome == CallOutcome.ANSWERED
    assert call.ended_at == at(END_US / 1_000_000)
    assert call.hangup_cause == "NORMAL_CLEARING"
    assert call.answered_at == at(ANSWERED)
    assert (call.wait_seconds, call.talk_seconds) == (1, 7)
    assert (call.seat, call.agent) == (world["seat"], world["serving"])
    assert call.queued_at == stream_queued  # what the stream recorded stays
    assert call.offered_at == at(JOINED + 0.5)
    assert "ended_at" in record.detail and "outcome" in record.detail
    assert Call.objects.count() == 1


@pytest.mark.django_db
def test_a_call_that_hung_up_while_held_gets_its_hold_closed_by_the_cdr(world):
    # the bridge saw the agent put the caller on hold, then lost sight of the call; the CDR
    # (written by the same module as the events, telephony.services.calls) ends the hold
    held_at = at(ANSWERED + 2)
    call = _stream_call(world, answered_at=at(ANSWERED), hold_count=1, held_at=held_at)
    record, call = _ingest(answered_cdr(uuid=call.uuid))
    assert record.result == CdrResult.COMPLETED
    assert call.held_at is None and call.hold_count == 1
    assert call.hold_seconds == round((call.ended_at - held_at).total_seconds())
    unheld = CallEvent.objects.get(call=call, kind="CallUnheld")
    assert unheld.at == call.ended_at
    # applying the same CDR again changes nothing (the raw CDR is a duplicate)
    _again, call = _ingest(answered_cdr(uuid=call.uuid))
    assert CallEvent.objects.filter(call=call, kind="CallUnheld").count() == 1


@pytest.mark.django_db
def test_a_capture_left_in_progress_is_completed_and_gets_its_callback(world):
    call = _stream_call(world)
    record, call = _ingest(overflow_cdr(uuid=call.uuid))
    assert record.result == CdrResult.COMPLETED
    assert call.outcome == CallOutcome.OVERFLOW
    assert CallbackCapture.objects.filter(call_uuid=call.uuid).count() == 1


@pytest.mark.django_db
def test_a_resync_guess_is_corrected_by_the_cdr(world):
    # a resync after the reconnect guessed "abandoned" for a call queued when sight was lost
    call = _stream_call(
        world, queued_at=at(JOINED), outcome=CallOutcome.ABANDONED, ended_at=at(JOINED + 300)
    )
    CallEvent.objects.create(
        call=call, key=f"resync:{call.uuid}", kind="ResyncEnded", at=at(JOINED + 300)
    )
    record, call = _ingest(overflow_cdr(uuid=call.uuid))
    assert record.result == CdrResult.COMPLETED
    assert call.outcome == CallOutcome.OVERFLOW
    assert call.ended_at == at(END_US / 1_000_000)
    assert CallbackCapture.objects.filter(call_uuid=call.uuid).count() == 1


@pytest.mark.django_db
def test_a_call_the_stream_completed_is_left_as_it_is(world):
    ended = at(END_US / 1_000_000) + timedelta(milliseconds=20)
    call = _stream_call(
        world,
        outcome=CallOutcome.ANSWERED,
        queued_at=at(JOINED),
        answered_at=at(ANSWERED),
        ended_at=ended,
        talk_seconds=8,
        wait_seconds=1,
        hangup_cause="NORMAL_CLEARING",
        seat=world["seat"],
        agent=world["serving"],
    )
    CallEvent.objects.create(call=call, key="CallEnded:x:1", kind="CallEnded", at=ended)
    record, call = _ingest(answered_cdr(uuid=call.uuid))
    assert record.result == CdrResult.UNCHANGED
    assert (call.ended_at, call.talk_seconds) == (ended, 8)
    assert not CallEvent.objects.filter(key=f"cdr:{call.uuid}").exists()


@pytest.mark.django_db
def test_replaying_a_stored_cdr_changes_nothing_more(world):
    record, _call = _ingest(overflow_cdr())
    replayed = cdr_replay(record=record)
    assert replayed.result == CdrResult.UNCHANGED
    assert Call.objects.count() == 1
    assert CallbackCapture.objects.count() == 1
    assert CallbackRequest.objects.get().call_count == 1


@pytest.mark.django_db
def test_a_repeat_caller_captured_twice_while_the_bridge_was_down_has_one_request(world):
    _ingest(overflow_cdr(caller="13900139000"))
    _ingest(overflow_cdr(caller="13900139000"))
    assert Call.objects.filter(outcome=CallOutcome.OVERFLOW).count() == 2
    request = CallbackRequest.objects.get()
    assert request.call_count == 2
    assert CallbackCapture.objects.filter(request=request).count() == 2


def test_the_capture_helper_builds_cdrs_from_the_real_switch(settings):
    cdr = capture_cdr()
    assert cdr["variables"]["cc_queue"] == "orders"
    assert cdr["variables"]["tvshop_dnis"] == HOTLINE


# -- CDRs that did not come by POST ------------------------------------------------------------


@pytest.mark.django_db
def test_spooled_cdr_files_load_once_and_bad_files_are_reported(world, tmp_path):
    from django.core.management import call_command

    spooled = overflow_cdr()
    good = tmp_path / f"{spooled['variables']['uuid']}.cdr.json"
    good.write_bytes(encode_body(spooled, encode="false")[0])  # what err-log-dir holds
    bad = tmp_path / "broken.cdr.json"
    bad.write_text("{truncated")
    out, err = io.StringIO(), io.StringIO()

    call_command("cdr_replay", str(good), str(bad), stdout=out, stderr=err)
    call_command("cdr_replay", str(good), stdout=out, stderr=err)

    assert out.getvalue().splitlines() == ["created: 1, refused: 1", "duplicate: 1"]
    assert "broken.cdr.json" in err.getvalue()
    assert CallbackCapture.objects.filter(call_uuid=spooled["variables"]["uuid"]).count() == 1


@pytest.mark.django_db
def test_a_failed_reconcile_is_kept_and_replayed(world):
    from django.core.management import call_command

    cdr = overflow_cdr()
    record = CallDetailRecord.objects.create(
        uuid=cdr["variables"]["uuid"],
        call_uuid=cdr["variables"]["uuid"],
        received_at=at(JOINED),
        result=CdrResult.FAILED,
        detail="OperationalError: the database went away",
        data=cdr,
    )
    out = io.StringIO()
    call_command("cdr_replay", "--failed", stdout=out)
    record.refresh_from_db()
    assert out.getvalue().strip() == "replayed created: 1"
    assert record.result == CdrResult.CREATED
    assert record.call.outcome == CallOutcome.OVERFLOW
    assert CallbackCapture.objects.filter(call_uuid=record.call_uuid).count() == 1
