"""The one registry every handler module registers into."""

from bot.dispatch import Registry

registry = Registry()
