"""Files from the widget on a shop's page (another origin) to the console and back
: the visitor pastes an image and attaches a PDF, the agent sees the thumbnail
and downloads the PDF, the agent sends an image back and the widget shows it; a refused
file shows the server's reason (CORS on errors); a reload replays the files."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, expect

from tests.beckon_process import BeckonProcess, running_node
from tests.browser.console.conftest import AGENT_EMAIL, UI_TIMEOUT_MS, set_status, sign_in
from tests.browser.console.conftest import shot as console_shot
from tests.browser.widget.hosting import HostSite, page
from tests.browser.widget.parties import WAIT_MS, allow_origin, keep_screenshot, open_tab
from tests.chat_setup import ChatSite, make_chat_site
from tests.media import samples

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

PASTE_IMAGE = """async () => {
  const canvas = document.createElement('canvas');
  canvas.width = 480; canvas.height = 360;
  const g = canvas.getContext('2d');
  g.fillStyle = '#c0392b'; g.fillRect(0, 0, 480, 360);
  g.fillStyle = '#f1c40f'; g.fillRect(120, 90, 240, 180);
  const blob = await new Promise((done) => canvas.toBlob(done, 'image/png'));
  const data = new DataTransfer();
  data.items.add(new File([blob], 'image.png', {type: 'image/png'}));
  const input = document.querySelector('beckon-chat').shadowRoot.querySelector('textarea');
  const paste = {clipboardData: data, bubbles: true, cancelable: true};
  input.dispatchEvent(new ClipboardEvent('paste', paste));
}"""


@dataclass
class World:
    node: BeckonProcess
    host: HostSite
    chat: ChatSite


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    async with running_node(tmp_path_factory.mktemp("widget-files")) as node:
        host = HostSite()
        host.start()
        try:
            chat = await make_chat_site(node, agent_email=AGENT_EMAIL)
            await allow_origin(chat, host.origin)
            yield World(node, host, chat)
        finally:
            host.stop()


async def test_visitor_and_agent_exchange_files(browser: Browser, world: World, tmp_path) -> None:  # type: ignore[no-untyped-def]
    console = await sign_in(browser, world.node.url)
    agent = console.page
    await set_status(agent, "online")

    world.host.pages["/order"] = page(world.node.url + "/widget.js", world.chat.site["key"])
    visitor = await open_tab(browser, world.host.origin + "/order")
    shadow = visitor.shadow
    await shadow("button.l").click()
    attach = shadow("button.at")
    # The button appears once widget/more/ has loaded and can handle it.
    await expect(attach).to_be_visible(timeout=WAIT_MS)
    await expect(attach).to_have_attribute("aria-label", "Attach a file")

    # A pasted image starts the chat and is sent as a message of its own.
    await visitor.page.evaluate(PASTE_IMAGE)
    sent = await visitor.sent_matching(
        lambda f: f.get("type") == "message" and bool(f.get("attachments"))
    )
    assert sent["text"] == "image.png"
    conversation_id = sent["conversation_id"]
    mine = shadow(".m.v .fs .th img")
    await expect(mine).to_have_count(1, timeout=WAIT_MS)
    await visitor.page.wait_for_function(
        "(img) => img.complete && img.naturalWidth === 320", arg=await mine.element_handle()
    )

    # A PDF through the button's file picker: a chip with its name and size.
    pdf = tmp_path / "label.pdf"
    pdf.write_bytes(samples.PDF)
    async with visitor.page.expect_file_chooser() as chooser:
        await attach.click()
    await (await chooser.value).set_files(str(pdf))
    chip = shadow(".m.v .fs .ch")
    await expect(chip).to_have_text(f"label.pdf{len(samples.PDF)} B", timeout=WAIT_MS)

    # A refused file: the server's reason is readable cross-origin (CORS on the 415).
    fake = tmp_path / "fake.png"
    fake.write_bytes(samples.HTML)
    async with visitor.page.expect_file_chooser() as chooser:
        await attach.click()
    await (await chooser.value).set_files(str(fake))
    failed = shadow('.up li[data-state="failed"]')
    await expect(failed.locator(".er")).to_have_text(
        "HTML, SVG and XML files are not accepted", timeout=WAIT_MS
    )
    await expect(failed.get_by_role("button", name="Retry")).to_be_visible()
    await failed.get_by_role("button", name="Cancel").click()
    await expect(shadow(".up li")).to_have_count(0)

    # The agent sees the thumbnail and downloads the PDF.
    row = agent.locator(f'#chat-list [data-conversation="{conversation_id}"]')
    await expect(row).to_be_visible(timeout=UI_TIMEOUT_MS)
    await row.click()
    thumb = agent.locator(".msg-visitor .msg-file img")
    await expect(thumb).to_have_count(1, timeout=UI_TIMEOUT_MS)
    await agent.wait_for_function(
        "(img) => img.complete && img.naturalWidth === 320", arg=await thumb.element_handle()
    )
    pdf_link = agent.locator(".msg-file-chip")
    await expect(pdf_link).to_have_attribute("download", "label.pdf", timeout=UI_TIMEOUT_MS)
    async with agent.expect_download() as info:
        await pdf_link.click()
    download = await info.value
    assert download.suggested_filename == "label.pdf"
    assert (await download.path()).read_bytes() == samples.PDF
    async with httpx.AsyncClient(timeout=10) as client:
        served = await client.get(await pdf_link.get_attribute("href"))
    assert served.content == samples.PDF
    assert served.headers["content-disposition"].startswith('attachment; filename="label.pdf"')
    assert served.headers["x-content-type-options"] == "nosniff"

    # The agent sends an image back; the widget shows its thumbnail.
    photo = tmp_path / "how-it-should-look.png"
    photo.write_bytes(samples.png(640, 400, (40, 120, 200)))
    await agent.locator(".composer input[type=file]").set_input_files(str(photo))
    await expect(agent.locator('.upload-tray [data-state="done"]')).to_have_count(
        1, timeout=UI_TIMEOUT_MS
    )
    await agent.get_by_role("textbox", name="Message").fill("Like this")
    await agent.get_by_role("button", name="Send", exact=True).click()
    theirs = shadow(".m.a .fs .th img")
    await expect(theirs).to_have_count(1, timeout=WAIT_MS)
    await visitor.page.wait_for_function(
        "(img) => img.complete && img.naturalWidth === 320", arg=await theirs.element_handle()
    )
    answer = shadow(".m.a").filter(has_text="Like this")
    await expect(answer.locator(".fs .th img")).to_have_count(1)
    await keep_screenshot(visitor.page, "widget-files")
    await console_shot(agent, "widget-files")

    # History: a reload replays the messages with their files.
    await visitor.page.reload()
    await expect(shadow("button.l")).to_be_visible(timeout=WAIT_MS)
    await expect(shadow(".fs .th img")).to_have_count(2, timeout=WAIT_MS)
    await expect(shadow(".fs .ch")).to_have_count(1)

    assert visitor.errors == [] and visitor.dialogs == []
    assert console.errors == []
    await visitor.context.close()
    await console.close()
