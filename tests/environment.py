"""The bot's variables, so that every test starts without the developer's, and a bot subprocess
gets an environment that holds none of them."""

from __future__ import annotations

import os

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
