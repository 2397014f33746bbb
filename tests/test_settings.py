"""Settings come from the environment, validated at start with a message that names the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from backend.core.config import ENV_VARS, SettingsError, load_settings


def test_defaults_suit_make_run():
    settings = load_settings({})
    assert settings.database_url is None
    assert (settings.host, settings.port, settings.auth_mode) == ("127.0.0.1", 8000, "dev")


def test_values_are_converted_from_strings():
    settings = load_settings(
        {
            "TOEZICHT_PORT": "9000",
            "TOEZICHT_DB_PGBOUNCER": "true",
            "TOEZICHT_CORS_ORIGINS": "https://a.nl, https://b.nl",
        }
    )
    assert settings.port == 9000 and settings.db_pgbouncer is True
    assert settings.cors_origins == ("https://a.nl", "https://b.nl")


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"TOEZICHT_PORT": "eighty"}, "TOEZICHT_PORT"),
        ({"TOEZICHT_PORT": "70000"}, "TOEZICHT_PORT"),
        ({"TOEZICHT_LOG_LEVEL": "loud"}, "TOEZICHT_LOG_LEVEL"),
        ({"TOEZICHT_JWT_LEEWAY_S": "600"}, "TOEZICHT_JWT_LEEWAY_S"),
        ({"TOEZICHT_OIDC_ALGORITHMS": "HS256"}, "TOEZICHT_OIDC_ALGORITHMS"),
        ({"TOEZICHT_AUTH_MODE": "oidc"}, "TOEZICHT_JWT_ISSUER"),
        ({"TOEZICHT_AUTH_MODE": "oidc", "TOEZICHT_JWT_ISSUER": "https://idp"}, "TOEZICHT_OIDC_JWKS"),
        ({"TOEZICHT_DB_POOL_MIN": "20", "TOEZICHT_DB_POOL_MAX": "5"}, "TOEZICHT_DB_POOL_MIN"),
        ({"TOEZICHT_OIDC_JWKS_URL": "http://idp.example/jwks"}, "TOEZICHT_OIDC_JWKS_URL"),
    ],
)
def test_bad_value_names_the_variable(environ, named):
    with pytest.raises(SettingsError, match=named):
        load_settings(environ)


def test_every_setting_has_an_environment_variable_documented_in_the_readme():
    readme = Path(__file__).resolve().parents[1].joinpath("README.md").read_text(encoding="utf-8")
    missing = [var for var in ENV_VARS if f"`{var}`" not in readme]
    assert not missing, f"README does not document: {missing}"


def test_cli_refuses_to_start_with_a_bad_setting():
    env = {**os.environ, "TOEZICHT_PORT": "eighty"}
    result = subprocess.run(
        [sys.executable, "-m", "backend", "migrate"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "TOEZICHT_PORT" in result.stderr
