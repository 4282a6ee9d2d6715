"""Which of the operator's settings the demo honours, and which it says it does not use.

The demo runs on its own Slack, CartRover sandbox, database and people, so the variables that
point at those (tokens, URLs, ``DATABASE_URL``, ``APPROVERS``, channels, the test-order rule the
sandbox's orders are made for) are replaced, and the demo says which of them were set. The
variables that shape what the bot does (:data:`HONOURED`) are taken as configured, and the demo
says so. A malformed configuration is named and none of it is used.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bot.settings import ConfigError, Settings

__all__ = ["HONOURED", "Choices", "read_choices"]

# Settings that shape the bot's behaviour and work on the sandbox: the demo uses them as set.
HONOURED = (
    "hold_request_ttl_hours",
    "stale_after_hours",
    "timezone",
    "digest_time",
    "digest_days",
    "notify_approvers",
    "allow_self_approval",
)
# Read by Settings only to refuse bolt's OAuth switch; never an operator's choice.
_NOT_CHOICES = frozenset({"slack_client_id", "slack_client_secret"})


@dataclass(frozen=True)
class Choices:
    """The honoured values (by variable name, as settings take them), the variables set but not
    used, and a configuration problem if there was one."""

    values: dict[str, str] = field(default_factory=dict)
    ignored: tuple[str, ...] = ()
    problem: str = ""

    def described(self) -> list[str]:
        """What the demo tells about the operator's settings, one line each (none if none)."""
        lines = []
        if self.problem:
            lines.append(f"Your configuration is not used: {self.problem}")
        if self.values:
            used = ", ".join(f"{name}={value}" for name, value in self.values.items())
            lines.append(f"Your settings used here: {used}.")
        if self.ignored:
            lines.append(
                f"Set but not used (the demo brings its own Slack, CartRover, database and "
                f"people): {', '.join(self.ignored)}."
            )
        return lines


def read_choices(load: Callable[[], Settings] = Settings.load) -> Choices:
    """The operator's settings (environment and ``.env``) as the demo takes them."""
    try:
        settings = load()
    except ConfigError as exc:
        return Choices(problem=str(exc))
    chosen = settings.model_fields_set - _NOT_CHOICES
    values = {name.upper(): _text(getattr(settings, name)) for name in HONOURED if name in chosen}
    ignored = tuple(sorted(name.upper() for name in chosen if name not in HONOURED))
    return Choices(values, ignored)


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
