"""Open and close the node's mail pieces (called from the app's lifespan)."""

from __future__ import annotations

import asyncio
import logging

from server.events import EventBus
from server.mail.inbox_alerts import InboxAlerts
from server.mail.inbox_replies import InboxReplyMailer
from server.mail.outgoing import MailOut
from server.mail.sender import MailConfig, MailWorker
from server.services import Services

log = logging.getLogger("beckon.mail")


class MailNode:
    """`out` writes emails (always present; `out.enabled` says whether SMTP is set);
    `worker` sends them and `alerts` writes agents' inbox digests (both None without
    BECKON_SMTP_URL)."""

    def __init__(self, services: Services, events: EventBus) -> None:
        settings = services.settings
        self.worker: MailWorker | None = None
        if settings.smtp_url:
            config = MailConfig.from_settings(settings)
            self.worker = MailWorker(services.db, config, services.broker)
        wake = self.worker.wake if self.worker else (lambda: None)
        self.out = MailOut(services.db, services.broker, settings, wake)
        self.alerts: InboxAlerts | None = None
        if self.worker is not None:
            events.on("message.created", self.out.on_message)
            InboxReplyMailer(self.out).attach(events)
            self.alerts = InboxAlerts(services.db, settings, wake)

    async def start(self) -> None:
        if self.worker is not None:
            await self.worker.follow(self.worker.broker)
            self.worker.start()
        if self.alerts is not None:
            self.alerts.start()

    async def close(self, timeout_s: float) -> None:
        """Let the emails in flight finish (within `timeout_s`), then stop."""
        if self.alerts is not None:
            await self.alerts.close()
        if self.worker is None:
            return
        try:
            async with asyncio.timeout(timeout_s):
                await self.worker.finish()
        except TimeoutError:
            log.error("shutdown: emails still being sent after %g s were cut short", timeout_s)
        await self.worker.close()
