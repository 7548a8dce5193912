# ruff: noqa: E501  (translated sentences stay on one line each)
"""The words of every email, in the widget's 8 languages. Pure data.

`{site}`, `{agent}` and `{hours}` are filled in by `compose` (after escaping, for HTML);
`{count}` by `digest`.
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
        "invite_subject": "You are invited to {site}",
        "invite_intro": "{agent} invited you to answer chats at {site}. Choose your password here:",
        "reset_subject": "Reset your {site} password",
        "reset_intro": "Someone asked to reset the password of your {site} account. If it was you, choose a new password here:",
        "link_hint": "This link works once and expires in {hours} hours. If you did not expect this email, ignore it.",
        "digest_subject": "New in your inbox: {count}",
        "digest_intro": "New offline messages and missed chats are waiting for an answer, per site:",
        "digest_open": "Open the inbox:",
    },
    "hr": {
        "reply_subject": "Vaš razgovor sa {site}",
        "reply_intro": "{agent} iz {site} odgovara:",
        "history": "Ranije u ovom razgovoru",
        "reply_hint": "Možete odgovoriti odgovorom na ovaj e-mail.",
        "you": "Vi",
        "transcript_subject": "Zapis vašeg razgovora sa {site}",
        "transcript_intro": "Ovo je zapis vašeg razgovora sa {site}.",
        "invite_subject": "Pozvani ste u {site}",
        "invite_intro": "{agent} vas poziva da odgovarate na razgovore u {site}. Ovdje odaberite svoju lozinku:",
        "reset_subject": "Ponovno postavljanje lozinke za {site}",
        "reset_intro": "Netko je zatražio novu lozinku za vaš račun u {site}. Ako ste to bili vi, ovdje odaberite novu lozinku:",
        "link_hint": "Poveznica vrijedi jednom i istječe za {hours} sati. Ako niste očekivali ovaj e-mail, zanemarite ga.",
        "digest_subject": "Novo u pristigloj pošti: {count}",
        "digest_intro": "Nove poruke i propušteni razgovori čekaju odgovor, po stranici:",
        "digest_open": "Otvorite pristiglu poštu:",
    },
    "sl": {
        "reply_subject": "Vaš pogovor s {site}",
        "reply_intro": "{agent} iz {site} odgovarja:",
        "history": "Prej v tem pogovoru",
        "reply_hint": "Odgovorite lahko z odgovorom na to e-pošto.",
        "you": "Vi",
        "transcript_subject": "Prepis vašega klepeta s {site}",
        "transcript_intro": "To je prepis vašega klepeta s {site}.",
        "invite_subject": "Povabljeni ste v {site}",
        "invite_intro": "{agent} vas vabi, da odgovarjate na klepete v {site}. Tukaj izberite svoje geslo:",
        "reset_subject": "Ponastavitev gesla za {site}",
        "reset_intro": "Nekdo je zahteval ponastavitev gesla za vaš račun v {site}. Če ste bili vi, tukaj izberite novo geslo:",
        "link_hint": "Povezava deluje enkrat in poteče čez {hours} ur. Če tega e-sporočila niste pričakovali, ga prezrite.",
        "digest_subject": "Novo v nabiralniku: {count}",
        "digest_intro": "Nova sporočila in zamujeni klepeti čakajo na odgovor, po straneh:",
        "digest_open": "Odprite nabiralnik:",
    },
    "sr": {
        "reply_subject": "Vaš razgovor sa {site}",
        "reply_intro": "{agent} iz {site} odgovara:",
        "history": "Ranije u ovom razgovoru",
        "reply_hint": "Možete odgovoriti odgovorom na ovaj imejl.",
        "you": "Vi",
        "transcript_subject": "Zapis vašeg razgovora sa {site}",
        "transcript_intro": "Ovo je zapis vašeg razgovora sa {site}.",
        "invite_subject": "Pozvani ste u {site}",
        "invite_intro": "{agent} vas poziva da odgovarate na razgovore u {site}. Ovde izaberite svoju lozinku:",
        "reset_subject": "Resetovanje lozinke za {site}",
        "reset_intro": "Neko je zatražio novu lozinku za vaš nalog u {site}. Ako ste to bili vi, ovde izaberite novu lozinku:",
        "link_hint": "Link važi jednom i ističe za {hours} sati. Ako niste očekivali ovaj imejl, zanemarite ga.",
        "digest_subject": "Novo u prijemnom sandučetu: {count}",
        "digest_intro": "Nove poruke i propušteni razgovori čekaju odgovor, po sajtu:",
        "digest_open": "Otvorite prijemno sanduče:",
    },
    "de": {
        "reply_subject": "Ihr Gespräch mit {site}",
        "reply_intro": "{agent} von {site} hat geantwortet:",
        "history": "Bisher in diesem Gespräch",
        "reply_hint": "Sie können antworten, indem Sie auf diese E-Mail antworten.",
        "you": "Sie",
        "transcript_subject": "Verlauf Ihres Chats mit {site}",
        "transcript_intro": "Hier ist der Verlauf Ihres Chats mit {site}.",
        "invite_subject": "Einladung zu {site}",
        "invite_intro": "{agent} lädt Sie ein, bei {site} Chats zu beantworten. Wählen Sie hier Ihr Passwort:",
        "reset_subject": "Passwort für {site} zurücksetzen",
        "reset_intro": "Jemand möchte das Passwort Ihres Kontos bei {site} zurücksetzen. Wenn Sie das waren, wählen Sie hier ein neues Passwort:",
        "link_hint": "Der Link gilt einmal und läuft in {hours} Stunden ab. Wenn Sie diese E-Mail nicht erwartet haben, ignorieren Sie sie.",
        "digest_subject": "Neu im Posteingang: {count}",
        "digest_intro": "Neue Nachrichten und verpasste Chats warten auf eine Antwort, je Website:",
        "digest_open": "Zum Posteingang:",
    },
    "it": {
        "reply_subject": "La tua conversazione con {site}",
        "reply_intro": "{agent} di {site} ha risposto:",
        "history": "In precedenza in questa conversazione",
        "reply_hint": "Puoi rispondere a questa email per replicare.",
        "you": "Tu",
        "transcript_subject": "Trascrizione della tua chat con {site}",
        "transcript_intro": "Ecco la trascrizione della tua chat con {site}.",
        "invite_subject": "Sei invitato su {site}",
        "invite_intro": "{agent} ti ha invitato a rispondere alle chat su {site}. Scegli qui la tua password:",
        "reset_subject": "Reimposta la password di {site}",
        "reset_intro": "Qualcuno ha chiesto di reimpostare la password del tuo account su {site}. Se sei stato tu, scegli qui una nuova password:",
        "link_hint": "Il link funziona una sola volta e scade tra {hours} ore. Se non aspettavi questa email, ignorala.",
        "digest_subject": "Nuovi nella posta in arrivo: {count}",
        "digest_intro": "Nuovi messaggi e chat perse aspettano una risposta, per sito:",
        "digest_open": "Apri la posta in arrivo:",
    },
    "fr": {
        "reply_subject": "Votre conversation avec {site}",
        "reply_intro": "{agent} de {site} a répondu :",
        "history": "Plus tôt dans cette conversation",
        "reply_hint": "Vous pouvez répondre directement à cet e-mail.",
        "you": "Vous",
        "transcript_subject": "Transcription de votre chat avec {site}",
        "transcript_intro": "Voici la transcription de votre chat avec {site}.",
        "invite_subject": "Vous êtes invité sur {site}",
        "invite_intro": "{agent} vous invite à répondre aux chats sur {site}. Choisissez votre mot de passe ici :",
        "reset_subject": "Réinitialiser votre mot de passe {site}",
        "reset_intro": "Quelqu'un a demandé à réinitialiser le mot de passe de votre compte {site}. Si c'était vous, choisissez un nouveau mot de passe ici :",
        "link_hint": "Ce lien ne fonctionne qu'une fois et expire dans {hours} heures. Si vous n'attendiez pas cet e-mail, ignorez-le.",
        "digest_subject": "Nouveau dans la boîte de réception : {count}",
        "digest_intro": "De nouveaux messages et chats manqués attendent une réponse, par site :",
        "digest_open": "Ouvrir la boîte de réception :",
    },
    "es": {
        "reply_subject": "Tu conversación con {site}",
        "reply_intro": "{agent} de {site} respondió:",
        "history": "Antes en esta conversación",
        "reply_hint": "Puedes contestar respondiendo a este correo.",
        "you": "Tú",
        "transcript_subject": "Transcripción de tu chat con {site}",
        "transcript_intro": "Esta es la transcripción de tu chat con {site}.",
        "invite_subject": "Te han invitado a {site}",
        "invite_intro": "{agent} te invitó a responder chats en {site}. Elige tu contraseña aquí:",
        "reset_subject": "Restablece tu contraseña de {site}",
        "reset_intro": "Alguien pidió restablecer la contraseña de tu cuenta de {site}. Si fuiste tú, elige una nueva contraseña aquí:",
        "link_hint": "El enlace funciona una vez y caduca en {hours} horas. Si no esperabas este correo, ignóralo.",
        "digest_subject": "Nuevo en la bandeja de entrada: {count}",
        "digest_intro": "Nuevos mensajes y chats perdidos esperan respuesta, por sitio:",
        "digest_open": "Abrir la bandeja de entrada:",
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
