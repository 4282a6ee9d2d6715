"""The ``<order>`` grammar of the README's Slash commands, and the order references mentioned in
free text such as a Slack message (:func:`refs_in_text`).

A CartRover order reference (``cust_ref``) is 1 to 64 letters, digits, ``-``, ``_`` and ``.``, not
starting with ``.``. Nothing else may reach a URL path: no ``/``, ``?``, ``#``, ``%``, whitespace or
dot segment (reliability R4).
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "MAX_FOUND",
    "MAX_ORDERS_PER_COMMAND",
    "OrderRefError",
    "fits_grammar",
    "looks_like_order",
    "refs_in_text",
    "split_refs",
    "unquoted",
    "validate_ref",
]

_REF = re.compile(r"[A-Za-z0-9_\-][A-Za-z0-9_.\-]{0,63}")
MAX_ORDERS_PER_COMMAND = 20


class OrderRefError(ValueError):
    """The text is not an order reference; ``str()`` explains what is expected."""


def validate_ref(text: str) -> str:
    """Return ``text`` unchanged if it is a valid order reference, else raise OrderRefError."""
    if _REF.fullmatch(text):
        return text
    shown = text if len(text) <= 40 else text[:40] + "…"
    if not text:
        reason = "it is empty"
    elif len(text) > 64:
        reason = f"it is {len(text)} characters long (at most 64)"
    elif text.startswith("."):
        reason = "it starts with a dot"
    else:
        reason = "it has characters other than letters, digits, '-', '_' and '.'"
    raise OrderRefError(
        f"'{shown}' is not an order reference: {reason}. "
        "Use CartRover's order reference (cust_ref), for example TS-1001."
    )


def unquoted(text: str) -> str:
    """A word without the backticks or quotes it was copied with: ```TS-1001``` → ``TS-1001``
    (a card shows references in backticks, and people paste them so)."""
    return text.strip("`'\"“”‘’")


def fits_grammar(word: str) -> bool:
    """Whether ``word`` (unquoted) fits the order grammar, digit or not."""
    return _REF.fullmatch(unquoted(word)) is not None


def looks_like_order(word: str) -> bool:
    """An order reference as ``hold`` reads one in running text: it fits the grammar and has a
    digit in it (``TS-1001``, ``100234``); ``oops`` fits the grammar too, but reads as a word."""
    return fits_grammar(word) and any(char.isdigit() for char in word)


def split_refs(text: str, limit: int = MAX_ORDERS_PER_COMMAND) -> list[str]:
    """Split on commas and whitespace, validate each, drop duplicates (order kept)."""
    parts = [unquoted(p) for p in re.split(r"[,\s]+", text.strip()) if unquoted(p)]
    if not parts:
        raise OrderRefError("No order reference given. For example: TS-1001")
    if len(parts) > limit:
        raise OrderRefError(f"{len(parts)} orders given; at most {limit} at a time.")
    refs: list[str] = []
    for part in parts:
        ref = validate_ref(part)
        if ref not in refs:
            refs.append(ref)
    return refs


# -- order references in free text: the words that fit the grammar above and carry a digit

_MARKUP = re.compile(r"<[^<>]*>")  # mentions, channel links, URLs: never order references
_WORDS = re.compile(r"[\s,;]+")  # what separates the words of a message (lists use , and ;)
# Punctuation and formatting around a word, not part of it: a sentence's dot, brackets, quotes,
# Slack's *bold*, ~strike~ and `code`. (An italic's _underscores_ are taken off in pairs.)
_AROUND = ".:!?()[]{}<>\"'`*~\u201c\u201d\u2018\u2019\u00ab\u00bb"
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_NUMBER = re.compile(r"\d+")
# A Slack user or channel id written out as plain text (U024BE7LH, C0HOLDS01): a letter for the
# kind, a digit, then capitals and digits, with a letter among them. Never an order reference.
_SLACK_ID = re.compile(r"[UWCGD][0-9][A-Z0-9]{7,10}")
MAX_FOUND = 100  # more than any request holds; a message listing more is cut here


def _visible(text: str) -> str:
    """``text`` without invisible format characters (Unicode category Cf: zero-width spaces
    and joiners, the soft hyphen, bidirectional controls, the word joiner, a BOM): they would
    otherwise cut a reference short (``TS-10\u200b05`` is ``TS-1005`` on screen)."""
    return "".join(char for char in text if unicodedata.category(char) != "Cf")


def _core(word: str) -> str:
    """``word`` without the punctuation and formatting around it."""
    while True:
        core = word.strip(_AROUND)
        if len(core) > 2 and core.startswith("_") and core.endswith("_"):
            core = core[1:-1]
        if core == word:
            return core
        word = core


def refs_in_text(text: str) -> list[str]:
    """The order references in a message's text, in order, each once.

    A word counts when it fits the order grammar and has a digit in it (``TS-1001``, ``100234``):
    plain words also fit the grammar but name no order. Words are separated by spaces, commas
    and semicolons; punctuation and formatting around a word (a sentence's final dot, brackets,
    quotes, ``*bold*``, an italic's underscores) are not part of it, but a word with any other
    character outside the grammar in it (``TS-10é05``, ``TS-1001/2``) is left out whole, never
    cut down to the part that fits. Invisible format characters are removed first. Mentions and
    links (``<…>``), user and channel ids written as plain text, bare numbers shorter than four
    digits ("2 orders") and dates are left out too. At most :data:`MAX_FOUND` are returned.
    """
    plain_text = _MARKUP.sub(" ", _visible(text))
    plain_text = plain_text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    found: list[str] = []
    seen: set[str] = set()
    for raw in _WORDS.split(plain_text):
        if len(found) >= MAX_FOUND:
            break
        word = _core(raw)
        if not looks_like_order(word) or word in seen:
            continue
        if (_NUMBER.fullmatch(word) and len(word) < 4) or _DATE.fullmatch(word):
            continue
        if _SLACK_ID.fullmatch(word) and any(char.isalpha() for char in word[1:]):
            continue
        found.append(word)
        seen.add(word)
    return found
