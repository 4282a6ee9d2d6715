"""``cartrover-bot check``: validate the configuration, try Slack, CartRover and the database, and
print one row per check with, for each problem, how to fix it. Exit code 0 only if nothing failed.

Slack: one ``auth.test`` with ``SLACK_BOT_TOKEN``, and the granted scopes from its
``x-oauth-scopes`` header where Slack sends one. CartRover: one list call (the first page of New
orders, one order long) with ``CARTROVER_API_USER`` / ``CARTROVER_API_KEY``; cancel keys are never
tried, since the only way to try them is to cancel an order. The database: open and ping. Nothing
here prints a secret: every line also goes through the log redactor.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError

from bot.cartrover.errors import (
    AuthenticationFailed,
    CartRoverError,
    ConnectionFailed,
    RateLimited,
    Unavailable,
    UnexpectedReply,
)
from bot.log import redact, setup_logging
from bot.settings import ConfigError, Settings

__all__ = ["Row", "Status", "check_all", "print_table", "run_check"]

CHECK_TIMEOUT = 10.0  # seconds for each remote check
REFUSED_TOKEN = ("invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive")
MERCHANT_KEYS = (
    "use Merchant API Keys (Merchants → your merchant → Merchant API Keys → New Setup) for "
    "CARTROVER_API_USER and CARTROVER_API_KEY"
)


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"
    SKIP = "skip"
    FAIL = "FAIL"


@dataclass(frozen=True)
class Row:
    what: str
    status: Status
    detail: str
    fix: str = ""


def run_check(environ: Mapping[str, str] | None = None, out: TextIO | None = None) -> int:
    """Check everything, print the table to ``out``; 0 if nothing failed, else 1."""
    out = out or sys.stdout
    rows, secrets = check_all(environ, configure_logging=True)
    print_table(rows, out, secrets)
    return 1 if any(row.status is Status.FAIL for row in rows) else 0


def check_all(
    environ: Mapping[str, str] | None = None, *, configure_logging: bool = False
) -> tuple[list[Row], list[str]]:
    """Every row, and the secrets to keep out of the output. ``environ=None``: the process
    environment and ``.env``, as every other command reads them. ``configure_logging``: log
    errors only (the table says what went wrong), through the redacting filter."""
    try:
        settings = Settings.load(environ)
    except ConfigError as exc:
        if configure_logging:
            setup_logging("ERROR")
        fix = "correct the variable named here (README → Configuration lists every one)"
        return [
            Row("configuration", Status.FAIL, str(exc), fix),
            Row(
                "the rest",
                Status.SKIP,
                "Slack, CartRover and the database are tried once it is valid",
            ),
        ], []
    secrets = settings.secrets()
    if configure_logging:
        setup_logging("ERROR", secrets)
        # The table reports a failed Slack call with its fix; slack_sdk's own error line for the
        # same failure would only repeat it, after the table.
        logging.getLogger("slack_sdk").setLevel(logging.CRITICAL)
    rows = _configuration(settings)
    rows += _slack(settings)
    rows += _cartrover(settings)
    rows.append(_database(settings))
    rows += _modes(settings)
    return rows, secrets


def print_table(rows: list[Row], out: TextIO, secrets: Sequence[str] = ()) -> None:
    width = max(len(row.what) for row in rows) + 2
    lines = ["cartrover-bot check", ""]
    for row in rows:
        lines.append(f"  {row.status.value:<5} {row.what:<{width}}{row.detail}")
        if row.fix:
            label = "fix" if row.status in (Status.FAIL, Status.WARN) else "note"
            lines.append(f"  {'':<5} {'':<{width}}{label}: {row.fix}")
    failed = sum(row.status is Status.FAIL for row in rows)
    lines.append("")
    if failed:
        problems = "problem" if failed == 1 else "problems"
        lines.append(
            f"{failed} {problems}: fix as shown above, then run cartrover-bot check again."
        )
    else:
        lines.append("All checks passed.")
    out.write(redact("\n".join(lines), secrets) + "\n")
    out.flush()


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
                "set both cancel variables, or neither (then the main pair is used)",
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


def _slack(settings: Settings) -> list[Row]:
    token = settings.slack_bot_token
    if token is None:
        fix = "set SLACK_BOT_TOKEN to the Bot User OAuth Token (xoxb-…) from OAuth & Permissions"
        return [Row("Slack", Status.FAIL, "SLACK_BOT_TOKEN is not set", fix)]
    url = settings.slack_api_url
    client = WebClient(token=token.get_secret_value(), base_url=url, timeout=int(CHECK_TIMEOUT))
    try:
        reply = client.auth_test()
    except SlackApiError as exc:
        error = str(exc.response.get("error") or f"HTTP {exc.response.status_code}")
        if error in REFUSED_TOKEN:
            fix = (
                "copy the Bot User OAuth Token (xoxb-…) again from your app's OAuth & "
                "Permissions page into SLACK_BOT_TOKEN; reinstall the app if it was removed"
            )
            return [Row("Slack", Status.FAIL, f"Slack refused SLACK_BOT_TOKEN ({error})", fix)]
        fix = f"check SLACK_API_URL ({url}; normally https://slack.com/api/)"
        return [Row("Slack", Status.FAIL, f"auth.test failed: {error}", fix)]
    except (SlackRequestError, OSError) as exc:
        fix = f"check SLACK_API_URL ({url}; normally https://slack.com/api/) and the network"
        return [Row("Slack", Status.FAIL, f"could not reach Slack: {type(exc).__name__}", fix)]
    team, user = (
        reply.get("team") or reply.get("team_id"),
        reply.get("user") or reply.get("user_id"),
    )
    where = "" if url == "https://slack.com/api/" else f" via {_site(url)}"
    rows = [Row("Slack", Status.OK, f"auth.test: workspace {team}, bot user {user}{where}")]
    rows.append(_scopes(settings, reply.headers))
    return rows


def _scopes(settings: Settings, headers: Mapping[str, object]) -> Row:
    header = next((v for k, v in headers.items() if k.lower() == "x-oauth-scopes"), None)
    if header is None:
        return Row("Slack scopes", Status.SKIP, "Slack did not report the token's scopes")
    values = header if isinstance(header, list | tuple) else [header]
    granted = {s.strip() for value in values for s in str(value).split(",") if s.strip()}
    needed = ["commands", "chat:write"]
    if any(a.startswith("S") for a in settings.approvers):
        needed.append("usergroups:read")  # APPROVERS lists user groups
    missing = [s for s in needed if s not in granted]
    if missing:
        fix = (
            f"add {', '.join(missing)} under OAuth & Permissions → Bot Token Scopes (manifest.yml "
            "lists them), then reinstall the app to the workspace"
        )
        return Row("Slack scopes", Status.FAIL, f"missing: {', '.join(missing)}", fix)
    return Row("Slack scopes", Status.OK, f"granted: {', '.join(needed)}")


def _cartrover(settings: Settings) -> list[Row]:
    from bot.cartrover.client import CartRoverClient

    if not settings.cartrover_api_user or settings.cartrover_api_key is None:
        detail = "CARTROVER_API_USER and CARTROVER_API_KEY must both be set"
        return [Row("CartRover", Status.FAIL, detail, MERCHANT_KEYS)]
    site = _site(settings.cartrover_api_url)
    client = CartRoverClient.from_settings(settings, read_attempts=1, deadline=CHECK_TIMEOUT)
    try:
        first = next(iter(client.iter_orders("new", limit=1)), None)  # one page, one order
    except CartRoverError as exc:
        rows = [_cartrover_failed(exc, site)]
    else:
        found = "at least one New order" if first is not None else "no New orders right now"
        rows = [Row("CartRover", Status.OK, f"listed New orders at {site}: {found}")]
    finally:
        client.close()
    if settings.cartrover_cancel_api_user and settings.cartrover_cancel_api_key:
        rows.append(
            Row(
                "CartRover cancel",
                Status.SKIP,
                "CARTROVER_CANCEL_API_USER/KEY are set but cannot be verified without canceling "
                "an order's sending, so they were not tried",
                "if a hold fails with 'refused the API key', use the cart's keys "
                "(Carts → your API cart → API Access)",
            )
        )
    return rows


def _cartrover_failed(exc: CartRoverError, site: str) -> Row:
    url_fix = "check CARTROVER_API_URL (normally https://api.cartrover.com) and the network"
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
    from bot.store import StoreError, open_store

    where = _database_site(settings.database_url)
    fix = "check DATABASE_URL: sqlite:///path/to/file.db or postgresql://user@host/dbname"
    path = _sqlite_path(settings.database_url)
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


def _modes(settings: Settings) -> list[Row]:
    """Which of ``serve`` and ``socket`` could run: a warning for one, a failure for neither."""
    serve_ok = settings.slack_signing_secret is not None
    socket_ok = settings.slack_app_token is not None
    missing = Status.WARN if serve_ok or socket_ok else Status.FAIL
    rows = []
    if serve_ok:
        rows.append(Row("serve (HTTP)", Status.OK, "SLACK_SIGNING_SECRET is set"))
    else:
        rows.append(
            Row(
                "serve (HTTP)",
                missing,
                "SLACK_SIGNING_SECRET is not set: needed for `cartrover-bot serve`",
                "copy the Signing Secret from the app's Basic Information → App Credentials",
            )
        )
    if socket_ok:
        rows.append(Row("socket (Socket Mode)", Status.OK, "SLACK_APP_TOKEN is set"))
    else:
        rows.append(
            Row(
                "socket (Socket Mode)",
                missing,
                "SLACK_APP_TOKEN is not set: needed for `cartrover-bot socket` only",
                "create an app-level token (xapp-…, scope connections:write) under Basic "
                "Information → App-Level Tokens",
            )
        )
    return rows


def _site(url: str) -> str:
    """``scheme://host[:port]`` of ``url``: no path, query or credentials."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}" + (f":{parts.port}" if parts.port else "")


def _sqlite_path(url: str) -> Path | None:
    if not url.startswith("sqlite:///"):
        return None
    return Path(url.removeprefix("sqlite:///").split("?", 1)[0])


def _database_site(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        return f"SQLite {url.removeprefix('sqlite:///').split('?', 1)[0]}"
    return f"PostgreSQL {parts.hostname or 'localhost'}{parts.path}"
