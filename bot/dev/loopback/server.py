"""The ``serve`` server running in a background thread, for tests, benchmarks and the demo: the
bot's own :class:`~bot.runners.http.server.ServerThread`, which ``socket`` and ``clock`` use for
their health port."""

from __future__ import annotations

from bot.runners.http.server import ServerThread

__all__ = ["ServerThread"]
