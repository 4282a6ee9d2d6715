"""The README, manifest and registered listeners agree with the code."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

import handlers
from bot.grammar import Syntax
from bot.holds.card import hold_message
from bot.settings import Settings
from bot.slack import ids
from handlers import SUBCOMMANDS

ROOT = Path(__file__).resolve().parents[2]
# Read from the environment only to refuse bolt's silent OAuth switch (R39); undocumented.
NOT_DOCUMENTED = {"SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "DYNO"}  # DYNO: Heroku sets it


def subcommands() -> list[Syntax]:
    return [sub.syntax for sub in SUBCOMMANDS]


def _readme_config() -> dict[str, str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([A-Z_]+)` \| ([^|]+) \|", section, flags=re.M)
    return {name: default.strip() for name, default in rows}


def test_readme_configuration_table_matches_the_settings_object() -> None:
    """Every setting has a README row and every README row is a setting."""
    fields = {name.upper() for name in Settings.model_fields} - NOT_DOCUMENTED
    assert set(_readme_config()) == fields


def test_readme_defaults_match_the_settings_defaults() -> None:
    """A default written in the README is the default the code uses."""
    defaults = Settings.load({})
    for name, written in _readme_config().items():
        value = getattr(defaults, name.lower())
        if written.startswith("`"):
            expected = written.strip("`")
            shown = str(value).lower() if isinstance(value, bool) else str(value)
            if isinstance(value, float) and value.is_integer():
                shown = str(int(value))
            assert shown == expected, name
        else:
            assert value in (None, ()), name


def test_readme_gives_the_two_quick_start_commands() -> None:
    """The quick start installs and runs the demo, then installs and runs the tests."""
    text = (ROOT / "README.md").read_text()
    assert "pip install -e . && .venv/bin/cartrover-bot demo" in text
    assert "pip install -e '.[test]' && .venv/bin/pytest" in text
    assert "pytest" in (ROOT / ".ci" / "run").read_text()


def test_manifest_declares_the_registered_command_and_only_needed_scopes() -> None:
    """manifest.yml's slash command is the one the app registers, with the minimal scopes."""
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    (command,) = manifest["features"]["slash_commands"]
    assert command["command"] == ids.COMMAND
    for sub in subcommands():
        if sub.name != "help":
            assert sub.name in command["usage_hint"]
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {
        "commands",
        "chat:write",
        "im:write",
        "usergroups:read",
    }
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["settings"]["socket_mode_enabled"] is False
    assert manifest["settings"]["token_rotation_enabled"] is False


def test_manifest_declares_the_shortcuts_events_and_home_the_app_handles() -> None:
    """Every shortcut and bot event in manifest.yml has a listener and every one registered is
    declared; the App Home tab is on; names and descriptions keep to the manifest schema's limits
    (a shortcut's name is at most 24 characters, its description 150)."""
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    shortcuts = manifest["features"]["shortcuts"]
    assert {s["callback_id"] for s in shortcuts} == handlers.registered_shortcuts()
    assert handlers.registered_shortcuts() == set(ids.ALL_SHORTCUTS)
    assert {s["type"] for s in shortcuts} == {"global", "message"}
    for shortcut in shortcuts:
        assert 1 <= len(shortcut["name"]) <= 24 and 1 <= len(shortcut["description"]) <= 150
    events = manifest["settings"]["event_subscriptions"]
    assert set(events["bot_events"]) == handlers.registered_events() == set(ids.ALL_EVENTS)
    assert events["request_url"] == manifest["settings"]["interactivity"]["request_url"]
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True


def test_every_modal_that_can_be_submitted_has_a_listener() -> None:
    """The hold and reject forms' callback ids are registered for view submissions."""
    assert set(ids.ALL_VIEWS) == handlers.registered_views()


def test_procfile_runs_web_and_clock_with_a_socket_mode_alternative() -> None:
    """The Procfile's web process leaves scheduling to the clock process."""
    text = (ROOT / "Procfile").read_text()
    assert "web: cartrover-bot serve --no-scheduler" in text
    assert "clock: cartrover-bot clock" in text
    assert "# worker: cartrover-bot socket --no-scheduler" in text


def test_every_rendered_action_has_a_registered_listener() -> None:
    """No button the bot can render leads to bolt's 404 (R26)."""
    assert set(ids.ALL_ACTIONS) <= handlers.registered_actions()


def test_hold_message_renders_only_known_action_ids() -> None:
    """The request message's buttons use ids from bot.slack.ids."""
    from datetime import UTC, datetime, timedelta

    from bot.store.records import HoldItem, HoldRequest, RequestState

    now = datetime(2026, 1, 1, tzinfo=UTC)
    request = HoldRequest(
        id=1,
        requester="U1",
        channel_id="C1",
        reason="",
        state=RequestState.PENDING,
        created_at=now,
        expires_at=now + timedelta(hours=1),
        items=(HoldItem(request_id=1, cust_ref="A", position=0),),
    )
    rendered = {
        element["action_id"]
        for block in hold_message(request, now).blocks
        if block["type"] == "actions"
        for element in block["elements"]
    }
    assert rendered and rendered <= set(ids.ALL_ACTIONS)


def test_readme_deploy_section_names_every_procfile_process_and_the_postgres_add_on() -> None:
    """The Deploy section quotes and scales every Procfile process and adds the Postgres add-on."""
    text = (ROOT / "README.md").read_text()
    deploy = text.split("\n## Deploy\n", 1)[1].split("\n## ", 1)[0]
    procfile = (ROOT / "Procfile").read_text()
    processes = re.findall(r"^(?:#\s*)?([a-z]+): (cartrover-bot .+)$", procfile, flags=re.M)
    assert {name for name, _ in processes} == {"web", "clock", "worker"}
    for name, command in processes:
        assert f"{name}: {command}" in deploy, name
        assert re.search(rf"heroku ps:scale .*\b{name}=1\b", deploy), name
    assert "heroku addons:create heroku-postgresql:essential-0" in deploy
    requirements = (ROOT / "requirements.txt").read_text().split()
    assert ".[postgres]" in requirements  # what Heroku's buildpack installs
    assert (ROOT / ".python-version").read_text().strip() in deploy


def test_readme_shows_the_manifest_as_it_is() -> None:
    """The README's Slack section quotes manifest.yml's features, scopes and settings exactly,
    and explains each bot scope."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Set up the Slack app", 1)[1].split("\n## ", 1)[0]
    quoted = yaml.safe_load(section.split("```yaml\n", 1)[1].split("```", 1)[0])
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    for key in ("features", "oauth_config", "settings"):
        assert quoted[key] == manifest[key], key
    for scope in manifest["oauth_config"]["scopes"]["bot"]:
        assert f"| `{scope}` |" in section, scope
