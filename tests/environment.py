"""The bot's variables, so that every test starts without the developer's, and a bot subprocess
gets an environment that holds none of them."""

from __future__ import annotations

import os

from bot.dev.loopback.slack import GOOD_TOKEN
from bot.dev.sandbox import (
    SANDBOX_API_KEY,
    SANDBOX_API_USER,
    SANDBOX_CANCEL_API_KEY,
    SANDBOX_CANCEL_API_USER,
)
from bot.settings import Settings

BOT_PREFIXES = ("SLACK_", "CARTROVER_")
BOT_VARIABLES = frozenset(name.upper() for name in Settings.model_fields)


def is_bot_variable(name: str) -> bool:
    return name.startswith(BOT_PREFIXES) or name in BOT_VARIABLES


def process_environ(**values: str) -> dict[str, str]:
    """This process's environment without any bot variable, plus ``values``."""
    env = {k: v for k, v in os.environ.items() if not is_bot_variable(k)}
    env.update(values)
    return env


def loopback_environ(
    slack_url: str,
    sandbox_url: str,
    database_url: str,
    *,
    api_key: str = SANDBOX_API_KEY,
    **values: str,
) -> dict[str, str]:
    """A bot subprocess's environment against the local Slack and the CartRover sandbox: the bot
    token the local Slack accepts, the sandbox's merchant pair (``api_key``: the one the sandbox
    was started with) and its cart pair for the cancel, the database; plus ``values``."""
    return process_environ(
        SLACK_BOT_TOKEN=GOOD_TOKEN,
        SLACK_API_URL=slack_url,
        CARTROVER_API_URL=sandbox_url,
        CARTROVER_API_USER=SANDBOX_API_USER,
        CARTROVER_API_KEY=api_key,
        CARTROVER_CANCEL_API_USER=SANDBOX_CANCEL_API_USER,
        CARTROVER_CANCEL_API_KEY=SANDBOX_CANCEL_API_KEY,
        DATABASE_URL=database_url,
        **values,
    )
