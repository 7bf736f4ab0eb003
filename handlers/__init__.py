"""Use cases, one module each. Importing this package registers every handler."""

from handlers import address, advance, help, query, tracking, users_admin, workflow_admin
from handlers.registry import registry

__all__ = ["address", "advance", "help", "query", "registry", "tracking", "users_admin", "workflow_admin"]
