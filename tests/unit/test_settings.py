"""Configuration: the variables of the README's Configuration, validated at start-up (R35, R39)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.settings import ConfigError, Settings
from bot.times import parse_hhmm, parse_zone

# The operator contract's variables (the README's Configuration), copied verbatim (meaning column
# shortened; the cancel pair's row split in two to fit a line) so that a drift of either side is
# caught.
INTERFACE_TABLE = """
| `SLACK_BOT_TOKEN` | — (required to talk to Slack) | bot token `xoxb-...` |
| `SLACK_SIGNING_SECRET` | — (required for `serve`) | verifies every request from Slack |
| `SLACK_APP_TOKEN` | — (required for `socket`) | app-level token `xapp-...` for Socket Mode |
| `SLACK_API_URL` | `https://slack.com/api/` | Slack Web API base URL |
| `CARTROVER_API_URL` | `https://api.cartrover.com` | CartRover API base URL |
| `CARTROVER_API_USER`, `CARTROVER_API_KEY` | — (required) | Merchant-level API credentials |
| `CARTROVER_CANCEL_API_USER` | — (required unless `SHADOW_MODE`) | Cart API user (cancel) |
| `CARTROVER_CANCEL_API_KEY` | — (required unless `SHADOW_MODE`) | Cart API key (cancel) |
| `SHADOW_MODE` | `false` | run everything except the cancel itself |
| `DATABASE_URL` | `sqlite:///cartrover-bot.db` | `sqlite:///path` or `postgresql://...` |
| `APPROVERS` | — (no one may approve) | comma-separated Slack user ids and user group ids |
| `ALLOW_SELF_APPROVAL` | `false` | let a requester approve their own hold |
| `APPROVAL_CHANNEL` | — | post every hold request there instead of the command's channel |
| `HOLD_REQUEST_TTL_HOURS` | `24` | when an undecided request expires (decimals allowed) |
| `DIGEST_CHANNEL` | — | a channel id subscribed to the digest from start-up |
| `DIGEST_TIME` | `09:00` | default local time of the daily digest |
| `TIMEZONE` | `UTC` | default IANA time zone for digests |
| `STALE_AFTER_HOURS` | `24` | age after which a New test order is stale (decimals allowed) |
| `TEST_ORDER_SOURCES` | — | comma-separated `order_source` names that hold test orders |
| `TEST_ORDER_PATTERN` | — | regular expression for test `cust_ref` / `cust_po_no` |
| `PORT` | `3000` | HTTP port for `serve` |
| `LOG_LEVEL` | `INFO` | logging level; secrets never appear in logs at any level |
| `LOG_FORMAT` | `text` | `text` or `json` (one JSON object a line, for log shippers) |
| `SLACK_APP_ID` | learned from Slack at start-up | the app's id (`A…`) |
| `NOTIFY_APPROVERS` | `mention` | `mention`, `dm`, or `off` |
| `DIGEST_DAYS` | every day | days the digest runs, e.g. `mon-fri` |
| `HEALTH_PORT` | — | for `socket` and `clock`: serve `/livez` and `/readyz` on this port |
| `LOG_LEVEL_KEY` | `level` | the JSON key of the level in `LOG_FORMAT=json` (e.g. `severity`) |
"""


def spec_defaults() -> dict[str, str]:
    """Variable → its default as the table writes it: the backticked value, or "—"."""
    table: dict[str, str] = {}
    for row in INTERFACE_TABLE.strip().splitlines():
        names, default = (cell.strip() for cell in row.strip("|").split("|")[:2])
        value = re.match(r"`([^`]*)`", default)
        shown = value.group(1) if value else default.split(" (")[0]
        for name in re.findall(r"`([A-Z_]+)`", names):
            table[name] = shown
    return table


SPEC = spec_defaults()
# Read only to refuse OAuth (R39), and Heroku's own DYNO (check: SQLite is no use there).
NOT_IN_SPEC = {"SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "DYNO"}


def as_spec_text(value: object) -> str:
    if value is None or value == ():
        return "—"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def test_the_spec_table_was_read() -> None:
    """The copied table yields its 29 variables (a guard for the parser below)."""
    assert len(SPEC) == 29
    assert SPEC["DIGEST_TIME"] == "09:00"
    assert SPEC["CARTROVER_CANCEL_API_KEY"] == "—"
    assert SPEC["SHADOW_MODE"] == "false"


def test_settings_have_exactly_the_variables_of_the_readme() -> None:
    """Every table variable is a setting and every setting is a table variable (or the OAuth
    guard)."""
    fields = {name.upper() for name in Settings.model_fields}
    assert fields - NOT_IN_SPEC == set(SPEC)


@pytest.mark.parametrize("name", sorted(SPEC))
def test_every_variable_has_its_readme_default(name: str) -> None:
    """With nothing configured each variable takes exactly the default the table gives it."""
    settings = Settings.load()
    value = getattr(settings, name.lower())
    if SPEC[name] in ("the pair above", "learned from Slack at start-up"):
        assert value is None
    else:
        assert as_spec_text(value) == SPEC[name]


def test_a_mapping_gives_the_same_defaults_as_the_environment() -> None:
    """Settings.load({}) and Settings.load() agree when nothing is configured."""
    assert Settings.load({}) == Settings.load()


def test_valid_values_are_parsed_and_normalised() -> None:
    """Lists are split and trimmed, times padded, levels upper-cased, decimals kept."""
    settings = Settings.load(
        {
            "APPROVERS": " U0123ABCD, W0456EFGH ,S0789IJKL,",
            "TEST_ORDER_SOURCES": "Test Shop, Sandbox",
            "DIGEST_TIME": "7:05",
            "LOG_LEVEL": "debug",
            "LOG_FORMAT": "JSON",
            "LOG_LEVEL_KEY": "severity",
            "SLACK_APP_ID": "A0123ABCD",
            "HOLD_REQUEST_TTL_HOURS": "0.5",
            "STALE_AFTER_HOURS": "36.5",
            "ALLOW_SELF_APPROVAL": "true",
            "TIMEZONE": "Europe/Berlin",
            "TEST_ORDER_PATTERN": r"^TEST-\d+$",
            "DATABASE_URL": "postgresql://bot@db.example/cartrover",
            "APPROVAL_CHANNEL": "C0123ABCD",
            "DIGEST_CHANNEL": "G0123ABCD",
            "PORT": "8080",
        }
    )
    assert settings.approvers == ("U0123ABCD", "W0456EFGH", "S0789IJKL")
    assert settings.test_order_sources == ("Test Shop", "Sandbox")
    assert settings.digest_time == "07:05"
    assert settings.log_level == "DEBUG"
    assert settings.log_format == "json"
    assert settings.log_level_key == "severity"
    assert settings.slack_app_id == "A0123ABCD"
    assert settings.hold_request_ttl_hours == 0.5
    assert settings.stale_after_hours == 36.5
    assert settings.allow_self_approval is True
    assert settings.zone.key == "Europe/Berlin"
    assert settings.test_order_regex is not None
    assert settings.test_order_regex.match("TEST-12")
    assert settings.port == 8080


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SLACK_BOT_TOKEN", "xoxp-123-456"),
        ("SLACK_BOT_TOKEN", "not-a-token"),
        ("SLACK_APP_TOKEN", "xoxb-123-456"),
        ("SLACK_APP_TOKEN", "app-123"),
        ("APPROVERS", "alice"),
        ("APPROVERS", "U0123ABCD,@bob"),
        ("APPROVERS", "C0123ABCD"),
        ("APPROVAL_CHANNEL", "#holds"),
        ("APPROVAL_CHANNEL", "holds"),
        ("DIGEST_CHANNEL", "general"),
        ("DIGEST_CHANNEL", "U0123ABCD"),
        ("TIMEZONE", "Mars/Base"),
        ("TIMEZONE", "Europe"),
        ("TIMEZONE", "../../etc/passwd"),
        ("DIGEST_TIME", "25:00"),
        ("DIGEST_TIME", "9am"),
        ("TEST_ORDER_PATTERN", "(unclosed"),
        ("TEST_ORDER_PATTERN", "(?=TEST)T"),
        ("TEST_ORDER_PATTERN", r"(T)\1"),
        ("LOG_FORMAT", "xml"),
        ("LOG_LEVEL_KEY", "log level"),
        ("LOG_LEVEL_KEY", "message"),
        ("LOG_LEVEL_KEY", "request"),
        ("LOG_LEVEL_KEY", "x" * 65),
        ("SLACK_APP_ID", "cartrover"),
        ("SLACK_APP_ID", "U0123ABCD"),
        ("DATABASE_URL", "mysql://u@h/db"),
        ("DATABASE_URL", "sqlite://relative.db"),
        ("DATABASE_URL", "cartrover.db"),
        ("HOLD_REQUEST_TTL_HOURS", "0"),
        ("HOLD_REQUEST_TTL_HOURS", "-1"),
        ("HOLD_REQUEST_TTL_HOURS", "a day"),
        ("HOLD_REQUEST_TTL_HOURS", "nan"),
        ("STALE_AFTER_HOURS", "0"),
        ("STALE_AFTER_HOURS", "-0.5"),
        ("STALE_AFTER_HOURS", "abc"),
        ("STALE_AFTER_HOURS", "inf"),
        ("PORT", "0"),
        ("PORT", "70000"),
        ("PORT", "http"),
        ("LOG_LEVEL", "loud"),
        ("ALLOW_SELF_APPROVAL", "maybe"),
        ("SLACK_API_URL", "slack.com/api"),
        ("CARTROVER_API_URL", "ftp://api.cartrover.com"),
    ],
)
def test_a_malformed_value_is_a_config_error_naming_the_variable(name: str, value: str) -> None:
    """Each malformed value of R35 raises ConfigError whose message names the variable."""
    with pytest.raises(ConfigError) as refused:
        Settings.load({name: value})
    assert f"{name}:" in str(refused.value)


def test_malformed_values_in_the_environment_are_config_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Settings.load() turns a bad environment variable into a ConfigError naming it."""
    monkeypatch.setenv("TIMEZONE", "Nowhere/Special")
    with pytest.raises(ConfigError, match="TIMEZONE"):
        Settings.load()


def test_several_malformed_values_are_all_named() -> None:
    """One ConfigError names every malformed variable at once."""
    with pytest.raises(ConfigError) as refused:
        Settings.load({"PORT": "x", "DIGEST_TIME": "99:99", "APPROVERS": "bob"})
    for name in ("PORT", "DIGEST_TIME", "APPROVERS"):
        assert name in str(refused.value)


@pytest.mark.parametrize(
    ("bad", "secret"),
    [
        ({"SLACK_BOT_TOKEN": "xapp-1-TOPSECRET-BOT"}, "TOPSECRET-BOT"),
        ({"SLACK_BOT_TOKEN": "TOPSECRET-RAW-VALUE"}, "TOPSECRET-RAW-VALUE"),
        ({"SLACK_APP_TOKEN": "xoxb-1-TOPSECRET-APP"}, "TOPSECRET-APP"),
        ({"PORT": "xoxb-1-TOPSECRET-PORT"}, "TOPSECRET-PORT"),
        ({"CARTROVER_API_KEY": "ck-TOPSECRET-KEY", "PORT": "x"}, "TOPSECRET-KEY"),
        ({"DATABASE_URL": "mysql://bot:TOPSECRET-PW@db/x"}, "TOPSECRET-PW"),
        ({"HOLD_REQUEST_TTL_HOURS": "TOPSECRET-TTL"}, "TOPSECRET-TTL"),
    ],
)
def test_a_config_error_never_contains_a_secret(bad: dict[str, str], secret: str) -> None:
    """A ConfigError names the variable but never quotes a secret value."""
    with pytest.raises(ConfigError) as refused:
        Settings.load(bad)
    assert secret not in str(refused.value)
    assert secret not in repr(refused.value)
    assert refused.value.__cause__ is None
    assert refused.value.__suppress_context__


SECRET_VALUES = {
    "SLACK_BOT_TOKEN": "xoxb-1-SECRET-BOT-TOKEN",
    "SLACK_SIGNING_SECRET": "SECRET-SIGNING",
    "SLACK_APP_TOKEN": "xapp-1-SECRET-APP-TOKEN",
    "CARTROVER_API_KEY": "SECRET-CR-KEY",
    "CARTROVER_CANCEL_API_KEY": "SECRET-CR-CANCEL-KEY",
    "SLACK_CLIENT_SECRET": "SECRET-CLIENT",
    "DATABASE_URL": "postgresql://bot:SECRET-DB-PW@db.example:5432/cartrover",
}


def test_secrets_never_appear_in_repr_or_str() -> None:
    """repr() and str() of the settings show no secret value, the database password included."""
    settings = Settings.load(SECRET_VALUES)
    shown = repr(settings) + str(settings) + repr(settings.cancel_credentials)
    assert "SECRET" not in shown
    assert "db.example" in shown


def test_secrets_lists_every_secret_value_for_the_log_filter() -> None:
    """secrets() returns each configured secret so logs can redact it."""
    found = Settings.load(SECRET_VALUES).secrets()
    for name, value in SECRET_VALUES.items():
        expected = "SECRET-DB-PW" if name == "DATABASE_URL" else value
        assert expected in found
    assert Settings.load({}).secrets() == []


def test_a_percent_encoded_database_password_is_listed_in_both_forms() -> None:
    """A password with escaped characters is redacted as written and as decoded."""
    settings = Settings.load({"DATABASE_URL": "postgresql://bot:p%40ss@db/x"})
    assert set(settings.secrets()) == {"p%40ss", "p@ss"}
    assert "p%40ss" not in repr(settings)


def test_a_dotenv_file_in_the_working_directory_is_read() -> None:
    """Settings.load() with no mapping reads .env from the working directory."""
    Path(".env").write_text(
        "SLACK_BOT_TOKEN=xoxb-from-dotenv\nAPPROVERS=U0123ABCD,S0456EFGH\nPORT=4000\n",
        encoding="utf-8",
    )
    settings = Settings.load()
    assert settings.slack_bot_token == SecretStr("xoxb-from-dotenv")
    assert settings.approvers == ("U0123ABCD", "S0456EFGH")
    assert settings.port == 4000


def test_real_environment_variables_win_over_the_dotenv_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A variable set in both the environment and .env takes the environment's value."""
    Path(".env").write_text("PORT=4000\nTIMEZONE=Europe/Berlin\n", encoding="utf-8")
    monkeypatch.setenv("PORT", "5000")
    settings = Settings.load()
    assert settings.port == 5000
    assert settings.timezone == "Europe/Berlin"


def test_a_malformed_value_in_dotenv_names_the_variable() -> None:
    """A bad value read from .env is a ConfigError naming the variable."""
    Path(".env").write_text("DIGEST_CHANNEL=#general\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="DIGEST_CHANNEL"):
        Settings.load()


@pytest.mark.parametrize(
    ("command", "missing"),
    [
        (
            "serve",
            ["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "CARTROVER_API_USER", "CARTROVER_API_KEY"],
        ),
        ("socket", ["SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "CARTROVER_API_USER"]),
        ("clock", ["SLACK_BOT_TOKEN", "CARTROVER_API_KEY"]),
    ],
)
def test_require_names_every_missing_variable(command: str, missing: list[str]) -> None:
    """require(command) with nothing configured names each variable the command needs."""
    with pytest.raises(ConfigError) as refused:
        Settings.load({}).require(command)
    for name in missing:
        assert name in str(refused.value)
    assert command in str(refused.value)


def test_require_serve_names_only_what_is_missing() -> None:
    """With everything but the signing secret set, only SLACK_SIGNING_SECRET is named."""
    settings = Settings.load(
        {
            "SLACK_BOT_TOKEN": "xoxb-1",
            "CARTROVER_API_USER": "u",
            "CARTROVER_API_KEY": "k",
            "CARTROVER_CANCEL_API_USER": "c",
            "CARTROVER_CANCEL_API_KEY": "ck",
        }
    )
    with pytest.raises(ConfigError) as refused:
        settings.require("serve")
    assert "SLACK_SIGNING_SECRET is required" in str(refused.value)
    assert "SLACK_BOT_TOKEN" not in str(refused.value)


@pytest.mark.parametrize("command", ["demo", "sandbox", "check", "migrate"])
def test_commands_without_needs_start_with_nothing_configured(command: str) -> None:
    """demo, sandbox, check and migrate need no variable (migrate uses DATABASE_URL's default
    when it is unset)."""
    settings = Settings.load({})
    assert settings.require(command) is settings


SERVE_READY = {
    "SLACK_BOT_TOKEN": "xoxb-1",
    "SLACK_SIGNING_SECRET": "s",
    "SLACK_APP_TOKEN": "xapp-1",
    "CARTROVER_API_USER": "u",
    "CARTROVER_API_KEY": "k",
}
RUNNER_READY = {**SERVE_READY, "CARTROVER_CANCEL_API_USER": "c", "CARTROVER_CANCEL_API_KEY": "ck"}


@pytest.mark.parametrize("command", ["serve", "socket"])
def test_oauth_client_credentials_are_refused(command: str) -> None:
    """SLACK_CLIENT_ID plus SLACK_CLIENT_SECRET stop serve and socket with a clear message (R39)."""
    settings = Settings.load(
        {**RUNNER_READY, "SLACK_CLIENT_ID": "123.456", "SLACK_CLIENT_SECRET": "SECRET-OAUTH"}
    )
    with pytest.raises(ConfigError) as refused:
        settings.require(command)
    assert "SLACK_CLIENT_ID" in str(refused.value)
    assert "SLACK_CLIENT_SECRET" in str(refused.value)
    assert "SECRET-OAUTH" not in str(refused.value)


def test_oauth_client_credentials_in_the_environment_are_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The R39 refusal also holds when the OAuth pair comes from the process environment."""
    for name, value in RUNNER_READY.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SLACK_CLIENT_ID", "123.456")
    monkeypatch.setenv("SLACK_CLIENT_SECRET", "shh")
    with pytest.raises(ConfigError, match="SLACK_CLIENT_ID"):
        Settings.load().require("serve")


def test_a_fully_configured_serve_is_accepted() -> None:
    """require('serve') passes once every needed variable is set."""
    settings = Settings.load(RUNNER_READY)
    assert settings.require("serve") is settings


def test_cancel_credentials_never_fall_back_to_the_main_pair() -> None:
    """Without a cancel pair there are no cancel credentials: the merchant pair is never used
    for the Cart API call."""
    settings = Settings.load({"CARTROVER_API_USER": "merchant", "CARTROVER_API_KEY": "mkey"})
    assert settings.cancel_credentials == (None, None)


def test_cancel_credentials_use_the_cancel_pair_when_set() -> None:
    """With both cancel variables set the cancel call uses them."""
    settings = Settings.load(
        {
            "CARTROVER_API_USER": "merchant",
            "CARTROVER_API_KEY": "mkey",
            "CARTROVER_CANCEL_API_USER": "cart",
            "CARTROVER_CANCEL_API_KEY": "ckey",
        }
    )
    assert settings.cancel_credentials == ("cart", SecretStr("ckey"))


def test_half_a_cancel_pair_is_no_pair() -> None:
    """A cancel user without a cancel key is no cancel pair, never a mix with the main pair."""
    settings = Settings.load(
        {
            "CARTROVER_API_USER": "merchant",
            "CARTROVER_API_KEY": "mkey",
            "CARTROVER_CANCEL_API_USER": "cart",
        }
    )
    assert settings.cancel_credentials == (None, None)


@pytest.mark.parametrize("command", ["serve", "socket", "clock"])
def test_the_runners_refuse_to_start_without_the_cancel_keys(command: str) -> None:
    """serve, socket and clock carry out approved holds: without the cancel pair they refuse to
    start, with one line saying these are Cart API keys and where CartRover issues them."""
    settings = Settings.load({**SERVE_READY, "CARTROVER_CANCEL_API_USER": "cart"})
    with pytest.raises(ConfigError) as refused:
        settings.require(command)
    message = str(refused.value)
    assert "CARTROVER_CANCEL_API_KEY is required" in message
    assert "CARTROVER_CANCEL_API_USER" not in message.split(" is required", maxsplit=1)[0]
    assert "Cart API keys" in message and "Carts → your API cart → API Access" in message
    assert "SHADOW_MODE=true" in message and "\n" not in message


@pytest.mark.parametrize("command", ["serve", "socket", "clock"])
def test_shadow_mode_runs_without_the_cancel_keys(command: str) -> None:
    """With SHADOW_MODE=true nothing is canceled, so the cancel keys are not required."""
    settings = Settings.load({**SERVE_READY, "SHADOW_MODE": "true"})
    assert settings.shadow_mode and settings.require(command) is settings


def test_the_digest_needs_no_cancel_keys() -> None:
    """`cartrover-bot digest` never cancels: the merchant pair is enough."""
    settings = Settings.load({"CARTROVER_API_USER": "u", "CARTROVER_API_KEY": "k"})
    assert settings.require("digest") is settings


def test_a_malformed_shadow_mode_names_the_variable() -> None:
    """SHADOW_MODE takes true or false; anything else stops at start-up naming it."""
    with pytest.raises(ConfigError, match="SHADOW_MODE: not true or false"):
        Settings.load({"SHADOW_MODE": "maybe"})


def test_settings_are_frozen() -> None:
    """A loaded Settings cannot be changed afterwards."""
    settings = Settings.load({})
    with pytest.raises(ValueError, match="frozen"):
        settings.port = 1


def test_blank_optional_values_count_as_unset() -> None:
    """An empty or blank optional variable is treated as not set."""
    settings = Settings.load({"APPROVAL_CHANNEL": "  ", "APPROVERS": "", "SLACK_BOT_TOKEN": ""})
    assert settings.approval_channel is None
    assert settings.approvers == ()
    assert settings.slack_bot_token is None


def test_parse_hhmm_and_parse_zone_refuse_with_examples() -> None:
    """The shared parsers refuse bad input with an example of what is expected."""
    with pytest.raises(ValueError, match="09:00"):
        parse_hhmm("24:00")
    with pytest.raises(ValueError, match="Europe/Berlin"):
        parse_zone("Etc")
    assert parse_zone("America/New_York").key == "America/New_York"


def test_an_unsafe_test_order_pattern_is_refused_naming_the_variable_and_why() -> None:
    """A lookaround the linear-time matcher cannot run stops start-up with a message that names
    TEST_ORDER_PATTERN and says what the matcher does not support."""
    with pytest.raises(ConfigError) as refused:
        Settings.load({"TEST_ORDER_PATTERN": "^(?!REAL)TEST"})
    message = str(refused.value)
    assert message.startswith("invalid configuration: TEST_ORDER_PATTERN:")
    assert "lookaround" in message


def test_response_urls_may_point_at_slack_hooks_and_the_configured_api_host() -> None:
    """The allowed response_url origins: Slack's hooks host, plus SLACK_API_URL's own origin."""
    assert Settings.load({}).response_url_origins == (
        "https://hooks.slack.com",
        "https://slack.com",
    )
    local = Settings.load({"SLACK_API_URL": "http://127.0.0.1:8080/api/"})
    assert local.response_url_origins == ("https://hooks.slack.com", "http://127.0.0.1:8080")
