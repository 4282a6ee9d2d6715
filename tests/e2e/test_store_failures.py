"""A write that fails is told plainly (R63): with the database locked (SQLite) or gone
(PostgreSQL), a command, a click and a form whose first write fails each tell the person that
nothing was done and to try again — "your approval was not recorded" for a click — and nothing
was done: no request opened, no decision taken, no cancel sent."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

import pytest

from bot.dev.sandbox.seed import STALE_PATTERN_TEST_REF, STALE_TEST_REF, TEST_PO_ONLY_REF
from bot.slack import ids
from bot.store.records import RequestState
from tests.e2e.conftest import MakeHarness
from tests.harness import APPROVER, CHANNEL, REQUESTER, Harness
from tests.tcp_proxy import TcpProxy

NOT_SAVED = "I could not save that — nothing was done; try again in a minute."
NOT_RECORDED = (
    "I could not save that — your approval was not recorded, so nothing was done; try again "
    "in a minute."
)


def _texts(harness: Harness) -> list[str]:
    return [str(call.body.get("text")) for call in harness.replies()]


def _open_form(harness: Harness) -> str:
    modals = len(harness.slack.views.modals())
    assert harness.post(harness.requests.shortcut(ids.HOLD_SHORTCUT, user=REQUESTER)).status_code
    return harness.wait_modal(modals + 1).id


def test_with_the_sqlite_file_locked_each_write_is_told_plainly(harness: Harness) -> None:
    """Another connection holds the SQLite write lock past the busy timeout while a `hold`
    command, an Approve click and a hold form arrive: each person hears plainly that nothing
    was done; once the lock goes, nothing had changed."""
    pending = harness.open_hold(STALE_TEST_REF)
    view_id = _open_form(harness)
    told = len(harness.replies())
    path = urlsplit(harness.settings.database_url).path.removeprefix("/")
    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        assert harness.command(f"hold {STALE_PATTERN_TEST_REF} test").status_code == 200
        assert harness.click(ids.APPROVE_HOLD, pending, APPROVER).status_code == 200
        form = {ids.ORDERS_FIELD: TEST_PO_ONLY_REF, ids.CHANNEL_FIELD: CHANNEL}
        submitted = threading.Thread(target=harness.submit_view, args=(view_id, REQUESTER, form))
        submitted.start()
        harness.wait_until(lambda: len(harness.replies()) >= told + 2, timeout=30)
        harness.wait_until(
            lambda: NOT_SAVED in json.dumps(_modal(harness, view_id), ensure_ascii=False), 30
        )
        submitted.join(10)
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert sorted(_texts(harness)[told:]) == sorted([NOT_SAVED, NOT_RECORDED])
    assert harness.request(pending.id).state is RequestState.PENDING
    assert [r.id for r in harness.bot.store.requests_in_state(RequestState.PENDING)] == [pending.id]
    assert harness.sandbox.cancel_requests() == []
    assert "Sorry" not in json.dumps([c.body for c in harness.replies()])


@pytest.mark.postgres
def test_with_postgresql_refusing_connections_a_click_is_told_plainly(
    make_harness: MakeHarness, postgres_schemas: Callable[[], str]
) -> None:
    """The database server goes away (connections cut, new ones refused): an Approve click is
    told "your approval was not recorded" within seconds, and sends nothing to CartRover."""
    url = urlsplit(postgres_schemas())
    with TcpProxy((url.hostname or "127.0.0.1", url.port or 5432)) as proxy:
        through = urlunsplit(url._replace(netloc=f"{url.username}@127.0.0.1:{proxy.port}"))
        harness = make_harness(DATABASE_URL=through)
        pending = harness.open_hold(STALE_TEST_REF)
        told = len(harness.replies())
        proxy.stop()
        assert harness.click(ids.APPROVE_HOLD, pending, APPROVER).status_code == 200
        harness.wait_until(lambda: len(harness.replies()) > told, timeout=20)
    assert _texts(harness)[told:] == [NOT_RECORDED]
    assert harness.sandbox.cancel_requests() == []


def _modal(harness: Harness, view_id: str) -> dict[str, object]:
    shown = harness.slack.views.get(view_id)
    assert shown is not None
    return shown.view
