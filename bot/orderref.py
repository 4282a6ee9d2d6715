"""The ``<order>`` grammar of the README's Slash commands.

A CartRover order reference (``cust_ref``) is 1 to 64 letters, digits, ``-``, ``_`` and ``.``, not
starting with ``.``. Nothing else may reach a URL path: no ``/``, ``?``, ``#``, ``%``, whitespace or
dot segment (reliability R4).
"""

from __future__ import annotations

import re

__all__ = ["MAX_ORDERS_PER_COMMAND", "OrderRefError", "split_refs", "validate_ref"]

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
        "Use CartRover's order reference (cust_ref), for example TEST-1001."
    )


def split_refs(text: str, limit: int = MAX_ORDERS_PER_COMMAND) -> list[str]:
    """Split on commas and whitespace, validate each, drop duplicates (order kept)."""
    parts = [p for p in re.split(r"[,\s]+", text.strip()) if p]
    if not parts:
        raise OrderRefError("No order reference given. For example: TEST-1001")
    if len(parts) > limit:
        raise OrderRefError(f"{len(parts)} orders given; at most {limit} at a time.")
    refs: list[str] = []
    for part in parts:
        ref = validate_ref(part)
        if ref not in refs:
            refs.append(ref)
    return refs
