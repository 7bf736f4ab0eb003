"""``python -m bot.cli`` (used to profile the server)."""

from bot.cli import main

main()
