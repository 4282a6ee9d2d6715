"""Every SQL statement the store runs, in one place.

The statements (``?`` placeholders; :func:`bot.store.relational.pg` rewrites them for psycopg) are
shared by both backends: every state change is one conditional statement, and the caller won if it
changed a row. The schema they run on is :mod:`bot.store.migrations`. Requests are read through the
``hold_request_rows`` view, so a request and its items come from one snapshot.

**One open request per order.** ``open_orders`` has one row per order of a pending or executing
request, its primary key the order. The transaction that creates a request inserts its claims
(``ON CONFLICT DO NOTHING``, in order-reference order so two PostgreSQL transactions never wait on
each other crosswise); a claim that inserts nothing means another open request holds the order, and
the transaction is rolled back. A trigger on ``hold_requests`` deletes a request's claims when its
state becomes final, so every way of closing a request (decision, expiry, finishing, a failed post)
releases them in the same statement.
"""

from __future__ import annotations

__all__: list[str] = []  # statements are imported by name

# -- hold requests
INSERT_REQUEST = """
INSERT INTO hold_requests (requester, channel_id, reason, state, source, created_at, expires_at)
VALUES (?, ?, ?, 'pending', ?, ?, ?) RETURNING id"""
INSERT_ITEM = """
INSERT INTO hold_items
  (request_id, cust_ref, position, order_created_at, order_facts, state, detail, process_ids)
VALUES (?, ?, ?, ?, ?, 'queued', '', '[]')"""
SET_MESSAGE = "UPDATE hold_requests SET channel_id = ?, message_ts = ? WHERE id = ?"
ADOPT_MESSAGE = """
UPDATE hold_requests SET message_ts = ? WHERE id = ? AND channel_id = ? AND message_ts IS NULL"""
CLAIM_ORDER = """
INSERT INTO open_orders (cust_ref, request_id) VALUES (?, ?) ON CONFLICT (cust_ref) DO NOTHING"""
OPEN_CLAIM = """
SELECT o.cust_ref, o.request_id, r.state
FROM open_orders AS o JOIN hold_requests AS r ON r.id = o.request_id
WHERE o.cust_ref = ?"""
# Requests are read from the view, one row per item (bot/store/schema.py).
GET_REQUEST = """
SELECT * FROM hold_request_rows WHERE id = ? ORDER BY item_position"""
REQUESTS_IN_STATE = """
SELECT * FROM hold_request_rows WHERE state = ? ORDER BY created_at, id, item_position"""
# Every open request in one snapshot: the pending ones, then the executing ones, each oldest first.
OPEN_REQUESTS = """
SELECT * FROM hold_request_rows
WHERE state IN ('pending', 'executing')
ORDER BY CASE state WHEN 'pending' THEN 0 ELSE 1 END, created_at, id, item_position"""
OPEN_REQUESTS_FOR = """
SELECT * FROM hold_request_rows
WHERE state IN ('pending', 'executing')
  AND id IN (SELECT request_id FROM hold_items WHERE cust_ref = ?)
ORDER BY created_at, id, item_position"""
REQUESTS_BY = """
SELECT * FROM hold_request_rows
WHERE id IN (
    SELECT id FROM hold_requests WHERE requester = ? ORDER BY created_at DESC, id DESC LIMIT ?)
ORDER BY created_at DESC, id DESC, item_position"""
# A pending request is decided once; approving or rejecting also needs the TTL not to have passed.
DECIDE_PENDING_BEFORE_EXPIRY = """
UPDATE hold_requests SET state = ?, decided_by = ?, decided_at = ?, decision_reason = ?
WHERE id = ? AND state = 'pending' AND expires_at > ?"""
# Approving and taking the lease of the runner that will carry the request out, in one statement:
# no other runner can take it between the decision and the run (bot.store.leases).
APPROVE_WITH_LEASE = """
UPDATE hold_requests
SET state = 'executing', decided_by = ?, decided_at = ?, decision_reason = ?, runner = ?,
    lease_until = ?
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
CARD_OUTDATED = "UPDATE hold_requests SET rendered_state = NULL WHERE id = ?"

# -- following a waiting request up: its approvers reminded once, its orders re-read
CLAIM_REMINDER = """
UPDATE hold_requests SET reminded_at = ?
WHERE id = ? AND state = 'pending' AND reminded_at IS NULL"""
MARK_FOLLOWED = "UPDATE hold_requests SET followed_at = ? WHERE id = ?"
LAGGING_CARDS = """
SELECT * FROM hold_request_rows
WHERE id IN (
    SELECT id FROM hold_requests
    WHERE message_ts IS NOT NULL AND (rendered_state IS NULL OR rendered_state <> state)
    ORDER BY id LIMIT ?)
ORDER BY id, item_position"""

# -- telling the requester the outcome in the card's thread: one claimant posts it (at most once);
# a failed post may be claimed again once ``notice_at`` is older than the retry cutoff.
CLAIM_NOTICE = """
UPDATE hold_requests SET notice_state = 'claimed', notice_at = ?
WHERE id = ? AND state NOT IN ('pending', 'executing') AND message_ts IS NOT NULL
  AND (notice_state IS NULL OR (notice_state = 'failed' AND notice_at <= ?))"""
NOTICE_DONE = """
UPDATE hold_requests SET notice_state = ?, notice_at = ?
WHERE id = ? AND notice_state = 'claimed'"""
UNTOLD = """
SELECT * FROM hold_request_rows
WHERE id IN (
    SELECT id FROM hold_requests
    WHERE state NOT IN ('pending', 'executing') AND message_ts IS NOT NULL
      AND (notice_state IS NULL OR (notice_state = 'failed' AND notice_at <= ?))
    ORDER BY id LIMIT ?)
ORDER BY id, item_position"""

# -- per-order items: an item is sent only while its request is executing
START_ITEM = """
UPDATE hold_items SET state = 'sending', updated_at = ?
WHERE request_id = ? AND cust_ref = ? AND state = 'queued'
  AND EXISTS (SELECT 1 FROM hold_requests WHERE id = ? AND state = 'executing')"""
# A cancel that CartRover answered with RateLimit did nothing: the order waits to be sent again.
REQUEUE_ITEM = """
UPDATE hold_items SET state = 'queued', detail = ?, updated_at = ?
WHERE request_id = ? AND cust_ref = ? AND state = 'sending'"""
# The last two parameters are the unfinished states the item may be in (queued and/or sending).
FINISH_ITEM = """
UPDATE hold_items SET state = ?, detail = ?, process_ids = ?, updated_at = ?
WHERE request_id = ? AND cust_ref = ? AND state IN (?, ?)"""

LOOK_AGAIN = """
UPDATE hold_items SET state = 'checking', detail = ?, process_ids = ?, updated_at = ?
WHERE request_id = ? AND cust_ref = ? AND state = 'sending'"""

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
# A subscription made in Slack keeps the configuration last seen for its channel (config_value).
SUBSCRIBE = """
INSERT INTO digest_subscriptions
  (channel_id, local_time, timezone, created_by, created_at, set_in, config_value)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (channel_id) DO UPDATE SET
  local_time = excluded.local_time, timezone = excluded.timezone,
  created_by = excluded.created_by, created_at = excluded.created_at, set_in = excluded.set_in,
  config_value = COALESCE(excluded.config_value, digest_subscriptions.config_value)"""
SEEN_CONFIG = "UPDATE digest_subscriptions SET config_value = ? WHERE channel_id = ?"
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

# -- who runs an executing request: a lease, renewed while it runs, taken over once it lapses
# A lease names one runner (one run of a request in one process: ``<process>/<run>``), and a live
# lease is never taken again, not even by another runner of the same process.
TAKE_LEASE = """
UPDATE hold_requests SET runner = ?, lease_until = ?
WHERE id = ? AND state = 'executing' AND (runner IS NULL OR lease_until <= ?)"""
RENEW_LEASE = """
UPDATE hold_requests SET lease_until = ?
WHERE id = ? AND runner = ? AND state = 'executing' AND lease_until > ?"""
RELEASE_LEASE = """
UPDATE hold_requests SET runner = NULL, lease_until = NULL
WHERE id = ? AND runner = ? AND state = 'executing'"""
# Every lease of one process's runners (named ``<process>`` or ``<process>/…``) on a request still
# executing: a finished request's last runner is not counted as released.
RELEASE_LEASES = """
UPDATE hold_requests SET runner = NULL, lease_until = NULL
WHERE state = 'executing' AND (runner = ? OR substr(runner, 1, ?) = ?)"""
RESUMABLE = """
SELECT * FROM hold_request_rows
WHERE id IN (
    SELECT id FROM hold_requests
    WHERE state = 'executing' AND (runner IS NULL OR lease_until <= ?))
ORDER BY created_at, id, item_position"""
# Live leases of one process's runners (``<process>`` or ``<process>/…``), of others', and
# executing requests with no live lease, for the metrics.
LEASE_COUNTS = """
SELECT coalesce(sum(CASE WHEN lease_until > ? AND mine THEN 1 ELSE 0 END), 0) AS here,
       coalesce(sum(CASE WHEN lease_until > ? AND NOT mine THEN 1 ELSE 0 END), 0) AS elsewhere,
       coalesce(sum(CASE WHEN runner IS NULL OR lease_until <= ? THEN 1 ELSE 0 END), 0) AS unleased
FROM (SELECT runner, lease_until, (runner = ? OR substr(runner, 1, ?) = ?) AS mine
      FROM hold_requests WHERE state = 'executing') AS executing"""
SOONEST_LEASE_END = """
SELECT min(lease_until) AS soonest FROM hold_requests
WHERE state = 'executing' AND runner IS NOT NULL AND lease_until > ?"""

# -- Slack surfaces (migration 6)
# An event id is handled by whoever inserts it; a row whose memory has expired is taken over by
# the same statement, so an unswept row never hides a new delivery.
CLAIM_EVENT = """
INSERT INTO slack_events (event_id, received_at, expires_at) VALUES (?, ?, ?)
ON CONFLICT (event_id) DO UPDATE SET
  received_at = excluded.received_at, expires_at = excluded.expires_at
WHERE slack_events.expires_at <= excluded.received_at"""
FORGET_EVENTS = "DELETE FROM slack_events WHERE expires_at <= ?"
HOME_OPENED = """
INSERT INTO home_views (user_id, opened_at) VALUES (?, ?)
ON CONFLICT (user_id) DO UPDATE SET opened_at = excluded.opened_at"""
HOME_PUBLISHED = """
INSERT INTO home_views (user_id, opened_at, view_id, view_hash, published_at) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (user_id) DO UPDATE SET
  view_id = excluded.view_id, view_hash = excluded.view_hash,
  published_at = excluded.published_at"""
HOME_VIEW = "SELECT * FROM home_views WHERE user_id = ?"
HOME_VIEWERS = """
SELECT user_id FROM home_views WHERE opened_at >= ? ORDER BY opened_at DESC, user_id LIMIT ?"""
RECORD_DIGEST = """
INSERT INTO digest_posts (channel_id, posted_at, message_ts, test_count, non_test_count)
VALUES (?, ?, ?, ?, ?)
ON CONFLICT (channel_id) DO UPDATE SET
  posted_at = excluded.posted_at, message_ts = excluded.message_ts,
  test_count = excluded.test_count, non_test_count = excluded.non_test_count"""
LAST_DIGESTS = "SELECT * FROM digest_posts ORDER BY channel_id"
# The mark of the last scan of stale New orders (migration 10): one row, name 'new'.
KEEP_SCAN_MARK = """
INSERT INTO scan_marks (name, clear_before, full_at, scanned_at) VALUES ('new', ?, ?, ?)
ON CONFLICT (name) DO UPDATE SET
  clear_before = excluded.clear_before, full_at = excluded.full_at,
  scanned_at = excluded.scanned_at"""
SCAN_MARK = "SELECT * FROM scan_marks WHERE name = 'new'"
BEAT = """
INSERT INTO heartbeats (name, beat_at) VALUES (?, ?)
ON CONFLICT (name) DO UPDATE SET beat_at = excluded.beat_at"""
HEARTBEAT = "SELECT beat_at FROM heartbeats WHERE name = ?"
