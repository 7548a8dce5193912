"""The installed distribution's version, for `beckon --version` and the OpenAPI document."""

from __future__ import annotations

import importlib.metadata

DISTRIBUTION = "beckon-chat"


def package_version() -> str:
    """pyproject.toml's `version` as installed; a checkout never installed says so."""
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed)"
