"""Schemathesis against the whole OpenAPI document of a real `beckon serve`: generated
valid and invalid requests to every operation, authenticated as an admin, must never
answer 5xx, and every answer must match the schema the document declares.

Bounded and reproducible: a fixed seed, deterministic generation, a few examples per
operation, one worker, loopback only. On failure the assertion message carries
schemathesis' report with the request that reproduces each finding.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from tests.beckon_process import running_node
from tests.chat_setup import make_chat_site

SEED = 20261207
MAX_EXAMPLES = 6
RUN_TIMEOUT_S = 400
SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
# Signing out would end the admin token this run authenticates with.
EXCLUDED_PATHS = ("/api/v1/auth/logout",)


@pytest.mark.timeout(RUN_TIMEOUT_S + 60)
async def test_every_operation_answers_without_server_errors_and_as_documented(
    tmp_path: Path,
) -> None:
    async with running_node(tmp_path) as node:
        chat = await make_chat_site(node)
        args = [
            "run",
            f"{node.url}/api/v1/openapi.json",
            "--url",
            node.url,
            "--checks",
            "not_a_server_error,response_schema_conformance",
            "--header",
            f"Authorization: Bearer {chat.admin_token}",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--seed",
            str(SEED),
            "--generation-deterministic",
            "--workers",
            "1",
            "--request-timeout",
            "20",
            "--suppress-health-check",
            "all",
            "--no-color",
            "--report-dir",
            str(tmp_path / "schemathesis-report"),
        ]
        for path in EXCLUDED_PATHS:
            args += ["--exclude-path", path]
        proc = await asyncio.create_subprocess_exec(
            str(SCHEMATHESIS),
            *args,
            cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(proc.communicate(), RUN_TIMEOUT_S)
    report = out.decode(errors="replace")
    print(report[-6000:])
    assert proc.returncode == 0, report[-20000:]
    assert "No issues found" in report or "passed" in report, report[-5000:]
