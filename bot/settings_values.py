"""What a well-formed value of each configuration variable looks like: one annotated type per kind
of value, so that :class:`bot.settings.Settings` reads as the table of variables it is.

Each check raises ``ValueError`` with what is expected, in the operator's words;
:func:`bot.settings_words.describe` puts the variable's name in front. The value itself is never
repeated, since a secret pasted into the wrong variable must not be shown.
"""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, SecretStr
from pydantic_settings import NoDecode

from bot.log import JSON_KEYS
from bot.logcontext import CONTEXT_KEYS
from bot.patterns import compile_linear
from bot.times import WEEKDAYS, days_words, parse_days, parse_hhmm, parse_zone
from bot.words import agree, listing

__all__ = [
    "AppId",
    "AppToken",
    "BotToken",
    "ChannelId",
    "DatabaseUrl",
    "DigestDays",
    "DigestTime",
    "HttpUrl",
    "LogFormat",
    "LogLevel",
    "LogLevelKey",
    "NotifyApprovers",
    "PeopleIds",
    "Sources",
    "TestOrderPattern",
    "TimeZoneName",
]

_USER_OR_GROUP = re.compile(r"^[UWS][A-Z0-9]{2,}$")
_CHANNEL = re.compile(r"^[CGD][A-Z0-9]{2,}$")
_APP = re.compile(r"^A[A-Z0-9]{2,}$")
_JSON_KEY = re.compile(r"^[A-Za-z_@][A-Za-z0-9_.@-]{0,63}$")


def _split(value: Any) -> tuple[str, ...]:
    """A comma-separated list (or a sequence) as a tuple of non-empty, stripped parts."""
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return tuple(str(part).strip() for part in value)


def _people(value: tuple[str, ...]) -> tuple[str, ...]:
    bad = [v for v in value if not _USER_OR_GROUP.match(v)]
    if bad:
        what = agree(len(bad), "is not a Slack user id", "are not Slack user ids")
        groups = agree(len(bad), "user group id", "user group ids")
        raise ValueError(
            f"{listing(bad)} {what} (U…/W…) or {groups} (S…); "
            "use ids, not names, for example U0123ABCD,S0456EFGH"
        )
    return value


def _channel(value: str) -> str:
    if not _CHANNEL.match(value):
        raise ValueError(
            f"{value!r} is not a Slack channel id; use the id (for example C0123ABCD), "
            "not the channel name"
        )
    return value


def _app(value: str) -> str:
    if not _APP.match(value):
        raise ValueError(
            f"{value!r} is not a Slack app id; copy the App ID (A…) from the app's "
            "Basic Information page, for example A0123ABCD"
        )
    return value


def _zone(value: str) -> str:
    parse_zone(value)
    return value


def _pattern(value: str) -> str:
    compile_linear(value)
    return value


def _notify(value: str) -> str:
    if value.lower() not in ("mention", "dm", "off"):
        raise ValueError(
            "expected mention (the approvers' group or users on the card), dm (a direct "
            "message to each) or off"
        )
    return value.lower()


def _days(value: str) -> str:
    days = parse_days(value)
    return days_words(days) if len(days) == 7 else ",".join(WEEKDAYS[d] for d in sorted(days))


def _log_format(value: str) -> str:
    if value.lower() not in ("text", "json"):
        raise ValueError("expected text or json")
    return value.lower()


def _level_key(value: str) -> str:
    taken = (*JSON_KEYS, *CONTEXT_KEYS)
    if not _JSON_KEY.match(value) or value in taken:
        raise ValueError(
            "expected the name of the JSON key for the level, for example level or severity "
            "(letters, digits, _ . @ -, at most 64), and not one a log line uses already: "
            + ", ".join(taken)
        )
    return value


def _database(value: str) -> str:
    scheme = urlsplit(value).scheme
    if scheme not in ("sqlite", "postgres", "postgresql"):
        raise ValueError("expected sqlite:///path/to/file.db or postgresql://user@host/dbname")
    if scheme == "sqlite" and not value.startswith("sqlite:///"):
        raise ValueError("expected sqlite:///path/to/file.db (three slashes)")
    return value


def _http(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("expected an http(s) URL, for example https://api.cartrover.com")
    return value


def _level(value: str) -> str:
    level = value.upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ValueError("expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
    return level


def _token(prefix: str, what: str) -> AfterValidator:
    def check(value: SecretStr) -> SecretStr:
        if not value.get_secret_value().startswith(prefix):
            raise ValueError(f"expected {what} starting with {prefix}")
        return value

    return AfterValidator(check)


Sources = Annotated[tuple[str, ...], NoDecode, BeforeValidator(_split)]
PeopleIds = Annotated[tuple[str, ...], NoDecode, BeforeValidator(_split), AfterValidator(_people)]
ChannelId = Annotated[str, AfterValidator(_channel)]
AppId = Annotated[str, AfterValidator(_app)]
DigestTime = Annotated[str, AfterValidator(lambda v: parse_hhmm(v).strftime("%H:%M"))]
TimeZoneName = Annotated[str, AfterValidator(_zone)]
TestOrderPattern = Annotated[str, AfterValidator(_pattern)]
NotifyApprovers = Annotated[str, AfterValidator(_notify)]
DigestDays = Annotated[str, AfterValidator(_days)]
LogFormat = Annotated[str, AfterValidator(_log_format)]
LogLevel = Annotated[str, AfterValidator(_level)]
LogLevelKey = Annotated[str, AfterValidator(_level_key)]
DatabaseUrl = Annotated[str, AfterValidator(_database)]
HttpUrl = Annotated[str, AfterValidator(_http)]
BotToken = Annotated[SecretStr, _token("xoxb-", "a bot token")]
AppToken = Annotated[SecretStr, _token("xapp-", "an app-level token")]
