"""The App Home, per user, as a pure view: open hold requests (for approvers, every one, those
they may decide first with the card's own Approve and Reject; for anyone else, only their own),
with Withdraw on the user's own requests and never Approve unless they may approve it; the
user's recent requests and what became of them, the digest subscriptions with their last counts,
and for approvers a short health line.

Within Slack's limits for a Home tab (100 blocks, 3000 characters a section): at most
:data:`OPEN_SHOWN` open requests are shown, the rest counted. Every text from users or CartRover
is escaped; reasons are one inline-code span each, in a block of their own, as on the card.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.digest.messages import request_link, request_refs, request_row
from bot.holds.card import decision_buttons
from bot.holds.endings import Ending, ending
from bot.slack.blocks.message import (
    Block,
    context,
    divider,
    header,
    lines_within,
    plain,
    section,
)
from bot.slack.ids import OPEN_HOLD_FORM
from bot.slack.mrkdwn import code, date_token, one_line, user
from bot.store.records import DigestPost, DigestSubscription, HoldRequest, ItemState, RequestState
from bot.times import ago, zone_or_none
from bot.words import plural

__all__ = ["MAX_HOME_BLOCKS", "OPEN_SHOWN", "SHADOW_MODE_LINE", "Health", "HomeFacts", "home_view"]

MAX_HOME_BLOCKS = 100
SHADOW_MODE_LINE = (
    ":dark_sunglasses: *Shadow mode* (`SHADOW_MODE=true`): hold requests, approvals and checks run "
    "as usual, but nothing is canceled in CartRover; each outcome says what would have been."
)
OPEN_SHOWN = 15  # open requests shown with their buttons; three blocks each at most
_ENDING_WORDS = {
    Ending.WAITING: "waiting for an approver",
    Ending.RUNNING: "approved, stopping sending…",
    Ending.CHECKING: "approved, checking again…",
    Ending.DONE: "done",
    Ending.SHADOW: "shadow mode: nothing stopped",
    Ending.PARTLY: "partly done",
    Ending.MOVED_ON: "nothing stopped — every order had moved on",
    Ending.FAILED: "failed, nothing stopped",
    Ending.UNCONFIRMED: "ended, some cancels NOT CONFIRMED",
    Ending.REJECTED: "rejected",
    Ending.WITHDRAWN: "withdrawn",
    Ending.EXPIRED: "expired, no cancel sent",
}
_ITEM_WORDS = {
    ItemState.CANCELED: "stopped",
    ItemState.ORDER_CANCELED: "order canceled in CartRover",
    ItemState.WOULD_CANCEL: "shadow mode: would have canceled",
    ItemState.CHECKING: "checking again",
    ItemState.SKIPPED: "had moved on",
    ItemState.FAILED: "FAILED",
    ItemState.NOT_CONFIRMED: "NOT CONFIRMED",
}


@dataclass(frozen=True)
class Health:
    """What an approver sees of the bot's health: CartRover's last answer (when, and the calls
    it said are left this minute), whether the last call got none, and the scheduler's last run."""

    cartrover_answered_at: datetime | None = None
    hits_remaining: int | None = None
    cartrover_silent: bool = False  # the last call got no answer
    scheduler_ran_at: datetime | None = None


@dataclass(frozen=True)
class HomeFacts:
    """Everything one user's App Home shows, read from the store just before publishing."""

    user_id: str
    now: datetime
    open_requests: Sequence[HoldRequest]
    own_requests: Sequence[HoldRequest]
    subscriptions: Sequence[DigestSubscription]
    last_digests: Mapping[str, DigestPost]
    approver: bool = False
    may_decide: Collection[int] = ()  # open requests this user may approve
    health: Health | None = None  # approvers only
    notice: str = ""  # mrkdwn, already escaped: what their last click came to
    digest_days: str = "every day"  # DIGEST_DAYS in words
    shadow_mode: bool = False  # SHADOW_MODE: holds run in full, but nothing is canceled


def home_view(facts: HomeFacts) -> dict[str, Any]:
    """The ``home`` view for ``facts.user_id``."""
    blocks: list[Block] = [header("CartRover holds")]
    if facts.shadow_mode:
        blocks.append(context(SHADOW_MODE_LINE))
    if facts.notice:
        blocks.append(context(f"ℹ️ {facts.notice}"))
    blocks.append(
        {
            "type": "actions",
            "block_id": "home-start",
            "elements": [
                {
                    "type": "button",
                    "action_id": OPEN_HOLD_FORM,
                    "text": plain("Hold test orders…", 75),
                    "value": "form",
                }
            ],
        }
    )
    blocks += _open_requests(facts)
    blocks += [divider(), section(_own_requests(facts), block_id="home-own")]
    blocks += [divider(), section(_digests(facts), block_id="home-digest")]
    if facts.approver and facts.health is not None:
        blocks += [divider(), context(_health_line(facts.health, facts.now))]
    return {
        "type": "home",
        "blocks": blocks[:MAX_HOME_BLOCKS],
    }


def _open_requests(facts: HomeFacts) -> list[Block]:
    mine = set(facts.may_decide)
    ordered = sorted(facts.open_requests, key=lambda r: (r.id not in mine, r.created_at, r.id))
    waiting = sum(1 for r in ordered if r.id in mine)
    title = f"*{'Open' if facts.approver else 'Your open'} hold requests ({len(ordered)})*"
    if facts.approver:
        title += f" · {waiting} you may decide" if waiting else " · none for you to decide"
    if not ordered:
        return [section(title + "\nNone right now.", block_id="home-open")]
    blocks = [section(title, block_id="home-open")]
    for request in ordered[:OPEN_SHOWN]:
        blocks += _open_request(facts, request, request.id in mine)
    if len(ordered) > OPEN_SHOWN:
        more = len(ordered) - OPEN_SHOWN
        blocks.append(context(f"…and {more} more: `/cartrover pending` lists them all."))
    return blocks


def _open_request(facts: HomeFacts, request: HoldRequest, yours: bool) -> list[Block]:
    line = f"{request_row(request, facts.now, 5)} · {_ENDING_WORDS[ending(request)]}"
    if request.state is RequestState.EXECUTING:
        done = sum(1 for item in request.items if item.state.is_final)
        line += f" ({done} of {len(request.items)})"
    if yours:
        line = "👉 " + line
    reason = one_line(request.reason)
    blocks = [
        section(line, block_id=f"home-hold-{request.id}"),
        context(f"*Reason:* {code(reason) if reason else '_none given_'}"),
    ]
    own = request.requester == facts.user_id
    if request.state is RequestState.PENDING and (yours or own):
        blocks.append(
            decision_buttons(request, approve=yours, withdraw=own, shadow=facts.shadow_mode)
        )
    return blocks


def _own_requests(facts: HomeFacts) -> str:
    title = "*Your recent requests*\n"
    if not facts.own_requests:
        return title + "None yet: `/cartrover hold &lt;order&gt;` or the button above asks for one."
    lines = []
    for request in facts.own_requests:
        outcome = _ENDING_WORDS[ending(request)] + _tally(request)
        if request.state is RequestState.REJECTED and request.decided_by:  # withdrawn or rejected
            outcome += f" by {user(request.decided_by)}"
            why = one_line(request.decision_reason)
            if why:
                outcome += f": {code(why)}"
        age = ago(facts.now - request.created_at)
        lines.append(f"{request_link(request)} · {request_refs(request, 5)} · {outcome} · {age}")
    return title + lines_within(lines, limit=2900)


def _tally(request: HoldRequest) -> str:
    if not request.state.is_final or request.state in (
        RequestState.REJECTED,
        RequestState.EXPIRED,
    ):
        return ""
    counts = Counter(item.state for item in request.items)
    parts = [f"{counts[s]} {words}" for s, words in _ITEM_WORDS.items() if counts[s]]
    return f": {', '.join(parts)}" if parts else ""


def _digests(facts: HomeFacts) -> str:
    title = "*Daily digest of stale test orders*\n"
    if not facts.subscriptions:
        return title + "No channel is subscribed: `/cartrover digest subscribe` in one."
    lines = []
    for sub in facts.subscriptions:
        line = f"<#{sub.channel_id}> at {sub.local_time} {sub.timezone}"
        if facts.digest_days != "every day":
            line += f", {facts.digest_days}"
        last = facts.last_digests.get(sub.channel_id)
        if last is None:
            line += " · no digest posted yet"
        else:
            counted = plural(last.test_count, "stale test order")
            if last.non_test_count:
                counted += f", {last.non_test_count} stale non-test"
            zone = zone_or_none(sub.timezone)  # its last digest's time reads in its own zone
            line += f" · last {date_token(last.posted_at, zone=zone)}: {counted}"
        lines.append(line)
    return title + lines_within(lines, limit=2900)


def _health_line(health: Health, now: datetime) -> str:
    if health.cartrover_silent:
        cartrover = ":warning: CartRover: the last call got no answer"
    elif health.cartrover_answered_at is None:
        cartrover = "CartRover: not called yet by this process"
    else:
        cartrover = f"CartRover answered {ago(now - health.cartrover_answered_at)}"
    if health.hits_remaining is not None:
        cartrover += f" · {health.hits_remaining} calls left this minute"
    ran = health.scheduler_ran_at
    if ran is None:
        scheduler = ":warning: scheduler: no run recorded (is `clock` or `serve` running it?)"
    elif now - ran > timedelta(minutes=5):
        scheduler = f":warning: scheduler: last ran {ago(now - ran)}"
    else:
        scheduler = f"scheduler ran {ago(now - ran)}"
    return f"*Health:* {cartrover} · {scheduler}"
