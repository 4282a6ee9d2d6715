"""The sandbox's moving parts that tests steer or inspect: the leaky bucket, the fault switches
and the record of received requests."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["Credential", "Faults", "LeakyBucket", "RecordedRequest"]

Credential = Literal["main", "cancel"]


class LeakyBucket:
    """CartRover's rate limit (a leaky bucket): ``capacity`` calls in a burst, one more every
    ``refill_seconds``, refilled continuously. Thread-safe; time comes from ``monotonic``."""

    def __init__(
        self, capacity: int, refill_seconds: float, monotonic: Callable[[], float]
    ) -> None:
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self.configure(capacity, refill_seconds)

    def configure(self, capacity: int, refill_seconds: float) -> None:
        """Change the limits and fill the bucket."""
        if capacity < 1 or refill_seconds <= 0:
            raise ValueError("capacity must be >= 1 and refill_seconds > 0")
        with self._lock:
            self.capacity = capacity
            self.refill_seconds = refill_seconds
            self._level = float(capacity)
            self._at = self._monotonic()

    def _refill(self) -> None:
        now = self._monotonic()
        elapsed = max(now - self._at, 0.0)
        self._level = min(float(self.capacity), self._level + elapsed / self.refill_seconds)
        self._at = now

    def take(self) -> tuple[bool, int]:
        """Spend one call if there is one: ``(allowed, calls still available afterwards)``."""
        with self._lock:
            self._refill()
            if self._level < 1.0:
                return False, 0
            self._level -= 1.0
            return True, int(self._level)

    def remaining(self) -> int:
        with self._lock:
            self._refill()
            return int(self._level)


class Faults:
    """Fault switches, settable at runtime from any thread.

    * ``latency`` — seconds to wait before every answer.
    * ``fail_5xx`` — the next N requests get HTTP 503 with an HTML body.
    * ``rate_limit_next`` — the next N requests get ``RateLimit`` (HTTP 200, or 429 with
      ``Retry-After: 1`` when ``rate_limit_http_429``; that flag also applies to the bucket).
    * ``rate_limit_cancel`` — likewise, the next N ``wms_cancel`` calls only (reads go through):
      the key's bucket emptied by someone else just as the cancel arrives. Nothing is applied.
    * ``hang_cancel`` — the next N ``wms_cancel`` calls are applied, then the answer is held until
      :meth:`release` or the server stops (a client read timeout: the ambiguous case); see
      :attr:`held` and :meth:`wait_held`.
    * ``reset_cancel`` — the next N ``wms_cancel`` calls are applied, then the connection is reset
      without an answer.
    * ``drip`` — every answer is written one byte per ``drip_interval`` seconds (default 1 s).
    * ``refuse_cancel`` — ``wms_cancel`` answers ``success_code: false`` / ``Failure`` with
      ``refuse_message`` and leaves the book alone.
    * ``cancel_noop`` — ``wms_cancel`` answers success but changes nothing.
    * ``cancel_reply`` — ``wms_cancel`` answers HTTP 200 with a body the public examples do not
      show: ``"bare"`` (``{"success_code": true}``), ``"empty"`` (``response: {}``), ``"html"`` or
      ``"truncated"`` JSON. The book still changes unless ``cancel_noop`` is set.
    * ``not_found_status`` — the HTTP status of "Order not found" replies: 404 (default) or 200;
      both carry the error envelope (CartRover's choice is undocumented).
    * ``auth_failure_status`` — likewise for refused credentials: 401 (default) or 200.
    * ``empty_page`` — how a listing page without orders is answered (CartRover's way is
      undocumented): ``"list"`` (default, ``response: []``), ``"absent"`` (``{"success_code":
      true}`` alone), ``"null"``, ``"object"`` (``response: {}``) or ``"no_orders"`` (an error
      envelope saying "No orders found", HTTP 200).
    * ``moved_on`` — what ``wms_cancel`` does to an order no longer New (undocumented):
      ``"accept"`` (default: success, nothing changes), ``"refuse"`` (``response.success``
      false with a message) or ``"cancel_order"`` (the order becomes ``canceled``).
    * ``send_before_cancel`` — the next N ``wms_cancel`` calls first send their order to the
      WMS, as if the WMS picked it up between the bot's re-read and its cancel.
    * ``list_dates`` — what ``from_date``/``to_date`` filter New orders on (undocumented):
      ``"created"`` (default, ``created_date_time``, to the second) or ``"order_date"`` (the
      cart's ``order_date``, in whole days).
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._released = threading.Event()
        self._held = 0
        self.reset()

    def reset(self) -> None:
        """Clear every switch (and let any held answer go)."""
        with self._lock:
            self.latency: float = 0.0
            self.fail_5xx: int = 0
            self.rate_limit_next: int = 0
            self.rate_limit_cancel: int = 0
            self.rate_limit_http_429: bool = False
            self.hang_cancel: int = 0
            self.reset_cancel: int = 0
            self.drip: bool = False
            self.drip_interval: float = 1.0
            self.refuse_cancel: bool = False
            self.refuse_message: str = "Unable to cancel sending: order is locked by the WMS"
            self.cancel_noop: bool = False
            self.cancel_reply: str | None = None
            self.not_found_status: int = 404
            self.auth_failure_status: int = 401
            self.empty_page: str = "list"
            self.list_dates: str = "created"
            self.moved_on: str = "accept"
            self.send_before_cancel: int = 0
            self._released.set()
            self._released = threading.Event()

    def take(
        self,
        name: Literal[
            "fail_5xx",
            "rate_limit_next",
            "rate_limit_cancel",
            "hang_cancel",
            "reset_cancel",
            "send_before_cancel",
        ],
    ) -> bool:
        """Consume one use of a counted switch; True if it was armed."""
        with self._lock:
            left = int(getattr(self, name))
            if left <= 0:
                return False
            setattr(self, name, left - 1)
            return True

    def release(self) -> None:
        """Let every answer held by ``hang_cancel`` go."""
        with self._lock:
            self._released.set()
            self._released = threading.Event()

    def hold(self) -> threading.Event:
        """Start holding an answer: returns the event that :meth:`release` will set."""
        with self._changed:
            self._held += 1
            self._changed.notify_all()
            return self._released

    def unhold(self) -> None:
        with self._changed:
            self._held -= 1
            self._changed.notify_all()

    @property
    def held(self) -> int:
        """How many answers are being held right now."""
        with self._lock:
            return self._held

    def wait_held(self, count: int = 1, timeout: float = 2.0) -> bool:
        """Wait until at least ``count`` answers are held (then :meth:`release` frees them)."""
        with self._changed:
            return self._changed.wait_for(lambda: self._held >= count, timeout)


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the sandbox received it. Never holds credentials: ``api_user``/``api_key``
    query values (legacy URL auth, which a client must not use) are redacted."""

    method: str
    raw_path: str
    path: str
    query: dict[str, str]
    route: str | None
    cust_ref: str | None
    auth_ok: bool
    credential: Credential | None
    process_id: str
    at: float
    headers: dict[str, str] = field(default_factory=dict)
