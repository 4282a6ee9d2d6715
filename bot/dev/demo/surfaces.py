"""The demo's Slack surfaces beside messages: ``/home`` (the App Home, as text, with its buttons
numbered like any others), ``/shortcut hold`` and ``/shortcut message <text>`` (the shortcuts),
and modals, which are filled in at the prompt field by field (:class:`~bot.dev.demo.forms
.FormFill`) and submitted to the bot as Slack submits them.

A mixin of :class:`~bot.dev.demo.chat.Chat`: it uses the chat's workspace, its current person and
its output.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.dev.demo.forms import FormFill, fields_of
from bot.dev.demo.workspace import Shown, Workspace

if TYPE_CHECKING:
    from bot.dev.demo.people import Person

__all__ = ["SURFACES_HELP", "Surfaces"]

SURFACES_HELP = """\
  /home                    open the bot's App Home: open requests (approvers can decide
                           there), your own requests, the digest; its buttons are numbered
  /shortcut hold           the "Hold test orders" shortcut: the hold form
  /shortcut message <text> the "Hold orders in message" shortcut on a message saying <text>
  (a form is filled in field by field: an empty line keeps what is shown, /cancel closes it)"""


class Surfaces:
    """The App Home, the shortcuts and the forms, for the chat."""

    workspace: Workspace
    me: Person
    form: FormFill | None = None
    say: Callable[[str], None]
    note: Callable[[str], None]

    def show(self, items: list[Shown]) -> None:  # pragma: no cover - Chat's
        raise NotImplementedError

    def surface_commands(self) -> dict[str, Callable[[str], bool]]:
        return {"/home": self._home, "/shortcut": self._shortcut}

    def _home(self, rest: str) -> bool:
        self.show(self.workspace.home(self.me))
        return True

    def _shortcut(self, rest: str) -> bool:
        which, _, text = rest.partition(" ")
        if which == "hold" and not text.strip():
            self.show(self.workspace.shortcut(self.me))
        elif which == "message":
            self.show(self.workspace.shortcut(self.me, message=text))
        else:
            self.note("Usage: /shortcut hold, or /shortcut message <the message's text>.")
        return True

    def visible(self, item: Shown) -> bool:
        """Another person's Home, re-published after a change, is not printed (they see it when
        they open it)."""
        message = item.message
        return not (item.kind == "home" and message is not None and message.only != self.me.user_id)

    def start_forms(self, items: list[Shown]) -> None:
        """Fill in the last modal just shown, if it has anything to fill in; after a refused
        submission, only its fields with an error."""
        for item in reversed(items):
            message = item.message
            if item.kind != "modal" or message is None or message.view_id is None:
                continue
            view = self.workspace.world.slack.views.get(message.view_id)
            fields = fields_of(view.view, view.typed) if view is not None else []
            if view is None or view.closed or not fields or not view.view.get("submit"):
                self.form = None  # closed, or a view with nothing to fill in
                return
            form = self.form
            same = form is not None and form.view_id == view.id
            if same and view.errors and form is not None and form.again(view.errors):
                self.note("Fix the fields marked ⚠ (an empty line keeps what is shown).")
                return
            title = str((view.view.get("title") or {}).get("text") or "the form")
            self.form = FormFill(view.id, title, fields)
            self.note("Fill it in field by field: an empty line keeps what is shown.")
            return

    def fill(self, line: str) -> bool:
        """One line typed while a form is open."""
        form = self.form
        assert form is not None
        word = line.strip().lower()
        if word in ("/cancel", "/quit", "/exit"):
            self.workspace.close(form.view_id)
            self.form = None
            self.note("The form is closed; nothing was sent.")
            return word == "/cancel"
        if word.startswith("/"):
            self.note("A form is open: answer its field, or /cancel to close it.")
            return True
        if not form.take(line):
            return True
        self.show(self.workspace.submit(self.me, form.view_id, form.values))
        if self.form is form and not form.asking:
            self.form = None  # submitted, and not asked again
        return True

    def form_prompt(self) -> str | None:
        return self.form.prompt if self.form is not None else None
