"""Hold request replies: the pending list, what a click that changed nothing is told, and what
the requester is told after asking. The card is :mod:`bot.holds.card`; the notice that tells the
requester how a request ended is :mod:`bot.holds.notices`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo

from bot.digest.messages import request_row
from bot.holds.endings import withdrawn
from bot.holds.outcomes import Asked, Posting
from bot.holds.requests import Refusal
from bot.holds.rules import RefusalReason
from bot.slack.blocks.message import SECTION_LIMIT, Message, lines_within, section
from bot.slack.mrkdwn import code, date_token, escape, user
from bot.store.records import HoldRequest, RequestState
from bot.words import first_few, plural

__all__ = [
    "ambiguous_word",
    "asked_message",
    "not_saved_message",
    "pending_message",
    "reason_hint",
    "refusal_message",
]

# What an approved request is doing or did, after "…was already approved by @x and".
_CARRIED_OUT = {
    RequestState.EXECUTING: "is being carried out",
    RequestState.DONE: "has ended",
    RequestState.FAILED: "has ended with failures",
    RequestState.UNKNOWN: "has ended; some cancels are not confirmed",
}


def pending_message(requests: Sequence[HoldRequest], now: datetime) -> Message:
    """``/cartrover pending``: every open hold request, oldest first."""
    if not requests:
        return Message(text="No open hold requests.", blocks=[section("No open hold requests.")])
    rows = []
    for request in requests:
        standing = (
            "waiting for an approver"
            if request.state is RequestState.PENDING
            else "approved, stopping sending"
        )
        rows.append(f"{request_row(request, now, 5)} · {standing}")
    title = f"*Open hold requests ({len(requests)})*\n"
    text = title + lines_within(rows, limit=SECTION_LIMIT - len(title))
    return Message(text=plural(len(requests), "open hold request"), blocks=[section(text)])


_REFUSALS = {
    RefusalReason.NO_APPROVERS: (
        "Nobody may approve hold requests yet: APPROVERS is not set for this bot."
    ),
    RefusalReason.NOT_APPROVER: (
        "You are not an approver of hold requests (ask an admin to add you to APPROVERS)."
    ),
    RefusalReason.OWN_REQUEST: (
        "You asked for this hold request, so a second person must approve it."
    ),
    RefusalReason.MAY_NOT_REJECT: (
        "Only an approver or the person who asked can reject this hold request."
    ),
    RefusalReason.EXPIRED: (
        "This hold request has expired; no cancel was sent to CartRover. Ask for a new one."
    ),
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
        return "This hold request has expired; no cancel was sent to CartRover. Ask for a new one."
    doing = _CARRIED_OUT.get(request.state, "is waiting for an approver")
    return f"This hold request was already approved{by} and {doing}."


def asked_message(asked: Asked, now: datetime, zone: tzinfo = UTC) -> Message:
    """What the requester is told after asking for a hold request."""
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
            "use it as usual. If it is not, it expires "
            f"{date_token(request.expires_at, zone=zone)} and its orders can be requested again "
            "then."
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
    """One line per reason: the orders it applies to, then why (``went to the WMS — …``), so
    that seven orders already in one request make one line, not seven."""
    grouped: dict[str, list[str]] = {}
    for ref, why in refused:
        grouped.setdefault(why, []).append(ref)
    lines = []
    for why, refs in grouped.items():
        named = first_few(refs, code)
        lines.append(f"{named}: each {escape(why)}" if len(refs) > 1 else f"{named} {escape(why)}")
    return lines


def _command(refs: Sequence[str], reason: str) -> str:
    return code(f"/cartrover hold {' '.join(refs)}" + (f" {reason}" if reason else ""))


def ambiguous_word(refs: Sequence[str], reason: str, word: str) -> Message:
    """The reason's first word is also an order CartRover knows: nothing is requested, and the
    two ways to say which it is are shown."""
    rest = reason.removeprefix(word).strip()
    with_it = _command([*refs[:-1], f"{refs[-1]},", word], rest)
    as_reason = _command([*refs, "-"], reason)
    return Message.note(
        f"{code(word)} is an order CartRover knows, and also the first word of the reason, so "
        f"nothing was requested. To hold it too, put a comma before it: {with_it}. To keep it "
        f"in the reason, separate the reason with a dash: {as_reason}."
    )


def reason_hint(refs: Sequence[str], reason: str, unknown: Sequence[str]) -> str:
    """For orders CartRover did not know that came after the first: they may have been meant
    as the start of the reason (``2nd try``), which a dash says (mrkdwn, escaped)."""
    later = [ref for ref in unknown if ref in refs[1:]]
    if not later:
        return ""
    first = refs.index(later[0])
    words = " ".join([*refs[first:], reason]).strip()
    return (
        f"If {code(later[0])} starts the reason, separate the reason with a dash: "
        f"{_command([*refs[:first], '-'], words)}."
    )
