"""Email: out through SMTP via a durable outbox, in through `beckon mail-in` (docs/mail.md).

Pure pieces (`smtp_url`, `addresses`, `i18n`, `compose`) build and check messages;
`sender` is the only module that talks SMTP, `replies` the only one that decides an
agent's message becomes an email.
"""
