"""Survey answers in the console's history reader: the visitor's CSAT
with its comment, NPS and thumbs show beside the transcript (GET /conversations/{id}
carries them as `surveys`); a chat without answers says so."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.beckon_process import BeckonProcess
from tests.browser.console.conftest import admin_api, set_status, shot, sign_in, start_chat
from tests.chat_setup import ChatSite

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]


async def test_history_reader_shows_the_survey_answers(
    browser: Browser, node: BeckonProcess, chat: ChatSite
) -> None:
    console = await sign_in(browser, node.url)
    page = console.page
    await set_status(page, "online")
    answered, answered_id = await start_chat(chat, "My order is late", name="Ines")
    quiet, quiet_id = await start_chat(chat, "Just a question", name="Quentin")
    for visitor, cid in ((answered, answered_id), (quiet, quiet_id)):
        await expect(page.locator(f'#chat-list [data-conversation="{cid}"]')).to_be_visible()
        await visitor.send({"type": "close", "conversation_id": cid})
        await visitor.expect("closed")
    for kind, score, comment in (
        ("csat", 4, "Quick & kind <b>thanks</b>"),
        ("nps", 9, None),
        ("thumbs", 1, None),
    ):
        frame = {"type": "survey", "conversation_id": answered_id, "kind": kind, "score": score}
        if comment:
            frame["comment"] = comment
        saved = await answered.request(frame)
        assert saved["type"] == "survey_saved", saved

    conv = await admin_api(chat, "GET", f"/api/v1/conversations/{answered_id}")
    assert conv.status_code == 200, conv.text
    assert [(s["kind"], s["score"], s["comment"]) for s in conv.json()["surveys"]] == [
        ("csat", 4, "Quick & kind <b>thanks</b>"),
        ("nps", 9, None),
        ("thumbs", 1, None),
    ]

    await page.locator("#nav-history").click()
    view = page.locator("#view-history")
    await view.locator(f'tr[data-conversation="{answered_id}"]').click()
    survey = view.get_by_role("region", name="Survey answers")
    await expect(survey).to_be_visible()
    answers = survey.locator("dd")
    await expect(answers).to_have_text(
        ["4 / 5", "“Quick & kind <b>thanks</b>”", "9 / 10", "👍 Yes"]
    )
    await expect(survey.locator("dt:not(.sr-only)")).to_have_text(
        ["Satisfaction (CSAT)", "Would recommend (NPS)", "Helpful"]
    )
    await shot(page, "history-survey")
    await view.locator(f'tr[data-conversation="{quiet_id}"]').click()
    await expect(view.locator(".reader-survey")).to_have_text("No survey answered.")
    await expect(survey).to_have_count(0)
    assert console.errors == [], console.errors
    for visitor in (answered, quiet):
        await visitor.close()
    await console.close()
