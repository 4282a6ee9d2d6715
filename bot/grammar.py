"""``/cartrover`` text → a typed command, or a usage error that says what to type instead.

Pure: no Slack, no CartRover. Each subcommand's syntax (usage, summary, parser) is a
:class:`Syntax` constant here; the one table that binds each to the code that answers it is
``handlers.SUBCOMMANDS``, from which routing and help are both generated.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bot.orderref import (
    MAX_ORDERS_PER_COMMAND,
    OrderRefError,
    fits_grammar,
    looks_like_order,
    split_refs,
    unquoted,
    validate_ref,
)
from bot.slack.mrkdwn import one_line
from bot.times import parse_hhmm, parse_zone

__all__ = [
    "DIGEST",
    "HELP",
    "HISTORY",
    "HOLD",
    "PENDING",
    "STALE",
    "STATUS",
    "Command",
    "Syntax",
    "UsageError",
    "parse",
]


class UsageError(ValueError):
    """The text does not fit the grammar; ``str()`` is the message to show, ``usage`` the line."""

    def __init__(self, message: str, usage: str | None = None) -> None:
        super().__init__(message)
        self.usage = usage


@dataclass(frozen=True)
class Command:
    name: str
    refs: tuple[str, ...] = ()
    reason: str = ""
    hours: float | None = None
    action: str = ""  # digest: "", "subscribe", "unsubscribe", "now"
    local_time: str | None = None
    timezone: str | None = None
    # hold: the reason's first word when CartRover might know it as an order (it fits the order
    # grammar though it has no digit); the hold is refused if it does, with the way to tell.
    maybe_order: str = ""
    text: str = field(default="", compare=False)


@dataclass(frozen=True)
class Syntax:
    """How one subcommand is written: its name, a usage line, a summary and its parser."""

    name: str
    usage: str
    summary: str
    parse: Callable[[str], Command]


def parse(text: str, syntaxes: Sequence[Syntax]) -> Command:
    """Parse the text after ``/cartrover`` with ``syntaxes``. Empty text gives ``help``."""
    words = text.strip().split(None, 1)
    if not words:
        return Command("help", text=text)
    name, rest = words[0].lower(), (words[1] if len(words) > 1 else "")
    sub = next((syntax for syntax in syntaxes if syntax.name == name), None)
    if sub is None:
        raise UsageError(f"Unknown subcommand '{_clip(words[0])}'.")
    try:
        return sub.parse(rest)
    except OrderRefError as exc:
        raise UsageError(str(exc), sub.usage) from None
    except UsageError as exc:
        raise UsageError(str(exc), exc.usage or sub.usage) from None


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _no_args(name: str, rest: str) -> None:
    if rest.strip():
        raise UsageError(f"'{name}' takes no arguments.")


def _help(rest: str) -> Command:
    return Command("help", text=rest)


def _status(rest: str) -> Command:
    return Command("status", refs=tuple(split_refs(rest)), text=rest)


# Words that end the orders of a hold explicitly: what follows is the reason.
REASON_MARKS = frozenset({"-", "--", "—", "–", ":"})
_WORD = re.compile(r"\S+")


def _hold(rest: str) -> Command:
    """Orders first, separated by spaces and/or commas; the reason starts at the first word that
    is not an order reference (one without a digit), or after a dash. A comma after an order
    says another follows, digit or not; the first word is always an order."""
    words = list(_WORD.finditer(rest))
    if not words:
        raise UsageError("Name the orders to hold, for example: hold TS-1001 test order")
    parts: list[str] = []
    reason_at, marked = len(rest), False
    more = True  # the first word is an order; so is any word after a comma
    for match in words:
        word = match.group()
        if word in REASON_MARKS:
            reason_at, marked = match.end(), True
            break
        if not (more or "," in word or looks_like_order(word)):
            reason_at = match.start()
            break
        if word.endswith(":"):  # "TS-1002: wrong store"
            parts += [piece for piece in word[:-1].split(",") if piece]
            reason_at, marked = match.end(), True
            break
        parts += [piece for piece in word.split(",") if piece]
        more = word.endswith(",")
    refs = split_refs(" ".join(parts))
    reason = one_line(rest[reason_at:])  # no line breaks, no hidden characters
    if len(reason) > 500:
        raise UsageError("The reason is too long; keep it under 500 characters.")
    first = reason.split(" ", 1)[0] if reason and not marked else ""
    maybe = first if fits_grammar(first) else ""
    return Command("hold", refs=tuple(refs), reason=reason, maybe_order=maybe, text=rest)


def _pending(rest: str) -> Command:
    _no_args("pending", rest)
    return Command("pending", text=rest)


def _history(rest: str) -> Command:
    words = rest.split()
    if len(words) != 1:
        raise UsageError("Name exactly one order, for example: history TS-1001")
    return Command("history", refs=(validate_ref(unquoted(words[0])),), text=rest)


def _stale(rest: str) -> Command:
    words = rest.split()
    if not words:
        return Command("stale", text=rest)
    if len(words) > 1:
        raise UsageError("'stale' takes at most one number of hours, for example: stale 48")
    try:
        hours = float(words[0])
    except ValueError:
        raise UsageError(
            f"'{_clip(words[0])}' is not a number of hours, for example: stale 48"
        ) from None
    if not 0 < hours <= 24 * 365:  # also NaN
        raise UsageError(
            f"'{_clip(words[0])}' hours is out of range: give more than 0 and at most 8760 "
            "(a year), for example: stale 48"
        )
    return Command("stale", hours=hours, text=rest)


def _digest(rest: str) -> Command:
    words = rest.split()
    if not words:
        return Command("digest", text=rest)
    action = words[0].lower()
    if action in ("unsubscribe", "now"):
        _no_args(f"digest {action}", " ".join(words[1:]))
        return Command("digest", action=action, text=rest)
    if action != "subscribe":
        raise UsageError(f"Unknown digest action '{_clip(words[0])}'.")
    local_time = zone = None
    for word in words[1:]:
        if (":" in word or word[:1].isdigit()) and local_time is None:
            try:
                local_time = parse_hhmm(word).strftime("%H:%M")
            except ValueError as exc:
                raise UsageError(str(exc)) from None
        elif zone is None:
            try:
                zone = parse_zone(word).key
            except ValueError as exc:
                raise UsageError(str(exc)) from None
        else:
            raise UsageError(
                "Too many words: give at most a time (09:00) and a zone (Europe/Berlin)."
            )
    return Command("digest", action="subscribe", local_time=local_time, timezone=zone, text=rest)


HELP = Syntax("help", "help", "show this help", _help)
STATUS = Syntax(
    "status",
    "status <order> [<order> …]",
    f"where an order is, in plain words (up to {MAX_ORDERS_PER_COMMAND} orders)",
    _status,
)
HOLD = Syntax(
    "hold",
    "hold <order> [<order> …] [reason words]",
    "a hold request: a second person approves stopping the orders from being sent to the WMS "
    "(never deletes). Orders come first, separated by spaces or commas; the reason starts at "
    "the first word without a digit, or after a dash (hold TS-1002 - 2nd try). An order "
    "without a digit needs a comma before it (hold TS-1002, ABC)",
    _hold,
)
PENDING = Syntax(
    "pending", "pending", "open hold requests, with age, requester and a link", _pending
)
HISTORY = Syntax(
    "history", "history <order>", "what the bot did with an order (audit trail)", _history
)
STALE = Syntax(
    "stale", "stale [hours]", "stale New test orders right now, with 'Request hold for all'", _stale
)
DIGEST = Syntax(
    "digest",
    "digest [subscribe [HH:MM] [Area/City] | unsubscribe | now]",
    "this channel's daily digest of stale test orders",
    _digest,
)
