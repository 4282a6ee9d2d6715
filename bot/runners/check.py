"""``cartrover-bot check``: validate the configuration, try Slack, CartRover and the database, and
print one row per check with, for each problem, how to fix it. Exit code 0 only if nothing failed.

Slack: one ``auth.test``, the granted scopes, and whether the bot is in ``DIGEST_CHANNEL`` and
``APPROVAL_CHANNEL`` (:mod:`bot.runners.check_slack`). CartRover: one list call (the first page
of New orders, one order long) with ``CARTROVER_API_USER`` / ``CARTROVER_API_KEY``, and the cancel
keys tried without touching any order (:mod:`bot.runners.check_cancel`). The database: open and
ping; and which digest subscription applies to ``DIGEST_CHANNEL`` (configuration, or a change
made in Slack). The mode: ``--mode`` says which of ``serve``, ``socket`` and ``clock`` this setup
runs; without it, the mode is taken from the secrets that are set. Then one row per reply
received: whether it had the keys the bot relies on (:mod:`bot.runners.check_shapes`); with
``--record DIR`` each reply is written there too (:mod:`bot.runners.check_record`). Nothing here
prints a secret: every line also goes through the log redactor.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit

from bot.cartrover.errors import (
    AuthenticationFailed,
    CartRoverError,
    ConnectionFailed,
    RateLimited,
    Unavailable,
    UnexpectedReply,
)
from bot.log import setup_logging
from bot.runners.check_record import RecordFolderError, Replies, prepare_folder
from bot.runners.check_table import CHECK_TIMEOUT, Row, Status, check_url, origin, print_table
from bot.settings import ConfigError, Settings
from bot.words import agree

__all__ = ["MODES", "check_all", "run_check"]

MODES = ("serve", "socket", "clock")
MERCHANT_KEYS = (
    "use Merchant API Keys (Merchants → your merchant → Merchant API Keys → New Setup) for "
    "CARTROVER_API_USER and CARTROVER_API_KEY"
)


def run_check(
    environ: Mapping[str, str] | None = None,
    out: TextIO | None = None,
    *,
    mode: str | None = None,
    record: Path | None = None,
) -> int:
    """Check everything, print the table to ``out``; 0 if nothing failed, 1 if something did,
    2 if ``record`` (``--record DIR``) cannot take the record."""
    out = out or sys.stdout
    if record is not None:
        try:
            prepare_folder(record)
        except RecordFolderError as exc:
            out.write(f"cartrover-bot check: {exc}\n")
            return 2
    rows, secrets = check_all(environ, configure_logging=True, mode=mode, record=record)
    print_table(rows, out, secrets)
    return 1 if any(row.status is Status.FAIL for row in rows) else 0


def check_all(
    environ: Mapping[str, str] | None = None,
    *,
    configure_logging: bool = False,
    mode: str | None = None,
    record: Path | None = None,
) -> tuple[list[Row], list[str]]:
    """Every row, and the secrets to keep out of the output. ``environ=None``: the process
    environment and ``.env``, as every other command reads them. ``configure_logging``: log
    errors only (the table says what went wrong), through the redacting filter. ``mode``: the
    runner this setup is for (one of :data:`MODES`); None: inferred from the secrets set.
    ``record``: a folder ready for the record (:func:`prepare_folder`), or None.

    Every Slack and CartRover call goes through the clients of one
    :class:`~bot.runners.check_record.Replies`, which adds a row per reply (did it have the
    keys the bot relies on?) and, with ``record``, writes each reply there."""
    malformed: list[Row] = []
    try:
        settings = Settings.load(environ)
    except ConfigError as exc:
        fix = "correct the variable named here (README → Configuration lists every one)"
        malformed.append(Row("configuration", Status.FAIL, str(exc), fix))
        try:  # go on with the malformed values at their defaults, to check everything else
            settings = Settings.load(environ, defaults_for=exc.variables)
        except ConfigError:
            if configure_logging:
                setup_logging("ERROR")
            skipped = "Slack, CartRover and the database are tried once it is valid"
            return [*malformed, Row("the rest", Status.SKIP, skipped), *Replies(record).rows()], []
        names = ", ".join(name.upper() for name in exc.variables)
        defaults = agree(len(exc.variables), "its default", "their defaults")
        malformed.append(Row("the rest", Status.WARN, f"checked with {names} at {defaults}"))
    secrets = settings.secrets() + _basic_auth_values(settings)
    if configure_logging:
        setup_logging("ERROR", secrets)
        # The table reports a failed Slack call with its fix; slack_sdk's own error line for the
        # same failure would only repeat it, after the table.
        for name in ("slack_sdk", "slack_sdk.web.base_client"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
    from bot.runners.check_cancel import mode_row
    from bot.runners.check_slack import slack_rows

    replies = Replies(record, secrets)
    try:
        rows = [*malformed, *_configuration(settings)]
        rows += slack_rows(settings, replies)
        rows += _cartrover(settings, replies)
        rows.append(_database(settings))
        rows += _default_digest(settings)
        rows += _modes(settings, mode)
        rows.append(mode_row(settings))
    finally:
        replies.close()
    rows += replies.rows()
    return rows, secrets


def _basic_auth_values(settings: Settings) -> list[str]:
    """The Authorization values of both CartRover pairs: never recorded, but if a reply ever
    echoed one, the record must not carry it either."""
    from bot.cartrover.protocol import basic_auth

    pairs = [
        (settings.cartrover_api_user, settings.cartrover_api_key),
        (settings.cartrover_cancel_api_user, settings.cartrover_cancel_api_key),
    ]
    return [
        basic_auth(user, key.get_secret_value()).removeprefix("Basic ")
        for user, key in pairs
        if user and key is not None
    ]


# ------------------------------------------------------------------ the checks


def _configuration(settings: Settings) -> list[Row]:
    rows = [Row("configuration", Status.OK, "every variable is well-formed")]
    if settings.slack_client_id and settings.slack_client_secret:
        rows.append(
            Row(
                "configuration",
                Status.FAIL,
                "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET are set (they switch bolt to OAuth)",
                "unset both: the bot is single-workspace and uses SLACK_BOT_TOKEN",
            )
        )
    user, key = settings.cartrover_cancel_api_user, settings.cartrover_cancel_api_key
    if (user is None) != (key is None):
        present, absent = (
            ("CARTROVER_CANCEL_API_USER", "CARTROVER_CANCEL_API_KEY")
            if key is None
            else ("CARTROVER_CANCEL_API_KEY", "CARTROVER_CANCEL_API_USER")
        )
        rows.append(
            Row(
                "configuration",
                Status.FAIL,
                f"{present} is set but {absent} is not",
                "set both cancel variables (Cart API keys: Carts → your API cart → API Access)",
            )
        )
    if not settings.approvers:
        rows.append(
            Row(
                "approvers",
                Status.WARN,
                "APPROVERS is empty: no one can approve a hold",
                "set APPROVERS to Slack user ids (U…) and/or user group ids (S…)",
            )
        )
    return rows


def _cartrover(settings: Settings, replies: Replies) -> list[Row]:
    from bot.runners.check_cancel import cancel_rows

    if not settings.cartrover_api_user or settings.cartrover_api_key is None:
        detail = "CARTROVER_API_USER and CARTROVER_API_KEY must both be set"
        return [Row("CartRover", Status.FAIL, detail, MERCHANT_KEYS)]
    site = origin(settings.cartrover_api_url)
    client = replies.cartrover_client(
        settings, read_attempts=1, cancel_attempts=1, deadline=CHECK_TIMEOUT
    )
    try:
        try:
            first = next(iter(client.iter_orders("new", limit=1)), None)  # one page, one order
        except CartRoverError as exc:
            rows = [_cartrover_failed(exc, site, settings.cartrover_api_url)]
        else:
            found = "at least one New order" if first is not None else "no New orders right now"
            rows = [Row("CartRover", Status.OK, f"listed New orders at {site}: {found}")]
        rows += cancel_rows(settings, client)
    finally:
        client.close()
    return rows


def _cartrover_failed(exc: CartRoverError, site: str, url: str) -> Row:
    url_fix = check_url(
        "CARTROVER_API_URL", url, Settings.model_fields["cartrover_api_url"].default
    )
    cases: list[tuple[type[CartRoverError], str, str]] = [
        (AuthenticationFailed, "CartRover refused the API key", MERCHANT_KEYS),
        (ConnectionFailed, f"could not reach CartRover at {site}", url_fix),
        (RateLimited, "CartRover is rate-limiting these keys", "wait a minute and try again"),
        (Unavailable, "CartRover answered with a server error", "try again later; " + url_fix),
        (UnexpectedReply, f"the reply from {site} is not CartRover's", url_fix),
    ]
    for kind, detail, fix in cases:
        if isinstance(exc, kind):
            return Row("CartRover", Status.FAIL, f"{detail} ({exc})", fix)
    return Row("CartRover", Status.FAIL, f"CartRover refused the list call ({exc})", MERCHANT_KEYS)


def _database(settings: Settings) -> Row:
    from bot.store import StoreError, open_store, sqlite_path

    where = _database_site(settings.database_url)
    fix = "check DATABASE_URL: sqlite:///path/to/file.db or postgresql://user@host/dbname"
    file = sqlite_path(settings.database_url)
    path = Path(file) if file is not None else None
    if path is not None and settings.dyno:
        return Row(
            "database",
            Status.FAIL,
            f"{where} on Heroku (dyno {settings.dyno}): PostgreSQL is required there — each dyno "
            "has its own filesystem, lost at every restart, so requests and digests would vanish",
            "set DATABASE_URL to the app's Heroku Postgres URL (postgresql://…; add one with "
            "heroku addons:create heroku-postgresql)",
        )
    if path is not None and path.name not in ("", ":memory:") and not path.exists():
        # Opening it would leave an empty file behind: check that it could be created instead.
        folder = path.parent
        if folder.is_dir() and os.access(folder, os.W_OK):
            return Row("database", Status.OK, f"{where} will be created at the first start")
        return Row("database", Status.FAIL, f"{where}: cannot create it in {folder}", fix)
    try:
        store = open_store(settings.database_url, migrate=False)
        try:
            store.ping()
        finally:
            store.close()
    except ImportError:
        fix = "install the PostgreSQL driver: pip install 'cartrover-bot[postgres]'"
        return Row("database", Status.FAIL, f"{where}: no PostgreSQL driver", fix)
    except StoreError as exc:
        return Row("database", Status.FAIL, f"{where}: {exc}", fix)
    return Row("database", Status.OK, f"{where} answers")


_SERVE_FIX = "copy the Signing Secret from the app's Basic Information → App Credentials"
_SOCKET_FIX = (
    "create an app-level token (xapp-…, scope connections:write) under Basic Information → "
    "App-Level Tokens"
)


def _modes(settings: Settings, mode: str | None) -> list[Row]:
    """Whether the mode this setup runs can start. With ``mode`` given, that mode's secret is
    required and the others are not looked at; without it, the mode is what the secrets set say
    (both may be), and only having neither fails."""
    serve_ok = settings.slack_signing_secret is not None
    socket_ok = settings.slack_app_token is not None
    serve = Row("serve (HTTP)", Status.OK, "SLACK_SIGNING_SECRET is set")
    socket_row = Row("socket (Socket Mode)", Status.OK, "SLACK_APP_TOKEN is set")
    if mode == "clock":
        return [Row("clock", Status.OK, "needs no Slack mode secret (it only posts)")]
    if mode == "serve":
        if serve_ok:
            return [serve]
        detail = "SLACK_SIGNING_SECRET is not set: `cartrover-bot serve` needs it"
        return [Row("serve (HTTP)", Status.FAIL, detail, _SERVE_FIX)]
    if mode == "socket":
        if socket_ok:
            return [socket_row]
        detail = "SLACK_APP_TOKEN is not set: `cartrover-bot socket` needs it"
        return [Row("socket (Socket Mode)", Status.FAIL, detail, _SOCKET_FIX)]
    if not (serve_ok or socket_ok):
        return [
            Row(
                "Slack mode",
                Status.FAIL,
                "neither SLACK_SIGNING_SECRET (for `serve`) nor SLACK_APP_TOKEN (for `socket`) "
                "is set",
                "set the one for the mode you run: "
                + _SERVE_FIX
                + " (serve); or "
                + _SOCKET_FIX
                + " (socket). For a `clock` process alone: cartrover-bot check --mode clock",
            )
        ]
    if serve_ok and socket_ok:
        return [serve, socket_row]
    if serve_ok:
        note = "not set; only `cartrover-bot socket` needs it, and this setup runs `serve`"
        return [serve, Row("socket (Socket Mode)", Status.SKIP, f"SLACK_APP_TOKEN {note}")]
    note = "not set; only `cartrover-bot serve` needs it, and this setup runs `socket`"
    return [Row("serve (HTTP)", Status.SKIP, f"SLACK_SIGNING_SECRET {note}"), socket_row]


def _default_digest(settings: Settings) -> list[Row]:
    """Which subscription applies to DIGEST_CHANNEL, as the next start will decide it."""
    from bot.digest.default import default_digest, default_digest_text
    from bot.store import StoreError, open_existing
    from bot.times import SystemClock

    if not settings.digest_channel:
        return []
    current = None
    try:
        store = open_existing(settings.database_url, migrate=False)
        if store is not None:
            try:
                current = store.subscription(settings.digest_channel)
            finally:
                store.close()
    except (StoreError, ImportError):
        return []  # the database row says what is wrong
    decided = default_digest(settings, current, SystemClock().now())
    if decided is None:
        return []
    return [Row("digest", Status.OK, default_digest_text(decided, ahead=True))]


def _database_site(url: str) -> str:
    from bot.store import sqlite_path

    path = sqlite_path(url)  # every sqlite URL that passed Settings (it needs three slashes)
    if path is not None:
        return f"SQLite {path}"
    parts = urlsplit(url)
    return f"PostgreSQL {parts.hostname or 'localhost'}{parts.path}"
