"""The demo's Slack client: what a person in the workspace sends and sees.

It builds the bodies Slack would send for a slash command and for a button click, delivers them
through :meth:`World.dispatch`, and turns what the bot then did at the local Slack
(``chat.postMessage``, ``chat.update``, ``chat.postEphemeral``, ``response_url`` posts) into
:class:`Shown` items: which message, who sees it, its readable text and its numbered buttons.
Channel messages are numbered (``message #1``); a reply in a message's thread is shown as one (``in
the thread of message #1``); every button gets a number of its own for the whole session, and a
button stops working once its message has been replaced.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlencode

from slack_bolt import BoltResponse

from bot.dev.demo.forms import modal_text
from bot.dev.demo.people import CHANNEL_ID, CHANNEL_NAME, Person
from bot.dev.demo.world import World
from bot.dev.loopback.slack import BOT_USER, Call
from bot.slack.blocks.text import Button, readable, render_blocks
from bot.slack.ids import HOLD_MESSAGE_SHORTCUT, HOLD_SHORTCUT

__all__ = ["Message", "Shown", "Workspace"]

Kind = Literal["posted", "updated", "ephemeral", "deleted", "note", "home", "modal"]
Blocks = list[dict[str, Any]]


@dataclass
class Message:
    """A message as the workspace shows it. ``only`` is the one user who sees an ephemeral."""

    channel: str
    ts: str
    only: str | None
    text: str = ""
    blocks: Blocks = field(default_factory=list)
    number: int | None = None  # channel messages only (not thread replies)
    thread_of: Message | None = None  # the message whose thread this reply is in
    version: int = 0
    buttons: list[Button] = field(default_factory=list)
    gone: bool = False
    view_id: str | None = None  # an App Home or a modal: its view


@dataclass(frozen=True)
class Shown:
    """One thing to print: what happened to which message, and how it reads now."""

    kind: Kind
    message: Message | None
    text: str
    buttons: tuple[Button, ...] = ()


@dataclass(frozen=True)
class _Origin:
    """Where a ``response_url`` came from: who acted, and on which message (for clicks)."""

    user: str
    channel: str
    message: Message | None


@dataclass(frozen=True)
class _Raw:
    kind: Kind
    message: Message
    text: str
    blocks: Blocks


class Workspace:
    def __init__(self, world: World) -> None:
        self.world = world
        self.team_id = world.deps.team_id or "T0DEMO"
        self._messages: list[Message] = []
        self._numbers = itertools.count(1)
        self._buttons: dict[int, tuple[Message, int, Button]] = {}
        self._origins: dict[str, _Origin] = {}
        self._urls = itertools.count(1)
        self._seen = len(world.slack.calls)

    # -- acting

    def command(self, person: Person, text: str) -> list[Shown]:
        """``/cartrover <text>`` typed by ``person`` in the demo channel."""
        body = self.world.requests.command(
            text,
            user=person.user_id,
            channel=CHANNEL_ID,
            channel_name=CHANNEL_NAME,
            response_url=self._response_url(_Origin(person.user_id, CHANNEL_ID, None)),
            trigger_id=self._trigger(),
        )
        return self._deliver(body, person, acked_reply=True)

    def press(self, person: Person, number: int) -> list[Shown]:
        """``person`` clicks button ``number``; a refusal note if Slack would not let them."""
        found = self._buttons.get(number)
        if found is None:
            return [_note(f"There is no button [{number}].")]
        message, version, button = found
        if message.gone or message.version != version:
            where = f"message #{message.number}" if message.number else "that message"
            return [_note(f"Button [{number}] is gone: {where} has been replaced since.")]
        if message.only is not None and message.only != person.user_id:
            return [_note(f"Button [{number}] is in a message only its recipient can see.")]
        if button.url:
            return [_note(f"[{number}] {button.label} opens {button.url}")]
        shown: list[Shown] = []
        if button.confirm:
            shown.append(_note(f'Slack asks "{button.confirm}" — confirmed.'))
        if message.view_id is not None:  # a button on the App Home
            view = self.world.slack.views.submitted(message.view_id)
            body = self.world.requests.view_click(
                button.action_id, button.value, user=person.user_id, view=view, team=self.team_id
            )
            return shown + self._deliver(body, person, acked_reply=False)
        body = urlencode({"payload": json.dumps(self._click_payload(person, message, button))})
        return shown + self._deliver(body, person, acked_reply=False)

    def home(self, person: Person) -> list[Shown]:
        """``person`` opens the bot's App Home (Slack sends ``app_home_opened``)."""
        body = self.world.requests.home_opened(user=person.user_id, team=self.team_id)
        return self._deliver(body, person, acked_reply=False, json_body=True)

    def shortcut(self, person: Person, message: str | None = None) -> list[Shown]:
        """The global shortcut, or (with ``message``) the message shortcut on a message by
        ``person`` in the demo channel saying ``message``."""
        requests, user = self.world.requests, person.user_id
        if message is None:
            body = requests.shortcut(HOLD_SHORTCUT, user=user, team=self.team_id)
        else:
            ts = self.world.slack.next_ts()
            body = requests.message_shortcut(
                HOLD_MESSAGE_SHORTCUT,
                user=user,
                channel=CHANNEL_ID,
                text=message,
                ts=ts,
                author=user,
                team=self.team_id,
            )
        return self._deliver(body, person, acked_reply=False)

    def submit(self, person: Person, view_id: str, values: Mapping[str, str]) -> list[Shown]:
        """``person`` submits modal ``view_id`` with ``values``; what the answer did to it, then
        what the bot did after."""
        views = self.world.slack.views
        view = views.submitted(view_id, values)
        body = self.world.requests.view_submission(view, user=person.user_id, team=self.team_id)
        response = self.world.dispatch(body)
        answer = json.loads(response.body) if response.status == 200 and response.body else None
        shown = views.answer(view_id, answer if isinstance(answer, dict) else None)
        message = self._view_message(view_id, person.user_id)
        items = [] if shown.closed else [self._show(_Raw("modal", message, "", []))]
        if shown.closed:
            items.append(_note("The form is closed."))
        if not self.world.settle():
            items.append(_note("The bot is still working; its replies will show up later."))
        return items + self.collect()

    def close(self, view_id: str) -> None:
        """The person closes the modal (Cancel)."""
        self.world.slack.views.close(view_id)

    def collect(self) -> list[Shown]:
        """What the bot did at the local Slack since the last look, oldest first. Several
        replacements of one message within this batch show only as the last one."""
        raw: list[_Raw] = []
        for call in self.world.slack.since(self._seen):
            self._seen += 1
            raw.extend(self._interpret(call))
        last = {id(r.message): i for i, r in enumerate(raw) if r.kind == "updated"}
        kept = [r for i, r in enumerate(raw) if r.kind != "updated" or last[id(r.message)] == i]
        return [self._show(r) for r in kept]

    # -- what Slack sends

    def _deliver(
        self, body: str, person: Person, *, acked_reply: bool, json_body: bool = False
    ) -> list[Shown]:
        response = self.world.dispatch(body, json_body=json_body)
        shown = self._acked(response, person) if acked_reply else []
        if response.status != 200:
            shown.append(_note(f"Slack shows an error: the app answered HTTP {response.status}."))
        if not self.world.settle():
            shown.append(_note("The bot is still working; its replies will show up later."))
        return shown + self.collect()

    def _acked(self, response: BoltResponse, person: Person) -> list[Shown]:
        """A slash command's immediate answer (the HTTP body of the ack) as Slack shows it."""
        if response.status != 200 or not response.body:
            return []
        try:
            data = json.loads(response.body)
        except ValueError:
            data = {"text": response.body}
        if not isinstance(data, dict) or not (data.get("text") or data.get("blocks")):
            return []
        in_channel = data.get("response_type") == "in_channel"
        message = self._new(CHANNEL_ID, None if in_channel else person.user_id)
        kind: Kind = "posted" if in_channel else "ephemeral"
        return [self._show(_Raw(kind, message, str(data.get("text") or ""), _blocks(data)))]

    def _response_url(self, origin: _Origin) -> str:
        name = f"r{next(self._urls)}"
        self._origins[name] = origin
        return self.world.slack.webhook(name)

    def _trigger(self) -> str:
        return f"{int(time.time())}.{next(self._urls)}.demo"

    def _click_payload(self, person: Person, message: Message, button: Button) -> dict[str, Any]:
        ephemeral = message.only is not None
        action: dict[str, Any] = {
            "type": "button",
            "action_id": button.action_id,
            "block_id": _block_id(message.blocks, button),
            "text": {"type": "plain_text", "text": button.label},
            "value": button.value,
            "action_ts": f"{time.time():.6f}",
        }
        if button.style:
            action["style"] = button.style
        payload: dict[str, Any] = {
            "type": "block_actions",
            "api_app_id": self.world.requests.app_id,
            "user": {"id": person.user_id, "username": person.name, "team_id": self.team_id},
            "team": {"id": self.team_id, "domain": "demo"},
            "container": {
                "type": "message",
                "message_ts": message.ts,
                "channel_id": message.channel,
                "is_ephemeral": ephemeral,
            },
            "channel": {"id": message.channel, "name": CHANNEL_NAME},
            "response_url": self._response_url(_Origin(person.user_id, message.channel, message)),
            "trigger_id": self._trigger(),
            "actions": [action],
        }
        if not ephemeral:  # Slack leaves the message out of clicks on ephemeral messages
            payload["message"] = {
                "type": "message",
                "user": BOT_USER,
                "ts": message.ts,
                "text": message.text,
                "blocks": message.blocks,
            }
        return payload

    # -- what Slack shows

    def _interpret(self, call: Call) -> list[_Raw]:
        body, reply = call.body, call.reply or {}
        if not reply.get("ok"):
            return []
        text, blocks = str(body.get("text") or ""), _blocks(body)
        if call.method == "chat.postMessage":
            channel, thread = str(body.get("channel")), body.get("thread_ts")
            parent = self._find(channel, str(thread)) if thread else None
            message = self._new(channel, None, str(reply.get("ts")), thread_of=parent)
            return [_Raw("posted", message, text, blocks)]
        if call.method == "chat.update":
            found = self._find(str(body.get("channel")), str(body.get("ts")))
            return [_Raw("updated", found, text, blocks)] if found else []
        if call.method == "chat.postEphemeral":
            message = self._new(str(body.get("channel")), str(body.get("user")))
            return [_Raw("ephemeral", message, text, blocks)]
        if call.method == "webhook":
            return self._webhook(call.path.rsplit("/", 1)[-1], body, text, blocks)
        view = reply.get("view") if isinstance(reply.get("view"), dict) else None
        if call.method in ("views.open", "views.update") and view:
            return [_Raw("modal", self._view_message(str(view.get("id")), None), "", [])]
        if call.method == "views.publish" and view:
            message = self._view_message(str(view.get("id")), str(body.get("user_id")))
            return [_Raw("home", message, "", _blocks(view))]
        return []

    def _view_message(self, view_id: str, user: str | None) -> Message:
        """The message standing for a modal or a Home (one per view, so old buttons expire)."""
        for message in self._messages:
            if message.view_id == view_id:
                return message
        message = Message("", view_id, user, view_id=view_id)
        self._messages.append(message)
        return message

    def _webhook(self, name: str, body: Mapping[str, Any], text: str, blocks: Blocks) -> list[_Raw]:
        origin = self._origins.get(name)
        if origin is None:
            return []
        source = origin.message
        if source is not None and body.get("delete_original"):
            return [_Raw("deleted", source, "", [])]
        if source is not None and body.get("replace_original"):
            return [_Raw("updated", source, text, blocks)]
        only = None if body.get("response_type") == "in_channel" else origin.user
        message = self._new(origin.channel, only)
        return [_Raw("posted" if only is None else "ephemeral", message, text, blocks)]

    def _new(
        self,
        channel: str,
        only: str | None,
        ts: str | None = None,
        *,
        thread_of: Message | None = None,
    ) -> Message:
        message = Message(channel, ts or self.world.slack.next_ts(), only, thread_of=thread_of)
        if only is None and thread_of is None:
            message.number = next(self._numbers)
        self._messages.append(message)
        return message

    def _find(self, channel: str, ts: str) -> Message | None:
        for message in self._messages:
            if message.channel == channel and message.ts == ts:
                return message
        return None

    def _show(self, raw: _Raw) -> Shown:
        message = raw.message
        message.version += 1
        if raw.kind == "deleted":
            message.gone, message.buttons = True, []
            return Shown("deleted", message, "")
        if raw.kind == "modal" and message.view_id is not None:
            view = self.world.slack.views.get(message.view_id)
            message.blocks = list(view.view.get("blocks") or ()) if view else []
            text = modal_text(view.view, view.errors, view.typed) if view else ""
            return Shown("modal", message, text)
        message.text, message.blocks = raw.text, raw.blocks
        rendered = render_blocks(raw.blocks, first_button=len(self._buttons) + 1)
        for button in rendered.buttons:
            self._buttons[button.number] = (message, message.version, button)
        message.buttons = list(rendered.buttons)
        text = rendered.text or readable(raw.text)
        return Shown(raw.kind, message, text, tuple(rendered.buttons))


def _note(text: str) -> Shown:
    return Shown("note", None, text)


def _blocks(body: Mapping[str, Any]) -> Blocks:
    blocks = body.get("blocks")
    if isinstance(blocks, str):  # form-encoded Web API calls carry blocks as JSON text
        try:
            blocks = json.loads(blocks)
        except ValueError:
            return []
    return [b for b in blocks if isinstance(b, dict)] if isinstance(blocks, list) else []


def _block_id(blocks: Sequence[Mapping[str, Any]], button: Button) -> str:
    """The id of the block holding ``button`` (Slack sends it with the click)."""
    for block in blocks:
        elements = list(block.get("elements") or ())
        if isinstance(block.get("accessory"), Mapping):
            elements.append(block["accessory"])
        for element in elements:
            if (
                isinstance(element, Mapping)
                and element.get("action_id") == button.action_id
                and str(element.get("value") or "") == button.value
            ):
                return str(block.get("block_id") or "")
    return ""
