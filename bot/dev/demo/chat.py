"""The terminal chat: read a line, act on it, print what the bot did, repeat.

Lines starting with ``/cartrover`` go to the bot exactly as Slack would send them; a number (or
``/press N``) clicks that button; the other ``/`` commands are the demo's own (:data:`HELP`). Each
line's output is printed only once the bot has finished with it, so a scripted run is
deterministic. On a terminal the prompt has line editing and history (``readline``) and the output
has colour unless ``NO_COLOR`` is set; piped input is echoed after the prompt instead.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from typing import ClassVar, TextIO

from bot.cartrover.errors import CartRoverError
from bot.dev.demo.people import CHANNEL_NAME, Person
from bot.dev.demo.surfaces import SURFACES_HELP, Surfaces
from bot.dev.demo.workspace import Shown, Workspace
from bot.dev.demo.world import World
from bot.dev.sandbox import DEFAULT_SEND_DELAY, STALE_TEST_REF
from bot.slack.blocks.text import Button, for_terminal
from bot.slack.mrkdwn import zone_label
from bot.slack.webapi import SlackFailed
from bot.words import plural
from handlers import SUBCOMMANDS

__all__ = ["HELP", "Chat", "Style", "parse_duration"]

log = logging.getLogger(__name__)

HELP = """\
Demo commands (anything starting with /cartrover goes to the bot, as in Slack):
  /cartrover <subcommand>  talk to the bot; /cartrover help lists what it can do
  <n>  or  /press <n>      press button [n] (a confirm dialog is accepted for you)
  /as <who>                act as someone else: requester, approver, approver2, other,
                           a name (alex, sam, kim, lee) or any new name (not an approver)
  /whoami                  who you are, and who else is here
  /advance <time>          move the sandbox clock on, e.g. 30m, 2h, 1d, 1h30m; then the
                           scheduler's jobs run (expiry of hold requests, the daily digest)
  /digest                  post the digest of stale test orders in #{channel} now
  /time                    the sandbox clock
{surfaces}
  /help                    this list
  /quit                    leave (so do Ctrl-D and the end of piped input)
New orders go to the WMS {delay} after the demo starts unless their sending is canceled.""".format(
    channel=CHANNEL_NAME,
    delay=f"{DEFAULT_SEND_DELAY.total_seconds() / 3600:g} hours",
    surfaces=SURFACES_HELP,
)

_DURATION = re.compile(r"(\d+(?:\.\d+)?)([mhd])")
_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}
_MAX_ADVANCE = timedelta(days=366)
_LIST_AT_MOST = 8


def parse_duration(text: str) -> timedelta | None:
    """``30m``, ``2h``, ``1d``, ``1h30m`` → a timedelta; None if it is not one (or is zero)."""
    compact = text.replace(" ", "").lower()
    if not compact or _DURATION.sub("", compact):
        return None
    total = sum((float(n) * _UNITS[u] for n, u in _DURATION.findall(compact)), timedelta())
    return total if timedelta() < total <= _MAX_ADVANCE else None


def when(moment: datetime, zone: tzinfo = UTC) -> str:
    """The sandbox clock as the demo says it, in the bot's TIMEZONE."""
    local = moment.astimezone(zone)
    return f"{local:%a} {local.day} {local:%b %Y %H:%M} {zone_label(zone)}"


class Style:
    """ANSI colour, or nothing. ``prompt=True`` wraps codes for readline's width count."""

    _CODES: ClassVar[dict[str, str]] = {
        "bold": "1",
        "dim": "2",
        "red": "31",
        "green": "32",
        "yellow": "33",
        "cyan": "36",
    }

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, *names: str, prompt: bool = False) -> str:
        if not self.enabled or not names:
            return text
        start = "\033[" + ";".join(self._CODES[n] for n in names) + "m"
        end = "\033[0m"
        if prompt:
            start, end = f"\001{start}\002", f"\001{end}\002"
        return f"{start}{text}{end}"


class Chat(Surfaces):
    def __init__(self, world: World, out: TextIO, *, colour: bool = False) -> None:
        self.world = world
        self.workspace = Workspace(world)
        self.out = out
        self.style = Style(colour)
        self.me: Person = world.people.first
        self._commands: dict[str, Callable[[str], bool]] = {
            "/as": self._as,
            "/whoami": self._whoami,
            "/advance": self._advance,
            "/digest": self._digest,
            "/time": self._time,
            "/press": self._press,
            "/help": self._help,
            "/quit": self._quit,
            "/exit": self._quit,
            **self.surface_commands(),
        }

    # -- the loop

    def run(self, stdin: TextIO) -> int:
        """Chat until ``/quit`` or the end of input; the exit code."""
        interactive = stdin is sys.stdin and stdin.isatty()
        if interactive:
            _line_editing(self.completions())
        self.intro()
        while True:
            try:
                line = self._read(stdin, interactive)
            except KeyboardInterrupt:
                self.say("\n" + self.style("(Ctrl-C: type /quit or press Ctrl-D to leave)", "dim"))
                continue
            if line is None or not self._handle_safely(line):
                return 0

    def _handle_safely(self, line: str) -> bool:
        """:meth:`handle`, where a failure of the demo itself is logged and the chat goes on."""
        try:
            return self.handle(line)
        except Exception:
            log.exception("the demo failed on %r", line)
            self.note("The demo itself failed on that line (logged above); carry on or /quit.")
            return True

    def _read(self, stdin: TextIO, interactive: bool) -> str | None:
        if interactive:
            try:
                return input(self.prompt(readline=True))
            except EOFError:
                self.say("")
                return None
        line = stdin.readline()
        if not line:
            return None
        self.say(self.prompt() + line.rstrip("\n"))
        return line

    def prompt(self, *, readline: bool = False) -> str:
        field = self.form_prompt()
        if field is not None:
            return self.style(f"  {field}", "bold", "yellow", prompt=readline) + " "
        return self.style(f"{self.me.name} ›", "bold", "green", prompt=readline) + " "

    def handle(self, line: str) -> bool:
        """Act on one line and print the outcome; False when the chat should end."""
        if self.form is not None:
            return self.fill(line)
        text = line.strip()
        if not text:
            return True
        word, _, rest = text.partition(" ")
        if word == "/cartrover":
            self.show(self.workspace.command(self.me, rest.strip()))
            return True
        if text.isdigit():
            return self._press(text)
        action = self._commands.get(word.lower())
        if action is not None:
            return action(rest.strip())
        if text.startswith("/"):
            self.note(f"Unknown command {word}. /help lists the demo's commands.")
        else:
            self.note("Nobody answers: the bot listens to /cartrover only. /help lists the rest.")
        return True

    # -- output

    def say(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def note(self, text: str) -> None:
        self.say(self.style(f"  · {text}", "yellow"))

    def show(self, items: list[Shown]) -> None:
        for item in items:
            if item.kind == "note" or item.message is None:
                self.note(item.text)
                continue
            if not self.visible(item):
                continue
            self.say(self.style(self._heading(item), "bold", "cyan"))
            body = self._terminal(self.world.people.named(item.text))
            for button in item.buttons:
                body = body.replace(f"[{button.number}] {button.label}", self._button(button))
            if body:
                self.say("\n".join("  " + line for line in body.splitlines()))
        self.start_forms(items)

    def _terminal(self, text: str) -> str:
        """mrkdwn emphasis as the terminal can show it: ``*bold*`` and ``code`` in colour (or
        plain text and backticked code without), emoji codes as characters."""
        return for_terminal(
            text,
            bold=lambda words: self.style(words, "bold"),
            code=(lambda words: self.style(words, "cyan")) if self.style.enabled else None,
        )

    def _heading(self, item: Shown) -> str:
        message = item.message
        assert message is not None
        if item.kind in ("home", "modal"):
            return "cartrover → your App Home" if item.kind == "home" else "cartrover → a form"
        if message.only is not None:
            people = self.world.people
            who = "you" if message.only == self.me.user_id else people.name_of(message.only)
            change = " · (updated)" if item.kind == "updated" else ""
            return f"cartrover → only {who}{change}"
        what = {"updated": "(updated) ", "deleted": "(deleted) "}.get(item.kind, "")
        if message.thread_of is not None:
            parent = f"message #{message.thread_of.number}"
            return f"cartrover → #{CHANNEL_NAME} · {what}in the thread of {parent}"
        return f"cartrover → #{CHANNEL_NAME} · {what}message #{message.number}"

    def _button(self, button: Button) -> str:
        colour = {"primary": "green", "danger": "red"}.get(button.style or "", "")
        names = ("bold", colour) if colour else ("bold",)
        return self.style(f"[{button.number}] {button.label}", *names)

    def intro(self) -> None:
        people = self.world.people.everyone
        approvers = ", ".join(p.name for p in people if p.approver)
        others = ", ".join(p.describe for p in people if not p.approver and p != self.me)
        s = self.style
        self.say(s("cartrover-bot demo", "bold") + " — the real bot in your terminal.")
        self.say(
            "CartRover is a local sandbox with seeded orders, this terminal plays Slack, and the "
            "database is thrown away when you leave."
        )
        self.say(f"You are {self.me.describe} in #{CHANNEL_NAME}. Approvers: {approvers}.")
        self.say(f"Also here: {others}. Sandbox clock: {self._clock()}.")
        self.say("Try:")
        for example, why in (
            (f"/cartrover status {STALE_TEST_REF}", "where a test order is"),
            (
                f"/cartrover hold {STALE_TEST_REF} test order",
                "ask for a hold request to stop its sending",
            ),
            ("/as approver", "become sam, then type the Approve button's number"),
            ("/digest", "the digest of stale test orders"),
        ):
            self.say(f"  {s(example, 'bold')}{' ' * (40 - len(example))}{why}")
        for line in self.world.choices.described():
            self.note(line)
        self.say("/help lists the demo's commands; /quit or Ctrl-D leaves.")

    def completions(self) -> list[str]:
        words = [*self._commands, "/cartrover"]
        words += [f"/cartrover {sub.syntax.name}" for sub in SUBCOMMANDS]
        words += [f"/as {n}" for p in self.world.people.everyone for n in (p.name, *p.aliases)]
        return sorted(words)

    # -- the demo's own commands (each returns False to end the chat)

    def _press(self, rest: str) -> bool:
        if not rest.isdigit():
            self.note("Usage: /press <n>, the number shown in a button's brackets.")
            return True
        self.show(self.workspace.press(self.me, int(rest)))
        return True

    def _as(self, rest: str) -> bool:
        if not rest:
            return self._whoami(rest)
        person = self.world.people.find_or_add(rest)
        if person is None:
            self.note(f"{rest!r} is not a usable name; try /as approver or /as lee.")
            return True
        self.me = person
        self.note(f"You are now {person.describe}.")
        return True

    def _whoami(self, rest: str) -> bool:
        self.note(f"You are {self.me.describe} in #{CHANNEL_NAME}.")
        everyone = "; ".join(p.describe for p in self.world.people.everyone)
        self.note(f"People here: {everyone}.")
        return True

    def _advance(self, rest: str) -> bool:
        delta = parse_duration(rest)
        if delta is None:
            self.note("Usage: /advance <time>, for example 30m, 2h, 1d or 1h30m (up to 366d).")
            return True
        sent = self.world.advance(delta)
        self.note(f"Sandbox clock: {self._clock()} (moved on {rest.strip()}).")
        if sent:
            listed = ", ".join(sent[:_LIST_AT_MOST])
            more = f" and {len(sent) - _LIST_AT_MOST} more" if len(sent) > _LIST_AT_MOST else ""
            self.note(f"CartRover sent {plural(len(sent), 'order')} to the WMS: {listed}{more}.")
        self._settled()
        return True

    def _digest(self, rest: str) -> bool:
        try:
            self.world.post_digest()
        except CartRoverError as exc:
            self.note(f"The digest could not be built: {exc}")
        except SlackFailed as exc:
            self.note(f"Slack refused the digest: {exc.error}")
        self._settled()
        return True

    def _settled(self) -> None:
        if not self.world.settle():
            self.note("The bot is still working; its replies will show up later.")
        self.show(self.workspace.collect())

    def _clock(self) -> str:
        return when(self.world.clock.now(), self.world.deps.settings.zone)

    def _time(self, rest: str) -> bool:
        self.note(f"Sandbox clock: {self._clock()}.")
        return True

    def _help(self, rest: str) -> bool:
        self.say(HELP)
        return True

    def _quit(self, rest: str) -> bool:
        return False


def _line_editing(words: list[str]) -> None:
    """Line editing, history and Tab completion at an interactive prompt (where available)."""
    try:
        import readline
    except ImportError:  # e.g. Windows without pyreadline
        return

    def complete(text: str, state: int) -> str | None:
        line = readline.get_line_buffer()
        matches = [w for w in words if w.startswith(line)]
        if not matches:
            return None
        cut = len(line) - len(text)
        return matches[state][cut:] if state < len(matches) else None

    readline.set_completer_delims(" ")
    readline.set_completer(complete)
    readline.parse_and_bind("tab: complete")
