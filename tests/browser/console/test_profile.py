"""An agent's profile: the agent sets a display name, a title and an
avatar in the console; the console's top bar and the agent's messages show the avatar,
and the visitor's widget shows the avatar, name and title in its header and the avatar
beside the agent's messages. Bad uploads say why, in the dialog."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from playwright.async_api import Browser, expect

from tests.beckon_process import BeckonProcess
from tests.browser.console.conftest import UI_TIMEOUT_MS, set_status, shot, sign_in
from tests.browser.widget.parties import allow_origin, keep_screenshot, open_tab
from tests.chat_setup import ChatSite

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]


def photo() -> bytes:
    """A 600 × 400 JPEG with two colours (re-encoded by the server to 256 × 171)."""
    image = Image.new("RGB", (600, 400), "#f59e0b")
    image.paste(Image.new("RGB", (300, 400), "#4f46e5"), (0, 0))
    out = io.BytesIO()
    image.save(out, "JPEG")
    return out.getvalue()


async def test_the_agent_sets_a_profile_and_the_visitor_sees_it(
    browser: Browser, node: BeckonProcess, chat: ChatSite
) -> None:
    await allow_origin(chat, node.url)
    console = await sign_in(browser, node.url)
    page = console.page
    await page.get_by_role("button", name="Your profile").click()
    dialog = page.get_by_role("dialog", name="Your profile")
    await expect(dialog.get_by_label("Display name")).to_have_value("Ana")

    # A file that is not an image is refused with the server's reason.
    avatar_input = dialog.get_by_label("Avatar (PNG, JPEG, GIF or WebP)")
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    await avatar_input.set_input_files(
        files=[{"name": "me.svg", "mimeType": "image/svg+xml", "buffer": svg}]
    )
    await expect(dialog.get_by_role("alert")).to_contain_text("SVG")
    await expect(dialog.locator("img.profile-avatar")).to_have_count(0)

    await avatar_input.set_input_files(
        files=[{"name": "me.jpg", "mimeType": "image/jpeg", "buffer": photo()}]
    )
    await expect(dialog.get_by_role("status")).to_have_text("Avatar saved.")
    preview = dialog.locator("img.profile-avatar")
    await expect(preview).to_have_attribute(
        "src", re.compile(rf"^{re.escape(node.url)}/avatars/{chat.agent['id']}/\w+\.jpg$")
    )
    avatar_url = await preview.get_attribute("src")
    await dialog.get_by_label("Display name").fill("Ana Horvat")
    await dialog.get_by_label("Title").fill("Support lead")
    await shot(page, "profile-dialog")
    await dialog.get_by_role("button", name="Save").click()
    await expect(dialog).to_be_hidden()
    await expect(page.locator("#me-name")).to_have_text("Ana Horvat")
    await expect(page.locator("#me-avatar")).to_have_attribute("src", avatar_url or "")
    loaded = await page.locator("#me-avatar").evaluate("img => img.complete && img.naturalWidth")
    assert loaded == 256

    # The visitor's widget: header with the avatar, name and title; the avatar on the
    # agent's messages.
    await set_status(page, "online")
    shop = await open_tab(browser, f"{node.url}/demo/?site={chat.site['key']}")
    await shop.shadow("button.l").click()
    await shop.shadow("textarea").fill("Hello, anyone there?")
    await shop.shadow("textarea").press("Enter")
    composer = page.get_by_role("textbox", name="Message")
    await expect(page.locator(".chat .transcript")).to_contain_text(
        "anyone there", timeout=UI_TIMEOUT_MS
    )
    await composer.fill("Hi! Ana here.")
    await composer.press("Enter")
    await expect(shop.shadow(".m.a").filter(has_text="Ana here")).to_be_visible()
    header_avatar = shop.shadow("img.av").first
    await expect(header_avatar).to_have_attribute("src", avatar_url or "")
    await expect(shop.shadow("[role=dialog]")).to_contain_text("Ana Horvat")
    await expect(shop.shadow("[role=dialog]")).to_contain_text("Support lead")
    shown = await header_avatar.evaluate("img => img.complete && img.naturalWidth")
    assert shown == 256  # served cross-origin to the widget and decoded
    await composer.fill("How can I help?")
    await composer.press("Enter")
    face = shop.shadow(".row.ra").filter(has_text="How can I help?").locator("img.fa")
    await expect(face).to_have_attribute("src", avatar_url or "")
    # The open console's socket took the new name up: its messages carry it.
    await expect(shop.shadow(".row.ra .n").last).to_have_text("Ana Horvat")
    # The console shows it on the agent's stored messages too.
    await expect(page.locator(".chat .msg-agent img.msg-avatar").first).to_have_attribute(
        "src", avatar_url or ""
    )
    await keep_screenshot(shop.page, "widget-agent-profile")
    await shot(page, "profile-chat")
    assert console.errors == [] and shop.errors == []
    await shop.context.close()
    await console.close()
