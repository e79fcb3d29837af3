"""Settings come from the environment, with safe local defaults, and refuse unsafe production setups."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from foxweb.settings import envbool, envfloat, envint, envlist

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("True", True), ("yes", True), ("off", False), ("", False)])
def test_envbool_reads_the_usual_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("FOXWEB_FLAG", raw)
    assert envbool("FOXWEB_FLAG", "false") is expected


def test_envbool_refuses_anything_else(monkeypatch):
    monkeypatch.setenv("FOXWEB_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="FOXWEB_FLAG must be true or false"):
        envbool("FOXWEB_FLAG", "false")


def test_envint_and_envfloat_fail_loudly(monkeypatch):
    monkeypatch.setenv("FOXWEB_NUMBER", "ten")
    with pytest.raises(ImproperlyConfigured, match="whole number"):
        envint("FOXWEB_NUMBER", 1)
    with pytest.raises(ImproperlyConfigured, match="must be a number"):
        envfloat("FOXWEB_NUMBER", 1.0)
    monkeypatch.setenv("FOXWEB_NUMBER", "12")
    assert envint("FOXWEB_NUMBER", 1) == 12
    monkeypatch.delenv("FOXWEB_NUMBER")
    assert envint("FOXWEB_NUMBER", 7) == 7


def test_envlist_splits_on_commas(monkeypatch):
    monkeypatch.setenv("FOXWEB_HOSTS", " a.example, b.example ,,")
    assert envlist("FOXWEB_HOSTS") == ["a.example", "b.example"]


def load_settings(**env) -> subprocess.CompletedProcess:
    """Import the settings module in a fresh interpreter with exactly this environment."""
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("FOXWEB_", "FOXAPI_"))}
    for key in ("SECRET_KEY", "DEBUG", "DATABASE_URL", "ALLOWED_HOSTS"):
        clean.pop(key, None)
    clean.update(env)
    code = (
        "import foxweb.settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.FOXAPI_BASE_URL, s.DEBUG, repr(s.FOXAPI_API_KEY))"
    )
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True)


def test_defaults_are_sqlite_and_the_sandbox():
    result = load_settings()
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.sqlite3", "sandbox", "True", "''"]


def test_database_url_selects_postgresql_and_base_url_the_real_service():
    result = load_settings(
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/foxweb",
        FOXAPI_BASE_URL="https://api.foxapi.cc/",
        FOXAPI_API_KEY="sk-site",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.postgresql",
        "https://api.foxapi.cc",
        "True",
        "'sk-site'",
    ]


def test_production_refuses_the_development_secret_key():
    result = load_settings(DEBUG="false", FOXWEB_ENCRYPTION_KEYS="x")
    assert result.returncode != 0
    assert "Set SECRET_KEY" in result.stderr


def test_production_refuses_private_url_fetching():
    result = load_settings(
        DEBUG="false", SECRET_KEY="s" * 50, FOXWEB_ENCRYPTION_KEYS="x", FOXWEB_ALLOW_PRIVATE_URLS="true"
    )
    assert result.returncode != 0
    assert "FOXWEB_ALLOW_PRIVATE_URLS" in result.stderr


def test_production_starts_with_its_own_secrets():
    result = load_settings(DEBUG="false", SECRET_KEY="s" * 50, FOXWEB_ENCRYPTION_KEYS="x", ALLOWED_HOSTS="fox.example")
    assert result.returncode == 0, result.stderr


def test_a_bad_value_names_the_variable():
    result = load_settings(FOXAPI_TIMEOUT="soon")
    assert result.returncode != 0
    assert "FOXAPI_TIMEOUT must be a number" in result.stderr


def production_env(**extra) -> dict:
    """The documented production settings, with real-looking secrets."""
    from cryptography.fernet import Fernet

    return {
        "DEBUG": "false",
        "SECRET_KEY": "k7#Qp2!vX9@mR4$tZ8^wL1&nB6*yH3(cF5)dJ0-sG_eU+aT7%oI2~pK9=",
        "ALLOWED_HOSTS": "fox.example",
        "FOXWEB_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        **extra,
    }


def deploy_check(env: dict) -> subprocess.CompletedProcess:
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("FOXWEB_", "FOXAPI_", "SECURE_"))}
    for key in ("SECRET_KEY", "DEBUG", "DATABASE_URL", "ALLOWED_HOSTS", "DJANGO_ALLOW_ASYNC_UNSAFE"):
        clean.pop(key, None)  # the browser tests set the last one for Playwright, in the same process
    clean.update(env)
    command = [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"]
    return subprocess.run(command, cwd=ROOT, env=clean, capture_output=True, text=True)


def test_the_deploy_checks_pass_under_the_documented_production_settings():
    result = deploy_check(production_env())
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNINGS" not in result.stderr


def test_hsts_and_the_https_redirect_are_set_from_the_environment():
    result = deploy_check(production_env(SECURE_HSTS_SECONDS="0", SECURE_SSL_REDIRECT="false"))
    assert result.returncode != 0
    assert "security.W004" in result.stderr  # no HSTS
    assert "security.W008" in result.stderr  # no redirect to HTTPS


def test_the_csrf_cookie_is_out_of_reach_of_scripts(client, alice):
    response = client.get("/login/")
    assert response.cookies["csrftoken"]["httponly"] is True
