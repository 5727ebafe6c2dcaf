"""Dial results (retry with backoff, expiry, the agent's side failing), outcomes (ordered
with the order linked, not interested, wrong number, call again), claim/release and
reassignment rules, with their audit entries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from telephony.callbacks.choices import CallbackOutcome, CallbackStatus, DialResult
from telephony.callbacks.models import CallbackAttempt, CallbackRequest
from telephony.callbacks.services import (
    _dial_start,
    callback_claim,
    callback_dial_result,
    callback_reassign,
    callback_record_outcome,
    callback_release,
    retry_delay,
)
from tests.callbacks.support import agent_in_seat, capture
from tests.orders.factories import make_order
from tvshop.audit.models import AuditAction, AuditEntry
from tvshop.errors import Conflict, DomainError, Forbidden

pytestmark = pytest.mark.django_db


def _dialling(agent=None):
    agent = agent or agent_in_seat("1001")
    cb = capture()
    _dial_start(actor=agent, callback_id=cb.pk, mode="preview")
    return CallbackRequest.objects.get(pk=cb.pk), agent


def test_backoff_doubles_and_is_capped(settings):
    settings.CALLBACKS = {"RETRY_BASE_SECONDS": 60, "RETRY_MAX_SECONDS": 200}
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3, 4)] == [60, 120, 200, 200]


def test_no_answer_is_retried_with_backoff_then_expires(settings):
    settings.CALLBACKS = {"MAX_ATTEMPTS": 3, "RETRY_BASE_SECONDS": 300}
    cb, agent = _dialling()
    # first unanswered dial: waits 5 minutes, back in the pool
    before = timezone.now()
    callback_dial_result(callback_id=cb.pk, result=DialResult.NO_ANSWER, cause="NO_ANSWER")
    cb.refresh_from_db()
    assert (cb.status, cb.attempts, cb.assigned_agent) == (CallbackStatus.NO_ANSWER, 1, None)
    assert dt.timedelta(seconds=299) < cb.next_attempt_at - before < dt.timedelta(seconds=302)
    # second (busy): waits 10 minutes
    _dial_start(actor=agent, callback_id=cb.pk, mode="preview")
    callback_dial_result(callback_id=cb.pk, result=DialResult.BUSY, cause="USER_BUSY")
    cb.refresh_from_db()
    assert (cb.status, cb.attempts) == (CallbackStatus.BUSY, 2)
    assert cb.next_attempt_at - timezone.now() > dt.timedelta(seconds=590)
    # third: the limit (号码回收 gives up) → expired
    _dial_start(actor=agent, callback_id=cb.pk, mode="preview")
    callback_dial_result(callback_id=cb.pk, result=DialResult.NO_ANSWER)
    cb.refresh_from_db()
    assert (cb.status, cb.attempts) == (CallbackStatus.EXPIRED, 3)
    assert cb.closed_at is not None and not cb.is_open
    results = list(CallbackAttempt.objects.filter(request=cb).values_list("result", flat=True))
    assert results == ["no_answer", "busy", "no_answer"]
    assert AuditEntry.objects.filter(object_id=str(cb.pk), action=AuditAction.STATUS).count() >= 6


def test_the_agents_phone_failing_counts_no_attempt():
    cb, _agent = _dialling()
    callback_dial_result(callback_id=cb.pk, result=DialResult.AGENT_FAILED, cause="NO_ANSWER")
    cb.refresh_from_db()
    assert (cb.status, cb.attempts, cb.assigned_agent) == (CallbackStatus.PENDING, 0, None)
    assert cb.next_attempt_at <= timezone.now()


def test_a_result_twice_changes_nothing():
    cb, _agent = _dialling()
    callback_dial_result(callback_id=cb.pk, result=DialResult.CONNECTED)
    callback_dial_result(callback_id=cb.pk, result=DialResult.NO_ANSWER)
    cb.refresh_from_db()
    assert (cb.status, cb.attempts) == (CallbackStatus.CONNECTED, 1)


def test_unknown_result_is_refused():
    cb, _agent = _dialling()
    with pytest.raises(DomainError):
        callback_dial_result(callback_id=cb.pk, result="maybe")


def test_ordered_links_the_order_and_closes():
    cb, agent = _dialling()
    callback_dial_result(callback_id=cb.pk, result=DialResult.CONNECTED)
    order = make_order(agent=agent)
    callback_record_outcome(
        actor=agent, callback_id=cb.pk, outcome=CallbackOutcome.ORDERED, order=order.number
    )
    cb.refresh_from_db()
    assert (cb.status, cb.outcome, cb.order) == (CallbackStatus.DONE, "ordered", order)
    assert cb.customer == order.customer  # unknown caller: the order's customer
    entry = AuditEntry.objects.filter(object_id=str(cb.pk), actor=agent).latest("id")
    assert entry.after["status"] == "done" and entry.after["order"] == order.pk


def test_ordered_needs_an_existing_order():
    cb, agent = _dialling()
    with pytest.raises(DomainError) as err:
        callback_record_outcome(
            actor=agent, callback_id=cb.pk, outcome=CallbackOutcome.ORDERED, order="NOPE"
        )
    assert "order" in err.value.fields
    assert CallbackRequest.objects.get(pk=cb.pk).status == CallbackStatus.DIALLING


@pytest.mark.parametrize("outcome", [CallbackOutcome.NOT_INTERESTED, CallbackOutcome.WRONG_NUMBER])
def test_not_interested_and_wrong_number_close(outcome):
    cb, agent = _dialling()
    callback_record_outcome(actor=agent, callback_id=cb.pk, outcome=outcome, note="n")
    cb.refresh_from_db()
    assert (cb.status, cb.outcome) == (CallbackStatus.DONE, outcome)


def test_call_again_waits_until_the_time():
    cb, agent = _dialling()
    later = timezone.now() + dt.timedelta(hours=2)
    callback_record_outcome(
        actor=agent, callback_id=cb.pk, outcome=CallbackOutcome.CALL_AGAIN, call_again_at=later
    )
    cb.refresh_from_db()
    assert (cb.status, cb.next_attempt_at, cb.assigned_agent) == (
        CallbackStatus.PENDING,
        later,
        None,
    )
    with pytest.raises(DomainError):
        callback_record_outcome(
            actor=agent,
            callback_id=cb.pk,
            outcome=CallbackOutcome.CALL_AGAIN,
            call_again_at=timezone.now() - dt.timedelta(minutes=1),
        )


def test_someone_elses_callback_cannot_be_closed_by_an_agent():
    cb, _agent = _dialling()
    other = agent_in_seat("1002")
    with pytest.raises(Forbidden):
        callback_record_outcome(
            actor=other, callback_id=cb.pk, outcome=CallbackOutcome.NOT_INTERESTED
        )


def test_a_closed_callback_takes_no_outcome():
    cb, agent = _dialling()
    callback_record_outcome(actor=agent, callback_id=cb.pk, outcome=CallbackOutcome.WRONG_NUMBER)
    with pytest.raises(Conflict):
        callback_record_outcome(
            actor=agent, callback_id=cb.pk, outcome=CallbackOutcome.NOT_INTERESTED
        )


def test_roles_without_the_callback_permission_cannot_claim(make_user):
    cb = capture()
    with pytest.raises(Forbidden):
        callback_claim(actor=make_user("logistics"), callback_id=cb.pk)
    assert CallbackRequest.objects.get(pk=cb.pk).status == CallbackStatus.PENDING


def test_claim_then_release():
    cb = capture()
    agent = agent_in_seat("1001")
    callback_claim(actor=agent, callback_id=cb.pk)
    assert CallbackRequest.objects.get(pk=cb.pk).assigned_agent == agent
    callback_release(actor=agent, callback_id=cb.pk)
    cb.refresh_from_db()
    assert (cb.status, cb.assigned_agent) == (CallbackStatus.PENDING, None)


def test_supervisor_reassigns_and_agents_may_not(make_user):
    cb = capture()
    agent = agent_in_seat("1001")
    supervisor = make_user("supervisor")
    callback_reassign(actor=supervisor, callback_id=cb.pk, agent=agent)
    cb.refresh_from_db()
    assert (cb.status, cb.assigned_agent) == (CallbackStatus.OFFERED, agent)
    assert AuditEntry.objects.filter(
        actor=supervisor, action=AuditAction.ASSIGN, object_id=str(cb.pk)
    ).exists()
    with pytest.raises(Forbidden):
        callback_reassign(actor=agent, callback_id=cb.pk, agent=None)
    # a logistics clerk is no callback agent
    with pytest.raises(DomainError):
        callback_reassign(actor=supervisor, callback_id=cb.pk, agent=make_user("logistics"))
    callback_reassign(actor=supervisor, callback_id=cb.pk, agent=None)
    assert CallbackRequest.objects.get(pk=cb.pk).status == CallbackStatus.PENDING


def test_a_callback_on_a_call_is_not_reassigned(make_user):
    cb, _agent = _dialling()
    with pytest.raises(Conflict):
        callback_reassign(actor=make_user("supervisor"), callback_id=cb.pk, agent=None)


def test_a_blacklisted_customer_is_never_dialled(make_user):
    from crm.choices import CustomerLevel
    from telephony.callbacks.dispatcher import callbacks_dispatch
    from telephony.callbacks.services import callback_dial
    from tests.factories import CustomerFactory, CustomerPhoneFactory

    customer = CustomerFactory(level=CustomerLevel.BLACKLISTED)
    CustomerPhoneFactory(customer=customer, number="+8613500135000")
    cb = capture("+8613500135000")
    agent = agent_in_seat("1001")
    # the dispatcher does not hand it out
    assert callbacks_dispatch().offered == []
    # dialling it by hand expires it, without a dial attempt
    with pytest.raises(DomainError):
        callback_dial(actor=agent, callback_id=cb.pk)
    cb.refresh_from_db()
    assert cb.status == CallbackStatus.EXPIRED and not CallbackAttempt.objects.exists()
