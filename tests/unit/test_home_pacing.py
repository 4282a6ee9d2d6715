"""App Home publishes paced per person (R-review: 200 app_home_opened → 200 views.publish): one
at once, then at most one per gap, built when it goes out, with the latest notice."""

from __future__ import annotations

from collections.abc import Callable

from bot.home.pacing import PublishPacer


class Time:
    """A monotonic clock and a ``later`` that only runs what is due when told to."""

    def __init__(self) -> None:
        self.now = 50.0
        self.due: list[tuple[float, Callable[[], None]]] = []

    def later(self, seconds: float, run: Callable[[], None]) -> None:
        self.due.append((self.now + seconds, run))

    def advance(self, seconds: float) -> None:
        """Move on by ``seconds``, running each call when its time comes."""
        until = self.now + seconds
        while self.due and min(at for at, _ in self.due) <= until:
            at, run = min(self.due, key=lambda item: item[0])
            self.due.remove((at, run))
            self.now = at
            run()
        self.now = until


def pacer_and_log(time: Time) -> tuple[PublishPacer, list[tuple[str, str, float]]]:
    pacer = PublishPacer(gap=3.0, monotonic=lambda: time.now, later=time.later)
    return pacer, []


def test_many_requests_for_one_person_make_two_publishes() -> None:
    time = Time()
    pacer, published = pacer_and_log(time)
    for _ in range(200):
        pacer.request("U1", lambda notice: published.append(("U1", notice, time.now)))
        time.advance(0.01)
    assert [at for _, _, at in published] == [50.0]  # the first at once, the rest folded
    time.advance(3.0)
    assert [at for _, _, at in published] == [50.0, 53.0]  # one more, a gap later
    assert pacer.busy == 0
    time.advance(10.0)
    assert len(published) == 2


def test_each_person_has_a_pace_of_their_own() -> None:
    time = Time()
    pacer, published = pacer_and_log(time)
    for user in ("U1", "U2", "U1", "U2"):
        pacer.request(user, lambda notice, user=user: published.append((user, notice, time.now)))
    assert [user for user, _, _ in published] == ["U1", "U2"]
    time.advance(3.0)
    assert sorted(user for user, _, _ in published) == ["U1", "U1", "U2", "U2"]


def test_the_latest_notice_rides_on_the_folded_publish_and_is_shown_once() -> None:
    time = Time()
    pacer, published = pacer_and_log(time)

    def publish(notice: str) -> None:
        published.append(("U1", notice, time.now))

    pacer.request("U1", publish)
    pacer.request("U1", publish, notice="first refusal")
    pacer.request("U1", publish, notice="second refusal")
    pacer.request("U1", publish)
    time.advance(3.0)
    assert [notice for _, notice, _ in published] == ["", "second refusal"]
    time.advance(3.0)
    pacer.request("U1", publish)
    assert published[-1][1] == ""


def test_a_request_after_the_gap_publishes_at_once() -> None:
    time = Time()
    pacer, published = pacer_and_log(time)
    pacer.request("U1", lambda notice: published.append(("U1", notice, time.now)))
    time.advance(3.5)
    pacer.request("U1", lambda notice: published.append(("U1", notice, time.now)))
    assert [at for _, _, at in published] == [50.0, 53.5]
    assert time.due == []
