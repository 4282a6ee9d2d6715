"""Order references mentioned in free text, such as a Slack message: the words that fit the order
grammar of :mod:`bot.orderref` and carry a digit."""

from __future__ import annotations

import re

from bot.orderref import OrderRefError, validate_ref

__all__ = ["MAX_FOUND", "refs_in_text"]

_MARKUP = re.compile(r"<[^<>]*>")  # mentions, channel links, URLs: never order references
_WORDS = re.compile(r"[A-Za-z0-9_.\-]+")  # runs of the characters an order reference may use
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_NUMBER = re.compile(r"\d+")
MAX_FOUND = 100  # more than any request holds; a message listing more is cut here


def refs_in_text(text: str) -> list[str]:
    """The order references in a message's text, in order, each once.

    A word counts when it fits the order grammar and has a digit in it (``TS-1001``, ``100234``):
    plain words also fit the grammar but name no order. Mentions and links (``<…>``) are left out;
    a sentence's final dot or an italic's underscores around a word are not part of it. Bare
    numbers shorter than four digits ("2 orders", "10:30") and dates are left out too. At most
    :data:`MAX_FOUND` are returned.
    """
    plain_text = _MARKUP.sub(" ", text)
    plain_text = plain_text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    found: list[str] = []
    seen: set[str] = set()
    for match in _WORDS.finditer(plain_text):
        if len(found) >= MAX_FOUND:
            break
        raw = match.group()
        word = raw.strip(".")
        if len(word) > 2 and word.startswith("_") and word.endswith("_"):
            word = word[1:-1]
        if not any(char.isdigit() for char in word) or word in seen:
            continue
        if (_NUMBER.fullmatch(word) and len(word) < 4) or _DATE.fullmatch(word):
            continue
        try:
            found.append(validate_ref(word))
        except OrderRefError:
            continue
        seen.add(word)
    return found
