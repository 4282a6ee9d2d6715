"""Counting and listing words the one way every message uses: ``1 order``, ``2 orders``,
``1 entry``, ``3 entries``, the word that agrees (``is`` / ``are``), and lists joined as a person
writes them (``a, b and c``), or the first few and a count of the rest (``a, b and 3 more``). No
``order(s)`` anywhere."""

from __future__ import annotations

from collections.abc import Callable, Sequence

__all__ = ["agree", "first_few", "listing", "plural"]


def plural(count: int, one: str, many: str | None = None) -> str:
    """``count`` and the noun in the right number: ``plural(1, "order")`` → ``1 order``,
    ``plural(3, "entry", "entries")`` → ``3 entries``; zero takes the plural."""
    return f"{count} {one if count == 1 else (many or one + 's')}"


def agree(count: int, one: str, many: str) -> str:
    """The word that agrees with ``count``, e.g. ``agree(n, "is", "are")``."""
    return one if count == 1 else many


def listing(items: Sequence[str], *, conjunction: str = "and") -> str:
    """``a``, ``a and b``, ``a, b and c``: several things named in one sentence."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {conjunction} {items[-1]}"


def first_few(items: Sequence[str], show: Callable[[str], str] = str, at_most: int = 5) -> str:
    """The first ``at_most`` of ``items``, each as ``show`` writes it, and how many more:
    ``a, b, c, d, e and 3 more``."""
    named = ", ".join(show(item) for item in items[:at_most])
    return named + (f" and {len(items) - at_most} more" if len(items) > at_most else "")
