"""The shipped mod_json_cdr config posts where and how the endpoint expects; the credentials
are required with a real switch."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

from tvshop.env import read_env

CONFIG = Path(__file__).resolve().parents[2] / "telephony/freeswitch/autoload_configs"


def _params() -> dict[str, str]:
    root = ET.parse(CONFIG / "json_cdr.conf.xml").getroot()
    assert root.get("name") == "json_cdr.conf"
    return {p.get("name"): p.get("value") for p in root.iter("param")}


def test_the_shipped_config_posts_to_the_endpoint_with_basic_auth():
    params = _params()
    assert urlsplit(params["url"]).path == reverse("telephony:cdr_post")
    assert params["auth-scheme"] == "basic"
    username, sep, password = params["cred"].partition(":")
    assert sep and username and len(password) >= 12
    assert params["encode"] in {"true", "base64", "false"}
    assert params["log-b-leg"] == "false"
    assert params["err-log-dir"]  # nothing lost when the app is down


@pytest.fixture
def server_env(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://x@127.0.0.1/x")
    monkeypatch.setenv("SECRET_KEY", "k")
    monkeypatch.setenv("ALLOWED_HOSTS", "crm.example.com")
    monkeypatch.setenv("ESL_HOST", "10.0.0.5")
    monkeypatch.setenv("ESL_PASSWORD", "a-long-esl-password")
    monkeypatch.delenv("CDR_USERNAME", raising=False)
    monkeypatch.delenv("CDR_PASSWORD", raising=False)
    return monkeypatch


def test_a_real_switch_needs_cdr_credentials(server_env):
    with pytest.raises(ImproperlyConfigured, match="CDR_PASSWORD"):
        read_env()
    server_env.setenv("CDR_USERNAME", "freeswitch")
    server_env.setenv("CDR_PASSWORD", "short")
    with pytest.raises(ImproperlyConfigured, match="12 characters"):
        read_env()
    server_env.setenv("CDR_PASSWORD", "a-long-cdr-password")
    env = read_env()
    assert (env.cdr_username, env.cdr_password) == ("freeswitch", "a-long-cdr-password")


def test_without_a_real_switch_an_embedded_pair_is_used(server_env):
    server_env.delenv("ESL_HOST")
    env = read_env()
    assert env.cdr_username == "freeswitch"
    assert env.cdr_password
