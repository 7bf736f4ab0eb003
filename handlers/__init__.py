"""Use cases, one module each. Importing this package registers every handler."""

from handlers import (
    address,
    advance,
    aftersales,
    approve,
    digest,
    help,
    query,
    tracking,
    users_admin,
    workflow_admin,
)
from handlers.registry import registry

__all__ = ["address", "advance", "aftersales", "approve", "digest", "help", "query", "registry", "tracking",
           "users_admin", "workflow_admin"]
