"""Use cases, one module each. Importing this package registers every handler."""

from handlers import (
    address,
    advance,
    aftersales,
    approve,
    collaboration,
    customers,
    digest,
    evidence,
    help,
    query,
    regions,
    scan,
    tasks,
    tracking,
    users_admin,
    voice,
    welcome,
    workflow_admin,
)
from handlers.registry import registry

__all__ = ["address", "advance", "aftersales", "approve", "collaboration", "customers", "digest", "evidence", "help",
           "query", "regions", "registry", "scan", "tasks", "tracking", "users_admin", "voice", "welcome",
           "workflow_admin"]
