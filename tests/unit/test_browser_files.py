"""server/web: the browser files are found through the installed package."""

from __future__ import annotations

import pytest

from server.web import BrowserFilesMissing, installed_browser_files, package_directory


def test_installed_browser_files_are_the_widget_and_static_directories() -> None:
    files = installed_browser_files()
    assert (files.widget / "loader.js").is_file()
    assert (files.widget / "i18n" / "en.json").is_file()
    for page in ("agent/index.html", "admin/index.html", "demo/index.html"):
        assert (files.static / page).is_file(), page


def test_a_missing_data_package_is_one_clear_line() -> None:
    with pytest.raises(BrowserFilesMissing) as caught:
        package_directory("server.web.nothing_here")
    assert str(caught.value) == (
        "the package server.web.nothing_here is not installed as a directory; "
        "reinstall Beckon (pip install beckon-chat, or pip install -e . in a checkout)"
    )


def test_a_module_is_not_a_directory_of_files() -> None:
    with pytest.raises(BrowserFilesMissing):
        package_directory("server.web.__init__")
