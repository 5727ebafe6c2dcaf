"""The wiring: real servers, roles from the data migration, the language per user."""

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.urls import reverse

from tvshop.accounts.roles import ROLE_PERMISSIONS, Role
from tvshop.audit.models import AuditEntry

pytestmark = pytest.mark.django_db


def test_suite_runs_on_postgresql():
    assert connection.vendor == "postgresql"


def test_every_role_exists_with_its_default_permissions():
    names = set(Group.objects.values_list("name", flat=True))
    assert {r.value for r in Role} <= names
    for role, perms in ROLE_PERMISSIONS.items():
        group = Group.objects.get(name=role)
        granted = {
            f"{p.content_type.app_label}.{p.codename}"
            for p in group.permissions.select_related("content_type")
        }
        missing = set(perms) - granted
        assert not missing, f"{role} lacks {missing}"


def test_healthz_reports_the_database(client):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {"ok": True, "database": "postgresql"}


def test_home_requires_login(client):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_ui_is_chinese_by_default_and_english_per_user(client_for):
    c = client_for("agent")
    page = c.get(reverse("home")).content.decode()
    assert "退出" in page  # "Log out"
    response = c.post(reverse("accounts:language"), {"language": "en", "next": "/"})
    assert response.status_code == 302
    c.user.refresh_from_db()
    assert c.user.language == "en"
    page = c.get(reverse("home")).content.decode()
    assert "Log out" in page
    assert AuditEntry.objects.filter(actor=c.user, action="update").exists()


def test_unknown_language_is_refused_without_change(client_for):
    c = client_for("agent")
    response = c.post(reverse("accounts:language"), {"language": "xx"})
    assert response.status_code == 400
    c.user.refresh_from_db()
    assert c.user.language == "zh-hans"


@pytest.mark.parametrize(
    "path", ["/static/vendor/htmx/htmx.min.js", "/static/vendor/echarts/echarts.min.js"]
)
def test_front_end_libraries_are_served_from_npm_packages(client, path):
    response = client.get(path)
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert len(body) > 10_000


def test_no_template_loads_anything_from_another_host():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "templates"
    offenders = []
    for path in root.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        if re.search(r"""(src|href)=["']https?://""", text):
            offenders.append(str(path))
    assert not offenders
