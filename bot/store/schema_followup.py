"""Migration 9: what a request's card needs to inform its approvers, and what the bot needs to
follow a waiting request up.

- ``hold_items.order_facts``: each order's source, ship-to city and state, units and whether it
  matched the test-order rule, as read when the request was opened (JSON text; the card shows
  them, and they never change).
- ``hold_requests.reminded_at``: when the approvers were reminded, set by the one conditional
  statement that claims the reminder, so a request is reminded once however many processes look.
- ``hold_requests.followed_at``: when its orders were last re-read while it waited, so the
  maintenance pass reads the longest-unread first and each no more often than it must.

``hold_request_rows`` is recreated with the three columns.
"""

from __future__ import annotations

__all__ = ["FOLLOW_UP_POSTGRES", "FOLLOW_UP_SQLITE"]

REQUEST_ROWS_VIEW_FOLLOWED = """
CREATE VIEW hold_request_rows AS
SELECT r.id, r.requester, r.channel_id, r.reason, r.state, r.source, r.message_ts,
       r.decided_by, r.decided_at, r.created_at, r.expires_at, r.rendered_state,
       r.decision_reason, r.reminded_at, r.followed_at,
       i.cust_ref AS item_cust_ref, i.position AS item_position, i.state AS item_state,
       i.detail AS item_detail, i.process_ids AS item_process_ids,
       i.updated_at AS item_updated_at, i.order_created_at AS item_order_created_at,
       i.order_facts AS item_order_facts
FROM hold_requests AS r LEFT JOIN hold_items AS i ON i.request_id = r.id"""


def _follow_up(time: str) -> tuple[str, ...]:
    return (
        "ALTER TABLE hold_items ADD COLUMN order_facts text",
        f"ALTER TABLE hold_requests ADD COLUMN reminded_at {time}",
        f"ALTER TABLE hold_requests ADD COLUMN followed_at {time}",
        "DROP VIEW hold_request_rows",
        REQUEST_ROWS_VIEW_FOLLOWED,
    )


FOLLOW_UP_SQLITE = ((9, "informed_and_followed", _follow_up("TEXT")),)
FOLLOW_UP_POSTGRES = ((9, "informed_and_followed", _follow_up("timestamptz")),)
