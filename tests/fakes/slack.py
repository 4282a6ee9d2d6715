"""The recording fake of the Slack Web API, now shipped as :mod:`bot.dev.loopback.slack` (the demo
uses it too); re-exported here under its test name so the tests read as before."""

from __future__ import annotations

from bot.dev.loopback.slack import BOT_USER, GOOD_TOKEN, SCOPES, TEAM_ID, Call, Failure, LocalSlack

__all__ = ["BOT_USER", "GOOD_TOKEN", "SCOPES", "TEAM_ID", "Call", "Failure", "FakeSlack"]

FakeSlack = LocalSlack
