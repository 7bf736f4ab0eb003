"""The PC board: server-rendered pages under ``/board/`` behind WeCom login, live by SSE."""

from bot.board.routes import add_board_routes

__all__ = ["add_board_routes"]
