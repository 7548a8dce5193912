"""Visitor bans: an agent blocks a visitor id, an address or a network.

`matching` is pure; `queries` is the Store; `cache` the per-node list of a site's
active bans (dropped on every node when one changes); `routes` the REST endpoints;
`visitor` what a visitor socket does about a ban.
"""
