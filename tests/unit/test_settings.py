"""Settings: literal env in, literal Settings or one clear error out."""

from __future__ import annotations

import pytest

from server.settings import SECRET_FILE_NAME, SettingsError, load_settings

SECRET = "k" * 40


def test_defaults_generate_and_reuse_a_secret_beside_the_db(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {"BECKON_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/data/b.db"}
    first = load_settings(env)
    assert first.broker_url == "memory://"
    assert len(first.secret_key) >= 32
    secret_file = tmp_path / "data" / SECRET_FILE_NAME
    assert secret_file.read_text().strip() == first.secret_key
    assert oct(secret_file.stat().st_mode & 0o777) == "0o600"
    assert load_settings(env).secret_key == first.secret_key


def test_flags_override_env() -> None:
    settings = load_settings({"BECKON_SECRET_KEY": SECRET, "BECKON_PORT": "9000"}, port=9100)
    assert settings.port == 9100
    assert settings.base_url == "http://127.0.0.1:9100"


def test_public_url_decides_cookie_security() -> None:
    settings = load_settings(
        {"BECKON_SECRET_KEY": SECRET, "BECKON_PUBLIC_URL": "https://c.example/"}
    )
    assert settings.secure_cookies is True
    assert settings.base_url == "https://c.example"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"BECKON_DATABASE_URL": "mysql://x"}, "BECKON_DATABASE_URL: unknown URL scheme 'mysql'"),
        ({"BECKON_DATABASE_URL": "nonsense"}, "BECKON_DATABASE_URL: unknown URL scheme 'nonsense'"),
        ({"BECKON_BROKER_URL": "kafka://x"}, "BECKON_BROKER_URL: unknown URL scheme 'kafka'"),
        ({"BECKON_PORT": "eighty"}, "BECKON_PORT: expected an integer, got 'eighty'"),
        ({"BECKON_PORT": "70000"}, "BECKON_PORT: 70000 is outside 0..65535"),
        ({"BECKON_LOG_LEVEL": "loud"}, "BECKON_LOG_LEVEL: expected one of"),
        ({"BECKON_PUBLIC_URL": "ftp://x"}, "BECKON_PUBLIC_URL: expected an http(s) URL"),
        ({"BECKON_SECRET_KEY": "short"}, "BECKON_SECRET_KEY: must be at least 32 characters"),
        (
            {"BECKON_GEO_COUNTRY_HEADER": "CF IPCountry"},
            "BECKON_GEO_COUNTRY_HEADER: expected a header name like CF-IPCountry",
        ),
        (
            {"BECKON_ALLOW_PRIVATE_TARGETS": "maybe"},
            "BECKON_ALLOW_PRIVATE_TARGETS: expected true or false, got 'maybe'",
        ),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings({"BECKON_SECRET_KEY": SECRET, **env})
    assert str(info.value).startswith(message)


def test_the_country_header_is_kept_lower_case() -> None:
    settings = load_settings(
        {"BECKON_SECRET_KEY": SECRET, "BECKON_GEO_COUNTRY_HEADER": "CF-IPCountry"}
    )
    assert settings.geo_country_header == "cf-ipcountry"
    assert load_settings({"BECKON_SECRET_KEY": SECRET}).geo_country_header == ""


def test_postgres_requires_an_explicit_secret() -> None:
    with pytest.raises(SettingsError, match="BECKON_SECRET_KEY: required when the database is"):
        load_settings({"BECKON_DATABASE_URL": "postgresql+asyncpg://u@127.0.0.1/db"})


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, (65536, 20)),
        ({"BECKON_WS_SEND_BUFFER_BYTES": "4096", "BECKON_WS_SEND_STALL_S": "0"}, (4096, 0)),
        ({"BECKON_WS_SEND_BUFFER_BYTES": "100"}, "BECKON_WS_SEND_BUFFER_BYTES: 100 is outside"),
        ({"BECKON_WS_SEND_STALL_S": "-1"}, "BECKON_WS_SEND_STALL_S: -1 is outside 0..3600"),
        ({"BECKON_WS_SEND_STALL_S": "²"}, "BECKON_WS_SEND_STALL_S: expected an integer"),
    ],
)
def test_socket_send_buffer_and_stall_deadline(
    env: dict[str, str], expected: tuple[int, int] | str
) -> None:
    if isinstance(expected, str):
        with pytest.raises(SettingsError) as info:
            load_settings({"BECKON_SECRET_KEY": SECRET, **env})
        assert str(info.value).startswith(expected)
        return
    settings = load_settings({"BECKON_SECRET_KEY": SECRET, **env})
    assert (settings.ws_send_buffer_bytes, settings.ws_send_stall_s) == expected
