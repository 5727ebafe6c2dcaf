"""Log-in hardening: lock-out per user name (django-axes), CSRF, session expiry, audit."""

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from tests.factories import TEST_PASSWORD
from tvshop.audit.models import AuditEntry

pytestmark = pytest.mark.django_db


def login(client, username, password):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_right_password_logs_in_and_is_audited(client, make_user):
    user = make_user("agent", username="agent.ok")

    response = login(client, "agent.ok", TEST_PASSWORD)

    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert AuditEntry.objects.filter(action="login", actor=user).count() == 1


def test_logout_is_audited(client, make_user):
    user = make_user("agent", username="agent.out")
    login(client, "agent.out", TEST_PASSWORD)

    response = client.post(reverse("logout"))

    assert response.status_code == 302
    assert AuditEntry.objects.filter(action="logout", actor=user).count() == 1
    assert client.get(reverse("home")).status_code == 302  # back to the log-in page


def test_five_failures_lock_the_user_name_even_for_the_right_password(client, make_user):
    user = make_user("agent", username="agent.locked")
    make_user("agent", username="agent.other")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert login(client, "agent.locked", "wrong-password").status_code == 200
    fifth = login(client, "agent.locked", "wrong-password")

    right = login(Client(), "agent.locked", TEST_PASSWORD)
    other = login(Client(), "agent.other", TEST_PASSWORD)

    assert settings.AXES_FAILURE_LIMIT == 5
    assert fifth.status_code in (403, 429)
    assert right.status_code in (403, 429)
    assert "registration/locked.html" in [t.name for t in right.templates]
    assert "_auth_user_id" not in right.client.session
    assert not AuditEntry.objects.filter(action="login", actor=user).exists()
    assert other.status_code == 302  # another user name behind the same address is not locked


def test_four_failures_do_not_lock(client, make_user):
    make_user("agent", username="agent.typo")
    for _ in range(4):
        login(client, "agent.typo", "wrong-password")

    response = login(client, "agent.typo", TEST_PASSWORD)

    assert response.status_code == 302


def test_login_form_requires_the_csrf_token(make_user):
    make_user("agent", username="agent.csrf")
    browser = Client(enforce_csrf_checks=True)

    without_token = login(browser, "agent.csrf", TEST_PASSWORD)
    form = browser.get(reverse("login"))
    token = form.context["csrf_token"]
    with_token = browser.post(
        reverse("login"),
        {"username": "agent.csrf", "password": TEST_PASSWORD, "csrfmiddlewaretoken": token},
    )

    assert without_token.status_code == 403
    assert with_token.status_code == 302


def test_other_forms_require_the_csrf_token_too(make_user):
    user = make_user("administrator")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)

    response = browser.post(reverse("accounts:masking"), {"roles": ["agent"]})

    assert response.status_code == 403
    agent = Group.objects.get(name="agent")
    assert not agent.permissions.filter(codename="view_full_phone").exists()


def test_sessions_expire():
    assert 0 < settings.SESSION_COOKIE_AGE <= 12 * 3600
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE is True
    assert settings.SESSION_COOKIE_HTTPONLY is True
    assert "axes.middleware.AxesMiddleware" in settings.MIDDLEWARE
    assert settings.AXES_LOCKOUT_PARAMETERS == ["username"]


def test_password_validators_are_configured():
    names = {v["NAME"].rsplit(".", 1)[-1] for v in settings.AUTH_PASSWORD_VALIDATORS}
    assert {
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
        "UserAttributeSimilarityValidator",
    } <= names
