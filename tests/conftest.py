"""Suite-wide fixtures. The suite runs against the real PostgreSQL and Redis (make test)."""

from __future__ import annotations

import os

import pytest
from django.conf import settings
from django.contrib.auth.models import Group

from tests.factories import UserFactory

# Hashing a real password costs ~0.5 s per user; the suite checks log-in, not hash strength.
settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def pytest_sessionstart(session):
    if os.environ.get("TVSHOP_TEST_ALLOW_SQLITE") == "1":
        return
    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" not in engine:
        pytest.exit(
            f"The suite must run on PostgreSQL (got {engine}). Use `make test`, which sets "
            "DATABASE_URL and REDIS_URL, or set them yourself.",
            returncode=3,
        )
    import redis

    try:
        redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=3).ping()
    except Exception as exc:
        pytest.exit(f"Redis at {settings.CELERY_BROKER_URL} cannot be reached: {exc}", 3)


@pytest.fixture
def make_user(db):
    """``make_user("agent", "supervisor", username=...)``: a user holding those roles."""

    def _make(*roles: str, **kwargs):
        user = UserFactory(**kwargs)
        if roles:
            user.groups.add(*Group.objects.filter(name__in=roles))
            assert user.groups.count() == len(roles), f"unknown role in {roles}"
        return user

    return _make


@pytest.fixture
def client_for(client, make_user):
    """``client_for("agent")``: a logged-in test client for a new user with those roles."""

    def _client(*roles: str, **kwargs):
        from django.test import Client

        user = make_user(*roles, **kwargs)
        c = Client()
        c.force_login(user)
        c.user = user
        return c

    return _client


@pytest.fixture
def api_for(make_user):
    """``api_for("agent")``: a DRF APIClient authenticated with a token."""

    def _api(*roles: str, **kwargs):
        from rest_framework.authtoken.models import Token
        from rest_framework.test import APIClient

        user = make_user(*roles, **kwargs)
        token = Token.objects.create(user=user)
        c = APIClient()
        c.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        c.user = user
        return c

    return _api


@pytest.fixture
def english(settings):
    """Run a test in English (``pytestmark = pytest.mark.usefixtures("english")``): for
    tests that assert messages and pages by their English source text. The users the test
    creates choose English, as a user can on their profile."""
    from django.db.models.signals import pre_save
    from django.utils import translation

    from tvshop.accounts.models import User

    settings.LANGUAGE_CODE = "en"

    def _choose_english(sender, instance, **kwargs):
        if instance._state.adding:
            instance.language = "en"

    pre_save.connect(_choose_english, sender=User, dispatch_uid="tests-english")
    try:
        with translation.override("en"):
            yield
    finally:
        pre_save.disconnect(sender=User, dispatch_uid="tests-english")
