"""The configuration reference, `docs/configuration.md`, generated from the settings.

    python -m server.settings_doc            # rewrite docs/configuration.md
    python -m server.settings_doc --check    # exit 1 when the file is out of date

Every row comes from a `setting(...)` declaration in server/settings.py (variable,
default, meaning); tests/unit/test_settings_doc.py fails when the file and the code
drift, so a new setting is documented by regenerating, never by hand.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from server.settings import setting_specs

DOC_PATH = Path("docs") / "configuration.md"

# Read outside `Settings` (tuning knobs the webhook worker reads itself, and the
# platform's PORT): listed so the reference names every variable Beckon reads.
OTHER_VARIABLES = (
    ("PORT", "unset", "the port to listen on when `BECKON_PORT` is unset (Heroku-style platforms)"),
    (
        "BECKON_WEBHOOK_RETRY_BASE_S",
        "`10`",
        "first webhook retry delay, seconds; each retry doubles it, up to an hour",
    ),
    (
        "BECKON_WEBHOOK_POLL_S",
        "`1`",
        "how often a node looks again at a webhook delivery that is due but held (leased"
        " by a node, or its endpoint busy), seconds; with none waiting a node sleeps until"
        " a delivery is written on any node (a broker notice), or 30 s",
    ),
    (
        "BECKON_WEBHOOK_SENDS",
        "`true`",
        "`false`: this node writes webhook deliveries but leaves sending them to the other nodes",
    ),
    (
        "BECKON_MAIL_RETRY_BASE_S",
        "`30`",
        "first email retry delay, seconds; each retry doubles it, up to an hour",
    ),
    (
        "BECKON_MAIL_POLL_S",
        "`1`",
        "how often a node looks again at an email that is due but held (leased by a node),"
        " seconds; with none waiting a node sleeps until an email is written on any node"
        " (a broker notice), or 30 s",
    ),
)

HEADER = """\
# Configuration reference

<!-- Generated from server/settings.py by `python -m server.settings_doc`: do not edit by
hand; tests/unit/test_settings_doc.py fails when this file and the code differ. -->

Beckon reads its configuration from environment variables once, at start-up. The flags
of `beckon serve` (`--host`, `--port`, `--public-url`, `--database-url`,
`--broker-url`, `--log-level`) override them. A bad value stops the server with one
line naming the variable and exit code 2; a database or broker that cannot be reached
at start-up stops it with exit code 1.

| variable | default | meaning |
| --- | --- | --- |
"""


def _default(value: object) -> str:
    if value == "" or value == ():
        return "unset"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, tuple):
        return "`" + ",".join(str(v) for v in value) + "`"
    return f"`{value}`"


def render() -> str:
    """The whole document, from the declarations."""
    rows = [
        f"| `{env}` | {_default(default)} | {doc} |"
        for _field, env, default, doc in setting_specs()
    ]
    other = [f"| `{env}` | {default} | {doc} |" for env, default, doc in OTHER_VARIABLES]
    return (
        HEADER
        + "\n".join(rows)
        + "\n\nAlso read:\n\n| variable | default | meaning |\n| --- | --- | --- |\n"
        + "\n".join(other)
        + "\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m server.settings_doc")
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    parser.add_argument("--path", type=Path, default=DOC_PATH, help=f"default {DOC_PATH}")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = args.path.read_text("utf-8") if args.path.exists() else ""
        if current != text:
            print(f"{args.path} is out of date: run python -m server.settings_doc", file=sys.stderr)
            return 1
        return 0
    args.path.write_text(text, "utf-8")
    print(f"wrote {args.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
