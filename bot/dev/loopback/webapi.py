"""How the local Slack reads a Web API call, the way Slack documents it, and the refusals Slack
documents for the methods the bot calls.

Arguments (Slack's Web API overview, https://docs.slack.dev/apis/web-api/): a method takes them as
query-string parameters, as a form body (``application/x-www-form-urlencoded``), or both; "most
write methods" also take a JSON body. Each method's reference page lists the content types it
accepts: :data:`JSON_METHODS` are those listing ``application/json``. Any other method reads only
the query string and a form body, so a JSON body reaches it as *no arguments at all* (the page of
``usergroups.users.list``: "This method does not currently accept application/json"). With a
JSON body the token must come in the ``Authorization: Bearer`` header; otherwise it may also be a
``token`` argument. No token at all is ``not_authed``.

In a form body, arguments that are JSON structures (``blocks``, ``attachments``, ``view``) are
JSON text; they are decoded, as Slack reads them.

:func:`refusal` gives the errors each method's reference page documents for arguments that are
missing. What Slack answers ``usergroups.users.list`` without ``usergroup`` is not documented: its
page names ``no_such_subteam`` ("No usergroup found with the given Id") and no error for a missing
argument, so that is what the local Slack answers by default; ``invalid_arguments`` (Slack's
common error for a call with invalid arguments) is the other possibility, chosen with
``LocalSlack.missing_usergroup_error``.

Standard library only.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

__all__ = [
    "JSON_METHODS",
    "METHOD_SCOPES",
    "MISSING_USERGROUP_ERRORS",
    "Arguments",
    "read_arguments",
    "refusal",
]

# Reference pages listing application/json among the accepted content types. Every other method
# is read as a form (application/x-www-form-urlencoded, the only type the pages of
# conversations.info, usergroups.list, usergroups.users.list and users.info list).
JSON_METHODS = frozenset(
    {
        "auth.test",
        "chat.delete",
        "chat.postEphemeral",
        "chat.postMessage",
        "chat.update",
        "conversations.open",
        "views.open",
        "views.publish",
        "views.push",
        "views.update",
    }
)
# The bot-token scope each method's reference page requires (checked when the local Slack knows
# the token's scopes).
METHOD_SCOPES: Mapping[str, str] = {
    "conversations.open": "im:write",
    "chat.postEphemeral": "chat:write",
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "usergroups.users.list": "usergroups:read",
}
MISSING_USERGROUP_ERRORS = ("no_such_subteam", "invalid_arguments")
_JSON_TEXT_FIELDS = ("blocks", "attachments", "view")


@dataclass(frozen=True)
class Arguments:
    """One call as Slack reads it."""

    values: dict[str, Any]  # the arguments the method sees
    sent: dict[str, Any]  # the body as sent (decoded), whether or not the method reads it
    token: str | None  # from the Authorization header, else a ``token`` argument
    encoding: str  # "json", "form", or "none" (no body)
    json_ignored: bool = False  # a JSON body sent to a method that does not read JSON


def read_arguments(
    method: str, query: str, content_type: str, raw: str, authorization: str
) -> Arguments:
    """The arguments ``method`` sees in a call with this query string, body and headers."""
    values: dict[str, Any] = _decoded(dict(parse_qsl(query, keep_blank_values=True)))
    kind = content_type.split(";", 1)[0].strip().lower()
    sent: dict[str, Any] = {}
    encoding = "none"
    json_ignored = False
    if kind == "application/json":
        encoding = "json"
        try:
            parsed = json.loads(raw or "{}")
        except ValueError:
            parsed = {}
        sent = parsed if isinstance(parsed, dict) else {}
        if method in JSON_METHODS:
            values.update({k: v for k, v in sent.items() if k != "token"})
        else:
            json_ignored = bool(sent)
    elif raw:
        encoding = "form"
        sent = _decoded(dict(parse_qsl(raw, keep_blank_values=True)))
        values.update(sent)
    bearer = authorization.removeprefix("Bearer ").strip() if authorization else ""
    token = bearer or (str(values["token"]) if values.get("token") else None)
    return Arguments(values, sent, token, encoding, json_ignored)


# Each method's required arguments, with the error its reference page gives when one is missing
# (None: the undocumented case, answered as LocalSlack.missing_usergroup_error says).
_REQUIRED: Mapping[str, tuple[tuple[str, str | None], ...]] = {
    "chat.postMessage": (("channel", "channel_not_found"),),
    "chat.update": (("channel", "channel_not_found"), ("ts", "message_not_found")),
    "chat.postEphemeral": (("channel", "channel_not_found"), ("user", "user_not_in_channel")),
    "usergroups.users.list": (("usergroup", None),),
}
# Messages need something to show: text, blocks or attachments (else ``no_text``).
_NEEDS_TEXT = frozenset({"chat.postMessage", "chat.update", "chat.postEphemeral"})


def refusal(method: str, args: Mapping[str, Any], missing_usergroup_error: str) -> str | None:
    """The error Slack documents for ``method`` called without an argument it needs."""
    for name, error in _REQUIRED.get(method, ()):
        if not args.get(name):
            return error or missing_usergroup_error
    if method in _NEEDS_TEXT and not any(args.get(k) for k in ("text", "blocks", "attachments")):
        return "no_text"
    return None


def _decoded(values: dict[str, Any]) -> dict[str, Any]:
    """Form or query values, with JSON-text structures decoded (as Slack reads them)."""
    for key in _JSON_TEXT_FIELDS:
        text = values.get(key)
        if isinstance(text, str):
            with contextlib.suppress(ValueError):
                values[key] = json.loads(text)
    return values
