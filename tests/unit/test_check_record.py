"""What ``check --record`` keeps of a reply (redaction), and whether ``check`` finds in each reply
the keys the bot relies on."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import httpx
import pytest

from bot.cartrover.errors import UnexpectedReply
from bot.cartrover.replies import decode_orders
from bot.runners.check_record import RecordFolderError, Replies, prepare_folder
from bot.runners.check_redact import REMOVED, redact_headers, redact_value
from bot.runners.check_shapes import LISTING_KEYS, Reply, reply_row
from bot.runners.check_table import Status
from bot.runners.check_wire import decoded_body

LISTING_RECORD = {
    "cust_ref": "SHOP-1001",
    "cust_po_no": "#1001",
    "order_status": "new",
    "sending_canceled": "N",
    "created_date_time": "2025-03-03T13:58:41+00:00",
    "inventory_warehouse_pk": 1979,
    "grand_total": 30.99,
    "ship_first_name": "Ada",
    "ship_last_name": "Lovelace",
    "ship_address_1": "12 St James's Square",
    "ship_zip": 10001,
    "ship_e_mail": "ada@example.com",
    "ship_phone": "+1 555 0100",
    "cust_company": "Analytical Engines",
    "cc_last_four": 4242,
    "credit_card_no": None,
    "gift_message": "Happy birthday, Ada!",
    "ship_code": "UPS Ground",
    "items": [{"item": "MUG-BLK", "quantity": "2", "line_comment": "for Ada"}],
}
PERSONAL = ("Ada", "Lovelace", "James", "10001", "example.com", "555", "Analytical", "4242")


def test_personal_values_go_and_ids_statuses_dates_and_shapes_stay() -> None:
    redacted = redact_value({"success_code": True, "response": [LISTING_RECORD]})
    text = json.dumps(redacted)
    for value in PERSONAL:
        assert value not in text
    record = redacted["response"][0]
    assert set(record) == set(LISTING_RECORD)  # every field name kept
    for key in (*LISTING_KEYS, "cust_po_no", "inventory_warehouse_pk", "ship_code"):
        assert record[key] == LISTING_RECORD[key]
    assert record["ship_zip"] == REMOVED and record["cc_last_four"] == REMOVED  # numbers too
    assert record["credit_card_no"] is None  # empty stays empty
    assert record["gift_message"] == REMOVED  # free text
    assert record["grand_total"] == 30.99  # a number under a plain key
    assert record["items"] == [{"item": "MUG-BLK", "quantity": "2", "line_comment": REMOVED}]


def test_secrets_and_slack_names_go_slack_ids_stay() -> None:
    reply = {
        "ok": True,
        "url": "https://acme.slack.com/",
        "team": "Acme Inc",
        "user": "cartrover",
        "team_id": "T0ACME123",
        "user_id": "U0BOT1234",
        "access_token": "xoxb-not-a-real-one",
        "api_key": "k-123",
        "message": {"user": "U0BOT1234", "text": "a message", "team": "T0ACME123"},
    }
    redacted = redact_value(reply)
    assert redacted["url"] == redacted["team"] == redacted["user"] == REMOVED
    assert redacted["access_token"] == redacted["api_key"] == REMOVED
    assert redacted["team_id"] == "T0ACME123" and redacted["user_id"] == "U0BOT1234"
    assert redacted["message"] == {"user": "U0BOT1234", "text": REMOVED, "team": "T0ACME123"}


def test_only_the_headers_that_matter_are_kept() -> None:
    headers = {
        "Content-Type": "application/json",
        "X-CartRover-Process-ID": "P-1",
        "X-CartRover-Api-Minute-Hits-Remaining": "12",
        "X-RateLimit-Reset": "30",
        "Retry-After": "5",
        "Set-Cookie": "session=secret",
        "Server": "nginx",
    }
    assert set(redact_headers(headers)) == {
        "Content-Type",
        "X-CartRover-Process-ID",
        "X-CartRover-Api-Minute-Hits-Remaining",
        "X-RateLimit-Reset",
        "Retry-After",
    }


def test_a_secret_echoed_anywhere_is_not_written(tmp_path: Path) -> None:
    """Whatever a reply says, a configured secret or a token-shaped string never reaches the
    record; the file is named by its number, service and call."""
    replies = Replies(tmp_path, secrets=["cartrover-key-0123456789"])
    body = {"success_code": False, "message": "bad key cartrover-key-0123456789 / xoxb-1-2-abc"}
    replies.add(
        Reply("cartrover", "GET /v1/merchant/orders/list/new", {"limit": "1"}, 401, {}, body)
    )
    (written,) = tmp_path.glob("01-cartrover-v1_merchant_orders_list_new.json")
    text = written.read_text()
    assert "cartrover-key-0123456789" not in text and "xoxb-1-2-abc" not in text
    record = json.loads(text)
    assert record["request"] == {
        "call": "GET /v1/merchant/orders/list/new",
        "arguments": {"limit": "1"},
    }
    assert record["reply"]["status"] == 401
    assert "bad key" in record["reply"]["body"]["message"]
    assert (tmp_path / "README.txt").read_text().startswith("cartrover-bot ")


def test_the_record_folder_must_be_new_or_empty(tmp_path: Path) -> None:
    prepare_folder(tmp_path / "new" / "deeper")
    assert (tmp_path / "new" / "deeper").is_dir()
    prepare_folder(tmp_path / "new" / "deeper")  # still empty: fine
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "old.json").write_text("{}")
    with pytest.raises(RecordFolderError, match="not empty"):
        prepare_folder(tmp_path / "full")
    with pytest.raises(RecordFolderError, match="is a file"):
        prepare_folder(tmp_path / "full" / "old.json")


def test_a_compressed_reply_is_recorded_as_the_client_read_it() -> None:
    raw = gzip.compress(b'{"success_code": true, "response": []}')
    headers = httpx.Headers({"content-encoding": "gzip", "content-type": "application/json"})
    assert decoded_body(200, headers, raw) == {"success_code": True, "response": []}
    assert decoded_body(200, headers, b"not gzip") == "(a body that could not be decoded)"
    assert (
        decoded_body(502, httpx.Headers(), b"<html>Bad gateway</html>")
        == "<html>Bad gateway</html>"
    )


def _row(service: str, call: str, body: object) -> tuple[Status, str]:
    row = reply_row(1, Reply(service, call, status=200, body=body), recording=False)
    return row.status, row.detail


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"ok": True, "team_id": "T1", "user_id": "U1"}, Status.OK, "has team_id, user_id"),
        ({"ok": True, "team_id": "T1"}, Status.FAIL, "lacks user_id"),
        ({"ok": False, "error": "invalid_auth"}, Status.SKIP, "invalid_auth"),
        ({"team_id": "T1", "user_id": "U1"}, Status.FAIL, "lacks ok"),
    ],
)
def test_auth_test_needs_team_id_and_user_id(body: object, status: Status, says: str) -> None:
    assert _row("slack", "auth.test", body)[0] is status
    assert says in _row("slack", "auth.test", body)[1]


def test_usergroups_users_list_needs_users() -> None:
    assert _row("slack", "usergroups.users.list", {"ok": True, "users": []})[0] is Status.OK
    assert _row("slack", "usergroups.users.list", {"ok": True}) == (Status.FAIL, "lacks users")


LIST = "GET /v1/merchant/orders/list/new"


@pytest.mark.parametrize(
    "body",
    [
        {"success_code": True},
        {"success_code": True, "response": None},
        {"success_code": True, "response": []},
        {"success_code": True, "response": {}},
        {"success_code": True, "response": ""},
    ],
)
def test_every_empty_listing_shape_is_an_empty_page(body: object) -> None:
    status, detail = _row("cartrover", LIST, body)
    assert status is Status.OK and "empty page" in detail


@pytest.mark.parametrize("response", [{"orders": []}, "none", 0, False])
def test_a_listing_response_the_client_cannot_read_fails(response: object) -> None:
    body = {"success_code": True, "response": response}
    with pytest.raises(UnexpectedReply):
        decode_orders(response)
    assert _row("cartrover", LIST, body) == (Status.FAIL, "response is not a list of order records")


def test_listing_records_need_the_keys_the_bot_reads() -> None:
    full = {"success_code": True, "response": [LISTING_RECORD]}
    assert _row("cartrover", LIST, full)[0] is Status.OK
    short = {k: v for k, v in LISTING_RECORD.items() if k != "sending_canceled"}
    status, detail = _row("cartrover", LIST, {"success_code": True, "response": [short]})
    assert status is Status.FAIL and detail == "1 record; lacking sending_canceled"
    status, _ = _row("cartrover", LIST, {"response": [LISTING_RECORD]})
    assert status is Status.FAIL
    row = reply_row(3, Reply("cartrover", LIST, status=200, body={}), recording=True)
    assert row.what == f"reply 3: {LIST}" and "attach the folder --record wrote" in row.fix


def test_error_envelopes_and_unanswered_calls() -> None:
    refused = {"success_code": False, "error_code": "x", "message": "Invalid API key"}
    assert _row("cartrover", LIST, refused) == (Status.OK, "an error reply with its message")
    assert _row("cartrover", LIST, {"success_code": False})[0] is Status.WARN
    blank = {"success_code": False, "message": " ", "status_message": ""}  # the bot shows nothing
    assert _row("cartrover", LIST, blank)[0] is Status.WARN
    assert _row("cartrover", LIST, "<html>")[0] is Status.SKIP
    lost = reply_row(2, Reply("cartrover", LIST, error="no answer: ConnectError"), recording=False)
    assert lost.status is Status.SKIP and "ConnectError" in lost.detail
