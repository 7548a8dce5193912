"""`beckon` — serve, migrate, create-admin, create-site.

Every failure is one line on stderr and a non-zero exit (2 for bad configuration or
arguments, 1 for a service that cannot be reached), never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import secrets
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from pydantic import ValidationError

from server.errors import ApiError
from server.logs import LOG_FORMATS, configure_logging
from server.resources import StartupError, open_services
from server.settings import Settings, SettingsError, load_settings, redact_url
from server.store.database import StoreUnavailable, open_database
from server.store.migrate import upgrade_to_head
from server.version import package_version
from server.wire.codec import MAX_WS_MESSAGE_BYTES

EXIT_CONFIG = 2
EXIT_UNAVAILABLE = 1


class CliError(Exception):
    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="beckon", description="Beckon live chat server")
    parser.add_argument("--version", action="version", version=f"beckon {package_version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    def with_db(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--database-url", help="overrides BECKON_DATABASE_URL")
        p.add_argument("--broker-url", help="overrides BECKON_BROKER_URL")
        return p

    serve = with_db(sub.add_parser("serve", help="run the server"))
    serve.add_argument("--host", default=None, help="bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (default 8000, or $PORT)")
    serve.add_argument("--public-url", help="overrides BECKON_PUBLIC_URL")
    serve.add_argument("--log-level", help="overrides BECKON_LOG_LEVEL")
    serve.add_argument(
        "--no-bootstrap", action="store_true", help="do not create a first admin and demo site"
    )

    with_db(sub.add_parser("migrate", help="apply database migrations"))

    admin = with_db(sub.add_parser("create-admin", help="create an admin user"))
    admin.add_argument("--email")
    admin.add_argument("--name", default="Admin")
    admin.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )

    site = with_db(sub.add_parser("create-site", help="create a site and print its snippet"))
    site.add_argument("--name", required=True)
    site.add_argument(
        "--origin",
        action="append",
        default=[],
        help="allowed origin (repeatable), e.g. https://shop.example.com",
    )
    site.add_argument("--timezone", default="UTC")
    site.add_argument("--public-url", help="overrides BECKON_PUBLIC_URL (for the snippet)")
    replay = with_db(
        sub.add_parser("backtest", help="replay recorded visits through a rule or all rules")
    )
    replay.add_argument("--site", required=True, help="site id or key")
    which = replay.add_mutually_exclusive_group(required=True)
    which.add_argument("--rule", help="rule JSON file")
    which.add_argument(
        "--all-rules", action="store_true", help="the site's enabled rules, sharing one budget"
    )
    replay.add_argument("--from", dest="from_", required=True, help="ms or ISO date")
    replay.add_argument("--to", required=True, help="ms or ISO date")
    replay.add_argument("--capacity", type=int, default=None, help="invitations per hour")
    replay.add_argument("--json", action="store_true", help="print the report as JSON")
    replay.add_argument(
        "--capacity-series",
        default=None,
        help="JSON file: agents' capacity over time (default: always room)",
    )
    replay.add_argument("--visitors", action="store_true", help="list each visitor's decisions")
    mail_in = sub.add_parser("mail-in", help="receive visitors' email replies (SMTP)")
    # Own dests: `--host`/`--port` of mail-in are not the web server's (Settings.port).
    mail_in.add_argument("--host", dest="smtp_host", default="127.0.0.1", help="bind address")
    mail_in.add_argument("--port", dest="smtp_port", type=int, required=True, help="SMTP port")
    mail_in.add_argument("--forward-to", help="the server's URL (default BECKON_PUBLIC_URL)")
    return parser


async def _mail_in(settings: Settings, args: argparse.Namespace) -> None:
    from server.mail.mail_in import run

    try:
        await run(settings, args.smtp_host, args.smtp_port, args.forward_to or settings.base_url)
    except OSError as exc:
        where = f"{args.smtp_host}:{args.smtp_port}"
        raise CliError(f"cannot listen on {where}: {exc.strerror}") from None


async def _backtest(settings: Settings, args: argparse.Namespace) -> None:
    from server.cli_backtest import BacktestError, run

    try:
        await run(
            settings,
            args.site,
            args.rule,
            args.from_,
            args.to,
            args.capacity,
            args.json,
            args.capacity_series,
            args.visitors,
        )
    except BacktestError as exc:
        raise CliError(str(exc), EXIT_CONFIG) from None
    except StoreUnavailable as exc:
        raise CliError(f"cannot reach the database: {exc}", EXIT_UNAVAILABLE) from None


def _settings(args: argparse.Namespace) -> Settings:
    flags: dict[str, Any] = {
        "database_url": getattr(args, "database_url", None),
        "broker_url": getattr(args, "broker_url", None),
        "public_url": getattr(args, "public_url", None),
        "host": getattr(args, "host", None),
        "port": getattr(args, "port", None),
    }
    level = getattr(args, "log_level", None)
    flags["log_level"] = level.upper() if level else None
    return load_settings(**flags)


async def _migrate(settings: Settings, *, quiet: bool = False) -> None:
    db = open_database(settings.database_url)
    try:
        before, after = await upgrade_to_head(db)
    except StoreUnavailable as exc:
        raise CliError(
            f"cannot reach the database ({redact_url(settings.database_url)}): {exc}",
            EXIT_UNAVAILABLE,
        ) from exc
    finally:
        await db.close()
    if not quiet:
        print(f"database at revision {after} (was {before or 'empty'})")


def _validation_message(exc: ValidationError) -> str:
    err = exc.errors()[0]
    path = ".".join(str(p) for p in err["loc"])
    return f"{path}: {err['msg']}" if path else err["msg"]


async def _create_admin(settings: Settings, args: argparse.Namespace) -> None:
    from server import audit
    from server.passwords import hash_password
    from server.users import create_user

    email, password = args.email, args.password
    if len(password) < 10:
        raise CliError("the password must be at least 10 characters", EXIT_CONFIG)
    from server.api.models import AgentCreate

    try:
        AgentCreate(email=email, password=password, display_name=args.name, role="admin")
    except ValidationError as exc:
        raise CliError(_validation_message(exc), EXIT_CONFIG) from None
    await _migrate(settings, quiet=True)
    db = open_database(settings.database_url)
    try:
        user = await create_user(
            db,
            email=email,
            password_hash=hash_password(password),
            role="admin",
            display_name=args.name,
        )
        # Made at the command line: the audit log names no person and no address.
        await audit.record(db, audit.SYSTEM, "user.create", user["id"], None, user)
    except ApiError as exc:
        raise CliError(exc.message) from None
    finally:
        await db.close()
    print(f"admin {user['email']} created (id {user['id']})")


async def _create_site(settings: Settings, args: argparse.Namespace) -> None:
    from server import audit
    from server.api.models import SiteCreate
    from server.sites import create_site, snippet

    try:
        spec = SiteCreate(name=args.name, allowed_origins=args.origin, timezone=args.timezone)
    except ValidationError as exc:
        raise CliError(_validation_message(exc), EXIT_CONFIG) from None
    await _migrate(settings, quiet=True)
    db = open_database(settings.database_url)
    try:
        row = await create_site(db, spec)
        await audit.record(db, audit.SYSTEM, "site.create", row["id"], None, row, site_id=row["id"])
    finally:
        await db.close()
    print(f"site {row['name']} created: id {row['id']}, key {row['key']}")
    print(snippet(row["key"], settings.base_url))


async def _bootstrap(settings: Settings, services: Any) -> list[str]:
    """First run: an admin with a generated password, and a demo site with an invitation
    rule on the demo shop's checkout. Returns lines to print."""
    from server.api.models import SiteCreate, SiteOptions, WidgetLook
    from server.demo import DEMO_RULE, DEMO_RULE_WAIT_S, create_demo_rule
    from server.sites import create_site
    from server.store import sites as site_queries
    from server.store import users as user_queries
    from server.users import create_user

    lines = []
    async with services.db.read() as conn:
        users = await user_queries.count_users(conn)
        sites = await site_queries.count_sites(conn)
    if users == 0:
        password = secrets.token_urlsafe(12)
        await create_user(
            services.db,
            email="admin@beckon.local",
            password_hash=await services.passwords.hash(password),
            role="admin",
            display_name="Admin",
        )
        lines.append(f"  first admin:    admin@beckon.local / {password}  (shown once)")
    if sites == 0:
        origin = settings.base_url
        # The demo works whichever loopback name the browser was given.
        twins = {"//127.0.0.1:": "//localhost:", "//localhost:": "//127.0.0.1:"}
        origins = [origin] + [origin.replace(a, b) for a, b in twins.items() if a in origin]
        look = WidgetLook(color="#2f5d50", greeting="Hi! Questions about a product or an order?")
        # The demo shop has no backend: its orders come from the widget, so its stats
        # count client-reported conversions (a real shop posts them server-side).
        demo = SiteCreate(
            name="Demo site",
            allowed_origins=origins,
            widget=look,
            settings=SiteOptions(trust_client_conversions=True),
        )
        site = await create_site(services.db, demo)
        await create_demo_rule(services.db, site["id"])
        lines.append(f"  demo site:      created, allowed origins {' '.join(origins)}")
        lines.append(
            f"  demo rule:      '{DEMO_RULE['name']}' invites after {DEMO_RULE_WAIT_S} s"
            " on the demo checkout with a cart"
        )
    return lines


async def _serve(settings: Settings, args: argparse.Namespace) -> None:
    import uvicorn

    from server.app import SOCKET_ENDPOINTS, create_app
    from server.graceful import GracefulServer
    from server.web import BrowserFilesMissing, installed_browser_files
    from server.ws_protocol import socket_protocol

    try:
        browser = installed_browser_files()
    except BrowserFilesMissing as exc:
        raise CliError(str(exc)) from None
    await _migrate(settings, quiet=True)
    try:
        services = await open_services(settings)
    except StartupError as exc:
        raise CliError(str(exc), EXIT_UNAVAILABLE) from None
    lines = [] if args.no_bootstrap else await _bootstrap(settings, services)
    app = create_app(settings, services, browser)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        # The chat sockets speak WebSocket through Beckon's own protocol, not ASGI
        # (server/ws_protocol.py): less kept per idle socket, less work per frame. It
        # reads ws_max_size and the ws_ping_* settings; it negotiates no compression
        # (chat frames are ~200 bytes; per-socket zlib state would cost ~100 KiB).
        ws=socket_protocol(
            app,
            SOCKET_ENDPOINTS,
            send_buffer_bytes=settings.ws_send_buffer_bytes,
            send_stall_s=settings.ws_send_stall_s,
        ),
        ws_per_message_deflate=False,
        ws_max_size=MAX_WS_MESSAGE_BYTES,
        lifespan="on",
        log_level=settings.log_level.lower(),
        log_config=None,  # uvicorn's lines go through our handler: same format, same ids
        access_log=False,
        # Who the client is comes from BECKON_TRUSTED_PROXIES (server/client_address.py)
        # only; uvicorn's own rewrite would trust any loopback peer's X-Forwarded-For.
        proxy_headers=False,
    )
    server = GracefulServer(config, settings.shutdown_timeout_s)
    base = settings.base_url
    banner = [
        f"Beckon is running on {base}",
        f"  agent console:  {base}/agent/",
        f"  admin:          {base}/admin/",
        f"  demo page:      {base}/demo/",
        *lines,
    ]
    for line in banner:
        if settings.log_format == "json":  # a log collector reads stdout too: one format
            logging.getLogger("beckon.serve").info(line.strip())
        else:
            print(line, flush=True)
    await server.serve()
    if not server.started:
        raise CliError(f"could not listen on {settings.host}:{settings.port}", EXIT_UNAVAILABLE)


def _ask_admin_credentials(args: argparse.Namespace) -> None:
    """Prompt (before the event loop starts) for what the flags did not give."""
    if not args.email:
        args.email = input("Email: ").strip()
    if args.password_stdin:
        args.password = sys.stdin.readline().rstrip("\n")
    else:
        args.password = getpass.getpass("Password: ")
    if not args.password:
        raise CliError("no password given", EXIT_CONFIG)


COMMANDS: dict[str, Callable[[Settings, argparse.Namespace], Awaitable[None]]] = {
    "serve": _serve,
    "migrate": lambda settings, _args: _migrate(settings),
    "create-admin": _create_admin,
    "create-site": _create_site,
    "backtest": _backtest,
    "mail-in": _mail_in,
}


def _event_loop_runner(command: str) -> Callable[[Awaitable[None]], None]:
    """uvloop for `serve` when installed: asyncio.run would bypass uvicorn's loop choice."""
    if command == "serve":
        try:
            import uvloop
        except ImportError:
            return asyncio.run
        return uvloop.run
    return asyncio.run


def _early_log_format() -> str:
    """BECKON_LOG_FORMAT before the settings are loaded; a bad value is reported by them."""
    value = os.environ.get("BECKON_LOG_FORMAT", "").strip()
    return value if value in LOG_FORMATS else "text"


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # Loading the settings may warn (a generated secret): in the format asked for.
    configure_logging("INFO", _early_log_format())
    try:
        settings = _settings(args)
        if settings.smtp_url and args.command == "serve":
            from server.mail.sender import MailConfig

            MailConfig.from_settings(settings)  # a bad DKIM key stops here, in one line
    except (SettingsError, ValueError) as exc:
        print(f"beckon: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    configure_logging(settings.log_level, settings.log_format)
    try:
        if args.command == "create-admin":
            _ask_admin_credentials(args)
        _event_loop_runner(args.command)(COMMANDS[args.command](settings, args))
    except CliError as exc:
        print(f"beckon: {exc}", file=sys.stderr)
        return exc.code
    except (KeyboardInterrupt, EOFError):
        print("beckon: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # last resort: one line, never a traceback
        logging.getLogger("beckon").debug("fatal", exc_info=exc)
        print(
            f"beckon: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
