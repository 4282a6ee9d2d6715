"""The schema's migrations from 9 on (:mod:`bot.store.schema` holds 1–8, and what they share),
each for SQLite and for PostgreSQL; :mod:`bot.store.migrations` applies them after the others.
"""

from __future__ import annotations

from bot.store.schema import REQUEST_ROWS_VIEW_WITH_REASON

__all__ = ["POSTGRES", "SQLITE"]

SQLITE: tuple[tuple[int, str, tuple[str, ...]], ...] = ()
POSTGRES: tuple[tuple[int, str, tuple[str, ...]], ...] = ()

# Migration 9: three more item states. ``checking``: the first verifying read did not show the
# cancel yet, and a second look follows about a minute later (``updated_at`` is the first look);
# ``order_canceled``: the order itself was canceled in CartRover; ``would_cancel``: shadow mode
# stopped just before the cancel. SQLite cannot alter a CHECK, so hold_items is rebuilt (the view
# over it dropped and made again); PostgreSQL replaces the constraint.
_ITEM_STATES_9 = (
    "'queued', 'sending', 'canceled', 'not_confirmed', 'failed', 'skipped', "
    "'checking', 'order_canceled', 'would_cancel'"
)
SQLITE += (
    (
        9,
        "first_contact_item_states",
        (
            "DROP VIEW hold_request_rows",
            f"""CREATE TABLE hold_items_9 (
                request_id INTEGER NOT NULL REFERENCES hold_requests (id),
                cust_ref TEXT NOT NULL,
                position INTEGER NOT NULL,
                state TEXT NOT NULL CHECK (state IN ({_ITEM_STATES_9})),
                detail TEXT NOT NULL DEFAULT '',
                process_ids TEXT NOT NULL DEFAULT '[]',
                updated_at TEXT,
                order_created_at TEXT,
                PRIMARY KEY (request_id, cust_ref))""",
            """INSERT INTO hold_items_9 (request_id, cust_ref, position, state, detail,
                                         process_ids, updated_at, order_created_at)
               SELECT request_id, cust_ref, position, state, detail, process_ids, updated_at,
                      order_created_at
               FROM hold_items""",
            "DROP TABLE hold_items",
            "ALTER TABLE hold_items_9 RENAME TO hold_items",
            "CREATE INDEX hold_items_by_order ON hold_items (cust_ref)",
            REQUEST_ROWS_VIEW_WITH_REASON,
        ),
    ),
)
POSTGRES += (
    (
        9,
        "first_contact_item_states",
        (
            "ALTER TABLE hold_items DROP CONSTRAINT hold_items_state_check",
            f"""ALTER TABLE hold_items ADD CONSTRAINT hold_items_state_check
                CHECK (state IN ({_ITEM_STATES_9}))""",
        ),
    ),
)


# Migration 10: what the last scan of stale New orders learnt (bot.digest.window), one row.
def _scan_marks(time: str) -> tuple[str, ...]:
    return (
        f"""CREATE TABLE scan_marks (
            name text PRIMARY KEY,
            clear_before {time} NOT NULL,
            full_at {time} NOT NULL,
            scanned_at {time} NOT NULL)""",
    )


SQLITE += ((10, "scan_marks", _scan_marks("TEXT")),)
POSTGRES += ((10, "scan_marks", _scan_marks("timestamptz")),)


# Migration 11: what a request's card needs to inform its approvers, and what following a waiting
# request up needs. ``hold_items.order_facts``: each order's source, ship-to city and state, units
# and whether it matched the test-order rule, as read when the request was opened (JSON text).
# ``hold_requests.reminded_at``: when the approvers were reminded, set by the one statement that
# claims the reminder. ``hold_requests.followed_at``: when its orders were last re-read while it
# waited. ``hold_request_rows`` is made again with the three columns.
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


SQLITE += ((11, "informed_and_followed", _follow_up("TEXT")),)
POSTGRES += ((11, "informed_and_followed", _follow_up("timestamptz")),)
