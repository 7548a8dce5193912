"""WCAG 2.x contrast between two sRGB colours (pure), and the check the site's widget
colours must pass: AA for normal text, 4.5:1 (WCAG 2.2, success criterion 1.4.3).

The widget writes its text on the accent colour (launcher, header, the visitor's own
messages, buttons), so the pair (accent, text) is what must be readable. With no text
colour chosen the widget picks near-black or white, whichever contrasts more
(`text_on`, sent resolved in `welcome.widget.text_color`).
"""

from __future__ import annotations

from typing import Any

AA_NORMAL = 4.5
DEFAULT_ACCENT = "#2563eb"
DARK_TEXT = "#111827"
LIGHT_TEXT = "#ffffff"


def luminance(hex_color: str) -> float:
    """Relative luminance of `#rrggbb` (0 black … 1 white), WCAG 2.x definition."""
    channels = [int(hex_color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(first: str, second: str) -> float:
    """The contrast ratio of two colours, 1.0 … 21.0, order free."""
    a, b = sorted((luminance(first), luminance(second)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def auto_text(accent: str) -> str:
    """The text colour the widget picks on `accent` when the site chose none."""
    return DARK_TEXT if contrast(accent, DARK_TEXT) > contrast(accent, LIGHT_TEXT) else LIGHT_TEXT


def contrast_problem(accent: str, text: str | None) -> str | None:
    """A sentence saying why the pair fails WCAG AA, or None when it passes."""
    used = text or auto_text(accent)
    ratio = contrast(accent, used)
    if ratio >= AA_NORMAL:
        return None
    whose = f"the text colour {used}" if text else "black or white text"
    return (
        f"The accent colour {accent} with {whose} has a contrast of {ratio:.2f}:1; "
        f"WCAG AA needs at least {AA_NORMAL}:1 for text, so choose a darker or lighter "
        "colour."
    )


def text_on(widget: dict[str, Any]) -> str:
    """The text colour the widget uses on the site's accent: the site's, or the automatic
    one (sent resolved in `welcome.widget.text_color`, so the widget needs no formula)."""
    return widget.get("text_color") or auto_text(widget.get("color") or DEFAULT_ACCENT)
