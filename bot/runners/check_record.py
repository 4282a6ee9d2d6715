"""The replies ``cartrover-bot check`` received, seen where the clients receive them.

Every Slack and CartRover call of ``check`` goes through the clients built here
(:meth:`Replies.slack_client`, :meth:`Replies.cartrover_client`), whichever row makes it: a Slack
``WebClient`` whose ``api_call`` (the one path every typed method takes) hands on each reply or
refusal, and for CartRover an httpx transport around the client's own deadline transport that copies
each reply body as the client reads it (:mod:`bot.runners.check_wire`).

For each reply ``check`` says whether it had the keys the bot relies on (:func:`reply_row`);
with ``--record DIR`` each is also written to ``DIR`` as it arrives, one JSON file per call,
secrets and personal data removed as :mod:`bot.runners.check_redact` says.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from slack_sdk import WebClient

from bot import __version__
from bot.log import redact
from bot.runners.check_redact import redact_headers, redact_value
from bot.runners.check_shapes import Reply, reply_row
from bot.runners.check_table import Row, Status
from bot.runners.check_wire import RecordingWebClient, recording_http
from bot.settings import Settings
from bot.words import plural

if TYPE_CHECKING:
    from bot.cartrover.client import CartRoverClient

__all__ = ["RecordFolderError", "Replies", "prepare_folder"]

ABOUT = """\
cartrover-bot {version}: the replies `cartrover-bot check` received, one file per call, numbered
in the order the calls were made.

Removed: request headers (Authorization among them); reply headers other than Content-Type,
Retry-After, X-CartRover-Process-ID, the rate-limit headers, x-oauth-scopes,
x-accepted-oauth-scopes and X-Slack-Req-Id; every value under a secret key (tokens, keys,
passwords, signatures) or a personal key (names, addresses, cities, states, postcodes,
countries, phones, e-mails, companies, titles, card/bank/account numbers, customer ids,
tracking numbers, Slack's user, team and url); every other text value except ids, order
references, statuses, flags, dates and error codes and messages; every configured secret and
every token-shaped string wherever it appears. Field names, numbers, true/false and null are kept.
"""


class RecordFolderError(Exception):
    """``--record DIR`` names a folder that cannot take a record."""


def prepare_folder(folder: Path) -> None:
    """Make ``folder`` (a new or empty folder) ready for the record, or say why it cannot be."""
    if folder.exists() and not folder.is_dir():
        raise RecordFolderError(f"{folder} is a file; --record needs a folder")
    if folder.is_dir() and any(folder.iterdir()):
        raise RecordFolderError(
            f"{folder} is not empty; give --record a new or empty folder, so that the record "
            "holds this run's replies only"
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RecordFolderError(f"cannot create {folder}: {exc.strerror or exc}") from None


class Replies:
    """Every reply of one ``check`` run, in order; written to ``folder`` when recording."""

    def __init__(self, folder: Path | None = None, secrets: Sequence[str] = ()) -> None:
        self.folder = folder
        self.secrets = list(secrets)
        self.received: list[Reply] = []
        self._lock = threading.Lock()
        self._http: list[httpx.Client] = []
        if folder is not None:
            (folder / "README.txt").write_text(ABOUT.format(version=__version__))

    # -- the hooked clients
    def slack_client(self, token: str, base_url: str, timeout: int) -> WebClient:
        """A Slack client whose every reply is seen here."""
        return RecordingWebClient(self.add, token=token, base_url=base_url, timeout=timeout)

    def cartrover_client(self, settings: Settings, **overrides: Any) -> CartRoverClient:
        """``CartRoverClient.from_settings(settings, **overrides)`` whose every reply is seen
        here; its HTTP client is closed by :meth:`close`."""
        from bot.cartrover.client import CartRoverClient

        http = recording_http(self.add)
        with self._lock:
            self._http.append(http)
        return CartRoverClient.from_settings(settings, http=http, **overrides)

    def close(self) -> None:
        """Close the HTTP clients made for CartRover clients (which do not close them)."""
        with self._lock:
            made, self._http = self._http, []
        for http in made:
            http.close()

    # -- receiving
    def add(self, reply: Reply) -> None:
        with self._lock:
            self.received.append(reply)
            number = len(self.received)
        if self.folder is not None:
            self._write(number, reply)

    def rows(self) -> list[Row]:
        """One row per reply: whether it had the keys the bot relies on; and where the record
        went, when recording."""
        with self._lock:
            received = list(self.received)
        rows = [
            reply_row(n, reply, recording=self.folder is not None)
            for n, reply in enumerate(received, 1)
        ]
        if self.folder is not None:
            count = plural(len(received), "reply", "replies")
            if received:
                detail = f"{count} written to {self.folder}, secrets and personal data removed"
                rows.append(Row("record", Status.OK, detail))
            else:
                rows.append(Row("record", Status.SKIP, "no call was made, so nothing was recorded"))
        return rows

    # -- writing
    def _write(self, number: int, reply: Reply) -> None:
        assert self.folder is not None
        record: dict[str, Any] = {
            "call": number,
            "service": reply.service,
            "request": {"call": reply.call, "arguments": _arguments(reply)},
            "reply": None
            if reply.status is None
            else {
                "status": reply.status,
                "headers": redact_headers(reply.headers),
                "body": _body(reply.body),
                **({"truncated": True} if reply.truncated else {}),
            },
        }
        if reply.error:
            record["no_reply"] = reply.error
        text = redact(json.dumps(record, indent=1, ensure_ascii=False), self.secrets)
        name = f"{number:02d}-{reply.service}-{_slug(reply.call)}.json"
        (self.folder / name).write_text(text + "\n", encoding="utf-8")


def _arguments(reply: Reply) -> dict[str, Any]:
    """A Slack call's arguments as sent (slack_sdk drops the unset ones), redacted; a CartRover
    query string as sent (the bot builds it from status, page, limit and dates)."""
    if reply.service == "cartrover":
        return dict(reply.arguments)
    sent = {k: v for k, v in reply.arguments.items() if v is not None}
    return dict(redact_value(sent))


def _body(body: Any) -> Any:
    if isinstance(body, str):
        return {"text": body[:1000], **({"cut_at": 1000} if len(body) > 1000 else {})}
    return redact_value(body)


def _slug(call: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", call.removeprefix("GET ").strip("/"))
    return slug.strip("_")[:80] or "call"
