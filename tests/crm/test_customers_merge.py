"""Merging duplicate customers: what moves, points, audit, refusals, permissions."""

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.models import Customer, Lead, PointsEntry, ServiceRecord, Ticket
from crm.selectors.customers import customer_find_by_phone, customer_search
from crm.services.customers import (
    address_add,
    customer_merge,
    customer_merged,
    customer_update,
)
from tests.crm.factories import (
    beijing_haidian,
    give_points,
    make_customer,
    shenzhen_nanshan,
)
from tvshop.audit.models import AuditEntry
from tvshop.errors import DomainError

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(make_user):
    supervisor = make_user("supervisor")
    survivor = make_customer(actor=supervisor, name="张三", phones=["13800138000"])
    duplicate = make_customer(
        actor=supervisor, name="张三", phones=["13900139000", "0755-88881234"], notes="老客户"
    )
    address_add(actor=supervisor, customer=survivor, street="a", **shenzhen_nanshan())
    address_add(actor=supervisor, customer=duplicate, street="b", **beijing_haidian())
    give_points(survivor, 100)
    give_points(duplicate, 50)
    ServiceRecord.objects.create(
        customer=duplicate, agent=supervisor, at=timezone.now(), content="called"
    )
    Ticket.objects.create(customer=duplicate, kind="complaint", title="late", created_by=supervisor)
    Lead.objects.create(
        phone="+8613900139000",
        day=timezone.localdate(),
        customer=duplicate,
        first_at=timezone.now(),
        last_at=timezone.now(),
    )
    return supervisor, survivor, duplicate


def test_merge_moves_everything_sums_points_and_audits(pair):
    supervisor, survivor, duplicate = pair
    received = []
    customer_merged.connect(
        lambda sender, **kw: received.append(kw["duplicate"].pk), weak=False, dispatch_uid="t"
    )
    try:
        # when the duplicate is merged into the survivor
        customer_merge(actor=supervisor, survivor=survivor, duplicate=duplicate)
    finally:
        customer_merged.disconnect(dispatch_uid="t")
    survivor.refresh_from_db()
    duplicate.refresh_from_db()
    # then its phones, addresses, records, tickets, leads and points entries moved
    assert set(survivor.phones.values_list("number", flat=True)) == {
        "+8613800138000",
        "+8613900139000",
        "+8675588881234",
    }
    assert survivor.phones.filter(is_primary=True).count() == 1
    assert survivor.addresses.count() == 2
    assert survivor.addresses.filter(is_default=True).get().street == "a"
    assert ServiceRecord.objects.filter(customer=survivor).count() == 1
    assert Ticket.objects.filter(customer=survivor).count() == 1
    assert Lead.objects.filter(customer=survivor).count() == 1
    assert not duplicate.phones.exists() and not duplicate.addresses.exists()
    # points: balances summed, entries moved, one zero-change entry records the merge
    assert survivor.points_balance == 150 and duplicate.points_balance == 0
    entries = PointsEntry.objects.filter(customer=survivor)
    assert entries.count() == 3
    assert sum(e.delta for e in entries) == 150
    assert entries.first().balance_after == 150 and entries.first().delta == 0
    # the duplicate points to the survivor and leaves lists and the screen pop
    assert duplicate.merged_into == survivor
    assert duplicate.pk not in customer_search("张三").values_list("id", flat=True)
    assert customer_find_by_phone("13900139000") == survivor
    assert "老客户" in survivor.notes
    # audited on both, and later apps were told
    assert AuditEntry.objects.filter(action="merge", object_id=str(survivor.pk)).exists()
    assert AuditEntry.objects.filter(action="merge", object_id=str(duplicate.pk)).exists()
    assert received == [duplicate.pk]


@pytest.mark.parametrize("case", ["self", "already_merged", "blacklist"])
def test_unsafe_merges_are_refused_with_a_reason_and_change_nothing(pair, case, make_user):
    supervisor, survivor, duplicate = pair
    if case == "self":
        duplicate = survivor
    elif case == "already_merged":
        third = make_customer(actor=supervisor)
        customer_merge(actor=supervisor, survivor=third, duplicate=duplicate)
        duplicate.refresh_from_db()
    else:
        customer_update(actor=supervisor, customer=duplicate, level="blacklisted")
    phones_before = sorted(survivor.phones.values_list("number", flat=True))
    audit_before = AuditEntry.objects.filter(action="merge").count()
    with pytest.raises(DomainError) as info:
        customer_merge(actor=supervisor, survivor=survivor, duplicate=duplicate)
    assert info.value.message and info.value.code == "merge_refused"
    survivor.refresh_from_db()
    assert survivor.points_balance == 100
    assert sorted(survivor.phones.values_list("number", flat=True)) == phones_before
    assert AuditEntry.objects.filter(action="merge").count() == audit_before


def test_a_receiver_can_veto_and_everything_rolls_back(pair):
    supervisor, survivor, duplicate = pair

    def veto(sender, **kwargs):
        raise DomainError("orders not movable")

    customer_merged.connect(veto, weak=False, dispatch_uid="veto")
    try:
        with pytest.raises(DomainError):
            customer_merge(actor=supervisor, survivor=survivor, duplicate=duplicate)
    finally:
        customer_merged.disconnect(dispatch_uid="veto")
    duplicate.refresh_from_db()
    assert duplicate.merged_into is None and duplicate.phones.count() == 2


def test_merge_page_preview_and_confirm(pair, client_for):
    _supervisor, survivor, duplicate = pair
    c = client_for("supervisor")
    url = reverse("crm:customer_merge", args=[survivor.pk])
    page = c.get(url, {"q": "13900139000"})
    assert page.status_code == 200
    assert f"duplicate={duplicate.pk}" in page.content.decode()
    preview = c.get(url, {"duplicate": duplicate.pk}).content.decode()
    assert 'id="merge-preview"' in preview and 'name="duplicate"' in preview
    response = c.post(url, {"duplicate": duplicate.pk})
    assert response.status_code == 302
    duplicate.refresh_from_db()
    assert duplicate.merged_into_id == survivor.pk


def test_merge_page_shows_refusal(pair, client_for):
    supervisor, survivor, duplicate = pair
    customer_update(actor=supervisor, customer=duplicate, level="blacklisted")
    c = client_for("supervisor")
    url = reverse("crm:customer_merge", args=[survivor.pk])
    preview = c.get(url, {"duplicate": duplicate.pk}).content.decode()
    assert 'id="merge-refusal"' in preview and 'name="duplicate"' not in preview
    response = c.post(url, {"duplicate": duplicate.pk})
    assert response.status_code == 409
    assert Customer.objects.get(pk=duplicate.pk).merged_into is None


@pytest.mark.parametrize("role", ["agent", "finance", "reviewer1"])
def test_roles_without_merge_permission_are_refused(pair, client_for, role):
    _supervisor, survivor, duplicate = pair
    c = client_for(role)
    response = c.post(
        reverse("crm:customer_merge", args=[survivor.pk]), {"duplicate": duplicate.pk}
    )
    assert response.status_code == 403
    duplicate.refresh_from_db()
    assert duplicate.merged_into is None and duplicate.phones.count() == 2
