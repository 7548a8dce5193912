"""The audit log: who changed what, when, before/after, from where.

`record` is the one way in; REST only reads it (`server/audit/routes.py`).
"""

from server.audit.recorder import SYSTEM, Actor, record, record_in

__all__ = ["SYSTEM", "Actor", "record", "record_in"]
