"""The site's look and texts in the real widget, from a scripted
`welcome.widget`: colours, dark theme, side and offsets, launcher label, stacking order,
texts per language, and the agent's name and avatar hidden when the site says so."""

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

LOOK = {
    "lang": "de",
    "color": "#0f766e",
    "text_color": "#ffffff",
    "theme": "dark",
    "position": "left",
    "offset_x": 32,
    "offset_y": 48,
    "launcher_label": "Fragen?",
    "show_agent_name": False,
    "show_agent_avatar": False,
    "z_index": 1000,
    "strings": {
        "de": {"title": "Schreiben Sie uns", "open": "Hilfe öffnen"},
        "en": {"title": "Write to us"},
    },
}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def host() -> AsyncIterator[tuple[HostSite, str]]:
    site = HostSite()
    script = site.serve_widget(WIDGET_DIR)
    site.start()
    try:
        yield site, script
    finally:
        site.stop()


async def test_the_sites_look_texts_and_agent_display(browser: Browser, host) -> None:  # type: ignore[no-untyped-def]
    site, script = host
    async with fake_beckon(**LOOK) as fake:
        site.pages["/look"] = page(script, "sk_fake", server=fake.url)
        tab = await open_tab(
            browser, site.origin + "/look", viewport={"width": 1280, "height": 800}
        )
        launcher = tab.shadow("button.l")
        # The German texts of the site replace the widget's own German.
        await expect(launcher).to_have_attribute("aria-label", "Hilfe öffnen")
        await expect(launcher).to_have_text("Fragen?")
        await expect(launcher).to_have_css("background-color", "rgb(15, 118, 110)")
        await expect(launcher).to_have_css("color", "rgb(255, 255, 255)")
        box = await launcher.bounding_box()
        assert box is not None
        assert box["x"] == 32 and box["y"] + box["height"] == 800 - 48
        assert box["width"] > 58  # a pill with its label
        host_z = await tab.page.evaluate(
            "getComputedStyle(document.querySelector('beckon-chat')).zIndex"
        )
        assert host_z == "1000"

        await launcher.click()
        window = tab.shadow(".w")
        await expect(window).to_be_visible()
        await expect(tab.shadow(".hd h2")).to_have_text("Schreiben Sie uns")
        await expect(window).to_have_css("background-color", "rgb(17, 24, 39)")  # dark
        panel = await window.bounding_box()
        assert panel is not None and panel["x"] == 32

        # An agent takes the chat: the site hides names and avatars, so the header says
        # the role, never the agent's name or picture.
        await fake.push(
            {
                "type": "conversation",
                "id": "cv_1",
                "status": "active",
                "agent": {"id": "us_1", "name": "Ana Horvat", "avatar_url": "https://x.test/a.png"},
            }
        )
        await expect(tab.shadow(".hd h2")).to_have_text("Kundenservice")
        await expect(tab.shadow(".hd img")).to_have_count(0)
        await fake.push(
            {
                "type": "message",
                "conversation_id": "cv_1",
                "id": "ms_1",
                "seq": 1,
                "author": {"kind": "agent", "id": "us_1", "name": "Ana Horvat"},
                "text": "Hallo!",
                "ts": 1700000000000,
            }
        )
        await expect(tab.shadow(".m.a").last).to_have_text("Hallo!")
        assert "Ana Horvat" not in await tab.shadow(".ms").inner_text()
        assert tab.errors == []
        await tab.context.close()


async def test_defaults_keep_the_old_look(browser: Browser, host) -> None:  # type: ignore[no-untyped-def]
    site, script = host
    async with fake_beckon(lang="en", color="#2563eb") as fake:
        site.pages["/plain"] = page(script, "sk_fake", server=fake.url)
        tab = await open_tab(
            browser, site.origin + "/plain", viewport={"width": 1280, "height": 800}
        )
        launcher = tab.shadow("button.l")
        await expect(launcher).to_have_attribute("aria-label", "Open chat")
        box = await launcher.bounding_box()
        assert box is not None
        assert (box["x"] + box["width"], box["y"] + box["height"]) == (1280 - 20, 800 - 20)
        assert box["width"] == 58
        await expect(launcher).to_have_css("color", "rgb(255, 255, 255)")
        await launcher.click()
        await expect(tab.shadow(".w")).to_have_css("background-color", "rgb(255, 255, 255)")
        await tab.context.close()
