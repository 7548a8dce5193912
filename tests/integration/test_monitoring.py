"""docs/monitoring/ against a running node: every metric the Grafana
dashboard and the Prometheus alert rules name is exported at /metrics, and the new
metrics move when sockets connect and messages are acked."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.beckon_process import BeckonProcess
from tests.chat_setup import make_chat_site
from tests.waiting import wait_until

MONITORING = Path(__file__).resolve().parents[2] / "docs" / "monitoring"
METRIC_NAME = re.compile(r"\bbeckon_[a-z0-9_]+")
SUFFIXES = {"counter": ("_total",), "gauge": ("",), "histogram": ("_bucket", "_count", "_sum")}


def _dashboard() -> dict:
    return json.loads((MONITORING / "grafana-dashboard.json").read_text())


def _rules() -> list[dict]:
    groups = yaml.safe_load((MONITORING / "alerts.yml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def _named_metrics() -> set[str]:
    exprs = [t["expr"] for p in _dashboard()["panels"] for t in p["targets"]]
    exprs += [rule["expr"] for rule in _rules()]
    return {name for expr in exprs for name in METRIC_NAME.findall(expr)}


async def _samples(node: BeckonProcess) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    async with node.client() as client:
        response = await client.get("/metrics")
    assert response.status_code == 200
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def test_alert_rules_are_well_formed() -> None:
    rules = _rules()
    names = [rule["alert"] for rule in rules]
    assert len(names) == len(set(names)), names
    for rule in rules:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule["alert"]
        assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        assert rule["expr"].count("(") == rule["expr"].count(")"), rule["alert"]


def test_dashboard_is_well_formed() -> None:
    panels = _dashboard()["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    for panel in panels:
        assert panel["targets"], panel["title"]
        refs = [t["refId"] for t in panel["targets"]]
        assert len(refs) == len(set(refs)), panel["title"]


async def test_every_metric_the_dashboard_and_alerts_name_is_exported(
    server: BeckonProcess,
) -> None:
    named = _named_metrics()
    # What the brief asks to chart; a renamed metric must fail here, not in Grafana.
    assert {
        "beckon_connections",
        "beckon_connects_total",
        "beckon_message_ack_seconds_bucket",
        "beckon_chat_queue_waiting",
        "beckon_write_queue",
        "beckon_webhook_backlog",
        "beckon_webhook_failed_deliveries",
        "beckon_backend_errors_total",
        "beckon_event_loop_lag_seconds_bucket",
    } <= named
    async with server.client() as client:
        text = (await client.get("/metrics")).text
    # A family with labels (frames by type, errors by code) is declared before its first
    # sample: its HELP/TYPE lines name it; a PromQL over it is valid and finds nothing yet.
    exported = set()
    for family in text_string_to_metric_families(text):
        exported |= {s.name for s in family.samples}
        exported |= {family.name + suffix for suffix in SUFFIXES[family.type]}
    assert named - exported == set()


async def test_sockets_acks_and_loop_lag_are_counted(server: BeckonProcess) -> None:
    chat = await make_chat_site(server)
    before = await _samples(server)
    visitor_kind = (("kind", "visitor"),)
    assert before[("beckon_connects_total", visitor_kind)] == 0
    assert before[("beckon_message_ack_seconds_count", visitor_kind)] == 0

    visitor, _welcome = await chat.visitor()
    conv = await visitor.request({"type": "chat_start", "text": "Hello?"})
    ack = await visitor.request(
        {
            "type": "message",
            "conversation_id": conv["id"],
            "client_msg_id": "m1",
            "text": "Anyone there?",
        }
    )
    assert ack["type"] == "message" and ack["seq"] == 2
    after = await _samples(server)
    assert after[("beckon_connects_total", visitor_kind)] == 1
    assert after[("beckon_connections", visitor_kind)] == 1
    assert after[("beckon_message_ack_seconds_count", visitor_kind)] == 1
    await visitor.close()
    # Closed: still one connect, no open socket.
    closed = await wait_until(
        lambda: _samples(server),
        lambda s: s[("beckon_connections", visitor_kind)] == 0,
        10,
        "the socket to be counted closed",
    )
    assert closed[("beckon_connects_total", visitor_kind)] == 1
    lag = await wait_until(
        lambda: _samples(server),
        lambda s: s[("beckon_event_loop_lag_seconds_count", ())] >= 2,
        10,
        "the loop-lag timer to wake up twice",
    )
    assert lag[("beckon_event_loop_lag_seconds_sum", ())] >= 0
    # The Store was sampled at start-up: the gauges hold figures, not just defaults.
    assert lag[("beckon_store_sample_timestamp_seconds", ())] > 0
