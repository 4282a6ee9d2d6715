"""Time: the injectable clock, ages, times of day and zones. Nothing here reads the wall clock
but :class:`SystemClock`."""

from __future__ import annotations

import functools
import re
import threading
from datetime import UTC, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.words import listing

__all__ = [
    "WEEKDAYS",
    "Clock",
    "FrozenClock",
    "SystemClock",
    "ago",
    "days_words",
    "format_age",
    "hours",
    "old",
    "parse_days",
    "parse_hhmm",
    "parse_zone",
    "time_left",
    "zone_or_none",
]


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock that moves only when told to: for tests, benchmarks and the demo."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._now += delta
            return self._now

    def set(self, when: datetime) -> None:
        with self._lock:
            self._now = when.astimezone(UTC)


def format_age(delta: timedelta) -> str:
    """The one way the bot says how long: ``under a minute``, ``45m``, ``5h 30m``, ``14h``,
    ``1d 21h``, ``3d``. Days from 24 hours on, so a list never shows ``45h`` beside ``2d 2h``."""
    minutes = max(int(delta.total_seconds() // 60), 0)
    if minutes < 1:
        return "under a minute"
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h" if hours >= 10 or not minutes else f"{hours}h {minutes}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h" if hours else f"{days}d"


def hours(count: float) -> str:
    """A number of hours as configured (``HOLD_REQUEST_TTL_HOURS``, ``STALE_AFTER_HOURS``):
    ``24 hours``, ``1 hour``, ``0.5 hours``."""
    return f"{count:g} {'hour' if count == 1 else 'hours'}"


def old(delta: timedelta) -> str:
    """An age: ``45m old``, ``under a minute old``."""
    return f"{format_age(delta)} old"


def ago(delta: timedelta) -> str:
    """When something happened: ``45m ago``; ``just now`` under a minute."""
    return "just now" if delta < timedelta(minutes=1) else f"{format_age(delta)} ago"


def time_left(delta: timedelta) -> str:
    """How long until something happens: ``in 2h 24m``; ``in under a minute``; ``now``."""
    return "now" if delta <= timedelta() else f"in {format_age(delta)}"


_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def parse_hhmm(text: str) -> time:
    """``"9:05"`` or ``"09:05"`` → ``time(9, 5)``; anything else raises ``ValueError``."""
    match = _HHMM.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a time of day; expected HH:MM, for example 09:00")
    return time(int(match.group(1)), int(match.group(2)))


def parse_zone(name: str) -> ZoneInfo:
    """An IANA zone name → ``ZoneInfo``, in any letter case (``europe/berlin`` is
    ``Europe/Berlin``); an unknown name raises ``ValueError``."""
    try:
        if not name or name.startswith(("/", ".")) or ".." in name:
            raise ValueError
        canonical = _zone_names().get(name.lower(), name)
        return ZoneInfo(canonical)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a tzdata folder ("Europe")
        raise ValueError(
            f"{name!r} is not a known IANA time zone; expected a name like Europe/Berlin or UTC"
        ) from None


def zone_or_none(name: str) -> ZoneInfo | None:
    """:func:`parse_zone`, or None for a name it refuses: a subscription's stored zone, whose
    times are then shown in their own zone rather than refused."""
    try:
        return parse_zone(name)
    except ValueError:
        return None


@functools.cache
def _zone_names() -> dict[str, str]:
    """Every IANA zone name by its lower-case spelling."""
    return {zone.lower(): zone for zone in available_timezones()}


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # as datetime.weekday() numbers them
_EVERY_DAY = ("", "daily", "every day", "everyday", "all")


def parse_days(text: str) -> frozenset[int]:
    """Days of the week (``DIGEST_DAYS``) → weekday numbers (Monday 0): ``mon-fri``,
    ``mon,wed,fri``, ``sat-sun``, ``fri-mon`` (wrapping), ``every day``; names in any case,
    three letters or whole. Anything else raises ``ValueError``."""
    compact = text.strip().lower()
    if compact in _EVERY_DAY:
        return frozenset(range(7))
    days: set[int] = set()
    for part in compact.replace(" ", "").split(","):
        first, _, last = part.partition("-")
        start, end = _weekday(first), _weekday(last) if last else None
        if end is None:
            days.add(start)
            continue
        day = start
        while True:
            days.add(day)
            if day == end:
                break
            day = (day + 1) % 7
    return frozenset(days)


def _weekday(word: str) -> int:
    name = word[:3]
    if name not in WEEKDAYS or not (len(word) == 3 or _FULL_NAMES[name].startswith(word)):
        raise ValueError(
            f"{word!r} is not a day of the week; expected days like mon-fri, mon,wed,fri or "
            "every day"
        )
    return WEEKDAYS.index(name)


_FULL_NAMES = dict(
    zip(
        WEEKDAYS,
        ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"),
        strict=True,
    )
)


def days_words(days: frozenset[int]) -> str:
    """Weekday numbers in words: ``every day``, ``mon-fri``, ``mon, wed and fri``."""
    if len(days) == 7:
        return "every day"
    ordered = sorted(days)
    if ordered and ordered == list(range(ordered[0], ordered[-1] + 1)) and len(ordered) > 2:
        return f"{WEEKDAYS[ordered[0]]}-{WEEKDAYS[ordered[-1]]}"
    return listing([WEEKDAYS[day] for day in ordered])
