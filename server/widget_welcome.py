"""The site's widget settings as one visitor's widget gets them (`welcome.widget`), pure.

Two things are resolved here rather than in the widget (which has a size budget): the
text colour on the accent when the site chose "automatic", and the site's texts that
are settings rather than widget strings — the greeting and the launcher label — in the
visitor's language when the site wrote them in `strings` (`{"de": {"greeting": "…"}}`).
"""

from __future__ import annotations

from typing import Any

from server.widget_contrast import text_on

SETTING_TEXTS = ("greeting", "launcher_label")
"""Keys of `strings` that replace a setting, besides the widget's own text keys."""


def texts_for(strings: dict[str, dict[str, str]], lang: str) -> dict[str, str]:
    """The site's texts for `lang`: its base language's ('pt' for 'pt-BR') under the
    exact tag's."""
    base = lang.split("-", 1)[0].lower()
    return {**strings.get(base, {}), **strings.get(lang, {})}


def widget_for(widget: dict[str, Any], lang: str) -> dict[str, Any]:
    """`widget` (as stored) for a visitor whose language is `lang`."""
    texts = texts_for(widget.get("strings") or {}, lang)
    localized = {key: texts[key] for key in SETTING_TEXTS if key in texts}
    return {**widget, **localized, "text_color": text_on(widget)}
