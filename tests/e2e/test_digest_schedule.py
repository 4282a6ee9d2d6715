"""The scheduled digest: APScheduler's effective settings, DST days, several processes on one
database, restarts, catch-up and retries — one digest per channel and local day, decided by the
store's claim."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.schedulers.base import BaseScheduler

from bot.deps import Deps
from bot.dev.loopback.slack import GOOD_TOKEN, Failure, LocalSlack
from bot.digest import schedule
from bot.digest.schedule import Outcome
from bot.runners.scheduler import build_scheduler, sync_digest_jobs
from bot.slack.webapi import SlackPoster, make_web_client
from bot.store import open_store
from bot.store.records import DigestSubscription
from bot.times import FrozenClock
from tests.fakes import RecordingPoster, StaleOrders, make_deps

BERLIN = ZoneInfo("Europe/Berlin")
CHANNEL = "C0DIGEST1"
OTHER = "C0DIGEST2"


def subscribe(deps: Deps, channel: str, at: str, zone: str, since: datetime) -> None:
    deps.digests.subscribe(DigestSubscription(channel, at, zone, created_by="U1", created_at=since))


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "bot.db"


@pytest.fixture
def scheduler_of() -> Iterator[Callable[[Deps], BaseScheduler]]:
    built: list[BaseScheduler] = []

    def build(deps: Deps) -> BaseScheduler:
        scheduler = build_scheduler(deps)
        built.append(scheduler)
        return scheduler

    yield build
    for scheduler in built:
        if scheduler.running:
            scheduler.shutdown(wait=False)


def test_jobs_have_an_explicit_zone_an_hour_of_grace_coalesce_and_one_instance(
    db: Path, scheduler_of: Callable[[Deps], BaseScheduler]
) -> None:
    """Every job's effective settings, and each digest job's own ZoneInfo (R12)."""
    clock = FrozenClock(datetime(2026, 3, 2, 5, 0, tzinfo=UTC))
    deps = make_deps(db, clock, DIGEST_CHANNEL=CHANNEL, TIMEZONE="Europe/Berlin")
    subscribe(deps, OTHER, "18:00", "America/New_York", clock.now())
    scheduler = scheduler_of(deps)
    scheduler.start(paused=True)
    sync_digest_jobs(scheduler, deps)
    found = {job.id: job for job in scheduler.get_jobs()}
    assert set(found) == {"maintenance", "digest-sync", f"digest:{CHANNEL}", f"digest:{OTHER}"}
    for job in found.values():
        assert job.misfire_grace_time >= 3600
        assert job.coalesce is True
        assert job.max_instances == 1
    assert found[f"digest:{CHANNEL}"].trigger.timezone == ZoneInfo("Europe/Berlin")
    assert found[f"digest:{OTHER}"].trigger.timezone == ZoneInfo("America/New_York")
    assert str(found[f"digest:{CHANNEL}"].trigger) == "cron[hour='9', minute='0']"


def test_digest_channel_is_subscribed_at_start_without_overriding_a_choice(db: Path) -> None:
    """DIGEST_CHANNEL gets DIGEST_TIME and TIMEZONE once; a later change by command is kept."""
    clock = FrozenClock(datetime(2026, 3, 2, 5, 0, tzinfo=UTC))
    deps = make_deps(db, clock, DIGEST_CHANNEL=CHANNEL, DIGEST_TIME="07:15", TIMEZONE="Asia/Tokyo")
    build_scheduler(deps)
    made = deps.digests.subscription(CHANNEL)
    assert made is not None and (made.local_time, made.timezone) == ("07:15", "Asia/Tokyo")
    schedule.subscribe(deps, CHANNEL, user="U1", local_time="10:00", timezone="UTC")
    build_scheduler(deps)
    kept = deps.digests.subscription(CHANNEL)
    assert kept is not None and kept.local_time == "10:00"


def simulate(
    deps: Deps, clock: FrozenClock, scheduler: BaseScheduler, start: datetime, end: datetime
) -> list[datetime]:
    """Run the scheduler's digest jobs at the instants their real triggers give, plus the sync's
    catch-up every 10 minutes, with the clock set to each instant. Returns the cron fire times."""
    clock.set(start)
    sync_digest_jobs(scheduler, deps)
    events: list[tuple[datetime, Callable[[], object]]] = []
    fires: list[datetime] = []
    for job in scheduler.get_jobs():
        if not job.id.startswith("digest:"):
            continue
        fire = job.trigger.get_next_fire_time(None, start)
        while fire is not None and fire <= end:
            fires.append(fire.astimezone(UTC))
            events.append((fire.astimezone(UTC), job.func))
            fire = job.trigger.get_next_fire_time(fire, fire.astimezone(UTC) + timedelta(seconds=1))
    tick = start
    while tick <= end:
        events.append((tick, partial(sync_digest_jobs, scheduler, deps)))
        tick += timedelta(minutes=10)
    for when, run in sorted(events, key=lambda event: event[0]):
        clock.set(when)
        run()
    return fires


@pytest.mark.parametrize(
    ("day", "cron_fires", "posted_at"),
    [
        # Spring forward: 02:30 does not exist; APScheduler fires once, at 01:30 UTC (03:30 CEST).
        (date(2026, 3, 29), 1, datetime(2026, 3, 29, 1, 30, tzinfo=UTC)),
        # Fall back: 02:30 happens twice; APScheduler fires twice, the claim lets one post.
        (date(2026, 10, 25), 2, datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),
    ],
)
def test_a_digest_at_0230_berlin_posts_exactly_once_on_dst_days(
    db: Path,
    scheduler_of: Callable[[Deps], BaseScheduler],
    day: date,
    cron_fires: int,
    posted_at: datetime,
) -> None:
    """With a frozen clock, the DST transition days get one digest each, as do their neighbours."""
    start = datetime.combine(day - timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    clock = FrozenClock(start)
    poster = RecordingPoster()
    deps = make_deps(db, clock, poster=poster)
    subscribe(deps, CHANNEL, "02:30", "Europe/Berlin", start - timedelta(days=7))
    fires = simulate(deps, clock, scheduler_of(deps), start, start + timedelta(days=3))
    assert Counter(f.astimezone(BERLIN).date() for f in fires)[day] == cron_fires
    per_day = Counter(when.astimezone(BERLIN).date() for *_, when in poster.posts if when)
    assert per_day == {day - timedelta(days=1): 1, day: 1, day + timedelta(days=1): 1}
    assert [
        when for *_, when in poster.posts if when and when.astimezone(BERLIN).date() == day
    ] == [posted_at]


def test_two_schedulers_on_one_database_firing_at_once_post_once(
    db: Path, scheduler_of: Callable[[Deps], BaseScheduler]
) -> None:
    """Two scheduler+store instances on one SQLite file, fired together, post one digest (R9)."""
    clock = FrozenClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    both_building = threading.Barrier(2)  # both have peeked and are building: the claim decides
    listings = [StaleOrders(clock.now()), StaleOrders(clock.now())]
    processes = [make_deps(db, clock, cartrover=listing) for listing in listings]
    subscribe(processes[0], CHANNEL, "09:00", "Europe/Berlin", clock.now() - timedelta(days=1))
    schedulers = [scheduler_of(deps) for deps in processes]
    for scheduler, deps in zip(schedulers, processes, strict=True):
        sync_digest_jobs(scheduler, deps)  # 09:00 Berlin is 08:00 UTC: due, so one posts now
    for listing in listings:
        listing.rendezvous = both_building
    for round_ in range(10):
        clock.set(datetime(2026, 3, 3 + round_, 8, 0, tzinfo=UTC))
        fire = [s.get_job(f"digest:{CHANNEL}").func for s in schedulers]
        threads = [threading.Thread(target=f) for f in fire]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    posts = [p for deps in processes for p in deps.poster.posts]  # type: ignore[attr-defined]
    assert len(posts) == 11
    assert [listing.listings for listing in listings] == [11, 10]  # both built in each race
    days = Counter(when.astimezone(BERLIN).date() for *_, when in posts)
    assert set(days.values()) == {1}


def test_a_cron_firing_during_a_sync_lists_cartrover_once(
    db: Path, scheduler_of: Callable[[Deps], BaseScheduler]
) -> None:
    """In one process, the digest job and the sync's catch-up at once build the digest once."""
    clock = FrozenClock(datetime(2026, 3, 2, 8, 59, tzinfo=UTC))
    listing = StaleOrders(clock.now())
    deps = make_deps(db, clock, cartrover=listing)
    subscribe(deps, CHANNEL, "09:00", "UTC", clock.now() - timedelta(days=1))
    scheduler = scheduler_of(deps)
    assert sync_digest_jobs(scheduler, deps) == {CHANNEL: Outcome.NOT_DUE}
    clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    listing.gate = threading.Event()
    cron = threading.Thread(target=scheduler.get_job(f"digest:{CHANNEL}").func)
    cron.start()
    while listing.listings == 0:
        time.sleep(0.005)
    assert sync_digest_jobs(scheduler, deps) == {CHANNEL: Outcome.IN_PROGRESS}
    listing.gate.set()
    cron.join()
    assert listing.listings == 1 and len(deps.poster.posts) == 1  # type: ignore[attr-defined]


def test_a_restart_right_after_posting_does_not_post_again(db: Path) -> None:
    """A fresh process (new store connection) catching up the same day finds the claim posted."""
    clock = FrozenClock(datetime(2026, 3, 2, 8, 0, 5, tzinfo=UTC))
    store = open_store(f"sqlite:///{db}")
    first = make_deps(db, clock, store=store)
    subscribe(first, CHANNEL, "09:00", "Europe/Berlin", clock.now() - timedelta(days=1))
    assert schedule.digest_catch_up(first) == {CHANNEL: Outcome.POSTED}
    store.close()
    second = make_deps(db, clock)
    clock.advance(timedelta(seconds=1))
    assert schedule.digest_catch_up(second) == {CHANNEL: Outcome.ALREADY_POSTED}
    assert second.poster.posts == []  # type: ignore[attr-defined]


def test_a_digest_missed_while_down_is_posted_on_return_the_same_day_only(
    db: Path, scheduler_of: Callable[[Deps], BaseScheduler]
) -> None:
    """Back at 11:00 after a 09:00 digest was missed: posted once; the day after, only at 09:00."""
    clock = FrozenClock(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))  # 11:00 in Berlin
    deps = make_deps(db, clock)
    subscribe(deps, CHANNEL, "09:00", "Europe/Berlin", clock.now() - timedelta(days=3))
    scheduler = scheduler_of(deps)
    assert sync_digest_jobs(scheduler, deps) == {CHANNEL: Outcome.POSTED}
    assert sync_digest_jobs(scheduler, deps) == {CHANNEL: Outcome.ALREADY_POSTED}
    clock.set(datetime(2026, 3, 3, 7, 59, tzinfo=UTC))
    assert sync_digest_jobs(scheduler, deps) == {CHANNEL: Outcome.NOT_DUE}
    clock.set(datetime(2026, 3, 3, 8, 0, tzinfo=UTC))
    scheduler.get_job(f"digest:{CHANNEL}").func()
    assert len(deps.poster.posts) == 2  # type: ignore[attr-defined]


def test_a_subscription_made_after_todays_time_starts_tomorrow(db: Path) -> None:
    """Subscribing at 15:00 to a 09:00 digest posts nothing today."""
    clock = FrozenClock(datetime(2026, 3, 2, 14, 0, tzinfo=UTC))
    deps = make_deps(db, clock)
    made = schedule.subscribe(
        deps, CHANNEL, user="U1", local_time="09:00", timezone="Europe/Berlin"
    )
    assert schedule.digest_catch_up(deps) == {CHANNEL: Outcome.NOT_DUE}
    assert schedule.next_run(made, clock.now()) == datetime(2026, 3, 3, 8, 0, tzinfo=UTC)


def test_rerun_after_one_channel_failed_posts_only_to_that_channel(db: Path) -> None:
    """Channel A posted and B refused by Slack: a later run posts to B only (R10)."""
    clock = FrozenClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    poster = RecordingPoster()
    deps = make_deps(db, clock, poster=poster)
    for channel in (CHANNEL, OTHER):
        subscribe(deps, channel, "09:00", "UTC", clock.now() - timedelta(days=1))
    poster.fail_next(OTHER, "ratelimited")
    assert schedule.digest_catch_up(deps) == {CHANNEL: Outcome.POSTED, OTHER: Outcome.FAILED}
    clock.advance(timedelta(minutes=1))
    assert schedule.digest_catch_up(deps)[OTHER] is Outcome.WAITING_RETRY
    clock.advance(schedule.RETRY_FAILED_AFTER)
    assert schedule.digest_catch_up(deps) == {
        CHANNEL: Outcome.ALREADY_POSTED,
        OTHER: Outcome.POSTED,
    }
    assert poster.channels() == [CHANNEL, OTHER]


def test_cartrover_down_claims_nothing_and_the_next_sync_posts(db: Path) -> None:
    """A listing failure leaves the day unclaimed, so the next sync builds and posts it."""
    clock = FrozenClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    cartrover = StaleOrders(clock.now())
    cartrover.failing = 1
    deps = make_deps(db, clock, cartrover=cartrover)
    subscribe(deps, CHANNEL, "09:00", "UTC", clock.now() - timedelta(days=1))
    assert schedule.digest_catch_up(deps) == {CHANNEL: Outcome.FAILED}
    assert deps.digests.digest_claim(CHANNEL, date(2026, 3, 2)) is None
    assert schedule.digest_catch_up(deps) == {CHANNEL: Outcome.POSTED}


def test_a_post_lost_in_a_connection_reset_is_never_posted_twice(db: Path) -> None:
    """Slack accepts chat.postMessage, then the connection resets: no second digest (R21)."""
    clock = FrozenClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    with LocalSlack() as slack:
        poster = SlackPoster(make_web_client(GOOD_TOKEN, slack.url, rate_limit_retries=1))
        deps = make_deps(db, clock)
        deps = Deps(**{**deps.__dict__, "poster": poster})
        subscribe(deps, CHANNEL, "09:00", "UTC", clock.now() - timedelta(days=1))
        slack.fail_next("chat.postMessage", Failure(reset=True))
        assert schedule.digest_catch_up(deps) == {CHANNEL: Outcome.IN_DOUBT}
        clock.advance(timedelta(hours=2))
        assert schedule.digest_catch_up(deps) == {CHANNEL: Outcome.IN_PROGRESS}
        assert len(slack.of("chat.postMessage")) == 1


def test_slack_rate_limit_is_waited_out_and_the_digest_posts_once(db: Path) -> None:
    """A 429 with Retry-After on the digest post is retried after the wait, posting once (R20)."""
    clock = FrozenClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    with LocalSlack() as slack:
        poster = SlackPoster(make_web_client(GOOD_TOKEN, slack.url, rate_limit_retries=2))
        deps = Deps(**{**make_deps(db, clock).__dict__, "poster": poster})
        subscribe(deps, CHANNEL, "09:00", "UTC", clock.now() - timedelta(days=1))
        slack.fail_next("chat.postMessage", Failure(status=429, error="ratelimited", retry_after=1))
        started = time.monotonic()
        assert schedule.digest_catch_up(deps) == {CHANNEL: Outcome.POSTED}
        assert time.monotonic() - started >= 1.0
        assert len(slack.of("chat.postMessage")) == 2
        claim = deps.digests.digest_claim(CHANNEL, date(2026, 3, 2))
        assert claim is not None and claim.state == "posted" and claim.message_ts


def test_slack_rate_limit_past_the_retry_budget_fails_visibly_and_is_retried_later(
    db: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """When 429s outlast the retry budget the digest is logged as failed and released (R20)."""
    clock = FrozenClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    with LocalSlack() as slack:
        poster = SlackPoster(make_web_client(GOOD_TOKEN, slack.url, rate_limit_retries=1))
        deps = Deps(**{**make_deps(db, clock).__dict__, "poster": poster})
        subscribe(deps, CHANNEL, "09:00", "UTC", clock.now() - timedelta(days=1))
        slack.fail_next(
            "chat.postMessage", Failure(status=429, error="ratelimited", retry_after=1), times=2
        )
        with caplog.at_level(logging.WARNING):
            assert schedule.digest_catch_up(deps) == {CHANNEL: Outcome.FAILED}
        assert any("ratelimited" in r.getMessage() for r in caplog.records)
        claim = deps.digests.digest_claim(CHANNEL, date(2026, 3, 2))
        assert claim is not None and claim.state == "failed"
        clock.advance(timedelta(hours=1))
        assert schedule.digest_catch_up(deps) == {CHANNEL: Outcome.POSTED}
        assert len(slack.of("chat.postMessage")) == 3


def test_subscriptions_reach_a_running_scheduler_at_its_next_sync(
    db: Path, scheduler_of: Callable[[Deps], BaseScheduler]
) -> None:
    """Subscribe, change and unsubscribe in one process; the other's jobs follow without restart."""
    clock = FrozenClock(datetime(2026, 3, 2, 5, 0, tzinfo=UTC))
    web, clock_process = make_deps(db, clock), make_deps(db, clock)
    scheduler = scheduler_of(clock_process)
    sync_digest_jobs(scheduler, clock_process)
    assert scheduler.get_job(f"digest:{CHANNEL}") is None
    schedule.subscribe(web, CHANNEL, user="U1", local_time="08:00", timezone="Europe/Berlin")
    sync_digest_jobs(scheduler, clock_process)
    job = scheduler.get_job(f"digest:{CHANNEL}")
    assert job is not None and str(job.trigger) == "cron[hour='8', minute='0']"
    schedule.subscribe(web, CHANNEL, user="U1", local_time="17:45", timezone="Asia/Tokyo")
    sync_digest_jobs(scheduler, clock_process)
    job = scheduler.get_job(f"digest:{CHANNEL}")
    assert job is not None and job.trigger.timezone == ZoneInfo("Asia/Tokyo")
    web.digests.unsubscribe(CHANNEL)
    assert schedule.digest_for(clock_process, CHANNEL) is None  # before the sync: nothing posts
    sync_digest_jobs(scheduler, clock_process)
    assert scheduler.get_job(f"digest:{CHANNEL}") is None


def test_an_empty_scheduled_digest_posts_one_short_line(db: Path) -> None:
    """With nothing stale the scheduled digest still says so, in one line and without a button."""
    clock = FrozenClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    poster = RecordingPoster()
    deps = make_deps(db, clock, poster=poster, cartrover=StaleOrders(clock.now(), 0, 0))
    subscribe(deps, CHANNEL, "09:00", "UTC", clock.now() - timedelta(days=1))
    assert schedule.digest_catch_up(deps) == {CHANNEL: Outcome.POSTED}
    ((_, text, blocks, _),) = poster.posts
    assert "0 stale test order" in text
    assert not [b for b in blocks if b["type"] == "actions"]
