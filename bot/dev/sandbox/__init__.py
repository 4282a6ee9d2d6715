"""The CartRover sandbox: an in-memory order book and a real HTTP server that speaks the four
CartRover calls the bot makes (see ``docs/cartrover.md``), with CartRover's envelope, rate limit and
Process-ID, plus fault injection for tests. Standard library only; it deliberately does not import
``bot.cartrover``, so it checks the client instead of mirroring it."""

from __future__ import annotations

from bot.dev.sandbox.control import Faults, LeakyBucket, RecordedRequest
from bot.dev.sandbox.orders import (
    DEFAULT_SEND_DELAY,
    STATUS_FILTERS,
    CancelResult,
    OrderBook,
    UnknownOrder,
)
from bot.dev.sandbox.seed import (
    AT_WMS_REF,
    CANCELED_REF,
    CANCELED_SENDING_REF,
    CONFIRMED_REF,
    ERROR_REF,
    FRESH_TEST_REF,
    ON_HOLD_REF,
    PII_REMOVED_REF,
    SHIPPED_REF,
    STALE_NON_TEST_REF,
    STALE_PATTERN_TEST_REF,
    STALE_TEST_REF,
    TEST_PATTERN,
    TEST_PO_ONLY_REF,
    TEST_SOURCE,
    generate_orders,
    seed,
    seed_records,
)
from bot.dev.sandbox.server import (
    SANDBOX_API_KEY,
    SANDBOX_API_USER,
    SANDBOX_CANCEL_API_KEY,
    SANDBOX_CANCEL_API_USER,
    SandboxServer,
    run_sandbox,
)

__all__ = [
    "AT_WMS_REF",
    "CANCELED_REF",
    "CANCELED_SENDING_REF",
    "CONFIRMED_REF",
    "DEFAULT_SEND_DELAY",
    "ERROR_REF",
    "FRESH_TEST_REF",
    "ON_HOLD_REF",
    "PII_REMOVED_REF",
    "SANDBOX_API_KEY",
    "SANDBOX_API_USER",
    "SANDBOX_CANCEL_API_KEY",
    "SANDBOX_CANCEL_API_USER",
    "SHIPPED_REF",
    "STALE_NON_TEST_REF",
    "STALE_PATTERN_TEST_REF",
    "STALE_TEST_REF",
    "STATUS_FILTERS",
    "TEST_PATTERN",
    "TEST_PO_ONLY_REF",
    "TEST_SOURCE",
    "CancelResult",
    "Faults",
    "LeakyBucket",
    "OrderBook",
    "RecordedRequest",
    "SandboxServer",
    "UnknownOrder",
    "generate_orders",
    "run_sandbox",
    "seed",
    "seed_records",
]
