"""``/cartrover`` text → a typed command, or a usage error that says what to type instead.

Pure: no Slack, no CartRover. Each subcommand's syntax (usage, summary, parser) is a
:class:`Syntax` constant here; the one table that binds each to the code that answers it is
``handlers.SUBCOMMANDS``, from which routing and help are both generated.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bot.orderref import MAX_ORDERS_PER_COMMAND, OrderRefError, split_refs, validate_ref
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


def _hold(rest: str) -> Command:
    words = rest.strip().split(None, 1)
    if not words:
        raise UsageError("Name the orders to hold, for example: hold TEST-1001 test order")
    refs = split_refs(words[0].replace(",", " "))
    reason = one_line(words[1]) if len(words) > 1 else ""  # no line breaks, no hidden characters
    if len(reason) > 500:
        raise UsageError("The reason is too long; keep it under 500 characters.")
    return Command("hold", refs=tuple(refs), reason=reason, text=rest)


def _pending(rest: str) -> Command:
    _no_args("pending", rest)
    return Command("pending", text=rest)


def _history(rest: str) -> Command:
    words = rest.split()
    if len(words) != 1:
        raise UsageError("Name exactly one order, for example: history TEST-1001")
    return Command("history", refs=(validate_ref(words[0]),), text=rest)


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
    "hold <order>[,<order>…] [reason words]",
    "ask a second person to approve canceling sending to the WMS (never deletes)",
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
