"""Chromium starts and renders a page served by a real `beckon serve`."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from playwright.async_api import Browser

from tests.beckon_process import BeckonProcess, running_node
from tests.browser.conftest import artifact

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def node(tmp_path_factory) -> AsyncIterator[BeckonProcess]:  # type: ignore[no-untyped-def]
    async with running_node(tmp_path_factory.mktemp("browser"), admin=False) as process:
        yield process


async def test_demo_page_renders(browser: Browser, node: BeckonProcess) -> None:
    page = await browser.new_page()
    await page.goto(node.url + "/demo/")
    assert await page.title() == "Shop — Juniper & Co. (Beckon demo shop)"
    await page.screenshot(path=str(artifact("demo.png")))
    await page.close()
