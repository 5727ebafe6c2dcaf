"""Scripts (话术): placeholders, rendering for a customer, pages, API and role refusals."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from crm.choices import ScriptStage
from crm.models import Script
from crm.selectors.knowledge import customer_is_returning, script_for_call
from crm.services import knowledge
from crm.services.knowledge import (
    customer_surname,
    last_product_provider_set,
    script_context,
    script_render,
    script_render_text,
    script_save,
)
from tests.crm.factories_contacts import ServiceRecordFactory
from tests.crm.factories_knowledge import ScriptFactory
from tests.factories import CustomerFactory, ProductFactory
from tvshop.audit.models import AuditEntry
from tvshop.errors import DomainError

pytestmark = pytest.mark.django_db


def _entries():
    """Audit entries about scripts (making users and roles writes entries of its own)."""
    return AuditEntry.objects.filter(content_type__app_label="crm", content_type__model="script")


@pytest.fixture
def last_product():
    """Install a last-product provider as the orders app will; removed afterwards."""
    names: dict[int, str] = {}
    last_product_provider_set(lambda customer: names.get(customer.pk, ""))
    yield names
    last_product_provider_set(None)


# --- saving -------------------------------------------------------------------------------


def test_save_creates_the_script_with_an_audit_entry(make_user):
    supervisor = make_user("supervisor")
    product = ProductFactory(name="颈椎按摩仪")

    script = script_save(
        actor=supervisor,
        title=" 开场 ",
        product=product,
        stage=ScriptStage.OPENING,
        body="{name}{salutation}您好，欢迎订购{product}。",
    )

    assert script.title == "开场"
    assert script.updated_by == supervisor
    entry = AuditEntry.objects.get(object_id=str(script.pk), action="create")
    assert entry.actor == supervisor
    assert entry.after["body"] == "{name}{salutation}您好，欢迎订购{product}。"


def test_unknown_placeholder_is_refused_naming_it_and_nothing_is_saved(make_user):
    supervisor = make_user("supervisor")

    with pytest.raises(DomainError) as exc:
        script_save(
            actor=supervisor,
            title="开场",
            stage=ScriptStage.OPENING,
            body="{name}您好，您的{nmae}和{phone}",
        )

    messages = exc.value.fields["body"]
    assert len(messages) == 2
    assert "{nmae}" in messages[0]
    assert "{phone}" in messages[1]
    assert not Script.objects.exists()
    assert not _entries()


def test_change_with_unknown_placeholder_leaves_the_script_unchanged(make_user):
    supervisor = make_user("supervisor")
    script = ScriptFactory(body="{name}您好")

    with pytest.raises(DomainError):
        script_save(
            actor=supervisor,
            script=script,
            title=script.title,
            stage=script.stage,
            body="{name}您好 {age}",
        )

    script.refresh_from_db()
    assert script.body == "{name}您好"
    assert not _entries()


@pytest.mark.parametrize("body", ["{name 您好", "您好} {name}", "{}"])
def test_stray_braces_are_refused(make_user, body):
    with pytest.raises(DomainError) as exc:
        script_save(actor=make_user("supervisor"), title="t", stage="opening", body=body)
    assert "body" in exc.value.fields


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"title": " "}, "title"), ({"stage": "nonsense"}, "stage"), ({"body": "  "}, "body")],
)
def test_missing_fields_are_refused(make_user, kwargs, field):
    args = {"title": "t", "stage": "opening", "body": "您好", **kwargs}
    with pytest.raises(DomainError) as exc:
        script_save(actor=make_user("supervisor"), **args)
    assert field in exc.value.fields
    assert not Script.objects.exists()


def test_change_is_audited_with_before_and_after(make_user):
    supervisor = make_user("supervisor")
    script = ScriptFactory(body="旧的")

    script_save(
        actor=supervisor, script=script, title=script.title, stage="pitch", body="新的{name}"
    )

    entry = AuditEntry.objects.get(object_id=str(script.pk), action="update")
    assert entry.before["body"] == "旧的"
    assert entry.after["body"] == "新的{name}"
    assert entry.after["stage"] == "pitch"


# --- rendering ----------------------------------------------------------------------------


def test_placeholders_are_rendered_for_the_customer(make_user, last_product):
    agent = make_user("agent", full_name="李娜")
    product = ProductFactory(name="空气炸锅")
    customer = CustomerFactory(name="王小明", salutation="mr")
    last_product[customer.pk] = "蚕丝被"
    script = ScriptFactory(
        product=product,
        body="{name}{salutation}您好，我是{agent_name}。{surname}{salutation}，上次的{last_product}"
        "还满意吗？今天推荐{product}。",
    )

    with translation.override("en"):
        text = script_render_text(script=script, customer=customer, agent=agent)

    assert text == "王小明Mr.您好，我是李娜。王Mr.，上次的蚕丝被还满意吗？今天推荐空气炸锅。"


def test_salutation_is_chinese_in_the_chinese_ui():
    # Needs the zh_Hans catalog with locale/fragments/knowledge.po merged.
    customer = CustomerFactory(name="张丽", salutation="ms")
    script = ScriptFactory(body="{surname}{salutation}您好")

    with translation.override("zh-hans"):
        assert script_render_text(script=script, customer=customer) == "张女士您好"


def test_no_salutation_and_no_orders_render_as_nothing():
    customer = CustomerFactory(name="赵六", salutation="")
    script = ScriptFactory(body="{name}{salutation}，上次买的是{last_product}。")

    assert script_render_text(script=script, customer=customer) == "赵六，上次买的是。"


def test_last_product_is_empty_until_the_orders_app_provides_it():
    customer = CustomerFactory()
    assert script_context(customer)["last_product"] == ""


def test_rendered_html_escapes_the_body_and_the_values():
    customer = CustomerFactory(name="<script>alert(1)</script>")
    script = ScriptFactory(body="<b>{name}</b> & 您好\n第二行")

    html = script_render(script=script, customer=customer)

    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;" in html and "&amp; 您好" in html
    assert "<br>第二行" in html


def test_double_braces_are_literal_braces():
    customer = CustomerFactory(name="钱七")
    script = ScriptFactory(body="{{name}} 是 {name}")
    assert script_render_text(script=script, customer=customer) == "{name} 是 钱七"


@pytest.mark.parametrize(
    ("name", "surname"), [("王小明", "王"), ("欧阳娜娜", "欧阳"), ("John Smith", "Smith"), ("", "")]
)
def test_surname(name, surname):
    assert customer_surname(name) == surname


def test_every_documented_placeholder_is_accepted(make_user):
    body = "".join(f"{{{name}}}" for name in knowledge.PLACEHOLDERS)
    script = script_save(actor=make_user("supervisor"), title="t", stage="opening", body=body)
    assert script.pk


# --- returning customers ------------------------------------------------------------------


def test_returning_customer_gets_the_greeting_script():
    greeting = ScriptFactory(stage=ScriptStage.GREETING_RETURNING, body="{name}您好，欢迎回来")
    opening = ScriptFactory(stage=ScriptStage.OPENING)
    new_customer = CustomerFactory()
    returning = CustomerFactory()
    ServiceRecordFactory(customer=returning)

    assert not customer_is_returning(new_customer)
    assert customer_is_returning(returning)
    assert script_for_call(customer=returning) == greeting
    assert script_for_call(customer=new_customer) == opening
    assert script_for_call(customer=None) == opening


def test_a_customer_who_bought_before_is_returning(last_product):
    customer = CustomerFactory()
    last_product[customer.pk] = "按摩椅"
    assert customer_is_returning(customer)


def test_the_products_own_opening_comes_before_the_general_one():
    product = ProductFactory()
    general = ScriptFactory(stage=ScriptStage.OPENING, product=None)
    own = ScriptFactory(stage=ScriptStage.OPENING, product=product)
    ScriptFactory(stage=ScriptStage.OPENING, product=ProductFactory())

    assert script_for_call(customer=None, product=product) == own
    assert script_for_call(customer=None) == general


# --- pages --------------------------------------------------------------------------------


def test_agent_reads_the_list_filtered_by_stage(client_for, django_assert_max_num_queries):
    for _ in range(30):
        ScriptFactory(stage="pitch", product=ProductFactory())
    ScriptFactory(stage="closing", title="促成下单话术")
    c = client_for("agent")

    with django_assert_max_num_queries(12):
        response = c.get(reverse("crm:script_list"), {"stage": "closing"})

    assert response.status_code == 200
    page = response.content.decode()
    assert "促成下单话术" in page
    assert len(response.context["object_list"]) == 1


def test_list_pages_are_paginated_with_a_bounded_number_of_queries(
    client_for, django_assert_max_num_queries
):
    for _ in range(40):
        ScriptFactory(product=ProductFactory())
    c = client_for("agent")

    with django_assert_max_num_queries(12):
        response = c.get(reverse("crm:script_list"))

    assert response.status_code == 200
    assert len(response.context["object_list"]) == 25


def test_htmx_search_returns_only_the_results(client_for):
    ScriptFactory(title="黄金首饰开场")
    ScriptFactory(title="按摩椅开场")
    c = client_for("agent")

    response = c.get(reverse("crm:script_list"), {"q": "黄金"}, HTTP_HX_REQUEST="true")

    page = response.content.decode()
    assert "黄金首饰开场" in page and "按摩椅开场" not in page
    assert "<html" not in page


def test_supervisor_creates_a_script_through_the_page(client_for):
    c = client_for("supervisor")

    response = c.post(
        reverse("crm:script_create"),
        {"title": "开场", "stage": "opening", "body": "{name}您好", "active": "on"},
    )

    script = Script.objects.get()
    assert response.status_code == 302
    assert script.body == "{name}您好"
    assert AuditEntry.objects.filter(action="create", object_id=str(script.pk)).exists()


def test_the_page_shows_the_unknown_placeholder_as_a_form_error(client_for):
    c = client_for("supervisor")

    response = c.post(
        reverse("crm:script_create"),
        {"title": "开场", "stage": "opening", "body": "{nmae}您好", "active": "on"},
    )

    assert response.status_code == 400
    assert "{nmae}" in str(response.context["form"].errors["body"])
    assert not Script.objects.exists()


def test_the_edit_page_documents_the_placeholders(client_for):
    script = ScriptFactory()
    response = client_for("supervisor").get(reverse("crm:script_edit", args=[script.pk]))
    page = response.content.decode()
    for name in knowledge.PLACEHOLDERS:
        assert f"{{{name}}}" in page


def test_agent_cannot_create_or_edit_scripts(client_for):
    script = ScriptFactory(body="原文")
    c = client_for("agent")

    create = c.post(reverse("crm:script_create"), {"title": "x", "stage": "opening", "body": "y"})
    edit_page = c.get(reverse("crm:script_edit", args=[script.pk]))
    edit = c.post(
        reverse("crm:script_edit", args=[script.pk]),
        {"title": "x", "stage": "opening", "body": "改了"},
    )

    assert (create.status_code, edit_page.status_code, edit.status_code) == (403, 403, 403)
    script.refresh_from_db()
    assert script.body == "原文"
    assert Script.objects.count() == 1
    assert not _entries()


def test_logistics_cannot_read_scripts(client_for):
    response = client_for("logistics").get(reverse("crm:script_list"))
    assert response.status_code == 403


def test_preview_renders_for_the_chosen_customer(client_for):
    customer = CustomerFactory(name="孙<b>八</b>")
    script = ScriptFactory(body="{name}您好")
    c = client_for("agent")

    response = c.get(reverse("crm:script_preview", args=[script.pk]), {"customer": customer.pk})

    page = response.content.decode()
    assert response.status_code == 200
    assert "孙&lt;b&gt;八&lt;/b&gt;您好" in page
    assert "孙<b>八</b>" not in page


def test_preview_finds_customers_by_name(client_for):
    CustomerFactory(name="周杰")
    CustomerFactory(name="吴用")
    script = ScriptFactory()

    response = client_for("agent").get(
        reverse("crm:script_preview", args=[script.pk]), {"find": "周"}
    )

    assert [c.name for c in response.context["candidates"]] == ["周杰"]


def test_preview_for_a_missing_customer_is_404(client_for):
    script = ScriptFactory()
    response = client_for("agent").get(
        reverse("crm:script_preview", args=[script.pk]), {"customer": "999999"}
    )
    assert response.status_code == 404


# --- API ----------------------------------------------------------------------------------


def test_api_lists_scripts_with_filters(api_for, django_assert_max_num_queries):
    product = ProductFactory()
    for _ in range(20):
        ScriptFactory(product=ProductFactory(), stage="pitch")
    ScriptFactory(product=product, stage="closing")
    api = api_for("agent")

    with django_assert_max_num_queries(8):
        response = api.get("/api/crm/scripts/", {"product": product.pk})
    everything = api.get("/api/crm/scripts/")

    assert response.status_code == 200
    assert [r["product"] for r in response.json()["results"]] == [product.pk]
    assert everything.json()["count"] == 21


def test_api_create_refuses_unknown_placeholder_with_the_error_contract(api_for):
    api = api_for("supervisor")

    response = api.post(
        "/api/crm/scripts/", {"title": "t", "stage": "opening", "body": "{foo}您好"}, format="json"
    )

    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"code", "message", "fields"}
    assert "{foo}" in body["fields"]["body"][0]
    assert not Script.objects.exists()


def test_api_create_and_update_go_through_the_service(api_for):
    api = api_for("supervisor")

    created = api.post(
        "/api/crm/scripts/", {"title": "t", "stage": "opening", "body": "{name}"}, format="json"
    )
    pk = created.json()["id"]
    updated = api.patch(f"/api/crm/scripts/{pk}/", {"body": "{name}您好"}, format="json")

    assert created.status_code == 201 and updated.status_code == 200
    assert Script.objects.get(pk=pk).body == "{name}您好"
    assert AuditEntry.objects.filter(object_id=str(pk), action="update").count() == 1


def test_api_agent_cannot_change_scripts(api_for):
    script = ScriptFactory(body="原文")
    api = api_for("agent")

    created = api.post(
        "/api/crm/scripts/", {"title": "t", "stage": "opening", "body": "x"}, format="json"
    )
    patched = api.patch(f"/api/crm/scripts/{script.pk}/", {"body": "改"}, format="json")

    assert (created.status_code, patched.status_code) == (403, 403)
    script.refresh_from_db()
    assert script.body == "原文"
    assert Script.objects.count() == 1


def test_api_renders_a_script_for_a_customer(api_for):
    customer = CustomerFactory(name="郑<i>九</i>", salutation="mr")
    script = ScriptFactory(body="{name}您好")
    api = api_for("agent")

    response = api.get(f"/api/crm/scripts/{script.pk}/render/", {"customer": customer.pk})
    missing = api.get(f"/api/crm/scripts/{script.pk}/render/")

    assert response.status_code == 200
    assert response.json()["text"] == "郑<i>九</i>您好"
    assert response.json()["html"] == "郑&lt;i&gt;九&lt;/i&gt;您好"
    assert missing.status_code == 400
    assert "customer" in missing.json()["fields"]


def test_api_render_is_refused_without_view_customer(api_for):
    script = ScriptFactory()
    customer = CustomerFactory()
    # finance may read customers but not scripts
    response = api_for("finance").get(
        f"/api/crm/scripts/{script.pk}/render/", {"customer": customer.pk}
    )
    assert response.status_code == 403
