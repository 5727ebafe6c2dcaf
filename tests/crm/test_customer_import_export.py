"""Import (dry-run preview with bad rows, confirm, idempotent re-import) and export
(masking per role, formula neutralisation), with audit and role refusals."""

import csv
import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from crm.models import Address, Customer, CustomerPhone
from tests.crm.factories import make_customer
from tvshop.audit.models import AuditEntry

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


HEADER = [
    "name",
    "salutation",
    "level",
    "member_no",
    "phones",
    "province",
    "city",
    "district",
    "street",
    "postal_code",
    "notes",
]
GOOD = [
    [
        "陈一",
        "先生",
        "vip",
        "",
        "13800138000; 0755-88881234",
        "广东省",
        "深圳市",
        "南山区",
        "科技园1号",
        "518000",
        "",
    ],
    [
        "陈二",
        "ms",
        "",
        "M-LEGACY-2",
        "13900139000/010-12345678",
        "北京市",
        "北京市",
        "海淀区",
        "中关村2号",
        "",
        "老客户",
    ],
    ["陈三", "", "normal", "", "+86 137 0000 0001", "", "", "", "", "", ""],
]


def csv_file(rows, name="customers.csv"):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return SimpleUploadedFile(name, out.getvalue().encode("utf-8"), content_type="text/csv")


def xlsx_file(rows, name="customers.xlsx"):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return SimpleUploadedFile(name, out.getvalue())


def upload(client, file):
    return client.post(reverse("crm:customer_import"), {"file": file})


def confirm(client, response):
    return client.post(reverse("crm:customer_import_confirm"), {"token": response.context["token"]})


def test_dry_run_lists_bad_rows_with_line_and_reason_and_saves_nothing(client_for, make_user):
    make_customer(actor=make_user("agent"), name="老王", phones=["13600136000"])
    c = client_for("supervisor")
    rows = [
        *GOOD,
        ["坏电话", "", "", "", "12345", "", "", "", "", "", ""],
        ["坏地区", "", "", "", "13500135000", "火星省", "x", "y", "z", "", ""],
        ["错配", "", "", "", "13500135001", "广东省", "深圳市", "海淀区", "z", "", ""],
        ["", "", "", "", "13500135002", "", "", "", "", "", ""],
        ["抢号", "", "", "", "13600136000;13500135003", "", "", "", "", "", ""],
        ["坏级别", "", "king", "", "13500135004", "", "", "", "", "", ""],
    ]
    counts_before = (
        Customer.objects.count(),
        CustomerPhone.objects.count(),
        AuditEntry.objects.count(),
    )
    response = upload(c, csv_file(rows))
    assert response.status_code == 200
    problems = {p["line"]: " ".join(p["reasons"]) for p in response.context["problems"]}
    # header is line 1: bad rows are lines 5..10
    assert set(problems) == {5, 6, 7, 8, 10}
    assert "12345" in problems[5]
    assert "火星省" in problems[6]
    assert "海淀区" in problems[7]
    assert "name" in problems[8]
    assert "level" in problems[10]
    # the row with a number of another customer is an update of that customer (one owner)
    counts = response.context["counts"]
    assert counts["new"] == 3 and counts["update"] == 1 and counts["invalid"] == 5
    html = response.content.decode()
    assert 'id="import-problems"' in html and 'id="import-confirm"' not in html
    after = (Customer.objects.count(), CustomerPhone.objects.count(), AuditEntry.objects.count())
    assert after == counts_before


@pytest.mark.parametrize("make_file", [csv_file, xlsx_file])
def test_confirm_creates_and_reimport_creates_no_duplicates(client_for, make_file):
    c = client_for("supervisor")
    response = upload(c, make_file(GOOD))
    assert response.context["counts"]["new"] == 3 and not response.context["problems"]
    assert Customer.objects.count() == 0  # dry run
    done = confirm(c, response)
    assert done.status_code == 302
    assert Customer.objects.count() == 3
    first = Customer.objects.get(name="陈一")
    assert first.level == "vip" and first.salutation == "mr"
    assert set(first.phones.values_list("number", flat=True)) == {
        "+8613800138000",
        "+8675588881234",
    }
    assert first.addresses.get().district.name == "南山区"
    assert Customer.objects.get(name="陈二").member_no == "M-LEGACY-2"
    assert AuditEntry.objects.filter(action="import").count() == 1
    # when the same file is imported again
    again = upload(c, make_file(GOOD))
    assert again.context["counts"] == {"new": 0, "update": 0, "skip": 3, "invalid": 0, "rows": 3}
    confirm(c, again)
    # then nothing is duplicated
    assert Customer.objects.count() == 3
    assert CustomerPhone.objects.count() == 5
    assert Address.objects.count() == 2


def test_confirm_needs_the_token_of_this_session(client_for):
    c = client_for("supervisor")
    upload(c, csv_file(GOOD))
    response = c.post(reverse("crm:customer_import_confirm"), {"token": "x" * 32})
    assert response.status_code == 302 and Customer.objects.count() == 0
    other = client_for("supervisor")
    response = upload(c, csv_file(GOOD))
    other.post(reverse("crm:customer_import_confirm"), {"token": response.context["token"]})
    assert Customer.objects.count() == 0


def _export(client, **params):
    response = client.get(reverse("crm:customer_export"), params)
    assert response.status_code == 200
    return response


def test_export_masks_for_agent_role_and_neutralises_formulas(client_for, make_user):
    actor = make_user("supervisor")
    make_customer(
        actor=actor, name='=HYPERLINK("http://evil")', phones=["13800138000"], notes="+1 call me"
    )
    make_customer(actor=actor, name="@SUM(A1)", phones=["13900139000"], notes="-x")
    # an agent has no export permission: give the masked view through a custom role
    from django.contrib.auth.models import Permission

    masked = make_user("reviewer1")
    masked.user_permissions.add(
        Permission.objects.get(codename="export_customer", content_type__app_label="crm")
    )
    from django.test import Client

    masked_client = Client()
    masked_client.force_login(masked)
    body = _export(masked_client, format="csv").content.decode("utf-8-sig")
    assert "138****8000" in body and "13800138000" not in body
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0] == HEADER
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    assert any(r[0] == '\'=HYPERLINK("http://evil")' for r in rows[1:])

    sup = client_for("supervisor")
    response = _export(sup, format="xlsx", q="1380013")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    values = [[c.value for c in r] for r in sheet.iter_rows()]
    assert len(values) == 2 and values[1][4] == "13800138000"
    assert values[1][0].startswith("'=")
    assert AuditEntry.objects.filter(action="export").count() == 2
    assert AuditEntry.objects.filter(action="export", actor=masked).get().after["masked"]


@pytest.mark.parametrize("role", ["agent", "finance"])
def test_roles_without_import_export_are_refused(client_for, role):
    c = client_for(role)
    assert c.get(reverse("crm:customer_export"), {"format": "csv"}).status_code == 403
    assert c.get(reverse("crm:customer_import")).status_code == 403
    assert upload(c, csv_file(GOOD)).status_code == 403
    assert Customer.objects.count() == 0
    assert not AuditEntry.objects.filter(action__in=["import", "export"]).exists()
