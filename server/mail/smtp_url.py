"""`BECKON_SMTP_URL`: where outgoing email goes. Pure: parsing only, no connection.

    smtp://user:password@host:587?starttls=1     STARTTLS after connecting
    smtps://user:password@host:465               TLS from the first byte
    smtp://127.0.0.1:2525                        plain, no login (a local relay)

User and password are percent-decoded; `timeout` (seconds, default 30) bounds each
SMTP command.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
_FLAGS = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}
_QUERY_KEYS = frozenset({"starttls", "timeout"})


@dataclass(frozen=True, slots=True)
class SmtpTarget:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    use_tls: bool = False  # smtps://
    start_tls: bool = False  # ?starttls=1
    timeout_s: float = 30.0


def parse_smtp_url(url: str) -> SmtpTarget:
    """The target of `url`; raises ValueError with a one-line reason."""
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS:
        raise ValueError(f"scheme must be smtp:// or smtps://, got {parts.scheme or 'none'!r}")
    if not parts.hostname:
        raise ValueError("no host")
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError:
        raise ValueError("port must be a number in 1..65535") from None
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(query) - _QUERY_KEYS)
    if unknown:
        raise ValueError(f"unknown option {unknown[0]!r} (known: starttls, timeout)")
    start_tls = False
    if "starttls" in query:
        flag = _FLAGS.get(query["starttls"][-1].lower())
        if flag is None:
            raise ValueError("starttls must be 1 or 0")
        start_tls = flag
    if start_tls and parts.scheme == "smtps":
        raise ValueError("smtps:// is TLS already; starttls=1 is for smtp://")
    timeout_s = 30.0
    if "timeout" in query:
        try:
            timeout_s = float(query["timeout"][-1])
        except ValueError:
            raise ValueError("timeout must be a number of seconds") from None
        if not 1 <= timeout_s <= 600:
            raise ValueError("timeout must be within 1..600 seconds")
    return SmtpTarget(
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        use_tls=parts.scheme == "smtps",
        start_tls=start_tls,
        timeout_s=timeout_s,
    )
