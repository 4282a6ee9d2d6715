"""Ack benchmark: how fast `serve` acknowledges `/cartrover status` while CartRover is slow.

400 signed `status` commands at concurrency 20, CartRover (the sandbox) answering every call in
200 ms. Reports p50/p99 acknowledgement latency and throughput for the bot, next to a bare
waitress WSGI app that only reads the body and answers 200 (the floor any WSGI answer has on this
machine), measured side by side in the same run, interleaved. Target: the bot's p99 at most twice
the bare app's. Each server runs in its own process; the load generator in this one.

    python bench/ack.py [--requests 400] [--concurrency 20] [--latency 0.2] [--rounds 3]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SECRET = "bench-signing-secret-0123456789"


def _world(latency: float, ready: Any, stop: Any) -> None:
    """Process A: the CartRover sandbox (slow) and the local Slack Web API."""
    from bot.dev.loopback.world import LoopbackWorld

    world = LoopbackWorld(capacity=100_000, refill_seconds=1e-4).start()
    world.sandbox.faults.latency = latency
    ready.put((world.environment(), world.slack.webhook("bench")))
    stop.wait()


def _bare(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """The floor: read the body, answer 200."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    environ["wsgi.input"].read(length)
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "0")])
    return [b""]


def _server(kind: str, env: dict[str, str], db: str, ready: Any, control: Any) -> None:
    """Process B: the bot behind serve's WSGI app and server, or the bare waitress app."""
    import logging
    import threading

    from waitress.server import create_server

    from bot.dev.loopback.world import LoopbackBot
    from bot.settings import Settings
    from bot.times import SystemClock

    logging.disable(logging.WARNING)
    settings = Settings.load(
        {**env, "SLACK_SIGNING_SECRET": SECRET, "DATABASE_URL": f"sqlite:///{db}"}
    )
    bot = None
    if kind == "bot":
        bot = LoopbackBot(settings, SystemClock(), rate_limit=(100_000, 1e-4), threads=16)
        url = bot.url
    else:
        bare = create_server(_bare, host="127.0.0.1", port=0, threads=16)
        threading.Thread(target=bare.run, daemon=True).start()
        url = f"http://127.0.0.1:{bare.effective_port}"
    ready.put(url)
    while control.get() == "idle?":  # answer once the background CartRover work has drained
        while bot is not None and bot.deps.workers.busy:
            time.sleep(0.05)
        ready.put("idle")
    if bot is not None:
        bot.stop()


def _load(url: str, webhook: str, requests: int, concurrency: int) -> dict[str, float]:
    from bot.dev.loopback.signing import SlackRequests

    signed = SlackRequests(SECRET)
    clients = [httpx.Client(timeout=10) for _ in range(concurrency)]

    def one(i: int) -> float:
        body = signed.command(
            "status TS-1001 SHOP-48213", user="UBENCH", channel="CBENCH", response_url=webhook
        )
        started = time.perf_counter()
        response = clients[i % concurrency].post(
            f"{url}/slack/events", content=body, headers=signed.headers(body)
        )
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(f"HTTP {response.status_code}: {response.text[:200]}")
        return elapsed

    for i in range(concurrency):  # warm connections and code paths
        one(i)
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        latencies = sorted(pool.map(one, range(requests)))
    wall = time.perf_counter() - started
    for client in clients:
        client.close()
    return {
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "max_ms": latencies[-1] * 1000,
        "throughput_rps": requests / wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; medians shown")
    args = parser.parse_args()
    ctx = mp.get_context("spawn")
    stop, ready = ctx.Event(), ctx.Queue()
    world = ctx.Process(target=_world, args=(args.latency, ready, stop), daemon=True)
    world.start()
    env, webhook = ready.get(timeout=60)
    servers = {}
    for kind in ("bare", "bot"):
        control, answers = ctx.Queue(), ctx.Queue()
        db = str(Path(tempfile.mkdtemp()) / "bench.db")
        process = ctx.Process(target=_server, args=(kind, env, db, answers, control), daemon=True)
        process.start()
        servers[kind] = (answers.get(timeout=60), control, answers, process)
    runs: dict[str, list[dict[str, float]]] = {"bare": [], "bot": []}
    for _ in range(args.rounds):
        for kind, (url, control, answers, _process) in servers.items():
            runs[kind].append(_load(url, webhook, args.requests, args.concurrency))
            control.put("idle?")
            answers.get(timeout=300)
    for _url, control, _answers, process in servers.values():
        control.put("stop")
        process.join(10)
    stop.set()
    world.join(10)
    results = {
        kind: {key: statistics.median(r[key] for r in rs) for key in rs[0]}
        for kind, rs in runs.items()
    }
    print(
        f"{args.requests} signed `status` commands, concurrency {args.concurrency}, "
        f"CartRover latency {args.latency * 1000:.0f} ms, "
        f"median of {args.rounds} interleaved rounds"
    )
    print(f"{'':14}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'req/s':>9}")
    for kind, r in results.items():
        label = "bare waitress" if kind == "bare" else "cartrover-bot"
        print(
            f"{label:14}{r['p50_ms']:9.1f}{r['p99_ms']:9.1f}{r['max_ms']:9.1f}"
            f"{r['throughput_rps']:9.0f}"
        )
    ratio = results["bot"]["p99_ms"] / results["bare"]["p99_ms"]
    print(f"p99 bot/bare: {ratio:.2f} (target <= 2): {'met' if ratio <= 2 else 'NOT met'}")


if __name__ == "__main__":
    main()
