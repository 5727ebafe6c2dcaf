"""The review queues at scale (issue #4): keyset paging through every order exactly once,
filters kept across pages, the capped count, bad cursors, the number of queries equal at
any page size, and a planner check that each common filter's page is read off an index
in the queue's order (no sort of the whole queue)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from orders.choices import OrderStatus
from orders.models import Order
from orders.paging import decode_cursor, encode_cursor
from orders.views.review import ReviewQueueView
from tests.crm.factories import make_customer, shenzhen_nanshan
from tests.orders.factories import make_order, next_order_number

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

STAGES = [(1, OrderStatus.SUBMITTED), (2, OrderStatus.FIRST_APPROVED)]


def clone(template: Order, n: int, *, start: dt.datetime, step_s: int = 60, **fields):
    """``n`` copies of ``template`` (new numbers), submitted ``step_s`` apart from ``start``."""
    rows = []
    for i in range(n):
        copy = Order.objects.get(pk=template.pk)
        copy.pk = None
        copy.number = next_order_number()
        copy.submitted_at = start + dt.timedelta(seconds=i * step_s)
        for name, value in fields.items():
            setattr(copy, name, value)
        rows.append(copy)
    return Order.objects.bulk_create(rows)


def rows_of(response) -> list[int]:
    return [o.pk for o in response.context["object_list"]]


def link(response, css: str) -> str | None:
    found = re.search(rf'href="(\?[^"]*)" class="{css}"', response.content.decode())
    return found.group(1).replace("&amp;", "&") if found else None


@pytest.mark.parametrize("stage,status", STAGES)
def test_next_and_previous_walk_the_queue_oldest_first_exactly_once(
    client_for, monkeypatch, stage, status
):
    monkeypatch.setattr(ReviewQueueView, "page_size", 3)
    base = timezone.now() - dt.timedelta(days=1)
    template = make_order(status=status, submitted_at=base - dt.timedelta(hours=1))
    others = clone(template, 6, start=base)
    # two orders submitted at the same microsecond: the id breaks the tie
    twins = clone(template, 2, start=base + dt.timedelta(minutes=3, seconds=30), step_s=0)
    make_order(status=OrderStatus.SECOND_APPROVED)  # not in either queue
    expected = [
        o.pk for o in sorted([template, *others, *twins], key=lambda o: (o.submitted_at, o.pk))
    ]
    client = client_for(f"reviewer{stage}")
    url = reverse("orders:review_queue", args=[stage])

    pages, response = [], client.get(url)
    assert link(response, "pager-previous") is None
    while True:
        assert response.status_code == 200
        pages.append(rows_of(response))
        following = link(response, "pager-next")
        if following is None:
            break
        response = client.get(url + following)
    assert [pk for page in pages for pk in page] == expected
    assert [len(p) for p in pages] == [3, 3, 3]

    # and back again from the last page
    back = []
    while (previous := link(response, "pager-previous")) is not None:
        response = client.get(url + previous)
        back.append(rows_of(response))
    assert back == [pages[1], pages[0]]
    assert link(response, "pager-first") is None  # back on the first page


def test_filters_stay_on_the_next_page(client_for, monkeypatch):
    monkeypatch.setattr(ReviewQueueView, "page_size", 2)
    base = timezone.now() - dt.timedelta(days=1)
    template = make_order(status=OrderStatus.SUBMITTED, submitted_at=base)
    vip = clone(template, 3, start=base + dt.timedelta(seconds=1), is_vip=True)
    clone(template, 3, start=base + dt.timedelta(seconds=2))
    client = client_for("reviewer1")
    url = reverse("orders:review_queue", args=[1])

    first = client.get(url, {"is_vip": "true"})
    following = link(first, "pager-next")
    assert following is not None and "is_vip=true" in following
    second = client.get(url + following)
    assert rows_of(first) + rows_of(second) == [o.pk for o in vip]
    assert link(second, "pager-next") is None


def test_count_is_exact_up_to_the_cap_then_capped(client_for, monkeypatch):
    template = make_order(status=OrderStatus.SUBMITTED, submitted_at=timezone.now())
    clone(template, 4, start=timezone.now())
    client = client_for("reviewer1")
    url = reverse("orders:review_queue", args=[1])

    page = client.get(url)
    assert page.context["queue_count"] == 5 and not page.context["queue_count_more"]
    assert "5 orders waiting" in page.content.decode()

    monkeypatch.setattr(ReviewQueueView, "count_cap", 3)
    page = client.get(url)
    assert page.context["queue_count"] == 3 and page.context["queue_count_more"]
    assert "More than 3 orders waiting" in page.content.decode()
    assert len(page.context["object_list"]) == 5  # the cap is on the count only


@pytest.mark.parametrize(
    "cursor", ["", "abc", "12-", "-12", "1-2-3", "9" * 40 + "-1", "n-x", "1" * 70]
)
def test_a_bad_cursor_is_the_first_page_not_an_error(client_for, cursor):
    order = make_order(status=OrderStatus.SUBMITTED, submitted_at=timezone.now())
    client = client_for("reviewer1")
    url = reverse("orders:review_queue", args=[1])
    for name in ("after", "before"):
        response = client.get(url, {name: cursor})
        assert response.status_code == 200
        assert rows_of(response) == [order.pk]


def test_cursor_round_trips_to_the_microsecond():
    at = dt.datetime(2026, 11, 22, 5, 58, 1, 123456, tzinfo=dt.UTC)
    assert decode_cursor(encode_cursor(at, 42)) == (at, 42)
    assert decode_cursor(encode_cursor(None, 7)) == (None, 7)


@pytest.mark.parametrize("stage,status", STAGES)
def test_queries_are_the_same_at_any_page_size(client_for, monkeypatch, stage, status):
    divisions = shenzhen_nanshan()
    template = make_order(status=status, divisions=divisions, submitted_at=timezone.now())
    clone(template, 30, start=timezone.now() - dt.timedelta(hours=1), is_vip=True)
    client = client_for(f"reviewer{stage}")
    url = reverse("orders:review_queue", args=[stage])
    filters = {"province": divisions["province"].pk, "is_vip": "true", "total_min": "1"}
    counts = {}
    for size in (2, 25):
        monkeypatch.setattr(ReviewQueueView, "page_size", size)
        client.get(url, filters)  # warm the session and caches
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url, filters)
        assert len(response.context["object_list"]) == size
        counts[size] = len(captured.captured_queries)
    assert counts[2] == counts[25]
    assert counts[2] <= 12


PLAN_FILTERS = {
    "none": {},
    "station": {"station_id": 1},
    "agent": {"agent_id": 1},
    "province": {"province_id": "44"},
    "vip": {"is_vip": True},
    "duplicate": {"is_duplicate": True},
    "large amount": {"is_large_amount": True},
    "address incomplete": {"address_incomplete": True},
}


@pytest.mark.parametrize("status", [OrderStatus.SUBMITTED, OrderStatus.FIRST_APPROVED])
@pytest.mark.parametrize("name", list(PLAN_FILTERS))
def test_each_common_filter_reads_the_page_off_an_index_in_queue_order(name, status):
    """With sorting priced out, a plan with a Sort means no index gives the queue's order
    for that filter: the page would sort every matching order of a 200,000-order queue."""
    from orders.selectors import review_queue

    stage = 1 if status == OrderStatus.SUBMITTED else 2
    queryset = review_queue(stage).filter(**PLAN_FILTERS[name]).order_by("submitted_at", "pk")
    sql, params = queryset[:51].query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(r[0] for r in cursor.fetchall())
    assert "Sort" not in plan, plan
    assert "order_queue_" in plan, plan


# --- every orders list has paging and search -------------------------------------------
def test_customer_orders_tab_pages_and_searches_by_number(client_for, monkeypatch):
    from orders.views import detail

    monkeypatch.setattr(detail, "CUSTOMER_TAB_PAGE", 2)
    template = make_order(status=OrderStatus.DELIVERED)
    clone(template, 4, start=timezone.now())
    client = client_for("agent")
    url = reverse("orders:customer_orders", args=[template.customer_id])
    ids = list(
        Order.objects.filter(customer_id=template.customer_id)
        .order_by("-created_at", "-pk")
        .values_list("pk", flat=True)
    )

    pages = [client.get(url, {"page": n}) for n in (1, 2, 3)]
    assert [[o.pk for o in p.context["orders"]] for p in pages] == [ids[:2], ids[2:4], ids[4:]]
    assert 'class="pager-next"' in pages[0].content.decode()
    assert 'class="pager-previous"' in pages[2].content.decode()

    wanted = Order.objects.get(pk=ids[3])
    found = client.get(url, {"q": wanted.number.lower()})
    assert [o.pk for o in found.context["orders"]] == [wanted.pk]
    assert client.get(url, {"page": "x"}).status_code == 200  # bad page: the first


@pytest.mark.parametrize(
    "view_path",
    [
        "orders.views.entry.MyOrdersView",
        "orders.views.finance.PaymentListView",
        "orders.views.finance.ReceivableListView",
        "orders.views.returns.ReturnListView",
    ],
)
def test_other_order_lists_are_paged_and_searchable(view_path):
    from django.utils.module_loading import import_string

    view = import_string(view_path)
    assert view.paginate_by and view.paginate_by <= 100
    assert "q" in view.filterset_class.base_filters


def test_my_orders_search_finds_by_number_and_customer_name(client_for):
    client = client_for("agent")
    mine = make_order(status=OrderStatus.SUBMITTED, agent=client.user)
    other = make_order(
        status=OrderStatus.SUBMITTED, agent=client.user, customer=make_customer(name="欧阳娜娜")
    )
    url = reverse("orders:my_orders")
    by_number = client.get(url, {"q": mine.number.lower()}).context["object_list"]
    assert list(by_number) == [mine]
    by_name = client.get(url, {"q": "欧阳娜"}).context["object_list"]
    assert list(by_name) == [other]
