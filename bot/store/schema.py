"""The database schema: numbered migrations, each for SQLite and for PostgreSQL (1–8 here, the
later ones in :mod:`bot.store.schema_later`).

Each :class:`Migration` gives its statements for SQLite and for PostgreSQL, which differ only in
types: SQLite keeps times as fixed-width UTC text (``2026-03-02T12:00:00.000000Z``, so text order is
time order) and dates as ``YYYY-MM-DD``; PostgreSQL uses ``timestamptz`` and ``date``. Uniqueness
lives in the schema: one item per request and order, one claim per channel and local date, one
subscription per channel, one open request per order. The audit trail refuses UPDATE and DELETE.

**One open request per order.** ``open_orders`` has one row per order of a pending or executing
request, its primary key the order. The transaction that creates a request inserts its claims
(``ON CONFLICT DO NOTHING``, in order-reference order so two PostgreSQL transactions never wait on
each other crosswise); a claim that inserts nothing means another open request holds the order, and
the transaction is rolled back. A trigger on ``hold_requests`` deletes a request's claims when its
state becomes final, so every way of closing a request (decision, expiry, finishing, a failed post)
releases them in the same statement.

**Telling the requester** (migration 5). ``hold_requests.notice_state`` records the notice of a
request's outcome in its card's thread: ``claimed`` by the one caller that may post it, then
``posted``, ``failed`` (tried again later) or ``refused`` (Slack will never take it); ``none`` for
requests closed before notices existed. ``digest_subscriptions.set_in`` says who made a
subscription (``config``: ``DIGEST_CHANNEL`` at start-up; ``slack``: a person with ``digest
subscribe``), and ``config_value`` the ``DIGEST_TIME``/``TIMEZONE`` last applied or seen for it,
so a later change of either can be told from a change made in Slack.


**Reading requests.** ``hold_request_rows`` joins each request to its items, one row per item;
every read of requests goes through it. A migration that adds a column a request read needs
recreates it (migrations 3, 4 and 8).
"""

from __future__ import annotations

__all__ = ["POSTGRES", "SQLITE"]

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

# Migration 5, the same on both databases: outcome notices in the card's thread, and who made a
# digest subscription. Requests already closed have nothing to tell any more ('none'); a
# subscription without a person behind it was made from DIGEST_CHANNEL.
_NOTICE_STATES = "'claimed', 'posted', 'failed', 'refused', 'none'"
_OUTCOME_NOTICES = (
    f"""ALTER TABLE hold_requests ADD COLUMN notice_state text
        CHECK (notice_state IN ({_NOTICE_STATES}))""",
    "UPDATE hold_requests SET notice_state = 'none' WHERE state NOT IN ('pending', 'executing')",
    """ALTER TABLE digest_subscriptions ADD COLUMN set_in text NOT NULL DEFAULT 'slack'
        CHECK (set_in IN ('config', 'slack'))""",
    "ALTER TABLE digest_subscriptions ADD COLUMN config_value text",
    "UPDATE digest_subscriptions SET set_in = 'config' WHERE created_by IS NULL",
)
_NOTICE_AT = {
    "sqlite": "ALTER TABLE hold_requests ADD COLUMN notice_at TEXT",
    "postgres": "ALTER TABLE hold_requests ADD COLUMN notice_at timestamptz",
}

SQLITE: tuple[tuple[int, str, tuple[str, ...]], ...] = (
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
    (5, "outcome_notices", (*_OUTCOME_NOTICES, _NOTICE_AT["sqlite"])),
    (
        7,
        "runner_lease",
        (
            "ALTER TABLE hold_requests ADD COLUMN runner TEXT",
            "ALTER TABLE hold_requests ADD COLUMN lease_until TEXT",
        ),
    ),
)


POSTGRES: tuple[tuple[int, str, tuple[str, ...]], ...] = (
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
    (5, "outcome_notices", (*_OUTCOME_NOTICES, _NOTICE_AT["postgres"])),
    (
        7,
        "runner_lease",
        (
            "ALTER TABLE hold_requests ADD COLUMN runner text",
            "ALTER TABLE hold_requests ADD COLUMN lease_until timestamptz",
        ),
    ),
)


def _surfaces(time: str) -> tuple[str, ...]:
    """Migration 6 for a database whose times are ``time``: what the Slack surfaces keep (the App
    Home, modals, the Events API): new tables and one new column, which migration 8 adds to
    ``hold_request_rows``.

    - ``decision_reason``: the words a Reject came with, written by the deciding statement.
    - ``slack_events``: Events API deliveries already handled, by ``event_id``, until
      ``expires_at`` (one conditional insert decides which delivery is handled).
    - ``home_views``: who opened the App Home lately, and the view and ``hash`` last published
      to them, so that a change reaches every Home that shows it and a publish based on an
      older view is refused by Slack.
    - ``digest_posts``: the counts of each channel's last digest.
    - ``heartbeats``: when a named job (the scheduler's maintenance) last ran, in any process.
    """
    return (
        "ALTER TABLE hold_requests ADD COLUMN decision_reason text NOT NULL DEFAULT ''",
        f"""CREATE TABLE slack_events (
            event_id text PRIMARY KEY,
            received_at {time} NOT NULL,
            expires_at {time} NOT NULL)""",
        "CREATE INDEX slack_events_by_expiry ON slack_events (expires_at)",
        f"""CREATE TABLE home_views (
            user_id text PRIMARY KEY,
            opened_at {time} NOT NULL,
            view_id text,
            view_hash text,
            published_at {time})""",
        "CREATE INDEX home_views_by_opened ON home_views (opened_at)",
        f"""CREATE TABLE digest_posts (
            channel_id text PRIMARY KEY,
            posted_at {time} NOT NULL,
            message_ts text NOT NULL,
            test_count integer NOT NULL,
            non_test_count integer)""",
        f"CREATE TABLE heartbeats (name text PRIMARY KEY, beat_at {time} NOT NULL)",
    )


SQLITE += ((6, "slack_surfaces", _surfaces("TEXT")),)
POSTGRES += ((6, "slack_surfaces", _surfaces("timestamptz")),)

# Migration 8: the view with the reason a decision came with (migration 6 added the column).
REQUEST_ROWS_VIEW_WITH_REASON = """
CREATE VIEW hold_request_rows AS
SELECT r.id, r.requester, r.channel_id, r.reason, r.state, r.source, r.message_ts,
       r.decided_by, r.decided_at, r.created_at, r.expires_at, r.rendered_state,
       r.decision_reason,
       i.cust_ref AS item_cust_ref, i.position AS item_position, i.state AS item_state,
       i.detail AS item_detail, i.process_ids AS item_process_ids,
       i.updated_at AS item_updated_at, i.order_created_at AS item_order_created_at
FROM hold_requests AS r LEFT JOIN hold_items AS i ON i.request_id = r.id"""
_VIEW_WITH_REASON = ("DROP VIEW hold_request_rows", REQUEST_ROWS_VIEW_WITH_REASON)
SQLITE += ((8, "request_rows_with_reason", _VIEW_WITH_REASON),)
POSTGRES += ((8, "request_rows_with_reason", _VIEW_WITH_REASON),)
