"""Use cases, one module each. Importing this package registers every handler."""

from handlers import (
    address,
    advance,
    aftersales,
    approve,
    barcodes,
    choose,
    collaboration,
    customers,
    digest,
    evidence,
    floor,
    help,
    holds,
    note,
    query,
    regions,
    scan,
    tasks,
    tracking,
    typed_report,
    users_admin,
    voice,
    welcome,
    workflow_admin,
)
from handlers.registry import registry

__all__ = ["address", "advance", "aftersales", "approve", "barcodes", "choose", "collaboration", "customers",
           "digest", "evidence", "floor", "help", "holds", "note", "query", "regions", "registry", "scan", "tasks",
           "tracking", "typed_report", "users_admin", "voice", "welcome", "workflow_admin"]
