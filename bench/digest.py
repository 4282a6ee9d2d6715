"""Digest benchmark: CartRover calls, wall time and peak memory of building one digest.

The sandbox holds 20,000 New orders: 19,000 fresh, 700 stale non-test and 300 stale test orders.
The digest lists ``new`` up to the stale cutoff, so only the 1,000 stale orders cross the wire:
10 full pages of 100, plus one empty page to learn that the listing has ended — the minimum is
10 (+1). The sandbox runs in its own process (so its memory is not counted); this process builds
the digest with the real client and message builder, and reports its own peak RSS.

    python bench/digest.py [--fresh 19000] [--stale-non-test 700] [--stale-test 300]

Exit code 0 when calls <= minimum + 1 and peak RSS < 100 MB.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import resource
import sys
import time
from datetime import timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PAGE = 100
RSS_LIMIT_MB = 100.0


def _sandbox(fresh: int, stale_non_test: int, stale_test: int, conn: Connection) -> None:
    """The other process: a sandbox with the benchmark's order book, answering on ``conn``."""
    from bot.dev.sandbox import OrderBook, SandboxServer, generate_orders
    from bot.times import SystemClock

    clock = SystemClock()
    now = clock.now()
    book = OrderBook(clock, send_delay=None)  # nothing moves to the WMS during the run
    day, week = timedelta(hours=25), timedelta(days=8)
    book.add_many(
        generate_orders(
            fresh,
            now=now,
            min_age=timedelta(minutes=30),
            max_age=timedelta(hours=23),
            source="Shopify",
            prefix="NEW-",
        )
    )
    book.add_many(
        generate_orders(
            stale_non_test, now=now, min_age=day, max_age=week, source="Shopify", prefix="SHOP-"
        )
    )
    book.add_many(
        generate_orders(
            stale_test, now=now, min_age=day, max_age=week, source="Test Store", prefix="TS-"
        )
    )
    server = SandboxServer(book).start()
    conn.send(server.url)
    while (message := conn.recv()) != "stop":
        if message == "stats":
            listed = [r for r in server.requests if r.route == "M1"]
            conn.send(
                {
                    "calls": len(server.requests),
                    "list_calls": len(listed),
                    "rate_limited": server.rate_limited_count,
                    "orders": len(book),
                }
            )
    server.stop()


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _build(url: str) -> dict[str, Any]:
    """Build the digest once, as the scheduled job does (listing, classification, message)."""
    from bot.cartrover.client import CartRoverClient
    from bot.dev.sandbox import SANDBOX_API_KEY, SANDBOX_API_USER
    from bot.digest.messages import DIGEST_TITLE, digest_message
    from bot.digest.stale import build_report
    from bot.settings import Settings
    from bot.times import SystemClock

    settings = Settings.load(
        {
            "CARTROVER_API_URL": url,
            "CARTROVER_API_USER": SANDBOX_API_USER,
            "CARTROVER_API_KEY": SANDBOX_API_KEY,
            "TEST_ORDER_SOURCES": "Test Store",
            "TEST_ORDER_PATTERN": "^TEST-",
            "STALE_AFTER_HOURS": "24",
        }
    )
    with CartRoverClient.from_settings(settings) as client:
        started = time.perf_counter()
        report = build_report(settings, client, SystemClock().now())
        message = digest_message(report, DIGEST_TITLE, snapshot_id=1)
        wall = time.perf_counter() - started
        return {
            "wall": wall,
            "client_calls": client.stats.get("list_orders", 0),
            "test": report.test_count,
            "non_test": report.non_test_count,
            "listed": report.listed,
            "blocks": len(message.blocks),
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--fresh", type=int, default=19_000)
    parser.add_argument("--stale-non-test", type=int, default=700)
    parser.add_argument("--stale-test", type=int, default=300)
    args = parser.parse_args()

    ctx = mp.get_context("spawn")
    here, there = ctx.Pipe()
    process = ctx.Process(
        target=_sandbox, args=(args.fresh, args.stale_non_test, args.stale_test, there)
    )
    process.start()
    try:
        url = here.recv()
        # Imports count in the baseline, not in the run.
        import bot.cartrover.client
        import bot.digest.messages
        import bot.digest.schedule  # noqa: F401

        baseline = _peak_rss_mb()
        result = _build(url)
        peak = _peak_rss_mb()
        here.send("stats")
        server: dict[str, int] = here.recv()
    finally:
        here.send("stop")
        process.join(10)

    stale = args.stale_non_test + args.stale_test
    minimum = max(math.ceil(stale / PAGE), 1)
    allowed = minimum + (1 if stale % PAGE == 0 else 0)
    rows = [
        ("orders in the sandbox (New)", f"{server['orders']:,}"),
        ("stale test / stale non-test found", f"{result['test']} / {result['non_test']}"),
        ("orders that crossed the wire", f"{result['listed']:,}"),
        ("CartRover calls (server count)", f"{server['calls']}"),
        ("minimum calls (pages of 100, +1 empty)", f"{minimum} (+1) = {allowed}"),
        ("RateLimit answers", f"{server['rate_limited']}"),
        ("wall time (listing + classify + message)", f"{result['wall'] * 1000:.0f} ms"),
        ("peak RSS of this process", f"{peak:.1f} MB"),
        ("  of which before the run (imports)", f"{baseline:.1f} MB"),
        ("digest message blocks", f"{result['blocks']}"),
    ]
    width = max(len(name) for name, _ in rows)
    print("| measure | value |\n|---|---|")
    for name, value in rows:
        print(f"| {name.ljust(width)} | {value} |")
    ok = server["calls"] <= allowed and peak < RSS_LIMIT_MB and server["rate_limited"] == 0
    ok = ok and result["test"] == args.stale_test and result["non_test"] == args.stale_non_test
    print("PASS" if ok else "FAIL", f"(target: calls <= {allowed}, peak RSS < {RSS_LIMIT_MB:g} MB)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
