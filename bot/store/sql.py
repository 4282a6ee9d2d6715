"""Every SQL statement the store runs, in one place.

The statements (``?`` placeholders; :func:`bot.store.relational.pg` rewrites them for psycopg) are
shared by both backends: every state change is one conditional statement, and the caller won if it
changed a row. The schema comes as numbered migrations per backend, differing only in types: SQLite
keeps times as fixed-width UTC text (``2026-03-02T12:00:00.000000Z``, so text order is time order)
and dates as ``YYYY-MM-DD``; PostgreSQL uses ``timestamptz`` and ``date``. Uniqueness lives in the
schema (R29): one item per request and order, one claim per channel and local date, one
subscription per channel, one open request per order. The audit trail refuses UPDATE and DELETE.
Requests are read through the ``hold_request_rows`` view, so a request and its items come from one
snapshot. Append new migrations; never edit an applied one.

**One open request per order.** ``open_orders`` has one row per order of a pending or executing
request, its primary key the order. The transaction that creates a request inserts its claims
(``ON CONFLICT DO NOTHING``, in order-reference order so two PostgreSQL transactions never wait on
each other crosswise); a claim that inserts nothing means another open request holds the order, and
the transaction is rolled back. A trigger on ``hold_requests`` deletes a request's claims when its
state becomes final, so every way of closing a request (decision, expiry, finishing, a failed post)
releases them in the same statement.
"""

from __future__ import annotations

__all__ = ["POSTGRES_MIGRATIONS", "SQLITE_MIGRATIONS", "Migration"]

# -- hold requests
INSERT_REQUEST = """
INSERT INTO hold_requests (requester, channel_id, reason, state, source, created_at, expires_at)
VALUES (?, ?, ?, 'pending', ?, ?, ?) RETURNING id"""
INSERT_ITEM = """
INSERT INTO hold_items
  (request_id, cust_ref, position, order_created_at, state, detail, process_ids)
VALUES (?, ?, ?, ?, 'queued', '', '[]')"""
SET_MESSAGE = "UPDATE hold_requests SET channel_id = ?, message_ts = ? WHERE id = ?"
ADOPT_MESSAGE = """
UPDATE hold_requests SET message_ts = ? WHERE id = ? AND channel_id = ? AND message_ts IS NULL"""
CLAIM_ORDER = """
INSERT INTO open_orders (cust_ref, request_id) VALUES (?, ?) ON CONFLICT (cust_ref) DO NOTHING"""
OPEN_CLAIM = """
SELECT o.cust_ref, o.request_id, r.state
FROM open_orders AS o JOIN hold_requests AS r ON r.id = o.request_id
WHERE o.cust_ref = ?"""
GET_REQUEST = "SELECT * FROM hold_request_rows WHERE id = ? ORDER BY item_position"
REQUESTS_IN_STATE = """
SELECT * FROM hold_request_rows WHERE state = ? ORDER BY created_at, id, item_position"""
OPEN_REQUESTS_FOR = """
SELECT * FROM hold_request_rows
WHERE state IN ('pending', 'executing')
  AND id IN (SELECT request_id FROM hold_items WHERE cust_ref = ?)
ORDER BY created_at, id, item_position"""
# A pending request is decided once; approving or rejecting also needs the TTL not to have passed.
DECIDE_PENDING_BEFORE_EXPIRY = """
UPDATE hold_requests SET state = ?, decided_by = ?, decided_at = ?
WHERE id = ? AND state = 'pending' AND expires_at > ?"""
DECIDE_PENDING = """
UPDATE hold_requests SET state = ?, decided_by = ?, decided_at = ?
WHERE id = ? AND state = 'pending'"""
ADVANCE = "UPDATE hold_requests SET state = ? WHERE id = ? AND state = ?"
EXPIRE_DUE = """
UPDATE hold_requests SET state = 'expired', decided_at = ?
WHERE state = 'pending' AND expires_at <= ? RETURNING id"""

# -- cards: the state each request's message last showed
MARK_RENDERED = "UPDATE hold_requests SET rendered_state = ?, rendered_at = ? WHERE id = ?"
LAGGING_CARDS = """
SELECT * FROM hold_request_rows
WHERE id IN (
    SELECT id FROM hold_requests
    WHERE message_ts IS NOT NULL AND (rendered_state IS NULL OR rendered_state <> state)
    ORDER BY id LIMIT ?)
ORDER BY id, item_position"""

# -- per-order items: an item is sent only while its request is executing
START_ITEM = """
UPDATE hold_items SET state = 'sending', updated_at = ?
WHERE request_id = ? AND cust_ref = ? AND state = 'queued'
  AND EXISTS (SELECT 1 FROM hold_requests WHERE id = ? AND state = 'executing')"""
# The last two parameters are the unfinished states the item may be in (queued and/or sending).
FINISH_ITEM = """
UPDATE hold_items SET state = ?, detail = ?, process_ids = ?, updated_at = ?
WHERE request_id = ? AND cust_ref = ? AND state IN (?, ?)"""

# -- audit trail
INSERT_AUDIT = """
INSERT INTO audit_log (occurred_at, event, actor, request_id, cust_ref, detail, process_id)
VALUES (?, ?, ?, ?, ?, ?, ?)"""
AUDIT_FOR_ORDER = """
SELECT * FROM audit_log
WHERE cust_ref = ?
   OR (cust_ref IS NULL AND request_id IN (SELECT request_id FROM hold_items WHERE cust_ref = ?))
ORDER BY occurred_at DESC, id DESC LIMIT ?"""
AUDIT_FOR_REQUEST = "SELECT * FROM audit_log WHERE request_id = ? ORDER BY occurred_at, id"

# -- digest subscriptions and claims
SUBSCRIBE = """
INSERT INTO digest_subscriptions (channel_id, local_time, timezone, created_by, created_at)
VALUES (?, ?, ?, ?, ?)
ON CONFLICT (channel_id) DO UPDATE SET
  local_time = excluded.local_time, timezone = excluded.timezone,
  created_by = excluded.created_by, created_at = excluded.created_at"""
UNSUBSCRIBE = "DELETE FROM digest_subscriptions WHERE channel_id = ?"
SUBSCRIPTION = "SELECT * FROM digest_subscriptions WHERE channel_id = ?"
SUBSCRIPTIONS = "SELECT * FROM digest_subscriptions ORDER BY channel_id"
CLAIM_DIGEST = """
INSERT INTO digest_claims (channel_id, local_date, state, claimed_at) VALUES (?, ?, 'claimed', ?)
ON CONFLICT (channel_id, local_date) DO NOTHING"""
RECLAIM_DIGEST = """
UPDATE digest_claims SET state = 'claimed', claimed_at = ?, message_ts = NULL
WHERE channel_id = ? AND local_date = ? AND state = 'failed'"""
DIGEST_POSTED = """
UPDATE digest_claims SET state = 'posted', message_ts = ?
WHERE channel_id = ? AND local_date = ? AND state = 'claimed'"""
DIGEST_FAILED = """
UPDATE digest_claims SET state = 'failed'
WHERE channel_id = ? AND local_date = ? AND state = 'claimed'"""
DIGEST_CLAIM = "SELECT * FROM digest_claims WHERE channel_id = ? AND local_date = ?"

# -- order snapshots
INSERT_SNAPSHOT = """
INSERT INTO order_snapshots (channel_id, cust_refs, created_at) VALUES (?, ?, ?) RETURNING id"""
SNAPSHOT = "SELECT cust_refs FROM order_snapshots WHERE id = ?"

# The view behind GET_REQUEST and friends, identical on both backends: as migration 1 made it,
# then with the rendered state (migration 3).
REQUEST_ROWS_VIEW = """
CREATE VIEW hold_request_rows AS
SELECT r.id, r.requester, r.channel_id, r.reason, r.state, r.source, r.message_ts,
       r.decided_by, r.decided_at, r.created_at, r.expires_at,
       i.cust_ref AS item_cust_ref, i.position AS item_position, i.state AS item_state,
       i.detail AS item_detail, i.process_ids AS item_process_ids,
       i.updated_at AS item_updated_at
FROM hold_requests AS r LEFT JOIN hold_items AS i ON i.request_id = r.id"""
REQUEST_ROWS_VIEW_WITH_CARD = """
CREATE VIEW hold_request_rows AS
SELECT r.id, r.requester, r.channel_id, r.reason, r.state, r.source, r.message_ts,
       r.decided_by, r.decided_at, r.created_at, r.expires_at, r.rendered_state,
       i.cust_ref AS item_cust_ref, i.position AS item_position, i.state AS item_state,
       i.detail AS item_detail, i.process_ids AS item_process_ids,
       i.updated_at AS item_updated_at
FROM hold_requests AS r LEFT JOIN hold_items AS i ON i.request_id = r.id"""

# ... and with each order's creation time (migration 4).
REQUEST_ROWS_VIEW_WITH_CREATED = """
CREATE VIEW hold_request_rows AS
SELECT r.id, r.requester, r.channel_id, r.reason, r.state, r.source, r.message_ts,
       r.decided_by, r.decided_at, r.created_at, r.expires_at, r.rendered_state,
       i.cust_ref AS item_cust_ref, i.position AS item_position, i.state AS item_state,
       i.detail AS item_detail, i.process_ids AS item_process_ids,
       i.updated_at AS item_updated_at, i.order_created_at AS item_order_created_at
FROM hold_requests AS r LEFT JOIN hold_items AS i ON i.request_id = r.id"""

Migration = tuple[int, str, tuple[str, ...]]  # (version, name, statements)

_REQUEST_STATES = "'pending', 'executing', 'done', 'failed', 'unknown', 'rejected', 'expired'"
_ITEM_STATES = "'queued', 'sending', 'canceled', 'not_confirmed', 'failed', 'skipped'"

# An old database may hold several open requests for one order (the check used to be a read before
# the insert). The oldest of them takes the claim; the younger ones stay open until decided or
# expired, as their approvers were promised, and re-read each order before any cancel.
_CLAIM_OPEN_ORDERS = """
INSERT INTO open_orders (cust_ref, request_id)
SELECT i.cust_ref, min(i.request_id)
FROM hold_items AS i JOIN hold_requests AS r ON r.id = i.request_id
WHERE r.state IN ('pending', 'executing')
GROUP BY i.cust_ref"""
# Cards posted before their rendered state was recorded are taken to show their stored state.
_BACKFILL_RENDERED = """
UPDATE hold_requests SET rendered_state = state WHERE message_ts IS NOT NULL"""

SQLITE_MIGRATIONS: tuple[Migration, ...] = (
    (
        1,
        "initial",
        (
            f"""CREATE TABLE hold_requests (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                requester TEXT NOT NULL,
                channel_id TEXT NOT NULL,
                reason TEXT NOT NULL,
                state TEXT NOT NULL CHECK (state IN ({_REQUEST_STATES})),
                source TEXT NOT NULL DEFAULT 'command',
                message_ts TEXT,
                decided_by TEXT,
                decided_at TEXT,
                created_at TEXT NOT NULL,
                expires_at TEXT NOT NULL,
                CHECK (state <> 'pending' OR (decided_by IS NULL AND decided_at IS NULL)))""",
            "CREATE INDEX hold_requests_by_state ON hold_requests (state, created_at)",
            f"""CREATE TABLE hold_items (
                request_id INTEGER NOT NULL REFERENCES hold_requests (id),
                cust_ref TEXT NOT NULL,
                position INTEGER NOT NULL,
                state TEXT NOT NULL CHECK (state IN ({_ITEM_STATES})),
                detail TEXT NOT NULL DEFAULT '',
                process_ids TEXT NOT NULL DEFAULT '[]',
                updated_at TEXT,
                PRIMARY KEY (request_id, cust_ref))""",
            "CREATE INDEX hold_items_by_order ON hold_items (cust_ref)",
            REQUEST_ROWS_VIEW,
            """CREATE TABLE audit_log (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                occurred_at TEXT NOT NULL,
                event TEXT NOT NULL,
                actor TEXT,
                request_id INTEGER,
                cust_ref TEXT,
                detail TEXT NOT NULL DEFAULT '',
                process_id TEXT)""",
            "CREATE INDEX audit_log_by_request ON audit_log (request_id, occurred_at)",
            "CREATE INDEX audit_log_by_order ON audit_log (cust_ref, occurred_at)",
            """CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
               BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END""",
            """CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
               BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END""",
            """CREATE TABLE digest_subscriptions (
                channel_id TEXT PRIMARY KEY,
                local_time TEXT NOT NULL,
                timezone TEXT NOT NULL,
                created_by TEXT,
                created_at TEXT)""",
            """CREATE TABLE digest_claims (
                channel_id TEXT NOT NULL,
                local_date TEXT NOT NULL,
                state TEXT NOT NULL CHECK (state IN ('claimed', 'posted', 'failed')),
                claimed_at TEXT NOT NULL,
                message_ts TEXT,
                PRIMARY KEY (channel_id, local_date))""",
            """CREATE TABLE order_snapshots (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                channel_id TEXT NOT NULL,
                cust_refs TEXT NOT NULL,
                created_at TEXT NOT NULL)""",
        ),
    ),
    (
        2,
        "one_open_request_per_order",
        (
            """CREATE TABLE open_orders (
                cust_ref TEXT PRIMARY KEY,
                request_id INTEGER NOT NULL REFERENCES hold_requests (id))""",
            "CREATE INDEX open_orders_by_request ON open_orders (request_id)",
            _CLAIM_OPEN_ORDERS,
            """CREATE TRIGGER hold_requests_release_orders AFTER UPDATE OF state ON hold_requests
               WHEN NEW.state NOT IN ('pending', 'executing')
               BEGIN DELETE FROM open_orders WHERE request_id = NEW.id; END""",
        ),
    ),
    (
        3,
        "rendered_state",
        (
            f"""ALTER TABLE hold_requests ADD COLUMN rendered_state TEXT
                CHECK (rendered_state IN ({_REQUEST_STATES}))""",
            "ALTER TABLE hold_requests ADD COLUMN rendered_at TEXT",
            _BACKFILL_RENDERED,
            "DROP VIEW hold_request_rows",
            REQUEST_ROWS_VIEW_WITH_CARD,
        ),
    ),
    (
        4,
        "order_created_at",
        (
            "ALTER TABLE hold_items ADD COLUMN order_created_at TEXT",
            "DROP VIEW hold_request_rows",
            REQUEST_ROWS_VIEW_WITH_CREATED,
        ),
    ),
)

POSTGRES_MIGRATIONS_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now())"""

POSTGRES_MIGRATIONS: tuple[Migration, ...] = (
    (
        1,
        "initial",
        (
            f"""CREATE TABLE hold_requests (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                requester text NOT NULL,
                channel_id text NOT NULL,
                reason text NOT NULL,
                state text NOT NULL CHECK (state IN ({_REQUEST_STATES})),
                source text NOT NULL DEFAULT 'command',
                message_ts text,
                decided_by text,
                decided_at timestamptz,
                created_at timestamptz NOT NULL,
                expires_at timestamptz NOT NULL,
                CHECK (state <> 'pending' OR (decided_by IS NULL AND decided_at IS NULL)))""",
            "CREATE INDEX hold_requests_by_state ON hold_requests (state, created_at)",
            f"""CREATE TABLE hold_items (
                request_id bigint NOT NULL REFERENCES hold_requests (id),
                cust_ref text NOT NULL,
                position integer NOT NULL,
                state text NOT NULL CHECK (state IN ({_ITEM_STATES})),
                detail text NOT NULL DEFAULT '',
                process_ids text NOT NULL DEFAULT '[]',
                updated_at timestamptz,
                PRIMARY KEY (request_id, cust_ref))""",
            "CREATE INDEX hold_items_by_order ON hold_items (cust_ref)",
            REQUEST_ROWS_VIEW,
            """CREATE TABLE audit_log (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                occurred_at timestamptz NOT NULL,
                event text NOT NULL,
                actor text,
                request_id bigint,
                cust_ref text,
                detail text NOT NULL DEFAULT '',
                process_id text)""",
            "CREATE INDEX audit_log_by_request ON audit_log (request_id, occurred_at)",
            "CREATE INDEX audit_log_by_order ON audit_log (cust_ref, occurred_at)",
            """CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
               BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$""",
            """CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
               FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()""",
            """CREATE TABLE digest_subscriptions (
                channel_id text PRIMARY KEY,
                local_time text NOT NULL,
                timezone text NOT NULL,
                created_by text,
                created_at timestamptz)""",
            """CREATE TABLE digest_claims (
                channel_id text NOT NULL,
                local_date date NOT NULL,
                state text NOT NULL CHECK (state IN ('claimed', 'posted', 'failed')),
                claimed_at timestamptz NOT NULL,
                message_ts text,
                PRIMARY KEY (channel_id, local_date))""",
            """CREATE TABLE order_snapshots (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                channel_id text NOT NULL,
                cust_refs text NOT NULL,
                created_at timestamptz NOT NULL)""",
        ),
    ),
    (
        2,
        "one_open_request_per_order",
        (
            """CREATE TABLE open_orders (
                cust_ref text PRIMARY KEY,
                request_id bigint NOT NULL REFERENCES hold_requests (id))""",
            "CREATE INDEX open_orders_by_request ON open_orders (request_id)",
            _CLAIM_OPEN_ORDERS,
            """CREATE FUNCTION release_open_orders() RETURNS trigger LANGUAGE plpgsql AS $$
               BEGIN DELETE FROM open_orders WHERE request_id = NEW.id; RETURN NULL; END $$""",
            """CREATE TRIGGER hold_requests_release_orders AFTER UPDATE OF state ON hold_requests
               FOR EACH ROW WHEN (NEW.state NOT IN ('pending', 'executing'))
               EXECUTE FUNCTION release_open_orders()""",
        ),
    ),
    (
        3,
        "rendered_state",
        (
            f"""ALTER TABLE hold_requests ADD COLUMN rendered_state text
                CHECK (rendered_state IN ({_REQUEST_STATES}))""",
            "ALTER TABLE hold_requests ADD COLUMN rendered_at timestamptz",
            _BACKFILL_RENDERED,
            "DROP VIEW hold_request_rows",
            REQUEST_ROWS_VIEW_WITH_CARD,
        ),
    ),
    (
        4,
        "order_created_at",
        (
            "ALTER TABLE hold_items ADD COLUMN order_created_at timestamptz",
            "DROP VIEW hold_request_rows",
            REQUEST_ROWS_VIEW_WITH_CREATED,
        ),
    ),
)
