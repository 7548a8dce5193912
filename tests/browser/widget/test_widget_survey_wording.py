"""Surveys worded by the site in the real widget: the site's question
per language, thumbs up/down, and no comment box when the site turned it off."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, expect

from tests.browser.widget.hosting import HostSite, fake_beckon, page
from tests.browser.widget.parties import open_tab

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]
WIDGET_DIR = Path(__file__).resolve().parents[3] / "widget"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def host() -> AsyncIterator[tuple[HostSite, str]]:
    site = HostSite()
    script = site.serve_widget(WIDGET_DIR)
    site.start()
    try:
        yield site, script
    finally:
        site.stop()


async def _closed_chat(fake, tab) -> None:  # type: ignore[no-untyped-def]
    await tab.shadow("button.l").click()
    await fake.push(
        {
            "type": "conversation",
            "id": "cv_1",
            "status": "active",
            "agent": {"id": "us_1", "name": "Ana"},
        }
    )
    await fake.push(
        {"type": "closed", "conversation_id": "cv_1", "by": "agent", "survey": ["thumbs", "csat"]}
    )


async def test_thumbs_and_the_sites_question_without_a_comment(browser: Browser, host) -> None:  # type: ignore[no-untyped-def]
    site, script = host
    wording = {
        "lang": "hr",
        "survey": ["thumbs", "csat"],
        "survey_comment": False,
        "strings": {"hr": {"thumbs": "Je li Ana riješila problem?"}},
    }
    async with fake_beckon(**wording) as fake:
        site.pages["/survey"] = page(script, "sk_fake", server=fake.url)
        tab = await open_tab(
            browser, site.origin + "/survey", viewport={"width": 1280, "height": 800}
        )
        await _closed_chat(fake, tab)
        form = tab.shadow("form.f")
        await expect(form.locator("#q-thumbs")).to_have_text("Je li Ana riješila problem?")
        thumbs = form.locator("[data-kind=thumbs] button")
        await expect(thumbs).to_have_text(["👎", "👍"])
        await expect(form.locator("textarea[name=comment]")).to_have_count(0)
        await thumbs.nth(1).click()
        await form.locator("[data-kind=csat] button").nth(3).click()
        await form.locator("button[type=submit]").click()
        sent = await fake.expect(lambda f: f.get("type") == "survey" and f.get("kind") == "thumbs")
        assert (sent["score"], sent.get("comment")) == (1, None)
        csat = await fake.expect(lambda f: f.get("type") == "survey" and f.get("kind") == "csat")
        assert csat["score"] == 4
        assert tab.errors == []
        await tab.context.close()


async def test_the_comment_box_stays_by_default(browser: Browser, host) -> None:  # type: ignore[no-untyped-def]
    site, script = host
    async with fake_beckon(lang="en", survey=["thumbs"]) as fake:
        site.pages["/survey2"] = page(script, "sk_fake", server=fake.url)
        tab = await open_tab(
            browser, site.origin + "/survey2", viewport={"width": 1280, "height": 800}
        )
        await _closed_chat(fake, tab)
        form = tab.shadow("form.f")
        await expect(form.locator("#q-thumbs")).to_have_text("Was this chat helpful?")
        await expect(form.locator("textarea[name=comment]")).to_have_count(1)
        await tab.context.close()
