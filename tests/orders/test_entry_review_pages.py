"""Order entry and review pages: permissions on every view, entry through the form (page
and desktop fragment), bad input, review actions, the queue's filters and query count."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.choices import CustomerLevel
from orders.choices import GiftRuleKind, OrderStatus, PaymentMethod
from orders.models import Order
from tests.crm.factories import shenzhen_nanshan
from tests.orders.entry_factories import (
    courier,
    customer_with_address,
    discount_limit,
    first_approved,
    gift_rule,
    product,
    take,
)
from tests.orders.factories import make_order
from tvshop.audit.models import AuditEntry

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]
D = Decimal
HTMX = {"HTTP_HX_REQUEST": "true"}


def entry_post(customer, *pairs, **extra):
    data = {
        "customer": customer.pk,
        "address": str(customer.addresses.first().pk) if customer.addresses.exists() else "new",
        "payment_method": "cod",
        "discount": "",
        "remark": "",
        "line_product": [str(p.pk) for p, _ in pairs],
        "line_qty": [str(q) for _, q in pairs],
    }
    data.update(extra)
    return data


# --- permissions ----------------------------------------------------------------------------
def _urls(order, customer):
    return {
        "new": ("get", reverse("orders:order_new") + f"?customer={customer.pk}"),
        "summary": ("post", reverse("orders:entry_summary")),
        "search": ("get", reverse("orders:product_search") + "?q=P"),
        "line": ("get", reverse("orders:entry_line") + "?product=1"),
        "mine": ("get", reverse("orders:my_orders")),
        "add_lines": ("post", reverse("orders:order_add_lines", args=[order.pk])),
        "edit": ("get", reverse("orders:order_edit", args=[order.pk])),
        "detail": ("get", reverse("orders:order_detail", args=[order.pk])),
        "customer_tab": ("get", reverse("orders:customer_orders", args=[customer.pk])),
        "queue1": ("get", reverse("orders:review_queue", args=[1])),
        "queue2": ("get", reverse("orders:review_queue", args=[2])),
        "review1": ("get", reverse("orders:review_order", args=[1, order.pk])),
        "review2": ("get", reverse("orders:review_order", args=[2, order.pk])),
        "approve1": ("post", reverse("orders:review_approve", args=[1, order.pk])),
        "approve2": ("post", reverse("orders:review_approve", args=[2, order.pk])),
        "reject1": ("post", reverse("orders:review_reject", args=[1, order.pk])),
        "reject2": ("post", reverse("orders:review_reject", args=[2, order.pk])),
        "bulk1": ("post", reverse("orders:review_bulk", args=[1])),
        "bulk2": ("post", reverse("orders:review_bulk", args=[2])),
    }


ENTRY = {"new", "summary", "search", "line", "mine", "add_lines", "edit"}
FORBIDDEN = {
    "agent": {
        "queue1",
        "queue2",
        "review1",
        "review2",
        "approve1",
        "approve2",
        "reject1",
        "reject2",
        "bulk1",
        "bulk2",
    },
    "reviewer1": ENTRY | {"queue2", "review2", "approve2", "reject2", "bulk2"},
    "reviewer2": ENTRY | {"queue1", "review1", "approve1", "reject1", "bulk1"},
    "logistics": ENTRY
    | {
        "queue1",
        "queue2",
        "review1",
        "review2",
        "approve1",
        "approve2",
        "reject1",
        "reject2",
        "bulk1",
        "bulk2",
    },
}


@pytest.mark.parametrize("role", sorted(FORBIDDEN))
def test_every_view_checks_its_permission(client_for, role):
    client = client_for(role)
    customer = customer_with_address()
    order = make_order(customer=customer, status=OrderStatus.SUBMITTED, agent=client.user)
    for name, (method, url) in _urls(order, customer).items():
        status = getattr(client, method)(url).status_code
        if name in FORBIDDEN[role]:
            assert status == 403, (role, name, status)
        else:
            assert status != 403, (role, name, status)
    if role == "logistics":
        assert Order.objects.get(pk=order.pk).status == OrderStatus.SUBMITTED


def test_anonymous_is_sent_to_log_in(client):
    response = client.get(reverse("orders:review_queue", args=[1]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client.get(reverse("orders:order_new") + "?customer=1").status_code == 302


def test_user_without_roles_sees_no_order(client_for):
    order = make_order()
    client = client_for()
    assert client.get(reverse("orders:order_detail", args=[order.pk])).status_code == 403
    assert (
        client.get(reverse("orders:customer_orders", args=[order.customer_id])).status_code == 403
    )


def test_only_its_agent_fixes_a_rejected_order(client_for):
    owner = client_for("agent")
    order = make_order(status=OrderStatus.REJECTED, agent=owner.user)
    assert owner.get(reverse("orders:order_edit", args=[order.pk])).status_code == 200
    other = client_for("agent")
    assert other.get(reverse("orders:order_edit", args=[order.pk])).status_code == 403


def test_cancel_without_permission_changes_nothing(client_for):
    order = make_order(status=OrderStatus.SUBMITTED)
    client = client_for("logistics")
    client.post(reverse("orders:order_cancel", args=[order.pk]), {"reason": "other", "note": "x"})
    assert Order.objects.get(pk=order.pk).status == OrderStatus.SUBMITTED


# --- entry ----------------------------------------------------------------------------------
def test_entry_page_then_post_takes_the_order(client_for):
    client = client_for("agent")
    customer = customer_with_address()
    p = product("88.00", sku="SKU-TEA")
    page = client.get(reverse("orders:order_new") + f"?customer={customer.pk}")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="order-entry-form"' in html and 'id="product-search"' in html
    assert "checked" in html  # the default address and COD are preselected

    response = client.post(reverse("orders:order_new"), entry_post(customer, (p, 2)))

    order = Order.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("orders:order_detail", args=[order.pk])
    assert order.total == D("176.00") and order.agent == client.user
    assert order.payment_method == PaymentMethod.COD


def test_entry_from_the_desktop_is_a_fragment_with_the_call(client_for):
    client = client_for("agent")
    customer = customer_with_address()
    p = product()
    form = client.get(
        reverse("orders:order_new") + f"?customer={customer.pk}&call=abc-123", **HTMX
    ).content.decode()
    assert "<html" not in form and 'value="abc-123"' in form

    done = client.post(
        reverse("orders:order_new"), entry_post(customer, (p, 1), call="abc-123"), **HTMX
    )

    assert done.status_code == 200 and 'id="entry-done"' in done.content.decode()
    assert Order.objects.get().call_uuid == "abc-123"


def test_bad_input_is_a_400_with_field_errors_and_nothing_saved(client_for):
    client = client_for("agent")
    customer = customer_with_address()
    p = product()
    url = reverse("orders:order_new")

    # no products
    response = client.post(url, entry_post(customer))
    assert response.status_code == 400 and "Add at least one product." in response.content.decode()
    # garbled quantity
    response = client.post(url, entry_post(customer, (p, 1), line_qty=["abc"]))
    assert response.status_code == 400
    # a new address without its district
    data = entry_post(customer, (p, 1), address="new", province="44", city="4403", street="x 1")
    response = client.post(url, data)
    assert response.status_code == 400
    assert response.context["form"].errors["district"]
    # an unknown payment method
    response = client.post(url, entry_post(customer, (p, 1), payment_method="bitcoin"))
    assert response.status_code == 400 and "payment_method" in response.context["form"].errors
    # a discount above the limit: a 4xx with the discount field marked
    discount_limit("agent", "5")
    response = client.post(url, entry_post(customer, (p, 1), discount="99.00"), **HTMX)
    assert response.status_code == 400
    assert response.context["form"].errors["discount"]

    assert not Order.objects.exists()
    assert not AuditEntry.objects.filter(content_type__model="order").exists()


def test_blacklisted_customer_gets_no_form(client_for):
    client = client_for("agent")
    customer = customer_with_address(level=CustomerLevel.BLACKLISTED)
    html = client.get(reverse("orders:order_new") + f"?customer={customer.pk}").content.decode()
    assert 'id="entry-blacklisted"' in html and 'id="order-entry-form"' not in html
    response = client.post(reverse("orders:order_new"), entry_post(customer, (product(), 1)))
    assert response.status_code == 403
    assert not Order.objects.exists()


def test_duplicate_warning_and_adding_to_the_existing_order(client_for):
    client = client_for("agent")
    customer = customer_with_address()
    a, b = product("100.00"), product("20.00")
    existing = take(client.user, customer, (a, 1))

    html = client.get(reverse("orders:order_new") + f"?customer={customer.pk}").content.decode()
    assert 'id="entry-duplicates"' in html and existing.number in html
    assert f'id="add-to-{existing.pk}"' in html

    response = client.post(
        reverse("orders:order_add_lines", args=[existing.pk]), entry_post(customer, (b, 2))
    )

    assert response.status_code == 302
    assert Order.objects.count() == 1
    existing.refresh_from_db()
    assert existing.total == D("140.00")


def test_summary_shows_amounts_and_gift_options(client_for):
    client = client_for("agent")
    customer = customer_with_address()
    p = product("300.00")
    rule = gift_rule(GiftRuleKind.BY_PRODUCT, product=p, min_quantity=2, name="买二送一")
    html = client.post(
        reverse("orders:entry_summary"), entry_post(customer, (p, 2))
    ).content.decode()
    assert "¥600.00" in html
    assert (
        f'value="{rule.pk}"' in html and "disabled" not in html.split(f'value="{rule.pk}"')[1][:40]
    )


def test_product_search_lists_only_products_on_sale(client_for):
    client = client_for("agent")
    product(sku="TEA-1", name="龙井茶")
    product(sku="TEA-2", name="普洱茶", on_sale=False)
    html = client.get(reverse("orders:product_search") + "?q=茶").content.decode()
    assert "TEA-1" in html and "TEA-2" not in html
    html = client.get(reverse("orders:product_search") + "?q=tea-2").content.decode()
    assert "TEA-2" not in html


def test_my_orders_show_the_rejected_ones_with_their_reason(client_for):
    client = client_for("agent")
    make_order(
        agent=client.user,
        status=OrderStatus.REJECTED,
        reject_reason="address_incomplete",
        reject_note="门牌号缺失",
    )
    make_order(agent=client_for("agent").user, status=OrderStatus.REJECTED)
    html = client.get(reverse("orders:my_orders")).content.decode()
    assert html.count('class="rejected-row"') == 1 and "门牌号缺失" in html


# --- the customer page, the desktop, the nav ---------------------------------------------
def test_customer_page_has_the_new_order_button_for_agents_only(client_for):
    customer = customer_with_address()
    url = reverse("crm:customer_detail", args=[customer.pk])
    assert 'id="customer-new-order"' in client_for("agent").get(url).content.decode()
    assert 'id="customer-new-order"' not in client_for("reviewer1").get(url).content.decode()


def test_desktop_embeds_the_order_panel(client_for):
    html = client_for("agent").get(reverse("telephony:desktop")).content.decode()
    assert 'id="desktop-order"' in html and "js/orders.js" in html


def test_customer_orders_fragment_offers_a_new_order(client_for):
    customer = customer_with_address()
    make_order(customer=customer)
    html = (
        client_for("agent")
        .get(reverse("orders:customer_orders", args=[customer.pk]))
        .content.decode()
    )
    assert "data-order-new" in html and html.count('class="customer-order-row"') == 1


def test_nav_shows_each_role_its_order_pages(client_for):
    agent_html = client_for("agent").get("/").content.decode()
    assert reverse("orders:my_orders") in agent_html
    assert reverse("orders:review_first") not in agent_html
    r1_html = client_for("reviewer1").get("/").content.decode()
    assert reverse("orders:review_first") in r1_html
    assert reverse("orders:review_second") not in r1_html


# --- review pages -------------------------------------------------------------------------------
def test_first_review_approve_from_the_page(client_for):
    order = take(client_for("agent").user, None, (product(), 1))
    r1 = client_for("reviewer1")
    page = r1.get(reverse("orders:review_order", args=[1, order.pk]))
    assert page.status_code == 200 and 'id="approve-submit"' in page.content.decode()

    response = r1.post(reverse("orders:review_approve", args=[1, order.pk]), {"note": "ok"})

    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.FIRST_APPROVED and order.first_reviewer == r1.user


def test_the_slower_reviewer_is_told_the_order_moved(client_for):
    order = take(client_for("agent").user, None, (product(), 1))
    a, b = client_for("reviewer1"), client_for("reviewer1")
    a.post(reverse("orders:review_approve", args=[1, order.pk]), {})

    response = b.post(reverse("orders:review_approve", args=[1, order.pk]), {})

    assert response.status_code == 409
    html = response.content.decode()
    assert "your action was not applied" in html
    assert Order.objects.get(pk=order.pk).first_reviewer == a.user


def test_second_review_page_sets_courier_and_cod(client_for):
    order = take(client_for("agent").user, None, (product("50.00"), 2))
    first_approved(order, client_for("reviewer1").user)
    sf = courier("sf")
    r2 = client_for("reviewer2")
    page = r2.get(reverse("orders:review_order", args=[2, order.pk])).content.decode()
    assert 'name="courier"' in page and 'name="cod_amount"' in page

    response = r2.post(
        reverse("orders:review_approve", args=[2, order.pk]),
        {"courier": sf.pk, "cod_amount": "100.00"},
    )

    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.SECOND_APPROVED and order.courier == sf
    # and a missing courier is a 400 with the field marked
    other = take(client_for("agent").user, None, (product(), 1))
    first_approved(other, client_for("reviewer1").user)
    response = r2.post(reverse("orders:review_approve", args=[2, other.pk]), {"cod_amount": "1"})
    assert response.status_code == 400 and response.context["approve_form"].errors["courier"]


def test_first_reviewer_sees_they_cannot_do_the_second_review(client_for):
    both = client_for("reviewer1", "reviewer2")
    order = take(client_for("agent").user, None, (product(), 1))
    first_approved(order, both.user)
    html = both.get(reverse("orders:review_order", args=[2, order.pk])).content.decode()
    assert 'id="review-same"' in html and 'id="approve-submit"' not in html


def test_reject_from_the_page_needs_a_reason(client_for):
    order = take(client_for("agent").user, None, (product(), 1))
    r1 = client_for("reviewer1")
    url = reverse("orders:review_reject", args=[1, order.pk])
    assert r1.post(url, {"reason": "", "outcome": "back"}).status_code == 400
    assert Order.objects.get(pk=order.pk).status == OrderStatus.SUBMITTED
    response = r1.post(url, {"reason": "phone_invalid", "note": "空号", "outcome": "back"})
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.REJECTED and order.reject_note == "空号"


def test_bulk_approve_from_the_queue(client_for):
    agent = client_for("agent").user
    orders = [take(agent, customer_with_address(), (product(), 1)) for _ in range(3)]
    r1 = client_for("reviewer1")
    response = r1.post(
        reverse("orders:review_bulk", args=[1]), {"order": [orders[0].pk, orders[2].pk]}
    )
    assert response.status_code == 302
    statuses = dict(Order.objects.values_list("pk", "status"))
    assert [statuses[o.pk] for o in orders] == ["first_approved", "submitted", "first_approved"]


def test_queue_is_oldest_first_and_filters(client_for):
    agent = client_for("agent").user
    now = timezone.now()
    old = make_order(
        status=OrderStatus.SUBMITTED, agent=agent, submitted_at=now - timezone.timedelta(hours=2)
    )
    new = make_order(status=OrderStatus.SUBMITTED, agent=agent, submitted_at=now, is_vip=True)
    make_order(status=OrderStatus.FIRST_APPROVED, agent=agent)
    r1 = client_for("reviewer1")
    url = reverse("orders:review_queue", args=[1])

    rows = list(r1.get(url).context["object_list"])
    assert rows == [old, new]
    assert list(r1.get(url, {"is_vip": "true"}).context["object_list"]) == [new]
    assert list(r1.get(url, {"total_min": "1000"}).context["object_list"]) == []
    assert list(r1.get(url, {"province": "44"}).context["object_list"]) == [old, new]
    assert list(r1.get(url, {"payment_method": "prepaid"}).context["object_list"]) == []
    assert list(r1.get(url, {"q": old.number}).context["object_list"]) == [old]
    # htmx gets only the results
    part = r1.get(url, {"is_vip": "true"}, **HTMX).content.decode()
    assert "<html" not in part and new.number in part


@pytest.mark.parametrize(
    "stage,status", [(1, OrderStatus.SUBMITTED), (2, OrderStatus.FIRST_APPROVED)]
)
def test_queue_query_count_does_not_grow_with_the_page(
    client_for, django_assert_max_num_queries, stage, status
):
    client = client_for(f"reviewer{stage}")
    url = reverse("orders:review_queue", args=[stage])
    divisions = shenzhen_nanshan()
    for _ in range(3):
        make_order(status=status, divisions=divisions)
    with django_assert_max_num_queries(12):
        small = client.get(url)
    for _ in range(30):
        make_order(status=status, divisions=divisions)
    with django_assert_max_num_queries(12):
        large = client.get(url)
    assert len(small.context["object_list"]) == 3
    assert len(large.context["object_list"]) == 33


def test_admin_gift_rules_editable_orders_read_only(client_for, make_user):
    from django.test import Client

    admin_user = make_user(is_superuser=True, is_staff=True)
    client = Client()
    client.force_login(admin_user)
    order = make_order()
    rule = gift_rule(GiftRuleKind.BY_AMOUNT, min_amount=D("100"))
    assert client.get(reverse("admin:orders_giftrule_change", args=[rule.pk])).status_code == 200
    assert client.get(reverse("admin:orders_discountlimit_changelist")).status_code == 200
    assert client.get(reverse("admin:orders_order_changelist")).status_code == 200
    page = client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert page.status_code == 200 and b'name="_save"' not in page.content
    assert client.get(reverse("admin:orders_order_add")).status_code == 403
    # an admin edit of a gift rule is audited
    data = {
        "name": "满百送",
        "kind": "amount",
        "gift": rule.gift_id,
        "gift_quantity": 1,
        "min_quantity": 1,
        "min_amount": "150.00",
        "points_cost": 0,
        "active": "on",
    }
    response = client.post(reverse("admin:orders_giftrule_change", args=[rule.pk]), data)
    assert response.status_code == 302
    assert AuditEntry.objects.filter(
        content_type__model="giftrule", object_id=str(rule.pk)
    ).exists()


def test_entry_form_for_the_call_on_screen_finds_the_callers_customer(client_for):
    from telephony.models import Call

    client = client_for("agent")
    customer = customer_with_address(name="来电客户")
    Call.objects.create(
        uuid="on-screen-1",
        direction="inbound",
        caller="+8613900000009",
        customer=customer,
        agent=client.user,
        created_at=timezone.now(),
    )
    html = client.get(reverse("orders:order_new") + "?call=on-screen-1", **HTMX).content.decode()
    assert "来电客户" in html and 'value="on-screen-1"' in html
    assert client.get(reverse("orders:order_new") + "?call=unknown", **HTMX).status_code == 404
