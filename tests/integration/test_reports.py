"""Reports: figures on seeded conversations against values computed by hand (below),
through the real endpoint (and its CSV), and on PostgreSQL through the same queries.

Site time zone Europe/Zagreb (UTC+1 in November). Six conversations in the window:

| conv | dept    | agent | created        | accepted | 1st reply | closed  | replies (s) |
| c1   | sales   | Ana   | 23 Nov 08:00   | +10 s    | +20 s     | +320 s  | 20, 40      |
| c2   | sales   | Bo    | 23 Nov 09:00   | +5 s     | +30 s     | +630 s  | 30, 60      |
| c3   | support | Ana   | 23 Nov 10:00   | +15 s    | +60 s     | +1215 s | 60          |
| c4   | sales   | -     | 23 Nov 11:00   | missed: no_agent                     |
| c5   | -       | -     | 23 Nov 12:00   | missed: visitor_left                 |
| c6   | sales   | Bo    | 24 Nov 00:30 (23 Nov 23:30 UTC) | +2 s | +8 s | +102 s | 8 |

First response [8, 20, 30, 60] → p50 20, p90 60. Replies avg 218/6 = 36.3.
Durations 310, 625, 1200, 100 → 558.8. CSAT 5,3,4,1 → 50 %. NPS 10,7,3,9 → 2−1 of 4 = 25.
CES 2,4 → 3.0. c7 (before the window) must not count.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import func, insert, select

from server.store import reports
from server.store.database import Database, open_database
from server.store.migrate import upgrade_to_head
from server.store.tables import (
    conversations,
    conversions,
    invitations,
    messages,
    rules,
    sites,
    surveys,
    users,
    visitors,
)
from tests.beckon_process import BeckonProcess
from tests.chat_setup import make_chat_site
from tests.conftest import create_pg_database, drop_pg_database, subprocess_env
from tests.waiting import wait_until

pytestmark = pytest.mark.asyncio(loop_scope="module")
ZAGREB = ZoneInfo("Europe/Zagreb")
S = 1000
DIGITS = "must be a whole number written with the digits 0-9"


def local(day: int, hour: int, minute: int = 0) -> int:
    return int(datetime(2026, 11, day, hour, minute, tzinfo=ZAGREB).timestamp() * 1000)


FROM_TS, TO_TS = local(23, 0), local(25, 0)


def seed_rows(site_id: str, ana: str, bo: str) -> dict[str, list[dict[str, Any]]]:
    def conv(cid: str, created: int, **kw: Any) -> dict[str, Any]:
        row = {
            "id": cid,
            "site_id": site_id,
            "visitor_id": "vi_" + cid,
            "status": "closed",
            "department": None,
            "agent_id": None,
            "rule_id": None,
            "variant_id": None,
            "invitation_id": None,
            "created_ts": created,
            "accepted_ts": None,
            "first_response_ts": None,
            "closed_ts": created + 600 * S,
            "missed_reason": None,
        }
        row.update(kw)
        for key in ("accepted_ts", "first_response_ts", "closed_ts"):
            if key in kw and kw[key] is not None:
                row[key] = created + kw[key] * S
        return row

    t1, t2, t3 = local(23, 8), local(23, 9), local(23, 10)
    t6, t7 = local(24, 0, 30), local(22, 12)
    convs = [
        conv(
            "c1",
            t1,
            department="sales",
            agent_id=ana,
            accepted_ts=10,
            first_response_ts=20,
            closed_ts=320,
        ),
        conv(
            "c2",
            t2,
            department="sales",
            agent_id=bo,
            accepted_ts=5,
            first_response_ts=30,
            closed_ts=630,
            rule_id="rl_1",
            variant_id="a",
            invitation_id="in_1",
        ),
        conv(
            "c3",
            t3,
            department="support",
            agent_id=ana,
            accepted_ts=15,
            first_response_ts=60,
            closed_ts=1215,
        ),
        conv("c4", local(23, 11), department="sales", missed_reason="no_agent"),
        conv("c5", local(23, 12), missed_reason="visitor_left"),
        conv(
            "c6",
            t6,
            department="sales",
            agent_id=bo,
            accepted_ts=2,
            first_response_ts=8,
            closed_ts=102,
        ),
        conv(
            "c7",
            t7,
            department="sales",
            agent_id=ana,
            accepted_ts=1,
            first_response_ts=1,
            closed_ts=2,
        ),
    ]
    msgs = []
    script = {
        "c1": (t1, [("v", 0), ("a", 20), ("v", 60), ("v", 70), ("a", 100), ("n", 110), ("v", 200)]),
        "c2": (t2, [("v", 0), ("a", 30), ("v", 100), ("a", 160)]),
        "c3": (t3, [("v", 0), ("a", 60)]),
        "c6": (t6, [("v", 0), ("a", 8)]),
        "c7": (t7, [("v", 0), ("a", 1)]),
    }
    for cid, (start, lines) in script.items():
        for seq, (who, at) in enumerate(lines, start=1):
            msgs.append(
                {
                    "id": f"ms_{cid}_{seq}",
                    "conversation_id": cid,
                    "seq": seq,
                    "author_kind": "visitor" if who == "v" else "agent",
                    "text": "…",
                    "internal": who == "n",
                    "ts": start + at * S,
                }
            )
    answers = []
    for cid, kind, score in [
        ("c1", "csat", 5), ("c1", "nps", 10), ("c1", "ces", 2), ("c1", "thumbs", 1),
        ("c2", "csat", 3), ("c2", "nps", 7), ("c2", "thumbs", 0),
        ("c3", "csat", 4), ("c3", "nps", 3), ("c3", "ces", 4), ("c3", "thumbs", 1),
        ("c6", "csat", 1), ("c6", "nps", 9),
        ("c7", "csat", 5),
    ]:  # fmt: skip
        answers.append(
            {
                "id": f"sv_{cid}_{kind}",
                "conversation_id": cid,
                "site_id": site_id,
                "kind": kind,
                "score": score,
                "created_ts": t1,
            }
        )

    def inv(iid: str, rule: str | None, variant: str | None, status: str, shown: bool) -> dict:
        return {
            "id": iid,
            "site_id": site_id,
            "visitor_id": "vi_" + iid,
            "rule_id": rule,
            "variant_id": variant,
            "status": status,
            "created_ts": t1,
            "shown_ts": t1 + S if shown else None,
        }

    invites = [
        inv("in_1", "rl_1", "a", "accepted", True),
        inv("in_2", "rl_1", "a", "dismissed", True),
        inv("in_3", "rl_1", "b", "expired", True),
        inv("in_4", "rl_1", "a", "held_out", False),
        inv("in_5", "rl_1", "b", "triggered", False),
        inv("in_6", None, None, "shown", True),
        inv("in_7", "rl_2", "a", "withdrawn", False),
        {**inv("in_0", "rl_1", "a", "accepted", True), "created_ts": t7},
    ]

    def sale(sid: str, value: float, currency: str, **kw: Any) -> dict[str, Any]:
        return {"id": sid, "site_id": site_id, "ts": t3, "value": value, "currency": currency,
                "order_id": sid, "invitation_id": None, "rule_id": None, "variant_id": None,
                "held_out": False, **kw}  # fmt: skip

    sales = [
        sale("cv_1", 120.0, "EUR", invitation_id="in_1", rule_id="rl_1", variant_id="a"),
        sale("cv_2", 50.0, "EUR", rule_id="rl_1", held_out=True),
        sale("cv_3", 30.0, "EUR"),
        sale("cv_4", 10.0, "USD", invitation_id="in_1", rule_id="rl_1", variant_id="a"),
    ]
    rule_rows = [
        {"id": rid, "site_id": site_id, "name": name, "enabled": True, "priority": 1,
         "version": 1, "body": {}, "created_ts": t1, "updated_ts": t1}
        for rid, name in (("rl_1", "Big cart <b>x</b>"), ("rl_2", "=cmd|' /C calc'!A0"))
    ]  # fmt: skip
    visitor_rows = [
        {"id": c["visitor_id"], "site_id": site_id, "attributes": {}, "first_seen_ts": 1,
         "last_seen_ts": 1}
        for c in convs
    ]  # fmt: skip
    return {
        "visitors": visitor_rows,
        "conversations": convs,
        "messages": msgs,
        "surveys": answers,
        "rules": rule_rows,
        "invitations": invites,
        "conversions": sales,
    }


async def seed(db: Database, site_id: str, ana: str, bo: str) -> None:
    tables = {
        "visitors": visitors,
        "conversations": conversations,
        "messages": messages,
        "surveys": surveys,
        "rules": rules,
        "invitations": invitations,
        "conversions": conversions,
    }
    async with db.write() as conn:
        for name, rows in seed_rows(site_id, ana, bo).items():
            await conn.execute(insert(tables[name]), rows)


EXPECTED_TOTALS = {
    "chats": 6,
    "answered": 4,
    "missed": 2,
    "missed_reasons": {"no_agent": 1, "visitor_left": 1},
    "first_response_p50_s": 20.0,
    "first_response_p90_s": 60.0,
    "avg_response_s": 36.3,
    "avg_duration_s": 558.8,
    "csat_pct": 50.0,
    "csat_responses": 4,
    "nps": 25.0,
    "nps_responses": 4,
    "ces_avg": 3.0,
    "ces_responses": 2,
    # 2 thumbs up of 3; Wilson score 95 % interval.
    "thumbs_up_pct": 66.7,
    "thumbs_up_low_pct": 20.8,
    "thumbs_up_high_pct": 93.9,
    "thumbs_responses": 3,
}
EXPECTED_AGENTS = [
    # Ana: c1, c3. Bo: c2, c6.
    {"chats": 2, "answered": 2, "missed": 0, "missed_reasons": {},
     "first_response_p50_s": 20.0, "first_response_p90_s": 60.0, "avg_response_s": 40.0,
     "avg_duration_s": 755.0, "csat_pct": 100.0, "csat_responses": 2, "nps": 0.0,
     "nps_responses": 2, "ces_avg": 3.0, "ces_responses": 2, "thumbs_up_pct": 100.0,
     "thumbs_up_low_pct": 34.2, "thumbs_up_high_pct": 100.0, "thumbs_responses": 2},
    {"chats": 2, "answered": 2, "missed": 0, "missed_reasons": {},
     "first_response_p50_s": 8.0, "first_response_p90_s": 30.0, "avg_response_s": 32.7,
     "avg_duration_s": 362.5, "csat_pct": 0.0, "csat_responses": 2, "nps": 50.0,
     "nps_responses": 2, "ces_avg": None, "ces_responses": 0, "thumbs_up_pct": 0.0,
     "thumbs_up_low_pct": 0.0, "thumbs_up_high_pct": 79.3, "thumbs_responses": 1},
]  # fmt: skip
EXPECTED_FUNNEL = {
    "triggered": 6,
    "shown": 4,
    "accepted": 1,
    "dismissed": 1,
    "expired": 1,
    "withdrawn": 1,
    "held_out": 1,
    "open": 2,
    "chats": 1,
    "conversions": 2,
    "holdout_conversions": 1,
    "revenue": {"EUR": 120.0, "USD": 10.0},
}
# A running server's janitor expires open invitations older than two minutes, and the
# seeded ones are from 23 Nov: through the endpoint the two open ones end as expired.
EXPECTED_FUNNEL_AFTER_JANITOR = {**EXPECTED_FUNNEL, "expired": 3, "open": 0}


def check(report: dict[str, Any], ana: str, bo: str, *, janitor_ran: bool) -> None:
    assert report["totals"] == EXPECTED_TOTALS
    agents = {a["agent_id"]: a for a in report["agents"]}
    assert set(agents) == {ana, bo}
    for agent_id, expected in zip((ana, bo), EXPECTED_AGENTS, strict=True):
        row = dict(agents[agent_id])
        row.pop("agent_id")
        row.pop("name")
        assert row == expected, agent_id
    departments = {d["department"]: d for d in report["departments"]}
    assert {k: (v["chats"], v["answered"], v["missed"]) for k, v in departments.items()} == {
        "": (1, 0, 1),
        "sales": (4, 3, 1),
        "support": (1, 1, 0),
    }
    assert departments["sales"]["first_response_p50_s"] == 20.0
    assert departments["sales"]["first_response_p90_s"] == 30.0
    assert departments["sales"]["missed_reasons"] == {"no_agent": 1}
    # c6 is on 24 Nov in Zagreb although it is 23 Nov in UTC.
    assert [(d["day"], d["chats"]) for d in report["days"]] == [
        ("2026-11-23", 5),
        ("2026-11-24", 1),
    ]
    assert report["funnel"] == (EXPECTED_FUNNEL_AFTER_JANITOR if janitor_ran else EXPECTED_FUNNEL)
    still_open = 0 if janitor_ran else 1
    by_rule = {r["rule_id"]: r for r in report["rules"]}
    assert set(by_rule) == {"", "rl_1", "rl_2"}
    assert by_rule["rl_1"]["rule_name"] == "Big cart <b>x</b>"
    r1 = by_rule["rl_1"]
    assert (r1["triggered"], r1["shown"], r1["accepted"], r1["held_out"], r1["open"]) == (
        4,
        3,
        1,
        1,
        still_open,
    )
    assert (r1["chats"], r1["conversions"], r1["holdout_conversions"]) == (1, 2, 1)
    assert by_rule[""]["rule_name"] == "manual" and by_rule[""]["open"] == still_open
    assert (by_rule["rl_2"]["triggered"], by_rule["rl_2"]["withdrawn"]) == (1, 1)


async def open_invitations(db: Database) -> int:
    async with db.read() as conn:
        query = select(func.count()).where(invitations.c.status.in_(("triggered", "shown")))
        return int((await conn.execute(query)).scalar_one())


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def seeded(tmp_path_factory) -> AsyncIterator[tuple[BeckonProcess, Any, str, str]]:  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("reports")
    process = BeckonProcess(subprocess_env(tmp), tmp)
    await process.create_admin()
    await process.start()
    try:
        chat = await make_chat_site(process)
        async with httpx.AsyncClient(base_url=process.url, timeout=10) as client:
            auth = {"Authorization": f"Bearer {chat.admin_token}"}
            await client.patch(
                f"/api/v1/sites/{chat.site['id']}", headers=auth, json={"timezone": "Europe/Zagreb"}
            )
            bo = (
                await client.post(
                    "/api/v1/agents",
                    headers=auth,
                    json={
                        "email": "bo@example.com",
                        "password": "agent password 2",
                        "display_name": "Bo",
                        "site_ids": [chat.site["id"]],
                    },
                )
            ).json()
            await client.post(
                "/api/v1/agents",
                headers=auth,
                json={
                    "email": "mk@example.com",
                    "password": "marketer pass 1",
                    "role": "marketer",
                    "display_name": "Mia",
                    "site_ids": [chat.site["id"]],
                },
            )
        db = open_database(process.env["BECKON_DATABASE_URL"])
        try:
            await seed(db, chat.site["id"], chat.agent["id"], bo["id"])
            await wait_until(
                lambda: open_invitations(db),
                lambda n: n == 0,
                timeout=30,
                what="the janitor to expire the stale open invitations",
            )
        finally:
            await db.close()
        yield process, chat, chat.agent["id"], bo["id"]
    finally:
        await process.stop()


async def test_summary_matches_hand_computed_values(seeded) -> None:  # type: ignore[no-untyped-def]
    process, chat, ana, bo = seeded
    async with httpx.AsyncClient(base_url=process.url, timeout=10) as client:
        response = await client.get(
            f"/api/v1/sites/{chat.site['id']}/reports/summary",
            params={"from_ts": FROM_TS, "to_ts": TO_TS},
            headers={"Authorization": f"Bearer {chat.admin_token}"},
        )
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["from_ts"], report["to_ts"], report["timezone"]) == (
        FROM_TS,
        TO_TS,
        "Europe/Zagreb",
    )
    check(report, ana, bo, janitor_ran=True)
    assert {a["agent_id"]: a["name"] for a in report["agents"]} == {ana: "Ana", bo: "Bo"}


async def test_csv_of_each_table_matches_the_json(seeded) -> None:  # type: ignore[no-untyped-def]
    process, chat, _ana, _bo = seeded
    url = f"/api/v1/sites/{chat.site['id']}/reports/summary"
    window = {"from_ts": FROM_TS, "to_ts": TO_TS}
    async with httpx.AsyncClient(base_url=process.url, timeout=10) as client:
        auth = {"Authorization": f"Bearer {chat.admin_token}"}
        report = (await client.get(url, params=window, headers=auth)).json()
        tables = {}
        for table in ("totals", "agents", "departments", "days", "missed", "funnel", "rules"):
            response = await client.get(
                url, params={**window, "format": "csv", "table": table}, headers=auth
            )
            assert response.status_code == 200, response.text
            assert response.headers["content-type"] == "text/csv; charset=utf-8"
            assert "attachment" in response.headers["content-disposition"]
            tables[table] = list(csv.DictReader(io.StringIO(response.text)))
        bad = await client.get(url, params={"format": "csv", "table": "nope"}, headers=auth)
        assert bad.status_code == 422 and bad.json()["error"]["details"][0]["path"] == "table"
    totals = tables["totals"][0]
    assert totals["chats"] == "6" and totals["avg_response_s"] == "36.3"
    assert (totals["missed_no_agent"], totals["missed_visitor_left"]) == ("1", "1")
    assert totals["ces_avg"] == "3.0"
    assert [(r["day"], r["chats"], r["csat_pct"]) for r in tables["days"]] == [
        (d["day"], str(d["chats"]), "" if d["csat_pct"] is None else str(d["csat_pct"]))
        for d in report["days"]
    ]
    assert [(r["name"], r["avg_duration_s"], r["ces_avg"]) for r in tables["agents"]] == [
        (a["name"], str(a["avg_duration_s"]), "" if a["ces_avg"] is None else str(a["ces_avg"]))
        for a in report["agents"]
    ]
    assert [r["department"] for r in tables["departments"]] == ["", "sales", "support"]
    assert tables["missed"] == [
        {"reason": "no_agent", "chats": "1"},
        {"reason": "visitor_left", "chats": "1"},
    ]
    funnel = tables["funnel"][0]
    assert (funnel["triggered"], funnel["revenue_EUR"], funnel["revenue_USD"]) == (
        "6",
        "120.0",
        "10.0",
    )
    names = {r["rule_id"]: r["rule_name"] for r in tables["rules"]}
    # A name that a spreadsheet would run as a formula is defused.
    assert names == {"": "manual", "rl_1": "Big cart <b>x</b>", "rl_2": "'=cmd|' /C calc'!A0"}


async def test_who_may_read_reports(seeded) -> None:  # type: ignore[no-untyped-def]
    process, chat, _ana, _bo = seeded
    url = f"/api/v1/sites/{chat.site['id']}/reports/summary"
    async with httpx.AsyncClient(base_url=process.url, timeout=10) as client:
        for email, password in (
            ("mk@example.com", "marketer pass 1"),
            ("agent@example.com", "agent password 1"),
        ):
            login = await client.post(
                "/api/v1/auth/login", json={"email": email, "password": password}
            )
            assert login.status_code == 200
            response = await client.get(url, params={"from_ts": FROM_TS, "to_ts": TO_TS})
            assert response.status_code == 200, email
            assert response.json()["totals"]["chats"] == 6
            client.cookies.clear()
        auth = {"Authorization": f"Bearer {chat.admin_token}"}
        for params, message in (
            ({"from_ts": TO_TS, "to_ts": FROM_TS}, "from_ts must be before to_ts"),
            ({"from_ts": 0, "to_ts": TO_TS}, "the period is at most 400 days"),
        ):
            response = await client.get(url, params=params, headers=auth)
            assert response.status_code == 400
            assert response.json()["error"]["message"] == message
        for params, detail in (
            ({"from_ts": "x"}, {"path": "from_ts", "message": DIGITS}),
            ({"from_ts": "²"}, {"path": "from_ts", "message": DIGITS}),
            ({"format": "xml"}, {"path": "format", "message": "Input should be 'json' or 'csv'"}),
        ):
            response = await client.get(url, params=params, headers=auth)
            assert response.status_code == 422
            assert response.json()["error"]["details"] == [detail]
        other = await client.get("/api/v1/sites/st_nope/reports/summary", headers=auth)
        assert other.status_code == 404


@pytest.mark.postgres
async def test_the_same_figures_on_postgresql(tmp_path: Path) -> None:
    url = await create_pg_database()
    db = open_database(url)
    try:
        await upgrade_to_head(db)
        async with db.write() as conn:
            await conn.execute(
                insert(sites).values(
                    id="st_1", key="sk_1", name="Shop", allowed_origins=[],
                    identity_secret="s" * 64, timezone="Europe/Zagreb", default_lang="en",
                    widget={}, departments=[], business_hours=None, settings={}, created_ts=1,
                )
            )  # fmt: skip
            for uid, name in (("us_ana", "Ana"), ("us_bo", "Bo")):
                await conn.execute(
                    insert(users).values(
                        id=uid, email=f"{uid}@example.com", password_hash="x", role="agent",
                        display_name=name, capacity=3, departments=[], created_ts=1,
                    )
                )  # fmt: skip
        await seed(db, "st_1", "us_ana", "us_bo")
        async with db.read() as conn:
            data = await reports.load(conn, "st_1", FROM_TS, TO_TS)
        check(reports.summarise(data, "Europe/Zagreb"), "us_ana", "us_bo", janitor_ran=False)
    finally:
        await db.close()
        await drop_pg_database(url)


async def test_percentile_is_nearest_rank() -> None:
    assert reports.percentile([], 50) is None
    assert reports.percentile([8, 20, 30, 60], 50) == 20
    assert reports.percentile([8, 20, 30, 60], 90) == 60
    assert reports.percentile([5], 90) == 5
