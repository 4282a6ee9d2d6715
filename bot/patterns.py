"""Regular expressions that cannot hang the bot: ``TEST_ORDER_PATTERN`` is matched with RE2."""

from __future__ import annotations

from typing import Protocol

import re2

__all__ = ["Matcher", "compile_linear"]


class Matcher(Protocol):
    """A compiled pattern: what the stale-order rule needs of it."""

    @property
    def pattern(self) -> str: ...

    def search(self, text: str) -> object | None: ...


def compile_linear(pattern: str) -> Matcher:
    """Compile ``pattern`` for RE2, whose matching time is linear in the text whatever the pattern
    (no catastrophic backtracking). RE2 has no backreferences or lookaround; ``ValueError`` says
    what it refused."""
    options = re2.Options()
    options.log_errors = False  # the error is raised to the caller; RE2 would also print it
    try:
        matcher: Matcher = re2.compile(pattern, options=options)
    except re2.error as exc:
        detail = exc.args[0] if exc.args else exc
        if isinstance(detail, bytes):
            detail = detail.decode("utf-8", "replace")
        raise ValueError(
            f"not a regular expression the bot can use ({detail}); patterns run on RE2, which "
            "matches in linear time and has no backreferences or lookaround"
        ) from None
    return matcher
