"""Events API deliveries, handled once (reliability R23 in ``docs/reliability.md``).

Slack retries a delivery it thinks failed (``X-Slack-Retry-Num`` 1–3: at once, after about a
minute, after about five), and Socket Mode may hand one delivery to any of the app's connections.
Whichever process sees an ``event_id`` first claims it in the store with one conditional insert;
every other delivery of that id — a retry, or the same one in another process — finds the claim
and is acknowledged without being handled. A retry whose original never arrived finds no claim
and is handled. Claims are remembered for :data:`EVENT_MEMORY`, far beyond Slack's last retry,
and swept afterwards; an expired claim that was not swept yet is taken over by the same insert.
"""

from __future__ import annotations

import re
from datetime import timedelta

from bot.store.contracts import SurfaceStore
from bot.times import Clock

__all__ = ["EVENT_MEMORY", "first_delivery", "forget_old"]

EVENT_MEMORY = timedelta(hours=1)
_EVENT_ID = re.compile(r"[A-Za-z0-9]{1,64}")  # Slack's are like Ev0123ABCD


def first_delivery(store: SurfaceStore, clock: Clock, event_id: object) -> bool:
    """True for the one delivery of ``event_id`` that should be handled; False for a repeat, or
    for an id that is not one (nothing is handled then)."""
    if not isinstance(event_id, str) or not _EVENT_ID.fullmatch(event_id):
        return False
    now = clock.now()
    return store.claim_event(event_id, now, now + EVENT_MEMORY)


def forget_old(store: SurfaceStore, clock: Clock) -> int:
    """Sweep claims whose memory has expired; how many."""
    return store.forget_events(clock.now())
