"""Configuration: every variable of the README's Configuration table, validated once at start-up.

``Settings.load()`` is the only reader of ``os.environ`` (and of an optional ``.env`` file in the
working directory). A malformed value raises :class:`ConfigError` naming the variable and what is
expected; a value that only some commands need is checked by :meth:`Settings.require`, so ``demo``
and ``sandbox`` start with nothing configured. Secrets are ``SecretStr``: hidden from ``repr``,
logs and exception text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from datetime import time
from typing import Annotated, Any
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from bot.log import JSON_KEYS, SLACK_HOOKS_ORIGIN
from bot.logcontext import CONTEXT_KEYS
from bot.patterns import Matcher, compile_linear
from bot.settings_words import describe
from bot.times import WEEKDAYS, days_words, parse_days, parse_hhmm, parse_zone
from bot.words import agree, listing

__all__ = ["SLACK_HOOKS_ORIGIN", "ConfigError", "Settings", "url_origin"]

_USER_OR_GROUP = re.compile(r"^[UWS][A-Z0-9]{2,}$")
_CHANNEL = re.compile(r"^[CGD][A-Z0-9]{2,}$")
_APP = re.compile(r"^A[A-Z0-9]{2,}$")
_JSON_KEY = re.compile(r"^[A-Za-z_@][A-Za-z0-9_.@-]{0,63}$")

# What each command needs beyond the always-validated values.
NEEDS: dict[str, tuple[str, ...]] = {
    "serve": ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "CARTROVER_API_USER", "CARTROVER_API_KEY"),
    "socket": ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "CARTROVER_API_USER", "CARTROVER_API_KEY"),
    "clock": ("SLACK_BOT_TOKEN", "CARTROVER_API_USER", "CARTROVER_API_KEY"),
    "digest": ("CARTROVER_API_USER", "CARTROVER_API_KEY"),
    "check": (),
    "migrate": (),
    "demo": (),
    "sandbox": (),
}
# The runners that carry out approved holds also need the cancel call's own keys, unless they run
# in shadow mode: the cancel is a Cart API call, and there is no fallback to the merchant keys.
CANCEL_KEYS = ("CARTROVER_CANCEL_API_USER", "CARTROVER_CANCEL_API_KEY")
RUNNERS = ("serve", "socket", "clock")
CANCEL_KEYS_HELP = (
    "the cancel call is a Cart API call, so these are Cart API keys, not the Merchant API keys: "
    "in CartRover, Carts → your API cart → API Access; or set SHADOW_MODE=true to run everything "
    "but the cancel itself"
)


class ConfigError(Exception):
    """A configuration value is missing or malformed; the message names the variable, and
    ``variables`` (lower case, as settings fields) lists the malformed ones."""

    def __init__(self, message: str, variables: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.variables = variables


def _split(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return tuple(str(part).strip() for part in value)


_MAPPING_ONLY: ContextVar[bool] = ContextVar("settings_mapping_only", default=False)

CsvList = Annotated[tuple[str, ...], NoDecode]


class Settings(BaseSettings):
    """Typed, frozen configuration. Field names are the variable names in lower case."""

    model_config = SettingsConfigDict(
        frozen=True,
        case_sensitive=False,
        extra="ignore",
        env_file=".env",
        env_file_encoding="utf-8",
        hide_input_in_errors=True,
    )

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    cartrover_api_url: str = "https://api.cartrover.com"
    cartrover_api_user: str | None = None
    cartrover_api_key: SecretStr | None = None
    cartrover_cancel_api_user: str | None = None
    cartrover_cancel_api_key: SecretStr | None = None
    database_url: str = "sqlite:///cartrover-bot.db"
    approvers: CsvList = ()
    allow_self_approval: bool = False
    approval_channel: str | None = None
    hold_request_ttl_hours: float = Field(default=24.0, gt=0, le=24 * 365)
    digest_channel: str | None = None
    digest_time: str = "09:00"
    timezone: str = "UTC"
    stale_after_hours: float = Field(default=24.0, gt=0, le=24 * 365)
    test_order_sources: CsvList = ()
    test_order_pattern: str | None = None
    port: int = Field(default=3000, ge=1, le=65535)
    health_port: int | None = Field(default=None, ge=1, le=65535)
    log_level: str = "INFO"
    log_format: str = "text"
    log_level_key: str = "level"
    slack_app_id: str | None = None
    notify_approvers: str = "mention"
    digest_days: str = "every day"
    shadow_mode: bool = False
    # Not an operator setting: read only so that bolt's silent switch to OAuth can be refused.
    slack_client_id: str | None = None
    slack_client_secret: SecretStr | None = None
    # Not an operator setting: Heroku sets it on every dyno (check: SQLite is no use there).
    dyno: str | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _strip(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            return value or None
        return value

    @field_validator("approvers", "test_order_sources", mode="before")
    @classmethod
    def _csv(cls, value: Any) -> tuple[str, ...]:
        return _split(value)

    @field_validator("approvers")
    @classmethod
    def _approver_ids(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [v for v in value if not _USER_OR_GROUP.match(v)]
        if bad:
            what = agree(len(bad), "is not a Slack user id", "are not Slack user ids")
            groups = agree(len(bad), "user group id", "user group ids")
            raise ValueError(
                f"{listing(bad)} {what} (U…/W…) or {groups} (S…); "
                "use ids, not names, for example U0123ABCD,S0456EFGH"
            )
        return value

    @field_validator("approval_channel", "digest_channel")
    @classmethod
    def _channel_id(cls, value: str | None) -> str | None:
        if value is not None and not _CHANNEL.match(value):
            raise ValueError(
                f"{value!r} is not a Slack channel id; use the id (for example C0123ABCD), "
                "not the channel name"
            )
        return value

    @field_validator("digest_time")
    @classmethod
    def _digest_time(cls, value: str) -> str:
        return parse_hhmm(value).strftime("%H:%M")

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        parse_zone(value)
        return value

    @field_validator("test_order_pattern")
    @classmethod
    def _pattern(cls, value: str | None) -> str | None:
        if value is not None:
            compile_linear(value)
        return value

    @field_validator("slack_app_id")
    @classmethod
    def _app_id(cls, value: str | None) -> str | None:
        if value is not None and not _APP.match(value):
            raise ValueError(
                f"{value!r} is not a Slack app id; copy the App ID (A…) from the app's "
                "Basic Information page, for example A0123ABCD"
            )
        return value

    @field_validator("notify_approvers")
    @classmethod
    def _notify_approvers(cls, value: str) -> str:
        if value.lower() not in ("mention", "dm", "off"):
            raise ValueError(
                "expected mention (the approvers' group or users on the card), dm (a direct "
                "message to each) or off"
            )
        return value.lower()

    @field_validator("digest_days")
    @classmethod
    def _digest_days(cls, value: str) -> str:
        days = parse_days(value)
        return days_words(days) if len(days) == 7 else ",".join(WEEKDAYS[d] for d in sorted(days))

    @field_validator("log_format")
    @classmethod
    def _log_format(cls, value: str) -> str:
        if value.lower() not in ("text", "json"):
            raise ValueError("expected text or json")
        return value.lower()

    @field_validator("log_level_key")
    @classmethod
    def _log_level_key(cls, value: str) -> str:
        taken = (*JSON_KEYS, *CONTEXT_KEYS)
        if not _JSON_KEY.match(value) or value in taken:
            raise ValueError(
                "expected the name of the JSON key for the level, for example level or severity "
                "(letters, digits, _ . @ -, at most 64), and not one a log line uses already: "
                + ", ".join(taken)
            )
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        scheme = urlsplit(value).scheme
        if scheme not in ("sqlite", "postgres", "postgresql"):
            raise ValueError("expected sqlite:///path/to/file.db or postgresql://user@host/dbname")
        if scheme == "sqlite" and not value.startswith("sqlite:///"):
            raise ValueError("expected sqlite:///path/to/file.db (three slashes)")
        return value

    @field_validator("slack_api_url", "cartrover_api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("expected an http(s) URL, for example https://api.cartrover.com")
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        level = value.upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError("expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xoxb-"):
            raise ValueError("expected a bot token starting with xoxb-")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xapp-"):
            raise ValueError("expected an app-level token starting with xapp-")
        return value

    # ------------------------------------------------------------------ construction

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        if _MAPPING_ONLY.get():
            return (init_settings,)
        return (init_settings, env_settings, dotenv_settings)

    @classmethod
    def load(
        cls,
        environ: Mapping[str, str] | None = None,
        env_file: str | None = ".env",
        *,
        defaults_for: tuple[str, ...] = (),
    ) -> Settings:
        """Build from ``environ`` (default: the process environment) and ``env_file``;
        ``defaults_for`` (fields) take their defaults whatever is set, so that ``check`` can go
        on past a malformed value."""
        defaults = {name: cls.model_fields[name].default for name in defaults_for}
        try:
            if environ is None:
                return cls(_env_file=env_file, **defaults)  # type: ignore[call-arg]
            token = _MAPPING_ONLY.set(True)  # the mapping is the whole truth: no env, no .env
            try:
                values: dict[str, Any] = {k.lower(): v for k, v in environ.items()}
                return cls(**{**values, **defaults})
            finally:
                _MAPPING_ONLY.reset(token)
        except ValidationError as exc:
            fields = tuple(dict.fromkeys(str(e["loc"][0]) for e in exc.errors() if e["loc"]))
            raise ConfigError(describe(exc), fields) from None

    def require(self, command: str) -> Settings:
        """Raise :class:`ConfigError` unless everything ``command`` needs is set."""
        needs = NEEDS.get(command, ())
        if command in RUNNERS and not self.shadow_mode:
            needs += CANCEL_KEYS
        missing = [name for name in needs if getattr(self, name.lower()) is None]
        if missing:
            count = len(missing)
            cancel = f" ({CANCEL_KEYS_HELP})" if set(missing) & set(CANCEL_KEYS) else ""
            raise ConfigError(
                f"{listing(missing)} {agree(count, 'is', 'are')} required for "
                f"'cartrover-bot {command}'{cancel}; set {agree(count, 'it', 'them')} in the "
                "environment or in .env"
            )
        if (
            command in ("serve", "socket", "clock")
            and self.slack_client_id
            and (self.slack_client_secret)
        ):
            raise ConfigError(
                "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET are set: cartrover-bot is a "
                "single-workspace bot using SLACK_BOT_TOKEN and does not support OAuth installs; "
                "unset both"
            )
        return self

    # ------------------------------------------------------------------ derived values

    @property
    def zone(self) -> ZoneInfo:
        return parse_zone(self.timezone)

    @property
    def digest_weekdays(self) -> frozenset[int]:
        """``DIGEST_DAYS`` as weekday numbers (Monday 0)."""
        return parse_days(self.digest_days)

    @property
    def digest_clock_time(self) -> time:
        return parse_hhmm(self.digest_time)

    @property
    def test_order_regex(self) -> Matcher | None:
        """``TEST_ORDER_PATTERN`` compiled for linear-time matching (``search``: anywhere)."""
        return compile_linear(self.test_order_pattern) if self.test_order_pattern else None

    @property
    def response_url_origins(self) -> tuple[str, ...]:
        """Where a ``response_url`` may point: Slack's hooks host over https, and the origin of
        ``SLACK_API_URL`` (an Enterprise Grid or GovSlack proxy, or a local Slack in tests)."""
        api = url_origin(self.slack_api_url)
        return tuple(dict.fromkeys(o for o in (SLACK_HOOKS_ORIGIN, api) if o))

    @property
    def cancel_credentials(self) -> tuple[str | None, SecretStr | None]:
        """The pair for ``wms_cancel`` (a Cart API call): the cancel pair when both are set, else
        ``(None, None)``. Never the merchant pair: CartRover keeps separate keys per API level."""
        if self.cartrover_cancel_api_user and self.cartrover_cancel_api_key:
            return self.cartrover_cancel_api_user, self.cartrover_cancel_api_key
        return None, None

    def secrets(self) -> list[str]:
        """Every secret value that is set, for the redacting log filter."""
        values = [
            self.slack_bot_token,
            self.slack_signing_secret,
            self.slack_app_token,
            self.cartrover_api_key,
            self.cartrover_cancel_api_key,
            self.slack_client_secret,
        ]
        found = [v.get_secret_value() for v in values if v is not None and v.get_secret_value()]
        password = urlsplit(self.database_url).password  # as written, and percent-decoded
        return [*found, *dict.fromkeys((password, unquote(password)))] if password else found

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        """pydantic's repr/str arguments, with the password in DATABASE_URL hidden."""
        for name, value in super().__repr_args__():
            parts = urlsplit(value) if name == "database_url" else None
            if parts is not None and parts.password:
                hidden = f"{parts.username or ''}:**********@{parts.netloc.rpartition('@')[2]}"
                yield name, parts._replace(netloc=hidden).geturl()
            else:
                yield name, value


def url_origin(url: str) -> str | None:
    """``scheme://host[:port]`` of an http(s) URL, lower-cased, default port left out."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username is not None:
        return None
    default = 443 if parts.scheme == "https" else 80
    netloc = parts.hostname if port in (None, default) else f"{parts.hostname}:{port}"
    return f"{parts.scheme}://{netloc}"
