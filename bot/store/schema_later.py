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
