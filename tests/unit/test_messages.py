"""Pure Block Kit builders: Slack's Block Kit limits, escaping (R14), buttons."""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from bot.cartrover.errors import ConnectionFailed, OrderNotFound, Refused
from bot.cartrover.models import Order
from bot.grammar import Syntax
from bot.holds.card import hold_message
from bot.holds.messages import pending_message
from bot.lookup import StatusLine, history_message, status_message
from bot.slack import ids
from bot.slack.blocks.help import help_message, usage_error
from bot.slack.blocks.message import Message
from bot.store.records import AuditEntry, HoldItem, HoldRequest, ItemState, RequestState
from bot.times import FrozenClock
from handlers import SUBCOMMANDS

HOSTILE = "<!channel> look <https://x|Approve> & co"
HOSTILE_PIECES = ("<!channel>", "<https://x|Approve>", "& co")
ESCAPED_PIECES = ("&lt;!channel&gt;", "&lt;https://x|Approve&gt;", "&amp; co")
REQUESTER = "U0REQUEST"
APPROVER = "U0APPROVE"


def subcommands() -> list[Syntax]:
    return [sub.syntax for sub in SUBCOMMANDS]


# mrkdwn tokens the builders may produce themselves; any other `<` or `>` is a leak.
OWN_TOKENS = re.compile(
    r"<@[UW][A-Z0-9]+>"
    r"|<!date\^\d+\^\{date_short_pretty\}(?: \{time\})?\|[^<>]*>"
    r"|<https://slack\.com/archives/[A-Z0-9]+/p\d+\|[^<>]*>"
)
ENTITY = re.compile(r"&(amp|lt|gt);")

ITEM_OUTCOMES = (
    ItemState.CANCELED,
    ItemState.FAILED,
    ItemState.NOT_CONFIRMED,
    ItemState.SKIPPED,
    ItemState.SENDING,
    ItemState.QUEUED,
)


# ---------------------------------------------------------------------------------- data


def hold_request(
    now: datetime,
    *,
    state: RequestState = RequestState.PENDING,
    orders: int = 1,
    reason: str = HOSTILE,
    detail: str = "",
    request_id: int = 42,
    source: str = "command",
    item_state: ItemState | None = None,
) -> HoldRequest:
    final = state not in (RequestState.PENDING, RequestState.REJECTED, RequestState.EXPIRED)
    items = tuple(
        HoldItem(
            request_id=request_id,
            cust_ref=f"TEST-{i:05d}-{'x' * 50}" if orders > 1 else "TEST-1001",
            position=i,
            state=item_state or (ITEM_OUTCOMES[i % 6] if final else ItemState.QUEUED),
            detail=detail,
            process_ids=("pid-" + "9" * 40, "pid-2") if final else (),
        )
        for i in range(orders)
    )
    decided = state is not RequestState.PENDING and state is not RequestState.EXPIRED
    return HoldRequest(
        id=request_id,
        requester=REQUESTER,
        channel_id="C0HOLDS01",
        reason=reason,
        state=state,
        created_at=now - timedelta(hours=2),
        expires_at=now + timedelta(hours=22),
        source=source,
        message_ts="1700000000.123456",
        decided_by=APPROVER if decided else None,
        decided_at=now if decided else None,
        items=items,
    )


def hostile_order(now: datetime, **fields: Any) -> Order:
    record = {
        "cust_ref": "TEST-1001",
        "cust_po_no": "PO-7",
        "order_source": HOSTILE,
        "order_status": "new",
        "sending_canceled": "N",
        "on_hold": "Y",
        "created_date_time": (now - timedelta(days=3)).isoformat(),
        "ship_first_name": HOSTILE,
        "ship_last_name": "Park",
        "ship_company": HOSTILE,
        "ship_city": "Reno & <!here>",
        "items": [{"item": "A", "quantity": "2", "Description": HOSTILE}],
        "shipments": [{"carrier": HOSTILE, "tracking_no": "1Z<!here>", "date": "2025-03-04"}],
        **fields,
    }
    return Order.from_api(record)


def audit_entries(now: datetime, count: int, detail: str = HOSTILE) -> list[AuditEntry]:
    return [
        AuditEntry(
            at=now - timedelta(minutes=i),
            event=["requested", "approved", "outcome", "error", HOSTILE][i % 5],
            actor=[REQUESTER, APPROVER, None][i % 3],
            request_id=i,
            cust_ref="TEST-1001",
            detail=f"{detail} #{i}",
            process_id="pid-<x>" if i % 2 else None,
        )
        for i in range(count)
    ]


def every_message(now: datetime) -> Iterator[tuple[str, Message]]:
    """Every builder with ordinary, hostile and oversized inputs."""
    subs = subcommands()
    yield "help", help_message(subs)
    yield "usage error with usage", usage_error(HOSTILE, "status <order>", subs)
    yield "usage error without usage", usage_error(HOSTILE * 100, None, subs)
    long_detail = f"CartRover said: {HOSTILE} " * 200
    for state in RequestState:
        for orders, detail in ((1, long_detail), (5000, f"CartRover said: {HOSTILE}")):
            yield (
                f"hold {state.value} x{orders}",
                hold_message(hold_request(now, state=state, orders=orders, detail=detail), now),
            )
    yield (
        "hold with a 5000-character reason",
        hold_message(hold_request(now, reason=HOSTILE * 125, orders=5000), now),
    )
    yield (
        "hold from the digest",
        hold_message(hold_request(now, source="digest", state=RequestState.DONE), now),
    )
    yield "pending none", pending_message([], now)
    many = [hold_request(now, orders=30, request_id=i) for i in range(500)]
    yield "pending 500", pending_message(many, now)
    lines = [StatusLine("TEST-1001", order=hostile_order(now))]
    lines += [
        StatusLine("TEST-1002", error=Refused(HOSTILE, process_id="<pid>")),
        StatusLine("TEST-1007", error=ConnectionFailed(HOSTILE, request_sent=True)),
        StatusLine(
            "TEST-1003", order=hostile_order(now, order_status="error", error_reason=HOSTILE)
        ),
        StatusLine("TEST-1004", order=hostile_order(now, order_status=HOSTILE)),
        StatusLine("TEST-1005", order=hostile_order(now, sending_canceled=HOSTILE)),
        StatusLine("TEST-1006", order=hostile_order(now, ship_first_name=HOSTILE * 400)),
    ]
    yield "status", status_message(lines, now)
    yield "status x60", status_message(lines * 10, now)
    yield "history none", history_message("TEST-1001", [])
    yield "history 5", history_message("TEST-1001", audit_entries(now, 5))
    yield "history 500", history_message("TEST-1001", audit_entries(now, 500))
    yield "history 500 long", history_message("TEST-1001", audit_entries(now, 500, long_detail))


@functools.cache
def built(now: datetime) -> dict[str, Message]:
    """The scenarios, built once per module run (building 5000-order requests takes a while)."""
    return dict(every_message(now))


def message_cases() -> list[str]:
    return list(built(datetime(2026, 3, 2, 12, 0, tzinfo=UTC)))


@pytest.fixture
def messages(clock: FrozenClock) -> dict[str, Message]:
    return built(clock.now())


# ---------------------------------------------------------------------------------- walking


def walk(node: object) -> Iterator[dict[str, Any]]:
    """Every dict in a block tree."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def text_objects(blocks: list[dict[str, Any]], kind: str) -> Iterator[str]:
    for node in walk(blocks):
        if node.get("type") == kind:
            yield node["text"]


def plain_within(obj: dict[str, Any], limit: int) -> None:
    assert obj["type"] == "plain_text"
    assert 0 < len(obj["text"]) <= limit


def check_button(button: dict[str, Any]) -> None:
    plain_within(button["text"], 75)
    assert len(button["action_id"]) <= 255
    assert len(button.get("value", "")) <= 2000
    assert button.get("style", "primary") in ("primary", "danger")
    confirm = button.get("confirm")
    if confirm:
        plain_within(confirm["title"], 100)
        plain_within(confirm["text"], 300)
        plain_within(confirm["confirm"], 30)
        plain_within(confirm["deny"], 30)
        assert confirm.get("style", "danger") in ("primary", "danger")


def check_block(block: dict[str, Any]) -> None:
    kind = block["type"]
    if kind == "section":
        assert len(block["text"]["text"]) <= 3000
        assert len(block.get("fields", [])) <= 10
        for field in block.get("fields", []):
            assert len(field["text"]) <= 2000
    elif kind == "header":
        plain_within(block["text"], 150)
    elif kind == "context":
        assert 0 < len(block["elements"]) <= 10
        for element in block["elements"]:
            assert len(element["text"]) <= 3000
    elif kind == "actions":
        assert 0 < len(block["elements"]) <= 25
        assert sum(1 for b in block["elements"] if b.get("style") == "primary") <= 1
        action_ids = [b["action_id"] for b in block["elements"]]
        assert len(action_ids) == len(set(action_ids))
        for button in block["elements"]:
            assert button["type"] == "button"
            check_button(button)
    else:
        assert kind == "divider"


def check_limits(message: Message) -> None:
    assert 0 < len(message.blocks) <= 50
    assert 0 < len(message.text) <= 40_000
    block_ids = [b["block_id"] for b in message.blocks if "block_id" in b]
    assert len(block_ids) == len(set(block_ids))
    assert all(len(block_id) <= 255 for block_id in block_ids)
    for block in message.blocks:
        check_block(block)


def leaks(text: str) -> list[str]:
    """Angle brackets and bare ampersands that are not the builders' own tokens or entities."""
    rest = OWN_TOKENS.sub("", text)
    found = re.findall(r"[<>]", rest)
    found += ["&"] * (rest.count("&") - len(ENTITY.findall(rest)))
    return found


# ---------------------------------------------------------------------------------- limits


def test_every_builder_is_exercised(messages: dict[str, Message]) -> None:
    """The scenario list covers help, usage errors, every hold state, pending, status, history."""
    assert {f"hold {state.value} x5000" for state in RequestState} <= set(messages)
    assert len(messages) == len(message_cases())


@pytest.mark.parametrize(
    "name", [n for n in message_cases() if "x5000" in n or " 500" in n or n == "help"]
)
def test_summarised_messages_stay_under_the_practical_ceiling(
    name: str, messages: dict[str, Message]
) -> None:
    """Long lists keep the whole message under the ~13k characters Slack accepts in practice."""
    assert len(json.dumps(messages[name].blocks, ensure_ascii=False)) <= 13_000


@pytest.mark.parametrize("name", message_cases())
def test_every_message_stays_within_slack_limits(name: str, clock: FrozenClock) -> None:
    """Walking the dicts finds no Block Kit limit exceeded, even for 5000 orders or 500 entries."""
    check_limits(built(clock.now())[name])


@pytest.mark.parametrize("name", message_cases())
def test_every_block_round_trips_through_slack_sdk(name: str, clock: FrozenClock) -> None:
    """slack_sdk parses each block, validates it in to_dict() and gives back the same dict."""
    message = built(clock.now())[name]
    for block in message.blocks:
        parsed = Block.parse(block)
        assert parsed is not None
        assert type(parsed).__name__ != "Block"
        assert parsed.to_dict() == block


def test_the_block_cap_is_enforced_by_message() -> None:
    """A Message with more than 50 blocks cannot be built."""
    with pytest.raises(ValueError, match="50"):
        Message("x", [{"type": "divider"}] * 51)


def test_long_lists_are_summarised_not_dropped_silently(messages: dict[str, Message]) -> None:
    """5000 orders, 500 pending requests and 500 entries each say how many were left out."""
    hold = json.dumps(messages["hold pending x5000"].blocks, ensure_ascii=False)
    assert re.search(r"…and \d+ more", hold)
    assert "5000 orders" in hold
    pending = messages["pending 500"].blocks[-1]["text"]["text"]
    assert re.search(r"…and \d+ more$", pending)
    history = messages["history 500"].blocks[-1]["elements"][0]["text"]
    assert re.fullmatch(r"500 entries; the newest \d+ shown", history)


def test_a_short_history_lists_every_entry(messages: dict[str, Message]) -> None:
    """Five audit entries are all shown and counted."""
    message = messages["history 5"]
    assert message.blocks[-1]["elements"][0]["text"] == "5 entries"
    body = "\n".join(b["text"]["text"] for b in message.blocks if b["type"] == "section")
    for i in range(5):
        assert f"#{i}" in body


def test_status_keeps_to_a_size_budget(messages: dict[str, Message]) -> None:
    """60 long status lines stay under the practical ceiling: the orders past the budget get one
    line each, and the reply says the rest is too much to show in full."""
    message = messages["status x60"]
    assert len(json.dumps(message.blocks, ensure_ascii=False)) <= 13_000
    assert message.blocks[-1]["elements"][0]["text"].startswith("Too much to show in full")
    assert len(messages["status"].blocks) == 7  # seven orders fit in full


# ---------------------------------------------------------------------------------- escaping


@pytest.mark.parametrize("name", message_cases())
def test_untrusted_text_arrives_escaped(name: str, clock: FrozenClock) -> None:
    """No mrkdwn text or fallback carries a raw `<`, `>` or `&` except the builders' own tokens."""
    message = built(clock.now())[name]
    assert leaks(message.text) == []
    for text in text_objects(message.blocks, "mrkdwn"):
        assert leaks(text) == [], text


@pytest.mark.parametrize("name", message_cases())
def test_no_broadcast_or_fake_link_survives(name: str, clock: FrozenClock) -> None:
    """`<!channel>` and `<https://x|Approve>` never appear raw anywhere in text or blocks (R14)."""
    message = built(clock.now())[name]
    payload = message.text + json.dumps(message.blocks, ensure_ascii=False)
    for piece in HOSTILE_PIECES[:2]:
        assert piece not in payload
    assert "<!here>" not in payload


def test_a_hold_request_shows_the_reason_escaped(clock: FrozenClock) -> None:
    """The reason arrives as entities, in a code span of its own block under the summary."""
    blocks = hold_message(hold_request(clock.now()), clock.now()).blocks
    assert f"<@{REQUESTER}>" in blocks[1]["text"]["text"]
    assert "channel" not in blocks[1]["text"]["text"]
    (reason,) = (element["text"] for element in blocks[2]["elements"])
    assert blocks[2]["type"] == "context"
    assert reason.startswith("*Reason:* `") and reason.endswith("`")
    for piece in ESCAPED_PIECES:
        assert piece in reason


def test_a_cartrover_message_in_an_outcome_is_escaped(clock: FrozenClock) -> None:
    """CartRover's words on a failed order arrive escaped, with the Process-ID."""
    request = hold_request(
        clock.now(),
        state=RequestState.FAILED,
        detail=f"CartRover: {HOSTILE}",
        item_state=ItemState.FAILED,
    )
    blocks = hold_message(request, clock.now()).blocks
    items = next(b for b in blocks if b.get("block_id", "").endswith("-items"))["text"]["text"]
    assert "FAILED" in items
    assert "CartRover: &lt;!channel&gt;" in items
    assert "&amp; co" in items
    assert "Process-ID" in items
    assert any("Cancel Sending to WMS" in t for t in text_objects(blocks, "mrkdwn"))


def test_status_escapes_ship_to_source_and_cartrover_words(clock: FrozenClock) -> None:
    """Ship-to name, order source, error reason and problems arrive escaped in status replies."""
    order = hostile_order(clock.now(), order_status="error", error_reason=HOSTILE)
    message = status_message(
        [StatusLine("TEST-1001", order=order), StatusLine("TEST-2", error=OrderNotFound(HOSTILE))],
        clock.now(),
    )
    first, second = (b["text"]["text"] for b in message.blocks)
    assert "Ship to: &lt;!channel&gt; look &lt;https://x|Approve&gt; &amp; co Park" in first
    assert "from &lt;!channel&gt;" in first
    assert "Error — &lt;!channel&gt;" in first
    assert "`TEST-2` — CartRover does not know this order (&lt;!channel&gt;" in second
    for piece in ESCAPED_PIECES:
        assert piece in message.text


def test_history_escapes_event_and_detail(clock: FrozenClock) -> None:
    """Audit details and events arrive escaped in the history reply."""
    message = history_message("TEST-1001", audit_entries(clock.now(), 5))
    body = "\n".join(b["text"]["text"] for b in message.blocks if b["type"] == "section")
    for piece in ESCAPED_PIECES:
        assert piece in body
    assert f"by <@{REQUESTER}>" in body


@pytest.mark.parametrize(
    ("detail", "words"),
    [
        (
            'refused: HTTP 200: {"success_code": false, "status_message": "Order is <shipped>"}',
            "CartRover refused it (HTTP 200): Order is &lt;shipped&gt;",
        ),
        (
            'accepted: HTTP 200: {"success_code": true, "response": {"message": "Done"}}',
            "CartRover accepted it (HTTP 200): Done",
        ),
        (
            'rate_limited: HTTP 429: {"success_code": false, "message": "Slow down"}',
            "CartRover's rate limit turned it away: nothing was done (HTTP 429): Slow down",
        ),
    ],
)
def test_history_says_a_cancel_s_answer_with_cartrover_s_words(
    clock: FrozenClock, detail: str, words: str
) -> None:
    """CartRover's words in a cancel's answer are the ones the client reads (`message`, or the
    older `status_message`; the envelope's, else its response's); rows kept before a RateLimit
    answer became a CartRover error read in words too."""
    entry = AuditEntry(at=clock.now(), event="cancel_answer", cust_ref="TEST-1001", detail=detail)
    body = history_message("TEST-1001", [entry]).blocks[1]["text"]["text"]
    assert body.endswith(f"CartRover's answer to the cancel: {words}")


def test_a_usage_error_escapes_the_problem(clock: FrozenClock) -> None:
    """The problem text of a usage error arrives escaped, with the usage line."""
    message = usage_error("'<!channel>' is not an order reference", "status <order>", [])
    assert "'&lt;!channel&gt;' is not an order reference" in message.text
    assert "`/cartrover status &lt;order&gt;`" in message.text


# ---------------------------------------------------------------------------------- buttons


def actions_blocks(message: Message) -> list[dict[str, Any]]:
    return [b for b in message.blocks if b["type"] == "actions"]


def test_a_pending_request_has_approve_and_reject(clock: FrozenClock) -> None:
    """Approve is primary with a confirm dialog, Reject is danger, both carry the request id."""
    message = hold_message(hold_request(clock.now(), request_id=77), clock.now())
    [actions] = actions_blocks(message)
    approve, reject = actions["elements"]
    assert approve["action_id"] == ids.APPROVE_HOLD
    assert approve["text"]["text"] == "Approve"
    assert approve["style"] == "primary"
    assert approve["value"] == "77"
    assert "TEST-1001" in approve["confirm"]["text"]["text"]
    assert approve["confirm"]["text"]["text"].endswith("CartRover will not send it.")
    assert reject["action_id"] == ids.REJECT_HOLD
    assert reject["text"]["text"] == "Reject"
    assert reject["style"] == "danger"
    assert reject["value"] == "77"
    assert "confirm" not in reject


def test_the_confirm_dialog_of_a_bulk_request_stays_short(clock: FrozenClock) -> None:
    """For 5000 orders the confirm text names a few and counts the rest within 300 characters."""
    message = hold_message(hold_request(clock.now(), orders=5000), clock.now())
    confirm = actions_blocks(message)[0]["elements"][0]["confirm"]["text"]["text"]
    assert len(confirm) <= 300
    assert "TEST-00000" in confirm
    assert re.search(r" and 499\d more to the WMS\? CartRover will not send them\.$", confirm)


def test_a_pending_request_says_when_it_expires(clock: FrozenClock) -> None:
    """The pending message shows the expiry as a date token and says nothing is deleted."""
    message = hold_message(hold_request(clock.now()), clock.now())
    notes = " ".join(text_objects(message.blocks, "mrkdwn"))
    assert "<!date^" in notes
    assert "in 22h" in notes
    assert "never deletes" in notes


@pytest.mark.parametrize("state", [s for s in RequestState if s is not RequestState.PENDING])
def test_every_other_state_has_no_buttons(state: RequestState, clock: FrozenClock) -> None:
    """Once a request is not pending its message has no actions block and no button (R19)."""
    message = hold_message(hold_request(clock.now(), state=state, orders=3), clock.now())
    assert actions_blocks(message) == []
    assert not [n for n in walk(message.blocks) if n.get("type") == "button"]


def test_block_ids_differ_between_states(clock: FrozenClock) -> None:
    """No block id of one state's message reappears in another state's message."""
    seen: dict[str, RequestState] = {}
    for state in RequestState:
        message = hold_message(hold_request(clock.now(), state=state, orders=3), clock.now())
        for block in message.blocks:
            if "block_id" in block:
                assert block["block_id"] not in seen, (state, seen.get(block["block_id"]))
                seen[block["block_id"]] = state


def test_progress_changes_the_items_block_id(clock: FrozenClock) -> None:
    """Two progress updates of one executing request use different block ids for the items."""
    request = hold_request(
        clock.now(), state=RequestState.EXECUTING, orders=3, item_state=ItemState.QUEUED
    )
    first = hold_message(request, clock.now())
    done = HoldItem(request.id, request.items[0].cust_ref, 0, state=ItemState.CANCELED)
    later = hold_message(
        dataclasses.replace(request, items=(done, *request.items[1:])), clock.now()
    )
    first_ids = {b.get("block_id") for b in first.blocks} - {None}
    later_ids = {b.get("block_id") for b in later.blocks} - {None}
    assert first_ids != later_ids


@pytest.mark.parametrize(
    ("state", "words"),
    [
        (RequestState.REJECTED, "Rejected by <@U0APPROVE>"),
        (RequestState.EXPIRED, "Nobody decided in time"),
        (RequestState.DONE, "Approved by <@U0APPROVE>"),
    ],
)
def test_decided_messages_say_who_decided(
    state: RequestState, words: str, clock: FrozenClock
) -> None:
    """A decided request names the decider (or says it expired), with nothing sent on rejection."""
    message = hold_message(hold_request(clock.now(), state=state), clock.now())
    assert any(words in t for t in text_objects(message.blocks, "mrkdwn"))


def test_a_withdrawn_request_says_withdrawn(clock: FrozenClock) -> None:
    """A rejection by the requester reads as withdrawn."""
    request = hold_request(clock.now(), state=RequestState.REJECTED)
    withdrawn = dataclasses.replace(request, decided_by=REQUESTER)
    notes = " ".join(text_objects(hold_message(withdrawn, clock.now()).blocks, "mrkdwn"))
    assert f"Withdrawn by <@{REQUESTER}>" in notes


@pytest.mark.parametrize("name", message_cases())
def test_every_rendered_action_id_is_known(name: str, clock: FrozenClock) -> None:
    """Each action_id a builder renders is one of bot.slack.ids.ALL_ACTIONS (R26)."""
    message = built(clock.now())[name]
    for node in walk(message.blocks):
        if "action_id" in node:
            assert node["action_id"] in ids.ALL_ACTIONS


def test_pending_lists_each_request_with_a_link(clock: FrozenClock) -> None:
    """The pending list links each request message and names the requester and age."""
    message = pending_message([hold_request(clock.now(), request_id=9)], clock.now())
    text = message.blocks[0]["text"]["text"]
    assert "<https://slack.com/archives/C0HOLDS01/p1700000000123456|#9>" in text
    assert f"by <@{REQUESTER}>" in text
    assert "2h old" in text


def test_help_lists_every_subcommand(messages: dict[str, Message]) -> None:
    """The help text has one line per registered subcommand and says orders are never deleted."""
    text = messages["help"].text
    for sub in subcommands():
        assert f"`/cartrover {sub.name}" in text
    assert "never deletes" in json.dumps(messages["help"].blocks)


def test_builders_are_pure(clock: FrozenClock) -> None:
    """Building the same message twice gives equal results."""

    def build() -> Message:
        request = hold_request(clock.now(), state=RequestState.UNKNOWN, orders=50)
        return hold_message(request, clock.now())

    assert build() == build()
