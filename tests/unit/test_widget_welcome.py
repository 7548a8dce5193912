"""The widget settings a visitor gets: automatic text colour resolved, the greeting and
launcher label in the visitor's language."""

from __future__ import annotations

from server.widget_welcome import widget_for

STORED = {
    "color": "#fde047",
    "text_color": None,
    "greeting": "Hi!",
    "launcher_label": "Help",
    "strings": {
        "pt": {"greeting": "Olá!"},
        "pt-BR": {"launcher_label": "Ajuda"},
        "de": {"title": "Hallo"},
    },
}


def test_the_visitors_language_then_its_base_language() -> None:
    got = widget_for(STORED, "pt-BR")
    assert (got["greeting"], got["launcher_label"]) == ("Olá!", "Ajuda")
    got = widget_for(STORED, "pt")
    assert (got["greeting"], got["launcher_label"]) == ("Olá!", "Help")


def test_no_texts_for_the_language_keeps_the_settings() -> None:
    got = widget_for(STORED, "de")
    assert (got["greeting"], got["launcher_label"]) == ("Hi!", "Help")
    assert got["strings"] == STORED["strings"]  # the widget's own keys stay for the widget


def test_automatic_text_colour_is_resolved_and_a_chosen_one_kept() -> None:
    assert widget_for(STORED, "en")["text_color"] == "#111827"
    assert widget_for({"color": "#1e3a8a"}, "en")["text_color"] == "#ffffff"
    assert widget_for({**STORED, "text_color": "#000000"}, "en")["text_color"] == "#000000"
