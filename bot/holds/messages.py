"""Hold request messages: the request with its buttons, progress and outcomes, the pending list,
and the replies to a click or a request. The notice that tells the requester how a request ended
is :mod:`bot.holds.notices`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.holds.items import card_lines, checking, shadowed, tally
from bot.holds.outcomes import Asked, Posting
from bot.holds.requests import Refusal
from bot.holds.rules import MANUAL_FALLBACK, RefusalReason
from bot.slack.blocks.message import (
    SECTION_LIMIT,
    Block,
    Message,
    archive_link,
    context,
    header,
    lines_within,
    section,
)
from bot.slack.ids import APPROVE_HOLD, REJECT_HOLD
from bot.slack.mrkdwn import code, date_token, escape, one_line, user
from bot.store.records import HoldRequest, ItemState, RequestState
from bot.times import format_age
from bot.words import plural

__all__ = [
    "asked_message",
    "decision_buttons",
    "decision_note",
    "decision_reason",
    "hold_message",
    "not_saved_message",
    "pending_message",
    "refusal_message",
    "withdrawn",
]

_TITLES = {
    RequestState.PENDING: "Hold request: cancel sending to the WMS?",
    RequestState.EXECUTING: "Hold approved: canceling sending…",
    RequestState.DONE: "Hold done",
    RequestState.FAILED: "Hold finished with failures",
    RequestState.UNKNOWN: "Hold finished: some cancels NOT CONFIRMED",
    RequestState.REJECTED: "Hold request rejected",
    RequestState.EXPIRED: "Hold request expired",
}
# What an approved request is doing or did, after "…was already approved by @x and".
_CARRIED_OUT = {
    RequestState.EXECUTING: "is being carried out",
    RequestState.DONE: "is done",
    RequestState.FAILED: "finished with failures",
    RequestState.UNKNOWN: "finished; some cancels are not confirmed",
}


def withdrawn(request: HoldRequest) -> bool:
    """A rejection by the requester: the request was withdrawn."""
    return request.state is RequestState.REJECTED and request.decided_by == request.requester


def _title(request: HoldRequest) -> str:
    if withdrawn(request):
        return "Hold request withdrawn"
    if request.state is RequestState.DONE and shadowed(request):
        return "Hold done in shadow mode: nothing was canceled"
    if request.state is RequestState.EXECUTING and checking(request):
        return "Hold approved: checking again…"
    return _TITLES[request.state]


def _orders_line(refs: Sequence[str]) -> str:
    return lines_within([code(ref) for ref in refs], limit=2800)


def _summary(request: HoldRequest) -> str:
    refs = request.cust_refs
    label = "Order" if len(refs) == 1 else f"{len(refs)} orders"
    text = f"*{label}:* " + _orders_line(refs).replace("\n", " ")
    text += f"\n*Requested by:* {user(request.requester)}"
    if request.source == "digest":
        text += " with “Request hold for all”"
    return text


def _reason(request: HoldRequest) -> Block:
    """The requester's words in a block of their own, as one escaped inline-code span: no line of
    the card's own, no bold label, mention or link can be made of them."""
    reason = one_line(request.reason)
    return context(f"*Reason:* {code(reason) if reason else '_none given_'}")


def _confirm_text(refs: Sequence[str]) -> str:
    """Name up to five orders and count the rest, within the dialog's 300 characters."""
    text = ""
    for shown in range(min(len(refs), 5), 0, -1):
        more = f" and {len(refs) - shown} more" if len(refs) > shown else ""
        named = ", ".join(refs[:shown]) + more
        them = "it" if len(refs) == 1 else "them"
        text = f"Cancel sending to the WMS for {named}? CartRover will not send {them}."
        if len(text) <= 300:
            break
    return text


def _buttons(request: HoldRequest) -> dict[str, object]:
    confirm_text = _confirm_text(request.cust_refs)
    return {
        "type": "actions",
        "block_id": f"hold-{request.id}-actions",
        "elements": [
            {
                "type": "button",
                "action_id": APPROVE_HOLD,
                "text": {"type": "plain_text", "text": "Approve"},
                "style": "primary",
                "value": str(request.id),
                "confirm": {
                    "title": {"type": "plain_text", "text": "Cancel sending?"},
                    "text": {"type": "plain_text", "text": confirm_text[:300]},
                    "confirm": {"type": "plain_text", "text": "Cancel sending"},
                    "deny": {"type": "plain_text", "text": "Not now"},
                    "style": "danger",
                },
            },
            {
                "type": "button",
                "action_id": REJECT_HOLD,
                "text": {"type": "plain_text", "text": "Reject"},
                "style": "danger",
                "value": str(request.id),
            },
        ],
    }


def decision_buttons(request: HoldRequest) -> dict[str, object]:
    """The Approve and Reject buttons of a pending request, as its card shows them (the App Home
    shows the same ones)."""
    return _buttons(request)


def decision_reason(request: HoldRequest) -> Block | None:
    """The words a rejection came with, in a block of their own like the request's reason."""
    reason = one_line(request.decision_reason)
    if request.state is not RequestState.REJECTED or not reason:
        return None
    verb = "withdrawing" if request.decided_by == request.requester else "rejecting"
    return context(f"*Reason for {verb}:* {code(reason)}")


def hold_message(request: HoldRequest, now: datetime) -> Message:
    """The request message in its current state; buttons only while it is pending."""
    state = request.state
    blocks = [
        header(f"#{request.id} · {_title(request)}"),
        section(_summary(request), block_id=f"hold-{request.id}-{state.value}-summary"),
        _reason(request),
    ]
    if state is RequestState.PENDING:
        blocks.append(
            context(
                f"Expires {date_token(request.expires_at)} "
                f"(in {format_age(request.expires_at - now)}). Approving cancels *sending to the "
                "WMS*; it never deletes an order."
            )
        )
        blocks.append(_buttons(request))
    else:
        blocks.append(context(decision_note(request)))
        why = decision_reason(request)
        if why is not None:
            blocks.append(why)
    if state not in (RequestState.PENDING, RequestState.REJECTED, RequestState.EXPIRED):
        done = sum(1 for item in request.items if item.state.is_final)
        lines, complete = card_lines(request)
        if state.is_final and not complete:
            lines += "\nEvery order's outcome is in this message's thread."
        blocks.append(
            section(
                f"*Progress:* {done} of {len(request.items)}{tally(request.items)}\n" + lines,
                block_id=f"hold-{request.id}-{state.value}-{done}-items",
            )
        )
        if checking(request):
            blocks.append(
                context(
                    "CartRover does not show every cancel at once: the orders not confirmed yet "
                    "are read again about a minute after the first look, and never sent again."
                )
            )
        if any(i.state in (ItemState.FAILED, ItemState.NOT_CONFIRMED) for i in request.items):
            blocks.append(context(f"Check these orders by hand. {escape(MANUAL_FALLBACK)}"))
        if any(i.state is ItemState.ORDER_CANCELED for i in request.items):
            blocks.append(
                context(
                    "CartRover canceled these orders themselves, not only their sending: check "
                    "in the order source (the cart) that this is what you want."
                )
            )
    text = f"Hold request #{request.id} ({state.value}): " + ", ".join(request.cust_refs[:20])
    return Message(text=escape(text), blocks=blocks)


def decision_note(request: HoldRequest) -> str:
    state = request.state
    who = user(request.decided_by) if request.decided_by else "the bot"
    when = f" ({date_token(request.decided_at)})" if request.decided_at else ""
    if state is RequestState.REJECTED:
        verb = "Withdrawn" if withdrawn(request) else "Rejected"
        return f"{verb} by {who}{when}. Nothing was sent to CartRover."
    if state is RequestState.EXPIRED:
        return "Nobody decided in time, so nothing was sent to CartRover. Ask again if needed."
    return f"Approved by {who}{when}."


def pending_message(requests: Sequence[HoldRequest], now: datetime) -> Message:
    if not requests:
        return Message(text="No open hold requests.", blocks=[section("No open hold requests.")])
    rows = []
    for request in requests:
        link = (
            archive_link(request.channel_id, request.message_ts, f"#{request.id}")
            if request.message_ts
            else f"#{request.id}"
        )
        refs = ", ".join(code(r) for r in request.cust_refs[:5])
        more = f" +{len(request.cust_refs) - 5}" if len(request.cust_refs) > 5 else ""
        standing = (
            "waiting for an approver"
            if request.state is RequestState.PENDING
            else "approved, being carried out"
        )
        rows.append(
            f"{link} · {refs}{more} · by {user(request.requester)} · "
            f"{format_age(now - request.created_at)} old · {standing}"
        )
    title = f"*Open hold requests ({len(requests)})*\n"
    text = title + lines_within(rows, limit=SECTION_LIMIT - len(title))
    return Message(text=plural(len(requests), "open hold request"), blocks=[section(text)])


_REFUSALS = {
    RefusalReason.NO_APPROVERS: "Nobody may approve holds yet: APPROVERS is not set for this bot.",
    RefusalReason.NOT_APPROVER: (
        "You are not an approver for holds (ask an admin to add you to APPROVERS)."
    ),
    RefusalReason.OWN_REQUEST: "You asked for this hold, so a second person must approve it.",
    RefusalReason.MAY_NOT_REJECT: (
        "Only an approver or the person who asked can reject this hold request."
    ),
    RefusalReason.EXPIRED: "This hold request has expired; nothing was sent. Ask for a new one.",
    RefusalReason.OTHER_WORKSPACE: "This button belongs to another workspace.",
    RefusalReason.BAD_VALUE: "This button carries no valid request number, so nothing was done.",
    RefusalReason.NO_SUCH_REQUEST: "I have no record of this hold request.",
    RefusalReason.NO_SUCH_LIST: (
        "I have no record of that list; run `/cartrover stale` for a fresh one."
    ),
    RefusalReason.WRONG_MESSAGE: "This button does not belong to the hold request's message.",
    RefusalReason.WRONG_VIEW: "That button was on an older App Home; here is the current one.",
}


# A decision that could not be saved, as the person who clicked is told it (R63).
_NOT_RECORDED = {
    "approval": "your approval was not recorded",
    "rejection": "your rejection was not recorded",
    "withdrawal": "your withdrawal was not recorded",
}


def not_saved_message(what: str) -> Message:
    """What a person hears when the database did not take what they asked for: nothing was
    done, and it is worth trying again shortly."""
    recorded = _NOT_RECORDED.get(what)
    said = f"{recorded}, so nothing was done" if recorded else "nothing was done"
    return Message.note(f"I could not save that — {said}; try again in a minute.")


def refusal_message(refusal: Refusal) -> Message:
    """What the clicker is told when a click changed nothing."""
    request = refusal.request
    if refusal.reason is RefusalReason.ALREADY_DECIDED and request is not None:
        text = _already(request)
    else:
        text = _REFUSALS.get(refusal.reason, "Nothing was done.")
    return Message.note(text)


def _already(request: HoldRequest) -> str:
    """Why a second click changed nothing: what the first decision was, and by whom."""
    by = f" by {user(request.decided_by)}" if request.decided_by else ""
    if withdrawn(request):
        return f"This hold request was already withdrawn{by}."
    if request.state is RequestState.REJECTED:
        return f"This hold request was already rejected{by}."
    if request.state is RequestState.EXPIRED:
        return "This hold request has expired; nothing was sent. Ask for a new one."
    doing = _CARRIED_OUT.get(request.state, "is waiting for an approver")
    return f"This hold request was already approved{by} and {doing}."


def asked_message(asked: Asked, now: datetime) -> Message:
    """What the requester is told after asking for a hold."""
    left_out = _why_not(asked.refused)
    where = f"<#{asked.channel_id}>"
    posted = asked.posted
    if posted is None:
        text = "Nothing was requested, because:\n" + lines_within(left_out, 2800)
        if asked.others_holdable:
            text += "\nRun the command again without these orders."
    elif posted.outcome is Posting.FAILED:
        advice = posted.advice or "Slack did not accept it."
        text = f"I could not post the hold request in {where}. {advice}"
    elif posted.outcome is Posting.IN_DOUBT:
        request = posted.request
        text = (
            f"Slack did not answer when I posted hold request #{request.id} in {where}, so it "
            "may have been posted. Check the channel: if the request is there, approvers can "
            f"use it as usual. If it is not, it expires {date_token(request.expires_at)} and its "
            "orders can be requested again then."
        )
    else:
        request = posted.request
        text = (
            f"Hold request #{request.id} for {plural(len(request.items), 'order')} is posted "
            f"in {where}; it needs an approver's click."
        )
        if left_out:
            text += f"\nLeft out ({len(asked.refused)}):\n" + lines_within(left_out, 2000)
    return Message.note(text)


def _why_not(refused: Sequence[tuple[str, str]]) -> list[str]:
    """One line per reason: the orders it applies to, then why (``it is …`` agreeing with them),
    so that seven orders already in one request make one line, not seven."""
    grouped: dict[str, list[str]] = {}
    for ref, why in refused:
        grouped.setdefault(why, []).append(ref)
    lines = []
    for why, refs in grouped.items():
        named = ", ".join(code(ref) for ref in refs[:5])
        if len(refs) > 5:
            named += f" and {len(refs) - 5} more"
        if len(refs) > 1 and why.startswith("it is "):
            lines.append(f"{named}: they are {escape(why.removeprefix('it is '))}")
        else:
            lines.append(f"{named}: {escape(why)}")
    return lines
