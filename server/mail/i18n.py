"""The words of every email, in the widget's 8 languages. Pure data.

`{site}` and `{agent}` are filled in by `compose` (after escaping, for HTML).
"""

from __future__ import annotations

LANGUAGES = ("en", "hr", "sl", "sr", "de", "it", "fr", "es")

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "reply_subject": "Your conversation with {site}",
        "reply_intro": "{agent} from {site} replied:",
        "history": "Earlier in this conversation",
        "reply_hint": "You can answer by replying to this email.",
        "you": "You",
        "transcript_subject": "Transcript of your chat with {site}",
        "transcript_intro": "Here is the transcript of your chat with {site}.",
    },
    "hr": {
        "reply_subject": "Vaš razgovor sa {site}",
        "reply_intro": "{agent} iz {site} odgovara:",
        "history": "Ranije u ovom razgovoru",
        "reply_hint": "Možete odgovoriti odgovorom na ovaj e-mail.",
        "you": "Vi",
        "transcript_subject": "Zapis vašeg razgovora sa {site}",
        "transcript_intro": "Ovo je zapis vašeg razgovora sa {site}.",
    },
    "sl": {
        "reply_subject": "Vaš pogovor s {site}",
        "reply_intro": "{agent} iz {site} odgovarja:",
        "history": "Prej v tem pogovoru",
        "reply_hint": "Odgovorite lahko z odgovorom na to e-pošto.",
        "you": "Vi",
        "transcript_subject": "Prepis vašega klepeta s {site}",
        "transcript_intro": "To je prepis vašega klepeta s {site}.",
    },
    "sr": {
        "reply_subject": "Vaš razgovor sa {site}",
        "reply_intro": "{agent} iz {site} odgovara:",
        "history": "Ranije u ovom razgovoru",
        "reply_hint": "Možete odgovoriti odgovorom na ovaj imejl.",
        "you": "Vi",
        "transcript_subject": "Zapis vašeg razgovora sa {site}",
        "transcript_intro": "Ovo je zapis vašeg razgovora sa {site}.",
    },
    "de": {
        "reply_subject": "Ihr Gespräch mit {site}",
        "reply_intro": "{agent} von {site} hat geantwortet:",
        "history": "Bisher in diesem Gespräch",
        "reply_hint": "Sie können antworten, indem Sie auf diese E-Mail antworten.",
        "you": "Sie",
        "transcript_subject": "Verlauf Ihres Chats mit {site}",
        "transcript_intro": "Hier ist der Verlauf Ihres Chats mit {site}.",
    },
    "it": {
        "reply_subject": "La tua conversazione con {site}",
        "reply_intro": "{agent} di {site} ha risposto:",
        "history": "In precedenza in questa conversazione",
        "reply_hint": "Puoi rispondere a questa email per replicare.",
        "you": "Tu",
        "transcript_subject": "Trascrizione della tua chat con {site}",
        "transcript_intro": "Ecco la trascrizione della tua chat con {site}.",
    },
    "fr": {
        "reply_subject": "Votre conversation avec {site}",
        "reply_intro": "{agent} de {site} a répondu :",
        "history": "Plus tôt dans cette conversation",
        "reply_hint": "Vous pouvez répondre directement à cet e-mail.",
        "you": "Vous",
        "transcript_subject": "Transcription de votre chat avec {site}",
        "transcript_intro": "Voici la transcription de votre chat avec {site}.",
    },
    "es": {
        "reply_subject": "Tu conversación con {site}",
        "reply_intro": "{agent} de {site} respondió:",
        "history": "Antes en esta conversación",
        "reply_hint": "Puedes contestar respondiendo a este correo.",
        "you": "Tú",
        "transcript_subject": "Transcripción de tu chat con {site}",
        "transcript_intro": "Esta es la transcripción de tu chat con {site}.",
    },
}


def language(lang: str | None, fallback: str = "en") -> str:
    """One of LANGUAGES for a widget language tag such as `de-AT` (else `fallback`,
    else English)."""
    for candidate in (lang, fallback):
        base = (candidate or "").split("-", 1)[0].split("_", 1)[0].lower()
        if base in STRINGS:
            return base
    return "en"


def words(lang: str) -> dict[str, str]:
    return STRINGS[language(lang)]
