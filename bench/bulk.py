"""Bulk hold benchmark: "Request hold for all" on 150 stale test orders, approved, to the end.

The sandbox's rate limit is a bucket of 20 calls refilling one call every 0.05 s (20 a second).
The time measured runs from the "Request hold for all" click to the request being done (every
order re-read, canceled once and verified) with its final message updated in Slack. The floor is
what the bucket allows for the calls the run made: ``(calls - 20) × 0.05 s`` with a full bucket
at the click. Targets: at most 3 CartRover calls per order, wall time at most 1.25 × the floor
(or the floor plus one second when it is under four seconds), no RateLimit answer, no order
canceled twice.

    python bench/bulk.py [--orders 150] [--capacity 20] [--refill 0.05] [--latency 0]

Exit code 0 when every target is met.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from typing import Any

from _world import APPROVER, REQUESTER, Bench, frozen_now

from bot.dev.sandbox import OrderBook, generate_orders
from bot.dev.sandbox.seed import TEST_SOURCE
from bot.slack import ids
from bot.store import RequestState


def _hold_all_value(blocks: list[dict[str, Any]]) -> str:
    for block in blocks:
        for element in block.get("elements", []) if block["type"] == "actions" else []:
            if element.get("action_id") == ids.REQUEST_HOLD_ALL:
                return str(element["value"])
    raise RuntimeError("the stale list has no 'Request hold for all' button")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=150)
    parser.add_argument("--capacity", type=int, default=20)
    parser.add_argument("--refill", type=float, default=0.05)
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args()
    clock = frozen_now()
    book = OrderBook(clock, send_delay=None)
    book.add_many(generate_orders(args.orders, now=clock.now(), prefix="BULK-"))
    refs = [f"BULK-{n:06d}" for n in range(1, args.orders + 1)]
    bench = Bench(book, clock, TEST_ORDER_SOURCES=TEST_SOURCE)
    try:
        bench.world.set_rate_limit(args.capacity, args.refill)
        bot = bench.start_bot()
        sandbox, slack = bench.world.sandbox, bench.world.slack
        sandbox.faults.latency = args.latency
        bench.command("stale")
        bench.wait(lambda: len(slack.of("webhook")) >= 1)
        hold_all = _hold_all_value(slack.of("webhook")[-1].body["blocks"])
        time.sleep(args.capacity * args.refill + 0.1)  # a full bucket at the click
        sandbox.clear_requests()
        started = time.perf_counter()
        bench.click(ids.REQUEST_HOLD_ALL, hold_all, REQUESTER, ts="1700000000.000099")

        def pending() -> Any:
            found = bot.store.requests_in_state(RequestState.PENDING)
            return found[-1] if found and found[-1].message_ts else None

        bench.wait(lambda: pending() is not None)
        request = pending()
        bench.click(ids.APPROVE_HOLD, str(request.id), APPROVER, ts=request.message_ts)
        bench.wait(lambda: bot.store.get_request(request.id).state is RequestState.DONE)
        bench.wait(
            lambda: any(
                c.body.get("ts") == request.message_ts and "Hold request done" in json.dumps(c.body)
                for c in slack.of("chat.update")
            )
        )
        wall = time.perf_counter() - started
        done = bot.store.get_request(request.id)
        routes = Counter(r.route for r in sandbox.requests)
        calls = len(sandbox.requests)
        limited = sandbox.rate_limited_count
        twice = [ref for ref in refs if book.cancel_count(ref) != 1]
        states = Counter(item.state.value for item in done.items)
    finally:
        bench.close()
    orders = len(done.items)
    floor = max(0, calls - args.capacity) * args.refill
    allowed = max(floor * 1.25, floor + 1.0) if floor < 4 else floor * 1.25
    per_order = calls / orders
    print(
        f"Bulk hold of {orders} orders; CartRover bucket {args.capacity}, one call per "
        f"{args.refill * 1000:.0f} ms, {args.latency * 1000:.0f} ms per answer"
    )
    print("| measure | value | target |\n|---|---|---|")
    print(f"| CartRover calls | {calls} ({dict(sorted(routes.items()))}) | |")
    print(f"| calls per order | {per_order:.2f} | <= 3 |")
    print(f"| wall time, click to final message | {wall:.2f} s | <= {allowed:.2f} s |")
    print(f"| floor the bucket allows for these calls | {floor:.2f} s | |")
    print(f"| wall / floor | {wall / floor if floor else float('nan'):.2f} | <= 1.25 |")
    print(f"| RateLimit answers | {limited} | 0 |")
    print(f"| orders not canceled exactly once | {len(twice)} | 0 |")
    print(f"| item outcomes | {dict(states)} | all canceled |")
    met = (
        per_order <= 3
        and wall <= allowed
        and limited == 0
        and not twice
        and states == Counter({"canceled": orders})
    )
    print("PASS" if met else "FAIL")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
