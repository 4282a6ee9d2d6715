"""The shipped Procfile's deployment for real: two `serve --no-scheduler` web processes and two
`clock` processes (a deploy overlap) on one PostgreSQL database, the CartRover sandbox and the fake
Slack, with Approve clicks for the same requests racing into both web processes at once (R1, R9).

Each test gets a fresh schema ``t_<uuid>`` in the test database, selected for every process through
``options=-csearch_path=…`` in ``DATABASE_URL``, and dropped afterwards.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import httpx
import pytest
from slack_sdk.signature import SignatureVerifier

from bot.dev.loopback.slack import GOOD_TOKEN, TEAM_ID, LocalSlack
from bot.dev.loopback.world import LoopbackWorld
from bot.dev.sandbox import (
    FRESH_TEST_REF,
    SANDBOX_API_KEY,
    SANDBOX_API_USER,
    SANDBOX_CANCEL_API_KEY,
    SANDBOX_CANCEL_API_USER,
    STALE_NON_TEST_REF,
    STALE_PATTERN_TEST_REF,
    STALE_TEST_REF,
    TEST_PATTERN,
    TEST_PO_ONLY_REF,
    TEST_SOURCE,
    SandboxServer,
)
from bot.store import HoldRequest, ItemState, RequestState, Store, open_store
from bot.store.records import DigestSubscription
from tests.processes import free_port

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

CLI = str(Path(sys.executable).with_name("cartrover-bot"))
SECRET = "5f0c2b8e9d7a4c3e1b6a8d0f2e4c6a8b"
REQUESTER = "UREQUEST1"
APPROVERS = ("UAPPROVE1", "UAPPROVE2")
HOLD_CHANNEL = "C0HOLDS01"
DIGEST_CHANNEL = "C0DIGEST1"  # DIGEST_CHANNEL of every process
OTHER_DIGEST_CHANNEL = "C0DIGEST2"  # subscribed with `digest subscribe` on an earlier day
# Four hold requests, one of them for two orders: every order is New and will be sent.
HOLDS = (
    (STALE_TEST_REF,),
    (STALE_PATTERN_TEST_REF,),
    (TEST_PO_ONLY_REF, STALE_NON_TEST_REF),
    (FRESH_TEST_REF,),
)
CLICKS_PER_REQUEST = 8  # half to each web process, from both approvers
# APScheduler's "executed successfully" line for the catch-up job; it logs it at INFO, which the
# bot shows only at LOG_LEVEL=DEBUG (the clocks run at DEBUG here).
SYNCED = 'Job "digest-sync'


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def database_url(postgres_schemas: Callable[[], str]) -> str:
    """A fresh schema of its own in the test database, as the URL every process gets."""
    return postgres_schemas()


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    """The test's own view of that schema, migrated here as a release phase would do it."""
    opened = open_store(database_url)
    yield opened
    opened.close()


@pytest.fixture
def world() -> Iterator[tuple[LocalSlack, SandboxServer]]:
    with LoopbackWorld(capacity=1000, refill_seconds=0.001) as world:
        yield world.slack, world.sandbox


def _midday_zone(now: datetime) -> ZoneInfo:
    """A fixed-offset zone where it is about noon now, so 'an hour ago' is today wherever we run."""
    names = ["Etc/UTC", *(f"Etc/GMT{offset:+d}" for offset in range(-14, 13) if offset)]

    def from_noon(zone: ZoneInfo) -> float:
        local = now.astimezone(zone)
        return abs(local.hour + local.minute / 60 - 12)

    return min((ZoneInfo(name) for name in names), key=from_noon)


def _wait(
    what: str | Callable[[], str],
    predicate: Callable[[], bool],
    processes: list[Process],
    timeout: float,
) -> None:
    """Poll ``predicate``; fail with ``what`` and every process's log if it stays false."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        for process in processes:
            if process.popen.poll() is not None:
                raise AssertionError(f"{process.name} exited early:\n{process.output()}")
        time.sleep(0.05)
    logs = "\n".join(f"--- {p.name}\n{p.output()}" for p in processes)
    raise AssertionError(
        f"{what if isinstance(what, str) else what()}: not reached within {timeout} s\n{logs}"
    )


def test_two_web_and_two_clock_processes_on_one_postgres_decide_and_post_once(
    tmp_path: Path, database_url: str, store: Store, world: tuple[LocalSlack, SandboxServer]
) -> None:
    """Racing clicks on two web processes cancel each order once and two clocks post one digest."""
    slack, sandbox = world
    now = datetime.now(UTC)
    zone = _midday_zone(now)
    today = now.astimezone(zone).date()
    due = (now - timedelta(hours=1)).astimezone(zone).strftime("%H:%M")
    # Both channels subscribed on an earlier day, so today's digest is overdue when clocks start.
    for channel in (DIGEST_CHANNEL, OTHER_DIGEST_CHANNEL):
        store.subscribe(
            DigestSubscription(channel, due, zone.key, created_at=now - timedelta(days=1))
        )
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "SKIP_SLACK_SDK_WARNING": "1",
        "SLACK_BOT_TOKEN": GOOD_TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack.url,
        "CARTROVER_API_URL": sandbox.url,
        "CARTROVER_API_USER": SANDBOX_API_USER,
        "CARTROVER_API_KEY": SANDBOX_API_KEY,
        "CARTROVER_CANCEL_API_USER": SANDBOX_CANCEL_API_USER,
        "CARTROVER_CANCEL_API_KEY": SANDBOX_CANCEL_API_KEY,
        "DATABASE_URL": database_url,
        "APPROVERS": ",".join(APPROVERS),
        "DIGEST_CHANNEL": DIGEST_CHANNEL,
        "DIGEST_TIME": due,
        "TIMEZONE": zone.key,
        "TEST_ORDER_SOURCES": TEST_SOURCE,
        "TEST_ORDER_PATTERN": TEST_PATTERN,
        "LOG_LEVEL": "INFO",
    }
    ports = [free_port(), free_port()]
    commands = {
        "web-a": ["serve", "--port", str(ports[0]), "--no-scheduler"],
        "web-b": ["serve", "--port", str(ports[1]), "--no-scheduler"],
        "clock-1": ["clock"],
        "clock-2": ["clock"],
    }
    # Slow CartRover answers while the clocks build today's digest: each clock then looks at the
    # day's claim before either has claimed it, so only the claim's UNIQUE key can keep it to one.
    sandbox.faults.latency = 0.5
    processes: list[Process] = []
    try:
        for name, args in commands.items():
            log = tmp_path / f"{name}.log"
            with log.open("wb") as out:
                level = {"LOG_LEVEL": "DEBUG"} if args == ["clock"] else {}
                popen = subprocess.Popen(
                    [CLI, *args],
                    env={**env, **level},
                    cwd=tmp_path,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            processes.append(Process(name, popen, log))
        webs = [f"http://127.0.0.1:{port}" for port in ports]
        clocks = processes[2:]
        with httpx.Client(timeout=10, limits=httpx.Limits(max_connections=64)) as http:
            _wait("both web processes healthy", lambda: _healthy(http, webs), processes, 20)
            # Each clock's start-up catch-up has run before any click, so every hold below is
            # executed by the web process whose click won, and by nothing else.
            _wait(
                "a digest sync in each clock",
                lambda: all(SYNCED in clock.output() for clock in clocks),
                processes,
                20,
            )
            sandbox.faults.latency = 0.0
            requests = _open_holds(http, webs[0], slack, store, processes)
            urls = _race_clicks(http, webs, requests, slack)

            def settled() -> list[tuple[RequestState | None, int]]:
                return [
                    (_state(store, r.id), len(_already_told(slack, urls[r.id]))) for r in requests
                ]

            finished = [(RequestState.DONE, CLICKS_PER_REQUEST - 1)] * len(requests)
            _wait(
                lambda: (
                    f"every request done, every loser told (now {settled()}, "
                    f"{len(sandbox.cancel_requests())} cancels)"
                ),
                lambda: settled() == finished,
                processes,
                20,
            )
    finally:
        for process in processes:
            process.popen.send_signal(signal.SIGTERM)
        codes = {}
        for process in processes:
            try:
                codes[process.name] = process.popen.wait(30)
            except subprocess.TimeoutExpired:
                process.popen.kill()
                codes[process.name] = process.popen.wait()
    logs = "\n".join(f"--- {p.name}\n{p.output()}" for p in processes)
    assert codes == dict.fromkeys(commands, 0), logs
    assert "Traceback" not in logs, logs

    # Exactly one decision per request, by an approver; every other click was a duplicate.
    refs = [ref for hold in HOLDS for ref in hold]
    for request in requests:
        final = store.get_request(request.id)
        assert final is not None and final.state is RequestState.DONE
        assert final.decided_by in APPROVERS
        assert {item.state for item in final.items} == {ItemState.CANCELED}
        events = [entry.event for entry in store.audit_for_request(request.id)]
        assert events.count("approved") == 1, events
        assert events.count("duplicate_click") == CLICKS_PER_REQUEST - 1, events
        assert events.count("outcome") == len(request.items), events
        assert events.count("finished") == 1, events
    # Exactly one cancel per order at CartRover, and none for any other order.
    for ref in refs:
        assert len(sandbox.cancel_requests(ref)) == 1, ref
        order = sandbox.book.get(ref)
        assert order is not None and order["sending_canceled"] == "Y"
    assert len(sandbox.cancel_requests()) == len(refs)

    # Exactly one digest per subscribed channel today, although two clocks ran the catch-up.
    digests = [
        call for call in slack.of("chat.postMessage") if call.body.get("channel") != HOLD_CHANNEL
    ]
    assert sorted(call.body["channel"] for call in digests) == [
        DIGEST_CHANNEL,
        OTHER_DIGEST_CHANNEL,
    ]
    for call in digests:
        claim = store.digest_claim(call.body["channel"], today)
        assert claim is not None and claim.state == "posted"
        assert call.reply is not None and claim.message_ts == call.reply["ts"]
    assert all(SYNCED in clock.output() for clock in clocks)


def _healthy(http: httpx.Client, bases: list[str]) -> bool:
    try:
        return all(http.get(f"{base}/healthz").status_code == 200 for base in bases)
    except httpx.TransportError:
        return False


def _post(http: httpx.Client, base: str, body: str, timestamp: str | None = None) -> int:
    """POST ``body`` to ``/slack/events``, signed as Slack signs it."""
    ts = timestamp or str(int(time.time()))
    signature = SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=body)
    assert signature is not None
    headers = {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature,
        "Content-Type": "application/x-www-form-urlencoded",
    }
    return http.post(f"{base}/slack/events", content=body, headers=headers).status_code


def _open_holds(
    http: httpx.Client, web: str, slack: LocalSlack, store: Store, processes: list[Process]
) -> list[HoldRequest]:
    """Ask web process A for every hold in HOLDS; return the requests once all are posted."""
    for number, refs in enumerate(HOLDS):
        command = {
            "command": "/cartrover",
            "text": f"hold {','.join(refs)} deployment test",
            "user_id": REQUESTER,
            "channel_id": HOLD_CHANNEL,
            "team_id": TEAM_ID,
            "response_url": slack.webhook(f"hold-{number}"),
            "trigger_id": "1.2.3",
        }
        assert _post(http, web, urlencode(command)) == 200

    def posted() -> bool:
        pending = store.requests_in_state(RequestState.PENDING)
        return len(pending) == len(HOLDS) and all(r.message_ts for r in pending)

    _wait("every hold request posted", posted, processes, 15)
    requests = store.requests_in_state(RequestState.PENDING)
    assert sorted(tuple(r.cust_refs) for r in requests) == sorted(HOLDS)
    return requests


def _race_clicks(
    http: httpx.Client, webs: list[str], requests: list[HoldRequest], slack: LocalSlack
) -> dict[int, set[str]]:
    """Send every Approve click at once, alternating web processes and approvers; return each
    request's response URLs."""
    clicks = [
        (request, webs[n % 2], APPROVERS[(n // 2) % 2], slack.webhook(f"click-{request.id}-{n}"))
        for request in requests
        for n in range(CLICKS_PER_REQUEST)
    ]
    start = threading.Barrier(len(clicks))

    def click(spec: tuple[HoldRequest, str, str, str]) -> int:
        request, web, user, response_url = spec
        payload = {
            "type": "block_actions",
            "api_app_id": "A0TEST",
            "user": {"id": user, "team_id": TEAM_ID},
            "team": {"id": TEAM_ID},
            "container": {
                "type": "message",
                "channel_id": request.channel_id,
                "message_ts": request.message_ts,
            },
            "channel": {"id": request.channel_id},
            "response_url": response_url,
            "trigger_id": "1.2.3",
            "actions": [{"action_id": "approve_hold", "value": str(request.id), "type": "button"}],
        }
        body = urlencode({"payload": json.dumps(payload)})
        timestamp = str(int(time.time()))
        start.wait(10)
        return _post(http, web, body, timestamp)

    with ThreadPoolExecutor(len(clicks)) as pool:
        statuses = list(pool.map(click, clicks))
    assert statuses == [200] * len(clicks)
    urls: dict[int, set[str]] = {}
    for request, _, _, url in clicks:
        urls.setdefault(request.id, set()).add("/webhook/" + url.rsplit("/webhook/", 1)[1])
    return urls


def _already_told(slack: LocalSlack, paths: set[str]) -> list[str]:
    """The losing clickers of one request who were told it was already decided."""
    return [
        call.path
        for call in slack.of("webhook")
        if call.path in paths and "was already" in str(call.body.get("text"))
    ]


def _state(store: Store, request_id: int) -> RequestState | None:
    found = store.get_request(request_id)
    return found.state if found else None
