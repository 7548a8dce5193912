"""The one part of the build that pyproject.toml cannot say: the browser files.

The widget sources (`widget/`) and the console, admin and demo shop (`static/`) stay at the
repository's top level, and ship inside our package as `server.web.widget` and
`server.web.static` — never as generic top-level `widget`/`static` packages in
site-packages. `server/web/__init__.py` finds them through `importlib.resources`, so an
installed wheel and an editable checkout serve the same files. Everything else (metadata,
dependencies, package data) is in pyproject.toml.
"""

from setuptools import find_namespace_packages, setup

BROWSER_FILES = {"server.web.widget": "widget", "server.web.static": "static"}

setup(
    packages=[*find_namespace_packages(include=["server*", "invitations*"]), *BROWSER_FILES],
    package_dir=BROWSER_FILES,
)
