"""The CartRover sandbox as the contract tests meet it: ``book``, the seeded orders (a module that
needs others overrides it), and ``server``, the sandbox over that book with its own rate limit,
on loopback and stopped after the test. A module that needs a roomier bucket defines its own
``server``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.dev.sandbox import OrderBook, SandboxServer
from bot.times import FrozenClock


@pytest.fixture
def book(clock: FrozenClock) -> OrderBook:
    return OrderBook.seeded(clock)


@pytest.fixture
def server(book: OrderBook) -> Iterator[SandboxServer]:
    with SandboxServer(book) as started:
        yield started
