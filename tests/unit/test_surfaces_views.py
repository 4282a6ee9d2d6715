"""The App Home and the modals as pure views: Slack's limits, escaping, what a submitted view
says, and the order references found in a message's text."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_sdk.models.views import View

from bot.holds.forms import (
    HoldDraft,
    checking_view,
    hold_form,
    read_hold_form,
    read_reject_form,
    reject_form,
    result_view,
)
from bot.holds.requests import Click, Surface
from bot.home.view import MAX_HOME_BLOCKS, Health, HomeFacts, home_view
from bot.orderref import MAX_FOUND, refs_in_text
from bot.slack import ids
from bot.slack.blocks import Message
from bot.store.records import DigestPost, DigestSubscription, HoldItem, HoldRequest, RequestState

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
NASTY = "<!channel> <https://evil.example|Approve> & *Approved by:* @boss\u202e"


def request(number: int, *, requester: str = "UREQ0001", reason: str = NASTY) -> HoldRequest:
    refs = [f"TS-{number}-{n}" for n in range(7)]
    return HoldRequest(
        id=number,
        requester=requester,
        channel_id="C0HOLDS01",
        reason=reason,
        state=RequestState.PENDING,
        created_at=NOW - timedelta(hours=2),
        expires_at=NOW + timedelta(hours=22),
        message_ts=f"1700000000.{number:06d}",
        items=tuple(HoldItem(number, ref, n) for n, ref in enumerate(refs)),
    )


def facts(open_count: int, **overrides: Any) -> HomeFacts:
    values: dict[str, Any] = {
        "user_id": "UAPP0001",
        "now": NOW,
        "open_requests": [request(n) for n in range(1, open_count + 1)],
        "own_requests": [request(n, requester="UAPP0001") for n in range(900, 908)],
        "subscriptions": [DigestSubscription("C0HOLDS01", "09:00", "Europe/Berlin")],
        "last_digests": {"C0HOLDS01": DigestPost("C0HOLDS01", NOW, "1.1", 3, 1)},
        "approver": True,
        "may_decide": [2],
        "health": Health(NOW, 87, False, NOW - timedelta(seconds=40)),
    }
    return HomeFacts(**(values | overrides))


def buttons(view: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]


def test_the_home_stays_within_slack_s_limits_however_many_requests_are_open() -> None:
    """500 open requests: at most 100 blocks, the rest counted; slack_sdk accepts the view."""
    view = home_view(facts(500))
    assert len(view["blocks"]) <= MAX_HOME_BLOCKS
    assert "…and 485 more" in json.dumps(view, ensure_ascii=False)
    View(**view).validate_json()  # slack_sdk's own checks of a home view
    block_ids = [b["block_id"] for b in view["blocks"] if "block_id" in b]
    assert len(block_ids) == len(set(block_ids))


def test_the_home_lists_the_requests_the_user_may_decide_first() -> None:
    """An approver's decidable request comes first; every button is one the bot listens to."""
    view = home_view(facts(3))
    first = next(b for b in view["blocks"] if b.get("block_id", "").startswith("home-hold-"))
    assert first["block_id"] == "home-hold-2" and first["text"]["text"].startswith("👉")
    assert {b["action_id"] for b in buttons(view)} <= set(ids.ALL_ACTIONS)


def test_only_approvers_see_decision_buttons_and_health() -> None:
    """Someone who is not an approver sees the requests without buttons, and no health line."""
    view = home_view(facts(3, approver=False, may_decide=[], health=None))
    assert [b["action_id"] for b in buttons(view)] == [ids.OPEN_HOLD_FORM]
    assert "Health" not in json.dumps(view)


def test_untrusted_text_on_the_home_is_escaped_and_kept_in_code() -> None:
    """Reasons and references cannot mention, link or pass for the Home's own lines."""
    text = json.dumps(home_view(facts(2)))
    assert "<!channel>" not in text and "<https://evil" not in text
    assert "`&lt;!channel&gt; &lt;https://evil.example|Approve&gt; &amp;" in text
    assert "\u202e" not in text and "\\u202e" not in text


def test_the_health_line_warns_when_cartrover_or_the_scheduler_is_quiet() -> None:
    """No answer from CartRover, or no maintenance run for five minutes, is flagged."""
    quiet = Health(None, None, True, NOW - timedelta(minutes=10))
    text = json.dumps(home_view(facts(1, health=quiet)))
    assert "the last call got no answer" in text and "scheduler: last ran 10m ago" in text
    text = json.dumps(home_view(facts(1, health=Health())))
    assert "not called yet" in text and "no run recorded" in text


# -- the hold form -------------------------------------------------------------------------------


def _submitted(view: dict[str, Any], **typed: str | None) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, value in typed.items():
        key = "selected_conversation" if name == ids.CHANNEL_FIELD else "value"
        values[name] = {name: {key: value}}
    return {**view, "id": "V1", "state": {"values": values}}


def test_the_hold_form_is_a_valid_modal_with_its_fields() -> None:
    """Orders (multi-line plain text), an optional reason and a channel picker; titles within
    24 characters; slack_sdk accepts it; inputs never send actions of their own."""
    view = hold_form(HoldDraft(orders="TS-1", channel_id="C0HOLDS01", note="found 1"))
    View(**view).validate_json()
    inputs = [b for b in view["blocks"] if b["type"] == "input"]
    assert [b["block_id"] for b in inputs] == [
        ids.ORDERS_FIELD,
        ids.REASON_FIELD,
        ids.CHANNEL_FIELD,
    ]
    assert inputs[0]["label"]["text"] == "Orders" and inputs[0]["element"]["multiline"] is True
    assert inputs[2]["element"]["initial_conversation"] == "C0HOLDS01"
    assert not any(b.get("dispatch_action") for b in inputs)
    with_approval_channel = hold_form(HoldDraft(), approval_channel="C0APPROVE")
    assert ids.CHANNEL_FIELD not in json.dumps(with_approval_channel["blocks"])


@pytest.mark.parametrize(
    ("orders", "refs"),
    [
        ("TS-1 TS-2", ["TS-1", "TS-2"]),
        ("TS-1,TS-2", ["TS-1", "TS-2"]),
        ("TS-1\nTS-2\n\n", ["TS-1", "TS-2"]),
        (" TS-1 ,\n TS-2, TS-1 ", ["TS-1", "TS-2"]),
    ],
)
def test_orders_may_be_separated_by_spaces_commas_or_new_lines(
    orders: str, refs: list[str]
) -> None:
    form = read_hold_form(
        _submitted(hold_form(HoldDraft()), orders=orders, channel="C0HOLDS01"),
        approval_channel=None,
    )
    assert form.errors == {} and form.refs == refs and form.channel_id == "C0HOLDS01"


def test_a_reason_is_made_one_line_and_limited() -> None:
    """Line breaks and invisible characters go; more than 500 characters is an error."""
    view = hold_form(HoldDraft())
    form = read_hold_form(
        _submitted(view, orders="TS-1", reason="a\nb\u202e", channel="C0HOLDS01"),
        approval_channel=None,
    )
    assert form.reason == "a b"
    long = read_hold_form(
        _submitted(view, orders="TS-1", reason="x" * 501, channel="C0HOLDS01"),
        approval_channel=None,
    )
    assert ids.REASON_FIELD in long.errors


def test_a_channel_that_is_not_one_is_an_error_unless_approval_channel_is_set() -> None:
    view = hold_form(HoldDraft())
    assert (
        ids.CHANNEL_FIELD
        in read_hold_form(
            _submitted(view, orders="TS-1", channel="D0DIRECT1"), approval_channel=None
        ).errors
    )
    fixed = read_hold_form(_submitted(view, orders="TS-1"), approval_channel="C0APPROVE")
    assert fixed.errors == {} and fixed.channel_id == "C0APPROVE"


def test_info_views_have_nothing_to_submit() -> None:
    for view in (checking_view(3), result_view(Message.note("done"))):
        View(**view).validate_json()
        assert "submit" not in view and view["callback_id"] == ids.HOLD_RESULT


# -- the reject form ----------------------------------------------------------------------------


def test_the_reject_form_carries_where_the_reject_was_clicked() -> None:
    """The card's channel and ts, or the Home's view id, come back with the submission."""
    pending = request(7)
    card = Click("UAPP0001", "T0TEST", 7, "C0HOLDS01", "1700000000.000007")
    home = Click("UAPP0001", "T0TEST", 7, surface=Surface.HOME, view_id="V0HOME")
    for click in (card, home):
        view = reject_form(pending, click)
        View(**view).validate_json()
        assert len(view["private_metadata"]) <= 3000
        back = read_reject_form(
            _submitted(view, reject_reason="dup\nlicate"), user="UAPP0001", team="T0TEST"
        )
        assert back is not None and back.click == click and back.reason == "dup licate"


@pytest.mark.parametrize("metadata", ["", "{", "[]", '{"r": "²"}', '{"r": "1" }x', '{"r": 0}'])
def test_a_reject_form_without_the_bot_s_metadata_decides_nothing(metadata: str) -> None:
    view = {"private_metadata": metadata, "state": {"values": {}}}
    assert read_reject_form(view, user="U1", team="T1") is None


def test_the_withdraw_form_says_withdraw_to_the_requester() -> None:
    mine = reject_form(request(3), Click("UREQ0001", None, 3, "C0HOLDS01", "1.1"))
    assert mine["title"]["text"] == "Withdraw hold request"


# -- order references in a message ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("please hold TS-1001, TS-1002 and *TS-1003*.", ["TS-1001", "TS-1002", "TS-1003"]),
        ("orders 100234 and 100235 today", ["100234", "100235"]),
        ("_TS-77_ (TS-78) `TS-79` &lt;TS-80&gt;", ["TS-77", "TS-78", "TS-79", "TS-80"]),
        ("hold 2 orders by 10:30 on 2026-03-02", []),
        ("<@U0123ABCD> <#C0123|holds> <https://x.example/TS-9|TS-9>", []),
        ("TS-1001 TS-1001 ts-1001", ["TS-1001", "ts-1001"]),
        ("nothing to see here", []),
        ("x" * 65 + "1", []),
    ],
)
def test_only_words_that_name_orders_are_found(text: str, found: list[str]) -> None:
    assert refs_in_text(text) == found


@pytest.mark.parametrize(
    "hidden",
    ["\u200b", "\u00ad", "\u200c", "\u200d", "\u2060", "\ufeff", "\u202e", "\u2066", "\u200f"],
)
def test_invisible_characters_never_cut_a_reference_short(hidden: str) -> None:
    """A zero-width space, soft hyphen, joiner or bidirectional control inside a reference is
    removed, not taken for the end of the word: the whole reference is found (R64's review)."""
    assert refs_in_text(f"please hold TS-10{hidden}05{hidden}, thanks") == ["TS-1005"]


@pytest.mark.parametrize(
    "text",
    ["TS-10\u00e905", "TS-10\u00b205", "TS-10\u066305", "\uff34S-1005", "TS-1001/2", "TS-1001#3",
     "order:TS-1001", "TS-1001(a)b", "TS\u20131005"],
)  # fmt: skip
def test_a_word_touching_a_character_outside_the_grammar_is_left_out_whole(text: str) -> None:
    """é, a superscript or Arabic-Indic digit, a full-width letter, a slash, an en dash: the
    word is not an order reference, and no part of it is taken for one."""
    assert refs_in_text(f"hold {text} now") == []


def test_lists_separated_by_commas_or_semicolons_are_words_apart() -> None:
    assert refs_in_text("TS-1001,TS-1002;TS-1003 ,TS-1004") == [
        "TS-1001",
        "TS-1002",
        "TS-1003",
        "TS-1004",
    ]


def test_user_and_channel_ids_written_as_plain_text_are_not_orders() -> None:
    """Ids pasted without Slack's ``<@…>`` markup look like references but name people and
    channels; order references that merely start with those letters still count."""
    text = "U024BE7LH asked in C0HOLDS01 (W012A3CDE, G0ABCDEF12, D01234ABC) about TS-1001"
    assert refs_in_text(text) == ["TS-1001"]
    assert refs_in_text("CA1234567B U12345678 C20240101") == [
        "CA1234567B",
        "U12345678",
        "C20240101",
    ]


def test_a_long_message_is_cut_at_the_most_found() -> None:
    text = " ".join(f"TS-{n}" for n in range(1000, 1300))
    assert len(refs_in_text(text)) == MAX_FOUND


def test_the_message_shortcut_s_draft_says_what_it_found() -> None:
    assert "found no order reference" in HoldDraft.from_message("hi", "C0HOLDS01").note
    many = HoldDraft.from_message(" ".join(f"TS-{n}" for n in range(1000, 1030)), None)
    assert len(many.orders.split()) == 20 and "30 order references" in many.note
