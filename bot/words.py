"""Counting words the one way every message uses: ``1 order``, ``2 orders``, ``1 entry``,
``3 entries``, and the word that agrees (``is`` / ``are``). No ``order(s)`` anywhere."""

from __future__ import annotations

__all__ = ["agree", "plural"]


def plural(count: int, one: str, many: str | None = None) -> str:
    """``count`` and the noun in the right number: ``plural(1, "order")`` → ``1 order``,
    ``plural(3, "entry", "entries")`` → ``3 entries``; zero takes the plural."""
    return f"{count} {one if count == 1 else (many or one + 's')}"


def agree(count: int, one: str, many: str) -> str:
    """The word that agrees with ``count``, e.g. ``agree(n, "is", "are")``."""
    return one if count == 1 else many
