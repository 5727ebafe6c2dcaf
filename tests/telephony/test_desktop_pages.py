"""Desktop pages: the desktop, the status buttons, the screen pop (known and unknown caller,
permission, query count), a new customer from the pop, transfer."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.models import Customer
from telephony.choices import AgentStatus, CallDirection, CallOutcome
from telephony.models import Call, SeatSession
from tests.crm.factories import make_customer, shenzhen_nanshan
from tests.crm.factories_contacts import ServiceRecordFactory, TicketFactory
from tests.crm.factories_knowledge import ScriptFactory
from tests.factories import HotlineFactory, ProductFactory, StationFactory
from tests.telephony import test_desktop_support as support
from tests.telephony.test_desktop_support import make_seat, sim_config
from tvshop.audit.models import AuditAction, AuditEntry

pytestmark = pytest.mark.django_db
simulator = support.simulator  # fixture

NUMBER = "+8613800138000"


def _call(agent, *, caller=NUMBER, customer=None, hotline=None, **kwargs) -> Call:
    return Call.objects.create(
        uuid=kwargs.pop("uuid", f"call-{Call.objects.count() + 1}"),
        direction=CallDirection.INBOUND,
        caller=caller,
        dialled=hotline.number if hotline else "4008001234",
        hotline=hotline,
        station=hotline.station if hotline else None,
        agent=agent,
        customer=customer,
        created_at=timezone.now(),
        offered_at=timezone.now(),
        **kwargs,
    )


def _known_call(agent):
    actor = agent
    product = ProductFactory(name="蚕丝被")
    station = StationFactory(name="湖南卫视")
    hotline = HotlineFactory(station=station, product=product, number="4008001234")
    customer = make_customer(
        actor=actor,
        name="张秀英",
        phones=["13800138000", "075588881234"],
        salutation="ms",
        level="vip",
        address={**shenzhen_nanshan(), "street": "科技园路1号"},
    )
    TicketFactory(customer=customer, title="发票未收到")
    ServiceRecordFactory(customer=customer, content="上次询问发货")
    ScriptFactory(
        title="开场白", body="{surname}{salutation}您好，欢迎致电{product}热线。", product=None
    )
    return _call(agent, customer=customer, hotline=hotline), customer


# --- the desktop -----------------------------------------------------------------------------


def test_desktop_offers_free_seats(client_for):
    make_seat("1001")
    taken = make_seat("1002")
    client = client_for("agent")
    SeatSession.objects.create(seat=taken, user=client.user, started_at=timezone.now())
    other = client_for("agent")
    html = other.get(reverse("telephony:desktop")).content.decode()
    assert 'id="seat-login-form"' in html
    assert ">1001<" in html and ">1002<" not in html
    assert 'id="desktop-config"' in html and "/ws/desktop/" in html


@pytest.mark.parametrize("role", ["logistics", "finance", "reviewer1"])
def test_desktop_needs_use_desktop(client_for, role):
    assert client_for(role).get(reverse("telephony:desktop")).status_code == 403


def test_login_ready_not_ready_logout_through_the_page(simulator, client_for):
    seat = make_seat("1001")
    client = client_for("agent")
    htmx = {"HTTP_HX_REQUEST": "true"}
    # log in
    response = client.post(reverse("telephony:seat_login"), {"seat": seat.pk}, **htmx)
    assert response.status_code == 200 and 'id="btn-ready"' in response.content.decode()
    # ready
    client.post(reverse("telephony:agent_status"), {"action": "ready"}, **htmx)
    assert simulator.agent("1001@default")["status"] == "Available"
    # not ready: break
    response = client.post(
        reverse("telephony:agent_status"), {"action": "not_ready", "reason": "break"}, **htmx
    )
    assert response.status_code == 200
    assert simulator.agent("1001@default")["status"] == "On Break"
    seat.refresh_from_db()
    assert (seat.status, seat.reason) == (AgentStatus.ON_BREAK, "break")
    # after-call work shows the countdown's deadline
    html = client.post(reverse("telephony:agent_status"), {"action": "acw"}, **htmx).content
    assert b"data-acw-deadline" in html
    # log out
    client.post(reverse("telephony:seat_logout"), **htmx)
    assert simulator.agent("1001@default")["status"] == "Logged Out"
    assert SeatSession.objects.get().ended_at is not None


def test_refusal_shows_in_the_panel_with_a_4xx(simulator, client_for):
    client = client_for("agent")
    response = client.post(
        reverse("telephony:agent_status"), {"action": "ready"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 409
    assert 'id="status-error"' in response.content.decode()


def test_status_post_by_a_role_without_the_desktop_is_403(simulator, client_for):
    seat = make_seat("1001")
    client = client_for("logistics")
    assert client.post(reverse("telephony:seat_login"), {"seat": seat.pk}).status_code == 403
    assert client.post(reverse("telephony:agent_status"), {"action": "ready"}).status_code == 403
    assert not SeatSession.objects.exists()


# --- the pop ---------------------------------------------------------------------------------


def test_pop_of_a_known_caller(client_for):
    # given an agent offered a call from a VIP customer on a hotline with a product
    client = client_for("agent")
    call, customer = _known_call(client.user)
    # when the desktop loads the pop
    response = client.get(reverse("telephony:call_pop", args=[call.pk]))
    html = response.content.decode()
    # then the card shows the customer, the level badge, masked phones with 归属地 …
    assert response.status_code == 200
    assert "张秀英" in html and 'class="badge vip"' in html
    assert "138****8000" in html and "13800138000" not in html
    assert "广东" in html  # 归属地 of 0755
    assert "科技园路1号" in html  # default address
    assert "发票未收到" in html  # open ticket
    assert reverse("crm:customer_service_records", args=[customer.pk]) in html
    # … the station, the product, and the script rendered for this customer
    assert "湖南卫视" in html and "蚕丝被" in html
    assert "张女士您好，欢迎致电蚕丝被热线。" in html
    assert reverse("crm:faq_quick_search") in html
    assert reverse("telephony:dial") in html and 'id="transfer-form"' in html
    assert 'id="new-customer-form"' not in html


def test_pop_of_an_unknown_caller_offers_a_new_customer_form(client_for):
    client = client_for("agent")
    call = _call(client.user, caller="+8613911112222")
    html = client.get(reverse("telephony:call_pop", args=[call.pk])).content.decode()
    assert 'id="new-customer-form"' in html
    assert "139****2222" in html and "13911112222" not in html


def test_new_customer_from_the_pop(client_for):
    # given an unknown caller's pop
    client = client_for("agent")
    station = StationFactory(name="东方卫视")
    call = _call(client.user, caller="+8613911112222", hotline=HotlineFactory(station=station))
    # when the agent saves a new customer
    response = client.post(
        reverse("telephony:pop_customer_create", args=[call.pk]),
        {"name": "王芳", "salutation": "ms", "more_phones": "", "notes": ""},
        HTTP_HX_REQUEST="true",
    )
    # then the customer exists with the caller's number and station, the call points at
    # it, and the pop now shows the card
    assert response.status_code == 200
    customer = Customer.objects.get(name="王芳")
    assert list(customer.phones.values_list("number", flat=True)) == ["+8613911112222"]
    assert customer.source_station == station
    call.refresh_from_db()
    assert call.customer == customer
    assert 'id="pop-customer"' in response.content.decode()
    assert AuditEntry.objects.filter(
        action=AuditAction.UPDATE, object_id=str(call.pk), actor=client.user
    ).exists()


def test_new_customer_from_the_pop_shows_errors(client_for):
    client = client_for("agent")
    call = _call(client.user, caller="+8613911112222")
    response = client.post(
        reverse("telephony:pop_customer_create", args=[call.pk]),
        {"name": "", "more_phones": "abc"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 400
    assert not Customer.objects.exists()
    assert 'id="new-customer-form"' in response.content.decode()


def test_pop_is_for_the_calls_agent_or_a_supervisor(client_for, make_user):
    owner = make_user("agent")
    call, _customer = _known_call(owner)
    url = reverse("telephony:call_pop", args=[call.pk])
    assert client_for("agent").get(url).status_code == 403
    assert client_for("reviewer1").get(url).status_code == 403
    assert client_for("supervisor").get(url).status_code == 200
    # a supervisor sees the full number
    assert "13800138000" in client_for("supervisor").get(url).content.decode()


def test_pop_customer_create_by_another_agent_is_refused(client_for, make_user):
    call = _call(make_user("agent"), caller="+8613911112222")
    response = client_for("agent").post(
        reverse("telephony:pop_customer_create", args=[call.pk]), {"name": "王芳"}
    )
    assert response.status_code == 403
    assert not Customer.objects.exists()


def test_pop_shows_the_customers_last_five_orders(client_for):
    from datetime import timedelta
    from decimal import Decimal

    from orders.choices import OrderStatus
    from tests.orders.factories import make_order

    # given a caller with seven orders, one merged away, and another customer's order
    client = client_for("agent")
    call, customer = _known_call(client.user)
    now = timezone.now()
    orders = [make_order(customer=customer, created_at=now, freight=Decimal(i)) for i in range(7)]
    for index, order in enumerate(orders):  # created_at is auto_now_add: set it after
        type(order).objects.filter(pk=order.pk).update(created_at=now - timedelta(days=7 - index))
    type(orders[6]).objects.filter(pk=orders[6].pk).update(
        merged_into=orders[0], status=OrderStatus.CANCELLED
    )
    other = make_order()

    # when the pop loads (by the call's uuid, as the desktop asks for it)
    html = client.get(reverse("telephony:call_pop_uuid", args=[call.uuid])).content.decode()

    # then the card lists the five newest of the caller's own orders, newest first
    assert 'id="pop-orders-table"' in html
    shown = [o.number for o in orders[1:6]][::-1]
    positions = [html.index(f'data-order="{number}"') for number in shown]
    assert positions == sorted(positions)
    assert orders[0].number not in html and orders[6].number not in html
    assert other.number not in html
    assert f"¥{orders[5].total}" in html
    assert reverse("orders:order_detail", args=[orders[5].pk]) in html


def test_pop_without_order_permission_shows_no_orders(client_for):
    from django.contrib.auth.models import Permission

    from tests.orders.factories import make_order

    client = client_for("agent")
    call, customer = _known_call(client.user)
    make_order(customer=customer)
    client.user.groups.first().permissions.remove(
        Permission.objects.get(codename="view_order", content_type__app_label="orders")
    )
    html = client.get(reverse("telephony:call_pop", args=[call.pk])).content.decode()
    assert "张秀英" in html and 'id="pop-orders"' not in html


def test_pop_by_uuid_is_for_the_calls_agent_only(client_for, make_user, settings):
    from telephony import views

    views.POP_WAIT_SECONDS = 0.2  # not waiting long for a record that will never come
    try:
        call, _customer = _known_call(make_user("agent"))
        url = reverse("telephony:call_pop_uuid", args=[call.uuid])
        assert client_for("agent").get(url).status_code == 403
        assert client_for("supervisor").get(url).status_code == 200
        missing = reverse("telephony:call_pop_uuid", args=["no-such-call"])
        assert client_for("agent").get(missing).status_code == 404
    finally:
        views.POP_WAIT_SECONDS = 3.0


def test_pop_query_count(client_for, django_assert_max_num_queries):
    from tests.orders.factories import make_order

    client = client_for("agent")
    call, customer = _known_call(client.user)
    for i in range(5):
        TicketFactory(customer=customer, title=f"工单{i}")
    client.get(reverse("telephony:call_pop", args=[call.pk]))  # warm caches
    # session, user, call (one join), perms (2), returning customer?, scripts (2),
    # queues, phones, address, tickets, last orders, transfer seats: the same however
    # many rows
    for _ in range(6):
        make_order(customer=customer)
    with django_assert_max_num_queries(14):
        response = client.get(reverse("telephony:call_pop", args=[call.pk]))
    assert response.status_code == 200


# --- transfer --------------------------------------------------------------------------------


def test_transfer_to_another_seat(client_for, settings):
    from tests.telephony.test_desktop_support import SimulatorThread

    sim = SimulatorThread(
        sim_config(
            agents=[
                {"name": "1001@default", "status": "Available", "answer_delay": 0.1},
                {"name": "1002@default", "status": "On Break"},
            ],
            speed=20.0,
        )
    ).start()
    settings.TELEPHONY_ESL = {
        "host": "127.0.0.1",
        "port": sim.port,
        "password": "ClueCon",
        "simulated": False,
    }
    try:
        # given agent A on a live call and agent B logged into seat 1002
        client = client_for("agent")
        seat_a, seat_b = make_seat("1001"), make_seat("1002")
        SeatSession.objects.create(seat=seat_a, user=client.user, started_at=timezone.now())
        b = client_for("agent")
        SeatSession.objects.create(seat=seat_b, user=b.user, started_at=timezone.now())
        from telephony.switch import switch_api

        switch_api("sim_inbound 4008001234 13800138000 uuid=live-1 patience=600 talk=600")
        call = _call(client.user, uuid="live-1", seat=seat_a)
        # when A transfers the call to seat 1002
        response = client.post(
            reverse("telephony:call_transfer", args=[call.pk]),
            {"seat": seat_b.pk},
            HTTP_HX_REQUEST="true",
        )
        # then the switch took it and it is audited
        assert response.status_code == 200, response.content
        assert AuditEntry.objects.filter(
            action=AuditAction.UPDATE, object_id=str(call.pk), note__contains="transfer"
        ).exists()
        cmds = [c.args for _p, c in sim.server.command_log if c.name == "api"]
        assert "uuid_transfer live-1 1002" in cmds
    finally:
        sim.stop()


def test_transfer_by_someone_else_is_refused(client_for, make_user):
    owner = make_user("agent")
    call = _call(owner, outcome=CallOutcome.IN_PROGRESS)
    client = client_for("agent")
    response = client.post(reverse("telephony:call_transfer", args=[call.pk]), {"queue": "orders"})
    assert response.status_code == 403
    assert not AuditEntry.objects.filter(object_id=str(call.pk), note__contains="transfer")


def test_dial_button_include_sends_the_phone_id_only(client_for):
    from django.template.loader import render_to_string
    from django.test import RequestFactory

    client = client_for("agent")
    customer = make_customer(name="李四", phones=["13800138000"])
    phone = customer.phones.get()
    request = RequestFactory().get("/")
    request.user = client.user
    html = render_to_string(
        "telephony/includes/dial_button.html", {"phone": phone}, request=request
    )
    assert f'"phone": "{phone.pk}"' in html and "13800138000" not in html
    assert reverse("telephony:dial") in html
    request.user = client_for("logistics").user
    assert (
        render_to_string(
            "telephony/includes/dial_button.html", {"phone": phone}, request=request
        ).strip()
        == ""
    )
