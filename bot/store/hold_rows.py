"""The :class:`~bot.store.contracts.HoldStore` contract over the relational primitives (except
the leases, :mod:`bot.store.leases`): hold requests with their items and claimed orders, decisions,
cards and the notice in their thread, and the audit trail, shared by SQLite and PostgreSQL through
:class:`~bot.store.relational.SqlStore`. Every state change is one conditional statement, so "did I
win?" is "did my statement change a row?".
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from bot.store.facts import OrderFacts, facts_in, facts_out
from bot.store.primitives import Primitives, Row
from bot.store.records import (
    AuditEntry,
    HoldItem,
    HoldRequest,
    ItemState,
    Notice,
    OpenOrder,
    OrdersAlreadyOpen,
    RequestState,
    StoreError,
    utc_aware,
)
from bot.store.sql import (
    ADOPT_MESSAGE,
    ADVANCE,
    APPROVE_WITH_LEASE,
    AUDIT_FOR_ORDER,
    AUDIT_FOR_REQUEST,
    CLAIM_NOTICE,
    DECIDE_PENDING,
    DECIDE_PENDING_BEFORE_EXPIRY,
    EXPIRE_DUE,
    FINISH_ITEM,
    GET_REQUEST,
    INSERT_AUDIT,
    LAGGING_CARDS,
    LOOK_AGAIN,
    MARK_RENDERED,
    NOTICE_DONE,
    OPEN_REQUESTS,
    OPEN_REQUESTS_FOR,
    REQUESTS_BY,
    REQUESTS_IN_STATE,
    REQUEUE_ITEM,
    SET_MESSAGE,
    START_ITEM,
    UNTOLD,
)

__all__ = ["HoldRows"]

# A claim can be released between our failed insert and our look at its holder; then the create is
# simply tried again, a few times at most.
CREATE_ATTEMPTS = 5

_PENDING, _EXECUTING = RequestState.PENDING, RequestState.EXECUTING
_ALLOWED = {
    _PENDING: frozenset(
        {_EXECUTING, RequestState.REJECTED, RequestState.EXPIRED, RequestState.DONE}
    ),
    _EXECUTING: frozenset({RequestState.DONE, RequestState.FAILED, RequestState.UNKNOWN}),
}


class HoldRows(Primitives):
    """Hold requests, their items, cards, notices and audit trail, over a backend's primitives."""

    # -- hold requests
    def create_request(
        self,
        *,
        requester: str,
        channel_id: str,
        reason: str,
        cust_refs: Sequence[str],
        created_at: datetime,
        expires_at: datetime,
        source: str = "command",
        order_created: Mapping[str, datetime] | None = None,
        order_facts: Mapping[str, OrderFacts] | None = None,
    ) -> HoldRequest:
        refs = list(cust_refs)
        if not refs or len(set(refs)) != len(refs):
            raise ValueError("a hold request needs one or more distinct orders")
        created, expires = utc_aware(created_at), utc_aware(expires_at)
        times = (self._time_in(created), self._time_in(expires))
        known = {ref: utc_aware(when) for ref, when in (order_created or {}).items() if ref in refs}
        facts = {ref: fact for ref, fact in (order_facts or {}).items() if ref in refs}
        rows = [
            (
                ref,
                self._time_in(known[ref]) if ref in known else None,
                facts_in(facts[ref]) if ref in facts else None,
            )
            for ref in refs
        ]
        request_id = self._claim(rows, (requester, channel_id, reason, source, *times))
        items = tuple(
            HoldItem(
                request_id, ref, position, order_created_at=known.get(ref), facts=facts.get(ref)
            )
            for position, ref in enumerate(refs)
        )
        return HoldRequest(
            request_id, requester, channel_id, reason, RequestState.PENDING, created, expires,
            source=source, items=items,
        )  # fmt: skip

    def _claim(
        self, rows: Sequence[tuple[str, object, object]], request: tuple[object, ...]
    ) -> int:
        refs = [ref for ref, *_ in rows]
        for _ in range(CREATE_ATTEMPTS):
            claimed = self._insert_request(request, rows)
            if claimed.request_id is not None:
                return claimed.request_id
            holders = [
                OpenOrder(str(row["cust_ref"]), int(row["request_id"]), RequestState(row["state"]))
                for row in claimed.holders
            ]
            if len(holders) == len(claimed.taken):
                raise OrdersAlreadyOpen(sorted(holders, key=lambda h: refs.index(h.cust_ref)))
        raise StoreError("could not claim the orders of a new hold request; try again")

    def set_message(self, request_id: int, channel_id: str, message_ts: str) -> None:
        self._change(SET_MESSAGE, (channel_id, message_ts, request_id))

    def adopt_message(self, request_id: int, channel_id: str, message_ts: str) -> bool:
        return self._change(ADOPT_MESSAGE, (message_ts, request_id, channel_id)) == 1

    def mark_rendered(self, request_id: int, state: RequestState, at: datetime) -> None:
        when = self._instant(at)
        self._change(MARK_RENDERED, (RequestState(state).value, when, request_id))

    def lagging_cards(self, limit: int = 50) -> list[HoldRequest]:
        return self._requests(LAGGING_CARDS, (limit,))

    def get_request(self, request_id: int) -> HoldRequest | None:
        found = self._requests(GET_REQUEST, (request_id,))
        return found[0] if found else None

    def requests_in_state(self, state: RequestState) -> list[HoldRequest]:
        return self._requests(REQUESTS_IN_STATE, (RequestState(state).value,))

    def open_requests(self) -> list[HoldRequest]:
        return self._requests(OPEN_REQUESTS, ())

    def open_requests_for(self, cust_ref: str) -> list[HoldRequest]:
        return self._requests(OPEN_REQUESTS_FOR, (cust_ref,))

    def requests_by(self, requester: str, limit: int = 10) -> list[HoldRequest]:
        return self._requests(REQUESTS_BY, (requester, limit))

    def decide(
        self,
        request_id: int,
        *,
        to: RequestState,
        actor: str | None,
        at: datetime,
        expect: RequestState = RequestState.PENDING,
        reason: str = "",
        runner: str | None = None,
        lease_until: datetime | None = None,
    ) -> bool:
        if to not in _ALLOWED.get(expect, frozenset()):
            raise ValueError(f"a request cannot move from {expect} to {to}")
        if (runner is None) != (lease_until is None):
            raise ValueError("a lease needs both its runner and its end")
        if runner is not None and (expect, to) != (_PENDING, _EXECUTING):
            raise ValueError("only an approval takes a lease")
        when = self._instant(at)
        if expect is not RequestState.PENDING:
            return self._change(ADVANCE, (to.value, request_id, expect.value)) == 1
        if to in (RequestState.EXPIRED, RequestState.DONE):  # the bot's own endings
            return self._change(DECIDE_PENDING, (to.value, actor, when, request_id)) == 1
        if runner is not None and lease_until is not None:
            leased = (actor, when, reason, runner, self._instant(lease_until), request_id, when)
            return self._change(APPROVE_WITH_LEASE, leased) == 1
        params = (to.value, actor, when, reason, request_id, when)
        return self._change(DECIDE_PENDING_BEFORE_EXPIRY, params) == 1

    def expire_due(self, now: datetime) -> list[HoldRequest]:
        when = self._instant(now)
        expired = self._rows(EXPIRE_DUE, (when, when))
        found = (self.get_request(int(row["id"])) for row in expired)
        return sorted((request for request in found if request), key=lambda r: r.id)

    # -- the notice of a closed request's outcome in its card's thread
    def claim_notice(self, request_id: int, at: datetime, *, retry_before: datetime) -> bool:
        when, before = self._instant(at), self._instant(retry_before)
        return self._change(CLAIM_NOTICE, (when, request_id, before)) == 1

    def notice_done(self, request_id: int, how: Notice, at: datetime) -> None:
        self._change(NOTICE_DONE, (Notice(how).value, self._instant(at), request_id))

    def untold(self, limit: int, *, retry_before: datetime) -> list[HoldRequest]:
        return self._requests(UNTOLD, (self._instant(retry_before), limit))

    # -- per-order items
    def start_item(self, request_id: int, cust_ref: str, at: datetime) -> bool:
        params = (self._instant(at), request_id, cust_ref, request_id)
        return self._change(START_ITEM, params) == 1

    def finish_item(
        self,
        request_id: int,
        cust_ref: str,
        *,
        state: ItemState,
        detail: str,
        process_ids: Sequence[str],
        at: datetime,
        expect: ItemState | None = None,
    ) -> bool:
        if not ItemState(state).is_final:
            raise ValueError(f"{state} is not a final item state")
        if expect is not None and ItemState(expect).is_final:
            raise ValueError(f"{expect} is a final item state")
        encoded = json.dumps(list(process_ids))
        when = self._instant(at)
        allowed = (
            (expect.value,) * 2 if expect else (ItemState.QUEUED.value, ItemState.SENDING.value)
        )
        params = (state.value, detail, encoded, when, request_id, cust_ref, *allowed)
        return self._change(FINISH_ITEM, params) == 1

    def requeue_item(self, request_id: int, cust_ref: str, *, detail: str, at: datetime) -> bool:
        params = (detail, self._instant(at), request_id, cust_ref)
        return self._change(REQUEUE_ITEM, params) == 1

    def look_again(
        self,
        request_id: int,
        cust_ref: str,
        *,
        detail: str,
        process_ids: Sequence[str],
        at: datetime,
    ) -> bool:
        encoded = json.dumps(list(process_ids))
        params = (detail, encoded, self._instant(at), request_id, cust_ref)
        return self._change(LOOK_AGAIN, params) == 1

    # -- audit trail
    def audit(self, entry: AuditEntry) -> None:
        at = self._instant(entry.at)
        params = (at, entry.event, entry.actor, entry.request_id, entry.cust_ref, entry.detail)
        self._change(INSERT_AUDIT, (*params, entry.process_id))

    def audit_for_order(self, cust_ref: str, limit: int = 50) -> list[AuditEntry]:
        return self._audit(AUDIT_FOR_ORDER, (cust_ref, cust_ref, limit))

    def audit_for_request(self, request_id: int) -> list[AuditEntry]:
        return self._audit(AUDIT_FOR_REQUEST, (request_id,))

    # -- rows to records
    def _requests(self, statement: str, params: Sequence[object]) -> list[HoldRequest]:
        """Group ``hold_request_rows`` rows (ordered by request, then position) into records."""
        heads: dict[int, Row] = {}
        items: dict[int, list[HoldItem]] = {}
        for row in self._rows(statement, params):
            request_id = int(row["id"])
            heads.setdefault(request_id, row)
            found = items.setdefault(request_id, [])
            if row["item_cust_ref"] is not None:
                found.append(self._item(request_id, row))
        return [self._request(head, tuple(items[key])) for key, head in heads.items()]

    def _request(self, row: Row, items: tuple[HoldItem, ...]) -> HoldRequest:
        return HoldRequest(
            id=int(row["id"]),
            requester=row["requester"],
            channel_id=row["channel_id"],
            reason=row["reason"],
            state=RequestState(row["state"]),
            created_at=self._time_out(row["created_at"]),
            expires_at=self._time_out(row["expires_at"]),
            source=row["source"],
            message_ts=row["message_ts"],
            decided_by=row["decided_by"],
            decided_at=self._maybe_time(row["decided_at"]),
            items=items,
            rendered_state=RequestState(row["rendered_state"]) if row["rendered_state"] else None,
            decision_reason=row["decision_reason"] or "",
            reminded_at=self._maybe_time(row["reminded_at"]),
            followed_at=self._maybe_time(row["followed_at"]),
        )

    def _item(self, request_id: int, row: Mapping[str, Any]) -> HoldItem:
        return HoldItem(
            request_id=request_id,
            cust_ref=row["item_cust_ref"],
            position=int(row["item_position"]),
            state=ItemState(row["item_state"]),
            detail=row["item_detail"],
            process_ids=tuple(str(pid) for pid in json.loads(row["item_process_ids"])),
            updated_at=self._maybe_time(row["item_updated_at"]),
            order_created_at=self._maybe_time(row["item_order_created_at"]),
            facts=facts_out(row["item_order_facts"]),
        )

    def _audit(self, statement: str, params: Sequence[object]) -> list[AuditEntry]:
        return [
            AuditEntry(
                at=self._time_out(row["occurred_at"]),
                event=row["event"],
                actor=row["actor"],
                request_id=None if row["request_id"] is None else int(row["request_id"]),
                cust_ref=row["cust_ref"],
                detail=row["detail"],
                process_id=row["process_id"],
                id=int(row["id"]),
            )
            for row in self._rows(statement, params)
        ]
