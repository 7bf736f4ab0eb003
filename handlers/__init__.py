"""Use cases, one module each. Importing this package registers every handler."""

from handlers import address, advance, help, query, tasks, tracking, users_admin, voice, workflow_admin
from handlers.registry import registry

__all__ = ["address", "advance", "help", "query", "registry", "tasks", "tracking", "users_admin", "voice",
           "workflow_admin"]
