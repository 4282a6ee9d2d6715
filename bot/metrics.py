"""What the bot counts, for ``GET /metrics`` in Prometheus text format (prometheus-client).

One registry per process (:data:`REGISTRY`), with the process collector (memory, CPU, open files)
beside the bot's own series:

========================================================  ========================================
``cartrover_bot_commands_total{subcommand}``              ``/cartrover`` commands received
``cartrover_bot_clicks_total{action, outcome}``           button clicks: ``decided``, ``opened``
                                                           or why nothing changed
``cartrover_bot_hold_requests_total{state}``              hold requests reaching a final state
``cartrover_bot_cancels_total{outcome}``                  per-order outcomes of approved holds
``cartrover_bot_cartrover_calls_total{endpoint, result}`` CartRover calls: ``ok``, the error kind,
                                                           or ``no_answer``
``cartrover_bot_cartrover_call_seconds{endpoint}``        CartRover call latency (histogram)
``cartrover_bot_cartrover_remaining_hits``                the last remaining-hits header seen
``cartrover_bot_work_queue_depth{lane}``                  jobs waiting on each worker lane
``cartrover_bot_work_running{lane}``                      jobs running on each worker lane
``cartrover_bot_digests_posted_total{kind}``              digests posted: ``scheduled`` or ``now``
``cartrover_bot_listing_reads_total{result}``             orders looked for in a listing of their
                                                           creation times: ``hit`` or ``miss``
``cartrover_bot_listing_reads_switched_off_total``        times a run switched to single reads
                                                           after listing misses
========================================================  ========================================

Counters only ever count what this process did; with several processes, sum them.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

__all__ = [
    "CANCELS",
    "CARTROVER_CALLS",
    "CARTROVER_SECONDS",
    "CLICKS",
    "COMMANDS",
    "CONTENT_TYPE",
    "DIGESTS",
    "HOLD_REQUESTS",
    "LISTING_READS",
    "LISTING_READS_OFF",
    "REGISTRY",
    "REMAINING_HITS",
    "WORK",
    "WorkLoad",
    "exposition",
]

REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)
CONTENT_TYPE = CONTENT_TYPE_LATEST

COMMANDS = Counter(
    "cartrover_bot_commands",
    "/cartrover commands received, by subcommand ('invalid': did not parse)",
    ["subcommand"],
    registry=REGISTRY,
)
CLICKS = Counter(
    "cartrover_bot_clicks",
    "Button clicks by action and outcome ('decided', 'opened', or why nothing changed)",
    ["action", "outcome"],
    registry=REGISTRY,
)
HOLD_REQUESTS = Counter(
    "cartrover_bot_hold_requests",
    "Hold requests that reached a final state here, by that state",
    ["state"],
    registry=REGISTRY,
)
CANCELS = Counter(
    "cartrover_bot_cancels",
    "Orders of approved holds finished here, by outcome",
    ["outcome"],
    registry=REGISTRY,
)
CARTROVER_CALLS = Counter(
    "cartrover_bot_cartrover_calls",
    "CartRover calls by endpoint and result ('ok', the error kind, or 'no_answer')",
    ["endpoint", "result"],
    registry=REGISTRY,
)
CARTROVER_SECONDS = Histogram(
    "cartrover_bot_cartrover_call_seconds",
    "CartRover call latency, from sending to the last byte of the answer",
    ["endpoint"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=REGISTRY,
)
REMAINING_HITS = Gauge(
    "cartrover_bot_cartrover_remaining_hits",
    "Calls left in CartRover's rate-limit bucket, from the last reply that said",
    registry=REGISTRY,
)
DIGESTS = Counter(
    "cartrover_bot_digests_posted",
    "Digests posted, by kind ('scheduled' once a day per channel, or 'now' on demand)",
    ["kind"],
    registry=REGISTRY,
)
LISTING_READS = Counter(
    "cartrover_bot_listing_reads",
    "Orders looked for in a CartRover listing over their creation times: 'hit' (listed) or "
    "'miss' (a New order the listing did not return)",
    ["result"],
    registry=REGISTRY,
)
LISTING_READS_OFF = Counter(
    "cartrover_bot_listing_reads_switched_off",
    "Times a run switched to reading orders one by one after listings missed New orders",
    registry=REGISTRY,
)


class _Lanes(Protocol):
    def load(self) -> Mapping[Any, Any]: ...  # lane → an object with .queued and .running


class WorkLoad(Collector):
    """The worker lanes' queue depth and running jobs, read when Prometheus scrapes, summed
    over the worker pools this process :meth:`watch`es (one, except in tests)."""

    def __init__(self) -> None:
        self._pools: weakref.WeakSet[Any] = weakref.WeakSet()

    def watch(self, workers: _Lanes) -> None:
        self._pools.add(workers)

    def collect(self) -> Iterator[Metric]:
        queued = GaugeMetricFamily(
            "cartrover_bot_work_queue_depth", "Jobs waiting on each worker lane", labels=["lane"]
        )
        running = GaugeMetricFamily(
            "cartrover_bot_work_running", "Jobs running on each worker lane", labels=["lane"]
        )
        totals: dict[str, list[int]] = {}
        for workers in list(self._pools):
            for lane, load in workers.load().items():
                name = str(getattr(lane, "value", lane))
                total = totals.setdefault(name, [0, 0])
                total[0] += load.queued
                total[1] += load.running
        for name, (waiting, busy) in sorted(totals.items()):
            queued.add_metric([name], waiting)
            running.add_metric([name], busy)
        yield queued
        yield running


WORK = WorkLoad()
REGISTRY.register(WORK)


def exposition() -> bytes:
    """Every series of this process in Prometheus text format."""
    return generate_latest(REGISTRY)
