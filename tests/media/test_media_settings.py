"""The media settings: where attachments go by default, and bad values refused by name."""

from __future__ import annotations

import pytest

from server.settings import SettingsError, load_settings

SECRET = {"BECKON_SECRET_KEY": "k" * 40}


def test_default_media_directory_is_beside_the_sqlite_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = load_settings(
        {**SECRET, "BECKON_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/b.db"}
    )
    assert settings.media_storage_url == f"file://{tmp_path}/media"


def test_media_dir_and_url(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = load_settings({**SECRET, "BECKON_MEDIA_DIR": str(tmp_path / "files")})
    assert settings.media_storage_url == f"file://{tmp_path}/files"
    settings = load_settings({**SECRET, "BECKON_MEDIA_URL": "s3://bucket/beckon"})
    assert settings.media_storage_url == "s3://bucket/beckon"


def test_unknown_media_scheme_is_refused() -> None:
    with pytest.raises(SettingsError, match=r"BECKON_MEDIA_URL: unknown URL scheme 'gs'"):
        load_settings({**SECRET, "BECKON_MEDIA_URL": "gs://bucket"})


def test_media_types_subset_of_the_checked_list() -> None:
    settings = load_settings({**SECRET, "BECKON_MEDIA_TYPES": "image/png, application/pdf"})
    assert settings.media_types == ("image/png", "application/pdf")
    with pytest.raises(
        SettingsError, match=r"BECKON_MEDIA_TYPES: 'image/svg\+xml' is not a type Beckon can check"
    ):
        load_settings({**SECRET, "BECKON_MEDIA_TYPES": "image/png,image/svg+xml"})
