"""Status benchmark: `/cartrover status` of 20 orders while CartRover takes 200 ms per call.

Each order is two calls (the status call and the single-order call); the bot makes both at once
and reads all the orders of one command at once, within CartRover's rate limit. The time measured
is from the signed command to the reply reaching the requester (the local Slack's response URL),
counted in CartRover round trips; target: at most 3. The same 20 orders read one call after
another, in this run and on this machine, are the reference.

    python bench/status.py [--orders 20] [--latency 0.2] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

import httpx
from _world import Bench, frozen_now

from bot.cartrover import protocol
from bot.dev.sandbox import OrderBook, generate_orders


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=20)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    clock = frozen_now()
    book = OrderBook(clock, send_delay=None)
    book.add_many(generate_orders(args.orders, now=clock.now(), prefix="STATUS-"))
    refs = [f"STATUS-{n:06d}" for n in range(1, args.orders + 1)]
    bench = Bench(book, clock)
    try:
        bench.start_bot()
        bench.world.sandbox.faults.latency = args.latency
        timings: list[float] = []
        calls: list[int] = []
        for round_ in range(1, args.rounds + 1):
            bench.world.sandbox.clear_requests()
            started = time.perf_counter()
            bench.command("status " + " ".join(refs))
            bench.wait(lambda n=round_: len(bench.world.slack.of("webhook")) >= n)
            timings.append(time.perf_counter() - started)
            calls.append(len(bench.world.sandbox.requests))
        text = bench.world.slack.of("webhook")[-1].body["text"]
        assert all(ref in text for ref in refs), "the reply does not name every order"
        serial = _serial(bench, refs)
    finally:
        bench.close()
    median = statistics.median(timings)
    print(f"`status` of {args.orders} orders, CartRover {args.latency * 1000:.0f} ms per call")
    print("| measure | value |\n|---|---|")
    print(f"| reply time, median of {args.rounds} | {median:.2f} s |")
    print(f"| reply time, slowest | {max(timings):.2f} s |")
    print(f"| CartRover calls per status | {statistics.median(calls):.0f} |")
    print(f"| the same reads one call after another | {serial:.2f} s |")
    print(f"| speed-up | {serial / median:.1f}x |")
    trips = median / args.latency
    print(f"| reply time in CartRover round trips | {trips:.1f} |")
    print("PASS" if trips <= 3 else "FAIL", "(target: the reply within 3 round trips)")
    return 0 if trips <= 3 else 1


def _serial(bench: Bench, refs: list[str]) -> float:
    """The reference: each order's two calls (status, then the order), one after another, with
    a plain HTTP client against the same sandbox and latency."""
    settings = bench.settings
    key = settings.cartrover_api_key
    auth = protocol.basic_auth(
        settings.cartrover_api_user or "", key.get_secret_value() if key else ""
    )
    with httpx.Client(base_url=settings.cartrover_api_url, timeout=30) as client:
        started = time.perf_counter()
        for ref in refs:
            for path in (protocol.status_path(ref), protocol.order_path(ref)):
                client.get(path, headers={"Authorization": auth}).raise_for_status()
        return time.perf_counter() - started


if __name__ == "__main__":
    raise SystemExit(main())
