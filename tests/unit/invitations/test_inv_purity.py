"""invitations/ is pure: no I/O modules, no server imports, no clock reads."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[3] / "invitations"
FORBIDDEN_MODULES = {
    "asyncio",
    "time",
    "socket",
    "redis",
    "sqlalchemy",
    "starlette",
    "server",
    "os",
    "io",
    "subprocess",
    "threading",
    "random",
    "requests",
    "httpx",
}
FORBIDDEN_CALLS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("time", "time"),
    ("time", "monotonic"),
}


def _modules() -> list[Path]:
    return sorted(PACKAGE.glob("*.py"))


def test_the_package_has_modules():
    assert len(_modules()) > 10


def test_no_forbidden_imports():
    bad = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            for name in names:
                if name.split(".")[0] in FORBIDDEN_MODULES:
                    bad.append(f"{path.name}: import {name}")
    assert bad == []


def test_no_clock_reads_or_open():
    bad = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Name) and func.id in ("open", "input", "print"):
                bad.append(f"{path.name}:{node.lineno} {func.id}()")
            if isinstance(func, ast.Attribute):
                owner = func.value
                owner_name = (
                    owner.id
                    if isinstance(owner, ast.Name)
                    else (owner.attr if isinstance(owner, ast.Attribute) else "")
                )
                if (owner_name, func.attr) in FORBIDDEN_CALLS:
                    bad.append(f"{path.name}:{node.lineno} {owner_name}.{func.attr}()")
    assert bad == []


def test_the_checker_catches_violations(tmp_path):
    # Guard against a checker that passes everything.
    source = "import time\nfrom server.app import x\nimport datetime\ndatetime.datetime.now()\n"
    tree = ast.parse(source)
    imports = [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)]
    assert len(imports) == 3
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    assert calls[0].func.attr == "now" and calls[0].func.value.attr == "datetime"
