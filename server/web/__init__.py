"""Where the browser files are: the widget sources, and the console, admin and demo shop.

They live at the repository's top level (`widget/`, `static/`) and are installed as the data
packages `server.web.widget` and `server.web.static` (setup.py maps them; the editable
install maps them the same way). Finding them through `importlib.resources` — never by
walking up from this file — is what lets a wheel installed anywhere serve them.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path


class BrowserFilesMissing(Exception):
    """The installed package lacks its browser files; the message is one line."""


@dataclass(frozen=True, slots=True)
class BrowserFiles:
    widget: Path
    """The widget's JavaScript modules and `i18n/*.json`."""
    static: Path
    """`agent/`, `admin/`, `demo/` and `vendor/`."""


def installed_browser_files() -> BrowserFiles:
    """The browser files of the installed package.

    Raises BrowserFilesMissing when they are not installed as plain directories (a broken
    or zipped install; an editable install made before they were packaged).
    """
    return BrowserFiles(
        package_directory("server.web.widget"), package_directory("server.web.static")
    )


def package_directory(package: str) -> Path:
    """The directory of an installed data package; raises BrowserFilesMissing."""
    try:
        found = resources.files(package)
    except (ModuleNotFoundError, TypeError):  # TypeError: a module, not a package
        found = None
    # Starlette's StaticFiles serves from a real directory, so a zipped install will not do.
    if not isinstance(found, Path) or not found.is_dir():
        raise BrowserFilesMissing(
            f"the package {package} is not installed as a directory; "
            "reinstall Beckon (pip install beckon-chat, or pip install -e . in a checkout)"
        )
    return found
