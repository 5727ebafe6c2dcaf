"""Issue #6: the call detail page (times, wait, hold, events, the recording player) and the
customer's calls fragment for the customer page — who may see them, and that the players
appear only for those who may listen (playback itself is audited by the supervision
views, tested in test_recordings.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from telephony.choices import CallDirection, CallOutcome
from telephony.models import Call, CallEvent
from tests.factories import CustomerFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

T0 = dt.datetime(2026, 11, 20, 4, 0, tzinfo=dt.UTC)


def _call(n: int, **kwargs) -> Call:
    return Call.objects.create(
        uuid=f"page-{n}",
        direction=CallDirection.INBOUND,
        caller="+8613800138000",
        created_at=T0 + dt.timedelta(minutes=n),
        answered_at=T0 + dt.timedelta(minutes=n, seconds=20),
        ended_at=T0 + dt.timedelta(minutes=n + 2),
        wait_seconds=17,
        talk_seconds=100,
        outcome=CallOutcome.ANSWERED,
        **kwargs,
    )


def test_call_detail_for_its_agent_and_supervisors_with_hold_and_recording(client_for):
    agent = client_for("agent")
    call = _call(1, agent=agent.user, hold_count=2, hold_seconds=45, recording_path="a/b.wav")
    CallEvent.objects.create(call=call, key="k1", kind="CallHeld", at=T0)
    CallEvent.objects.create(call=call, key="k2", kind="CallUnheld", at=T0)
    url = reverse("telephony:call_detail", args=[call.pk])

    html = agent.get(url).content.decode()
    assert 'id="call-holds">2 (45 s)' in html
    assert "<code>CallHeld</code>" in html and "<code>CallUnheld</code>" in html
    assert 'id="call-wait">17<' in html
    assert "<audio" not in html  # agents may not listen to recordings
    assert client_for("agent").get(url).status_code == 403  # not their call

    supervisor_html = client_for("supervisor").get(url).content.decode()
    assert reverse("telephony:recording_play", args=[call.pk]) in supervisor_html
    assert reverse("telephony:recording_download", args=[call.pk]) in supervisor_html
    assert (
        client_for("agent").get(reverse("telephony:call_detail", args=[999999])).status_code == 404
    )


def test_customer_calls_fragment_lists_calls_with_players_for_listeners(
    client_for, django_assert_max_num_queries
):
    customer, other = CustomerFactory(), CustomerFactory()
    recorded = _call(1, customer=customer, recording_path="a/b.wav")
    plain = _call(2, customer=customer)
    foreign = _call(3, customer=other, recording_path="c/d.wav")
    for n in range(4, 14):
        _call(n, customer=customer)
    url = reverse("telephony:customer_calls", args=[customer.pk])

    supervisor = client_for("supervisor")
    with django_assert_max_num_queries(12):
        response = supervisor.get(url, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert f'id="customer-call-{recorded.pk}"' in html and f'id="customer-call-{plain.pk}"' in html
    assert f'id="customer-call-{foreign.pk}"' not in html
    assert html.count("<audio") == 1
    assert reverse("telephony:recording_play", args=[recorded.pk]) in html
    assert reverse("telephony:call_detail", args=[recorded.pk]) in html

    agent_html = client_for("agent").get(url).content.decode()
    assert f'id="customer-call-{recorded.pk}"' in agent_html and "<audio" not in agent_html
    # not their calls: listed, but no link to the detail page
    assert reverse("telephony:call_detail", args=[recorded.pk]) not in agent_html
    assert client_for().get(url).status_code == 403  # no right to see customers
