"""Which subscription applies to ``DIGEST_CHANNEL``'s digest: configuration (``DIGEST_TIME``,
``TIMEZONE``) or a person's change in Slack, whichever came later. Pure: the store keeps who made
the subscription and the configuration last seen, and :func:`default_digest` decides from them."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from bot.settings import Settings
from bot.store.records import DigestSubscription

__all__ = ["Change", "DefaultDigest", "default_digest", "default_digest_text"]


class Change(StrEnum):
    """What start-up does to ``DIGEST_CHANNEL``'s subscription."""

    SUBSCRIBED = "subscribed"  # it had none
    UNCHANGED = "unchanged"  # configuration's, as configured
    CHANGED = "changed"  # configuration changed since it was made (by configuration or in Slack)
    KEPT = "kept"  # a person's change in Slack, later than the configuration's last change


@dataclass(frozen=True)
class DefaultDigest:
    """What applies to ``DIGEST_CHANNEL``'s digest: ``wanted``, from configuration
    (``config``: ``"09:00 UTC"``) or from a person in Slack, and how that differs from ``current``,
    the subscription stored before."""

    channel: str
    config: str
    current: DigestSubscription | None
    wanted: DigestSubscription
    change: Change

    @property
    def from_config(self) -> bool:
        return self.wanted.from_config


def default_digest(
    settings: Settings, current: DigestSubscription | None, now: datetime
) -> DefaultDigest | None:
    """What ``DIGEST_CHANNEL``'s subscription should be, given the stored one (pure; None
    without ``DIGEST_CHANNEL``)."""
    channel = settings.digest_channel
    if not channel:
        return None
    config = f"{settings.digest_time} {settings.timezone}"
    made = DigestSubscription(
        channel,
        settings.digest_time,
        settings.timezone,
        created_at=current.created_at if current and current.created_at else now,
        from_config=True,
        config_value=config,
    )
    if current is None:
        return DefaultDigest(channel, config, None, made, Change.SUBSCRIBED)
    same = (current.local_time, current.timezone) == (settings.digest_time, settings.timezone)
    if current.from_config:
        wanted = replace(current, config_value=config) if same else made
        return DefaultDigest(
            channel, config, current, wanted, Change.UNCHANGED if same else Change.CHANGED
        )
    if current.config_value is not None and current.config_value != config:
        return DefaultDigest(channel, config, current, made, Change.CHANGED)
    return DefaultDigest(
        channel, config, current, replace(current, config_value=config), Change.KEPT
    )


def default_digest_text(decided: DefaultDigest, *, ahead: bool = False) -> str:
    """Which subscription applies to ``DIGEST_CHANNEL`` and why, as one plain line for the
    start-up log, or for ``check`` (``ahead``: what the next start will do)."""
    channel, config = decided.channel, decided.config
    current = decided.current
    old = f"{current.local_time} {current.timezone}" if current else ""
    who = f"user {current.created_by}" if current and current.created_by else "someone"
    change = decided.change.value
    if change == "subscribed":
        verb = "will be subscribed at the next start" if ahead else "subscribed"
        return (
            f"DIGEST_CHANNEL {channel}: {verb} to the daily digest at {config} "
            "(DIGEST_TIME, TIMEZONE)"
        )
    if change == "unchanged":
        return f"DIGEST_CHANNEL {channel}: daily digest at {config}, from DIGEST_TIME and TIMEZONE"
    if change == "changed":
        verb = "moves at the next start" if ahead else "moved"
        made = "" if current is None or current.from_config else f", as {who} set it in Slack"
        return (
            f"DIGEST_CHANNEL {channel}: daily digest {verb} from {old}{made} to {config}: "
            "DIGEST_TIME or TIMEZONE changed since"
        )
    same = " (the same as DIGEST_TIME and TIMEZONE)" if old == config else ""
    return (
        f"DIGEST_CHANNEL {channel}: daily digest at {old}, as {who} set it in Slack{same}; "
        f"DIGEST_TIME and TIMEZONE ({config}) apply again once either changes"
    )
