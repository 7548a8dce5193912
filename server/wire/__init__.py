"""The wire layer: pure frame decoding, validation and encoding (protocol.md).

Nothing here does I/O, touches asyncio or reads the clock. The socket layer calls
`codec.decode_frame` on each text frame, then `frames.parse_visitor_frame` or
`frames.parse_agent_frame`, and turns any `FrameError` into an `error` frame with
`codec.error_frame` — the connection stays open.
"""
