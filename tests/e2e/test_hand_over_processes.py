"""Two `serve --no-scheduler` processes on one database, as real processes: the one running an
approved 20-order hold is stopped with SIGTERM, or killed with SIGKILL, after five cancels; the
other, idle until then, finishes the hold (R59, R60). On SQLite and on PostgreSQL.

Each process has a CartRover endpoint of its own over one order book, so the test knows who sent
what. The lease and the takeover's look are shortened (injected into the processes), so a kill
is taken over in seconds rather than minutes."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx
import pytest

from bot.dev.loopback.signing import SlackRequests
from bot.dev.loopback.slack import LocalSlack
from bot.dev.sandbox import OrderBook, SandboxServer, generate_orders
from bot.slack import ids
from bot.store import open_store
from bot.store.records import HoldRequest, RequestState
from bot.times import SystemClock
from tests.environment import loopback_environ
from tests.processes import free_port, start_cli

pytestmark = pytest.mark.slow

SECRET = "0123456789abcdef0123456789abcdef"
REQUESTER, APPROVER, CHANNEL = "UREQUEST1", "UAPPROVE1", "C0HOLDS01"
ORDERS = [f"RUN-{n:06d}" for n in range(1, 21)]
LEASE_SECONDS = 3.0  # injected: the production lease is two minutes
LOOK_EVERY = 0.25  # injected: the production look is every two seconds
LATENCY = 0.3  # CartRover's answer to every call: a 20-order hold takes a while


@dataclass
class Bot:
    process: subprocess.Popen[str]
    base: str
    sandbox: SandboxServer
    log: Path
    file: IO[str]

    def output(self) -> str:
        return self.log.read_text()


class Deployment:
    """The local Slack, one order book, and a bot process per CartRover endpoint."""

    def __init__(self, tmp_path: Path, database_url: str) -> None:
        self.tmp_path, self.database_url = tmp_path, database_url
        self.slack = LocalSlack().start()
        self.book = OrderBook(SystemClock(), send_delay=None)
        self.book.add_many(generate_orders(len(ORDERS), now=SystemClock().now(), prefix="RUN-"))
        self.requests = SlackRequests(SECRET, response_url=self.slack.webhook)
        self.http = httpx.Client(timeout=10)
        self.bots: list[Bot] = []
        self.store = open_store(database_url)

    def start_bot(self, name: str) -> Bot:
        sandbox = SandboxServer(self.book, capacity=1000, refill_seconds=0.001).start()
        sandbox.faults.latency = LATENCY
        port = free_port()
        env = loopback_environ(
            self.slack.url,
            sandbox.url,
            self.database_url,
            SLACK_SIGNING_SECRET=SECRET,
            APPROVERS=APPROVER,
        )
        log = self.tmp_path / f"{name}.log"
        file = log.open("w")
        process = start_cli(
            ["serve", "--port", str(port), "--no-scheduler"],
            env,
            self.tmp_path,
            file,
            lease_seconds=LEASE_SECONDS,
            look_every=LOOK_EVERY,
        )
        bot = Bot(process, f"http://127.0.0.1:{port}", sandbox, log, file)
        self.bots.append(bot)
        return bot

    def wait_live(self, bot: Bot) -> None:
        wait_for(lambda: self._live(bot), 60, f"the bot never answered /livez:\n{bot.output()}")

    def _live(self, bot: Bot) -> bool:
        try:
            return self.http.get(f"{bot.base}/livez").status_code == 200
        except httpx.TransportError:
            return False

    def post(self, bot: Bot, body: str) -> None:
        headers = self.requests.headers(body)
        answer = self.http.post(f"{bot.base}/slack/events", content=body, headers=headers)
        assert answer.status_code == 200, answer.text

    def approved_hold(self, bot: Bot) -> HoldRequest:
        """Ask ``bot`` for a hold of the 20 orders and approve it there."""
        self.post(bot, self.requests.command(f"hold {','.join(ORDERS)} test run", user=REQUESTER,
                                             channel=CHANNEL))  # fmt: skip
        wait_for(lambda: self._posted() is not None, 30, "the request was never posted")
        request = self._posted()
        assert request is not None and request.message_ts is not None
        click = self.requests.click(
            ids.APPROVE_HOLD, str(request.id), user=APPROVER, channel=CHANNEL, ts=request.message_ts
        )
        self.post(bot, click)
        return request

    def _posted(self) -> HoldRequest | None:
        request = self.store.get_request(1)
        return request if request is not None and request.message_ts else None

    def state(self, request_id: int) -> RequestState:
        request = self.store.get_request(request_id)
        assert request is not None
        return request.state

    def close(self) -> None:
        for bot in self.bots:
            if bot.process.poll() is None:
                bot.process.kill()
                bot.process.wait(10)
            bot.file.close()
            bot.sandbox.stop()
        self.store.close()
        self.http.close()
        self.slack.stop()


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


@pytest.fixture(params=["sqlite", "postgres"])
def deployment(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Deployment]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'bot.db'}"
    else:
        url = request.getfixturevalue("postgres_schemas")()
    open_store(url).close()  # migrated once, before two processes start on it
    made = Deployment(tmp_path, url)
    yield made
    made.close()


def _start_pair(deployment: Deployment) -> tuple[Bot, Bot]:
    running, peer = deployment.start_bot("running"), deployment.start_bot("peer")
    deployment.wait_live(running)
    deployment.wait_live(peer)
    return running, peer


def _cancels_of(bot: Bot) -> list[float]:
    return [recorded.at for recorded in bot.sandbox.cancel_requests()]


def test_sigterm_hands_a_running_hold_to_the_peer_at_once(deployment: Deployment) -> None:
    """SIGTERM after five cancels: the stopped process sends no new cancel, exits within 10 s
    and cleanly (no client closed under a running job); the idle peer picks the hold up within
    5 s, re-reads the order in flight and finishes; every order is canceled once."""
    running, peer = _start_pair(deployment)
    request = deployment.approved_hold(running)
    wait_for(lambda: len(_cancels_of(running)) >= 5, 60, "the running bot never got going")
    signalled = time.monotonic()
    running.process.send_signal(signal.SIGTERM)
    code = running.process.wait(15)
    stopped_in = time.monotonic() - signalled
    wait_for(lambda: bool(peer.sandbox.requests), 10, "the peer never picked the hold up")
    picked_up_in = peer.sandbox.requests[0].at - signalled
    wait_for(lambda: deployment.state(request.id).is_final, 60, "the hold never finished")
    output = running.output()
    assert code == 0, output
    assert stopped_in < 10, output
    assert picked_up_in < 5
    assert [at for at in _cancels_of(running) if at > signalled + 0.5] == [], output
    assert deployment.state(request.id) is RequestState.DONE
    assert [deployment.book.cancel_count(ref) for ref in ORDERS] == [1] * len(ORDERS)
    assert len(_cancels_of(running)) + len(_cancels_of(peer)) == len(ORDERS)  # none resent
    assert "cannot schedule new futures" not in output and "Traceback" not in output, output


def test_a_killed_runners_hold_is_finished_by_the_running_peer(deployment: Deployment) -> None:
    """SIGKILL after five cancels (one may be in flight): once its lease lapses, the peer, which
    was running all along, takes the hold over within the lease time + 30 s, re-reads the orders
    left 'sending' without resending them, and finishes; every order is canceled once."""
    running, peer = _start_pair(deployment)
    request = deployment.approved_hold(running)
    wait_for(lambda: len(_cancels_of(running)) >= 5, 60, "the running bot never got going")
    running.process.kill()
    killed = time.monotonic()
    running.process.wait(10)
    wait_for(lambda: bool(peer.sandbox.requests), LEASE_SECONDS + 30, "the peer never took over")
    taken_over_in = peer.sandbox.requests[0].at - killed
    wait_for(lambda: deployment.state(request.id).is_final, 60, "the hold never finished")
    assert taken_over_in < LEASE_SECONDS + 30
    assert deployment.state(request.id) is RequestState.DONE
    assert [deployment.book.cancel_count(ref) for ref in ORDERS] == [1] * len(ORDERS)
    assert len(_cancels_of(running)) + len(_cancels_of(peer)) == len(ORDERS)  # none resent
