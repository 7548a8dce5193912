"""The visitor socket (protocol.md, "Visitor socket"), one module per concern.

`session` holds what one socket knows and dispatches each frame type to a handler
that lives with its domain: `hello` (the first frame), `chat` (conversations and
messages), `invitations`, `feedback` (surveys, offline messages) and `behaviour`
(page views, track, cart, attributes). `server/hub/visitor_ws.py` is the endpoint.
"""
