"""Configuration: every variable of the README's Configuration table, validated once at start-up.

``Settings.load()`` is the only reader of ``os.environ`` (and of an optional ``.env`` file in the
working directory). A malformed value raises :class:`ConfigError` naming the variable and what is
expected; a value that only some commands need is checked by :meth:`Settings.require`, so ``demo``
and ``sandbox`` start with nothing configured. Secrets are ``SecretStr``: hidden from ``repr``,
logs and exception text.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from datetime import time
from typing import Any
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bot.log import SLACK_HOOKS_ORIGIN
from bot.patterns import Matcher, compile_linear
from bot.settings_values import (
    AppId,
    AppToken,
    BotToken,
    ChannelId,
    DatabaseUrl,
    DigestDays,
    DigestTime,
    HttpUrl,
    LogFormat,
    LogLevel,
    LogLevelKey,
    NotifyApprovers,
    PeopleIds,
    Sources,
    TestOrderPattern,
    TimeZoneName,
)
from bot.settings_words import describe
from bot.times import parse_days, parse_hhmm, parse_zone
from bot.words import agree, listing

__all__ = ["SLACK_HOOKS_ORIGIN", "ConfigError", "Settings", "url_origin"]

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


_MAPPING_ONLY: ContextVar[bool] = ContextVar("settings_mapping_only", default=False)


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

    slack_bot_token: BotToken | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: AppToken | None = None
    slack_api_url: HttpUrl = "https://slack.com/api/"
    cartrover_api_url: HttpUrl = "https://api.cartrover.com"
    cartrover_api_user: str | None = None
    cartrover_api_key: SecretStr | None = None
    cartrover_cancel_api_user: str | None = None
    cartrover_cancel_api_key: SecretStr | None = None
    database_url: DatabaseUrl = "sqlite:///cartrover-bot.db"
    approvers: PeopleIds = ()
    allow_self_approval: bool = False
    approval_channel: ChannelId | None = None
    hold_request_ttl_hours: float = Field(default=24.0, gt=0, le=24 * 365)
    digest_channel: ChannelId | None = None
    digest_time: DigestTime = "09:00"
    timezone: TimeZoneName = "UTC"
    stale_after_hours: float = Field(default=24.0, gt=0, le=24 * 365)
    test_order_sources: Sources = ()
    test_order_pattern: TestOrderPattern | None = None
    port: int = Field(default=3000, ge=1, le=65535)
    health_port: int | None = Field(default=None, ge=1, le=65535)
    log_level: LogLevel = "INFO"
    log_format: LogFormat = "text"
    log_level_key: LogLevelKey = "level"
    slack_app_id: AppId | None = None
    notify_approvers: NotifyApprovers = "mention"
    digest_days: DigestDays = "every day"
    shadow_mode: bool = False
    # Not an operator setting: read only so that bolt's silent switch to OAuth can be refused.
    slack_client_id: str | None = None
    slack_client_secret: SecretStr | None = None
    # Not an operator setting: Heroku sets it on every dyno (check: SQLite is no use there).
    dyno: str | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _strip(cls, value: Any) -> Any:
        """Surrounding blanks are dropped, and a blank value counts as unset."""
        if isinstance(value, str):
            value = value.strip()
            return value or None
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
        if command in RUNNERS and self.slack_client_id and self.slack_client_secret:
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
