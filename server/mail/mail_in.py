"""`beckon mail-in`: an SMTP listener for visitors' replies (aiosmtpd).

Point an MX record or a forwarding rule at it. It is a door, not a mailbox: it keeps
nothing. At RCPT TO it accepts only a signed reply address (anything else: 550, so it
is no relay and no sink); at DATA it posts the raw message, signed, to the server's
`/api/v1/mail/inbound` and answers the sending server with the outcome — 250 stored,
550 refused for good (unmatched, spoofed, empty), 451 try later (server unreachable),
so the sender's own queue retries and nothing is lost. A message larger than
BECKON_MAIL_MAX_BYTES is refused with 552 while it is being received.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import httpx
from aiosmtpd.smtp import SMTP

from server.mail import addresses
from server.mail.incoming import inbound_key, sign
from server.settings import Settings

log = logging.getLogger("beckon.mail")


class ReplyHandler:
    """aiosmtpd handler: RCPT checks the reply address, DATA forwards to the server."""

    def __init__(self, settings: Settings, forward_to: str, client: httpx.AsyncClient) -> None:
        self.settings = settings
        self.url = forward_to.rstrip("/") + "/api/v1/mail/inbound"
        self.key = inbound_key(settings)
        self.client = client

    async def handle_RCPT(
        self, _server: Any, _session: Any, envelope: Any, address: str, _options: Any
    ) -> str:
        if addresses.conversation_of_address(self.settings.secret_key, address) is None:
            log.warning("mail-in: refused recipient %r (not a signed reply address)", address)
            return "550 5.1.1 no such reply address"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        body = bytes(envelope.original_content or envelope.content)
        headers = {
            "Content-Type": "message/rfc822",
            "X-Beckon-Signature": sign(self.key, body, int(time.time())),
            "X-Beckon-Rcpt-To": ",".join(envelope.rcpt_tos),
        }
        try:
            answer = await self.client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            log.warning("mail-in: server unreachable (%s); the sender will retry", exc)
            return "451 4.3.0 try again later"
        if answer.status_code == 200:
            return "250 OK"
        if answer.status_code >= 500 or answer.status_code == 429:
            return "451 4.3.0 try again later"
        try:
            reason = str(answer.json()["error"]["message"])
        except (ValueError, KeyError, TypeError):
            reason = f"refused ({answer.status_code})"
        log.warning("mail-in: refused from %r: %s", envelope.mail_from, reason)
        return f"550 5.7.1 {' '.join(reason.split())[:200]}"


async def run(settings: Settings, host: str, port: int, forward_to: str) -> None:
    """Listen until cancelled."""
    async with httpx.AsyncClient(timeout=30, trust_env=False) as client:
        handler = ReplyHandler(settings, forward_to, client)
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: SMTP(
                handler,
                data_size_limit=settings.mail_max_bytes,
                hostname="beckon-mail-in",
                enable_SMTPUTF8=True,
            ),
            host,
            port,
        )
        bound = server.sockets[0].getsockname()[1]
        log.warning("mail-in listening on %s:%d, forwarding to %s", host, bound, handler.url)
        print(f"beckon mail-in listening on {host}:{bound}", flush=True)
        async with server:
            await server.serve_forever()
