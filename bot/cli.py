"""``cartrover-bot <command>``: load and check settings, set up logging, run one runner.

Only click is imported up front: ``--help`` and a mistyped command answer without loading
pydantic, the Slack SDK or the database drivers, and each command imports what it runs.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bot import __version__

if TYPE_CHECKING:
    from bot.settings import Settings
    from bot.slack.webapi import SlackFailed

__all__ = ["main"]


def _settings(command: str) -> Settings:
    """Settings for ``command``, or exit 2 naming what is wrong (the README's Configuration)."""
    from bot.log import configure_logging
    from bot.settings import ConfigError, Settings

    try:
        settings = Settings.load().require(command)
    except ConfigError as exc:
        click.echo(f"cartrover-bot {command}: {exc}", err=True)
        sys.exit(2)
    configure_logging(settings)
    return settings


def _fail_cleanly(command: str, run: Callable[[], int], settings: Settings | None = None) -> None:
    """Run; turn known start-up failures into one clear line and a non-zero exit."""
    from bot.runners.serve import PortUnavailable
    from bot.slack.webapi import SlackFailed
    from bot.store.records import StoreError

    try:
        code = run()
    except SlackFailed as exc:
        click.echo(f"cartrover-bot {command}: {_slack_problem(exc, settings)}", err=True)
        sys.exit(1)
    except (StoreError, PortUnavailable) as exc:
        click.echo(f"cartrover-bot {command}: {exc}", err=True)
        sys.exit(1)
    sys.exit(code)


def _slack_problem(exc: SlackFailed, settings: Settings | None) -> str:
    """A failed start-up call to Slack in one line: where, why, and what to do."""
    from bot.slack.webapi import FATAL_AUTH_ERRORS

    url = settings.slack_api_url if settings else "Slack"
    if exc.error == "connection_failed":
        return (
            f"could not reach Slack at {url} ({exc.method}: no answer). Check SLACK_API_URL "
            "(normally https://slack.com/api/), the network and any proxy; "
            "`cartrover-bot check` shows the cause."
        )
    if exc.error in FATAL_AUTH_ERRORS:
        return (
            f"Slack refused SLACK_BOT_TOKEN ({exc.error}). Copy the Bot User OAuth Token "
            "(xoxb-…) again from the app's OAuth & Permissions page; reinstall the app if it "
            "was removed."
        )
    return f"{exc} (at {url}); `cartrover-bot check` tells more."


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cartrover-bot")
def main() -> None:
    """Slack chat-ops for CartRover: order status, two-person hold requests that stop sending
    to the WMS, and a digest of stale test orders."""


@main.command(short_help="HTTP mode: /slack/events and health checks")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="default: $PORT or 3000")
@click.option("--no-scheduler", is_flag=True, help="leave the digest scheduler to `clock`")
def serve(port: int | None, no_scheduler: bool) -> None:
    """HTTP mode: POST /slack/events and GET /healthz on a production server."""
    from bot.runners.serve import serve as run

    settings = _settings("serve")
    _fail_cleanly(
        "serve",
        lambda: run(settings, port=port or settings.port, with_scheduler=not no_scheduler),
        settings,
    )


@main.command(short_help="Socket Mode: no public URL needed")
@click.option("--no-scheduler", is_flag=True, help="leave the digest scheduler to `clock`")
def socket(no_scheduler: bool) -> None:
    """Socket Mode: no public URL needed."""
    from bot.runners.socket import run_socket_mode

    settings = _settings("socket")
    _fail_cleanly(
        "socket", lambda: run_socket_mode(settings, with_scheduler=not no_scheduler), settings
    )


@main.command(short_help="The scheduler alone (a Procfile clock: process)")
def clock() -> None:
    """The scheduler alone (a Procfile `clock:` process)."""
    from bot.runners.clock import run_clock

    settings = _settings("clock")
    _fail_cleanly("clock", lambda: run_clock(settings), settings)


@main.command(short_help="The CartRover sandbox API alone, seeded")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True)
def sandbox(port: int) -> None:
    """The CartRover sandbox API server alone, seeded, for trying the bot without real keys."""
    from bot.dev.sandbox import run_sandbox

    _settings("sandbox")
    sys.exit(run_sandbox(port))


@main.command(short_help="The whole bot in this terminal, no credentials")
@click.option("-v", "--verbose", is_flag=True, help="show the bot's log lines on stderr")
def demo(verbose: bool) -> None:
    """The whole bot in this terminal: sandbox CartRover, throw-away SQLite, no credentials."""
    from bot.dev.demo import run_demo
    from bot.log import setup_logging

    for scheme in ("HTTPS", "HTTP", "ALL"):  # the demo only talks to its own servers on loopback
        os.environ.pop(f"{scheme}_PROXY", None)
        os.environ.pop(f"{scheme.lower()}_proxy", None)
    # The chat shows what the bot answers; its log lines (an unknown order is a WARNING) only with
    # --verbose. The demo's settings never read the environment.
    setup_logging("INFO" if verbose else "ERROR")
    _fail_cleanly("demo", run_demo)


@main.command(short_help="Build the digest once: print it or post it")
@click.option("--channel", default=None, help="channel id (default: every subscribed channel)")
@click.option("--dry-run", is_flag=True, help="print the digest instead of posting it")
def digest(channel: str | None, dry_run: bool) -> None:
    """Build the digest once; print it with --dry-run, else post it (needs SLACK_BOT_TOKEN)."""
    import logging

    from bot.runners.digest import run_digest_once
    from bot.settings import ConfigError

    if channel is not None and not re.fullmatch(r"[CGD][A-Z0-9]{2,}", channel):
        click.echo(f"cartrover-bot digest: --channel {channel!r} is not a channel id", err=True)
        sys.exit(2)
    settings = _settings("digest")
    if dry_run and "log_level" not in settings.model_fields_set:
        logging.getLogger().setLevel(logging.WARNING)  # the printout is the output

    def run() -> int:
        try:
            return run_digest_once(settings, channel=channel, dry_run=dry_run, echo=click.echo)
        except ConfigError as exc:
            click.echo(f"cartrover-bot digest: {exc}", err=True)
            return 2

    _fail_cleanly("digest", run, settings)


@main.command(short_help="Check the configuration, Slack and CartRover")
@click.option(
    "--mode",
    type=click.Choice(["serve", "socket", "clock"]),
    default=None,
    help="the command this setup runs (default: taken from the secrets that are set)",
)
@click.option(
    "--record",
    type=click.Path(path_type=Path),
    default=None,
    metavar="DIR",
    help="write each Slack and CartRover reply to DIR (new or empty), secrets and personal "
    "data removed, for a bug report",
)
def check(mode: str | None, record: Path | None) -> None:
    """Validate the configuration and try Slack, CartRover and the database; exit 0 if all pass."""
    from bot.runners.check import run_check

    # A malformed configuration is a failed row, not an early exit.
    sys.exit(run_check(mode=mode, record=record))


@main.command()
def migrate() -> None:
    """Bring the database schema up to date, then exit

    The Procfile's release step: harmless to run again, or in several processes at once.
    """
    from bot.runners.migrate import run_migrate

    settings = _settings("migrate")
    _fail_cleanly("migrate", lambda: run_migrate(settings, click.echo), settings)
