"""Callbacks dialled for real: the simulator over TCP, the bridge writing the call records,
the dispatcher's housekeeping turning each finished call into the callback's result."""

from __future__ import annotations

import pytest
from django.test import override_settings

from telephony.callbacks.choices import CallbackStatus, DialResult
from telephony.callbacks.dispatcher import callbacks_dispatch
from telephony.callbacks.models import CallbackAttempt, CallbackRequest
from telephony.callbacks.services import callback_dial, control_get
from telephony.choices import CallOutcome
from telephony.models import Call
from tests.callbacks.support import agent_in_seat, capture
from tests.telephony.test_bridge_support import (
    PASSWORD,
    db,
    redis_layer,  # noqa: F401 - fixture
    sim_config,
    switch_and_bridge,
    wait_for,
)
from tvshop.errors import DomainError

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("redis_layer")]

BUSY = "13900139000"
SILENT = "13700137000"
ANSWERS = "13800138000"


def _esl(server) -> dict:
    return {"host": "127.0.0.1", "port": server.port, "password": PASSWORD, "simulated": False}


def _config():
    return sim_config(
        callers={
            "busy_numbers": [BUSY],
            "unanswered_numbers": [SILENT],
            "customer_answer_delay": 1.0,
            "customer_talk_time": 2.0,
            "originate_timeout": 20,
        }
    )


def _world(number: str):
    agent = agent_in_seat("1001")
    callback = capture("+86" + number)
    return agent, callback


async def _dial_and_settle(server, bridge, agent, callback_id: int) -> dict:
    """Offer through the dispatcher, dial as the agent, wait for the call to close, run
    the dispatcher's housekeeping; the callback's row afterwards."""

    def offer_and_dial():
        with override_settings(TELEPHONY_ESL=_esl(server), TELEPHONY_DIAL_WAIT_SECONDS=0.3):
            report = callbacks_dispatch()
            assert report.offered == [callback_id], report
            return callback_dial(actor=agent, callback_id=callback_id).status

    assert await db(offer_and_dial)() == CallbackStatus.DIALLING
    call_id = await db(lambda: CallbackAttempt.objects.get(request_id=callback_id).call_id)()
    assert call_id is not None

    async def closed():
        return await db(
            lambda: (
                Call.objects.exclude(outcome=CallOutcome.IN_PROGRESS).filter(pk=call_id).exists()
            )
        )()

    await wait_for(closed, timeout=15)
    await bridge.drain(5)

    def settle():
        with override_settings(TELEPHONY_ESL=_esl(server)):
            callbacks_dispatch()
        return CallbackRequest.objects.values().get(pk=callback_id)

    return await db(settle)()


async def test_customer_answers_the_callback_is_connected():
    agent, callback = await db(_world)(ANSWERS)
    async with switch_and_bridge(_config()) as (server, bridge):
        row = await _dial_and_settle(server, bridge, agent, callback.pk)
    assert (row["status"], row["attempts"]) == (CallbackStatus.CONNECTED, 1)
    attempt = await db(lambda: CallbackAttempt.objects.values().get(request_id=callback.pk))()
    assert attempt["result"] == DialResult.CONNECTED and attempt["ended_at"] is not None
    call = await db(lambda: Call.objects.values().get(pk=attempt["call_id"]))()
    assert call["callee"] == "+86" + ANSWERS and call["agent_id"] == agent.pk


async def test_busy_customer_is_retried_later():
    agent, callback = await db(_world)(BUSY)
    async with switch_and_bridge(_config()) as (server, bridge):
        row = await _dial_and_settle(server, bridge, agent, callback.pk)
    assert (row["status"], row["attempts"], row["assigned_agent_id"]) == (
        CallbackStatus.BUSY,
        1,
        None,
    )
    attempt = await db(lambda: CallbackAttempt.objects.values().get(request_id=callback.pk))()
    assert (attempt["result"], attempt["cause"]) == (DialResult.BUSY, "USER_BUSY")


async def test_unanswered_customer_is_retried_later():
    agent, callback = await db(_world)(SILENT)
    async with switch_and_bridge(_config()) as (server, bridge):
        row = await _dial_and_settle(server, bridge, agent, callback.pk)
    assert (row["status"], row["attempts"]) == (CallbackStatus.NO_ANSWER, 1)


async def test_agent_phone_missing_gives_the_callback_back_without_an_attempt():
    # given an agent whose seat's phone does not exist on the switch
    def world():
        agent = agent_in_seat("1099")
        return agent, capture("+86" + ANSWERS)

    agent, callback = await db(world)()
    async with switch_and_bridge(_config()) as (server, _bridge):

        def dial():
            with override_settings(TELEPHONY_ESL=_esl(server), TELEPHONY_DIAL_WAIT_SECONDS=1.0):
                callbacks_dispatch()
                return callback_dial(actor=agent, callback_id=callback.pk)

        request = await db(dial)()
    assert (request.status, request.attempts, request.assigned_agent_id) == (
        CallbackStatus.PENDING,
        0,
        None,
    )
    attempt = await db(lambda: CallbackAttempt.objects.values().get(request_id=callback.pk))()
    assert (attempt["result"], attempt["cause"]) == (DialResult.AGENT_FAILED, "SUBSCRIBER_ABSENT")


async def test_auto_mode_rings_the_agent_then_the_customer():
    _agent, callback = await db(_world)(ANSWERS)

    def auto():
        control = control_get()
        control.mode = "auto"
        control.save(update_fields=["mode"])

    await db(auto)()
    async with switch_and_bridge(_config()) as (server, _bridge):

        def dispatch():
            with override_settings(TELEPHONY_ESL=_esl(server), TELEPHONY_DIAL_WAIT_SECONDS=0.3):
                return callbacks_dispatch()

        report = await db(dispatch)()
        assert report.offered == [callback.pk] and report.dialled == [callback.pk]

        async def connected():
            await db(dispatch)()
            return await db(
                lambda: CallbackRequest.objects.filter(
                    pk=callback.pk, status=CallbackStatus.CONNECTED
                ).exists()
            )()

        await wait_for(connected, timeout=15, interval=0.3)
    attempt = await db(lambda: CallbackAttempt.objects.values().get(request_id=callback.pk))()
    assert attempt["mode"] == "auto" and attempt["result"] == DialResult.CONNECTED


async def test_dialling_without_a_seat_is_refused_and_the_callback_stays_in_the_pool(make_user):
    def world():
        return make_user("agent"), capture("+86" + ANSWERS)

    user, callback = await db(world)()
    with pytest.raises(DomainError):
        await db(lambda: callback_dial(actor=user, callback_id=callback.pk))()
    row = await db(lambda: CallbackRequest.objects.values().get(pk=callback.pk))()
    assert (row["status"], row["attempts"]) == (CallbackStatus.PENDING, 0)
