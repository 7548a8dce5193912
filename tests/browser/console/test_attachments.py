"""The console shows a visitor's files: the pasted image as a thumbnail, the PDF as a
named chip with its size that downloads it. Uploads from the console itself
are not built yet."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Browser, expect

from tests.beckon_process import BeckonProcess
from tests.browser.console.conftest import UI_TIMEOUT_MS, set_status, shot, sign_in
from tests.chat_setup import ChatSite
from tests.media import samples

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]


async def test_agent_sees_the_thumbnail_and_downloads_the_pdf(
    browser: Browser, node: BeckonProcess, chat: ChatSite
) -> None:
    console = await sign_in(browser, node.url)
    page = console.page
    await set_status(page, "online")
    visitor, welcome = await chat.visitor()
    conv = await visitor.request({"type": "chat_start", "text": "The parcel arrived broken"})
    cid = conv["id"]
    await expect(page.locator(f'#chat-list [data-conversation="{cid}"]')).to_be_visible(
        timeout=UI_TIMEOUT_MS
    )
    headers = {"X-Visitor-Token": welcome["visitor_token"]}
    async with httpx.AsyncClient(base_url=node.url, timeout=10) as client:
        ids = []
        for uid, data, name in (
            ("p", samples.png(400, 300), "photo.png"),
            ("d", samples.PDF, "label.pdf"),
        ):
            answer = await client.put(
                f"/api/v1/conversations/{cid}/attachments/{uid}?name={name}",
                content=data,
                headers=headers,
            )
            assert answer.status_code == 201, answer.text
            ids.append(answer.json()["attachment"]["id"])
    await visitor.request(
        {
            "type": "message",
            "conversation_id": cid,
            "client_msg_id": "f1",
            "text": "see",
            "attachments": ids,
        }
    )
    thumb = page.locator(f'.msg-file[data-attachment-id="{ids[0]}"] img')
    await expect(thumb).to_be_visible(timeout=UI_TIMEOUT_MS)
    await page.wait_for_function(
        "(img) => img.complete && img.naturalWidth === 320", arg=await thumb.element_handle()
    )
    chip = page.locator(f'.msg-file[data-attachment-id="{ids[1]}"] a')
    await expect(chip).to_have_text(f"label.pdf{len(samples.PDF)} B")
    await expect(chip).to_have_attribute("download", "label.pdf", timeout=UI_TIMEOUT_MS)
    async with page.expect_download() as info:
        await chip.click()
    download = await info.value
    assert download.suggested_filename == "label.pdf"
    assert (await download.path()).read_bytes() == samples.PDF
    await shot(page, "attachments")
    assert console.errors == []
    await visitor.close()
    await console.close()


async def test_agent_attaches_pastes_and_sends_files_back(
    browser: Browser, node: BeckonProcess, chat: ChatSite, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    console = await sign_in(browser, node.url)
    page = console.page
    await set_status(page, "online")
    visitor, _welcome = await chat.visitor()
    conv = await visitor.request({"type": "chat_start", "text": "Can you show me?"})
    cid = conv["id"]
    await expect(page.locator(f'#chat-list [data-conversation="{cid}"]')).to_be_visible(
        timeout=UI_TIMEOUT_MS
    )
    await page.locator(f'#chat-list [data-conversation="{cid}"]').click()
    photo = tmp_path / "fixed.png"
    photo.write_bytes(samples.png(64, 64))
    fake = tmp_path / "fake.png"
    fake.write_bytes(samples.HTML)
    await page.locator(".composer input[type=file]").set_input_files([str(photo), str(fake)])
    tray = page.locator(".upload-tray")
    await expect(tray.locator('[data-state="done"] .upload-name')).to_have_text(
        "fixed.png", timeout=UI_TIMEOUT_MS
    )
    failed = tray.locator('[data-state="failed"]')
    await expect(failed.locator(".upload-error")).to_have_text(
        "HTML, SVG and XML files are not accepted"
    )
    await failed.get_by_role("button", name="Remove").click()
    # paste an image into the composer
    await page.evaluate(
        """async () => {
          const canvas = document.createElement('canvas');
          canvas.width = 30; canvas.height = 20;
          const blob = await new Promise((done) => canvas.toBlob(done, 'image/png'));
          const data = new DataTransfer();
          data.items.add(new File([blob], 'pasted.png', {type: 'image/png'}));
          const input = document.getElementById('composer-input');
          input.dispatchEvent(new ClipboardEvent('paste', {clipboardData: data, bubbles: true}));
        }"""
    )
    await expect(tray.locator('[data-state="done"]')).to_have_count(2, timeout=UI_TIMEOUT_MS)
    await shot(page, "uploads")
    await page.get_by_role("textbox", name="Message").fill("Here is how it should look")
    await page.get_by_role("button", name="Send", exact=True).click()
    got = await visitor.expect(lambda f: f["type"] == "message" and f["author"]["kind"] == "agent")
    assert got["text"] == "Here is how it should look"
    assert [a["name"] for a in got["attachments"]] == ["fixed.png", "pasted.png"]
    await expect(tray).to_be_hidden()
    await expect(page.locator(".msg-agent .msg-file img")).to_have_count(2, timeout=UI_TIMEOUT_MS)
    assert console.errors == []
    await visitor.close()
    await console.close()
