"""The delivery worker: outbox → HTTP, each endpoint isolated from the others.

One per node. Each pass claims due deliveries (a lease in one conditional UPDATE, so
exactly one node sends each attempt) and starts one task per delivery; the pass does
not wait for them. Isolation, so one slow or dead receiver never delays another
site's deliveries:

- every attempt has one overall deadline (`deadline_s`: DNS, connect, send and the
  answer's status line together), not a timeout per phase that a receiver trickling
  bytes could stretch without end;
- at most `max_in_flight` attempts per endpoint are under way on this node, and the
  due query leaves endpoints at that bound out, so their backlog never fills the batch
  that other endpoints wait behind; `MAX_TOTAL_IN_FLIGHT` bounds the node's sockets;
- after `pause_after` failed attempts in a row the endpoint is paused (the reason is
  stored and shown to admins); its deliveries wait until it is resumed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from server.ids import now_ms
from server.outbox_worker import OutboxWorker
from server.settings import SettingsError
from server.store import outbox
from server.store.database import Database
from server.webhook_targets import TargetRefused, pinned, resolve_target
from server.webhooks import USER_AGENT, sign

log = logging.getLogger("beckon.webhooks")

MAX_TOTAL_IN_FLIGHT = 256  # attempts under way on one node, all endpoints together
LEASE_MARGIN_S = 20.0  # a lease outlives the deadline by this much (recording the outcome)


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    """Delivery timing (seconds) and isolation bounds. Retries wait `retry_base_s ×
    2^n`, at most `max_delay_s`, and stop `give_up_after_s` after the event."""

    retry_base_s: float = 10.0
    max_delay_s: float = 3600.0
    give_up_after_s: float = 24 * 3600.0
    deadline_s: float = 10.0
    poll_s: float = 1.0
    max_in_flight: int = 4
    pause_after: int = 20
    sends: bool = True  # False: this node writes and announces deliveries, others send

    @property
    def lease_s(self) -> float:
        return self.deadline_s + LEASE_MARGIN_S

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **bounds: Any) -> WebhookConfig:
        """Read BECKON_WEBHOOK_RETRY_BASE_S and BECKON_WEBHOOK_POLL_S (tests shorten
        them) and BECKON_WEBHOOK_SENDS=false (a test's node that must leave the sending
        to another); `bounds` come from Settings. Raises SettingsError naming a bad
        variable."""
        env = os.environ if env is None else env
        values: dict[str, Any] = dict(bounds)
        if "BECKON_WEBHOOK_SENDS" in env:
            given = env["BECKON_WEBHOOK_SENDS"]
            flag = given.strip().lower()
            if flag not in ("true", "false"):
                raise SettingsError(f"BECKON_WEBHOOK_SENDS: expected true or false, got {given!r}")
            values["sends"] = flag == "true"
        for name, key, lo, hi in (
            ("BECKON_WEBHOOK_RETRY_BASE_S", "retry_base_s", 0.05, 3600.0),
            ("BECKON_WEBHOOK_POLL_S", "poll_s", 0.05, 60.0),
        ):
            if name in env:
                try:
                    number = float(env[name])
                except ValueError:
                    raise SettingsError(f"{name}: expected a number, got {env[name]!r}") from None
                if not lo <= number <= hi:
                    raise SettingsError(f"{name}: {number} is outside {lo}..{hi}")
                values[key] = number
        return cls(**values)

    def retry_delay_s(self, attempts_made: int) -> float:
        return min(self.retry_base_s * 2 ** max(0, attempts_made - 1), self.max_delay_s)


class DeliveryWorker(OutboxWorker):
    """One per node: claims due deliveries, sends each in its own task, records the
    outcome, and pauses endpoints that keep failing."""

    name = "webhook"

    def __init__(self, db: Database, config: WebhookConfig, allow_private: bool) -> None:
        super().__init__(db, config.poll_s, log)
        self.config = config
        self.allow_private = allow_private
        self._client: httpx.AsyncClient | None = None
        self._in_flight: dict[str, int] = {}  # webhook id → attempts under way here

    def start(self) -> None:
        if not self.config.sends:
            return
        self._client = httpx.AsyncClient(
            # The overall deadline is enforced around the whole attempt (_deliver);
            # this only keeps httpx from waiting longer than it on any one phase.
            timeout=httpx.Timeout(self.config.deadline_s),
            limits=httpx.Limits(max_connections=MAX_TOTAL_IN_FLIGHT),
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": USER_AGENT},
        )
        super().start()

    async def close(self) -> None:
        await super().close()
        if self._client is not None:
            await self._client.aclose()

    async def next_due_ts(self) -> int | None:
        async with self.db.read() as conn:
            return await outbox.next_due_ts(conn)

    def _full(self, webhook_id: str) -> bool:
        return self._in_flight.get(webhook_id, 0) >= self.config.max_in_flight

    async def run_once(self) -> bool:
        """Claim what is due for endpoints with room and start sending it; True when
        anything was claimed. Does not wait for the sends."""
        room = MAX_TOTAL_IN_FLIGHT - len(self._sending)
        if room <= 0:
            return False
        full = [w for w in self._in_flight if self._full(w)]
        async with self.db.read() as conn:
            due = await outbox.due(conn, now_ms(), min(self.BATCH, room), full)
        lease_ms = int(self.config.lease_s * 1000)
        claimed = 0
        for delivery_id, webhook_id in due:
            if self._stopping:
                break
            if self._full(webhook_id):
                continue
            async with self.db.write() as conn:
                row = await outbox.claim(conn, delivery_id, self.node, now_ms(), lease_ms)
            if row is None:
                continue
            claimed += 1
            self._in_flight[webhook_id] = self._in_flight.get(webhook_id, 0) + 1
            self.send(self._deliver(row), delivery_id, lambda w=webhook_id: self._done(w))
        return claimed > 0

    def _done(self, webhook_id: str) -> None:
        left = self._in_flight.get(webhook_id, 1) - 1
        if left > 0:
            self._in_flight[webhook_id] = left
        else:
            self._in_flight.pop(webhook_id, None)

    async def _attempt(self, delivery: dict[str, Any]) -> tuple[int | None, str | None]:
        """(status code, error) of one attempt, within the overall deadline."""
        deadline = self.config.deadline_s
        try:
            async with asyncio.timeout(deadline):
                status_code = await self._send(delivery)
        except TimeoutError:
            return None, f"no answer within the {deadline:g} s deadline"
        except TargetRefused as exc:
            return None, f"refused: {exc}"
        except httpx.TimeoutException:
            return None, f"no answer within the {deadline:g} s deadline"
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"[:500] or type(exc).__name__
        if not 200 <= status_code < 300:
            return status_code, f"HTTP {status_code}"
        return status_code, None

    async def _deliver(self, delivery: dict[str, Any]) -> None:
        started = time.monotonic()
        status_code, error = await self._attempt(delivery)
        duration_ms = int((time.monotonic() - started) * 1000)
        now = now_ms()
        attempts = int(delivery["attempts"]) + 1
        next_ts = None
        if error is None:
            outcome = outbox.DELIVERED
        else:
            next_ts = now + int(self.config.retry_delay_s(attempts) * 1000)
            give_up_at = delivery["created_ts"] + int(self.config.give_up_after_s * 1000)
            outcome = outbox.FAILED if next_ts > give_up_at else outbox.PENDING
        async with self.db.write() as conn:
            kept = await outbox.finish_attempt(
                conn,
                delivery,
                self.node,
                now=now,
                status_code=status_code,
                error=error,
                duration_ms=duration_ms,
                outcome=outcome,
                next_attempt_ts=next_ts,
            )
            paused = await outbox.count_outcome(
                conn, delivery["webhook_id"], error, now, self.config.pause_after
            )
        if not kept:
            log.warning("delivery %s: lease expired during the attempt", delivery["id"])
        if paused:
            log.warning(
                "webhook %s paused after %d failed attempts in a row (last: %s)",
                delivery["webhook_id"],
                self.config.pause_after,
                error,
            )
        elif next_ts is not None and outcome == outbox.PENDING:
            log.info("delivery %s failed (%s); retry at %d", delivery["id"], error, next_ts)

    async def _send(self, delivery: dict[str, Any]) -> int:
        assert self._client is not None, "start() opens the client"
        addresses = await resolve_target(delivery["url"], self.allow_private)
        target, headers, extensions = pinned(delivery["url"], addresses[0])
        body = delivery["body"].encode()
        headers.update(
            {
                "Content-Type": "application/json",
                "X-Beckon-Signature": sign(delivery["secret"], body, int(time.time())),
                "X-Beckon-Delivery": delivery["id"],
                "X-Beckon-Event": delivery["event"],
            }
        )
        async with self._client.stream(
            "POST", target, content=body, headers=headers, extensions=extensions
        ) as response:
            return response.status_code
