"""Catalog: services (audited, validated), the product/gift/supplier pages and the API."""

from decimal import Decimal

import pytest
from django.urls import reverse

from tests.factories import GiftFactory, ProductFactory, SupplierFactory
from tvshop.audit.models import AuditEntry
from tvshop.catalog import services
from tvshop.catalog.models import Gift, Product, Supplier
from tvshop.errors import Conflict, DomainError

pytestmark = pytest.mark.django_db


# --- services --------------------------------------------------------------------------
def test_product_create_records_an_audit_entry(make_user):
    admin = make_user("administrator")
    supplier = SupplierFactory()

    product = services.product_create(
        actor=admin, sku="TV-001", name="按摩椅", price=Decimal("1999.00"), supplier=supplier
    )

    entry = AuditEntry.objects.get(object_id=str(product.pk), content_type__model="product")
    assert entry.action == "create"
    assert entry.actor == admin
    assert entry.before is None
    assert entry.after["sku"] == "TV-001"
    assert entry.after["price"] == "1999.00"
    assert entry.after["supplier"] == supplier.pk


def test_product_update_records_before_and_after(make_user):
    admin = make_user("administrator")
    product = ProductFactory(price=Decimal("199.00"), on_sale=True)

    services.product_update(actor=admin, product=product, price=Decimal("149.00"), on_sale=False)

    product.refresh_from_db()
    assert product.price == Decimal("149.00")
    entry = AuditEntry.objects.get(action="update", object_id=str(product.pk))
    changed = {field for field, _b, _a in entry.changes}
    assert changed == {"price", "on_sale"}
    assert entry.before["price"] == "199.00"
    assert entry.after["price"] == "149.00"


def test_update_without_changes_records_nothing(make_user):
    admin = make_user("administrator")
    product = ProductFactory()

    services.product_update(actor=admin, product=product, name=product.name)

    assert not AuditEntry.objects.filter(object_id=str(product.pk)).exists()


def test_invalid_product_is_refused_with_field_errors_and_nothing_saved(make_user):
    admin = make_user("administrator")
    ProductFactory(sku="DUP-1")
    entries = AuditEntry.objects.count()

    with pytest.raises(DomainError) as exc:
        services.product_create(actor=admin, sku="DUP-1", name="x", price=Decimal("-1"))

    assert set(exc.value.fields) >= {"sku", "price"}
    assert Product.objects.count() == 1
    assert AuditEntry.objects.count() == entries


def test_supplier_in_use_cannot_be_deleted(make_user):
    admin = make_user("administrator")
    supplier = SupplierFactory()
    ProductFactory(supplier=supplier)

    with pytest.raises(Conflict):
        services.supplier_delete(actor=admin, supplier=supplier)

    assert Supplier.objects.filter(pk=supplier.pk).exists()
    assert not AuditEntry.objects.filter(action="delete").exists()


def test_unused_supplier_is_deleted_and_audited(make_user):
    admin = make_user("administrator")
    supplier = SupplierFactory()

    services.supplier_delete(actor=admin, supplier=supplier)

    assert not Supplier.objects.filter(pk=supplier.pk).exists()
    entry = AuditEntry.objects.get(action="delete")
    assert entry.object_id == str(supplier.pk)
    assert entry.before["name"] == supplier.name


def test_gift_stock_update_is_audited(make_user):
    admin = make_user("administrator")
    gift = GiftFactory(stock=10)

    services.gift_update(actor=admin, gift=gift, stock=3)

    entry = AuditEntry.objects.get(action="update", content_type__model="gift")
    assert entry.changes == [("stock", 10, 3)]


# --- pages -----------------------------------------------------------------------------
def test_product_list_searches_by_sku_and_name_and_filters(client_for):
    agent = client_for("agent")
    acme = SupplierFactory(name="Acme")
    ProductFactory(sku="MAS-01", name="按摩椅", supplier=acme)
    ProductFactory(sku="POT-01", name="不粘锅", on_sale=False)
    ProductFactory(sku="POT-02", name="炒锅")

    by_sku = agent.get(reverse("catalog:product_list"), {"q": "mas"}).content.decode()
    by_name = agent.get(reverse("catalog:product_list"), {"q": "锅"}).content.decode()
    off_sale = agent.get(reverse("catalog:product_list"), {"on_sale": "false"}).content.decode()
    by_supplier = agent.get(reverse("catalog:product_list"), {"supplier": acme.pk})

    assert "MAS-01" in by_sku and "POT-01" not in by_sku
    assert "POT-01" in by_name and "POT-02" in by_name and "MAS-01" not in by_name
    assert "POT-01" in off_sale and "POT-02" not in off_sale
    assert list(by_supplier.context["object_list"]) == [Product.objects.get(sku="MAS-01")]


def test_product_list_pages_and_htmx_gets_only_the_results(client_for):
    agent = client_for("agent")
    ProductFactory.create_batch(30)

    first = agent.get(reverse("catalog:product_list"))
    second = agent.get(reverse("catalog:product_list"), {"page": 2})
    fragment = agent.get(reverse("catalog:product_list"), {"q": "商品"}, HTTP_HX_REQUEST="true")

    assert len(first.context["object_list"]) == 25
    assert len(second.context["object_list"]) == 5
    assert "<html" not in fragment.content.decode()
    assert "<table" in fragment.content.decode()


def test_product_list_query_count_does_not_grow_with_rows(
    client_for, django_assert_max_num_queries
):
    agent = client_for("agent")
    for _ in range(25):
        ProductFactory(supplier=SupplierFactory())

    with django_assert_max_num_queries(8):
        response = agent.get(reverse("catalog:product_list"))

    assert response.status_code == 200
    assert len(response.context["object_list"]) == 25


def test_gift_list_shows_stock_and_filters_out_of_stock(client_for, django_assert_max_num_queries):
    agent = client_for("agent")
    GiftFactory(sku="G-IN", stock=7)
    GiftFactory(sku="G-OUT", stock=0)
    for _ in range(20):
        GiftFactory(supplier=SupplierFactory())

    with django_assert_max_num_queries(8):
        page = agent.get(reverse("catalog:gift_list"), {"in_stock": "false"})

    html = page.content.decode()
    assert "G-OUT" in html and "G-IN" not in html
    assert "缺货" in html or "Out of stock" in html


def test_administrator_creates_a_product_on_the_page(client_for):
    admin = client_for("administrator")
    supplier = SupplierFactory()

    response = admin.post(
        reverse("catalog:product_create"),
        {
            "sku": "NEW-1",
            "name": "空气炸锅",
            "price": "399.00",
            "cost": "150.00",
            "weight_kg": "4.2",
            "on_sale": "on",
            "supplier": supplier.pk,
            "description": "",
        },
    )

    assert response.status_code == 302
    product = Product.objects.get(sku="NEW-1")
    assert product.supplier == supplier
    assert AuditEntry.objects.filter(
        action="create", object_id=str(product.pk), actor=admin.user
    ).exists()


def test_product_page_refuses_bad_input_with_400_and_saves_nothing(client_for):
    admin = client_for("administrator")
    product = ProductFactory(price=Decimal("100.00"))
    entries = AuditEntry.objects.count()

    response = admin.post(
        reverse("catalog:product_update", args=[product.pk]),
        {"sku": product.sku, "name": "", "price": "-5", "cost": "0", "weight_kg": "1"},
    )

    assert response.status_code == 400
    assert response.context["form"].errors.keys() >= {"name", "price"}
    product.refresh_from_db()
    assert product.price == Decimal("100.00")
    assert AuditEntry.objects.count() == entries


def test_administrator_edits_gift_and_supplier_on_the_pages(client_for):
    admin = client_for("administrator")
    gift = GiftFactory(stock=5)
    supplier = SupplierFactory(name="旧名")

    r1 = admin.post(
        reverse("catalog:gift_update", args=[gift.pk]),
        {"sku": gift.sku, "name": gift.name, "value": "20.00", "stock": "50", "on_offer": "on"},
    )
    r2 = admin.post(
        reverse("catalog:supplier_update", args=[supplier.pk]),
        {"name": "新名", "contact": "王经理", "phone": "", "note": "", "active": "on"},
    )

    assert (r1.status_code, r2.status_code) == (302, 302)
    gift.refresh_from_db()
    supplier.refresh_from_db()
    assert gift.stock == 50
    assert supplier.name == "新名"
    assert AuditEntry.objects.filter(action="update").count() == 2


def test_supplier_list_is_for_administrators(client_for, django_assert_max_num_queries):
    SupplierFactory.create_batch(5)
    admin = client_for("administrator")

    with django_assert_max_num_queries(8):
        response = admin.get(reverse("catalog:supplier_list"))

    assert response.status_code == 200
    assert client_for("agent").get(reverse("catalog:supplier_list")).status_code == 403


# --- API -------------------------------------------------------------------------------
def test_product_api_lists_with_filters_search_and_paging(api_for, django_assert_max_num_queries):
    api = api_for("agent")
    for i in range(60):
        ProductFactory(sku=f"S{i:03d}", supplier=SupplierFactory(), on_sale=i % 2 == 0)

    with django_assert_max_num_queries(6):
        page = api.get("/api/catalog/products/")
    on_sale = api.get("/api/catalog/products/", {"on_sale": "true", "page_size": 100})
    search = api.get("/api/catalog/products/", {"search": "S01"})

    assert page.status_code == 200
    assert page.data["count"] == 60 and len(page.data["results"]) == 50
    assert page.data["results"][0]["supplier_name"].startswith("供应商")
    assert on_sale.data["count"] == 30
    assert {p["sku"] for p in search.data["results"]} == {f"S01{i}" for i in range(10)}


def test_product_api_create_goes_through_the_service(api_for):
    api = api_for("administrator")

    response = api.post(
        "/api/catalog/products/",
        {"sku": "API-1", "name": "榨汁机", "price": "299.00"},
        format="json",
    )

    assert response.status_code == 201, response.data
    assert response.data["sku"] == "API-1"
    product = Product.objects.get(sku="API-1")
    assert AuditEntry.objects.filter(action="create", object_id=str(product.pk)).exists()


def test_product_api_validation_error_contract(api_for):
    api = api_for("administrator")
    ProductFactory(sku="TAKEN")

    response = api.post(
        "/api/catalog/products/", {"sku": "TAKEN", "name": "x", "price": "-1"}, format="json"
    )

    assert response.status_code == 400
    assert response.data["code"] == "invalid"
    assert response.data["message"]
    assert set(response.data["fields"]) >= {"sku", "price"}
    assert Product.objects.count() == 1


def test_product_api_patch_and_protected_delete(api_for):
    api = api_for("administrator")
    supplier = SupplierFactory()
    product = ProductFactory(supplier=supplier)

    patched = api.patch(f"/api/catalog/products/{product.pk}/", {"on_sale": False}, format="json")
    refused = api.delete(f"/api/catalog/suppliers/{supplier.pk}/")

    assert patched.status_code == 200 and patched.data["on_sale"] is False
    assert refused.status_code == 409
    assert refused.data["code"] == "conflict"
    assert Supplier.objects.filter(pk=supplier.pk).exists()
    product.refresh_from_db()
    assert product.on_sale is False


def test_gift_api_lists_with_stock(api_for, django_assert_max_num_queries):
    api = api_for("finance")
    GiftFactory(stock=0)
    GiftFactory.create_batch(10, stock=5)

    with django_assert_max_num_queries(6):
        response = api.get("/api/catalog/gifts/", {"in_stock": "false"})

    assert response.status_code == 200
    assert [g["stock"] for g in response.data["results"]] == [0]
    assert Gift.objects.count() == 11
