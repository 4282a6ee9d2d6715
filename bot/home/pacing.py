"""App Home publishes paced per person: at most one ``views.publish`` per person every
:data:`PUBLISH_GAP` seconds, however many times their Home is asked for meanwhile (200
``app_home_opened`` events for one person used to make 200 publishes).

A request for a person whose last publish started less than the gap ago, or whose publish is
under way, is folded into one more publish when the gap has passed: that publish builds the Home
from the store at that moment, so the latest state wins, and it carries the latest notice asked
for (a refusal told at the top of the Home is not lost to the folding).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["PUBLISH_GAP", "PublishPacer", "run_later"]

log = logging.getLogger(__name__)

PUBLISH_GAP = 3.0  # seconds between two publishes of one person's Home
_FORGET_AFTER = 600.0  # seconds: idle people are forgotten (their next publish goes at once)

Publish = Callable[[str], None]  # publish this person's Home now, with this notice
Later = Callable[[float, Callable[[], None]], None]  # run this after so many seconds


@dataclass
class _Person:
    last: float = float("-inf")  # when their last publish started
    busy: bool = False  # a publish of theirs runs or waits for its turn
    again: bool = False  # asked for again meanwhile
    notice: str = ""  # the latest notice asked for, not shown yet


def run_later(seconds: float, run: Callable[[], None]) -> None:
    """Run ``run`` on a daemon timer thread after ``seconds`` (the default :data:`Later`)."""
    timer = threading.Timer(seconds, run)
    timer.daemon = True
    timer.start()


class PublishPacer:
    """One process's pacing of App Home publishes, per person."""

    def __init__(
        self,
        *,
        gap: float = PUBLISH_GAP,
        monotonic: Callable[[], float] = time.monotonic,
        later: Later = run_later,
    ) -> None:
        self.gap = gap
        self._monotonic = monotonic
        self._later = later
        self._lock = threading.Lock()
        self._people: dict[str, _Person] = {}

    def request(
        self, user_id: str, publish: Publish, *, notice: str = "", later: Later | None = None
    ) -> None:
        """Publish ``user_id``'s Home through ``publish`` now (on this thread) if their gap has
        passed and none is under way, else once more when it has (through ``later``, default
        the pacer's own)."""
        later = later or self._later
        with self._lock:
            self._forget_idle()
            person = self._people.setdefault(user_id, _Person())
            if notice:
                person.notice = notice
            if person.busy:
                person.again = True
                return
            person.busy = True
            wait = person.last + self.gap - self._monotonic()
        if wait > 0:
            later(wait, lambda: self._run(user_id, person, publish, later))
        else:
            self._run(user_id, person, publish, later)

    def _run(self, user_id: str, person: _Person, publish: Publish, later: Later) -> None:
        with self._lock:
            person.last = self._monotonic()
            person.again = False
            notice, person.notice = person.notice, ""
        try:
            publish(notice)
        except Exception:
            log.exception("publishing the App Home of %s failed", user_id)
        finally:
            with self._lock:
                again = person.again
                wait = person.last + self.gap - self._monotonic()
                if not again:
                    person.busy = False
        if again:
            later(max(wait, 0.0), lambda: self._run(user_id, person, publish, later))

    @property
    def busy(self) -> int:
        """People whose publish is under way or waiting for its turn."""
        with self._lock:
            return sum(person.busy for person in self._people.values())

    def _forget_idle(self) -> None:
        """Drop people idle for long (called with the lock held), so the map stays small."""
        if len(self._people) < 1000:
            return
        cutoff = self._monotonic() - _FORGET_AFTER
        for user_id, person in list(self._people.items()):
            if not person.busy and person.last < cutoff:
                del self._people[user_id]
